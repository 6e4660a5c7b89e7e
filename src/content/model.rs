//! The loaded knowledge base: notes and sections, before any rendering.

use std::path::PathBuf;

use crate::diagnostics::Diagnostic;

use super::front_matter::FrontMatter;

/// One markdown note.
#[derive(Debug, Clone)]
pub struct Note {
    /// Absolute path of the file.
    pub source: PathBuf,
    /// Path relative to the knowledge base root, `/`-separated (`content/go/gc.md`): the key
    /// used in messages, verify results and search.
    pub rel: String,
    /// Path relative to `content/` (`go/gc.md`), what relative links resolve against.
    pub content_rel: String,
    /// Section path (`go`, `network/k8s`), empty for notes directly under content/.
    pub section: String,
    pub slug: String,
    /// Site URL including the base path: `/notes/go-gc/`.
    pub url: String,
    pub meta: FrontMatter,
    /// Markdown after the front matter.
    pub body: String,
    /// 1-based file line on which `body` starts.
    pub body_line: usize,
    /// Hash of the whole file, for incremental work (highlight cache, search, serve).
    pub hash: [u8; 32],
}

impl Note {
    /// File stem (`gc` for `content/go/gc.md` or `content/go/gc.markdown`).
    pub fn stem(&self) -> &str {
        let name = self
            .content_rel
            .rsplit('/')
            .next()
            .unwrap_or(&self.content_rel);
        note_stem(name).unwrap_or(name)
    }
}

/// The extensions of a note file, compared without case: the one rule for "is this markdown"
/// (the content walk, links between notes, wikilinks and `kb serve`'s watcher all ask here).
pub const NOTE_EXTENSIONS: [&str; 2] = ["md", "markdown"];

/// `gc` for `gc.md`, `gc.markdown` or `gc.MD`; None for a file that is not a note.
pub fn note_stem(file_name: &str) -> Option<&str> {
    let (stem, ext) = file_name.rsplit_once('.')?;
    (!stem.is_empty() && NOTE_EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)))
        .then_some(stem)
}

/// True for a path whose file name is a note's ([`note_stem`]).
pub fn is_note_file(path: &std::path::Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| note_stem(n).is_some())
}

/// A folder under content/ (its notes are listed on a section page).
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// `go`, `network/k8s`.
    pub path: String,
    /// From `_index.md`'s `title:`, else the folder name.
    pub title: String,
    pub description: String,
    pub weight: i64,
    pub url: String,
}

/// Everything `content::load` found.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Sorted by `rel`.
    pub notes: Vec<Note>,
    /// Sorted by weight, then path; includes every ancestor of a folder with notes.
    pub sections: Vec<Section>,
    pub diagnostics: Vec<Diagnostic>,
    /// Non-markdown files under content/ (absolute paths), copied to the site as they are.
    pub assets: Vec<PathBuf>,
    /// The `_index.md` files (absolute paths): their snippets are checked like notes'.
    pub section_indexes: Vec<PathBuf>,
    /// Notes left out because they are drafts (absolute paths): `kb verify` runs their
    /// snippets, so their snippets are checked too.
    pub drafts_left_out: Vec<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_md_or_markdown_in_any_case_and_nothing_else() {
        assert_eq!(note_stem("gc.md"), Some("gc"));
        assert_eq!(note_stem("gc.markdown"), Some("gc"));
        assert_eq!(note_stem("GC.MD"), Some("GC"));
        assert_eq!(note_stem("a.b.md"), Some("a.b"));
        assert_eq!(note_stem("gc.mdx"), None);
        assert_eq!(note_stem("gc"), None);
        assert_eq!(note_stem(".md"), None);
        assert!(is_note_file(std::path::Path::new("content/go/gc.Markdown")));
        assert!(!is_note_file(std::path::Path::new("content/go/gc.png")));
    }
}
