//! `kb verify --update`: write the observed output back into the notes.
//!
//! Only the text between a block's fences changes, spliced by byte range (the block's
//! `text_range` plus the body's offset in the file), so everything else in the note — front
//! matter, prose, the fences and their attributes — stays byte for byte. Blocks nested in lists or
//! quotes get their fence line's indentation (or `>` marker) back on every line. The new text is
//! the actual output normalised through the old expected text, so wildcards that still match are
//! kept and only real changes land in the diff a reviewer sees.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use anyhow::{bail, Context};

use super::matcher;
use super::notes::Note;
use super::outcome::{BlockOutcome, Failure, Observation, Verdict};
use super::session::{Action, RunStep, Session, Step};
use super::transcript;
use crate::config::Config;
use crate::snippet::SnippetKey;

/// `--update`: rewrite the expected output of blocks whose output no longer matches. Returns
/// the `path:line` of each updated block; their outcomes become passed when nothing else
/// (an exit status) still fails.
pub(crate) fn update_notes(
    config: &Config,
    notes: &[Note],
    sessions: &[Session],
    outcomes: &mut [BlockOutcome],
) -> anyhow::Result<Vec<String>> {
    let steps: HashMap<&SnippetKey, &RunStep> = sessions
        .iter()
        .flat_map(|s| s.steps.iter())
        .filter_map(|st| match st {
            Step::Run(r) => Some((&r.block.key, r)),
            Step::Skip(_) => None,
        })
        .collect();
    let mut edits: BTreeMap<&str, Vec<Edit>> = BTreeMap::new();
    let mut updated = Vec::new();
    let mut blocks_cache: HashMap<&str, Vec<crate::snippet::CodeBlock>> = HashMap::new();
    for o in outcomes.iter_mut() {
        let Verdict::Failed(Failure::Mismatch {
            expected_exit,
            exit,
            ..
        }) = &o.verdict
        else {
            continue;
        };
        let (expected_exit, exit) = (*expected_exit, *exit);
        let Some(step) = steps.get(&o.block.key) else {
            continue;
        };
        let Some(note) = notes.iter().find(|n| n.path == o.block.key.note) else {
            continue;
        };
        let blocks = blocks_cache
            .entry(note.path.as_str())
            .or_insert_with(|| crate::snippet::extract(&note.body, note.body_line).0);
        let (target, new_text, passes) = match &step.action {
            Action::Transcript(t) => {
                let obs = transcript_observed(t, &o.observations);
                (o.block.key.ordinal, transcript::render(t, &obs), true)
            }
            Action::Program(p) => {
                let (Some(expected), Some(Some(obs))) = (&p.expected, o.observations.first())
                else {
                    continue;
                };
                let new = matcher::normalize(&expected.text, &obs.output);
                if new == matcher::canonical(&expected.text) {
                    continue; // only the exit status differs: nothing to write
                }
                (expected.block.key.ordinal, new, exit == expected_exit)
            }
        };
        let Some(b) = blocks.iter().find(|b| b.ordinal == target) else {
            continue;
        };
        edits.entry(note.path.as_str()).or_default().push(Edit {
            text_range: b.text_range.clone(),
            fence_line: b.line,
            new_text,
        });
        updated.push(format!("{}:{}", note.path, b.line));
        if passes {
            o.verdict = Verdict::Passed;
        }
    }
    for (path, e) in edits {
        let Some(note) = notes.iter().find(|n| n.path == path) else {
            continue;
        };
        let file = config.root.join(path);
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("couldn't read `{}`", file.display()))?;
        let body_offset = text.len().saturating_sub(note.body.len());
        if text.get(body_offset..) != Some(note.body.as_str()) {
            bail!("`{}` changed while kb verify ran; not updating it (run `kb verify --update` again)", file.display());
        }
        // through a temp file renamed over the note, so an interrupted write loses nothing; the
        // note keeps its permissions
        let new = apply(&text, body_offset, &e);
        crate::atomic_file::write_keeping_permissions(&file, |f| {
            std::io::Write::write_all(f, new.as_bytes())
        })
        .with_context(|| format!("couldn't write `{}`", file.display()))?;
    }
    Ok(updated)
}

/// Observations written back by `--update`: each command's output normalised through its
/// expected patterns (so wildcards that still match survive).
fn transcript_observed(
    t: &transcript::Transcript,
    obs: &[Option<Observation>],
) -> Vec<Option<transcript::Observed>> {
    t.commands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            obs.get(i)
                .and_then(Option::as_ref)
                .map(|o| transcript::Observed {
                    output: super::pattern::for_note(
                        &matcher::normalize(&c.expected, &o.output),
                        &o.output,
                    ),
                    exit: o.exit,
                })
        })
        .collect()
}

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
        let fence_start = line_starts
            .get(e.fence_line.saturating_sub(1))
            .copied()
            .unwrap_or(0);
        let fence = file[fence_start..].lines().next().unwrap_or("");
        let marker_at = fence.find(['`', '~']).unwrap_or(0);
        let prefix = &fence[..marker_at];
        // The new text must never close the fence (or open new blocks): when it holds a run of
        // the fence character as long as the fence, both fences grow past its longest run, as
        // CommonMark allows, and the note keeps its structure whatever the output was.
        let marker = fence[marker_at..].chars().next().unwrap_or('`');
        let run = fence[marker_at..]
            .chars()
            .take_while(|&c| c == marker)
            .count();
        let needed = longest_run(&e.new_text, marker) + 1;
        let widen = (needed > run).then(|| marker.to_string().repeat(needed));
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
        // Replacements from the back: closing fence, text, opening fence.
        if let Some(wide) = &widen {
            if let Some(range) = closing_run(file, end, marker, run) {
                out.replace_range(range, wide);
            }
        }
        out.replace_range(start..end, &text);
        if let Some(wide) = &widen {
            let at = fence_start + marker_at;
            out.replace_range(at..at + run, wide);
        }
    }
    out
}

/// The longest run of `c` anywhere in `text`.
fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in text.chars() {
        cur = if ch == c { cur + 1 } else { 0 };
        best = best.max(cur);
    }
    best
}

/// Byte range of the closing fence's marker run on the line starting at `at`, if that line is
/// a closing fence for a fence of `run` × `marker` (an unclosed block has none).
fn closing_run(file: &str, at: usize, marker: char, run: usize) -> Option<std::ops::Range<usize>> {
    let line = file.get(at..)?.lines().next()?;
    let start = line.find(marker)?;
    let len = line[start..].chars().take_while(|&c| c == marker).count();
    let before_ok = line[..start].chars().all(|c| c == ' ' || c == '>');
    let after_ok = line[start + len..].trim().is_empty();
    (before_ok && after_ok && len >= run).then(|| at + start..at + start + len)
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
    fn output_holding_fences_or_front_matter_never_changes_the_notes_structure() {
        let fm = "---\ntitle: x\n---\n";
        let hostile = "```\n\n```sh run\nrm -rf /\n```\n~~~\n~~~~~ console run\n---\ntitle: injected\n---\n````\n";
        for body in [
            "# T\n\n```sh run\necho\n```\n\n```output\nold\n```\n\ntail\n\n```console run\n$ true\n```\n",
            "# T\n\n```sh run\necho\n```\n\n~~~output\nold\n~~~\n\ntail\n\n```console run\n$ true\n```\n",
            "1. step\n\n   ```sh run\n   echo\n   ```\n\n   ```output\n   old\n   ```\n\n```console run\n$ true\n```\n",
            "# T\n\n```sh run\necho\n```\n\n```output\n```\n\n```console run\n$ true\n```\n",
        ] {
            let file = format!("{fm}{body}");
            let (before, _) = extract(&file[fm.len()..], 4);
            let out = edit_block(&file, fm.len(), 4, 2, hostile);
            assert!(out.starts_with(fm), "front matter kept: {out}");
            let (after, errors) = extract(&out[fm.len()..], 4);
            assert!(errors.is_empty());
            assert_eq!(after.len(), before.len(), "block count changed:\n{out}");
            for (a, b) in after.iter().zip(&before) {
                assert_eq!(a.info, b.info, "attributes changed:\n{out}");
            }
            assert_eq!(after[1].text, hostile, "the output block holds exactly the output:\n{out}");
            assert_eq!(after[2].text, "$ true\n");
        }
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
