//! Obsidian's embeds: `![[note]]`, `![[note#heading]]` and `![[note#^block]]` alone on their
//! line show the note, the heading's section or the block in place, framed, with a link to where
//! it comes from (as Obsidian and Obsidian Publish do); `![[image.png|300]]` is an image 300 px
//! wide; a `^block-id` ending a paragraph is an anchor, not text.
//!
//! An embed inside running text, an embed cycle (`a` embeds `b` embeds `a`) or one nested deeper
//! than [`MAX_DEPTH`] stays a link. Render hands in how to render a whole note, so this file does
//! not depend on it.

use std::cell::RefCell;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, Tag, TagEnd};
use regex::Regex;

use crate::html::escape;

use super::anchors::block_id;
use super::links::{LinkIndex, Resolved};
use super::outline::{LinkKind, Outline};
use crate::content::Note;

/// What an embed needs of the site.
pub(crate) struct Site<'a> {
    pub(crate) notes: &'a [Note],
    pub(crate) outlines: &'a [Outline],
    pub(crate) links: &'a LinkIndex,
}

/// How many embeds deep a page shows content; deeper ones are links.
pub(crate) const MAX_DEPTH: usize = 3;

thread_local! {
    /// The notes being rendered on this thread, outermost first (render is recursive here).
    static STACK: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks a note as being rendered on this thread until dropped.
pub(crate) struct Rendering;

impl Rendering {
    pub(crate) fn enter(index: usize) -> Rendering {
        STACK.with(|s| s.borrow_mut().push(index));
        Rendering
    }
}

impl Drop for Rendering {
    fn drop(&mut self) {
        STACK.with(|s| s.borrow_mut().pop());
    }
}

/// Whether the markdown at `range` of `body` stands alone on its line(s): only blanks or a
/// quote's `>` before it on its first line, only blanks after it on its last.
pub(crate) fn alone_on_line(body: &str, range: &std::ops::Range<usize>) -> bool {
    let line_start = body[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let before = &body[line_start..range.start];
    let after = body[range.end..].split('\n').next().unwrap_or("");
    before.chars().all(|c| c == ' ' || c == '\t' || c == '>') && after.trim().is_empty()
}

/// The framed HTML of note `to` (or of its section or block named by `dest`'s fragment), or
/// `None` when it must stay a link (a cycle, too deep, a fragment that names nothing).
/// `whole` renders a whole note's body to HTML.
pub(crate) fn embed(
    ctx: &Site<'_>,
    to: usize,
    anchor: Option<&str>,
    dest: &str,
    whole: &dyn Fn(usize) -> String,
) -> Option<String> {
    let nested = STACK.with(|s| {
        let s = s.borrow();
        s.contains(&to) || s.len() > MAX_DEPTH
    });
    if nested {
        return None;
    }
    let note = &ctx.notes[to];
    let fragment = dest.split_once('#').map(|(_, f)| f);
    let (inner, label) = match (fragment.and_then(|f| f.strip_prefix('^')), anchor) {
        (Some(block), _) => {
            let source = block_source(&note.body, block)?;
            let _guard = Rendering::enter(to);
            (render_fragment(ctx, to, &source), None)
        }
        (None, Some(id)) => {
            let html = whole(to);
            let heading = ctx.outlines[to].headings.iter().find(|h| h.id == id)?;
            (
                section(&html, id).unwrap_or(&html).to_string(),
                Some(heading.text.clone()),
            )
        }
        (None, None) => (whole(to), None),
    };
    let title = note
        .meta
        .title
        .clone()
        .unwrap_or_else(|| note.stem().to_string());
    let label = match label {
        Some(h) if h != title => format!("{title} › {h}"),
        _ => title,
    };
    let url = LinkIndex::url(ctx.notes, to, anchor);
    Some(format!(
        "<div class=\"kb-embed\"><p class=\"kb-embed-source\"><a href=\"{}\">{}</a></p>{}</div>\n",
        escape(&url),
        escape(&label),
        localize(&inner, &note.url)
    ))
}

/// From the heading with this id to the next heading of its level or above.
fn section<'h>(html: &'h str, id: &str) -> Option<&'h str> {
    static HEADING: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"<h([1-6]) id=""#).expect("valid regex"));
    let open = format!(" id=\"{}\">", escape(id));
    let start = HEADING
        .find_iter(html)
        .find(|m| html[m.end() - 5..].starts_with(&open))?;
    let level = html.as_bytes()[start.start() + 2];
    let after = start.end();
    let end = HEADING
        .captures_iter(&html[after..])
        .find(|c| c[1].as_bytes()[0] <= level)
        .map_or(html.len(), |c| after + c.get(0).map_or(0, |m| m.start()));
    Some(&html[start.start()..end])
}

/// Embedded HTML made fit for another page: its ids dropped (the host page has its own), its
/// in-page links pointed at the embedded note's page.
fn localize(html: &str, url: &str) -> String {
    static ID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#" id="[^"]*""#).expect("valid regex"));
    let no_ids = ID.replace_all(html, "").replace("<a></a>", "");
    no_ids.replace("href=\"#", &format!("href=\"{}#", escape(url)))
}

/// The markdown of the block whose id is `id`: the paragraph or list item it ends, or the
/// block above when the id stands on a line of its own (after a list, a table, a quote).
fn block_source(body: &str, id: &str) -> Option<String> {
    let lines: Vec<&str> = body.lines().collect();
    let at = lines.iter().position(|l| block_id(l) == Some(id))?;
    let own_line = lines[at].trim() == format!("^{id}");
    let mut end = at;
    if own_line {
        end = (0..at).rev().find(|&i| !lines[i].trim().is_empty())?;
    }
    let is_item = |l: &str| {
        let t = l.trim_start();
        t.starts_with("- ") || t.starts_with("* ") || t.starts_with("+ ") || {
            let digits = t.bytes().take_while(u8::is_ascii_digit).count();
            digits > 0 && t[digits..].starts_with(". ")
        }
    };
    let start = if !own_line && is_item(lines[at]) {
        at
    } else {
        (0..=end)
            .rev()
            .take_while(|&i| !lines[i].trim().is_empty())
            .last()
            .unwrap_or(end)
    };
    let mut md: Vec<String> = lines[start..=end].iter().map(|l| l.to_string()).collect();
    if !own_line {
        if let Some(last) = md.last_mut() {
            *last = strip_block_id(last).map_or(last.clone(), |(before, _)| before.to_string());
        }
    }
    Some(md.join("\n"))
}

/// `("text", "abc")` for `text ^abc`: a line's text without its block id.
pub(crate) fn strip_block_id(text: &str) -> Option<(&str, &str)> {
    let id = block_id(text)?;
    let trimmed = text.trim_end();
    let before = trimmed[..trimmed.len() - id.len() - 1].trim_end();
    Some((before, id))
}

/// A block's markdown as HTML, its links and images resolved from note `from`.
fn render_fragment(ctx: &Site<'_>, from: usize, md: &str) -> String {
    let mut link_images = 0usize;
    let events = super::events::events(md).map(|(ev, _)| match ev {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            let kind = LinkKind::of_link(link_type);
            let r = ctx.links.resolve(ctx.notes, from, &dest_url, kind);
            let dest_url = LinkIndex::href(ctx.notes, &r).map_or(dest_url, CowStr::from);
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            })
        }
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => {
            match ctx
                .links
                .resolve(ctx.notes, from, &dest_url, LinkKind::Image)
            {
                Resolved::Asset(url) => Event::Start(Tag::Image {
                    link_type,
                    dest_url: url.into(),
                    title,
                    id,
                }),
                r @ Resolved::Note { .. } => {
                    link_images += 1;
                    let dest_url = LinkIndex::href(ctx.notes, &r).map_or(dest_url, CowStr::from);
                    Event::Start(Tag::Link {
                        link_type,
                        dest_url,
                        title,
                        id,
                    })
                }
                _ => Event::Start(Tag::Image {
                    link_type,
                    dest_url,
                    title,
                    id,
                }),
            }
        }
        Event::End(TagEnd::Image) if link_images > 0 => {
            link_images -= 1;
            Event::End(TagEnd::Link)
        }
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    html
}

/// `<img>` for Obsidian's `![[image.png|300]]` / `|300x200` (the text after the pipe is a size),
/// or `None` when that text is a caption.
pub(crate) fn sized_image(src: &str, size: &str) -> Option<String> {
    let (w, h) = match size.trim().split_once('x') {
        Some((w, h)) => (w, Some(h)),
        None => (size.trim(), None),
    };
    let num = |s: &str| !s.is_empty() && s.len() < 6 && s.bytes().all(|b| b.is_ascii_digit());
    if !num(w) || h.is_some_and(|h| !num(h)) {
        return None;
    }
    let alt = src.rsplit('/').next().unwrap_or(src);
    let height = h.map(|h| format!(" height=\"{h}\"")).unwrap_or_default();
    Some(format!(
        "<img src=\"{}\" alt=\"{}\" width=\"{w}\"{height}>",
        escape(src),
        escape(alt)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_runs_to_the_next_heading_of_its_level_or_above() {
        let html = "<h1 id=\"t\">T</h1><p>a</p><h2 id=\"x\">X</h2><p>b</p><h3 id=\"y\">Y</h3><p>c</p><h2 id=\"z\">Z</h2><p>d</p>";
        assert_eq!(
            section(html, "x"),
            Some("<h2 id=\"x\">X</h2><p>b</p><h3 id=\"y\">Y</h3><p>c</p>")
        );
        assert_eq!(section(html, "z"), Some("<h2 id=\"z\">Z</h2><p>d</p>"));
        assert_eq!(section(html, "nope"), None);
    }

    #[test]
    fn blocks_are_the_paragraph_or_item_their_id_ends_or_the_block_above() {
        let body = "intro\n\nfirst line\nsecond line ^para\n\n- one\n- two ^item\n- three\n\n| a |\n|---|\n| 1 |\n\n^table\n";
        assert_eq!(
            block_source(body, "para").as_deref(),
            Some("first line\nsecond line")
        );
        assert_eq!(block_source(body, "item").as_deref(), Some("- two"));
        assert_eq!(
            block_source(body, "table").as_deref(),
            Some("| a |\n|---|\n| 1 |")
        );
        assert_eq!(block_source(body, "missing"), None);
    }

    #[test]
    fn in_page_links_and_ids_are_made_fit_for_the_host_page() {
        let out = localize(
            "<h2 id=\"x\">X<a href=\"#x\">#</a></h2><a href=\"/y/\">y</a>",
            "/notes/n/",
        );
        assert_eq!(
            out,
            "<h2>X<a href=\"/notes/n/#x\">#</a></h2><a href=\"/y/\">y</a>"
        );
    }

    #[test]
    fn a_number_after_the_pipe_is_a_size_anything_else_a_caption() {
        assert_eq!(
            sized_image("/a/p.png", "300").as_deref(),
            Some("<img src=\"/a/p.png\" alt=\"p.png\" width=\"300\">")
        );
        assert!(sized_image("/p.png", "300x200")
            .unwrap()
            .contains("width=\"300\" height=\"200\""));
        assert_eq!(sized_image("/p.png", "a cat"), None);
        assert_eq!(sized_image("/p.png", "300x"), None);
    }

    #[test]
    fn embeds_alone_on_their_line_only() {
        let body = "![[a]]\n> ![[b]]\ntext ![[c]]\n";
        let at = |s: &str| {
            let i = body.find(s).unwrap();
            i..i + s.len()
        };
        assert!(alone_on_line(body, &at("![[a]]")));
        assert!(alone_on_line(body, &at("![[b]]")));
        assert!(!alone_on_line(body, &at("![[c]]")));
    }
}
