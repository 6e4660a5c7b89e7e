//! Code blocks written for other tools: fence attributes of Hugo, Zola and mdBook build with
//! no diagnostic, their languages are coloured, and a `file=` (or `name=`) label shows as the
//! block's caption (fixture `code-blocks`).

use crate::support::Fixture;

/// The `<div class="kb-code" ...>` of each code block of a built page, in order.
fn code_blocks(html: &str) -> Vec<&str> {
    html.match_indices("<div class=\"kb-code\"")
        .map(|(start, _)| {
            let end = html[start..].find("</pre>").expect("block end") + start;
            &html[start..end]
        })
        .collect()
}

#[test]
fn other_tools_fences_build_coloured_captioned_and_without_diagnostics() {
    let f = Fixture::copy("code-blocks");
    for cmd in ["check", "build"] {
        let run = f.kb(&[cmd]);
        run.expect_code(0);
        assert!(
            !run.stderr.contains("warning") && !run.stderr.contains("error"),
            "kb {cmd}:\n{}",
            run.stderr
        );
    }
    let html = f.read("public/notes/theme-setup/index.html");
    let blocks = code_blocks(&html);
    assert_eq!(blocks.len(), 7, "{html}");
    let langs = [
        "toml",
        "go-html-template",
        "typescript",
        "scss",
        "rust",
        "rust",
        "css",
    ];
    for (block, lang) in blocks.iter().zip(langs) {
        assert!(
            block.contains(&format!("data-lang=\"{lang}\"")),
            "{lang}: {block}"
        );
        // coloured: syntax classes around tokens, not escaped text only
        assert!(block.contains("<span class=\"hl-"), "{lang}: {block}");
    }
    let caption = |i: usize| {
        let b: &str = blocks[i];
        let start = b.find("<span class=\"kb-file\">")? + "<span class=\"kb-file\">".len();
        Some(b[start..].split('<').next()?.to_string())
    };
    assert_eq!(
        caption(1).as_deref(),
        Some("layouts/_partials/recent.html"),
        "Hugo's file= is the caption"
    );
    assert_eq!(
        caption(3).as_deref(),
        Some("sass/lantern.scss"),
        "Zola's name="
    );
    assert_eq!(caption(6).as_deref(), Some("/assets/css/lantern.css"));
    assert_eq!(caption(0), None);
    // the Hugo template's actions are coloured as template code, inside attributes too
    assert!(
        blocks[1].contains("<span class=\"hl-meta hl-tag hl-template"),
        "{}",
        blocks[1]
    );
}

/// `kb verify` plans the note before it needs an engine: no runnable block, nothing refused.
#[test]
fn verify_finds_nothing_to_refuse_in_other_tools_fences() {
    let f = Fixture::copy("code-blocks");
    let run = f.kb(&["verify"]);
    assert!(
        !run.stderr.contains(": error: ") && !run.stderr.contains(": warning: "),
        "{}",
        run.stderr
    );
    assert_ne!(run.code, 1, "{}", run.stderr);
}
