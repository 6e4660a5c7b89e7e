//! The notes `kb verify` reads, and what planning needs from the knowledge base.
//!
//! Notes are read with the content loader, so verify sees the same notes, bodies and lines as
//! `kb build`; [`PlanConfig`] gathers the settings planning uses from kb.toml and the images under
//! `snippets/images/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};

use crate::config::Config;
use crate::content;
use crate::diagnostics::{ContentErrors, Diagnostic, Severity};
use crate::snippet::Limits;

/// A note as verify needs it: its path and markdown body with the body's place in the file.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    /// Path relative to the knowledge base root, `/`-separated (`content/go/panic.md`).
    pub(crate) path: String,
    /// The markdown after the front matter.
    pub(crate) body: String,
    /// 1-based file line on which the body starts.
    pub(crate) body_line: usize,
}

/// A note's text as planning reads it, borrowed: `kb check`, `kb build` and `kb serve` plan the
/// notes they already hold, with exactly the rules `kb verify` runs by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoteText<'a> {
    /// Path relative to the knowledge base root, `/`-separated.
    pub(crate) path: &'a str,
    /// The markdown after the front matter.
    pub(crate) body: &'a str,
    /// 1-based file line on which the body starts.
    pub(crate) body_line: usize,
}

impl Note {
    pub(crate) fn text(&self) -> NoteText<'_> {
        NoteText {
            path: &self.path,
            body: &self.body,
            body_line: self.body_line,
        }
    }
}

/// What planning needs from the configuration and the knowledge base.
#[derive(Debug, Clone)]
pub(crate) struct PlanConfig {
    /// Default image per language name (kb.toml `[verify.images]`).
    pub(crate) images: BTreeMap<String, String>,
    /// Run command per language name (kb.toml `[verify.commands]`), `{file}` replaced.
    pub(crate) commands: BTreeMap<String, String>,
    pub(crate) default_timeout: Duration,
    /// Container limits where a session's fences give none (kb.toml `[verify]`, else defaults).
    pub(crate) limits: Limits,
    /// Names with a `snippets/images/NAME/Dockerfile`.
    pub(crate) local_images: BTreeSet<String>,
}

impl PlanConfig {
    /// What planning needs from kb.toml and `snippets/images/`.
    pub(crate) fn of(config: &Config) -> PlanConfig {
        PlanConfig {
            images: config.verify.images.clone(),
            commands: config.verify.commands.clone(),
            default_timeout: config.default_timeout,
            limits: config.limits,
            local_images: local_images(&config.root),
        }
    }
}

/// Names `NAME` with a `snippets/images/NAME/Dockerfile`.
fn local_images(root: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(root.join("snippets/images")) else {
        return BTreeSet::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Dockerfile").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect()
}

/// Read the notes to verify with the content loader (the same notes, bodies and lines as
/// `kb build`, drafts included): every note under the given paths (files or directories,
/// relative to the current directory or to the root), or all of `content/`. A file given
/// explicitly is read even outside `content/` (a README, say).
pub(crate) fn load_notes(config: &Config, paths: &[PathBuf]) -> anyhow::Result<Vec<Note>> {
    let root = &config.root;
    let targets: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            let candidate = if p.exists() { p.clone() } else { root.join(p) };
            candidate.canonicalize().with_context(|| {
                format!(
                    "`{}` does not exist (paths are relative to the current directory or to the root `{}`)",
                    p.display(),
                    root.display()
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if let Some(t) = targets.iter().find(|t| !t.starts_with(root)) {
        bail!(
            "`{}` is outside the knowledge base root `{}`; pass --root or a path inside it",
            t.display(),
            root.display()
        );
    }
    let walk = content::load::walk(config);
    let mut files: BTreeSet<PathBuf> = walk
        .notes
        .into_iter()
        .chain(walk.section_indexes)
        .filter(|f| targets.is_empty() || targets.iter().any(|t| f.starts_with(t)))
        .collect();
    files.extend(targets.iter().filter(|t| t.is_file()).cloned());
    let mut diags: Vec<Diagnostic> = walk
        .diagnostics
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let mut notes = Vec::new();
    for f in files {
        match content::load::load_note(config, &f, content::LoadOptions::ALL, &Default::default()) {
            Ok(Some(n)) => notes.push(Note {
                path: n.rel,
                body: n.body,
                body_line: n.body_line,
            }),
            Ok(None) => {}
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        crate::diagnostics::sort(&mut diags);
        return Err(ContentErrors(diags).into());
    }
    notes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(notes)
}
