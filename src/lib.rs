//! kb: markdown troubleshooting notes in, a fast searchable static site out, with every tagged
//! snippet verified in a real container.
//!
//! # The pipeline, in module order
//!
//! `kb build`:
//! 1. [`content::load`] walks `content/`, reads each note (sections from folders).
//! 2. [`content::front_matter`] splits and parses YAML front matter into typed metadata.
//! 3. [`markdown`] renders the body (pulldown-cmark): heading ids, ToC, link rewriting,
//!    wikilinks, backlinks, verify badges, and the text handed to search.
//! 4. [`highlight`] colours code blocks with syntect at build time (CSS classes, cached by hash);
//!    [`languages`] is the one table of language names and aliases it and [`snippet`] share.
//! 5. [`render`] fills tera templates from view structs ([`render::views`]).
//! 6. [`output`] writes pages, sitemap, feed, aliases and static assets through a staging dir that
//!    updates the output dir only when the build succeeded (unchanged files are left alone).
//! 7. [`search`] indexes every note with a CJK-aware tokenizer (tantivy) and writes the
//!    browser's index.
//!
//! [`cache`] is the on-disk format of the build caches (highlighted code, browser index).
//! Shared helpers, one place each: [`html`] escapes, [`atomic_file`] replaces a file whole,
//! [`sync`] takes a std lock whose holder panicked.
//!
//! [`site`] runs those stages in order and times each ([`site::Site::load`] is stages 1-3, all
//! `kb check` needs); its page catalogue ([`site::pages`]) says which pages exist, where each is
//! written, its URL and which notes it shows.
//!
//! `kb verify`: [`snippet`] extracts tagged blocks -> [`verify`] plans sessions, runs them in
//! containers (through the [`verify`] runtime seam), compares output, reports and caches.
//!
//! `kb serve`: [`serve`] watches the sources, asks each page whether a change made it stale,
//! re-renders those and live-reloads the browser.
//!
//! [`cli`] sits on top: clap arguments to typed options, one call into the library, the result
//! printed. Layers only import downwards (cli -> commands -> stages -> base types); the rules and
//! a "where to change X" table are in docs/architecture.md, and `tests/it/architecture.rs`
//! fails on an import cycle, a file over 600 lines of code, or a file without its `//!` job line.

pub mod atomic_file;
pub mod cache;
pub mod cli;
pub mod config;
pub mod content;
pub mod diagnostics;
pub mod duration;
pub mod highlight;
pub mod html;
pub mod init;
pub mod languages;
pub mod markdown;
pub mod output;
pub mod render;
pub mod search;
pub mod serve;
pub mod site;
pub mod slug;
pub mod snippet;
pub mod stdio;
pub mod sync;
pub mod verify;

#[cfg(test)]
mod proptests;
