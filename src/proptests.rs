//! Property tests of the parsers and the matcher: random front matter, fence info strings,
//! console transcripts, expected/actual outputs and markdown bodies. Whatever the input, nothing
//! panics, and every problem found points at a line of the input (a column, for an info string),
//! so it can be shown as `path:line`.
//!
//! Inputs are built from the pieces these formats are made of (delimiters, keys, quotes,
//! brackets, fences, `$ ` lines, wildcards, control characters), so that the cases reach the
//! interesting branches instead of being rejected at the first byte. Case counts are small: the
//! suite runs in seconds.

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use crate::verify::plan::{self, NoteText, PlanConfig};
use crate::verify::{matcher, transcript};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // A failure is printed with its minimal input; nothing is written into the tree.
        failure_persistence: None,
        // The same cases on every run (a test suite that passes or fails by chance blocks
        // nobody usefully); `PROPTEST_RNG_SEED=N` or `=random` explores others.
        rng_seed: match std::env::var("PROPTEST_RNG_SEED").ok().as_deref() {
            Some("random") => proptest::test_runner::RngSeed::Random,
            Some(n) => n
                .parse()
                .map(proptest::test_runner::RngSeed::Fixed)
                .unwrap_or(proptest::test_runner::RngSeed::Random),
            None => proptest::test_runner::RngSeed::Fixed(0x6b62),
        },
        ..ProptestConfig::default()
    }
}

/// Characters that break naive parsers.
fn awkward() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        " ",
        "\t",
        "\"",
        "'",
        "\\",
        "{",
        "}",
        "[",
        "]",
        ",",
        "=",
        ":",
        "#",
        "-",
        "*",
        "&",
        "`",
        "```",
        "~~~",
        "$ ",
        "?",
        "...",
        "[..]",
        "..",
        "/",
        ".",
        "\u{0}",
        "\u{1}",
        "\u{1b}",
        "\r",
        "写屏障",
        "🦀",
        "\u{FFFF}",
        "99999999999999999999",
        "-1",
        "0",
    ])
    .prop_map(str::to_string)
}

/// A short piece of text: words, awkward characters, or anything.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9_.-]{0,8}",
        3 => awkward(),
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
}

fn text_of(pieces: Vec<String>) -> String {
    pieces.concat()
}

/// A front matter line: a known or random key with an awkward value, or just noise.
fn front_line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "title",
        "date",
        "updated",
        "tags",
        "summary",
        "draft",
        "weight",
        "slug",
        "aliases",
        "extra",
        "description",
        "x",
    ]);
    prop_oneof![
        (key.clone(), prop::collection::vec(piece(), 0..4))
            .prop_map(|(k, v)| format!("{k}: {}", text_of(v))),
        (key, prop::collection::vec(piece(), 0..4))
            .prop_map(|(k, v)| format!("{k} = {}", text_of(v))),
        prop::collection::vec(piece(), 0..4).prop_map(text_of),
        Just("  - item".to_string()),
        Just("---".to_string()),
        Just("+++".to_string()),
        Just("...".to_string()),
    ]
}

/// A note file: maybe a front matter block (or half of one), then a body.
fn note_file() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["---\n", "+++\n", "", "--- \n", "---"]),
        prop::collection::vec(front_line(), 0..8),
        prop::sample::select(vec!["---\n", "+++\n", "...\n", ""]),
        markdown(),
    )
        .prop_map(|(open, lines, close, body)| {
            let mut s = open.to_string();
            for l in lines {
                s.push_str(&l);
                s.push('\n');
            }
            s.push_str(close);
            s.push_str(&body);
            s
        })
}

/// A fence info string: a language and attributes, well-formed or not.
fn info_string() -> impl Strategy<Value = String> {
    let lang = prop::sample::select(vec![
        "",
        "sh",
        "console",
        "go",
        "c",
        "python",
        "output",
        "text",
        "dockerfile",
        "{",
    ]);
    // every attribute kb knows, a near miss and an empty name
    let attr = prop::sample::select(
        crate::snippet::info::KNOWN_ATTRS
            .iter()
            .copied()
            .chain(["sesion", ""])
            .collect::<Vec<&str>>(),
    );
    let token = prop_oneof![
        attr.clone().prop_map(str::to_string),
        (attr.clone(), prop::collection::vec(piece(), 0..3))
            .prop_map(|(a, v)| format!("{a}={}", text_of(v))),
        (attr, prop::collection::vec(piece(), 0..3))
            .prop_map(|(a, v)| format!("{a}=\"{}\"", text_of(v))),
        piece(),
    ];
    (
        lang,
        prop::collection::vec(token, 0..6),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lang, tokens, braces, commas)| {
            let sep = if commas { ", " } else { " " };
            let attrs = tokens.join(sep);
            if braces {
                format!("{lang} {{{attrs}}}")
            } else {
                format!("{lang} {attrs}")
            }
        })
}

/// A console transcript's text.
fn transcript_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        prop::collection::vec(piece(), 0..4).prop_map(|p| format!("$ {}", text_of(p))),
        prop::collection::vec(piece(), 0..4).prop_map(|p| format!("$ {} \\", text_of(p))),
        prop::collection::vec(piece(), 0..2).prop_map(|p| format!("? {}", text_of(p))),
        Just("...".to_string()),
        Just("[..]".to_string()),
        Just(String::new()),
        prop::collection::vec(piece(), 0..4).prop_map(text_of),
    ];
    prop::collection::vec(line, 0..10).prop_map(|l| l.join("\n"))
}

/// Output text with matcher wildcards in it.
fn output_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        3 => "[ab ]{0,4}",
        1 => Just("...".to_string()),
        1 => Just("[..]".to_string()),
        1 => "[ab]{0,2}\\[\\.\\.\\][ab]{0,2}",
        1 => Just(" ".to_string()),
    ];
    (prop::collection::vec(line, 0..8), any::<bool>())
        .prop_map(|(l, crlf)| l.join(if crlf { "\r\n" } else { "\n" }))
}

/// A markdown body: fences with random info strings (some unclosed), headings, links,
/// wikilinks, HTML and text.
fn markdown() -> impl Strategy<Value = String> {
    let block = prop_oneof![
        (info_string(), transcript_text(), any::<bool>()).prop_map(|(info, text, close)| {
            format!("```{info}\n{text}\n{}", if close { "```\n" } else { "" })
        }),
        (info_string(), transcript_text())
            .prop_map(|(info, text)| format!("~~~~{info}\n{text}\n~~~~\n")),
        prop::collection::vec(piece(), 0..4).prop_map(|p| format!("# {}", text_of(p))),
        prop::collection::vec(piece(), 0..4).prop_map(|p| format!("## {}", text_of(p))),
        (piece(), piece()).prop_map(|(t, d)| format!("[{t}]({d}.md#{t})")),
        piece().prop_map(|t| format!("[[{t}]]")),
        piece().prop_map(|t| format!("<div>{t}</div>")),
        Just("| a | b |\n|---|---|\n| 1 | 2 |".to_string()),
        Just("- [ ] task\n- item".to_string()),
        prop::collection::vec(piece(), 0..6).prop_map(text_of),
    ];
    prop::collection::vec(block, 0..8).prop_map(|b| b.join("\n\n"))
}

fn plan_config() -> PlanConfig {
    PlanConfig {
        images: Default::default(),
        commands: Default::default(),
        default_timeout: std::time::Duration::from_secs(60),
        limits: crate::snippet::Limits::DEFAULT,
        local_images: Default::default(),
    }
}

/// Number of lines an error may point at in `text` starting at file line `first` (the line
/// after the last one, for "never closed", included).
fn last_line(text: &str, first: usize) -> usize {
    first + text.split('\n').count()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn front_matter_errors_point_at_a_line_of_the_file(file in note_file()) {
        let lines = last_line(&file, 1);
        match crate::content::front_matter::split(&file) {
            Err(e) => prop_assert!((1..=lines).contains(&e.line), "{e:?}"),
            Ok(split) => {
                prop_assert!(split.body_line >= 1 && split.body_line <= lines);
                if let Some((front, format)) = split.front {
                    if let Err(e) = crate::content::front_matter::parse(front, format, split.front_line) {
                        prop_assert!((1..=lines).contains(&e.line), "{e:?}");
                        prop_assert!(!e.message.is_empty() && !e.hint.is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn info_string_errors_point_at_a_column_of_the_info_string(info in info_string()) {
        if let Err(e) = crate::snippet::info::parse(&info) {
            let width = info.trim().chars().count() + 1;
            prop_assert!((1..=width).contains(&e.column), "{e:?} in {info:?}");
            prop_assert!(!e.message.is_empty() && !e.hint.is_empty());
        }
    }

    /// `first` is the block's first text line; an error may also name the fence line above it
    /// (a block with no command at all).
    #[test]
    fn transcript_errors_point_at_a_line_of_the_block(text in transcript_text(), first in 2usize..500) {
        if let Err(e) = transcript::parse(&text, first) {
            prop_assert!((first - 1..=last_line(&text, first)).contains(&e.line), "{e:?}");
            prop_assert!(!e.message.is_empty());
        }
    }

    #[test]
    fn output_matches_itself_and_normalizes_to_the_expectation_exactly_when_it_matches(
        expected in output_text(),
        actual in output_text(),
    ) {
        prop_assert!(matcher::matches(&expected, &expected), "{expected:?}");
        let matched = matcher::matches(&expected, &actual);
        let normalized = matcher::normalize(&expected, &actual);
        prop_assert_eq!(normalized == matcher::canonical(&expected), matched);
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn planner_diagnostics_name_the_note_and_a_line_of_its_body(body in markdown(), body_line in 1usize..50) {
        let planned = plan::plan_note(
            NoteText { path: "content/p.md", body: &body, body_line },
            &plan_config(),
        );
        let last = last_line(&body, body_line);
        for d in &planned.diagnostics {
            prop_assert_eq!(d.path.to_str(), Some("content/p.md"));
            let line = d.line.unwrap_or(0);
            prop_assert!((body_line..=last).contains(&line), "{d} (body lines {body_line}..={last})");
        }
    }
}

proptest! {
    #![proptest_config(config(24))]

    /// The whole load and render of a note (front matter, outline, links, snippet rules,
    /// markdown, highlighting): no panic, and every problem in the note names one of its lines.
    #[test]
    fn a_random_note_loads_and_renders_and_its_problems_name_its_lines(file in note_file()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("content")).unwrap();
        std::fs::write(dir.path().join("content/p.md"), &file).unwrap();
        let config = crate::config::Config::load(dir.path()).unwrap();
        let site = crate::site::Site::load(config, crate::content::LoadOptions::ALL).unwrap();
        let lines = last_line(&file, 1);
        for d in &site.diagnostics {
            if d.path.to_str() == Some("content/p.md") && d.kind != crate::diagnostics::DiagnosticKind::NoTitle {
                let line = d.line.unwrap_or(0);
                prop_assert!((1..=lines).contains(&line), "{d}");
            }
        }
        let rendered = site.render(&crate::highlight::Highlighter::default());
        prop_assert_eq!(rendered.len(), site.notes.len());
    }
}
