//! Stage 4: syntax highlighting at build time with syntect, as CSS classes.
//!
//! Two syntax sets, each loaded once per process when first needed: syntect's own (75
//! languages) and bat's (the `two-face` crate: ~220, with TOML, TypeScript, SCSS, PowerShell,
//! Dockerfile, Jinja2, nginx, Terraform, Kotlin, Swift...). A syntax syntect has comes from
//! syntect's set: its grammars for Go and HTML colour a block 2.4 and 1.5 times faster than
//! bat's newer ones (Go is most of the code in kb's notes), and notes already built keep their
//! HTML; every other one from bat's. A fence word finds its syntax through
//! [`crate::languages`]. Highlighted HTML is cached by a hash of (kind, language, code) in
//! memory and in `.kb/cache/highlight.bin`, so a rebuild of unchanged notes skips syntect
//! entirely (highlighting dominates build time in every peer we measured).
//! Colours come from two generated stylesheets, light and dark (`html[data-theme=dark]`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use syntect::highlighting::ThemeSet;
use syntect::html::{css_for_theme_with_class_style, ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::{SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

use crate::html::escape;
use crate::sync::MutexExt;

const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed { prefix: "hl-" };
/// Bumped whenever the HTML for the same code can change (here: a new syntax set).
const CACHE_MAGIC: &[u8; 8] = b"kbhl0003";

/// syntect's own syntaxes, searched first.
fn syntect_set() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// bat's syntaxes, for the languages syntect's set lacks.
fn bat_set() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(two_face::syntax::extra_newlines)
}

/// A syntax and the set it belongs to (a generator needs both).
type Syntax = (&'static SyntaxSet, &'static SyntaxReference);

/// The first set that has `find` (syntect's, then bat's).
fn in_sets(
    find: impl Fn(&'static SyntaxSet) -> Option<&'static SyntaxReference>,
) -> Option<Syntax> {
    [syntect_set, bat_set]
        .into_iter()
        .find_map(|set| find(set()).map(|syntax| (set(), syntax)))
}

/// Highlights code, with a content-hash cache shared by all threads.
#[derive(Default)]
pub struct Highlighter {
    cache: Mutex<HashMap<[u8; 32], String>>,
    /// Keys used by this build (only those are saved, so the cache doesn't grow forever).
    used: Mutex<Vec<[u8; 32]>>,
    pub hits: AtomicUsize,
    pub misses: AtomicUsize,
}

impl Highlighter {
    /// Load the on-disk cache if present; any problem just means an empty cache.
    pub fn with_cache_file(path: &Path) -> Self {
        let h = Highlighter::default();
        if let Ok(map) = read_cache(path) {
            *h.cache.lock_or_recover() = map;
        }
        h
    }

    /// Write the entries used by this build.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let cache = self.cache.lock_or_recover();
        let mut used = self.used.lock_or_recover().clone();
        used.sort_unstable();
        used.dedup();
        crate::cache::write_records(
            path,
            CACHE_MAGIC,
            used.iter()
                .filter_map(|key| cache.get(key).map(|html| (&key[..], html.as_bytes()))),
        )
    }

    /// Cached computation keyed by (`kind`, `lang`, `code`).
    pub fn cached(
        &self,
        kind: &str,
        lang: &str,
        code: &str,
        compute: impl FnOnce() -> String,
    ) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher
            .update(kind.as_bytes())
            .update(&[0])
            .update(lang.as_bytes())
            .update(&[0])
            .update(code.as_bytes());
        let key = *hasher.finalize().as_bytes();
        self.used.lock_or_recover().push(key);
        if let Some(html) = self.cache.lock_or_recover().get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return html.clone();
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let html = compute();
        self.cache.lock_or_recover().insert(key, html.clone());
        html
    }

    /// Highlighted inner HTML of a `<code>` element for `code` in `lang` (escaped plain text if
    /// the language is unknown).
    pub fn highlight(&self, lang: &str, code: &str) -> String {
        self.cached("code", lang, code, || highlight_uncached(lang, code))
    }
}

/// Find the syntax of a fence word (`go`, `ts`, `yml`, `go-html-template`...): the language
/// table's entry, else a file extension or syntax name of a set (`rs`, `lua`). `None` for
/// text shown as it is.
fn syntax_for(lang: &str) -> Option<Syntax> {
    if lang.is_empty() {
        return None;
    }
    match crate::languages::find(lang) {
        Some(l) => {
            let name = l.syntax?;
            in_sets(|set| set.find_syntax_by_name(name))
        }
        None => in_sets(|set| set.find_syntax_by_token(lang)),
    }
}

/// Highlight without the cache.
pub fn highlight_uncached(lang: &str, code: &str) -> String {
    let Some((set, syntax)) = syntax_for(lang) else {
        return escape(code);
    };
    let mut gen = ClassedHTMLGenerator::new_with_class_style(syntax, set, CLASS_STYLE);
    for line in LinesWithEndings::from(code) {
        if gen
            .parse_html_for_line_which_includes_newline(line)
            .is_err()
        {
            return escape(code);
        }
    }
    gen.finalize()
}

/// Does syntect know this language?
pub fn is_known(lang: &str) -> bool {
    syntax_for(lang).is_some()
}

/// The light and dark stylesheets for the highlight classes.
pub fn stylesheets() -> (String, String) {
    let themes = ThemeSet::load_defaults();
    let light = css_for_theme_with_class_style(&themes.themes["InspiredGitHub"], CLASS_STYLE)
        .unwrap_or_default();
    let dark = css_for_theme_with_class_style(&themes.themes["base16-ocean.dark"], CLASS_STYLE)
        .unwrap_or_default();
    (light, scope_css(&dark, "html[data-theme=\"dark\"]"))
}

/// Prefix every selector of a flat stylesheet with `scope`.
fn scope_css(css: &str, scope: &str) -> String {
    let mut out = String::with_capacity(css.len() * 2);
    let mut rest = css;
    while let Some(open) = rest.find('{') {
        let (selectors, after) = rest.split_at(open);
        // Drop comments before the selector.
        let selectors = match selectors.rfind("*/") {
            Some(i) => &selectors[i + 2..],
            None => selectors,
        };
        let scoped: Vec<String> = selectors
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("{scope} {s}"))
            .collect();
        let close = after.find('}').map(|i| i + 1).unwrap_or(after.len());
        out.push_str(&scoped.join(", "));
        out.push(' ');
        out.push_str(&after[..close]);
        out.push('\n');
        rest = &after[close..];
    }
    out
}

fn read_cache(path: &Path) -> std::io::Result<HashMap<[u8; 32], String>> {
    let mut map = HashMap::new();
    for rec in crate::cache::read_records(path, CACHE_MAGIC)? {
        let (key, html) = rec?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| std::io::Error::other("bad key in the highlight cache"))?;
        map.insert(key, String::from_utf8(html).map_err(std::io::Error::other)?);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_languages_get_classes_and_unknown_are_escaped() {
        let html = highlight_uncached("go", "package main\n");
        assert!(html.contains("hl-"), "{html}");
        assert_eq!(
            highlight_uncached("nosuchlang", "<a>&\n"),
            "&lt;a&gt;&amp;\n"
        );
    }

    /// Every syntax the language table names is in the set, so every alias colours.
    #[test]
    fn every_language_of_the_table_has_its_syntax() {
        for l in crate::languages::LANGUAGES {
            let Some(name) = l.syntax else { continue };
            assert!(
                in_sets(|set| set.find_syntax_by_name(name)).is_some(),
                "`{}`: no syntax `{name}` in either set",
                l.name
            );
            for word in std::iter::once(&l.name).chain(l.aliases) {
                assert_eq!(
                    syntax_for(word).map(|(_, s)| s.name.as_str()),
                    Some(name),
                    "{word}"
                );
            }
        }
    }

    /// Go (most of kb's notes) keeps syntect's faster grammar; what syntect lacks comes from
    /// bat's set.
    #[test]
    fn syntect_set_first_then_bats() {
        let (set, _) = syntax_for("go").unwrap();
        assert!(std::ptr::eq(set, syntect_set()));
        let (set, syntax) = syntax_for("toml").unwrap();
        assert!(std::ptr::eq(set, bat_set()));
        assert_eq!(syntax.name, "TOML");
    }

    /// The languages of real notes that syntect's own set left plain.
    #[test]
    fn languages_of_hugo_zola_and_mdbook_notes_are_coloured() {
        for (lang, code) in [
            ("toml", "[params]\ntitle = \"x\"\n"),
            ("TOML", "a = 1\n"),
            (
                "go-html-template",
                "{{ range .Pages }}<a href=\"{{ .RelPermalink }}\">x</a>{{ end }}\n",
            ),
            ("ts", "const x: number = 1;\n"),
            ("typescript", "interface A { b: string }\n"),
            ("scss", "$c: red;\na { color: $c; }\n"),
            (
                "powershell",
                "Get-ChildItem -Path C:\\ | Select-Object Name\n",
            ),
            ("dockerfile", "FROM debian:bookworm\nRUN apt-get update\n"),
            ("jinja", "{% for p in pages %}{{ p.title }}{% endfor %}\n"),
            ("tera", "{{ page.title | upper }}\n"),
            ("nginx", "server { listen 80; }\n"),
            ("ini", "[unit]\nName=x\n"),
            ("diff", "-a\n+b\n"),
            ("proto", "message A { string b = 1; }\n"),
            ("tf", "resource \"aws_s3_bucket\" \"b\" {}\n"),
            ("kotlin", "fun main() { println(1) }\n"),
            ("swift", "let x = 1\n"),
            ("yml", "a: 1\n"),
            ("zsh", "echo $HOME\n"),
            ("rust", "fn main() {}\n"),
        ] {
            let html = highlight_uncached(lang, code);
            assert!(html.contains("<span class=\"hl-"), "{lang}: {html}");
        }
        for plain in ["text", "tree", "goat", ""] {
            assert_eq!(
                highlight_uncached(plain, "a <b>\n"),
                "a &lt;b&gt;\n",
                "{plain}"
            );
        }
    }

    #[test]
    fn cache_round_trips_and_counts_hits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hl.bin");
        let h = Highlighter::default();
        let a = h.highlight("go", "func f() {}\n");
        h.save(&path).unwrap();
        let h2 = Highlighter::with_cache_file(&path);
        assert_eq!(h2.highlight("go", "func f() {}\n"), a);
        assert_eq!(
            (
                h2.hits.load(Ordering::Relaxed),
                h2.misses.load(Ordering::Relaxed)
            ),
            (1, 0)
        );
    }

    #[test]
    fn dark_stylesheet_is_scoped() {
        let (light, dark) = stylesheets();
        assert!(light.contains(".hl-"));
        assert!(
            dark.lines()
                .filter(|l| l.contains('{'))
                .all(|l| l.starts_with("html[data-theme=\"dark\"] ")),
            "{}",
            &dark[..300.min(dark.len())]
        );
    }
}
