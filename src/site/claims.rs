//! Which part of the site writes each output file, so that no two write the same one.
//!
//! Aliases and content assets are the user's and can name any path; generated files (the home
//! page, `atom.xml`, the theme's `style.css`, the search index under `_kb/`), tag and section
//! pages and notes' pages are kb's. A user's path that another part already claims is an error
//! naming both sides, instead of one silently replacing the other.

use std::collections::HashMap;
use std::path::Path;

use crate::config::Config;
use crate::content::{Note, Section};
use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::output::outdir::MANIFEST;
use crate::output::sink::rel_slash;

use super::pages::{self, alias_paths};

/// Output files every site has that are not pages, with what they are.
const GENERATED: [(&str, &str); 2] = [
    ("highlight.css", "the code highlighting stylesheet"),
    (MANIFEST, "the build manifest"),
];

/// Every output path claimed twice, reported at the user's side (the alias or the asset).
pub(crate) fn collisions(
    config: &Config,
    notes: &[Note],
    sections: &[Section],
    assets: &[std::path::PathBuf],
    theme_statics: impl IntoIterator<Item = String>,
) -> Vec<Diagnostic> {
    let mut owners: HashMap<String, String> = HashMap::new();
    for (path, what) in GENERATED {
        owners.insert(path.into(), what.into());
    }
    // The pages, as the catalogue lists them: the first note with a slug keeps its page.
    for (path, what) in pages::claims(notes, sections) {
        owners.entry(path).or_insert(what);
    }
    for name in theme_statics {
        owners.insert(name.clone(), format!("the theme's static file `{name}`"));
    }
    let reserved = |path: &str| -> Option<String> {
        let first = path.split('/').next().unwrap_or(path);
        (first
            == crate::search::client::CLIENT_DIR
                .split('/')
                .next()
                .unwrap_or("_kb"))
        .then(|| format!("kb's own files under `{first}/` (the search index)"))
    };
    let mut out = vec![];
    let mut claim = |path: String, who: String, at: &str, line: Option<usize>| {
        let taken = owners.get(&path).cloned().or_else(|| reserved(&path));
        match taken {
            Some(other) => out.push(
                Diagnostic::error(
                    DiagnosticKind::OutputCollision,
                    at,
                    line,
                    format!("{who} would be written to `{path}`, which is {other}"),
                )
                .with_hint(
                    "choose another path: kb never lets one file of the site replace another",
                ),
            ),
            None => {
                owners.insert(path, who);
            }
        }
    };
    for n in notes {
        for path in alias_paths(n) {
            claim(
                path,
                format!("an alias of `{}`", n.rel),
                &n.rel,
                Some(n.meta.aliases_line).filter(|&l| l > 0),
            );
        }
    }
    let content = config.content_dir();
    for asset in assets {
        let rel = rel_slash(asset, &content);
        let shown = rel_slash(asset, Path::new(&config.root));
        claim(rel, format!("the file `{shown}`"), &shown, None);
    }
    out
}
