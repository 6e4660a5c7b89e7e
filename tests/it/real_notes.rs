//! Knowledge bases written for other tools build as they are: every note gets a page whatever
//! its file name (two `Templates.md`, a `README.md` per folder, Hugo and Zola bundles), front
//! matter keys that choose a URL are honoured, front matter after a blank line or a BOM is
//! read, and a note that opens with its title shows it once.

use crate::support::Fixture;

#[test]
fn namesakes_in_different_folders_all_get_a_page_and_are_reported_as_info() {
    let f = Fixture::with_files(&[
        ("content/Templates.md", "# Root templates\n"),
        ("content/work/Templates.md", "# Work templates\n"),
        ("content/work/daily/Templates.md", "# Daily templates\n"),
        (
            "content/links.md",
            "# Links\n\n[work](work/Templates.md) [[work/daily/Templates]]\n",
        ),
    ]);
    let check = f.kb(&["check"]);
    check.expect_code(0);
    assert!(
        check.stderr.contains(
            "content/work/Templates.md: info: `content/Templates.md` has the same file name; this note is at `/notes/work/templates/`"
        ),
        "{}",
        check.stderr
    );
    assert!(
        check.stderr.contains("no problems (2 infos above"),
        "{}",
        check.stderr
    );
    // Infos never fail a strict build.
    f.kb(&["build", "--strict"]).expect_code(0);
    assert!(f
        .read("public/notes/templates/index.html")
        .contains("Root templates"));
    assert!(f
        .read("public/notes/work/templates/index.html")
        .contains("Work templates"));
    assert!(f
        .read("public/notes/work/daily/templates/index.html")
        .contains("Daily templates"));
    let links = f.read("public/notes/links/index.html");
    assert!(
        links.contains(r#"href="/notes/work/templates/""#),
        "{links}"
    );
}

#[test]
fn index_and_readme_are_their_folders_page() {
    let f = Fixture::with_files(&[
        ("content/README.md", "# Welcome\n\nStart with [Go](go/).\n"),
        (
            "content/go/README.md",
            "# Go notes\n\nWhat this folder holds.\n\n## Reading order\n\n- [GC](gc.md)\n",
        ),
        (
            "content/go/gc.md",
            "# GC\n\nMark and sweep. Back to [the folder](README.md).\n",
        ),
        // A Hugo/Zola page bundle: the folder is the page.
        (
            "content/posts/first/index.md",
            "---\ntitle: First post\n---\n\n![pic](pic.png)\n",
        ),
        ("content/posts/first/pic.png", "png"),
        // A folder with both: index.md is the folder page, README.md an ordinary note.
        ("content/guide/index.md", "# Guide\n"),
        ("content/guide/README.md", "# About this guide\n"),
    ]);
    f.kb(&["build", "--strict"]).expect_code(0);
    let home = f.read("public/index.html");
    assert!(
        home.contains("Start with"),
        "the root README heads the home page"
    );
    let go = f.read("public/sections/go/index.html");
    assert!(go.contains(r#"<h1 class="kb-title">Go notes</h1>"#), "{go}");
    assert!(go.contains("What this folder holds."), "{go}");
    assert!(
        go.contains(r#"href="/notes/gc/""#),
        "the section still lists its notes"
    );
    assert!(
        !go.contains(r#"kb-card-title"><a href="/sections/go/""#),
        "the folder page is not a card of its own section"
    );
    let gc = f.read("public/notes/gc/index.html");
    assert!(
        gc.contains(r#"href="/sections/go/""#),
        "a link to README.md goes to the folder"
    );
    let post = f.read("public/sections/posts/first/index.html");
    assert!(post.contains(r#"src="/posts/first/pic.png""#), "{post}");
    assert!(f.path("public/posts/first/pic.png").is_file());
    assert!(f.read("public/sections/guide/index.html").contains("Guide"));
    assert!(f
        .read("public/notes/readme/index.html")
        .contains("About this guide"));
}

#[test]
fn url_path_permalink_and_slug_choose_the_page() {
    let f = Fixture::with_files(&[
        (
            "content/a.md",
            "---\ntitle: A\nurl: /functions/strings/contains/\n---\n",
        ),
        (
            "content/b.md",
            "+++\ntitle = \"B\"\npath = \"docs/b-page\"\n+++\n",
        ),
        (
            "content/c.md",
            "---\ntitle: C\npermalink: guides/c\nslug: ignored\n---\n",
        ),
        ("content/d.md", "---\ntitle: D\nslug: dee\n---\n"),
        ("content/e.md", "---\ntitle: E\nurl: /about.html\n---\n"),
        (
            "content/links.md",
            "# L\n\n[a](a.md) [b](b.md) [c](c.md) [d](d.md) [e](e.md)\n",
        ),
    ]);
    f.kb(&["build", "--strict"]).expect_code(0);
    for page in [
        "public/functions/strings/contains/index.html",
        "public/docs/b-page/index.html",
        "public/guides/c/index.html",
        "public/notes/dee/index.html",
        "public/about.html",
    ] {
        assert!(f.path(page).is_file(), "{page} missing");
    }
    let links = f.read("public/notes/links/index.html");
    for href in [
        "/functions/strings/contains/",
        "/docs/b-page/",
        "/guides/c/",
        "/notes/dee/",
        "/about.html",
    ] {
        assert!(
            links.contains(&format!(r#"href="{href}""#)),
            "{href}: {links}"
        );
    }
    let sitemap = f.read("public/sitemap.xml");
    assert!(
        sitemap.contains("/functions/strings/contains/"),
        "{sitemap}"
    );
}

#[test]
fn a_url_that_leaves_the_site_or_names_a_taken_page_is_an_error_at_its_line() {
    let f = Fixture::with_files(&[
        (
            "content/a.md",
            "---\ntitle: A\nurl: https://example.com/a\n---\n",
        ),
        ("content/b.md", "---\ntitle: B\npath: ../../etc\n---\n"),
        ("content/c.md", "---\ntitle: C\nurl: /x/\n---\n"),
        ("content/d.md", "---\ntitle: D\n\npermalink: x\n---\n"),
    ]);
    let r = f.kb(&["check"]);
    r.expect_code(1);
    for expected in [
        "content/a.md:3: error: `url: https://example.com/a` is a full URL",
        "content/b.md:3: error: `path` `../../etc` has a `.` or `..` segment",
        "content/d.md:4: error: `permalink` puts this note at `/x/`, which is already `content/c.md`'s page",
    ] {
        assert!(r.stderr.contains(expected), "{expected}\n{}", r.stderr);
    }
}

#[test]
fn front_matter_after_blank_lines_or_a_bom_is_read_not_printed() {
    let f = Fixture::with_files(&[
        (
            "content/zola.md",
            "\n+++\ntitle = \"Zola page\"\nweight = 2\n+++\n\nBody of zola.\n",
        ),
        (
            "content/bom.md",
            "\u{feff}---\ntitle: With BOM\ntags: [x]\n---\nBody of bom.\n",
        ),
        (
            "content/rule.md",
            "\n---\n\nProse between rules.\n\n---\n\nMore.\n",
        ),
    ]);
    f.kb(&["build", "--strict"]).expect_code(0);
    let zola = f.read("public/notes/zola/index.html");
    assert!(
        zola.contains(r#"<h1 class="kb-title">Zola page</h1>"#),
        "{zola}"
    );
    assert!(
        !zola.contains("+++") && !zola.contains("weight = 2"),
        "{zola}"
    );
    let bom = f.read("public/notes/bom/index.html");
    assert!(
        bom.contains("With BOM") && !bom.contains("tags: [x]"),
        "{bom}"
    );
    assert!(f.path("public/tags/x/index.html").is_file());
    let rule = f.read("public/notes/rule/index.html");
    assert!(
        rule.contains("Prose between rules.") && rule.contains("<hr />"),
        "{rule}"
    );
}

#[test]
fn a_note_that_opens_with_its_title_shows_it_once() {
    let f = Fixture::with_files(&[
        (
            "content/h1.md",
            "# 排查手册\n\n第一段。\n\n## 步骤\n\n内容。\n",
        ),
        (
            "content/h2.md",
            "## Only second level\n\nText.\n\n## Next\n",
        ),
        (
            "content/other.md",
            "---\ntitle: Front title\n---\n\n# A different heading\n\nText.\n",
        ),
    ]);
    f.kb(&["build", "--strict"]).expect_code(0);
    let h1 = f.read("public/notes/h1/index.html");
    assert_eq!(h1.matches("排查手册</h").count(), 1, "{h1}");
    assert!(
        h1.contains(r##"href="#步骤""##),
        "the rest of the ToC stays"
    );
    assert!(
        !h1.contains(r#"class="kb-summary""#),
        "the first paragraph is not repeated as a lead"
    );
    let h2 = f.read("public/notes/h2/index.html");
    assert!(
        h2.contains(r#"<h1 class="kb-title">Only second level</h1>"#),
        "{h2}"
    );
    assert!(!h2.contains(r#"<h2 id="only-second-level""#), "{h2}");
    assert!(h2.contains(r#"id="next""#));
    let other = f.read("public/notes/other/index.html");
    assert!(
        other.contains("Front title")
            && other.contains("A different heading<a class=\"kb-anchor\"")
    );
}

#[test]
fn links_written_for_obsidian_resolve_as_obsidian_resolves_them() {
    let f = Fixture::with_files(&[
        (
            "content/Home.md",
            "---\npermalink: /\n---\n# Start here\n\nSee [[Daily/Plan]].\n",
        ),
        (
            "content/Daily/Plan.md",
            "# Plan\n\nA quote. ^q1\n\n## Part\n\n### Sub\n\n![[shot.png]] ![](shot.png)\n",
        ),
        ("content/attachments/shot.png", "png"),
        (
            "content/Guide/Use.md",
            concat!(
                "# Use\n\n",
                "| a | b |\n|---|---|\n| [[Plan\\|the plan]] | x |\n\n",
                "[quote](Daily/Plan#^q1) [sub](Plan#Part#Sub) [[Plan#Part#Sub]] [[Home]]\n\n",
                "[md link by name](Plan) <someone@example.com>\n\n![[Plan#Part]]\n",
            ),
        ),
    ]);
    let check = f.kb(&["check"]);
    check.expect_code(0);
    f.kb(&["build", "--strict"]).expect_code(0);
    let home = f.read("public/index.html");
    assert!(
        home.contains("Start here") || home.contains(r#"href="/notes/plan/""#),
        "{home}"
    );
    let plan = f.read("public/notes/plan/index.html");
    assert_eq!(
        plan.matches(r#"src="/attachments/shot.png""#).count(),
        2,
        "{plan}"
    );
    let usage = f.read("public/notes/use/index.html");
    for href in [
        r#"href="/notes/plan/#sub""#,
        r#"href="/""#,
        r#"href="mailto:someone@example.com""#,
    ] {
        assert!(usage.contains(href), "{href}: {usage}");
    }
    assert!(!usage.contains("Plan\\"), "{usage}");
}

#[test]
fn links_written_for_zola_mdbook_hugo_and_github_resolve() {
    let f = Fixture::with_files(&[
        ("content/ch01-00-intro.md", "# Intro\n\n## `Mutex<T>` and you\n\nNext: [ch2](ch02-00-more.html#mutext-and-you).\n"),
        ("content/ch02-00-more.md", "# More\n\n## `Mutex<T>` and you\n\n[back](ch01-00-intro.html) [std](../std/index.html)\n"),
        ("content/docs/getting_started.md", "# Getting started\n\n## get_url\n"),
        ("content/docs/_index.md", "---\ntitle: Docs\n---\n"),
        (
            "content/links.md",
            concat!(
                "# Links\n\n",
                "[zola](@/docs/getting_started.md#get-url) [section](@/docs/_index.md)\n",
                "[hugo url](/docs/getting-started/) [folder](docs/) [repo root](/content/ch01-00-intro.md)\n",
                "[kb page](/tags/) [missing](/nowhere/at/all/) [cdn](//cdn.example.com/x.js)\n",
            ),
        ),
    ]);
    let check = f.kb(&["check"]);
    check.expect_code(1);
    let warnings: Vec<&str> = check
        .stderr
        .lines()
        .filter(|l| l.contains("warning"))
        .collect();
    assert_eq!(warnings.len(), 2, "{}", check.stderr);
    assert!(
        warnings[0].starts_with(
            "content/ch02-00-more.md:5: warning: link `../std/index.html` leaves content/"
        ),
        "{}",
        check.stderr
    );
    assert!(
        warnings[1].starts_with(
            "content/links.md:5: warning: link `/nowhere/at/all/` names no page of this site"
        ),
        "{}",
        check.stderr
    );
    f.kb(&["build"]).expect_code(0);
    let intro = f.read("public/notes/ch01-00-intro/index.html");
    assert!(
        intro.contains(r#"href="/notes/ch02-00-more/#mutex-t-and-you""#),
        "{intro}"
    );
    let more = f.read("public/notes/ch02-00-more/index.html");
    assert!(
        more.contains(r#"href="../std/index.html""#),
        "a link out of content/ is left as written"
    );
    let links = f.read("public/notes/links/index.html");
    for href in [
        r#"href="/notes/getting_started/#get_url""#,
        r#"href="/sections/docs/""#,
        r#"href="/notes/getting_started/""#,
        r#"href="/notes/ch01-00-intro/""#,
        r#"href="/tags/""#,
        r#"href="//cdn.example.com/x.js""#,
    ] {
        assert!(links.contains(href), "{href}: {links}");
    }
}

#[test]
fn raw_html_images_and_links_are_rewritten_and_checked_like_markdown() {
    let f = Fixture::with_files(&[
        (
            "content/book/ch04.md",
            concat!(
                "# Ownership\n\n",
                "<img alt=\"diagram\" src=\"img/trpl04-01.svg\" class=\"center\" />\n\n",
                "Text with <a href=\"ch05.md#structs\">an inline link</a> and <img src='img/missing.svg'>.\n",
            ),
        ),
        ("content/book/ch05.md", "# More\n\n## Structs\n"),
        ("content/book/img/trpl04-01.svg", "<svg/>"),
    ]);
    let check = f.kb(&["check"]);
    check.expect_code(1);
    assert!(
        check.stderr.contains("content/book/ch04.md:5: warning: link `img/missing.svg` points to `content/book/img/missing.svg`, which does not exist"),
        "{}",
        check.stderr
    );
    assert_eq!(
        check.stderr.matches("warning").count(),
        1,
        "{}",
        check.stderr
    );
    f.kb(&["build"]).expect_code(0);
    let page = f.read("public/notes/ch04/index.html");
    assert!(page.contains(r#"src="/book/img/trpl04-01.svg""#), "{page}");
    assert!(page.contains(r#"href="/notes/ch05/#structs""#), "{page}");
}

#[test]
fn mdbook_includes_in_code_blocks_are_expanded_and_checked() {
    let f = Fixture::with_files(&[
        (
            "listings/ch01/main.rs",
            "use std::io;\n// ANCHOR: body\nfn main() {\n    println!(\"hi\");\n}\n// ANCHOR_END: body\n",
        ),
        (
            "content/ch01.md",
            concat!(
                "# Hello\n\n",
                "```rust,ignore\n{{#rustdoc_include ../listings/ch01/main.rs:body}}\n```\n\n",
                "```rust\n{{#include ../listings/ch01/main.rs:1:1}}\n```\n\n",
                "```rust\n{{#include ../listings/ch01/gone.rs}}\n{{#include ../listings/ch01/main.rs:nope}}\n{{#include ../../../etc/hostname}}\n```\n",
            ),
        ),
    ]);
    let check = f.kb(&["check"]);
    for expected in [
        "content/ch01.md:12: warning: `{{#include ../listings/ch01/gone.rs}}` includes `../listings/ch01/gone.rs`, which does not exist",
        "content/ch01.md:13: warning: `{{#include ../listings/ch01/main.rs:nope}}`: `../listings/ch01/main.rs` has no `ANCHOR: nope`",
    ] {
        assert!(check.stderr.contains(expected), "{expected}\n{}", check.stderr);
    }
    assert!(
        check.stderr.contains("content/ch01.md:14: warning: `{{#include ../../../etc/hostname}}` includes `../../../etc/hostname`, which is outside the knowledge base"),
        "{}",
        check.stderr
    );
    f.kb(&["build"]).expect_code(0);
    let page = f.read("public/notes/ch01/index.html");
    assert!(page.contains("println!"), "{page}");
    assert!(
        !page.contains("ANCHOR") && !page.contains("{{#rustdoc_include"),
        "{page}"
    );
    assert!(page.contains("use"), "{page}");
    assert!(
        page.contains("</span>hostname</span>"),
        "left as written: {page}"
    );
}

#[test]
fn hugo_and_zola_shortcodes_render_or_are_reported_once_per_name() {
    let f = Fixture::with_files(&[
        ("content/functions/Contains.md", "# Contains\n\n## Usage\n"),
        (
            "content/guide.md",
            concat!(
                "# Guide\n\n",
                "Use [contains]({{< ref \"functions/Contains.md#usage\" >}}).\n\n",
                "{{< code-toggle file=hugo >}}\n[[menus.main]]\nname = 'Home'\n{{< /code-toggle >}}\n\n",
                "{{% note %}}\nMind the gap.\n{{% /note %}}\n\n",
                "New in {{< new-in 0.120.0 />}}, again {{< new-in 0.121.0 />}}.\n",
            ),
        ),
    ]);
    let check = f.kb(&["check"]);
    check.expect_code(1);
    let warnings: Vec<&str> = check
        .stderr
        .lines()
        .filter(|l| l.contains(": warning: "))
        .collect();
    assert_eq!(
        warnings,
        ["content/guide.md:14: warning: shortcode `new-in` is not one kb renders: left out of the page (and 1 more use)"],
        "{}",
        check.stderr
    );
    f.kb(&["build"]).expect_code(0);
    let page = f.read("public/notes/guide/index.html");
    assert!(page.contains(r#"href="/notes/contains/#usage""#), "{page}");
    assert!(
        !page.contains("{{") && !page.contains("menus.main\">"),
        "{page}"
    );
    assert!(
        page.contains("menus"),
        "the code-toggle body is shown as code: {page}"
    );
    assert!(page.contains("Mind the gap."), "{page}");
}

#[test]
fn notes_that_ask_not_to_be_pages_are_left_out_but_their_snippets_checked() {
    let f = Fixture::with_files(&[
        ("content/guide.md", "# Guide\n\nThe guide.\n"),
        // Hugo: a headless folder of fragments, by cascade from its `_index.md`.
        (
            "content/_common/_index.md",
            "---\ncascade:\n  build:\n    render: never\n    list: never\n---\n",
        ),
        (
            "content/_common/fragment.md",
            "---\ntitle: Fragment\n---\n\nfragment text\n\n```sh run nonsense=1\ntrue\n```\n",
        ),
        // ... but a closer `_index.md`, or the note itself, can say otherwise.
        (
            "content/_common/shown/_index.md",
            "---\ncascade:\n  _build:\n    render: always\n---\n",
        ),
        ("content/_common/shown/kept.md", "# Kept below\n"),
        (
            "content/_common/own.md",
            "---\nbuild:\n  render: always\n---\n# Own say\n",
        ),
        // Hugo's own and older keys, a headless bundle, Zola's `render = false`.
        ("content/a.md", "---\nbuild:\n  render: never\n---\n# A\n"),
        ("content/b.md", "---\n_build:\n  render: false\n---\n# B\n"),
        (
            "content/bundle/index.md",
            "---\nheadless: true\n---\n# Bundle\n",
        ),
        ("content/c.md", "+++\nrender = false\n+++\n# C\n"),
    ]);
    let check = f.kb(&["check"]);
    // The fragment is not a page, but its snippets are still checked (and `kb verify` runs them).
    assert!(
        check.stderr.contains(
            "content/_common/fragment.md:7: warning: unknown snippet attribute `nonsense`"
        ),
        "{}",
        check.stderr
    );
    std::fs::write(
        f.path("content/_common/fragment.md"),
        "---\ntitle: Fragment\n---\n\nfragment text\n",
    )
    .unwrap();
    f.kb(&["build", "--strict"]).expect_code(0);
    for gone in [
        "public/notes/fragment/index.html",
        "public/notes/a/index.html",
        "public/notes/b/index.html",
        "public/notes/c/index.html",
        "public/notes/bundle/index.html",
        "public/sections/bundle/index.html",
    ] {
        assert!(!f.path(gone).exists(), "{gone} was published");
    }
    assert!(f.path("public/notes/kept/index.html").exists());
    assert!(f.path("public/notes/own/index.html").exists());
    assert!(f.path("public/notes/guide/index.html").exists());
    let sitemap = f.read("public/sitemap.xml");
    assert!(!sitemap.contains("fragment"), "{sitemap}");
    let search = f.kb(&["search", "fragment"]);
    assert!(!search.stdout.contains("Fragment"), "{}", search.stdout);
}

#[test]
fn an_mdbook_summary_gives_the_reading_order() {
    let f = Fixture::with_files(&[
        (
            "content/SUMMARY.md",
            "# Summary\n\n[Foreword](foreword.md)\n\n- [Zebra first](zebra.md)\n  - [Middle](./part/middle.md)\n- [Alpha last](alpha.md#alpha-last)\n",
        ),
        ("content/alpha.md", "# Alpha last\n"),
        ("content/zebra.md", "# Zebra first\n"),
        ("content/foreword.md", "# Foreword\n"),
        ("content/part/middle.md", "# Middle\n"),
        ("content/unlisted.md", "# An unlisted note\n"),
    ]);
    f.kb(&["build", "--strict"]).expect_code(0);
    let next_of = |slug: &str| {
        let page = f.read(&format!("public/notes/{slug}/index.html"));
        let at = page.find("class=\"kb-next\" href=\"").map(|i| i + 22);
        at.map(|i| page[i..].split('"').next().unwrap().to_string())
    };
    // Root notes in the summary's order (not by title), then what it does not list (by title).
    assert_eq!(next_of("foreword").as_deref(), Some("/notes/zebra/"));
    assert_eq!(next_of("zebra").as_deref(), Some("/notes/alpha/"));
    assert_eq!(next_of("alpha").as_deref(), Some("/notes/unlisted/"));
}
