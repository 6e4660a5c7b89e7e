//! One line of expected output as a pattern: plain text with `[..]` wildcards, or a line ending in
//! cram's and scrut's suffixes — ` (re)` (a regular expression for the whole line), ` (glob)`
//! (`*` any text, `?` one character), ` (esc)` (escaped bytes: `\x1b`, `\r`, `\t`, `\\`) and
//! ` (no-eol)` (the output ends here without a newline). Suffixes combine (`(no-eol) (esc)`).
//! Also the reverse for `--update`: an actual line with control characters written as an
//! ` (esc)` line.

use std::fmt::Write as _;

/// A parsed expected line.
#[derive(Debug, Clone)]
pub(crate) struct LinePattern<'a> {
    kind: Kind<'a>,
    /// ` (no-eol)`: the output has no newline after this line.
    pub(crate) no_eol: bool,
}

#[derive(Debug, Clone)]
enum Kind<'a> {
    /// Text with `[..]` wildcards.
    Wild(&'a str),
    /// The same after decoding ` (esc)`.
    WildOwned(String),
    /// ` (re)` / ` (glob)`, anchored to the whole line.
    Regex(regex::Regex),
    /// A ` (re)` that does not compile: matches nothing (the diff shows the line).
    Invalid,
}

/// The suffixes a line may end with.
const SUFFIXES: [(&str, Suffix); 6] = [
    (" (re)", Suffix::Re),
    (" (regex)", Suffix::Re),
    (" (glob)", Suffix::Glob),
    (" (esc)", Suffix::Esc),
    (" (escaped)", Suffix::Esc),
    (" (no-eol)", Suffix::NoEol),
];

/// A line suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Suffix {
    Re,
    Glob,
    Esc,
    NoEol,
}

/// Split `line` into its text and suffixes.
fn suffixes(line: &str) -> (&str, Vec<Suffix>) {
    let (text, found) = split_suffixes(line);
    (text, found.into_iter().map(|(_, k)| k).collect())
}

/// `line` without its suffixes, and the suffixes as written (` (re)`), last first, with whether
/// each is ` (esc)`.
pub(crate) fn split_suffixes(line: &str) -> (&str, Vec<(&'static str, Suffix)>) {
    let mut text = line;
    let mut found = Vec::new();
    'strip: loop {
        for (s, kind) in SUFFIXES {
            if let Some(rest) = text.strip_suffix(s) {
                text = rest;
                found.push((s, kind));
                continue 'strip;
            }
        }
        return (text, found);
    }
}

/// The regular expression of a ` (re)` line, if it is one and does not compile.
pub(crate) fn invalid_regex(line: &str) -> Option<String> {
    let (text, s) = suffixes(line.trim_end());
    if !s.contains(&Suffix::Re) {
        return None;
    }
    regex::Regex::new(&format!("^(?:{text})$"))
        .err()
        .map(|e| e.to_string())
}

impl<'a> LinePattern<'a> {
    /// `line` is already trimmed of trailing whitespace.
    pub(crate) fn parse(line: &'a str) -> LinePattern<'a> {
        let (text, s) = suffixes(line);
        let text: std::borrow::Cow<'a, str> = if s.contains(&Suffix::Esc) {
            std::borrow::Cow::Owned(unescape(text).trim_end().to_string())
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let anchored = |re: &str| {
            regex::Regex::new(&format!("^(?:{re})$"))
                .map(Kind::Regex)
                .unwrap_or(Kind::Invalid)
        };
        let kind = if s.contains(&Suffix::Re) {
            anchored(&text)
        } else if s.contains(&Suffix::Glob) {
            anchored(&glob_to_regex(&text))
        } else {
            match text {
                std::borrow::Cow::Borrowed(t) => Kind::Wild(t),
                std::borrow::Cow::Owned(t) => Kind::WildOwned(t),
            }
        };
        LinePattern {
            kind,
            no_eol: s.contains(&Suffix::NoEol),
        }
    }

    /// Does one actual line (trimmed of trailing whitespace) match?
    pub(crate) fn matches(&self, actual: &str) -> bool {
        match &self.kind {
            Kind::Wild(p) => wild_matches(p, actual),
            Kind::WildOwned(p) => wild_matches(p, actual),
            Kind::Regex(re) => re.is_match(actual),
            Kind::Invalid => false,
        }
    }
}

/// Does one actual line match one expected line with `[..]` wildcards? Both are already
/// trimmed of trailing whitespace.
pub(crate) fn wild_matches(pattern: &str, actual: &str) -> bool {
    if !pattern.contains("[..]") {
        return pattern == actual;
    }
    let segs: Vec<&str> = pattern.split("[..]").collect();
    let (first, last) = (segs[0], segs[segs.len() - 1]);
    if !actual.starts_with(first) {
        return false;
    }
    let mut pos = first.len();
    for mid in &segs[1..segs.len() - 1] {
        match actual[pos..].find(mid) {
            Some(i) => pos += i + mid.len(),
            None => return false,
        }
    }
    actual.len() - pos >= last.len() && actual[pos..].ends_with(last)
}

/// cram's globs: `*` any text, `?` one character, `\*` `\?` `\\` themselves.
fn glob_to_regex(glob: &str) -> String {
    let mut re = String::new();
    let mut chars = glob.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            '\\' => match chars.next() {
                Some(n) => re.push_str(&regex::escape(&n.to_string())),
                None => re.push_str(r"\\"),
            },
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re
}

/// Decode an ` (esc)` line: `\xNN` bytes (UTF-8 sequences decode to their characters; bytes that
/// are not UTF-8 compare as U+FFFD, as output does), `\r`, `\t`, `\n`, `\e`, `\0`, `\\`. Other
/// backslashes stay.
pub(crate) fn unescape(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let hex = |s: &[u8]| {
            std::str::from_utf8(s)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        };
        let (byte, len) = match b[i + 1] {
            b'x' if i + 4 <= b.len() => match hex(&b[i + 2..i + 4]) {
                Some(v) => (v, 4),
                None => (b'\\', 1),
            },
            b'r' => (b'\r', 2),
            b't' => (b'\t', 2),
            b'n' => (b'\n', 2),
            b'e' => (0x1b, 2),
            b'0' => (0, 2),
            b'\\' => (b'\\', 2),
            _ => (b'\\', 1),
        };
        out.push(byte);
        i += len;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Normalised output (see [`super::matcher::normalize`]) as `--update` writes it into a
/// transcript: lines with control characters as ` (esc)` lines, and ` (no-eol)` on the last line
/// when `actual` does not end with a newline.
pub(crate) fn for_note(normalized: &str, actual: &str) -> String {
    let mut lines: Vec<String> = normalized.lines().map(str::to_string).collect();
    let no_eol = !actual.is_empty() && !actual.ends_with('\n');
    if let Some(last) = lines.last_mut().filter(|_| no_eol) {
        if !suffixes(last).1.contains(&Suffix::NoEol) {
            last.push_str(" (no-eol)");
        }
    }
    let mut out = String::new();
    for l in lines {
        if needs_escape(&l) {
            out.push_str(&escape_line(&l));
        } else {
            out.push_str(&l);
        }
        out.push('\n');
    }
    out
}

/// Does an actual line need ` (esc)` to be written into a note (control characters other than
/// tab)?
pub(crate) fn needs_escape(line: &str) -> bool {
    line.chars().any(|c| c.is_control() && c != '\t')
}

/// An actual line as an ` (esc)` line that [`unescape`] turns back into it.
pub(crate) fn escape_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '\\' => out.push_str(r"\\"),
            '\r' => out.push_str(r"\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for byte in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{byte:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push_str(" (esc)");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, actual: &str) -> bool {
        LinePattern::parse(pattern).matches(actual)
    }

    #[test]
    fn regex_lines_match_the_whole_line() {
        assert!(m("pid [0-9]+ started (re)", "pid 42 started"));
        assert!(
            !m("pid [0-9]+ (re)", "pid 42 started"),
            "anchored at the end"
        );
        assert!(!m("[0-9]+ (re)", "pid 42"), "anchored at the start");
        assert!(m("a|b (regex)", "b"));
        assert!(
            !m("( (re)", "("),
            "a regex that does not compile matches nothing"
        );
        assert!(invalid_regex("( (re)").is_some());
        assert!(invalid_regex("(a) (re)").is_none() && invalid_regex("( ").is_none());
    }

    #[test]
    fn glob_lines_have_star_and_question_mark() {
        assert!(m("/tmp/tmp.* (glob)", "/tmp/tmp.XaB12"));
        assert!(m("v?.? (glob)", "v1.2"));
        assert!(!m("v?.? (glob)", "v10.2"));
        assert!(m(r"a\*b (glob)", "a*b"));
        assert!(!m(r"a\*b (glob)", "axb"));
        assert!(
            m("1+1=(2) (glob)", "1+1=(2)"),
            "regex characters are literal"
        );
    }

    #[test]
    fn escaped_lines_decode_bytes_and_round_trip() {
        assert!(m(r"\x1b[1mbold\x1b[0m (esc)", "\u{1b}[1mbold\u{1b}[0m"));
        assert!(m(r"a\tb\\n (esc)", "a\tb\\n"));
        assert!(m(r"caf\xc3\xa9 (esc)", "café"));
        assert!(m(r"\xff (esc)", "\u{fffd}"), "non-UTF-8 compares as U+FFFD");
        for actual in ["\u{1b}]0;t\u{7}x\\y\r", "\u{9b}a", "tab\there"] {
            let line = escape_line(actual);
            assert!(line.ends_with(" (esc)"), "{line}");
            assert!(m(&line, actual.trim_end()), "{line} vs {actual:?}");
        }
        assert!(needs_escape("\u{1b}[0m") && !needs_escape("a\tb"));
    }

    #[test]
    fn update_writes_escapes_and_missing_line_ends() {
        assert_eq!(for_note("a\nb\n", "a\nb\n"), "a\nb\n");
        assert_eq!(for_note("a\nb\n", "a\nb"), "a\nb (no-eol)\n");
        assert_eq!(for_note("b (no-eol)\n", "b"), "b (no-eol)\n");
        assert_eq!(
            for_note("\u{1b}[1m\n", "\u{1b}[1m"),
            "\\x1b[1m (no-eol) (esc)\n"
        );
    }

    #[test]
    fn no_eol_and_combinations() {
        let p = LinePattern::parse("done (no-eol)");
        assert!(p.no_eol && p.matches("done"));
        let p = LinePattern::parse(r"\x1b (no-eol) (esc)");
        assert!(p.no_eol && p.matches("\u{1b}"));
        assert!(m("plain [..] text", "plain any text"));
        assert!(m("(re)", "(re)"), "a suffix needs text before it");
    }
}
