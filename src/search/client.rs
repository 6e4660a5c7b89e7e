//! The browser's search index: the same tokens and the same BM25 scores as the tantivy index,
//! precomputed per (term, note) so search.js only intersects posting lists and adds numbers.
//!
//! Files, all under `_kb/search/`:
//! - `meta.json`: format numbers, the shard count, the note count and each note's tags.
//! - `w/C.json`: the non-CJK terms starting with the character whose code point is C, with
//!   their note frequency, sorted, for prefix expansion.
//! - `i/K.json`: shard K of the postings, `{term: [note, score, note, score, ...]}`, notes
//!   delta-encoded, scores times [`SCORE_SCALE`]; a term lives in shard `fnv1a(term) % shards`.
//! - `f/N.json`: note N's URL, title, tags, date and sections `[[anchor, heading, text, code]]`,
//!   fetched only for the results shown, to cut excerpts (like Pagefind's fragments).
//!
//! Small sites get one shard; shards are sized to about [`SHARD_TARGET_BYTES`] so a query
//! downloads a few of them, not the whole index.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tantivy::fieldnorm::FieldNormReader;

use super::doc::SearchDoc;
use super::excerpt::{EXCERPT_CHARS, LEAD_CHARS};
use super::index::{ScoredField, EXPANSION_WEIGHT, MAX_EXPANSIONS};
use super::query::MIN_PREFIX_CHARS;
use super::tokenize::{index_tokens, is_cjk, MAX_WORD_CHARS, TOKENIZER_VERSION};
use crate::output::sink::Sink;

/// Format of the files; search.js refuses other versions.
pub(crate) const CLIENT_FORMAT: u32 = 2;
/// Scores are stored as integers: `round(score * SCORE_SCALE)`.
pub(crate) const SCORE_SCALE: f32 = 100.0;
/// Aim for shards of about this many bytes.
pub(crate) const SHARD_TARGET_BYTES: usize = 96 * 1024;
/// Directory of the browser index inside the site.
pub(crate) const CLIENT_DIR: &str = "_kb/search";

const K1: f32 = 1.2;
const B: f32 = 0.75;

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
}

/// `f/N.json`: what a result needs, fetched only for the results shown.
#[derive(Serialize)]
struct Fragment<'a> {
    u: &'a str,
    t: &'a str,
    g: &'a [String],
    d: Option<&'a str>,
    /// `[anchor, heading, text, code]` per section.
    s: Vec<[&'a str; 4]>,
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

/// tantivy stores field lengths in one byte (lossy above 40 tokens); use what it would see.
fn quantized(len: u32) -> f32 {
    FieldNormReader::id_to_fieldnorm(FieldNormReader::fieldnorm_to_id(len)) as f32
}

/// Per-note, per-term score, summed over fields like the tantivy query does.
pub(crate) fn postings(docs: &[SearchDoc]) -> BTreeMap<String, Vec<(u32, f32)>> {
    let n = docs.len();
    // per field: per doc (len, term -> tf)
    let mut per_field: Vec<Vec<(u32, HashMap<String, u32>)>> = Vec::new();
    for f in ScoredField::ALL {
        let rows: Vec<(u32, HashMap<String, u32>)> = docs
            .iter()
            .map(|d| {
                let mut tf: HashMap<String, u32> = HashMap::new();
                let mut len = 0u32;
                for v in f.values(d) {
                    for t in index_tokens(v) {
                        len += 1;
                        *tf.entry(t.text).or_default() += 1;
                    }
                }
                (len, tf)
            })
            .collect();
        per_field.push(rows);
    }
    let mut out: BTreeMap<String, Vec<(u32, f32)>> = BTreeMap::new();
    for (fi, f) in ScoredField::ALL.iter().enumerate() {
        let rows = &per_field[fi];
        let total: u64 = rows.iter().map(|(l, _)| u64::from(*l)).sum();
        let avg = if n == 0 {
            1.0
        } else {
            (total as f32 / n as f32).max(f32::MIN_POSITIVE)
        };
        let mut df: HashMap<&str, u32> = HashMap::new();
        for (_, tf) in rows {
            for t in tf.keys() {
                *df.entry(t.as_str()).or_default() += 1;
            }
        }
        for (doc, (len, tf)) in rows.iter().enumerate() {
            let norm = K1 * (1.0 - B + B * quantized(*len) / avg);
            for (t, &count) in tf {
                let d = df[t.as_str()] as f32;
                let idf = (1.0 + (n as f32 - d + 0.5) / (d + 0.5)).ln();
                let tf = count as f32;
                let s = f.boost() * idf * (1.0 + K1) * tf / (tf + norm);
                let list = out.entry(t.clone()).or_default();
                match list.last_mut() {
                    Some((last, acc)) if *last == doc as u32 => *acc += s,
                    _ => list.push((doc as u32, s)),
                }
            }
        }
    }
    for list in out.values_mut() {
        list.sort_by_key(|(d, _)| *d);
        // one entry per doc (a term in several fields was pushed per field when not adjacent)
        let mut merged: Vec<(u32, f32)> = Vec::with_capacity(list.len());
        for &(d, s) in list.iter() {
            match merged.last_mut() {
                Some((ld, ls)) if *ld == d => *ls += s,
                _ => merged.push((d, s)),
            }
        }
        *list = merged;
    }
    out
}

fn is_word_term(t: &str) -> bool {
    t.chars().next().is_some_and(|c| !is_cjk(c))
}

/// Write the browser index for `docs` through `sink`.
pub(crate) fn write_client_index(
    docs: &[SearchDoc],
    sink: &dyn Sink,
) -> anyhow::Result<ClientStats> {
    // note ids follow source order: search.js breaks score ties by id, the index by source
    let mut sorted: Vec<&SearchDoc> = docs.iter().collect();
    sorted.sort_by(|a, b| a.source.cmp(&b.source));
    let docs: Vec<SearchDoc> = sorted.into_iter().cloned().collect();
    let docs = docs.as_slice();
    let postings = postings(docs);
    let mut stats = ClientStats {
        notes: docs.len(),
        terms: postings.len(),
        ..Default::default()
    };

    // encode every term's list once, then pack terms into shards by hash
    let encoded: Vec<(&str, String)> = postings
        .iter()
        .map(|(t, list)| {
            let mut s = String::with_capacity(list.len() * 6);
            let mut prev = 0u32;
            for (i, &(d, score)) in list.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                let q = ((score * SCORE_SCALE).round() as u32).max(1);
                s.push_str(&format!("{},{}", d - prev, q));
                prev = d;
            }
            (t.as_str(), s)
        })
        .collect();
    let total: usize = encoded.iter().map(|(t, s)| t.len() + s.len() + 6).sum();
    let shards = (total / SHARD_TARGET_BYTES + 1).next_power_of_two();
    let mut bodies: Vec<String> = vec![String::from("{"); shards];
    for (t, s) in &encoded {
        let body = &mut bodies[(fnv1a(t) as usize) % shards];
        if body.len() > 1 {
            body.push(',');
        }
        body.push_str(&serde_json::to_string(t)?);
        body.push_str(":[");
        body.push_str(s);
        body.push(']');
    }

    let mut build = blake3::Hasher::new();
    for (k, mut body) in bodies.into_iter().enumerate() {
        body.push('}');
        build.update(body.as_bytes());
        stats.index_bytes += body.len();
        sink.write(&format!("{CLIENT_DIR}/i/{k}.json"), body.as_bytes())?;
    }
    stats.shards = shards;

    // words: non-CJK terms and their note frequency, for prefix expansion, one file per first
    // character (a prefix query fetches only its letter's list)
    let mut words: BTreeMap<u32, Vec<serde_json::Value>> = BTreeMap::new();
    for (t, list) in &postings {
        if let Some(first) = t.chars().next().filter(|_| is_word_term(t)) {
            let w = words.entry(first as u32).or_default();
            w.push(t.as_str().into());
            w.push(list.len().into());
        }
    }
    let mut words_bytes = 0;
    for (first, list) in &words {
        let json = serde_json::to_vec(list)?;
        build.update(&json);
        words_bytes += json.len();
        sink.write(&format!("{CLIENT_DIR}/w/{first}.json"), &json)?;
    }

    for (i, d) in docs.iter().enumerate() {
        let frag = Fragment {
            u: &d.url,
            t: &d.title,
            g: &d.tags,
            d: d.date.as_deref(),
            s: d.sections
                .iter()
                .map(|s| {
                    [
                        s.anchor.as_str(),
                        s.heading.as_str(),
                        s.text.as_str(),
                        s.code.as_str(),
                    ]
                })
                .collect(),
        };
        let json = serde_json::to_vec(&frag)?;
        build.update(&json);
        stats.fragment_bytes += json.len();
        sink.write(&format!("{CLIENT_DIR}/f/{i}.json"), &json)?;
    }

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
    };
    let meta_json = serde_json::to_vec(&meta)?;
    sink.write(&format!("{CLIENT_DIR}/meta.json"), &meta_json)?;
    stats.meta_bytes = meta_json.len();
    stats.words_bytes = words_bytes;
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
        let p = postings(&docs);
        let list = &p["共享"];
        assert_eq!(list.len(), 2);
        assert!(list[0].1 > list[1].1, "{list:?}");
    }

    #[test]
    fn writes_meta_words_shards_and_fragments() {
        let sink = MemSink::default();
        let docs = [doc("a", "Go GC", "GODEBUG=gctrace=1 打开日志")];
        let stats = write_client_index(&docs, &sink).unwrap();
        assert_eq!(stats.shards, 1);
        let words: serde_json::Value =
            serde_json::from_slice(&sink.get("_kb/search/w/103.json").unwrap()).unwrap();
        assert!(words.as_array().unwrap().contains(&"gctrace".into()));
        let shard = String::from_utf8(sink.get("_kb/search/i/0.json").unwrap().to_vec()).unwrap();
        assert!(shard.contains("\"日志\":[0,"), "{shard}");
        assert!(sink.get("_kb/search/f/0.json").is_some());
        assert!(sink.get("_kb/search/meta.json").is_some());
    }
}
