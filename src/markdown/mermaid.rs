//! Mermaid diagrams: a ```` ```mermaid ```` block is kept as its source in `<pre class="mermaid">`
//! (escaped, not highlighted), the element mermaid.js looks for, so a theme that loads mermaid.js
//! draws it; without it the reader sees the diagram's source. `docs/markdown.md` shows how a
//! theme loads it.

use crate::html::escape;
use crate::snippet::{FenceInfo, Lang};

/// Whether the block is a mermaid diagram.
pub(crate) fn is_diagram(info: &FenceInfo) -> bool {
    matches!(&info.lang, Some(Lang::Other(name)) if name == "mermaid")
}

/// The block's HTML.
pub(crate) fn render(source: &str) -> String {
    format!("<pre class=\"mermaid\">{}</pre>\n", escape(source))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_escaped_not_highlighted() {
        let info = crate::snippet::info::parse("mermaid").unwrap();
        assert!(is_diagram(&info));
        assert_eq!(
            render("graph TD\n  A-->B & C\n"),
            "<pre class=\"mermaid\">graph TD\n  A--&gt;B &amp; C\n</pre>\n"
        );
        assert!(!is_diagram(&crate::snippet::info::parse("rust").unwrap()));
    }
}
