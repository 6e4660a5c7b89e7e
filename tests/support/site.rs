//! The site the real pipeline builds, for the search tests and the Pagefind benchmark:
//! `kb::site::build` on a knowledge base, plus the note URL -> source path map that turns a
//! search hit's link back into the note the query set expects.
//!
//! [`BuiltSite::copy_and_build`] copies the knowledge base (kb.toml, content/, theme, verify
//! results) into a temp dir first, so the build's cache (`.kb/`: tantivy index, highlight cache)
//! is its own and tests running in parallel never share a tantivy index lock with each other or
//! with the repository's.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use kb::config::Config;

/// A knowledge base built into `out`.
pub struct BuiltSite {
    /// The knowledge base that was built (the copy, for [`BuiltSite::copy_and_build`]).
    pub root: PathBuf,
    /// The site.
    pub out: PathBuf,
    pub config: Config,
    /// Note URL (`/notes/go-gc/`, with the base path) -> source (`content/go/gc.md`).
    pub sources: BTreeMap<String, String>,
    /// What the build did (stage timings, files).
    pub report: kb::site::BuildReport,
    _copy: Option<tempfile::TempDir>,
}

impl BuiltSite {
    /// Build `root` in place into `root/public`, as `kb build` does.
    pub fn build(root: &Path) -> anyhow::Result<BuiltSite> {
        Self::build_into(root, None)
    }

    /// Copy the knowledge base at `root` into a temp dir and build the copy.
    pub fn copy_and_build(root: &Path) -> anyhow::Result<BuiltSite> {
        let config = Config::load(root)?;
        let dir = tempfile::tempdir()?;
        let mut parts = vec![PathBuf::from("kb.toml"), PathBuf::from("content")];
        if let Some(theme) = kb::site::theme_dir(&config) {
            if let Ok(rel) = theme.strip_prefix(&config.root) {
                parts.push(rel.to_path_buf());
            }
        }
        if let Ok(rel) = config.verify_results_path().strip_prefix(&config.root) {
            parts.push(rel.to_path_buf());
        }
        for rel in parts {
            copy_path(&config.root.join(&rel), &dir.path().join(&rel))?;
        }
        let root = dir.path().to_path_buf();
        Self::build_into(&root, Some(dir))
    }

    fn build_into(root: &Path, copy: Option<tempfile::TempDir>) -> anyhow::Result<BuiltSite> {
        let config = Config::load(root)?;
        let out = config.root.join("public");
        let report = kb::site::build(config.clone(), Default::default(), &out, false)
            .with_context(|| format!("kb build of `{}`", root.display()))?;
        let site = kb::site::Site::load(config.clone(), Default::default())?;
        let sources = site
            .notes
            .iter()
            .map(|n| (n.url.clone(), n.rel.clone()))
            .collect();
        Ok(BuiltSite {
            root: config.root.clone(),
            out,
            config,
            sources,
            report,
            _copy: copy,
        })
    }

    /// The source of the note a link points to: `#fragment` dropped, `index.html` and a
    /// missing trailing slash normalised.
    pub fn source_of(&self, url: &str) -> Option<&str> {
        let url = url.split('#').next().unwrap_or(url);
        let url = url.strip_suffix("index.html").unwrap_or(url);
        let url = if url.ends_with('/') {
            url.to_string()
        } else {
            format!("{url}/")
        };
        self.sources.get(&url).map(String::as_str)
    }

    /// Notes in the site.
    pub fn notes(&self) -> usize {
        self.sources.len()
    }
}

/// Copy a file or a directory tree; a missing source is skipped.
fn copy_path(src: &Path, dst: &Path) -> anyhow::Result<()> {
    if !src.exists() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry?;
        let rel = entry.path().strip_prefix(src)?;
        // `dst.join("")` would add a trailing slash when `src` is a file
        let target = if rel.as_os_str().is_empty() {
            dst.to_path_buf()
        } else {
            dst.join(rel)
        };
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)?;
        } else {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copy `{}`", entry.path().display()))?;
        }
    }
    Ok(())
}
