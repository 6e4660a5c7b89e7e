//! Where each note lives on the site: the one rule for a note's route, its URL and its page file.
//!
//! A note asks for a place ([`Wish`]): a front matter `url` (Hugo), `path` (Zola) or
//! `permalink` (Obsidian Publish) names it from the site root; `slug` names it under `notes/`;
//! otherwise the file name does (`go/gc.md` -> `notes/gc`, the flat URLs kb has always had). A
//! folder's `index.md` or `README.md` is the folder's page instead: its text heads the section
//! page (`sections/go`), or the home page for the content root.
//!
//! [`assign`] then gives every note a route for the whole knowledge base at once: explicit
//! routes first (two notes asking for one route is an error), then file names. Notes that share
//! a file name in different folders (`a/Templates.md`, `b/Templates.md`) all get a page: the
//! one nearest the root keeps the flat route, the others are told apart by their folder
//! (`notes/b/templates`) and reported as info, not as errors.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::slug::slugify;

/// Where a note asks to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wish {
    /// A route chosen in the front matter (`url`, `path`, `permalink` or `slug`), with the key
    /// and its file line, for messages.
    Explicit {
        route: String,
        key: &'static str,
        line: usize,
    },
    /// The slug of the file name (`gc` for `gc.md`).
    Named(String),
}

/// A note's place on the site, as [`assign`] decided it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Route {
    /// Site-relative route: `notes/gc`, `functions/x`, `sections/go`, `page.html`, or `""`
    /// for the home page.
    pub route: String,
    /// The note is its folder's page ([`folder_page_rank`]): its text is shown on the section
    /// page (or the home page) rather than on a page of its own.
    pub folder_page: bool,
}

/// What [`assign`] needs to know of one note.
#[derive(Debug, Clone, Copy)]
pub struct RouteInput<'a> {
    /// Root-relative path, for messages (`content/go/gc.md`).
    pub rel: &'a str,
    /// Path under content/ (`go/gc.md`).
    pub content_rel: &'a str,
    pub wish: &'a Wish,
}

/// The route of the home page.
pub const HOME: &str = "";

/// The first route segments of the pages kb makes itself (the tag list and tag pages, section
/// pages, the snippet status page, the search index).
pub const KB_ROUTES: [&str; 4] = ["tags", "sections", "verify", "_kb"];

/// Whether `route` is in kb's own namespace ([`KB_ROUTES`]).
pub fn is_kb_route(route: &str) -> bool {
    KB_ROUTES.contains(&route.split('/').next().unwrap_or(route))
}

/// Route of the page of section `path` (`go`, `network/k8s`).
pub fn section_route(path: &str) -> String {
    if path.is_empty() {
        HOME.to_string()
    } else {
        format!("sections/{path}")
    }
}

/// The section whose page `route` is (`go` for `sections/go`, `""` for the home page).
pub fn section_of(route: &str) -> Option<&str> {
    if route.is_empty() {
        Some("")
    } else {
        route.strip_prefix("sections/")
    }
}

/// URL path of a route under `base` (`""` or `/kb`): `/kb/notes/gc/`, `/kb/page.html`, `/kb/`.
pub fn url(base: &str, route: &str) -> String {
    if route.is_empty() {
        format!("{base}/")
    } else if is_file_route(route) {
        format!("{base}/{route}")
    } else {
        format!("{base}/{route}/")
    }
}

/// Site-relative file a route's page is written to: `notes/gc/index.html`, `page.html`.
pub fn page_file(route: &str) -> String {
    if route.is_empty() {
        "index.html".to_string()
    } else if is_file_route(route) {
        route.to_string()
    } else {
        format!("{route}/index.html")
    }
}

/// A route that names a file rather than a folder (Hugo's `url: /about.html`).
fn is_file_route(route: &str) -> bool {
    let last = route.rsplit('/').next().unwrap_or(route);
    last.ends_with(".html") || last.ends_with(".htm")
}

/// How strongly a file name claims its folder's page: `index.md` (Hugo and Zola bundles,
/// VitePress) before `README.md` (GitHub, mdBook, VitePress); `None` for any other note.
pub fn folder_page_rank(content_rel: &str) -> Option<u8> {
    let name = content_rel.rsplit('/').next().unwrap_or(content_rel);
    let stem = super::note_file::note_stem(name)?;
    if stem.eq_ignore_ascii_case("index") {
        Some(0)
    } else if stem.eq_ignore_ascii_case("readme") {
        Some(1)
    } else {
        None
    }
}

/// The folder of a content path (`go` for `go/gc.md`, `""` at the root).
fn folder_of(content_rel: &str) -> &str {
    content_rel.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

/// The route of every note (in the order given), and what was worth saying about them: an
/// error per note that asks for a route another already has, an info per note told apart by its
/// folder.
pub fn assign(notes: &[RouteInput<'_>], base: &str) -> (Vec<Route>, Vec<Diagnostic>) {
    let mut out = vec![Route::default(); notes.len()];
    let mut diags = Vec::new();
    // A route in kb's own namespace (`permalink: tags`) would replace a page kb makes: the note
    // keeps its file name's route instead, and is told so.
    let wishes: Vec<Wish> = notes
        .iter()
        .map(|n| match n.wish {
            Wish::Explicit { route, key, line } if is_kb_route(route) => {
                let name = n.content_rel.rsplit('/').next().unwrap_or(n.content_rel);
                let slug = slugify(super::note_file::note_stem(name).unwrap_or(name));
                let slug = if slug.is_empty() { "note".into() } else { slug };
                diags.push(
                    Diagnostic::info(
                        DiagnosticKind::DuplicateSlug,
                        n.rel,
                        Some(*line),
                        format!(
                            "`{key}` names `{}`, one of kb's own pages; this note is at `{}`",
                            url(base, route),
                            url(base, &format!("notes/{slug}"))
                        ),
                    )
                    .with_hint(format!(
                        "choose a `{key}:` outside {}",
                        KB_ROUTES.join(", ")
                    )),
                );
                Wish::Named(slug)
            }
            w => w.clone(),
        })
        .collect();
    let notes: Vec<RouteInput<'_>> = notes
        .iter()
        .zip(&wishes)
        .map(|(n, wish)| RouteInput { wish, ..*n })
        .collect();
    let notes = notes.as_slice();
    // route -> the note that has it
    let mut taken: HashMap<String, usize> = HashMap::new();

    // 1. Folder pages: a note whose front matter makes it the home page (Obsidian Publish's
    //    `permalink: /`); then per folder, the best-ranked candidate (then path order) without
    //    an explicit route.
    let home = notes
        .iter()
        .position(|n| matches!(n.wish, Wish::Explicit { route, .. } if route.is_empty()));
    if let Some(i) = home {
        taken.insert(HOME.to_string(), i);
        out[i] = Route {
            route: HOME.to_string(),
            folder_page: true,
        };
    }
    let mut folders: BTreeMap<&str, (u8, usize)> = BTreeMap::new();
    for (i, n) in notes.iter().enumerate() {
        if matches!(n.wish, Wish::Explicit { .. }) {
            continue;
        }
        if let Some(rank) = folder_page_rank(n.content_rel) {
            let folder = folder_of(n.content_rel);
            let best = folders.entry(folder).or_insert((rank, i));
            if (rank, n.content_rel) < (best.0, notes[best.1].content_rel) {
                *best = (rank, i);
            }
        }
    }
    for (folder, (_, i)) in &folders {
        let route = section_route(folder);
        if taken.contains_key(&route) {
            continue; // the home page chosen in front matter
        }
        taken.insert(route.clone(), *i);
        out[*i] = Route {
            route,
            folder_page: true,
        };
    }

    // 2. Explicit routes, in path order: the first keeps it.
    for (i, n) in notes.iter().enumerate() {
        let Wish::Explicit { route, key, line } = n.wish else {
            continue;
        };
        if home == Some(i) {
            continue;
        }
        match taken.get(route.as_str()) {
            Some(&other) => diags.push(
                Diagnostic::error(
                    DiagnosticKind::DuplicateSlug,
                    n.rel,
                    Some(*line),
                    format!(
                        "`{key}` puts this note at `{}`, which is already `{}`'s page",
                        url(base, route),
                        notes[other].rel
                    ),
                )
                .with_hint(format!("give one of the notes a different `{key}:`")),
            ),
            None => {
                taken.insert(route.clone(), i);
                out[i].route = route.clone();
            }
        }
    }

    // 3. File names: by slug, the note nearest the root (then in path order) keeps the flat
    //    route, unless an explicit route has it; the others are told apart by their folder.
    let mut by_slug: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, n) in notes.iter().enumerate() {
        if let Wish::Named(slug) = n.wish {
            if !out[i].folder_page {
                by_slug.entry(slug).or_default().push(i);
            }
        }
    }
    for (slug, mut group) in by_slug {
        group.sort_by_key(|&i| {
            (
                notes[i].content_rel.matches('/').count(),
                notes[i].content_rel,
            )
        });
        let flat = format!("notes/{slug}");
        let first_free = !taken.contains_key(&flat);
        for (k, &i) in group.iter().enumerate() {
            if k == 0 && first_free {
                taken.insert(flat.clone(), i);
                out[i].route = flat.clone();
                continue;
            }
            let holder = taken.get(&flat).map(|&h| notes[h].rel).unwrap_or_default();
            let route = qualified(notes[i].content_rel, slug);
            match taken.get(&route) {
                Some(&other) => diags.push(
                    Diagnostic::error(
                        DiagnosticKind::DuplicateSlug,
                        notes[i].rel,
                        Some(1),
                        format!(
                            "this note's page would be `{}`, which is already `{}`'s page",
                            url(base, &route),
                            notes[other].rel
                        ),
                    )
                    .with_hint("give one of the notes a `slug:` in its front matter"),
                ),
                None => {
                    diags.push(
                        Diagnostic::info(
                            DiagnosticKind::DuplicateSlug,
                            notes[i].rel,
                            None,
                            format!(
                                "`{holder}` has the same file name; this note is at `{}`",
                                url(base, &route)
                            ),
                        )
                        .with_hint("give it a `slug:` in its front matter to choose its URL"),
                    );
                    taken.insert(route.clone(), i);
                    out[i].route = route;
                }
            }
        }
    }
    (out, diags)
}

/// `notes/b/c/templates` for `b/c/Templates.md`: the flat route told apart by the folders.
fn qualified(content_rel: &str, slug: &str) -> String {
    let mut route = String::from("notes");
    for seg in folder_of(content_rel).split('/').filter(|s| !s.is_empty()) {
        let s = slugify(seg);
        route.push('/');
        route.push_str(if s.is_empty() { "_" } else { &s });
    }
    route.push('/');
    route.push_str(slug);
    route
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(slug: &str) -> Wish {
        Wish::Named(slug.into())
    }

    fn run(files: &[(&str, Wish)]) -> (Vec<Route>, Vec<Diagnostic>) {
        let rels: Vec<String> = files.iter().map(|(p, _)| format!("content/{p}")).collect();
        let inputs: Vec<RouteInput<'_>> = files
            .iter()
            .zip(&rels)
            .map(|((p, w), rel)| RouteInput {
                rel,
                content_rel: p,
                wish: w,
            })
            .collect();
        assign(&inputs, "")
    }

    fn routes(r: &[Route]) -> Vec<&str> {
        r.iter().map(|r| r.route.as_str()).collect()
    }

    #[test]
    fn unique_names_keep_their_flat_routes() {
        let (r, d) = run(&[("go/gc.md", named("gc")), ("docker/net.md", named("net"))]);
        assert_eq!(routes(&r), ["notes/gc", "notes/net"]);
        assert!(d.is_empty());
    }

    #[test]
    fn a_shared_file_name_is_told_apart_by_folder_as_info() {
        let (r, d) = run(&[
            ("a/b/Templates.md", named("templates")),
            ("z/Templates.md", named("templates")),
        ]);
        // The one nearer the root keeps the flat route, whatever the path order.
        assert_eq!(routes(&r), ["notes/a/b/templates", "notes/templates"]);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].severity, crate::diagnostics::Severity::Info);
        assert!(d[0].message.contains("content/z/Templates.md"), "{}", d[0]);
        assert!(d[0].message.contains("/notes/a/b/templates/"), "{}", d[0]);
    }

    #[test]
    fn index_and_readme_make_the_folder_page_index_first() {
        let (r, d) = run(&[
            ("README.md", named("readme")),
            ("go/README.md", named("readme")),
            ("go/gc.md", named("gc")),
            ("guide/README.md", named("readme")),
            ("guide/index.md", named("index")),
        ]);
        assert_eq!(
            routes(&r),
            [
                "",
                "sections/go",
                "notes/gc",
                "notes/readme",
                "sections/guide"
            ]
        );
        assert!(r[0].folder_page && r[1].folder_page && r[4].folder_page);
        assert!(!r[3].folder_page);
        assert!(d.is_empty(), "{d:?}");
    }

    #[test]
    fn explicit_routes_win_and_clash_as_errors() {
        let explicit = |route: &str| Wish::Explicit {
            route: route.into(),
            key: "url",
            line: 3,
        };
        let (r, d) = run(&[
            ("a.md", explicit("notes/b")),
            ("b.md", named("b")),
            ("c.md", explicit("notes/b")),
            ("x/index.md", explicit("about")),
        ]);
        // An explicit route beats a file name and a folder page; the second explicit claim and
        // the file name it took are errors.
        assert_eq!(r[0].route, "notes/b");
        assert_eq!(r[3].route, "about");
        assert!(!r[3].folder_page);
        let errors: Vec<_> = d
            .iter()
            .filter(|d| d.severity == crate::diagnostics::Severity::Error)
            .map(|d| (d.path.to_string_lossy().to_string(), d.line))
            .collect();
        assert_eq!(
            errors,
            [
                ("content/c.md".to_string(), Some(3)),
                ("content/b.md".to_string(), Some(1))
            ]
        );
    }

    #[test]
    fn a_route_in_kbs_namespace_falls_back_to_the_file_name_with_an_info() {
        let wish = Wish::Explicit {
            route: "tags".into(),
            key: "permalink",
            line: 2,
        };
        let home = Wish::Explicit {
            route: "".into(),
            key: "permalink",
            line: 2,
        };
        let (r, d) = run(&[
            ("Tags.md", wish),
            ("start/Home.md", home),
            ("index.md", named("index")),
        ]);
        assert_eq!(routes(&r), ["notes/tags", "", "notes/index"]);
        assert!(
            r[1].folder_page && !r[2].folder_page,
            "permalink: / wins the home page"
        );
        assert_eq!(d.len(), 1);
        assert!(
            d[0].message.contains(
                "`permalink` names `/tags/`, one of kb's own pages; this note is at `/notes/tags/`"
            ),
            "{}",
            d[0]
        );
    }

    #[test]
    fn urls_and_files_of_routes() {
        assert_eq!(url("/kb", "notes/gc"), "/kb/notes/gc/");
        assert_eq!(url("", ""), "/");
        assert_eq!(url("", "about.html"), "/about.html");
        assert_eq!(page_file("notes/gc"), "notes/gc/index.html");
        assert_eq!(page_file(""), "index.html");
        assert_eq!(page_file("about.html"), "about.html");
        assert_eq!(section_route("go"), "sections/go");
    }
}
