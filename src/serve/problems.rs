//! Everything wrong with the sources while serving, kept by origin (a note that fails to load,
//! snippet tags, links, duplicate slugs, kb.toml, the theme, the verify results), so that each
//! update replaces only its own part; listed for the terminal and the browser overlay.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::Config;
use crate::content::model::is_note_file;
use crate::content::Note;
use crate::diagnostics::{Diagnostic, DiagnosticKind, Severity};
use crate::output::sink::rel_slash;
use crate::site::{duplicate_snippet_ids, theme_dir, SnippetCheck};

use super::reload::{Problem, ProblemSeverity};

/// Everything wrong with the sources right now, by origin, so each update replaces only its part.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    /// Notes that failed to load (the last good version stays on the site), by root-relative path.
    pub(crate) load: BTreeMap<String, Diagnostic>,
    /// Snippet tag problems and block ids, per note (ids reused across notes are found when
    /// the problems are listed).
    pub(crate) snippets: Vec<SnippetCheck>,
    /// Broken links and anchors.
    pub(crate) links: Vec<Diagnostic>,
    /// Two notes asking for one route, and (as info) namesakes told apart by their folder.
    pub(crate) duplicates: Vec<Diagnostic>,
    /// Walk and section problems found by the last full load.
    pub(crate) other: Vec<Diagnostic>,
    /// kb.toml, the theme or the verify results file could not be used (the previous one is).
    pub(crate) config: Option<Problem>,
    pub(crate) theme: Option<Problem>,
    pub(crate) results: Option<Problem>,
}

impl Problems {
    /// Sort the diagnostics of a full load by origin. Snippet problems of notes come from
    /// `snippets` (per note), and ids reused across notes are found again when listed.
    pub(crate) fn split(
        diags: Vec<Diagnostic>,
        snippets: Vec<SnippetCheck>,
        notes: &[Note],
    ) -> Problems {
        let mut p = Problems {
            snippets,
            ..Default::default()
        };
        for d in diags {
            let rel = d.path.to_string_lossy().replace('\\', "/");
            match d.kind {
                DiagnosticKind::BrokenLink | DiagnosticKind::BrokenAnchor => p.links.push(d),
                DiagnosticKind::DuplicateSlug => p.duplicates.push(d),
                DiagnosticKind::BadSnippet => {
                    if notes
                        .binary_search_by(|n| n.rel.as_str().cmp(&rel))
                        .is_err()
                    {
                        p.other.push(d);
                    }
                }
                DiagnosticKind::Unreadable
                | DiagnosticKind::InvalidUtf8
                | DiagnosticKind::BadFrontMatter
                | DiagnosticKind::NoTitle
                    if is_note_path(&rel) =>
                {
                    p.load.insert(rel, d);
                }
                _ => p.other.push(d),
            }
        }
        p
    }

    /// The problems shown in the terminal and the browser overlay, errors first. `notes` (the
    /// site's, sorted by path) give the URL of the page a problem is on.
    pub(crate) fn list(&self, notes: &[Note]) -> Vec<Problem> {
        let url_of_note = |path: &Path| {
            let rel = path.to_string_lossy().replace('\\', "/");
            notes
                .binary_search_by(|n| n.rel.as_str().cmp(&rel))
                .ok()
                .map(|i| notes[i].url.clone())
        };
        let p = self;
        let reused_ids = duplicate_snippet_ids(notes, &p.snippets);
        let diags = p
            .load
            .values()
            .chain(p.snippets.iter().flat_map(|c| &c.diagnostics))
            .chain(&reused_ids)
            .chain(&p.links)
            .chain(&p.duplicates)
            .chain(&p.other);
        let mut out: Vec<Problem> = diags
            .filter(|d| d.severity != Severity::Info)
            .map(|d| Problem::from_diagnostic(d, url_of_note(&d.path)))
            .collect();
        out.extend(p.config.iter().chain(&p.theme).chain(&p.results).cloned());
        out.sort_by(|a, b| (a.severity, &a.path, a.line).cmp(&(b.severity, &b.path, b.line)));
        out
    }
}

/// A note's file (the loader's rule, [`is_note_file`]) other than a section's `_index.md`.
fn is_note_path(rel: &str) -> bool {
    is_note_file(Path::new(rel)) && !rel.ends_with("/_index.md")
}

pub(crate) fn config_problem(e: &anyhow::Error) -> Problem {
    if let Some(crate::diagnostics::ContentErrors(diags)) = e.downcast_ref() {
        if let Some(d) = diags.first() {
            return Problem::from_diagnostic(d, None);
        }
    }
    Problem {
        path: "kb.toml".into(),
        line: None,
        severity: ProblemSeverity::Error,
        message: format!("{e:#}"),
        hint: None,
        url: None,
    }
}

pub(crate) fn theme_problem(config: &Config, e: &anyhow::Error) -> Problem {
    let path = theme_dir(config)
        .map(|d| rel_slash(&d, &config.root))
        .unwrap_or_else(|| "theme".into());
    Problem {
        path,
        line: None,
        severity: ProblemSeverity::Error,
        message: format!("{e:#}"),
        hint: Some("fix the template; the previous version of the theme is used until then".into()),
        url: None,
    }
}

#[cfg(test)]
mod tests {
    use super::is_note_path;

    #[test]
    fn note_paths_follow_the_loaders_rule_except_section_indexes() {
        for rel in [
            "content/go/gc.md",
            "content/go/gc.markdown",
            "content/go/GC.MD",
            "content/go/gc.Markdown",
        ] {
            assert!(is_note_path(rel), "{rel}");
        }
        for rel in [
            "content/go/_index.md",
            "content/go/gc.mdx",
            "content/go/diagram.png",
            "content/go/.md",
            "kb.toml",
        ] {
            assert!(!is_note_path(rel), "{rel}");
        }
    }
}
