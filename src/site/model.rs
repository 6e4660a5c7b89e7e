//! The [`Site`]: everything known about the knowledge base before rendering (notes, sections,
//! outlines, links, verify results, diagnostics), rendering its notes, and where its theme and
//! caches live. [`Site::load`] (in `load.rs`) fills it.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::config::Config;
use crate::content::{Note, Section};
use crate::diagnostics::{Diagnostic, Severity};
use crate::highlight::Highlighter;
use crate::markdown::{self, LinkIndex, Outline, RenderCtx, RenderedNote};
use crate::verify::results::VerifyResults;

use super::timings::Timings;

/// Stages 1-3a: everything known about the site before rendering.
pub struct Site {
    pub config: Config,
    pub notes: Vec<Note>,
    pub sections: Vec<Section>,
    /// Non-markdown files under content/ (absolute paths).
    pub assets: Vec<PathBuf>,
    pub outlines: Vec<Outline>,
    pub links: LinkIndex,
    /// `backlinks[i]`: notes linking to note i.
    pub backlinks: Vec<Vec<usize>>,
    pub results: VerifyResults,
    /// Errors and warnings, sorted by path and line.
    pub diagnostics: Vec<Diagnostic>,
    /// `snippets[i]`: what the snippet rules found in note i (also in `diagnostics`); `kb serve`
    /// keeps them per note to re-check only what an edit touched.
    pub(crate) snippets: Vec<SnippetCheck>,
    pub timings: Timings,
}

impl Site {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Warning)
    }

    /// Render every note (parallel).
    pub fn render(&self, highlighter: &Highlighter) -> Vec<RenderedNote> {
        let ctx = RenderCtx {
            config: &self.config,
            notes: &self.notes,
            outlines: &self.outlines,
            links: &self.links,
            results: &self.results,
            highlighter,
        };
        (0..self.notes.len())
            .into_par_iter()
            .map(|i| markdown::render::render_note(&ctx, i))
            .collect()
    }
}

/// What the snippet rules found in one note: the planner's diagnostics (`kb verify` plans by
/// the same code, so `kb check` passes exactly the notes `kb verify` accepts), and the block ids
/// the note uses, for the knowledge-base-wide uniqueness check ([`duplicate_snippet_ids`]).
/// Here they are warnings: a snippet typo should not keep the rest of the site from building
/// (`kb check` and `--strict` fail on them; `kb verify` refuses to run).
#[derive(Debug, Clone, Default)]
pub(crate) struct SnippetCheck {
    pub(crate) diagnostics: Vec<Diagnostic>,
    pub(crate) ids: Vec<(String, usize)>,
}

/// Where highlighted code blocks are cached between runs.
pub(crate) fn highlight_cache_file(config: &Config) -> PathBuf {
    config.cache_dir().join("cache/highlight.bin")
}

/// The theme override dir: kb.toml `theme`, else `themes/default` in the knowledge base.
pub fn theme_dir(config: &Config) -> Option<PathBuf> {
    config
        .theme_dir
        .clone()
        .or_else(|| Some(config.root.join("themes/default")).filter(|p| p.is_dir()))
}
