//! The page catalogue: which pages the site has, and what each kind of [`Page`] knows about
//! itself — its output files, its URL, its name in messages, which notes it shows and so which
//! changes put it out of date.
//!
//! A full build renders every page in [`pages`]; the output collision check reads [`claims`];
//! `kb serve` asks each page [`Page::out_of_date`] after an update instead of keeping rules of
//! its own. Adding a kind of page means a variant here (every `match` below asks for its
//! answers) and its view in `render.rs`.

use std::collections::{BTreeMap, BTreeSet};

use crate::content::{routes, Note, Section};

use crate::site::model::Site;

use super::lookup::{tag_slug, tag_url, Lookup};

/// One output page of the site. A full build renders them all; `kb serve` re-renders only the
/// pages a change affects, so every page is produced by [`super::render_page`] alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Page {
    /// A note (by index into `site.notes`), plus a redirect page per front matter alias.
    Note(usize),
    Home,
    /// The list of all tags.
    TagIndex,
    /// One tag, by slug.
    Tag(String),
    /// One section, by path (`go`, `network/k8s`).
    Section(String),
    /// The snippet status page.
    Verify,
    NotFound,
    Sitemap,
    Feed,
}

/// What an incremental update changed, in the terms pages depend on. Indexes are the notes'
/// after the update; `kb serve` fills it by comparing before and after, and asks each page
/// whether it is [`Page::out_of_date`].
#[derive(Debug, Default, Clone)]
pub(crate) struct Changes {
    /// Notes rendered again: their content, snippets, search text may differ.
    pub(crate) rendered: BTreeSet<usize>,
    /// Notes whose card (title, date, summary, tags, section, snippet counts) differs.
    pub(crate) cards: BTreeSet<usize>,
    /// Notes whose title or URL differs (what the page tree of their section shows).
    pub(crate) titles: BTreeSet<usize>,
    /// Notes whose list of backlinks differs.
    pub(crate) backlinks: BTreeSet<usize>,
    /// Notes whose previous or next note differs.
    pub(crate) neighbours: BTreeSet<usize>,
    /// The display order of the notes differs.
    pub(crate) order: bool,
    /// A rendered note has snippets, or had some before: snippet statuses may differ.
    pub(crate) snippets: bool,
}

impl Page {
    /// Site-relative output path of the page itself (alias redirects not included).
    pub(crate) fn path(&self, notes: &[Note]) -> String {
        match self {
            Page::Note(i) => note_path(&notes[*i]),
            Page::Home => "index.html".into(),
            Page::TagIndex => "tags/index.html".into(),
            Page::Tag(slug) => format!("tags/{slug}/index.html"),
            Page::Section(path) => routes::page_file(&routes::section_route(path)),
            Page::Verify => "verify/index.html".into(),
            Page::NotFound => "404.html".into(),
            Page::Sitemap => "sitemap.xml".into(),
            Page::Feed => "atom.xml".into(),
        }
    }

    /// Every file the page writes: its own path first, then a note's alias redirects.
    pub(crate) fn paths(&self, notes: &[Note]) -> Vec<String> {
        match self {
            Page::Note(i) => note_paths(&notes[*i]),
            _ => vec![self.path(notes)],
        }
    }

    /// The page's URL path under `base` (`""` or `/kb`), as links on the site name it.
    pub(crate) fn url(&self, notes: &[Note], base: &str) -> String {
        match self {
            Page::Note(i) => notes[*i].url.clone(),
            Page::Home => format!("{base}/"),
            Page::TagIndex => format!("{base}/tags/"),
            Page::Tag(slug) => tag_url(base, slug),
            Page::Section(path) => routes::url(base, &routes::section_route(path)),
            Page::Verify => format!("{base}/verify/"),
            Page::NotFound => format!("{base}/404.html"),
            Page::Sitemap => format!("{base}/sitemap.xml"),
            Page::Feed => format!("{base}/atom.xml"),
        }
    }

    /// What the page is, for messages naming who writes a file; a tag is named as in
    /// `tag_names` (slug -> the first spelling met), else by its slug.
    fn what(&self, notes: &[Note], tag_names: &BTreeMap<String, &str>) -> String {
        match self {
            Page::Note(i) => format!("the page of `{}`", notes[*i].rel),
            Page::Home => "the home page".into(),
            Page::TagIndex => "the tag list".into(),
            Page::Tag(slug) => {
                let name = tag_names.get(slug).copied().unwrap_or(slug);
                format!("the page of tag `{name}`")
            }
            Page::Section(path) => format!("the page of section `{path}`"),
            Page::Verify => "the snippet status page".into(),
            Page::NotFound => "the not-found page".into(),
            Page::Sitemap => "the sitemap".into(),
            Page::Feed => "the Atom feed".into(),
        }
    }

    /// Whether the page shows note `i` (its content, its card, or its URL and dates), as the
    /// site is now.
    pub(crate) fn shows_note(&self, i: usize, site: &Site, lk: &Lookup) -> bool {
        match self {
            // Its own content, and the cards of its backlinks and of its prev/next.
            Page::Note(j) => {
                let (prev, next) = lk.neighbours[*j];
                i == *j || site.backlinks[*j].contains(&i) || prev == Some(i) || next == Some(i)
            }
            // The newest notes: any note's date can bring it in or take it out.
            Page::Home => true,
            Page::TagIndex | Page::NotFound => false,
            Page::Tag(slug) => lk
                .tags
                .get(slug)
                .is_some_and(|(_, notes)| notes.contains(&i)),
            // The notes of the section and of the sections below it (its folder page too).
            Page::Section(path) => {
                let s = site.notes[i].section.as_str();
                s == path
                    || s.strip_prefix(path.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            }
            // The notes with snippets: any note can gain or lose them.
            Page::Verify => true,
            // Every note's URL and dates; the newest notes' content.
            Page::Sitemap | Page::Feed => true,
        }
    }

    /// Whether the page's bytes may differ after `changes` (besides the chrome every page
    /// shares — site title, sections, tags, counts — whose change makes every page stale).
    pub(crate) fn out_of_date(&self, changes: &Changes, site: &Site, lk: &Lookup) -> bool {
        let shown = |notes: &BTreeSet<usize>| notes.iter().any(|&i| self.shows_note(i, site, lk));
        match self {
            // A note page lists its backlinks and neighbours by card, not by display order, and
            // the notes of its section by title in display order (the page tree).
            Page::Note(j) => {
                let in_tree = |notes: &BTreeSet<usize>| {
                    notes
                        .iter()
                        .any(|&i| site.notes[i].section == site.notes[*j].section)
                };
                changes.rendered.contains(j)
                    || changes.backlinks.contains(j)
                    || changes.neighbours.contains(j)
                    || shown(&changes.cards)
                    || in_tree(&changes.titles)
                    || (changes.order && in_tree(&changes.rendered))
            }
            // Lists of cards, in display order, under the folder page's text.
            Page::Home | Page::Section(_) => {
                changes.order
                    || shown(&changes.cards)
                    || self.intro(lk).is_some_and(|i| {
                        changes.rendered.contains(&i) || changes.backlinks.contains(&i)
                    })
            }
            Page::TagIndex | Page::Tag(_) | Page::NotFound => {
                changes.order || shown(&changes.cards)
            }
            Page::Verify => changes.order || changes.snippets || shown(&changes.cards),
            // URLs, dates and content rather than cards.
            Page::Sitemap | Page::Feed => changes.order || shown(&changes.rendered),
        }
    }

    /// The note whose text heads the page: the folder page of a section (or of the content
    /// root, for the home page).
    pub(crate) fn intro(&self, lk: &Lookup) -> Option<usize> {
        match self {
            Page::Home => lk.intros.get("").copied(),
            Page::Section(path) => lk.intros.get(path.as_str()).copied(),
            _ => None,
        }
    }

    /// Whether sitemap.xml lists the page: the pages a reader may land on from a search engine.
    pub(crate) fn in_sitemap(&self) -> bool {
        matches!(
            self,
            Page::Note(_) | Page::Home | Page::Tag(_) | Page::Section(_)
        )
    }

    /// Whether `kb serve` renders the page as soon as it changes, rather than when next
    /// requested: a note's page is cheap and is what the author looks at while editing; a list
    /// page can hold thousands of cards.
    pub(crate) fn renders_at_once(&self) -> bool {
        matches!(self, Page::Note(_))
    }
}

/// Every page of the site: notes first (in `site.notes` order), then the list pages. A folder
/// page has no page of its own: its section's page shows it.
pub(crate) fn pages(site: &Site, lk: &Lookup) -> Vec<Page> {
    catalogue(
        &site.notes,
        lk.tags.keys().cloned(),
        site.sections.iter().map(|s| s.path.clone()),
    )
}

/// The pages of a site with these notes, these tag slugs and these section paths.
fn catalogue(
    notes: &[Note],
    tags: impl Iterator<Item = String>,
    sections: impl Iterator<Item = String>,
) -> Vec<Page> {
    let mut out: Vec<Page> = (0..notes.len())
        .filter(|&i| !notes[i].is_folder_page())
        .map(Page::Note)
        .collect();
    out.extend([Page::Home, Page::TagIndex]);
    out.extend(tags.map(Page::Tag));
    out.extend(sections.map(Page::Section));
    out.extend([Page::Verify, Page::NotFound, Page::Sitemap, Page::Feed]);
    out
}

/// Every file the pages write, as (site-relative path, what writes it), for the check that no
/// two parts of the site write one file. It runs before anything is rendered, so the tags are
/// read off the notes; a tag is named as the first note that has it spells it.
pub(crate) fn claims(notes: &[Note], sections: &[Section]) -> Vec<(String, String)> {
    let mut tag_names: BTreeMap<String, &str> = BTreeMap::new();
    for tag in notes.iter().flat_map(|n| &n.meta.tags) {
        tag_names.entry(tag_slug(tag)).or_insert(tag);
    }
    let pages = catalogue(
        notes,
        tag_names.keys().cloned(),
        sections.iter().map(|s| s.path.clone()),
    );
    pages
        .iter()
        .map(|p| (p.path(notes), p.what(notes, &tag_names)))
        .collect()
}

/// Site-relative path of a note's page.
fn note_path(note: &Note) -> String {
    crate::content::routes::page_file(&note.route.route)
}

/// The page and alias redirect paths of a note (a folder page's page is its section's).
pub(crate) fn note_paths(note: &Note) -> Vec<String> {
    let mut out = Vec::new();
    if !note.is_folder_page() {
        out.push(note_path(note));
    }
    out.extend(alias_paths(note));
    out
}

/// Site-relative paths of the redirect pages for a note's front matter `aliases`.
pub(crate) fn alias_paths(note: &Note) -> Vec<String> {
    note.meta
        .redirect_aliases
        .iter()
        .filter(|alias| !alias.contains("://"))
        .map(|alias| {
            let path = alias.trim_matches('/');
            if path.is_empty() {
                "index.html".to_string()
            } else if path.ends_with(".html") {
                path.to_string()
            } else {
                format!("{path}/index.html")
            }
        })
        .collect()
}
