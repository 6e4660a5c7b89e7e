//! Find the fenced code blocks of a note body, with their line in the source file.

use std::fmt;
use std::ops::Range;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use super::info::{self, AttrError, FenceInfo};

/// Identifies a block across `kb verify` and `kb build`: the note's path relative to the knowledge
/// base root (with `/` separators) and the block's 1-based ordinal among the note's fenced blocks.
/// Displayed as `content/go/panic.md#3`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SnippetKey {
    pub note: String,
    pub ordinal: usize,
}

impl fmt::Display for SnippetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.note, self.ordinal)
    }
}

/// One fenced code block.
#[derive(Debug, Clone)]
pub struct CodeBlock {
    /// 1-based ordinal among the note's fenced code blocks (indented blocks are not counted).
    pub ordinal: usize,
    /// 1-based line of the opening fence in the note's file.
    pub line: usize,
    pub info: FenceInfo,
    /// The block's text, ending with a newline unless empty.
    pub text: String,
    /// Byte range of the block's text inside the body passed to [`extract`] (for `--update`).
    pub text_range: Range<usize>,
}

/// A fence whose info string does not parse.
#[derive(Debug, Clone)]
pub struct BlockError {
    /// 1-based line of the fence in the note's file.
    pub line: usize,
    pub error: AttrError,
}

/// Markdown options shared by every stage that parses note bodies, so block ordinals agree.
///
/// Math (`$x$`, `$$x$$`: TeX is kept verbatim, so `\\` survives) and definition lists (`Term`
/// then `: definition`) are inline or wrap blocks without changing where a fence starts or ends,
/// so they do not change which code blocks are found. GitHub alerts (`ENABLE_GFM`) are left off:
/// `markdown::callouts` reads `> [!NOTE]` and Obsidian's `> [!info] Title` the same way.
pub fn markdown_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_WIKILINKS
        | Options::ENABLE_MATH
        | Options::ENABLE_DEFINITION_LIST
}

/// Opens and closes an Obsidian comment (`%%hidden%%`) in prose; inside code it is text.
/// A fenced block inside a comment is no block: not shown (`markdown::comments`) and not run.
pub const COMMENT_MARK: &str = "%%";

/// Whether the prose text `t` opens or closes a comment (an odd number of marks).
pub fn toggles_comment(t: &str) -> bool {
    t.matches(COMMENT_MARK).count() % 2 == 1
}

/// Extract the fenced code blocks of `body`. `body_line` is the 1-based file line on which the
/// body starts (after front matter), so reported lines point into the real file.
pub fn extract(body: &str, body_line: usize) -> (Vec<CodeBlock>, Vec<BlockError>) {
    let line_starts = LineIndex::new(body);
    let mut blocks = Vec::new();
    let mut errors = Vec::new();
    let mut current: Option<(usize, FenceInfo, String, Option<Range<usize>>)> = None;
    let mut ordinal = 0;
    let mut in_code = false;
    let mut in_comment = false;
    let has_comments = body.contains(COMMENT_MARK);
    for (event, range) in Parser::new_ext(body, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(_)) if in_comment => in_code = true,
            Event::Start(Tag::CodeBlock(CodeBlockKind::Indented)) => in_code = true,
            Event::Text(t) if has_comments && !in_code => in_comment ^= toggles_comment(&t),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info_str))) => {
                in_code = true;
                ordinal += 1;
                let line = body_line + line_starts.line_of(range.start);
                let info = match info::parse(&info_str) {
                    Ok(i) => i,
                    Err(error) => {
                        errors.push(BlockError { line, error });
                        FenceInfo::plain(&info_str)
                    }
                };
                current = Some((line, info, String::new(), None));
            }
            Event::Text(t) => {
                if let Some((_, _, text, r)) = current.as_mut() {
                    text.push_str(&t);
                    *r = Some(match r.take() {
                        Some(prev) => prev.start..range.end,
                        None => range.clone(),
                    });
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                if let Some((line, info, text, r)) = current.take() {
                    // An empty block: point the range just before the closing fence.
                    let text_range = r.unwrap_or_else(|| {
                        let close = body[..range.end].trim_end_matches(['\n', '\r']);
                        let close_start = close.rfind('\n').map(|i| i + 1).unwrap_or(range.start);
                        close_start..close_start
                    });
                    blocks.push(CodeBlock {
                        ordinal,
                        line,
                        info,
                        text,
                        text_range,
                    });
                }
            }
            _ => {}
        }
    }
    (blocks, errors)
}

/// Byte offset -> 0-based line number.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// 0-based line containing byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snippet::Lang;

    const BODY: &str = "# Title\n\nText.\n\n```go run session=a\npackage main\n```\n\n```output\nhello\n```\n\n    indented\n\n- item\n\n  ```sh {skip=\"old kernel\"}\n  echo hi\n  ```\n";

    #[test]
    fn blocks_carry_file_lines_ordinals_and_text() {
        let (blocks, errors) = extract(BODY, 5);
        assert!(errors.is_empty());
        assert_eq!(blocks.len(), 3, "indented code is not a fenced block");
        assert_eq!((blocks[0].ordinal, blocks[0].line), (1, 9));
        assert_eq!(blocks[0].info.lang, Some(Lang::Go));
        assert_eq!(blocks[0].text, "package main\n");
        assert_eq!(&BODY[blocks[0].text_range.clone()], "package main\n");
        assert!(blocks[1].info.attrs.output);
        assert_eq!(blocks[1].text, "hello\n");
        assert_eq!((blocks[2].ordinal, blocks[2].line), (3, 21));
        assert_eq!(blocks[2].text, "echo hi\n", "list indentation is stripped");
        assert_eq!(
            blocks[2]
                .info
                .attrs
                .skip
                .as_ref()
                .unwrap()
                .reason
                .as_deref(),
            Some("old kernel")
        );
    }

    #[test]
    fn bad_attributes_are_reported_with_the_fence_line_and_the_block_kept() {
        let (blocks, errors) = extract("para\n\n```go rnu\nx\n```\n", 1);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].info.lang, Some(Lang::Go));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].error.hint.contains("run"));
    }

    #[test]
    fn empty_block_has_an_empty_range_inside_the_fence() {
        let body = "```output\n```\n";
        let (blocks, _) = extract(body, 1);
        assert_eq!(blocks[0].text, "");
        assert_eq!(blocks[0].text_range, 10..10);
    }

    #[test]
    fn a_fenced_block_inside_an_obsidian_comment_is_no_block() {
        let body = "```sh\na\n```\n\n%%\n```sh\nb %% c\n```\n%%\n\n`%%` ```sh\nnot a fence\n\n```sh\nd\n```\n";
        let (blocks, _) = extract(body, 1);
        let texts: Vec<_> = blocks
            .iter()
            .map(|b| (b.ordinal, b.text.as_str()))
            .collect();
        assert_eq!(texts, [(1, "a\n"), (2, "d\n")]);
    }

    /// Math and definition lists were switched on after notes had snippets keyed by ordinal:
    /// they must find the fences the old options found, where they found them.
    #[test]
    fn math_and_definition_lists_find_the_same_fences() {
        let before = Options::ENABLE_TABLES
            | Options::ENABLE_FOOTNOTES
            | Options::ENABLE_STRIKETHROUGH
            | Options::ENABLE_TASKLISTS
            | Options::ENABLE_HEADING_ATTRIBUTES
            | Options::ENABLE_WIKILINKS;
        let fences = |body: &str, options: Options| -> Vec<(usize, String)> {
            let mut found = Vec::new();
            let mut current: Option<(usize, String)> = None;
            for (ev, range) in Parser::new_ext(body, options).into_offset_iter() {
                match ev {
                    Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                        current = Some((range.start, String::new()))
                    }
                    Event::Text(t) => {
                        if let Some((_, text)) = current.as_mut() {
                            text.push_str(&t)
                        }
                    }
                    Event::End(TagEnd::CodeBlock) => found.extend(current.take()),
                    _ => {}
                }
            }
            found
        };
        for body in [
            "$$\n```sh\nx\n```\n$$\n",
            "cost $5\n```sh\necho $HOME\n```\nand $6\n",
            "$a\n```\nb$\n```\n",
            "Term\n: def\n\n```go\ny\n```\n",
            ": not a definition\n```sh\nz\n```\n",
            "- a\n\n  : b\n\n  ```sh\nw\n  ```\n",
            "| a |\n|---|\n| $x |\n\n```sh\nv $\n```\n",
        ] {
            let old = fences(body, before);
            assert_eq!(old, fences(body, markdown_options()), "{body:?}");
            assert!(!old.is_empty(), "{body:?}");
        }
        // The one change: a fence opened on a definition's line is a fence (it was text that
        // swallowed what followed), which is what the author of a definition list meant.
        let body = "Term\n: ```sh\n  x\n  ```\n\nafter\n";
        assert_eq!(fences(body, markdown_options()), [(7, "x\n".to_string())]);
    }

    #[test]
    fn snippet_key_displays_as_path_hash_ordinal() {
        let k = SnippetKey {
            note: "content/go/panic.md".into(),
            ordinal: 3,
        };
        assert_eq!(k.to_string(), "content/go/panic.md#3");
    }
}
