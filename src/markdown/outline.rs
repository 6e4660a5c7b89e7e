//! Pass 1: a note's headings (with stable, unique ids) and links (with file lines).

use pulldown_cmark::{Event, LinkType, Tag, TagEnd};

use crate::content::Note;
use crate::slug::{slugify, Unique};
use crate::snippet::extract::LineIndex;

use super::raw_html::HtmlLink;

/// A heading of a note.
#[derive(Debug, Clone, PartialEq)]
pub struct Heading {
    /// 1..=6
    pub level: u8,
    /// Plain text of the heading.
    pub text: String,
    /// Unique within the note: `{#explicit-id}` or the slugified text.
    pub id: String,
    /// 1-based file line.
    pub line: usize,
}

/// A link as written in the note.
#[derive(Debug, Clone, PartialEq)]
pub struct RawLink {
    pub dest: String,
    /// 1-based file line.
    pub line: usize,
    pub kind: LinkKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `[text](dest)` and autolinks.
    Inline,
    /// `[[Target]]` / `[[Target|text]]`.
    Wiki,
    /// `![alt](src)`.
    Image,
}

impl LinkKind {
    /// The kind of a link (not an image) as pulldown-cmark parsed it.
    pub fn of_link(link_type: LinkType) -> LinkKind {
        if matches!(link_type, LinkType::WikiLink { .. }) {
            LinkKind::Wiki
        } else {
            LinkKind::Inline
        }
    }
}

/// Headings and links of one note, in document order.
#[derive(Debug, Clone, Default)]
pub struct Outline {
    pub headings: Vec<Heading>,
    pub links: Vec<RawLink>,
    /// Ids of definition list terms, in order (Hugo's `autoDefinitionTermID`): anchors as
    /// headings are, from the same pool of ids.
    pub terms: Vec<String>,
}

/// Compute the outline of a note.
pub fn outline(note: &Note) -> Outline {
    let lines = LineIndex::new(&note.body);
    let mut out = Outline::default();
    let mut ids = Unique::default();
    let mut current: Option<(u8, Option<String>, String, usize)> = None;
    let mut term: Option<String> = None;
    for (ev, range) in super::events::events(&note.body) {
        match ev {
            Event::Start(Tag::DefinitionListTitle) => term = Some(String::new()),
            Event::End(TagEnd::DefinitionListTitle) => {
                if let Some(t) = term.take() {
                    out.terms.push(ids.make(&slugify(t.trim())));
                }
            }
            Event::Start(Tag::Heading { level, id, .. }) => {
                current = Some((
                    level as u8,
                    id.map(|s| s.to_string()),
                    String::new(),
                    note.body_line + lines.line_of(range.start),
                ));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, explicit, text, line)) = current.take() {
                    let text = text.trim().to_string();
                    let id = match explicit {
                        Some(e) => ids.make(&e),
                        None => ids.make(&slugify(&text)),
                    };
                    out.headings.push(Heading {
                        level,
                        text,
                        id,
                        line,
                    });
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, _, text, _)) = current.as_mut() {
                    text.push_str(&t);
                } else if let Some(text) = term.as_mut() {
                    text.push_str(&t);
                }
            }
            // Math in a heading is its TeX as written, so its id is the one it had as text.
            Event::InlineMath(t) => {
                if let Some((_, _, text, _)) = current.as_mut() {
                    text.push_str(&format!("${t}$"));
                }
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                ..
            }) => {
                let kind = LinkKind::of_link(link_type);
                out.links.push(RawLink {
                    dest: dest_url.to_string(),
                    line: note.body_line + lines.line_of(range.start),
                    kind,
                });
            }
            Event::Html(html) | Event::InlineHtml(html) => {
                let line = note.body_line + lines.line_of(range.start);
                for (dest, kind) in super::raw_html::links(&html) {
                    let kind = match kind {
                        HtmlLink::Href => LinkKind::Inline,
                        HtmlLink::Src => LinkKind::Image,
                    };
                    out.links.push(RawLink { dest, line, kind });
                }
            }
            Event::Start(Tag::Image { dest_url, .. }) => {
                out.links.push(RawLink {
                    dest: dest_url.to_string(),
                    line: note.body_line + lines.line_of(range.start),
                    kind: LinkKind::Image,
                });
            }
            _ => {}
        }
    }
    out
}
