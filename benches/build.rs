//! Build benchmark: generate a synthetic knowledge base and time `kb build` stages on it.
//!
//! `cargo bench --bench build -- [NOTES]` (default 10000). Prints, for a cold build (no
//! highlight cache) and a warm rebuild (unchanged notes, cache on disk): wall time per stage,
//! total wall time and peak RSS of this process. Run it on an otherwise idle machine.
//! `--keep DIR` generates the corpus into DIR and leaves it there (to run `kb build -v` on it).
//!
//! `--search-overhead RUNS` then times RUNS pairs of cold builds, one with the search index and
//! one without (`[search] enabled = false`), back to back (which goes first alternates), and
//! prints what the index adds in wall time and in CPU time (user + system, all threads): the
//! median and quartiles of each pair's ratio. Pairing keeps a machine whose speed drifts
//! between runs (shared VMs do, by 20% and more) from biasing the figure.

#[path = "support/corpus.rs"]
mod corpus;

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
    corpus::write_site(dir, n, 42)?;
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
    if let Some(runs) = args
        .iter()
        .position(|a| a == "--search-overhead")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse::<usize>().ok())
    {
        return search_overhead(dir, runs);
    }
    for run in ["cold", "warm"] {
        let cfg = kb::config::Config::load(dir)?;
        let t = Instant::now();
        let report = kb::site::build(cfg, Default::default(), &dir.join("public"), false)?;
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
            kb::site::peak_rss_mb().unwrap_or(0),
            stages.join(", ")
        );
    }
    Ok(())
}

/// Pairs of cold builds with and without the search index; prints the overhead.
fn search_overhead(dir: &std::path::Path, runs: usize) -> anyhow::Result<()> {
    let cold_build = |search: bool| -> anyhow::Result<(f64, f64)> {
        for sub in ["public", ".kb"] {
            let p = dir.join(sub);
            if p.exists() {
                std::fs::remove_dir_all(&p)?;
            }
        }
        let mut cfg = kb::config::Config::load(dir)?;
        cfg.search.enabled = search;
        let cpu = || kb::site::cpu_time().unwrap_or_default().as_secs_f64();
        let (t, c) = (Instant::now(), cpu());
        kb::site::build(cfg, Default::default(), &dir.join("public"), false)?;
        Ok((t.elapsed().as_secs_f64(), cpu() - c))
    };
    let (mut with, mut without, mut ratios, mut cpu_ratios) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        let ((w, wc), (wo, woc)) = if run % 2 == 0 {
            let w = cold_build(true)?;
            (w, cold_build(false)?)
        } else {
            let wo = cold_build(false)?;
            (cold_build(true)?, wo)
        };
        println!(
            "  with search {w:.2} s ({wc:.2} s CPU), without {wo:.2} s ({woc:.2} s CPU): \
             +{:.0}% wall, +{:.0}% CPU",
            (w / wo - 1.0) * 100.0,
            (wc / woc - 1.0) * 100.0
        );
        with.push(w);
        without.push(wo);
        ratios.push(w / wo - 1.0);
        cpu_ratios.push(wc / woc - 1.0);
    }
    let quartiles = |mut v: Vec<f64>| -> [f64; 3] {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        [at(0.25), at(0.5), at(0.75)]
    };
    let [_, w, _] = quartiles(with);
    let [_, wo, _] = quartiles(without);
    let [q1, med, q3] = quartiles(ratios);
    let [c1, cmed, c3] = quartiles(cpu_ratios);
    println!(
        "search index overhead, {runs} pairs of cold builds: median {w:.2} s with, {wo:.2} s without; \
         the index adds {:.0}% wall time (median of pairs; quartiles {:.0}%-{:.0}%) and {:.0}% CPU time \
         (quartiles {:.0}%-{:.0}%)",
        med * 100.0,
        q1 * 100.0,
        q3 * 100.0,
        cmed * 100.0,
        c1 * 100.0,
        c3 * 100.0
    );
    Ok(())
}
