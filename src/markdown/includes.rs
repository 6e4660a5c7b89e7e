//! mdBook's include directives inside code blocks, expanded when the note renders:
//! `{{#include file.rs}}`, `{{#include file.rs:anchor}}` (the lines between `ANCHOR: anchor` and
//! `ANCHOR_END: anchor`), `{{#include file.rs:10:20}}` (1-based, inclusive; either end may be
//! left out), and `{{#rustdoc_include ...}}` / `{{#playground ...}}` the same way. Anchor marker
//! lines never show. Paths are relative to the note's folder and must stay inside the knowledge
//! base (mdBook books keep their listings beside `src/`, so beside `content/` here).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;

use crate::content::Note;
use crate::diagnostics::{Diagnostic, DiagnosticKind};

fn directive_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\{\{\s*#(include|rustdoc_include|playground)\s+([^}\s]+)\s*\}\}")
            .expect("valid regex")
    })
}

/// One directive: the file and which of its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Directive {
    path: String,
    part: Part,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    All,
    Anchor(String),
    /// 1-based, inclusive; `None` is the file's start or end.
    Lines(Option<usize>, Option<usize>),
}

fn parse(arg: &str) -> Directive {
    let mut parts = arg.splitn(3, ':');
    let path = parts.next().unwrap_or_default().to_string();
    let part = match (parts.next(), parts.next()) {
        (None, _) => Part::All,
        (Some(a), None) if a.parse::<usize>().is_ok() => {
            Part::Lines(a.parse().ok(), a.parse().ok())
        }
        (Some(a), None) => Part::Anchor(a.to_string()),
        (Some(a), Some(b)) => Part::Lines(a.parse().ok(), b.parse().ok()),
    };
    Directive { path, part }
}

/// Why a directive gives nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Missing {
    File(String),
    Outside(String),
    Anchor(String),
}

/// The file a directive names, if it exists inside `root`.
fn locate(note_dir: &Path, root: &Path, path: &str) -> Result<PathBuf, Missing> {
    let file = note_dir.join(path);
    let real = file
        .canonicalize()
        .map_err(|_| Missing::File(path.into()))?;
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    if !real.starts_with(&root) {
        return Err(Missing::Outside(path.into()));
    }
    Ok(real)
}

/// The lines a directive names, read from its file.
fn contents(note_dir: &Path, root: &Path, d: &Directive) -> Result<String, Missing> {
    let file = locate(note_dir, root, &d.path)?;
    let text = std::fs::read_to_string(file).map_err(|_| Missing::File(d.path.clone()))?;
    select(&text, &d.part)
}

fn select(text: &str, part: &Part) -> Result<String, Missing> {
    let is_marker = |l: &str| l.contains("ANCHOR:") || l.contains("ANCHOR_END:");
    let keep = |lines: Vec<&str>| {
        let mut out: String = lines
            .into_iter()
            .filter(|l| !is_marker(l))
            .collect::<Vec<_>>()
            .join("\n");
        out.truncate(out.trim_end_matches('\n').len());
        out
    };
    let lines: Vec<&str> = text.lines().collect();
    match part {
        Part::All => Ok(keep(lines)),
        Part::Lines(from, to) => {
            let from = from.unwrap_or(1).max(1) - 1;
            let to = to.unwrap_or(lines.len()).min(lines.len());
            Ok(keep(lines.get(from..to).unwrap_or_default().to_vec()))
        }
        Part::Anchor(name) => {
            let start = lines
                .iter()
                .position(|l| marker_name(l, "ANCHOR:") == Some(name))
                .ok_or_else(|| Missing::Anchor(name.clone()))?;
            let end = lines[start + 1..]
                .iter()
                .position(|l| marker_name(l, "ANCHOR_END:") == Some(name))
                .map(|e| start + 1 + e)
                .unwrap_or(lines.len());
            Ok(keep(lines[start + 1..end].to_vec()))
        }
    }
}

fn marker_name<'l>(line: &'l str, marker: &str) -> Option<&'l str> {
    let (_, rest) = line.split_once(marker)?;
    rest.split_whitespace().next()
}

/// `code` with every directive replaced by what it names; a directive that names nothing is
/// left as written (`kb check` reports it, see [`check`]).
pub(crate) fn expand(code: &str, note: &Note, root: &Path) -> String {
    if !code.contains("{{") {
        return code.to_string();
    }
    let dir = note.source.parent().unwrap_or(root);
    directive_re()
        .replace_all(code, |c: &regex::Captures<'_>| {
            contents(dir, root, &parse(&c[2])).unwrap_or_else(|_| c[0].to_string())
        })
        .into_owned()
}

/// A warning per directive in `note` that names no file, a file outside the knowledge base,
/// or an anchor the file lacks.
pub(crate) fn check(note: &Note, root: &Path) -> Vec<Diagnostic> {
    if !note.body.contains("{{") {
        return Vec::new();
    }
    let dir = note.source.parent().unwrap_or(root);
    let mut out = Vec::new();
    for (n, line) in note.body.lines().enumerate() {
        for c in directive_re().captures_iter(line) {
            let d = parse(&c[2]);
            let problem = contents(dir, root, &d).err();
            let (message, hint) = match problem {
                None => continue,
                Some(Missing::File(p)) => (
                    format!("`{}` includes `{p}`, which does not exist", &c[0]),
                    "the path is relative to this note's folder; keep included files in the knowledge base (e.g. listings/ beside content/)",
                ),
                Some(Missing::Outside(p)) => (
                    format!("`{}` includes `{p}`, which is outside the knowledge base", &c[0]),
                    "kb includes only files under the knowledge base's root",
                ),
                Some(Missing::Anchor(a)) => (
                    format!("`{}`: `{}` has no `ANCHOR: {a}`", &c[0], d.path),
                    "mark the lines with `// ANCHOR: name` and `// ANCHOR_END: name`",
                ),
            };
            out.push(
                Diagnostic::warning(
                    DiagnosticKind::BrokenLink,
                    &note.rel,
                    Some(note.body_line + n),
                    message,
                )
                .with_hint(hint),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "use std::io;\n// ANCHOR: here\nfn main() {\n    // ANCHOR: inner\n    let x = 1;\n    // ANCHOR_END: inner\n}\n// ANCHOR_END: here\n";

    #[test]
    fn directives_select_the_whole_file_an_anchor_or_lines() {
        assert_eq!(
            parse("a.rs"),
            Directive {
                path: "a.rs".into(),
                part: Part::All
            }
        );
        assert_eq!(parse("a.rs:here").part, Part::Anchor("here".into()));
        assert_eq!(parse("a.rs:2:3").part, Part::Lines(Some(2), Some(3)));
        assert_eq!(parse("a.rs:2:").part, Part::Lines(Some(2), None));
        assert_eq!(parse("a.rs::3").part, Part::Lines(None, Some(3)));
        assert_eq!(
            select(FILE, &Part::Anchor("here".into())).unwrap(),
            "fn main() {\n    let x = 1;\n}"
        );
        assert_eq!(
            select(FILE, &Part::Anchor("inner".into())).unwrap(),
            "    let x = 1;"
        );
        assert_eq!(
            select(FILE, &Part::Lines(Some(1), Some(1))).unwrap(),
            "use std::io;"
        );
        assert_eq!(select(FILE, &Part::Lines(Some(7), None)).unwrap(), "}");
        assert!(select(FILE, &Part::All)
            .unwrap()
            .starts_with("use std::io;\nfn main()"));
        assert_eq!(
            select(FILE, &Part::Anchor("nope".into())),
            Err(Missing::Anchor("nope".into()))
        );
        assert_eq!(select(FILE, &Part::Lines(Some(90), Some(99))).unwrap(), "");
    }
}
