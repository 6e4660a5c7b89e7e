//! `kb.toml`: optional site configuration, parsed strictly once into a validated [`Config`].
//!
//! Every table is optional and every key has a default, so a directory with only `content/*.md`
//! builds. Unknown keys are an error naming the key, the file and the line (serde's
//! `deny_unknown_fields` + the toml crate's spans).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::diagnostics::{ContentErrors, Diagnostic, DiagnosticKind};

/// `kb.toml` as written by the user.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct RawConfig {
    pub title: Option<String>,
    pub description: Option<String>,
    pub base_url: Option<String>,
    /// BCP 47 language tag for `<html lang>`; CJK search and fonts depend on it.
    pub language: Option<String>,
    /// A theme directory whose templates/static files override the built-in default theme.
    pub theme: Option<PathBuf>,
    pub search: SearchConfig,
    pub verify: VerifyConfig,
    pub serve: ServeConfig,
}

/// `[search]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct SearchConfig {
    /// Build the search index at all.
    pub enabled: bool,
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig { enabled: true }
    }
}

/// `[verify]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct VerifyConfig {
    /// Default per-block timeout, e.g. `"60s"` (at most 24h; checked while parsing, so an error
    /// names the line).
    #[serde(deserialize_with = "timeout_text")]
    pub timeout: String,
    /// Default image per language (`go = "go"`, `console = "debian:bookworm-slim"`).
    pub images: BTreeMap<String, String>,
    /// Run command per language; `{file}` is the block's file path inside `/work`.
    pub commands: BTreeMap<String, String>,
    /// Where results are written, relative to the root.
    pub results: PathBuf,
    /// Most processes per snippet container (default 512).
    pub pids: Option<u32>,
    /// Most memory per snippet container, e.g. `"1g"` (default 1 GiB).
    pub memory: Option<String>,
    /// CPUs per snippet container, e.g. `2` or `0.5` (default 2, at most the engine's).
    pub cpus: Option<f64>,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            timeout: "60s".into(),
            images: BTreeMap::new(),
            commands: BTreeMap::new(),
            results: PathBuf::from(".kb/verify-results.json"),
            pids: None,
            memory: None,
            cpus: None,
        }
    }
}

/// `[serve]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "snake_case")]
pub struct ServeConfig {
    pub port: u16,
    pub bind: String,
    /// How long the sources must be quiet before `kb serve` rebuilds (`"10ms"`): long enough
    /// to fold an editor's save (temp file, rename) into one rebuild. At most a minute.
    #[serde(deserialize_with = "debounce_text")]
    pub debounce: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            port: 1111,
            bind: "127.0.0.1".into(),
            debounce: "10ms".into(),
        }
    }
}

/// The validated configuration every stage reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// Knowledge base root (absolute).
    pub root: PathBuf,
    pub title: String,
    pub description: String,
    /// Absolute base URL, always ending in `/`.
    pub base_url: String,
    /// Path part of `base_url` without the trailing slash (`""` or `/kb`); prefixed to every
    /// internal link so the site works under a sub-path.
    pub base_path: String,
    pub language: String,
    /// Theme override dir (absolute), if any.
    pub theme_dir: Option<PathBuf>,
    pub search: SearchConfig,
    pub verify: VerifyConfig,
    pub default_timeout: Duration,
    /// Snippet container limits: `[verify]` `pids`, `memory`, `cpus` over the defaults.
    pub limits: crate::snippet::Limits,
    pub serve: ServeConfig,
}

impl Config {
    /// Load `ROOT/kb.toml` if it exists, else defaults.
    pub fn load(root: &Path) -> anyhow::Result<Config> {
        let root = root.canonicalize().with_context(|| {
            format!(
                "knowledge base root `{}` does not exist; pass an existing directory with --root",
                root.display()
            )
        })?;
        if !root.is_dir() {
            bail!(
                "`{}` is not a directory; --root takes the knowledge base directory",
                root.display()
            );
        }
        let path = root.join("kb.toml");
        let raw = match std::fs::read_to_string(&path) {
            Ok(text) => parse_raw(&text, Path::new("kb.toml"))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RawConfig::default(),
            Err(e) => return Err(e).with_context(|| format!("couldn't read `{}`", path.display())),
        };
        Config::validate(root, raw)
    }

    pub fn validate(root: PathBuf, raw: RawConfig) -> anyhow::Result<Config> {
        let cfg_err = |msg: String, hint: &str| {
            anyhow::Error::new(ContentErrors(vec![Diagnostic::error(
                DiagnosticKind::BadConfig,
                "kb.toml",
                None,
                msg,
            )
            .with_hint(hint)]))
        };
        let base_url = raw
            .base_url
            .unwrap_or_else(|| "http://127.0.0.1:1111/".into());
        let base_url = if base_url.ends_with('/') {
            base_url
        } else {
            format!("{base_url}/")
        };
        let after_scheme = base_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .ok_or_else(|| {
                cfg_err(
                    format!("base_url `{base_url}` is not an absolute URL"),
                    "write it like `https://example.com/kb/`",
                )
            })?;
        let base_path = after_scheme
            .find('/')
            .map(|i| &after_scheme[i..])
            .unwrap_or("/");
        let base_path = base_path.trim_end_matches('/').to_string();
        let default_timeout =
            crate::duration::parse(&raw.verify.timeout, crate::duration::MAX_TIMEOUT).map_err(
                |e| {
                    cfg_err(
                        format!("[verify] timeout `{}` {e}", raw.verify.timeout),
                        &e.hint("timeout = \"60s\""),
                    )
                },
            )?;
        let mut limits = crate::snippet::Limits::DEFAULT;
        if let Some(p) = raw.verify.pids {
            limits.pids = crate::snippet::info::parse_pids(&p.to_string()).ok_or_else(|| {
                cfg_err(
                    format!("[verify] pids `{p}` is not a process count"),
                    "use a whole number from 1 up, e.g. `pids = 512`",
                )
            })?;
        }
        if let Some(m) = &raw.verify.memory {
            limits.memory = crate::snippet::info::parse_memory(m).ok_or_else(|| {
                cfg_err(
                    format!("[verify] memory `{m}` is not a memory size of at least 6 MiB"),
                    "use e.g. `memory = \"1g\"` or `memory = \"512m\"`",
                )
            })?;
        }
        if let Some(c) = raw.verify.cpus {
            limits.millicpus =
                crate::snippet::info::parse_cpus(&c.to_string()).ok_or_else(|| {
                    cfg_err(
                        format!("[verify] cpus `{c}` is not a number of CPUs"),
                        "use a number from 0.01 up, e.g. `cpus = 2`",
                    )
                })?;
        }
        let theme_dir = raw
            .theme
            .map(|t| if t.is_absolute() { t } else { root.join(t) });
        if let Some(t) = &theme_dir {
            if !t.is_dir() {
                return Err(cfg_err(
                    format!("theme directory `{}` does not exist", t.display()),
                    "remove `theme` to use the built-in theme, or create the directory",
                ));
            }
        }
        Ok(Config {
            title: raw.title.unwrap_or_else(|| {
                root.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "Knowledge base".into())
            }),
            description: raw.description.unwrap_or_default(),
            base_url,
            base_path,
            language: raw.language.unwrap_or_else(|| "zh-CN".into()),
            theme_dir,
            search: raw.search,
            verify: raw.verify,
            default_timeout,
            limits,
            serve: raw.serve,
            root,
        })
    }

    pub fn content_dir(&self) -> PathBuf {
        self.root.join("content")
    }

    /// Where `kb verify` writes and `kb build` reads results.
    pub fn verify_results_path(&self) -> PathBuf {
        self.root.join(&self.verify.results)
    }

    /// kb's cache directory (highlight cache, search index, verify cache).
    pub fn cache_dir(&self) -> PathBuf {
        self.root.join(".kb")
    }

    /// Override the base URL (`--base-url`), re-deriving the base path.
    pub fn with_base_url(self, url: &str) -> anyhow::Result<Config> {
        let raw = RawConfig {
            base_url: Some(url.to_string()),
            ..self.to_raw()
        };
        Config::validate(self.root, raw)
    }

    fn to_raw(&self) -> RawConfig {
        RawConfig {
            title: Some(self.title.clone()),
            description: Some(self.description.clone()),
            base_url: Some(self.base_url.clone()),
            language: Some(self.language.clone()),
            theme: self.theme_dir.clone(),
            search: self.search.clone(),
            verify: self.verify.clone(),
            serve: self.serve.clone(),
        }
    }
}

/// Separates a value error's message from its hint inside a toml error message.
const HINT_SEP: &str = "\n  hint: ";

/// A duration key of kb.toml, checked while the file is parsed so that the error carries the
/// value's line; the text is kept (validated again into a `Duration` by [`Config::validate`]).
fn duration_text<'de, D: serde::Deserializer<'de>>(
    d: D,
    max: Duration,
    example: &str,
) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    match crate::duration::parse(&text, max) {
        Ok(_) => Ok(text),
        Err(e) => Err(serde::de::Error::custom(format!(
            "duration `{text}` {e}{HINT_SEP}{}",
            e.hint(example)
        ))),
    }
}

fn timeout_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    duration_text(d, crate::duration::MAX_TIMEOUT, "timeout = \"60s\"")
}

fn debounce_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    duration_text(d, crate::duration::MAX_DEBOUNCE, "debounce = \"10ms\"")
}

/// Parse kb.toml text; errors become a diagnostic with the line of the offending key.
pub fn parse_raw(text: &str, shown_path: &Path) -> anyhow::Result<RawConfig> {
    toml::from_str::<RawConfig>(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        // A value check of ours (durations) brings its own hint after HINT_SEP.
        let (msg, hint) = match e.message().split_once(HINT_SEP) {
            Some((m, h)) => (m.to_string(), h.to_string()),
            None if e.message().contains("unknown field") => (
                e.message().to_string(),
                "remove the key or fix its spelling; see the README's kb.toml reference".into(),
            ),
            None => (
                e.message().to_string(),
                "fix the TOML syntax; see the README's kb.toml reference".into(),
            ),
        };
        anyhow::Error::new(ContentErrors(vec![Diagnostic::error(
            DiagnosticKind::BadConfig,
            shown_path,
            line,
            msg,
        )
        .with_hint(hint)]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_has_defaults() {
        let c = Config::validate(PathBuf::from("/kb"), RawConfig::default()).unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:1111/");
        assert_eq!(c.base_path, "");
        assert_eq!(c.language, "zh-CN");
        assert_eq!(c.default_timeout, Duration::from_secs(60));
        assert_eq!(c.title, "kb");
    }

    #[test]
    fn base_path_is_derived_from_base_url() {
        let raw = RawConfig {
            base_url: Some("https://example.com/docs/kb".into()),
            ..Default::default()
        };
        let c = Config::validate(PathBuf::from("/kb"), raw).unwrap();
        assert_eq!(c.base_url, "https://example.com/docs/kb/");
        assert_eq!(c.base_path, "/docs/kb");
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = parse_raw(
            "title = \"x\"\n\n[verify]\ntimeuot = \"5s\"\n",
            Path::new("kb.toml"),
        )
        .unwrap_err();
        let diags = &err.downcast_ref::<ContentErrors>().unwrap().0;
        let text = diags[0].to_string();
        assert!(text.starts_with("kb.toml:4: error:"), "{text}");
        assert!(text.contains("timeuot"), "{text}");
    }

    #[test]
    fn durations_past_their_bound_name_the_line_and_the_limit() {
        for (text, line, limit) in [
            ("[verify]\ntimeout = \"999999999999h\"\n", 2, "24h"),
            ("title = \"x\"\n[serve]\n\ndebounce = \"2h\"\n", 4, "1m"),
        ] {
            let err = parse_raw(text, Path::new("kb.toml")).unwrap_err();
            let diags = &err.downcast_ref::<ContentErrors>().unwrap().0;
            let shown = diags[0].to_string();
            assert!(
                shown.starts_with(&format!("kb.toml:{line}: error: duration `")),
                "{shown}"
            );
            assert!(shown.contains(&format!("limit of {limit}")), "{shown}");
            assert!(shown.contains("\n  hint: durations are at most"), "{shown}");
        }
        let err = parse_raw("[verify]\ntimeout = \"soon\"\n", Path::new("kb.toml")).unwrap_err();
        let shown = err.downcast_ref::<ContentErrors>().unwrap().0[0].to_string();
        assert!(
            shown.starts_with("kb.toml:2: error: duration `soon` is not a duration"),
            "{shown}"
        );
    }
}
