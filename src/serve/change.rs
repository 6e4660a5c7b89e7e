//! What a changed file means for the site: each path the watcher reports is classified once
//! into a [`ChangeKind`], and the kinds decide the smallest rebuild that covers them.
//!
//! Editor droppings (swap files, `~` backups, vim's `4913` probe, hidden files) are ignored
//! here, so a rename-on-save shows up only as a change of the note itself.

use std::path::{Path, PathBuf};

use crate::content::model::is_note_file;

/// Why a file matters to the site, from cheapest to most expensive to rebuild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ChangeKind {
    /// `snippets/images/NAME/...`: used by `kb verify` only; nothing on the site changes.
    SnippetImage,
    /// A non-markdown file under `content/` (image, attachment), served as it is.
    ContentAsset,
    /// A theme static file (`static/style.css`): swapped in place when it is CSS.
    ThemeStatic,
    /// A markdown note: re-render it and the pages that list or link it.
    Note,
    /// The verify results file: badges and the status page of the notes whose results changed.
    VerifyResults,
    /// A theme template: every page.
    Template,
    /// A section's `_index.md`, or a folder appearing or vanishing under `content/`: sections
    /// are re-derived by reloading the content.
    ContentTree,
    /// `kb.toml`: everything.
    Config,
}

/// One classified change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Change {
    pub(crate) kind: ChangeKind,
    /// Absolute path as reported by the watcher.
    pub(crate) path: PathBuf,
}

/// The watched locations of a knowledge base (absolute paths).
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) root: PathBuf,
    pub(crate) content: PathBuf,
    /// Theme override directory, if the site has one.
    pub(crate) theme: Option<PathBuf>,
    pub(crate) snippet_images: PathBuf,
    pub(crate) config_file: PathBuf,
    pub(crate) results_file: PathBuf,
}

impl Layout {
    pub(crate) fn new(config: &crate::config::Config) -> Layout {
        Layout {
            root: config.root.clone(),
            content: config.content_dir(),
            theme: crate::site::theme_dir(config),
            snippet_images: config.root.join("snippets/images"),
            config_file: config.root.join("kb.toml"),
            results_file: config.verify_results_path(),
        }
    }

    /// Directories to watch recursively (those that exist), then ones to watch flat.
    pub(crate) fn watch_dirs(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut recursive = vec![self.content.clone(), self.snippet_images.clone()];
        recursive.extend(self.theme.clone());
        recursive.retain(|d| d.is_dir());
        let mut flat = vec![self.root.clone()];
        if let Some(dir) = self.results_file.parent() {
            if dir != self.root && dir.is_dir() {
                flat.push(dir.to_path_buf());
            }
        }
        (recursive, flat)
    }

    /// Classify one reported path; `None` if it does not affect the site.
    pub(crate) fn classify(&self, path: &Path) -> Option<Change> {
        let change = |kind| {
            Some(Change {
                kind,
                path: path.to_path_buf(),
            })
        };
        if path == self.config_file {
            return change(ChangeKind::Config);
        }
        if path == self.results_file {
            return change(ChangeKind::VerifyResults);
        }
        if let Ok(rel) = path.strip_prefix(&self.content) {
            if rel.as_os_str().is_empty() {
                return change(ChangeKind::ContentTree);
            }
            if is_ignored(rel) {
                return None;
            }
            let name = rel
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_md = is_note_file(rel);
            return if name == "_index.md" || path.is_dir() {
                change(ChangeKind::ContentTree)
            } else if is_md {
                change(ChangeKind::Note)
            } else if !path.exists() && Path::new(&name).extension().is_none() {
                // Gone and extension-less: most likely a folder that was removed or renamed.
                change(ChangeKind::ContentTree)
            } else {
                change(ChangeKind::ContentAsset)
            };
        }
        if let Some(theme) = &self.theme {
            if let Ok(rel) = path.strip_prefix(theme) {
                if is_ignored(rel) {
                    return None;
                }
                return match rel
                    .components()
                    .next()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .as_deref()
                {
                    None | Some("templates") => change(ChangeKind::Template),
                    Some("static") if !path.is_dir() => change(ChangeKind::ThemeStatic),
                    Some("static") => change(ChangeKind::Template),
                    _ => None,
                };
            }
        }
        if let Ok(rel) = path.strip_prefix(&self.snippet_images) {
            return (!is_ignored(rel)).then(|| Change {
                kind: ChangeKind::SnippetImage,
                path: path.to_path_buf(),
            });
        }
        None
    }
}

/// Hidden files and folders, and the temp/backup files editors write next to the real one.
fn is_ignored(rel: &Path) -> bool {
    rel.components().any(|c| {
        let name = c.as_os_str().to_string_lossy();
        name.starts_with('.')
            || name.starts_with('#')
            || name.ends_with('~')
            || name.ends_with(".swp")
            || name.ends_with(".swx")
            || name.ends_with(".tmp")
            || name.ends_with(".kate-swp")
            || name == "4913"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            content: root.join("content"),
            theme: Some(root.join("themes/default")),
            snippet_images: root.join("snippets/images"),
            config_file: root.join("kb.toml"),
            results_file: root.join(".kb/verify-results.json"),
        }
    }

    fn kind(l: &Layout, rel: &str) -> Option<ChangeKind> {
        l.classify(&l.root.join(rel)).map(|c| c.kind)
    }

    #[test]
    fn every_source_of_the_site_has_a_kind() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        assert_eq!(kind(&l, "content/go/gc.md"), Some(ChangeKind::Note));
        // the loader's rule (content/model.rs): `.md` or `.markdown`, any case
        for note in [
            "content/go/gc.markdown",
            "content/go/GC.MD",
            "content/go/gc.Markdown",
        ] {
            assert_eq!(kind(&l, note), Some(ChangeKind::Note), "{note}");
        }
        assert_eq!(
            kind(&l, "content/go/gc.mdx"),
            Some(ChangeKind::ContentAsset)
        );
        assert_eq!(
            kind(&l, "content/go/_index.md"),
            Some(ChangeKind::ContentTree)
        );
        assert_eq!(
            kind(&l, "content/go/diagram.png"),
            Some(ChangeKind::ContentAsset)
        );
        assert_eq!(
            kind(&l, "themes/default/templates/note.html"),
            Some(ChangeKind::Template)
        );
        assert_eq!(
            kind(&l, "themes/default/static/style.css"),
            Some(ChangeKind::ThemeStatic)
        );
        assert_eq!(kind(&l, "kb.toml"), Some(ChangeKind::Config));
        assert_eq!(
            kind(&l, ".kb/verify-results.json"),
            Some(ChangeKind::VerifyResults)
        );
        assert_eq!(
            kind(&l, "snippets/images/go/Dockerfile"),
            Some(ChangeKind::SnippetImage)
        );
    }

    #[test]
    fn editor_temp_files_and_unrelated_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        for rel in [
            "content/go/.gc.md.swp",
            "content/go/gc.md~",
            "content/go/4913",
            "content/.git/HEAD",
            "content/go/#gc.md#",
            "README.md",
            "public/index.html",
            ".kb/cache/highlight.bin",
            "target/debug/kb",
        ] {
            assert_eq!(kind(&l, rel), None, "{rel}");
        }
    }

    #[test]
    fn a_removed_folder_under_content_reloads_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let l = layout(dir.path());
        assert_eq!(
            kind(&l, "content/old-section"),
            Some(ChangeKind::ContentTree)
        );
        std::fs::create_dir_all(dir.path().join("content/new")).unwrap();
        assert_eq!(kind(&l, "content/new"), Some(ChangeKind::ContentTree));
    }
}
