//! Obsidian comments: `%%hidden%%` inside a line and `%%` … `%%` across lines and blocks are
//! left out of the page, of search and of link checking, as Obsidian leaves them out of its
//! reading view. Inside code spans and code blocks `%%` is text. A comment never closed hides the
//! rest of the note, as in Obsidian.
//!
//! Works on events: a comment may open in one paragraph and close in a list item further down,
//! so the tags it drops are tracked and the stream stays balanced. Fenced blocks inside a comment
//! are dropped here and skipped by `snippet::extract` with the same rule
//! ([`toggles_comment`](crate::snippet::extract::toggles_comment)), so block ordinals agree.

use std::collections::VecDeque;
use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

use crate::snippet::extract::COMMENT_MARK;

type Item<'a> = (Event<'a>, Range<usize>);

/// The events of `inner` without the commented-out parts.
pub(crate) struct Comments<'a, I> {
    inner: I,
    /// Off when the note has no `%%` at all: events pass through untouched.
    active: bool,
    out: VecDeque<Item<'a>>,
    in_comment: bool,
    in_code: bool,
    /// Tags opened inside the current comment: dropped, and opened again if the comment closes
    /// before they do.
    opened: Vec<Item<'a>>,
    /// A paragraph start held back until it is known to keep some text (a paragraph that was
    /// all comment is dropped whole), with the blank events seen since.
    held: Vec<Item<'a>>,
}

impl<'a, I: Iterator<Item = Item<'a>>> Comments<'a, I> {
    pub(crate) fn new(body: &str, inner: I) -> Self {
        Comments {
            inner,
            active: body.contains(COMMENT_MARK),
            out: VecDeque::new(),
            in_comment: false,
            in_code: false,
            opened: Vec::new(),
            held: Vec::new(),
        }
    }

    fn process(&mut self, ev: Event<'a>, range: Range<usize>) {
        match &ev {
            Event::Start(Tag::CodeBlock(_)) => self.in_code = true,
            Event::End(TagEnd::CodeBlock) => self.in_code = false,
            Event::Text(t) if !self.in_code && t.contains(COMMENT_MARK) => {
                let t = t.clone();
                return self.split_text(&t, range);
            }
            _ => {}
        }
        if !self.in_comment {
            return self.emit(ev, range);
        }
        match ev {
            Event::Start(_) => self.opened.push((ev, range)),
            Event::End(_) if self.opened.pop().is_none() => self.emit(ev, range),
            _ => {}
        }
    }

    /// Text with marks: the parts outside comments are kept, each mark flips the state.
    fn split_text(&mut self, t: &str, range: Range<usize>) {
        // Byte offsets map onto the source only when the text is the source as written.
        let exact = range.len() == t.len();
        let mut start = 0;
        for (i, part) in t.split(COMMENT_MARK).enumerate() {
            if i > 0 {
                self.in_comment = !self.in_comment;
                if !self.in_comment {
                    for (ev, r) in std::mem::take(&mut self.opened) {
                        self.emit(ev, r);
                    }
                }
            }
            if !self.in_comment && !part.is_empty() {
                let r = if exact {
                    range.start + start..range.start + start + part.len()
                } else {
                    range.clone()
                };
                self.emit(Event::Text(CowStr::from(part.to_string())), r);
            }
            start += part.len() + COMMENT_MARK.len();
        }
    }

    fn emit(&mut self, ev: Event<'a>, range: Range<usize>) {
        let blank = match &ev {
            Event::Text(t) => t.trim().is_empty(),
            Event::SoftBreak | Event::HardBreak => true,
            _ => false,
        };
        if !self.held.is_empty() {
            if blank {
                return self.held.push((ev, range));
            }
            if matches!(ev, Event::End(TagEnd::Paragraph)) {
                self.held.clear();
                return;
            }
            self.out.extend(self.held.drain(..));
        }
        if matches!(ev, Event::Start(Tag::Paragraph)) {
            self.held.push((ev, range));
        } else {
            self.out.push_back((ev, range));
        }
    }
}

impl<'a, I: Iterator<Item = Item<'a>>> Iterator for Comments<'a, I> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if !self.active {
            return self.inner.next();
        }
        loop {
            if let Some(item) = self.out.pop_front() {
                return Some(item);
            }
            let (ev, range) = self.inner.next()?;
            self.process(ev, range);
        }
    }
}

#[cfg(test)]
mod tests {
    use pulldown_cmark::Parser;

    use super::*;
    use crate::snippet::extract::markdown_options;

    fn html(body: &str) -> String {
        crate::markdown::events::html_through(body, Comments::new)
    }

    #[test]
    fn an_inline_comment_is_removed_and_the_text_around_it_kept() {
        assert_eq!(html("a %%secret%% b\n"), "<p>a  b</p>\n");
        assert_eq!(html("a %%*x* [y](z)%% b\n"), "<p>a  b</p>\n");
    }

    #[test]
    fn a_block_comment_across_paragraphs_headings_and_code_leaves_nothing() {
        let body =
            "before\n\n%%\nhidden\n\n# Hidden heading\n\n```sh\necho hidden\n```\n%%\n\nafter\n";
        assert_eq!(html(body), "<p>before</p>\n<p>after</p>\n");
    }

    #[test]
    fn a_comment_closing_inside_a_list_keeps_the_list_balanced() {
        let out = html("a %%one\n\n- two %% three\n- four\n");
        assert_eq!(
            out,
            "<p>a </p>\n<ul>\n<li> three</li>\n<li>four</li>\n</ul>\n"
        );
    }

    #[test]
    fn marks_in_code_are_text() {
        assert_eq!(
            html("`%%` and %%gone%%\n\n```\n%%kept%%\n```\n"),
            "<p><code>%%</code> and </p>\n<pre><code>%%kept%%\n</code></pre>\n"
        );
    }

    #[test]
    fn an_unclosed_comment_hides_the_rest() {
        assert_eq!(html("a\n\n%% b\n\nc\n"), "<p>a</p>\n");
    }

    #[test]
    fn notes_without_marks_are_untouched() {
        let body = "a *b* `c`\n\n- d\n";
        let mut plain = String::new();
        pulldown_cmark::html::push_html(&mut plain, Parser::new_ext(body, markdown_options()));
        assert_eq!(html(body), plain);
    }
}
