//! `\|` in a table: Obsidian writes a wikilink's alias pipe as `[[note\|alias]]` (and an embed's
//! size as `![[img.png\|300]]`) inside a table, so the pipe does not split the cell.
//! pulldown-cmark already keeps the cell whole and shows `\|` as `|`, but leaves the `\` at the
//! end of the link's target (`note\`); this drops it, so the link resolves as Obsidian's does.

use std::ops::Range;

use pulldown_cmark::{CowStr, Event, LinkType, Tag};

/// `ev` with a wikilink target's trailing `\` removed.
pub(crate) fn unescape_alias_pipe<'a>(
    item: (Event<'a>, Range<usize>),
) -> (Event<'a>, Range<usize>) {
    let (ev, range) = item;
    let ev = match ev {
        Event::Start(Tag::Link {
            link_type: link_type @ LinkType::WikiLink { .. },
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: trimmed(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type: link_type @ LinkType::WikiLink { .. },
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: trimmed(dest_url),
            title,
            id,
        }),
        other => other,
    };
    (ev, range)
}

fn trimmed(dest: CowStr<'_>) -> CowStr<'_> {
    match dest.strip_suffix('\\') {
        Some(target) => CowStr::from(target.to_string()),
        None => dest,
    }
}

#[cfg(test)]
mod tests {
    use pulldown_cmark::Parser;

    use super::*;
    use crate::snippet::extract::markdown_options;

    fn dests(body: &str) -> Vec<String> {
        Parser::new_ext(body, markdown_options())
            .into_offset_iter()
            .map(unescape_alias_pipe)
            .filter_map(|(ev, _)| match ev {
                Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                    Some(dest_url.to_string())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn wikilinks_and_embeds_in_a_table_lose_the_escape_of_their_pipe() {
        let body = "| a | b |\n|---|---|\n| [[Note#Part\\|alias]] | ![[pic.png\\|300]] |\n";
        assert_eq!(dests(body), ["Note#Part", "pic.png"]);
        assert_eq!(dests("[[Plain|alias]] [x](y)\n"), ["Plain", "y"]);
    }
}
