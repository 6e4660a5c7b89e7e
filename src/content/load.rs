//! Stage 1: walk `content/`, read every note, split and parse its front matter.
//!
//! Folders become sections (an optional `_index.md` gives a section its title and description);
//! hidden files and folders are skipped; a symlink is followed only if it points to a file inside
//! the root ([`admit`] is that policy, for every stage and `kb serve`'s watcher). Problems are
//! collected as diagnostics, never raised one at a time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use rayon::prelude::*;

use crate::config::Config;
use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::output::sink::rel_slash;
use crate::slug::slugify;

use super::front_matter::{self, FrontMatter};
use super::model::{Corpus, Note, Section};
use super::publish::{self, Cascades};
use super::reading_order;
use super::routes::{self, Route, RouteInput, Wish};

/// What to load.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadOptions {
    /// Include notes with `draft: true`.
    pub drafts: bool,
    /// Include notes that ask not to be pages ([`publish`]: Hugo `build.render: never`,
    /// headless bundles, Zola `render = false`), as `kb verify` and the snippet check do.
    pub unrendered: bool,
}

impl LoadOptions {
    /// Every note file, drafts and unrendered notes too (`kb verify`, snippet checks).
    pub const ALL: LoadOptions = LoadOptions {
        drafts: true,
        unrendered: true,
    };
}

/// Files found under content/.
#[derive(Debug, Default)]
pub struct Walk {
    pub notes: Vec<PathBuf>,
    pub section_indexes: Vec<PathBuf>,
    /// Non-markdown files, copied to the site as they are.
    pub assets: Vec<PathBuf>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Walk the content dir (no reading).
pub fn walk(config: &Config) -> Walk {
    let content = config.content_dir();
    let mut w = Walk::default();
    if !content.is_dir() {
        return w;
    }
    let root = &config.root;
    let iter = walkdir::WalkDir::new(&content)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in iter {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map(|p| rel_slash(p, root))
                    .unwrap_or_else(|| "content".into());
                w.diagnostics.push(
                    Diagnostic::error(
                        DiagnosticKind::Unreadable,
                        path,
                        None,
                        format!("couldn't read: {e}"),
                    )
                    .with_hint("check the file's permissions"),
                );
                continue;
            }
        };
        let path = entry.path().to_path_buf();
        if entry.path_is_symlink() {
            match symlink_target(&path, root) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(d) => {
                    w.diagnostics.push(d);
                    continue;
                }
            }
        } else if !entry.file_type().is_file() {
            continue;
        }
        let is_md = super::model::is_note_file(&path);
        if is_md && path.file_name().is_some_and(|n| n == "_index.md") {
            w.section_indexes.push(path);
        } else if is_md {
            w.notes.push(path);
        } else {
            w.assets.push(path);
        }
    }
    w
}

/// What the content policy says about one path under content/ (see [`admit`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Admit {
    /// A file kb reads: a regular file, or a symlink to a file inside the root.
    File,
    /// Nothing to read: missing, a directory, hidden, or not under content/ by its real path.
    Skip,
    /// A symlink kb does not follow, with the warning that says why.
    Refused(Diagnostic),
}

/// May kb read `path` (a file under content/)? The one policy every stage applies — the
/// content walk ([`walk`], which `kb build`, `kb check`, `kb verify` and the search stamp use)
/// and `kb serve` when the watcher reports a path: hidden files and folders are skipped, and a
/// symlink is followed only to a file inside the root (never to a directory: links can loop).
pub fn admit(config: &Config, path: &Path) -> Admit {
    let content = config.content_dir();
    let Ok(rel) = path.strip_prefix(&content) else {
        return Admit::Skip;
    };
    if rel
        .components()
        .any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
    {
        return Admit::Skip;
    }
    let Ok(meta) = path.symlink_metadata() else {
        return Admit::Skip;
    };
    if meta.file_type().is_symlink() {
        return match symlink_target(path, &config.root) {
            Ok(true) => Admit::File,
            Ok(false) => Admit::Skip,
            Err(d) => Admit::Refused(d),
        };
    }
    // A regular file whose folder is reached through a link out of content/ is not ours
    // (the walk never enters linked folders).
    let inside = path
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .is_some_and(|p| p.starts_with(&config.root));
    if meta.is_file() && inside {
        Admit::File
    } else {
        Admit::Skip
    }
}

/// `ELOOP`: too many levels of symbolic links.
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

/// The symlink policy: `Ok(true)` for a link to a file inside `root`, an error (a warning
/// naming the link) for a link that dangles, loops, leaves the root or names a directory,
/// `Ok(false)` for anything else a link can name (a socket, say).
fn symlink_target(link: &Path, root: &Path) -> Result<bool, Diagnostic> {
    let warn = |message: String, hint: &str| {
        Diagnostic::warning(
            DiagnosticKind::Unreadable,
            rel_slash(link, root),
            None,
            message,
        )
        .with_hint(hint)
    };
    let shown = std::fs::read_link(link)
        .map(|t| t.display().to_string())
        .unwrap_or_default();
    match link.canonicalize() {
        Ok(target) if !target.starts_with(root) => Err(warn(
            format!("symlink points outside the knowledge base (to `{shown}`); skipped"),
            "copy the file into the knowledge base instead of linking to it",
        )),
        Ok(target) if target.is_dir() => Err(warn(
            format!("symlink to a folder (`{shown}`); skipped"),
            "kb does not follow links to folders (they can loop); link the files, or move the folder here",
        )),
        Ok(target) => Ok(target.is_file()),
        Err(e) if e.raw_os_error() == Some(ELOOP) => Err(warn(
            format!("symlink loop (`{shown}`); skipped"),
            "point the link at a file, or remove it",
        )),
        Err(_) => Err(warn(
            format!("symlink points nowhere (`{shown}` does not exist); skipped"),
            "fix the link's target, or remove it",
        )),
    }
}

/// Load every note under `config.content_dir()`.
pub fn load(config: &Config, opts: LoadOptions) -> Corpus {
    let walk = walk(config);
    let mut corpus = Corpus {
        diagnostics: walk.diagnostics,
        ..Default::default()
    };
    let cascades = Cascades::read(config, &walk.section_indexes);
    let results: Vec<Result<Option<Note>, Diagnostic>> = walk
        .notes
        .par_iter()
        .map(|p| load_note(config, p, opts, &cascades))
        .collect();
    for (r, path) in results.into_iter().zip(&walk.notes) {
        match r {
            Ok(Some(note)) => corpus.notes.push(note),
            Ok(None) => corpus.left_out.push(path.clone()),
            Err(d) => corpus.diagnostics.push(d),
        }
    }
    corpus.notes.sort_by(|a, b| a.rel.cmp(&b.rel));
    reading_order::apply(&mut corpus.notes);
    let placed = place_all(&mut corpus.notes, &config.base_path);
    corpus.diagnostics.extend(placed);
    corpus.sections = sections(
        config,
        &corpus.notes,
        &walk.section_indexes,
        &mut corpus.diagnostics,
    );
    corpus.assets = walk.assets;
    corpus.section_indexes = walk.section_indexes;
    corpus
}

/// Read and parse one note; `Ok(None)` for a draft when drafts are off, and for a note that
/// asks not to be a page (its own keys or the `cascades` above it) unless `opts` wants those.
pub fn load_note(
    config: &Config,
    path: &Path,
    opts: LoadOptions,
    cascades: &Cascades,
) -> Result<Option<Note>, Diagnostic> {
    let rel = rel_slash(path, &config.root);
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::error(
            DiagnosticKind::Unreadable,
            &rel,
            None,
            format!("couldn't read the file: {e}"),
        )
        .with_hint("check that the file exists and is readable")
    })?;
    let hash = *blake3::hash(&bytes).as_bytes();
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..valid]
                .iter()
                .filter(|b| **b == b'\n')
                .count()
                + 1;
            return Err(Diagnostic::error(
                DiagnosticKind::InvalidUtf8,
                &rel,
                Some(line),
                format!("not valid UTF-8 (byte {valid})"),
            )
            .with_hint("save the file as UTF-8 (e.g. `iconv -f GBK -t UTF-8`)"));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let fm_err = |e: front_matter::FrontMatterError| {
        Diagnostic::error(
            DiagnosticKind::BadFrontMatter,
            &rel,
            Some(e.line),
            e.message,
        )
        .with_hint(e.hint)
    };
    let split = front_matter::split(text).map_err(fm_err)?;
    let meta = match split.front {
        Some((front, format)) => {
            front_matter::parse(front, format, split.front_line).map_err(fm_err)?
        }
        None => FrontMatter::default(),
    };
    if meta.draft && !opts.drafts {
        return Ok(None);
    }
    let content_rel = rel_slash(path, &config.content_dir());
    if !opts.unrendered && cascades.render(&content_rel, &meta.extra) == publish::Render::Never {
        return Ok(None);
    }
    let stem = content_rel.rsplit('/').next().unwrap_or(&content_rel);
    let stem = stem
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(stem)
        .to_string();
    let section = content_rel
        .rsplit_once('/')
        .map(|(d, _)| d.to_string())
        .unwrap_or_default();
    let wish = match meta.wish.clone() {
        Some(w) => w,
        None => {
            let s = slugify(&stem);
            if s.is_empty() {
                return Err(Diagnostic::error(
                    DiagnosticKind::NoTitle,
                    &rel,
                    Some(1),
                    "the file name gives no usable slug",
                )
                .with_hint("rename the file or add `slug: my-note` to the front matter"));
            }
            Wish::Named(s)
        }
    };
    let (body, unknown_shortcodes) = match super::shortcodes::expand(split.body, split.body_line) {
        Some((body, unknown)) => (body, unknown),
        None => (split.body.to_string(), Vec::new()),
    };
    let mut meta = meta;
    if meta.title.is_none() {
        // A folder's README.md or index.md without a heading is named after its folder.
        let fallback = match routes::folder_page_rank(&content_rel) {
            Some(_) => section.rsplit('/').next().filter(|f| !f.is_empty()),
            None => None,
        };
        meta.title = Some(
            title_heading(&body)
                .unwrap_or_else(|| fallback.map(str::to_string).unwrap_or_else(|| stem.clone())),
        );
    }
    // The route is the knowledge base's to decide ([`place_all`]); until then, the flat one.
    let route = Route {
        route: match &wish {
            Wish::Explicit { route, .. } => route.clone(),
            Wish::Named(slug) => format!("notes/{slug}"),
        },
        folder_page: false,
    };
    Ok(Some(Note {
        source: path.to_path_buf(),
        url: routes::url(&config.base_path, &route.route),
        rel,
        content_rel,
        section,
        wish,
        route,
        meta,
        body,
        unknown_shortcodes,
        body_line: split.body_line,
        hash,
        book_order: None,
    }))
}

/// The title a note's text gives: its first level-1 heading, else the heading it opens with
/// (a note that starts at `##`).
fn title_heading(body: &str) -> Option<String> {
    let mut in_heading: Option<HeadingLevel> = None;
    let mut opening: Option<String> = None;
    let mut text = String::new();
    for (n, ev) in Parser::new_ext(body, crate::snippet::extract::markdown_options()).enumerate() {
        match ev {
            Event::Start(Tag::Heading { level, .. }) => {
                in_heading = Some(level);
                text.clear();
                // Only the very first block may give a title below level 1.
                if n != 0 && level != HeadingLevel::H1 {
                    in_heading = None;
                }
            }
            Event::End(TagEnd::Heading(level)) if in_heading.is_some() => {
                in_heading = None;
                let t = text.trim().to_string();
                if t.is_empty() {
                    continue;
                }
                if level == HeadingLevel::H1 {
                    return Some(t);
                }
                opening.get_or_insert(t);
            }
            Event::Text(t) | Event::Code(t) if in_heading.is_some() => text.push_str(&t),
            Event::InlineMath(t) if in_heading.is_some() => text.push_str(&format!("${t}$")),
            _ => {}
        }
    }
    opening
}

/// Give every note its route ([`routes::assign`]): the errors of notes asking for a taken
/// route, and an info per note told apart from a namesake by its folder. Shared by a full load
/// and `kb serve`'s updates.
pub(crate) fn place_all(notes: &mut [Note], base: &str) -> Vec<Diagnostic> {
    let inputs: Vec<RouteInput<'_>> = notes.iter().map(route_input).collect();
    let (placed, diags) = routes::assign(&inputs, base);
    for (n, r) in notes.iter_mut().zip(placed) {
        n.place(r, base);
    }
    diags
}

/// What [`routes::assign`] reads of a note.
pub(crate) fn route_input(n: &Note) -> RouteInput<'_> {
    RouteInput {
        rel: &n.rel,
        content_rel: &n.content_rel,
        wish: &n.wish,
    }
}

fn sections(
    config: &Config,
    notes: &[Note],
    indexes: &[PathBuf],
    diags: &mut Vec<Diagnostic>,
) -> Vec<Section> {
    let mut map: BTreeMap<String, Section> = BTreeMap::new();
    for n in notes {
        let mut path = n.section.as_str();
        while !path.is_empty() {
            map.entry(path.to_string())
                .or_insert_with(|| default_section(config, path));
            path = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        }
    }
    // A folder's page (its index.md or README.md) names the section, unless `_index.md` does.
    for n in notes.iter().filter(|n| n.is_folder_page()) {
        let folder = routes::section_of(&n.route.route).unwrap_or_default();
        if let Some(s) = map.get_mut(folder) {
            if let Some(t) = &n.meta.title {
                s.title = t.clone();
            }
            s.description = n.meta.summary.clone().unwrap_or_default();
            s.weight = n.meta.weight.unwrap_or(0);
        }
    }
    for idx in indexes {
        let rel = rel_slash(idx, &config.root);
        let dir = rel_slash(idx.parent().unwrap_or(idx), &config.content_dir());
        if dir.is_empty()
            || dir.starts_with("..")
            || idx.parent() == Some(config.content_dir().as_path())
        {
            continue; // content/_index.md: the home page text is not a section
        }
        let text = match std::fs::read_to_string(idx) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(
                    DiagnosticKind::Unreadable,
                    &rel,
                    None,
                    format!("couldn't read: {e}"),
                ));
                continue;
            }
        };
        let parsed = front_matter::split(&text).and_then(|s| match s.front {
            Some((f, fmt)) => front_matter::parse(f, fmt, s.front_line),
            None => Ok(FrontMatter::default()),
        });
        match parsed {
            Ok(fm) => {
                let s = map
                    .entry(dir.clone())
                    .or_insert_with(|| default_section(config, &dir));
                if let Some(t) = fm.title {
                    s.title = t;
                }
                s.description = fm.summary.unwrap_or_default();
                s.weight = fm.weight.unwrap_or(0);
            }
            Err(e) => diags.push(
                Diagnostic::error(
                    DiagnosticKind::BadFrontMatter,
                    &rel,
                    Some(e.line),
                    e.message,
                )
                .with_hint(e.hint),
            ),
        }
    }
    let mut list: Vec<Section> = map.into_values().collect();
    list.sort_by(|a, b| a.weight.cmp(&b.weight).then_with(|| a.path.cmp(&b.path)));
    list
}

fn default_section(config: &Config, path: &str) -> Section {
    Section {
        path: path.to_string(),
        title: path.rsplit('/').next().unwrap_or(path).to_string(),
        description: String::new(),
        weight: 0,
        url: routes::url(&config.base_path, &routes::section_route(path)),
    }
}
