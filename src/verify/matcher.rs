//! Expected-versus-actual output: normalisation and wildcard matching.
//!
//! Documented output is what a reader sees in a terminal, so comparison forgives what a terminal
//! hides: trailing whitespace on a line, trailing blank lines, and `\r\n` line ends (the TTY kb
//! runs commands in writes those). Wildcards cover the parts that change from run to run:
//! a line that is exactly `...` matches any number of lines (including none), `[..]` inside a
//! line matches any text within that line, and cram's line suffixes (`(re)`, `(glob)`, `(esc)`,
//! `(no-eol)`, see [`super::pattern`]) say how one line compares.
//!
//! Besides the yes/no answer, [`normalize`] rewrites the actual output through the expected
//! patterns (lines that match keep their pattern, lines swallowed by `...` become one `...`), so
//! a diff of expected against normalised actual shows only the real differences, and `--update`
//! can write back actual output without losing the author's wildcards.

use super::pattern::LinePattern;

/// One line of expected output.
#[derive(Debug, Clone)]
enum Item<'a> {
    /// `...`: any number of lines.
    Any,
    /// A line as written, and what it matches.
    Line(&'a str, LinePattern<'a>),
}

impl Item<'_> {
    fn is_any(&self) -> bool {
        matches!(self, Item::Any)
    }
}

/// `\r\n` -> `\n`. Twice, because a program that itself writes `\r\n` reaches us through the
/// TTY as `\r\r\n`. A lone `\r` elsewhere (progress output) is kept.
pub(crate) fn normalize_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace("\r\n", "\n")
}

/// The lines of `s` as compared: trailing whitespace trimmed, trailing blank lines dropped.
pub(crate) fn lines(s: &str) -> Vec<&str> {
    let mut out: Vec<&str> = s.split('\n').map(str::trim_end).collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

/// `s` in its compared form: [`lines`] joined, ending with a newline unless empty.
pub(crate) fn canonical(s: &str) -> String {
    join(lines(s))
}

fn join<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

fn items(expected: &str) -> Vec<Item<'_>> {
    lines(expected)
        .into_iter()
        .map(|l| {
            if l.trim() == "..." {
                Item::Any
            } else {
                Item::Line(l, LinePattern::parse(l))
            }
        })
        .collect()
}

/// Does one actual line match one expected line (wildcards and suffixes)? Both are already
/// trimmed of trailing whitespace.
#[cfg(test)]
pub(crate) fn line_matches(pattern: &str, actual: &str) -> bool {
    LinePattern::parse(pattern).matches(actual)
}

fn item_matches(item: &Item<'_>, actual: &str) -> bool {
    matches!(item, Item::Line(_, p) if p.matches(actual))
}

/// A last expected line with ` (no-eol)` wants output that does not end with a newline; output
/// without one is forgiven otherwise.
fn eol_ok(e: &[Item<'_>], actual: &str) -> bool {
    match e.iter().rev().find(|x| !x.is_any()) {
        Some(Item::Line(_, p)) if p.no_eol => !actual.ends_with('\n'),
        _ => true,
    }
}

/// Does `actual` match `expected` (wildcards, trailing whitespace and blank lines forgiven)?
pub(crate) fn matches(expected: &str, actual: &str) -> bool {
    let e = items(expected);
    let a = lines(actual);
    if !eol_ok(&e, actual) {
        return false;
    }
    // Classic wildcard matching with backtracking to the last `...`: each `Line` item matches
    // exactly one actual line, `Any` matches a run of them.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < a.len() {
        if i < e.len() && item_matches(&e[i], a[j]) {
            i += 1;
            j += 1;
        } else if i < e.len() && e[i].is_any() {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    while i < e.len() && e[i].is_any() {
        i += 1;
    }
    i == e.len()
}

/// Above this many alignment cells, [`normalize`] uses a greedy walk instead of the
/// alignment (memory stays bounded on huge outputs; the diff is merely less tidy).
const MAX_CELLS: usize = 4_000_000;

/// Rewrite `actual` through the patterns of `expected`: every actual line that an expected line
/// matches is replaced by that expected line (keeping its `[..]`), and every run of lines a
/// `...` absorbs becomes that `...`. Lines with no counterpart stay as they are. The result is in
/// [`canonical`] form; it equals `canonical(expected)` exactly when [`matches`] is true.
pub(crate) fn normalize(expected: &str, actual: &str) -> String {
    let e = items(expected);
    let a = lines(actual);
    if matches(expected, actual) {
        return canonical(expected);
    }
    if !eol_ok(&e, actual) && matches(&canonical(expected), &format!("{actual}\n")) {
        // Only the missing end of line differs: show the last line without its ` (no-eol)`.
        let mut out = canonical(expected);
        if let Some(i) = out.trim_end_matches('\n').rfind(" (no-eol)") {
            out.replace_range(i..i + " (no-eol)".len(), "");
        }
        return out;
    }
    if (e.len() + 1).saturating_mul(a.len() + 1) > MAX_CELLS {
        return normalize_greedy(&e, &a);
    }
    normalize_aligned(&e, &a)
}

/// Alignment in two passes. First the longest common subsequence of expected lines and actual
/// lines (under [`line_matches`]) fixes the anchors: those actual lines print as their patterns.
/// Then each gap between anchors is filled: without a `...` in the gap its actual lines stay as
/// they are; with one, the gap's leading and trailing actual lines pair up with the expected lines
/// before and after the `...` (so a changed last line still shows as changed) and the middle
/// collapses into the `...`.
fn normalize_aligned(e: &[Item<'_>], a: &[&str]) -> String {
    let (n, m) = (e.len(), a.len());
    let w = m + 1;
    let mut lcs = vec![0u32; (n + 1) * w];
    let at = |i: usize, j: usize| i * w + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            let mut best = lcs[at(i + 1, j)].max(lcs[at(i, j + 1)]);
            if item_matches(&e[i], a[j]) {
                best = best.max(1 + lcs[at(i + 1, j + 1)]);
            }
            lcs[at(i, j)] = best;
        }
    }
    let mut anchors = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if item_matches(&e[i], a[j]) && lcs[at(i, j)] == 1 + lcs[at(i + 1, j + 1)] {
            anchors.push((i, j));
            i += 1;
            j += 1;
        } else if lcs[at(i, j)] == lcs[at(i + 1, j)] {
            i += 1;
        } else {
            j += 1;
        }
    }
    let mut out: Vec<&str> = Vec::new();
    let (mut ei, mut aj) = (0, 0);
    for (ai_e, ai_a) in anchors.into_iter().chain(std::iter::once((n, m))) {
        fill_gap(&e[ei..ai_e], &a[aj..ai_a], &mut out);
        if ai_e < n {
            if let Item::Line(p, _) = e[ai_e] {
                out.push(p);
            }
        }
        ei = ai_e + 1;
        aj = ai_a + 1;
    }
    join(out)
}

/// Normalise the actual lines between two anchors (see [`normalize_aligned`]).
fn fill_gap<'a>(e: &[Item<'a>], a: &[&'a str], out: &mut Vec<&'a str>) {
    let (Some(first_any), Some(last_any)) = (
        e.iter().position(Item::is_any),
        e.iter().rposition(Item::is_any),
    ) else {
        out.extend(a);
        return;
    };
    let pre = first_any.min(a.len());
    let post = (e.len() - last_any - 1).min(a.len() - pre);
    out.extend(&a[..pre]);
    out.push("...");
    out.extend(&a[a.len() - post..]);
}

/// Greedy fallback: walk both sides, resynchronising `...` on the next expected line; stop
/// normalising at the first line that does not match.
fn normalize_greedy(e: &[Item<'_>], a: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < e.len() && j < a.len() {
        match &e[i] {
            Item::Line(p, pat) if pat.matches(a[j]) => {
                out.push(p);
                i += 1;
                j += 1;
            }
            Item::Line(..) => break,
            Item::Any => {
                let next = e[i + 1..].iter().find(|x| !x.is_any());
                let skip = match next {
                    None => a.len() - j,
                    Some(n) => match a[j..].iter().position(|l| item_matches(n, l)) {
                        Some(k) => k,
                        None => break,
                    },
                };
                out.push("...");
                j += skip;
                i += 1;
            }
        }
    }
    out.extend(&a[j..]);
    join(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_whitespace_blank_lines_and_crlf_are_forgiven() {
        assert!(matches("a\nb\n", "a  \r\nb\n\n\n"));
        assert!(matches("a\nb", &normalize_newlines("a\r\nb\r\n")));
        assert!(!matches("a\nb\n", "a\n\nb\n"), "inner blank lines count");
        assert!(!matches(" a\n", "a\n"), "leading whitespace counts");
        assert!(matches("", "\n\n"));
    }

    #[test]
    fn bracket_wildcard_matches_within_one_line() {
        assert!(line_matches("pid [..] started", "pid 4242 started"));
        assert!(line_matches("[..]", ""));
        assert!(line_matches("took [..]ms", "took 12ms"));
        assert!(line_matches("[..]:[..]", "a:b:c"));
        assert!(!line_matches("pid [..] started", "pid 4242 stopped"));
        assert!(
            !line_matches("ab[..]ba", "aba"),
            "prefix and suffix must not overlap"
        );
        assert!(!matches("x [..]\n", "x 1\ny\n"), "[..] never spans lines");
    }

    #[test]
    fn a_wildcard_covers_the_rest_of_a_shell_message() {
        let e = "bash: line [..]: /proc/sys/kernel/shmmax: Read-only file system\n";
        let a = "bash: line 3: /proc/sys/kernel/shmmax: Read-only file system\n";
        assert!(line_matches(e.trim_end(), a.trim_end()));
        assert!(matches(e, a));
    }

    #[test]
    fn ellipsis_matches_any_number_of_lines() {
        let expected = "start\n...\nend\n";
        assert!(matches(expected, "start\nend\n"));
        assert!(matches(expected, "start\n1\n2\n3\nend\n"));
        assert!(!matches(expected, "start\n1\n"));
        assert!(matches("...\n", "anything\nat all\n"));
        assert!(matches("...\n", ""));
        assert!(matches("a\n...\n", "a\nb\n"));
        assert!(matches("...\nz\n", "a\nz\n"));
        assert!(matches("...\nx\n...\nx\n", "x\nx\n"));
        assert!(!matches("...\nx\n...\nx\n", "x\n"));
    }

    #[test]
    fn normalize_keeps_wildcards_and_shows_only_real_differences() {
        let expected = "pid [..]\n...\nstatus: ok\n";
        let actual = "pid 17\nnoise 1\nnoise 2\nstatus: FAILED\n";
        assert_eq!(
            normalize(expected, actual),
            "pid [..]\n...\nstatus: FAILED\n"
        );
        // A match normalises to the expected text exactly.
        assert_eq!(
            normalize(expected, "pid 9\nstatus: ok\n"),
            canonical(expected)
        );
    }

    #[test]
    fn normalize_reports_extra_and_missing_lines_around_matches() {
        let expected = "a\nb [..]\nc\n";
        let actual = "a\nnew\nb 12\n";
        assert_eq!(normalize(expected, actual), "a\nnew\nb [..]\n");
    }

    #[test]
    fn greedy_fallback_agrees_on_simple_cases() {
        let e = items("a\n...\nz\n");
        let a = lines("a\n1\n2\ny\n");
        assert_eq!(normalize_greedy(&e, &a), "a\n1\n2\ny\n");
        let a = lines("a\n1\nz\nq\n");
        assert_eq!(normalize_greedy(&e, &a), "a\n...\nz\nq\n");
    }
}
