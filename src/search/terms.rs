//! Every term's scores read back out of the index's segments, for the browser index: so notes are
//! tokenized once per build, and the browser scores a term exactly as `kb search` does
//! (one-character CJK queries included).

use anyhow::Context;
use rayon::prelude::*;
use tantivy::postings::Postings;
use tantivy::query::Bm25Weight;
use tantivy::schema::IndexRecordOption;
use tantivy::{DocSet, TERMINATED};

use super::index::SearchIndex;
use super::schema::{ScoredField, SOURCE_FIELD};
use super::tokenize::is_cjk;

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

impl SearchIndex {
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
}

/// Marks a tantivy doc that is no note: deleted, or a source `note_of` does not know.
pub(crate) const GONE: u32 = u32::MAX;

/// Tantivy doc id -> note number for one segment, through the `source` fast field (whose
/// dictionary holds each source once, in ord order); [`GONE`] for deleted and unknown docs.
pub(crate) fn notes_by_doc(
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

/// `terms` (sorted by term) with the postings of every CJK character that starts a term: per
/// note, the scores of the terms starting with it summed, which is how `kb search` scores a
/// one-character query ([`SearchIndex::char_query`]). Such a character's own term (indexed where
/// it ends a run) is replaced; otherwise it is inserted in order.
pub(crate) fn with_char_postings(terms: Vec<TermScores>) -> Vec<TermScores> {
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
pub(crate) fn sum_by_note(sorted: impl IntoIterator<Item = (u32, f32)>) -> Vec<(u32, f32)> {
    let mut notes: Vec<(u32, f32)> = Vec::new();
    for (note, s) in sorted {
        match notes.last_mut() {
            Some((last, acc)) if *last == note => *acc += s,
            _ => notes.push((note, s)),
        }
    }
    notes
}
