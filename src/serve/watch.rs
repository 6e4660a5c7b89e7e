//! File watching: notify (inotify, FSEvents, ...) behind notify-debouncer-full, which merges an
//! editor's save burst (write temp file, rename over the note, chmod) into one batch per quiet
//! period and pairs the two halves of a rename.
//!
//! Only the site's sources are watched — `content/`, the theme directory and
//! `snippets/images/` recursively, the root and the verify results folder flat — never the
//! whole root, which may hold `target/`, `public/` or `.git/` with far more files than the site.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer_opt, DebounceEventResult, Debouncer, RecommendedCache};

use super::change::Layout;

/// What the watcher hands to the rebuild loop.
#[derive(Debug)]
pub(crate) enum WatchEvent {
    /// Paths that changed (created, modified, removed, renamed from or to).
    Paths(BTreeSet<PathBuf>),
    /// The OS dropped events (queue overflow): only a full reload is safe.
    Rescan,
}

/// Whether an event can mean new bytes or a new name. Reads (open, access, close after reading,
/// access-time updates) are reported too on some platforms and must not trigger a rebuild —
/// the rebuild itself reads every file it loads.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        _ => true,
    }
}

/// A running watcher; dropping it stops watching.
pub(crate) struct Watcher {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    watched: BTreeSet<PathBuf>,
}

impl Watcher {
    /// Watch the sources of `layout`, sending batches to `tx` after `debounce` of quiet.
    pub(crate) fn start(
        layout: &Layout,
        debounce: Duration,
        tx: mpsc::Sender<WatchEvent>,
    ) -> anyhow::Result<Watcher> {
        let handler = move |result: DebounceEventResult| {
            let event = match result {
                Ok(events) if events.iter().any(|e| e.need_rescan()) => WatchEvent::Rescan,
                Ok(events) => {
                    let paths: BTreeSet<PathBuf> = events
                        .into_iter()
                        .filter(|e| changes_content(&e.event.kind))
                        .flat_map(|e| e.event.paths)
                        .collect();
                    if paths.is_empty() {
                        return;
                    }
                    WatchEvent::Paths(paths)
                }
                Err(errors) => {
                    for e in errors {
                        tracing::warn!("file watcher: {e}");
                    }
                    return;
                }
            };
            let _ = tx.send(event);
        };
        // Links are not followed into: a link to `/etc` (or a loop) under content/ would make a
        // recursive watch walk and watch a whole outside tree. The content walk does not follow
        // links to folders either (crate::content::load::admit), so nothing kb reads is missed.
        let config = notify_debouncer_full::notify::Config::default().with_follow_symlinks(false);
        let debouncer = new_debouncer_opt::<_, RecommendedWatcher, RecommendedCache>(
            debounce,
            None,
            handler,
            RecommendedCache::new(),
            config,
        )
        .context("couldn't start the file watcher")?;
        let mut watcher = Watcher {
            debouncer,
            watched: BTreeSet::new(),
        };
        watcher.refresh(layout)?;
        Ok(watcher)
    }

    /// Watch any source directory that appeared since the last call (a `.kb/` folder created by
    /// the first `kb verify`, a theme folder created after `kb serve` started). Returns the
    /// directories newly watched: what was written into them before the watch began was missed.
    pub(crate) fn refresh(&mut self, layout: &Layout) -> anyhow::Result<Vec<PathBuf>> {
        let mut added = Vec::new();
        let (recursive, flat) = layout.watch_dirs();
        for (dirs, mode) in [
            (recursive, RecursiveMode::Recursive),
            (flat, RecursiveMode::NonRecursive),
        ] {
            for dir in dirs {
                if self.watched.contains(&dir) {
                    continue;
                }
                self.debouncer
                    .watch(&dir, mode)
                    .with_context(|| format!("couldn't watch `{}`", dir.display()))?;
                self.watched.insert(dir.clone());
                added.push(dir);
            }
        }
        // Forget directories that vanished, so they are watched again when they come back.
        self.watched.retain(|d| d.is_dir());
        Ok(added)
    }
}
