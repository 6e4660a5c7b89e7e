//! Which notes are published: the one rule for a note that asks not to be a page.
//!
//! Hugo's `build: {render: never}` (and its older `_build: {render: false}`), Hugo's
//! `headless: true` bundles and Zola's `render = false` keep a file out of the site; a
//! section's `_index.md` hands `build`/`_build` down to every note below it with `cascade`
//! (Hugo's headless folders of fragments, such as a `_common/` folder for `include`). The
//! closest say wins: the note's own keys, then the nearest `_index.md` above it. Such a note is
//! left out like a draft (its snippets are still checked and verified); it is not an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::config::Config;
use crate::output::sink::rel_slash;

use super::front_matter;

/// Whether a note becomes a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Render {
    Always,
    Never,
}

/// What the front matter keys (kept in `extra`) say about the file itself.
pub fn own(extra: &Map<String, Json>) -> Option<Render> {
    if extra.get("headless").and_then(Json::as_bool) == Some(true) {
        return Some(Render::Never);
    }
    // Zola: `render = false` at the top level.
    if let Some(r) = extra.get("render").and_then(render_value) {
        return Some(r);
    }
    build_options(extra)
}

/// What an `_index.md`'s `cascade` says about the notes below it. A cascade that is a list of
/// targeted entries (`_target`/`target`: only some pages) is not followed: kb does not match
/// Hugo's page filters, and publishing too much beats losing a page.
pub fn cascaded(extra: &Map<String, Json>) -> Option<Render> {
    match extra.get("cascade")? {
        Json::Object(m) if !is_targeted(m) => build_options(m),
        Json::Array(items) => items
            .iter()
            .filter_map(Json::as_object)
            .filter(|m| !is_targeted(m))
            .find_map(build_options),
        _ => None,
    }
}

fn is_targeted(m: &Map<String, Json>) -> bool {
    m.contains_key("_target") || m.contains_key("target")
}

/// `build: {render: ...}` or `_build: {render: ...}`.
fn build_options(m: &Map<String, Json>) -> Option<Render> {
    ["build", "_build"]
        .iter()
        .filter_map(|k| m.get(*k)?.as_object()?.get("render"))
        .find_map(render_value)
}

/// `never`/`false` (Hugo's `link` renders no page either), `always`/`true`.
fn render_value(v: &Json) -> Option<Render> {
    match v {
        Json::Bool(b) => Some(if *b { Render::Always } else { Render::Never }),
        Json::String(s) => match s.to_ascii_lowercase().as_str() {
            "never" | "false" | "link" => Some(Render::Never),
            "always" | "true" => Some(Render::Always),
            _ => None,
        },
        _ => None,
    }
}

/// The `cascade` of every section that has one, by folder (`""` for `content/_index.md`).
#[derive(Debug, Clone, Default)]
pub struct Cascades(BTreeMap<String, Render>);

impl Cascades {
    /// Read the cascades of these `_index.md` files. One that fails to parse is skipped here
    /// (the section loader reports it with its line).
    pub fn read(config: &Config, indexes: &[PathBuf]) -> Cascades {
        let content = config.content_dir();
        let mut map = BTreeMap::new();
        for idx in indexes {
            let dir = rel_slash(idx.parent().unwrap_or(idx), &content);
            if let Some(r) = read_cascade(idx) {
                map.insert(dir, r);
            }
        }
        Cascades(map)
    }

    /// The cascades above one note, read from disk (for `kb serve`, which loads one note).
    pub fn above(config: &Config, note: &Path) -> Cascades {
        let content = config.content_dir();
        let indexes: Vec<PathBuf> = note
            .ancestors()
            .skip(1)
            .take_while(|d| d.starts_with(&content))
            .map(|d| d.join("_index.md"))
            .filter(|p| p.is_file())
            .collect();
        Cascades::read(config, &indexes)
    }

    /// Whether the note at `content_rel` (`go/gc.md`) is a page, by the closest say.
    pub fn render(&self, content_rel: &str, extra: &Map<String, Json>) -> Render {
        if let Some(r) = own(extra) {
            return r;
        }
        let mut dir = content_rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        loop {
            if let Some(r) = self.0.get(dir) {
                return *r;
            }
            if dir.is_empty() {
                return Render::Always;
            }
            dir = dir.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        }
    }
}

fn read_cascade(idx: &Path) -> Option<Render> {
    let text = std::fs::read_to_string(idx).ok()?;
    let split = front_matter::split(&text).ok()?;
    let (front, format) = split.front?;
    let fm = front_matter::parse(front, format, split.front_line).ok()?;
    cascaded(&fm.extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra(yaml: &str) -> Map<String, Json> {
        front_matter::parse(yaml, front_matter::Format::Yaml, 2)
            .unwrap()
            .extra
    }

    fn toml(text: &str) -> Map<String, Json> {
        front_matter::parse(text, front_matter::Format::Toml, 2)
            .unwrap()
            .extra
    }

    #[test]
    fn hugo_zola_and_old_hugo_keys_keep_a_note_out() {
        assert_eq!(
            own(&extra("build:\n  render: never\n")),
            Some(Render::Never)
        );
        assert_eq!(own(&extra("build:\n  render: link\n")), Some(Render::Never));
        assert_eq!(
            own(&extra("_build:\n  render: false\n")),
            Some(Render::Never)
        );
        assert_eq!(own(&extra("headless: true\n")), Some(Render::Never));
        assert_eq!(own(&toml("render = false\n")), Some(Render::Never));
        assert_eq!(
            own(&toml("[build]\nrender = 'always'\n")),
            Some(Render::Always)
        );
        assert_eq!(own(&extra("build:\n  list: never\n")), None);
        assert_eq!(own(&extra("headless: false\nrender: maybe\n")), None);
        assert_eq!(own(&extra("title: x\n")), None);
    }

    #[test]
    fn cascade_as_a_map_or_a_list_and_targeted_entries_ignored() {
        let m = extra("cascade:\n  build:\n    render: never\n    list: never\n");
        assert_eq!(cascaded(&m), Some(Render::Never));
        let l = extra("cascade:\n  - _target:\n      path: /x/**\n    build:\n      render: never\n  - _build:\n      render: always\n");
        assert_eq!(cascaded(&l), Some(Render::Always));
        let t = extra("cascade:\n  target:\n    kind: page\n  build:\n    render: never\n");
        assert_eq!(cascaded(&t), None);
        // A section's own `build` is about the section page, not the notes below it.
        assert_eq!(cascaded(&extra("build:\n  render: never\n")), None);
    }

    #[test]
    fn the_closest_say_wins() {
        let c = Cascades(BTreeMap::from([
            ("frag".to_string(), Render::Never),
            ("frag/shown".to_string(), Render::Always),
        ]));
        let none = Map::new();
        assert_eq!(c.render("frag/a.md", &none), Render::Never);
        assert_eq!(c.render("frag/deep/er/a.md", &none), Render::Never);
        assert_eq!(c.render("frag/shown/a.md", &none), Render::Always);
        assert_eq!(c.render("fragment/a.md", &none), Render::Always);
        assert_eq!(c.render("a.md", &none), Render::Always);
        let always = extra("build:\n  render: always\n");
        assert_eq!(c.render("frag/a.md", &always), Render::Always);
        let root = Cascades(BTreeMap::from([(String::new(), Render::Never)]));
        assert_eq!(root.render("x/a.md", &none), Render::Never);
    }
}
