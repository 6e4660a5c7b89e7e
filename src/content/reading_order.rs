//! An mdBook's reading order: the chapters its `SUMMARY.md` links, in the order it links them.
//!
//! A note listed there gets its place ([`Note::book_order`]); lists and prev/next put listed
//! notes in that order (after `weight`, before dates), ahead of the notes it does not list.
//! The first `SUMMARY.md` (nearest the root) to list a note decides; links are resolved from
//! the summary's folder like any relative link (`./ch01.md`, `sub/x.md#part`, `%20`).

use std::collections::HashMap;

use pulldown_cmark::{Event, Parser, Tag};

use super::model::Note;

/// The file name mdBook reads its table of contents from.
const SUMMARY: &str = "SUMMARY.md";

/// Set every note's `book_order` from the summaries among `notes` (clearing old places).
pub fn apply(notes: &mut [Note]) {
    for n in notes.iter_mut() {
        n.book_order = None;
    }
    let mut summaries: Vec<usize> = (0..notes.len())
        .filter(|&i| notes[i].content_rel.rsplit('/').next() == Some(SUMMARY))
        .collect();
    if summaries.is_empty() {
        return;
    }
    summaries.sort_by_key(|&i| (notes[i].content_rel.matches('/').count(), i));
    let by_path: HashMap<&str, usize> = notes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.content_rel.as_str(), i))
        .collect();
    let mut places: Vec<Option<usize>> = vec![None; notes.len()];
    let mut next = 0usize;
    for s in summaries {
        let folder = notes[s].content_rel.rsplit_once('/').map_or("", |(d, _)| d);
        for dest in links(&notes[s].body) {
            let Some(path) = resolve(folder, &dest) else {
                continue;
            };
            if let Some(&i) = by_path.get(path.as_str()) {
                if places[i].is_none() && i != s {
                    places[i] = Some(next);
                    next += 1;
                }
            }
        }
    }
    for (n, p) in notes.iter_mut().zip(places) {
        n.book_order = p;
    }
}

/// The destinations of the summary's links, in order.
fn links(body: &str) -> Vec<String> {
    Parser::new(body)
        .filter_map(|ev| match ev {
            Event::Start(Tag::Link { dest_url, .. }) => Some(dest_url.to_string()),
            _ => None,
        })
        .collect()
}

/// A relative link from `folder` as a content-relative path, `None` for anything else.
fn resolve(folder: &str, dest: &str) -> Option<String> {
    let path = dest.split(['#', '?']).next().unwrap_or("");
    if path.is_empty() || path.starts_with('/') || path.contains("://") {
        return None;
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let mut parts: Vec<&str> = folder.split('/').filter(|p| !p.is_empty()).collect();
    for part in decoded.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_from_the_summary_folder() {
        assert_eq!(resolve("", "./ch01.md").as_deref(), Some("ch01.md"));
        assert_eq!(
            resolve("book", "sub/x.md#part").as_deref(),
            Some("book/sub/x.md")
        );
        assert_eq!(resolve("book", "../a%20b.md").as_deref(), Some("a b.md"));
        assert_eq!(resolve("", "../out.md"), None);
        assert_eq!(resolve("", "https://x/y.md"), None);
        assert_eq!(resolve("", "#top"), None);
    }

    #[test]
    fn links_are_read_in_order_including_prefix_and_nested_chapters() {
        let body = "# Summary\n\n[Intro](intro.md)\n\n- [One](ch01.md)\n  - [One A](ch01-a.md)\n- [Two](ch02.md)\n\n---\n\n[Appendix](appendix.md)\n";
        assert_eq!(
            links(body),
            ["intro.md", "ch01.md", "ch01-a.md", "ch02.md", "appendix.md"]
        );
    }
}
