//! Output: where rendered files go.
//!
//! Every producer (pages, feed, sitemap, static assets, search index) writes through a [`Sink`],
//! so `kb build` writes into a temp dir that is swapped into place at the end, and `kb serve`
//! can keep the site in memory.

pub mod sink;

pub use sink::{DirSink, MemSink, Sink};
