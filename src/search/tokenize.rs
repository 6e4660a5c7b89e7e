//! The tokenizer shared by the tantivy index, the query parser, excerpts and the browser index.
//!
//! Notes are Chinese prose full of English terms and identifiers, so one text holds three kinds
//! of runs, each tokenized its own way:
//! - **CJK runs** (Han, kana, Hangul): every adjacent pair is a bigram at the position of its
//!   first character, and the run's last character is a unigram at its own position (Lucene's
//!   CJKAnalyzer). Queries use bigrams only (a lone character stays a unigram), so `垃圾回收`
//!   matches inside `常用垃圾回收方法` with no dictionary. A one-character query `c` matches every
//!   term that starts with `c`: each character of a run starts a bigram or is its last, so that
//!   finds every note holding `c` without indexing every character twice (which cost a third
//!   of all tokens). Highlighting ([`match_tokens`]) still sees every character.
//!   Measured against a dictionary segmenter (jieba) by `benches/tokenizers.rs`: the same
//!   recall on the query set, and every Chinese string a reader copies out of a note finds
//!   that note, where jieba finds 56-58% of strings cut at random and 99.4% of its own words.
//! - **Word runs**: maximal runs of other letters and digits. Everything else (`.`, `_`, `-`, `=`,
//!   `/`, spaces, punctuation) separates, so `memory.numa_stat` is `memory numa stat` at
//!   consecutive positions: findable by any part, and whole as a phrase. Words are lowercased and,
//!   when pure ASCII, stemmed with the English Snowball stemmer (tantivy's `Stemmer`). A camelCase
//!   word (`MemStats`, `HTTPServer`) is indexed whole and by its parts.
//! - Anything else separates tokens and takes no position.
//!
//! Full-width ASCII (`ＤＯＣＫＥＲ`) is folded to ASCII first. The browser runs the same rules in
//! `themes/default/static/search.js`; a test feeds both a sample and compares the tokens, so bump
//! [`TOKENIZER_VERSION`] (it invalidates saved indexes) and the JS together.

use std::sync::OnceLock;

/// Changes whenever the token rules change: saved indexes built with another version are rebuilt.
pub(crate) const TOKENIZER_VERSION: u32 = 2;

/// Words longer than this (in characters) are dropped: base64 blobs and hashes in code blocks
/// only bloat the index. They still take a position.
pub(crate) const MAX_WORD_CHARS: usize = 64;

/// What kind of run a token came from; excerpts and query building treat them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A (stemmed, lowercased) word, a whole camelCase word, or a digit run.
    Word,
    /// One part of a camelCase word, at the position of that part.
    WordPart,
    /// One CJK character: in the index, the last of its run.
    Unigram,
    /// Two adjacent CJK characters.
    Bigram,
}

/// One token: its indexed text, byte offsets into the original text and its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tok {
    pub text: String,
    pub from: usize,
    pub to: usize,
    pub position: usize,
    pub kind: TokenKind,
}

/// How a query chunk is tokenized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryMode {
    /// Terms that must each appear somewhere: camelCase words whole.
    Terms,
    /// A phrase matched by position: camelCase words by their parts, which sit at consecutive
    /// positions in the index (the whole word shares the first part's position).
    Phrase,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Cjk,
    Word,
    Sep,
}

/// Full-width ASCII forms (U+FF01..U+FF5E) fold to ASCII.
fn normalize(c: char) -> char {
    if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
        char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
    } else {
        c
    }
}

/// Han (with extensions and compatibility ideographs), kana and Hangul syllables. The same
/// ranges are spelled out in search.js.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // extensions B.. and compatibility supplement
}

/// True for a term that is one CJK character: as a query term it stands for every index term
/// starting with it (see the module docs).
pub(crate) fn is_lone_cjk(term: &str) -> bool {
    let mut chars = term.chars();
    chars.next().is_some_and(is_cjk) && chars.next().is_none()
}

/// True for a term from a word run (not a CJK unigram or bigram): the terms a typed prefix
/// expands to.
pub(crate) fn is_word_term(term: &str) -> bool {
    term.chars().next().is_some_and(|c| !is_cjk(c))
}

fn class(c: char) -> Class {
    // most characters of a note are ASCII (code, English terms, spaces): settle them first
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            Class::Word
        } else {
            Class::Sep
        }
    } else if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Sep
    }
}

fn stemmer() -> &'static frostem::Stemmer {
    static STEMMER: OnceLock<frostem::Stemmer> = OnceLock::new();
    STEMMER.get_or_init(|| frostem::Stemmer::new(frostem::Algorithm::English))
}

/// Lowercase, then stem if the word is pure ASCII (the stemmer's rules are English).
pub(crate) fn normalize_word(word: &str) -> String {
    let lower = word.to_lowercase();
    if lower.is_ascii() {
        stemmer().stem(&lower).into_owned()
    } else {
        lower
    }
}

/// Most distinct words a thread keeps normalized forms of (cleared when full).
const WORD_CACHE_CAP: usize = 65_536;

thread_local! {
    /// Word as written -> [`normalize_word`] of it. Indexing normalizes the same few thousand
    /// words millions of times, and Snowball stemming costs far more than a hash lookup.
    static WORD_CACHE: std::cell::RefCell<rustc_hash::FxHashMap<Box<str>, Box<str>>> =
        Default::default();
}

/// [`normalize_word`] into `out` (cleared first), through the per-thread cache.
fn normalize_word_into(word: &str, out: &mut String) {
    out.clear();
    WORD_CACHE.with(|cache| {
        if let Some(hit) = cache.borrow().get(word) {
            out.push_str(hit);
            return;
        }
        let normalized = normalize_word(word);
        out.push_str(&normalized);
        let mut cache = cache.borrow_mut();
        if cache.len() >= WORD_CACHE_CAP {
            cache.clear();
        }
        cache.insert(word.into(), normalized.into_boxed_str());
    });
}

/// camelCase parts of a word as character ranges, into `parts` (cleared first): a part starts
/// at `aB` and at the last capital of `ABc` (so `HTTPServer` is `HTTP` + `Server`). ASCII case
/// only. A word without such a boundary is one part.
fn camel_parts_into(chars: &[(usize, char)], parts: &mut Vec<(usize, usize)>) {
    parts.clear();
    let mut start = 0;
    for i in 1..chars.len() {
        let prev = chars[i - 1].1;
        let cur = chars[i].1;
        if !cur.is_ascii_uppercase() {
            continue;
        }
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let lower_upper = prev.is_ascii_lowercase();
        let acronym_end = prev.is_ascii_uppercase() && next.is_some_and(|n| n.is_ascii_lowercase());
        if lower_upper || acronym_end {
            parts.push((start, i));
            start = i;
        }
    }
    parts.push((start, chars.len()));
}

/// [`camel_parts_into`] a new vector.
fn camel_parts(chars: &[(usize, char)]) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    camel_parts_into(chars, &mut parts);
    parts
}

/// A token as [`for_each_token`] hands it out: CJK tokens borrow the text itself (CJK
/// characters are never normalized), words a scratch buffer holding their normalized form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokRef<'a> {
    pub text: &'a str,
    pub from: usize,
    pub to: usize,
    pub position: usize,
    pub kind: TokenKind,
}

/// Which CJK characters a tokenization hands out as unigrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unigrams {
    /// Only the last character of each run: what the index holds.
    RunFinal,
    /// Every character: for finding a one-character query term in text (highlights).
    All,
}

/// Tokens as they are indexed: the bigrams of CJK runs and each run's last character, words
/// whole plus their camelCase parts. Positions start at 0.
pub(crate) fn index_tokens(text: &str) -> Vec<Tok> {
    collect_tokens(text, Unigrams::RunFinal)
}

/// [`index_tokens`] plus a unigram for every CJK character (at the position of the bigram it
/// starts): what query terms are looked for in a text to highlight them.
pub(crate) fn match_tokens(text: &str) -> Vec<Tok> {
    collect_tokens(text, Unigrams::All)
}

fn collect_tokens(text: &str, unigrams: Unigrams) -> Vec<Tok> {
    let mut out = Vec::new();
    for_each_token(text, unigrams, |t| {
        out.push(Tok {
            text: t.text.to_string(),
            from: t.from,
            to: t.to,
            position: t.position,
            kind: t.kind,
        })
    });
    out
}

/// [`index_tokens`] (or [`match_tokens`]) without collecting them: one pass over the text and
/// no string per CJK token, which is what indexing tens of megabytes of Chinese prose needs.
pub(crate) fn for_each_token(text: &str, unigrams: Unigrams, f: impl FnMut(TokRef<'_>)) {
    for_each_token_in(text, unigrams, &mut Scratch::default(), f)
}

/// [`for_each_token`] with buffers kept from earlier texts.
fn for_each_token_in(
    text: &str,
    unigrams: Unigrams,
    scratch: &mut Scratch,
    mut f: impl FnMut(TokRef<'_>),
) {
    let mut pos = 0;
    let mut run = std::mem::take(&mut scratch.run);
    for_each_run(text, &mut run, |run| {
        emit_run(text, run, unigrams, &mut pos, scratch, &mut f)
    });
    scratch.run = run;
}

/// Split `text` into runs of CJK and of word characters (separators dropped), handing out each
/// with its characters folded; `run` is the buffer each run's characters are collected in.
fn for_each_run(text: &str, run: &mut Vec<(usize, char)>, mut f: impl FnMut(RunRef<'_>)) {
    run.clear();
    let mut run_class = Class::Sep;
    let mut run_end = 0;
    let mut folded = false;
    // hand out the run collected so far (if any) and start an empty one
    let mut flush = |run: &mut Vec<(usize, char)>, class: Class, end: usize, folded: bool| {
        if !run.is_empty() {
            f(RunRef {
                class,
                chars: run,
                end,
                folded,
            });
        }
        run.clear();
    };
    for (offset, raw) in text.char_indices() {
        let c = normalize(raw);
        let cls = class(c);
        if cls != run_class {
            flush(run, run_class, run_end, folded);
            run_class = cls;
            folded = false;
        }
        if cls != Class::Sep {
            run.push((offset, c));
            run_end = offset + raw.len_utf8();
            folded |= c != raw;
        }
    }
    flush(run, run_class, run_end, folded);
}

/// One run being emitted: its class, normalized characters with their byte offsets, the byte
/// offset where it ends, and whether any character was folded (full-width to ASCII), in which
/// case its text must be rebuilt from the characters instead of sliced from the input.
struct RunRef<'a> {
    class: Class,
    chars: &'a [(usize, char)],
    end: usize,
    folded: bool,
}

impl RunRef<'_> {
    /// Byte offset where character `i` ends.
    fn span_end(&self, i: usize) -> usize {
        self.chars.get(i + 1).map(|&(o, _)| o).unwrap_or(self.end)
    }

    /// Characters `from..to`, folded.
    fn text(&self, from: usize, to: usize) -> String {
        self.chars[from..to].iter().map(|&(_, c)| c).collect()
    }
}

/// Reused buffers: a run's characters, a word as written (when folded), its normalized form and
/// its camelCase parts.
#[derive(Debug, Clone, Default)]
struct Scratch {
    run: Vec<(usize, char)>,
    raw: String,
    word: String,
    parts: Vec<(usize, usize)>,
}

/// The index tokens of one run.
fn emit_run(
    text: &str,
    run: RunRef<'_>,
    unigrams: Unigrams,
    pos: &mut usize,
    scratch: &mut Scratch,
    f: &mut impl FnMut(TokRef<'_>),
) {
    let chars = run.chars;
    let end = run.end;
    let n = chars.len();
    match run.class {
        Class::Cjk => {
            for (i, &(from, _)) in chars.iter().enumerate() {
                if i + 1 == n || unigrams == Unigrams::All {
                    let to = run.span_end(i);
                    f(TokRef {
                        text: &text[from..to],
                        from,
                        to,
                        position: *pos + i,
                        kind: TokenKind::Unigram,
                    });
                }
                if i + 1 < n {
                    let to = run.span_end(i + 1);
                    f(TokRef {
                        text: &text[from..to],
                        from,
                        to,
                        position: *pos + i,
                        kind: TokenKind::Bigram,
                    });
                }
            }
            *pos += n;
        }
        Class::Word => {
            let mut parts = std::mem::take(&mut scratch.parts);
            camel_parts_into(chars, &mut parts);
            if n <= MAX_WORD_CHARS {
                // characters s..e, normalized, into scratch.word
                let normalize_part = |s: usize, e: usize, scratch: &mut Scratch| {
                    let from = chars[s].0;
                    let to = if e < n { chars[e].0 } else { end };
                    if run.folded {
                        scratch.raw.clear();
                        scratch.raw.extend(chars[s..e].iter().map(|&(_, c)| c));
                        normalize_word_into(&scratch.raw, &mut scratch.word);
                    } else {
                        normalize_word_into(&text[from..to], &mut scratch.word);
                    }
                };
                normalize_part(0, n, scratch);
                f(TokRef {
                    text: &scratch.word,
                    from: chars[0].0,
                    to: end,
                    position: *pos,
                    kind: TokenKind::Word,
                });
                if parts.len() > 1 {
                    for (k, &(s, e)) in parts.iter().enumerate() {
                        normalize_part(s, e, scratch);
                        f(TokRef {
                            text: &scratch.word,
                            from: chars[s].0,
                            to: run.span_end(e - 1),
                            position: *pos + k,
                            kind: TokenKind::WordPart,
                        });
                    }
                }
            }
            *pos += parts.len();
            scratch.parts = parts;
        }
        Class::Sep => {}
    }
}

/// Tokens of one query chunk: CJK runs as bigrams (a lone character as a unigram), words whole
/// ([`QueryMode::Terms`]) or by camelCase parts ([`QueryMode::Phrase`]). Positions are relative,
/// ready for a phrase query against [`index_tokens`] positions.
pub(crate) fn query_tokens(text: &str, mode: QueryMode) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut pos = 0;
    for_each_run(text, &mut Vec::new(), |run| match run.class {
        Class::Cjk => {
            let n = run.chars.len();
            if n == 1 {
                let (from, c) = run.chars[0];
                out.push(Tok {
                    text: c.to_string(),
                    from,
                    to: run.end,
                    position: pos,
                    kind: TokenKind::Unigram,
                });
            }
            for i in 0..n.saturating_sub(1) {
                out.push(Tok {
                    text: run.text(i, i + 2),
                    from: run.chars[i].0,
                    to: run.span_end(i + 1),
                    position: pos + i,
                    kind: TokenKind::Bigram,
                });
            }
            pos += n;
        }
        Class::Word => {
            let n = run.chars.len();
            let parts = camel_parts(run.chars);
            if n <= MAX_WORD_CHARS {
                if mode == QueryMode::Phrase && parts.len() > 1 {
                    for (k, &(s, e)) in parts.iter().enumerate() {
                        out.push(Tok {
                            text: normalize_word(&run.text(s, e)),
                            from: run.chars[s].0,
                            to: run.span_end(e - 1),
                            position: pos + k,
                            kind: TokenKind::WordPart,
                        });
                    }
                } else {
                    out.push(Tok {
                        text: normalize_word(&run.text(0, n)),
                        from: run.chars[0].0,
                        to: run.end,
                        position: pos,
                        kind: TokenKind::Word,
                    });
                }
            }
            pos += if mode == QueryMode::Phrase {
                parts.len()
            } else {
                1
            };
        }
        Class::Sep => {}
    });
    out
}

/// The lowercased, unstemmed form of a word, for prefix matching while the user is typing.
pub(crate) fn prefix_form(word: &str) -> String {
    word.chars()
        .map(normalize)
        .collect::<String>()
        .to_lowercase()
}

/// [`index_tokens`] as a tantivy tokenizer, registered on the index as [`TOKENIZER_NAME`]. It
/// keeps its buffers from one text to the next (tantivy gives each indexing thread its own).
#[derive(Debug, Clone, Default)]
pub(crate) struct KbTokenizer {
    scratch: Scratch,
    /// Normalized words of the current text, back to back.
    words: String,
    spans: Vec<Span>,
    token: tantivy::tokenizer::Token,
}

/// Name under which [`KbTokenizer`] is registered on the index.
pub(crate) const TOKENIZER_NAME: &str = "kb_cjk";

/// Where a streamed token's text is: in the indexed text, or in the tokenizer's word buffer.
#[derive(Debug, Clone, Copy)]
enum SpanText {
    Text(usize, usize),
    Words(usize, usize),
}

/// One token of a stream, without its own string.
#[derive(Debug, Clone, Copy)]
struct Span {
    text: SpanText,
    from: usize,
    to: usize,
    position: usize,
}

/// Token stream over one text's tokens, copied one at a time into the tokenizer's token.
pub(crate) struct KbTokenStream<'a> {
    text: &'a str,
    words: &'a str,
    spans: std::slice::Iter<'a, Span>,
    token: &'a mut tantivy::tokenizer::Token,
}

impl tantivy::tokenizer::Tokenizer for KbTokenizer {
    type TokenStream<'a> = KbTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> KbTokenStream<'a> {
        let KbTokenizer {
            scratch,
            words,
            spans,
            token,
        } = self;
        words.clear();
        spans.clear();
        for_each_token_in(text, Unigrams::RunFinal, scratch, |t| {
            let at = match t.kind {
                TokenKind::Unigram | TokenKind::Bigram => SpanText::Text(t.from, t.to),
                TokenKind::Word | TokenKind::WordPart => {
                    let start = words.len();
                    words.push_str(t.text);
                    SpanText::Words(start, words.len())
                }
            };
            spans.push(Span {
                text: at,
                from: t.from,
                to: t.to,
                position: t.position,
            });
        });
        token.reset();
        KbTokenStream {
            text,
            words,
            spans: spans.iter(),
            token,
        }
    }
}

impl tantivy::tokenizer::TokenStream for KbTokenStream<'_> {
    fn advance(&mut self) -> bool {
        match self.spans.next() {
            Some(span) => {
                let text = match span.text {
                    SpanText::Text(a, b) => &self.text[a..b],
                    SpanText::Words(a, b) => &self.words[a..b],
                };
                self.token.text.clear();
                self.token.text.push_str(text);
                self.token.offset_from = span.from;
                self.token.offset_to = span.to;
                self.token.position = span.position;
                self.token.position_length = 1;
                true
            }
            None => false,
        }
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(toks: &[Tok]) -> Vec<String> {
        toks.iter()
            .map(|t| format!("{}@{}", t.text, t.position))
            .collect()
    }

    #[test]
    fn cjk_runs_index_bigrams_and_the_last_character() {
        let toks = index_tokens("垃圾回收");
        assert_eq!(texts(&toks), ["垃圾@0", "圾回@1", "回收@2", "收@3"]);
        // offsets are byte offsets into the original text and never go backwards
        assert_eq!((toks[0].from, toks[0].to), (0, 6));
        assert!(toks.windows(2).all(|w| w[0].from <= w[1].from));
        // a one-character run is its own last character
        assert_eq!(texts(&index_tokens("锁 mutex")), ["锁@0", "mutex@1"]);
    }

    #[test]
    fn every_character_of_a_run_starts_an_index_term_or_is_one() {
        // what lets a one-character query find a note through the terms starting with it
        let text = "常用垃圾回收方法，写屏障与三色标记";
        let terms: Vec<String> = index_tokens(text).into_iter().map(|t| t.text).collect();
        for c in text.chars().filter(|&c| is_cjk(c)) {
            assert!(
                terms.iter().any(|t| t.starts_with(c)),
                "no index term starts with {c}"
            );
        }
    }

    #[test]
    fn match_tokens_have_every_character_at_its_bigram_position() {
        assert_eq!(
            texts(&match_tokens("垃圾回收")),
            ["垃@0", "垃圾@0", "圾@1", "圾回@1", "回@2", "回收@2", "收@3"]
        );
    }

    #[test]
    fn cjk_query_uses_bigrams_and_a_lone_char_stays_a_unigram() {
        assert_eq!(
            texts(&query_tokens("垃圾回收", QueryMode::Terms)),
            ["垃圾@0", "圾回@1", "回收@2"]
        );
        assert_eq!(texts(&query_tokens("垃", QueryMode::Terms)), ["垃@0"]);
    }

    #[test]
    fn identifiers_split_into_parts_at_consecutive_positions() {
        assert_eq!(
            texts(&index_tokens("GODEBUG=gctrace=1")),
            ["godebug@0", "gctrace@1", "1@2"]
        );
        assert_eq!(
            texts(&index_tokens("memory.numa_stat")),
            ["memori@0", "numa@1", "stat@2"]
        );
        assert_eq!(
            texts(&index_tokens("KUBE-SVC-XXXX")),
            ["kube@0", "svc@1", "xxxx@2"]
        );
    }

    #[test]
    fn camel_case_words_are_indexed_whole_and_by_parts() {
        assert_eq!(
            texts(&index_tokens("runtime.MemStats")),
            ["runtim@0", "memstat@1", "mem@1", "stat@2"]
        );
        assert_eq!(
            texts(&index_tokens("HTTPServer")),
            ["httpserver@0", "http@0", "server@1"]
        );
        assert_eq!(
            texts(&query_tokens("MemStats", QueryMode::Terms)),
            ["memstat@0"]
        );
        assert_eq!(
            texts(&query_tokens("runtime.MemStats", QueryMode::Phrase)),
            ["runtim@0", "mem@1", "stat@2"]
        );
    }

    #[test]
    fn mixed_runs_share_one_position_sequence() {
        assert_eq!(
            texts(&index_tokens("ENTRYPOINT与CMD")),
            ["entrypoint@0", "与@1", "cmd@2"]
        );
        assert_eq!(
            texts(&query_tokens("ENTRYPOINT与CMD", QueryMode::Phrase)),
            ["entrypoint@0", "与@1", "cmd@2"]
        );
    }

    #[test]
    fn english_words_are_lowercased_and_stemmed() {
        assert_eq!(
            texts(&index_tokens("Containers running")),
            ["contain@0", "run@1"]
        );
    }

    #[test]
    fn full_width_ascii_folds_to_ascii() {
        assert_eq!(texts(&index_tokens("ＤＯＣＫＥＲ")), ["docker@0"]);
    }

    #[test]
    fn overlong_words_are_dropped_but_keep_their_position() {
        let blob = "a".repeat(MAX_WORD_CHARS + 1);
        assert_eq!(texts(&index_tokens(&format!("x {blob} y"))), ["x@0", "y@2"]);
    }
}
