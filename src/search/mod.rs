//! Full-text search for the CLI (`kb search`), the dev server (`/_kb/search`) and the static site.
//!
//! 1. [`tokenize`]: one tokenizer for Chinese prose and English identifiers (CJK bigrams plus
//!    each run's last character, stemmed words split at punctuation and camelCase).
//! 2. [`query`]: the query language, parsed once into typed clauses.
//! 3. [`index`]: [`SearchIndex`], a tantivy index in `.kb/search-index`, updated per note by
//!    content hash.
//! 4. [`excerpt`]: the matching section of a hit and a highlighted, character-counted excerpt.
//! 5. [`client`]: the browser's index (precomputed scores read out of the tantivy index,
//!    sharded postings, lazy fragments), searched by `themes/default/static/search.js` with the
//!    same rules.
//!
//! [`index_site`] is what `kb build` calls after rendering; [`run`] is `kb search`.

pub(crate) mod client;
pub mod doc;
pub(crate) mod excerpt;
pub mod index;
pub(crate) mod query;
pub(crate) mod tokenize;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::cli::GlobalOpts;
use crate::config::Config;
use crate::diagnostics::Exit;
use crate::output::sink::Sink;

pub use client::ClientStats;
use doc::EncodedDoc;
pub use doc::{SearchDoc, SearchSection};
pub use index::{Hit, SearchIndex, UpdateStats};

/// Arguments of `kb search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The query: words (all must match), "a phrase", tag:NAME; the last word also matches as a
    /// prefix.
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,

    /// Show at most this many results.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub limit: usize,

    /// Print results as a JSON array (title, url, score, excerpt, ...).
    #[arg(long)]
    pub json: bool,
}

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
    hasher.update(&index::SCHEMA_VERSION.to_le_bytes());
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
    let mut files = recorder
        .files
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
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
            .lock()
            .unwrap_or_else(|e| e.into_inner())
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
/// last written (rendering the notes only then).
pub fn open_fresh(config: &Config) -> anyhow::Result<SearchIndex> {
    let mut index = SearchIndex::open(&index_dir(config))?;
    let stamp = content_stamp(config)?;
    if index.stamp() != stamp || index.is_empty() {
        let docs = load_docs(config)?;
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

/// Every note as a [`SearchDoc`], from the build's load and markdown stages (drafts left out,
/// as `kb build` does by default).
fn load_docs(config: &Config) -> anyhow::Result<Vec<SearchDoc>> {
    let site = crate::build::Site::load(config.clone(), Default::default())?;
    let cache = config.cache_dir().join("cache/highlight.bin");
    let highlighter = crate::highlight::Highlighter::with_cache_file(&cache);
    Ok(site
        .render(&highlighter)
        .into_iter()
        .map(|r| r.search)
        .collect())
}

/// `kb search`.
pub fn run(global: &GlobalOpts, args: SearchArgs) -> anyhow::Result<Exit> {
    let config = Config::load(&global.root)?;
    let query = args.query.join(" ");
    if query::parse(&query).is_empty() {
        anyhow::bail!(
            "the query `{query}` has nothing to search for; give a word, a \"phrase\" or tag:NAME"
        );
    }
    let index = open_fresh(&config)?;
    let hits = index.search(&query, args.limit)?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&hits)?)?;
        return Ok(Exit::Ok);
    }
    if hits.is_empty() {
        crate::errln!("no results for `{query}`");
        return Ok(Exit::Ok);
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for (i, h) in hits.iter().enumerate() {
        crate::outln!("{}", render_hit(i + 1, h, color))?;
    }
    Ok(Exit::Ok)
}

/// One result for the terminal: number, title, link, excerpt with highlights.
fn render_hit(n: usize, h: &Hit, color: bool) -> String {
    let (bold, mark, dim, reset) = if color {
        ("\x1b[1m", "\x1b[1;33m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let title = if h.heading.is_empty() || h.heading == h.title {
        h.title.clone()
    } else {
        format!("{} › {}", h.title, h.heading)
    };
    let excerpt = excerpt::Excerpt {
        text: h.excerpt.clone(),
        highlights: h.highlights.clone(),
    };
    let (open, close) = if color { (mark, reset) } else { ("[", "]") };
    let body = excerpt.render(|s, out| out.push_str(s), open, close);
    format!(
        "{n}. {bold}{title}{reset}\n   {dim}{}{reset}\n   {body}\n",
        h.url
    )
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
