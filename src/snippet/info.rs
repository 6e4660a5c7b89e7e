//! Fence info strings: ```` ```LANG attr attr=value {attr="quoted value"} ````.
//!
//! This is the contract between a note and `kb verify`: the first word is the language (all that
//! GitHub and editors look at), everything after it is snippet attributes in `key=value`,
//! `key="value with spaces"` or bare-flag form, optionally wrapped in `{...}`. The markdown stage
//! uses the language for highlighting and strips the rest; the verify stage plans runs from the
//! attributes. Parsing happens once, here, into typed values.

use std::fmt;
use std::time::Duration;

pub use super::limits::{
    human_bytes, human_cpus, parse_cpus, parse_memory, parse_pids, Limits, MIN_MEMORY,
};

/// A code block's language, parsed from the first word of the fence info string.
/// Languages that `kb verify` knows how to run are variants; anything else is kept verbatim
/// for highlighting only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Lang {
    Go,
    Sh,
    Bash,
    C,
    Python,
    /// A transcript: `$ cmd` lines followed by their expected output.
    Console,
    Dockerfile,
    /// Any other language name (lower-cased), highlighted if syntect knows it.
    Other(String),
}

impl Lang {
    pub fn parse(word: &str) -> Lang {
        match word.to_ascii_lowercase().as_str() {
            "go" | "golang" => Lang::Go,
            "sh" | "shell" => Lang::Sh,
            "bash" => Lang::Bash,
            "c" => Lang::C,
            "python" | "py" | "python3" => Lang::Python,
            "console" | "shell-session" | "shellsession" => Lang::Console,
            "dockerfile" | "docker" => Lang::Dockerfile,
            other => Lang::Other(other.to_string()),
        }
    }

    /// The name used for highlighting and CSS classes.
    pub fn as_str(&self) -> &str {
        match self {
            Lang::Go => "go",
            Lang::Sh => "sh",
            Lang::Bash => "bash",
            Lang::C => "c",
            Lang::Python => "python",
            Lang::Console => "console",
            Lang::Dockerfile => "dockerfile",
            Lang::Other(s) => s,
        }
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `network=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    None,
    Bridge,
}

/// `requires=` values: what the engine must offer for a session to run. A session whose
/// requirement the engine does not meet is reported skipped with the reason, not failed, so a
/// note written on one kind of host still verifies (in part) on another.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Requirement {
    /// `cgroup-v1`: the engine's host uses cgroup v1 (per-controller hierarchies such as
    /// /sys/fs/cgroup/memory/).
    #[serde(rename = "cgroup-v1")]
    CgroupV1,
    /// `cgroup-v2`: the engine's host uses the unified cgroup v2 hierarchy.
    #[serde(rename = "cgroup-v2")]
    CgroupV2,
}

impl Requirement {
    pub const ALL: [Requirement; 2] = [Requirement::CgroupV1, Requirement::CgroupV2];

    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::CgroupV1 => "cgroup-v1",
            Requirement::CgroupV2 => "cgroup-v2",
        }
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `skip` or `skip="reason"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Skip {
    pub reason: Option<String>,
}

/// Every snippet attribute of a fence, typed. Field docs are the user-facing contract
/// (README "Snippet syntax").
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Attrs {
    /// `run`: execute this block.
    pub run: bool,
    /// `output`: the expected output of the runnable block right before this one.
    pub output: bool,
    /// `file=PATH`: write the block's text to PATH inside the session's work dir `/work`.
    pub file: Option<String>,
    /// `session=NAME`: blocks with the same session in one note share one container.
    pub session: Option<String>,
    /// `image=REF`: a `snippets/images/NAME` image or any image reference.
    pub image: Option<String>,
    /// `restart`: stop + start the session's container before this block.
    pub restart: bool,
    /// `exit=N`: expected exit status of a non-console runnable block.
    pub exit: Option<i32>,
    /// `timeout=DURATION`, e.g. `30s`, `2m`, `1h30m`, `500ms` (at most 24h).
    pub timeout: Option<Duration>,
    /// `caps=CAP,CAP`.
    pub caps: Vec<String>,
    /// `sysctl=key=value` (may repeat).
    pub sysctl: Vec<(String, String)>,
    /// `privileged`.
    pub privileged: bool,
    /// `network=none|bridge`.
    pub network: Option<Network>,
    /// `docker`: the session can talk to the engine that runs it.
    pub docker: bool,
    /// `hidden`: run or write it, but do not show the block on the site.
    pub hidden: bool,
    /// `skip` / `skip="reason"`: documented, never run.
    pub skip: Option<Skip>,
    /// `requires=cgroup-v1` (comma-separated): run the session only on an engine that offers
    /// this; elsewhere its blocks are reported skipped with the reason.
    pub requires: Vec<Requirement>,
    /// `pids=N`: most processes and threads in the session's container.
    pub pids: Option<u32>,
    /// `memory=SIZE` (`512m`, `2g`): most memory of the session's container, in bytes.
    pub memory: Option<u64>,
    /// `cpus=N` (`0.5`, `4`): CPU time of the session's container, in thousandths of a CPU.
    pub millicpus: Option<u32>,
    /// `id=NAME`: stable name in reports.
    pub id: Option<String>,
    /// `cmd="..."`: how to run a non-console block (`{file}` is replaced by its path).
    pub cmd: Option<String>,
}

impl Attrs {
    /// Does this block take part in verification at all?
    pub fn is_verified(&self) -> bool {
        self.run || self.file.is_some() || self.output
    }
}

/// A parsed fence info string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FenceInfo {
    /// `None` for a bare ```` ``` ```` fence.
    pub lang: Option<Lang>,
    pub attrs: Attrs,
}

/// Why an info string was rejected. `column` is 1-based within the info string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (column {column} of the fence info string); {hint}")]
pub struct AttrError {
    pub column: usize,
    pub message: String,
    pub hint: String,
}

/// Every attribute name we accept, for "did you mean" hints.
pub const KNOWN_ATTRS: &[&str] = &[
    "run",
    "output",
    "file",
    "session",
    "image",
    "restart",
    "exit",
    "timeout",
    "caps",
    "sysctl",
    "privileged",
    "network",
    "docker",
    "hidden",
    "skip",
    "requires",
    "pids",
    "memory",
    "cpus",
    "id",
    "cmd",
];

/// Parse a fence info string. An info string with only a language (the common case, and every
/// non-kb markdown file) never fails.
pub fn parse(info: &str) -> Result<FenceInfo, AttrError> {
    let info = info.trim();
    if info.is_empty() {
        return Ok(FenceInfo::default());
    }
    // First word is the language; `{` may follow it directly (```go{run}).
    let lang_end = info
        .find(|c: char| c.is_whitespace() || c == '{')
        .unwrap_or(info.len());
    let lang_word = &info[..lang_end];
    // ```output is the common way to write an expected-output block: `output` is then the
    // attribute, not a language.
    let bare_output = lang_word == "output";
    let lang = if lang_word.is_empty() || bare_output {
        None
    } else {
        Some(Lang::parse(lang_word))
    };
    // columns count characters, not bytes (a Chinese value before an error)
    let mut rest_start = info[..lang_end].chars().count();
    let mut rest = &info[lang_end..];
    // Optional `{ ... }` wrapper around the attributes.
    let trimmed = rest.trim_start();
    if let Some(inner) = trimmed.strip_prefix('{') {
        rest_start += rest[..rest.len() - trimmed.len()].chars().count() + 1;
        match inner.rfind('}') {
            Some(close) if inner[close + 1..].trim().is_empty() => rest = &inner[..close],
            _ => {
                return Err(AttrError {
                    column: rest_start,
                    message: "unclosed `{` in the attributes".into(),
                    hint: "close the attribute list with `}` at the end of the line".into(),
                })
            }
        }
    }
    let mut attrs = Attrs {
        output: bare_output,
        ..Attrs::default()
    };
    let mut seen: Vec<(String, usize)> = Vec::new();
    for token in tokenize(rest, rest_start)? {
        // Each attribute once (`id=a id=b` would silently keep one), but `sysctl=` repeats.
        if token.key != "sysctl" {
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == token.key) {
                return Err(AttrError {
                    column: token.column,
                    message: format!("`{}` is given twice (first at column {first})", token.key),
                    hint: "give each attribute once (lists like caps= take commas: `caps=A,B`)"
                        .into(),
                });
            }
            seen.push((token.key.clone(), token.column));
        }
        apply(&mut attrs, token)?;
    }
    Ok(FenceInfo { lang, attrs })
}

struct Token {
    column: usize,
    key: String,
    value: Option<String>,
}

/// Split `a b=c d="e f"` into tokens, honouring double quotes (with `\"` and `\\` escapes).
/// Commas between attributes are accepted as separators too (`{run, session=x}`).
fn tokenize(s: &str, offset: usize) -> Result<Vec<Token>, AttrError> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        if c.is_whitespace() || c == ',' {
            i += 1;
            continue;
        }
        let column = offset + s[..pos].chars().count() + 1;
        let mut key = String::new();
        while i < chars.len()
            && !chars[i].1.is_whitespace()
            && chars[i].1 != '='
            && chars[i].1 != ','
        {
            key.push(chars[i].1);
            i += 1;
        }
        let mut value = None;
        if i < chars.len() && chars[i].1 == '=' {
            i += 1;
            let mut v = String::new();
            if i < chars.len() && chars[i].1 == '"' {
                i += 1;
                let mut closed = false;
                while i < chars.len() {
                    match chars[i].1 {
                        '\\' if i + 1 < chars.len() && matches!(chars[i + 1].1, '"' | '\\') => {
                            v.push(chars[i + 1].1);
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
                    return Err(AttrError {
                        column,
                        message: format!("unterminated quoted value for `{key}`"),
                        hint: "close the value with `\"`".into(),
                    });
                }
            } else {
                // Unquoted value: runs to the next whitespace (commas allowed inside: caps=A,B).
                while i < chars.len() && !chars[i].1.is_whitespace() {
                    v.push(chars[i].1);
                    i += 1;
                }
                // A comma at the end separates this attribute from the next (`{run, session=a, x}`).
                while v.ends_with(',') {
                    v.pop();
                }
            }
            value = Some(v);
        }
        if key.is_empty() {
            return Err(AttrError {
                column,
                message: "an attribute has no name".into(),
                hint: "write attributes as `key=value` or a bare `flag`".into(),
            });
        }
        tokens.push(Token { column, key, value });
    }
    Ok(tokens)
}

fn apply(a: &mut Attrs, t: Token) -> Result<(), AttrError> {
    let err = |message: String, hint: &str| AttrError {
        column: t.column,
        message,
        hint: hint.to_string(),
    };
    let need_value = |v: &Option<String>, example: &str| -> Result<String, AttrError> {
        match v {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            _ => Err(AttrError {
                column: t.column,
                message: format!("`{}` needs a value", t.key),
                hint: format!("write it as `{example}`"),
            }),
        }
    };
    let no_value = |v: &Option<String>| -> Result<(), AttrError> {
        match v {
            None => Ok(()),
            Some(_) => Err(AttrError {
                column: t.column,
                message: format!("`{}` is a flag and takes no value", t.key),
                hint: format!("write just `{}`", t.key),
            }),
        }
    };
    match t.key.as_str() {
        "run" => {
            no_value(&t.value)?;
            a.run = true
        }
        "output" => {
            no_value(&t.value)?;
            a.output = true
        }
        "restart" => {
            no_value(&t.value)?;
            a.restart = true
        }
        "privileged" => {
            no_value(&t.value)?;
            a.privileged = true
        }
        "docker" => {
            no_value(&t.value)?;
            a.docker = true
        }
        "hidden" => {
            no_value(&t.value)?;
            a.hidden = true
        }
        "skip" => {
            a.skip = Some(Skip {
                reason: t.value.clone().filter(|r| !r.is_empty()),
            })
        }
        "file" => {
            let path = need_value(&t.value, "file=main.go")?;
            check_relative_path(&path).map_err(|(m, h)| err(m, h))?;
            a.file = Some(path)
        }
        "session" => a.session = Some(need_value(&t.value, "session=gc")?),
        "image" => a.image = Some(need_value(&t.value, "image=go")?),
        "id" => a.id = Some(need_value(&t.value, "id=panic-defer-order")?),
        "cmd" => a.cmd = Some(need_value(&t.value, "cmd=\"go run {file}\"")?),
        "exit" => {
            let v = need_value(&t.value, "exit=2")?;
            a.exit = Some(v.parse().map_err(|_| {
                err(
                    format!("`exit={v}` is not an integer exit status"),
                    "write e.g. `exit=2`",
                )
            })?)
        }
        "timeout" => {
            let v = need_value(&t.value, "timeout=30s")?;
            a.timeout = Some(
                crate::duration::parse(&v, crate::duration::MAX_TIMEOUT)
                    .map_err(|e| err(format!("`timeout={v}` {e}"), &e.hint("timeout=30s")))?,
            )
        }
        "caps" => {
            let v = need_value(&t.value, "caps=NET_ADMIN,SYS_ADMIN")?;
            for cap in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let cap = cap.to_ascii_uppercase();
                let cap = cap.strip_prefix("CAP_").unwrap_or(&cap).to_string();
                if !cap.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    return Err(err(
                        format!("`{cap}` is not a capability name"),
                        "use names like NET_ADMIN,SYS_ADMIN",
                    ));
                }
                a.caps.push(cap);
            }
        }
        "sysctl" => {
            let v = need_value(&t.value, "sysctl=kernel.shmmax=68719476736")?;
            let (k, val) = v.split_once('=').ok_or_else(|| {
                err(
                    format!("`sysctl={v}` has no value"),
                    "write `sysctl=key=value`, e.g. `sysctl=net.ipv4.ip_forward=1`",
                )
            })?;
            a.sysctl.push((k.to_string(), val.to_string()));
        }
        "requires" => {
            let v = need_value(&t.value, "requires=cgroup-v1")?;
            for r in v.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                let req = Requirement::ALL
                    .into_iter()
                    .find(|k| k.as_str() == r)
                    .ok_or_else(|| {
                        let known: Vec<&str> =
                            Requirement::ALL.iter().map(|k| k.as_str()).collect();
                        err(
                            format!("`requires={r}` is not a known requirement"),
                            &format!("use one of: {}", known.join(", ")),
                        )
                    })?;
                if !a.requires.contains(&req) {
                    a.requires.push(req);
                }
            }
        }
        "pids" => {
            let v = need_value(&t.value, "pids=64")?;
            a.pids = Some(parse_pids(&v).ok_or_else(|| {
                err(
                    format!("`pids={v}` is not a process count"),
                    "write a whole number of processes, e.g. `pids=64`",
                )
            })?)
        }
        "memory" => {
            let v = need_value(&t.value, "memory=512m")?;
            a.memory = Some(parse_memory(&v).ok_or_else(|| {
                err(
                    format!("`memory={v}` is not a memory size of at least 6 MiB"),
                    "write a size like `memory=512m` or `memory=2g`",
                )
            })?)
        }
        "cpus" => {
            let v = need_value(&t.value, "cpus=1")?;
            a.millicpus = Some(parse_cpus(&v).ok_or_else(|| {
                err(
                    format!("`cpus={v}` is not a number of CPUs"),
                    "write a number of CPUs from 0.01 up, e.g. `cpus=1` or `cpus=0.5`",
                )
            })?)
        }
        "network" => {
            let v = need_value(&t.value, "network=bridge")?;
            a.network = Some(match v.as_str() {
                "none" => Network::None,
                "bridge" => Network::Bridge,
                _ => {
                    return Err(err(
                        format!("`network={v}` is not supported"),
                        "use `network=none` or `network=bridge`",
                    ))
                }
            })
        }
        unknown => {
            let hint = match closest(unknown) {
                Some(k) => format!(
                    "did you mean `{k}`? known attributes: {}",
                    KNOWN_ATTRS.join(", ")
                ),
                None => format!("known attributes: {}", KNOWN_ATTRS.join(", ")),
            };
            return Err(AttrError {
                column: t.column,
                message: format!("unknown snippet attribute `{unknown}`"),
                hint,
            });
        }
    }
    Ok(())
}

/// `file=` must stay inside the session's work dir.
fn check_relative_path(path: &str) -> Result<(), (String, &'static str)> {
    if path.starts_with('/') {
        return Err((
            format!("`file={path}` is absolute"),
            "file= paths are relative to the session's work dir /work, e.g. `file=main.go`",
        ));
    }
    if path.split('/').any(|c| c == "..") {
        return Err((
            format!("`file={path}` escapes the work dir"),
            "remove the `..`: file= paths must stay inside /work",
        ));
    }
    // `.`, `./`, `a/` or `a//b` name a directory (or nothing), not a file to write.
    let parts: Vec<&str> = path.split('/').collect();
    let names_a_file = match parts.split_last() {
        Some((last, dirs)) => {
            !last.is_empty() && *last != "." && dirs.iter().all(|c| !c.is_empty())
        }
        None => false,
    };
    if !names_a_file || path.contains('\0') {
        return Err((
            format!("`file={path}` does not name a file"),
            "give a file path relative to /work, e.g. `file=main.go` or `file=src/main.go`",
        ));
    }
    Ok(())
}

fn closest(word: &str) -> Option<&'static str> {
    KNOWN_ATTRS
        .iter()
        .map(|k| (strsim::levenshtein(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_language_has_no_attributes() {
        let f = parse("go").unwrap();
        assert_eq!(f.lang, Some(Lang::Go));
        assert!(!f.attrs.is_verified());
        assert_eq!(parse("").unwrap(), FenceInfo::default());
    }

    #[test]
    fn space_separated_and_braced_forms_are_equivalent() {
        let a = parse("go run session=gc image=go").unwrap();
        let b = parse("go {run session=gc image=go}").unwrap();
        let c = parse("go{run, session=gc, image=go}").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(a.attrs.run);
        assert_eq!(a.attrs.session.as_deref(), Some("gc"));
        assert_eq!(a.attrs.image.as_deref(), Some("go"));
    }

    #[test]
    fn every_attribute_parses_to_its_typed_value() {
        let f = parse(
            r#"c run output file=src/shm.c session=s image=gcc restart exit=2 timeout=90s caps=net_admin,CAP_SYS_ADMIN sysctl=kernel.shmmax=1024 sysctl=net.ipv4.ip_forward=1 privileged network=bridge docker hidden skip="needs kernel 3.10" id=shm-1 cmd="cc -o x {file} && ./x""#,
        )
        .unwrap();
        let a = f.attrs;
        assert_eq!(f.lang, Some(Lang::C));
        assert!(a.run && a.output && a.restart && a.privileged && a.docker && a.hidden);
        assert_eq!(a.file.as_deref(), Some("src/shm.c"));
        assert_eq!(a.exit, Some(2));
        assert_eq!(a.timeout, Some(Duration::from_secs(90)));
        assert_eq!(a.caps, vec!["NET_ADMIN", "SYS_ADMIN"]);
        assert_eq!(
            a.sysctl,
            vec![
                ("kernel.shmmax".into(), "1024".into()),
                ("net.ipv4.ip_forward".into(), "1".into())
            ]
        );
        assert_eq!(a.network, Some(Network::Bridge));
        assert_eq!(
            a.skip,
            Some(Skip {
                reason: Some("needs kernel 3.10".into())
            })
        );
        assert_eq!(a.id.as_deref(), Some("shm-1"));
        assert_eq!(a.cmd.as_deref(), Some("cc -o x {file} && ./x"));
    }

    #[test]
    fn a_fence_named_output_is_the_output_attribute() {
        let f = parse("output").unwrap();
        assert_eq!(f.lang, None);
        assert!(f.attrs.output && f.attrs.is_verified());
        let f = parse("text output").unwrap();
        assert_eq!(f.lang, Some(Lang::Other("text".into())));
        assert!(f.attrs.output);
    }

    #[test]
    fn requires_lists_engine_requirements_and_rejects_unknown_ones() {
        assert_eq!(
            parse("sh run requires=cgroup-v1").unwrap().attrs.requires,
            [Requirement::CgroupV1]
        );
        let e = parse("sh run requires=cgroup-v3").unwrap_err();
        assert!(e.message.contains("cgroup-v3"), "{e}");
        assert!(e.hint.contains("cgroup-v1, cgroup-v2"), "{e}");
    }

    #[test]
    fn limits_parse_to_bytes_processes_and_thousandths_of_a_cpu() {
        let a = parse("console run pids=32 memory=512m cpus=0.5")
            .unwrap()
            .attrs;
        assert_eq!(
            (a.pids, a.memory, a.millicpus),
            (Some(32), Some(512 << 20), Some(500))
        );
        for (v, bytes) in [
            ("1g", 1u64 << 30),
            ("1GiB", 1 << 30),
            ("64MiB", 64 << 20),
            ("8M", 8 << 20),
            ("1.5g", 3 << 29),
            ("10485760", 10 << 20),
        ] {
            assert_eq!(parse_memory(v), Some(bytes), "{v}");
        }
        assert_eq!(parse_memory("1m"), None, "below what the engine accepts");
        assert_eq!(parse_memory("lots"), None);
        assert_eq!(parse_cpus("2"), Some(2000));
        assert_eq!(parse_cpus("0"), None);
        assert_eq!(parse_pids("0"), None);
        for bad in ["pids=many", "memory=1x", "cpus=-1", "memory"] {
            assert!(parse(&format!("sh run {bad}")).is_err(), "{bad}");
        }
        assert_eq!(human_bytes(512 << 20), "512 MiB");
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_cpus(1500), "1.5");
        assert_eq!(human_cpus(2000), "2");
    }

    #[test]
    fn bare_skip_has_no_reason() {
        assert_eq!(
            parse("sh skip").unwrap().attrs.skip,
            Some(Skip { reason: None })
        );
    }

    #[test]
    fn unknown_attribute_suggests_the_closest_known_one() {
        let e = parse("go run sesion=x").unwrap_err();
        assert_eq!(e.column, 8);
        assert!(e.message.contains("unknown snippet attribute `sesion`"));
        assert!(e.hint.contains("did you mean `session`"));
    }

    #[test]
    fn file_paths_must_stay_inside_the_work_dir() {
        assert!(parse("go file=../x.go")
            .unwrap_err()
            .message
            .contains("escapes"));
        assert!(parse("go file=/etc/passwd")
            .unwrap_err()
            .message
            .contains("absolute"));
        assert!(parse("go file=a/b.go").is_ok());
        assert!(parse("go file=./b.go").is_ok());
        for bad in [".", "./", "a/", "a//b.go", "a/."] {
            let e = parse(&format!("go file={bad}")).unwrap_err();
            assert!(e.message.contains("does not name a file"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_attribute_given_twice_is_an_error_but_sysctl_repeats() {
        let e = parse("sh run id=a id=b").unwrap_err();
        assert_eq!(e.column, 13);
        assert!(
            e.message
                .contains("`id` is given twice (first at column 8)"),
            "{e}"
        );
        assert!(parse("sh run run")
            .unwrap_err()
            .message
            .contains("`run` is given twice"));
        assert!(parse("sh run sysctl=a=1 sysctl=b=2").is_ok());
    }

    #[test]
    fn flags_reject_values_and_keys_require_them() {
        assert!(parse("go run=yes").unwrap_err().message.contains("flag"));
        assert!(parse("go session")
            .unwrap_err()
            .message
            .contains("needs a value"));
        assert!(parse("go exit=two")
            .unwrap_err()
            .message
            .contains("not an integer"));
        assert!(parse(r#"go cmd="unterminated"#)
            .unwrap_err()
            .message
            .contains("unterminated"));
        assert!(parse("go {run").unwrap_err().message.contains("unclosed"));
    }

    #[test]
    fn timeouts_are_bounded_and_never_panic() {
        assert_eq!(
            parse("sh run timeout=1m30s").unwrap().attrs.timeout,
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse("sh run timeout=15").unwrap().attrs.timeout,
            Some(Duration::from_secs(15))
        );
        for bad in ["0s", "soon", "25h", "1e30s", "99999999999999999999999h"] {
            let e = parse(&format!("sh run timeout={bad}")).unwrap_err();
            assert!(e.message.contains(&format!("`timeout={bad}`")), "{e}");
            assert_eq!(e.column, 8, "{e}");
        }
        let e = parse("sh run timeout=25h").unwrap_err();
        assert!(e.message.contains("limit of 24h"), "{e}");
        assert!(e.hint.contains("at most 24h"), "{e}");
    }

    #[test]
    fn language_aliases() {
        assert_eq!(Lang::parse("Golang"), Lang::Go);
        assert_eq!(Lang::parse("shell-session"), Lang::Console);
        assert_eq!(Lang::parse("yaml"), Lang::Other("yaml".into()));
    }

    #[test]
    fn error_columns_count_characters_not_bytes() {
        let e = parse("run=写屏障 0=").unwrap_err();
        assert_eq!(e.column, 9, "{e}");
        let e = parse("sh {id=写屏障 =x}").unwrap_err();
        assert_eq!(e.column, 12, "{e}");
    }
}
