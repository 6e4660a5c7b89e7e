//! `kb serve`: a real server process on a free port, driven over HTTP and the live-reload
//! WebSocket while the tests edit, create, rename and delete notes on disk.
//!
//! Waits use generous timeouts and assert on what arrives, never on how fast.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{repo_root, Fixture};

mod browser;
mod guard;

/// How long to wait for anything the server should do.
const WAIT: Duration = Duration::from_secs(60);

/// A `kb serve --port 0` process; killed when dropped.
pub(crate) struct Server {
    child: Child,
    /// `127.0.0.1:PORT`
    pub(crate) addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    pub(crate) fn start(root: &Path) -> Server {
        Server::start_with(root, &[])
    }

    /// `kb serve` with more arguments.
    pub(crate) fn start_with(root: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kb"))
            .arg("--root")
            .arg(root)
            .args(["serve", "--port", "0"])
            .args(args)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kb serve");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(i) = line.find("http://") {
                    let url = line[i + 7..].split('/').next().unwrap_or("").to_string();
                    let _ = tx.send(url);
                }
            }
        });
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let addr = match rx.recv_timeout(WAIT) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("kb serve printed no URL; stderr:\n{}", log.lock().unwrap());
            }
        };
        Server {
            child,
            addr,
            stderr: log,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// What the server printed on stderr so far.
    pub(crate) fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Wait until the server has printed `needle` on stderr.
    pub(crate) fn wait_log(&self, needle: &str) {
        let start = Instant::now();
        while !self.log().contains(needle) {
            assert!(
                start.elapsed() < WAIT,
                "the server never printed `{needle}`:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(crate) fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[])
    }

    pub(crate) fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        raw_request(&self.addr, &req)
    }

    /// The update counter a new live-reload connection is greeted with.
    pub(crate) fn generation(&self) -> u64 {
        let stream = TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let (ws, _) = tungstenite::client(format!("ws://{}/_kb/livereload", self.addr), stream)
            .expect("websocket handshake");
        let mut socket = Socket {
            ws,
            backlog: Default::default(),
            initial_problems: Value::Null,
        };
        let hello = socket.read();
        hello["generation"].as_u64().expect("generation")
    }

    pub(crate) fn socket(&self) -> Socket {
        let stream = TcpStream::connect(&self.addr).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let (ws, _) = tungstenite::client(format!("ws://{}/_kb/livereload", self.addr), stream)
            .expect("websocket handshake");
        let mut socket = Socket {
            ws,
            backlog: Default::default(),
            initial_problems: Value::Null,
        };
        let hello = socket.read();
        assert_eq!(hello["kind"], "hello", "{hello}");
        let problems = socket.read();
        assert_eq!(problems["kind"], "problems", "{problems}");
        socket.initial_problems = problems;
        socket
    }

    /// Poll `path` until its body satisfies `pred` (the page may be rendered on request).
    pub(crate) fn wait_page(&self, path: &str, pred: impl Fn(&Resp) -> bool) -> Resp {
        let start = Instant::now();
        loop {
            let r = self.get(path);
            if pred(&r) {
                return r;
            }
            assert!(
                start.elapsed() < WAIT,
                "{path} never matched; last response {}:\n{}\n--- server log\n{}",
                r.status,
                r.body,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP response, parsed just enough for assertions.
#[derive(Debug)]
pub(crate) struct Resp {
    pub(crate) status: u16,
    /// Lower-cased names.
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: String,
}

impl Resp {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Send a request exactly as written (no client-side path normalisation) and read the reply.
fn raw_request(addr: &str, req: &str) -> Resp {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(req.as_bytes()).expect("send");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read response");
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let body = String::from_utf8_lossy(&buf[split + 4..]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Resp {
        status,
        headers,
        body,
    }
}

/// The live-reload socket. Messages skipped while waiting for one kind are kept, so a later
/// wait still sees them (an update sends `problems` before its `reload`).
pub(crate) struct Socket {
    ws: tungstenite::WebSocket<TcpStream>,
    backlog: std::collections::VecDeque<Value>,
    /// The `problems` message sent on connect.
    pub(crate) initial_problems: Value,
}

impl Socket {
    /// The next JSON message off the wire (panics after [`WAIT`]).
    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("live-reload message") {
                tungstenite::Message::Text(t) => {
                    return serde_json::from_str(&t).expect("JSON message")
                }
                tungstenite::Message::Close(_) => panic!("server closed the live-reload socket"),
                _ => {}
            }
        }
    }

    /// The first message (kept or new) that satisfies `pred`, with the ones before it, which
    /// are dropped.
    pub(crate) fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> (Value, Vec<Value>) {
        if let Some(i) = self.backlog.iter().position(&pred) {
            let skipped: Vec<Value> = self.backlog.drain(..i).collect();
            let m = self.backlog.pop_front().expect("matched message");
            return (m, skipped);
        }
        let mut skipped: Vec<Value> = self.backlog.drain(..).collect();
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < WAIT, "no {what} message; got {skipped:?}");
            let m = self.read();
            if pred(&m) {
                return (m, skipped);
            }
            self.backlog.push_back(m.clone());
            skipped.push(m);
        }
    }

    /// Wait for a `reload` that covers `path` (or every page).
    pub(crate) fn wait_reload(&mut self, path: &str) -> Value {
        self.wait_for(&format!("reload of {path}"), |m| {
            m["kind"] == "reload" && paths(m).iter().any(|p| p == path || p == "*")
        })
        .0
    }

    /// Wait for a `problems` message.
    pub(crate) fn wait_problems(&mut self) -> Vec<Value> {
        let (m, _) = self.wait_for("problems", |m| m["kind"] == "problems");
        m["problems"].as_array().cloned().unwrap_or_default()
    }
}

pub(crate) fn paths(m: &Value) -> Vec<String> {
    m["paths"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A small knowledge base: two sections, a wikilink and an anchor link between notes.
pub(crate) fn kb() -> Fixture {
    let fx = Fixture::with_files(&[
        ("kb.toml", "title = \"测试知识库\"\n"),
        (
            "content/go/gc.md",
            "---\ntitle: Go GC 笔记\ntags: [go, gc]\ndate: 2024-05-01\n---\n\n三色标记的介绍。ORIGINAL-GC-TEXT\n\n## 写屏障\n\n写屏障保证不变式。\n",
        ),
        (
            "content/go/sched.md",
            "---\ntitle: 调度器\ntags: [go]\ndate: 2024-05-02\n---\n\n调度器和 [[Go GC 笔记]] 的关系，见 [写屏障](gc.md#写屏障)。\n",
        ),
        ("content/docker/entrypoint.md", "---\ntitle: ENTRYPOINT 与 CMD\ntags: [docker]\ndate: 2024-05-03\n---\n\nexec 形式和 shell 形式。\n"),
    ]);
    // The real stylesheet as a theme override, so the CSS tests have a file to edit.
    let css = std::fs::read_to_string(repo_root().join("themes/default/static/style.css"))
        .expect("built-in style.css");
    fx.write("themes/default/static/style.css", &css);
    fx
}

#[test]
fn serves_pages_with_content_types_validators_and_the_sites_404() {
    let fx = kb();
    let srv = Server::start(fx.root());

    let home = srv.get("/");
    assert_eq!(home.status, 200);
    assert_eq!(home.header("content-type"), "text/html; charset=utf-8");
    assert!(home.body.contains("Go GC 笔记"), "{}", home.body);
    assert!(
        home.body
            .contains("<script src=\"/_kb/livereload.js\" defer></script></body>"),
        "reload script injected before </body>"
    );

    let note = srv.get("/notes/gc/");
    assert_eq!(note.status, 200);
    assert!(note.body.contains("ORIGINAL-GC-TEXT"));
    let etag = note.header("etag").to_string();
    let modified = note.header("last-modified").to_string();
    assert!(
        etag.starts_with('"') && !modified.is_empty(),
        "{:?}",
        note.headers
    );

    // Conditional GETs.
    assert_eq!(
        srv.request("GET", "/notes/gc/", &[("If-None-Match", &etag)])
            .status,
        304
    );
    assert_eq!(
        srv.request("GET", "/notes/gc/", &[("If-None-Match", "\"other\"")])
            .status,
        200
    );
    assert_eq!(
        srv.request("GET", "/notes/gc/", &[("If-Modified-Since", &modified)])
            .status,
        304
    );
    assert_eq!(
        srv.request(
            "GET",
            "/notes/gc/",
            &[("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")]
        )
        .status,
        200
    );

    // HEAD: same headers, no body.
    let head = srv.request("HEAD", "/notes/gc/", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), note.body.len().to_string());
    assert!(head.body.is_empty());

    // Folders without the slash redirect; other methods are refused.
    let redirect = srv.get("/notes/gc");
    assert_eq!(
        (redirect.status, redirect.header("location")),
        (302, "/notes/gc/")
    );
    assert_eq!(srv.request("POST", "/notes/gc/", &[]).status, 405);

    // Content types of the other kinds of files.
    assert_eq!(
        srv.get("/style.css").header("content-type"),
        "text/css; charset=utf-8"
    );
    assert_eq!(
        srv.get("/kb.js").header("content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        srv.get("/atom.xml").header("content-type"),
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(srv.get("/_kb/livereload.js").status, 200);

    // Misses: the site's own 404 page, with status 404.
    let miss = srv.get("/notes/nope/");
    assert_eq!(miss.status, 404);
    assert!(miss.body.contains("页面不存在"), "{}", miss.body);
    // Sources are not part of the site.
    assert_eq!(srv.get("/content/go/gc.md").status, 404);
    assert_eq!(srv.get("/kb.toml").status, 404);
}

#[test]
fn path_traversal_attempts_never_reach_files_outside_the_site() {
    let fx = kb();
    fx.write("kb.toml", "title = \"测试知识库\"\n# SECRET-IN-CONFIG\n");
    let srv = Server::start(fx.root());
    let attempts = [
        "/../kb.toml",
        "/../../../../etc/passwd",
        "/notes/../../kb.toml",
        "/%2e%2e/kb.toml",
        "/%2E%2E/%2E%2E/etc/passwd",
        "/notes/..%2f..%2fkb.toml",
        "/%2e%2e%5ckb.toml",
        "/..%5c..%5ckb.toml",
        "/%252e%252e/kb.toml",
        "/notes/%00/../kb.toml",
        "//etc/passwd",
        "/./kb.toml",
        "/content/go/gc.md",
    ];
    for path in attempts {
        let r = raw_request(
            &srv.addr,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
                srv.addr
            ),
        );
        assert!(
            r.status == 400 || r.status == 404,
            "{path}: status {}",
            r.status
        );
        assert!(
            !r.body.contains("SECRET-IN-CONFIG") && !r.body.contains("root:x:0:0"),
            "{path} leaked a file"
        );
    }
    // Still serving.
    assert_eq!(srv.get("/").status, 200);
}

#[test]
fn a_burst_of_concurrent_requests_is_answered_in_full() {
    let fx = kb();
    let srv = Arc::new(Server::start(fx.root()));
    let expected = srv.get("/notes/gc/").body.len();
    let handles: Vec<_> = (0..32)
        .map(|t| {
            let srv = srv.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let path = ["/notes/gc/", "/", "/style.css", "/tags/go/", "/nope"][(t + i) % 5];
                    let r = srv.get(path);
                    match path {
                        "/nope" => assert_eq!(r.status, 404),
                        "/notes/gc/" => assert_eq!((r.status, r.body.len()), (200, expected)),
                        _ => assert_eq!(r.status, 200, "{path}"),
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("request thread");
    }
    assert_eq!(srv.get("/").status, 200);
}

#[test]
fn editing_a_note_reloads_its_page_with_the_new_text() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let mut ws = srv.socket();
    let text = fx
        .read("content/go/gc.md")
        .replace("ORIGINAL-GC-TEXT", "EDITED-GC-TEXT");
    fx.write("content/go/gc.md", &text);
    let reload = ws.wait_reload("/notes/gc/");
    assert!(
        !paths(&reload).contains(&"/notes/entrypoint/".to_string()),
        "an unrelated note is not reloaded: {reload}"
    );
    let page = srv.get("/notes/gc/");
    assert!(page.body.contains("EDITED-GC-TEXT") && !page.body.contains("ORIGINAL-GC-TEXT"));
}

#[test]
fn renaming_a_note_in_another_note_updates_the_wikilink_text_and_backlinks() {
    let fx = kb();
    let srv = Server::start(fx.root());
    assert!(srv.get("/notes/sched/").body.contains("Go GC 笔记"));
    assert!(
        srv.get("/notes/gc/").body.contains("被以下笔记引用"),
        "gc lists sched as a backlink"
    );
    let mut ws = srv.socket();

    // The title is what `[[Go GC 笔记]]` shows and resolves by; the wikilink now points nowhere,
    // and the anchor link still resolves by path.
    fx.write(
        "content/go/gc.md",
        &fx.read("content/go/gc.md")
            .replace("title: Go GC 笔记", "title: Go 垃圾回收"),
    );
    ws.wait_reload("/notes/sched/");
    let sched = srv.get("/notes/sched/").body;
    assert!(!sched.contains("href=\"/notes/gc/\">Go GC 笔记"), "{sched}");
    let list = ws.wait_problems();
    let broken = list
        .iter()
        .find(|p| p["path"] == "content/go/sched.md")
        .unwrap_or_else(|| panic!("{list:?}"));
    assert_eq!(
        (
            broken["severity"].as_str(),
            broken["line"].as_u64(),
            broken["url"].as_str()
        ),
        (Some("warning"), Some(7), Some("/notes/sched/"))
    );

    // Point the wikilink at the new title: resolved again, warning gone, text is the new title.
    fx.write(
        "content/go/sched.md",
        &fx.read("content/go/sched.md")
            .replace("[[Go GC 笔记]]", "[[Go 垃圾回收]]"),
    );
    ws.wait_reload("/notes/sched/");
    assert!(srv.get("/notes/sched/").body.contains("Go 垃圾回收"));
    assert_eq!(ws.wait_problems(), Vec::<Value>::new());

    // Drop both links: gc's page no longer lists sched among its backlinks.
    fx.write(
        "content/go/sched.md",
        "---\ntitle: 调度器\ntags: [go]\ndate: 2024-05-02\n---\n\n没有链接了。\n",
    );
    ws.wait_reload("/notes/gc/");
    assert!(!srv.get("/notes/gc/").body.contains("被以下笔记引用"));
}

#[test]
fn created_deleted_and_renamed_notes_appear_and_disappear() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let mut ws = srv.socket();

    fx.write(
        "content/go/new-note.md",
        "---\ntitle: 新笔记\ntags: [go]\n---\n\nBRAND-NEW-NOTE\n",
    );
    ws.wait_reload("/notes/new-note/");
    assert!(srv.get("/notes/new-note/").body.contains("BRAND-NEW-NOTE"));
    assert!(
        srv.get("/tags/go/").body.contains("新笔记"),
        "the tag page lists it"
    );
    assert!(
        srv.get("/").body.contains("新笔记"),
        "the home page lists it"
    );

    std::fs::rename(
        fx.path("content/go/new-note.md"),
        fx.path("content/go/renamed.md"),
    )
    .unwrap();
    ws.wait_reload("/notes/renamed/");
    assert_eq!(srv.get("/notes/new-note/").status, 404);
    assert!(srv.get("/notes/renamed/").body.contains("BRAND-NEW-NOTE"));

    std::fs::remove_file(fx.path("content/go/renamed.md")).unwrap();
    ws.wait_reload("/notes/renamed/");
    assert_eq!(srv.get("/notes/renamed/").status, 404);
    assert!(!srv.get("/tags/go/").body.contains("新笔记"));
}

#[test]
fn a_note_in_a_new_folder_creates_its_section() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let mut ws = srv.socket();
    fx.write(
        "content/linux/cgroup.md",
        "---\ntitle: cgroup 笔记\n---\n\nCGROUP-TEXT\n",
    );
    ws.wait_reload("/notes/cgroup/");
    assert!(srv.get("/notes/cgroup/").body.contains("CGROUP-TEXT"));
    assert!(srv.get("/sections/linux/").body.contains("cgroup 笔记"));
}

#[test]
fn editor_saves_through_a_temp_file_and_rename_are_seen_once() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let mut ws = srv.socket();
    // What vim and many editors do: write a swap/temp file, then rename it over the note.
    let text = fx
        .read("content/docker/entrypoint.md")
        .replace("exec 形式", "SAVED-VIA-RENAME exec 形式");
    fx.write("content/docker/.entrypoint.md.swp", "swap");
    fx.write("content/docker/entrypoint.md.tmp~", &text);
    std::fs::rename(
        fx.path("content/docker/entrypoint.md.tmp~"),
        fx.path("content/docker/entrypoint.md"),
    )
    .unwrap();
    std::fs::remove_file(fx.path("content/docker/.entrypoint.md.swp")).unwrap();
    ws.wait_reload("/notes/entrypoint/");
    assert!(srv
        .get("/notes/entrypoint/")
        .body
        .contains("SAVED-VIA-RENAME"));
    assert!(!srv.log().contains("error"), "{}", srv.log());
}

#[test]
fn a_burst_of_saves_ends_on_the_last_version_without_a_rebuild_per_save() {
    let fx = kb();
    // A debounce longer than the gap between two saves even on a loaded machine (with the
    // default 10 ms, a busy CI runner spaced the 40 writes out enough for one rebuild each).
    let srv = Server::start_with(fx.root(), &["--debounce", "300ms"]);
    let base = fx.read("content/go/gc.md");
    let saves = 40;
    for i in 0..saves {
        fx.write(
            "content/go/gc.md",
            &base.replace("ORIGINAL-GC-TEXT", &format!("BURST-{i}-END")),
        );
    }
    let last = format!("BURST-{}-END", saves - 1);
    srv.wait_page("/notes/gc/", |r| r.body.contains(&last));
    // Every update bumps the generation a new tab is greeted with.
    let updates = srv.generation();
    assert!(
        (1..saves).contains(&updates),
        "{saves} saves took {updates} updates"
    );
}

#[test]
fn a_note_with_bad_front_matter_keeps_its_last_page_and_shows_the_error_until_fixed() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let mut ws = srv.socket();
    let good = fx.read("content/go/gc.md");
    fx.write(
        "content/go/gc.md",
        &good.replace("tags: [go, gc]", "tags: [go, gc"),
    );
    let (problems, _) = ws.wait_for("problems", |m| {
        m["kind"] == "problems" && !m["problems"].as_array().unwrap().is_empty()
    });
    let p = &problems["problems"][0];
    assert_eq!(
        (p["path"].as_str(), p["severity"].as_str()),
        (Some("content/go/gc.md"), Some("error")),
        "{problems}"
    );
    assert!(
        p["line"].as_u64().is_some_and(|l| (3..=4).contains(&l)),
        "{problems}"
    );
    assert!(
        p["message"].as_str().unwrap().contains("YAML"),
        "{problems}"
    );
    srv.wait_log("content/go/gc.md:");
    // The server is alive and still serves the last good page.
    assert!(srv.get("/notes/gc/").body.contains("ORIGINAL-GC-TEXT"));

    fx.write(
        "content/go/gc.md",
        &good.replace("ORIGINAL-GC-TEXT", "FIXED-GC-TEXT"),
    );
    assert_eq!(ws.wait_problems(), Vec::<Value>::new());
    srv.wait_page("/notes/gc/", |r| r.body.contains("FIXED-GC-TEXT"));
    srv.wait_log("1 problem fixed");

    // A tab connecting now gets the current (empty) list at once.
    assert_eq!(
        srv.socket().initial_problems["problems"],
        serde_json::json!([])
    );
}

#[test]
fn a_stylesheet_change_is_swapped_in_place_and_a_template_change_reloads_every_page() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let mut ws = srv.socket();

    let css = fx.read("themes/default/static/style.css");
    fx.write(
        "themes/default/static/style.css",
        &format!("{css}\n.kb-test-marker {{ color: red; }}\n"),
    );
    let (msg, skipped) = ws.wait_for("css", |m| m["kind"] == "css");
    assert_eq!(paths(&msg), ["/style.css"]);
    assert!(
        skipped.iter().all(|m| m["kind"] != "reload"),
        "no page reload for CSS: {skipped:?}"
    );
    assert!(srv.get("/style.css").body.contains("kb-test-marker"));

    let note =
        std::fs::read_to_string(repo_root().join("themes/default/templates/404.html")).unwrap();
    fx.write(
        "themes/default/templates/404.html",
        &note.replace("这个地址没有对应的笔记", "TEMPLATE-CHANGED"),
    );
    let msg = ws.wait_reload("/anything/");
    assert_eq!(paths(&msg), ["*"]);
    srv.wait_page("/nope", |r| {
        r.status == 404 && r.body.contains("TEMPLATE-CHANGED")
    });

    // A template that does not compile: the overlay says so, pages keep the last good theme.
    fx.write("themes/default/templates/404.html", "{% block broken %}");
    let (problems, _) = ws.wait_for("theme problem", |m| {
        m["kind"] == "problems" && !m["problems"].as_array().unwrap().is_empty()
    });
    assert!(
        problems["problems"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("themes/default"),
        "{problems}"
    );
    assert_eq!(srv.get("/").status, 200);
}

#[test]
fn new_verify_results_put_badges_on_the_note() {
    let fx = kb();
    fx.write(
        "content/go/run.md",
        "---\ntitle: 可运行\n---\n\n```sh run\necho hi\n```\n\n```output\nhi\n```\n",
    );
    let srv = Server::start(fx.root());
    assert!(srv.get("/notes/run/").body.contains("kb-badge-unknown"));
    let mut ws = srv.socket();
    let results = serde_json::json!({ "blocks": { "content/go/run.md#1": {
        "id": "content/go/run.md#1", "note": "content/go/run.md", "ordinal": 1, "line": 5,
        "status": "passed", "date": "2026-01-02T03:04:05Z", "duration_ms": 1200, "image": "net", "observed": "hi\n"
    } } });
    fx.write(".kb/verify-results.json", &results.to_string());
    ws.wait_reload("/notes/run/");
    let page = srv.get("/notes/run/").body;
    assert!(page.contains("kb-badge-passed"), "{page}");
    assert!(srv.get("/verify/").body.contains("passed"));
}

#[test]
fn kb_build_output_never_contains_the_reload_script() {
    let fx = kb();
    fx.kb(&["build"]).expect_code(0);
    for entry in walkdir::WalkDir::new(fx.path("public")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            assert!(
                !text.contains("livereload"),
                "{} mentions livereload",
                entry.path().display()
            );
        }
    }
}

/// `/_kb/search` hits, polled until `pred` holds (the index follows edits in the background).
fn wait_search(
    srv: &Server,
    query: &str,
    what: &str,
    pred: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let path = format!(
        "/_kb/search?q={}&limit=5",
        query
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>()
    );
    let start = Instant::now();
    loop {
        let r = srv.get(&path);
        if r.status == 200 {
            let hits: Vec<Value> = serde_json::from_str(&r.body).expect("JSON array of hits");
            if pred(&hits) {
                return hits;
            }
        } else {
            assert_eq!(r.status, 503, "only 'not ready yet' may fail: {}", r.body);
        }
        assert!(
            start.elapsed() < WAIT,
            "search `{query}`: {what} never happened; last {}: {}",
            r.status,
            r.body
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_search_api_follows_edits_and_deletions() {
    let fx = kb();
    let srv = Server::start(fx.root());
    let hits = wait_search(&srv, "三色标记", "a hit", |h| !h.is_empty());
    assert_eq!(hits[0]["note_url"], "/notes/gc/", "{hits:?}");
    for field in ["title", "url", "score", "excerpt"] {
        assert!(hits[0].get(field).is_some(), "{field} missing: {hits:?}");
    }
    // The browser's index is served too.
    srv.wait_page("/_kb/search/meta.json", |r| {
        r.status == 200 && r.header("content-type") == "application/json"
    });

    fx.write(
        "content/docker/entrypoint.md",
        &fx.read("content/docker/entrypoint.md")
            .replace("exec 形式", "zebrafish exec 形式"),
    );
    let hits = wait_search(&srv, "zebrafish", "the edited note", |h| !h.is_empty());
    assert_eq!(hits[0]["note_url"], "/notes/entrypoint/");

    std::fs::remove_file(fx.path("content/docker/entrypoint.md")).unwrap();
    wait_search(&srv, "zebrafish", "the deleted note gone", |h| h.is_empty());
    let r = srv.get("/_kb/search?q=%E4%B8%89%E8%89%B2&limit=1");
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&r.body).unwrap().len(),
        1,
        "limit is honoured"
    );
}
