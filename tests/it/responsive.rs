//! The default theme on every screen, in headless Chromium: each page type (home, section,
//! tag, tag list, note, a note at the content root, /verify/, 404) at 390, 768, 1024 and 1280 px,
//! light and dark (`prefers-color-scheme` emulated). On every one: no horizontal scrolling; below
//! 861 px a visible menu button opens a drawer listing every section; at 861 px and up the top
//! nav shows whole links only and the sections stay reachable; below 1201 px a note's table of
//! contents is at the top of the note and opens; heading anchors show on a phone; the active
//! ToC entry follows a jump to `#snippet-N`.
//!
//! The fixture (tests/fixtures/responsive) is made to break layouts: unbreakable paths in a
//! summary and a title, a wide table, a long code line, long tag and section names.
//! Screenshots of every page, width and scheme land in `target/responsive/` (whole note pages
//! at 390 and 1024 px too, in parts: `*-full-N.png`).
//! `KB_RESPONSIVE_ROOT=DIR` runs the same checks on another knowledge base (every note page).
//! Needs chromium and chromedriver like the search test; `KB_SKIP_BROWSER=1` skips it.

use std::path::Path;

use serde_json::{json, Value};

use crate::site::BuiltSite;
use crate::static_server::StaticServer;
use crate::support::repo_root;
use crate::webdriver::Browser;

const WIDTHS: [u32; 4] = [390, 768, 1024, 1280];
/// Below this width the sidebar and the top nav give way to the menu (the CSS breakpoint).
const MENU_BELOW: u32 = 861;
/// Below this width the ToC column gives way to the ToC at the top of the note.
const TOC_BELOW: u32 = 1201;

/// What one page must have besides no overflow.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Note,
    List,
}

/// Measures the page: overflow (with the elements sticking out), the theme applied, the menu
/// button and the top nav links. `arguments[0]` is the emulated width.
const MEASURE: &str = r#"
var W = arguments[0];
var se = document.scrollingElement;
var vis = function (el) { if (!el) return false; var r = el.getBoundingClientRect(); var s = getComputedStyle(el); return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && el.checkVisibility(); };
var out = [];
document.querySelectorAll('body *').forEach(function (el) {
  var r = el.getBoundingClientRect();
  if (r.right > W + 0.5 && r.width > 0) {
    var p = el.parentElement, clipped = false;
    while (p && p !== document.body) { var o = getComputedStyle(p).overflowX; if (o !== 'visible') { var pr = p.getBoundingClientRect(); if (pr.right <= W + 0.5) { clipped = true; break; } } p = p.parentElement; }
    if (!clipped && out.length < 5) out.push(el.tagName.toLowerCase() + '.' + el.className + ' right=' + Math.round(r.right));
  }
});
var nav = document.querySelector('.kb-nav');
var navBad = [];
if (vis(nav)) {
  var nr = nav.getBoundingClientRect();
  nav.querySelectorAll('a').forEach(function (a) {
    var r = a.getBoundingClientRect();
    if (r.width === 0 || getComputedStyle(a).visibility === 'hidden') return;
    // the nearest box that clips it (the nav or the row of section links)
    var c = a.parentElement;
    while (c !== nav && getComputedStyle(c).overflowX === 'visible' && getComputedStyle(c).overflowY === 'visible') c = c.parentElement;
    var cr = c.getBoundingClientRect();
    var inside = r.left >= cr.left - 0.5 && r.right <= cr.right + 0.5 && r.top >= cr.top - 0.5 && r.bottom <= cr.bottom + 0.5 && r.right <= nr.right + 0.5 && r.right <= W + 0.5;
    var outside = r.right <= cr.left + 0.5 || r.left >= cr.right - 0.5 || r.bottom <= cr.top + 0.5 || r.top >= cr.bottom - 0.5;
    if (!inside && !outside) navBad.push(a.textContent.trim());
  });
}
var shownSections = vis(nav) ? Array.prototype.filter.call(nav.querySelectorAll('a.kb-nav-section'), function (a) { var r = a.getBoundingClientRect(), cr = a.parentElement.getBoundingClientRect(); return r.width > 0 && r.right <= cr.right + 0.5 && r.bottom <= cr.bottom + 0.5 && getComputedStyle(a).visibility !== 'hidden'; }).length : 0;
return {
  scrollWidth: se.scrollWidth, innerWidth: innerWidth, offenders: out,
  theme: document.documentElement.getAttribute('data-theme'),
  menuButton: vis(document.querySelector('.kb-menu > summary')),
  navVisible: vis(nav), navClipped: navBad, navSections: shownSections,
  sidebarVisible: vis(document.querySelector('.kb-sidebar'))
};
"#;

fn skip_browser() -> bool {
    if std::env::var_os("KB_SKIP_BROWSER").is_some() {
        eprintln!("KB_SKIP_BROWSER set: skipping the responsive layout test");
        return true;
    }
    false
}

/// The site's section titles, in the order the theme lists them.
fn section_titles(site: &BuiltSite) -> Vec<String> {
    let loaded = kb::site::Site::load(site.config.clone(), Default::default()).unwrap();
    loaded
        .sections
        .iter()
        .filter(|s| !s.path.contains('/'))
        .map(|s| s.title.clone())
        .collect()
}

/// The pages to load: (name for messages and screenshots, URL path, kind).
fn pages_of(site: &BuiltSite, fixture: bool) -> Vec<(String, String, Kind)> {
    let base = site.config.base_path.clone();
    let mut pages: Vec<(String, String, Kind)> = vec![
        ("home".into(), format!("{base}/"), Kind::List),
        ("tags".into(), format!("{base}/tags/"), Kind::List),
        ("verify".into(), format!("{base}/verify/"), Kind::List),
        ("404".into(), format!("{base}/404.html"), Kind::List),
    ];
    if fixture {
        pages.extend([
            (
                "section".into(),
                format!("{base}/sections/container-runtime-internals/"),
                Kind::List,
            ),
            (
                "tag".into(),
                format!("{base}/tags/a-very-long-tag-name-that-does-not-break-anywhere-at-all/"),
                Kind::List,
            ),
            (
                "note".into(),
                format!("{base}/notes/cgroup-memory-path/"),
                Kind::Note,
            ),
            (
                "root-note".into(),
                format!("{base}/notes/about-this-knowledge-base/"),
                Kind::Note,
            ),
        ]);
    } else {
        for (url, source) in site.sources.iter().take(60) {
            let name = source
                .trim_start_matches("content/")
                .trim_end_matches(".md")
                .replace('/', "-");
            pages.push((name, url.clone(), Kind::Note));
        }
    }
    pages
}

#[test]
fn every_page_fits_every_screen_with_a_menu_and_a_toc() {
    if skip_browser() {
        return;
    }
    let other = std::env::var_os("KB_RESPONSIVE_ROOT").map(std::path::PathBuf::from);
    let root = other
        .clone()
        .unwrap_or_else(|| repo_root().join("tests/fixtures/responsive"));
    let site = BuiltSite::copy_and_build(&root).unwrap();
    let sections = section_titles(&site);
    let pages = pages_of(&site, other.is_none());
    let server = StaticServer::start(site.out.clone(), &site.config.base_path, false);
    let shots = repo_root().join("target/responsive");
    let b = Browser::start();
    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0;
    for scheme in ["light", "dark"] {
        b.color_scheme(scheme);
        for w in WIDTHS {
            b.viewport(w, 900, w < MENU_BELOW);
            for (name, url, kind) in &pages {
                let at = format!("{name} ({url}) at {w} px, {scheme}");
                b.goto(&server.url(url));
                let m = b.eval(MEASURE, json!([w]));
                checked += 1;
                b.screenshot(&shots.join(format!("{name}-{w}-{scheme}.png")));
                if *kind == Kind::Note && scheme == "light" && (w == 390 || w == 1024) {
                    b.screenshot_full_page(&shots, &format!("{name}-{w}-full"), 1600);
                }
                let sw = m["scrollWidth"].as_u64().unwrap_or(0);
                if sw > u64::from(w) {
                    failures.push(format!(
                        "{at}: scrolls sideways (scrollWidth {sw} > {w}; sticking out: {})",
                        m["offenders"]
                    ));
                }
                if m["theme"] != json!(scheme) {
                    failures.push(format!("{at}: data-theme is {}", m["theme"]));
                }
                let shot = shots.join(format!("{name}-{w}-{scheme}"));
                if w < MENU_BELOW {
                    check_menu(&b, &at, &m, &sections, &shot, &mut failures);
                } else {
                    check_top_nav(&at, &m, &sections, &mut failures);
                }
                if *kind == Kind::Note {
                    check_toc(&b, &at, w, &shot, &mut failures);
                }
            }
        }
    }
    if other.is_none() {
        check_toc_follows_jumps(&b, &server, &mut failures);
    }
    eprintln!(
        "{checked} page loads checked; screenshots in {}",
        shots.display()
    );
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Below 861 px: a visible menu button; clicked, a drawer inside the screen listing every
/// section by a visible link.
fn check_menu(
    b: &Browser,
    at: &str,
    m: &Value,
    sections: &[String],
    shot: &Path,
    failures: &mut Vec<String>,
) {
    if m["menuButton"] != json!(true) {
        failures.push(format!("{at}: no visible menu button"));
        return;
    }
    b.click(&b.element(".kb-menu > summary"));
    let listed = b.eval(
        "var d = document.querySelector('.kb-menu .kb-tree'); if (!d) return null; var r = d.getBoundingClientRect();\
         if (!d.checkVisibility() || r.width === 0 || r.left < -0.5 || r.right > innerWidth + 0.5) return {box: [r.left, r.right]};\
         return {titles: Array.prototype.filter.call(d.querySelectorAll('a.kb-tree-section'), function (a) { var q = a.getBoundingClientRect(); return q.width > 0 && q.height > 0 && a.checkVisibility(); }).map(function (a) { return a.getAttribute('data-title'); })};",
        json!([]),
    );
    b.screenshot(&suffixed(shot, "menu"));
    match listed.get("titles").and_then(Value::as_array) {
        Some(titles) => {
            for s in sections {
                if !titles.iter().any(|t| t == s) {
                    failures.push(format!("{at}: the open menu does not list section {s:?}"));
                }
            }
        }
        None => failures.push(format!("{at}: the menu did not open a drawer: {listed}")),
    }
    // the same button closes it
    b.click(&b.element(".kb-menu > summary"));
    let open = b.eval(
        "var d = document.querySelector('.kb-menu .kb-tree'); return !!d && d.checkVisibility();",
        json!([]),
    );
    if open != json!(false) {
        failures.push(format!("{at}: the menu does not close"));
    }
}

/// At 861 px and up: the top nav shows whole links only, and every section is in it or the
/// menu button (or the sidebar) is there to reach them.
fn check_top_nav(at: &str, m: &Value, sections: &[String], failures: &mut Vec<String>) {
    if m["navVisible"] != json!(true) {
        failures.push(format!("{at}: the top nav is hidden"));
        return;
    }
    if m["navClipped"].as_array().is_some_and(|a| !a.is_empty()) {
        failures.push(format!("{at}: top nav links cut off: {}", m["navClipped"]));
    }
    let shown = m["navSections"].as_u64().unwrap_or(0) as usize;
    if shown < sections.len()
        && m["menuButton"] != json!(true)
        && m["sidebarVisible"] != json!(true)
    {
        failures.push(format!(
            "{at}: {shown} of {} sections in the top nav and no menu or sidebar for the rest",
            sections.len()
        ));
    }
}

/// A note with headings: below 1201 px a "本页目录" block at the top of the note that opens
/// and lists the headings; heading anchors visible on a phone.
fn check_toc(b: &Browser, at: &str, w: u32, shot: &Path, failures: &mut Vec<String>) {
    let headings = b.eval(
        "return document.querySelectorAll('.kb-content h2[id], .kb-content h3[id]').length",
        json!([]),
    );
    if headings.as_u64().unwrap_or(0) < 2 {
        return;
    }
    if w < TOC_BELOW {
        let summary = b.eval(
            "var s = document.querySelector('.kb-toc-inline > summary'); if (!s) return null; var r = s.getBoundingClientRect();\
             var t = document.querySelector('h1.kb-title').getBoundingClientRect();\
             return r.width > 0 && r.height > 0 && r.top > t.top && r.right <= innerWidth + 0.5;",
            json!([]),
        );
        if summary != json!(true) {
            failures.push(format!(
                "{at}: no visible table of contents at the top of the note ({summary})"
            ));
            return;
        }
        b.click(&b.element(".kb-toc-inline > summary"));
        b.screenshot(&suffixed(shot, "toc"));
        let links = b.eval(
            "return Array.prototype.filter.call(document.querySelectorAll('.kb-toc-inline a'), function (a) { var r = a.getBoundingClientRect(); return r.width > 0 && r.height > 0 && a.checkVisibility(); }).length",
            json!([]),
        );
        if links.as_u64().unwrap_or(0) < 2 {
            failures.push(format!(
                "{at}: the opened table of contents shows {links} links"
            ));
        }
    } else {
        let column = b.eval(
            "var t = document.querySelector('aside.kb-toc'); return !!t && t.getBoundingClientRect().width > 0 && t.querySelectorAll('a').length > 1",
            json!([]),
        );
        if column != json!(true) {
            failures.push(format!("{at}: no table of contents column"));
        }
    }
    if w < MENU_BELOW {
        let anchor = b.eval(
            "var a = document.querySelector('.kb-content .kb-anchor'); return a ? Number(getComputedStyle(a).opacity) : null;",
            json!([]),
        );
        if anchor.as_f64().unwrap_or(0.0) < 0.3 {
            failures.push(format!(
                "{at}: heading anchors invisible on touch (opacity {anchor})"
            ));
        }
    }
}

/// A link to a snippet (`#snippet-3`, as /verify/ makes) marks the heading above it as the
/// active ToC entry, in the column and in the block at the top of the note.
fn check_toc_follows_jumps(b: &Browser, server: &StaticServer, failures: &mut Vec<String>) {
    for w in [390, 1280] {
        b.viewport(w, 900, w < MENU_BELOW);
        b.goto(&server.url("/notes/cgroup-memory-path/#snippet-3"));
        let active = poll(
            b,
            "var a = Array.prototype.slice.call(document.querySelectorAll('.kb-toc a.kb-active, .kb-toc-inline a.kb-active'));\
             return a.length ? a.map(function (x) { return decodeURIComponent(x.getAttribute('href')); }) : null;",
        );
        if !active
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|h| h == "#用-crictl-反查"))
        {
            failures.push(format!(
                "#snippet-3 at {w} px: active ToC entries {active}, expected #用-crictl-反查"
            ));
        }
        // a jump within the page moves it
        b.eval("location.hash = '#slab';", json!([]));
        let moved = poll(
            b,
            "var a = document.querySelector('.kb-toc a.kb-active, .kb-toc-inline a.kb-active'); return a && decodeURIComponent(a.getAttribute('href')) === '#slab' ? true : null;",
        );
        if moved != json!(true) {
            failures.push(format!(
                "#slab at {w} px: the active ToC entry did not follow the jump"
            ));
        }
    }
}

/// `script`'s value once it is not null (2 s at most), else null.
fn poll(b: &Browser, script: &str) -> Value {
    let t0 = std::time::Instant::now();
    loop {
        let v = b.eval(script, json!([]));
        if !v.is_null() || t0.elapsed() > std::time::Duration::from_secs(2) {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `dir/page-390-light` -> `dir/page-390-light-menu.png`.
fn suffixed(shot: &Path, what: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("{}-{what}.png", shot.display()))
}
