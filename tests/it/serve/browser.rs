//! End to end in headless Chromium, driven over the DevTools protocol: a tab open on a note
//! follows edits made to the files, a stylesheet swaps without a reload, and a broken note shows
//! the error overlay until it is fixed. Screenshots land in the test's temp dir
//! (`target/tmp/serve-*.png`).
//!
//! Needs `chromium` (scripts/setup-machine.sh installs it; `KB_CHROMIUM` names another binary).
//! Set `KB_SKIP_BROWSER=1` to skip on machines without it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use super::{kb, Server, WAIT};

/// A headless Chromium with one tab, closed when dropped.
struct Chrome {
    child: Child,
    ws: tungstenite::WebSocket<TcpStream>,
    session: String,
    next_id: u64,
    _profile: tempfile::TempDir,
}

impl Chrome {
    /// `None` when there is no browser and skipping was asked for.
    fn launch() -> Option<Chrome> {
        let bin = std::env::var_os("KB_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
        if !bin.exists() {
            if std::env::var_os("KB_SKIP_BROWSER").is_some() {
                eprintln!("skipping the browser test: {} not found", bin.display());
                return None;
            }
            panic!("{} not found: run scripts/setup-machine.sh, point KB_CHROMIUM at a Chromium, or set KB_SKIP_BROWSER=1", bin.display());
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let child = Command::new(&bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromium");
        // Chromium writes its port and browser endpoint here once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let start = Instant::now();
        let endpoint = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break format!("ws://127.0.0.1:{port}{path}");
                }
            }
            assert!(
                start.elapsed() < WAIT,
                "chromium did not open its DevTools port"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let addr = endpoint
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let stream = TcpStream::connect(&addr).expect("connect to chromium");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let (ws, _) = tungstenite::client(endpoint.as_str(), stream).expect("DevTools handshake");
        let mut chrome = Chrome {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            _profile: profile,
        };
        let target = chrome.call("Target.createTarget", json!({ "url": "about:blank" }));
        let target_id = target["targetId"].as_str().expect("targetId").to_string();
        let attached = chrome.call(
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        );
        chrome.session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_string();
        Some(chrome)
    }

    /// Send a command (to the tab once attached) and return its result; events are skipped.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn try_call(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(tungstenite::Message::Text(msg.to_string().into()))
            .expect("send to chromium");
        loop {
            let reply = match self.ws.read().expect("read from chromium") {
                tungstenite::Message::Text(t) => {
                    serde_json::from_str::<Value>(&t).expect("JSON from chromium")
                }
                _ => continue,
            };
            if reply["id"] == json!(id) {
                return match reply.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(reply["result"].clone()),
                };
            }
        }
    }

    fn navigate(&mut self, url: &str) {
        self.call("Page.navigate", json!({ "url": url }));
    }

    /// Evaluate a JS expression in the tab; `None` while the page is navigating.
    fn eval(&mut self, expr: &str) -> Option<Value> {
        let r = self
            .try_call(
                "Runtime.evaluate",
                json!({ "expression": expr, "returnByValue": true }),
            )
            .ok()?;
        if r.get("exceptionDetails").is_some() {
            return None;
        }
        Some(r["result"]["value"].clone())
    }

    fn wait_until(&mut self, what: &str, expr: &str) {
        let start = Instant::now();
        while self.eval(expr) != Some(json!(true)) {
            assert!(
                start.elapsed() < WAIT,
                "browser: {what} never happened ({expr})"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn screenshot(&mut self, name: &str) -> PathBuf {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" }));
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("screenshot data"))
            .expect("base64 PNG");
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

impl Drop for Chrome {
    fn drop(&mut self) {
        self.session.clear();
        let _ = self.try_call("Browser.close", json!({}));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_open_tab_follows_note_edits_css_changes_and_errors() {
    let fx = kb();
    // A long note, so the tab can be scrolled and must come back to the same place.
    let filler: String = (1..=60)
        .map(|i| format!("第 {i} 段：写屏障在并发标记时记录指针写入。\n\n"))
        .collect();
    fx.write(
        "content/go/gc.md",
        &fx.read("content/go/gc.md")
            .replace("## 写屏障", &format!("{filler}## 写屏障")),
    );
    let srv = Server::start(fx.root());
    let Some(mut chrome) = Chrome::launch() else {
        return;
    };
    chrome.navigate(&srv.url("/notes/gc/"));
    chrome.wait_until(
        "live reload connected",
        "!!(window.__kbLiveReload && window.__kbLiveReload.connected)",
    );
    chrome.eval("window.scrollTo(0, 600); window.__marker = 1;");

    // A stylesheet change is swapped in place: no reload, the marker and scroll survive.
    let css = fx.read("themes/default/static/style.css");
    fx.write(
        "themes/default/static/style.css",
        &format!("{css}\nbody {{ outline: 7px solid rgb(1, 2, 3); }}\n"),
    );
    chrome.wait_until(
        "new stylesheet applied",
        "getComputedStyle(document.body).outlineColor === 'rgb(1, 2, 3)'",
    );
    assert_eq!(
        chrome.eval("window.__marker === 1 && window.scrollY > 500"),
        Some(json!(true)),
        "CSS swap reloaded the page or lost the scroll position"
    );

    // A note edit reloads the page: new text, marker gone, scroll position restored.
    fx.write(
        "content/go/gc.md",
        &fx.read("content/go/gc.md")
            .replace("ORIGINAL-GC-TEXT", "LIVE-EDITED-TEXT"),
    );
    chrome.wait_until(
        "edited text shown",
        "document.body && document.body.innerText.includes('LIVE-EDITED-TEXT')",
    );
    assert_eq!(
        chrome.eval("window.__marker === undefined"),
        Some(json!(true)),
        "the edit should reload the page"
    );
    chrome.wait_until("scroll position restored", "window.scrollY > 500");
    chrome.eval("window.scrollTo(0, 0)");
    let shot = chrome.screenshot("serve-note.png");
    eprintln!("screenshot: {}", shot.display());

    // A broken note: overlay with file:line; the page stays; fixing it clears the overlay.
    let good = fx.read("content/go/gc.md");
    fx.write(
        "content/go/gc.md",
        &good.replace("tags: [go, gc]", "tags: [go, gc"),
    );
    chrome.wait_until(
        "error overlay",
        "!!document.getElementById('kb-livereload-problems') && document.getElementById('kb-livereload-problems').innerText.includes('content/go/gc.md:')",
    );
    let shot = chrome.screenshot("serve-error-overlay.png");
    eprintln!("screenshot: {}", shot.display());
    fx.write("content/go/gc.md", &good);
    chrome.wait_until(
        "overlay cleared",
        "!document.getElementById('kb-livereload-problems')",
    );
}
