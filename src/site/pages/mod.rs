//! Stages 5-6 for the whole site: the pages it has, the values their views are made from, and
//! rendering them.
//!
//! - `page.rs`: the catalogue — every kind of [`Page`], with its output files, URL, and which
//!   notes it shows (so `kb serve` knows when it is out of date);
//! - `lookup.rs`: the [`Lookup`] (cards, tags, display order, neighbours) derived once per build
//!   and kept up to date by `kb serve`;
//! - `render.rs`: one page's view and template ([`render_page`]), and every page of a full
//!   build ([`write_site`]).

mod lookup;
mod page;
mod render;

pub(crate) use lookup::{lookup, update_lookup, Lookup};
pub(crate) use page::{alias_paths, claims, note_paths, pages, Changes, Page};
pub use render::write_site;
pub(crate) use render::{render_page, write_statics, PageFiles};
