//! Snippets: the tagged code blocks of a note.
//!
//! [`info`] parses a fence's info string into a language, a caption and typed attributes, and
//! holds the rule that tells kb's attributes from other tools' ([`tokens`] splits the string,
//! [`attrs`] gives kb's attributes their meaning, [`limits`] the container limits among them);
//! [`extract`] finds every fenced code block of a note with its file line, so the markdown stage
//! (highlighting, badges) and the verify stage (planning runs, `--update`) see the same blocks
//! with the same keys.

pub mod attrs;
pub mod extract;
pub mod info;
pub mod limits;
pub mod tokens;

pub use extract::{extract, BlockError, CodeBlock, SnippetKey};
pub use info::{Attrs, FenceInfo, Lang, Network, Requirement, Shell, Skip};
pub use limits::Limits;
