//! Which `#fragment` of a link names a place in a note: kb's heading ids (`三色标记-写屏障`),
//! the ids other tools give the same heading (GitHub and mdBook drop punctuation, `Mutex<T>` ->
//! `mutext`; Zola turns `_` into `-`), the heading's text (`[[note#Heading text]]`), Obsidian's
//! nested `[[note#Part#Sub]]` and its block references `[[note#^block-id]]`.

use std::collections::{HashMap, HashSet};

use super::outline::Outline;

/// The places one note's links may name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Anchors {
    ids: HashSet<String>,
    /// [`loose`] form of each id -> the id (the first heading wins).
    loose: HashMap<String, String>,
    /// Obsidian block ids (`^abc123` at the end of a paragraph), without the `^`.
    blocks: HashSet<String>,
}

impl Anchors {
    pub(crate) fn new(outline: &Outline, body: &str) -> Anchors {
        let mut a = Anchors::default();
        for id in outline.headings.iter().map(|h| &h.id).chain(&outline.terms) {
            a.ids.insert(id.clone());
            a.loose.entry(loose(id)).or_insert_with(|| id.clone());
        }
        // Block ids are rare: look only when the note has a `^`.
        if body.contains('^') {
            for line in body.lines() {
                if let Some(id) = block_id(line) {
                    a.blocks.insert(id.to_string());
                }
            }
        }
        a
    }

    /// The id `fragment` names in the note (a heading's, or `^block-id`, which render puts on
    /// an anchor at the block), or `None` when it names nothing there.
    pub(crate) fn find(&self, fragment: &str) -> Option<Option<String>> {
        if let Some(block) = fragment.strip_prefix('^') {
            return self
                .blocks
                .contains(block)
                .then(|| Some(fragment.to_string()));
        }
        // `[[note#Part#Sub]]` names the last heading.
        let fragment = fragment.rsplit('#').next().unwrap_or(fragment);
        if self.ids.contains(fragment) {
            return Some(Some(fragment.to_string()));
        }
        let slug = crate::slug::slugify(fragment);
        if self.ids.contains(&slug) {
            return Some(Some(slug));
        }
        self.loose.get(&loose(fragment)).cloned().map(Some)
    }
}

/// An id with everything but letters and digits dropped, lower-cased: the form in which kb's,
/// GitHub's, mdBook's and Zola's ids of one heading agree (`mutex-t`, `mutext`, `get_url`,
/// `get-url`).
fn loose(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `abc-123` for a line ending in ` ^abc-123` (Obsidian's block id).
pub(crate) fn block_id(line: &str) -> Option<&str> {
    let line = line.trim_end();
    let (before, id) = line.rsplit_once('^')?;
    let ok = !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !before.ends_with(|c: char| c.is_alphanumeric() || c == '_');
    ok.then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::markdown::Heading;

    fn anchors(headings: &[&str], body: &str) -> Anchors {
        let mut o = Outline::default();
        let mut unique = crate::slug::Unique::default();
        for text in headings {
            o.headings.push(Heading {
                level: 2,
                text: text.to_string(),
                id: unique.make(&crate::slug::slugify(text)),
                line: 1,
            });
        }
        Anchors::new(&o, body)
    }

    #[test]
    fn other_tools_ids_of_a_heading_find_it() {
        let a = anchors(
            &["Mutex<T>", "get_url", "三色标记 & 写屏障", "Step", "Step"],
            "",
        );
        let id = |f: &str| a.find(f).flatten();
        assert_eq!(id("mutex-t").as_deref(), Some("mutex-t"));
        assert_eq!(id("mutext").as_deref(), Some("mutex-t"), "GitHub/mdBook");
        assert_eq!(id("get-url").as_deref(), Some("get_url"), "Zola");
        assert_eq!(id("三色标记-写屏障").as_deref(), Some("三色标记-写屏障"));
        assert_eq!(
            id("三色标记--写屏障").as_deref(),
            Some("三色标记-写屏障"),
            "GitHub keeps both dashes"
        );
        assert_eq!(id("Step").as_deref(), Some("step"), "heading text");
        assert_eq!(id("step-1").as_deref(), Some("step-1"));
        assert_eq!(id("Part#Step").as_deref(), Some("step"), "nested heading");
        assert_eq!(a.find("nothing"), None);
    }

    #[test]
    fn block_references_name_blocks_with_an_id() {
        let a = anchors(
            &[],
            "A paragraph. ^quote-1\n\n- item ^x2\nno^id\n![[pic.png]]^img\n",
        );
        assert_eq!(
            a.find("^img"),
            Some(Some("^img".into())),
            "right after an embed"
        );
        assert_eq!(a.find("^quote-1"), Some(Some("^quote-1".into())));
        assert_eq!(a.find("^x2"), Some(Some("^x2".into())));
        assert_eq!(
            a.find("^id"),
            None,
            "a caret inside a word is not a block id"
        );
        assert_eq!(a.find("^missing"), None);
    }
}
