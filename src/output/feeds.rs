//! sitemap.xml, atom.xml and alias redirect pages.
//!
//! Text in the two XML files goes through [`xml_text`]: besides escaping markup it replaces the
//! characters XML 1.0 forbids outright (C0 controls other than tab, newline and carriage return,
//! U+FFFE, U+FFFF), which not even a character reference may carry. A note holding one (a
//! terminal escape pasted into a title, say) would otherwise make the whole feed unreadable to
//! every feed reader.

use chrono::{DateTime, FixedOffset};

use crate::html::escape;

/// Is `c` allowed in an XML 1.0 document (the `Char` production)? Surrogates cannot occur in a
/// Rust `str`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FFFD}' | '\u{10000}'..)
}

/// `s` as XML character data or attribute value: markup escaped, every character XML 1.0
/// forbids replaced by U+FFFD (so a reader sees that something was there).
pub(crate) fn xml_text(s: &str) -> String {
    if s.chars().all(is_xml_char) {
        return escape(s);
    }
    let clean: String = s
        .chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
        .collect();
    escape(&clean)
}

/// A page for the sitemap and feed.
pub struct FeedEntry<'a> {
    pub title: &'a str,
    /// Absolute URL.
    pub url: String,
    pub date: Option<DateTime<FixedOffset>>,
    pub updated: Option<DateTime<FixedOffset>>,
    pub summary: &'a str,
    pub html: Option<&'a str>,
}

/// `sitemap.xml` for absolute `urls` with optional last-modified dates.
pub fn sitemap(entries: &[(String, Option<DateTime<FixedOffset>>)]) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for (url, date) in entries {
        s.push_str("  <url><loc>");
        s.push_str(&xml_text(url));
        s.push_str("</loc>");
        if let Some(d) = date {
            s.push_str(&format!("<lastmod>{}</lastmod>", d.format("%Y-%m-%d")));
        }
        s.push_str("</url>\n");
    }
    s.push_str("</urlset>\n");
    s
}

/// An Atom feed of the newest entries (at most 50), newest first.
pub fn atom(title: &str, base_url: &str, feed_url: &str, entries: &[FeedEntry<'_>]) -> String {
    let updated = entries
        .iter()
        .filter_map(|e| e.updated.or(e.date))
        .max()
        .map(|d| d.to_rfc3339())
        .unwrap_or_else(|| "1970-01-01T00:00:00+00:00".into());
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n  <title>{}</title>\n  <link href=\"{}\" rel=\"self\"/>\n  <link href=\"{}\"/>\n  <id>{}</id>\n  <updated>{updated}</updated>\n  <generator>kb</generator>\n",
        xml_text(title),
        xml_text(feed_url),
        xml_text(base_url),
        xml_text(base_url)
    );
    for e in entries.iter().take(50) {
        let when = e
            .updated
            .or(e.date)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| updated.clone());
        s.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <link href=\"{}\"/>\n    <id>{}</id>\n    <updated>{when}</updated>\n",
            xml_text(e.title),
            xml_text(&e.url),
            xml_text(&e.url)
        ));
        if let Some(d) = e.date {
            s.push_str(&format!("    <published>{}</published>\n", d.to_rfc3339()));
        }
        if !e.summary.is_empty() {
            s.push_str(&format!("    <summary>{}</summary>\n", xml_text(e.summary)));
        }
        if let Some(html) = e.html {
            s.push_str(&format!(
                "    <content type=\"html\">{}</content>\n",
                xml_text(html)
            ));
        }
        s.push_str("  </entry>\n");
    }
    s.push_str("</feed>\n");
    s
}

/// A page that redirects to `target` (for front matter `aliases`).
pub fn redirect(target: &str) -> String {
    let t = escape(target);
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Redirect</title><link rel=\"canonical\" href=\"{t}\"><meta http-equiv=\"refresh\" content=\"0; url={t}\"></head><body><a href=\"{t}\">{t}</a></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_escapes_and_orders_fields() {
        let d = crate::content::front_matter::parse_date("2024-01-02").unwrap();
        let xml = atom(
            "A & B",
            "https://x/",
            "https://x/atom.xml",
            &[FeedEntry {
                title: "<t>",
                url: "https://x/notes/t/".into(),
                date: Some(d),
                updated: None,
                summary: "s",
                html: Some("<p>x</p>"),
            }],
        );
        assert!(xml.contains("<title>A &amp; B</title>"));
        assert!(xml.contains("<title>&lt;t&gt;</title>"));
        assert!(xml.contains("<updated>2024-01-02T00:00:00+00:00</updated>"));
        assert!(xml.contains("<content type=\"html\">&lt;p&gt;x&lt;/p&gt;</content>"));
    }

    #[test]
    fn characters_xml_forbids_are_replaced_and_the_rest_kept() {
        assert_eq!(
            xml_text("a\u{1}b\u{1b}[31m\u{0}"),
            "a\u{FFFD}b\u{FFFD}[31m\u{FFFD}"
        );
        assert_eq!(xml_text("\u{FFFE}\u{FFFF}\u{B}\u{C}"), "\u{FFFD}".repeat(4));
        assert_eq!(
            xml_text("tab\tnl\ncr\r 写 🦀 <&>"),
            "tab\tnl\ncr\r 写 🦀 &lt;&amp;&gt;"
        );
        assert_eq!(
            xml_text("\u{7f}\u{85}\u{D7FF}\u{E000}"),
            "\u{7f}\u{85}\u{D7FF}\u{E000}"
        );
    }

    #[test]
    fn sitemap_lists_urls_with_dates() {
        let d = crate::content::front_matter::parse_date("2024-01-02").unwrap();
        let xml = sitemap(&[
            ("https://x/".into(), None),
            ("https://x/a/".into(), Some(d)),
        ]);
        assert!(xml.contains("<url><loc>https://x/</loc></url>"));
        assert!(xml.contains("<loc>https://x/a/</loc><lastmod>2024-01-02</lastmod>"));
    }
}
