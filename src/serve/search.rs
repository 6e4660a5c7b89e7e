//! Search while serving: `GET /_kb/search?q=...&limit=N` from an in-memory [`SearchIndex`]
//! (the one `kb search` uses), and the browser's index under `_kb/search/` for the search box,
//! both kept current as notes change.
//!
//! The rebuild loop hands every update's [`SearchDelta`] to a worker thread, which folds pending
//! deltas together and updates both indexes off the reload path: a tab reloads as soon as its
//! page is rendered, and search catches up a moment later. Requests read the index
//! concurrently; until the first indexing finishes the API answers 503.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, RwLock};

use crate::search::doc::SearchDoc;
use crate::search::{Hit, SearchIndex};

use super::files::LiveFiles;
use super::live::SearchDelta;

/// The search the server answers from (absent when kb.toml turns search off).
#[derive(Clone)]
pub(crate) struct LiveSearch {
    index: Arc<RwLock<Option<SearchIndex>>>,
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
    /// Index `docs` in the background, write the browser's index into `files`, and follow deltas.
    pub(crate) fn start(docs: Vec<SearchDoc>, files: Arc<LiveFiles>) -> anyhow::Result<LiveSearch> {
        let index: Arc<RwLock<Option<SearchIndex>>> = Arc::default();
        let (tx, rx) = mpsc::channel::<SearchDelta>();
        let worker = index.clone();
        std::thread::Builder::new()
            .name("kb-search".into())
            .spawn(move || {
                let mut all: BTreeMap<String, SearchDoc> =
                    docs.into_iter().map(|d| (d.source.clone(), d)).collect();
                loop {
                    let docs: Vec<SearchDoc> = all.values().cloned().collect();
                    if let Err(e) = refresh(&worker, &docs, &files) {
                        tracing::warn!("search index update failed: {e:#}");
                    }
                    let Ok(first) = rx.recv() else { return };
                    for delta in std::iter::once(first).chain(rx.try_iter()) {
                        apply(&mut all, delta);
                    }
                }
            })?;
        Ok(LiveSearch { index, tx })
    }

    /// Queue an update (never blocks the caller).
    pub(crate) fn send(&self, delta: SearchDelta) {
        let _ = self.tx.send(delta);
    }

    pub(crate) fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, SearchError> {
        let index = self.index.read().unwrap_or_else(|e| e.into_inner());
        let index = index.as_ref().ok_or(SearchError::NotReady)?;
        Ok(index.search(query, limit)?)
    }
}

/// Bring the server's index and the browser's index to `docs`. The first index is built before
/// it is published, so searches never see it half-built.
fn refresh(
    index: &RwLock<Option<SearchIndex>>,
    docs: &[SearchDoc],
    files: &LiveFiles,
) -> anyhow::Result<()> {
    let exists = index.read().unwrap_or_else(|e| e.into_inner()).is_some();
    if exists {
        let mut guard = index.write().unwrap_or_else(|e| e.into_inner());
        if let Some(ix) = guard.as_mut() {
            ix.update(docs, "kb serve")?;
        }
    } else {
        let mut fresh = SearchIndex::in_memory()?;
        fresh.update(docs, "kb serve")?;
        *index.write().unwrap_or_else(|e| e.into_inner()) = Some(fresh);
    }
    crate::search::client::write_client_index(docs, files)?;
    Ok(())
}

fn apply(all: &mut BTreeMap<String, SearchDoc>, delta: SearchDelta) {
    if let Some(docs) = delta.all {
        *all = docs.into_iter().map(|d| (d.source.clone(), d)).collect();
    }
    for source in delta.remove {
        all.remove(&source);
    }
    for doc in delta.upsert {
        all.insert(doc.source.clone(), doc);
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
    fn deltas_fold_into_the_full_set() {
        let mut all = BTreeMap::new();
        apply(
            &mut all,
            SearchDelta {
                all: Some(vec![doc("a", "A"), doc("b", "B")]),
                ..Default::default()
            },
        );
        apply(
            &mut all,
            SearchDelta {
                all: None,
                upsert: vec![doc("b", "B2"), doc("c", "C")],
                remove: vec!["a".into()],
            },
        );
        let titles: Vec<&str> = all.values().map(|d| d.title.as_str()).collect();
        assert_eq!(titles, ["B2", "C"]);
    }
}
