//! The site as `kb serve` keeps it in memory, and the smallest rebuild for each kind of change.
//!
//! [`LiveSite`] holds what a build computes — the loaded [`Site`], every rendered note, the
//! [`Lookup`] the views are made from, the theme — and the served files. A note edit:
//! 1. reloads that one file (a file that fails to load keeps its last good version on the site
//!    and becomes a problem in the overlay);
//! 2. checks links again — not at all if the note links to the same places as before, the
//!    whole link index only if a note's path, title, aliases or headings changed;
//! 3. re-renders the markdown of the note, and of the notes whose links to it may now resolve
//!    differently;
//! 4. updates the cards of the changed notes ([`pages::update_lookup`]);
//! 5. re-renders the pages that show them: their own pages, the pages listing them among
//!    backlinks or as prev/next. List pages (home, tags, sections, the verify page, sitemap,
//!    feed) that show them are marked stale and rendered when next requested; when a change
//!    reaches the chrome every page shares (note count, sections, tags, verify totals in the
//!    header) every page is marked stale that way.
//!
//! Only pages whose bytes changed are announced for reload. Nothing is written to disk.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;

use crate::build::pages::{self, Lookup, Page};
use crate::build::{self, Site};
use crate::config::Config;
use crate::content;
use crate::content::load::{load_note, Admit};
use crate::content::{LoadOptions, Note};
use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::highlight::Highlighter;
use crate::markdown::{self, LinkIndex, Outline, RenderCtx, RenderedNote};
use crate::output::sink::rel_slash;
use crate::output::Sink;
use crate::render::Theme;
use crate::search::doc::SearchDoc;
use crate::verify::plan::PlanConfig;
use crate::verify::results::VerifyResults;

use super::change::{Change, ChangeKind};
use super::files::LiveFiles;
use super::reload::{url_of, Problem, Reload};

/// The in-memory site.
pub(crate) struct LiveSite {
    pub(crate) site: Site,
    pub(crate) rendered: Vec<RenderedNote>,
    pub(crate) lookup: Lookup,
    pub(crate) theme: Arc<Theme>,
    highlighter: Arc<Highlighter>,
    opts: LoadOptions,
    files: Arc<LiveFiles>,
    /// Pages out of date, rendered on request: output path -> page.
    stale: Mutex<HashMap<String, Page>>,
    /// The site-wide view values every page shows, serialized (build time left out).
    chrome: String,
    /// Content-relative paths of the non-markdown files, for link resolution.
    asset_set: HashSet<String>,
    problems: Problems,
}

/// Everything wrong with the sources right now, by origin, so each update replaces only its part.
#[derive(Debug, Default)]
struct Problems {
    /// Notes that failed to load (the last good version stays on the site), by root-relative path.
    load: BTreeMap<String, Diagnostic>,
    /// Snippet tag problems and block ids, per note (ids reused across notes are found when
    /// the problems are listed).
    snippets: Vec<build::SnippetCheck>,
    /// Broken links and anchors.
    links: Vec<Diagnostic>,
    /// Two notes with one slug.
    duplicates: Vec<Diagnostic>,
    /// Walk and section problems found by the last full load.
    other: Vec<Diagnostic>,
    /// kb.toml, the theme or the verify results file could not be used (the previous one is).
    config: Option<Problem>,
    theme: Option<Problem>,
    results: Option<Problem>,
}

/// What an update did, for the server loop.
#[derive(Debug, Default)]
pub(crate) struct Update {
    pub(crate) reload: Reload,
    /// Search documents to add or replace, and sources to drop (`None`: nothing changed).
    pub(crate) search: Option<SearchDelta>,
    /// Note pages rendered, list pages marked stale.
    pub(crate) rendered_pages: usize,
    pub(crate) stale_pages: usize,
    /// Human-readable notes for the terminal (one per line).
    pub(crate) log: Vec<String>,
    /// Wall time per step, for `-v`.
    pub(crate) laps: Laps,
}

/// Wall time of each step of an update.
#[derive(Debug)]
pub(crate) struct Laps {
    last: Instant,
    pub(crate) steps: Vec<(&'static str, std::time::Duration)>,
}

impl Default for Laps {
    fn default() -> Self {
        Laps {
            last: Instant::now(),
            steps: Vec::new(),
        }
    }
}

impl Laps {
    /// Close the step that just ended.
    pub(crate) fn mark(&mut self, step: &'static str) {
        let now = Instant::now();
        self.steps.push((step, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Laps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .steps
            .iter()
            .map(|(s, d)| format!("{s} {:.1}ms", d.as_secs_f64() * 1000.0))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Changes for the search index.
#[derive(Debug, Default)]
pub(crate) struct SearchDelta {
    /// Every document: the index should hold exactly these.
    pub(crate) all: Option<Vec<SearchDoc>>,
    pub(crate) upsert: Vec<SearchDoc>,
    /// `source` of removed notes.
    pub(crate) remove: Vec<String>,
}

/// The part of the old state an incremental update compares against (same indexes as the new
/// state unless notes were added or removed). The old [`Lookup`] stays in place until
/// [`LiveSite::finish`] replaces it.
struct Before {
    backlinks: Vec<Vec<usize>>,
    chrome: String,
}

impl LiveSite {
    /// Load and render the whole site (pages themselves are rendered on request).
    pub(crate) fn load(
        config: Config,
        opts: LoadOptions,
        files: Arc<LiveFiles>,
    ) -> anyhow::Result<LiveSite> {
        let theme = Arc::new(Theme::load(build::theme_dir(&config).as_deref())?);
        let highlighter = Arc::new(Highlighter::with_cache_file(&build::highlight_cache_file(
            &config,
        )));
        let site = Site::load(config, opts)?;
        Ok(LiveSite::assemble(site, theme, highlighter, opts, files))
    }

    fn assemble(
        mut site: Site,
        theme: Arc<Theme>,
        highlighter: Arc<Highlighter>,
        opts: LoadOptions,
        files: Arc<LiveFiles>,
    ) -> LiveSite {
        let rendered = site.render(&highlighter);
        let lookup = pages::lookup(&site, &rendered);
        let chrome = chrome(&lookup);
        let asset_set = site
            .assets
            .iter()
            .map(|p| rel_slash(p, &site.config.content_dir()))
            .collect();
        let problems = Problems::split(
            std::mem::take(&mut site.diagnostics),
            std::mem::take(&mut site.snippets),
            &site.notes,
        );
        let live = LiveSite {
            site,
            rendered,
            lookup,
            theme,
            highlighter,
            opts,
            files,
            stale: Mutex::default(),
            chrome,
            asset_set,
            problems,
        };
        if let Err(e) = pages::write_statics(&live.site, &live.theme, live.files.as_ref()) {
            tracing::warn!("{e:#}");
        }
        live.invalidate_all(&HashSet::new());
        live.files.take_changed();
        live
    }

    pub(crate) fn config(&self) -> &Config {
        &self.site.config
    }

    /// Save the highlight cache (on exit), so the next build starts warm.
    pub(crate) fn save_caches(&self) {
        let file = build::highlight_cache_file(&self.site.config);
        if let Err(e) = self.highlighter.save(&file) {
            tracing::warn!(
                "couldn't save the highlight cache `{}`: {e}",
                file.display()
            );
        }
    }

    /// Every search document, in note order.
    pub(crate) fn search_docs(&self) -> Vec<SearchDoc> {
        self.rendered.iter().map(|r| r.search.clone()).collect()
    }

    /// If `rel_path` is a stale page, render it (and its alias redirects) now. Returns whether
    /// anything was rendered. Takes `&self`: runs under the read lock, beside other requests.
    pub(crate) fn render_if_stale(&self, rel_path: &str) -> anyhow::Result<bool> {
        let page = match self
            .stale
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(rel_path)
        {
            Some(p) => p.clone(),
            None => return Ok(false),
        };
        let files =
            pages::render_page(&self.site, &self.rendered, &self.lookup, &self.theme, &page)?;
        for (path, bytes) in &files {
            self.files.write(path, bytes)?;
        }
        let mut stale = self.stale.lock().unwrap_or_else(|e| e.into_inner());
        for (path, _) in &files {
            stale.remove(path);
        }
        Ok(true)
    }

    /// Apply one batch of changes (already classified and deduplicated).
    pub(crate) fn apply(&mut self, changes: &BTreeSet<Change>) -> Update {
        let mut up = Update::default();
        let has = |k: ChangeKind| changes.iter().any(|c| c.kind == k);
        let paths = |k: ChangeKind| {
            changes
                .iter()
                .filter(|c| c.kind == k)
                .map(|c| c.path.clone())
                .collect::<Vec<_>>()
        };
        if has(ChangeKind::Config) {
            self.reload_config(&mut up);
            return up;
        }
        if has(ChangeKind::ContentTree) {
            self.reload_content(&mut up, "the content folders changed");
            return up;
        }
        if has(ChangeKind::Template) || has(ChangeKind::ThemeStatic) {
            self.apply_theme(has(ChangeKind::Template), &mut up);
        }
        let assets = paths(ChangeKind::ContentAsset);
        if !assets.is_empty() && self.apply_assets(&assets, &mut up) {
            return up;
        }
        let notes = paths(ChangeKind::Note);
        if !notes.is_empty() {
            self.apply_notes(&notes, &mut up);
        }
        if has(ChangeKind::VerifyResults) {
            self.apply_results(&mut up);
        }
        if has(ChangeKind::SnippetImage) {
            up.log.push(
                "snippet image changed: it is used by `kb verify` only, the site is unchanged"
                    .into(),
            );
        }
        up
    }

    /// Reload everything from disk (the rescan after the watcher lost events, or a folder change).
    pub(crate) fn reload_content(&mut self, up: &mut Update, why: &str) {
        match Site::load(self.site.config.clone(), self.opts) {
            Ok(site) => {
                let theme = self.theme.clone();
                let highlighter = self.highlighter.clone();
                let (config_problem, theme_problem) =
                    (self.problems.config.take(), self.problems.theme.take());
                *self = LiveSite::assemble(site, theme, highlighter, self.opts, self.files.clone());
                self.problems.config = config_problem;
                self.problems.theme = theme_problem;
                up.reload.all = true;
                up.search = Some(SearchDelta {
                    all: Some(self.search_docs()),
                    ..Default::default()
                });
                up.log
                    .push(format!("reloaded {} notes: {why}", self.site.notes.len()));
            }
            Err(e) => up.log.push(format!("couldn't reload the content: {e:#}")),
        }
    }

    fn reload_config(&mut self, up: &mut Update) {
        let base_url = self.site.config.base_url.clone();
        let config = Config::load(&self.site.config.root).and_then(|c| c.with_base_url(&base_url));
        let config = match config {
            Ok(c) => c,
            Err(e) => {
                self.problems.config = Some(config_problem(&e));
                up.log
                    .push("kb.toml has a problem; serving the site as it was".into());
                return;
            }
        };
        self.problems.config = None;
        match Theme::load(build::theme_dir(&config).as_deref()) {
            Ok(t) => {
                self.theme = Arc::new(t);
                self.problems.theme = None;
            }
            Err(e) => self.problems.theme = Some(theme_problem(&config, &e)),
        }
        self.site.config = config;
        self.reload_content(up, "kb.toml changed");
    }

    /// Templates or theme static files changed.
    fn apply_theme(&mut self, templates: bool, up: &mut Update) {
        let theme = match Theme::load(build::theme_dir(&self.site.config).as_deref()) {
            Ok(t) => t,
            Err(e) => {
                self.problems.theme = Some(theme_problem(&self.site.config, &e));
                up.log
                    .push("the theme has a problem; serving pages with the previous theme".into());
                return;
            }
        };
        self.problems.theme = None;
        for gone in self
            .theme
            .statics
            .keys()
            .filter(|k| !theme.statics.contains_key(*k))
        {
            self.files.remove(gone);
            up.reload.file(gone);
        }
        self.theme = Arc::new(theme);
        self.files.take_changed();
        if let Err(e) = pages::write_statics(&self.site, &self.theme, self.files.as_ref()) {
            up.log.push(format!("{e:#}"));
        }
        for path in self.files.take_changed() {
            up.reload.file(&path);
        }
        if templates {
            up.stale_pages += self.invalidate_all(&HashSet::new());
            up.reload.all = true;
            up.log
                .push("templates changed: every page will be rendered again on request".into());
        }
    }

    /// Files under content/ that are not notes. Returns true if the whole content was reloaded.
    fn apply_assets(&mut self, paths: &[PathBuf], up: &mut Update) -> bool {
        let content = self.site.config.content_dir();
        for path in paths {
            let rel = rel_slash(path, &content);
            let known = self.asset_set.contains(&rel);
            // The content walk's policy: a link out of the root (or to nowhere) is not a file.
            let admitted = content::load::admit(&self.site.config, path) == Admit::File;
            if known != admitted {
                // Added or removed: links to it now resolve differently.
                self.reload_content(up, "a file under content/ was added or removed");
                return true;
            }
            if !admitted {
                continue;
            }
            if let Ok(bytes) = std::fs::read(path) {
                if self.files.write(&rel, &bytes).is_ok()
                    && self.files.take_changed().contains(&rel)
                {
                    up.reload.file(&rel);
                }
            }
        }
        false
    }

    /// New verify results: re-render the notes whose results changed.
    fn apply_results(&mut self, up: &mut Update) {
        let path = self.site.config.verify_results_path();
        let results = match VerifyResults::load(&path) {
            Ok(r) => r,
            Err(e) => {
                self.problems.results = Some(Problem {
                    path: rel_slash(&path, &self.site.config.root),
                    line: None,
                    severity: super::reload::ProblemSeverity::Error,
                    message: format!("{e:#}"),
                    hint: Some("run `kb verify` again to rewrite it".into()),
                    url: None,
                });
                return;
            }
        };
        self.problems.results = None;
        if results == self.site.results {
            return;
        }
        let keys: BTreeSet<&String> = results
            .blocks
            .keys()
            .chain(self.site.results.blocks.keys())
            .collect();
        let changed_notes: HashSet<&str> = keys
            .into_iter()
            .filter(|k| results.blocks.get(*k) != self.site.results.blocks.get(*k))
            .filter_map(|k| {
                results
                    .blocks
                    .get(k)
                    .or_else(|| self.site.results.blocks.get(k))
                    .map(|b| b.note.as_str())
            })
            .collect();
        let dirty: Vec<usize> = self
            .site
            .notes
            .iter()
            .enumerate()
            .filter(|(_, n)| changed_notes.contains(n.rel.as_str()))
            .map(|(i, _)| i)
            .collect();
        let before = self.before();
        self.site.results = results;
        up.log
            .push(format!("verify results changed for {} notes", dirty.len()));
        self.rerender(&dirty);
        self.finish(before, false, &dirty, up);
    }

    /// Created, edited, deleted and renamed notes.
    fn apply_notes(&mut self, paths: &[PathBuf], up: &mut Update) {
        let started = Instant::now();
        let root = self.site.config.root.clone();
        let mut upserts: BTreeMap<String, Note> = BTreeMap::new();
        let mut removes: BTreeSet<String> = BTreeSet::new();
        for path in paths {
            let rel = rel_slash(path, &root);
            let existing = self.index_of(&rel);
            // The content walk's policy: a link out of the root (or to nowhere) is not a note.
            let loaded = (content::load::admit(&self.site.config, path) == Admit::File)
                .then(|| load_note(&self.site.config, path, self.opts));
            match loaded {
                Some(Ok(Some(note))) => {
                    self.problems.load.remove(&rel);
                    if existing.is_some_and(|i| self.site.notes[i].hash == note.hash) {
                        continue;
                    }
                    upserts.insert(rel, note);
                }
                Some(Err(diag)) => {
                    // The last good version stays on the site; the overlay shows the problem.
                    up.log
                        .push(format!("{rel}: not updated (see the problem below)"));
                    self.problems.load.insert(rel, diag);
                }
                Some(Ok(None)) | None => {
                    self.problems.load.remove(&rel);
                    if existing.is_some() {
                        removes.insert(rel);
                    }
                }
            }
        }
        up.laps.mark("load");
        if upserts.is_empty() && removes.is_empty() {
            return;
        }
        let plan_cfg = PlanConfig::of(&self.site.config);
        let structural =
            !removes.is_empty() || upserts.keys().any(|rel| self.index_of(rel).is_none());
        if structural && self.sections_change(&upserts, &removes) {
            self.reload_content(
                up,
                "a note was added to or removed from a folder that changes the sections",
            );
            return;
        }

        // Merge the changes into the note-aligned vectors (sorted by path).
        let before = self.before();
        let old_count = self.site.notes.len();
        // Output paths a note no longer has (deleted, or its slug or aliases changed).
        let mut gone_paths: BTreeSet<String> = BTreeSet::new();
        let mut removed: Vec<(usize, Note)> = Vec::new();
        // (new index, old index if it existed) of every loaded note.
        let mut changed: Vec<(usize, Option<usize>)> = Vec::new();
        let mut identity_changed = structural;
        // Whether every edited note links to the same places as before (lines aside) and had
        // no broken link: then links, backlinks and link problems are all unchanged.
        let mut same_links = !structural;
        let new_of_old: Vec<Option<usize>>;
        if !structural {
            // Edits of existing notes: replace them where they are.
            for (rel, new) in std::mem::take(&mut upserts) {
                let Some(i) = self.index_of(&rel) else {
                    continue;
                };
                let outline = markdown::outline::outline(&new);
                identity_changed |= identity(&self.site.notes[i], &self.site.outlines[i])
                    != identity(&new, &outline);
                let targets = |o: &Outline| {
                    o.links
                        .iter()
                        .map(|l| (l.dest.clone(), l.kind))
                        .collect::<Vec<_>>()
                };
                same_links &= targets(&self.site.outlines[i]) == targets(&outline)
                    && !self
                        .problems
                        .links
                        .iter()
                        .any(|d| d.path.to_string_lossy() == rel);
                let kept = note_paths(&new);
                gone_paths.extend(
                    note_paths(&self.site.notes[i])
                        .into_iter()
                        .filter(|p| !kept.contains(p)),
                );
                self.problems.snippets[i] = build::snippet_check(&plan_cfg, &new);
                self.site.notes[i] = new;
                self.site.outlines[i] = outline;
                self.rendered[i] = empty_rendered();
                changed.push((i, Some(i)));
            }
            new_of_old = (0..old_count).map(Some).collect();
        } else {
            let old_notes = std::mem::take(&mut self.site.notes);
            let old_outlines = std::mem::take(&mut self.site.outlines);
            let old_rendered = std::mem::take(&mut self.rendered);
            let old_snippets = std::mem::take(&mut self.problems.snippets);
            struct Entry {
                note: Note,
                outline: Outline,
                rendered: Option<RenderedNote>,
                snippets: build::SnippetCheck,
                old: Option<usize>,
                identity_changed: bool,
            }
            let mut entries: Vec<Entry> = Vec::with_capacity(old_count + upserts.len());
            for (i, ((note, outline), (rendered, snippets))) in old_notes
                .into_iter()
                .zip(old_outlines)
                .zip(old_rendered.into_iter().zip(old_snippets))
                .enumerate()
            {
                if removes.contains(&note.rel) {
                    gone_paths.extend(note_paths(&note));
                    removed.push((i, note));
                    continue;
                }
                match upserts.remove(&note.rel) {
                    Some(new) => {
                        let new_outline = markdown::outline::outline(&new);
                        let identity_changed =
                            identity(&note, &outline) != identity(&new, &new_outline);
                        let kept = note_paths(&new);
                        gone_paths
                            .extend(note_paths(&note).into_iter().filter(|p| !kept.contains(p)));
                        entries.push(Entry {
                            snippets: build::snippet_check(&plan_cfg, &new),
                            note: new,
                            outline: new_outline,
                            rendered: None,
                            old: Some(i),
                            identity_changed,
                        });
                    }
                    None => entries.push(Entry {
                        note,
                        outline,
                        rendered: Some(rendered),
                        snippets,
                        old: Some(i),
                        identity_changed: false,
                    }),
                }
            }
            for (_, new) in std::mem::take(&mut upserts) {
                let outline = markdown::outline::outline(&new);
                entries.push(Entry {
                    snippets: build::snippet_check(&plan_cfg, &new),
                    note: new,
                    outline,
                    rendered: None,
                    old: None,
                    identity_changed: true,
                });
            }
            if structural {
                entries.sort_by(|a, b| a.note.rel.cmp(&b.note.rel));
            }
            let mut remap: Vec<Option<usize>> = vec![None; old_count];
            let mut rendered: Vec<RenderedNote> = Vec::with_capacity(entries.len());
            for (new_i, e) in entries.into_iter().enumerate() {
                if let Some(o) = e.old {
                    remap[o] = Some(new_i);
                }
                if e.rendered.is_none() {
                    changed.push((new_i, e.old));
                }
                identity_changed |= e.identity_changed;
                self.site.notes.push(e.note);
                self.site.outlines.push(e.outline);
                self.problems.snippets.push(e.snippets);
                rendered.push(e.rendered.unwrap_or_else(empty_rendered));
            }
            self.rendered = rendered;
            new_of_old = remap;
        }

        up.laps.mark("merge");
        // Links: the index is rebuilt only when a note's name, path or headings changed.
        if identity_changed {
            self.site.links = LinkIndex::new(
                &self.site.notes,
                &self.site.outlines,
                self.asset_set.clone(),
                &self.site.config.base_path,
            );
        }
        if identity_changed || !same_links {
            let (link_diags, backlinks) =
                markdown::links::check_all(&self.site.notes, &self.site.outlines, &self.site.links);
            self.problems.links = link_diags;
            self.site.backlinks = backlinks;
        }
        if structural || identity_changed {
            self.problems.duplicates = crate::content::load::duplicate_slugs(&self.site.notes);
        }
        up.laps.mark("links");

        // Markdown to re-render: the changed notes, and when names or headings changed, every
        // note that links (or linked) to them: their link targets and texts may differ now.
        let mut dirty: BTreeSet<usize> = changed.iter().map(|(n, _)| *n).collect();
        if identity_changed {
            let touched_old = removed
                .iter()
                .map(|(o, _)| *o)
                .chain(changed.iter().filter_map(|(_, o)| *o));
            for o in touched_old {
                dirty.extend(before.backlinks[o].iter().filter_map(|&b| new_of_old[b]));
            }
            for (n, _) in &changed {
                dirty.extend(self.site.backlinks[*n].iter().copied());
            }
        }
        let dirty: Vec<usize> = dirty.into_iter().collect();
        self.rerender(&dirty);
        up.laps.mark("markdown");

        for path in &gone_paths {
            self.files.remove(path);
            self.stale
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(path);
            up.reload.pages.insert(url_of(path));
        }
        up.search = Some(SearchDelta {
            all: None,
            upsert: dirty
                .iter()
                .map(|&i| self.rendered[i].search.clone())
                .collect(),
            remove: removed.iter().map(|(_, n)| n.rel.clone()).collect(),
        });
        let names: Vec<String> = changed
            .iter()
            .map(|(i, _)| self.site.notes[*i].rel.clone())
            .chain(removed.iter().map(|(_, n)| format!("{} (removed)", n.rel)))
            .collect();
        self.finish(before, structural, &dirty, up);
        up.log.push(format!(
            "{}: {} pages rendered, {} marked stale, in {:.1} ms",
            names.join(", "),
            up.rendered_pages,
            up.stale_pages,
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }

    /// Re-render the markdown of `dirty` notes (parallel).
    fn rerender(&mut self, dirty: &[usize]) {
        let ctx = RenderCtx {
            config: &self.site.config,
            notes: &self.site.notes,
            outlines: &self.site.outlines,
            links: &self.site.links,
            results: &self.site.results,
            highlighter: &self.highlighter,
        };
        let fresh: Vec<(usize, RenderedNote)> = dirty
            .par_iter()
            .map(|&i| (i, markdown::render::render_note(&ctx, i)))
            .collect();
        for (i, r) in fresh {
            self.rendered[i] = r;
        }
    }

    fn before(&self) -> Before {
        Before {
            backlinks: self.site.backlinks.clone(),
            chrome: self.chrome.clone(),
        }
    }

    /// After notes were re-rendered: new lookup, then render the pages that show them and mark
    /// the list pages (or, when the chrome changed, every page) stale.
    fn finish(&mut self, before: Before, structural: bool, dirty: &[usize], up: &mut Update) {
        // What the comparisons below need from the old lookup (same indexes unless structural).
        let old_cards: HashMap<usize, String> = if structural {
            HashMap::new()
        } else {
            dirty
                .iter()
                .map(|&i| (i, json(&self.lookup.cards[i])))
                .collect()
        };
        let old_verified: bool =
            !structural && dirty.iter().any(|&i| self.lookup.cards[i].verify.total > 0);
        let old_order = if structural {
            Vec::new()
        } else {
            self.lookup.order.clone()
        };
        let old_neighbours = if structural {
            Vec::new()
        } else {
            self.lookup.neighbours.clone()
        };
        if structural {
            self.lookup = pages::lookup(&self.site, &self.rendered);
        } else {
            pages::update_lookup(&mut self.lookup, &self.site, &self.rendered, dirty);
        }
        self.chrome = chrome(&self.lookup);
        up.laps.mark("lookup");
        let mut eager: BTreeSet<usize> = dirty.iter().copied().collect();
        let mut lists: BTreeSet<Page> = BTreeSet::new();
        let everything = structural || self.chrome != before.chrome;
        if !everything {
            // Same notes at the same indexes: compare cards, backlinks, neighbours and order.
            let card_changed: Vec<usize> = dirty
                .iter()
                .copied()
                .filter(|&i| old_cards.get(&i) != Some(&json(&self.lookup.cards[i])))
                .collect();
            let order_changed = self.lookup.order != old_order;
            for (j, back) in self.site.backlinks.iter().enumerate() {
                if *back != before.backlinks[j] || back.iter().any(|b| card_changed.contains(b)) {
                    eager.insert(j);
                }
            }
            for (j, nb) in self.lookup.neighbours.iter().enumerate() {
                let shows_changed = [nb.0, nb.1]
                    .iter()
                    .flatten()
                    .any(|x| card_changed.contains(x));
                if *nb != old_neighbours[j] || shows_changed {
                    eager.insert(j);
                }
            }
            let snippets_changed =
                dirty.iter().any(|&i| !self.rendered[i].snippets.is_empty()) || old_verified;
            if order_changed {
                lists.extend(
                    pages::pages(&self.site, &self.lookup)
                        .into_iter()
                        .filter(|p| !matches!(p, Page::Note(_))),
                );
            } else if !card_changed.is_empty() {
                lists.insert(Page::Home);
                for &i in &card_changed {
                    let n = &self.site.notes[i];
                    for (slug, (_, members)) in &self.lookup.tags {
                        if members.contains(&i) {
                            lists.insert(Page::Tag(slug.clone()));
                        }
                    }
                    let mut section = n.section.as_str();
                    while !section.is_empty() {
                        lists.insert(Page::Section(section.to_string()));
                        section = section.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
                    }
                }
            }
            if snippets_changed || !card_changed.is_empty() {
                lists.insert(Page::Verify);
            }
            if !dirty.is_empty() {
                lists.extend([Page::Sitemap, Page::Feed]);
            }
        }

        // Render the eager note pages now and compare bytes: only real changes reload a tab.
        up.laps.mark("affected");
        let eager_pages: Vec<Page> = eager.into_iter().map(Page::Note).collect();
        self.files.take_changed();
        let outputs: Vec<anyhow::Result<pages::PageFiles>> = eager_pages
            .par_iter()
            .map(|p| pages::render_page(&self.site, &self.rendered, &self.lookup, &self.theme, p))
            .collect();
        let mut fresh: HashSet<String> = HashSet::new();
        for out in outputs {
            match out {
                Ok(files) => {
                    for (path, bytes) in files {
                        if let Err(e) = self.files.write(&path, &bytes) {
                            up.log.push(format!("{e:#}"));
                        }
                        fresh.insert(path);
                    }
                }
                Err(e) => up.log.push(format!("{e:#}")),
            }
        }
        up.rendered_pages += eager_pages.len();
        for path in self.files.take_changed() {
            up.reload.file(&path);
        }
        up.laps.mark("pages");
        if everything {
            up.stale_pages += self.invalidate_all(&fresh);
            up.reload.all = true;
        } else {
            let mut stale = self.stale.lock().unwrap_or_else(|e| e.into_inner());
            for path in &fresh {
                stale.remove(path);
            }
            for page in lists {
                let path = page.path(&self.site);
                up.reload.pages.insert(url_of(&path));
                stale.insert(path, page);
                up.stale_pages += 1;
            }
        }
        up.laps.mark("stale");
    }

    /// Mark every page stale except `fresh` ones, and drop stored files that are no longer part
    /// of the site (pages of deleted notes and tags, removed assets). Returns how many are stale.
    fn invalidate_all(&self, fresh: &HashSet<String>) -> usize {
        let mut all: HashMap<String, Page> = HashMap::new();
        for page in pages::pages(&self.site, &self.lookup) {
            if let Page::Note(i) = page {
                for alias in pages::alias_paths(&self.site.notes[i]) {
                    all.insert(alias, page.clone());
                }
            }
            all.insert(page.path(&self.site), page);
        }
        let mut keep: HashSet<String> = self.theme.statics.keys().cloned().collect();
        keep.insert("highlight.css".into());
        keep.extend(self.asset_set.iter().cloned());
        for path in self.files.paths() {
            if !all.contains_key(&path) && !keep.contains(&path) && !path.starts_with("_kb/") {
                self.files.remove(&path);
            }
        }
        all.retain(|path, _| !fresh.contains(path));
        let n = all.len();
        *self.stale.lock().unwrap_or_else(|e| e.into_inner()) = all;
        n
    }

    fn index_of(&self, rel: &str) -> Option<usize> {
        self.site
            .notes
            .binary_search_by(|n| n.rel.as_str().cmp(rel))
            .ok()
    }

    /// Would adding `upserts` and dropping `removes` change the list of sections?
    fn sections_change(
        &self,
        upserts: &BTreeMap<String, Note>,
        removes: &BTreeSet<String>,
    ) -> bool {
        let known: HashSet<&str> = self.site.sections.iter().map(|s| s.path.as_str()).collect();
        if upserts
            .values()
            .any(|n| !n.section.is_empty() && !known.contains(n.section.as_str()))
        {
            return true;
        }
        // A section stays while a note (or a section `_index.md`) remains in it or below it.
        let leaving: BTreeSet<&str> = self
            .site
            .notes
            .iter()
            .filter(|n| {
                removes.contains(&n.rel)
                    || upserts.get(&n.rel).is_some_and(|u| u.section != n.section)
            })
            .map(|n| n.section.as_str())
            .collect();
        leaving.into_iter().filter(|s| !s.is_empty()).any(|s| {
            let inside = |section: &str| section == s || section.starts_with(&format!("{s}/"));
            let stays = self.site.notes.iter().any(|n| {
                inside(&n.section)
                    && !removes.contains(&n.rel)
                    && upserts.get(&n.rel).is_none_or(|u| inside(&u.section))
            }) || upserts.values().any(|u| inside(&u.section));
            !stays
                && !self
                    .site
                    .config
                    .content_dir()
                    .join(s)
                    .join("_index.md")
                    .is_file()
        })
    }

    /// The problems shown in the terminal and the browser overlay, errors first.
    pub(crate) fn problems(&self) -> Vec<Problem> {
        let url_of_note = |path: &Path| {
            let rel = path.to_string_lossy().replace('\\', "/");
            self.index_of(&rel).map(|i| self.site.notes[i].url.clone())
        };
        let p = &self.problems;
        let reused_ids = build::duplicate_snippet_ids(&self.site.notes, &p.snippets);
        let diags = p
            .load
            .values()
            .chain(p.snippets.iter().flat_map(|c| &c.diagnostics))
            .chain(&reused_ids)
            .chain(&p.links)
            .chain(&p.duplicates)
            .chain(&p.other);
        let mut out: Vec<Problem> = diags
            .map(|d| Problem::from_diagnostic(d, url_of_note(&d.path)))
            .collect();
        out.extend(p.config.iter().chain(&p.theme).chain(&p.results).cloned());
        out.sort_by(|a, b| (a.severity, &a.path, a.line).cmp(&(b.severity, &b.path, b.line)));
        out
    }
}

impl Problems {
    /// Sort the diagnostics of a full load by origin. Snippet problems of notes come from
    /// `snippets` (per note), and ids reused across notes are found again when listed.
    fn split(
        diags: Vec<Diagnostic>,
        snippets: Vec<build::SnippetCheck>,
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
}

fn is_note_path(rel: &str) -> bool {
    (rel.ends_with(".md") || rel.ends_with(".markdown")) && !rel.ends_with("/_index.md")
}

/// What other notes' links and renderings depend on: where a note is, what it is called, its
/// headings.
fn identity<'a>(
    note: &'a Note,
    outline: &'a Outline,
) -> (
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a [String],
    Vec<&'a str>,
) {
    (
        &note.content_rel,
        &note.url,
        note.meta.title.as_deref(),
        &note.meta.name_aliases,
        outline.headings.iter().map(|h| h.id.as_str()).collect(),
    )
}

/// The note page and alias redirect paths of a note.
fn note_paths(note: &Note) -> Vec<String> {
    let mut out = vec![format!("notes/{}/index.html", note.slug)];
    out.extend(pages::alias_paths(note));
    out
}

fn empty_rendered() -> RenderedNote {
    RenderedNote {
        html: String::new(),
        toc: Vec::new(),
        search: SearchDoc::default(),
        snippets: Vec::new(),
        excerpt: String::new(),
        chars: 0,
    }
}

/// The chrome every page shares, serialized.
fn chrome(lookup: &Lookup) -> String {
    serde_json::to_string(&lookup.site).unwrap_or_default()
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn config_problem(e: &anyhow::Error) -> Problem {
    if let Some(crate::diagnostics::ContentErrors(diags)) = e.downcast_ref() {
        if let Some(d) = diags.first() {
            return Problem::from_diagnostic(d, None);
        }
    }
    Problem {
        path: "kb.toml".into(),
        line: None,
        severity: super::reload::ProblemSeverity::Error,
        message: format!("{e:#}"),
        hint: None,
        url: None,
    }
}

fn theme_problem(config: &Config, e: &anyhow::Error) -> Problem {
    let path = build::theme_dir(config)
        .map(|d| rel_slash(&d, &config.root))
        .unwrap_or_else(|| "theme".into());
    Problem {
        path,
        line: None,
        severity: super::reload::ProblemSeverity::Error,
        message: format!("{e:#}"),
        hint: Some("fix the template; the previous version of the theme is used until then".into()),
        url: None,
    }
}
