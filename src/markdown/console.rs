//! A `console` transcript as HTML: prompts and commands (with their `\` and `> ` continuation
//! lines) apart from output, exit statuses (`? N` after a command, `[N]` after its output) and
//! the parts of expected output that are patterns rather than text (`...`, `[..]`, and the
//! `(re)`, `(glob)`, `(esc)`, `(no-eol)` line suffixes) marked. An `(esc)` line is shown as a
//! terminal shows it (colour and title sequences dropped), its escaped form in the tooltip.

use crate::html::escape;
use crate::verify::pattern::{split_suffixes, unescape, Suffix};

/// The HTML of a console transcript's lines.
pub fn render_console(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::with_capacity(text.len() * 3);
    let mut continuing = false;
    let mut after_cmd = false;
    for (i, &line) in lines.iter().enumerate() {
        let is_prompt = line.starts_with("$ ") || line == "$";
        let gt = after_cmd && (line.starts_with("> ") || line == ">");
        if continuing || is_prompt || gt {
            let cmd = if continuing && !gt {
                line
            } else {
                line.get(2..).unwrap_or("")
            };
            if is_prompt || gt {
                let prompt = if gt { "&gt; " } else { "$ " };
                out.push_str(&format!(
                    "<span class=\"kb-prompt\" aria-hidden=\"true\">{prompt}</span>"
                ));
            }
            let hl = crate::highlight::highlight_uncached("bash", &format!("{cmd}\n"));
            out.push_str("<span class=\"kb-cmd\">");
            out.push_str(&hl.replace('\n', ""));
            out.push_str("</span>\n");
            continuing = cmd.ends_with('\\');
            after_cmd = true;
            continue;
        }
        if after_cmd && line.starts_with("? ") && line[2..].trim().parse::<i32>().is_ok() {
            out.push_str(&exit_line(line[2..].trim()));
            after_cmd = false;
            continue;
        }
        after_cmd = false;
        if let Some(n) = bracket_status(line).filter(|_| ends_output(&lines[i + 1..])) {
            out.push_str(&exit_line(n));
            continue;
        }
        out.push_str(&output_line(line));
    }
    out
}

fn exit_line(n: &str) -> String {
    format!(
        "<span class=\"kb-exit\" title=\"期望的退出码\">exit {}</span>\n",
        escape(n)
    )
}

/// `[N]` -> `N`.
fn bracket_status(line: &str) -> Option<&str> {
    let n = line.trim_end().strip_prefix('[')?.strip_suffix(']')?;
    n.parse::<i64>().is_ok().then_some(n)
}

/// Are these lines blank up to the next command (so the line before them ends an output)?
fn ends_output(rest: &[&str]) -> bool {
    rest.iter()
        .take_while(|l| !(l.starts_with("$ ") || **l == "$"))
        .all(|l| l.trim().is_empty())
}

/// One expected output line.
fn output_line(line: &str) -> String {
    let mut out = String::from("<span class=\"kb-out\"");
    if line.trim() == "..." {
        out.push_str("><span class=\"kb-wild\" title=\"匹配任意多行\">...</span></span>\n");
        return out;
    }
    let (text, suffixes) = split_suffixes(line.trim_end());
    let esc = suffixes.iter().any(|(_, k)| *k == Suffix::Esc);
    let regex = suffixes
        .iter()
        .any(|(_, k)| matches!(k, Suffix::Re | Suffix::Glob));
    if esc {
        out.push_str(&format!(" title=\"{}\">", escape(text)));
        out.push_str(&escape(&as_terminal_shows(&unescape(text))));
    } else if regex {
        out.push('>');
        out.push_str(&escape(text));
    } else {
        out.push('>');
        let parts: Vec<String> = text.split("[..]").map(escape).collect();
        out.push_str(&parts.join("<span class=\"kb-wild\" title=\"匹配任意文本\">[..]</span>"));
    }
    for (written, kind) in suffixes.iter().rev() {
        let title = match kind {
            Suffix::Re => "正则表达式，匹配整行",
            Suffix::Glob => "通配符，匹配整行：* 任意文本，? 一个字符",
            Suffix::Esc => "含转义字节的行，这里显示为终端中看到的样子",
            Suffix::NoEol => "输出在此结束，末尾没有换行",
        };
        out.push_str(&format!(
            " <span class=\"kb-wild\" title=\"{title}\">{}</span>",
            escape(written.trim_start())
        ));
    }
    out.push_str("</span>\n");
    out
}

/// Text as a terminal shows it: colour and title sequences (CSI, OSC) dropped, other control
/// characters but tab written as escapes.
fn as_terminal_shows(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                // CSI: parameters up to a final byte.
                Some('[') => {
                    for n in chars.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC: up to BEL or ESC \.
                Some(']') => {
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => out.push_str("\\r"),
            c if c.is_control() && c != '\t' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_marks_prompts_exit_codes_and_wildcards() {
        let html = render_console("$ go run main.go\npanic: boom [..]\n...\n? 2\n");
        assert!(html.contains("<span class=\"kb-prompt\" aria-hidden=\"true\">$ </span>"));
        assert!(html.contains("kb-cmd"));
        assert!(html.contains("panic: boom <span class=\"kb-wild\""));
        assert!(html.contains("<span class=\"kb-wild\" title=\"匹配任意多行\">...</span>"));
        // `? 2` right after a command is an exit status; here it follows output, so it is output.
        assert!(!html.contains("kb-exit"));
        let html = render_console("$ false\n? 1\n");
        assert!(html.contains("<span class=\"kb-exit\""));
    }

    #[test]
    fn console_continuation_lines_are_commands() {
        let html = render_console("$ echo a \\\n  b\nout\n");
        assert_eq!(html.matches("kb-cmd").count(), 2);
        assert_eq!(html.matches("kb-out").count(), 1);
        let html = render_console("$ cat <<EOF\n> hi\n> EOF\nhi\n> not a prompt\n");
        assert_eq!(html.matches("kb-cmd").count(), 3);
        assert_eq!(html.matches("&gt; </span>").count(), 2);
        assert!(html.contains("<span class=\"kb-out\">&gt; not a prompt</span>"));
    }

    #[test]
    fn bracket_status_only_as_the_last_line_of_an_output() {
        let html = render_console("$ false\n[1]\n\n$ echo '[2]'\n[2]\nmore\n");
        assert_eq!(html.matches("kb-exit").count(), 1, "{html}");
        assert!(html.contains(">exit 1</span>"));
    }

    #[test]
    fn suffixes_are_marked_and_escaped_lines_read_as_on_a_terminal() {
        let html = render_console(
            "$ x\n\\x1b[1mbold\\x1b[0m\\r (esc)\nv[0-9]+ (re)\na* (glob)\nend (no-eol)\n",
        );
        assert!(
            html.contains("<span class=\"kb-out\" title=\"\\x1b[1mbold\\x1b[0m\\r\">bold\\r <span class=\"kb-wild\""),
            "{html}"
        );
        assert!(html.contains(">(esc)</span>") && html.contains(">(re)</span>"));
        assert!(html.contains(">(glob)</span>") && html.contains(">(no-eol)</span>"));
        assert!(
            html.contains(">v[0-9]+ <span"),
            "a regex's brackets are text: {html}"
        );
    }
}
