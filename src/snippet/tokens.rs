//! Splits the attributes of a fence info string (everything after the language word) into
//! `key`, `key=value` and `key="quoted value"` tokens, the forms every tool's fences share.
//!
//! Separators are spaces and commas (`rust,ignore`, `{run, session=x}`, Hugo's
//! `{linenos=table,hl_lines=[2,3]}`); `{` and `}` group attributes and are dropped. Nothing
//! here is an error yet: a problem of form (an unclosed `{`, an unterminated quote, a value
//! with no name) is handed back with the tokens, and `info` decides whether the block is a kb
//! snippet, where it is an error, or another tool's, where it is none of kb's business.

/// Why an info string was rejected. `column` is 1-based within the info string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (column {column} of the fence info string); {hint}")]
pub struct AttrError {
    pub column: usize,
    pub message: String,
    pub hint: String,
}

/// One attribute as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    /// 1-based column (in characters) of the attribute's first character in the info string.
    pub column: usize,
    pub key: String,
    pub value: Option<String>,
}

/// The tokens of an attribute list and its first problem of form, if any.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    pub tokens: Vec<Token>,
    pub problem: Option<AttrError>,
}

/// Tokenize `s`, which starts after `offset` characters of the info string. Double-quoted values
/// take `\"` and `\\` escapes; an unquoted value runs to the next space, except inside `[...]`
/// (`hl_lines=[1, 3]`), and ends at a comma that starts another `key=` (`linenos=table,hl_lines=2`)
/// or at the `}` closing its group. A bracketed word (VitePress's `[config.js]`) is one token.
pub(crate) fn tokenize(s: &str, offset: usize) -> Tokens {
    let chars: Vec<char> = s.chars().collect();
    let column = |i: usize| offset + i + 1;
    let mut out = Tokens::default();
    let problem = |out: &mut Tokens, e: AttrError| {
        out.problem.get_or_insert(e);
    };
    let mut depth = 0usize;
    let mut first_open = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
            continue;
        }
        if c == '{' {
            if depth == 0 {
                first_open = Some(column(i));
            }
            depth += 1;
            i += 1;
            continue;
        }
        if c == '}' {
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        let start = i;
        let mut key = String::new();
        if c == '[' {
            while i < chars.len() {
                key.push(chars[i]);
                i += 1;
                if chars[i - 1] == ']' {
                    break;
                }
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() && !"=,{}".contains(chars[i]) {
                key.push(chars[i]);
                i += 1;
            }
        }
        let mut value = None;
        if i < chars.len() && chars[i] == '=' {
            i += 1;
            let mut v = String::new();
            if i < chars.len() && chars[i] == '"' {
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' if i + 1 < chars.len() && matches!(chars[i + 1], '"' | '\\') => {
                            v.push(chars[i + 1]);
                            i += 2;
                        }
                        '"' => {
                            closed = true;
                            i += 1;
                            break;
                        }
                        ch => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                if !closed {
                    problem(
                        &mut out,
                        AttrError {
                            column: column(start),
                            message: format!("unterminated quoted value for `{key}`"),
                            hint: "close the value with `\"`".into(),
                        },
                    );
                }
            } else {
                i = unquoted_value(&chars, i, depth > 0, &mut v);
                // A comma at the end separates this attribute from the next (`{run, session=a, x}`).
                while v.ends_with(',') {
                    v.pop();
                }
            }
            value = Some(v);
        }
        if key.is_empty() {
            problem(
                &mut out,
                AttrError {
                    column: column(start),
                    message: "an attribute has no name".into(),
                    hint: "write attributes as `key=value` or a bare `flag`".into(),
                },
            );
            // `=` alone, or a stray character the key loop does not take: move on.
            i = i.max(start + 1);
            continue;
        }
        out.tokens.push(Token {
            column: column(start),
            key,
            value,
        });
    }
    if depth > 0 {
        let unclosed = AttrError {
            column: first_open.unwrap_or(offset + 1),
            message: "unclosed `{` in the attributes".into(),
            hint: "close the attribute list with `}` at the end of the line".into(),
        };
        // It opens before anything inside it went wrong.
        out.problem = Some(unclosed);
    }
    out
}

/// Read an unquoted value from `chars[i..]` into `v`; returns where it stopped.
fn unquoted_value(chars: &[char], mut i: usize, in_group: bool, v: &mut String) -> usize {
    let mut brackets = 0usize;
    let mut braces = 0usize;
    while i < chars.len() {
        let ch = chars[i];
        match ch {
            c if c.is_whitespace() && brackets == 0 => break,
            '[' => brackets += 1,
            ']' => brackets = brackets.saturating_sub(1),
            '{' => braces += 1,
            '}' if braces > 0 => braces -= 1,
            '}' if in_group => break,
            ',' if brackets == 0 && braces == 0 && starts_key(&chars[i + 1..]) => break,
            _ => {}
        }
        v.push(ch);
        i += 1;
    }
    i
}

/// Does `rest` start with `name=` (a letter or `_`, then letters, digits, `_` or `-`)?
fn starts_key(rest: &[char]) -> bool {
    let name = rest
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == '_' || **c == '-')
        .count();
    name > 0 && (rest[0].is_ascii_alphabetic() || rest[0] == '_') && rest.get(name) == Some(&'=')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, Option<String>)> {
        let t = tokenize(s, 0);
        assert!(t.problem.is_none(), "{s}: {:?}", t.problem);
        t.tokens.into_iter().map(|t| (t.key, t.value)).collect()
    }

    fn kv(k: &str, v: Option<&str>) -> (String, Option<String>) {
        (k.to_string(), v.map(str::to_string))
    }

    #[test]
    fn spaces_commas_and_braces_separate() {
        let expected = vec![kv("run", None), kv("session", Some("a")), kv("x", None)];
        assert_eq!(pairs(" run session=a x"), expected);
        assert_eq!(pairs(" {run, session=a, x}"), expected);
        assert_eq!(pairs(",run,session=a x,"), expected);
    }

    #[test]
    fn values_keep_commas_brackets_and_inner_braces() {
        assert_eq!(
            pairs(" caps=NET_ADMIN,SYS_ADMIN"),
            vec![kv("caps", Some("NET_ADMIN,SYS_ADMIN"))]
        );
        assert_eq!(
            pairs(r#" {linenos=table,hl_lines=[8,"15-17"],linenostart=199}"#),
            vec![
                kv("linenos", Some("table")),
                kv("hl_lines", Some(r#"[8,"15-17"]"#)),
                kv("linenostart", Some("199")),
            ]
        );
        assert_eq!(
            pairs(" {hl_lines=[2, 3] copy=true}"),
            vec![kv("hl_lines", Some("[2, 3]")), kv("copy", Some("true"))]
        );
        assert_eq!(pairs(" {cmd=./{file}}"), vec![kv("cmd", Some("./{file}"))]);
        assert_eq!(
            pairs(r#" cmd="say \"hi\" {file}""#),
            vec![kv("cmd", Some(r#"say "hi" {file}"#))]
        );
    }

    #[test]
    fn a_bracketed_label_is_one_token() {
        assert_eq!(
            pairs(" [vite config.js]"),
            vec![kv("[vite config.js]", None)]
        );
    }

    #[test]
    fn problems_of_form_come_back_with_their_column() {
        let t = tokenize(" {run", 2);
        assert_eq!(t.problem.as_ref().map(|p| p.column), Some(4));
        assert_eq!(t.tokens.len(), 1, "the tokens are still there");
        let t = tokenize(r#" cmd="x"#, 0);
        assert!(t.problem.unwrap().message.contains("unterminated"));
        let t = tokenize(" =x run", 0);
        assert_eq!(t.problem.unwrap().column, 2);
        assert_eq!(t.tokens.len(), 1);
    }
}
