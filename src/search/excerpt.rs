//! Excerpts: which section of a note a hit points at, and a short window of its text with the
//! matched tokens highlighted.
//!
//! Works in characters, not bytes (tantivy's `SnippetGenerator` counts bytes, so a Chinese
//! excerpt would be a third of the intended length), and re-tokenizes the section with the index
//! tokenizer, so a stemmed match (`containers` for `container`) or a CJK bigram run
//! (`垃圾回收`) highlights the original text. search.js runs the same algorithm on the same
//! section text, so browser and CLI show the same excerpt.

use serde::Serialize;

use crate::html::escape_into;

use super::doc::{SearchDoc, SearchSection};
use super::query::ParsedQuery;
use super::tokenize::{is_cjk, match_tokens, prefix_form, Tok};

/// Excerpt length in characters (about two terminal lines of mixed Chinese and English).
pub(crate) const EXCERPT_CHARS: usize = 90;
/// Characters of context kept before the first match.
pub(crate) const LEAD_CHARS: usize = 15;

/// Matches index tokens against a query's terms and typed prefix.
pub(crate) struct Matcher {
    /// Query terms, one slot each (a term is counted once however often it occurs).
    terms: Vec<String>,
    prefix: Option<String>,
    /// See [`Matcher::may_match`].
    needles: Vec<String>,
}

impl Matcher {
    pub fn new(q: &ParsedQuery) -> Matcher {
        let mut terms: Vec<String> = Vec::new();
        for t in q.terms() {
            if !terms.iter().any(|x| x == t) {
                terms.push(t.to_string());
            }
        }
        let prefix = q.clauses.iter().find_map(|c| match c {
            super::query::Clause::Prefix { prefix, .. } => Some(prefix.clone()),
            _ => None,
        });
        let mut needles: Vec<String> = terms
            .iter()
            .map(|t| {
                if t.chars().next().is_some_and(is_cjk) {
                    t.clone()
                } else {
                    let n = t.chars().count();
                    t.chars().take((n.saturating_sub(1)).clamp(1, 3)).collect()
                }
            })
            .collect();
        needles.extend(prefix.clone());
        Matcher {
            terms,
            prefix,
            needles,
        }
    }

    /// Which query slot a token matches: terms by equality, the typed prefix against the token or
    /// the original word (the stem of `running` is `run`, but `runn` should still light up).
    fn slot(&self, tok: &Tok, original: &str) -> Option<usize> {
        if let Some(i) = self.terms.iter().position(|t| *t == tok.text) {
            return Some(i);
        }
        let p = self.prefix.as_deref()?;
        (tok.text.starts_with(p) || original.to_lowercase().starts_with(p))
            .then_some(self.terms.len())
    }

    /// A cheap test that skips tokenizing texts that cannot match: every term's "needle" (a CJK
    /// term itself; for a word, up to 3 leading characters of its stem, which stemming never
    /// changes) must occur in the folded text for the term to match there.
    fn may_match(&self, text: &str) -> bool {
        if self.needles.is_empty() {
            return true;
        }
        let folded = prefix_form(text);
        self.needles.iter().any(|n| folded.contains(n.as_str()))
    }

    fn matches(&self, text: &str) -> Vec<Match> {
        if self.terms.is_empty() && self.prefix.is_none() || !self.may_match(text) {
            return Vec::new();
        }
        let toks = match_tokens(text);
        let mut out = Vec::new();
        // byte -> char index, walked forward once (token starts never go backwards)
        let mut cursor = (0usize, 0usize);
        let mut char_at = |byte: usize| -> usize {
            if byte < cursor.0 {
                cursor = (0, 0);
            }
            cursor.1 += text[cursor.0..byte].chars().count();
            cursor.0 = byte;
            cursor.1
        };
        for tok in &toks {
            if let Some(slot) = self.slot(tok, &text[tok.from..tok.to]) {
                let from = char_at(tok.from);
                let len = text[tok.from..tok.to].chars().count();
                out.push(Match {
                    from,
                    to: from + len,
                    slot,
                });
            }
        }
        out
    }
}

#[derive(Debug, Clone, Copy)]
struct Match {
    from: usize,
    to: usize,
    slot: usize,
}

/// Length in characters of the longest stretch of text covered by touching or overlapping
/// matches: `垃圾回收` matched whole (its bigrams overlap) is a stretch of 4, `垃圾` and `回收`
/// apart are stretches of 2.
fn longest_run(ms: &[Match]) -> usize {
    let mut spans: Vec<(usize, usize)> = ms.iter().map(|m| (m.from, m.to)).collect();
    spans.sort_unstable();
    let mut best = 0;
    let mut cur: Option<(usize, usize)> = None;
    for (f, t) in spans {
        cur = match cur {
            Some((cf, ct)) if f <= ct => Some((cf, ct.max(t))),
            Some((cf, ct)) => {
                best = best.max(ct - cf);
                Some((f, t))
            }
            None => Some((f, t)),
        };
    }
    cur.map_or(best, |(cf, ct)| best.max(ct - cf))
}

fn distinct(ms: &[Match]) -> usize {
    let mut slots: Vec<usize> = ms.iter().map(|m| m.slot).collect();
    slots.sort_unstable();
    slots.dedup();
    slots.len()
}

/// A window of text with highlighted character ranges (end-exclusive, into `text`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Excerpt {
    pub text: String,
    pub highlights: Vec<(usize, usize)>,
}

impl Excerpt {
    /// The excerpt as HTML: escaped, with `<mark>` around highlights.
    pub fn to_html(&self) -> String {
        self.render(escape_into, "<mark>", "</mark>")
    }

    /// Render with arbitrary highlight delimiters (the CLI uses ANSI colours).
    pub fn render(&self, text: impl Fn(&str, &mut String), open: &str, close: &str) -> String {
        let chars: Vec<char> = self.text.chars().collect();
        let mut out = String::new();
        let mut at = 0;
        for &(from, to) in &self.highlights {
            text(&chars[at..from].iter().collect::<String>(), &mut out);
            out.push_str(open);
            text(&chars[from..to].iter().collect::<String>(), &mut out);
            out.push_str(close);
            at = to;
        }
        text(&chars[at..].iter().collect::<String>(), &mut out);
        out
    }
}

/// The section a hit points at and its excerpt.
#[derive(Debug, Clone)]
pub(crate) struct Located {
    pub section: usize,
    pub excerpt: Excerpt,
}

/// Pick the section with the most distinct query terms (heading matches count double, code
/// half; on a tie, the longest stretch of contiguous matches in its text), then the excerpt
/// window in its text (or code, when only the code matches).
pub(crate) fn locate(doc: &SearchDoc, m: &Matcher) -> Located {
    // ((score, longest run), section, its matches, matches are in code)
    type Best = ((f32, usize), usize, Vec<Match>, bool);
    let mut best: Option<Best> = None;
    for (i, s) in doc.sections.iter().enumerate() {
        let h = distinct(&m.matches(&s.heading)) as f32;
        let tm = m.matches(&s.text);
        let t = distinct(&tm) as f32;
        let cm = if t == 0.0 {
            m.matches(&s.code)
        } else {
            Vec::new()
        };
        let c = distinct(&cm) as f32;
        let score = (2.0 * h + t + 0.5 * c, longest_run(&tm));
        let better = |b: &(f32, usize)| score.0 > b.0 || (score.0 == b.0 && score.1 > b.1);
        if best.as_ref().is_none_or(|(b, ..)| better(b)) {
            best = if t > 0.0 {
                Some((score, i, tm, false))
            } else {
                Some((score, i, cm, c > 0.0))
            };
        }
    }
    let Some((_, section, ms, in_code)) = best else {
        return Located {
            section: 0,
            excerpt: Excerpt::default(),
        };
    };
    let s: &SearchSection = &doc.sections[section];
    let source = if in_code || s.text.is_empty() {
        &s.code
    } else {
        &s.text
    };
    Located {
        section,
        excerpt: window(source, &ms),
    }
}

/// The best window of `EXCERPT_CHARS` characters: most distinct terms, then the longest
/// stretch of contiguous matches (the query's words whole rather than their bigrams apart),
/// then the earliest.
fn window(text: &str, ms: &[Match]) -> Excerpt {
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c == '\n' { ' ' } else { c })
        .collect();
    let n = chars.len();
    let mut start = 0;
    if !ms.is_empty() {
        let mut best = (0usize, 0usize, 0usize);
        for m in ms {
            let end = m.from + EXCERPT_CHARS - LEAD_CHARS.min(m.from);
            let inside: Vec<Match> = ms
                .iter()
                .copied()
                .filter(|x| x.from >= m.from && x.to <= end)
                .collect();
            let (d, run) = (distinct(&inside), longest_run(&inside));
            if d > best.0 || (d == best.0 && run > best.1) {
                best = (d, run, m.from);
            }
        }
        start = best.2.saturating_sub(LEAD_CHARS);
    }
    let end = (start + EXCERPT_CHARS).min(n);
    if end == n {
        start = n.saturating_sub(EXCERPT_CHARS);
    }
    let lead = usize::from(start > 0);
    let mut out: String = if start > 0 {
        "…".into()
    } else {
        String::new()
    };
    out.extend(&chars[start..end]);
    if end < n {
        out.push('…');
    }
    // merge overlapping or touching spans (CJK bigrams overlap by one character)
    let mut spans: Vec<(usize, usize)> = ms
        .iter()
        .filter(|m| m.to > start && m.from < end)
        .map(|m| {
            (
                m.from.max(start) - start + lead,
                m.to.min(end) - start + lead,
            )
        })
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (f, t) in spans {
        match merged.last_mut() {
            Some(last) if f <= last.1 => last.1 = last.1.max(t),
            _ => merged.push((f, t)),
        }
    }
    Excerpt {
        text: out,
        highlights: merged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::query::parse;

    fn doc(rows: &[(&str, &str, &str, &str)]) -> SearchDoc {
        SearchDoc {
            sections: crate::search::doc::sections(rows),
            ..Default::default()
        }
    }

    #[test]
    fn cjk_match_is_highlighted_as_one_span() {
        let d = doc(&[("", "", "常用垃圾回收方法有三种", "")]);
        let l = locate(&d, &Matcher::new(&parse("垃圾回收")));
        assert_eq!(l.excerpt.to_html(), "常用<mark>垃圾回收</mark>方法有三种");
    }

    #[test]
    fn stemmed_matches_highlight_the_original_word() {
        let d = doc(&[("", "", "Stopping containers gracefully", "")]);
        let l = locate(&d, &Matcher::new(&parse("container ")));
        assert_eq!(
            l.excerpt.to_html(),
            "Stopping <mark>containers</mark> gracefully"
        );
    }

    #[test]
    fn section_with_the_most_terms_wins_and_heading_counts_double() {
        let d = doc(&[
            ("", "", "写屏障在标记阶段打开", ""),
            ("gc-log", "GC 日志", "用 GODEBUG=gctrace=1 打开 GC 日志", ""),
            ("barrier", "写屏障", "写屏障记录指针写入", ""),
        ]);
        assert_eq!(locate(&d, &Matcher::new(&parse("写屏障"))).section, 2);
        assert_eq!(locate(&d, &Matcher::new(&parse("gctrace"))).section, 1);
    }

    #[test]
    fn long_text_is_windowed_around_the_match_in_characters() {
        let text = format!("{}三色标记{}", "前".repeat(200), "后".repeat(200));
        let d = doc(&[("", "", &text, "")]);
        let e = locate(&d, &Matcher::new(&parse("三色标记"))).excerpt;
        assert_eq!(e.text.chars().count(), EXCERPT_CHARS + 2);
        assert!(e.text.starts_with('…') && e.text.ends_with('…'));
        assert_eq!(e.highlights, [(LEAD_CHARS + 1, LEAD_CHARS + 5)]);
    }

    #[test]
    fn a_chinese_word_matched_whole_beats_its_bigrams_apart() {
        // `gc 垃圾 ... 回收` and `垃圾回收` both hold three distinct query terms; the window with
        // the word whole wins although it comes later.
        let text = format!(
            "gc 把垃圾放进去，再回收。{}然后是垃圾回收的过程",
            "中".repeat(120)
        );
        let d = doc(&[("", "", &text, "")]);
        let e = locate(&d, &Matcher::new(&parse("垃圾回收 gc"))).excerpt;
        assert!(
            e.to_html().contains("<mark>垃圾回收</mark>"),
            "{}",
            e.to_html()
        );
        // and a section holding the word whole beats an earlier one with as many terms
        let d = doc(&[("a", "", "gc 垃圾，回收", ""), ("b", "", "垃圾回收", "")]);
        assert_eq!(locate(&d, &Matcher::new(&parse("垃圾回收 gc"))).section, 1);
    }

    #[test]
    fn code_is_the_excerpt_when_only_code_matches() {
        let d = doc(&[("run", "运行", "打开日志", "GODEBUG=gctrace=1 go run gc.go")]);
        let e = locate(&d, &Matcher::new(&parse("gctrace "))).excerpt;
        assert_eq!(e.to_html(), "GODEBUG=<mark>gctrace</mark>=1 go run gc.go");
    }

    #[test]
    fn html_escapes_text_and_highlights_alike() {
        let e = Excerpt {
            text: "it's <b> & \"x\"".into(),
            highlights: vec![(5, 8)],
        };
        assert_eq!(
            e.to_html(),
            "it&#39;s <mark>&lt;b&gt;</mark> &amp; &quot;x&quot;"
        );
    }

    #[test]
    fn typed_prefix_highlights_the_word() {
        let d = doc(&[("", "", "running the program", "")]);
        let e = locate(&d, &Matcher::new(&parse("runn"))).excerpt;
        assert_eq!(e.to_html(), "<mark>running</mark> the program");
    }
}
