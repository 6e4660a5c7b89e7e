//! View structs: exactly what templates see (and what a custom theme may rely on).
//! Built from the site by [`crate::site`]; never internal types.

use serde::Serialize;

use crate::markdown::render::TocItem;

/// Site-wide values, on every page as `site`.
#[derive(Debug, Clone, Serialize)]
pub struct SiteView {
    pub title: String,
    pub description: String,
    pub base_url: String,
    /// Prefix for every internal URL (`""` or `/kb`).
    pub base_path: String,
    pub language: String,
    pub sections: Vec<SectionLink>,
    /// All tags, most used first.
    pub tags: Vec<TagLink>,
    pub notes_count: usize,
    pub verify: VerifyCounts,
    /// Newest `updated` (else `date`) of any note, `YYYY-MM-DD`. Not the build time: pages then
    /// depend on the content alone, so a rebuild of unchanged notes rewrites no file.
    pub updated: Option<String>,
    pub search_enabled: bool,
}

/// Counts of verified blocks.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct VerifyCounts {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Runnable blocks with no result yet.
    pub unknown: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TagLink {
    pub name: String,
    pub url: String,
    pub count: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct SectionLink {
    pub path: String,
    pub title: String,
    pub description: String,
    pub url: String,
    pub count: usize,
}

/// A note in a list (home, tag, section, backlinks, prev/next).
#[derive(Debug, Clone, Serialize)]
pub struct NoteCard {
    pub title: String,
    pub url: String,
    pub date: Option<String>,
    pub summary: String,
    pub tags: Vec<TagLink>,
    pub section: Option<SectionLink>,
    pub verify: VerifyCounts,
}

/// One note page.
#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    pub title: String,
    pub url: String,
    pub permalink: String,
    pub date: Option<String>,
    pub updated: Option<String>,
    /// The summary for `<meta name=description>` and cards: the front matter's, else the
    /// first paragraph.
    pub summary: String,
    /// The front matter's summary alone, to show above the text (the first paragraph is
    /// already there).
    pub lead: Option<String>,
    pub tags: Vec<TagLink>,
    pub section: Option<SectionLink>,
    pub toc: Vec<TocItem>,
    /// Rendered body HTML (safe: produced by kb).
    pub content: String,
    pub backlinks: Vec<NoteCard>,
    pub prev: Option<NoteCard>,
    pub next: Option<NoteCard>,
    pub verify: VerifyCounts,
    pub reading_minutes: usize,
    /// `content/go/gc.md`
    pub source: String,
    /// Front matter keys kb does not know, as written.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NotePage<'a> {
    pub site: &'a SiteView,
    pub page: NoteView,
    pub nav: NavView,
}

/// The page tree the sidebar and the menu show (as `nav`, on note and section pages): which
/// section the page is in, and the notes of that section.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NavView {
    /// The page's section; `None` for the content root.
    pub section: Option<SectionLink>,
    /// Path of the page's section (`""` for the content root), for templates to compare.
    pub path: String,
    /// Notes of that section in display order: all of them, or a window around the current one
    /// in a large section.
    pub notes: Vec<NavNote>,
    /// How many notes of the section `notes` leaves out.
    pub more: usize,
}

/// A note in the page tree.
#[derive(Debug, Clone, Serialize)]
pub struct NavNote {
    pub title: String,
    pub url: String,
    /// The page being shown.
    pub current: bool,
}

/// Home, tag and section pages.
#[derive(Debug, Clone, Serialize)]
pub struct ListPage<'a> {
    pub site: &'a SiteView,
    pub kind: ListKind,
    pub title: String,
    pub description: String,
    pub url: String,
    pub notes: Vec<NoteCard>,
    /// Sub-sections (section pages) .
    pub sections: Vec<SectionLink>,
    /// The folder page's text above the list (its `index.md` or `README.md`), when it has one.
    pub intro: Option<IntroView>,
    /// The page tree, open at this section (section pages; the content root elsewhere).
    pub nav: NavView,
}

/// The text of a folder's page (`README.md`, `index.md`), shown on its section or home page.
#[derive(Debug, Clone, Serialize)]
pub struct IntroView {
    /// Rendered body HTML (safe: produced by kb).
    pub content: String,
    pub toc: Vec<TocItem>,
    /// `content/go/README.md`
    pub source: String,
    pub verify: VerifyCounts,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ListKind {
    Home,
    Tag,
    Section,
    Tags,
}

/// The snippet status page.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyPage<'a> {
    pub site: &'a SiteView,
    pub title: String,
    pub url: String,
    pub notes: Vec<VerifyNoteRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyNoteRow {
    pub note: NoteCard,
    pub source: String,
    pub blocks: Vec<VerifyBlockRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyBlockRow {
    pub id: String,
    pub url: String,
    pub line: usize,
    pub lang: String,
    /// `passed`, `failed`, `skipped`, `unknown`.
    pub status: &'static str,
    pub reason: Option<String>,
    pub date: Option<String>,
    pub duration: Option<String>,
    pub image: Option<String>,
}

/// The 404 page.
#[derive(Debug, Clone, Serialize)]
pub struct SimplePage<'a> {
    pub site: &'a SiteView,
    pub title: String,
    pub url: String,
}
