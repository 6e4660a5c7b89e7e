//! `kb serve`'s incremental updates render exactly what a full build renders: a live site is
//! driven through every kind of change it handles (note body, title, date, links, tags,
//! aliases, snippets, notes created, deleted and renamed, a new section, verify results,
//! templates, stylesheets, content files, `_index.md`, folder pages, namesakes that move each
//! other's URLs, kb.toml), and after each one every file
//! it serves — every stale page rendered, as a browser requesting it would — is compared byte for
//! byte with `kb build` of the same sources into a fresh directory.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use crate::content::LoadOptions;
use crate::output::outdir::MANIFEST;

use super::change::{Change, Layout};
use super::files::LiveFiles;
use super::live::LiveSite;
use super::update::Update;

/// Which rebuild a change is expected to take, so the test knows it exercised the path it
/// means to (an update that reloads everything would match a build trivially).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rebuild {
    /// Only the pages the change reaches: no "reload every page".
    Pages,
    /// Every page marked stale (the chrome changed, or notes were added or removed), without
    /// loading the content again.
    EveryPage,
    /// The content loaded again from disk.
    Reload,
    /// Not pinned: whatever serve chooses.
    Any,
}

/// One change: files to write (`Some`) or delete (`None`), all in one batch.
struct Step {
    what: &'static str,
    files: Vec<(&'static str, Option<String>)>,
    expect: Rebuild,
}

fn step(what: &'static str, expect: Rebuild, files: &[(&'static str, Option<&str>)]) -> Step {
    Step {
        what,
        files: files
            .iter()
            .map(|(p, t)| (*p, t.map(str::to_string)))
            .collect(),
        expect,
    }
}

const GC: &str = "---\ntitle: Go GC\ntags: [go, gc]\ndate: 2024-05-01\n---\n\n三色标记的介绍。\n\n## 写屏障\n\n写屏障保证不变式。\n";
const SCHED: &str = "---\ntitle: 调度器\ntags: [go]\ndate: 2024-05-02\n---\n\n调度器和 [[Go GC]] 的关系，见 [写屏障](gc.md#写屏障)。\n";
const MEM: &str = "---\ntitle: 内存分配\ntags: [go]\ndate: 2024-05-04\n---\n\n分配器的三层结构。\n";
const ENTRY: &str = "---\ntitle: ENTRYPOINT 与 CMD\ntags: [docker]\ndate: 2024-05-03\n---\n\nexec 形式和 shell 形式。\n";
const RUN: &str =
    "---\ntitle: 可运行\ndate: 2024-04-01\n---\n\n```sh run\necho hi\n```\n\n```output\nhi\n```\n";

fn write(root: &Path, rel: &str, text: &[u8]) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// What `kb build` writes for the sources at `config.root`, minus the build manifest and the
/// search index (the server answers search from memory and writes the browser's index only
/// when asked).
fn full_build(config: &Config) -> BTreeMap<String, Vec<u8>> {
    let out = tempfile::tempdir().unwrap();
    crate::site::build(config.clone(), LoadOptions::default(), out.path(), false)
        .expect("the full build succeeds");
    let mut files = BTreeMap::new();
    for entry in walkdir::WalkDir::new(out.path()) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = crate::output::sink::rel_slash(entry.path(), out.path());
        if rel != MANIFEST && !rel.starts_with("_kb/") {
            files.insert(rel, std::fs::read(entry.path()).unwrap());
        }
    }
    files
}

/// Every file the live site serves, each stale page rendered first.
fn served(live: &LiveSite, files: &LiveFiles) -> BTreeMap<String, Vec<u8>> {
    let stale: Vec<String> = live.stale.lock().unwrap().keys().cloned().collect();
    for path in &stale {
        live.render_if_stale(path).expect("a stale page renders");
    }
    files
        .paths()
        .into_iter()
        .filter(|p| !p.starts_with("_kb/"))
        .map(|p| {
            let bytes = files.get(&p).expect("listed file").bytes.as_ref().clone();
            (p, bytes)
        })
        .collect()
}

/// Where the two sides differ, for the failure message.
fn differences(live: &BTreeMap<String, Vec<u8>>, full: &BTreeMap<String, Vec<u8>>) -> String {
    let paths: BTreeSet<&String> = live.keys().chain(full.keys()).collect();
    let mut out = String::new();
    for p in paths {
        match (live.get(p), full.get(p)) {
            (Some(_), None) => {
                out += &format!("\n  {p}: served, but a full build has no such file")
            }
            (None, Some(_)) => out += &format!("\n  {p}: in the full build, but not served"),
            (Some(a), Some(b)) if a != b => {
                let at = a
                    .iter()
                    .zip(b)
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                let around = |s: &[u8]| {
                    let from = at.saturating_sub(80);
                    String::from_utf8_lossy(&s[from..(at + 80).min(s.len())]).into_owned()
                };
                out += &format!(
                    "\n  {p}: differs at byte {at}\n    served: …{}…\n    build:  …{}…",
                    around(a),
                    around(b)
                );
            }
            _ => {}
        }
    }
    out
}

fn path_taken(up: &Update) -> Rebuild {
    if up.log.iter().any(|l| l.starts_with("reloaded ")) {
        Rebuild::Reload
    } else if up.reload.all {
        Rebuild::EveryPage
    } else {
        Rebuild::Pages
    }
}

#[test]
fn every_change_serve_applies_renders_what_a_full_build_renders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    write(root, "kb.toml", "title = \"测试知识库\"\n".as_bytes());
    write(root, "content/go/gc.md", GC.as_bytes());
    write(root, "content/go/sched.md", SCHED.as_bytes());
    write(root, "content/go/runtime/mem.md", MEM.as_bytes());
    write(root, "content/go/run.md", RUN.as_bytes());
    write(root, "content/docker/entrypoint.md", ENTRY.as_bytes());
    write(root, "content/docker/diagram.png", b"\x89PNG one");
    let css = std::fs::read(repo.join("themes/default/static/style.css")).unwrap();
    write(root, "themes/default/static/style.css", &css);
    let note_template =
        std::fs::read_to_string(repo.join("themes/default/templates/note.html")).unwrap();
    // Served at the root, as `kb serve` does; the full build uses the same config.
    let config = Config::load(root)
        .unwrap()
        .with_base_url("http://127.0.0.1:1111/")
        .unwrap();

    let files = Arc::new(LiveFiles::default());
    let mut live = LiveSite::load(config.clone(), LoadOptions::default(), files.clone()).unwrap();
    let mut before = served(&live, &files);
    let diff = differences(&before, &full_build(&config));
    assert!(
        diff.is_empty(),
        "first load differs from a full build:{diff}"
    );
    assert!(
        before.contains_key("notes/gc/index.html") && before.contains_key("tags/gc/index.html")
    );

    let results = |status: &str| {
        serde_json::json!({ "blocks": { "content/go/run.md#1": {
            "id": "content/go/run.md#1", "note": "content/go/run.md", "ordinal": 1, "line": 6,
            "status": status, "date": "2026-01-02T03:04:05Z", "duration_ms": 1200,
            "image": "net", "observed": "hi\n"
        } } })
        .to_string()
    };
    use Rebuild::*;
    let steps = [
        step("body edit", Pages, &[("content/go/gc.md", Some(&GC.replace("三色标记的介绍。", "三色标记，增量回收。")))]),
        step("title edit of a note others link to", Pages, &[("content/go/gc.md", Some(&GC.replace("title: Go GC", "title: Go 垃圾回收")))]),
        step("heading renamed under an anchor link", Pages, &[("content/go/gc.md", Some(&GC.replace("## 写屏障", "## 屏障")))]),
        step("title edit of a note nobody links to", Pages, &[("content/docker/entrypoint.md", Some(&ENTRY.replace("ENTRYPOINT 与 CMD", "ENTRYPOINT 和 CMD")))]),
        step("date edit that reorders the notes", Pages, &[("content/docker/entrypoint.md", Some(&ENTRY.replace("2024-05-03", "2024-04-15")))]),
        step("link added (a backlink appears)", Pages, &[("content/docker/entrypoint.md", Some(&format!("{ENTRY}\n见 [[调度器]]。\n")))]),
        step("embed added", Pages, &[("content/docker/entrypoint.md", Some(&format!("{ENTRY}\n![[调度器]]\n")))]),
        step("embedded note's body edited", Pages, &[("content/go/sched.md", Some(&SCHED.replace("的关系", "的关系（新）")))]),
        step("note made not a page (build.render: never), its section emptied", Reload, &[("content/go/runtime/mem.md", Some(&MEM.replace("date:", "build:\n  render: never\ndate:")))]),
        step("note made a page again", Reload, &[("content/go/runtime/mem.md", Some(MEM))]),
        step("SUMMARY.md added (book order)", Any, &[("content/go/SUMMARY.md", Some("# Summary\n\n- [调度器](sched.md)\n- [GC](./gc.md)\n"))]),
        step("SUMMARY.md reordered", Any, &[("content/go/SUMMARY.md", Some("# Summary\n\n- [GC](gc.md)\n- [调度器](sched.md)\n"))]),
        step("SUMMARY.md deleted", Any, &[("content/go/SUMMARY.md", None)]),
        step("tag added", Any, &[("content/go/sched.md", Some(&SCHED.replace("tags: [go]", "tags: [go, gc, runtime]")))]),
        step("tag removed", Any, &[("content/go/sched.md", Some(SCHED))]),
        step("alias added", Any, &[("content/docker/entrypoint.md", Some(&ENTRY.replace("date:", "aliases: [/old/entry/]\ndate:")))]),
        step("alias moved", Any, &[("content/docker/entrypoint.md", Some(&ENTRY.replace("date:", "aliases: [/older/entry/]\ndate:")))]),
        step("snippet output edited", Any, &[("content/go/run.md", Some(&RUN.replace("```output\nhi", "```output\nhello")))]),
        step("verify results appear", Any, &[(".kb/verify-results.json", Some(&results("passed")))]),
        step("verify results change", Any, &[(".kb/verify-results.json", Some(&results("failed")))]),
        step("note created in a section", EveryPage, &[("content/docker/volumes.md", Some("---\ntitle: 数据卷\ntags: [docker, storage]\ndate: 2024-05-05\n---\n\n卷和 [[调度器]]。\n"))]),
        step("note deleted", EveryPage, &[("content/docker/volumes.md", None)]),
        step("note renamed", EveryPage, &[("content/go/sched.md", None), ("content/go/scheduler.md", Some(SCHED))]),
        step("note created in a new section", Reload, &[("content/k8s/pod.md", Some("---\ntitle: Pod\ntags: [k8s]\n---\n\nPod 是最小单元。\n"))]),
        step("template edited", EveryPage, &[("themes/default/templates/note.html", Some(&note_template.replacen("</article>", "</article><!-- edited -->", 1)))]),
        step("stylesheet edited", Pages, &[("themes/default/static/style.css", Some(&format!("{}\n.kb-edited {{}}\n", String::from_utf8_lossy(&css))))]),
        step("content file edited", Pages, &[("content/docker/diagram.png", Some("\u{89}PNG two"))]),
        step("content file added", Reload, &[("content/docker/arch.png", Some("\u{89}PNG three"))]),
        step("section index edited", Reload, &[("content/go/_index.md", Some("---\ntitle: Go 语言\n---\n\nGo 的笔记。\n"))]),
        step("folder page added", Reload, &[("content/docker/README.md", Some("# Docker 笔记\n\n本目录的介绍，见 [[调度器]]。\n"))]),
        step("folder page body edited", Pages, &[("content/docker/README.md", Some("# Docker 笔记\n\n新的介绍。\n"))]),
        step("folder page title edited", Reload, &[("content/docker/README.md", Some("# 容器笔记\n\n新的介绍。\n"))]),
        step("home page text added", Reload, &[("content/index.md", Some("# 首页\n\n欢迎。\n"))]),
        step("namesake created in another folder", EveryPage, &[("content/go/entrypoint.md", Some("---\ntitle: Go 的入口\n---\n\nmain 包。\n"))]),
        step("namesake created nearer the root", Reload, &[("content/entrypoint.md", Some("---\ntitle: 根目录的入口\n---\n\n入口。\n"))]),
        step("namesake nearer the root deleted", Reload, &[("content/entrypoint.md", None)]),
        step("note moved by url:", Any, &[("content/go/entrypoint.md", Some("---\ntitle: Go 的入口\nurl: /go/main/\n---\n\nmain 包。\n"))]),
        step("folder page deleted", Reload, &[("content/docker/README.md", None)]),
        step("kb.toml edited", Reload, &[("kb.toml", Some("title = \"新的标题\"\n"))]),
        step("note deleted from a nested section", Any, &[("content/go/runtime/mem.md", None)]),
    ];
    for s in steps {
        let mut paths = Vec::new();
        for (rel, text) in &s.files {
            let path = root.join(rel);
            match text {
                Some(t) => {
                    write(root, rel, t.as_bytes());
                }
                None => std::fs::remove_file(&path).unwrap(),
            }
            paths.push(path);
        }
        let layout = Layout::new(live.config());
        let changes: BTreeSet<Change> = paths.iter().filter_map(|p| layout.classify(p)).collect();
        assert!(!changes.is_empty(), "{}: no change seen", s.what);
        let up = live.apply(&changes);
        let taken = path_taken(&up);
        if s.expect != Any {
            assert_eq!(
                taken, s.expect,
                "{}: took another rebuild: {:?}",
                s.what, up.log
            );
        }
        let now = served(&live, &files);
        assert_ne!(now, before, "{}: nothing served changed", s.what);
        let diff = differences(&now, &full_build(live.config()));
        assert!(
            diff.is_empty(),
            "{} ({taken:?}): the live site differs from a full build:{diff}",
            s.what
        );
        before = now;
    }
}
