//! The protocol of a session's long-lived shell, apart from the engine that carries it: the
//! script that starts it, the text sent for each command, and finding where a command's output
//! ends in the terminal's byte stream.
//!
//! One shell per session keeps `cd`, variables, functions and aliases from one `$` line (and one
//! block) to the next, as a terminal does. It runs on a terminal, so stdout and stderr arrive
//! interleaved as a reader sees them. The terminal is set to pass bytes through without echo or
//! line editing (`stty`), and the shell reads its script from the terminal on fd 3 while its own
//! stdin is `/dev/null`: a command that reads stdin gets end-of-file at once instead of eating the
//! next command, and a heredoc in the command still feeds it. Each command is `eval`ed (a syntax
//! error in it is its own failure, never the session's), then a `printf` prints a marker that
//! frames a per-shell nonce and `$?` with `\x1e` bytes. The framing bytes are in the `printf`
//! format as escapes only, so neither `set -x` nor the command's text can produce the marker.

use std::hash::{BuildHasher, Hasher};

use crate::snippet::Shell;

/// The record separator that frames markers.
const RS: u8 = 0x1e;

/// A fresh nonce for one shell.
pub(crate) fn nonce() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("{:016x}", h.finish())
}

/// The shell a session got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShellKind {
    /// bash reads each command up to a NUL byte and `eval`s it.
    Bash,
    /// sh (no bash in the image) reads a script of quoted commands.
    Sh,
}

/// `sh -c` script of the exec that becomes the session's shell: quiet terminal, then `want`, or
/// bash when the image has it, else sh, reading commands from the terminal on fd 3. It prints `ready-bash`
/// or `ready-sh` when commands may be sent, or `nostty` when the terminal could not be set up
/// (no `stty` in the image): then commands run one exec each.
///
/// bash runs a `-c` loop named `bash`: it reads a command up to a NUL byte and `eval`s it with
/// fd 3 closed, so its own messages read as for `bash -c` (`bash: line 1: x: command not found`)
/// wherever the command comes in the session, and aliases one command defines expand in the
/// next. sh reads the terminal as a script with `.` (so its messages name `sh`). Both are
/// non-interactive: no prompts, no job notices (an interactive bash prints `[1] 42` for every
/// `&`, different on every run).
pub(crate) fn launcher(nonce: &str, want: Option<Shell>) -> String {
    let bash = format!(
        "printf '\\036kb:%s:ready-bash\\036\\n' {nonce}; \
         exec bash --noprofile --norc -c 'shopt -s expand_aliases; \
         while IFS= read -r -d \"\" __kb_cmd <&3; do eval \"$__kb_cmd\" 3<&-; \
         printf \"\\036kb:%s:%d\\036\\n\" {nonce} \"$?\"; done' bash 3<&0 </dev/null"
    );
    let sh = format!(
        "printf '\\036kb:%s:ready-sh\\036\\n' {nonce}; exec sh -c '. /dev/fd/3' sh 3<&0 </dev/null"
    );
    let pick = match want {
        None => format!("if command -v bash >/dev/null 2>&1; then {bash}; fi; {sh}"),
        Some(Shell::Bash) => format!(
            "if ! command -v bash >/dev/null 2>&1; then printf '\\036kb:%s:nobash\\036\\n' {nonce}; exit 0; fi; {bash}"
        ),
        Some(Shell::Sh) => sh,
    };
    format!(
        "if ! stty -echo -icanon -isig -iexten -ixon -icrnl min 1 time 0 2>/dev/null; then \
         printf '\\036kb:%s:nostty\\036\\n' {nonce}; exit 0; fi; \
         {{ echo 500 >/proc/self/oom_score_adj; }} 2>/dev/null; {pick}"
    )
}

/// Sent to sh once, before the first command: close the script's fd for commands (the shell
/// reads its own copy).
pub(crate) const SH_INIT: &str = "exec 3<&-\n";

/// The text sent for one command.
pub(crate) fn command_script(kind: ShellKind, nonce: &str, cmd: &str) -> String {
    match kind {
        ShellKind::Bash => format!("{cmd}\0"),
        // A quoted string for `eval`, then the marker.
        ShellKind::Sh => format!(
            "__kb_cmd='{}'\neval \"$__kb_cmd\"\nprintf '\\036kb:%s:%d\\036\\n' {nonce} \"$?\"\n",
            cmd.replace('\'', r"'\''")
        ),
    }
}

/// What a marker said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Ready(ShellKind),
    NoStty,
    /// `shell=bash` in an image without bash.
    NoBash,
    /// A command ended with this status.
    Status(i64),
}

/// A marker found in the stream: where it starts and where the bytes after it begin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) marker: Marker,
}

/// Find the first complete marker of `nonce` in `buf` at or after `from`. A marker whose end has
/// not arrived yet is not found (read more and look again from the same place).
pub(crate) fn find_marker(buf: &[u8], nonce: &str, from: usize) -> Option<Found> {
    let head = format!("\x1ekb:{nonce}:");
    let head = head.as_bytes();
    let mut at = from.min(buf.len());
    while let Some(i) = buf[at..].windows(head.len()).position(|w| w == head) {
        let start = at + i;
        let body_start = start + head.len();
        let close = buf[body_start..].iter().position(|&b| b == RS)?;
        let body = &buf[body_start..body_start + close];
        let mut end = body_start + close + 1;
        // The line end after it, as the terminal wrote it (`\r\n`), or `\n`.
        match &buf[end..] {
            [] | [b'\r'] => return None,
            [b'\r', b'\n', ..] => end += 2,
            [b'\n', ..] => end += 1,
            _ => {}
        }
        let marker = match body {
            b"ready-bash" => Some(Marker::Ready(ShellKind::Bash)),
            b"ready-sh" => Some(Marker::Ready(ShellKind::Sh)),
            b"nostty" => Some(Marker::NoStty),
            b"nobash" => Some(Marker::NoBash),
            digits => std::str::from_utf8(digits)
                .ok()
                .and_then(|d| d.parse().ok())
                .map(Marker::Status),
        };
        match marker {
            Some(marker) => return Some(Found { start, end, marker }),
            None => at = start + 1,
        }
    }
    None
}

/// Where to look for a marker again after appending to a buffer that was `len` long: far enough
/// back that a marker split across reads is found.
pub(crate) fn search_from(len: usize, nonce: &str) -> usize {
    len.saturating_sub(nonce.len() + 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_quoted_for_eval_whatever_it_contains() {
        assert_eq!(
            command_script(ShellKind::Bash, "n1", "a 'b'\n"),
            "a 'b'\n\0"
        );
        let s = command_script(ShellKind::Sh, "n1", "echo 'it''s' \"$HOME\" \\\n  done");
        assert_eq!(
            s,
            "__kb_cmd='echo '\\''it'\\'''\\''s'\\'' \"$HOME\" \\\n  done'\neval \"$__kb_cmd\"\nprintf '\\036kb:%s:%d\\036\\n' n1 \"$?\"\n"
        );
    }

    #[test]
    fn markers_are_found_with_their_status_and_the_bytes_after_them() {
        let buf = b"out\r\nno eol\x1ekb:ab:3\x1e\r\nlater";
        let f = find_marker(buf, "ab", 0).unwrap();
        assert_eq!(&buf[..f.start], b"out\r\nno eol");
        assert_eq!(f.marker, Marker::Status(3));
        assert_eq!(&buf[f.end..], b"later");
        assert_eq!(
            find_marker(b"\x1ekb:ab:ready-sh\x1e\n", "ab", 0)
                .unwrap()
                .marker,
            Marker::Ready(ShellKind::Sh)
        );
        assert_eq!(
            find_marker(b"\x1ekb:ab:-1\x1e\n", "ab", 0).unwrap().marker,
            Marker::Status(-1)
        );
    }

    #[test]
    fn incomplete_foreign_or_traced_markers_are_not_markers() {
        assert_eq!(find_marker(b"x\x1ekb:ab:0", "ab", 0), None);
        assert_eq!(find_marker(b"x\x1ekb:ab:0\x1e\r", "ab", 0), None);
        assert_eq!(find_marker(b"\x1ekb:zz:0\x1e\n", "ab", 0), None);
        // What `set -x` prints for the marker's printf.
        let traced = b"+ printf '\\036kb:%s:%d\\036\\n' ab 0\r\n";
        assert_eq!(find_marker(traced, "ab", 0), None);
        let f = find_marker(b"\x1ekb:ab:junk\x1e\n\x1ekb:ab:7\x1e\n", "ab", 0).unwrap();
        assert_eq!(f.marker, Marker::Status(7));
    }

    #[test]
    fn a_marker_split_across_reads_is_found_from_the_rewound_position() {
        let mut buf = b"abc\x1ekb:ab".to_vec();
        assert_eq!(find_marker(&buf, "ab", 0), None);
        let from = search_from(buf.len(), "ab");
        buf.extend_from_slice(b":0\x1e\r\n");
        assert_eq!(find_marker(&buf, "ab", from).unwrap().start, 3);
    }
}
