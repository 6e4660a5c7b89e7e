//! Math: `$x^2$` and `$$\sum_i x_i$$` become MathML at build time (math-core), which browsers
//! draw with no script and no font download; the TeX source rides along as an annotation.
//!
//! pulldown-cmark finds the math (TeX is kept verbatim: `\\` is never unescaped); an opening `$`
//! must be followed and a closing `$` preceded by a non-space, so `costs $5 and $10` stays text.
//! Pandoc's rule is added on top: a closing `$` followed by a digit closes nothing
//! (`$5-$10` is text, not the formula `5-`). TeX that does not parse is shown as written, in a
//! `kb-math-error` code span whose title says why; an unknown command (a macro defined in another
//! tool's preamble) is marked in place and the rest of the formula drawn.

use std::ops::Range;
use std::sync::OnceLock;

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use pulldown_cmark::{CowStr, Event};

use crate::html::escape;

/// A math event of `body` at `range` as it goes on the page: MathML, or, for a `$` that closes
/// before a digit, the source as text. Other events are returned as they are.
pub(crate) fn event<'a>(ev: Event<'a>, range: &Range<usize>, body: &'a str) -> Event<'a> {
    match ev {
        Event::InlineMath(_) if digit_follows(body, range) => {
            Event::Text(CowStr::Borrowed(&body[range.clone()]))
        }
        Event::InlineMath(tex) => Event::InlineHtml(to_mathml(&tex, MathDisplay::Inline).into()),
        Event::DisplayMath(tex) => Event::InlineHtml(to_mathml(&tex, MathDisplay::Block).into()),
        other => other,
    }
}

fn digit_follows(body: &str, range: &Range<usize>) -> bool {
    body.get(range.end..)
        .and_then(|rest| rest.bytes().next())
        .is_some_and(|b| b.is_ascii_digit())
}

/// MathML for `tex`, or the TeX in an error span.
pub(crate) fn to_mathml(tex: &str, display: MathDisplay) -> String {
    static CONVERTER: OnceLock<LatexToMathML> = OnceLock::new();
    let converter = CONVERTER.get_or_init(|| {
        LatexToMathML::new(MathCoreConfig {
            ignore_unknown_commands: true,
            annotation: true,
            ..Default::default()
        })
        .unwrap_or_default()
    });
    match converter.convert_with_local_state(tex, display) {
        Ok(done) => done.mathml,
        Err(e) => {
            let (open, close) = match display {
                MathDisplay::Inline => ("$", "$"),
                MathDisplay::Block => ("$$", "$$"),
            };
            format!(
                "<code class=\"kb-math-error\" title=\"{}\">{open}{}{close}</code>",
                escape(&format!("TeX error: {e}")),
                escape(tex)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use pulldown_cmark::Parser;

    use super::*;
    use crate::snippet::extract::markdown_options;

    fn html(body: &str) -> String {
        let events = Parser::new_ext(body, markdown_options())
            .into_offset_iter()
            .map(|(e, r)| event(e, &r, body));
        let mut out = String::new();
        pulldown_cmark::html::push_html(&mut out, events);
        out
    }

    #[test]
    fn dollars_as_currency_stay_text() {
        assert_eq!(html("costs $5 and $10\n"), "<p>costs $5 and $10</p>\n");
        assert_eq!(html("from $5-$10 a day\n"), "<p>from $5-$10 a day</p>\n");
        assert!(!html("set $PATH and $HOME\n").contains("<math"));
    }

    #[test]
    fn inline_and_display_math_become_mathml() {
        let out = html("so $x^2$ and $$\\frac{a}{b}$$\n");
        assert!(out.contains("<msup><mi>x</mi><mn>2</mn></msup>"), "{out}");
        assert!(out.contains("<math display=\"block\">"), "{out}");
        assert!(out.contains("<mfrac>"), "{out}");
        assert!(
            out.contains("<annotation encoding=\"application/x-tex\">x^2</annotation>"),
            "{out}"
        );
    }

    #[test]
    fn a_double_backslash_still_breaks_rows() {
        let out = html("$$\\begin{aligned} a &= 1 \\\\ b &= 2 \\end{aligned}$$\n");
        assert_eq!(out.matches("<mtr>").count(), 2, "{out}");
    }

    #[test]
    fn tex_that_does_not_parse_is_shown_escaped() {
        let out = to_mathml("a < b & {", MathDisplay::Inline);
        assert!(
            out.starts_with("<code class=\"kb-math-error\" title=\"TeX error: "),
            "{out}"
        );
        assert!(out.ends_with(">$a &lt; b &amp; {$</code>"), "{out}");
        let out = to_mathml("\\unknownmacro x", MathDisplay::Inline);
        assert!(
            out.contains("<math"),
            "unknown commands are marked in place: {out}"
        );
    }
}
