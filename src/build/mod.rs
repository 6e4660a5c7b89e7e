//! `kb build` and `kb check`: run the pipeline stages in order, timing each.
//!
//! [`Site::load`] runs stages 1-3a (load, front matter, outlines, link resolution, snippet tag
//! checks) and keeps every diagnostic; [`Site::render`] renders notes in parallel;
//! [`pages::write_site`] fills templates and writes every file through a [`Sink`], then
//! [`crate::search::index_site`] indexes the notes. `kb build` writes through a staging dir that
//! updates the output only on success; `kb check` stops after loading.

mod claims;
pub mod pages;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::config::Config;
use crate::content::{self, LoadOptions, Note, Section};
use crate::diagnostics::{self, ContentErrors, Diagnostic, Severity};
use crate::highlight::Highlighter;
use crate::markdown::{self, LinkIndex, Outline, RenderCtx, RenderedNote};
use crate::output::outdir::Protected;
use crate::output::staging::{CommitStats, Staging};
use crate::render::Theme;
use crate::search::SearchDoc;
use crate::verify::plan::{NoteText, PlanConfig};
use crate::verify::results::VerifyResults;

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

/// Wall time per stage, for `-v` and the benchmark.
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<(&'static str, Duration)>);

impl Timings {
    pub fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let cpu_before = cpu_time();
        let out = f();
        let took = start.elapsed();
        let cpu = cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        match (peak_rss_mb(), cpu) {
            (Some(mb), Some(cpu)) => tracing::info!(
                "{stage:<10} {:>8.1} ms   cpu {:>8.1} ms   peak RSS {mb:>5} MB",
                took.as_secs_f64() * 1000.0,
                cpu.as_secs_f64() * 1000.0
            ),
            (Some(mb), None) => tracing::info!(
                "{stage:<10} {:>8.1} ms   peak RSS {mb:>5} MB",
                took.as_secs_f64() * 1000.0
            ),
            (None, _) => tracing::info!("{stage:<10} {:>8.1} ms", took.as_secs_f64() * 1000.0),
        }
        self.0.push((stage, took));
        out
    }
}

/// Peak resident memory of this process so far (Linux; `None` elsewhere), shown with `-v`.
pub fn peak_rss_mb() -> Option<u64> {
    peak_rss_mb_of("self")
}

/// CPU time (user + system, all threads) this process has used so far, from /proc (Linux only;
/// 10 ms resolution). Shown per stage with `-v`: a stage whose CPU time is well under twice its
/// wall time leaves a core idle. It counts every thread.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture kb targets
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Peak resident memory of process `pid` (`"self"` or a number) from /proc (Linux only).
pub fn peak_rss_mb_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024)
}

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
            // `kb verify` also plans `_index.md` bodies and drafts: check them the same way. (A
            // section index that fails to load is reported by the load stage already; a draft
            // left out is not read for anything else.)
            let indexes: Vec<Note> = corpus
                .section_indexes
                .iter()
                .chain(&corpus.drafts_left_out)
                .filter_map(|p| {
                    content::load::load_note(&config, p, LoadOptions { drafts: true })
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
        .filter(|d| d.severity == Severity::Error || strict)
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
