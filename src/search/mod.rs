//! Full-text search for the CLI (`kb search`), the dev server (`/_kb/search`) and the static site.
//!
//! 1. [`tokenize`]: one tokenizer for Chinese prose and English identifiers (CJK bigrams plus
//!    each run's last character, stemmed words split at punctuation and camelCase).
//! 2. [`query`]: the query language, parsed once into typed clauses.
//! 3. [`index`]: [`SearchIndex`], a tantivy index in `.kb/search-index` ([`schema`]: its fields
//!    and boosts), updated per note by content hash; [`rank`] queries it, [`terms`] reads every
//!    term's scores back out for the browser.
//! 4. [`excerpt`]: the matching section of a hit and a highlighted, character-counted excerpt.
//! 5. [`client`]: the browser's index (precomputed scores read out of the tantivy index,
//!    sharded postings, lazy fragments), searched by `themes/default/static/search.js` with the
//!    same rules.
//!
//! [`index_site`] is what `kb build` calls after rendering; [`open_fresh`] is `kb search`'s
//! index, brought up to date from documents its caller renders.

pub(crate) mod client;
pub mod doc;
pub(crate) mod excerpt;
pub mod index;
pub(crate) mod query;
pub(crate) mod rank;
pub(crate) mod schema;
pub(crate) mod terms;
pub(crate) mod tokenize;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::output::sink::Sink;
use crate::sync::MutexExt;

pub use client::ClientStats;
use doc::EncodedDoc;
pub use doc::{SearchDoc, SearchSection};
pub use index::{SearchIndex, UpdateStats};
pub use rank::Hit;

/// The tokens a text is indexed as, `(term, position)`. search.js must produce exactly these;
/// the browser test compares the two on a sample.
pub fn analyze(text: &str) -> Vec<(String, usize)> {
    tokenize::index_tokens(text)
        .into_iter()
        .map(|t| (t.text, t.position))
        .collect()
}

/// The tokens query terms are looked for in a text to highlight them, `(term, position)`:
/// [`analyze`] plus every CJK character. search.js must produce exactly these too.
pub fn analyze_matching(text: &str) -> Vec<(String, usize)> {
    tokenize::match_tokens(text)
        .into_iter()
        .map(|t| (t.text, t.position))
        .collect()
}

/// True for the characters indexed as CJK unigrams and bigrams (Han, kana, Hangul).
pub fn is_cjk(c: char) -> bool {
    tokenize::is_cjk(c)
}

/// The tokens of a query word (`phrase`: inside quotes), `(term, position)`; see [`analyze`].
pub fn analyze_query(text: &str, phrase: bool) -> Vec<(String, usize)> {
    let mode = if phrase {
        tokenize::QueryMode::Phrase
    } else {
        tokenize::QueryMode::Terms
    };
    tokenize::query_tokens(text, mode)
        .into_iter()
        .map(|t| (t.text, t.position))
        .collect()
}

/// What [`index_site`] did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct IndexStats {
    pub update: UpdateStats,
    pub client: ClientStats,
}

/// Directory of the tantivy index for a knowledge base.
pub fn index_dir(config: &Config) -> PathBuf {
    config.cache_dir().join("search-index")
}

/// Update the tantivy index in the cache dir to hold exactly `docs`, and write the browser's
/// index through `sink` under `_kb/search/`. Called by `kb build` after rendering.
///
/// Each note is serialized once ([`EncodedDoc`]): that JSON is its fragment in the browser
/// index, what tantivy stores, and what its content hash covers. The rest of the browser index
/// depends on the docs alone: when they hash the same as in the last build, the postings,
/// word lists and meta.json kept from that build (a [`crate::cache`] record file) are written
/// again instead of computing them. Otherwise the fragments are written while tantivy indexes,
/// and the postings are then read out of the updated index.
pub fn index_site(
    config: &Config,
    docs: &[SearchDoc],
    sink: &dyn Sink,
) -> anyhow::Result<IndexStats> {
    if !config.search.enabled {
        return Ok(IndexStats::default());
    }
    let start = std::time::Instant::now();
    let sorted = client::by_source(docs);
    let encoded = EncodedDoc::all(&sorted);
    let stamp = content_stamp(config)?;
    let mut index = SearchIndex::open(&index_dir(config))?;
    let key = client_cache_key(&sorted, &encoded);
    let cache = client_cache_file(config);
    let (update, client) = match read_client_cache(&cache, &key) {
        Some((client, files)) => {
            let update = index.update_encoded(&sorted, &encoded, &stamp)?;
            client::write_fragments(&encoded, sink)?;
            files
                .par_iter()
                .try_for_each(|(rel, bytes)| sink.write(rel, bytes))?;
            (update, client)
        }
        None => {
            let (update, fragments) = rayon::join(
                || index.update_encoded(&sorted, &encoded, &stamp),
                || client::write_fragments(&encoded, sink),
            );
            let (update, fragments) = (update?, fragments?);
            tracing::debug!(took = ?start.elapsed(), "search: tantivy updated, fragments written");
            // the fragments are written again from `encoded` on a cache hit: record the rest
            let recorder = RecordingSink {
                inner: sink,
                files: std::sync::Mutex::new(Vec::new()),
            };
            let client = client::write_index_files(&sorted, &index, fragments, &recorder)?;
            tracing::debug!(took = ?start.elapsed(), "search: browser index written");
            save_client_cache(&cache, &key, &client, recorder);
            (update, client)
        }
    };
    tracing::info!(
        added = update.added,
        updated = update.updated,
        removed = update.removed,
        client_kb = client.total_bytes() / 1024,
        took_ms = start.elapsed().as_millis(),
        "search index"
    );
    Ok(IndexStats { update, client })
}

/// The browser index cache: a [`crate::cache`] record file whose first record is the docs' key,
/// the second the index stats, then one record per written file but the fragments (which are
/// the encoded docs themselves).
const CLIENT_CACHE_MAGIC: &[u8; 8] = b"kbsc0002";

/// Where the browser index of the last build is kept.
fn client_cache_file(config: &Config) -> PathBuf {
    config.cache_dir().join("cache/search-client.bin")
}

/// What the browser index is made from: the docs (`encoded[i]` is `docs[i]`'s) and the versions
/// of the tokenizer, the index schema and the browser format.
fn client_cache_key(docs: &[&SearchDoc], encoded: &[EncodedDoc]) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(&tokenize::TOKENIZER_VERSION.to_le_bytes());
    hasher.update(&schema::SCHEMA_VERSION.to_le_bytes());
    hasher.update(&client::CLIENT_FORMAT.to_le_bytes());
    for (doc, enc) in docs.iter().zip(encoded) {
        hasher.update(doc.source.as_bytes());
        hasher.update(enc.hash.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// Keep the files `recorder` saw for the next build with the same `key` (a failure only costs
/// that build the computation, so it is a warning).
fn save_client_cache(path: &Path, key: &str, stats: &ClientStats, recorder: RecordingSink<'_>) {
    let mut files = recorder.files.into_inner_or_recover();
    files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let saved = serde_json::to_vec(stats)
        .map_err(anyhow::Error::from)
        .and_then(|stats_json| {
            let head: [(&[u8], &[u8]); 2] =
                [(b"key", key.as_bytes()), (b"stats", stats_json.as_slice())];
            let records = head.into_iter().chain(
                files
                    .iter()
                    .map(|(rel, bytes)| (rel.as_bytes(), bytes.as_slice())),
            );
            Ok(crate::cache::write_records(
                path,
                CLIENT_CACHE_MAGIC,
                records,
            )?)
        });
    if let Err(e) = saved {
        tracing::warn!(
            "couldn't save the browser search index cache `{}`: {e}",
            path.display()
        );
    }
}

/// Site-relative path and bytes of each browser index file.
type CachedFiles = Vec<(String, Vec<u8>)>;

/// The cached browser index if it was made from docs with this `key`; `None` for a missing,
/// stale or damaged cache (which the caller then rebuilds).
fn read_client_cache(path: &Path, key: &str) -> Option<(client::ClientStats, CachedFiles)> {
    let mut records = crate::cache::read_records(path, CLIENT_CACHE_MAGIC).ok()?;
    let (k, v) = records.next()?.ok()?;
    if k != b"key" || v != key.as_bytes() {
        return None;
    }
    let (k, v) = records.next()?.ok()?;
    if k != b"stats" {
        return None;
    }
    let stats = serde_json::from_slice(&v).ok()?;
    let files = records
        .map(|r| {
            let (rel, bytes) = r.ok()?;
            Some((String::from_utf8(rel).ok()?, bytes))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((stats, files))
}

/// Passes writes through and keeps a copy of each file.
struct RecordingSink<'a> {
    inner: &'a dyn Sink,
    files: std::sync::Mutex<Vec<(String, Vec<u8>)>>,
}

impl Sink for RecordingSink<'_> {
    fn write(&self, rel_path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.inner.write(rel_path, bytes)?;
        self.files
            .lock_or_recover()
            .push((rel_path.to_string(), bytes.to_vec()));
        Ok(())
    }
}

/// A cheap fingerprint of everything the SearchDocs depend on (paths, sizes and mtimes of the
/// files the content walk admits under `content/`, kb.toml, the base URL), so `kb search` knows when to re-index
/// without rendering a single note.
pub fn content_stamp(config: &Config) -> anyhow::Result<String> {
    let mut h = blake3::Hasher::new();
    h.update(&tokenize::TOKENIZER_VERSION.to_le_bytes());
    h.update(config.base_url.as_bytes());
    if let Ok(toml) = std::fs::read(config.root.join("kb.toml")) {
        h.update(&toml);
    }
    // The files the content walk admits, and only those: the stamp must not follow a link the
    // build refuses (a dangling link or a loop failed the build, a link to `/etc` walked it).
    let walk = crate::content::load::walk(config);
    let mut rows: Vec<(String, u64, u128)> = Vec::new();
    for path in walk
        .notes
        .iter()
        .chain(&walk.section_indexes)
        .chain(&walk.assets)
    {
        // Vanished since the walk, or unreadable: the build reports it; the stamp skips it.
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        rows.push((
            crate::output::sink::rel_slash(path, &config.root),
            meta.len(),
            mtime,
        ));
    }
    rows.sort();
    for (p, len, mtime) in rows {
        h.update(p.as_bytes());
        h.update(&len.to_le_bytes());
        h.update(&mtime.to_le_bytes());
    }
    Ok(h.finalize().to_hex()[..32].to_string())
}

/// Open the knowledge base's index and bring it up to date if the content changed since it was
/// last written (calling `docs` for every note's document only then: the caller renders them).
pub fn open_fresh(
    config: &Config,
    docs: impl FnOnce() -> anyhow::Result<Vec<SearchDoc>>,
) -> anyhow::Result<SearchIndex> {
    let mut index = SearchIndex::open(&index_dir(config))?;
    let stamp = content_stamp(config)?;
    if index.stamp() != stamp || index.is_empty() {
        let docs = docs()?;
        let stats = index.update(&docs, &stamp)?;
        tracing::info!(
            added = stats.added,
            updated = stats.updated,
            removed = stats.removed,
            "search index refreshed"
        );
    }
    Ok(index)
}

#[cfg(test)]
mod client_cache_tests {
    use super::*;
    use crate::output::MemSink;
    use crate::search::doc::SearchSection;

    fn doc(text: &str) -> SearchDoc {
        SearchDoc {
            url: "/notes/a/".into(),
            title: "共享内存".into(),
            source: "content/a.md".into(),
            sections: vec![SearchSection {
                text: text.into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn indexed(docs: &[SearchDoc]) -> SearchIndex {
        let mut index = SearchIndex::in_memory().unwrap();
        index.update(docs, "test").unwrap();
        index
    }

    fn files(sink: &MemSink) -> Vec<(String, Vec<u8>)> {
        sink.paths()
            .into_iter()
            .map(|p| (p.clone(), sink.get(&p).unwrap().to_vec()))
            .collect()
    }

    #[test]
    fn unchanged_docs_reuse_the_browser_index_and_changed_docs_recompute_it() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::validate(dir.path().to_path_buf(), Default::default()).unwrap();
        let build = |docs: &[SearchDoc]| {
            let sink = MemSink::default();
            let stats = index_site(&config, docs, &sink).unwrap();
            (stats, files(&sink))
        };
        let (s1, first) = build(&[doc("shmget 报 EINVAL")]);
        let cache = client_cache_file(&config);
        assert!(cache.is_file());

        // mark the kept meta.json: a build of the same docs must hand out the kept files
        let mut kept: Vec<(Vec<u8>, Vec<u8>)> =
            crate::cache::read_records(&cache, CLIENT_CACHE_MAGIC)
                .unwrap()
                .map(Result::unwrap)
                .collect();
        let meta = kept
            .iter_mut()
            .find(|(k, _)| k == b"_kb/search/meta.json")
            .unwrap();
        meta.1.extend_from_slice(b" ");
        let records = kept.iter().map(|(k, v)| (k.as_slice(), v.as_slice()));
        crate::cache::write_records(&cache, CLIENT_CACHE_MAGIC, records).unwrap();
        let (s2, second) = build(&[doc("shmget 报 EINVAL")]);
        assert_eq!(s1.client, s2.client);
        let meta = |files: &[(String, Vec<u8>)]| {
            files
                .iter()
                .find(|(p, _)| p == "_kb/search/meta.json")
                .unwrap()
                .1
                .clone()
        };
        assert!(meta(&second).ends_with(b"} "), "served from the cache");
        assert_eq!(first.len(), second.len());

        let (_, third) = build(&[doc("mmap 普通文件")]);
        assert_ne!(first, third, "changed docs produce a new index");
        let fresh = MemSink::default();
        let docs = [doc("mmap 普通文件")];
        client::write_client_index(&docs, &mut indexed(&docs), "test", &fresh).unwrap();
        assert_eq!(third, files(&fresh), "recomputed, not served stale");
    }
}
