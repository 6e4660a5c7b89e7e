//! A static file server for a built site on 127.0.0.1, for the browser tests and the Pagefind
//! benchmark: one thread per connection, `Connection: close`, `dir/index.html` for a directory.
//!
//! With `gzip` on, text responses (HTML, JS, CSS, JSON) are gzip-compressed when the browser
//! accepts it, as any static host does, so byte counts are what a visitor downloads. Every
//! response is logged (path, bytes on the wire) so the benchmark can count what a query fetched,
//! including fetches from web workers, which the page's Resource Timing does not see.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One response the server sent.
#[derive(Debug, Clone)]
pub struct Served {
    /// Request path, without the query string.
    pub path: String,
    /// Bytes on the wire: status line, headers and (possibly compressed) body.
    pub wire: u64,
    /// Body bytes as stored on disk.
    pub raw: u64,
}

/// A running server; it lives as long as the process (threads are detached).
pub struct StaticServer {
    pub port: u16,
    log: Arc<Mutex<Vec<Served>>>,
}

impl StaticServer {
    /// Serve `dir` under the URL path `prefix` (`""` or `/kb`).
    pub fn start(dir: PathBuf, prefix: &str, gzip: bool) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (prefix, log2) = (prefix.to_string(), Arc::clone(&log));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (dir, prefix, log) = (dir.clone(), prefix.clone(), Arc::clone(&log2));
                std::thread::spawn(move || {
                    let _ = serve_one(stream, &dir, &prefix, gzip, &log);
                });
            }
        });
        StaticServer { port, log }
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The responses sent since the last call, oldest first.
    pub fn take_log(&self) -> Vec<Served> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

fn serve_one(
    mut stream: TcpStream,
    dir: &Path,
    prefix: &str,
    gzip: bool,
    log: &Mutex<Vec<Served>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(());
    }
    let mut accepts_gzip = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
        let h = h.to_ascii_lowercase();
        if let Some(v) = h.strip_prefix("accept-encoding:") {
            accepts_gzip = v.split(',').any(|e| e.trim().starts_with("gzip"));
        }
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or("/").to_string();
    let rel = kb::markdown::links::percent_decode(
        path.strip_prefix(prefix)
            .unwrap_or(&path)
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
        Some("wasm") => "application/wasm",
        _ => "application/octet-stream",
    };
    let raw = body.len() as u64;
    let compress = gzip && accepts_gzip && ctype != "application/octet-stream";
    let (body, encoding) = if compress {
        (
            gzip_bytes(&body)?,
            "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n",
        )
    } else {
        (body, "")
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n{encoding}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    // logged before sending, so the entry is there once the browser has the response
    log.lock().unwrap().push(Served {
        path,
        wire: (head.len() + body.len()) as u64,
        raw,
    });
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)
}

/// gzip at the default level (6), what static hosts and `gzip` use.
pub fn gzip_bytes(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}
