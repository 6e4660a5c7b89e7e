//! Search benchmark: prints figures, asserts nothing.
//!
//! `cargo bench --bench search [-- NOTES]` (default 10,000 synthetic notes from benches/support/corpus.rs):
//! tantivy index build (full, then an incremental update of 1% of the notes), query latency
//! (parse + search + excerpts for the top 10, in process: no process start), the browser
//! index's size, and the browser-side work per query simulated in Rust (posting bytes a query
//! downloads).

#[path = "support/corpus.rs"]
mod corpus;

/// The allocator the `kb` binary uses, so figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use kb::output::sink::MemSink;
use kb::search::{SearchDoc, SearchIndex, SearchSection};

fn to_doc(n: &corpus::Note) -> SearchDoc {
    let mut sections = vec![SearchSection {
        text: n.intro.clone(),
        ..Default::default()
    }];
    for s in &n.sections {
        sections.push(SearchSection {
            anchor: s.anchor.clone(),
            heading: s.heading.clone(),
            text: s.text.replace('`', ""),
            code: s
                .code
                .iter()
                .map(|(_, c)| c.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    SearchDoc {
        url: format!(
            "/{}/",
            n.path
                .trim_start_matches("content/")
                .trim_end_matches(".md")
        ),
        title: n.title.clone(),
        tags: n.tags.clone(),
        date: Some(n.date.clone()),
        source: n.path.clone(),
        sections,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let t = Instant::now();
    let notes = corpus::generate(n, 42);
    let mut docs: Vec<SearchDoc> = notes.iter().map(to_doc).collect();
    let text_bytes: usize = notes.iter().map(|n| n.markdown().len()).sum();
    println!(
        "corpus: {n} notes, {:.1} MB of markdown, generated in {:.2?}",
        text_bytes as f64 / 1e6,
        t.elapsed()
    );

    // 1. index build: the tantivy index on disk + the browser index, as `kb build` does
    let root = tempfile::tempdir()?;
    let config = kb::config::Config::load(root.path())?;
    let sink = MemSink::default();
    let t = Instant::now();
    let stats = kb::search::index_site(&config, &docs, &sink)?;
    let full = t.elapsed();
    let dir_bytes: u64 = walkdir::WalkDir::new(kb::search::index_dir(&config))
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    println!(
        "index build (tantivy + browser index): {full:.2?}; tantivy index {:.1} MB",
        dir_bytes as f64 / 1e6
    );

    // incremental: 1% of the notes changed
    for d in docs.iter_mut().step_by(100) {
        d.sections[0].text.push_str("改了一句话。");
    }
    let t = Instant::now();
    let again = kb::search::index_site(&config, &docs, &sink)?;
    println!(
        "incremental update ({} changed, {} unchanged): {:.2?} (browser index rewritten in full)",
        again.update.updated,
        again.update.unchanged,
        t.elapsed()
    );

    let c = stats.client;
    println!(
        "browser index: {} terms, {} shards, meta {:.1} KB, prefix word lists {:.1} KB, postings {:.1} MB, fragments {:.1} MB; {:.0} B per note (postings+meta+words {:.0} B, fragment {:.0} B)",
        c.terms,
        c.shards,
        c.meta_bytes as f64 / 1e3,
        c.words_bytes as f64 / 1e3,
        c.index_bytes as f64 / 1e6,
        c.fragment_bytes as f64 / 1e6,
        c.total_bytes() as f64 / n as f64,
        (c.index_bytes + c.meta_bytes + c.words_bytes) as f64 / n as f64,
        c.fragment_bytes as f64 / n as f64
    );

    // 2. query latency, in process
    let index = SearchIndex::open(&kb::search::index_dir(&config))?;
    let mut rng = corpus::Rng::new(7);
    let mut queries: Vec<String> = Vec::new();
    for i in 0..400 {
        let q = match i % 8 {
            0 => rng.pick(corpus::ZH_WORDS).to_string(),
            1 => format!(
                "{} {}",
                rng.pick(corpus::ZH_WORDS),
                rng.pick(corpus::ZH_WORDS)
            ),
            2 => rng.pick(corpus::EN_TERMS).to_string(),
            3 => format!(
                "{} {}",
                rng.pick(corpus::EN_TERMS),
                rng.pick(corpus::ZH_WORDS)
            ),
            4 => {
                let t = rng.pick(corpus::EN_TERMS);
                t.chars().take(3 + t.len() % 3).collect()
            }
            5 => format!(
                "\"{}{}\"",
                rng.pick(corpus::ZH_WORDS),
                rng.pick(corpus::ZH_GLUE)
            ),
            6 => format!(
                "tag:{} {}",
                rng.pick(&["go", "docker", "linux"]),
                rng.pick(corpus::ZH_WORDS)
            ),
            _ => rng.pick(corpus::ZH_WORDS).chars().take(1).collect(),
        };
        queries.push(q);
    }
    for q in queries.iter().take(50) {
        index.search(q, 10)?; // warm the OS cache and the reader
    }
    for (label, limit, excerpts) in [
        ("top 10 with excerpts", 10, true),
        ("top 10 ranking only", 10, false),
    ] {
        let mut times = Vec::new();
        let mut hits = 0usize;
        for _ in 0..3 {
            for q in &queries {
                let t = Instant::now();
                let h = if excerpts {
                    index.search(q, limit)?.len()
                } else {
                    index.search_ranked(q, limit)?.len()
                };
                times.push(t.elapsed());
                hits += h;
            }
        }
        times.sort();
        println!(
            "query latency, {label} ({} runs, {:.1} hits avg): p50 {:.3?}, p90 {:.3?}, p99 {:.3?}, max {:.3?}",
            times.len(),
            hits as f64 / times.len() as f64,
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
            times[times.len() - 1]
        );
    }

    // 3. what a browser query downloads: meta + the shards holding its terms + 10 fragments
    let meta = sink
        .get("_kb/search/meta.json")
        .map(|b| b.len())
        .unwrap_or(0);
    let words = sink
        .paths()
        .iter()
        .filter(|p| p.starts_with("_kb/search/w/"))
        .map(|p| sink.get(p).map(|b| b.len()).unwrap_or(0))
        .max()
        .unwrap_or(0);
    let shard_sizes: Vec<usize> = (0..c.shards)
        .map(|k| {
            sink.get(&format!("_kb/search/i/{k}.json"))
                .map(|b| b.len())
                .unwrap_or(0)
        })
        .collect();
    let avg_shard = shard_sizes.iter().sum::<usize>() / shard_sizes.len().max(1);
    println!(
        "browser cold query: meta.json {:.1} KB + ~{:.1} KB per shard touched (1-4 shards for 1-4 terms) + up to {:.1} KB (largest w/C.json) only when the last word is a prefix + ~{:.1} KB of fragments for 10 results",
        meta as f64 / 1e3,
        avg_shard as f64 / 1e3,
        words as f64 / 1e3,
        10.0 * c.fragment_bytes as f64 / n as f64 / 1e3
    );
    Ok(())
}
