//! Links inside raw HTML in a note (`<img src="img/fig.svg">`, `<a href="other.md">`): the
//! Rust book's figures and many READMEs are written that way. They are found for the link
//! check like markdown links and rewritten to the site's URLs the same way.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::{Captures, Regex};

/// `src`/`href` of the tags that name another file, with the value's quotes.
fn attr_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r#"(?is)(<(?:img|a|source|video|audio|iframe|embed)\b[^>]*?\s(?:src|href)\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)"#,
        )
        .expect("valid regex")
    })
}

/// Whether the kind of link is an image-like embed (`src`) rather than a link (`href`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HtmlLink {
    Href,
    Src,
}

/// The link targets in a piece of raw HTML, in order, with their kind.
pub(crate) fn links(html: &str) -> Vec<(String, HtmlLink)> {
    if !html.contains('<') {
        return Vec::new();
    }
    attr_re()
        .captures_iter(html)
        .map(|c| (unquote(&c[2]).to_string(), kind(&c[1])))
        .collect()
}

/// `html` with each link target replaced by `rewrite(target, kind)` where that gives a new one.
pub(crate) fn rewrite<'h>(
    html: &'h str,
    mut rewrite: impl FnMut(&str, HtmlLink) -> Option<String>,
) -> Cow<'h, str> {
    if !html.contains('<') {
        return Cow::Borrowed(html);
    }
    attr_re().replace_all(html, |c: &Captures<'_>| {
        let target = unquote(&c[2]);
        match rewrite(target, kind(&c[1])) {
            Some(new) => format!("{}\"{}\"", &c[1], crate::html::escape(&new)),
            None => c[0].to_string(),
        }
    })
}

fn kind(prefix: &str) -> HtmlLink {
    let lower = prefix.to_ascii_lowercase();
    if lower
        .trim_end()
        .trim_end_matches('=')
        .trim_end()
        .ends_with("href")
    {
        HtmlLink::Href
    } else {
        HtmlLink::Src
    }
}

fn unquote(v: &str) -> &str {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        .unwrap_or(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_rewrites_src_and_href_in_any_quoting() {
        let html = r#"<img alt="x" src="img/a.svg" class="c"><a href='ch02.md#x'>t</a><IMG SRC=b.png><p data-src="no">"#;
        assert_eq!(
            links(html),
            [
                ("img/a.svg".to_string(), HtmlLink::Src),
                ("ch02.md#x".to_string(), HtmlLink::Href),
                ("b.png".to_string(), HtmlLink::Src)
            ]
        );
        let out = rewrite(html, |t, _| (t != "b.png").then(|| format!("/site/{t}")));
        assert_eq!(
            out,
            r#"<img alt="x" src="/site/img/a.svg" class="c"><a href="/site/ch02.md#x">t</a><IMG SRC=b.png><p data-src="no">"#
        );
        assert!(matches!(
            rewrite("plain text", |_, _| None),
            Cow::Borrowed(_)
        ));
    }
}
