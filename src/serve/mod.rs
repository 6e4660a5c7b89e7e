//! `kb serve`: the site from memory, rebuilt incrementally as the sources change, with the
//! browser told to reload over a WebSocket.
//!
//! 1. [`live`] loads and renders the site once and keeps it in memory ([`files`] holds the
//!    served bytes with their validators).
//! 2. [`watch`] reports changed paths (debounced); [`change`] classifies each one.
//! 3. The rebuild loop applies a batch with the smallest rebuild that covers it
//!    ([`live::LiveSite::apply`]), prints problems, and broadcasts [`reload`] messages.
//! 4. [`http`] serves files, the live-reload socket and script, and the search API
//!    ([`search`]).

pub(crate) mod change;
pub(crate) mod files;
pub(crate) mod http;
pub(crate) mod live;
pub(crate) mod notes;
pub(crate) mod problems;
pub(crate) mod reload;
pub(crate) mod search;
pub(crate) mod stale;
pub(crate) mod update;
pub(crate) mod watch;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::Config;
use crate::content::LoadOptions;
use crate::diagnostics::Exit;
use crate::sync::RwLockExt;

use change::Layout;
use files::LiveFiles;
use http::Shared;
use live::LiveSite;
use reload::{Problem, ServerMsg};
use watch::{WatchEvent, Watcher};

/// Serve the site until Ctrl-C (`kb serve`).
pub fn run(config: Config, opts: Options) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("couldn't start the async runtime")?;
    runtime.block_on(serve(config, opts))
}

/// How to serve.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Where to listen (port 0 picks a free one).
    pub addr: SocketAddr,
    /// Include notes marked `draft: true`.
    pub drafts: bool,
    /// How long the sources must be quiet before a rebuild.
    pub debounce: Duration,
}

async fn serve(config: Config, opts: Options) -> anyhow::Result<Exit> {
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .with_context(|| format!("couldn't listen on {}; is another server using the port? pick another with --port (0 picks a free one)", opts.addr))?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}/");
    // Links are rooted at `/` whatever kb.toml's base_url says: the site is served at the root.
    let config = config.with_base_url(&url)?;
    let layout = Layout::new(&config);

    // Watch before loading, so an edit made during the first load is not missed.
    let (tx, rx) = mpsc::channel();
    let watcher = Watcher::start(&layout, opts.debounce, tx)?;
    let started = Instant::now();
    let files = Arc::new(LiveFiles::default());
    let load_opts = LoadOptions {
        drafts: opts.drafts,
        unrendered: false,
    };
    let live = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || LiveSite::load(config, load_opts, files))
            .await
            .context("the first build panicked")??
    };
    let problems = live.problems();
    for p in &problems {
        crate::errln!("{p}");
    }
    let search = search_for(&live);
    let notes = live.site.notes.len();
    let (events, _) = tokio::sync::broadcast::channel(64);
    let shared = Arc::new(Shared {
        live: RwLock::new(live),
        files,
        events,
        problems: RwLock::new(
            ServerMsg::Problems {
                generation: 0,
                problems: problems.clone(),
            }
            .to_json(),
        ),
        generation: Default::default(),
        search,
        shutdown: tokio::sync::watch::channel(false).0,
    });
    // A closed stdout must not stop the server: the line is for a person watching.
    let _ = crate::outln!(
        "kb serve: {url} ({notes} notes, ready in {:.0} ms; Ctrl-C to stop)",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let loop_shared = shared.clone();
    std::thread::Builder::new()
        .name("kb-rebuild".into())
        .spawn(move || rebuild_loop(&loop_shared, rx, watcher, layout, problems))
        .context("couldn't start the rebuild thread")?;

    let app = http::router(shared.clone(), http::HostPolicy::new(addr));
    let stopping = shared.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        // Live-reload sockets stay open forever: close them, or the shutdown waits on them.
        let _ = stopping.shutdown.send(true);
        // A second Ctrl-C, or anything still hanging after a moment, ends the process.
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = tokio::time::sleep(Duration::from_secs(3)) => {}
        }
        std::process::exit(0);
    });
    http::serve_connections(listener, app, shared.shutdown.subscribe()).await;
    shared.live.read_or_recover().save_caches();
    Ok(Exit::Ok)
}

/// Search for `/_kb/search` and the browser's index, unless kb.toml turns search off.
fn search_for(live: &LiveSite) -> Option<search::LiveSearch> {
    if !live.config().search.enabled {
        return None;
    }
    match search::LiveSearch::start(live.search_docs()) {
        Ok(s) => Some(s),
        Err(e) => {
            crate::errln!("kb: search is off for this session: {e:#}");
            None
        }
    }
}

/// Apply each batch of changes as it comes, folding batches that arrived during a rebuild into
/// the next one, so a burst of saves costs one or two rebuilds, never a queue of them.
fn rebuild_loop(
    shared: &Shared,
    rx: mpsc::Receiver<WatchEvent>,
    mut watcher: Watcher,
    mut layout: Layout,
    mut shown: Vec<Problem>,
) {
    while let Ok(first) = rx.recv() {
        let mut rescan = false;
        let mut paths = BTreeSet::new();
        for event in std::iter::once(first).chain(rx.try_iter()) {
            match event {
                WatchEvent::Paths(p) => paths.extend(p),
                WatchEvent::Rescan => rescan = true,
            }
        }
        // A source folder that appeared (`.kb/` from a first `kb verify`, a theme folder) is
        // watched from now on; what it already holds counts as changed.
        paths.extend(newly_watched(&mut watcher, &layout));
        let changes: BTreeSet<change::Change> =
            paths.iter().filter_map(|p| layout.classify(p)).collect();
        if changes.is_empty() && !rescan {
            continue;
        }
        let (update, problems) = {
            let mut live = shared.live.write_or_recover();
            let update = if rescan {
                let mut up = update::Update::default();
                live.reload_content(&mut up, "the file watcher lost events");
                up
            } else {
                live.apply(&changes)
            };
            layout = Layout::new(live.config());
            (update, live.problems())
        };
        let generation = shared.generation.fetch_add(1, Ordering::SeqCst) + 1;
        for line in &update.log {
            crate::errln!("{line}");
        }
        tracing::info!("update {generation}: {}", update.laps);
        if problems != shown {
            for p in problems.iter().filter(|p| !shown.contains(p)) {
                crate::errln!("{p}");
            }
            let fixed = shown.iter().filter(|p| !problems.contains(p)).count();
            if fixed > 0 {
                crate::errln!("{fixed} problem{} fixed", crate::diagnostics::plural(fixed));
            }
            let msg = ServerMsg::Problems {
                generation,
                problems: problems.clone(),
            }
            .to_json();
            *shared.problems.write_or_recover() = msg.clone();
            let _ = shared.events.send(msg);
            shown = problems;
        }
        for msg in update.reload.messages(generation) {
            let _ = shared.events.send(msg.to_json());
        }
        if let (Some(search), Some(delta)) = (&shared.search, update.search) {
            search.send(delta);
        }
    }
}

/// Start watching source folders that appeared; returns paths to treat as changed: the folder
/// itself, and the verify results file if it is in it.
fn newly_watched(watcher: &mut Watcher, layout: &Layout) -> Vec<PathBuf> {
    let added = match watcher.refresh(layout) {
        Ok(a) => a,
        Err(e) => {
            crate::errln!("kb: {e:#}");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for dir in added {
        if layout.results_file.parent() == Some(dir.as_path()) {
            out.push(layout.results_file.clone());
        } else if dir != layout.root {
            out.push(dir);
        }
    }
    out
}

#[cfg(test)]
mod same_as_build;
