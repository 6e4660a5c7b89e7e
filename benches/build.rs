//! Build benchmark: generate a synthetic knowledge base and time `kb build` stages on it.
//!
//! `cargo bench --bench build -- [NOTES]` (default 10000). Prints, for a cold build (no
//! highlight cache) and a warm rebuild (unchanged notes, cache on disk): wall time per stage,
//! total wall time and peak RSS of this process. Run it on an otherwise idle machine.
//! `--keep DIR` generates the corpus into DIR and leaves it there (to run `kb build -v` on it).

/// The allocator the `kb` binary uses, so figures match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .skip(1)
        .find(|a| a.parse::<usize>().is_ok())
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let args: Vec<String> = std::env::args().collect();
    let keep = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(std::path::PathBuf::from);
    let tmp = tempfile::tempdir()?;
    let root = keep.unwrap_or_else(|| tmp.path().to_path_buf());
    let dir = root.as_path();
    let t = Instant::now();
    kb::corpus::generate(dir, n, 42)?;
    let bytes: u64 = walkdir::WalkDir::new(dir.join("content"))
        .into_iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum();
    println!(
        "corpus: {n} notes, {:.1} MB markdown, generated in {:.2} s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    println!("threads: {}", rayon::current_num_threads());
    for run in ["cold", "warm"] {
        let cfg = kb::config::Config::load(dir)?;
        let t = Instant::now();
        let report = kb::build::build(cfg, Default::default(), &dir.join("public"), false)?;
        let total = t.elapsed();
        let stages: Vec<String> = report
            .timings
            .0
            .iter()
            .map(|(s, d)| format!("{s} {:.0}ms", d.as_secs_f64() * 1000.0))
            .collect();
        println!(
            "{run:>4} build: {:.2} s total, {} files, highlight cache {} hits / {} misses, peak RSS {} MB\n      stages: {}",
            total.as_secs_f64(),
            report.files,
            report.highlight_hits,
            report.highlight_misses,
            kb::build::peak_rss_mb().unwrap_or(0),
            stages.join(", ")
        );
    }
    Ok(())
}
