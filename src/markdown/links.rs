//! Pass 2: resolve every link of every note, site-wide.
//!
//! `[t](other.md)`, `[t](../docker/x.md#anchor)`, `[t](#anchor)`, `[[Title]]`, `[[file#heading|t]]`
//! and relative images/files under content/ all resolve here, to a note URL (+ anchor) or an
//! asset URL. What does not resolve becomes a diagnostic with the note's file line.

use std::collections::{HashMap, HashSet};

use crate::content::model::{note_stem, NOTE_EXTENSIONS};
use crate::content::Note;
use crate::diagnostics::{Diagnostic, DiagnosticKind};

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
    /// Does not resolve; the diagnostic explains.
    Broken(Broken),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Broken {
    NoSuchNote { target: String },
    NoSuchAnchor { note: String, anchor: String },
}

/// Lookup tables for link resolution, built once per build.
#[derive(Debug, Default)]
pub struct LinkIndex {
    by_path: HashMap<String, usize>,
    /// Lower-cased title, file stem and name aliases -> note.
    by_name: HashMap<String, usize>,
    anchors: Vec<HashSet<String>>,
    /// content-relative paths of non-markdown files.
    assets: HashSet<String>,
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
        let mut by_path = HashMap::new();
        let mut by_name = HashMap::new();
        for (i, n) in notes.iter().enumerate() {
            by_path.insert(n.content_rel.clone(), i);
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
        let anchors = outlines
            .iter()
            .map(|o| o.headings.iter().map(|h| h.id.clone()).collect())
            .collect();
        LinkIndex {
            by_path,
            by_name,
            anchors,
            assets,
            base_path: base_path.to_string(),
        }
    }

    /// Resolve a link written in note `from`.
    pub fn resolve(&self, notes: &[Note], from: usize, dest: &str, kind: LinkKind) -> Resolved {
        match kind {
            LinkKind::Wiki => self.resolve_wiki(notes, from, dest),
            LinkKind::Inline | LinkKind::Image => self.resolve_inline(notes, from, dest),
        }
    }

    fn resolve_wiki(&self, notes: &[Note], from: usize, dest: &str) -> Resolved {
        let (name, anchor) = split_anchor(dest);
        let name = name.trim();
        let index = if name.is_empty() {
            Some(from)
        } else {
            let key = name.to_lowercase();
            let key = note_stem(&key).unwrap_or(&key);
            self.by_name.get(key).copied().or_else(|| {
                NOTE_EXTENSIONS
                    .iter()
                    .find_map(|ext| self.by_path.get(&format!("{key}.{ext}")).copied())
            })
        };
        match index {
            Some(i) => self.with_anchor(notes, i, anchor),
            None => Resolved::Broken(Broken::NoSuchNote {
                target: name.to_string(),
            }),
        }
    }

    fn resolve_inline(&self, notes: &[Note], from: usize, dest: &str) -> Resolved {
        if dest.is_empty()
            || dest.contains("://")
            || dest.starts_with("mailto:")
            || dest.starts_with("tel:")
            || dest.starts_with("data:")
            || dest.starts_with('/')
        {
            return Resolved::Unchanged;
        }
        let (path, anchor) = split_anchor(dest);
        let path = path.split('?').next().unwrap_or("");
        if path.is_empty() {
            return self.with_anchor(notes, from, anchor);
        }
        let decoded = percent_decode(path);
        let base_dir = notes[from]
            .content_rel
            .rsplit_once('/')
            .map(|(d, _)| d)
            .unwrap_or("");
        let Some(target) = join_normalized(base_dir, &decoded) else {
            return Resolved::Broken(Broken::NoSuchNote { target: decoded });
        };
        let is_md = note_stem(&target).is_some();
        if is_md {
            return match self.by_path.get(&target) {
                Some(&i) => self.with_anchor(notes, i, anchor),
                None => Resolved::Broken(Broken::NoSuchNote {
                    target: format!("content/{target}"),
                }),
            };
        }
        if self.assets.contains(&target) {
            let frag = anchor.map(|a| format!("#{a}")).unwrap_or_default();
            return Resolved::Asset(format!("{}/{}{frag}", self.base_path, target));
        }
        // A relative link to something that is neither a note nor a file we ship.
        Resolved::Broken(Broken::NoSuchNote {
            target: format!("content/{target}"),
        })
    }

    fn with_anchor(&self, notes: &[Note], index: usize, anchor: Option<&str>) -> Resolved {
        match anchor {
            None | Some("") => Resolved::Note {
                index,
                anchor: None,
            },
            Some(a) => {
                let decoded = percent_decode(a);
                if self.anchors[index].contains(&decoded) {
                    Resolved::Note {
                        index,
                        anchor: Some(decoded),
                    }
                } else {
                    // Wikilinks may name the heading text rather than its id.
                    let slug = crate::slug::slugify(&decoded);
                    if self.anchors[index].contains(&slug) {
                        Resolved::Note {
                            index,
                            anchor: Some(slug),
                        }
                    } else {
                        Resolved::Broken(Broken::NoSuchAnchor {
                            note: notes[index].rel.clone(),
                            anchor: decoded,
                        })
                    }
                }
            }
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
        Broken::NoSuchAnchor { note, anchor } => Diagnostic::warning(DiagnosticKind::BrokenAnchor, rel, Some(line), format!("link `{dest}`: `{note}` has no heading with id `{anchor}`"))
            .with_hint("use the heading's id (shown in the page's table of contents), or give the heading an explicit id with `## Title {#my-id}`"),
    }
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
