//! kb's browser search against Pagefind, the reference for static-site search, on this
//! repository's notes: bundle size, bytes a visitor downloads, recall on the query set, latency.
//!
//! `PAGEFIND=path/to/pagefind cargo bench --bench pagefind [-- --notes N]` (default: `pagefind`
//! on PATH; get it with `npm install pagefind`). Needs chromium and chromedriver like the browser
//! tests. `KB_SEARCH_EVAL_ROOT=DIR` compares on another knowledge base; `--notes N` on N
//! generated notes (benches/support/corpus.rs), where the query set runs for bytes and latency only (the
//! notes it names are not there). Prints figures, asserts nothing.
//!
//! 1. Build the knowledge base with kb (a temp copy), as `kb build` does.
//! 2. Run Pagefind over the same HTML. Fair input: only the note's `<article>` (title, tags,
//!    body; no breadcrumb, sidebars, prev/next or backlinks, which would add other notes' titles),
//!    chosen with `--root-selector`/`--exclude-selectors` so the theme stays as it is. Pages
//!    say `<html lang="zh-CN">`, so Pagefind's extended build segments the Chinese into words.
//! 3. Sizes on disk, and as a static host serves them (text gzip-compressed; Pagefind's own
//!    index files are gzip already and are served as they are).
//! 4. Headless Chromium loads the site from a local server that gzips text like a static host
//!    and logs every response. Each engine runs the query set through its own code: kb through
//!    the page's search.js (`kbSearch.search`, what the search box calls), Pagefind through
//!    `/pagefind/pagefind.js` imported as a module (`search(q)`, then `data()` for the shown
//!    results). Downloaded bytes are counted at the server, because Pagefind fetches its index
//!    from a web worker, whose requests the page's Resource Timing does not list (the page-side
//!    figure is printed too, as a cross-check). Latency (search plus excerpts of the shown
//!    results) is timed in the page over five more passes of the set, all files loaded.

#[path = "support/corpus.rs"]
mod corpus;

#[path = "../tests/support/query_set.rs"]
mod query_set;
#[path = "../tests/support/site.rs"]
mod site;
#[path = "../tests/support/static_server.rs"]
mod static_server;
#[path = "../tests/support/webdriver.rs"]
mod webdriver;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

use query_set::{QueryCase, Recall};
use site::BuiltSite;
use static_server::{Served, StaticServer};
use webdriver::Browser;

/// The element of a note page that holds the note (default theme, templates/note.html).
const ROOT_SELECTOR: &str = "article.kb-note";
/// Parts of that article that are not the note's text: navigation, other notes' titles
/// (backlinks, prev/next), build metadata, code-block toolbars, heading anchor links, and the
/// front matter summary (kb does not index it either).
const EXCLUDE_SELECTORS: &str = ".kb-breadcrumb, .kb-meta, .kb-summary, .kb-backlinks, \
                                 .kb-prevnext, .kb-source, .kb-code-head, .kb-anchor";
/// Results a search box shows at once (kb's shows 10); both engines fetch excerpts for these.
const SHOWN: usize = 10;
/// Warm passes over the query set for the latency figures.
const WARM_PASSES: usize = 5;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `--notes N`, if given (cargo passes `--bench` too, which is ignored).
fn notes_arg() -> anyhow::Result<Option<usize>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--notes") {
        None => Ok(None),
        Some(i) => {
            let n = args.get(i + 1).context("--notes takes a number")?;
            Ok(Some(
                n.parse()
                    .with_context(|| format!("--notes {n}: not a number"))?,
            ))
        }
    }
}

fn run() -> anyhow::Result<()> {
    let pagefind = std::env::var_os("PAGEFIND").unwrap_or_else(|| OsString::from("pagefind"));
    let version = match Command::new(&pagefind).arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => bail!(
            "Pagefind not found (`{}`). Install it with `npm install pagefind`, then run \
             `PAGEFIND=$PWD/node_modules/.bin/pagefind cargo bench --bench pagefind`",
            pagefind.to_string_lossy()
        ),
    };

    // 1. kb build: this repository (or KB_SEARCH_EVAL_ROOT), or a generated corpus
    let notes_arg = notes_arg()?;
    let (site, cases, skipped, _generated) = match notes_arg {
        None => {
            let root = query_set::eval_root();
            let (cases, skipped) = query_set::load(&root);
            (BuiltSite::copy_and_build(&root)?, cases, skipped, None)
        }
        Some(n) => {
            let dir = tempfile::tempdir()?;
            corpus::write_site(dir.path(), n, 42)?;
            let site = BuiltSite::build(dir.path())?;
            let (_, all) = query_set::load(dir.path());
            (site, all, Vec::new(), Some(dir))
        }
    };
    let scored = notes_arg.is_none();
    let timings = &site.report.timings.0;
    let kb_build: Duration = timings.iter().map(|(_, d)| *d).sum();
    let kb_search_stage: Duration = timings
        .iter()
        .filter(|(s, _)| *s == "search")
        .map(|(_, d)| *d)
        .sum();
    let notes = site.notes();

    // 2. Pagefind over the same HTML
    let t = Instant::now();
    let out = Command::new(&pagefind)
        .arg("--site")
        .arg(&site.out)
        .args(["--root-selector", ROOT_SELECTOR])
        .args(["--exclude-selectors", EXCLUDE_SELECTORS])
        .output()
        .context("run pagefind")?;
    let pf_index_time = t.elapsed();
    let log = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pagefind failed:\n{log}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let pf_pages = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Indexed ")?.strip_suffix(" pages"))
        .unwrap_or("?")
        .to_string();

    match notes_arg {
        None => println!(
            "knowledge base: {} ({notes} notes)",
            query_set::eval_root().display()
        ),
        Some(_) => println!(
            "knowledge base: generated (benches/support/corpus.rs, seed 42), {notes} notes"
        ),
    }
    println!("machine: {}", machine());
    println!("pagefind: {version} (`{}`)", pagefind.to_string_lossy());
    println!(
        "kb build: {:.0} ms, of which search (tantivy + browser index) {:.0} ms; pagefind: {:.0} ms, {pf_pages} pages indexed",
        kb_build.as_secs_f64() * 1000.0,
        kb_search_stage.as_secs_f64() * 1000.0,
        pf_index_time.as_secs_f64() * 1000.0,
    );
    if pf_pages != notes.to_string() {
        println!("  (!) Pagefind indexed {pf_pages} pages for {notes} notes: check ROOT_SELECTOR");
    }

    // 3. sizes on disk
    let kb_files: Vec<PathBuf> = files(&site.out.join("_kb/search"))
        .into_iter()
        .chain(["search.js", "search.css"].map(|f| site.out.join(f)))
        .collect();
    let pf_all = files(&site.out.join("pagefind"));
    let pf_api: Vec<PathBuf> = pf_all
        .iter()
        .filter(|p| !is_pagefind_ui(p))
        .cloned()
        .collect();
    let kb_size = Size::of(&kb_files)?;
    let pf_all_size = Size::of(&pf_all)?;
    let pf_api_size = Size::of(&pf_api)?;

    // 4. in the browser
    let base = site.config.base_path.clone();
    let server = StaticServer::start(site.out.clone(), &base, true);
    let browser = Browser::start();
    let kb = run_engine(&browser, &server, &site, &cases, Engine::Kb)?;
    let pf = run_engine(&browser, &server, &site, &cases, Engine::Pagefind)?;

    // ---- report
    let per_note = |b: u64| b / notes.max(1) as u64;
    println!("\n| | kb | Pagefind |\n|---|---|---|");
    println!(
        "| bundle on disk | {} files, {} | {} files, {} (without its UI files: {} files, {}) |",
        kb_size.files,
        kib(kb_size.raw),
        pf_all_size.files,
        kib(pf_all_size.raw),
        pf_api_size.files,
        kib(pf_api_size.raw)
    );
    println!(
        "| bundle as served (gzip) | {} ({} per note) | {} ({} per note); without UI {} ({} per note) |",
        kib(kb_size.served),
        kib(per_note(kb_size.served)),
        kib(pf_all_size.served),
        kib(per_note(pf_all_size.served)),
        kib(pf_api_size.served),
        kib(per_note(pf_api_size.served)),
    );
    println!(
        "| downloaded for the first query ({:?}, {SHOWN} results) | {} | {} |",
        cases.first().map(|c| c.q.as_str()).unwrap_or(""),
        kb.first,
        pf.first
    );
    println!(
        "| downloaded for the whole query set ({} queries) | {} | {} |",
        cases.len(),
        kb.all,
        pf.all
    );
    if scored {
        println!(
            "| recall@1 / @3 | {:.3} / {:.3} | {:.3} / {:.3} |",
            kb.recall.at1_rate(),
            kb.recall.at3_rate(),
            pf.recall.at1_rate(),
            pf.recall.at3_rate()
        );
        for (kind, (n, a1, a3)) in &kb.recall.by_kind {
            let (_, p1, p3) = pf.recall.by_kind.get(kind).copied().unwrap_or_default();
            println!("| &nbsp;&nbsp;{kind} ({n}): hits @1 / @3 | {a1} / {a3} | {p1} / {p3} |");
        }
    }
    println!(
        "| latency, warm ({WARM_PASSES} passes; median / p90 / max) | {} | {} |",
        kb.latency, pf.latency
    );
    println!(
        "\nDownloads are bytes on the wire (headers + gzip body) of each engine's own files (kb: \
         search.js, search.css, _kb/search/; Pagefind: /pagefind/), counted at the server, by \
         kind:"
    );
    for (name, e) in [("kb", &kb), ("Pagefind", &pf)] {
        println!("  {name}, first query: {}", e.first.breakdown());
        println!("  {name}, whole set:   {}", e.all.breakdown());
    }
    println!(
        "Resource Timing in the page saw kb {} requests / {} encoded, Pagefind {} / {} (its web \
         worker's fetches are not listed there).",
        kb.page_seen.0,
        kib(kb.page_seen.1),
        pf.page_seen.0,
        kib(pf.page_seen.1)
    );
    println!(
        "Cold first query (downloads from localhost included): kb {:.1} ms, Pagefind {:.1} ms",
        kb.first_ms, pf.first_ms
    );
    if !scored {
        return Ok(());
    }
    if !skipped.is_empty() {
        println!(
            "({} queries skipped: their notes are not in this knowledge base)",
            skipped.len()
        );
    }
    for (name, e) in [("kb", &kb), ("Pagefind", &pf)] {
        println!(
            "\n{name}: first hit is not the expected note for {} of {} queries",
            e.recall.n - e.recall.at1,
            e.recall.n
        );
        for m in &e.misses {
            println!("  {m}");
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Engine {
    Kb,
    Pagefind,
}

impl Engine {
    /// What a request of this engine fetched, or `None` for another file (the page, its CSS).
    /// `path` is relative to the site's base path.
    fn kind(self, path: &str) -> Option<&'static str> {
        match self {
            Engine::Kb => {
                if path == "/search.js" || path == "/search.css" {
                    Some("script+css")
                } else if let Some(rest) = path.strip_prefix("/_kb/search/") {
                    Some(match rest.split('/').next() {
                        Some("i") => "postings",
                        Some("w") => "word lists",
                        Some("f") => "fragments",
                        _ => "meta",
                    })
                } else {
                    None
                }
            }
            Engine::Pagefind => {
                let rest = path.strip_prefix("/pagefind/")?;
                Some(if rest.ends_with(".js") {
                    "scripts"
                } else if rest.starts_with("wasm.") {
                    "wasm"
                } else if rest.starts_with("index/") {
                    "index chunks"
                } else if rest.starts_with("fragment/") {
                    "fragments"
                } else {
                    "entry+meta"
                })
            }
        }
    }
}

/// Requests and bytes on the wire, by kind of file.
#[derive(Debug, Default, Clone)]
struct Traffic {
    by_kind: BTreeMap<&'static str, (usize, u64)>,
}

impl Traffic {
    fn add(&mut self, engine: Engine, base: &str, log: &[Served]) {
        for s in log {
            let path = s.path.strip_prefix(base).unwrap_or(&s.path);
            if let Some(kind) = engine.kind(path) {
                let e = self.by_kind.entry(kind).or_default();
                e.0 += 1;
                e.1 += s.wire;
            }
        }
    }

    fn requests(&self) -> usize {
        self.by_kind.values().map(|v| v.0).sum()
    }

    fn bytes(&self) -> u64 {
        self.by_kind.values().map(|v| v.1).sum()
    }

    fn breakdown(&self) -> String {
        self.by_kind
            .iter()
            .map(|(k, (n, b))| format!("{k} {} ({n})", kib(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {} requests", kib(self.bytes()), self.requests())
    }
}

/// What one engine did in the browser.
struct EngineRun {
    first: Traffic,
    all: Traffic,
    /// Requests and encoded body bytes the page's Resource Timing listed for the engine.
    page_seen: (u64, u64),
    recall: Recall,
    misses: Vec<String>,
    first_ms: f64,
    latency: Latency,
}

/// Load the site's front page, run the query set through one engine (cold, then warm), and
/// count what it downloaded.
fn run_engine(
    b: &Browser,
    server: &StaticServer,
    site: &BuiltSite,
    cases: &[QueryCase],
    engine: Engine,
) -> anyhow::Result<EngineRun> {
    let base = site.config.base_path.as_str();
    server.take_log();
    b.goto(&server.url(&format!("{base}/")));
    b.eval(
        "performance.setResourceTimingBufferSize(100000);",
        json!([]),
    );
    // `__run(q)`: the engine's top SHOWN hits as [url, title], excerpts fetched
    let setup = match engine {
        Engine::Kb => {
            b.wait_for("return !!window.kbSearch", "search.js");
            "var n = arguments[0];\
             window.__run = function (q) { return window.kbSearch.search(q, n).then(function (hs) { return hs.map(function (h) { return [h.url, h.title]; }); }); };"
        }
        Engine::Pagefind => {
            "var n = arguments[0], base = arguments[1];\
             window.__run = async function (q) {\
               if (!window.__pf) window.__pf = await import(base + '/pagefind/pagefind.js');\
               var r = await window.__pf.search(q);\
               var d = await Promise.all(r.results.slice(0, n).map(function (x) { return x.data(); }));\
               return d.map(function (x) { return [x.url, x.meta && x.meta.title]; }); };"
        }
    };
    b.eval(setup, json!([SHOWN, base]));
    // runs the queries one after the other: [[hits per query], [ms per query]]
    let pass = "var qs = arguments[0], out = [], ms = [];\
                return (async function () { for (var i = 0; i < qs.length; i++) { var t = performance.now(); out.push(await window.__run(qs[i])); ms.push(performance.now() - t); } return [out, ms]; })();";
    let queries: Vec<&str> = cases.iter().map(|c| c.q.as_str()).collect();
    let split = queries.len().min(1);

    // the first query (kb's search.js and .css, which come with the page, count here), the
    // rest of the set cold, then the whole set again, warm, WARM_PASSES times for latency
    let first = b.eval_async(pass, json!([&queries[..split]]));
    let mut first_traffic = Traffic::default();
    first_traffic.add(engine, base, &server.take_log());
    let rest = b.eval_async(pass, json!([&queries[split..]]));
    let warm: Vec<Value> = (0..WARM_PASSES)
        .map(|_| b.eval_async(pass, json!([queries])))
        .collect();
    let mut all = first_traffic.clone();
    all.add(engine, base, &server.take_log());
    let page_seen = b.eval(
        "var base = arguments[0], pagefind = arguments[1], n = 0, bytes = 0;\
         performance.getEntriesByType('resource').forEach(function (e) {\
           var p = new URL(e.name).pathname.slice(base.length);\
           var mine = pagefind ? p.indexOf('/pagefind/') === 0 : (p.indexOf('/_kb/search/') === 0 || p === '/search.js' || p === '/search.css');\
           if (mine) { n++; bytes += e.encodedBodySize; } });\
         return [n, bytes];",
        json!([base, engine == Engine::Pagefind]),
    );

    let hits: Vec<Value> = first[0]
        .as_array()
        .into_iter()
        .chain(rest[0].as_array())
        .flatten()
        .cloned()
        .collect();
    let mut recall = Recall::default();
    let mut misses = Vec::new();
    for (case, hits) in cases.iter().zip(&hits) {
        let hits = hits.as_array().cloned().unwrap_or_default();
        let ranked: Vec<String> = hits
            .iter()
            .map(|h| {
                site.source_of(h[0].as_str().unwrap_or(""))
                    .unwrap_or("?")
                    .to_string()
            })
            .collect();
        recall.add(case, &ranked);
        if ranked.first() != Some(&case.expect) {
            let got = match hits.first() {
                Some(h) => format!(
                    "{} ({})",
                    h[1].as_str().unwrap_or(""),
                    h[0].as_str().unwrap_or("")
                ),
                None => "no results".to_string(),
            };
            let expected_at = match ranked.iter().position(|s| *s == case.expect) {
                Some(p) => format!("at {}", p + 1),
                None => format!("not in the top {SHOWN}"),
            };
            misses.push(format!(
                "[{}] {:?} -> {got}; {} is {expected_at}",
                case.kind, case.q, case.expect
            ));
        }
    }
    let ms = |v: &Value| -> Vec<f64> {
        v.as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    };
    Ok(EngineRun {
        first: first_traffic,
        all,
        page_seen: (
            page_seen[0].as_u64().unwrap_or(0),
            page_seen[1].as_u64().unwrap_or(0),
        ),
        recall,
        misses,
        first_ms: ms(&first[1]).first().copied().unwrap_or(0.0),
        latency: Latency::of(warm.iter().flat_map(|w| ms(&w[1])).collect()),
    })
}

/// Median, 90th percentile and maximum of per-query times.
struct Latency {
    median: f64,
    p90: f64,
    max: f64,
}

impl Latency {
    fn of(mut ms: Vec<f64>) -> Latency {
        ms.sort_by(f64::total_cmp);
        let at = |p: f64| -> f64 {
            if ms.is_empty() {
                return 0.0;
            }
            ms[((ms.len() - 1) as f64 * p).round() as usize]
        };
        Latency {
            median: at(0.5),
            p90: at(0.9),
            max: at(1.0),
        }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.1} / {:.1} / {:.1} ms",
            self.median, self.p90, self.max
        )
    }
}

/// Files, bytes on disk, and bytes as a static host serves them (text gzip-compressed).
#[derive(Debug, Default)]
struct Size {
    files: usize,
    raw: u64,
    served: u64,
}

impl Size {
    fn of(paths: &[PathBuf]) -> anyhow::Result<Size> {
        let mut s = Size::default();
        for p in paths {
            let bytes = std::fs::read(p).with_context(|| format!("read {}", p.display()))?;
            s.files += 1;
            s.raw += bytes.len() as u64;
            s.served += if is_text(p) {
                static_server::gzip_bytes(&bytes)?.len() as u64
            } else {
                bytes.len() as u64
            };
        }
        Ok(s)
    }
}

/// What a static host compresses (the same rule as the bench's server).
fn is_text(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("html" | "js" | "css" | "json" | "wasm")
    )
}

/// Pagefind's prebuilt UIs (default, modular, component) and highlighter: part of its bundle,
/// not fetched by a page that uses the JS API as this benchmark does.
fn is_pagefind_ui(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.contains("-ui.")
        || name == "pagefind-highlight.js"
        || p.components().any(|c| c.as_os_str() == "playground")
}

/// Every file under `dir`, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    v.sort();
    v
}

fn kib(b: u64) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}

/// CPU model, cores, Chromium version.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split(':')
                    .nth(1)
                    .map(|m| m.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let chromium = Command::new("chromium")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(|l| l.trim().to_string())
        })
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {chromium}")
}
