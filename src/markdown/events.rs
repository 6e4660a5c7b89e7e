//! The event stream every pass reads (outline, render): pulldown-cmark's events for a note body,
//! then the syntax of other tools pulldown-cmark does not know, each in its own file:
//!
//! 1. [`table_pipes`]: `[[note\|alias]]` in a table links to `note`;
//! 2. [`comments`]: Obsidian `%%comments%%` are dropped (early, so nothing in them is seen);
//! 3. [`callouts`]: `> [!type] Title` blockquotes become admonitions;
//! 4. [`marks`]: `==highlights==` become `<mark>`.
//!
//! Math stays as pulldown-cmark's math events here (a heading's id is made from its TeX);
//! render turns them into MathML ([`math::event`](super::math::event)).
//!
//! A note with none of this syntax skips the layers (the body is checked once). Code blocks
//! pass through untouched but for those inside a comment, which `snippet::extract` skips by the
//! same rule, so the passes and `kb verify` number the same fenced blocks.

use std::ops::Range;

use pulldown_cmark::{Event, Parser};

use crate::snippet::extract::markdown_options;

use super::callouts::Callouts;
use super::comments::Comments;
use super::marks::Marks;
use super::table_pipes::unescape_alias_pipe;

/// The events of `body` with their byte ranges in it.
pub(crate) fn events(body: &str) -> impl Iterator<Item = (Event<'_>, Range<usize>)> {
    let parsed = Parser::new_ext(body, markdown_options()).into_offset_iter();
    // Most notes have none of this syntax: they get pulldown-cmark's events with no layer over
    // them (each layer costs a few percent of a pass on every event).
    let marked = ["%%", "[!", "==", "\\|"].iter().any(|m| body.contains(m));
    if !marked {
        return Events::Plain(parsed);
    }
    let parsed = parsed.map(unescape_alias_pipe);
    Events::Rewritten(Marks::new(
        body,
        Callouts::new(body, Comments::new(body, parsed)),
    ))
}

/// pulldown-cmark's events, or the same with the layers above.
enum Events<P, R> {
    Plain(P),
    Rewritten(R),
}

impl<T, P: Iterator<Item = T>, R: Iterator<Item = T>> Iterator for Events<P, R> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        match self {
            Events::Plain(p) => p.next(),
            Events::Rewritten(r) => r.next(),
        }
    }
}

/// The HTML of `body` through one layer alone (`Comments::new`, `Marks::new`, …), for the
/// layers' own tests.
#[cfg(test)]
pub(crate) fn html_through<'a, L>(
    body: &'a str,
    layer: impl FnOnce(&'a str, pulldown_cmark::OffsetIter<'a>) -> L,
) -> String
where
    L: Iterator<Item = (Event<'a>, Range<usize>)>,
{
    let events = layer(
        body,
        Parser::new_ext(body, markdown_options()).into_offset_iter(),
    );
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events.map(|(e, _)| e));
    out
}

#[cfg(test)]
mod tests {
    use pulldown_cmark::{CodeBlockKind, Tag};

    use super::*;

    /// Render numbers fenced blocks from these events, `kb verify` from `snippet::extract`: a
    /// commented-out block, a callout or math around blocks must not shift one against the other.
    #[test]
    fn the_passes_see_the_fences_extract_finds() {
        for body in [
            "```sh\na\n```\n%%\n```sh\nb\n```\n%%\n```sh\nc\n```\n",
            "> [!info] T\n> ```sh\n> a\n> ```\n\n```mermaid\ngraph TD\n```\n",
            "a %% b\n\n```sh\nx\n```\n\nc %% d ==e==\n\n```sh\ny\n```\n",
            "$$\n```sh\nx\n```\n$$\n\n`%%`\n\n```sh\n%%\n```\n\n```sh\nz\n```\n",
            "Term\n: ```sh\n  x\n  ```\n\n%% never closed\n\n```sh\ny\n```\n",
        ] {
            let seen: Vec<usize> = events(body)
                .filter_map(|(ev, r)| {
                    matches!(ev, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))))
                        .then_some(r.start)
                })
                .collect();
            let (blocks, _) = crate::snippet::extract(body, 1);
            let lines = crate::snippet::extract::LineIndex::new(body);
            let seen_lines: Vec<usize> = seen.iter().map(|&o| lines.line_of(o) + 1).collect();
            let found: Vec<usize> = blocks.iter().map(|b| b.line).collect();
            assert_eq!(seen_lines, found, "{body:?}");
        }
    }

    /// Random mixes of the syntax, open and unclosed: no panic, balanced tags, and the fenced
    /// blocks seen are those `snippet::extract` finds.
    mod random {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed};

        use super::super::events;
        use pulldown_cmark::{CodeBlockKind, Event, Tag};

        fn block() -> impl Strategy<Value = String> {
            let piece = prop::sample::select(vec![
                "%%",
                "==",
                "= =",
                "$",
                "$$",
                "[!",
                "]",
                "[!info]",
                "[!faq]-",
                "> ",
                "> > ",
                "[[a\\|b]]",
                "| x |",
                "`",
                "*",
                "\n",
                "\n\n",
                "word ",
                "写",
                "- ",
                ": ",
                "\\\\",
            ]);
            prop_oneof![
                3 => prop::collection::vec(piece, 0..10).prop_map(|p| p.concat()),
                1 => Just("```sh\n%% == [!x]\n```".to_string()),
                1 => Just("> ```sh\n> a\n> ```".to_string()),
                1 => Just("| a | b |\n|---|---|\n| [[n\\|m]] | %% |".to_string()),
            ]
        }

        proptest! {
            #![proptest_config(Config {
                cases: 256,
                failure_persistence: None,
                rng_seed: RngSeed::Fixed(0x6b62),
                ..Config::default()
            })]

            #[test]
            fn events_stay_balanced_and_agree_with_extract(
                blocks in prop::collection::vec(block(), 0..8)
            ) {
                let body = blocks.join("\n");
                let mut depth = 0i64;
                let mut fences = 0;
                for (ev, _) in events(&body) {
                    match ev {
                        Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                            fences += 1;
                            depth += 1;
                        }
                        Event::Start(_) => depth += 1,
                        Event::End(_) => depth -= 1,
                        _ => {}
                    }
                    prop_assert!(depth >= 0, "{body:?}");
                }
                prop_assert_eq!(depth, 0, "{:?}", body);
                prop_assert_eq!(fences, crate::snippet::extract(&body, 1).0.len(), "{:?}", body);
            }
        }
    }
}
