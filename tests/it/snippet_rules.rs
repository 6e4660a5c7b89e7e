//! One set of snippet rules: a bad fence is reported the same way, with `path:line`, by
//! `kb check`, `kb build` and `kb verify` (which plans before it needs Docker), and no fence
//! makes any of them panic.

use crate::support::Fixture;

/// `path:line: error|warning: message` lines of a run's stderr (hints left out).
fn diagnostics(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| l.contains(": error: ") || l.contains(": warning: "))
        .map(|l| {
            l.replacen(": warning: ", ": error: ", 1)
                .trim_end()
                .to_string()
        })
        .collect()
}

#[test]
fn timeouts_too_long_for_a_clock_are_path_line_errors_not_panics() {
    let fx = Fixture::with_files(&[(
        "content/slow.md",
        "---\ntitle: Slow\n---\n\n```sh run timeout=99999999999999999999h\nsleep 1\n```\n\n```sh run timeout=25h\nsleep 1\n```\n\n```sh run timeout=1e300s\nsleep 1\n```\n",
    )]);
    let check = fx.kb(&["check"]);
    check.expect_code(1);
    let found = diagnostics(&check.stderr);
    assert_eq!(found.len(), 3, "{}", check.stderr);
    assert!(
        found[0].starts_with(
            "content/slow.md:5: error: `timeout=99999999999999999999h` is not a duration"
        ),
        "{found:?}"
    );
    assert!(
        found[1]
            .starts_with("content/slow.md:9: error: `timeout=25h` is longer than the limit of 24h"),
        "{found:?}"
    );
    assert!(
        found[2].starts_with("content/slow.md:13: error: `timeout=1e300s` is not a duration"),
        "{found:?}"
    );
    assert!(
        check.stderr.contains("hint: durations are at most 24h"),
        "{}",
        check.stderr
    );

    let build = fx.kb(&["build"]);
    assert!(!build.stderr.contains("panicked"), "{}", build.stderr);
    assert_eq!(diagnostics(&build.stderr), found, "{}", build.stderr);

    let verify = fx.kb(&["verify"]);
    verify.expect_code(1);
    assert_eq!(diagnostics(&verify.stderr), found, "{}", verify.stderr);
}

#[test]
fn a_kb_toml_timeout_past_the_bound_names_its_line() {
    let fx = Fixture::with_files(&[
        (
            "kb.toml",
            "title = \"x\"\n\n[verify]\ntimeout = \"100000000000000000000h\"\n",
        ),
        ("content/a.md", "---\ntitle: A\n---\n\nText.\n"),
    ]);
    for cmd in ["check", "build", "verify"] {
        let run = fx.kb(&[cmd]);
        run.expect_code(1);
        assert!(
            run.stderr.starts_with(
                "kb.toml:4: error: duration `100000000000000000000h` is not a duration"
            ),
            "{cmd}: {}",
            run.stderr
        );
    }
    let serve = fx.kb(&["serve", "--port", "0", "--debounce", "2h"]);
    serve.expect_code(2);
    assert!(
        serve.stderr.contains("`2h` is longer than the limit of 1m"),
        "{}",
        serve.stderr
    );
}
