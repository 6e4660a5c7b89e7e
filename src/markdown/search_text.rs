//! The text of a note as search sees it: prose per heading section (headings, paragraphs, list
//! items, table cells and callout titles end with a space, so words from two blocks are never
//! glued), code apart, the first paragraph for cards and the count of prose characters.

use crate::search::doc::SearchSection;

/// Collects prose per heading section, the first paragraph, and a character count.
#[derive(Default)]
pub(crate) struct TextCollector {
    sections: Vec<SearchSection>,
    current: SearchSection,
    heading: Option<String>,
    in_paragraph: bool,
    first_paragraph: Option<String>,
    paragraph: String,
    chars: usize,
}

impl TextCollector {
    pub(crate) fn start_heading(&mut self, id: &str) {
        let done = std::mem::replace(
            &mut self.current,
            SearchSection {
                anchor: id.to_string(),
                ..Default::default()
            },
        );
        if !(done.text.is_empty() && done.code.is_empty() && done.heading.is_empty()) {
            self.sections.push(done);
        }
        self.heading = Some(String::new());
    }

    pub(crate) fn end_heading(&mut self) {
        if let Some(h) = self.heading.take() {
            self.current.heading = h.trim().to_string();
        }
    }

    pub(crate) fn start_paragraph(&mut self) {
        self.in_paragraph = true;
        self.paragraph.clear();
    }

    pub(crate) fn end_paragraph(&mut self) {
        self.in_paragraph = false;
        if self.first_paragraph.is_none() && !self.paragraph.trim().is_empty() {
            self.first_paragraph = Some(self.paragraph.trim().to_string());
        }
        self.push_space();
    }

    pub(crate) fn push_space(&mut self) {
        if !self.current.text.is_empty() && !self.current.text.ends_with(' ') {
            self.current.text.push(' ');
        }
    }

    pub(crate) fn text(&mut self, t: &str) {
        if let Some(h) = self.heading.as_mut() {
            h.push_str(t);
            return;
        }
        self.chars += t.chars().filter(|c| !c.is_whitespace()).count();
        if self.in_paragraph {
            self.paragraph.push_str(t);
        }
        self.current.text.push_str(t);
    }

    pub(crate) fn code(&mut self, t: &str) {
        self.current.code.push_str(t);
        if !t.ends_with('\n') {
            self.current.code.push('\n');
        }
    }

    pub(crate) fn finish(mut self) -> (Vec<SearchSection>, String, usize) {
        let last = std::mem::take(&mut self.current);
        if !(last.text.is_empty() && last.code.is_empty() && last.heading.is_empty()) {
            self.sections.push(last);
        }
        for s in &mut self.sections {
            s.text = s.text.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        let excerpt = self.first_paragraph.unwrap_or_default();
        let excerpt: String = if excerpt.chars().count() > 160 {
            excerpt.chars().take(157).collect::<String>() + "…"
        } else {
            excerpt
        };
        (self.sections, excerpt, self.chars)
    }
}
