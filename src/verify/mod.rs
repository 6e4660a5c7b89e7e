//! `kb verify`: run every tagged snippet in a real container and compare with the documented
//! output, like a test runner.
//!
//! The pipeline, one module per stage:
//! 1. [`notes`]: read notes with the content loader ([`crate::content`]), extract blocks
//!    ([`crate::snippet`]);
//! 2. [`plan`]: group blocks into sessions of steps ([`planner`], [`group`]; the types are in
//!    [`session`]) and reject bad tags with `path:line` ([`transcript`] parses `console` blocks);
//! 3. [`execute`] runs the selected sessions: [`cache`] serves sessions whose key (image + the
//!    serialized session) passed before; [`images`] builds `snippets/images/*` as needed; [`run`]
//!    runs each session in its own container through the [`runtime::ContainerRuntime`] seam
//!    ([`docker`] is the engine behind it), `--jobs` at once, comparing with [`matcher`];
//!    a block ends in an [`outcome`];
//! 4. [`report`]: failures with diffs, the summary line, JUnit; [`update`] rewrites expected
//!    output with `--update`; [`results`] is the file `kb build` reads for badges.
//!
//! Every container is labelled and removed at the end, on failure, on timeout and on Ctrl-C;
//! containers of a killed run are swept by the next run.

mod attach;
mod cache;
mod docker;
mod execute;
mod group;
mod images;
pub(crate) mod matcher;
mod notes;
mod outcome;
pub(crate) mod pattern;
pub(crate) mod plan;
mod planner;
mod proxy;
mod report;
pub mod results;
mod run;
mod runtime;
mod session;
mod shell;
mod tar;
mod text;
pub(crate) mod transcript;
mod update;

use std::collections::BTreeSet;

use std::path::PathBuf;
use std::str::FromStr;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::Config;
use crate::diagnostics::{plural, ContentErrors};

use self::cache::Cache;
use self::execute::{verify_sessions, RunOpts};
use self::notes::load_notes;
use self::outcome::{BlockOutcome, Verdict};
use self::plan::PlanConfig;
use self::report::{Counts, Style};
use self::results::{record_results, VerifyResults};
use self::session::Session;
use self::update::update_notes;

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
            text::human_duration(self.elapsed),
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
