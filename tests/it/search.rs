//! `kb search`: the CLI on a fixture, the query set's recall (library and browser), and the
//! browser search end to end in headless Chromium (tokens identical to Rust's, a Chinese query
//! typed into the header box, keyboard navigation, a screenshot under target/).
//!
//! The browser tests need chromium and chromedriver (scripts/setup-machine.sh installs them);
//! set `KB_SKIP_BROWSER=1` to skip them on a machine without.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kb::config::Config;
use kb::output::sink::DirSink;
use kb::search::{SearchDoc, SearchIndex, SearchSection};
use serde_json::{json, Value};

use crate::support::{repo_root, Fixture};

// ------------------------------------------------------------------------------------------
// Notes -> SearchDocs. Mirrors what the build's markdown stage hands to search (front matter
// title/tags/date, text split at headings, `{#id}` or slugged anchors, code apart).

#[derive(Debug, Default, serde::Deserialize)]
struct Front {
    title: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    date: Option<serde_yaml_ng::Value>,
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if c.is_whitespace() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn note_to_doc(root: &Path, base_path: &str, path: &Path) -> SearchDoc {
    use pulldown_cmark::{Event, Parser, Tag, TagEnd};
    let text = std::fs::read_to_string(path).unwrap();
    let (front, body) = match text
        .strip_prefix("---\n")
        .and_then(|t| t.split_once("\n---\n"))
    {
        Some((fm, body)) => (
            serde_yaml_ng::from_str::<Front>(fm).unwrap_or_default(),
            body.to_string(),
        ),
        None => (Front::default(), text.clone()),
    };
    let rel = path
        .strip_prefix(root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/");
    let slug_path = rel.trim_start_matches("content/").trim_end_matches(".md");
    let mut sections = vec![SearchSection::default()];
    let (mut in_heading, mut in_code) = (false, false);
    let mut heading = String::new();
    for ev in Parser::new_ext(&body, kb::snippet::extract::markdown_options()) {
        match ev {
            Event::Start(Tag::Heading { id, .. }) => {
                in_heading = true;
                heading.clear();
                sections.push(SearchSection {
                    anchor: id.map(|s| s.to_string()).unwrap_or_default(),
                    ..Default::default()
                });
            }
            Event::End(TagEnd::Heading(_)) => {
                in_heading = false;
                let s = sections.last_mut().unwrap();
                s.heading = collapse(&heading);
                if s.anchor.is_empty() {
                    s.anchor = slug(&s.heading);
                }
            }
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                sections.last_mut().unwrap().code.push('\n');
            }
            Event::Text(t) | Event::Code(t) => {
                let s = sections.last_mut().unwrap();
                if in_heading {
                    heading.push_str(&t);
                } else if in_code {
                    s.code.push_str(&t);
                } else {
                    s.text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak | Event::End(_) if !in_code && !in_heading => {
                sections.last_mut().unwrap().text.push(' ');
            }
            _ => {}
        }
    }
    for s in &mut sections {
        s.text = collapse(&s.text);
        s.code = s.code.trim().to_string();
    }
    SearchDoc {
        url: format!("{base_path}/{slug_path}/"),
        title: front.title.unwrap_or_else(|| slug_path.to_string()),
        tags: front.tags,
        date: front.date.and_then(|d| d.as_str().map(str::to_string)),
        source: rel,
        sections,
    }
}

/// Every note under `root/content` as a SearchDoc, sorted by source path.
fn load_docs(root: &Path) -> Vec<SearchDoc> {
    let config = Config::load(root).unwrap();
    let mut docs: Vec<SearchDoc> = walkdir::WalkDir::new(root.join("content"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| note_to_doc(root, &config.base_path, e.path()))
        .collect();
    docs.sort_by(|a, b| a.source.cmp(&b.source));
    docs
}

// ------------------------------------------------------------------------------------------
// The query set (tests/search-queries.toml).

#[derive(Debug, serde::Deserialize)]
struct QuerySet {
    query: Vec<QueryCase>,
}

#[derive(Debug, Clone, serde::Deserialize)]
struct QueryCase {
    q: String,
    /// The note that must come first.
    expect: String,
    kind: String,
}

/// The knowledge base the query set runs against: the repo, or `KB_SEARCH_EVAL_ROOT`.
fn eval_root() -> PathBuf {
    std::env::var_os("KB_SEARCH_EVAL_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(repo_root)
}

fn query_set(root: &Path) -> (Vec<QueryCase>, Vec<QueryCase>) {
    let text = std::fs::read_to_string(repo_root().join("tests/search-queries.toml")).unwrap();
    let set: QuerySet = toml::from_str(&text).unwrap();
    set.query
        .into_iter()
        .partition(|c| root.join(&c.expect).is_file())
}

/// Recall@1 and @3 of ranked source lists, with the misses listed.
#[derive(Debug, Default)]
struct Recall {
    n: usize,
    at1: usize,
    at3: usize,
    misses: Vec<String>,
}

impl Recall {
    fn add(&mut self, case: &QueryCase, ranked: &[String]) {
        self.n += 1;
        let pos = ranked.iter().position(|s| *s == case.expect);
        if pos == Some(0) {
            self.at1 += 1;
        }
        if pos.is_some_and(|p| p < 3) {
            self.at3 += 1;
        }
        if pos != Some(0) {
            self.misses.push(format!(
                "  [{}] {:?}: expected {} at {:?}, got {:?}",
                case.kind,
                case.q,
                case.expect,
                pos,
                &ranked[..ranked.len().min(3)]
            ));
        }
    }

    fn report(&self, what: &str) -> String {
        format!(
            "{what}: {} queries, recall@1 {:.3} ({}/{}), recall@3 {:.3} ({}/{})\n{}",
            self.n,
            self.at1 as f64 / self.n.max(1) as f64,
            self.at1,
            self.n,
            self.at3 as f64 / self.n.max(1) as f64,
            self.at3,
            self.n,
            self.misses.join("\n")
        )
    }
}

// ------------------------------------------------------------------------------------------
// CLI

/// Index a fixture the way `kb build` does (tantivy index in .kb/, browser index in `site`).
fn index_fixture(fx: &Fixture, site: &Path) -> Vec<SearchDoc> {
    let config = Config::load(fx.root()).unwrap();
    let docs = load_docs(fx.root());
    kb::search::index_site(&config, &docs, &DirSink::new(site)).unwrap();
    docs
}

#[test]
fn cli_json_lists_ranked_hits_with_deep_links_and_highlighted_excerpts() {
    let fx = Fixture::copy("search");
    let site = tempfile::tempdir().unwrap();
    index_fixture(&fx, site.path());
    let run = fx.kb(&["search", "--json", "写屏障"]);
    run.expect_code(0);
    let hits: Vec<Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(hits[0]["title"], "Go 垃圾回收：三色标记与写屏障");
    assert_eq!(hits[0]["url"], "/kb/go/gc/#write-barrier");
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
    let fx = Fixture::copy("search");
    let site = tempfile::tempdir().unwrap();
    index_fixture(&fx, site.path());
    let run = fx.kb(&["search", "device", "or", "resource", "busy", "--limit", "1"]);
    run.expect_code(0);
    assert!(
        run.stdout
            .starts_with("1. 删除容器报 device or resource busy\n   /kb/docker/device-busy/\n"),
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
    let fx = Fixture::copy("search");
    let site = tempfile::tempdir().unwrap();
    index_fixture(&fx, site.path());
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
    assert_eq!(urls(&["tag:linux"]), ["/kb/linux/buffer-cache/"]);
    assert_eq!(urls(&["shmmax"]), ["/kb/docker/shared-memory/"]);
    assert_eq!(urls(&["kernel.shmmax"]), ["/kb/docker/shared-memory/"]);
    assert_eq!(urls(&["gctrace"]), ["/kb/go/gc/"]);
    assert_eq!(urls(&["MemSta"]), ["/kb/go/gc/"]);
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
// Query set recall through the library (the code path of `kb search` and /_kb/search).

#[test]
fn query_set_recall_cli() {
    let root = eval_root();
    let (present, missing) = query_set(&root);
    let docs = load_docs(&root);
    let mut idx = SearchIndex::in_memory().unwrap();
    idx.update(&docs, "").unwrap();
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

/// A static file server for the site on 127.0.0.1 (serves `dir` under `prefix`).
fn serve_dir(dir: PathBuf, prefix: &'static str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let _ = serve_one(stream, &dir, prefix);
            });
        }
    });
    port
}

fn serve_one(mut stream: TcpStream, dir: &Path, prefix: &str) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or("/");
    let rel = percent_decode(
        path.strip_prefix(prefix)
            .unwrap_or(path)
            .trim_start_matches('/'),
    );
    let mut file = dir.join(&rel);
    if file.is_dir() {
        file = file.join("index.html");
    }
    let (status, body) = match std::fs::read(&file) {
        Ok(b) if !rel.contains("..") => ("200 OK", b),
        _ => ("404 Not Found", b"not found".to_vec()),
    };
    let ctype = match file.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("css") => "text/css",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    write!(stream, "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
    stream.write_all(&body)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A test page: the theme's search partial in a header, search.js and search.css, the theme's
/// colour variables.
fn write_page(site: &Path, base: &str, body: &str) {
    let theme = repo_root().join("themes/default");
    let partial = std::fs::read_to_string(theme.join("templates/partials/search.html")).unwrap();
    std::fs::copy(theme.join("static/search.js"), site.join("search.js")).unwrap();
    std::fs::copy(theme.join("static/search.css"), site.join("search.css")).unwrap();
    let html = format!(
        r#"<!doctype html><html lang="zh-CN" data-base-path="{base}"><head><meta charset="utf-8"><title>kb</title>
<style>:root{{--kb-bg:#fff;--kb-fg:#1f2328;--kb-muted:#59636e;--kb-accent:#0969da;--kb-border:#d1d9e0;--kb-code-bg:#f6f8fa}}
body{{margin:0;font-family:sans-serif;background:var(--kb-bg);color:var(--kb-fg)}}
header{{display:flex;justify-content:space-between;align-items:center;padding:.6rem 1.2rem;border-bottom:1px solid var(--kb-border)}}</style>
<link rel="stylesheet" href="{base}/search.css"><script defer src="{base}/search.js"></script></head>
<body><header><strong>kb</strong>{partial}</header><main style="padding:1.2rem">{body}</main></body></html>"#
    );
    std::fs::write(site.join("index.html"), html).unwrap();
}

/// chromedriver + one headless Chromium session, spoken to in WebDriver JSON over HTTP.
struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "chromedriver not found: run scripts/setup-machine.sh, or set KB_SKIP_BROWSER=1",
            );
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut b = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--window-size=1100,760", format!("--user-data-dir={}", b._profile.path().display())]
        }}}});
        let v = b.http("POST", "/session", Some(&caps));
        b.session = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        b.cmd("POST", "timeouts", json!({"script": 60000}));
        b
    }

    fn http(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        // read until the body is complete: chromedriver may keep the connection open
        let mut resp = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = s.read(&mut buf).unwrap();
            resp.extend_from_slice(&buf[..n]);
            if n == 0 || http_complete(&resp) {
                break;
            }
        }
        let split = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("HTTP response");
        let head = String::from_utf8_lossy(&resp[..split]).to_ascii_lowercase();
        let mut body = resp[split + 4..].to_vec();
        if head.contains("transfer-encoding: chunked") {
            body = dechunk(&body);
        }
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }

    fn cmd(&self, method: &str, what: &str, body: Value) -> Value {
        let path = format!("/session/{}/{what}", self.session);
        let v = self.http(
            method,
            &path,
            if method == "GET" { None } else { Some(&body) },
        );
        if let Some(err) = v["value"].get("error") {
            panic!("webdriver {what}: {err} {}", v["value"]["message"]);
        }
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "url", json!({ "url": url }));
    }

    fn eval(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            json!({ "script": script, "args": args }),
        )
    }

    /// Run `script` whose last statement returns a promise; wait for its value.
    fn eval_async(&self, script: &str, args: Value) -> Value {
        let wrapped = format!(
            "var done = arguments[arguments.length - 1]; var args = Array.prototype.slice.call(arguments, 0, -1);\
             Promise.resolve((function() {{ {script} }}).apply(null, args)).then(function (v) {{ done({{ok: v}}); }}, function (e) {{ done({{err: String(e)}}); }});"
        );
        let v = self.cmd(
            "POST",
            "execute/async",
            json!({ "script": wrapped, "args": args }),
        );
        if let Some(e) = v.get("err") {
            panic!("script failed: {e}");
        }
        v["ok"].clone()
    }

    fn element(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "element",
            json!({"using": "css selector", "value": css}),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(|x| x.as_str())
            .unwrap()
            .to_string()
    }

    fn keys(&self, element: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("element/{element}/value"),
            json!({ "text": text }),
        );
    }

    fn wait_for(&self, script: &str, what: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let v = self.eval(script, json!([]));
            if !v.is_null() && v != json!(false) {
                return v;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&self, path: &Path) {
        let b64 = self.cmd("GET", "screenshot", Value::Null);
        let bytes = base64_decode(b64.as_str().unwrap());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.http("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn http_complete(resp: &[u8]) -> bool {
    let Some(split) = resp.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&resp[..split]).to_ascii_lowercase();
    let body = &resp[split + 4..];
    if let Some(len) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
        return body.len() >= len.trim().parse::<usize>().unwrap_or(0);
    }
    head.contains("transfer-encoding: chunked") && body.ends_with(b"0\r\n\r\n")
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&b[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter_map(val) {
        acc = (acc << 6) | c;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
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
    let fx = Fixture::copy("search");
    let site = tempfile::tempdir().unwrap();
    let docs = index_fixture(&fx, site.path());
    write_page(site.path(), "/kb", "<p>首页</p>");
    for d in &docs {
        // a landing page per note, so following a hit lands on a real page
        let dir = site.path().join(d.url.trim_start_matches("/kb/"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("index.html"),
            format!("<!doctype html><meta charset=utf-8><h1>{}</h1>", d.title),
        )
        .unwrap();
    }
    let port = serve_dir(site.path().to_path_buf(), "/kb");
    let b = Browser::start();
    b.goto(&format!("http://127.0.0.1:{port}/kb/"));
    b.wait_for(
        "return !!(window.kbSearch && window.kbSearch.index)",
        "search.js",
    );

    // 1. the JS tokenizer reproduces Rust's tokens, in index and query form
    let samples = token_samples(&docs);
    let js = b.eval(
        "return arguments[0].map(function (t) { var k = window.kbSearch; var f = function (ts) { return ts.map(function (x) { return [x.text, x.position]; }); };\
         return [f(k.indexTokens(t)), f(k.queryTokens(t, false)), f(k.queryTokens(t, true))]; });",
        json!([samples]),
    );
    for (i, text) in samples.iter().enumerate() {
        let rust = json!([
            kb::search::analyze(text),
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
    assert_eq!(first[0], "/kb/go/gc/");
    assert!(
        first[1].as_str().unwrap().contains("<mark>垃圾回收</mark>"),
        "{first}"
    );

    b.eval("var i = document.querySelector('.kb-search-input'); i.value = ''; i.dispatchEvent(new Event('input'));", json!([]));
    b.keys(&input, "写屏障");
    b.wait_for("var a = document.querySelector('.kb-search-hit'); return a && a.getAttribute('href') === '/kb/go/gc/#write-barrier';", "deep link");
    b.screenshot(&repo_root().join("target/search-e2e.png"));

    // 4. the browser's hits agree with the library's: same note, anchor and excerpt
    let mut idx = SearchIndex::in_memory().unwrap();
    idx.update(&docs, "").unwrap();
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
    std::thread::sleep(Duration::from_millis(500));
    let at = b.eval("return location.pathname + location.hash;", json!([]));
    assert_eq!(
        at, "/kb/go/gc/#write-barrier",
        "Enter opens the selected hit"
    );
}

#[test]
fn query_set_recall_browser() {
    if skip_browser() {
        return;
    }
    let root = eval_root();
    let (present, _) = query_set(&root);
    let docs = load_docs(&root);
    let site = tempfile::tempdir().unwrap();
    let sink = DirSink::new(site.path());
    // the same writer index_site uses, without touching the repo's .kb/
    let tmp_root = tempfile::tempdir().unwrap();
    let config = Config::load(tmp_root.path()).unwrap();
    let stats = kb::search::index_site(&config, &docs, &sink).unwrap();
    write_page(site.path(), "", "");
    let port = serve_dir(site.path().to_path_buf(), "");
    let b = Browser::start();
    b.goto(&format!("http://127.0.0.1:{port}/"));
    b.wait_for(
        "return !!(window.kbSearch && window.kbSearch.index)",
        "search.js",
    );
    let url_to_source: BTreeMap<String, String> = docs
        .iter()
        .map(|d| (d.url.clone(), d.source.clone()))
        .collect();
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
                url_to_source
                    .get(h["note_url"].as_str().unwrap())
                    .cloned()
                    .unwrap_or_default()
            })
            .collect();
        recall.add(case, &ranked);
    }
    let c = stats.client;
    eprintln!("{}", recall.report("browser query set"));
    eprintln!(
        "browser index: {} notes, {} terms, {} shard(s), meta {} B, word lists {} B, postings {} B, fragments {} B, {} B per note",
        c.notes,
        c.terms,
        c.shards,
        c.meta_bytes,
        c.words_bytes,
        c.index_bytes,
        c.fragment_bytes,
        c.total_bytes() / c.notes.max(1)
    );
    assert!(
        recall.n == 0 || recall.at3 == recall.n,
        "{}",
        recall.report("browser query set")
    );
}
