//! The tantivy schema of the search index: which fields a note has, which are scored and with
//! what boost (search.js receives scores already multiplied by these), and the version that
//! decides whether a saved index can be reused.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING,
};

use super::doc::SearchDoc;
use super::tokenize::TOKENIZER_NAME;

/// Bumped when the schema or scoring fields change; with [`TOKENIZER_VERSION`] it decides
/// whether a saved index can be reused.
pub(crate) const SCHEMA_VERSION: u32 = 4;
/// The field holding a note's source path.
pub(crate) const SOURCE_FIELD: &str = "source";

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

    pub(crate) fn name(self) -> &'static str {
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

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) scored: [Field; 5],
    pub(crate) tag: Field,
    pub(crate) source: Field,
    pub(crate) doc: Field,
}

impl Fields {
    pub(crate) fn scored(&self, f: ScoredField) -> Field {
        self.scored[f as usize]
    }
}

pub(crate) fn schema() -> (Schema, Fields) {
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
