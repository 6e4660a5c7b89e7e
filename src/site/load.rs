//! Stages 1-3a: load the knowledge base into a [`Site`] — read notes and front matter, outline
//! them, resolve links, check snippet tags and output paths — keeping every diagnostic.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::config::Config;
use crate::content::{self, LoadOptions, Note};
use crate::diagnostics::{self, Diagnostic, Severity};
use crate::markdown::{self, LinkIndex, Outline};
use crate::verify::plan::{NoteText, PlanConfig};
use crate::verify::results::VerifyResults;

use super::claims;
use super::model::{theme_dir, Site, SnippetCheck};
use super::timings::Timings;

impl Site {
    /// Load and check the knowledge base (no rendering, nothing written).
    pub fn load(config: Config, opts: LoadOptions) -> anyhow::Result<Site> {
        let mut timings = Timings::default();
        let corpus = timings.time("load", || content::load(&config, opts));
        let walk_assets = corpus.assets;
        let mut diagnostics = corpus.diagnostics;
        let notes = corpus.notes;
        let outlines: Vec<Outline> = timings.time("outline", || {
            notes.par_iter().map(markdown::outline::outline).collect()
        });
        let asset_set: HashSet<String> = walk_assets
            .iter()
            .map(|p| crate::output::sink::rel_slash(p, &config.content_dir()))
            .collect();
        let (links, backlinks) = timings.time("links", || {
            let links = LinkIndex::new(&notes, &outlines, asset_set, &config.base_path);
            let (diags, backlinks) = markdown::links::check_all(&notes, &outlines, &links);
            diagnostics.extend(diags);
            (links, backlinks)
        });
        let snippets = timings.time("snippets", || {
            let cfg = PlanConfig::of(&config);
            let checks: Vec<SnippetCheck> =
                notes.par_iter().map(|n| snippet_check(&cfg, n)).collect();
            diagnostics.extend(checks.iter().flat_map(|c| c.diagnostics.iter().cloned()));
            diagnostics.extend(unknown_shortcodes(&notes));
            // mdBook's `{{#include}}` directives in code blocks name files that must exist.
            diagnostics.extend(
                notes
                    .par_iter()
                    .flat_map_iter(|n| markdown::includes::check(n, &config.root))
                    .collect::<Vec<_>>(),
            );
            // `kb verify` also plans `_index.md` bodies, drafts and unrendered notes: check them
            // the same way. (A section index that fails to load is reported by the load stage
            // already; a note left out is not read for anything else.)
            let indexes: Vec<Note> = corpus
                .section_indexes
                .iter()
                .chain(&corpus.left_out)
                .filter_map(|p| {
                    content::load::load_note(&config, p, LoadOptions::ALL, &Default::default())
                        .ok()
                        .flatten()
                })
                .collect();
            let index_checks: Vec<SnippetCheck> =
                indexes.iter().map(|n| snippet_check(&cfg, n)).collect();
            diagnostics.extend(
                index_checks
                    .iter()
                    .flat_map(|c| c.diagnostics.iter().cloned()),
            );
            // Ids are compared in path order, as `kb verify` plans the notes.
            let mut all: Vec<(&Note, &SnippetCheck)> = notes
                .iter()
                .zip(&checks)
                .chain(indexes.iter().zip(&index_checks))
                .collect();
            all.sort_by(|a, b| a.0.rel.cmp(&b.0.rel));
            let (all_notes, all_checks): (Vec<&Note>, Vec<&SnippetCheck>) = all.into_iter().unzip();
            diagnostics.extend(duplicate_ids_of(&all_notes, &all_checks));
            checks
        });
        diagnostics.extend(claims::collisions(
            &config,
            &notes,
            &corpus.sections,
            &walk_assets,
            crate::render::theme::static_names(theme_dir(&config).as_deref()),
        ));
        let results = VerifyResults::load(&config.verify_results_path())?;
        diagnostics::sort(&mut diagnostics);
        Ok(Site {
            config,
            notes,
            sections: corpus.sections,
            assets: walk_assets,
            outlines,
            links,
            backlinks,
            results,
            diagnostics,
            snippets,
            timings,
        })
    }
}

/// One warning per shortcode name kb does not know, at its first use, with how often it is used.
fn unknown_shortcodes(notes: &[Note]) -> Vec<Diagnostic> {
    let mut by_name: std::collections::BTreeMap<&str, (&Note, usize, usize)> = Default::default();
    for n in notes {
        for u in &n.unknown_shortcodes {
            by_name.entry(&u.name).or_insert((n, u.line, 0)).2 += 1;
        }
    }
    by_name
        .into_iter()
        .map(|(name, (note, line, uses))| {
            let more = match uses {
                1 => String::new(),
                n => format!(" (and {} more use{})", n - 1, diagnostics::plural(n - 1)),
            };
            Diagnostic::warning(
                diagnostics::DiagnosticKind::UnknownShortcode,
                &note.rel,
                Some(line),
                format!("shortcode `{name}` is not one kb renders: left out of the page{more}"),
            )
            .with_hint("kb renders ref, relref, highlight, figure, img, admonitions and Zola's image shortcodes; write the rest as markdown or HTML")
        })
        .collect()
}

/// Plan one note's snippets as `kb verify` would, keeping only the verdict.
pub(crate) fn snippet_check(cfg: &PlanConfig, note: &Note) -> SnippetCheck {
    let planned = crate::verify::plan::plan_note(
        NoteText {
            path: &note.rel,
            body: &note.body,
            body_line: note.body_line,
        },
        cfg,
    );
    SnippetCheck {
        diagnostics: planned.diagnostics.into_iter().map(as_warning).collect(),
        ids: planned.ids,
    }
}

/// Blocks that reuse an id already used by another block (`checks[i]` is `notes[i]`'s).
pub(crate) fn duplicate_snippet_ids(notes: &[Note], checks: &[SnippetCheck]) -> Vec<Diagnostic> {
    let notes: Vec<&Note> = notes.iter().collect();
    let checks: Vec<&SnippetCheck> = checks.iter().collect();
    duplicate_ids_of(&notes, &checks)
}

fn duplicate_ids_of(notes: &[&Note], checks: &[&SnippetCheck]) -> Vec<Diagnostic> {
    crate::verify::plan::duplicate_ids(
        notes
            .iter()
            .zip(checks)
            .map(|(n, c)| (n.rel.as_str(), c.ids.as_slice())),
    )
    .into_iter()
    .map(as_warning)
    .collect()
}

fn as_warning(d: Diagnostic) -> Diagnostic {
    Diagnostic {
        severity: Severity::Warning,
        ..d
    }
}
