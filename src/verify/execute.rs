//! Running the selected sessions from start to end: connect the engine and sweep a killed run's
//! leftovers, serve what the cache knows, prepare the images, run the other sessions (`--jobs` at
//! once) on the connected engine, and remove everything of this run at the end — also on
//! Ctrl-C or SIGTERM.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::StreamExt;

use super::cache::{self, Cache, HostFacts};
use super::docker::Engine;
use super::images::{self, KnownImage};
use super::outcome::BlockOutcome;
use super::run::{self, RunCtx};
use super::runtime::ContainerRuntime;
use super::session::{Session, Step};

/// How to run the selected sessions.
pub(crate) struct RunOpts {
    /// Sessions at once.
    pub(crate) jobs: usize,
    /// Run every session, even those the cache says passed.
    pub(crate) no_cache: bool,
    /// The knowledge base root (labels, `snippets/images/`).
    pub(crate) root: PathBuf,
}

/// Every block's outcome, and how many sessions ran or came from the cache.
pub(crate) struct RunSummary {
    pub(crate) outcomes: Vec<BlockOutcome>,
    pub(crate) sessions_run: usize,
    pub(crate) sessions_cached: usize,
}

/// Everything that talks to Docker: connect, sweep, cache lookup, images, sessions, cleanup.
pub(crate) async fn verify_sessions(
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

    // What the host offers, for the keys of sessions with `requires=` (and their check).
    let any_requires = needs.iter().any(|s| !s.spec.requires.is_empty());
    let host = HostFacts {
        cgroup: if any_requires {
            engine.cgroup_version().await
        } else {
            None
        },
    };
    // What each image is (a tag or reference, and its id if the engine has it), then the cache.
    let known = images::look_up(&engine, &needs, &opts.root).await;
    let mut to_run: Vec<&Session> = Vec::new();
    let mut sessions_cached = 0;
    for s in needs {
        let hit = match known.get(&s.image) {
            Some(Ok(KnownImage {
                reference,
                id: Some(id),
            })) if !opts.no_cache => cache
                .get(&cache::session_key(s, id, host))
                .and_then(|blocks| cache::restore(s, reference, blocks)),
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
        let images = images::prepare(&engine, &to_run, &known, &opts.root, &progress).await;
        let mut ctx = RunCtx::new(engine.clone(), images, progress.clone());
        if any_requires {
            ctx = ctx.knowing_cgroup_version(host.cgroup);
        }
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
        if let Some(Ok(ready)) = images.get(&s.image) {
            cache.store_if_passed(s, &ready.id, host, &o);
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

/// How many blocks of a session run (the progress bar counts blocks).
fn run_steps(s: &Session) -> u64 {
    s.steps
        .iter()
        .filter(|st| matches!(st, Step::Run(_)))
        .count() as u64
}

/// A progress bar on a terminal, nothing otherwise.
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
