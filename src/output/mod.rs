//! Stage 6: output. Where rendered files go and the site-level files beside the pages.
//!
//! Every producer (pages, feed, sitemap, static assets, search index) writes through a [`Sink`],
//! so `kb build` writes into a temp dir that [`swap::Staging`] moves into place at the end (a
//! failed build leaves the previous site untouched), and `kb serve` can keep the site in memory.

pub mod feeds;
pub mod sink;
pub mod swap;

pub use sink::{DirSink, MemSink, Sink};
