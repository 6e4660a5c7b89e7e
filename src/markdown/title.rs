//! A note whose text opens with its own title (`# Title`, as most notes written for GitHub,
//! Obsidian or VitePress do) shows it once: the page's title. The opening heading is dropped
//! from the HTML and the table of contents when its text is the note's title.

use std::iter::Peekable;
use std::ops::Range;

use pulldown_cmark::{Event, Tag, TagEnd};

use crate::content::Note;

use super::outline::Outline;

/// Consume the opening heading of `events` when it is the note's title; true if it did.
pub(crate) fn drop_title_heading<'a, I>(
    events: &mut Peekable<I>,
    outline: &Outline,
    note: &Note,
) -> bool
where
    I: Iterator<Item = (Event<'a>, Range<usize>)>,
{
    let opens_with_heading = matches!(events.peek(), Some((Event::Start(Tag::Heading { .. }), _)));
    let is_title = outline
        .headings
        .first()
        .is_some_and(|h| Some(h.text.as_str()) == note.meta.title.as_deref());
    if !(opens_with_heading && is_title) {
        return false;
    }
    for (ev, _) in events.by_ref() {
        if matches!(ev, Event::End(TagEnd::Heading(_))) {
            break;
        }
    }
    true
}
