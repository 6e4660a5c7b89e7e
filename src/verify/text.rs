//! Small text helpers every verify stage shares: durations for people, and text from a container
//! made safe to print. Kept apart so the engine, the runner and the report can all use them
//! without depending on one another.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::time::Duration;

/// `850ms`, `1.2s`, `2m05s`.
pub(crate) fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

/// Text from a container (or a note) made safe to print on the user's terminal: control
/// characters other than newline and tab are shown as escapes (`\x1b`, `\r`, `\u{9b}`) instead of
/// reaching the terminal, where `\x1b]0;title\x07` would retitle the window, colours would leak
/// into the report and `\r` would hide what came before it on the line. Bidirectional overrides
/// are escaped too, so a diff shows characters in the order they are. Backslashes are left as
/// they are, so commands and paths read normally; an escape in a report can therefore also be
/// text that was printed literally.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    let needs = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(needs) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if !needs(c) {
            out.push(c);
            continue;
        }
        match c {
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(human_duration(Duration::from_millis(850)), "850ms");
        assert_eq!(human_duration(Duration::from_millis(1300)), "1.3s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m05s");
    }

    #[test]
    fn only_control_characters_are_escaped() {
        assert_eq!(escape_controls("a\tb\\n é\n"), "a\tb\\n é\n");
        assert_eq!(escape_controls("\u{1b}[31m\r"), "\\x1b[31m\\r");
    }
}
