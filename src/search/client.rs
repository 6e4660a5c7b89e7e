//! The browser's search index: the same tokens and the same BM25 scores as the tantivy index,
//! precomputed per (term, note) so search.js only intersects posting lists and adds numbers.
//! The postings are read out of the tantivy index ([`SearchIndex::term_scores`]), not made by
//! tokenizing the notes a second time.
//!
//! Files, all under `_kb/search/`:
//! - `meta.json`: format numbers, the shard count, the note count and each note's tags.
//! - `w/C.json`: the non-CJK terms starting with the character whose code point is C, with
//!   their frequency ([`TermScores::freq`]), sorted, for prefix expansion. When all of them together are small
//!   (under [`INLINE_WORDS_BYTES`]), they go into `meta.json` instead, saving a request per
//!   first letter typed.
//! - `i/K.json`: shard K of the postings, `{term: [note, score, note, score, ...]}`, notes
//!   delta-encoded, scores times [`SCORE_SCALE`]; a term lives in shard `fnv1a(term) % shards`.
//! - `f/N.json`: note N's URL, title, tags, date and sections `[[anchor, heading, text, code]]`,
//!   fetched only for the results shown, to cut excerpts (like Pagefind's fragments).
//!
//! Small sites get one shard; shards are sized to about [`SHARD_TARGET_BYTES`] so a query
//! downloads a few of them, not the whole index.

use std::collections::BTreeMap;

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;

use super::doc::{EncodedDoc, SearchDoc};
use super::excerpt::{EXCERPT_CHARS, LEAD_CHARS};
use super::index::SearchIndex;
use super::query::MIN_PREFIX_CHARS;
use super::rank::{EXPANSION_WEIGHT, MAX_EXPANSIONS};
use super::terms::TermScores;
use super::tokenize::{is_word_term, MAX_WORD_CHARS, TOKENIZER_VERSION};
use crate::output::sink::Sink;

/// Format of the files; search.js refuses other versions.
pub(crate) const CLIENT_FORMAT: u32 = 3;
/// Scores are stored as integers: `round(score * SCORE_SCALE)`.
pub(crate) const SCORE_SCALE: f32 = 100.0;
/// Aim for shards of about this many bytes.
pub(crate) const SHARD_TARGET_BYTES: usize = 96 * 1024;
/// Word lists up to this size in all are written into meta.json, not one file per letter.
pub(crate) const INLINE_WORDS_BYTES: usize = 32 * 1024;
/// Directory of the browser index inside the site.
pub(crate) const CLIENT_DIR: &str = "_kb/search";

/// Sizes of the written browser index.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ClientStats {
    pub notes: usize,
    pub terms: usize,
    pub shards: usize,
    /// meta.json.
    pub meta_bytes: usize,
    /// All prefix word lists (`w/*.json`).
    pub words_bytes: usize,
    /// All postings shards.
    pub index_bytes: usize,
    /// All per-note fragments.
    pub fragment_bytes: usize,
}

impl ClientStats {
    /// Total bytes written.
    pub fn total_bytes(&self) -> usize {
        self.meta_bytes + self.words_bytes + self.index_bytes + self.fragment_bytes
    }
}

#[derive(Serialize)]
struct Meta {
    format: u32,
    tokenizer: u32,
    /// Changes with the content: appended to shard URLs so caches never mix builds.
    build: String,
    shards: usize,
    scale: f32,
    expansion_weight: f32,
    max_expansions: usize,
    min_prefix: usize,
    excerpt_chars: usize,
    lead_chars: usize,
    max_word_chars: usize,
    /// Number of notes (ids are 0..n, in source order).
    n: usize,
    /// Every tag, lowercased, once.
    tags: Vec<String>,
    /// Per note: indexes into `tags` (for `tag:` filters without fetching fragments).
    doc_tags: Vec<Vec<usize>>,
    /// The prefix word lists by first code point, when small enough to inline (else `w/C.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    words: Option<BTreeMap<u32, serde_json::Value>>,
}

/// 32-bit FNV-1a over the term's UTF-8 bytes: picks the shard (search.js computes the same).
pub(crate) fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// Note ids follow source order: search.js breaks score ties by id, `kb search` by source.
pub(crate) fn by_source(docs: &[SearchDoc]) -> Vec<&SearchDoc> {
    let mut sorted: Vec<&SearchDoc> = docs.iter().collect();
    sorted.sort_by(|a, b| a.source.cmp(&b.source));
    sorted
}

/// Bring `index` up to `docs` (the whole knowledge base, as [`SearchIndex::update`]) and write
/// the whole browser index for them through `sink`, each note encoded once for both: what
/// `kb serve` does when a page asks for the browser index (`kb build` goes through
/// [`super::index_site`], which also caches).
pub(crate) fn write_client_index(
    docs: &[SearchDoc],
    index: &mut SearchIndex,
    stamp: &str,
    sink: &dyn Sink,
) -> anyhow::Result<ClientStats> {
    let docs = by_source(docs);
    let encoded = EncodedDoc::all(&docs);
    index.update_encoded(&docs, &encoded, stamp)?;
    let fragments = write_fragments(&encoded, sink)?;
    write_index_files(&docs, index, fragments, sink)
}

/// What [`write_fragments`] wrote.
#[derive(Debug, Clone)]
pub(crate) struct Fragments {
    bytes: usize,
    /// Hash of every fragment's hash, part of the build id.
    hash: blake3::Hash,
}

/// Write `f/N.json` for every note: note N's [`EncodedDoc`] JSON (`encoded` in [`by_source`]
/// order). They depend on the notes alone, so `kb build` writes them while tantivy indexes.
pub(crate) fn write_fragments(
    encoded: &[EncodedDoc],
    sink: &dyn Sink,
) -> anyhow::Result<Fragments> {
    let mut hash = blake3::Hasher::new();
    let mut bytes = 0;
    for doc in encoded {
        hash.update(doc.hash.as_bytes());
        bytes += doc.json.len();
    }
    encoded
        .par_iter()
        .enumerate()
        .try_for_each(|(i, doc)| sink.write(&fragment_path(i), doc.json.as_bytes()))?;
    Ok(Fragments {
        bytes,
        hash: hash.finalize(),
    })
}

/// Site-relative path of note `i`'s fragment.
pub(crate) fn fragment_path(i: usize) -> String {
    format!("{CLIENT_DIR}/f/{i}.json")
}

/// Write the postings shards, word lists and meta.json, the postings read from `index`;
/// `fragments` were written by [`write_fragments`] for the same `docs`.
pub(crate) fn write_index_files(
    docs: &[&SearchDoc],
    index: &SearchIndex,
    fragments: Fragments,
    sink: &dyn Sink,
) -> anyhow::Result<ClientStats> {
    let start = std::time::Instant::now();
    let ids: FxHashMap<&str, u32> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.source.as_str(), i as u32))
        .collect();
    let postings = index.term_scores(&|source| ids.get(source).copied())?;
    tracing::debug!(took = ?start.elapsed(), terms = postings.len(), "browser index: postings");
    let mut stats = ClientStats {
        notes: docs.len(),
        terms: postings.len(),
        ..Default::default()
    };

    // encode every term's list once, then pack terms into shards by hash (in term order)
    let encoded: Vec<(&str, String)> = postings
        .par_iter()
        .map(
            |TermScores {
                 term: t,
                 notes: list,
                 ..
             }| {
                let mut s = String::with_capacity(list.len() * 6);
                let mut num = itoa::Buffer::new();
                let mut prev = 0u32;
                for (i, &(d, score)) in list.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    let q = ((score * SCORE_SCALE).round() as u32).max(1);
                    s.push_str(num.format(d - prev));
                    s.push(',');
                    s.push_str(num.format(q));
                    prev = d;
                }
                (t.as_str(), s)
            },
        )
        .collect();
    // bytes of `"term":[list],` in a shard (before JSON escaping of the term)
    let entry_len = |i: usize| encoded[i].0.len() + encoded[i].1.len() + 6;
    let total: usize = (0..encoded.len()).map(entry_len).sum();
    let shards = (total / SHARD_TARGET_BYTES + 1).next_power_of_two();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); shards];
    for (i, (t, _)) in encoded.iter().enumerate() {
        members[(fnv1a(t) as usize) % shards].push(i);
    }
    // each shard made, hashed and written on its own: (its size, its hash)
    let written: Vec<(usize, blake3::Hash)> = members
        .par_iter()
        .enumerate()
        .map(|(k, terms)| -> anyhow::Result<(usize, blake3::Hash)> {
            let len: usize = terms.iter().map(|&i| entry_len(i)).sum();
            let mut body = String::with_capacity(len + 2);
            body.push('{');
            for (n, &i) in terms.iter().enumerate() {
                let (t, s) = &encoded[i];
                if n > 0 {
                    body.push(',');
                }
                body.push_str(&serde_json::to_string(t)?);
                body.push_str(":[");
                body.push_str(s);
                body.push(']');
            }
            body.push('}');
            sink.write(&format!("{CLIENT_DIR}/i/{k}.json"), body.as_bytes())?;
            Ok((body.len(), blake3::hash(body.as_bytes())))
        })
        .collect::<anyhow::Result<_>>()?;
    let mut build = blake3::Hasher::new();
    for (len, hash) in &written {
        build.update(hash.as_bytes());
        stats.index_bytes += len;
    }
    stats.shards = shards;

    // words: non-CJK terms and their note frequency, for prefix expansion, one file per first
    // character (a prefix query fetches only its letter's list)
    let mut words: BTreeMap<u32, Vec<serde_json::Value>> = BTreeMap::new();
    for TermScores { term, freq, .. } in &postings {
        if let Some(first) = term.chars().next().filter(|_| is_word_term(term)) {
            let w = words.entry(first as u32).or_default();
            w.push(term.as_str().into());
            w.push((*freq).into());
        }
    }
    let word_files: Vec<(u32, Vec<u8>)> = words
        .iter()
        .map(|(first, list)| Ok((*first, serde_json::to_vec(list)?)))
        .collect::<anyhow::Result<_>>()?;
    let words_bytes: usize = word_files.iter().map(|(_, json)| json.len()).sum();
    for (_, json) in &word_files {
        build.update(json);
    }
    let inline_words = words_bytes <= INLINE_WORDS_BYTES;
    if !inline_words {
        for (first, json) in &word_files {
            sink.write(&format!("{CLIENT_DIR}/w/{first}.json"), json)?;
        }
    }

    tracing::debug!(took = ?start.elapsed(), "browser index: shards and words written");
    build.update(fragments.hash.as_bytes());
    stats.fragment_bytes = fragments.bytes;
    let mut tags: Vec<String> = docs
        .iter()
        .flat_map(|d| d.tags.iter().map(|t| t.to_lowercase()))
        .collect();
    tags.sort();
    tags.dedup();
    let doc_tags: Vec<Vec<usize>> = docs
        .iter()
        .map(|d| {
            d.tags
                .iter()
                .filter_map(|t| tags.binary_search(&t.to_lowercase()).ok())
                .collect()
        })
        .collect();
    let meta = Meta {
        format: CLIENT_FORMAT,
        tokenizer: TOKENIZER_VERSION,
        build: build.finalize().to_hex()[..16].to_string(),
        shards,
        scale: SCORE_SCALE,
        expansion_weight: EXPANSION_WEIGHT,
        max_expansions: MAX_EXPANSIONS,
        min_prefix: MIN_PREFIX_CHARS,
        excerpt_chars: EXCERPT_CHARS,
        lead_chars: LEAD_CHARS,
        max_word_chars: MAX_WORD_CHARS,
        n: docs.len(),
        tags,
        doc_tags,
        words: inline_words.then(|| {
            words
                .into_iter()
                .map(|(first, list)| (first, serde_json::Value::Array(list)))
                .collect()
        }),
    };
    let meta_json = serde_json::to_vec(&meta)?;
    sink.write(&format!("{CLIENT_DIR}/meta.json"), &meta_json)?;
    stats.meta_bytes = meta_json.len();
    stats.words_bytes = if inline_words { 0 } else { words_bytes };
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::sink::MemSink;
    use crate::search::doc::SearchSection;

    fn doc(source: &str, title: &str, text: &str) -> SearchDoc {
        SearchDoc {
            url: format!("/{source}/"),
            title: title.into(),
            source: source.into(),
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

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(""), 0x811c9dc5);
        assert_eq!(fnv1a("a"), 0xe40c292c);
        assert_eq!(fnv1a("foobar"), 0xbf9cf968);
    }

    #[test]
    fn title_matches_score_higher_than_body_matches() {
        let docs = [
            doc("a", "共享内存", "别的内容"),
            doc("b", "别的标题", "这里提到共享内存"),
        ];
        let p = indexed(&docs)
            .term_scores(&|s| Some(u32::from(s == "b")))
            .unwrap();
        let list = &p.iter().find(|t| t.term == "共享").unwrap().notes;
        assert_eq!(list.len(), 2);
        assert!(list[0].1 > list[1].1, "{list:?}");
    }

    #[test]
    fn browser_scores_are_the_scores_kb_search_gives_a_one_term_query() {
        let mut docs = vec![
            doc("a", "共享内存", "shmget 申请共享内存段"),
            doc("b", "内存泄漏", "共享库占用的内存，内存映射"),
            doc("c", "别的标题", "这里只提到内存"),
        ];
        let mut index = indexed(&docs);
        // an edit leaves a deleted copy of `b` in the segments: both sides count it the same way
        docs[1] = doc("b", "内存泄漏", "共享库占用的内存");
        docs.remove(2);
        index.update(&docs, "edit").unwrap();
        let ids = |s: &str| docs.iter().position(|d| d.source == s).map(|i| i as u32);
        let scores = index.term_scores(&ids).unwrap();
        // one-character terms too: search.js gets theirs derived from the terms that start with them
        for term in ["内存", "共享", "内", "存", "享", "映"] {
            // (`映` is only in the deleted copy of `b`: no postings, no results)
            let browser = scores
                .iter()
                .find(|t| t.term == term)
                .map(|t| t.notes.clone())
                .unwrap_or_default();
            let cli: Vec<(u32, f32)> = index
                .search_ranked(term, 10)
                .unwrap()
                .into_iter()
                .map(|(score, source)| (ids(&source).unwrap(), score))
                .collect();
            assert_eq!(browser.len(), cli.len(), "{term}: {browser:?} vs {cli:?}");
            for (note, score) in &cli {
                let (_, b) = browser.iter().find(|(n, _)| n == note).unwrap();
                assert!(
                    (b - score).abs() < 1e-4,
                    "{term}, note {note}: {b} vs {score}"
                );
            }
        }
        // the deleted note `c` is nowhere, though its terms are still in a segment
        assert!(scores
            .iter()
            .all(|t| t.notes.iter().all(|(n, _)| (*n as usize) < docs.len())));
    }

    #[test]
    fn large_word_lists_get_a_file_per_first_letter_instead_of_meta() {
        let sink = MemSink::default();
        let text: String = (0..6000).map(|i| format!("word{i} ")).collect();
        let docs = [doc("a", "many words", &text)];
        let stats = write_client_index(&docs, &mut indexed(&docs), "test", &sink).unwrap();
        assert!(stats.words_bytes > INLINE_WORDS_BYTES, "{stats:?}");
        let meta: serde_json::Value =
            serde_json::from_slice(&sink.get("_kb/search/meta.json").unwrap()).unwrap();
        assert!(meta.get("words").is_none());
        let words: serde_json::Value =
            serde_json::from_slice(&sink.get("_kb/search/w/119.json").unwrap()).unwrap();
        assert!(words.as_array().unwrap().contains(&"word5999".into()));
    }

    #[test]
    fn writes_meta_words_shards_and_fragments() {
        let sink = MemSink::default();
        let docs = [doc("a", "Go GC", "GODEBUG=gctrace=1 打开日志")];
        let stats = write_client_index(&docs, &mut indexed(&docs), "test", &sink).unwrap();
        assert_eq!(stats.shards, 1);
        let meta: serde_json::Value =
            serde_json::from_slice(&sink.get("_kb/search/meta.json").unwrap()).unwrap();
        // a small site's word lists ride in meta.json ('g' = 103)
        let words = meta["words"]["103"].as_array().unwrap();
        assert!(words.contains(&"gctrace".into()), "{meta}");
        assert!(sink.get("_kb/search/w/103.json").is_none());
        let shard = String::from_utf8(sink.get("_kb/search/i/0.json").unwrap().to_vec()).unwrap();
        assert!(shard.contains("\"日志\":[0,"), "{shard}");
        assert!(sink.get("_kb/search/f/0.json").is_some());
        assert!(sink.get("_kb/search/meta.json").is_some());
    }
}
