//! The loaded knowledge base: notes and sections, before any rendering.

use std::path::PathBuf;

use crate::diagnostics::Diagnostic;

use super::front_matter::FrontMatter;
use super::routes::{Route, Wish};

pub use super::note_file::{is_note_file, note_stem, NOTE_EXTENSIONS};

/// One markdown note.
#[derive(Debug, Clone)]
pub struct Note {
    /// Absolute path of the file.
    pub source: PathBuf,
    /// Path relative to the knowledge base root, `/`-separated (`content/go/gc.md`): the key
    /// used in messages, verify results and search.
    pub rel: String,
    /// Path relative to `content/` (`go/gc.md`), what relative links resolve against.
    pub content_rel: String,
    /// Section path (`go`, `network/k8s`), empty for notes directly under content/.
    pub section: String,
    /// Where the note asked to be (front matter or file name).
    pub wish: Wish,
    /// Where it is, for the whole knowledge base ([`super::routes::assign`]): `notes/go-gc`.
    pub route: Route,
    /// Site URL including the base path: `/notes/go-gc/` (from `route`).
    pub url: String,
    pub meta: FrontMatter,
    /// Markdown after the front matter, Hugo and Zola shortcodes turned into markdown
    /// line for line ([`super::shortcodes`]).
    pub body: String,
    /// Shortcodes kb does not know, left out of the page (reported once per name).
    pub unknown_shortcodes: Vec<super::shortcodes::Unknown>,
    /// 1-based file line on which `body` starts.
    pub body_line: usize,
    /// Hash of the whole file, for incremental work (highlight cache, search, serve).
    pub hash: [u8; 32],
    /// Place in an mdBook's `SUMMARY.md` ([`super::reading_order`]), for lists and prev/next.
    pub book_order: Option<usize>,
}

impl Note {
    /// Move the note to `route` (and its URL with it).
    pub fn place(&mut self, route: Route, base: &str) {
        self.url = super::routes::url(base, &route.route);
        self.route = route;
    }

    /// The note is its folder's page: shown on the section (or home) page, not on its own.
    pub fn is_folder_page(&self) -> bool {
        self.route.folder_page
    }

    /// File stem (`gc` for `content/go/gc.md` or `content/go/gc.markdown`).
    pub fn stem(&self) -> &str {
        let name = self
            .content_rel
            .rsplit('/')
            .next()
            .unwrap_or(&self.content_rel);
        note_stem(name).unwrap_or(name)
    }
}

/// A folder under content/ (its notes are listed on a section page).
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// `go`, `network/k8s`.
    pub path: String,
    /// From `_index.md`'s `title:`, else the folder name.
    pub title: String,
    pub description: String,
    pub weight: i64,
    pub url: String,
}

/// Everything `content::load` found.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Sorted by `rel`.
    pub notes: Vec<Note>,
    /// Sorted by weight, then path; includes every ancestor of a folder with notes.
    pub sections: Vec<Section>,
    pub diagnostics: Vec<Diagnostic>,
    /// Non-markdown files under content/ (absolute paths), copied to the site as they are.
    pub assets: Vec<PathBuf>,
    /// The `_index.md` files (absolute paths): their snippets are checked like notes'.
    pub section_indexes: Vec<PathBuf>,
    /// Notes left out (absolute paths): drafts, and notes that ask not to be pages
    /// ([`super::publish`]). `kb verify` runs their snippets, so their snippets are checked too.
    pub left_out: Vec<PathBuf>,
}
