//! What the markdown stage hands to the search index for each note.

use serde::{Deserialize, Serialize};

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
