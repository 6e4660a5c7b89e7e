//! The theme: tera templates and static files, built in and optionally overridden on disk.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use include_dir::{include_dir, Dir};
use serde::Serialize;

static DEFAULT_THEME: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/themes/default");

/// Loaded templates and static files.
pub struct Theme {
    tera: tera::Tera,
    /// Site-relative path -> bytes (`style.css`, `kb.js`, ...).
    pub statics: BTreeMap<String, Vec<u8>>,
}

impl Theme {
    /// The built-in theme, overridden file by file by `override_dir` if given.
    pub fn load(override_dir: Option<&Path>) -> anyhow::Result<Theme> {
        let mut templates: BTreeMap<String, String> = BTreeMap::new();
        let mut statics: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        collect_embedded(&DEFAULT_THEME, &mut templates, &mut statics);
        if let Some(dir) = override_dir {
            collect_dir(dir, &mut templates, &mut statics)?;
        }
        let mut tera = tera::Tera::default();
        tera.autoescape_on(vec![".html", ".xml"]);
        // Tera's default escaper also escapes `/`, which turns every URL into `&#x2F;` soup.
        tera.set_escape_fn(crate::html::escape);
        tera.add_raw_templates(
            templates
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        )
        .map_err(|e| anyhow::anyhow!("{}", tera_error_chain(&e)))
        .with_context(|| match override_dir {
            Some(d) => format!(
                "a template in `{}` (or the built-in theme) does not compile",
                d.display()
            ),
            None => "the built-in theme does not compile".into(),
        })?;
        Ok(Theme { tera, statics })
    }

    /// Render `template` with a view struct.
    pub fn render<T: Serialize>(&self, template: &str, view: &T) -> anyhow::Result<String> {
        let ctx = tera::Context::from_serialize(view).context("view does not serialize")?;
        self.tera.render(template, &ctx).map_err(|e| {
            anyhow::anyhow!("rendering template `{template}`: {}", tera_error_chain(&e))
        })
    }
}

/// Site-relative paths of the theme's static files (`style.css`, `kb.js`, ...): the built-in
/// ones and those of `override_dir`, without reading them.
pub fn static_names(override_dir: Option<&Path>) -> Vec<String> {
    fn embedded(dir: &Dir<'_>, out: &mut Vec<String>) {
        for file in dir.files() {
            let rel = crate::output::sink::rel_slash(file.path(), Path::new(""));
            if let Some(name) = rel.strip_prefix("static/") {
                out.push(name.to_string());
            }
        }
        for sub in dir.dirs() {
            embedded(sub, out);
        }
    }
    let mut out = vec![];
    embedded(&DEFAULT_THEME, &mut out);
    if let Some(dir) = override_dir {
        let statics = dir.join("static");
        for e in walkdir::WalkDir::new(&statics)
            .follow_links(false)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
        {
            out.push(crate::output::sink::rel_slash(e.path(), &statics));
        }
    }
    out.sort();
    out.dedup();
    out
}

fn tera_error_chain(e: &tera::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

fn collect_embedded(
    dir: &Dir<'_>,
    templates: &mut BTreeMap<String, String>,
    statics: &mut BTreeMap<String, Vec<u8>>,
) {
    for file in dir.files() {
        add(file.path(), file.contents(), templates, statics);
    }
    for sub in dir.dirs() {
        collect_embedded(sub, templates, statics);
    }
}

fn collect_dir(
    dir: &Path,
    templates: &mut BTreeMap<String, String>,
    statics: &mut BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<()> {
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry =
            entry.with_context(|| format!("couldn't read theme directory `{}`", dir.display()))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let bytes = std::fs::read(entry.path())
            .with_context(|| format!("couldn't read `{}`", entry.path().display()))?;
        add(rel, &bytes, templates, statics);
    }
    Ok(())
}

fn add(
    rel: &Path,
    bytes: &[u8],
    templates: &mut BTreeMap<String, String>,
    statics: &mut BTreeMap<String, Vec<u8>>,
) {
    let rel = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    if let Some(name) = rel.strip_prefix("templates/") {
        templates.insert(
            name.to_string(),
            String::from_utf8_lossy(bytes).into_owned(),
        );
    } else if let Some(name) = rel.strip_prefix("static/") {
        statics.insert(name.to_string(), bytes.to_vec());
    }
}
