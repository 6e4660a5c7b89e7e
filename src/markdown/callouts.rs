//! Callouts: Obsidian's `> [!info] Optional title` (foldable with `> [!faq]-`, collapsed, and
//! `> [!tip]+`, open) and GitHub's alerts `> [!NOTE]` become admonition boxes; a foldable one is
//! a `<details>`. Types are matched case-insensitively with Obsidian's aliases; an unknown type
//! is drawn as a note. The title may hold inline markdown (its links are rewritten and checked
//! like any other), callouts nest, and the `[!type]` marker never reaches the page or search.
//!
//! Read from the blockquote's first source line, so one path serves both tools (pulldown-cmark's
//! own `ENABLE_GFM` alerts know five GitHub types, only alone on their line).

use std::collections::VecDeque;
use std::iter::Peekable;
use std::ops::Range;

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};

use crate::html::escape;

type Item<'a> = (Event<'a>, Range<usize>);

/// A callout's look: Obsidian's types, each name below an alias of the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Note,
    Abstract,
    Info,
    Todo,
    Tip,
    Success,
    Question,
    Warning,
    Failure,
    Danger,
    Bug,
    Example,
    Quote,
}

impl Kind {
    /// The type named `name` (any case); unknown names are notes, as in Obsidian.
    pub(crate) fn parse(name: &str) -> Kind {
        match name.to_ascii_lowercase().as_str() {
            "abstract" | "summary" | "tldr" => Kind::Abstract,
            "info" => Kind::Info,
            "todo" => Kind::Todo,
            "tip" | "hint" | "important" => Kind::Tip,
            "success" | "check" | "done" => Kind::Success,
            "question" | "help" | "faq" => Kind::Question,
            "warning" | "caution" | "attention" => Kind::Warning,
            "failure" | "fail" | "missing" => Kind::Failure,
            "danger" | "error" => Kind::Danger,
            "bug" => Kind::Bug,
            "example" => Kind::Example,
            "quote" | "cite" => Kind::Quote,
            _ => Kind::Note,
        }
    }

    /// The CSS class suffix (`kb-callout-tip`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Note => "note",
            Kind::Abstract => "abstract",
            Kind::Info => "info",
            Kind::Todo => "todo",
            Kind::Tip => "tip",
            Kind::Success => "success",
            Kind::Question => "question",
            Kind::Warning => "warning",
            Kind::Failure => "failure",
            Kind::Danger => "danger",
            Kind::Bug => "bug",
            Kind::Example => "example",
            Kind::Quote => "quote",
        }
    }
}

/// `-` after the marker: folded; `+`: foldable, open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fold {
    None,
    Open,
    Closed,
}

/// The `[!type]` marker opening a blockquote's first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Marker<'a> {
    /// The type as written (`FAQ`).
    pub(crate) name: &'a str,
    pub(crate) fold: Fold,
    /// Byte offset (in the text given to [`parse_marker`]) of the `[`.
    pub(crate) start: usize,
    /// Byte offset just past the marker and its fold sign: the title follows.
    pub(crate) end: usize,
}

/// The marker at the start of `line`, a blockquote's first source line (`> [!tip]- Title`).
pub(crate) fn parse_marker(line: &str) -> Option<Marker<'_>> {
    let after_quote = line.trim_start().strip_prefix('>')?;
    let rest = after_quote.trim_start_matches([' ', '\t']);
    let start = line.len() - rest.len();
    let inner = rest.strip_prefix("[!")?;
    let name_len = inner
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(inner.len());
    let name = &inner[..name_len];
    let after = inner[name_len..].strip_prefix(']')?;
    if name.is_empty() {
        return None;
    }
    let (fold, sign) = match after.as_bytes().first() {
        Some(b'-') => (Fold::Closed, 1),
        Some(b'+') => (Fold::Open, 1),
        _ => (Fold::None, 0),
    };
    Some(Marker {
        name,
        fold,
        start,
        end: start + 2 + name_len + 1 + sign,
    })
}

/// The events of `inner` with callout blockquotes turned into admonition HTML.
pub(crate) struct Callouts<'a, I: Iterator<Item = Item<'a>>> {
    inner: Peekable<I>,
    body: &'a str,
    /// Off when the note has no `[!` at all.
    active: bool,
    out: VecDeque<Item<'a>>,
    /// One entry per open blockquote: the HTML closing it when it is a callout.
    open: Vec<Option<&'static str>>,
}

impl<'a, I: Iterator<Item = Item<'a>>> Callouts<'a, I> {
    pub(crate) fn new(body: &'a str, inner: I) -> Self {
        Callouts {
            inner: inner.peekable(),
            body,
            active: body.contains("[!"),
            out: VecDeque::new(),
            open: Vec::new(),
        }
    }

    /// A blockquote starts at `range`: is it a callout?
    fn start(&mut self, range: Range<usize>) -> Option<&'static str> {
        let first_line = self.body[range.start..].lines().next().unwrap_or("");
        let marker = parse_marker(first_line)?;
        let marker_start = range.start + marker.start;
        let marker_end = range.start + marker.end;
        // The marker must open the quote's first paragraph (not a heading or a code block).
        match self.inner.peek() {
            Some((Event::Start(Tag::Paragraph), r)) if r.start == marker_start => {}
            _ => return None,
        }
        let (_, para_range) = self.inner.next()?;
        let (title, ended) = self.title(marker_end);
        let kind = Kind::parse(marker.name);
        let data = escape(&marker.name.to_ascii_lowercase());
        let class = kind.as_str();
        let (open, title_tags, close) = match marker.fold {
            Fold::None => (
                format!("<div class=\"kb-callout kb-callout-{class}\" data-callout=\"{data}\">"),
                ("<div class=\"kb-callout-title\">", "</div>"),
                "</div></div>\n",
            ),
            fold => (
                format!(
                    "<details class=\"kb-callout kb-callout-{class}\" data-callout=\"{data}\"{}>",
                    if fold == Fold::Open { " open" } else { "" }
                ),
                ("<summary class=\"kb-callout-title\">", "</summary>"),
                "</div></details>\n",
            ),
        };
        self.html(open, &range);
        self.html(title_tags.0.to_string(), &range);
        if title.is_empty() {
            let default = capitalized(marker.name);
            self.out
                .push_back((Event::Text(default.into()), range.clone()));
        }
        self.out.extend(title);
        self.html(title_tags.1.to_string(), &range);
        self.html("<div class=\"kb-callout-body\">\n".to_string(), &range);
        if !ended {
            self.out
                .push_back((Event::Start(Tag::Paragraph), para_range));
        }
        Some(close)
    }

    /// The title's events: the rest of the first line after the marker. `true` when the
    /// paragraph ended with the line.
    fn title(&mut self, marker_end: usize) -> (Vec<Item<'a>>, bool) {
        let mut title = Vec::new();
        let mut depth = 0usize;
        for (ev, r) in self.inner.by_ref() {
            match &ev {
                Event::End(TagEnd::Paragraph) if depth == 0 => return (trimmed(title), true),
                Event::SoftBreak | Event::HardBreak if depth == 0 => break,
                Event::Start(_) => depth += 1,
                Event::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            match ev {
                // The marker's own text, or a text holding the marker and the title's start.
                Event::Text(t) if r.start < marker_end => {
                    let marker = self.body.get(r.start..marker_end).unwrap_or("");
                    if let Some(rest) = t.strip_prefix(marker).filter(|_| r.end > marker_end) {
                        title.push((Event::Text(rest.to_string().into()), marker_end..r.end));
                    }
                }
                ev => title.push((ev, r)),
            }
        }
        (trimmed(title), false)
    }

    fn html(&mut self, html: String, range: &Range<usize>) {
        self.out
            .push_back((Event::Html(CowStr::from(html)), range.clone()));
    }
}

/// The title without the spaces between marker and title, nor empty text.
fn trimmed(title: Vec<Item<'_>>) -> Vec<Item<'_>> {
    let mut out = Vec::with_capacity(title.len());
    for (ev, r) in title {
        match ev {
            Event::Text(t) if out.is_empty() => {
                let t = t.trim_start();
                if !t.is_empty() {
                    out.push((Event::Text(t.to_string().into()), r));
                }
            }
            ev => out.push((ev, r)),
        }
    }
    out
}

/// `faq` -> `Faq`, `NOTE` -> `Note`: the title of a callout that gives none.
fn capitalized(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

impl<'a, I: Iterator<Item = Item<'a>>> Iterator for Callouts<'a, I> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        if !self.active {
            return self.inner.next();
        }
        if let Some(item) = self.out.pop_front() {
            return Some(item);
        }
        let (ev, range) = self.inner.next()?;
        match ev {
            Event::Start(Tag::BlockQuote(_)) => match self.start(range.clone()) {
                Some(close) => {
                    self.open.push(Some(close));
                    self.out.pop_front()
                }
                None => {
                    self.open.push(None);
                    Some((ev, range))
                }
            },
            Event::End(TagEnd::BlockQuote(_)) => match self.open.pop().flatten() {
                Some(close) => Some((Event::Html(close.into()), range)),
                None => Some((ev, range)),
            },
            ev => Some((ev, range)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html(body: &str) -> String {
        crate::markdown::events::html_through(body, Callouts::new)
    }

    #[test]
    fn markers_parse_with_fold_signs_and_titles() {
        let m = parse_marker("> [!FAQ]- Why?").unwrap();
        assert_eq!(
            (m.name, m.fold, m.start, m.end),
            ("FAQ", Fold::Closed, 2, 9)
        );
        assert_eq!(parse_marker(">[!tip]+").unwrap().fold, Fold::Open);
        assert_eq!(parse_marker("  > [!my-type]").unwrap().name, "my-type");
        assert_eq!(parse_marker("> [!note] x").unwrap().fold, Fold::None);
        assert_eq!(parse_marker("> [!] x"), None);
        assert_eq!(parse_marker("> [!note x"), None);
        assert_eq!(parse_marker("> [note] x"), None);
        assert_eq!(parse_marker("> text [!note]"), None);
    }

    #[test]
    fn aliases_follow_obsidian_and_unknown_types_are_notes() {
        assert_eq!(Kind::parse("TLDR"), Kind::Abstract);
        assert_eq!(Kind::parse("important"), Kind::Tip);
        assert_eq!(Kind::parse("Caution"), Kind::Warning);
        assert_eq!(Kind::parse("error"), Kind::Danger);
        assert_eq!(Kind::parse("cite"), Kind::Quote);
        assert_eq!(Kind::parse("done"), Kind::Success);
        assert_eq!(Kind::parse("missing"), Kind::Failure);
        assert_eq!(Kind::parse("whatever"), Kind::Note);
    }

    #[test]
    fn a_titled_callout_keeps_inline_markdown_and_its_body() {
        let out = html("> [!info] Read *this* first\n> Body text\n");
        assert_eq!(
            out,
            "<div class=\"kb-callout kb-callout-info\" data-callout=\"info\"><div class=\"kb-callout-title\">Read <em>this</em> first</div><div class=\"kb-callout-body\">\n<p>Body text</p>\n</div></div>\n"
        );
    }

    #[test]
    fn foldable_callouts_are_details_and_the_default_title_is_the_type() {
        let out = html("> [!faq]-\n> Hidden answer\n");
        assert!(out.starts_with("<details class=\"kb-callout kb-callout-question\" data-callout=\"faq\"><summary class=\"kb-callout-title\">Faq</summary>"), "{out}");
        let out = html("> [!TIP]+ Open\n> Shown\n");
        assert!(out.contains("data-callout=\"tip\" open><summary"), "{out}");
        assert!(!out.contains("[!"), "{out}");
    }

    #[test]
    fn github_alerts_and_title_only_callouts() {
        let out = html("> [!WARNING]\n> Careful.\n");
        assert!(out.contains("kb-callout-warning"), "{out}");
        assert!(out.contains(">Warning</div>"), "{out}");
        assert!(out.contains("<p>Careful.</p>"), "{out}");
        let out = html("> [!done] Only a title\n");
        assert!(
            out.contains(">Only a title</div><div class=\"kb-callout-body\">\n</div></div>"),
            "{out}"
        );
    }

    #[test]
    fn callouts_nest_and_plain_quotes_stay_quotes() {
        let out = html("> [!question] Outer\n> > [!todo] Inner\n> > inner body\n");
        assert_eq!(out.matches("class=\"kb-callout ").count(), 2, "{out}");
        assert!(out.contains("kb-callout-todo"), "{out}");
        assert!(!out.contains("<blockquote>"), "{out}");
        assert_eq!(
            html("> just a quote\n"),
            "<blockquote>\n<p>just a quote</p>\n</blockquote>\n"
        );
        let out = html("> # [!note] heading\n");
        assert!(
            out.contains("<blockquote>"),
            "a marker inside a heading is text: {out}"
        );
    }
}
