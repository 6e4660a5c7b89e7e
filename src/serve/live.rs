//! The site as `kb serve` keeps it in memory, and the smallest rebuild for each kind of change.
//!
//! [`LiveSite`] holds what a build computes — the loaded [`Site`], every rendered note, the
//! [`Lookup`] the views are made from, the theme — and the served files. This file loads it and
//! dispatches each batch of changes (kb.toml, folders, theme, assets, verify results here; note
//! edits in `notes.rs`). A note edit:
//! 1. reloads that one file (a file that fails to load keeps its last good version on the site
//!    and becomes a problem in the overlay);
//! 2. checks links again — not at all if the note links to the same places as before, the
//!    whole link index only if a note's path, title, aliases or headings changed;
//! 3. re-renders the markdown of the note, and of the notes whose links to it may now resolve
//!    differently;
//! 4. updates the cards of the changed notes ([`pages::update_lookup`]);
//! 5. asks every page whether it is out of date (`stale.rs`): a note's own page, and the pages
//!    listing it among backlinks or as prev/next, are rendered now; list pages (home, tags,
//!    sections, the verify page, sitemap, feed) are marked stale and rendered when next
//!    requested; when a change reaches the chrome every page shares (note count, sections,
//!    tags, verify totals in the header) every page is marked stale that way.
//!
//! Only pages whose bytes changed are announced for reload. Nothing is written to disk.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::config::Config;
use crate::content;
use crate::content::load::Admit;
use crate::content::LoadOptions;
use crate::highlight::Highlighter;
use crate::markdown::{self, RenderCtx, RenderedNote};
use crate::output::sink::rel_slash;
use crate::output::Sink;
use crate::render::Theme;
use crate::search::doc::SearchDoc;
use crate::site::pages::{self, Lookup, Page};
use crate::site::{highlight_cache_file, theme_dir, Site};
use crate::sync::MutexExt;
use crate::verify::results::VerifyResults;

use super::change::{Change, ChangeKind};
use super::files::LiveFiles;
use super::problems::{config_problem, theme_problem, Problems};
use super::reload::{Problem, ProblemSeverity};
use super::update::{SearchDelta, Update};

/// The in-memory site.
pub(crate) struct LiveSite {
    pub(crate) site: Site,
    pub(crate) rendered: Vec<RenderedNote>,
    pub(crate) lookup: Lookup,
    pub(crate) theme: Arc<Theme>,
    pub(super) highlighter: Arc<Highlighter>,
    pub(super) opts: LoadOptions,
    pub(super) files: Arc<LiveFiles>,
    /// Pages out of date, rendered on request: output path -> page.
    pub(super) stale: Mutex<HashMap<String, Page>>,
    /// The site-wide view values every page shows, serialized (build time left out).
    pub(super) chrome: String,
    /// Content-relative paths of the non-markdown files, for link resolution.
    pub(super) asset_set: HashSet<String>,
    pub(super) problems: Problems,
}

impl LiveSite {
    /// Load and render the whole site (pages themselves are rendered on request).
    pub(crate) fn load(
        config: Config,
        opts: LoadOptions,
        files: Arc<LiveFiles>,
    ) -> anyhow::Result<LiveSite> {
        let theme = Arc::new(Theme::load(theme_dir(&config).as_deref())?);
        let highlighter = Arc::new(Highlighter::with_cache_file(&highlight_cache_file(&config)));
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
        let file = highlight_cache_file(&self.site.config);
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
        let page = match self.stale.lock_or_recover().get(rel_path) {
            Some(p) => p.clone(),
            None => return Ok(false),
        };
        let files =
            pages::render_page(&self.site, &self.rendered, &self.lookup, &self.theme, &page)?;
        for (path, bytes) in &files {
            self.files.write(path, bytes)?;
        }
        let mut stale = self.stale.lock_or_recover();
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
        match Theme::load(theme_dir(&config).as_deref()) {
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
        let theme = match Theme::load(theme_dir(&self.site.config).as_deref()) {
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
                    severity: ProblemSeverity::Error,
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

    /// Re-render the markdown of `dirty` notes (parallel).
    pub(super) fn rerender(&mut self, dirty: &[usize]) {
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

    /// Index of the note at root-relative path `rel` (notes are sorted by path).
    pub(super) fn index_of(&self, rel: &str) -> Option<usize> {
        self.site
            .notes
            .binary_search_by(|n| n.rel.as_str().cmp(rel))
            .ok()
    }

    /// The problems shown in the terminal and the browser overlay, errors first.
    pub(crate) fn problems(&self) -> Vec<Problem> {
        self.problems.list(&self.site.notes)
    }
}

/// The chrome every page shares, serialized.
pub(super) fn chrome(lookup: &Lookup) -> String {
    serde_json::to_string(&lookup.site).unwrap_or_default()
}

/// A view value serialized, to tell whether it changed.
pub(super) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}
