//! Edit-to-reload latency of `kb serve`: from the moment a note file is written to the moment a
//! live-reload client (a WebSocket, as the browser's) receives the `reload` message for its
//! page, and to the moment the new page has been fetched over HTTP.
//!
//! ```text
//! cargo bench --bench serve -- [--notes N | --root DIR] [--edits K]
//! ```
//!
//! `--notes N` serves a synthetic knowledge base of N notes (`benches/support/corpus.rs`, default 10000);
//! `--root DIR` serves a copy of an existing knowledge base (its `content/`, `kb.toml`,
//! `themes/`), e.g. the repository itself. Each scenario edits a file K times (default 30), one
//! edit at a time, and prints median / p90 / max. The server is the release `kb` binary,
//! started as a user would; the watcher's debounce (10 ms) is part of every figure.
//!
//! `--notes N --generate DIR` only writes the synthetic knowledge base into DIR (to run
//! `kb serve -v` on it by hand).
//!
//! Without `--bench` on the command line (i.e. under `cargo test --all-targets`) it only
//! checks its arguments and exits.

#[path = "support/corpus.rs"]
mod corpus;

/// The allocator the `kb` binary uses, so figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(120);

struct Args {
    notes: usize,
    root: Option<PathBuf>,
    edits: usize,
}

fn args() -> anyhow::Result<(Args, bool)> {
    let mut a = Args {
        notes: 10_000,
        root: None,
        edits: 30,
    };
    let mut bench = false;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--notes" => a.notes = it.next().context("--notes N")?.parse()?,
            "--root" => a.root = Some(it.next().context("--root DIR")?.into()),
            "--edits" => a.edits = it.next().context("--edits K")?.parse()?,
            "--generate" => {
                let dir = PathBuf::from(it.next().context("--generate DIR")?);
                corpus::write_site(&dir, a.notes, 42)?;
                println!("wrote {} notes under {}", a.notes, dir.display());
                std::process::exit(0);
            }
            _ => {}
        }
    }
    Ok((a, bench))
}

fn main() -> anyhow::Result<()> {
    let (args, bench) = args()?;
    if !bench {
        println!("serve latency bench: run with `cargo bench --bench serve`");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let (label, note_rel, note_url) = match &args.root {
        Some(root) => {
            copy_kb(root, dir.path())?;
            let note = first_note(&dir.path().join("content"))
                .context("the knowledge base has no notes")?;
            let rel = note
                .strip_prefix(dir.path())?
                .to_string_lossy()
                .replace('\\', "/");
            (
                format!(
                    "{} ({} notes)",
                    root.display(),
                    count_notes(&dir.path().join("content"))
                ),
                rel,
                None,
            )
        }
        None => {
            corpus::write_site(dir.path(), args.notes, 42)?;
            (
                format!("synthetic corpus, {} notes", args.notes),
                "content/go/note-0.md".to_string(),
                Some("/notes/note-0/".to_string()),
            )
        }
    };
    println!(
        "kb serve latency: {label}, {} edits per scenario, {} CPUs",
        args.edits,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let t = Instant::now();
    let server = Server::start(dir.path())?;
    println!(
        "startup: {:.0} ms until the URL was printed (first load and markdown render)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let note_path = dir.path().join(&note_rel);
    let original = std::fs::read_to_string(&note_path)?;
    // The note's URL: from the slug in front matter, else the page that mentions its source.
    let note_url = match note_url {
        Some(u) => u,
        None => find_note_url(&server, &original, &note_rel)?,
    };
    let t = Instant::now();
    server.get(&note_url)?;
    println!(
        "first request of {note_url}: {:.1} ms (rendered on request)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut ws = server.socket()?;

    // 1. Body edit: the common case.
    let mut reload = Vec::new();
    let mut fetched = Vec::new();
    for k in 0..args.edits {
        let marker = format!("BENCH-EDIT-{k}");
        let text = format!("{original}\n\n{marker}\n");
        let (r, f) = edit_and_wait(&server, &mut ws, &note_path, &text, &note_url, &marker)?;
        reload.push(r);
        fetched.push(f);
    }
    report("body edit -> reload message", &reload);
    report("body edit -> new page fetched", &fetched);

    // 2. Title edit: the note's name changes, so notes linking to it are re-rendered too.
    let mut reload = Vec::new();
    for k in 0..args.edits {
        let marker = format!("BENCH-TITLE-{k}");
        let text = retitle(&original, &marker);
        let (r, _) = edit_and_wait(&server, &mut ws, &note_path, &text, &note_url, &marker)?;
        reload.push(r);
    }
    report("title edit -> reload message", &reload);
    std::fs::write(&note_path, &original)?;
    ws.wait(|m| m["kind"] == "reload")?;

    // 3. A new note, then its deletion (structural: every page goes stale).
    let mut created = Vec::new();
    let mut deleted = Vec::new();
    let new_path = note_path.with_file_name("bench-new-note.md");
    for k in 0..args.edits.min(10) {
        let marker = format!("BENCH-NEW-{k}");
        let t = Instant::now();
        std::fs::write(
            &new_path,
            format!("---\ntitle: 新笔记 {k}\nslug: bench-new-note\n---\n\n{marker}\n"),
        )?;
        ws.wait(|m| m["kind"] == "reload" && covers(m, "/notes/bench-new-note/"))?;
        created.push(t.elapsed());
        let t = Instant::now();
        std::fs::remove_file(&new_path)?;
        ws.wait(|m| m["kind"] == "reload" && covers(m, "/notes/bench-new-note/"))?;
        deleted.push(t.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    report("new note -> reload message", &created);
    report("deleted note -> reload message", &deleted);

    // 4. Stylesheet edit: swapped in place.
    let css_path = dir.path().join("themes/default/static/style.css");
    if css_path.is_file() {
        let css = std::fs::read_to_string(&css_path)?;
        let mut swapped = Vec::new();
        for k in 0..args.edits {
            let t = Instant::now();
            std::fs::write(&css_path, format!("{css}\n/* bench {k} */\n"))?;
            ws.wait(|m| m["kind"] == "css")?;
            swapped.push(t.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
        report("stylesheet edit -> css message", &swapped);
    }
    println!("peak RSS of the server: {} MB", server.peak_rss_mb());
    Ok(())
}

/// Write `text` to the note and time the reload message and the fetch of the new page.
fn edit_and_wait(
    server: &Server,
    ws: &mut Socket,
    path: &Path,
    text: &str,
    url: &str,
    marker: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let t = Instant::now();
    std::fs::write(path, text)?;
    ws.wait(|m| m["kind"] == "reload" && covers(m, url))?;
    let reload = t.elapsed();
    loop {
        if server.get(url)?.contains(marker) {
            break;
        }
        if t.elapsed() > WAIT {
            bail!("{url} never showed {marker}");
        }
    }
    let fetched = t.elapsed();
    // Let the server go idle, so edits do not fold into one update.
    std::thread::sleep(Duration::from_millis(50));
    Ok((reload, fetched))
}

fn covers(m: &Value, url: &str) -> bool {
    m["paths"]
        .as_array()
        .is_some_and(|a| a.iter().any(|p| p == url || p == "*"))
}

fn retitle(text: &str, marker: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in text.lines() {
        if !done && line.starts_with("title:") {
            out.push_str(&format!("title: 标题 {marker}\n"));
            done = true;
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn report(what: &str, samples: &[Duration]) {
    if samples.is_empty() {
        return;
    }
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{what:<34} median {:>7.1} ms   p90 {:>7.1} ms   max {:>7.1} ms   (n={})",
        pick(0.5),
        pick(0.9),
        ms[ms.len() - 1],
        ms.len()
    );
}

/// The `kb serve` process under test.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(root: &Path) -> anyhow::Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kb"))
            .arg("--root")
            .arg(root)
            .args(["serve", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("start kb serve")?;
        let mut stdout = child.stdout.take().context("stdout")?;
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte)? == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8_lossy(&line).into_owned();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|s| s.split('/').next())
            .with_context(|| format!("no URL in `{line}`"))?
            .to_string();
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Ok(Server { child, addr })
    }

    fn get(&self, path: &str) -> anyhow::Result<String> {
        let mut s = TcpStream::connect(&self.addr)?;
        s.set_read_timeout(Some(WAIT))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        Ok(String::from_utf8_lossy(&buf).into_owned())
    }

    fn socket(&self) -> anyhow::Result<Socket> {
        let stream = TcpStream::connect(&self.addr)?;
        stream.set_read_timeout(Some(WAIT))?;
        let (ws, _) = tungstenite::client(format!("ws://{}/_kb/livereload", self.addr), stream)?;
        Ok(Socket { ws })
    }

    fn peak_rss_mb(&self) -> u64 {
        kb::site::peak_rss_mb_of(&self.child.id().to_string()).unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Socket {
    ws: tungstenite::WebSocket<TcpStream>,
}

impl Socket {
    fn wait(&mut self, pred: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        loop {
            if let tungstenite::Message::Text(t) = self.ws.read()? {
                let m: Value = serde_json::from_str(&t)?;
                if pred(&m) {
                    return Ok(m);
                }
            }
        }
    }
}

fn copy_kb(from: &Path, to: &Path) -> anyhow::Result<()> {
    for part in ["content", "themes", "kb.toml", "snippets"] {
        let src = from.join(part);
        if !src.exists() {
            continue;
        }
        for entry in walkdir::WalkDir::new(&src) {
            let entry = entry?;
            let target = to.join(entry.path().strip_prefix(from)?);
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&target)?;
            } else {
                std::fs::copy(entry.path(), &target)?;
            }
        }
    }
    Ok(())
}

fn is_note(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "md") && p.file_name().is_some_and(|n| n != "_index.md")
}

fn first_note(content: &Path) -> Option<PathBuf> {
    walkdir::WalkDir::new(content)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.into_path())
        .find(|p| is_note(p))
}

fn count_notes(content: &Path) -> usize {
    walkdir::WalkDir::new(content)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| is_note(e.path()))
        .count()
}

/// The URL of a note's page: its `slug:`, else its slugified file name.
fn find_note_url(server: &Server, text: &str, rel: &str) -> anyhow::Result<String> {
    let slug = text
        .lines()
        .find_map(|l| l.strip_prefix("slug:"))
        .map(|s| s.trim().trim_matches('"').to_string())
        .unwrap_or_else(|| {
            kb::slug::slugify(
                &Path::new(rel)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            )
        });
    let url = format!("/notes/{slug}/");
    if server.get(&url)?.starts_with("HTTP/1.1 200") {
        Ok(url)
    } else {
        bail!("couldn't find the page of {rel} (tried {url})")
    }
}
