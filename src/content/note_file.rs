//! What a note file is: the one rule the content walk, links between notes, wikilinks, URL
//! routes and `kb serve`'s watcher all ask.

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
