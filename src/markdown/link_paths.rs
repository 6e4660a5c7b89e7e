//! Where a path written in a link leads, as the tools the notes were written for would have it:
//! a note file (`gc.md`, in any letter case, as Obsidian on macOS and Hugo's lower-cased URLs
//! allow), a section (`_index.md`, a folder, `go/`), mdBook's chapter links written as
//! `ch04-01.html`, VitePress's `./guide` without an extension, a page's URL on the source site
//! (`/functions/strings/contains/`, Hugo; a front matter `url:`), or a file under content/ —
//! found by its name anywhere in the vault when it is not where the link says (Obsidian puts
//! pasted images wherever its setting says, and finds them by name).

use std::collections::{HashMap, HashSet};

use crate::content::model::note_stem;
use crate::content::{routes, Note};
use crate::slug::slugify;

/// What a path leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    Note(usize),
    /// A section's page, by URL (a folder without a page of its own).
    Section(String),
    /// A file under content/, by content-relative path.
    Asset(String),
}

/// The lookup tables, built once per site.
#[derive(Debug, Default)]
pub(crate) struct LinkPaths {
    /// content-relative path -> note, as written and lower-cased.
    notes: HashMap<String, usize>,
    notes_lower: HashMap<String, usize>,
    /// Folder (as written and lower-cased) -> its page: the folder page note, else the section.
    folders: HashMap<String, Target>,
    /// content-relative paths of non-markdown files, as written and lower-cased.
    assets: HashSet<String>,
    assets_lower: HashMap<String, String>,
    /// Lower-cased file name -> the asset nearest the root with that name.
    assets_by_name: HashMap<String, String>,
    /// A page's place on the source site, normalised ([`url_key`]) -> note: its route here,
    /// and the URL its path gives on Hugo, Zola, VitePress and Obsidian Publish.
    urls: HashMap<String, usize>,
}

impl LinkPaths {
    pub(crate) fn new(notes: &[Note], assets: HashSet<String>, base: &str) -> Self {
        let mut t = LinkPaths::default();
        for (i, n) in notes.iter().enumerate() {
            t.notes.insert(n.content_rel.clone(), i);
            t.notes_lower
                .entry(n.content_rel.to_lowercase())
                .or_insert(i);
            // The note's folder and those above it, up to the first one already known (its
            // ancestors are known too).
            let mut folder = n.section.as_str();
            while !t.folders.contains_key(folder) {
                let section = Target::Section(routes::url(base, &routes::section_route(folder)));
                t.folders
                    .entry(folder.to_string())
                    .or_insert(section.clone());
                t.folders.entry(folder.to_lowercase()).or_insert(section);
                match folder.rsplit_once('/') {
                    Some((up, _)) => folder = up,
                    None if !folder.is_empty() => folder = "",
                    None => break,
                }
            }
            t.urls.insert(url_key(&n.route.route), i);
            let stem_path = note_stem(&n.content_rel).unwrap_or(&n.content_rel);
            let by_path = if n.is_folder_page() {
                n.section.as_str()
            } else {
                stem_path
            };
            t.urls.entry(url_key(by_path)).or_insert(i);
        }
        for (i, n) in notes.iter().enumerate().filter(|(_, n)| n.is_folder_page()) {
            if let Some(folder) = routes::section_of(&n.route.route) {
                t.folders.insert(folder.to_string(), Target::Note(i));
                t.folders.insert(folder.to_lowercase(), Target::Note(i));
            }
        }
        let mut sorted: Vec<&String> = assets.iter().collect();
        sorted.sort_by_key(|a| (a.matches('/').count(), a.as_str()));
        for a in sorted {
            t.assets_lower.entry(a.to_lowercase()).or_insert(a.clone());
            let name = a.rsplit('/').next().unwrap_or(a).to_lowercase();
            t.assets_by_name.entry(name).or_insert(a.clone());
        }
        t.assets = assets;
        t
    }

    /// What the content-relative `path` leads to (`..` already resolved).
    pub(crate) fn find(&self, path: &str) -> Option<Target> {
        let trimmed = path.trim_end_matches('/');
        let lower = trimmed.to_lowercase();
        let name = lower.rsplit('/').next().unwrap_or(&lower);
        let parent = |p: &str| {
            p.rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default()
        };
        if let Some(stem) = note_stem(name) {
            if stem == "_index" {
                return self.folder(&parent(trimmed));
            }
            return self.note(trimmed);
        }
        if !path.ends_with('/') {
            if let Some(a) = self.asset(trimmed) {
                return Some(Target::Asset(a));
            }
        }
        // mdBook and Jekyll link to a chapter's HTML page.
        if let Some(base) = lower
            .strip_suffix(".html")
            .or_else(|| lower.strip_suffix(".htm"))
        {
            let base = &trimmed[..base.len()];
            if let Some(n) = self.note(&format!("{base}.md")) {
                return Some(n);
            }
            if base.ends_with("/index") || base == "index" {
                return self.folder(&parent(base));
            }
        }
        if let Some(f) = self.folder(trimmed) {
            return Some(f);
        }
        // VitePress and Docusaurus link to `./guide` for `guide.md`.
        self.note(&format!("{trimmed}.md"))
    }

    /// A root-absolute link's path (`functions/x/`, base path and leading `/` removed): a
    /// path under content/, else a page's URL on the source site.
    pub(crate) fn find_rooted(&self, path: &str) -> Option<Target> {
        self.find(path).or_else(|| {
            let key = url_key(path.trim_end_matches(".html"));
            self.urls.get(&key).map(|&i| Target::Note(i))
        })
    }

    /// An asset by the file name alone, anywhere under content/ (Obsidian's rule).
    pub(crate) fn asset_named(&self, name: &str) -> Option<String> {
        let name = name.rsplit('/').next().unwrap_or(name).to_lowercase();
        self.assets_by_name.get(&name).cloned()
    }

    fn note(&self, path: &str) -> Option<Target> {
        self.notes
            .get(path)
            .or_else(|| self.notes_lower.get(&path.to_lowercase()))
            .map(|&i| Target::Note(i))
    }

    fn asset(&self, path: &str) -> Option<String> {
        if self.assets.contains(path) {
            return Some(path.to_string());
        }
        self.assets_lower.get(&path.to_lowercase()).cloned()
    }

    fn folder(&self, path: &str) -> Option<Target> {
        self.folders
            .get(path)
            .or_else(|| self.folders.get(&path.to_lowercase()))
            .cloned()
    }
}

/// A URL path as site generators derive it from a file path or a title: segments slugified
/// (lower case, runs of anything but letters and digits as one `-`), no slashes at the ends.
fn url_key(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| slugify(&s.replace('_', "-")))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_keys_match_what_hugo_derives() {
        assert_eq!(
            url_key("/functions/strings/Contains/"),
            "functions/strings/contains"
        );
        assert_eq!(
            url_key("content-management/Page Bundles"),
            "content-management/page-bundles"
        );
        assert_eq!(url_key("getting_started"), "getting-started");
        assert_eq!(url_key("notes/go-gc"), "notes/go-gc");
    }
}
