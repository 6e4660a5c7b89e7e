//! Hugo and Zola shortcodes in a note's text, turned into the markdown they stand for when the
//! note loads, line for line (so every later `path:line` still points into the file):
//!
//! - `{{< ref "x.md" >}}` / `relref`, Zola `get_url(path="@/x.md")`: the path, which the link
//!   resolver then finds like any link;
//! - `{{< highlight go >}}…{{< /highlight >}}`: a fenced code block;
//! - `{{< figure src=… alt=… caption=… >}}`, `img`, Zola `resize_image(path=…)` and friends: an
//!   image;
//! - `{{% note %}}…{{% /note %}}` and the other admonition names: a callout (`> [!NOTE]`);
//! - any other paired shortcode: its body stays — as markdown for `{{% %}}` and Zola's
//!   `{% name() %}…{% end %}`, as a code block for `{{< >}}` (Hugo does not render that body as
//!   markdown either: it is config or code, `[[menus.main]]` is no wikilink);
//! - `{{</* x */>}}` (Hugo's escape, used in docs about shortcodes): `{{< x >}}` as text;
//! - anything else is left out of the page and reported, once per shortcode name, by
//!   `kb check` ([`Unknown`]).
//!
//! Code blocks are left alone (only the escapes are undone there).

use std::sync::OnceLock;

use regex::{Captures, Regex};

/// A shortcode kb does not know, left out of the page: its name and 1-based file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub name: String,
    pub line: usize,
}

/// `{{< name args >}}`, `{{% /name %}}`, `{{< name />}}`.
fn hugo_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\{\{([<%])\s*(/?)\s*([A-Za-z][\w.-]*)\s*(.*?)\s*/?\s*[>%]\}\}")
            .expect("valid regex")
    })
}

/// Zola's `{{ name(args) }}` and `{% name(args) %}` / `{% end %}`.
fn zola_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\{([{%])\s*([a-z_][a-z0-9_]*)\((.*?)\)\s*[}%]\}|\{%\s*end\s*%\}")
            .expect("valid regex")
    })
}

/// The admonition shortcodes, and the callout type each becomes.
const ADMONITIONS: [(&str, &str); 9] = [
    ("note", "NOTE"),
    ("notice", "NOTE"),
    ("info", "NOTE"),
    ("tip", "TIP"),
    ("hint", "TIP"),
    ("important", "IMPORTANT"),
    ("warning", "WARNING"),
    ("caution", "CAUTION"),
    ("danger", "CAUTION"),
];

/// What a paired shortcode's body is turned into, until its closing marker.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// Lines kept as they are (closing marker: an empty line).
    Markdown,
    /// Lines prefixed with `> ` (a callout).
    Callout,
    /// A fenced code block (closing marker: the closing fence).
    Code,
}

/// `body` with its shortcodes replaced (see the module docs), and the unknown ones; `None`
/// when the text has no shortcode at all (the common case costs one search).
pub fn expand(body: &str, body_line: usize) -> Option<(String, Vec<Unknown>)> {
    if !body.contains("{{") && !body.contains("{%") {
        return None;
    }
    let mut out = String::with_capacity(body.len());
    let mut unknown = Vec::new();
    let mut fence: Option<String> = None;
    // (closing name, what the body becomes)
    let mut open: Option<(String, Body)> = None;
    let lines: Vec<&str> = body.split_inclusive('\n').collect();
    for (n, raw) in lines.iter().enumerate() {
        let (line, eol) = match raw.strip_suffix('\n') {
            Some(l) => (l, "\n"),
            None => (*raw, ""),
        };
        let file_line = body_line + n;
        let trimmed = line.trim();
        // Code fences: only Hugo's escapes are undone inside.
        if let Some(f) = &fence {
            if trimmed.starts_with(f.as_str())
                && trimmed
                    .trim_start_matches(f.chars().next().unwrap_or('`'))
                    .trim()
                    .is_empty()
            {
                fence = None;
            }
            out.push_str(&unescape(line));
            out.push_str(eol);
            continue;
        }
        if open.as_ref().is_none_or(|(_, b)| *b != Body::Code)
            && (trimmed.starts_with("```") || trimmed.starts_with("~~~"))
        {
            let marker: String = trimmed
                .chars()
                .take_while(|c| *c == '`' || *c == '~')
                .collect();
            fence = Some(marker);
            out.push_str(line);
            out.push_str(eol);
            continue;
        }
        // The closing marker of the open paired shortcode.
        if let Some((name, body)) = &open {
            if is_closing(trimmed, name) {
                out.push_str(match body {
                    Body::Code => "```",
                    Body::Markdown | Body::Callout => "",
                });
                out.push_str(eol);
                open = None;
                continue;
            }
            match body {
                Body::Callout => {
                    out.push_str("> ");
                    out.push_str(&inline(line, file_line, &mut unknown));
                }
                Body::Code => out.push_str(&unescape(line)),
                Body::Markdown => out.push_str(&inline(line, file_line, &mut unknown)),
            }
            out.push_str(eol);
            continue;
        }
        // An opening marker alone on its line, closed further down: a paired shortcode.
        if let Some((name, delim, args)) = opening(trimmed) {
            let closes = lines[n + 1..].iter().any(|l| is_closing(l.trim(), &name));
            if closes {
                let body = paired(&name, delim);
                let opener = match &body {
                    Body::Code => {
                        let lang = if name == "highlight" {
                            args.split_whitespace().next().unwrap_or("text").to_string()
                        } else {
                            guess_language(&lines[n + 1..])
                        };
                        format!("```{lang}")
                    }
                    Body::Callout => {
                        let kind = ADMONITIONS
                            .iter()
                            .find(|(k, _)| *k == name)
                            .map(|(_, v)| *v)
                            .unwrap_or("NOTE");
                        format!("> [!{kind}]")
                    }
                    Body::Markdown => String::new(),
                };
                out.push_str(&opener);
                out.push_str(eol);
                open = Some((name, body));
                continue;
            }
        }
        out.push_str(&inline(line, file_line, &mut unknown));
        out.push_str(eol);
    }
    Some((out, unknown))
}

/// What a paired shortcode's body becomes.
fn paired(name: &str, delim: char) -> Body {
    if name == "highlight" {
        Body::Code
    } else if ADMONITIONS.iter().any(|(k, _)| *k == name) {
        Body::Callout
    } else if delim == '<' {
        Body::Code
    } else {
        Body::Markdown
    }
}

/// `(name, '<' | '%' | 'z' for Zola, args)` when `line` is exactly one opening marker.
fn opening(line: &str) -> Option<(String, char, String)> {
    if let Some(c) = hugo_re().captures(line) {
        if c.get(0)?.as_str() == line && c[2].is_empty() && !c[0].ends_with("/>}}") {
            let delim = c[1].chars().next()?;
            return Some((c[3].to_string(), delim, c[4].to_string()));
        }
    }
    if let Some(c) = zola_re().captures(line) {
        if c.get(0)?.as_str() == line && c.get(1).is_some_and(|d| d.as_str() == "%") {
            return Some((c[2].to_string(), 'z', c[3].to_string()));
        }
    }
    None
}

/// Whether `line` is the closing marker of `name` (`{{< /name >}}`, `{{% /name %}}`, Zola's
/// `{% end %}`).
fn is_closing(line: &str, name: &str) -> bool {
    if let Some(c) = hugo_re().captures(line) {
        return c.get(0).is_some_and(|m| m.as_str() == line) && &c[2] == "/" && &c[3] == name;
    }
    let compact: String = line.split_whitespace().collect();
    compact == "{%end%}"
}

/// A code block's language from its first line: TOML, YAML or JSON config (what Hugo's
/// `code-toggle` bodies hold), else plain text.
fn guess_language(rest: &[&str]) -> String {
    let first = rest
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.starts_with('{') {
        "json"
    } else if first.starts_with('[') || first.contains(" = ") {
        "toml"
    } else if first.contains(": ") || first.ends_with(':') {
        "yaml"
    } else {
        "text"
    }
    .to_string()
}

/// Hugo's `{{</* x */>}}` and Zola's `{{/* x() */}}` as the text they escape.
fn unescape(line: &str) -> String {
    if !line.contains("/*") {
        return line.to_string();
    }
    line.replace("{{</*", "{{<")
        .replace("*/>}}", ">}}")
        .replace("{{%/*", "{{%")
        .replace("*/%}}", "%}}")
        .replace("{{/*", "{{")
        .replace("*/}}", "}}")
}

/// One line outside code: inline shortcodes replaced, unknown ones dropped and recorded.
fn inline(line: &str, file_line: usize, unknown: &mut Vec<Unknown>) -> String {
    if !line.contains("{{") && !line.contains("{%") {
        return line.to_string();
    }
    if line.contains("/*") {
        return unescape(line);
    }
    let hugo = hugo_re().replace_all(line, |c: &Captures<'_>| {
        let args = Args::parse(&c[4]);
        match &c[3] {
            "ref" | "relref" => args.positional(0).map(rooted).unwrap_or_default(),
            "figure" | "img" => image(args.named("src"), args.named("alt"), args.named("caption")),
            name => {
                unknown.push(Unknown {
                    name: name.to_string(),
                    line: file_line,
                });
                String::new()
            }
        }
    });
    zola_re()
        .replace_all(&hugo, |c: &Captures<'_>| {
            let Some(name) = c.get(2).map(|m| m.as_str()) else {
                return String::new(); // a stray `{% end %}`
            };
            let args = Args::parse(&c[3]);
            match name {
                "get_url" => args.named("path").unwrap_or_default(),
                // Zola's image paths are from the content root (`_relative` is about the scale).
                "resize_image" | "resize_image_relative" | "high_res_image" | "image" => image(
                    args.named("path").or(args.named("src")).map(rooted),
                    args.named("alt"),
                    None,
                ),
                name => {
                    unknown.push(Unknown {
                        name: name.to_string(),
                        line: file_line,
                    });
                    String::new()
                }
            }
        })
        .into_owned()
}

/// Hugo's `ref "functions/x.md"` is from the content root unless it starts with `.`.
fn rooted(path: String) -> String {
    if path.starts_with('.') || path.starts_with('/') || path.starts_with('#') {
        path
    } else {
        format!("/{path}")
    }
}

fn image(src: Option<String>, alt: Option<String>, caption: Option<String>) -> String {
    let Some(src) = src else {
        return String::new();
    };
    let title = caption
        .map(|c| format!(" \"{}\"", c.replace('"', "'")))
        .unwrap_or_default();
    format!(
        "![{}]({src}{title})",
        alt.unwrap_or_default().replace(']', ")")
    )
}

/// A shortcode's arguments: `"a" b key="v" key2=v2` (Hugo) or `key="v", n=1` (Zola).
struct Args(Vec<(Option<String>, String)>);

impl Args {
    fn parse(text: &str) -> Args {
        let mut out = Vec::new();
        let mut chars = text.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
                chars.next();
            }
            let Some(&first) = chars.peek() else { break };
            let mut token = String::new();
            let mut key = None;
            if first != '"' && first != '\'' && first != '`' {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == ',' || c == '=' {
                        break;
                    }
                    token.push(c);
                    chars.next();
                }
                if chars.peek() == Some(&'=') {
                    chars.next();
                    key = Some(std::mem::take(&mut token));
                } else {
                    out.push((None, token));
                    continue;
                }
            }
            match chars.peek().copied() {
                Some(q @ ('"' | '\'' | '`')) => {
                    chars.next();
                    for c in chars.by_ref() {
                        if c == q {
                            break;
                        }
                        token.push(c);
                    }
                }
                _ => {
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() || c == ',' {
                            break;
                        }
                        token.push(c);
                        chars.next();
                    }
                }
            }
            out.push((key, token));
        }
        Args(out)
    }

    fn named(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k.as_deref() == Some(key))
            .map(|(_, v)| v.clone())
    }

    fn positional(&self, i: usize) -> Option<String> {
        self.0
            .iter()
            .filter(|(k, _)| k.is_none())
            .nth(i)
            .map(|(_, v)| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, Vec<Unknown>) {
        expand(text, 1).unwrap_or((text.to_string(), vec![]))
    }

    #[test]
    fn known_shortcodes_become_markdown_line_for_line() {
        let text = concat!(
            "See [contains]({{< relref \"functions/strings/Contains.md\" >}}).\n",
            "{{< figure src=\"/images/a.png\" alt=\"A\" caption=\"The A\" >}}\n",
            "{{< highlight go \"linenos=table\" >}}\n",
            "func main() {}\n",
            "{{< /highlight >}}\n",
            "{{% note %}}\n",
            "Mind the **gap**.\n",
            "{{% /note %}}\n",
            "{{ resize_image(path=\"img/x.png\", width=300, op=\"fit\") }}\n",
            "[doc]({{ get_url(path=\"@/docs/a.md\") }})\n",
        );
        let (out, unknown) = run(text);
        assert_eq!(
            out,
            concat!(
                "See [contains](/functions/strings/Contains.md).\n",
                "![A](/images/a.png \"The A\")\n",
                "```go\n",
                "func main() {}\n",
                "```\n",
                "> [!NOTE]\n",
                "> Mind the **gap**.\n",
                "\n",
                "![](/img/x.png)\n",
                "[doc](@/docs/a.md)\n",
            )
        );
        assert!(unknown.is_empty(), "{unknown:?}");
        assert_eq!(out.lines().count(), text.lines().count());
    }

    #[test]
    fn other_shortcodes_keep_their_bodies_and_drop_their_markers() {
        let text = concat!(
            "{{< code-toggle file=hugo >}}\n",
            "[[menus.main]]\n",
            "name = 'Home'\n",
            "{{< /code-toggle >}}\n",
            "{{% details %}}\n",
            "Hidden *text*.\n",
            "{{% /details %}}\n",
            "Added in {{< new-in 0.120.0 />}} and {{ youtube(id=\"x\") }}.\n",
            "```md\n",
            "{{</* figure src=\"x\" */>}} {{< kept >}}\n",
            "```\n",
        );
        let (out, unknown) = run(text);
        assert_eq!(
            out,
            concat!(
                "```toml\n",
                "[[menus.main]]\n",
                "name = 'Home'\n",
                "```\n",
                "\n",
                "Hidden *text*.\n",
                "\n",
                "Added in  and .\n",
                "```md\n",
                "{{< figure src=\"x\" >}} {{< kept >}}\n",
                "```\n",
            )
        );
        assert_eq!(
            unknown,
            [
                Unknown {
                    name: "new-in".into(),
                    line: 8
                },
                Unknown {
                    name: "youtube".into(),
                    line: 8
                }
            ]
        );
    }

    #[test]
    fn text_without_shortcodes_is_not_copied() {
        assert!(expand("plain {text} and {{ not closed\n", 1).is_some());
        assert!(expand("no braces at all\n", 1).is_none());
    }
}
