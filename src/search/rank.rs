//! Ranking: a parsed query turned into tantivy queries (words, prefixes expanded to the most
//! frequent terms, phrases, single CJK characters, tags), scored, ordered and made into [`Hit`]s.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, Occur,
    PhrasePrefixQuery, PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::{DocSet, TantivyDocument, Term, TERMINATED};

use super::doc::{EncodedDoc, SearchDoc};
use super::excerpt::{locate, Matcher};
use super::index::SearchIndex;
use super::query::{parse, Clause, ParsedQuery};
use super::schema::ScoredField;
use super::tokenize::{is_lone_cjk, is_word_term};

/// Weight of a prefix expansion relative to the word as typed: `docker` ranks notes about
/// docker above notes that only mention `dockerfile`.
pub(crate) const EXPANSION_WEIGHT: f32 = 0.5;
/// Extra hits fetched beyond the limit to order equal scores by source path.
pub(crate) const TIE_MARGIN: usize = 16;
/// At most this many terms a typed prefix expands to (the most frequent ones).
pub(crate) const MAX_EXPANSIONS: usize = 16;

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

impl SearchIndex {
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

/// The most frequent word terms of the scored fields that start with `prefix` (at most
/// [`MAX_EXPANSIONS`], most frequent first, then alphabetical), as search.js picks them.
/// Frequency is [`TermScores::freq`]: the doc frequencies of every field and segment, summed.
/// Terms left only by deleted notes (until tantivy merges their segments away) are skipped, as
/// the browser's word lists never hold them.
pub(crate) fn expansions(
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
pub(crate) fn in_a_live_note(
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

/// Every term of `fields` that starts with `prefix`, with its doc frequency, once per field and
/// segment that has it.
pub(crate) fn for_each_term_with_prefix(
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
