//! atom.xml and sitemap.xml are well-formed XML 1.0 whatever the notes hold: characters XML
//! forbids (C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF) in a note's title,
//! summary, tags, body or slug never reach them. Checked with a strict XML parser (roxmltree), as
//! a feed reader would load them.

use crate::support::Fixture;

/// Every character XML 1.0 forbids that a Rust string can hold.
fn forbidden() -> Vec<char> {
    (0u32..0x20)
        .filter(|c| ![0x9, 0xA, 0xD].contains(c))
        .chain([0xFFFE, 0xFFFF])
        .map(|c| char::from_u32(c).unwrap())
        .collect()
}

fn parse<'a>(name: &str, xml: &'a str) -> roxmltree::Document<'a> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{name} is not XML 1.0: {e}\n{xml}"))
}

#[test]
fn feed_and_sitemap_stay_valid_xml_when_notes_hold_control_characters() {
    // YAML escapes put the controls into the front matter values (YAML refuses them raw); the
    // body holds them raw, as a pasted terminal transcript would.
    let controls: String = forbidden().into_iter().collect();
    let note = format!(
        "---\n\
         title: \"Bell \\a, escape \\e[31mred\\e[0m, NUL \\0, U+FFFF \\uFFFF\"\n\
         date: 2024-05-01\n\
         summary: \"A summary with \\x01 and \\x1f and \\uFFFE\"\n\
         tags: [\"t\\x02ag\", \"plain\"]\n\
         ---\n\
         \n\
         # Heading \u{1b}[1mbold\n\
         \n\
         Body text with every forbidden character: {controls} (end).\n\
         \n\
         ```sh\n\
         printf '\u{1b}]0;title\u{7}'\n\
         ```\n"
    );
    let toml_note = "+++\ntitle = \"TOML \\u0001 title\"\ndate = 2024-05-02\nslug = \"toml-note\"\n+++\n\nText \u{0b}\u{0c}.\n";
    let fx = Fixture::with_files(&[
        (
            "kb.toml",
            "title = \"Site \\u0007 title\"\nbase_url = \"https://example.com/kb/\"\n",
        ),
        ("content/controls.md", &note),
        ("content/toml.md", toml_note),
    ]);
    fx.kb(&["build"]).expect_code(0);

    let atom = fx.read("public/atom.xml");
    let doc = parse("atom.xml", &atom);
    let entries: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("entry"))
        .collect();
    assert_eq!(entries.len(), 2, "{atom}");
    let text_of = |entry: &roxmltree::Node, tag: &str| -> String {
        entry
            .children()
            .find(|n| n.has_tag_name(tag))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_string()
    };
    let all_text: String = doc
        .descendants()
        .filter_map(|n| n.text())
        .collect::<Vec<_>>()
        .join("\n");
    for c in forbidden() {
        assert!(!all_text.contains(c), "U+{:04X} in atom.xml", c as u32);
    }
    // What was around the forbidden characters is kept.
    let titles: Vec<String> = entries.iter().map(|e| text_of(e, "title")).collect();
    assert!(
        titles
            .iter()
            .any(|t| t.starts_with("Bell ") && t.contains("red") && t.contains("NUL")),
        "{titles:?}"
    );
    assert!(titles.iter().any(|t| t.starts_with("TOML ")), "{titles:?}");
    assert!(
        entries
            .iter()
            .any(|e| text_of(e, "content").contains("Body text with every forbidden character")),
        "{atom}"
    );
    assert!(
        entries
            .iter()
            .any(|e| text_of(e, "summary").starts_with("A summary with")),
        "{atom}"
    );

    let sitemap = fx.read("public/sitemap.xml");
    let doc = parse("sitemap.xml", &sitemap);
    let locs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("loc"))
        .filter_map(|n| n.text())
        .collect();
    assert!(locs.iter().any(|l| l.contains("/tags/plain/")), "{locs:?}");
    for loc in &locs {
        assert!(
            !loc.chars().any(|c| forbidden().contains(&c)),
            "{loc:?} in sitemap.xml"
        );
    }
}
