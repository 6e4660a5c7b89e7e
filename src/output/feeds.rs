//! sitemap.xml, atom.xml and alias redirect pages.

use chrono::{DateTime, FixedOffset};

use crate::highlight::escape;

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
        s.push_str(&escape(url));
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
        escape(title),
        escape(feed_url),
        escape(base_url),
        escape(base_url)
    );
    for e in entries.iter().take(50) {
        let when = e
            .updated
            .or(e.date)
            .map(|d| d.to_rfc3339())
            .unwrap_or_else(|| updated.clone());
        s.push_str(&format!(
            "  <entry>\n    <title>{}</title>\n    <link href=\"{}\"/>\n    <id>{}</id>\n    <updated>{when}</updated>\n",
            escape(e.title),
            escape(&e.url),
            escape(&e.url)
        ));
        if let Some(d) = e.date {
            s.push_str(&format!("    <published>{}</published>\n", d.to_rfc3339()));
        }
        if !e.summary.is_empty() {
            s.push_str(&format!("    <summary>{}</summary>\n", escape(e.summary)));
        }
        if let Some(html) = e.html {
            s.push_str(&format!(
                "    <content type=\"html\">{}</content>\n",
                escape(html)
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
