//! Reporting like a test runner: each failure with its `path:line`, command and a diff, then one
//! summary line; optionally JUnit XML for CI.
//!
//! Diffs compare expected output against actual output already normalised through the expected
//! patterns ([`super::matcher::normalize`]), so lines matched by `[..]` or `...` never show up as
//! differences. Colour is used only when asked for (a terminal, and `NO_COLOR` unset); the
//! rendered text is otherwise plain, which is also what tests and JUnit see.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use owo_colors::OwoColorize;

use super::outcome::{BlockOutcome, Failure, Verdict};
use super::text::{escape_controls, human_duration};

/// Passed / failed / skipped counts of runnable blocks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
}

impl Counts {
    pub(crate) fn of(outcomes: &[BlockOutcome]) -> Counts {
        let mut c = Counts::default();
        for o in outcomes {
            match o.verdict {
                Verdict::Passed => c.passed += 1,
                Verdict::Failed(_) => c.failed += 1,
                Verdict::Skipped(_) => c.skipped += 1,
            }
        }
        c
    }
}

impl fmt::Display for Counts {
    /// The summary line: `3 passed, 1 failed, 2 skipped`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// How to paint text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    pub(crate) color: bool,
}

impl Style {
    fn red(self, s: &str) -> String {
        if self.color {
            s.red().to_string()
        } else {
            s.to_string()
        }
    }
    fn green(self, s: &str) -> String {
        if self.color {
            s.green().to_string()
        } else {
            s.to_string()
        }
    }
    fn yellow(self, s: &str) -> String {
        if self.color {
            s.yellow().to_string()
        } else {
            s.to_string()
        }
    }
    fn bold(self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
    fn dim(self, s: &str) -> String {
        if self.color {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
}

/// `content/a.md:12` plus the id when it is not just the key.
fn title(o: &BlockOutcome) -> String {
    let key = o.block.key.to_string();
    if o.block.id == key {
        format!("{} ({key})", o.block.location())
    } else {
        format!("{} (id={})", o.block.location(), o.block.id)
    }
}

/// One line per block for `-v`: `ok      content/a.md:12 (content/a.md#2) [1.2s]`.
pub(crate) fn render_line(o: &BlockOutcome, style: Style) -> String {
    let when = if o.cached {
        "cached".to_string()
    } else {
        human_duration(o.duration)
    };
    let when = style.dim(&format!("[{when}]"));
    match &o.verdict {
        Verdict::Passed => format!("{} {} {when}", style.green("ok     "), title(o)),
        Verdict::Failed(_) => format!("{} {} {when}", style.red("FAILED "), title(o)),
        Verdict::Skipped(r) => format!(
            "{} {}: {}",
            style.yellow("skipped"),
            title(o),
            escape_controls(r)
        ),
    }
}

/// A failed block: where, what ran, and why, with a diff for output mismatches.
pub(crate) fn render_failure(o: &BlockOutcome, style: Style) -> String {
    let Verdict::Failed(failure) = &o.verdict else {
        return String::new();
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} {}",
        style.red(&style.bold("FAILED")),
        style.bold(&title(o))
    );
    match failure {
        Failure::Mismatch {
            line,
            command,
            expected,
            actual,
            expected_exit,
            exit,
        } => {
            let _ = writeln!(
                s,
                "  {}:{line}: {}",
                o.block.key.note,
                style.bold(&first_line(command))
            );
            if exit != expected_exit {
                let _ = writeln!(s, "  exit status: expected {expected_exit}, got {exit}");
            }
            match expected {
                Some(e) if e != actual => {
                    let _ = writeln!(
                        s,
                        "  output differs ({}, {}):",
                        style.red("- expected"),
                        style.green("+ actual")
                    );
                    s.push_str(&diff(e, actual, style));
                }
                Some(_) => {}
                None => {
                    let _ = writeln!(s, "  output:");
                    s.push_str(&indent(actual, "    "));
                }
            }
        }
        Failure::Timeout {
            line,
            command,
            after,
            partial,
        } => {
            let _ = writeln!(
                s,
                "  {}:{line}: {}",
                o.block.key.note,
                style.bold(&first_line(command))
            );
            let _ = writeln!(
                s,
                "  timed out after {} (raise it with `timeout=` on the fence); output so far:",
                human_duration(*after)
            );
            s.push_str(&indent(partial, "    "));
        }
        Failure::Limit {
            line,
            command,
            limit,
            output,
        } => {
            let _ = writeln!(
                s,
                "  {}:{line}: {}",
                o.block.key.note,
                style.bold(&first_line(command))
            );
            let _ = writeln!(
                s,
                "  {limit} (raise it with `{knob}=` on the fence, or `{knob}` under [verify] in kb.toml); output:",
                knob = limit.knob()
            );
            s.push_str(&indent(output, "    "));
        }
        Failure::Error { message } => {
            let _ = writeln!(s, "  could not run: {}", escape_controls(message));
        }
    }
    s
}

/// A one-line summary of a failure (results file, JUnit message).
pub(crate) fn failure_summary(f: &Failure) -> String {
    match f {
        Failure::Mismatch {
            line,
            expected_exit,
            exit,
            expected,
            actual,
            ..
        } => {
            let mut parts = Vec::new();
            if exit != expected_exit {
                parts.push(format!("exit status {exit}, expected {expected_exit}"));
            }
            if expected.as_ref().is_some_and(|e| e != actual) {
                parts.push("output differs".to_string());
            }
            format!("line {line}: {}", parts.join(", "))
        }
        Failure::Timeout { line, after, .. } => {
            format!("line {line}: timed out after {}", human_duration(*after))
        }
        Failure::Limit { line, limit, .. } => format!("line {line}: {limit}"),
        Failure::Error { message } => first_line(message),
    }
}

fn first_line(s: &str) -> String {
    let s = escape_controls(s);
    let mut lines = s.lines();
    let first = lines.next().unwrap_or("").to_string();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first
    }
}

fn indent(text: &str, prefix: &str) -> String {
    let text = &*escape_controls(text);
    let mut out = String::new();
    for l in text.lines() {
        out.push_str(prefix);
        out.push_str(l);
        out.push('\n');
    }
    if text.trim().is_empty() {
        out.push_str(prefix);
        out.push_str("(nothing)\n");
    }
    out
}

/// Line diff with three lines of context; hunks separated by a dim `…`.
fn diff(expected: &str, actual: &str, style: Style) -> String {
    let d = similar::TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for (i, group) in d.grouped_ops(3).iter().enumerate() {
        if i > 0 {
            let _ = writeln!(out, "    {}", style.dim("…"));
        }
        for op in group {
            for change in d.iter_changes(op) {
                let text = escape_controls(change.value().trim_end_matches('\n'));
                let line = match change.tag() {
                    similar::ChangeTag::Delete => style.red(&format!("-{text}")),
                    similar::ChangeTag::Insert => style.green(&format!("+{text}")),
                    similar::ChangeTag::Equal => format!(" {text}"),
                };
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// Write JUnit XML: a suite per note, a test case per runnable (or skipped) block with the note's
/// `file` and `line` attributes.
pub(crate) fn write_junit(
    outcomes: &[BlockOutcome],
    total: Duration,
    path: &Path,
) -> anyhow::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut by_note: BTreeMap<&str, Vec<&BlockOutcome>> = BTreeMap::new();
    for o in outcomes {
        by_note
            .entry(o.block.key.note.as_str())
            .or_default()
            .push(o);
    }
    let mut report = Report::new("kb verify");
    report.set_time(total);
    for (note, blocks) in by_note {
        let mut suite = TestSuite::new(note);
        for o in blocks {
            let status = match &o.verdict {
                Verdict::Passed => TestCaseStatus::success(),
                Verdict::Skipped(r) => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(r.as_str());
                    s
                }
                Verdict::Failed(f) => {
                    let kind = if matches!(f, Failure::Error { .. }) {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let mut s = TestCaseStatus::non_success(kind);
                    s.set_message(failure_summary(f));
                    s.set_description(render_failure(o, Style { color: false }));
                    s
                }
            };
            let mut case = TestCase::new(o.block.id.as_str(), status);
            case.set_classname(note);
            case.set_time(o.duration);
            case.extra.insert("file".into(), note.into());
            case.extra
                .insert("line".into(), o.block.line.to_string().into());
            if !o.observed.is_empty() {
                case.set_system_out(o.observed.as_str());
            }
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("couldn't create `{}`", dir.display()))?;
    }
    let file = std::fs::File::create(path)
        .with_context(|| format!("couldn't write `{}`", path.display()))?;
    report
        .serialize(std::io::BufWriter::new(file))
        .with_context(|| format!("couldn't write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snippet::SnippetKey;
    use crate::verify::session::BlockRef;

    fn failed(f: Failure) -> BlockOutcome {
        let key = SnippetKey {
            note: "content/a.md".into(),
            ordinal: 2,
        };
        BlockOutcome {
            block: BlockRef {
                id: key.to_string(),
                key,
                line: 7,
            },
            verdict: Verdict::Failed(f),
            duration: Duration::from_millis(1200),
            date: chrono::Utc::now(),
            image: "debian:bookworm-slim".into(),
            observed: String::new(),
            cached: false,
            observations: Vec::new(),
        }
    }

    #[test]
    fn failure_shows_location_command_status_and_only_real_differences() {
        let o = failed(Failure::Mismatch {
            line: 9,
            command: "ls /nope".into(),
            expected: Some("pid [..]\nok\n".into()),
            actual: "pid [..]\nnot ok\n".into(),
            expected_exit: 0,
            exit: 2,
        });
        let text = render_failure(&o, Style { color: false });
        assert_eq!(
            text,
            "FAILED content/a.md:7 (content/a.md#2)\n  content/a.md:9: ls /nope\n  exit status: expected 0, got 2\n  output differs (- expected, + actual):\n     pid [..]\n    -ok\n    +not ok\n"
        );
        assert_eq!(
            failure_summary(match &o.verdict {
                Verdict::Failed(f) => f,
                _ => unreachable!(),
            }),
            "line 9: exit status 2, expected 0, output differs"
        );
    }

    #[test]
    fn escape_sequences_from_a_container_are_shown_escaped_never_sent_to_the_terminal() {
        let title = "\u{1b}]0;pwned\u{7}";
        let red = "\u{1b}[31mred\u{1b}[0m";
        let o = failed(Failure::Mismatch {
            line: 9,
            command: "printf '\\033]0;pwned\\007'".into(),
            expected: Some("plain\nsame\n".into()),
            actual: format!("{title}plain\nsame\n{red}\rover\u{9b}2J\u{202e}txt\n"),
            expected_exit: 0,
            exit: 0,
        });
        let text = render_failure(&o, Style { color: false });
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "a control character reached the report: {text:?}"
        );
        assert!(text.contains("    +\\x1b]0;pwned\\x07plain\n"), "{text}");
        assert!(
            // (the diff splits lines at a lone `\r` too, and shows it)
            text.contains("    +\\x1b[31mred\\x1b[0m\\r\n    +over\\u{9b}2J\\u{202e}txt\n"),
            "{text}"
        );
        // Partial output of a timeout and engine messages go through the same door.
        let t = failed(Failure::Timeout {
            line: 3,
            command: "yes".into(),
            after: Duration::from_secs(2),
            partial: red.into(),
        });
        let text = render_failure(&t, Style { color: false });
        assert!(text.contains("    \\x1b[31mred\\x1b[0m\n"), "{text}");
        let e = failed(Failure::Error {
            message: format!("exited: {title}"),
        });
        assert!(render_failure(&e, Style { color: false }).contains("exited: \\x1b]0;pwned\\x07"));
        // Tabs, newlines and ordinary text (including backslashes and non-ASCII) pass unchanged.
        assert_eq!(escape_controls("a\tb\\n é\n"), "a\tb\\n é\n");
    }

    #[test]
    fn colour_only_when_asked() {
        let o = failed(Failure::Error {
            message: "no".into(),
        });
        assert!(!render_failure(&o, Style { color: false }).contains('\u{1b}'));
        assert!(render_failure(&o, Style { color: true }).contains('\u{1b}'));
    }

    #[test]
    fn summary_line() {
        assert_eq!(
            Counts {
                passed: 3,
                failed: 1,
                skipped: 2
            }
            .to_string(),
            "3 passed, 1 failed, 2 skipped"
        );
    }

    #[test]
    fn junit_has_a_case_per_block_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        let o = failed(Failure::Error {
            message: "image broke".into(),
        });
        write_junit(&[o], Duration::from_secs(1), &path).unwrap();
        let xml = std::fs::read_to_string(&path).unwrap();
        assert!(
            xml.contains(r#"file="content/a.md""#) && xml.contains(r#"line="7""#),
            "{xml}"
        );
        assert!(
            xml.contains("<error") && xml.contains("image broke"),
            "{xml}"
        );
    }
}
