//! One set of snippet rules: a bad fence is reported the same way, with `path:line`, by
//! `kb check`, `kb build` and `kb verify` (which plans before it needs Docker), and no fence
//! makes any of them panic.

use crate::support::Fixture;

/// `path:line: error|warning: message` lines of a run's stderr with their hint lines, severity
/// written as `error` (kb check and kb build report snippet problems as warnings, kb verify as
/// errors).
fn diagnostics(stderr: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in stderr.lines() {
        if line.contains(": error: ") || line.contains(": warning: ") {
            out.push(line.replacen(": warning: ", ": error: ", 1));
        } else if let (Some(hint), Some(last)) = (line.strip_prefix("  hint: "), out.last_mut()) {
            last.push_str(" // hint: ");
            last.push_str(hint);
        }
    }
    out
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

/// A note with one of each problem the planner finds, and a second note reusing a block id.
fn rules_fixture() -> Fixture {
    let note = "---\ntitle: Rules\n---\n\n\
```console run session=s restart\n$ true\n```\n\n\
```console run exit=-1\n$ false\n```\n\n\
```sh run timeout=99999999999h\ntrue\n```\n\n\
```sh run id=a id=b\ntrue\n```\n\n\
```sh file=.\ntrue\n```\n\n\
```text\nnot runnable\n```\n\n\
```output\nnothing runs before this\n```\n\n\
```sh run id=shared\ntrue\n```\n";
    let other = "---\ntitle: Other\n---\n\n```sh run id=shared\ntrue\n```\n";
    let section = "---\ntitle: Section\n---\n\n```console run exit=3\n$ false\n```\n";
    Fixture::with_files(&[
        ("content/rules.md", note),
        ("content/sec/_index.md", section),
        (
            "content/sec/in-section.md",
            "---\ntitle: In\ndraft: true\n---\n\n```sh run restart\ntrue\n```\n",
        ),
        ("content/z-other.md", other),
    ])
}

#[test]
fn check_build_and_verify_report_exactly_the_planners_diagnostics() {
    let fx = rules_fixture();
    let check = fx.kb(&["check"]);
    check.expect_code(1);
    let from_check = diagnostics(&check.stderr);
    let expected_lines = [
        "content/rules.md:5: error: `restart` on the first runnable block of a session",
        "content/rules.md:9: error: `cmd=` and `exit=` don't apply to a console transcript",
        "content/rules.md:13: error: `timeout=99999999999h` is longer than the limit of 24h",
        "content/rules.md:17: error: `id` is given twice",
        "content/rules.md:21: error: `file=.` does not name a file",
        "content/rules.md:29: error: an `output` block with no runnable block right before it",
        "content/sec/_index.md:5: error: `cmd=` and `exit=` don't apply to a console transcript",
        "content/sec/in-section.md:6: error: `restart` on the first runnable block of a session",
        "content/z-other.md:5: error: `id=shared` is already used at content/rules.md:33",
    ];
    assert_eq!(from_check.len(), expected_lines.len(), "{}", check.stderr);
    for (got, want) in from_check.iter().zip(expected_lines) {
        assert!(got.starts_with(want), "{got}\n  expected {want}");
        assert!(got.contains(" // hint: "), "no hint: {got}");
    }

    let verify = fx.kb(&["verify"]);
    verify.expect_code(1);
    assert_eq!(diagnostics(&verify.stderr), from_check, "{}", verify.stderr);

    let build = fx.kb(&["build"]);
    build.expect_code(0);
    assert_eq!(diagnostics(&build.stderr), from_check, "{}", build.stderr);
    fx.kb(&["build", "--strict"]).expect_code(1);
}

/// A problem of `kb serve`'s overlay in the form [`diagnostics`] gives.
fn shown(p: &serde_json::Value) -> String {
    let mut s = format!(
        "{}:{}: error: {}",
        p["path"].as_str().unwrap(),
        p["line"],
        p["message"].as_str().unwrap()
    );
    if let Some(h) = p["hint"].as_str() {
        s.push_str(" // hint: ");
        s.push_str(h);
    }
    s
}

#[test]
fn serve_shows_the_planners_diagnostics_and_follows_edits_across_notes() {
    let fx = rules_fixture();
    let from_check = diagnostics(&fx.kb(&["check"]).stderr);
    let srv = crate::serve::Server::start(fx.root());
    let mut socket = srv.socket();
    let shown_now: Vec<String> = socket.initial_problems["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(shown)
        .collect();
    assert_eq!(shown_now, from_check);
    // The second note stops reusing the id: the problem reported in it goes away.
    fx.write(
        "content/z-other.md",
        &fx.read("content/z-other.md").replace("id=shared", "id=own"),
    );
    let after: Vec<String> = socket.wait_problems().iter().map(shown).collect();
    let expected: Vec<String> = from_check
        .iter()
        .filter(|d| !d.starts_with("content/z-other.md"))
        .cloned()
        .collect();
    assert_eq!(after, expected);
}
