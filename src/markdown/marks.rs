//! Highlights: `==text==` (Obsidian, and Hugo/Zola's markdown-it-style `mark`) becomes
//! `<mark>text</mark>`. As in Obsidian, the text right inside the `==` must not start or end
//! with a space, so `a == b` in prose stays as written; a highlight may hold other inline
//! markdown (`==**bold** word==`) but does not cross a link or emphasis boundary. Code spans and
//! code blocks are never touched (pulldown-cmark gives them as other events).

use std::collections::VecDeque;
use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Tag};

type Item<'a> = (Event<'a>, Range<usize>);

const MARK: &str = "==";

/// The events of `inner` with `==highlights==` turned into `<mark>` tags.
pub(crate) struct Marks<'a, I> {
    inner: I,
    /// Off when the note has no `==` at all.
    active: bool,
    in_code: bool,
    /// The run of inline events being read since a text with `==`; resolved at the run's end.
    run: Vec<Item<'a>>,
    out: VecDeque<Item<'a>>,
}

impl<'a, I: Iterator<Item = Item<'a>>> Marks<'a, I> {
    pub(crate) fn new(body: &str, inner: I) -> Self {
        Marks {
            inner,
            active: body.contains(MARK),
            in_code: false,
            run: Vec::new(),
            out: VecDeque::new(),
        }
    }
}

/// Events that live inside a line of text (a run of them is one paragraph, heading, cell...).
fn is_inline(ev: &Event<'_>) -> bool {
    match ev {
        Event::Start(tag) => is_inline_tag(tag),
        Event::End(end) => {
            use pulldown_cmark::TagEnd as E;
            matches!(
                end,
                E::Emphasis
                    | E::Strong
                    | E::Strikethrough
                    | E::Superscript
                    | E::Subscript
                    | E::Link
                    | E::Image
            )
        }
        Event::Text(_)
        | Event::Code(_)
        | Event::InlineMath(_)
        | Event::DisplayMath(_)
        | Event::InlineHtml(_)
        | Event::SoftBreak
        | Event::HardBreak
        | Event::FootnoteReference(_) => true,
        _ => false,
    }
}

fn is_inline_tag(tag: &Tag<'_>) -> bool {
    matches!(
        tag,
        Tag::Emphasis
            | Tag::Strong
            | Tag::Strikethrough
            | Tag::Superscript
            | Tag::Subscript
            | Tag::Link { .. }
            | Tag::Image { .. }
    )
}

/// A `==` that opens or closes: event index in the run, byte offset in its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Delim {
    event: usize,
    at: usize,
    open: bool,
}

/// The `==` pairs of a run, by Obsidian's rule.
fn pairs(run: &[Item<'_>]) -> Vec<Delim> {
    let mut found = Vec::new();
    // One pending opener per inline nesting level: a highlight does not cross a tag boundary.
    let mut pending: Vec<Option<Delim>> = vec![None];
    for (i, (ev, _)) in run.iter().enumerate() {
        match ev {
            Event::Start(_) => pending.push(None),
            Event::End(_) if pending.len() > 1 => {
                pending.pop();
            }
            // A tag opened before the run closes: an opener inside it cannot pair outside.
            Event::End(_) => pending[0] = None,
            Event::Text(t) => {
                for (at, _) in t.match_indices(MARK) {
                    let before = char_before(run, i, at);
                    let after = char_after(run, i, at + MARK.len());
                    let level = pending.last_mut().expect("the outer level is never popped");
                    let open_here = level.filter(|o| {
                        before.is_some_and(|c| !c.is_whitespace())
                            && !(o.event == i && o.at + MARK.len() == at)
                    });
                    if let Some(opener) = open_here {
                        found.push(opener);
                        found.push(Delim {
                            event: i,
                            at,
                            open: false,
                        });
                        *level = None;
                    } else if after.is_some_and(|c| !c.is_whitespace() && c != '=') {
                        *level = Some(Delim {
                            event: i,
                            at,
                            open: true,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The character before byte `at` of event `i`'s text; `None` for a space or a line's start.
fn char_before(run: &[Item<'_>], i: usize, at: usize) -> Option<char> {
    match &run[i].0 {
        Event::Text(t) if at > 0 => t[..at].chars().next_back(),
        _ => match i.checked_sub(1).map(|p| &run[p].0) {
            Some(Event::Text(t)) => t.chars().next_back(),
            Some(Event::SoftBreak | Event::HardBreak) | None => None,
            Some(_) => Some('x'),
        },
    }
}

/// The character at byte `at` of event `i`'s text or right after it.
fn char_after(run: &[Item<'_>], i: usize, at: usize) -> Option<char> {
    match &run[i].0 {
        Event::Text(t) if at < t.len() => t[at..].chars().next(),
        _ => match run.get(i + 1).map(|(e, _)| e) {
            Some(Event::Text(t)) => t.chars().next(),
            Some(Event::SoftBreak | Event::HardBreak) | None => None,
            Some(_) => Some('x'),
        },
    }
}

impl<'a, I: Iterator<Item = Item<'a>>> Marks<'a, I> {
    /// Emit the run with its pairs as `<mark>` tags.
    fn flush(&mut self) {
        let run = std::mem::take(&mut self.run);
        let mut delims = pairs(&run);
        delims.sort_by_key(|d| (d.event, d.at));
        let mut next = delims.iter().peekable();
        for (i, (ev, range)) in run.into_iter().enumerate() {
            if next.peek().is_none_or(|d| d.event != i) {
                self.out.push_back((ev, range));
                continue;
            }
            let Event::Text(t) = ev else {
                unreachable!("delimiters are in text")
            };
            let mut from = 0;
            while let Some(d) = next.next_if(|d| d.event == i) {
                if d.at > from {
                    let text = CowStr::from(t[from..d.at].to_string());
                    self.out.push_back((Event::Text(text), range.clone()));
                }
                let tag = if d.open { "<mark>" } else { "</mark>" };
                self.out
                    .push_back((Event::InlineHtml(tag.into()), range.clone()));
                from = d.at + MARK.len();
            }
            if from < t.len() {
                let text = CowStr::from(t[from..].to_string());
                self.out.push_back((Event::Text(text), range));
            }
        }
    }
}

impl<'a, I: Iterator<Item = Item<'a>>> Iterator for Marks<'a, I> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if !self.active {
            return self.inner.next();
        }
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            let Some((ev, range)) = self.inner.next() else {
                self.flush();
                return self.out.pop_front();
            };
            match &ev {
                Event::Start(Tag::CodeBlock(_)) => self.in_code = true,
                Event::End(pulldown_cmark::TagEnd::CodeBlock) => self.in_code = false,
                _ => {}
            }
            let reading = !self.run.is_empty();
            let starts_run = !self.in_code && matches!(&ev, Event::Text(t) if t.contains(MARK));
            if is_inline(&ev) && !self.in_code && (reading || starts_run) {
                self.run.push((ev, range));
                continue;
            }
            if reading {
                self.flush();
            }
            self.out.push_back((ev, range));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(body: &str) -> String {
        crate::markdown::events::html_through(body, Marks::new)
    }

    #[test]
    fn a_highlight_becomes_mark() {
        assert_eq!(html("a ==b c== d\n"), "<p>a <mark>b c</mark> d</p>\n");
        assert_eq!(
            html("==**bold** word==\n"),
            "<p><mark><strong>bold</strong> word</mark></p>\n"
        );
        assert_eq!(html("- ==x==\n"), "<ul>\n<li><mark>x</mark></li>\n</ul>\n");
    }

    #[test]
    fn comparisons_in_prose_stay_text() {
        assert_eq!(
            html("if a == b and c == d\n"),
            "<p>if a == b and c == d</p>\n"
        );
        assert_eq!(html("== x ==\n"), "<p>== x ==</p>\n");
        assert_eq!(html("a ==b\n"), "<p>a ==b</p>\n");
        assert_eq!(html("====\n"), "<p>====</p>\n");
        assert_eq!(html("a === b\n"), "<p>a === b</p>\n");
    }

    #[test]
    fn code_is_never_marked() {
        assert_eq!(html("`==x==`\n"), "<p><code>==x==</code></p>\n");
        assert_eq!(
            html("```\n==x==\n```\n"),
            "<pre><code>==x==\n</code></pre>\n"
        );
    }

    #[test]
    fn a_highlight_does_not_cross_a_link() {
        assert_eq!(
            html("==a [b== c](u)\n"),
            "<p>==a <a href=\"u\">b== c</a></p>\n"
        );
        assert_eq!(
            html("[==b==](u)\n"),
            "<p><a href=\"u\"><mark>b</mark></a></p>\n"
        );
    }

    #[test]
    fn pairs_in_a_heading_and_across_a_soft_break() {
        assert_eq!(html("## ==Key==\n"), "<h2><mark>Key</mark></h2>\n");
        assert_eq!(html("==one\ntwo==\n"), "<p><mark>one\ntwo</mark></p>\n");
    }
}
