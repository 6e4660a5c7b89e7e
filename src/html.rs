//! HTML escaping: the one escaper for text kb puts into HTML and XML (rendered notes, theme
//! templates through tera's autoescape, the feed and sitemap, search excerpts).
//!
//! It escapes `&`, `<`, `>`, `"` and `'`, so its output is safe as element text and inside an
//! attribute quoted either way. `pulldown_cmark_escape` (already in the tree) was not used: it
//! leaves `'` alone, and templates rely on it being escaped. `themes/default/static/search.js`
//! (`escapeHtml`) escapes the same five characters the same way, so the browser's excerpts
//! equal the library's.

/// `s` with the five HTML special characters replaced by entities.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    escape_into(s, &mut out);
    out
}

/// [`escape`], appended to `out`.
pub fn escape_into(s: &str, out: &mut String) {
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let entity = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '"' => "&quot;",
            '\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        out.push_str(entity);
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_each_special_character() {
        for (c, entity) in [
            ('&', "&amp;"),
            ('<', "&lt;"),
            ('>', "&gt;"),
            ('"', "&quot;"),
            ('\'', "&#39;"),
        ] {
            assert_eq!(escape(&c.to_string()), entity, "{c:?}");
            assert_eq!(escape(&format!("a{c}b")), format!("a{entity}b"), "{c:?}");
        }
    }

    #[test]
    fn leaves_other_text_alone_including_multibyte_and_slashes() {
        let s = "写屏障 🦀 a/b = c; x\ty\n";
        assert_eq!(escape(s), s);
        assert_eq!(escape(""), "");
        assert_eq!(
            escape("<a href=\"x\">Tom's & 写</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; 写&lt;/a&gt;"
        );
    }

    #[test]
    fn escape_into_appends() {
        let mut out = String::from("<mark>");
        escape_into("a<b", &mut out);
        assert_eq!(out, "<mark>a&lt;b");
    }
}
