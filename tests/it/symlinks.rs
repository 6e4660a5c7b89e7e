//! One symlink policy for every stage: a link under content/ is followed only to a file inside
//! the root. A dangling link, a loop, a link to a folder and a link out of the root are each
//! reported once, by path, and skipped — by the content walk, the search stage's change stamp
//! (which used to follow them: a dangling link or a loop failed `kb build` with exit 2, a link to
//! `/etc` walked all of it) and `kb serve`, including links created while it runs.

use std::os::unix::fs::symlink;

use crate::serve::Server;
use crate::support::Fixture;

/// The word only the note outside the root holds.
const OUTSIDE_WORD: &str = "zanzibarquux";

/// A knowledge base with one good note and every kind of bad link, and the folder outside it.
fn linked_kb() -> (Fixture, tempfile::TempDir) {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("note.md"),
        format!("---\ntitle: Outside\n---\n\n{OUTSIDE_WORD} lives outside.\n"),
    )
    .unwrap();
    std::fs::write(outside.path().join("secret.txt"), OUTSIDE_WORD).unwrap();
    let fx = Fixture::with_files(&[(
        "content/a.md",
        "---\ntitle: Inside\n---\n\nThe inside note talks about marmalade.\n",
    )]);
    let c = |p: &str| fx.path(&format!("content/{p}"));
    symlink("/nonexistent/kb-test/x.md", c("dangling.md")).unwrap();
    symlink(c("loop-b.md"), c("loop-a.md")).unwrap();
    symlink(c("loop-a.md"), c("loop-b.md")).unwrap();
    symlink(fx.path("content"), c("self")).unwrap();
    symlink(outside.path(), c("outside")).unwrap();
    symlink(outside.path().join("note.md"), c("outside-note.md")).unwrap();
    (fx, outside)
}

const LINKS: [&str; 6] = [
    "content/dangling.md",
    "content/loop-a.md",
    "content/loop-b.md",
    "content/self",
    "content/outside",
    "content/outside-note.md",
];

/// Each link is named by exactly one warning line.
fn assert_warned_once(stderr: &str) {
    for link in LINKS {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with(&format!("{link}: warning: ")))
            .collect();
        assert_eq!(lines.len(), 1, "{link}:\n{stderr}");
        assert!(lines[0].contains("symlink"), "{}", lines[0]);
    }
}

#[test]
fn build_check_and_search_skip_bad_links_with_one_warning_each_and_read_nothing_outside() {
    let (fx, _outside) = linked_kb();
    let build = fx.kb(&["build"]);
    build.expect_code(0);
    assert_warned_once(&build.stderr);
    let check = fx.kb(&["check"]);
    check.expect_code(1);
    assert_warned_once(&check.stderr);

    // Nothing from outside the root reached the site or the search index.
    for entry in walkdir::WalkDir::new(fx.path("public")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(OUTSIDE_WORD),
                "{} holds text from outside the root",
                entry.path().display()
            );
        }
    }
    let search = fx.kb(&["search", OUTSIDE_WORD]);
    search.expect_code(0);
    assert!(search.stdout.is_empty(), "{}", search.stdout);
    let search = fx.kb(&["search", "marmalade"]);
    search.expect_code(0);
    assert!(search.stdout.contains("Inside"), "{}", search.stdout);
}

#[test]
fn serve_does_not_follow_links_created_while_it_runs() {
    let (fx, outside) = linked_kb();
    let srv = Server::start(fx.root());
    srv.wait_page("/notes/a/", |r| r.status == 200);
    // A new link to the outside note, then one to the outside file, each followed by an edit
    // of a real note: once the edit shows, the link (reported before it) has been dealt with.
    let links = [
        (
            outside.path().join("note.md"),
            "content/late.md",
            "/notes/late/",
        ),
        (
            outside.path().join("secret.txt"),
            "content/late.txt",
            "/late.txt",
        ),
    ];
    for (round, (target, link, url)) in links.iter().enumerate() {
        symlink(target, fx.path(link)).unwrap();
        let edited = format!("EDITED-{round}");
        fx.write(
            "content/a.md",
            &format!(
                "---\ntitle: Inside\n---\n\nThe inside note, {edited}, talks about marmalade.\n"
            ),
        );
        srv.wait_page("/notes/a/", |r| r.body.contains(&edited));
        for path in [*url, "/notes/outside-note/", "/outside/secret.txt"] {
            let r = srv.get(path);
            assert_eq!(r.status, 404, "{path} after {link} was created");
            assert!(
                !r.body.contains(OUTSIDE_WORD),
                "{path} served text from outside"
            );
        }
    }
    let r = srv.get(&format!("/_kb/search?q={OUTSIDE_WORD}"));
    assert!(!r.body.contains("Outside"), "{}", r.body);
}
