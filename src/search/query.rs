//! The query language, parsed once into typed clauses that the tantivy index, the excerpt
//! matcher and the browser (search.js mirrors [`parse`]) all execute the same way.
//!
//! - Words separated by spaces: every token must appear somewhere in the note (title, headings,
//!   text, code or tags). A Chinese word is its bigrams, so `垃圾回收` needs `垃圾`, `圾回`, `回收`.
//! - `"..."`: a phrase, tokens at consecutive positions.
//! - `tag:NAME`: only notes with that tag (case-insensitive).
//! - The last word, unless the query ends with a space or a quote, also matches as a prefix
//!   (`gctr` finds `gctrace`), so results can follow the user's typing.
//!
//! When no note has every token, the search falls back to notes that have any of them.

use super::tokenize::{prefix_form, query_tokens, QueryMode, TokenKind};

/// One requirement of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Clause {
    /// This indexed term must appear.
    Term(String),
    /// The word being typed: its own term, or any term starting with `prefix`.
    Prefix { exact: String, prefix: String },
    /// These terms at these relative positions.
    Phrase(Vec<(usize, String)>),
}

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParsedQuery {
    pub clauses: Vec<Clause>,
    /// Lowercased tag filters (`tag:docker`).
    pub tags: Vec<String>,
}

impl ParsedQuery {
    /// True when the query has nothing to match or filter on.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty() && self.tags.is_empty()
    }

    /// Every exact term the query can match (for highlighting).
    pub fn terms(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.clauses {
            match c {
                Clause::Term(t) => out.push(t),
                Clause::Prefix { exact, .. } => out.push(exact),
                Clause::Phrase(ts) => out.extend(ts.iter().map(|(_, t)| t.as_str())),
            }
        }
        out
    }
}

/// Minimum characters for the typed-word prefix: one letter would expand to half the dictionary.
pub(crate) const MIN_PREFIX_CHARS: usize = 2;

/// Parse a query string (never fails: unknown syntax is text).
pub(crate) fn parse(input: &str) -> ParsedQuery {
    let mut q = ParsedQuery::default();
    // (text, quoted) chunks
    let mut chunks: Vec<(String, bool)> = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let trimmed = rest.trim_start();
        if trimmed.is_empty() {
            break;
        }
        if let Some(after) = trimmed.strip_prefix('"') {
            match after.find('"') {
                Some(end) => {
                    chunks.push((after[..end].to_string(), true));
                    rest = &after[end + 1..];
                }
                None => {
                    // an unclosed quote while typing: a phrase up to the end
                    chunks.push((after.to_string(), true));
                    rest = "";
                }
            }
        } else {
            let end = trimmed
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(trimmed.len());
            chunks.push((trimmed[..end].to_string(), false));
            rest = &trimmed[end..];
        }
    }
    let typing = !input.ends_with(|c: char| c.is_whitespace() || c == '"');
    let last_plain = chunks
        .iter()
        .rposition(|(_, quoted)| !quoted)
        .filter(|&i| i + 1 == chunks.len());

    for (i, (text, quoted)) in chunks.iter().enumerate() {
        if !quoted {
            if let Some(tag) = text
                .strip_prefix("tag:")
                .or_else(|| text.strip_prefix("tags:"))
            {
                if !tag.is_empty() {
                    q.tags.push(tag.to_lowercase());
                }
                continue;
            }
        }
        if *quoted {
            let toks = query_tokens(text, QueryMode::Phrase);
            match toks.len() {
                0 => {}
                1 => push_unique(&mut q.clauses, Clause::Term(toks[0].text.clone())),
                _ => {
                    let base = toks[0].position;
                    q.clauses.push(Clause::Phrase(
                        toks.into_iter()
                            .map(|t| (t.position - base, t.text))
                            .collect(),
                    ))
                }
            }
            continue;
        }
        let toks = query_tokens(text, QueryMode::Terms);
        let n = toks.len();
        for (k, t) in toks.into_iter().enumerate() {
            let is_typed_word =
                typing && Some(i) == last_plain && k + 1 == n && t.kind == TokenKind::Word;
            let raw = prefix_form(&text[t.from..t.to]);
            if is_typed_word && raw.chars().count() >= MIN_PREFIX_CHARS {
                push_unique(
                    &mut q.clauses,
                    Clause::Prefix {
                        exact: t.text,
                        prefix: raw,
                    },
                );
            } else {
                push_unique(&mut q.clauses, Clause::Term(t.text));
            }
        }
    }
    q.tags.dedup();
    q
}

fn push_unique(clauses: &mut Vec<Clause>, c: Clause) {
    if !clauses.contains(&c) {
        clauses.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(s: &str) -> Clause {
        Clause::Term(s.into())
    }

    #[test]
    fn chinese_words_become_required_bigrams() {
        assert_eq!(
            parse("垃圾回收 ").clauses,
            [term("垃圾"), term("圾回"), term("回收")]
        );
    }

    #[test]
    fn last_word_is_a_prefix_while_typing() {
        let q = parse("docker gctr");
        assert_eq!(
            q.clauses,
            [
                term("docker"),
                Clause::Prefix {
                    exact: "gctr".into(),
                    prefix: "gctr".into()
                }
            ]
        );
        // a trailing space ends the word
        assert_eq!(
            parse("docker gctr ").clauses,
            [term("docker"), term("gctr")]
        );
    }

    #[test]
    fn prefix_keeps_the_unstemmed_form() {
        let q = parse("proxy");
        assert_eq!(
            q.clauses,
            [Clause::Prefix {
                exact: "proxi".into(),
                prefix: "proxy".into()
            }]
        );
    }

    #[test]
    fn quotes_make_phrases_and_tag_filters_are_separate() {
        let q = parse("tag:Docker \"device or resource busy\" 共享内存");
        assert_eq!(q.tags, ["docker"]);
        assert_eq!(
            q.clauses,
            [
                Clause::Phrase(vec![
                    (0, "devic".into()),
                    (1, "or".into()),
                    (2, "resourc".into()),
                    (3, "busi".into())
                ]),
                term("共享"),
                term("享内"),
                term("内存"),
            ]
        );
    }

    #[test]
    fn identifiers_become_required_parts() {
        assert_eq!(
            parse("memory.numa_stat ").clauses,
            [term("memori"), term("numa"), term("stat")]
        );
    }

    #[test]
    fn empty_and_punctuation_only_queries_are_empty() {
        assert!(parse("  ").is_empty());
        assert!(parse("...").is_empty());
    }
}
