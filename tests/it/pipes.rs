//! A reader that closes its end early (`kb check 2>&1 | head -1`, `kb search x | true`) ends the
//! command quietly with exit code 0, as ripgrep does: no panic (exit 101), no `Broken pipe`
//! error (exit 2).
//!
//! Each case runs many times and closes the pipe at different points (before kb writes a byte,
//! after the first line, after a few kilobytes), because where the write fails decides which
//! print path is hit.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::Fixture;

/// Which stream the reader closes; the other one is read to the end.
#[derive(Clone, Copy, Debug)]
enum Stream {
    Stdout,
    Stderr,
}

/// Run kb, read `keep` bytes of `closed` (0: none), close it, read the other stream to the end.
/// Returns the exit code and the other stream's text.
fn run_closing(fx: &Fixture, args: &[&str], closed: Stream, keep: usize) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kb"))
        .arg("--root")
        .arg(fx.root())
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kb");
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (mut to_close, mut to_read): (Box<dyn Read + Send>, Box<dyn Read + Send>) = match closed {
        Stream::Stdout => (Box::new(stdout), Box::new(stderr)),
        Stream::Stderr => (Box::new(stderr), Box::new(stdout)),
    };
    let other = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = to_read.read_to_string(&mut text);
        text
    });
    let mut buf = vec![0u8; keep];
    let mut got = 0;
    while got < keep {
        match to_close.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    drop(to_close);
    let status = child.wait().expect("wait for kb");
    let other = other.join().unwrap();
    (status.code().unwrap_or(-1), other)
}

/// A knowledge base whose `kb check` prints far more than a pipe buffer (64 KiB) to stderr:
/// 1,500 broken links.
fn noisy_kb() -> Fixture {
    let mut body = String::from("---\ntitle: Noisy\n---\n\n");
    for i in 0..1500 {
        body.push_str(&format!("A [broken link](missing-{i}.md) on line {i}.\n\n"));
    }
    Fixture::with_files(&[("content/noisy.md", &body)])
}

fn assert_quiet(case: &str, code: i32, other: &str) {
    assert!(
        !other.contains("panicked") && !other.contains("Broken pipe"),
        "{case}: the other stream shows a panic or a pipe error:\n{other}"
    );
    assert_eq!(code, 0, "{case}: exit code\n{other}");
}

#[test]
fn check_ends_quietly_when_its_stderr_reader_closes_early() {
    let fx = noisy_kb();
    let full = fx.kb(&["check"]);
    full.expect_code(1);
    assert!(full.stderr.len() > 64 * 1024, "{}", full.stderr.len());
    for i in 0..20 {
        let keep = [0, 1, 80, 4096][i % 4];
        let (code, stdout) = run_closing(&fx, &["check"], Stream::Stderr, keep);
        assert_quiet(
            &format!("kb check, stderr closed after {keep} bytes"),
            code,
            &stdout,
        );
    }
}

#[test]
fn search_ends_quietly_when_its_stdout_reader_closes_early() {
    let fx = Fixture::copy("search");
    fx.kb(&["build"]).expect_code(0);
    let full = fx.kb(&["search", "--limit", "100", "容器"]);
    full.expect_code(0);
    assert!(!full.stdout.is_empty());
    for i in 0..20 {
        let keep = [0, 1, 64][i % 3];
        let args: &[&str] = if i % 2 == 0 {
            &["search", "--limit", "100", "容器"]
        } else {
            &["search", "--json", "--limit", "100", "容器"]
        };
        let (code, stderr) = run_closing(&fx, args, Stream::Stdout, keep);
        assert_quiet(
            &format!("{args:?}, stdout closed after {keep} bytes"),
            code,
            &stderr,
        );
    }
}

#[test]
fn build_and_content_errors_end_quietly_when_stderr_is_closed() {
    let noisy = noisy_kb();
    // 1,500 notes with bad front matter: the error report alone is larger than a pipe buffer.
    let files: Vec<(String, String)> = (0..1500)
        .map(|i| {
            (
                format!("content/bad-{i}.md"),
                "---\ntitle: [unclosed\n---\n".to_string(),
            )
        })
        .collect();
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let broken = Fixture::with_files(&files);
    broken.kb(&["check"]).expect_code(1);
    for i in 0..10 {
        let keep = [0, 100][i % 2];
        // `build` prints 1,500 warnings and succeeds.
        let (code, stdout) = run_closing(&noisy, &["build"], Stream::Stderr, keep);
        assert_quiet(
            &format!("kb build, stderr closed after {keep} bytes"),
            code,
            &stdout,
        );
        // `build` stops on 1,500 errors, reported through the error path of `main`.
        let (code, stdout) = run_closing(&broken, &["build"], Stream::Stderr, keep);
        assert_quiet(
            &format!("failing kb build, stderr closed after {keep} bytes"),
            code,
            &stdout,
        );
    }
}
