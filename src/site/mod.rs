//! The site: the pipeline stages run in order and timed (`kb build`), or up to the checks
//! (`kb check`).
//!
//! [`Site::load`] (`load.rs`) runs stages 1-3a (load, front matter, outlines, link resolution,
//! snippet tag checks) and keeps every diagnostic; [`Site::render`] renders notes in parallel;
//! [`pages::write_site`] fills templates and writes every page of the catalogue
//! ([`pages::page`]) through an output sink, then [`crate::search::index_site`] indexes the notes.
//! [`build`] writes through a staging dir that updates the output only on success.

mod claims;
mod load;
mod model;
pub mod pages;
mod timings;

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::content::LoadOptions;
use crate::diagnostics::{ContentErrors, Diagnostic, Severity};
use crate::highlight::Highlighter;
use crate::output::outdir::Protected;
use crate::output::staging::{CommitStats, Staging};
use crate::render::Theme;
use crate::search::SearchDoc;

pub(crate) use load::{duplicate_snippet_ids, snippet_check};
pub(crate) use model::{highlight_cache_file, SnippetCheck};
pub use model::{theme_dir, Site};
pub use timings::{cpu_time, peak_rss_mb, peak_rss_mb_of, Timings};

/// What a build did.
#[derive(Debug)]
pub struct BuildReport {
    pub notes: usize,
    pub files: usize,
    pub warnings: Vec<Diagnostic>,
    pub timings: Timings,
    pub highlight_hits: usize,
    pub highlight_misses: usize,
    pub out: PathBuf,
    /// What changed in the output dir.
    pub output: CommitStats,
}

/// Build the site at `config.root` into `out` (staged; the output is updated only on success).
pub fn build(
    config: Config,
    opts: LoadOptions,
    out: &Path,
    strict: bool,
) -> anyhow::Result<BuildReport> {
    // claim the output first: a refused --out fails before any work
    let content_dir = config.content_dir();
    let staging = Staging::new(
        out,
        Protected {
            root: &config.root,
            content: &content_dir,
        },
    )?;
    let site = Site::load(config, opts)?;
    let blocking: Vec<Diagnostic> = site
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error || (strict && d.severity == Severity::Warning))
        .cloned()
        .collect();
    if !blocking.is_empty() {
        return Err(ContentErrors(blocking).into());
    }
    let mut timings = site.timings.clone();
    let cache_file = highlight_cache_file(&site.config);
    let highlighter = timings.time("hl-cache", || Highlighter::with_cache_file(&cache_file));
    let mut rendered = timings.time("render", || site.render(&highlighter));
    // Highlighted blocks are keyed by content, so the cache is valid whatever happens next:
    // save it now and free it (at 10k notes it holds ~75 MB of HTML) before pages are written.
    if let Err(e) = highlighter.save(&cache_file) {
        tracing::warn!(
            "couldn't save the highlight cache `{}`: {e}",
            cache_file.display()
        );
    }
    let highlight_hits = highlighter.hits.load(std::sync::atomic::Ordering::Relaxed);
    let highlight_misses = highlighter
        .misses
        .load(std::sync::atomic::Ordering::Relaxed);
    drop(highlighter);
    let theme = timings.time("theme", || Theme::load(theme_dir(&site.config).as_deref()))?;
    // The search index needs only the search docs: take them out, so the pages' HTML can be
    // freed before tantivy's indexing arenas fill. (Indexing on a thread of its own while the
    // pages were written gained nothing measurable on 2 cores, both stages keep both busy, and
    // raised the peak RSS of a 10,000-note build from ~445 MB to ~595 MB.)
    let docs: Vec<SearchDoc> = rendered
        .iter_mut()
        .map(|r| std::mem::take(&mut r.search))
        .collect();
    let files = timings.time("write", || {
        pages::write_site(&site, &rendered, &theme, &staging)
    })?;
    drop(rendered);
    timings.time("search", || {
        crate::search::index_site(&site.config, &docs, &staging)
    })?;
    drop(docs);
    let output = timings.time("commit", || staging.commit())?;
    Ok(BuildReport {
        notes: site.notes.len(),
        files,
        warnings: site.warnings().cloned().collect(),
        timings,
        highlight_hits,
        highlight_misses,
        out: out.to_path_buf(),
        output,
    })
}
