//! `kb verify`: run every tagged snippet in a real container and compare with the documented
//! output, like a test runner.
//!
//! The pipeline, one module per stage:
//! 1. read notes with the content loader ([`crate::content`]) and extract blocks
//!    ([`crate::snippet`]);
//! 2. [`plan`]: group blocks into sessions of steps and reject bad tags with `path:line`
//!    ([`transcript`] parses `console` blocks);
//! 3. [`cache`]: sessions whose key (image + every step) passed before are not run again;
//! 4. [`docker`]: build `snippets/images/*` as needed, then [`run`] each session in its own
//!    container (`--jobs` at once; `docker` sessions one at a time, after the others), comparing
//!    with [`matcher`];
//! 5. [`report`]: failures with diffs, the summary line, JUnit; [`update`] rewrites expected
//!    output with `--update`; [`results`] is the file `kb build` reads for badges.
//!
//! Every container is labelled and removed at the end, on failure, on timeout and on Ctrl-C;
//! containers of a killed run are swept by the next run.

mod attach;
mod cache;
mod docker;
pub(crate) mod matcher;
pub(crate) mod plan;
mod proxy;
mod report;
pub mod results;
mod run;
mod tar;
pub(crate) mod transcript;
mod update;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures_util::StreamExt;

use crate::config::Config;
use crate::content;
use crate::diagnostics::{ContentErrors, Diagnostic, Severity};
use crate::snippet::SnippetKey;

use self::cache::{Cache, CachedBlock};
use self::docker::{DockerError, Engine};
use self::plan::{Action, ImageRef, Note, PlanConfig, Session, Step};
use self::report::{Counts, Style};
use self::results::{BlockResult, Status, VerifyResults};
use self::run::{BlockOutcome, Failure, ReadyImage, RunCtx, Verdict};

/// What `kb verify` is asked to do: the command line's options, typed.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Notes or directories to verify (empty: all of content/).
    pub paths: Vec<PathBuf>,
    /// Sessions to run at once (None: the number of CPU cores).
    pub jobs: Option<usize>,
    /// Only blocks whose id or note path contains this (each with its whole session).
    pub filter: Option<String>,
    /// Rewrite the expected output in the notes for blocks that no longer match.
    pub update: bool,
    /// Also write a JUnit XML report here.
    pub junit: Option<PathBuf>,
    /// Run only this slice of the sessions.
    pub shard: Option<Shard>,
    /// Run every session, even those the cache says passed.
    pub no_cache: bool,
}

/// What a `kb verify` run did, for the command line to print.
pub struct VerifyReport {
    outcomes: Vec<BlockOutcome>,
    updated: Vec<String>,
    sessions_run: usize,
    sessions_cached: usize,
    elapsed: Duration,
}

impl VerifyReport {
    /// Whether any block failed (exit 1).
    pub fn failed(&self) -> bool {
        Counts::of(&self.outcomes).failed > 0
    }

    /// The text for the terminal: every block when `verbose`, each failure with its diff, the
    /// notes `--update` rewrote, and the summary.
    pub fn render(&self, verbose: bool, color: bool) -> String {
        let style = Style { color };
        let outcomes = &self.outcomes;
        let mut out = String::new();
        if verbose {
            for o in outcomes {
                out.push_str(&report::render_line(o, style));
                out.push('\n');
            }
        }
        for o in outcomes {
            if matches!(o.verdict, Verdict::Failed(_)) {
                out.push('\n');
                out.push_str(&report::render_failure(o, style));
            }
        }
        for loc in &self.updated {
            out.push_str(&format!("updated the expected output at {loc}\n"));
        }
        let counts = Counts::of(outcomes);
        let cached = outcomes
            .iter()
            .filter(|o| o.cached && matches!(o.verdict, Verdict::Passed))
            .count();
        out.push_str(&format!(
            "\n{} session{} run in containers, {} from cache; {} block{} cached ({})\n",
            self.sessions_run,
            plural(self.sessions_run),
            self.sessions_cached,
            cached,
            plural(cached),
            report::human_duration(self.elapsed),
        ));
        out.push_str(&format!("{counts}\n"));
        out
    }
}

/// `--shard I/N`: 1-based slice `I` of `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard; write I/N with 1 <= I <= N, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// `kb verify`: plan the sessions of the selected notes, run them (or take them from the cache),
/// rewrite expected output with `update`, and record the results for `kb build`.
pub fn run(config: &Config, args: &VerifyOptions) -> anyhow::Result<VerifyReport> {
    let started = Instant::now();
    let notes = load_notes(config, &args.paths)?;
    let plan_cfg = PlanConfig::of(config);
    let all = plan::plan(&notes, &plan_cfg)
        .map_err(|d| anyhow::Error::new(ContentErrors(d)))?
        .sessions;
    // Blocks each loaded note verifies now (to drop stale entries from the results file).
    let current: BTreeSet<String> = all
        .iter()
        .flat_map(|s| s.block_refs().map(|b| b.key.to_string()))
        .collect();
    let loaded: BTreeSet<String> = notes.iter().map(|n| n.path.clone()).collect();
    let selected = select(all, args.filter.as_deref(), args.shard);

    let jobs = args
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        })
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("couldn't start the async runtime")?;
    let mut cache = Cache::load(&config.cache_dir().join("verify-cache.json"));
    let opts = RunOpts {
        jobs,
        no_cache: args.no_cache,
        root: config.root.clone(),
    };
    let summary = runtime.block_on(verify_sessions(&selected, &opts, &mut cache))?;
    let mut outcomes = summary.outcomes;
    outcomes
        .sort_by(|a, b| (&a.block.key.note, a.block.line).cmp(&(&b.block.key.note, b.block.line)));

    let updated = if args.update {
        update_notes(config, &notes, &selected, &mut outcomes)?
    } else {
        Vec::new()
    };

    // Results for `kb build`, merged into what earlier runs recorded.
    let results_path = config.verify_results_path();
    VerifyResults::update(&results_path, |results| {
        results.blocks.retain(|key, r| {
            let note_exists = config.root.join(&r.note).is_file();
            let stale_in_loaded = loaded.contains(&r.note) && !current.contains(key);
            note_exists && !stale_in_loaded
        });
        record_results(results, &selected, &outcomes);
    })?;
    if let Some(path) = &args.junit {
        report::write_junit(&outcomes, started.elapsed(), path)?;
    }
    Ok(VerifyReport {
        outcomes,
        updated,
        sessions_run: summary.sessions_run,
        sessions_cached: summary.sessions_cached,
        elapsed: started.elapsed(),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `--filter` then `--shard`. A session is kept when any of its blocks' ids or its note path
/// contains the filter text.
fn select(sessions: Vec<Session>, filter: Option<&str>, shard: Option<Shard>) -> Vec<Session> {
    let filtered = sessions.into_iter().filter(|s| match filter {
        None => true,
        Some(f) => s.note.contains(f) || s.block_refs().any(|b| b.id.contains(f)),
    });
    match shard {
        None => filtered.collect(),
        Some(sh) => filtered
            .enumerate()
            .filter(|(i, _)| i % sh.count == sh.index - 1)
            .map(|(_, s)| s)
            .collect(),
    }
}

struct RunOpts {
    jobs: usize,
    no_cache: bool,
    root: PathBuf,
}

struct RunSummary {
    outcomes: Vec<BlockOutcome>,
    sessions_run: usize,
    sessions_cached: usize,
}

/// Everything that talks to Docker: connect, sweep, cache lookup, images, sessions, cleanup.
async fn verify_sessions(
    sessions: &[Session],
    opts: &RunOpts,
    cache: &mut Cache,
) -> anyhow::Result<RunSummary> {
    let mut outcomes = Vec::new();
    let (needs, no_container): (Vec<&Session>, Vec<&Session>) =
        sessions.iter().partition(|s| s.runs_anything());
    for s in no_container {
        outcomes.extend(run::without_container(s, &s.image.to_string(), None));
    }
    if needs.is_empty() {
        return Ok(RunSummary {
            outcomes,
            sessions_run: 0,
            sessions_cached: 0,
        });
    }
    let engine = Engine::connect(&opts.root).await.map_err(|e| {
        anyhow!(e).context(
            "kb verify runs snippets in Docker and no engine answered: start dockerd (or Podman's socket), or point DOCKER_HOST at one; on a fresh machine, scripts/setup-machine.sh sets one up",
        )
    })?;
    let swept = engine
        .sweep_stale()
        .await
        .context("couldn't list kb's containers")?;
    if swept > 0 {
        tracing::info!("removed {swept} container(s) left by an interrupted kb verify");
    }

    // What each image is (a tag or reference, and its id if the engine has it), then the cache.
    let mut known: HashMap<ImageRef, Result<KnownImage, String>> = HashMap::new();
    for s in &needs {
        if known.contains_key(&s.image) {
            continue;
        }
        let reference = match &s.image {
            ImageRef::Local(name) => run::local_image_tag(name, &image_dir(&opts.root, name))
                .map_err(|e| format!("snippets/images/{name}: {e:#}")),
            ImageRef::Reference(r) => Ok(r.clone()),
        };
        let info = match reference {
            Ok(reference) => match engine.image_id(&reference).await {
                Ok(id) => Ok(KnownImage { reference, id }),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e),
        };
        known.insert(s.image.clone(), info);
    }
    let mut to_run: Vec<&Session> = Vec::new();
    let mut sessions_cached = 0;
    for s in needs {
        let hit = match known.get(&s.image) {
            Some(Ok(KnownImage {
                reference,
                id: Some(id),
            })) if !opts.no_cache => cache
                .get(&cache::session_key(s, id))
                .and_then(|blocks| cached_outcomes(s, reference, blocks)),
            _ => None,
        };
        match hit {
            Some(o) => {
                sessions_cached += 1;
                outcomes.extend(o);
            }
            None => to_run.push(s),
        }
    }
    if to_run.is_empty() {
        return Ok(RunSummary {
            outcomes,
            sessions_run: 0,
            sessions_cached,
        });
    }

    let progress = progress_bar(to_run.iter().map(|s| run_steps(s)).sum());
    let work = async {
        let images = prepare_images(&engine, &to_run, &known, &opts.root, &progress).await;
        let ctx = RunCtx::new(engine.clone(), images, progress.clone());
        // `docker` sessions run alongside the others: each sees and removes only its own
        // objects (see `proxy`).
        let ran: Vec<(usize, Vec<BlockOutcome>)> =
            futures_util::stream::iter(to_run.iter().enumerate())
                .map(|(i, s)| {
                    let ctx = &ctx;
                    async move { (i, run::run_session(ctx, s).await) }
                })
                .buffer_unordered(opts.jobs)
                .collect()
                .await;
        (ran, ctx.images)
    };
    enum Ended<T> {
        Done(T),
        Signal(&'static str),
    }
    let ended = tokio::select! {
        r = work => Ended::Done(r),
        sig = shutdown_signal() => Ended::Signal(sig),
    };
    progress.finish_and_clear();
    let removed = engine.remove_run().await;
    let (ran, images) = match ended {
        Ended::Done(r) => r,
        Ended::Signal(sig) => {
            // The session futures are dropped; what they left, including what a `docker`
            // session's commands created, carries this run's label and is removed above.
            let n = removed.unwrap_or(0);
            bail!("interrupted by {sig}: removed {n} container(s) and other objects of this run");
        }
    };
    if let Err(e) = removed {
        tracing::warn!("couldn't remove this run's containers: {e}");
    }
    let sessions_run = ran.len();
    for (i, o) in ran {
        let s = to_run[i];
        let key = match images.get(&s.image) {
            Some(Ok(ready)) => Some(cache::session_key(s, &ready.id)),
            _ => None,
        };
        let all_passed = o
            .iter()
            .filter(|b| is_run_step(s, b))
            .all(|b| matches!(b.verdict, Verdict::Passed));
        if let (true, Some(key)) = (all_passed, key) {
            let blocks = o
                .iter()
                .filter(|b| is_run_step(s, b))
                .map(|b| CachedBlock {
                    date: b.date,
                    duration_ms: b.duration.as_millis() as u64,
                    observed: b.observed.clone(),
                })
                .collect();
            cache.insert(key, blocks);
        }
        outcomes.extend(o);
    }
    if let Err(e) = cache.save() {
        tracing::warn!("couldn't save the verify cache: {e:#}");
    }
    Ok(RunSummary {
        outcomes,
        sessions_run,
        sessions_cached,
    })
}

/// Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

fn is_run_step(s: &Session, o: &BlockOutcome) -> bool {
    s.steps
        .iter()
        .any(|st| matches!(st, Step::Run(r) if r.block.key == o.block.key))
}

fn run_steps(s: &Session) -> u64 {
    s.steps
        .iter()
        .filter(|st| matches!(st, Step::Run(_)))
        .count() as u64
}

/// An image as found before building: the reference to run (the content-hash tag of a
/// `snippets/images` image) and its id when the engine already has it.
struct KnownImage {
    reference: String,
    id: Option<String>,
}

/// Outcomes of a session served from the cache (`None` if the entry doesn't fit the session).
fn cached_outcomes(
    s: &Session,
    image: &str,
    blocks: Vec<CachedBlock>,
) -> Option<Vec<BlockOutcome>> {
    let runs = s
        .steps
        .iter()
        .filter(|st| matches!(st, Step::Run(_)))
        .count();
    if blocks.len() != runs {
        return None;
    }
    let mut blocks = blocks.into_iter();
    let mut out = Vec::new();
    for step in &s.steps {
        let o = match step {
            Step::Skip(k) => BlockOutcome {
                block: k.block.clone(),
                verdict: Verdict::Skipped(
                    k.reason.clone().unwrap_or_else(|| "marked `skip`".into()),
                ),
                duration: Duration::ZERO,
                date: chrono::Utc::now(),
                image: image.to_string(),
                observed: String::new(),
                cached: true,
                observations: Vec::new(),
            },
            Step::Run(r) => {
                let b = blocks.next()?;
                BlockOutcome {
                    block: r.block.clone(),
                    verdict: Verdict::Passed,
                    duration: Duration::from_millis(b.duration_ms),
                    date: b.date,
                    image: image.to_string(),
                    observed: b.observed,
                    cached: true,
                    observations: Vec::new(),
                }
            }
        };
        out.push(o);
    }
    Some(out)
}

/// Build (or find) every image the sessions to run need. Failures are per image, so the
/// sessions using a broken image fail and the others run.
async fn prepare_images(
    engine: &Engine,
    to_run: &[&Session],
    known: &HashMap<ImageRef, Result<KnownImage, String>>,
    root: &Path,
    progress: &indicatif::ProgressBar,
) -> HashMap<ImageRef, Result<ReadyImage, String>> {
    let mut ready = HashMap::new();
    for s in to_run {
        if ready.contains_key(&s.image) {
            continue;
        }
        let result = match (&s.image, known.get(&s.image)) {
            (_, Some(Err(e))) => Err((e.clone(), e.clone())),
            (
                _,
                Some(Ok(KnownImage {
                    reference,
                    id: Some(id),
                })),
            ) => Ok(ReadyImage {
                reference: reference.clone(),
                id: id.clone(),
            }),
            (
                ImageRef::Local(name),
                Some(Ok(KnownImage {
                    reference: tag,
                    id: None,
                })),
            ) => {
                progress.set_message(format!("building snippets/images/{name}"));
                tracing::info!("building snippets/images/{name} as {tag}");
                let p = progress.clone();
                let log =
                    move |line: &str| p.set_message(format!("building {name}: {}", line.trim()));
                engine
                    .build(name, &image_dir(root, name), tag, &log)
                    .await
                    .map(|id| ReadyImage {
                        reference: tag.clone(),
                        id,
                    })
                    .map_err(|e| image_error(e, &s.image))
            }
            (ImageRef::Reference(r), _) => engine
                .ensure_reference(r)
                .await
                .map(|id| ReadyImage {
                    reference: r.clone(),
                    id,
                })
                .map_err(|e| image_error(e, &s.image)),
            (ImageRef::Local(name), None) => {
                let e = format!("snippets/images/{name} was not looked at");
                Err((e.clone(), e))
            }
        };
        let result = result.map_err(|(short, long)| {
            // The full story (build log tail, hint) once; each affected block names the image.
            // The build log is the container's output: escaped like every report.
            progress.suspend(|| crate::errln!("kb: {}", report::escape_controls(&long)));
            short
        });
        ready.insert(s.image.clone(), result);
    }
    ready
}

/// An image problem: a short message for each affected block, and the long one (build log
/// tail, hint) printed once.
fn image_error(e: DockerError, image: &ImageRef) -> (String, String) {
    match e {
        DockerError::BuildFailed { image, message, log_tail } => {
            let tail: String = log_tail.lines().map(|l| format!("\n    | {l}")).collect();
            (
                format!("{image} failed to build: {message} (build log above)"),
                format!("{image} failed to build: {message}\n  last lines of the build log:{tail}\n  hint: fix {image}/Dockerfile; `docker build {image}` shows the whole log"),
            )
        }
        DockerError::ImageUnavailable { reference, message } => (
            format!("image `{reference}` is not available (see above)"),
            format!("image `{reference}` is neither snippets/images/{reference}/Dockerfile nor available to the engine ({message})\n  hint: create snippets/images/{reference}/Dockerfile, or pull or build the image first"),
        ),
        other => {
            let e = format!("image {image}: {other}");
            (e.clone(), e)
        }
    }
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
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

fn image_dir(root: &Path, name: &str) -> PathBuf {
    root.join("snippets/images").join(name)
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
fn load_notes(config: &Config, paths: &[PathBuf]) -> anyhow::Result<Vec<Note>> {
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
        match content::load::load_note(config, &f, content::LoadOptions { drafts: true }) {
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

/// `--update`: rewrite the expected output of blocks whose output no longer matches. Returns
/// the `path:line` of each updated block; their outcomes become passed when nothing else
/// (an exit status) still fails.
fn update_notes(
    config: &Config,
    notes: &[Note],
    sessions: &[Session],
    outcomes: &mut [BlockOutcome],
) -> anyhow::Result<Vec<String>> {
    let steps: HashMap<&SnippetKey, &plan::RunStep> = sessions
        .iter()
        .flat_map(|s| s.steps.iter())
        .filter_map(|st| match st {
            Step::Run(r) => Some((&r.block.key, r)),
            Step::Skip(_) => None,
        })
        .collect();
    let mut edits: BTreeMap<&str, Vec<update::Edit>> = BTreeMap::new();
    let mut updated = Vec::new();
    let mut blocks_cache: HashMap<&str, Vec<crate::snippet::CodeBlock>> = HashMap::new();
    for o in outcomes.iter_mut() {
        let Verdict::Failed(Failure::Mismatch {
            expected_exit,
            exit,
            ..
        }) = &o.verdict
        else {
            continue;
        };
        let (expected_exit, exit) = (*expected_exit, *exit);
        let Some(step) = steps.get(&o.block.key) else {
            continue;
        };
        let Some(note) = notes.iter().find(|n| n.path == o.block.key.note) else {
            continue;
        };
        let blocks = blocks_cache
            .entry(note.path.as_str())
            .or_insert_with(|| crate::snippet::extract(&note.body, note.body_line).0);
        let (target, new_text, passes) = match &step.action {
            Action::Transcript(t) => {
                let obs = run::transcript_observed(t, &o.observations);
                (o.block.key.ordinal, transcript::render(t, &obs), true)
            }
            Action::Program(p) => {
                let (Some(expected), Some(Some(obs))) = (&p.expected, o.observations.first())
                else {
                    continue;
                };
                let new = matcher::normalize(&expected.text, &obs.output);
                if new == matcher::canonical(&expected.text) {
                    continue; // only the exit status differs: nothing to write
                }
                (expected.block.key.ordinal, new, exit == expected_exit)
            }
        };
        let Some(b) = blocks.iter().find(|b| b.ordinal == target) else {
            continue;
        };
        edits
            .entry(note.path.as_str())
            .or_default()
            .push(update::Edit {
                text_range: b.text_range.clone(),
                fence_line: b.line,
                new_text,
            });
        updated.push(format!("{}:{}", note.path, b.line));
        if passes {
            o.verdict = Verdict::Passed;
        }
    }
    for (path, e) in edits {
        let Some(note) = notes.iter().find(|n| n.path == path) else {
            continue;
        };
        let file = config.root.join(path);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("couldn't read `{}`", file.display()))?;
        let body_offset = text.len().saturating_sub(note.body.len());
        if text.get(body_offset..) != Some(note.body.as_str()) {
            bail!("`{}` changed while kb verify ran; not updating it (run `kb verify --update` again)", file.display());
        }
        update::write_note(&file, &update::apply(&text, body_offset, &e))?;
    }
    Ok(updated)
}

/// Record this run's outcomes: runnable and skipped blocks as they ended; each `output` block
/// like its runnable block; each file-only block like its session as a whole.
fn record_results(results: &mut VerifyResults, sessions: &[Session], outcomes: &[BlockOutcome]) {
    let by_key: HashMap<&SnippetKey, &BlockOutcome> =
        outcomes.iter().map(|o| (&o.block.key, o)).collect();
    let to_result = |b: &plan::BlockRef,
                     o: &BlockOutcome,
                     status: Status,
                     reason: Option<String>| BlockResult {
        id: b.id.clone(),
        note: b.key.note.clone(),
        ordinal: b.key.ordinal,
        line: b.line,
        status,
        reason,
        date: o.date,
        duration_ms: o.duration.as_millis() as u64,
        image: o.image.clone(),
        observed: o.observed.clone(),
    };
    let status_of = |o: &BlockOutcome| match &o.verdict {
        Verdict::Passed => (Status::Passed, None),
        Verdict::Skipped(r) => (Status::Skipped, Some(r.clone())),
        Verdict::Failed(f) => (Status::Failed, Some(report::failure_summary(f))),
    };
    for s in sessions {
        let mut session_outcomes = Vec::new();
        for step in &s.steps {
            let (block, out_block) = match step {
                Step::Run(r) => (&r.block, r.output_block()),
                Step::Skip(k) => (&k.block, k.output_block.as_ref()),
            };
            let Some(o) = by_key.get(&block.key) else {
                continue;
            };
            let (status, reason) = status_of(o);
            results.insert(&block.key, to_result(block, o, status, reason.clone()));
            if let Some(ob) = out_block {
                results.insert(&ob.key, to_result(ob, o, status, reason));
            }
            session_outcomes.push(*o);
        }
        if let Some(first) = session_outcomes.first() {
            let status = if session_outcomes
                .iter()
                .any(|o| matches!(o.verdict, Verdict::Failed(_)))
            {
                Status::Failed
            } else if session_outcomes
                .iter()
                .any(|o| matches!(o.verdict, Verdict::Passed))
            {
                Status::Passed
            } else {
                Status::Skipped
            };
            for f in &s.file_blocks {
                let mut r = to_result(f, first, status, None);
                r.observed = String::new();
                results.insert(&f.key, r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parses_one_based_slices() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert!("0/4".parse::<Shard>().is_err());
        assert!("5/4".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
