//! Fence info strings: ```` ```LANG attr attr=value {attr="quoted value"} ````, and the rule
//! that tells kb's snippet attributes from other tools' (docs/snippets.md, "Other tools'
//! attributes", says the same for users).
//!
//! This is the contract between a note and `kb verify`. The language is the first word, up to a
//! space, a comma, `{` or `:` (`rust,ignore`, `go{run}`, `ts:line-numbers`). The attributes
//! after it ([`super::tokens`]) are of four kinds:
//!
//! - **kb's** ([`KNOWN_ATTRS`]). All but `file=` and `id=` belong to kb alone; a fence with one
//!   of those (or ```` ```output ````) is a **kb snippet**.
//! - **captions**: `file=` (kb and Hugo), `name=` (Zola), `title=` (Docusaurus, MkDocs),
//!   `caption=` (Hugo diagrams), `[label]` (VitePress): the file name shown above the block.
//! - **other tools'** ([`FOREIGN_ATTRS`], plus shapes: `.class`, `#id`, `:line-numbers`, line
//!   numbers like `3-5`, `edition2021`, rustdoc's `E0382`): accepted and ignored.
//! - **unknown**: anything else.
//!
//! On a kb snippet kb's attributes are checked and an unknown one is an error naming the closest
//! known name, as is a problem of form (an unclosed `{`). On any other block nothing is an
//! error: Hugo, Zola or mdBook accept attributes kb has never heard of, and a note written for
//! them must build as it is. Only two things carry over: a `file=` that names a relative path
//! (kb's form for a file a later runnable block uses) and `id=`. The one exception is a bare
//! word one edit from `run` (`rnu`, `Run`, `runn`): it makes the block a kb snippet, so the
//! typo is reported instead of the block silently never running.
//!
//! The markdown stage uses the language and the caption; the verify stage plans runs from the
//! attributes. Parsing happens once, here, into typed values.

use std::fmt;

pub use super::attrs::{Attrs, Network, Requirement, Shell, Skip, KNOWN_ATTRS};
pub use super::limits::{
    human_bytes, human_cpus, parse_cpus, parse_memory, parse_pids, Limits, MIN_MEMORY,
};
pub use super::tokens::AttrError;
use super::tokens::{tokenize, Token, Tokens};

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
    /// Any other language name (lower-cased), highlighted if the syntax set knows it.
    Other(String),
}

impl Lang {
    /// The language of a fence word; aliases come from [`crate::languages`] (`golang` is Go,
    /// `shell-session` a console transcript).
    pub fn parse(word: &str) -> Lang {
        match crate::languages::canonical(word).as_str() {
            "go" => Lang::Go,
            "sh" => Lang::Sh,
            "bash" => Lang::Bash,
            "c" => Lang::C,
            "python" => Lang::Python,
            "console" => Lang::Console,
            "dockerfile" => Lang::Dockerfile,
            _ => Lang::Other(word.to_ascii_lowercase()),
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

/// A parsed fence info string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FenceInfo {
    /// `None` for a bare ```` ``` ```` fence.
    pub lang: Option<Lang>,
    pub attrs: Attrs,
    /// The file name (or title) shown above the block: `file=`, `name=`, `title=`, `caption=`
    /// or `[label]`, the first one given.
    pub caption: Option<String>,
}

impl FenceInfo {
    /// The language and caption of a fence whose attributes [`parse`] refused, so the block
    /// still shows as what it is while the error is reported.
    pub fn plain(info: &str) -> FenceInfo {
        let (lang_word, tokens, rest_start) = split(info.trim());
        let Tokens { tokens, .. } = tokenize(tokens, rest_start);
        FenceInfo {
            lang: language(lang_word, &tokens),
            caption: tokens.iter().find_map(caption_of),
            ..FenceInfo::default()
        }
    }
}

/// Attribute names of other tools, accepted and ignored on every block (lower case; matched
/// in any case): Hugo, Zola, mdBook and rustdoc, the Rust book's own classes, MkDocs,
/// Docusaurus, Pandoc.
pub const FOREIGN_ATTRS: &[&str] = &[
    // Hugo (code fences and its render hooks)
    "anchorlinenos",
    "class",
    "codefences",
    "color",
    "copy",
    "details",
    "guesssyntax",
    "height",
    "hl_inline",
    "hl_lines",
    "lineanchors",
    "linenos",
    "linenostart",
    "noclasses",
    "open",
    "style",
    "summary",
    "tabwidth",
    "trim",
    "width",
    // Zola
    "hide_lines",
    // mdBook and rustdoc
    "compile_fail",
    "editable",
    "hidelines",
    "ignore",
    "mdbook-runnable",
    "no_run",
    "noplayground",
    "should_panic",
    "standalone_crate",
    "test_harness",
    // the Rust book's listing classes
    "does_not_compile",
    "not_desired_behavior",
    "panics",
    // MkDocs Material, Docusaurus, Pandoc
    "anchorlinenums",
    "linenums",
    "live",
    "numberlines",
    "showlinenumbers",
    "startfrom",
];

/// Caption attributes other than kb's `file=`.
const CAPTION_ATTRS: &[&str] = &["name", "title", "caption"];

/// kb attributes other tools use too: they alone don't make a block a kb snippet.
const SHARED_ATTRS: &[&str] = &["file", "id"];

/// What an attribute is, by the rule in this module's docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Kb,
    Caption,
    Foreign,
    Unknown,
}

fn kind_of(t: &Token) -> Kind {
    let lower = t.key.to_ascii_lowercase();
    let bare = t.value.is_none();
    if KNOWN_ATTRS.contains(&t.key.as_str()) {
        Kind::Kb
    } else if caption_of(t).is_some() {
        Kind::Caption
    } else if FOREIGN_ATTRS.contains(&lower.as_str())
        || t.key.starts_with(['.', '#', ':'])
        || bare && t.key.chars().all(|c| c.is_ascii_digit() || c == '-')
        || bare && is_word_then_digits(&lower, "edition")
        || bare && is_word_then_digits(&lower, "e")
    {
        Kind::Foreign
    } else {
        Kind::Unknown
    }
}

/// `edition2021`, `e0382`: `prefix` then digits only.
fn is_word_then_digits(word: &str, prefix: &str) -> bool {
    word.strip_prefix(prefix)
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The caption an attribute gives, if it is a caption: `file=`, `name=`, `title=`, `caption=`
/// with a value, or `[label]`.
fn caption_of(t: &Token) -> Option<String> {
    let text = match &t.value {
        Some(v)
            if t.key == "file" || CAPTION_ATTRS.contains(&t.key.to_ascii_lowercase().as_str()) =>
        {
            v.trim()
        }
        Some(_) => return None,
        None => t.key.strip_prefix('[')?.strip_suffix(']')?.trim(),
    };
    (!text.is_empty()).then(|| text.to_string())
}

/// A bare word one edit from `run` (`rnu`, `Run`, `runn`, `rn`): a typo of kb's own flag.
fn looks_like_run(t: &Token) -> bool {
    t.value.is_none() && strsim::osa_distance(&t.key.to_ascii_lowercase(), "run") <= 1
}

/// Split a trimmed info string into its language word and the attributes after it, with the
/// attributes' offset in characters.
fn split(info: &str) -> (&str, &str, usize) {
    let end = info
        .find(|c: char| c.is_whitespace() || matches!(c, '{' | ',' | ':'))
        .unwrap_or(info.len());
    (&info[..end], &info[end..], info[..end].chars().count())
}

/// The language: the first word, or (Pandoc, markdown-it: ```` ```{.python} ````) the first
/// `.class` when no word comes before the attributes. ```` ```output ```` is the attribute.
fn language(word: &str, tokens: &[Token]) -> Option<Lang> {
    if word == "output" {
        return None;
    }
    if !word.is_empty() {
        return Some(Lang::parse(word));
    }
    let first = tokens.first().filter(|t| t.value.is_none())?;
    let class = first.key.strip_prefix('.').filter(|c| !c.is_empty())?;
    Some(Lang::parse(class))
}

/// Parse a fence info string by the rule in this module's docs. Only a kb snippet can fail.
pub fn parse(info: &str) -> Result<FenceInfo, AttrError> {
    let info = info.trim();
    if info.is_empty() {
        return Ok(FenceInfo::default());
    }
    let (lang_word, rest, rest_start) = split(info);
    let Tokens { tokens, problem } = tokenize(rest, rest_start);
    let lang = language(lang_word, &tokens);
    let bare_output = lang_word == "output";
    let kinds: Vec<Kind> = tokens.iter().map(kind_of).collect();
    let snippet = bare_output
        || tokens.iter().zip(&kinds).any(|(t, k)| match k {
            Kind::Kb => !SHARED_ATTRS.contains(&t.key.as_str()),
            Kind::Unknown => looks_like_run(t),
            Kind::Caption | Kind::Foreign => false,
        });
    let mut fence = FenceInfo {
        lang,
        attrs: Attrs {
            output: bare_output,
            ..Attrs::default()
        },
        caption: None,
    };
    if !snippet {
        for t in tokens {
            if fence.caption.is_none() {
                fence.caption = caption_of(&t);
            }
            match (t.key.as_str(), t.value) {
                // checked where kb uses it: when a runnable block takes the file
                ("file", Some(path)) if !path.is_empty() => fence.attrs.file = Some(path),
                ("id", Some(id)) if !id.is_empty() => fence.attrs.id = Some(id),
                _ => {}
            }
        }
        return Ok(fence);
    }
    if let Some(problem) = problem {
        return Err(problem);
    }
    let mut seen: Vec<(String, usize)> = Vec::new();
    for (t, kind) in tokens.into_iter().zip(kinds) {
        if fence.caption.is_none() {
            fence.caption = caption_of(&t);
        }
        if matches!(kind, Kind::Caption | Kind::Foreign) {
            continue;
        }
        // Each attribute once (`id=a id=b` would silently keep one), but `sysctl=` repeats.
        if t.key != "sysctl" {
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == t.key) {
                return Err(AttrError {
                    column: t.column,
                    message: format!("`{}` is given twice (first at column {first})", t.key),
                    hint: "give each attribute once (lists like caps= take commas: `caps=A,B`)"
                        .into(),
                });
            }
            seen.push((t.key.clone(), t.column));
        }
        super::attrs::apply(&mut fence.attrs, t)?;
    }
    Ok(fence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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
        assert!(parse("go run file=../x.go")
            .unwrap_err()
            .message
            .contains("escapes"));
        assert!(parse("go session=a file=/etc/passwd")
            .unwrap_err()
            .message
            .contains("absolute"));
        assert!(parse("go run file=a/b.go").is_ok());
        assert!(parse("go run file=./b.go").is_ok());
        for bad in [".", "./", "a/", "a//b.go", "a/."] {
            let e = parse(&format!("go run file={bad}")).unwrap_err();
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
        let e = parse("sh run id=写屏障 0=").unwrap_err();
        assert_eq!(e.column, 15, "{e}");
        let e = parse("sh {run id=写屏障 =x}").unwrap_err();
        assert_eq!(e.column, 16, "{e}");
    }

    /// The first word up to a space, comma, `{` or `:` is the language, whatever follows.
    #[test]
    fn the_language_is_the_first_word_before_a_comma_space_brace_or_colon() {
        for (info, lang) in [
            ("rust,ignore", "rust"),
            ("rust,no_run", "rust"),
            ("scss, linenos", "scss"),
            ("go {linenos=true}", "go"),
            ("js{1,3-4}", "javascript"),
            ("ts:line-numbers {1}", "typescript"),
            ("{.python .numberLines}", "python"),
            ("TOML", "toml"),
        ] {
            let f = parse(info).unwrap_or_else(|e| panic!("{info}: {e}"));
            let got = f.lang.map(|l| crate::languages::canonical(l.as_str()));
            assert_eq!(got.as_deref(), Some(lang), "{info}");
            assert_eq!(f.attrs, Attrs::default(), "{info}: nothing for kb");
        }
    }

    /// Every style of other tools' attributes parses, without an error and without making the
    /// block a kb snippet.
    #[test]
    fn other_tools_attributes_are_accepted_and_ignored() {
        for info in [
            // Hugo
            r#"go-html-template {file="layouts/page.html" copy=true}"#,
            r#"sh {class="my-class" id="my-codeblock" lineNos=inline tabWidth=2}"#,
            r#"go {linenos=table,hl_lines=[8,"15-17"],linenostart=199}"#,
            r#"go {hl_lines=[2,3] linenos=table}"#,
            r#"goat {.w-40}"#,
            r#"goat {width=300 color="orange" caption="Figure 1"}"#,
            r#"css {file="/assets/css/main.css"}"#,
            r#"html {trim=false}"#,
            // Zola
            "rust,linenos",
            "rust,hl_lines=1 3-5 9",
            "rust,linenos,linenostart=20",
            "scss, linenos, linenostart=10, hl_lines=3-4 8-9, hide_lines=2 7",
            "rust,name=mod.rs",
            // mdBook, rustdoc and the Rust book
            "rust,ignore",
            "rust,editable",
            "rust,should_panic",
            "rust,noplayground",
            "rust,compile_fail,E0382",
            "rust,edition2021",
            "rust,ignore,does_not_compile",
            "rust,noplayground,test_harness,does_not_compile,ignore",
            // VitePress, Docusaurus, MkDocs, Pandoc
            "ts [vite.config.ts]",
            "js{4}",
            r#"jsx title="src/App.jsx" showLineNumbers"#,
            r#"py title="hello.py" linenums="1" hl_lines="2 3""#,
            "{.haskell .numberLines startFrom=100}",
            // not kb's concern either: a stray brace or quote, words kb has never seen
            "go {unclosed",
            r#"go {note="unterminated"#,
            "sh sesion=x flavour=mild",
        ] {
            let f = parse(info).unwrap_or_else(|e| panic!("{info}: {e}"));
            let a = &f.attrs;
            assert!(
                !(a.run || a.output || a.skip.is_some() || a.session.is_some() || a.hidden),
                "{info}: {a:?}"
            );
        }
    }

    #[test]
    fn file_name_title_and_labels_are_captions() {
        let caption = |info: &str| parse(info).unwrap().caption;
        assert_eq!(
            caption(r#"md {file="content/example.md" copy=true}"#).as_deref(),
            Some("content/example.md")
        );
        assert_eq!(caption("rust,name=mod.rs").as_deref(), Some("mod.rs"));
        assert_eq!(
            caption(r#"jsx title="App.jsx""#).as_deref(),
            Some("App.jsx")
        );
        assert_eq!(
            caption("ts [vite.config.ts]").as_deref(),
            Some("vite.config.ts")
        );
        assert_eq!(caption("go file=main.go run").as_deref(), Some("main.go"));
        assert_eq!(caption("go").as_deref(), None);
        // Hugo's `file=` is also kb's file for a runnable block after it (the planner checks
        // the path then); alone it is a caption, whatever the path
        let f = parse(r#"css {file="/assets/main.css" copy=true}"#).unwrap();
        assert_eq!(f.attrs.file.as_deref(), Some("/assets/main.css"));
        assert_eq!(f.caption.as_deref(), Some("/assets/main.css"));
    }

    #[test]
    fn a_kb_snippet_still_errors_on_typos_and_ignores_other_tools_attributes() {
        let e = parse(r#"sh {run sesion=x copy=true}"#).unwrap_err();
        assert!(e.message.contains("`sesion`"), "{e}");
        assert!(e.hint.contains("did you mean `session`"), "{e}");
        let e = parse("go {run").unwrap_err();
        assert!(e.message.contains("unclosed"), "{e}");
        let e = parse("go session=a file=../x.go").unwrap_err();
        assert!(e.message.contains("escapes"), "{e}");
        // `copy` is Hugo's, not a typo of `caps`; `linenos` and `3-5` are Zola's
        let f = parse(r#"sh {run copy=true file="build.sh" linenos hl_lines=1 3-5}"#).unwrap();
        assert!(f.attrs.run);
        assert_eq!(f.attrs.file.as_deref(), Some("build.sh"));
        assert_eq!(f.attrs.caps, Vec::<String>::new());
    }

    #[test]
    fn a_word_one_edit_from_run_is_a_typo_of_run() {
        for typo in ["rnu", "Run", "runn", "rn"] {
            let e = parse(&format!("go {typo}")).unwrap_err();
            assert!(e.hint.contains("did you mean `run`"), "{typo}: {e}");
        }
        assert!(
            parse("rust,no_run").is_ok(),
            "mdBook's no_run is not a typo"
        );
    }

    #[test]
    fn a_refused_fence_keeps_its_language_and_caption() {
        let info = r#"rust,ignore {run sesion=x file="src/main.rs"}"#;
        assert!(parse(info).is_err());
        let f = FenceInfo::plain(info);
        assert_eq!(f.lang, Some(Lang::Other("rust".into())));
        assert_eq!(f.caption.as_deref(), Some("src/main.rs"));
        assert!(!f.attrs.run);
    }
}
