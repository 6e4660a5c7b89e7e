//! Stage 2: split a note into front matter and body, and parse the front matter.
//!
//! YAML between `---` lines (Jekyll, Obsidian, Hugo, Zola-with-YAML) or TOML between `+++`
//! lines (Hugo, Zola). Known keys become typed fields; every other key lands in `extra` for
//! templates. Hugo's `lastmod`, `description`, `categories`-style keys and Obsidian's
//! `aliases`-as-names are accepted unchanged. Errors carry the file line of the offending key.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value as Json};

use super::routes::Wish;

/// The typed front matter of a note.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrontMatter {
    pub title: Option<String>,
    pub date: Option<DateTime<FixedOffset>>,
    /// `updated`, or Hugo's `lastmod`.
    pub updated: Option<DateTime<FixedOffset>>,
    pub tags: Vec<String>,
    /// `summary`, or `description`.
    pub summary: Option<String>,
    pub draft: bool,
    pub weight: Option<i64>,
    pub slug: Option<String>,
    /// The page's place chosen here: `url` (Hugo), `path` (Zola) or `permalink` (Obsidian
    /// Publish) from the site root, else `slug` under `notes/`.
    pub wish: Option<Wish>,
    /// Old URLs (`/posts/old/`) that redirect to this note.
    pub redirect_aliases: Vec<String>,
    /// Other names for `[[wikilinks]]` (Obsidian's `aliases`).
    pub name_aliases: Vec<String>,
    /// 1-based file line of the `aliases` key (0 when there is none), for messages.
    pub aliases_line: usize,
    /// Every other key, for templates (`page.extra.KEY`).
    pub extra: Map<String, Json>,
}

/// Which syntax the front matter used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

/// A front matter problem at a 1-based file line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatterError {
    pub line: usize,
    pub message: String,
    pub hint: String,
}

/// The parts of a note file.
#[derive(Debug, Clone, PartialEq)]
pub struct Split<'a> {
    /// Front matter text (without delimiters) and its format, if any.
    pub front: Option<(&'a str, Format)>,
    /// 1-based file line of the front matter's first line.
    pub front_line: usize,
    pub body: &'a str,
    /// 1-based file line on which the body starts.
    pub body_line: usize,
}

/// Split `text` (the whole file) into front matter and body. A byte order mark and blank
/// lines before the opening `---` or `+++` are skipped, as Zola and Hugo do.
pub fn split(text: &str) -> Result<Split<'_>, FrontMatterError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut skipped = 0;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if !line.trim().is_empty() || !line.ends_with('\n') {
            break;
        }
        start += line.len();
        skipped += 1;
    }
    let opened = &text[start..];
    let (delim, format) = if starts_with_line(opened, "---") {
        ("---", Format::Yaml)
    } else if starts_with_line(opened, "+++") {
        ("+++", Format::Toml)
    } else {
        return Ok(Split {
            front: None,
            front_line: 1,
            body: text,
            body_line: 1,
        });
    };
    let first_nl = opened.find('\n').map(|i| i + 1).unwrap_or(opened.len());
    let mut offset = first_nl;
    for (line, l) in (2 + skipped..).zip(opened[first_nl..].split_inclusive('\n')) {
        let trimmed = l.trim_end();
        if trimmed == delim || (format == Format::Yaml && trimmed == "...") {
            let front = &opened[first_nl..offset];
            let body = &opened[offset + l.len()..];
            if skipped > 0 && !opens_with_key(front) {
                break; // a rule (`---`) after blank lines, not front matter
            }
            return Ok(Split {
                front: Some((front, format)),
                front_line: 2 + skipped,
                body,
                body_line: line + 1,
            });
        }
        offset += l.len();
    }
    if skipped > 0 {
        // After blank lines, only a closed block of keys is front matter.
        return Ok(Split {
            front: None,
            front_line: 1,
            body: text,
            body_line: 1,
        });
    }
    Err(FrontMatterError {
        line: 1 + skipped,
        message: format!("front matter opened with `{delim}` is never closed"),
        hint: format!("add a line with `{delim}` after the last front matter key"),
    })
}

/// Whether the first non-blank line of `front` is a `key:` (YAML) or `key =` (TOML).
fn opens_with_key(front: &str) -> bool {
    let Some(line) = front.lines().find(|l| !l.trim().is_empty()) else {
        return false;
    };
    let key_end = line
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(line.len());
    key_end > 0 && matches!(line[key_end..].trim_start().chars().next(), Some(':' | '='))
}

fn starts_with_line(text: &str, delim: &str) -> bool {
    text.strip_prefix(delim).is_some_and(|rest| {
        rest.starts_with('\n')
            || rest.starts_with("\r\n")
            || rest.trim().is_empty() && rest.is_empty()
    })
}

/// Parse front matter text. `front_line` is the file line of its first line.
pub fn parse(
    front: &str,
    format: Format,
    front_line: usize,
) -> Result<FrontMatter, FrontMatterError> {
    let map = match format {
        Format::Yaml => parse_yaml(front, front_line)?,
        Format::Toml => parse_toml(front, front_line)?,
    };
    let mut fm = FrontMatter::default();
    let line_of = |key: &str| {
        key_line(front, key, format)
            .map(|l| l + front_line)
            .unwrap_or(front_line)
    };
    let err = |key: &str, message: String, hint: &str| FrontMatterError {
        line: line_of(key),
        message,
        hint: hint.to_string(),
    };
    for (key, value) in map {
        match key.as_str() {
            "title" => {
                let t = as_string(&value).ok_or_else(|| {
                    err(
                        &key,
                        "`title` must be text".into(),
                        "write `title: My note`",
                    )
                })?;
                if t.trim().is_empty() {
                    return Err(err(
                        &key,
                        "`title` is empty".into(),
                        "write a title, or remove the key to use the first `#` heading",
                    ));
                }
                fm.title = Some(t.trim().to_string());
            }
            "date" | "updated" | "lastmod" => {
                if value.is_null() {
                    continue;
                }
                let s = as_string(&value).unwrap_or_else(|| value.to_string());
                let d = parse_date(&s).ok_or_else(|| {
                    err(&key, format!("`{key}: {s}` is not a date"), "use `2024-05-01`, `2024-05-01 10:30:00` or RFC 3339 `2024-05-01T10:30:00+08:00`")
                })?;
                if key == "date" {
                    fm.date = Some(d);
                } else {
                    fm.updated = Some(d);
                }
            }
            "tags" => {
                fm.tags = as_list(&value).ok_or_else(|| {
                    err(
                        &key,
                        "`tags` must be a list or a comma-separated string".into(),
                        "write `tags: [go, gc]`",
                    )
                })?
            }
            "summary" | "description" => {
                if let Some(s) = as_string(&value) {
                    if fm.summary.is_none() || key == "summary" {
                        fm.summary = Some(s);
                    }
                }
            }
            "draft" => {
                fm.draft = match &value {
                    Json::Bool(b) => *b,
                    Json::Null => false,
                    Json::String(s) if s == "true" || s == "false" => s == "true",
                    _ => {
                        return Err(err(
                            &key,
                            "`draft` must be true or false".into(),
                            "write `draft: true`",
                        ))
                    }
                }
            }
            "weight" => {
                fm.weight = match &value {
                    Json::Number(n) => n.as_i64(),
                    Json::Null => None,
                    _ => {
                        return Err(err(
                            &key,
                            "`weight` must be an integer".into(),
                            "write `weight: 10`",
                        ))
                    }
                }
            }
            "slug" => {
                let s = as_string(&value).unwrap_or_default();
                let s = s.trim().trim_matches('/').to_string();
                if s.is_empty() || s.contains('/') || s.contains(char::is_whitespace) {
                    return Err(err(
                        &key,
                        format!("slug `{s}` is not usable in a URL"),
                        "use letters, digits and `-`, e.g. `slug: go-gc`",
                    ));
                }
                if let Some(why) = crate::slug::url_path_problem(&s) {
                    return Err(err(
                        &key,
                        format!("slug `{}` {why}", s.escape_debug()),
                        "use letters, digits and `-`, e.g. `slug: go-gc`",
                    ));
                }
                if fm.wish.is_none() {
                    fm.wish = Some(Wish::Explicit {
                        route: format!("notes/{s}"),
                        key: "slug",
                        line: line_of(&key),
                    });
                }
                fm.slug = Some(s);
            }
            "url" | "path" | "permalink" => {
                let Some(raw) = as_string(&value) else {
                    fm.extra.insert(key, value);
                    continue;
                };
                let hint = "write the page's path from the site root, e.g. `/guides/setup/`";
                if raw.contains("://") {
                    return Err(err(
                        &key,
                        format!("`{key}: {raw}` is a full URL, not a path on this site"),
                        hint,
                    ));
                }
                // An empty route (`permalink: /`) makes the note the home page's text.
                let route = raw.trim().trim_matches('/').to_string();
                if let Some(why) = crate::slug::url_path_problem(&route) {
                    return Err(err(
                        &key,
                        format!("`{key}` `{}` {why}", route.escape_debug()),
                        hint,
                    ));
                }
                // `url` before `path` before `permalink` before `slug`, whatever the key order.
                let key: &'static str = match key.as_str() {
                    "url" => "url",
                    "path" => "path",
                    _ => "permalink",
                };
                let rank = |k: &str| {
                    ["url", "path", "permalink", "slug"]
                        .iter()
                        .position(|x| *x == k)
                };
                let better = match &fm.wish {
                    Some(Wish::Explicit { key: old, .. }) => rank(key) < rank(old),
                    _ => true,
                };
                if better {
                    fm.wish = Some(Wish::Explicit {
                        route,
                        key,
                        line: line_of(key),
                    });
                }
            }
            "aliases" => {
                let list = as_list(&value).ok_or_else(|| {
                    err(
                        &key,
                        "`aliases` must be a list".into(),
                        "write `aliases: [/old/url/]`",
                    )
                })?;
                fm.aliases_line = line_of(&key);
                for a in list {
                    if a.starts_with('/') {
                        if let Some(why) = crate::slug::url_path_problem(&a) {
                            return Err(err(
                                &key,
                                format!("alias `{}` {why}", a.escape_debug()),
                                "write an old URL as a path from the site root, e.g. `/posts/old-name/`",
                            ));
                        }
                        fm.redirect_aliases.push(a);
                    } else if a.contains("://") {
                        fm.redirect_aliases.push(a);
                    } else {
                        fm.name_aliases.push(a);
                    }
                }
            }
            _ => {
                fm.extra.insert(key, value);
            }
        }
    }
    Ok(fm)
}

fn parse_yaml(front: &str, front_line: usize) -> Result<Map<String, Json>, FrontMatterError> {
    if front.trim().is_empty() {
        return Ok(Map::new());
    }
    let value: serde_yaml_ng::Value = serde_yaml_ng::from_str(front).map_err(|e| FrontMatterError {
        line: e.location().map(|l| l.line() + front_line - 1).unwrap_or(front_line),
        message: format!("invalid YAML front matter: {}", strip_location(&e.to_string())),
        hint: "check indentation and quoting; values containing `: ` or starting with `[`, `{`, `*`, `&` need quotes".into(),
    })?;
    let json = yaml_to_json(value);
    match json {
        Json::Object(m) => Ok(m),
        Json::Null => Ok(Map::new()),
        _ => Err(FrontMatterError {
            line: front_line,
            message: "front matter is not a set of `key: value` lines".into(),
            hint: "write one `key: value` per line between the `---` lines".into(),
        }),
    }
}

fn parse_toml(front: &str, front_line: usize) -> Result<Map<String, Json>, FrontMatterError> {
    let table: toml::Table = toml::from_str(front).map_err(|e| FrontMatterError {
        line: e
            .span()
            .map(|s| front[..s.start.min(front.len())].matches('\n').count() + front_line)
            .unwrap_or(front_line),
        message: format!("invalid TOML front matter: {}", e.message()),
        hint: "check the TOML syntax: strings need quotes, e.g. `title = \"My note\"`".into(),
    })?;
    Ok(table
        .into_iter()
        .map(|(k, v)| (k, toml_to_json(v)))
        .collect())
}

/// TOML values as JSON; datetimes become their text (serde would expose a private struct).
fn toml_to_json(v: toml::Value) -> Json {
    match v {
        toml::Value::String(s) => Json::String(s),
        toml::Value::Integer(i) => Json::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        toml::Value::Boolean(b) => Json::Bool(b),
        toml::Value::Datetime(d) => Json::String(d.to_string()),
        toml::Value::Array(a) => Json::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Json::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// serde_yaml_ng appends "at line X column Y"; we report the line ourselves.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn yaml_to_json(v: serde_yaml_ng::Value) -> Json {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Json::Null,
        Y::Bool(b) => Json::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Json::from(i)
            } else if let Some(u) = n.as_u64() {
                Json::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Json::Number)
                    .unwrap_or(Json::Null)
            }
        }
        Y::String(s) => Json::String(s),
        Y::Sequence(seq) => Json::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => Json::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Y::String(s) => s,
                        other => serde_yaml_ng::to_string(&other)
                            .unwrap_or_default()
                            .trim()
                            .to_string(),
                    };
                    (key, yaml_to_json(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

fn as_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of strings, or a comma/space separated string (Obsidian writes `tags: a, b`).
fn as_list(v: &Json) -> Option<Vec<String>> {
    let items: Vec<String> = match v {
        Json::Null => vec![],
        Json::Array(a) => a.iter().filter_map(as_string).collect(),
        Json::String(s) => s.split([',', ' ']).map(str::to_string).collect(),
        _ => return None,
    };
    Some(
        items
            .into_iter()
            .map(|t| t.trim().trim_start_matches('#').to_string())
            .filter(|t| !t.is_empty())
            .collect(),
    )
}

/// 0-based line (within the front matter) where `key` is defined at top level.
fn key_line(front: &str, key: &str, format: Format) -> Option<usize> {
    front.lines().position(|l| {
        let rest = match l.strip_prefix(key) {
            Some(r) => r.trim_start(),
            None => return false,
        };
        match format {
            Format::Yaml => rest.starts_with(':'),
            Format::Toml => rest.starts_with('='),
        }
    })
}

/// Dates as Hugo, Jekyll, Obsidian and Zola users write them. Times without a zone are UTC.
pub fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%d %H:%M:%S%z",
        "%Y-%m-%d %H:%M %z",
        "%Y-%m-%dT%H:%M:%S%z",
    ] {
        if let Ok(d) = DateTime::parse_from_str(s, fmt) {
            return Some(d);
        }
    }
    let utc = FixedOffset::east_opt(0)?;
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(utc.from_utc_datetime(&d));
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Some(utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
        }
    }
    let _ = Utc::now;
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_front_matter_is_split_with_body_line() {
        let s = split("---\ntitle: A\n---\n# Body\n").unwrap();
        assert_eq!(s.front, Some(("title: A\n", Format::Yaml)));
        assert_eq!(s.body, "# Body\n");
        assert_eq!(s.body_line, 4);
    }

    #[test]
    fn toml_front_matter_and_no_front_matter() {
        let s = split("+++\ntitle = \"A\"\n+++\nbody").unwrap();
        assert_eq!(s.front.unwrap().1, Format::Toml);
        let s = split("# Just a note\n").unwrap();
        assert_eq!((s.front, s.body_line), (None, 1));
        // A thematic break later in the file is not front matter.
        assert!(split("text\n---\nmore").unwrap().front.is_none());
    }

    #[test]
    fn front_matter_after_a_bom_or_blank_lines_is_front_matter() {
        // Zola accepts `\n+++`; editors add a BOM. Lines still count from the file's start.
        let s = split("\n\n+++\ntitle = \"A\"\n+++\nbody\n").unwrap();
        assert_eq!(s.front, Some(("title = \"A\"\n", Format::Toml)));
        assert_eq!((s.front_line, s.body, s.body_line), (4, "body\n", 6));
        let s = split("\u{feff}---\ntitle: A\n---\nbody").unwrap();
        assert_eq!((s.front.map(|f| f.0), s.body), (Some("title: A\n"), "body"));
        let s = split("\u{feff}\r\n---\r\ntitle: A\r\n---\r\nbody").unwrap();
        assert_eq!(s.front.map(|f| f.0), Some("title: A\r\n"));
        // After blank lines, rules around prose are a body, not front matter, closed or not.
        for text in [
            "\n---\nJust prose.\n---\nmore\n",
            "\n---\nprose\n",
            "\n\n---\n",
        ] {
            let s = split(text).unwrap();
            assert_eq!((s.front, s.body, s.body_line), (None, text, 1), "{text:?}");
        }
    }

    #[test]
    fn unclosed_front_matter_says_how_to_close_it() {
        let e = split("---\ntitle: A\n# Body\n").unwrap_err();
        assert!(
            e.message.contains("never closed") && e.hint.contains("`---`"),
            "{e:?}"
        );
    }

    #[test]
    fn known_keys_are_typed_and_the_rest_is_extra() {
        let fm = parse(
            "title: Go GC\ndate: 2021-03-04\nlastmod: 2021-03-05 10:00:00\ntags: [go, gc]\ndescription: d\ndraft: false\nweight: 3\nslug: go-gc\naliases: [/old/gc/, GC 笔记]\nlayout: post\ncategories: [runtime]\n",
            Format::Yaml,
            2,
        )
        .unwrap();
        assert_eq!(fm.title.as_deref(), Some("Go GC"));
        assert_eq!(
            fm.date.unwrap().format("%Y-%m-%d").to_string(),
            "2021-03-04"
        );
        assert_eq!(fm.updated.unwrap().format("%H:%M").to_string(), "10:00");
        assert_eq!(fm.tags, vec!["go", "gc"]);
        assert_eq!(fm.summary.as_deref(), Some("d"));
        assert_eq!(
            (fm.draft, fm.weight, fm.slug.as_deref()),
            (false, Some(3), Some("go-gc"))
        );
        assert_eq!(fm.redirect_aliases, vec!["/old/gc/"]);
        assert_eq!(fm.name_aliases, vec!["GC 笔记"]);
        assert_eq!(fm.extra["layout"], "post");
        assert_eq!(fm.extra["categories"][0], "runtime");
    }

    #[test]
    fn obsidian_string_tags_and_hugo_toml_load_unchanged() {
        // `tags: a, b` is one YAML string; Obsidian's `#tag` form is accepted inside lists.
        let fm = parse("tags: docker, linux\n", Format::Yaml, 2).unwrap();
        assert_eq!(fm.tags, vec!["docker", "linux"]);
        let fm = parse("tags: [\"#docker\", linux]\n", Format::Yaml, 2).unwrap();
        assert_eq!(fm.tags, vec!["docker", "linux"]);
        let fm = parse(
            "title = \"T\"\ndate = 2021-01-02T03:04:05Z\ntags = [\"a\"]\n",
            Format::Toml,
            2,
        )
        .unwrap();
        assert_eq!(fm.title.as_deref(), Some("T"));
        assert_eq!(
            fm.date.unwrap().format("%Y-%m-%d").to_string(),
            "2021-01-02"
        );
    }

    #[test]
    fn malformed_yaml_reports_the_file_line() {
        // Front matter starts on file line 2; the bad line is the 3rd front matter line.
        let e = parse("title: ok\ntags: [a, b\nslug: x\n", Format::Yaml, 2).unwrap_err();
        assert!(e.line >= 3 && e.line <= 4, "line {}", e.line);
        assert!(
            e.message.starts_with("invalid YAML front matter"),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_values_name_their_key_line() {
        let e = parse("title: ok\ndate: someday\n", Format::Yaml, 2).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("not a date"));
        let e = parse("title: \"\"\n", Format::Yaml, 2).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (2, "`title` is empty"));
        let e = parse("x: 1\nslug: a b\n", Format::Yaml, 2).unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn date_shapes() {
        for s in [
            "2024-05-01",
            "2024/05/01",
            "2024-05-01 10:30",
            "2024-05-01 10:30:00",
            "2024-05-01T10:30:00+08:00",
            "2024-05-01 10:30:00 +0800",
        ] {
            assert!(parse_date(s).is_some(), "{s}");
        }
        assert!(parse_date("May 1st").is_none());
    }

    #[test]
    fn slugs_and_aliases_that_would_leave_the_site_name_their_line() {
        for (fm, line, what) in [
            ("title: t\nslug: \"..\"\n", 3, "slug `..`"),
            ("title: t\nslug: a?b\n", 3, "`?`"),
            ("title: t\nslug: \"%2e%2e\"\n", 3, "percent-encoded"),
            (
                "aliases: [\"/../../victim/existing.html\"]\n",
                2,
                "`..` segment",
            ),
            (
                "x: 1\naliases:\n  - /ok/\n  - \"/a\\\\b/\"\n",
                3,
                "backslash",
            ),
            ("aliases: [\"/a/%2E%2E/b\"]\n", 2, "percent-encoded"),
        ] {
            let e = parse(fm, Format::Yaml, 2).unwrap_err();
            assert_eq!(e.line, line, "{fm}");
            assert!(e.message.contains(what), "{fm}: {}", e.message);
        }
        let ok = parse(
            "title: t\n\naliases: [/old/a/, Other name]\n",
            Format::Yaml,
            2,
        )
        .unwrap();
        assert_eq!(ok.aliases_line, 4);
        assert_eq!(ok.redirect_aliases, ["/old/a/"]);
    }
}
