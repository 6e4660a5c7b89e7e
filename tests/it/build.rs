//! `kb build`, `kb check` and `kb init`: the pages a knowledge base turns into, and every kind of
//! bad input getting `path:line`, a hint and the right exit code (0 ok, 1 content, 2 usage).

use crate::support::{kb_in, repo_root, Fixture};

fn built_good() -> Fixture {
    let f = Fixture::copy("good");
    f.kb(&["build"]).expect_code(0);
    f
}

#[test]
fn every_page_kind_is_written() {
    let f = built_good();
    for page in [
        "public/index.html",
        "public/notes/go-gc/index.html",
        "public/notes/panic/index.html",
        "public/notes/entrypoint/index.html",
        "public/notes/hugo/index.html",
        "public/notes/jekyll/index.html",
        "public/tags/index.html",
        "public/tags/go/index.html",
        "public/tags/docker/index.html",
        "public/sections/go/index.html",
        "public/sections/docker/index.html",
        "public/verify/index.html",
        "public/404.html",
        "public/sitemap.xml",
        "public/atom.xml",
        "public/style.css",
        "public/kb.js",
        "public/highlight.css",
        "public/docker/img/diagram.svg",
    ] {
        assert!(f.path(page).is_file(), "{page} missing");
    }
    assert!(
        !f.path("public/notes/draft").exists(),
        "drafts are skipped by default"
    );
    assert!(
        !f.path("public/notes/hidden").exists(),
        "hidden files are skipped"
    );
}

#[test]
fn drafts_build_with_the_drafts_flag() {
    let f = Fixture::copy("good");
    f.kb(&["build", "--drafts"]).expect_code(0);
    assert!(f.path("public/notes/draft/index.html").is_file());
}

#[test]
fn internal_links_wikilinks_and_assets_are_rewritten_under_the_base_path() {
    let f = built_good();
    let gc = f.read("public/notes/go-gc/index.html");
    assert!(
        gc.contains(r#"href="/kb/notes/panic/""#),
        "wikilink by title"
    );
    assert!(
        gc.contains(r#"href="/kb/notes/entrypoint/#exec-form""#),
        "relative .md link with anchor"
    );
    assert!(
        gc.contains(r#"src="/kb/docker/img/diagram.svg""#),
        "relative image"
    );
    let panic = f.read("public/notes/panic/index.html");
    assert!(
        panic.contains(r#"href="/kb/notes/go-gc/#tri-color""#),
        "wikilink by file name with anchor"
    );
    assert!(panic.contains(">三色标记</a>"), "wikilink label after |");
    assert!(
        panic.contains(r#"href="/kb/notes/go-gc/">Go 垃圾回收</a>"#),
        "wikilink by Obsidian alias shows the title"
    );
}

#[test]
fn backlinks_list_the_notes_that_link_here() {
    let f = built_good();
    let gc = f.read("public/notes/go-gc/index.html");
    let back = &gc[gc.find("被以下笔记引用").expect("backlinks section")..];
    assert!(back.contains("Go panic 与 recover"));
    let entry = f.read("public/notes/entrypoint/index.html");
    assert!(entry.contains("被以下笔记引用") && entry.contains("Go 垃圾回收"));
}

#[test]
fn chinese_headings_get_readable_unique_ids_and_a_toc() {
    let f = built_good();
    let gc = f.read("public/notes/go-gc/index.html");
    assert!(gc.contains(r#"<h2 id="tri-color">"#), "explicit id wins");
    assert!(gc.contains(r#"<h2 id="实验">"#));
    assert!(
        gc.contains(r#"<h2 id="实验-1">"#),
        "duplicate heading gets a suffix"
    );
    assert!(
        gc.contains(r##"<a href="#实验-1">实验</a>"##),
        "ToC links to the unique id"
    );
}

#[test]
fn code_is_highlighted_with_classes_and_snippet_attributes_are_stripped() {
    let f = built_good();
    let gc = f.read("public/notes/go-gc/index.html");
    assert!(gc.contains(r#"<code class="language-go">"#));
    assert!(
        !gc.contains("session=gc"),
        "attributes never reach the page"
    );
    assert!(
        gc.contains("hl-keyword") || gc.contains("hl-storage"),
        "syntect classes, not inline styles"
    );
    assert!(!gc.contains("style=\"color"), "no inline colours");
    assert!(
        gc.contains(r#"<span class="kb-prompt" aria-hidden="true">$ </span>"#),
        "console prompt is distinct"
    );
    assert!(
        gc.contains(r#"<span class="kb-exit""#),
        "expected exit status is shown"
    );
    assert!(gc.contains("kb-copy"), "copy button");
    assert!(
        gc.contains("kb-badge-unknown"),
        "runnable block not yet verified shows so"
    );
    let panic = f.read("public/notes/panic/index.html");
    assert!(
        panic.contains("kb-badge-skipped") && panic.contains("needs a terminal"),
        "skip reason shown"
    );
    let entry = f.read("public/notes/entrypoint/index.html");
    assert!(!entry.contains("echo setup"), "hidden blocks are not shown");
    let css = f.read("public/highlight.css");
    assert!(
        css.contains("html[data-theme=\"dark\"] .hl-"),
        "dark stylesheet is scoped"
    );
}

#[test]
fn markdown_extensions_render() {
    let f = built_good();
    let gc = f.read("public/notes/go-gc/index.html");
    assert!(gc.contains("<table>"), "tables");
    assert!(gc.contains("footnote-definition"), "footnotes");
    assert!(gc.contains("<del>未完成</del>"), "strikethrough");
    assert!(gc.contains(r#"type="checkbox""#), "task lists");
}

#[test]
fn hugo_jekyll_and_obsidian_front_matter_load_unchanged() {
    let f = built_good();
    let hugo = f.read("public/notes/hugo/index.html");
    assert!(
        hugo.contains("Hugo 风格的笔记")
            && hugo.contains("2021-03-04")
            && hugo.contains("2021-03-05")
    );
    let jekyll = f.read("public/notes/jekyll/index.html");
    assert!(jekyll.contains("<title>Jekyll 风格") && jekyll.contains("2020-01-02"));
    assert!(jekyll.contains("#linux"), "comma-separated tags");
    let entry = f.read("public/notes/entrypoint/index.html");
    assert!(
        entry.contains("<h1 class=\"kb-title\">ENTRYPOINT 与 CMD</h1>"),
        "title from the first heading"
    );
}

#[test]
fn aliases_redirect_and_feeds_use_absolute_urls() {
    let f = built_good();
    let redirect = f.read("public/old/gc/index.html");
    assert!(redirect.contains(r#"url=/kb/notes/go-gc/"#));
    let sitemap = f.read("public/sitemap.xml");
    assert!(sitemap
        .contains("<loc>https://example.com/kb/notes/go-gc/</loc><lastmod>2026-11-22</lastmod>"));
    let atom = f.read("public/atom.xml");
    assert!(atom.contains("<link href=\"https://example.com/kb/notes/go-gc/\"/>"));
    assert!(atom.contains("<link href=\"https://example.com/kb/atom.xml\" rel=\"self\"/>"));
}

#[test]
fn section_titles_come_from_index_files() {
    let f = built_good();
    let s = f.read("public/sections/go/index.html");
    assert!(s.contains("Go 运行时") && s.contains("GC、panic 与调度。"));
    let home = f.read("public/index.html");
    assert!(home.contains("Go 运行时"));
}

#[test]
fn note_body_snapshot() {
    let f = built_good();
    let html = f.read("public/notes/go-gc/index.html");
    let start = html.find("<div class=\"kb-content\">").unwrap();
    let end = html[start..]
        .find("<section class=\"kb-backlinks\">")
        .unwrap()
        + start;
    insta::assert_snapshot!("go_gc_note_body", &html[start..end]);
}

#[test]
fn base_url_flag_overrides_the_config() {
    let f = Fixture::copy("good");
    f.kb(&["build", "--base-url", "https://docs.example.org/"])
        .expect_code(0);
    let gc = f.read("public/notes/go-gc/index.html");
    assert!(gc.contains(r#"href="/notes/panic/""#));
    assert!(f
        .read("public/sitemap.xml")
        .contains("https://docs.example.org/notes/go-gc/"));
}

#[test]
fn out_flag_is_relative_to_the_root() {
    let f = Fixture::copy("good");
    f.kb(&["build", "--out", "site"]).expect_code(0);
    assert!(f.path("site/index.html").is_file());
}

#[test]
fn zero_config_directory_builds() {
    let f = Fixture::with_files(&[("content/a.md", "# 只有正文\n\n一段文字。\n")]);
    f.kb(&["build"]).expect_code(0);
    assert!(f.read("public/notes/a/index.html").contains("只有正文"));
}

// ---- bad input: message with path:line, exit code, nothing lost ----

#[test]
fn malformed_yaml_names_file_and_line_and_exits_1() {
    let f = Fixture::with_files(&[(
        "content/bad.md",
        "---\ntitle: ok\ntags: [a, b\ndate: 2024-01-01\n---\nbody\n",
    )]);
    let r = f.kb(&["build"]);
    r.expect_code(1);
    assert!(r.stderr.contains("content/bad.md:"), "{}", r.stderr);
    assert!(
        r.stderr.contains("error: invalid YAML front matter"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("hint:"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn unclosed_front_matter_says_how_to_fix_it() {
    let f = Fixture::with_files(&[("content/bad.md", "---\ntitle: ok\n\nbody\n")]);
    let r = f.kb(&["check"]);
    r.expect_code(1);
    assert!(
        r.stderr
            .contains("content/bad.md:1: error: front matter opened with `---` is never closed"),
        "{}",
        r.stderr
    );
}

#[test]
fn invalid_utf8_names_file_and_line() {
    let f = Fixture::with_files(&[]);
    f.write("content/ok.md", "# ok\n");
    std::fs::create_dir_all(f.path("content")).unwrap();
    std::fs::write(f.path("content/gbk.md"), b"# title\n\n\xd6\xd0\xce\xc4\n").unwrap();
    let r = f.kb(&["build"]);
    r.expect_code(1);
    assert!(
        r.stderr
            .contains("content/gbk.md:3: error: not valid UTF-8"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("iconv"),
        "hint says how to convert: {}",
        r.stderr
    );
}

#[test]
fn empty_title_is_an_error() {
    let f = Fixture::with_files(&[(
        "content/t.md",
        "---\ndate: 2024-01-01\ntitle: \"\"\n---\nbody\n",
    )]);
    let r = f.kb(&["build"]);
    r.expect_code(1);
    assert!(
        r.stderr.contains("content/t.md:3: error: `title` is empty"),
        "{}",
        r.stderr
    );
}

#[test]
fn two_notes_asking_for_one_slug_name_both_files() {
    let f = Fixture::with_files(&[
        ("content/a/x.md", "---\nslug: same\n---\n# A\n"),
        ("content/b/y.md", "---\nslug: same\n---\n# B\n"),
    ]);
    let r = f.kb(&["build"]);
    r.expect_code(1);
    assert!(
        r.stderr
            .contains("content/b/y.md:2: error: `slug` puts this note at `/notes/same/`, which is already `content/a/x.md`'s page"),
        "{}",
        r.stderr
    );
}

#[test]
fn broken_links_and_anchors_warn_in_build_and_fail_strict_and_check() {
    let f = Fixture::with_files(&[
        ("content/a.md", "# A\n\n## 有的\n"),
        (
            "content/b.md",
            "# B\n\n[x](missing.md)\n\n[y](a.md#没有的)\n\n[[No Such Note]]\n",
        ),
    ]);
    let r = f.kb(&["build"]);
    r.expect_code(0);
    assert!(r.stderr.contains("content/b.md:3: warning: link `missing.md` points to `content/missing.md`, which does not exist"), "{}", r.stderr);
    assert!(r.stderr.contains("content/b.md:5: warning: link `a.md#没有的`: `content/a.md` has no heading with id `没有的`"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("content/b.md:7: warning: link `No Such Note`"),
        "{}",
        r.stderr
    );
    assert!(f.path("public/index.html").is_file());

    let strict = f.kb(&["build", "--strict", "--out", "strict-out"]);
    strict.expect_code(1);
    assert!(
        !f.path("strict-out").exists(),
        "a failed build writes nothing"
    );
    let check = f.kb(&["check"]);
    check.expect_code(1);
    assert!(check.stderr.contains("3 problems"), "{}", check.stderr);
}

#[test]
fn bad_snippet_tags_are_reported_by_check() {
    let f = Fixture::with_files(&[(
        "content/s.md",
        "# S\n\n```go rnu\nx\n```\n\n```output\ny\n```\n",
    )]);
    let r = f.kb(&["check"]);
    r.expect_code(1);
    assert!(
        r.stderr
            .contains("content/s.md:3: warning: unknown snippet attribute `rnu`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("did you mean `run`"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "content/s.md:7: warning: an `output` block with no runnable block right before it"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn a_failed_build_leaves_the_previous_site_untouched() {
    let f = built_good();
    let before = f.read("public/notes/go-gc/index.html");
    f.write("content/go/broken.md", "---\ntitle: [unclosed\n---\n");
    f.kb(&["build"]).expect_code(1);
    assert_eq!(f.read("public/notes/go-gc/index.html"), before);
    let leftovers: Vec<_> = std::fs::read_dir(f.root())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("kb-new") || n.contains("kb-old"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "staging dirs left behind: {leftovers:?}"
    );
}

#[test]
fn a_rebuild_rewrites_only_changed_files_and_says_so() {
    let f = Fixture::with_files(&[
        ("content/a.md", "---\ntitle: A\n---\n\n第一段。\n"),
        ("content/b.md", "---\ntitle: B\n---\n\n第二段。\n"),
    ]);
    f.kb(&["build"]).expect_code(0);
    let page_b = f.root().join("public/notes/b/index.html");
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
    std::fs::File::options()
        .write(true)
        .open(&page_b)
        .unwrap()
        .set_modified(old)
        .unwrap();

    let same = f.kb(&["build"]);
    same.expect_code(0);
    assert!(
        same.stderr.contains(" 0 written, ") && same.stderr.contains(", 0 removed)"),
        "{}",
        same.stderr
    );

    f.write("content/a.md", "---\ntitle: A\n---\n\n第一段，改过。\n");
    let edited = f.kb(&["build"]);
    edited.expect_code(0);
    assert!(
        !edited.stderr.contains(" 0 written, "),
        "the edited note's page is written: {}",
        edited.stderr
    );
    assert!(f.read("public/notes/a/index.html").contains("改过"));
    assert_eq!(
        std::fs::metadata(&page_b).unwrap().modified().unwrap(),
        old,
        "an unchanged page is left alone"
    );

    std::fs::remove_file(f.root().join("content/b.md")).unwrap();
    let removed = f.kb(&["build"]);
    removed.expect_code(0);
    assert!(!page_b.exists(), "a deleted note's page is removed");
    assert!(
        !removed.stderr.contains(", 0 removed)"),
        "{}",
        removed.stderr
    );
}

#[test]
fn unwritable_output_directory_is_an_environment_error() {
    let f = Fixture::with_files(&[
        ("content/a.md", "# A\n"),
        ("blocker", "a file, not a directory"),
    ]);
    let r = f.kb(&["build", "--out", "blocker/public"]);
    r.expect_code(2);
    assert!(r.stderr.contains("blocker"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}

#[test]
fn unknown_config_key_names_key_file_and_line() {
    let f = Fixture::with_files(&[
        ("content/a.md", "# A\n"),
        ("kb.toml", "title = \"x\"\nbase_ur = \"https://x/\"\n"),
    ]);
    let r = f.kb(&["build"]);
    r.expect_code(1);
    assert!(
        r.stderr.contains("kb.toml:2: error:") && r.stderr.contains("base_ur"),
        "{}",
        r.stderr
    );
}

#[test]
fn missing_root_is_a_usage_error() {
    let r = kb_in(std::path::Path::new("/nonexistent/kb"), &["build"]);
    r.expect_code(2);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);
}

#[test]
fn symlinks_out_of_the_root_are_not_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.md"), "# secret\n").unwrap();
    let f = Fixture::with_files(&[("content/a.md", "# A\n")]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.md"),
        f.path("content/secret.md"),
    )
    .unwrap();
    std::os::unix::fs::symlink(f.path("content/a.md"), f.path("content/inside.md")).unwrap();
    let r = f.kb(&["build"]);
    r.expect_code(0);
    assert!(
        r.stderr
            .contains("symlink points outside the knowledge base"),
        "{}",
        r.stderr
    );
    assert!(!f.path("public/notes/secret").exists());
    assert!(
        f.path("public/notes/inside/index.html").is_file(),
        "a symlink inside the root is followed"
    );
}

// ---- the repository's own knowledge base and the scaffold ----

#[test]
fn the_repository_content_checks_clean_and_builds() {
    let root = repo_root();
    let r = kb_in(&root, &["check"]);
    r.expect_code(0);
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().join("site");
    let r = kb_in(
        &root,
        &["build", "--strict", "--out", out_dir.to_str().unwrap()],
    );
    r.expect_code(0);
    let notes = walkdir::WalkDir::new(root.join("content"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "md") && e.file_name() != "_index.md")
        .count();
    let pages = std::fs::read_dir(out_dir.join("notes")).unwrap().count();
    assert_eq!(pages, notes, "one page per note");
    assert!(
        out_dir.join("sitemap.xml").is_file()
            && out_dir.join("atom.xml").is_file()
            && out_dir.join("404.html").is_file()
    );
}

#[test]
fn init_scaffolds_a_knowledge_base_that_checks_and_builds() {
    let dir = tempfile::tempdir().unwrap();
    let kb = dir.path().join("mykb");
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_kb"))
        .arg("init")
        .arg(&kb)
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    kb_in(&kb, &["check"]).expect_code(0);
    kb_in(&kb, &["build"]).expect_code(0);
    assert!(kb.join("public/notes/first-note/index.html").is_file());
    // A second init into the same directory refuses.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_kb"))
        .arg("init")
        .arg(&kb)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
}

/// A directory without content/ is no knowledge base: build, check, search, serve and verify say
/// so (exit 2) and write nothing, instead of building an empty site into it.
#[test]
fn commands_refuse_a_directory_without_content() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["build"][..],
        &["check"],
        &["search", "x"],
        &["serve", "--port", "0"],
        &["verify"],
    ] {
        let r = kb_in(dir.path(), args);
        r.expect_code(2);
        assert!(
            r.stderr.contains("no content/ in") && r.stderr.contains("kb init DIR"),
            "{args:?}: {}",
            r.stderr
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "nothing written: {left:?}");
}

/// A line wrap inside Chinese prose is no space on the page nor in search ("映射普通文件。 它们"
/// was shown, and a word wrapped across lines could not be found); between Latin words it stays.
#[test]
fn a_line_break_inside_chinese_prose_is_not_a_space() {
    let f = Fixture::with_files(&[(
        "content/a.md",
        "---\ntitle: T\n---\n\n映射普通文件。\n它们共享命名\n空间 and\nEnglish words\n",
    )]);
    f.kb(&["build"]).expect_code(0);
    let page = f.read("public/notes/a/index.html");
    assert!(
        page.contains("<p>映射普通文件。它们共享命名空间 and\nEnglish words</p>"),
        "{page}"
    );
    let r = f.kb(&["search", "\"命名空间\""]);
    r.expect_code(0);
    assert!(r.stdout.contains("/notes/a/"), "{}", r.stdout);
}

/// One note, one problem: no "1 notes".
#[test]
fn counts_in_messages_agree_with_their_number() {
    let f = Fixture::with_files(&[("content/a.md", "# A\n\n[x](missing.md)\n")]);
    let r = f.kb(&["check"]);
    assert!(
        r.stderr.contains("checked 1 note: 1 problem"),
        "{}",
        r.stderr
    );
    let r = f.kb(&["build"]);
    assert!(r.stderr.contains("built 1 note ("), "{}", r.stderr);
    assert!(r.stderr.contains(", 1 warning ("), "{}", r.stderr);
}

/// `kb --root R init DIR` creates `R/DIR`, as every other command reads `--root` (it was ignored).
#[test]
fn init_creates_its_directory_under_the_root() {
    let dir = tempfile::tempdir().unwrap();
    kb_in(dir.path(), &["init", "mykb"]).expect_code(0);
    assert!(dir.path().join("mykb/kb.toml").is_file());
    assert!(dir.path().join("mykb/content/first-note.md").is_file());
}

/// A note is `.md` or `.markdown`, in any case, for every rule that asks: the walk, wikilinks
/// and relative links (`[[b]]` to `b.markdown` was a broken link).
#[test]
fn markdown_extension_notes_are_found_by_wikilinks_and_links() {
    let f = Fixture::with_files(&[
        (
            "content/a.md",
            "---\ntitle: A\n---\n\nSee [[b]], [[b.markdown]] and [B](b.markdown).\n",
        ),
        ("content/b.markdown", "---\ntitle: B\n---\n\nbody\n"),
    ]);
    let r = f.kb(&["check"]);
    r.expect_code(0);
    f.kb(&["build"]).expect_code(0);
    let a = f.read("public/notes/a/index.html");
    assert!(
        a.contains(r#"<p>See <a href="/notes/b/">B</a>, <a href="/notes/b/">B</a> and <a href="/notes/b/">B</a>.</p>"#),
        "{a}"
    );
}

#[test]
fn verify_results_become_badges_observed_output_and_the_status_page() {
    let f = Fixture::copy("good");
    // content/go/gc.md: block 1 is `go run`, block 2 its `output`, block 3 a `console run`.
    f.write(
        ".kb/verify-results.json",
        r#"{"blocks": {
  "content/go/gc.md#1": {"id": "content/go/gc.md#1", "note": "content/go/gc.md", "ordinal": 1, "line": 18,
    "status": "passed", "date": "2026-11-23T10:00:00Z", "duration_ms": 1500, "image": "kb-go:abc", "observed": "hello\n"},
  "content/go/gc.md#3": {"id": "content/go/gc.md#3", "note": "content/go/gc.md", "ordinal": 3, "line": 34,
    "status": "failed", "reason": "output differs", "date": "2026-11-23T10:00:01Z", "duration_ms": 200, "image": "debian:bookworm-slim", "observed": "bye\n"}
}}"#,
    );
    f.kb(&["build"]).expect_code(0);
    let gc = f.read("public/notes/go-gc/index.html");
    assert!(gc.contains(r#"<span class="kb-badge kb-badge-passed" title="2026-11-23 · 1.5 s · kb-go:abc">✓ 已验证"#), "passed badge with date, duration, image");
    assert!(gc.contains("kb-badge-failed"), "failed badge");
    assert!(gc.contains("<details class=\"kb-observed\"><summary>实际输出 · 2026-11-23 10:00 UTC</summary><pre><code>bye\n</code></pre></details>"), "observed output on demand");
    assert!(
        gc.contains("✗ 1 失败"),
        "the note's verify pill counts the failure"
    );
    let status = f.read("public/verify/index.html");
    assert!(
        status.contains(r##"<a href="/kb/notes/go-gc/#snippet-1">content/go/gc.md#1</a>"##),
        "status page links each block"
    );
    assert!(status.contains("kb-row-failed") && status.contains("output differs"));
    // The fence lines in content/go/gc.md, found while rendering (not copied from the results).
    let fence_line = |fence: &str| {
        f.read("content/go/gc.md")
            .lines()
            .position(|l| l == fence)
            .map(|i| i + 1)
            .unwrap()
    };
    for (ordinal, fence) in [(1, "```go run session=gc"), (3, "```console run")] {
        let row = &status[status
            .find(&format!("content/go/gc.md#{ordinal}</a>"))
            .unwrap()..];
        assert!(
            row.contains(&format!("<td>{}</td>", fence_line(fence))),
            "status page shows the fence line of block {ordinal}"
        );
    }
}

// ---- the output directory: nothing lost, nothing written outside the site ----

/// Every file under `dir` with its bytes, for before/after comparisons.
fn snapshot(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            (rel, std::fs::read(e.path()).unwrap())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn out_refuses_the_root_content_and_foreign_directories_and_deletes_nothing() {
    let f = Fixture::with_files(&[
        ("content/a.md", "---\ntitle: A\n---\n\n正文。\n"),
        ("kb.toml", "title = \"t\"\n"),
        ("mine/notes.txt", "my own file"),
        ("mine/sub/deep.txt", "deeper"),
    ]);
    let parent_file = f.root().parent().unwrap().join(format!(
        "{}-neighbour.txt",
        f.root().file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&parent_file, "next to the root").unwrap();
    let before = snapshot(f.root());
    for (out, why) in [
        (".", "knowledge base root"),
        ("..", "contains the knowledge base root"),
        ("content", "inside content/"),
        ("content/go", "inside content/"),
        ("mine", "holds files kb did not write"),
        ("kb.toml", "not a directory"),
    ] {
        let r = f.kb(&["build", "--out", out]);
        r.expect_code(2);
        assert!(
            r.stderr.contains("refusing") && r.stderr.contains(why) && r.stderr.contains("hint:"),
            "--out {out}: {}",
            r.stderr
        );
    }
    assert_eq!(snapshot(f.root()), before, "no file of the root changed");
    assert_eq!(
        std::fs::read_to_string(&parent_file).unwrap(),
        "next to the root"
    );
    std::fs::remove_file(parent_file).unwrap();
}

#[test]
fn files_placed_in_the_output_by_hand_survive_every_build() {
    let f = Fixture::with_files(&[
        ("content/a.md", "---\ntitle: A\n---\n\n第一版。\n"),
        ("content/b.md", "---\ntitle: B\n---\n\nB。\n"),
    ]);
    f.kb(&["build"]).expect_code(0);
    f.write("public/robots.txt", "User-agent: *\n");
    f.write("public/.well-known/security.txt", "Contact: x\n");
    f.write("content/a.md", "---\ntitle: A\n---\n\n第二版。\n");
    std::fs::remove_file(f.path("content/b.md")).unwrap();
    let r = f.kb(&["build"]);
    r.expect_code(0);
    assert!(
        r.stderr.contains("2 files not written by kb kept"),
        "{}",
        r.stderr
    );
    assert_eq!(f.read("public/robots.txt"), "User-agent: *\n");
    assert_eq!(f.read("public/.well-known/security.txt"), "Contact: x\n");
    assert!(f.read("public/notes/a/index.html").contains("第二版"));
    assert!(
        !f.path("public/notes/b").exists(),
        "kb's own stale page is removed"
    );

    // a hand-placed file where the build writes is an error, and stays as it was
    f.write("public/notes/b/index.html", "hand-written");
    f.write("content/b.md", "---\ntitle: B\n---\n\nB。\n");
    let r = f.kb(&["build"]);
    r.expect_code(2);
    assert!(r.stderr.contains("not written by kb"), "{}", r.stderr);
    assert_eq!(f.read("public/notes/b/index.html"), "hand-written");
    assert!(f.read("public/notes/a/index.html").contains("第二版"));
}

#[test]
fn a_killed_build_leaves_the_whole_old_site_or_the_whole_new_one() {
    const NOTES: usize = 150;
    let f = Fixture::with_files(&[("kb.toml", "title = \"t\"\n")]);
    let write_version = |v: usize| {
        for i in 0..NOTES {
            f.write(
                &format!("content/s{}/n{i}.md", i % 5),
                &format!("---\ntitle: N{i}\ntags: [t{}]\n---\n\nVERSION-{v}-END 第 {i} 篇。\n\n```go\nfunc main() {{ println({v}) }}\n```\n", i % 7),
            );
        }
    };
    // every note page of the site carries one version, or the site is a mix
    let site_version = || -> usize {
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..NOTES {
            let page = f.read(&format!("public/notes/n{i}/index.html"));
            let at = page.find("VERSION-").expect("marker") + "VERSION-".len();
            let v: usize = page[at..page[at..].find("-END").unwrap() + at]
                .parse()
                .unwrap();
            seen.insert(v);
        }
        assert_eq!(seen.len(), 1, "a mix of builds: versions {seen:?}");
        *seen.iter().next().unwrap()
    };
    write_version(0);
    let start = std::time::Instant::now();
    f.kb(&["build"]).expect_code(0);
    let full = start.elapsed();
    assert_eq!(site_version(), 0);

    // Kill at a moment that moves towards the end of the build after each kill that left the
    // old site, and back after each that left the new one: the kills cluster around the swap.
    let mut current = 0;
    let rounds = 24;
    let mut delay = full.mul_f64(0.5);
    let mut outcomes = (0, 0);
    for round in 1..=rounds {
        write_version(round);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kb"))
            .args(["--root", f.root().to_str().unwrap(), "build"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        child.wait().unwrap();
        let v = site_version();
        assert!(
            v == current || v == round,
            "round {round}: version {v}, expected {current} or {round}"
        );
        if v == round {
            outcomes.1 += 1;
            delay = delay.mul_f64(0.85);
        } else {
            outcomes.0 += 1;
            delay = delay.mul_f64(1.25) + std::time::Duration::from_millis(5);
        }
        current = v;
    }
    eprintln!(
        "killed builds: {} left the old site, {} the new one",
        outcomes.0, outcomes.1
    );
    assert!(
        outcomes.0 > 0 && outcomes.1 > 0,
        "the kills did not reach both sides of the swap: {outcomes:?}"
    );
    // the next build finishes and removes what the killed ones left
    f.kb(&["build"]).expect_code(0);
    assert_eq!(site_version(), rounds);
    let leftovers: Vec<String> = std::fs::read_dir(f.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".kb-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn aliases_and_slugs_cannot_reach_outside_the_site() {
    let f = Fixture::with_files(&[
        (
            "content/a.md",
            "---\ntitle: A\naliases: [\"/../../victim/existing.html\"]\n---\n\nA.\n",
        ),
        ("content/b.md", "---\ntitle: B\nslug: \"..\"\n---\n\nB.\n"),
    ]);
    let victim = f.root().parent().unwrap().join("victim/existing.html");
    let check = f.kb(&["check"]);
    check.expect_code(1);
    assert!(
        check.stderr.contains("content/a.md:3:") && check.stderr.contains("`..` segment"),
        "{}",
        check.stderr
    );
    assert!(check.stderr.contains("content/b.md:3:"), "{}", check.stderr);
    f.kb(&["build"]).expect_code(1);
    assert!(!victim.exists(), "nothing written outside the site");
    assert!(!f.path("public").exists());
}

#[test]
fn aliases_and_assets_that_collide_with_other_files_of_the_site_are_errors() {
    let f = Fixture::with_files(&[
        (
            "content/a.md",
            "---\ntitle: A\ntags: [go]\naliases: [/notes/b/, /404.html, /tags/go/, /]\n---\n\nA.\n",
        ),
        ("content/b.md", "---\ntitle: B\n---\n\nB.\n"),
        ("content/style.css", "body{}"),
        ("content/atom.xml", "<feed/>"),
        ("content/index.html", "<p>mine</p>"),
        ("content/_kb/search/meta.json", "{}"),
    ]);
    let check = f.kb(&["check"]);
    check.expect_code(1);
    for (at, expected) in [
        (
            "content/a.md:4:",
            "`notes/b/index.html`, which is the page of `content/b.md`",
        ),
        ("content/a.md:4:", "`404.html`, which is the not-found page"),
        (
            "content/a.md:4:",
            "`tags/go/index.html`, which is the page of tag `go`",
        ),
        ("content/a.md:4:", "`index.html`, which is the home page"),
        ("content/style.css:", "the theme's static file `style.css`"),
        ("content/atom.xml:", "the Atom feed"),
        ("content/index.html:", "the home page"),
        ("content/_kb/search/meta.json:", "the search index"),
    ] {
        assert!(
            check
                .stderr
                .lines()
                .any(|l| l.starts_with(at) && l.contains(expected)),
            "no `{at} … {expected}` in\n{}",
            check.stderr
        );
    }
    f.kb(&["build"]).expect_code(1);
}

/// The benchmarks' generated knowledge base is deterministic and builds without a problem (its
/// cross-links all land on notes that exist), so a figure measured on it measures kb, not noise.
#[test]
fn the_benchmark_corpus_is_deterministic_and_clean() {
    use crate::corpus::{site_note, write_site};
    assert_eq!(site_note(3, 10, 7), site_note(3, 10, 7));
    assert_ne!(site_note(3, 10, 7), site_note(4, 10, 7));
    let dir = tempfile::tempdir().unwrap();
    write_site(dir.path(), 20, 1).unwrap();
    let cfg = kb::config::Config::load(dir.path()).unwrap();
    let site = kb::site::Site::load(cfg, Default::default()).unwrap();
    assert_eq!(site.notes.len(), 20);
    assert!(site.diagnostics.is_empty(), "{:?}", site.diagnostics);
}
