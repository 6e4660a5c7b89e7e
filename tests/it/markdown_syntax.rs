//! Markdown written for other tools renders as they render it: Obsidian callouts and GitHub
//! alerts, `%%comments%%`, `==highlights==`, `\|` in tables, definition lists, math and mermaid
//! (fixture `tests/fixtures/markdown-syntax`, one note per feature).

use crate::support::Fixture;

fn built() -> Fixture {
    let f = Fixture::copy("markdown-syntax");
    f.kb(&["build"]).expect_code(0);
    f
}

/// The note's rendered body (between the content div and the prev/next links).
fn body(f: &Fixture, slug: &str) -> String {
    let page = f.read(&format!("public/notes/{slug}/index.html"));
    let start = page
        .find("<div class=\"kb-content\">")
        .expect("content div");
    let end = page.find("<nav class=\"kb-prevnext\"").expect("prev/next");
    page[start..end].to_string()
}

fn search(f: &Fixture, query: &str) -> String {
    let r = f.kb(&["search", query]);
    r.expect_code(0);
    r.stdout
}

#[test]
fn callouts_and_github_alerts_become_admonitions_and_foldable_ones_details() {
    let f = built();
    let html = body(&f, "callouts");
    assert!(
        html.contains("<div class=\"kb-callout kb-callout-info\" data-callout=\"info\"><div class=\"kb-callout-title\">Read <em>this</em> first, then <a href=\"/notes/target-note/\">Target note</a></div><div class=\"kb-callout-body\">\n<p>The body of the info callout.</p>\n</div></div>"),
        "{html}"
    );
    assert!(
        html.contains("<details class=\"kb-callout kb-callout-question\" data-callout=\"faq\"><summary class=\"kb-callout-title\">Why fold?</summary>"),
        "`-` folds: {html}"
    );
    assert!(
        html.contains(
            "<details class=\"kb-callout kb-callout-tip\" data-callout=\"tip\" open><summary"
        ),
        "`+` is open: {html}"
    );
    assert!(
        html.contains(
            "kb-callout-tip\" data-callout=\"hint\"><div class=\"kb-callout-title\">Hint</div>"
        ),
        "an alias, titled by its type: {html}"
    );
    assert!(
        html.contains("kb-callout-note\" data-callout=\"whatever\""),
        "{html}"
    );
    assert!(
        html.contains("<div class=\"kb-callout-title\">Outer</div><div class=\"kb-callout-body\">\n<div class=\"kb-callout kb-callout-todo\""),
        "nested: {html}"
    );
    assert!(
        html.contains("<div class=\"kb-callout-title\">Only a title</div><div class=\"kb-callout-body\">\n</div></div>"),
        "{html}"
    );
    assert!(
        html.contains(
            "kb-callout-note\" data-callout=\"note\"><div class=\"kb-callout-title\">Note</div>"
        ),
        "GitHub alert: {html}"
    );
    assert!(
        html.contains("kb-callout-warning\" data-callout=\"caution\""),
        "{html}"
    );
    assert!(
        html.contains("<blockquote>\n<p>A plain quote stays a quote.</p>"),
        "{html}"
    );
    assert_eq!(html.matches("class=\"kb-callout ").count(), 10, "{html}");
    assert!(!html.contains("[!"), "no marker leaks: {html}");

    // Search has the callouts' titles and bodies, never the markers.
    assert!(search(&f, "opened").contains("/notes/callouts/"));
    assert!(search(&f, "\"Why fold\"").contains("/notes/callouts/"));
    let r = f.kb(&["search", "faq"]);
    assert!(!r.stdout.contains("/notes/callouts/"), "{}", r.stdout);

    let css = f.read("public/style.css");
    for class in [
        ".kb-callout-warning",
        "summary.kb-callout-title",
        "--kb-c-red",
    ] {
        assert!(css.contains(class), "theme styles {class}");
    }
}

#[test]
fn comments_leave_the_page_and_search_but_not_code() {
    let f = built();
    let html = body(&f, "comments");
    for hidden in [
        "secret",
        "Missing note",
        "Hidden heading",
        "hidden-code",
        "<p>%%",
    ] {
        assert!(!html.contains(hidden), "{hidden:?} shown: {html}");
    }
    assert!(html.contains("<p>Visible  text.</p>"), "{html}");
    assert!(html.contains("<code>%%kept%%</code>"), "{html}");
    assert!(html.contains("%%kept in block%%"), "{html}");
    assert!(html.contains("<p>After the comment.</p>"), "{html}");
    let r = f.kb(&["search", "secret"]);
    assert!(!r.stdout.contains("/notes/comments/"), "{}", r.stdout);
    assert!(search(&f, "\"After the comment\"").contains("/notes/comments/"));
}

#[test]
fn highlights_become_mark_but_not_in_code_or_comparisons() {
    let f = built();
    let html = body(&f, "marks");
    assert!(
        html.contains("This is <mark>very important</mark> text and <code>==code==</code> stays code.\nIn prose a == b and c == d are comparisons."),
        "{html}"
    );
}

#[test]
fn an_escaped_pipe_in_a_table_is_a_pipe_and_a_wikilink_alias_works() {
    let f = built();
    let html = body(&f, "tables");
    assert!(
        html.contains(
            "<tr><td><a href=\"/notes/target-note/\">the alias</a></td><td>left | right</td></tr>"
        ),
        "{html}"
    );
}

#[test]
fn math_is_mathml_and_dollar_amounts_stay_text() {
    let f = built();
    let html = body(&f, "math");
    assert!(
        html.contains("<math><semantics><mrow><mi>E</mi><mo>=</mo><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></mrow>"),
        "{html}"
    );
    assert!(html.contains("<math display=\"block\">"), "{html}");
    assert_eq!(
        html.matches("<mtr>").count(),
        2,
        "`\\\\` splits the rows: {html}"
    );
    assert!(
        html.contains("\\begin{aligned} a &amp;= 1 \\\\ b &amp;= 2"),
        "TeX kept as written: {html}"
    );
    assert!(
        html.contains("<p>It costs $5 and $10, or $5-$10 a day.</p>"),
        "{html}"
    );
    // A heading keeps the id it had before math was read (its TeX as text); the link to it in
    // the fixture is checked clean by `check_ignores_comments_and_markers...`.
    assert!(
        html.contains("<h2 id=\"the-o-n-case\">The <math>"),
        "{html}"
    );

    let f = Fixture::with_files(&[("content/a.md", "# Cost of $O(n)$ scans\n\nText.\n")]);
    f.kb(&["build"]).expect_code(0);
    let page = f.read("public/notes/a/index.html");
    assert!(
        page.contains("<title>Cost of $O(n)$ scans"),
        "title from the H1, TeX kept"
    );
}

#[test]
fn definition_lists_render_their_terms_are_anchors_and_words_stay_apart_in_search() {
    let f = built();
    let html = body(&f, "definitions");
    assert!(
        html.contains(
            "<dl>\n<dt id=\"latency\">Latency</dt>\n<dd>Time until the first byte.</dd>\n<dt id=\"throughput\">Throughput</dt>"
        ),
        "{html}"
    );
    assert!(search(&f, "\"Latency Time\"").contains("/notes/definitions/"));
    // A term is an anchor (Hugo's `autoDefinitionTermID`): links to it are not broken.
    assert!(
        html.contains("<dt id=\"term-anchored\">Term anchored</dt>"),
        "{html}"
    );
    let check = f.kb(&["check"]);
    assert!(!check.stderr.contains("term-anchored"), "{}", check.stderr);
}

#[test]
fn mermaid_blocks_are_kept_for_a_client_side_renderer() {
    let f = built();
    let html = body(&f, "diagram");
    assert!(
        html.contains("<pre class=\"mermaid\">graph TD\n  A--&gt;B\n</pre>"),
        "{html}"
    );
    assert!(
        !html.contains("kb-code"),
        "not a highlighted code block: {html}"
    );
}

/// A theme loads mermaid.js (or anything else for every page) from one small template, as
/// docs/markdown.md shows; the built-in one is empty.
#[test]
fn a_theme_adds_to_every_page_head_through_one_partial() {
    let f = Fixture::copy("markdown-syntax");
    f.write("kb.toml", "title = \"T\"\ntheme = \"themes/mine\"\n");
    f.write(
        "themes/mine/templates/partials/head.html",
        "<script type=\"module\" src=\"/mermaid-loader.js\"></script>\n",
    );
    f.kb(&["build"]).expect_code(0);
    let page = f.read("public/notes/diagram/index.html");
    let head = &page[..page.find("</head>").expect("head")];
    assert!(
        head.contains("<script type=\"module\" src=\"/mermaid-loader.js\"></script>"),
        "{head}"
    );
    let plain = built().read("public/notes/diagram/index.html");
    assert!(
        !plain.contains("mermaid-loader"),
        "the built-in partial adds nothing"
    );
}

/// `kb check` sees through the syntax: nothing in a comment is checked, markers and `==` are no
/// links, and a broken link in a callout's title is still found with its line.
#[test]
fn check_ignores_comments_and_markers_and_still_checks_callout_titles() {
    let f = Fixture::copy("markdown-syntax");
    let r = f.kb(&["check"]);
    r.expect_code(0);
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);

    let f = Fixture::with_files(&[(
        "content/a.md",
        "# A\n\n> [!info] See [[Nowhere]]\n> body %%[[Hidden]]%%\n",
    )]);
    let r = f.kb(&["check"]);
    r.expect_code(1);
    assert!(
        r.stderr.contains("content/a.md:3: warning: link `Nowhere`"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("Hidden"), "{}", r.stderr);
}

#[test]
fn obsidian_embeds_show_the_note_section_or_block_in_place() {
    let f = built();
    let html = body(&f, "embeds");
    let frames: Vec<&str> = html.split("<div class=\"kb-embed\">").skip(1).collect();
    assert_eq!(frames.len(), 3, "{html}");
    // The whole note: its text, its links rewritten from where it lives, its in-page links
    // pointed at its own page, no ids of its own on this page.
    assert!(frames[0].starts_with("<p class=\"kb-embed-source\"><a href=\"/notes/embedded-source/\">Embedded source</a></p>"), "{}", frames[0]);
    assert!(
        frames[0].contains(
            "Opening words of the embedded note, linking <a href=\"/notes/embeds/\">back</a>"
        ),
        "{}",
        frames[0]
    );
    assert!(frames[0].contains("Not in the section embed."));
    assert!(!frames[0].contains(" id=\""), "{}", frames[0]);
    // The section: from its heading to the next of its level, nested headings kept.
    assert!(
        frames[1].contains("Embedded source › Second part</a>"),
        "{}",
        frames[1]
    );
    assert!(
        frames[1].contains("<a href=\"/notes/embedded-source/#first-part\">the first part</a>"),
        "{}",
        frames[1]
    );
    assert!(frames[1].contains("Still the second part."));
    assert!(
        !frames[1].contains("Not in the section embed."),
        "{}",
        frames[1]
    );
    // The block: only its paragraph, without the id.
    assert!(
        frames[2].contains("<p>The key fact lives here.</p>"),
        "{}",
        frames[2]
    );
    assert!(!frames[2].contains("Second part text"), "{}", frames[2]);
    // Inline embeds are links; an image's number after the pipe is its width.
    assert!(
        html.contains(
            "In running text <a href=\"/notes/embedded-source/\">Embedded source</a> stays a link."
        ),
        "{html}"
    );
    assert!(
        html.contains("<img src=\"/diagram.svg\" alt=\"diagram.svg\" width=\"240\">"),
        "{html}"
    );
    assert!(html.contains("alt=\"the diagram\""), "{html}");
    // A block id ending a paragraph is an anchor, not text.
    assert!(
        html.contains("<a id=\"^own-fact\"></a>A fact worth pointing at.</p>"),
        "{html}"
    );
    assert!(!html.contains("^own-fact</p>"), "{html}");
    // A block reference lands on the block's anchor.
    assert!(
        html.contains("<a href=\"/notes/embedded-source/#^key-fact\">the fact</a>"),
        "{html}"
    );
    // The embedded note embeds this one inline: a link, and no endless recursion.
    let source = body(&f, "embedded-source");
    assert!(
        source.contains("<a href=\"/notes/embeds/\">Embeds</a> (inline, a link)"),
        "{source}"
    );
}
