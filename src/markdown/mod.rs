//! Stage 3: markdown -> HTML, in two passes over the notes.
//!
//! 1. [`outline`] (per note, parallel): headings with their ids and every link with its line.
//! 2. [`links`] (whole site): which note each link points to, broken links and anchors,
//!    backlinks; paths as other tools write them ([`link_paths`]) and their heading ids
//!    ([`anchors`]).
//! 3. [`render`] (per note, parallel): HTML with heading anchors, rewritten links, highlighted
//!    code blocks with verify badges, the table of contents, and the text for search
//!    ([`search_text`]); a line wrap between two Chinese or Japanese characters is dropped
//!    ([`line_breaks`]), and an opening heading that repeats the note's title is not shown
//!    twice ([`title`]); links in raw HTML are rewritten too ([`raw_html`]) and mdBook's
//!    includes expanded in code blocks ([`includes`]).
//!
//! Both per-note passes read the same [`events`]: pulldown-cmark's, with other tools' syntax
//! applied ([`table_pipes`], [`comments`], [`callouts`], [`marks`]); render then draws [`math`]
//! as MathML and keeps [`mermaid`] diagrams for a client-side renderer.

mod anchors;
mod badge;
mod callouts;
mod comments;
mod console;
mod embeds;
mod events;
pub(crate) mod includes;
mod line_breaks;
mod link_paths;
pub mod links;
mod marks;
mod math;
mod mermaid;
pub mod outline;
mod raw_html;
pub mod render;
mod search_text;
mod table_pipes;
mod title;

pub use links::LinkIndex;
pub use outline::{Heading, Outline};
pub use render::{RenderCtx, RenderedNote};
