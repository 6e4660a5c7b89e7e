//! [`SearchIndex`]: the tantivy index of every note, kept in the cache dir and updated in place.
//!
//! One tantivy document per note: `title`, `headings`, `body`, `code` and `tags` are scored
//! (BM25, title and headings boosted; a typed prefix expands over their term dictionaries),
//! `tag` is the raw tag filter, `source` the key for incremental updates (and a fast field that
//! numbers the browser index's notes) and `doc` the note's [`EncodedDoc`] JSON (the browser's
//! fragment) for excerpts.
//! [`SearchIndex::term_scores`] reads every term's scores back out of the segments for the
//! browser index, so notes are tokenized once per build. A manifest (`kb-manifest.json`) maps each source path to
//! the content hash of its SearchDoc; an update deletes and re-adds only the notes whose hash
//! changed, and the commit payload holds the manifest's own hash, so a manifest that does not
//! belong to the committed index is detected and the index rebuilt.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::postings::Postings;
use tantivy::query::Bm25Weight;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, Occur,
    PhrasePrefixQuery, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, STORED, STRING,
};
use tantivy::{
    DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term, TERMINATED,
};

use super::doc::{EncodedDoc, SearchDoc};
use super::excerpt::{locate, Matcher};
use super::query::{parse, Clause, ParsedQuery};
use super::tokenize::{
    is_cjk, is_lone_cjk, is_word_term, KbTokenizer, TOKENIZER_NAME, TOKENIZER_VERSION,
};

/// Bumped when the schema or scoring fields change; with [`TOKENIZER_VERSION`] it decides
/// whether a saved index can be reused.
pub(crate) const SCHEMA_VERSION: u32 = 4;
const MANIFEST_FILE: &str = "kb-manifest.json";
/// The field holding a note's source path.
const SOURCE_FIELD: &str = "source";

/// A scored field and its boost. search.js receives scores already multiplied by these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScoredField {
    Title,
    Headings,
    Body,
    Code,
    Tags,
}

impl ScoredField {
    pub const ALL: [ScoredField; 5] = [
        ScoredField::Title,
        ScoredField::Headings,
        ScoredField::Body,
        ScoredField::Code,
        ScoredField::Tags,
    ];

    fn name(self) -> &'static str {
        match self {
            ScoredField::Title => "title",
            ScoredField::Headings => "headings",
            ScoredField::Body => "body",
            ScoredField::Code => "code",
            ScoredField::Tags => "tags",
        }
    }

    /// How much a match in this field counts relative to prose.
    pub fn boost(self) -> f32 {
        match self {
            ScoredField::Title => 3.0,
            ScoredField::Headings => 2.0,
            ScoredField::Body => 1.0,
            ScoredField::Code => 0.6,
            ScoredField::Tags => 2.0,
        }
    }

    /// The texts of a note that go into this field (one value each).
    pub fn values(self, doc: &SearchDoc) -> Vec<&str> {
        let nonempty = |s: &&str| !s.is_empty();
        match self {
            ScoredField::Title => vec![doc.title.as_str()],
            ScoredField::Headings => doc
                .sections
                .iter()
                .map(|s| s.heading.as_str())
                .filter(nonempty)
                .collect(),
            ScoredField::Body => doc
                .sections
                .iter()
                .map(|s| s.text.as_str())
                .filter(nonempty)
                .collect(),
            ScoredField::Code => doc
                .sections
                .iter()
                .map(|s| s.code.as_str())
                .filter(nonempty)
                .collect(),
            ScoredField::Tags => doc.tags.iter().map(String::as_str).collect(),
        }
    }
}

/// Weight of a prefix expansion relative to the word as typed: `docker` ranks notes about
/// docker above notes that only mention `dockerfile`.
pub(crate) const EXPANSION_WEIGHT: f32 = 0.5;
/// Extra hits fetched beyond the limit to order equal scores by source path.
const TIE_MARGIN: usize = 16;
/// At most this many terms a typed prefix expands to (the most frequent ones).
pub(crate) const MAX_EXPANSIONS: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Fields {
    scored: [Field; 5],
    tag: Field,
    source: Field,
    doc: Field,
}

impl Fields {
    fn scored(&self, f: ScoredField) -> Field {
        self.scored[f as usize]
    }
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = |record| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER_NAME)
                .set_index_option(record),
        )
    };
    let scored = ScoredField::ALL.map(|f| {
        let record = if f == ScoredField::Tags {
            IndexRecordOption::WithFreqs
        } else {
            IndexRecordOption::WithFreqsAndPositions
        };
        b.add_text_field(f.name(), text(record))
    });
    let tag = b.add_text_field("tag", STRING);
    let source = b.add_text_field(SOURCE_FIELD, STRING | STORED | FAST);
    let doc = b.add_text_field("doc", STORED);
    (
        b.build(),
        Fields {
            scored,
            tag,
            source,
            doc,
        },
    )
}

/// `source -> content hash`, plus the versions it was built with and the caller's freshness
/// stamp (see [`super::content_stamp`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Manifest {
    tokenizer: u32,
    schema: u32,
    stamp: String,
    docs: BTreeMap<String, String>,
}

impl Manifest {
    fn fresh() -> Manifest {
        Manifest {
            tokenizer: TOKENIZER_VERSION,
            schema: SCHEMA_VERSION,
            ..Default::default()
        }
    }

    fn compatible(&self) -> bool {
        self.tokenizer == TOKENIZER_VERSION && self.schema == SCHEMA_VERSION
    }
}

/// What an update changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpdateStats {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
    /// The saved index was unusable (missing, other version, torn manifest) and was rebuilt.
    pub rebuilt: bool,
}

impl UpdateStats {
    /// True if the update wrote anything.
    pub fn changed(&self) -> bool {
        self.added + self.updated + self.removed > 0 || self.rebuilt
    }
}

/// One term of the index and its score in every note that has it (see
/// [`SearchIndex::term_scores`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TermScores {
    pub term: String,
    /// The term's doc frequencies in every scored field and segment, summed: what prefix
    /// expansion ranks candidates by, in `kb search` and search.js alike.
    pub freq: u64,
    /// `(note, score)`, by note.
    pub notes: Vec<(u32, f32)>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub title: String,
    /// Link to the best-matching heading (`/notes/go-gc/#写屏障`), or the note.
    pub url: String,
    /// The note's URL without an anchor.
    pub note_url: String,
    /// Heading of the section the excerpt comes from (empty for the note's introduction).
    pub heading: String,
    pub score: f32,
    /// Plain-text excerpt around the match (`…` where cut).
    pub excerpt: String,
    /// The excerpt as HTML with `<mark>` around matches.
    pub excerpt_html: String,
    /// Character ranges of matches in `excerpt`.
    pub highlights: Vec<(usize, usize)>,
    pub tags: Vec<String>,
    pub date: Option<String>,
    /// Note path relative to the root.
    pub source: String,
}

/// The search index of a knowledge base: open it, feed it every note's [`SearchDoc`], query it.
/// Cheap queries (`&self`); updates need `&mut self`. `kb serve` holds one in memory.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Where the manifest lives (`None` for an in-memory index).
    dir: Option<PathBuf>,
    manifest: Manifest,
    /// The saved index could not be reused; the next update rebuilds it.
    rebuild: bool,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .field("docs", &self.manifest.docs.len())
            .finish()
    }
}

impl SearchIndex {
    /// Open the index in `dir`, creating it if missing. An index of another version, or one whose
    /// manifest does not match its last commit, is wiped and rebuilt by the next update.
    pub fn open(dir: &Path) -> anyhow::Result<SearchIndex> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("couldn't create the search index dir `{}`", dir.display()))?;
        let (schema, fields) = schema();
        let manifest_path = dir.join(MANIFEST_FILE);
        let saved: Option<Manifest> = std::fs::read(&manifest_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok());
        let existing = Index::open_in_dir(dir)
            .ok()
            .filter(|i| i.schema() == schema);
        let (index, manifest, rebuild) = match (existing, saved) {
            (Some(index), Some(m)) if m.compatible() && payload_matches(&index, &m) => {
                (index, m, false)
            }
            (existing, _) => {
                drop(existing);
                wipe_dir(dir)?;
                let index = Index::create_in_dir(dir, schema).with_context(|| {
                    format!("couldn't create a search index in `{}`", dir.display())
                })?;
                (index, Manifest::fresh(), true)
            }
        };
        SearchIndex::from_index(index, fields, Some(dir.to_path_buf()), manifest, rebuild)
    }

    /// An index that lives in memory only (tests, benchmarks).
    pub fn in_memory() -> anyhow::Result<SearchIndex> {
        let (schema, fields) = schema();
        SearchIndex::from_index(
            Index::create_in_ram(schema),
            fields,
            None,
            Manifest::fresh(),
            false,
        )
    }

    fn from_index(
        index: Index,
        fields: Fields,
        dir: Option<PathBuf>,
        manifest: Manifest,
        rebuild: bool,
    ) -> anyhow::Result<SearchIndex> {
        index
            .tokenizers()
            .register(TOKENIZER_NAME, KbTokenizer::default());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("couldn't open a reader on the search index")?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            dir,
            manifest,
            rebuild,
        })
    }

    /// Number of notes in the index.
    pub fn len(&self) -> usize {
        self.manifest.docs.len()
    }

    /// True when no note is indexed.
    pub fn is_empty(&self) -> bool {
        self.manifest.docs.is_empty()
    }

    /// The freshness stamp given to the last update (empty if none).
    pub fn stamp(&self) -> &str {
        &self.manifest.stamp
    }

    /// Make the index hold exactly `docs` (the whole knowledge base): add new notes, re-index
    /// changed ones, delete the ones that are gone. `stamp` is stored for [`SearchIndex::stamp`].
    pub fn update(&mut self, docs: &[SearchDoc], stamp: &str) -> anyhow::Result<UpdateStats> {
        let docs: Vec<&SearchDoc> = docs.iter().collect();
        self.update_encoded(&docs, &EncodedDoc::all(&docs), stamp)
    }

    /// [`SearchIndex::update`] with each doc already encoded (`encoded[i]` is `docs[i]`'s), for
    /// callers that write the encoded docs out too.
    pub(crate) fn update_encoded(
        &mut self,
        docs: &[&SearchDoc],
        encoded: &[EncodedDoc],
        stamp: &str,
    ) -> anyhow::Result<UpdateStats> {
        let mut stats = UpdateStats {
            rebuilt: self.rebuild,
            ..Default::default()
        };
        let mut next: BTreeMap<String, String> = BTreeMap::new();
        // (doc, its encoding, whether an older version of it is in the index)
        let mut changed: Vec<(&SearchDoc, &EncodedDoc, bool)> = Vec::new();
        for (&doc, enc) in docs.iter().zip(encoded) {
            match self.manifest.docs.get(&doc.source) {
                Some(old) if *old == enc.hash => stats.unchanged += 1,
                Some(_) => {
                    stats.updated += 1;
                    changed.push((doc, enc, true));
                }
                None => {
                    stats.added += 1;
                    changed.push((doc, enc, false));
                }
            }
            if next.insert(doc.source.clone(), enc.hash.clone()).is_some() {
                anyhow::bail!("two notes share the source path `{}`", doc.source);
            }
        }
        let removed: Vec<&String> = self
            .manifest
            .docs
            .keys()
            .filter(|s| !next.contains_key(*s))
            .collect();
        stats.removed = removed.len();
        if !stats.changed() && self.manifest.stamp == stamp {
            return Ok(stats);
        }

        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(2);
        let mut writer: IndexWriter<TantivyDocument> = self
            .index
            .writer_with_num_threads(threads, 40_000_000 * threads)
            .context("couldn't lock the search index for writing (is another kb building it?)")?;
        if self.rebuild {
            writer.delete_all_documents()?;
        }
        for source in &removed {
            writer.delete_term(Term::from_field_text(self.fields.source, source));
        }
        for (doc, enc, replaces) in changed {
            // a note the manifest does not list is not in the index (the commit payload vouches
            // for the manifest): no delete to queue, which every new segment would then apply
            if replaces {
                writer.delete_term(Term::from_field_text(self.fields.source, &doc.source));
            }
            writer.add_document(self.to_tantivy(doc, enc))?;
        }
        let manifest = Manifest {
            docs: next,
            stamp: stamp.to_string(),
            ..Manifest::fresh()
        };
        let manifest_json = serde_json::to_vec(&manifest)?;
        if let Some(dir) = &self.dir {
            // manifest first, then the commit whose payload vouches for it
            let path = dir.join(MANIFEST_FILE);
            std::fs::write(&path, &manifest_json)
                .with_context(|| format!("couldn't write `{}`", path.display()))?;
        }
        let mut prepared = writer
            .prepare_commit()
            .context("couldn't commit the search index")?;
        prepared.set_payload(&manifest_hash(&manifest_json));
        prepared
            .commit()
            .context("couldn't commit the search index")?;
        writer
            .wait_merging_threads()
            .context("search index merge failed")?;
        self.reader
            .reload()
            .context("couldn't reload the search index")?;
        self.manifest = manifest;
        self.rebuild = false;
        Ok(stats)
    }

    /// Every term of the scored fields with each note's score for it, as `kb search` scores
    /// the term alone (BM25 per field with tantivy's own statistics, times the field's boost,
    /// summed over fields). `note_of` numbers notes by source path; notes it does not know are
    /// left out. Sorted by term.
    ///
    /// This is how the browser index gets its postings without tokenizing every note again:
    /// the term dictionaries and posting lists are read back from the committed segments.
    pub(crate) fn term_scores(
        &self,
        note_of: &(dyn Fn(&str) -> Option<u32> + Sync),
    ) -> anyhow::Result<Vec<TermScores>> {
        let searcher = self.reader.searcher();
        let segments = searcher.segment_readers();
        let notes: Vec<Vec<u32>> = segments
            .par_iter()
            .map(|seg| notes_by_doc(seg, note_of))
            .collect::<anyhow::Result<_>>()?;
        let total_docs: u64 = segments.iter().map(|s| u64::from(s.max_doc())).sum();
        let nf = ScoredField::ALL.len();
        // per segment and field: the inverted index and the field lengths
        let mut inverted = Vec::with_capacity(segments.len());
        let mut norms = Vec::with_capacity(segments.len());
        let mut tokens = vec![0u64; nf];
        for seg in segments {
            let mut inv = Vec::with_capacity(nf);
            let mut fnr = Vec::with_capacity(nf);
            for (fi, &f) in ScoredField::ALL.iter().enumerate() {
                let field = self.fields.scored(f);
                let ii = seg.inverted_index(field)?;
                tokens[fi] += ii.total_num_tokens();
                inv.push(ii);
                fnr.push(seg.get_fieldnorms_reader(field)?);
            }
            inverted.push(inv);
            norms.push(fnr);
        }
        let avg: Vec<f32> = tokens
            .iter()
            .map(|&t| t as f32 / total_docs.max(1) as f32)
            .collect();

        // every (term, field, segment), sorted by term so each term's entries are adjacent
        let mut entries: Vec<(Box<[u8]>, u8, u32, tantivy::postings::TermInfo)> = Vec::new();
        for (si, per_field) in inverted.iter().enumerate() {
            for (fi, inv) in per_field.iter().enumerate() {
                let mut stream = inv.terms().stream()?;
                while stream.advance() {
                    entries.push((
                        stream.key().into(),
                        fi as u8,
                        si as u32,
                        stream.value().clone(),
                    ));
                }
            }
        }
        entries.par_sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
        let mut start = 0;
        for i in 1..=entries.len() {
            if i == entries.len() || entries[i].0 != entries[start].0 {
                groups.push(start..i);
                start = i;
            }
        }
        groups
            .into_par_iter()
            .filter_map(|range| {
                let group = &entries[range];
                let term = std::str::from_utf8(&group[0].0).ok()?.to_string();
                Some((term, group))
            })
            .map(|(term, group)| -> anyhow::Result<TermScores> {
                let mut df = vec![0u64; nf];
                for (_, fi, _, info) in group {
                    df[*fi as usize] += u64::from(info.doc_freq);
                }
                let weights: Vec<Bm25Weight> = ScoredField::ALL
                    .iter()
                    .enumerate()
                    .map(|(fi, f)| {
                        Bm25Weight::for_one_term_without_explain(df[fi], total_docs, avg[fi])
                            .boost_by(f.boost())
                    })
                    .collect();
                // every posting of the term, in all fields and segments
                let freq: u64 = df.iter().sum();
                let mut scored: Vec<(u32, u8, f32)> = Vec::with_capacity(freq as usize);
                for (_, fi, si, info) in group {
                    let (fi, si) = (*fi as usize, *si as usize);
                    let mut postings = inverted[si][fi]
                        .read_postings_from_terminfo(info, IndexRecordOption::WithFreqs)?;
                    let mut doc = postings.doc();
                    while doc != TERMINATED {
                        let note = notes[si][doc as usize];
                        if note != GONE {
                            let norm = norms[si][fi].fieldnorm_id(doc);
                            scored.push((
                                note,
                                fi as u8,
                                weights[fi].score(norm, postings.term_freq()),
                            ));
                        }
                        doc = postings.advance();
                    }
                }
                // per note, fields in order (as a query sums them); each (field, segment) list
                // is already in note order, and the stable sort merges such runs cheaply
                scored.sort_by_key(|&(note, fi, _)| (note, fi));
                let notes = sum_by_note(scored.into_iter().map(|(note, _, s)| (note, s)));
                Ok(TermScores { term, freq, notes })
            })
            .filter(|t| !matches!(t, Ok(t) if t.notes.is_empty()))
            .collect::<anyhow::Result<Vec<_>>>()
            .map(with_char_postings)
    }

    fn to_tantivy(&self, doc: &SearchDoc, encoded: &EncodedDoc) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        for f in ScoredField::ALL {
            for v in f.values(doc) {
                d.add_text(self.fields.scored(f), v);
            }
        }
        for t in &doc.tags {
            d.add_text(self.fields.tag, t.to_lowercase());
        }
        d.add_text(self.fields.source, &doc.source);
        d.add_text(self.fields.doc, &encoded.json);
        d
    }

    /// Run a query (see [`super::query`] for the syntax) and return up to `limit` hits.
    pub fn search(&self, query: &str, limit: usize) -> anyhow::Result<Vec<Hit>> {
        let parsed = parse(query);
        self.search_parsed(&parsed, limit)
    }

    pub(crate) fn search_parsed(&self, q: &ParsedQuery, limit: usize) -> anyhow::Result<Vec<Hit>> {
        let matcher = Matcher::new(q);
        Ok(self
            .ranked(q, limit)?
            .into_iter()
            .map(|(score, doc)| make_hit(doc, score, &matcher))
            .collect())
    }

    /// Ranking only, without excerpts: `(score, source)` of the top `limit` notes (benchmarks).
    pub fn search_ranked(&self, query: &str, limit: usize) -> anyhow::Result<Vec<(f32, String)>> {
        Ok(self
            .ranked(&parse(query), limit)?
            .into_iter()
            .map(|(s, d)| (s, d.source))
            .collect())
    }

    fn ranked(&self, q: &ParsedQuery, limit: usize) -> anyhow::Result<Vec<(f32, SearchDoc)>> {
        if q.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let clauses: Vec<Box<dyn Query>> = q
            .clauses
            .iter()
            .map(|c| self.clause_query(&searcher, c))
            .collect::<anyhow::Result<_>>()?;
        let filters: Vec<Box<dyn Query>> = q
            .tags
            .iter()
            .map(|t| -> Box<dyn Query> {
                Box::new(ConstScoreQuery::new(
                    Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.tag, t),
                        IndexRecordOption::Basic,
                    )),
                    0.0,
                ))
            })
            .collect();
        let build = |occur: Occur| -> Box<dyn Query> {
            let mut subs: Vec<(Occur, Box<dyn Query>)> = match occur {
                Occur::Should => {
                    let any = clauses
                        .iter()
                        .map(|c| (Occur::Should, c.box_clone()))
                        .collect();
                    vec![(Occur::Must, Box::new(BooleanQuery::new(any)))]
                }
                _ => clauses
                    .iter()
                    .map(|c| (Occur::Must, c.box_clone()))
                    .collect(),
            };
            subs.extend(filters.iter().map(|f| (Occur::Must, f.box_clone())));
            if clauses.is_empty() {
                subs.push((Occur::Must, Box::new(AllQuery)));
            }
            Box::new(BooleanQuery::new(subs))
        };
        // a few more than asked, so equal scores can be ordered by source path (as search.js
        // does) instead of by tantivy's internal doc order
        let collector = TopDocs::with_limit(limit + TIE_MARGIN).order_by_score();
        let mut top = searcher.search(&*build(Occur::Must), &collector)?;
        if top.is_empty() && clauses.len() > 1 {
            // nothing has every term: rank notes that have some of them
            top = searcher.search(&*build(Occur::Should), &collector)?;
        }
        let cutoff = top
            .get(limit.min(top.len()).saturating_sub(1))
            .map(|(s, _)| *s)
            .unwrap_or(0.0);
        let mut docs: Vec<(f32, SearchDoc)> = Vec::new();
        for (i, (score, addr)) in top.into_iter().enumerate() {
            if i >= limit && score < cutoff {
                break;
            }
            let stored: TantivyDocument = searcher.doc(addr)?;
            let field = |f| stored.get_first(f).and_then(|v| v.as_str()).unwrap_or("");
            let doc = EncodedDoc::decode(field(self.fields.doc), field(self.fields.source))
                .context("corrupt stored note in the search index")?;
            docs.push((score, doc));
        }
        docs.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| a.1.source.cmp(&b.1.source))
        });
        docs.truncate(limit);
        Ok(docs)
    }

    /// Score of one term in every scored field, summed (BM25 per field, times the boost).
    fn term_query(&self, term: &str) -> Box<dyn Query> {
        let subs = ScoredField::ALL
            .iter()
            .map(|&f| -> (Occur, Box<dyn Query>) {
                let t = Term::from_field_text(self.fields.scored(f), term);
                (
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)),
                        f.boost(),
                    )),
                )
            })
            .collect();
        Box::new(BooleanQuery::new(subs))
    }

    /// A lone CJK character: the sum of the term queries of every index term that starts with it
    /// (its bigrams and, where it ends a run, itself). search.js scores it the same way from the
    /// postings [`SearchIndex::term_scores`] derives for it.
    fn char_query(&self, searcher: &tantivy::Searcher, c: &str) -> anyhow::Result<Box<dyn Query>> {
        let mut terms: BTreeSet<String> = BTreeSet::new();
        for_each_term_with_prefix(searcher, &self.fields.scored, c, |t, _| {
            terms.insert(t.to_string());
        })?;
        Ok(Box::new(BooleanQuery::new(
            terms
                .iter()
                .map(|t| (Occur::Should, self.term_query(t)))
                .collect(),
        )))
    }

    /// Terms at their offsets in one field; a phrase that ends in a lone CJK character matches
    /// any term starting with it there (the character is only indexed alone at the end of a
    /// run), as search.js checks phrases.
    fn phrase_query(
        &self,
        searcher: &tantivy::Searcher,
        field: Field,
        terms: Vec<(usize, Term)>,
    ) -> anyhow::Result<Box<dyn Query>> {
        let last = terms.iter().max_by_key(|(p, _)| *p).map(|(_, t)| t.value());
        let Some(c) = last
            .and_then(|v| v.as_str().map(str::to_string))
            .filter(|t| is_lone_cjk(t))
        else {
            return Ok(Box::new(PhraseQuery::new_with_offset(terms)));
        };
        let mut expansions = 0u32;
        for_each_term_with_prefix(searcher, &[field], &c, |_, _| expansions += 1)?;
        let mut q = PhrasePrefixQuery::new_with_offset(terms);
        q.set_max_expansions(expansions.max(1));
        Ok(Box::new(q))
    }

    fn clause_query(
        &self,
        searcher: &tantivy::Searcher,
        c: &Clause,
    ) -> anyhow::Result<Box<dyn Query>> {
        Ok(match c {
            Clause::Term(t) if is_lone_cjk(t) => self.char_query(searcher, t)?,
            Clause::Term(t) => self.term_query(t),
            Clause::Prefix { exact, prefix } => {
                let mut alts: Vec<Box<dyn Query>> = vec![self.term_query(exact)];
                for t in expansions(searcher, &self.fields.scored, prefix)? {
                    if t != *exact {
                        alts.push(Box::new(BoostQuery::new(
                            self.term_query(&t),
                            EXPANSION_WEIGHT,
                        )));
                    }
                }
                Box::new(DisjunctionMaxQuery::new(alts))
            }
            Clause::Phrase(terms) => {
                let subs = ScoredField::ALL
                    .iter()
                    .filter(|&&f| f != ScoredField::Tags)
                    .map(|&f| -> anyhow::Result<(Occur, Box<dyn Query>)> {
                        let field = self.fields.scored(f);
                        let terms: Vec<(usize, Term)> = terms
                            .iter()
                            .map(|(p, t)| (*p, Term::from_field_text(field, t)))
                            .collect();
                        Ok((
                            Occur::Should,
                            Box::new(BoostQuery::new(
                                self.phrase_query(searcher, field, terms)?,
                                f.boost(),
                            )),
                        ))
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                if subs.is_empty() {
                    Box::new(EmptyQuery)
                } else {
                    Box::new(BooleanQuery::new(subs))
                }
            }
        })
    }
}

/// Marks a tantivy doc that is no note: deleted, or a source `note_of` does not know.
const GONE: u32 = u32::MAX;

/// Tantivy doc id -> note number for one segment, through the `source` fast field (whose
/// dictionary holds each source once, in ord order); [`GONE`] for deleted and unknown docs.
fn notes_by_doc(
    seg: &tantivy::SegmentReader,
    note_of: &(dyn Fn(&str) -> Option<u32> + Sync),
) -> anyhow::Result<Vec<u32>> {
    let sources = seg.fast_fields().str(SOURCE_FIELD)?.context(
        "the search index has no source column; delete .kb/search-index and build again",
    )?;
    let mut note_of_ord = Vec::with_capacity(sources.num_terms());
    let mut stream = sources.dictionary().stream()?;
    while stream.advance() {
        let path = std::str::from_utf8(stream.key()).unwrap_or_default();
        note_of_ord.push(note_of(path).unwrap_or(GONE));
    }
    Ok((0..seg.max_doc())
        .map(|doc| match sources.term_ords(doc).next() {
            Some(ord) if !seg.is_deleted(doc) => {
                note_of_ord.get(ord as usize).copied().unwrap_or(GONE)
            }
            _ => GONE,
        })
        .collect())
}

/// The most frequent word terms of the scored fields that start with `prefix` (at most
/// [`MAX_EXPANSIONS`], most frequent first, then alphabetical), as search.js picks them.
/// Frequency is [`TermScores::freq`]: the doc frequencies of every field and segment, summed.
/// Terms left only by deleted notes (until tantivy merges their segments away) are skipped, as
/// the browser's word lists never hold them.
fn expansions(
    searcher: &tantivy::Searcher,
    fields: &[Field],
    prefix: &str,
) -> anyhow::Result<Vec<String>> {
    let mut df: BTreeMap<String, u64> = BTreeMap::new();
    for_each_term_with_prefix(searcher, fields, prefix, |k, doc_freq| {
        if is_word_term(k) {
            *df.entry(k.to_string()).or_default() += doc_freq;
        }
    })?;
    let mut v: Vec<(String, u64)> = df.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    // segments without deletes first: a term found there is in a live note
    let mut segments: Vec<&tantivy::SegmentReader> = searcher.segment_readers().iter().collect();
    segments.sort_by_key(|s| s.has_deletes());
    if !segments.last().is_some_and(|s| s.has_deletes()) {
        v.truncate(MAX_EXPANSIONS);
        return Ok(v.into_iter().map(|(t, _)| t).collect());
    }
    let inverted = segments
        .iter()
        .flat_map(|seg| fields.iter().map(move |&f| (*seg, f)))
        .map(|(seg, f)| Ok((seg, f, seg.inverted_index(f)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut out = Vec::with_capacity(MAX_EXPANSIONS);
    for (term, _) in v {
        if out.len() == MAX_EXPANSIONS {
            break;
        }
        if in_a_live_note(&inverted, &term)? {
            out.push(term);
        }
    }
    Ok(out)
}

/// True if a note that is not deleted has `term` in one of the (segment, field) inverted
/// indexes given.
fn in_a_live_note(
    inverted: &[(
        &tantivy::SegmentReader,
        Field,
        std::sync::Arc<tantivy::InvertedIndexReader>,
    )],
    term: &str,
) -> anyhow::Result<bool> {
    for (seg, field, inv) in inverted {
        let Some(info) = inv.get_term_info(&Term::from_field_text(*field, term))? else {
            continue;
        };
        if !seg.has_deletes() {
            return Ok(true);
        }
        let mut postings = inv.read_postings_from_terminfo(&info, IndexRecordOption::Basic)?;
        let mut doc = postings.doc();
        while doc != TERMINATED {
            if !seg.is_deleted(doc) {
                return Ok(true);
            }
            doc = postings.advance();
        }
    }
    Ok(false)
}

/// `terms` (sorted by term) with the postings of every CJK character that starts a term: per
/// note, the scores of the terms starting with it summed, which is how `kb search` scores a
/// one-character query ([`SearchIndex::char_query`]). Such a character's own term (indexed where
/// it ends a run) is replaced; otherwise it is inserted in order.
fn with_char_postings(terms: Vec<TermScores>) -> Vec<TermScores> {
    let first_cjk = |t: &TermScores| t.term.chars().next().filter(|&c| is_cjk(c));
    // terms sharing a first character are adjacent
    let mut groups: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < terms.len() {
        let Some(c) = first_cjk(&terms[i]) else {
            i += 1;
            continue;
        };
        let start = i;
        while i < terms.len() && first_cjk(&terms[i]) == Some(c) {
            i += 1;
        }
        groups.push(start..i);
    }
    // (index of the group's first term, the character's postings)
    let merged: Vec<(usize, TermScores)> = groups
        .par_iter()
        .map(|range| {
            let group = &terms[range.clone()];
            let mut all: Vec<(u32, f32)> =
                group.iter().flat_map(|t| t.notes.iter().copied()).collect();
            all.sort_by_key(|&(note, _)| note);
            let c = group[0].term.chars().next().unwrap_or_default();
            let char_terms = TermScores {
                term: c.to_string(),
                freq: group.iter().map(|t| t.freq).sum(),
                notes: sum_by_note(all),
            };
            (range.start, char_terms)
        })
        .collect();
    let mut out = Vec::with_capacity(terms.len() + merged.len());
    let mut merged = merged.into_iter().peekable();
    for (i, t) in terms.into_iter().enumerate() {
        match merged.next_if(|(start, _)| *start == i) {
            // the character's own term is the group's first, if it is there at all
            Some((_, char_terms)) if char_terms.term == t.term => out.push(char_terms),
            Some((_, char_terms)) => out.extend([char_terms, t]),
            None => out.push(t),
        }
    }
    out
}

/// `(note, score)` pairs sorted by note, with each note's scores summed in the order given.
fn sum_by_note(sorted: impl IntoIterator<Item = (u32, f32)>) -> Vec<(u32, f32)> {
    let mut notes: Vec<(u32, f32)> = Vec::new();
    for (note, s) in sorted {
        match notes.last_mut() {
            Some((last, acc)) if *last == note => *acc += s,
            _ => notes.push((note, s)),
        }
    }
    notes
}

/// Every term of `fields` that starts with `prefix`, with its doc frequency, once per field and
/// segment that has it.
fn for_each_term_with_prefix(
    searcher: &tantivy::Searcher,
    fields: &[Field],
    prefix: &str,
    mut f: impl FnMut(&str, u64),
) -> anyhow::Result<()> {
    for seg in searcher.segment_readers() {
        for &field in fields {
            let inv = seg.inverted_index(field)?;
            let mut stream = inv.terms().range().ge(prefix.as_bytes()).into_stream()?;
            while stream.advance() {
                let key = stream.key();
                if !key.starts_with(prefix.as_bytes()) {
                    break;
                }
                if let Ok(k) = std::str::from_utf8(key) {
                    f(k, u64::from(stream.value().doc_freq));
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn make_hit(doc: SearchDoc, score: f32, matcher: &Matcher) -> Hit {
    let located = locate(&doc, matcher);
    let section = doc.sections.get(located.section);
    let anchor = section.map(|s| s.anchor.as_str()).unwrap_or("");
    let url = if anchor.is_empty() {
        doc.url.clone()
    } else {
        format!("{}#{}", doc.url, anchor)
    };
    Hit {
        url,
        heading: section.map(|s| s.heading.clone()).unwrap_or_default(),
        score,
        excerpt_html: located.excerpt.to_html(),
        highlights: located.excerpt.highlights.clone(),
        excerpt: located.excerpt.text,
        note_url: doc.url,
        title: doc.title,
        tags: doc.tags,
        date: doc.date,
        source: doc.source,
    }
}

fn manifest_hash(json: &[u8]) -> String {
    format!("kb-manifest:{}", &blake3::hash(json).to_hex()[..32])
}

fn payload_matches(index: &Index, m: &Manifest) -> bool {
    let Ok(json) = serde_json::to_vec(m) else {
        return false;
    };
    index
        .load_metas()
        .ok()
        .and_then(|meta| meta.payload)
        .is_some_and(|p| p == manifest_hash(&json))
}

/// Remove a stale index's files (only ours: tantivy's files and the manifest).
fn wipe_dir(dir: &Path) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("couldn't read `{}`", dir.display()))?;
    let ours: HashSet<&str> = [
        "meta.json",
        ".managed.json",
        ".tantivy-meta.lock",
        ".tantivy-writer.lock",
        MANIFEST_FILE,
    ]
    .into();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_segment_file =
            name.len() > 32 && name.as_bytes()[..32].iter().all(u8::is_ascii_hexdigit);
        if ours.contains(name.as_str()) || is_segment_file {
            std::fs::remove_file(e.path()).with_context(|| {
                format!("couldn't remove stale index file `{}`", e.path().display())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn note(
        source: &str,
        title: &str,
        tags: &[&str],
        sections: &[(&str, &str, &str, &str)],
    ) -> SearchDoc {
        SearchDoc {
            url: format!("/{}/", source.trim_end_matches(".md")),
            title: title.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            date: None,
            source: source.into(),
            sections: crate::search::doc::sections(sections),
        }
    }

    /// An in-memory index of [`sample`].
    fn sample_index() -> SearchIndex {
        let mut idx = SearchIndex::in_memory().unwrap();
        idx.update(&sample(), "").unwrap();
        idx
    }

    fn sample() -> Vec<SearchDoc> {
        vec![
            note(
                "content/go/gc.md",
                "Go 垃圾回收：三色标记与写屏障",
                &["go", "gc"],
                &[
                    (
                        "",
                        "",
                        "常用垃圾回收方法：引用计数、标记清除、分代回收。",
                        "",
                    ),
                    (
                        "三色标记",
                        "三色标记",
                        "所有对象开始是白色，从 root 扫描可达对象标记为灰色。",
                        "",
                    ),
                    (
                        "gc-日志",
                        "GC 日志",
                        "设置环境变量打开 gc 日志，输出到标准错误。",
                        "GODEBUG=gctrace=1 go run gc.go",
                    ),
                ],
            ),
            note(
                "content/docker/shared-memory.md",
                "容器里的共享内存",
                &["docker", "ipc"],
                &[(
                    "",
                    "",
                    "System V 共享内存段在容器重启后丢失；shmget 返回 EINVAL。",
                    "ipcs -m",
                )],
            ),
            note(
                "content/linux/cadvisor.md",
                "cadvisor 读 memory.numa_stat 导致网络延迟",
                &["linux", "cgroup"],
                &[(
                    "",
                    "",
                    "大量 memory cgroup 时读取 numa_stat 很慢，软中断被延迟。",
                    "cat memory.numa_stat",
                )],
            ),
        ]
    }

    fn top(idx: &SearchIndex, q: &str) -> Vec<String> {
        idx.search(q, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.source)
            .collect()
    }

    #[test]
    fn chinese_word_inside_a_longer_run_is_found() {
        let idx = sample_index();
        assert_eq!(top(&idx, "垃圾回收"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "共享内存")[0], "content/docker/shared-memory.md");
    }

    #[test]
    fn identifiers_are_found_by_parts_and_whole() {
        let idx = sample_index();
        assert_eq!(top(&idx, "GODEBUG=gctrace=1"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "gctrace"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "memory.numa_stat"), ["content/linux/cadvisor.md"]);
        assert_eq!(top(&idx, "numa"), ["content/linux/cadvisor.md"]);
    }

    #[test]
    fn hit_links_to_the_matching_heading_with_a_highlighted_excerpt() {
        let idx = sample_index();
        let hit = &idx.search("三色标记", 1).unwrap()[0];
        assert_eq!(hit.url, "/content/go/gc/#三色标记");
        let hit = &idx.search("gctrace", 1).unwrap()[0];
        assert_eq!(hit.url, "/content/go/gc/#gc-日志");
        assert!(
            hit.excerpt_html.contains("<mark>gctrace</mark>"),
            "{}",
            hit.excerpt_html
        );
    }

    #[test]
    fn tag_filter_and_phrase() {
        let idx = sample_index();
        assert_eq!(top(&idx, "tag:docker"), ["content/docker/shared-memory.md"]);
        assert!(top(&idx, "tag:go 共享内存").is_empty());
        assert_eq!(top(&idx, "\"numa stat\""), ["content/linux/cadvisor.md"]);
        assert!(top(&idx, "\"stat numa\"").is_empty());
    }

    #[test]
    fn one_character_finds_it_anywhere_in_a_run() {
        // `享` and `灰` sit inside runs (`共享内存`, `标记为灰色`), where only bigrams are indexed
        let idx = sample_index();
        assert_eq!(top(&idx, "享"), ["content/docker/shared-memory.md"]);
        assert_eq!(top(&idx, "灰"), ["content/go/gc.md"]);
        // `迟` ends its run (`延迟`), `延` starts it
        assert_eq!(top(&idx, "延"), ["content/linux/cadvisor.md"]);
        assert_eq!(top(&idx, "迟"), ["content/linux/cadvisor.md"]);
        assert!(top(&idx, "鲸").is_empty());
        // highlighted where it is, not only at the end of a run
        let hit = &idx.search("灰", 1).unwrap()[0];
        assert!(
            hit.excerpt_html.contains("<mark>灰</mark>"),
            "{}",
            hit.excerpt_html
        );
    }

    #[test]
    fn a_phrase_ending_in_one_character_matches_it_inside_a_run() {
        let idx = sample_index();
        // `shmget 返` : `返回` follows `shmget` in the text
        assert_eq!(
            top(&idx, "\"shmget 返\""),
            ["content/docker/shared-memory.md"]
        );
        assert!(top(&idx, "\"shmget 回\"").is_empty());
    }

    #[test]
    fn typed_prefix_matches_longer_terms() {
        let idx = sample_index();
        assert_eq!(top(&idx, "gctr"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "cadv"), ["content/linux/cadvisor.md"]);
    }

    #[test]
    fn no_note_with_every_term_falls_back_to_any_term() {
        let idx = sample_index();
        assert_eq!(
            top(&idx, "shmget nonexistentword ")[0],
            "content/docker/shared-memory.md"
        );
    }

    #[test]
    fn update_reindexes_only_changed_notes_and_removes_deleted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut docs = sample();
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        let s = idx.update(&docs, "a").unwrap();
        assert_eq!((s.added, s.rebuilt), (3, true));

        docs[1].sections[0].text = "改成了 POSIX shm_open".into();
        docs.remove(2);
        drop(idx);
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        let s = idx.update(&docs, "b").unwrap();
        assert_eq!(
            (s.added, s.updated, s.removed, s.unchanged, s.rebuilt),
            (0, 1, 1, 1, false)
        );
        assert_eq!(top(&idx, "shm_open"), ["content/docker/shared-memory.md"]);
        assert!(top(&idx, "shmget ").is_empty());
        assert!(top(&idx, "numa_stat").is_empty());
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.stamp(), "b");
    }

    #[test]
    fn a_prefix_never_expands_to_a_word_only_deleted_notes_had() {
        let mut idx = SearchIndex::in_memory().unwrap();
        // notes with and without the word alternate, so every segment (one per indexing
        // thread) keeps live notes when the ones with it are deleted
        let docs: Vec<SearchDoc> = (0..40)
            .map(|i| {
                let text = if i % 2 == 0 {
                    "dockerfile dockerfile"
                } else {
                    "dockerd"
                };
                note(
                    &format!("content/{i:02}.md"),
                    "N",
                    &[],
                    &[("", "", text, "")],
                )
            })
            .collect();
        idx.update(&docs, "a").unwrap();
        let kept: Vec<SearchDoc> = docs.into_iter().skip(1).step_by(2).collect();
        idx.update(&kept, "b").unwrap();
        let searcher = idx.reader.searcher();
        assert!(
            searcher.segment_readers().iter().any(|s| s.has_deletes()),
            "the deleted note is still in a segment"
        );
        let words = expansions(&searcher, &idx.fields.scored, "dock").unwrap();
        assert_eq!(words, ["dockerd"]);
    }

    #[test]
    fn a_manifest_that_does_not_match_the_commit_forces_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        idx.update(&sample(), "a").unwrap();
        drop(idx);
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            b"{\"tokenizer\":1,\"schema\":1,\"stamp\":\"x\",\"docs\":{}}",
        )
        .unwrap();
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        let s = idx.update(&sample(), "a").unwrap();
        assert!(s.rebuilt);
        assert_eq!(top(&idx, "垃圾回收"), ["content/go/gc.md"]);
    }
}
