//! Search while serving: `GET /_kb/search?q=...&limit=N` from an in-memory [`SearchIndex`]
//! (the one `kb search` uses), and the browser's index under `_kb/search/` for the search box.
//!
//! The rebuild loop hands every update's [`SearchDelta`] to a worker thread, which folds
//! pending deltas together and updates the index off the reload path: a tab reloads as soon as
//! its page is rendered, and search catches up a moment later (about 0.1 s for 10,000 notes).
//! Until the first indexing finishes the API answers 503. The browser's index covers all notes
//! (0.26 s for the first request at 10,000), so it is made only when a page asks for it after
//! a change, not after every save; it is read out of the server's index, brought up to the
//! current documents first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};

use crate::search::doc::SearchDoc;
use crate::search::{Hit, SearchIndex};
use crate::sync::{MutexExt, RwLockExt};

use super::files::LiveFiles;
use super::update::SearchDelta;

/// Where the browser's index lives in the site.
pub(crate) const CLIENT_PREFIX: &str = "_kb/search/";

/// The search the server answers from (absent when kb.toml turns search off).
#[derive(Clone)]
pub(crate) struct LiveSearch {
    index: Arc<RwLock<Option<SearchIndex>>>,
    /// Every note's document, sorted by source.
    docs: Arc<RwLock<Vec<SearchDoc>>>,
    /// Bumped by every delta; the browser's index is current when it was made from this version.
    version: Arc<AtomicU64>,
    client: Arc<Mutex<Option<u64>>>,
    tx: mpsc::Sender<SearchDelta>,
}

/// Why a search could not be answered.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SearchError {
    #[error("the search index is still being built; try again in a moment")]
    NotReady,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl LiveSearch {
    /// Index `docs` in the background and follow deltas.
    pub(crate) fn start(mut docs: Vec<SearchDoc>) -> anyhow::Result<LiveSearch> {
        docs.sort_by(|a, b| a.source.cmp(&b.source));
        let (tx, rx) = mpsc::channel::<SearchDelta>();
        let search = LiveSearch {
            index: Arc::default(),
            docs: Arc::new(RwLock::new(docs)),
            version: Arc::default(),
            client: Arc::default(),
            tx,
        };
        let worker = search.clone();
        std::thread::Builder::new()
            .name("kb-search".into())
            .spawn(move || loop {
                if let Err(e) = worker.reindex() {
                    tracing::warn!("search index update failed: {e:#}");
                }
                let Ok(first) = rx.recv() else { return };
                let mut docs = worker.docs.write_or_recover();
                for delta in std::iter::once(first).chain(rx.try_iter()) {
                    apply(&mut docs, delta);
                }
                worker.version.fetch_add(1, Ordering::SeqCst);
            })?;
        Ok(search)
    }

    /// Queue an update (never blocks the caller).
    pub(crate) fn send(&self, delta: SearchDelta) {
        let _ = self.tx.send(delta);
    }

    pub(crate) fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, SearchError> {
        let index = self.index.read_or_recover();
        let index = index.as_ref().ok_or(SearchError::NotReady)?;
        Ok(index.search(query, limit)?)
    }

    /// Bring the server's index to the current documents. The first index is built before it
    /// is published, so searches never see it half-built.
    fn reindex(&self) -> anyhow::Result<()> {
        let t = std::time::Instant::now();
        let docs = self.docs.read_or_recover();
        let exists = self.index.read_or_recover().is_some();
        if exists {
            let mut guard = self.index.write_or_recover();
            if let Some(ix) = guard.as_mut() {
                ix.update(&docs, "kb serve")?;
            }
        } else {
            let mut fresh = SearchIndex::in_memory()?;
            fresh.update(&docs, "kb serve")?;
            *self.index.write_or_recover() = Some(fresh);
        }
        tracing::info!(
            "search: {} notes indexed in {:.0} ms",
            docs.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
        Ok(())
    }

    /// Make sure the browser's index in `files` reflects the current documents (called before
    /// serving anything under [`CLIENT_PREFIX`]; concurrent callers wait for one rebuild).
    pub(crate) fn ensure_client_index(&self, files: &LiveFiles) -> anyhow::Result<()> {
        let mut made = self.client.lock_or_recover();
        let version = self.version.load(Ordering::SeqCst);
        if *made == Some(version) {
            return Ok(());
        }
        let t = std::time::Instant::now();
        let docs = self.docs.read_or_recover();
        // Read the version again under the lock: deltas land with the docs write lock held.
        let version = self.version.load(Ordering::SeqCst);
        // The browser index is read out of the server's index, which may lag the docs by a
        // delta: write_client_index brings it up to them first (a no-op when the worker
        // already did).
        let mut index = self.index.write_or_recover();
        if index.is_none() {
            *index = Some(SearchIndex::in_memory()?);
        }
        let index = index.as_mut().expect("set above");
        crate::search::client::write_client_index(&docs, index, "kb serve", files)?;
        *made = Some(version);
        tracing::info!(
            "search: browser index for {} notes written in {:.0} ms",
            docs.len(),
            t.elapsed().as_secs_f64() * 1000.0
        );
        Ok(())
    }
}

/// Apply a delta to documents sorted by source.
fn apply(docs: &mut Vec<SearchDoc>, delta: SearchDelta) {
    if let Some(all) = delta.all {
        *docs = all;
        docs.sort_by(|a, b| a.source.cmp(&b.source));
    }
    for source in delta.remove {
        if let Ok(i) = docs.binary_search_by(|d| d.source.cmp(&source)) {
            docs.remove(i);
        }
    }
    for doc in delta.upsert {
        match docs.binary_search_by(|d| d.source.cmp(&doc.source)) {
            Ok(i) => docs[i] = doc,
            Err(i) => docs.insert(i, doc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(source: &str, title: &str) -> SearchDoc {
        SearchDoc {
            source: source.into(),
            title: title.into(),
            ..Default::default()
        }
    }

    #[test]
    fn deltas_fold_into_the_full_set_in_source_order() {
        let mut all = Vec::new();
        apply(
            &mut all,
            SearchDelta {
                all: Some(vec![doc("b", "B"), doc("a", "A")]),
                ..Default::default()
            },
        );
        apply(
            &mut all,
            SearchDelta {
                all: None,
                upsert: vec![doc("b", "B2"), doc("c", "C"), doc("0", "Z")],
                remove: vec!["a".into()],
            },
        );
        let titles: Vec<&str> = all.iter().map(|d| d.title.as_str()).collect();
        assert_eq!(titles, ["Z", "B2", "C"]);
    }
}
