//! `kb search` on sites built by the real pipeline (`kb::site::build`): the CLI on a fixture,
//! the query set's recall (library and browser), and the browser search end to end in headless
//! Chromium on the built pages (the theme's header search box, tokens identical to Rust's, a
//! Chinese query typed, keyboard navigation, a screenshot under target/).
//!
//! The browser tests need chromium and chromedriver (scripts/setup-machine.sh installs them);
//! set `KB_SKIP_BROWSER=1` to skip them on a machine without. `KB_SEARCH_EVAL_ROOT=DIR` runs the
//! query set against another knowledge base.

use kb::search::{SearchDoc, SearchIndex};
use serde_json::{json, Value};

use crate::query_set::{self, Recall};
use crate::site::BuiltSite;
use crate::static_server::StaticServer;
use crate::support::{repo_root, Fixture};
use crate::webdriver::Browser;

/// The search fixture, built as `kb build` does: the site in public/, the tantivy index in .kb/.
fn built_fixture() -> (Fixture, BuiltSite) {
    let fx = Fixture::copy("search");
    let site = BuiltSite::build(fx.root()).unwrap();
    (fx, site)
}

/// The tantivy index a build wrote.
fn built_index(site: &BuiltSite) -> SearchIndex {
    SearchIndex::open(&kb::search::index_dir(&site.config)).unwrap()
}

/// What the build's markdown stage handed to search, note by note.
fn search_docs(site: &BuiltSite) -> Vec<SearchDoc> {
    let loaded = kb::site::Site::load(site.config.clone(), Default::default()).unwrap();
    loaded
        .render(&kb::highlight::Highlighter::default())
        .into_iter()
        .map(|r| r.search)
        .collect()
}

// ------------------------------------------------------------------------------------------
// CLI

#[test]
fn cli_json_lists_ranked_hits_with_deep_links_and_highlighted_excerpts() {
    let (fx, _site) = built_fixture();
    let run = fx.kb(&["search", "--json", "写屏障"]);
    run.expect_code(0);
    let hits: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(hits[0]["title"], "Go 垃圾回收：三色标记与写屏障");
    assert_eq!(hits[0]["url"], "/kb/notes/gc/#write-barrier");
    assert!(hits[0]["score"].as_f64().unwrap() > 0.0);
    assert!(
        hits[0]["excerpt_html"]
            .as_str()
            .unwrap()
            .contains("<mark>写屏障</mark>"),
        "{}",
        run.stdout
    );
    assert!(hits[0]["excerpt"].as_str().unwrap().contains("写屏障"));
}

#[test]
fn cli_text_output_shows_title_link_and_marked_excerpt() {
    let (fx, _site) = built_fixture();
    let run = fx.kb(&["search", "device", "or", "resource", "busy", "--limit", "1"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("1. 删除容器报 device or resource busy\n   /kb/notes/device-busy/\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[device] [or] [resource] [busy]"),
        "{}",
        run.stdout
    );
}

#[test]
fn cli_tag_filter_and_identifier_parts() {
    let (fx, _site) = built_fixture();
    let urls = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["search", "--json"];
        a.extend_from_slice(args);
        let run = fx.kb(&a);
        run.expect_code(0);
        let hits: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
        hits.iter()
            .map(|h| h["note_url"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(urls(&["tag:linux"]), ["/kb/notes/buffer-cache/"]);
    assert_eq!(urls(&["shmmax"]), ["/kb/notes/shared-memory/"]);
    assert_eq!(urls(&["kernel.shmmax"]), ["/kb/notes/shared-memory/"]);
    assert_eq!(urls(&["gctrace"]), ["/kb/notes/gc/"]);
    assert_eq!(urls(&["MemSta"]), ["/kb/notes/gc/"]);
}

#[test]
fn cli_indexes_the_notes_itself_when_the_index_is_missing_or_stale() {
    let fx = Fixture::copy("search");
    let run = fx.kb(&["search", "--json", "垃圾回收"]);
    run.expect_code(0);
    let hits: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(hits[0]["source"], "content/go/gc.md", "{}", run.stdout);
    // a note added after the index was written is found: the index is refreshed first
    fx.write(
        "content/linux/new.md",
        "---\ntitle: 新笔记\n---\n这里讲 cfs_quota_us 限流。\n",
    );
    let run = fx.kb(&["search", "--json", "cfs_quota_us"]);
    run.expect_code(0);
    let hits: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(hits[0]["source"], "content/linux/new.md", "{}", run.stdout);
}

#[test]
fn cli_rejects_a_query_with_nothing_to_search() {
    let fx = Fixture::copy("search");
    let run = fx.kb(&["search", "..."]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("nothing to search for"),
        "{}",
        run.stderr
    );
}

// ------------------------------------------------------------------------------------------
// Query set recall through the library (the code path of `kb search` and /_kb/search), on the
// index `kb build` wrote for the knowledge base.

#[test]
fn query_set_recall_cli() {
    let root = query_set::eval_root();
    let (present, missing) = query_set::load(&root);
    let site = BuiltSite::copy_and_build(&root).unwrap();
    let idx = built_index(&site);
    let mut recall = Recall::default();
    for case in &present {
        let ranked: Vec<String> = idx
            .search(&case.q, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.source)
            .collect();
        recall.add(case, &ranked);
    }
    eprintln!("{}", recall.report("CLI query set"));
    eprintln!(
        "({} queries skipped: their notes are not in content/ yet)",
        missing.len()
    );
    assert!(
        recall.n == 0 || recall.at3 == recall.n,
        "{}",
        recall.report("CLI query set")
    );
}

// ------------------------------------------------------------------------------------------
// Browser

fn skip_browser() -> bool {
    if std::env::var_os("KB_SKIP_BROWSER").is_some() {
        eprintln!("KB_SKIP_BROWSER set: skipping the browser search test");
        return true;
    }
    false
}

/// Texts whose tokens Rust and JS must agree on: prose, identifiers, camelCase, full-width,
/// kana/Hangul, overlong words, emoji.
fn token_samples(docs: &[SearchDoc]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "GODEBUG=gctrace=1 runtime.MemStats HTTPServer NumGC PauseTotalNs".into(),
        "KUBE-SVC-XXXX kube-proxy memory.numa_stat cfs_quota_us cpu.shares /proc/sys/kernel/shmmax".into(),
        "ENTRYPOINT与CMD 常用垃圾回收方法 ＤＯＣＫＥＲ容器 カタカナ ひらがな 한국어 Ünïcödé naïve café".into(),
        format!("x {} y 🚀 emoji 𠀀𠀁 runs, running, ran: connections' boy's", "a".repeat(70)),
    ];
    for d in docs {
        v.push(d.title.clone());
        for s in &d.sections {
            v.push(s.heading.clone());
            v.push(s.text.clone());
            v.push(s.code.clone());
        }
    }
    v
}

#[test]
fn browser_search_end_to_end() {
    if skip_browser() {
        return;
    }
    let (_fx, site) = built_fixture();
    let docs = search_docs(&site);
    let server = StaticServer::start(site.out.clone(), &site.config.base_path, false);
    let b = Browser::start();
    b.goto(&server.url("/kb/"));
    b.wait_for(
        "return !!(window.kbSearch && window.kbSearch.index)",
        "search.js",
    );

    // 1. the JS tokenizer reproduces Rust's tokens, in index, highlighting and query form
    let samples = token_samples(&docs);
    let js = b.eval(
        "return arguments[0].map(function (t) { var k = window.kbSearch; var f = function (ts) { return ts.map(function (x) { return [x.text, x.position]; }); };\
         return [f(k.indexTokens(t)), f(k.matchTokens(t)), f(k.queryTokens(t, false)), f(k.queryTokens(t, true))]; });",
        json!([samples]),
    );
    for (i, text) in samples.iter().enumerate() {
        let rust = json!([
            kb::search::analyze(text),
            kb::search::analyze_matching(text),
            kb::search::analyze_query(text, false),
            kb::search::analyze_query(text, true)
        ]);
        assert_eq!(js[i], rust, "tokens differ for {text:?}");
    }

    // 2. index not loaded until the box is focused; `/` focuses it
    assert_eq!(b.eval("return performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('_kb/search') >= 0; }).length", json!([])), json!(0));
    let body = b.element("body");
    b.keys(&body, "/");
    b.wait_for("return document.activeElement && document.activeElement.classList.contains('kb-search-input')", "focus on /");

    // 3. type a Chinese query: results as you type, highlighted excerpt, deep link
    let input = b.element(".kb-search-input");
    b.keys(&input, "垃圾回收");
    let first = b.wait_for(
        "var a = document.querySelector('.kb-search-hit'); return a ? [a.getAttribute('href'), a.querySelector('.kb-search-excerpt').innerHTML] : null;",
        "results",
    );
    assert_eq!(first[0], "/kb/notes/gc/");
    assert!(
        first[1].as_str().unwrap().contains("<mark>垃圾回收</mark>"),
        "{first}"
    );

    b.eval("var i = document.querySelector('.kb-search-input'); i.value = ''; i.dispatchEvent(new Event('input'));", json!([]));
    b.keys(&input, "写屏障");
    b.wait_for("var a = document.querySelector('.kb-search-hit'); return a && a.getAttribute('href') === '/kb/notes/gc/#write-barrier';", "deep link");
    b.screenshot(&repo_root().join("target/search-e2e.png"));

    // 4. the browser's hits agree with the library's: same note, anchor and excerpt
    let idx = built_index(&site);
    for q in [
        "垃圾回收",
        "写屏障",
        "shmget EINVAL",
        "kernel.shmmax",
        "device or resource busy",
        "tag:docker",
        "\"标记清除\"",
        "Memst",
        "buffer cache 区别",
        // one character, found inside runs through the bigrams it starts
        "屏",
        "回",
        // a phrase ending in one character: `返回` follows `shmget`
        "\"shmget 返\"",
        // an excerpt holding all five characters HTML escapes (`'`, `<`, `>`, `&`, `"`)
        "detach lazily",
    ] {
        let rust: Vec<(String, String)> = idx
            .search(q, 5)
            .unwrap()
            .into_iter()
            .map(|h| (h.url, h.excerpt_html))
            .collect();
        let js = b.eval_async(
            "return window.kbSearch.search(arguments[0], 5);",
            json!([q]),
        );
        let js: Vec<(String, String)> = js
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["url"].as_str().unwrap().to_string(),
                    h["excerpt_html"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(js, rust, "browser and library disagree on {q:?}");
        if q == "detach lazily" {
            assert!(
                rust.first().is_some_and(|(_, html)| html
                    .contains("can&#39;t stop the holder: umount -l &lt;dir&gt; &amp;&amp; &quot;docker rm&quot;")),
                "{rust:?}"
            );
        }
    }

    // 5. keyboard: Down selects the first hit, Enter opens it; Esc closes the list
    b.keys(&input, "\u{E015}");
    b.wait_for("var a = document.querySelector('.kb-search-hit'); return a && a.getAttribute('aria-selected') === 'true';", "selection");
    b.keys(&input, "\u{E00C}");
    b.wait_for(
        "return document.querySelector('.kb-search-results').hidden",
        "Esc closes",
    );
    b.eval(
        "document.querySelector('.kb-search-input').focus();",
        json!([]),
    );
    b.keys(&input, "\u{E015}\u{E007}");
    b.wait_for(
        "return location.pathname + location.hash === '/kb/notes/gc/#write-barrier';",
        "Enter opens the selected hit",
    );
    // ... which is the built note page, with the heading the hit linked to
    let page = b.wait_for(
        "var h = document.querySelector('h1.kb-title'); return h && document.getElementById('write-barrier') ? h.textContent : null;",
        "the note page",
    );
    assert_eq!(page, "Go 垃圾回收：三色标记与写屏障");
}

#[test]
fn query_set_recall_browser() {
    if skip_browser() {
        return;
    }
    let root = query_set::eval_root();
    let (present, _) = query_set::load(&root);
    let site = BuiltSite::copy_and_build(&root).unwrap();
    let base = site.config.base_path.clone();
    let server = StaticServer::start(site.out.clone(), &base, false);
    let b = Browser::start();
    b.goto(&server.url(&format!("{base}/")));
    b.wait_for(
        "return !!(window.kbSearch && window.kbSearch.index)",
        "search.js",
    );
    let queries: Vec<&str> = present.iter().map(|c| c.q.as_str()).collect();
    let js = b.eval_async(
        "return Promise.all(arguments[0].map(function (q) { return window.kbSearch.search(q, 10); }));",
        json!([queries]),
    );
    let mut recall = Recall::default();
    for (case, hits) in present.iter().zip(js.as_array().unwrap()) {
        let ranked: Vec<String> = hits
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                site.source_of(h["note_url"].as_str().unwrap())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        recall.add(case, &ranked);
    }
    eprintln!("{}", recall.report("browser query set"));
    let index = site.out.join("_kb/search");
    let bytes = |rel: &str| -> u64 {
        walkdir::WalkDir::new(index.join(rel))
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    };
    eprintln!(
        "browser index: {} notes, meta {} B, word lists {} B, postings {} B, fragments {} B, {} B per note",
        site.notes(),
        bytes("meta.json"),
        bytes("w"),
        bytes("i"),
        bytes("f"),
        bytes("") / site.notes().max(1) as u64
    );
    assert!(
        recall.n == 0 || recall.at3 == recall.n,
        "{}",
        recall.report("browser query set")
    );
}
