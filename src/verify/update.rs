//! `kb verify --update`: write the observed output back into the notes.
//!
//! Only the text between a block's fences changes, spliced by byte range (the block's
//! `text_range` plus the body's offset in the file), so everything else in the note — front
//! matter, prose, the fences and their attributes — stays byte for byte. Blocks nested in lists or
//! quotes get their fence line's indentation (or `>` marker) back on every line. The new text is
//! the actual output normalised through the old expected text, so wildcards that still match are
//! kept and only real changes land in the diff a reviewer sees.

use std::ops::Range;
use std::path::Path;

use anyhow::Context;

/// Replace one block's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    /// The block's text range relative to the body ([`crate::snippet::CodeBlock::text_range`]).
    pub(crate) text_range: Range<usize>,
    /// 1-based file line of the block's opening fence.
    pub(crate) fence_line: usize,
    /// New block text (lines, each ending with a newline).
    pub(crate) new_text: String,
}

/// Apply edits to a note's full file text whose body starts at byte `body_offset`.
pub(crate) fn apply(file: &str, body_offset: usize, edits: &[Edit]) -> String {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(file.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let mut edits: Vec<&Edit> = edits.iter().collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.text_range.start));
    let mut out = file.to_string();
    for e in edits {
        let start = body_offset + e.text_range.start;
        let end = body_offset + e.text_range.end;
        // Back to the start of the first text line, to rewrite its indentation too.
        let start = file[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
        let fence = line_starts
            .get(e.fence_line.saturating_sub(1))
            .map(|&s| file[s..].lines().next().unwrap_or(""))
            .unwrap_or("");
        let prefix = &fence[..fence.find(['`', '~']).unwrap_or(0)];
        let mut text = String::new();
        for line in e.new_text.lines() {
            text.push_str(if line.is_empty() {
                prefix.trim_end()
            } else {
                prefix
            });
            text.push_str(line);
            text.push('\n');
        }
        // Output holding a run of the fence's character at the start of a line would close the
        // block early and turn the rest into markdown (new runnable blocks even): lengthen both
        // fences past the longest such run, as CommonMark allows.
        let run = &fence[prefix.len()..];
        let Some(mark) = run.chars().next() else {
            out.replace_range(start..end, &text);
            continue;
        };
        let old_len = run.chars().take_while(|&c| c == mark).count();
        let needed = longest_leading_run(&e.new_text, mark) + 1;
        if needed <= old_len {
            out.replace_range(start..end, &text);
            continue;
        }
        let new_fence: String = std::iter::repeat_n(mark, needed).collect();
        let open_start = line_starts
            .get(e.fence_line.saturating_sub(1))
            .copied()
            .unwrap_or(start);
        let close_line = file[end..].lines().next().unwrap_or("");
        let closes = close_line.trim_start().starts_with(&run[..old_len])
            && close_line.trim().chars().all(|c| c == mark);
        let close_end = if closes { end + close_line.len() } else { end };
        let replacement = format!(
            "{prefix}{new_fence}{info}\n{text}{prefix}{new_fence}{newline}",
            info = &run[old_len..],
            newline = if closes { "" } else { "\n" },
        );
        out.replace_range(open_start..close_end, &replacement);
    }
    out
}

/// The longest run of `mark` at the start of a line of `text` (after indentation).
fn longest_leading_run(text: &str, mark: char) -> usize {
    text.lines()
        .map(|l| l.trim_start().chars().take_while(|&c| c == mark).count())
        .max()
        .unwrap_or(0)
}

/// Rewrite a note file in place (temp file + rename, so an interrupted write loses nothing).
pub(crate) fn write_note(path: &Path, text: &str) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("couldn't create a temp file in `{}`", dir.display()))?;
    std::io::Write::write_all(&mut tmp, text.as_bytes())?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(tmp.path(), meta.permissions());
    }
    tmp.persist(path)
        .with_context(|| format!("couldn't write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snippet::extract;

    fn edit_block(
        file: &str,
        body_offset: usize,
        body_line: usize,
        ordinal: usize,
        new_text: &str,
    ) -> String {
        let (blocks, _) = extract(&file[body_offset..], body_line);
        let b = blocks.iter().find(|b| b.ordinal == ordinal).unwrap();
        apply(
            file,
            body_offset,
            &[Edit {
                text_range: b.text_range.clone(),
                fence_line: b.line,
                new_text: new_text.into(),
            }],
        )
    }

    #[test]
    fn only_the_block_text_changes() {
        let fm = "---\ntitle: x\n---\n";
        let file = format!("{fm}# T\n\n```sh run\necho new\n```\n\n```output\nold\n```\n\ntail\n");
        let out = edit_block(&file, fm.len(), 4, 2, "new\nlines\n");
        assert_eq!(
            out,
            format!("{fm}# T\n\n```sh run\necho new\n```\n\n```output\nnew\nlines\n```\n\ntail\n")
        );
    }

    #[test]
    fn empty_blocks_are_filled_and_blocks_can_be_emptied() {
        let file = "```output\n```\n";
        assert_eq!(edit_block(file, 0, 1, 1, "x\n"), "```output\nx\n```\n");
        let file = "```output\na\nb\n```\n";
        assert_eq!(edit_block(file, 0, 1, 1, ""), "```output\n```\n");
    }

    #[test]
    fn blocks_in_lists_keep_their_indentation() {
        let file = "1. step\n\n   ```console run\n   $ echo a\n   b\n   ```\n";
        let out = edit_block(file, 0, 1, 1, "$ echo a\na\n\nz\n");
        assert_eq!(
            out,
            "1. step\n\n   ```console run\n   $ echo a\n   a\n\n   z\n   ```\n"
        );
        let (blocks, _) = extract(&out, 1);
        assert_eq!(blocks[0].text, "$ echo a\na\n\nz\n");
    }

    #[test]
    fn several_edits_in_one_file_apply_from_the_end() {
        let file = "```output\n1\n```\n\n```output\n2\n```\n";
        let (blocks, _) = extract(file, 1);
        let edits: Vec<Edit> = blocks
            .iter()
            .map(|b| Edit {
                text_range: b.text_range.clone(),
                fence_line: b.line,
                new_text: format!("{}{}\n", b.text.trim(), b.text.trim()),
            })
            .collect();
        assert_eq!(
            apply(file, 0, &edits),
            "```output\n11\n```\n\n```output\n22\n```\n"
        );
    }

    #[test]
    fn output_holding_fences_can_never_change_the_notes_structure() {
        let fm = "---\ntitle: x\n---\n";
        for (fence, output) in [
            ("```", "before\n```\n\n```sh run\nrm -rf /\n```\nafter\n"),
            ("```", "````\n`````go run\n"),
            ("~~~", "~~~\n~~~~ sh run\n---\ntitle: injected\n---\n"),
            ("```", "---\ndraft: true\n---\n~~~\n"),
            ("  ```", "```\n"),
        ] {
            let indent = &fence[..fence.len() - fence.trim_start().len()];
            let file = format!(
                "{fm}# T\n\n{fence}sh run\n{indent}echo x\n{fence}\n\n{fence}output\n{indent}old\n{fence}\n\ntail\n"
            );
            let out = edit_block(&file, fm.len(), 4, 2, output);
            let (blocks, errors) = extract(&out[fm.len()..], 4);
            assert!(errors.is_empty(), "{out}");
            assert_eq!(blocks.len(), 2, "the block count changed:\n{out}");
            assert!(
                blocks[0].info.attrs.run && blocks[1].info.attrs.output,
                "{out}"
            );
            assert_eq!(blocks[1].text, output, "{out}");
            assert!(out.ends_with("\n\ntail\n"), "{out}");
            // a second update (now with longer fences) changes nothing more
            assert_eq!(edit_block(&out, fm.len(), 4, 2, output), out);
        }
    }
}
