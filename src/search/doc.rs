//! What the markdown stage hands to the search index for each note, and its one serialized
//! form ([`EncodedDoc`]): the browser's fragment, stored as is in the tantivy index too.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::tokenize::TOKENIZER_VERSION;

/// One note, as text, split at its headings so results can link to `#anchor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchDoc {
    /// Site URL of the note (`/notes/go-gc/`), including the base path.
    pub url: String,
    pub title: String,
    pub tags: Vec<String>,
    /// `YYYY-MM-DD`, if the note has a date.
    pub date: Option<String>,
    /// Note path relative to the root (`content/go/gc.md`), for incremental updates.
    pub source: String,
    /// The text before the first heading comes first, with an empty anchor and heading.
    pub sections: Vec<SearchSection>,
}

/// The text under one heading (up to the next heading of any level).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchSection {
    /// Heading id (without `#`); empty for the text before the first heading.
    pub anchor: String,
    /// Heading text; empty for the text before the first heading.
    pub heading: String,
    /// Prose (paragraphs, lists, tables, inline code), whitespace-collapsed.
    pub text: String,
    /// Contents of code blocks under this heading.
    pub code: String,
}

/// A note serialized once per build: `json` is its browser fragment (`f/N.json`: URL, title,
/// tags, date, sections) and also what the tantivy index stores to cut excerpts from; `hash`
/// covers the source path and that JSON, and is what an update compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodedDoc {
    pub json: String,
    pub hash: String,
}

/// The fragment format, short keys because the browser downloads one per shown result.
#[derive(Serialize)]
struct Fragment<'a> {
    u: &'a str,
    t: &'a str,
    g: &'a [String],
    d: Option<&'a str>,
    /// `[anchor, heading, text, code]` per section.
    s: Vec<[&'a str; 4]>,
}

/// [`Fragment`] read back.
#[derive(Deserialize)]
struct OwnedFragment {
    u: String,
    t: String,
    g: Vec<String>,
    d: Option<String>,
    s: Vec<[String; 4]>,
}

impl EncodedDoc {
    pub(crate) fn new(doc: &SearchDoc) -> EncodedDoc {
        let fragment = Fragment {
            u: &doc.url,
            t: &doc.title,
            g: &doc.tags,
            d: doc.date.as_deref(),
            s: doc
                .sections
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
        // serializing borrowed strings into a String cannot fail
        let json = serde_json::to_string(&fragment).unwrap_or_default();
        let mut h = blake3::Hasher::new();
        h.update(&TOKENIZER_VERSION.to_le_bytes());
        h.update(&(doc.source.len() as u64).to_le_bytes());
        h.update(doc.source.as_bytes());
        h.update(json.as_bytes());
        EncodedDoc {
            json,
            hash: h.finalize().to_hex()[..32].to_string(),
        }
    }

    /// Every doc encoded, in parallel, in the same order.
    pub(crate) fn all(docs: &[&SearchDoc]) -> Vec<EncodedDoc> {
        docs.par_iter().map(|d| EncodedDoc::new(d)).collect()
    }

    /// The note back from its fragment JSON and its source path.
    pub(crate) fn decode(json: &str, source: &str) -> serde_json::Result<SearchDoc> {
        let f: OwnedFragment = serde_json::from_str(json)?;
        Ok(SearchDoc {
            url: f.u,
            title: f.t,
            tags: f.g,
            date: f.d,
            source: source.to_string(),
            sections: f
                .s
                .into_iter()
                .map(|[anchor, heading, text, code]| SearchSection {
                    anchor,
                    heading,
                    text,
                    code,
                })
                .collect(),
        })
    }
}

/// Sections from `(anchor, heading, text, code)` rows (tests of excerpts and the index).
#[cfg(test)]
pub(crate) fn sections(rows: &[(&str, &str, &str, &str)]) -> Vec<SearchSection> {
    rows.iter()
        .map(|&(anchor, heading, text, code)| SearchSection {
            anchor: anchor.into(),
            heading: heading.into(),
            text: text.into(),
            code: code.into(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> SearchDoc {
        SearchDoc {
            url: "/notes/gc/".into(),
            title: "Go GC".into(),
            tags: vec!["go".into()],
            date: Some("2024-01-02".into()),
            source: "content/gc.md".into(),
            sections: sections(&[
                ("", "", "intro", ""),
                ("写屏障", "写屏障", "text \"q\"", "x := 1"),
            ]),
        }
    }

    #[test]
    fn a_note_decodes_from_its_fragment_and_source() {
        let doc = note();
        let enc = EncodedDoc::new(&doc);
        assert!(
            enc.json.starts_with(r#"{"u":"/notes/gc/","t":"Go GC""#),
            "{}",
            enc.json
        );
        assert_eq!(EncodedDoc::decode(&enc.json, &doc.source).unwrap(), doc);
    }

    #[test]
    fn the_hash_changes_with_the_source_and_any_field() {
        let doc = note();
        let base = EncodedDoc::new(&doc).hash;
        let mut moved = doc.clone();
        moved.source = "content/gc2.md".into();
        let mut edited = doc.clone();
        edited.sections[1].code.push('2');
        assert_eq!(EncodedDoc::new(&doc.clone()).hash, base);
        assert_ne!(EncodedDoc::new(&moved).hash, base);
        assert_ne!(EncodedDoc::new(&edited).hash, base);
    }
}
