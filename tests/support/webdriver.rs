//! Headless Chromium for the browser tests and the Pagefind benchmark: chromedriver started on a
//! free port and driven through fantoccini (a maintained WebDriver client), behind a small
//! blocking API so the tests stay plain `#[test]` functions. A private tokio runtime runs each
//! call to completion.
//!
//! Shared by the integration tests (`tests/it/search.rs`, `tests/it/responsive.rs`) and the
//! Pagefind benchmark (`benches/pagefind.rs`), which include it with
//! `#[path = ...] mod webdriver;`. It panics on any failure: every caller wants the message, not
//! a recovery.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// chromedriver + one headless Chromium session.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// A command of Chrome's DevTools protocol sent through chromedriver's `goog/cdp/execute`
/// endpoint: what WebDriver itself cannot do (viewport emulation, `prefers-color-scheme`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
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
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let caps: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--no-first-run",
                         "--hide-scrollbars", "--window-size=1100,760",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }))
        .unwrap();
        let client = rt.block_on(async {
            let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps)
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
                .unwrap_or_else(|e| panic!("no WebDriver session: {e}"));
            c.update_timeouts(TimeoutConfiguration::new(
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(60)),
                None,
            ))
            .await
            .unwrap();
            c
        });
        Browser {
            rt,
            client: Some(client),
            driver,
            _profile: profile,
        }
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("session open")
    }

    /// Navigate and wait for the page's load event.
    pub fn goto(&self, url: &str) {
        self.rt
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("webdriver goto {url}: {e}"));
    }

    /// Run `script` (a function body; `arguments` are `args`, a JSON array) and return its value.
    pub fn eval(&self, script: &str, args: Value) -> Value {
        let args = match args {
            Value::Array(a) => a,
            Value::Null => vec![],
            other => vec![other],
        };
        self.rt
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Run `script` whose last statement returns a promise; wait for its value.
    pub fn eval_async(&self, script: &str, args: Value) -> Value {
        let wrapped = format!(
            "var done = arguments[arguments.length - 1]; var args = Array.prototype.slice.call(arguments, 0, -1);\
             Promise.resolve((function() {{ {script} }}).apply(null, args)).then(function (v) {{ done({{ok: v}}); }}, function (e) {{ done({{err: String(e)}}); }});"
        );
        let args = match args {
            Value::Array(a) => a,
            Value::Null => vec![],
            other => vec![other],
        };
        let v = self
            .rt
            .block_on(self.client().execute_async(&wrapped, args))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"));
        if let Some(e) = v.get("err") {
            panic!("script failed: {e}");
        }
        v["ok"].clone()
    }

    /// The first element matching `css`.
    pub fn element(&self, css: &str) -> Element {
        self.rt
            .block_on(self.client().find(Locator::Css(css)))
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Type `text` into an element (WebDriver key codes such as `\u{E015}` for Down work).
    pub fn keys(&self, element: &Element, text: &str) {
        self.rt
            .block_on(element.send_keys(text))
            .unwrap_or_else(|e| panic!("typing {text:?}: {e}"));
    }

    /// Click an element as a user would (it must be visible and not covered).
    pub fn click(&self, element: &Element) {
        self.rt
            .block_on(element.click())
            .unwrap_or_else(|e| panic!("click: {e}"));
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

    /// Emulate a screen `width` x `height` CSS pixels wide (a phone: `mobile`, touch events and
    /// a device scale of 2), whatever the window's size.
    pub fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": if mobile { 2 } else { 1 }, "mobile": mobile}),
        );
        self.cdp(
            "Emulation.setTouchEmulationEnabled",
            json!({"enabled": mobile, "maxTouchPoints": if mobile { 5 } else { 1 }}),
        );
    }

    /// Emulate the OS colour scheme (`prefers-color-scheme`): `"light"` or `"dark"`.
    pub fn color_scheme(&self, scheme: &str) {
        self.cdp(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]}),
        );
    }

    /// One DevTools protocol command; returns its result.
    pub fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.rt
            .block_on(self.client().issue_cmd(Cdp { cmd, params }))
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Save the whole page, beyond the viewport, as PNG screenshots `height` CSS pixels tall
    /// each: `stem-1.png`, `stem-2.png`, ... (DevTools protocol). Returns how many.
    pub fn screenshot_full_page(&self, dir: &Path, stem: &str, height: u32) -> usize {
        use base64::Engine as _;
        let size = self.eval(
            "return [document.documentElement.clientWidth, document.scrollingElement.scrollHeight];",
            json!([]),
        );
        let (w, h) = (size[0].as_f64().unwrap(), size[1].as_f64().unwrap());
        std::fs::create_dir_all(dir).unwrap();
        let mut n = 0;
        let mut y = 0.0;
        while y < h {
            let clip = json!({"x": 0, "y": y, "width": w, "height": (h - y).min(f64::from(height)), "scale": 1});
            let v = self.cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true, "clip": clip}),
            );
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(v["data"].as_str().expect("screenshot data"))
                .unwrap();
            n += 1;
            std::fs::write(dir.join(format!("{stem}-{n}.png")), bytes).unwrap();
            y += f64::from(height);
        }
        n
    }

    /// Save a PNG screenshot of the viewport.
    pub fn screenshot(&self, path: &Path) {
        let bytes = self
            .rt
            .block_on(self.client().screenshot())
            .unwrap_or_else(|e| panic!("screenshot: {e}"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self.rt.block_on(c.close());
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
