//! kb against Zola on the same synthetic knowledge base.
//!
//! `ZOLA=/path/to/zola cargo bench --bench zola -- [NOTES] [--runs N] [--keep DIR]`
//!
//! Generates the corpus of `benches/build.rs` (default 10,000 notes), writes the same notes as a
//! Zola site (TOML front matter, `tags` taxonomy, `@/` internal links, one `_index.md` per
//! section, minimal templates, class-based highlighting in light and dark), then times cold
//! builds of both as separate processes: output and caches deleted before each run, median of
//! `--runs` (default 3), wall time and peak RSS from `/usr/bin/time`. kb runs with and without its
//! search index; Zola with and without its elasticlunr index (`build_search_index`), which is the
//! closest it has (for Chinese notes it needs a Zola built with `--features indexing-zh`, which
//! segments with jieba; the default binary refuses `default_language = "zh"` with a search index).
//! Zola is not shipped with kb: build it from its sources
//! (`cargo build --release`) and point `ZOLA` at the binary.

#[path = "support/corpus.rs"]
mod corpus;

use std::path::{Path, PathBuf};
use std::process::Command;

/// One timed run of a build command.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall_s: f64,
    rss_mb: f64,
}

/// Run `cmd` under `/usr/bin/time` and read its wall time and peak RSS.
fn timed(cmd: &mut Command) -> anyhow::Result<Run> {
    let stats = tempfile::NamedTempFile::new()?;
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %M")
        .arg("-o")
        .arg(stats.path())
        .arg(&program)
        .args(&args)
        .current_dir(cmd.get_current_dir().unwrap_or(Path::new(".")))
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "{} failed:\n{}{}",
            program.to_string_lossy(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(stats.path())?;
    let mut parts = text.split_whitespace();
    let wall_s: f64 = parts.next().unwrap_or("0").parse()?;
    let rss_kb: f64 = parts.next().unwrap_or("0").parse()?;
    Ok(Run {
        wall_s,
        rss_mb: rss_kb / 1024.0,
    })
}

fn median(mut runs: Vec<Run>) -> Run {
    runs.sort_by(|a, b| a.wall_s.total_cmp(&b.wall_s));
    runs[runs.len() / 2]
}

/// The corpus note's YAML front matter fields, in the fixed shape `benches/support/corpus.rs` writes.
fn front_matter_field<'a>(fm: &'a str, key: &str) -> Option<&'a str> {
    fm.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(": "))
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Rewrite one corpus note for Zola.
fn zola_note(text: &str) -> anyhow::Result<String> {
    let rest = text
        .strip_prefix("---\n")
        .ok_or_else(|| anyhow::anyhow!("corpus note without front matter"))?;
    let (fm, body) = rest
        .split_once("\n---\n")
        .ok_or_else(|| anyhow::anyhow!("corpus note with unclosed front matter"))?;
    let field = |k| front_matter_field(fm, k).unwrap_or("");
    let tags: Vec<String> = field("tags")
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(toml_string)
        .collect();
    let body = body.replace("](../", "](@/");
    Ok(format!(
        "+++\ntitle = {}\nslug = {}\ndate = {}\ndescription = {}\n[taxonomies]\ntags = [{}]\n+++\n{}",
        toml_string(field("title")),
        toml_string(field("slug")),
        field("date"),
        toml_string(field("summary")),
        tags.join(", "),
        body
    ))
}

const ZOLA_BASE: &str = r##"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{% block title %}{{ config.title }}{% endblock %}</title>
<link rel="stylesheet" href="{{ get_url(path='giallo-light.css') }}">
<link rel="stylesheet" href="{{ get_url(path='giallo-dark.css') }}" media="(prefers-color-scheme: dark)">
</head><body>
<nav>{% set root = get_section(path="_index.md") %}{% for s in root.subsections %}{% set sec = get_section(path=s, metadata_only=true) %}<a href="{{ sec.permalink }}">{{ sec.title }}</a> {% endfor %}</nav>
<main>{% block content %}{% endblock %}</main></body></html>"##;

const ZOLA_PAGE: &str = r##"{% extends "base.html" %}{% block title %}{{ page.title }}{% endblock %}
{% block content %}<article><h1>{{ page.title }}</h1><p>{{ page.date }}
{% if page.taxonomies.tags %}{% for t in page.taxonomies.tags %}<a href="{{ get_taxonomy_url(kind='tags', name=t) }}">#{{ t }}</a> {% endfor %}{% endif %}</p>
<nav class="toc"><ul>{% for h in page.toc %}<li><a href="#{{ h.id }}">{{ h.title }}</a></li>{% endfor %}</ul></nav>
{{ page.content | safe }}
<p>{% if page.lower %}<a href="{{ page.lower.permalink }}">{{ page.lower.title }}</a>{% endif %}
{% if page.higher %}<a href="{{ page.higher.permalink }}">{{ page.higher.title }}</a>{% endif %}</p></article>{% endblock %}"##;

const ZOLA_SECTION: &str = r##"{% extends "base.html" %}{% block content %}<h1>{{ section.title }}</h1><ul>
{% for p in section.pages %}<li><a href="{{ p.permalink }}">{{ p.title }}</a> {{ p.date }} {{ p.description }}</li>{% endfor %}</ul>{% endblock %}"##;

const ZOLA_INDEX: &str = r##"{% extends "base.html" %}{% block content %}<h1>{{ config.title }}</h1>
{% set tags = get_taxonomy(kind="tags") %}{% for t in tags.items %}<a href="{{ t.permalink }}">{{ t.name }} ({{ t.pages | length }})</a> {% endfor %}{% endblock %}"##;

const ZOLA_TAXONOMY_LIST: &str = r##"{% extends "base.html" %}{% block content %}<ul>{% for t in terms %}<li><a href="{{ t.permalink }}">{{ t.name }}</a> {{ t.pages | length }}</li>{% endfor %}</ul>{% endblock %}"##;

const ZOLA_TAXONOMY_SINGLE: &str = r##"{% extends "base.html" %}{% block content %}<h1>#{{ term.name }}</h1><ul>{% for p in term.pages %}<li><a href="{{ p.permalink }}">{{ p.title }}</a></li>{% endfor %}</ul>{% endblock %}"##;

/// Write the corpus under `kb_root/content` as a Zola site in `zola_root`.
fn write_zola_site(kb_root: &Path, zola_root: &Path, search: bool) -> anyhow::Result<()> {
    let content = kb_root.join("content");
    for entry in walkdir::WalkDir::new(&content) {
        let entry = entry?;
        let rel = entry.path().strip_prefix(&content)?;
        let dest = zola_root.join("content").join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest)?;
            let name = rel.to_string_lossy();
            let title = if name.is_empty() { "synthetic" } else { &name };
            std::fs::write(
                dest.join("_index.md"),
                format!(
                    "+++\ntitle = {}\nsort_by = \"date\"\n+++\n",
                    toml_string(title)
                ),
            )?;
        } else if rel.extension().is_some_and(|e| e == "md") {
            std::fs::write(&dest, zola_note(&std::fs::read_to_string(entry.path())?)?)?;
        }
    }
    let templates = zola_root.join("templates");
    std::fs::create_dir_all(templates.join("tags"))?;
    for (name, text) in [
        ("base.html", ZOLA_BASE),
        ("page.html", ZOLA_PAGE),
        ("section.html", ZOLA_SECTION),
        ("index.html", ZOLA_INDEX),
        ("tags/list.html", ZOLA_TAXONOMY_LIST),
        ("tags/single.html", ZOLA_TAXONOMY_SINGLE),
    ] {
        std::fs::write(templates.join(name), text)?;
    }
    std::fs::write(
        zola_root.join("config.toml"),
        format!(
            "base_url = \"https://example.com\"\ntitle = \"synthetic\"\ndefault_language = \"zh\"\n\
             compile_sass = false\nbuild_search_index = {search}\ngenerate_feeds = true\n\
             taxonomies = [{{ name = \"tags\" }}]\n\n[markdown.highlighting]\nstyle = \"class\"\n\
             light_theme = \"github-light\"\ndark_theme = \"github-dark\"\n"
        ),
    )?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .iter()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = flag("--runs").and_then(|r| r.parse().ok()).unwrap_or(3);
    let Some(zola) = std::env::var_os("ZOLA").map(PathBuf::from) else {
        eprintln!(
            "set ZOLA to a zola binary (build it from its sources with `cargo build --release`)"
        );
        std::process::exit(2);
    };
    let tmp = tempfile::tempdir()?;
    let root = flag("--keep")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    let kb_root = root.join("kb");
    let kb_nosearch = root.join("kb-nosearch");
    corpus::write_site(&kb_root, n, 42)?;
    corpus::write_site(&kb_nosearch, n, 42)?;
    std::fs::write(
        kb_nosearch.join("kb.toml"),
        "title = \"synthetic\"\n[search]\nenabled = false\n",
    )?;
    write_zola_site(&kb_root, &root.join("zola"), false)?;
    write_zola_site(&kb_root, &root.join("zola-search"), true)?;
    let zola_version = Command::new(&zola).arg("--version").output()?;
    println!(
        "{n} notes; kb {} vs {}; median of {runs} cold builds each (output and caches removed before every run)",
        env!("CARGO_PKG_VERSION"),
        String::from_utf8_lossy(&zola_version.stdout).trim()
    );
    let kb_bin = PathBuf::from(env!("CARGO_BIN_EXE_kb"));
    let kb = |dir: &Path| {
        let mut c = Command::new(&kb_bin);
        c.arg("build").arg("--root").arg(dir);
        c
    };
    let zola_build = |dir: &Path| {
        let mut c = Command::new(&zola);
        c.arg("--root").arg(dir).arg("build");
        c
    };
    type Case<'a> = (&'a str, PathBuf, &'a dyn Fn(&Path) -> Command);
    let cases: Vec<Case> = vec![
        ("kb build (with search index)", kb_root.clone(), &kb),
        (
            "kb build ([search] enabled = false)",
            kb_nosearch.clone(),
            &kb,
        ),
        (
            "zola build (build_search_index = true)",
            root.join("zola-search"),
            &zola_build,
        ),
        (
            "zola build (build_search_index = false)",
            root.join("zola"),
            &zola_build,
        ),
    ];
    for (name, dir, cmd) in &cases {
        let mut times = Vec::new();
        for _ in 0..runs {
            for sub in ["public", ".kb"] {
                let p = dir.join(sub);
                if p.exists() {
                    std::fs::remove_dir_all(&p)?;
                }
            }
            match timed(&mut cmd(dir)) {
                Ok(run) => times.push(run),
                Err(e) => {
                    let why = e.to_string();
                    let line = why
                        .lines()
                        .find(|l| l.contains("ERROR") || l.contains("error"))
                        .unwrap_or("failed");
                    println!("{name:<42} failed: {}", line.trim());
                    break;
                }
            }
        }
        if times.is_empty() {
            continue;
        }
        let files = walkdir::WalkDir::new(dir.join("public"))
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_file())
            .count();
        let m = median(times.clone());
        let all: Vec<String> = times.iter().map(|r| format!("{:.2}", r.wall_s)).collect();
        println!(
            "{name:<42} {:>6.2} s  peak RSS {:>5.0} MB  {files} files  (runs: {} s)",
            m.wall_s,
            m.rss_mb,
            all.join(", ")
        );
    }
    Ok(())
}
