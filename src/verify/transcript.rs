//! `console` blocks: terminal transcripts of `$ command` lines and their expected output.
//!
//! A transcript is the most natural way to document an experiment, so it is also the unit kb
//! checks: every `$ ` line is a command, continued on the next line after a trailing `\\` and on
//! the `> ` lines right after it (a terminal's secondary prompt, cram's syntax: multi-line commands
//! and heredocs). An optional `? N` line right after it is its expected exit status (default 0);
//! cram's and scrut's `[N]` as the last line of its output says the same. The lines up to the next
//! `$ ` are its expected output. Parsing is pure and keeps each command's source lines, so
//! `--update` can write a transcript back with only the outputs (and statuses) changed.

use std::fmt::Write as _;

/// One `$ ` command of a transcript. Serialized for the verify cache key: what is run and
/// expected, not where it is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Command {
    /// 1-based line of the `$ ` line in the note's file.
    #[serde(skip)]
    pub(crate) line: usize,
    /// The command as handed to `sh -c` (continuation lines joined by newlines, `\` kept, so the
    /// shell sees exactly what a terminal user typed).
    pub(crate) cmd: String,
    /// The command's lines as written, `$ ` included (for `--update`).
    #[serde(skip)]
    pub(crate) source: Vec<String>,
    /// Expected exit status (`? N`, default 0).
    pub(crate) exit: i64,
    /// How the transcript wrote the status (kept by `--update`, even `? 0`).
    #[serde(skip)]
    pub(crate) exit_style: ExitStyle,
    /// Expected output, one line per line, ending with a newline unless empty.
    pub(crate) expected: String,
}

/// How a command's expected exit status is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStyle {
    /// Not written: 0.
    Implicit,
    /// `? N` right after the command.
    Question,
    /// `[N]` as the last line of the output (cram, scrut).
    Bracket,
}

/// A parsed `console` block.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Transcript {
    pub(crate) commands: Vec<Command>,
}

/// A transcript that cannot be run, with the file line to point at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TranscriptError {
    pub(crate) line: usize,
    pub(crate) message: String,
    pub(crate) hint: &'static str,
}

/// Parse a `console` block's text. `first_line` is the file line of the block's first text line
/// (the fence line + 1).
pub(crate) fn parse(text: &str, first_line: usize) -> Result<Transcript, TranscriptError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut commands: Vec<Command> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some(first) = command_start(line) else {
            match commands.last_mut() {
                Some(c) => {
                    if let Some(e) = super::pattern::invalid_regex(line) {
                        return Err(TranscriptError {
                            line: first_line + i,
                            message: format!("`{line}` is not a regular expression: {e}"),
                            hint: "fix the pattern, or drop ` (re)` to compare the line as text",
                        });
                    }
                    c.expected.push_str(line);
                    c.expected.push('\n');
                }
                None if line.trim().is_empty() => {}
                None => {
                    return Err(TranscriptError {
                        line: first_line + i,
                        message: format!("`{line}` comes before the first `$ ` command of the transcript"),
                        hint: "start every command with `$ ` (dollar, space); output lines follow their command",
                    })
                }
            }
            i += 1;
            continue;
        };
        let start = i;
        if first.trim().is_empty() {
            return Err(TranscriptError {
                line: first_line + i,
                message: "a `$` line with no command".into(),
                hint: "write the command after `$ `, or remove the line",
            });
        }
        let mut cmd = first.to_string();
        let mut source = vec![line.to_string()];
        while i + 1 < lines.len() {
            let next = lines[i + 1];
            let text = match continuation(next) {
                Some(text) => text,
                None if cmd.ends_with('\\') => next,
                None => break,
            };
            i += 1;
            cmd.push('\n');
            cmd.push_str(text);
            source.push(next.to_string());
        }
        i += 1;
        let (exit, exit_style) = match lines.get(i).and_then(|l| l.strip_prefix("? ")) {
            Some(n) => {
                let n = n.trim().parse::<i64>().map_err(|_| TranscriptError {
                    line: first_line + i,
                    message: format!("`{}` is not an exit status", lines[i]),
                    hint: "write the expected exit status as `? N` right after the command, e.g. `? 1`",
                })?;
                i += 1;
                (n, ExitStyle::Question)
            }
            None => (0, ExitStyle::Implicit),
        };
        commands.push(Command {
            line: first_line + start,
            cmd,
            source,
            exit,
            exit_style,
            expected: String::new(),
        });
    }
    for c in &mut commands {
        take_bracket_exit(c)?;
    }
    if commands.is_empty() {
        return Err(TranscriptError {
            line: first_line.saturating_sub(1).max(1),
            message: "a runnable `console` block with no `$ ` command".into(),
            hint: "write commands as `$ command` lines, or drop `run` from the fence",
        });
    }
    Ok(Transcript { commands })
}

/// `> text` -> `text`: a continuation line of the command above.
fn continuation(line: &str) -> Option<&str> {
    if line == ">" {
        return Some("");
    }
    line.strip_prefix("> ")
}

/// A last output line `[N]` is the command's exit status (cram, scrut).
fn take_bracket_exit(c: &mut Command) -> Result<(), TranscriptError> {
    let lines: Vec<&str> = c.expected.lines().collect();
    let Some(last) = lines.iter().rposition(|l| !l.trim().is_empty()) else {
        return Ok(());
    };
    let Some(n) = lines[last]
        .trim_end()
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return Ok(());
    };
    if c.exit_style == ExitStyle::Question {
        return Err(TranscriptError {
            line: c.line + c.source.len() + 1 + last,
            message: format!(
                "`{}` gives a second exit status for the command",
                lines[last]
            ),
            hint: "write the status once: `? N` right after the command, or `[N]` after its output",
        });
    }
    c.exit = n;
    c.exit_style = ExitStyle::Bracket;
    let mut kept = String::new();
    for l in &lines[..last] {
        kept.push_str(l);
        kept.push('\n');
    }
    c.expected = kept;
    Ok(())
}

/// `$ cmd` -> `cmd`; a bare `$` is a command with no text (an error the caller reports).
fn command_start(line: &str) -> Option<&str> {
    if line == "$" {
        return Some("");
    }
    line.strip_prefix("$ ")
}

/// What one command actually did, for [`render`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    /// Output in the form to write back (already normalised through the expected patterns).
    pub(crate) output: String,
    pub(crate) exit: i64,
}

/// The transcript written back with observed outputs and statuses (`--update`). Commands with no
/// observation (not run) keep their expected text.
pub(crate) fn render(t: &Transcript, observed: &[Option<Observed>]) -> String {
    let mut out = String::new();
    for (i, c) in t.commands.iter().enumerate() {
        for l in &c.source {
            out.push_str(l);
            out.push('\n');
        }
        let (output, exit) = match observed.get(i).and_then(Option::as_ref) {
            Some(o) => (o.output.as_str(), o.exit),
            None => (c.expected.as_str(), c.exit),
        };
        let bracket = c.exit_style == ExitStyle::Bracket;
        if !bracket && (c.exit_style == ExitStyle::Question || exit != 0) {
            let _ = writeln!(out, "? {exit}");
        }
        out.push_str(output);
        if !output.is_empty() && !output.ends_with('\n') {
            out.push('\n');
        }
        if bracket && exit != 0 {
            let _ = writeln!(out, "[{exit}]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_statuses_and_outputs_with_file_lines() {
        let t = parse(
            "$ echo hi\nhi\n$ false\n? 1\n$ ls /nope\n? 2\nls: cannot access '/nope'[..]\n",
            10,
        )
        .unwrap();
        assert_eq!(t.commands.len(), 3);
        let c = &t.commands;
        assert_eq!(
            (
                c[0].line,
                c[0].cmd.as_str(),
                c[0].exit,
                c[0].expected.as_str()
            ),
            (10, "echo hi", 0, "hi\n")
        );
        assert_eq!((c[1].line, c[1].exit, c[1].expected.as_str()), (12, 1, ""));
        assert_eq!((c[2].line, c[2].exit), (14, 2));
        assert_eq!(c[2].expected, "ls: cannot access '/nope'[..]\n");
    }

    #[test]
    fn backslash_continues_a_command_on_the_next_line() {
        let t = parse("$ printf '%s\\n' \\\n  a b\na\nb\n", 1).unwrap();
        let c = &t.commands[0];
        assert_eq!(c.cmd, "printf '%s\\n' \\\n  a b");
        assert_eq!(c.source.len(), 2);
        assert_eq!(c.expected, "a\nb\n");
    }

    #[test]
    fn text_before_the_first_command_is_an_error_naming_its_line() {
        let e = parse("\nhello\n$ true\n", 7).unwrap_err();
        assert_eq!(e.line, 8);
        assert!(e.message.contains("`hello`"));
        assert!(parse("", 3).is_err());
        assert!(parse("$\n", 3).unwrap_err().message.contains("no command"));
        assert_eq!(parse("$ x\n? one\n", 3).unwrap_err().line, 4);
    }

    #[test]
    fn a_question_mark_later_in_the_output_is_just_output() {
        let t = parse("$ echo '? 3'\n? 3\n", 1).unwrap();
        assert_eq!(t.commands[0].exit, 3);
        let t = parse("$ printf 'x\\n? 3\\n'\nx\n? 3\n", 1).unwrap();
        assert_eq!(t.commands[0].exit, 0);
        assert_eq!(t.commands[0].expected, "x\n? 3\n");
    }

    #[test]
    fn greater_than_lines_continue_a_command_and_carry_heredocs() {
        let t = parse(
            "$ cat <<EOF\n> one\n>\n> EOF\none\n\n$ for i in 1 2; do\n>   echo $i\n> done\n1\n2\n",
            1,
        )
        .unwrap();
        let c = &t.commands;
        assert_eq!(c[0].cmd, "cat <<EOF\none\n\nEOF");
        assert_eq!(c[0].expected, "one\n\n");
        assert_eq!(c[1].cmd, "for i in 1 2; do\n  echo $i\ndone");
        assert_eq!((c[1].line, c[1].source.len()), (7, 3));
        // `\` continuations show a `> ` prompt in a terminal too.
        let t = parse("$ echo a \\\n> b\na b\n", 1).unwrap();
        assert_eq!(t.commands[0].cmd, "echo a \\\nb");
        // After the first output line, `> ` is output.
        let t = parse("$ echo x\nx\n> y\n", 1).unwrap();
        assert_eq!(t.commands[0].expected, "x\n> y\n");
    }

    #[test]
    fn bracket_status_after_the_output_like_cram() {
        let t = parse("$ ls /nope\nls: [..]\n[2]\n\n$ true\n", 1).unwrap();
        let c = &t.commands[0];
        assert_eq!((c.exit, c.exit_style), (2, ExitStyle::Bracket));
        assert_eq!(c.expected, "ls: [..]\n");
        let e = parse("$ false\n? 1\n[1]\n", 5).unwrap_err();
        assert_eq!(e.line, 7);
        assert!(e.message.contains("second exit status"), "{}", e.message);
        // Written back after the output, and dropped when the status becomes 0.
        let t = parse("$ f\nout\n[3]\n", 1).unwrap();
        let obs = |exit| {
            vec![Some(Observed {
                output: "out\n".into(),
                exit,
            })]
        };
        assert_eq!(render(&t, &obs(4)), "$ f\nout\n[4]\n");
        assert_eq!(render(&t, &obs(0)), "$ f\nout\n");
    }

    #[test]
    fn a_regex_line_that_does_not_compile_is_an_error_with_its_line() {
        let e = parse("$ echo '('\n( (re)\n", 3).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(
            e.message.contains("not a regular expression"),
            "{}",
            e.message
        );
    }

    #[test]
    fn render_writes_back_outputs_and_statuses_keeping_commands() {
        let src = "$ date\n? 0\nMon\n$ false\n$ echo a \\\n  b\nold\n";
        let t = parse(src, 1).unwrap();
        let obs = vec![
            Some(Observed {
                output: "[..]\n".into(),
                exit: 0,
            }),
            Some(Observed {
                output: String::new(),
                exit: 1,
            }),
            None,
        ];
        assert_eq!(
            render(&t, &obs),
            "$ date\n? 0\n[..]\n$ false\n? 1\n$ echo a \\\n  b\nold\n"
        );
        // Unchanged observations reproduce the source.
        let same: Vec<_> = t
            .commands
            .iter()
            .map(|c| {
                Some(Observed {
                    output: c.expected.clone(),
                    exit: c.exit,
                })
            })
            .collect();
        assert_eq!(render(&t, &same), src);
    }
}
