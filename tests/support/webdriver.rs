//! A WebDriver client for headless Chromium: chromedriver started on a free port, one session,
//! WebDriver JSON spoken over plain HTTP on std's TcpStream (no WebDriver crate, no async runtime).
//!
//! Shared by the integration tests (`tests/it/search.rs`) and the Pagefind benchmark
//! (`benches/pagefind.rs`), which include it with `#[path = ...] mod webdriver;`. It panics on
//! any failure: both callers want the message, not a recovery.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// chromedriver + one headless Chromium session, spoken to in WebDriver JSON over HTTP.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Start chromedriver and a headless Chromium session (fresh profile, 1100x760 window).
    pub fn start() -> Browser {
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

    /// One WebDriver command of this session (`POST element`, `GET screenshot`, ...); panics
    /// on a WebDriver error.
    pub fn cmd(&self, method: &str, what: &str, body: Value) -> Value {
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

    /// Navigate and wait for the page's load event.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "url", json!({ "url": url }));
    }

    /// Run `script` (a function body; `arguments` are `args`) and return its value.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "execute/sync",
            json!({ "script": script, "args": args }),
        )
    }

    /// Run `script` whose last statement returns a promise; wait for its value.
    pub fn eval_async(&self, script: &str, args: Value) -> Value {
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

    /// The WebDriver id of the first element matching `css`.
    pub fn element(&self, css: &str) -> String {
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

    /// Type `text` into an element (WebDriver key codes such as `\u{E015}` for Down work).
    pub fn keys(&self, element: &str, text: &str) {
        self.cmd(
            "POST",
            &format!("element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// Poll `script` until it returns something other than null/false (20 s at most).
    pub fn wait_for(&self, script: &str, what: &str) -> Value {
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

    /// Save a PNG screenshot of the viewport.
    pub fn screenshot(&self, path: &Path) {
        let b64 = self.cmd("GET", "screenshot", Value::Null);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap())
            .unwrap();
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
