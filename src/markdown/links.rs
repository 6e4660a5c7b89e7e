//! Pass 2: resolve every link of every note, site-wide.
//!
//! `[t](other.md)`, `[t](../docker/x.md#anchor)`, `[t](#anchor)`, `[[Title]]`, `[[file#heading|t]]`
//! and relative images/files under content/ all resolve here, to a note URL (+ anchor) or an
//! asset URL. What does not resolve becomes a diagnostic with the note's file line.

use std::collections::{HashMap, HashSet};

use crate::content::model::note_stem;
use crate::content::{routes, Note};
use crate::diagnostics::{Diagnostic, DiagnosticKind};

use super::anchors::Anchors;
use super::link_paths::{LinkPaths, Target};
use super::outline::{LinkKind, Outline, RawLink};

/// Where a link points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Leave as written (`https://`, `mailto:`, site-absolute `/x`, anything not a note).
    Unchanged,
    /// Another note (or this one), optionally at a heading.
    Note {
        index: usize,
        anchor: Option<String>,
    },
    /// A file under content/, served at this URL.
    Asset(String),
    /// A page of the site that is not a note's (a section), at this URL.
    Page(String),
    /// Does not resolve; the diagnostic explains.
    Broken(Broken),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    NoSuchNote {
        target: String,
    },
    NoSuchAnchor {
        note: String,
        anchor: String,
    },
    /// A root-absolute link (`/x/y/`) that names no note, folder or file of the site.
    NoSuchPage {
        target: String,
    },
    /// A relative link that climbs out of content/ (`../../std/`).
    OutsideContent,
}

/// Lookup tables for link resolution, built once per build.
#[derive(Debug, Default)]
pub struct LinkIndex {
    paths: LinkPaths,
    /// Lower-cased title, file stem and name aliases -> note.
    by_name: HashMap<String, usize>,
    anchors: Vec<Anchors>,
    base_path: String,
}

impl LinkIndex {
    /// `assets` are content-relative paths of the non-markdown files under content/.
    pub fn new(
        notes: &[Note],
        outlines: &[Outline],
        assets: HashSet<String>,
        base_path: &str,
    ) -> Self {
        let mut by_name = HashMap::new();
        for (i, n) in notes.iter().enumerate() {
            // Titles win over stems when both exist; first note wins on ties.
            by_name.entry(n.stem().to_lowercase()).or_insert(i);
            for a in &n.meta.name_aliases {
                by_name.entry(a.to_lowercase()).or_insert(i);
            }
        }
        for (i, n) in notes.iter().enumerate() {
            if let Some(t) = &n.meta.title {
                by_name.insert(t.to_lowercase(), i);
            }
        }
        let anchors = notes
            .iter()
            .zip(outlines)
            .map(|(n, o)| Anchors::new(o, &n.body))
            .collect();
        LinkIndex {
            paths: LinkPaths::new(notes, assets, base_path),
            by_name,
            anchors,
            base_path: base_path.to_string(),
        }
    }

    /// Resolve a link written in note `from`.
    pub fn resolve(&self, notes: &[Note], from: usize, dest: &str, kind: LinkKind) -> Resolved {
        // `[[x\|alias]]` and `![[img.png\|100]]` in a table cell keep the escaping backslash.
        let dest = dest.trim_end_matches('\\');
        match kind {
            LinkKind::Wiki => self.resolve_wiki(notes, from, dest),
            LinkKind::Inline | LinkKind::Image => self.resolve_inline(notes, from, dest),
        }
    }

    fn resolve_wiki(&self, notes: &[Note], from: usize, dest: &str) -> Resolved {
        let (name, anchor) = split_anchor(dest);
        // `[[note\|alias]]` in a table cell keeps the escaping backslash on the target.
        let name = name.trim().trim_end_matches('\\').trim_end();
        if name.is_empty() {
            return self.with_anchor(notes, from, anchor);
        }
        match self.by_name_or_path(notes, name) {
            Some(t) => self.target(notes, t, anchor),
            None => Resolved::Broken(Broken::NoSuchNote {
                target: name.to_string(),
            }),
        }
    }

    /// A note or file named as Obsidian names it: a title, file name or alias, a path from the
    /// vault's root (`Folder/Note`), a path's tail, or an attachment's name anywhere.
    fn by_name_or_path(&self, notes: &[Note], name: &str) -> Option<Target> {
        let key = name.to_lowercase();
        let stem = note_stem(&key).unwrap_or(&key);
        self.by_name
            .get(stem)
            .map(|&i| Target::Note(i))
            .or_else(|| {
                let path = if note_stem(&key).is_some() || key.contains('.') {
                    key.clone()
                } else {
                    format!("{key}.md")
                };
                self.paths
                    .find(&path)
                    .or_else(|| self.path_tail(notes, &path))
                    .or_else(|| self.paths.asset_named(&key).map(Target::Asset))
            })
    }

    /// The note whose path ends with `/tail` (`[[daily/Templates]]` for
    /// `work/daily/Templates.md`), nearest the root first.
    fn path_tail(&self, notes: &[Note], tail: &str) -> Option<Target> {
        if !tail.contains('/') {
            return None;
        }
        let suffix = format!("/{tail}");
        notes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.content_rel.to_lowercase().ends_with(&suffix))
            .min_by_key(|(_, n)| n.content_rel.matches('/').count())
            .map(|(i, _)| Target::Note(i))
    }

    fn resolve_inline(&self, notes: &[Note], from: usize, dest: &str) -> Resolved {
        // `//host/path` is another site, with the page's scheme.
        if dest.is_empty() || has_scheme(dest) || is_email(dest) || dest.starts_with("//") {
            return Resolved::Unchanged;
        }
        let (path, anchor) = split_anchor(dest);
        let path = path.split('?').next().unwrap_or("");
        if path.is_empty() {
            return self.with_anchor(notes, from, anchor);
        }
        let decoded = percent_decode(path);
        // Zola's `@/path.md` is a path from content/.
        if let Some(p) = decoded.strip_prefix("@/") {
            return match join_normalized("", p).and_then(|p| self.paths.find(&p)) {
                Some(t) => self.target(notes, t, anchor),
                None => Resolved::Broken(Broken::NoSuchNote {
                    target: format!("content/{p}"),
                }),
            };
        }
        if let Some(rooted) = decoded.strip_prefix('/') {
            return self.resolve_rooted(notes, rooted, anchor);
        }
        let base_dir = notes[from]
            .content_rel
            .rsplit_once('/')
            .map(|(d, _)| d)
            .unwrap_or("");
        // A link climbing out of content/ points at something kb does not publish (mdBook's
        // `../std/` beside the book, on the host that serves both): dead on this site.
        let Some(target) = join_normalized(base_dir, &decoded) else {
            return Resolved::Broken(Broken::OutsideContent);
        };
        if let Some(t) = self.paths.find(&target) {
            return self.target(notes, t, anchor);
        }
        // Obsidian reads a markdown link as it reads `[[...]]`: a note by name or by path from
        // the vault's root, an attachment by name wherever it is.
        let last = decoded.rsplit('/').next().unwrap_or(&decoded);
        if !last.contains('.') || note_stem(last).is_some() {
            if let Some(t) = self.by_name_or_path(notes, &decoded) {
                return self.target(notes, t, anchor);
            }
        } else if !decoded.contains('/') {
            if let Some(a) = self.paths.asset_named(&decoded) {
                return self.target(notes, Target::Asset(a), anchor);
            }
        }
        Resolved::Broken(Broken::NoSuchNote {
            target: format!("content/{target}"),
        })
    }

    /// `/x/y/`: a path under content/ or a page's URL on the source site; kb's own pages (tags,
    /// sections, the search index) are left as written.
    fn resolve_rooted(&self, notes: &[Note], rooted: &str, anchor: Option<&str>) -> Resolved {
        let base = self.base_path.trim_start_matches('/');
        let rooted = match rooted.strip_prefix(base) {
            Some(rest) if !base.is_empty() && (rest.is_empty() || rest.starts_with('/')) => {
                rest.trim_start_matches('/')
            }
            _ => rooted,
        };
        let Some(path) = join_normalized("", rooted) else {
            return Resolved::Unchanged;
        };
        let path = if rooted.ends_with('/') && !path.is_empty() {
            format!("{path}/")
        } else {
            path
        };
        if let Some(t) = self.paths.find_rooted(&path) {
            return self.target(notes, t, anchor);
        }
        // A README written for GitHub links from the repository's root (`/docs/big-data/x.md`
        // when content/ is the repository's `docs/`): a file found below the first folder.
        if let Some((_, below)) = path.split_once('/') {
            let last = below.rsplit('/').next().unwrap_or(below);
            if last.contains('.') {
                if let Some(t) = self.paths.find(below) {
                    return self.target(notes, t, anchor);
                }
            }
        }
        if is_kb_page(&path) {
            return Resolved::Unchanged;
        }
        Resolved::Broken(Broken::NoSuchPage {
            target: format!("/{path}"),
        })
    }

    /// A found target, with the link's `#anchor` checked when it is a note.
    fn target(&self, notes: &[Note], t: Target, anchor: Option<&str>) -> Resolved {
        let frag = || anchor.map(|a| format!("#{a}")).unwrap_or_default();
        match t {
            Target::Note(i) => self.with_anchor(notes, i, anchor),
            Target::Section(url) => Resolved::Page(format!("{url}{}", frag())),
            Target::Asset(a) => Resolved::Asset(format!("{}/{a}{}", self.base_path, frag())),
        }
    }

    fn with_anchor(&self, notes: &[Note], index: usize, anchor: Option<&str>) -> Resolved {
        match anchor {
            None | Some("") => Resolved::Note {
                index,
                anchor: None,
            },
            Some(a) => match self.anchors[index].find(&percent_decode(a)) {
                Some(id) => Resolved::Note { index, anchor: id },
                None => Resolved::Broken(Broken::NoSuchAnchor {
                    note: notes[index].rel.clone(),
                    anchor: percent_decode(a),
                }),
            },
        }
    }

    /// The URL a link gets on the page: a note's (with its anchor), a file's or a section's;
    /// `None` to leave the link as written.
    pub fn href(notes: &[Note], resolved: &Resolved) -> Option<String> {
        match resolved {
            Resolved::Note { index, anchor } => Some(Self::url(notes, *index, anchor.as_deref())),
            Resolved::Asset(url) | Resolved::Page(url) => Some(url.clone()),
            Resolved::Unchanged | Resolved::Broken(_) => None,
        }
    }

    /// URL of a resolved note link, relative to nothing (absolute path with base path).
    pub fn url(notes: &[Note], index: usize, anchor: Option<&str>) -> String {
        match anchor {
            Some(a) => format!("{}#{a}", notes[index].url),
            None => notes[index].url.clone(),
        }
    }
}

/// Check every link of every note: diagnostics for broken ones, and backlinks
/// (`backlinks[i]` = notes linking to note i, sorted, without duplicates or self-links).
pub fn check_all(
    notes: &[Note],
    outlines: &[Outline],
    index: &LinkIndex,
) -> (Vec<Diagnostic>, Vec<Vec<usize>>) {
    let mut diags = Vec::new();
    let mut back: Vec<Vec<usize>> = vec![Vec::new(); notes.len()];
    for (from, o) in outlines.iter().enumerate() {
        for RawLink { dest, line, kind } in &o.links {
            match index.resolve(notes, from, dest, *kind) {
                Resolved::Note { index: to, .. } if to != from => back[to].push(from),
                Resolved::Broken(b) => {
                    diags.push(broken_diagnostic(&notes[from].rel, *line, dest, &b))
                }
                _ => {}
            }
        }
    }
    for b in &mut back {
        b.sort_unstable();
        b.dedup();
    }
    (diags, back)
}

fn broken_diagnostic(rel: &str, line: usize, dest: &str, b: &Broken) -> Diagnostic {
    match b {
        Broken::NoSuchNote { target } => Diagnostic::warning(DiagnosticKind::BrokenLink, rel, Some(line), format!("link `{dest}` points to `{target}`, which does not exist"))
            .with_hint("fix the path (relative to this note's folder) or the [[title]]; `kb check` lists every broken link"),
        Broken::OutsideContent => Diagnostic::warning(DiagnosticKind::BrokenLink, rel, Some(line), format!("link `{dest}` leaves content/: nothing kb publishes is there, so it is dead on this site"))
            .with_hint("link to the page's full URL (https://…) if it lives on another site, or copy the file under content/"),
        Broken::NoSuchPage { target } => Diagnostic::warning(DiagnosticKind::BrokenLink, rel, Some(line), format!("link `{dest}` names no page of this site: no note, folder or file under content/ is at `{target}`"))
            .with_hint("a link starting with `/` is read from the site's root: write the note's path under content/ (`/go/gc.md`) or its URL"),
        Broken::NoSuchAnchor { note, anchor } => Diagnostic::warning(DiagnosticKind::BrokenAnchor, rel, Some(line), format!("link `{dest}`: `{note}` has no heading with id `{anchor}`"))
            .with_hint("use the heading's id (shown in the page's table of contents), or give the heading an explicit id with `## Title {#my-id}`"),
    }
}

/// Root-absolute paths of kb's own pages and files: a link to them is fine as written.
fn is_kb_page(path: &str) -> bool {
    path.is_empty()
        || routes::is_kb_route(path)
        || ["404.html", "atom.xml", "sitemap.xml"].contains(&path)
}

/// `https:`, `mailto:`, `obsidian:`, `javascript:`...: a URL with a scheme is not a path.
fn has_scheme(dest: &str) -> bool {
    match dest.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
                && scheme.len() > 1
        }
        None => false,
    }
}

/// `a@b.c` (an email autolink `<a@b.c>`, which the HTML writer turns into `mailto:`).
fn is_email(dest: &str) -> bool {
    dest.split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !dest.contains('/'))
}

fn split_anchor(dest: &str) -> (&str, Option<&str>) {
    match dest.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (dest, None),
    }
}

/// Join a relative path onto a content-relative dir, resolving `.` and `..`; `None` if it
/// climbs out of content/.
fn join_normalized(base_dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = base_dir.split('/').filter(|p| !p.is_empty()).collect();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// Decode `%XX` escapes (UTF-8); invalid escapes are kept literally, and a result that is not
/// UTF-8 leaves the text as it was.
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|d| d.into_owned())
        .unwrap_or_else(|_| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_resolves_dots_and_refuses_to_escape() {
        assert_eq!(join_normalized("go", "gc.md").as_deref(), Some("go/gc.md"));
        assert_eq!(
            join_normalized("go", "../docker/x.md").as_deref(),
            Some("docker/x.md")
        );
        assert_eq!(join_normalized("", "./a.md").as_deref(), Some("a.md"));
        assert_eq!(join_normalized("", "../a.md"), None);
    }

    #[test]
    fn percent_decoding_handles_chinese_and_bad_escapes() {
        assert_eq!(percent_decode("%E5%86%99%E5%B1%8F%E9%9A%9C"), "写屏障");
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
