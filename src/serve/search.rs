//! `GET /_kb/search?q=...&limit=N`: the server's search, kept current as notes change.
//!
//! The rebuild loop hands every update's [`SearchDelta`] to a worker thread, which folds
//! pending deltas together and updates the index off the reload path: a tab reloads as soon as
//! its page is rendered, and search catches up a moment later. Requests read the index
//! concurrently.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, RwLock};

use crate::search::doc::SearchDoc;

use super::live::SearchDelta;

/// An index the server can keep up to date and query. `kb search`'s index implements it.
// Not constructed until `kb search`'s tantivy index is on this branch (see `search_for`).
#[allow(dead_code)]
pub(crate) trait Searcher: Send + Sync {
    /// Make the index hold exactly `docs`.
    fn update(&mut self, docs: &[SearchDoc]) -> anyhow::Result<()>;
    /// Up to `limit` hits for `query`, as the JSON array the API returns.
    fn search(&self, query: &str, limit: usize) -> anyhow::Result<serde_json::Value>;
}

/// The search the server answers from, or `None` when search is off in kb.toml.
#[derive(Clone)]
pub(crate) struct LiveSearch {
    index: Arc<RwLock<Box<dyn Searcher>>>,
    tx: mpsc::Sender<SearchDelta>,
}

impl LiveSearch {
    /// Index `docs` in the background and start following deltas.
    #[allow(dead_code)]
    pub(crate) fn start(index: Box<dyn Searcher>, docs: Vec<SearchDoc>) -> LiveSearch {
        let index = Arc::new(RwLock::new(index));
        let (tx, rx) = mpsc::channel::<SearchDelta>();
        let worker = index.clone();
        let _ = std::thread::Builder::new()
            .name("kb-search".into())
            .spawn(move || {
                let mut all: BTreeMap<String, SearchDoc> =
                    docs.into_iter().map(|d| (d.source.clone(), d)).collect();
                let mut dirty = true;
                loop {
                    if dirty {
                        let docs: Vec<SearchDoc> = all.values().cloned().collect();
                        let mut index = worker.write().unwrap_or_else(|e| e.into_inner());
                        if let Err(e) = index.update(&docs) {
                            tracing::warn!("search index update failed: {e:#}");
                        }
                    }
                    let Ok(first) = rx.recv() else { return };
                    for delta in std::iter::once(first).chain(rx.try_iter()) {
                        apply(&mut all, delta);
                    }
                    dirty = true;
                }
            });
        LiveSearch { index, tx }
    }

    /// Queue an update (never blocks the caller).
    pub(crate) fn send(&self, delta: SearchDelta) {
        let _ = self.tx.send(delta);
    }

    pub(crate) fn search(&self, query: &str, limit: usize) -> anyhow::Result<serde_json::Value> {
        self.index
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .search(query, limit)
    }
}

#[allow(dead_code)]
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
