//! Stage 6: output. Where rendered files go and the site-level files beside the pages.
//!
//! Every producer (pages, feed, sitemap, static assets, search index) writes through a [`Sink`],
//! so `kb build` writes through [`staging::Staging`], which builds the next site beside the output
//! dir and swaps it in at once (a failed or killed build leaves the previous site; unchanged
//! files are not rewritten; files kb did not write are kept, see [`outdir`]), and `kb serve` can
//! keep the site in memory.

pub mod feeds;
pub mod outdir;
pub mod sink;
pub mod staging;

pub use sink::{DirSink, MemSink, Sink};
