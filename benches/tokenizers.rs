//! Which Chinese tokenizing finds the right note: kb's CJK bigrams (plus each run's last
//! character) against a dictionary segmenter (jieba), measured on the query set of `tests/search-queries.toml`.
//!
//! `cargo bench --bench tokenizers --features bench-jieba [-- --root DIR]`
//!
//! Every variant indexes the same documents (this repository's notes, rendered by the real
//! pipeline) into its own in-memory tantivy index with kb's fields and boosts, and answers every
//! query with the same simple ranker: all query tokens required (BM25 summed over fields),
//! falling back to any token when nothing has them all. Only the tokenizing differs, so the
//! figures compare segmentation, not kb's full query language: `partial` queries (a word still
//! being typed, which kb answers with prefix expansion) and quotes (phrases) get no special
//! treatment here. Non-Chinese text goes through kb's word rules in every variant (lowercase,
//! stemming, identifier parts), so the variants differ only on Chinese.

use std::path::{Path, PathBuf};

use jieba_rs::Jieba;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{PreTokenizedString, Token};
use tantivy::{Index, TantivyDocument, Term};

use kb::search::{analyze, analyze_query, is_cjk, SearchDoc};

#[path = "../tests/support/query_set.rs"]
mod query_set;
use query_set::Recall;

/// Field name and boost, as in src/search/index.rs (`ScoredField`).
const FIELDS: [(&str, f32); 5] = [
    ("title", 3.0),
    ("headings", 2.0),
    ("body", 1.0),
    ("code", 0.6),
    ("tags", 2.0),
];

/// How a variant turns text into index terms and a query into query terms.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    /// kb: every CJK character and every adjacent pair; queries as pairs.
    Bigrams,
    /// jieba's search mode (words plus the dictionary words inside them) for the index, its
    /// precise mode for queries.
    JiebaSearch,
    /// jieba's precise mode on both sides.
    JiebaPrecise,
    /// Both: bigrams and jieba search-mode words in the index; a query requires its bigrams and
    /// its jieba words add to the score where they match.
    Combined,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Bigrams => "kb: CJK bigrams + run-final chars",
            Variant::JiebaSearch => "jieba: search mode (index) / precise (query)",
            Variant::JiebaPrecise => "jieba: precise mode",
            Variant::Combined => "bigrams + jieba words combined",
        }
    }
}

/// Split text into runs of CJK and of everything else.
fn runs(text: &str) -> Vec<(bool, &str)> {
    let mut out: Vec<(bool, &str)> = Vec::new();
    let mut start = 0;
    let mut cur: Option<bool> = None;
    for (i, c) in text.char_indices() {
        let cjk = is_cjk(c);
        if cur.is_some_and(|k| k != cjk) {
            out.push((cur.unwrap_or(false), &text[start..i]));
            start = i;
        }
        cur = Some(cjk);
    }
    if let Some(k) = cur {
        out.push((k, &text[start..]));
    }
    out
}

struct Tokenizers {
    jieba: Jieba,
}

impl Tokenizers {
    /// Index terms of `text` for `v`.
    fn index(&self, v: Variant, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (cjk, run) in runs(text) {
            if !cjk {
                out.extend(analyze(run).into_iter().map(|(t, _)| t));
                continue;
            }
            match v {
                Variant::Bigrams => out.extend(analyze(run).into_iter().map(|(t, _)| t)),
                Variant::JiebaSearch => out.extend(
                    self.jieba
                        .cut_for_search(run, true)
                        .into_iter()
                        .map(|t| t.word.to_string()),
                ),
                Variant::JiebaPrecise => out.extend(
                    self.jieba
                        .cut(run, true)
                        .into_iter()
                        .map(|t| t.word.to_string()),
                ),
                Variant::Combined => {
                    out.extend(analyze(run).into_iter().map(|(t, _)| t));
                    out.extend(
                        self.jieba
                            .cut_for_search(run, true)
                            .into_iter()
                            .map(|t| t.word.to_string()),
                    );
                }
            }
        }
        out
    }

    /// Query terms for `v`: (required, optional).
    fn query(&self, v: Variant, q: &str) -> (Vec<String>, Vec<String>) {
        let q = q.replace('"', " ");
        let q = q.trim();
        let kb_terms: Vec<String> = q
            .split_whitespace()
            .flat_map(|w| analyze_query(w, false))
            .map(|(t, _)| t)
            .collect();
        let mut jieba_terms = Vec::new();
        let mut jieba_words = Vec::new();
        for (cjk, run) in runs(q) {
            if cjk {
                let words: Vec<String> = self
                    .jieba
                    .cut(run, true)
                    .into_iter()
                    .map(|t| t.word.to_string())
                    .collect();
                jieba_words.extend(words.iter().cloned());
                jieba_terms.extend(words);
            } else {
                jieba_terms.extend(
                    run.split_whitespace()
                        .flat_map(|w| analyze_query(w, false))
                        .map(|(t, _)| t),
                );
            }
        }
        match v {
            Variant::Bigrams => (kb_terms, Vec::new()),
            Variant::JiebaSearch | Variant::JiebaPrecise => (jieba_terms, Vec::new()),
            Variant::Combined => (kb_terms, jieba_words),
        }
    }
}

/// A tantivy index of `docs` tokenized by `v`.
struct VariantIndex {
    index: Index,
    fields: Vec<(Field, f32)>,
    source: Field,
}

impl VariantIndex {
    fn build(tk: &Tokenizers, v: Variant, docs: &[SearchDoc]) -> anyhow::Result<VariantIndex> {
        let mut b = Schema::builder();
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_index_option(IndexRecordOption::WithFreqs),
        );
        let fields: Vec<(Field, f32)> = FIELDS
            .iter()
            .map(|(name, boost)| (b.add_text_field(name, opts.clone()), *boost))
            .collect();
        let source = b.add_text_field("source", STRING | STORED);
        let index = Index::create_in_ram(b.build());
        let mut w = index.writer_with_num_threads(1, 50_000_000)?;
        for d in docs {
            let mut doc = TantivyDocument::default();
            let texts: [Vec<&str>; 5] = [
                vec![d.title.as_str()],
                d.sections.iter().map(|s| s.heading.as_str()).collect(),
                d.sections.iter().map(|s| s.text.as_str()).collect(),
                d.sections.iter().map(|s| s.code.as_str()).collect(),
                d.tags.iter().map(String::as_str).collect(),
            ];
            for ((field, _), values) in fields.iter().zip(texts) {
                for text in values.into_iter().filter(|t| !t.is_empty()) {
                    let tokens: Vec<Token> = tk
                        .index(v, text)
                        .into_iter()
                        .enumerate()
                        .map(|(i, t)| Token {
                            offset_from: 0,
                            offset_to: 0,
                            position: i,
                            text: t,
                            position_length: 1,
                        })
                        .collect();
                    doc.add_pre_tokenized_text(
                        *field,
                        PreTokenizedString {
                            text: text.to_string(),
                            tokens,
                        },
                    );
                }
            }
            doc.add_text(source, &d.source);
            w.add_document(doc)?;
        }
        w.commit()?;
        Ok(VariantIndex {
            index,
            fields,
            source,
        })
    }

    /// One term's BM25 over every field, boosted like kb's fields.
    fn term_query(&self, t: &str) -> Box<dyn Query> {
        Box::new(BooleanQuery::new(
            self.fields
                .iter()
                .map(|&(f, boost)| -> (Occur, Box<dyn Query>) {
                    (
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(TermQuery::new(
                                Term::from_field_text(f, t),
                                IndexRecordOption::WithFreqs,
                            )),
                            boost,
                        )),
                    )
                })
                .collect(),
        ))
    }

    /// Top sources: every `required` term present (else any), `optional` terms add score.
    fn rank(&self, required: &[String], optional: &[String]) -> anyhow::Result<Vec<String>> {
        self.ranked(required, optional, &[Occur::Must, Occur::Should], 10)
    }

    /// Sources of up to `limit` notes holding every `required` term (no fallback).
    fn matching_all(&self, required: &[String], limit: usize) -> anyhow::Result<Vec<String>> {
        self.ranked(required, &[], &[Occur::Must], limit)
    }

    fn ranked(
        &self,
        required: &[String],
        optional: &[String],
        modes: &[Occur],
        limit: usize,
    ) -> anyhow::Result<Vec<String>> {
        let searcher = self.index.reader()?.searcher();
        for &occur in modes {
            let clauses: Vec<(Occur, Box<dyn Query>)> = required
                .iter()
                .map(|t| (occur, self.term_query(t)))
                .chain(optional.iter().map(|t| (Occur::Should, self.term_query(t))))
                .collect();
            if clauses.is_empty() {
                return Ok(Vec::new());
            }
            let top = searcher.search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(limit).order_by_score(),
            )?;
            if top.is_empty() {
                continue;
            }
            let mut out = Vec::new();
            for (score, addr) in top {
                let doc: TantivyDocument = searcher.doc(addr)?;
                let source = doc
                    .get_first(self.source)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string();
                out.push((score, source));
            }
            out.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            return Ok(out.into_iter().map(|(_, s)| s).collect());
        }
        Ok(Vec::new())
    }
}

/// The search documents of the knowledge base at `root`, as `kb build` makes them.
fn load_docs(root: &Path) -> anyhow::Result<Vec<SearchDoc>> {
    let config = kb::config::Config::load(root)?;
    let site = kb::site::Site::load(config, Default::default())?;
    let hl = kb::highlight::Highlighter::default();
    Ok(site.render(&hl).into_iter().map(|r| r.search).collect())
}

/// Chinese strings of 2 to 4 characters cut from the notes' prose at pseudo-random places
/// (fixed seed): `(string, source of the note it was cut from)`.
fn sample_substrings(docs: &[SearchDoc], n: usize) -> Vec<(String, String)> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let texts: Vec<(Vec<char>, &str)> = docs
        .iter()
        .flat_map(|d| {
            d.sections
                .iter()
                .map(move |s| (s.text.chars().collect::<Vec<char>>(), d.source.as_str()))
        })
        .filter(|(c, _)| c.len() > 8)
        .collect();
    let mut out = Vec::new();
    let mut tries = 0;
    while out.len() < n && tries < n * 100 && !texts.is_empty() {
        tries += 1;
        let (chars, source) = &texts[(next() % texts.len() as u64) as usize];
        let len = 2 + (next() % 3) as usize;
        if chars.len() <= len {
            continue;
        }
        let at = (next() % (chars.len() - len) as u64) as usize;
        let cut = &chars[at..at + len];
        if cut.iter().all(|&c| is_cjk(c)) {
            out.push((cut.iter().collect(), source.to_string()));
        }
    }
    out
}

/// Words (2+ CJK characters, as jieba segments the note) and two-word phrases taken from the
/// notes' prose (fixed seed): what a reader remembers seeing, cut where a segmenter cuts.
fn sample_words(jieba: &Jieba, docs: &[SearchDoc], n: usize) -> Vec<(String, String)> {
    let mut candidates: Vec<(String, String)> = Vec::new();
    for d in docs {
        for s in &d.sections {
            for (cjk, run) in runs(&s.text) {
                if !cjk {
                    continue;
                }
                let words: Vec<&str> = jieba.cut(run, true).into_iter().map(|t| t.word).collect();
                for (i, w) in words.iter().enumerate() {
                    if w.chars().count() >= 2 {
                        candidates.push((w.to_string(), d.source.clone()));
                    }
                    if let Some(next) = words.get(i + 1) {
                        candidates.push((format!("{w}{next}"), d.source.clone()));
                    }
                }
            }
        }
    }
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = Vec::new();
    for _ in 0..n.min(candidates.len()) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push(candidates[(state % candidates.len() as u64) as usize].clone());
    }
    out
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let root = args
        .iter()
        .position(|a| a == "--root")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let docs = load_docs(&root)?;
    let (cases, _) = query_set::load(&root);
    println!(
        "{} notes, {} queries from tests/search-queries.toml (same ranker for every variant)",
        docs.len(),
        cases.len()
    );
    let tk = Tokenizers {
        jieba: Jieba::new(),
    };
    let samples = sample_substrings(&docs, 1000);
    let words = sample_words(&tk.jieba, &docs, 1000);
    for v in [
        Variant::Bigrams,
        Variant::JiebaSearch,
        Variant::JiebaPrecise,
        Variant::Combined,
    ] {
        let idx = VariantIndex::build(&tk, v, &docs)?;
        let mut recall = Recall::default();
        for c in &cases {
            let (required, optional) = tk.query(v, &c.q);
            recall.add(c, &idx.rank(&required, &optional)?);
        }
        let kinds: Vec<String> = recall
            .by_kind
            .iter()
            .map(|(k, (n, a1, a3))| format!("{k} {a1}/{a3}/{n}"))
            .collect();
        println!(
            "{:<46} recall@1 {:.3}  recall@3 {:.3}   by kind (@1/@3/n): {}",
            v.name(),
            recall.at1_rate(),
            recall.at3_rate(),
            kinds.join(", ")
        );
        for m in &recall.misses {
            println!("  {m}");
        }
        // a string the reader saw in a note: does the note hold every query term?
        for (what, set) in [
            ("Chinese strings cut at random (2-4 characters)", &samples),
            ("jieba words and two-word phrases", &words),
        ] {
            let mut found = 0;
            let mut lost = Vec::new();
            for (text, source) in set {
                let (required, _) = tk.query(v, text);
                if idx
                    .matching_all(&required, 1000)?
                    .iter()
                    .any(|s| s == source)
                {
                    found += 1;
                } else if lost.len() < 5 {
                    lost.push(format!("{text:?} as {required:?}"));
                }
            }
            println!(
                "    {} {what} from the notes: {found} find their note with every query term ({:.1}%){}",
                set.len(),
                100.0 * found as f64 / set.len().max(1) as f64,
                if lost.is_empty() {
                    String::new()
                } else {
                    format!("; not found e.g. {}", lost.join(", "))
                }
            );
        }
    }
    Ok(())
}
