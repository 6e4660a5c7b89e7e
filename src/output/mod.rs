//! Stage 6: output. Where rendered files go and the site-level files beside the pages.
//!
//! Every producer (pages, feed, sitemap, static assets, search index) writes through a [`Sink`],
//! so `kb build` writes through [`staging::Staging`], which keeps changed files in a temp dir and
//! brings the output up to date at the end (a failed build leaves the previous site untouched;
//! unchanged files are not rewritten), and `kb serve` can keep the site in memory.

pub mod feeds;
pub mod sink;
pub mod staging;

pub use sink::{DirSink, MemSink, Sink};
