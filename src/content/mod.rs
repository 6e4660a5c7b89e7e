//! Stages 1-2: load the notes under `content/` and parse their front matter.
//!
//! [`load::load`] walks the content directory (folders become sections, hidden files are
//! skipped, no symlink is followed out of the root) and returns a [`Corpus`]: typed notes plus
//! every problem found, each with `path:line` and a hint. Nothing here renders markdown.

pub mod front_matter;
pub mod load;
pub mod model;
mod note_file;
pub mod publish;
pub mod reading_order;
pub mod routes;
pub mod shortcodes;

pub use front_matter::FrontMatter;
pub use load::{load, LoadOptions};
pub use model::{Corpus, Note, Section};
