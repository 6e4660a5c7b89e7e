//! How long each pipeline stage took, with CPU time and peak memory where the OS tells: shown
//! with `-v` and read by the benchmarks.

use std::time::{Duration, Instant};

/// Wall time per stage, for `-v` and the benchmark.
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<(&'static str, Duration)>);

impl Timings {
    pub fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let cpu_before = cpu_time();
        let out = f();
        let took = start.elapsed();
        let cpu = cpu_time()
            .zip(cpu_before)
            .map(|(after, before)| after.saturating_sub(before));
        match (peak_rss_mb(), cpu) {
            (Some(mb), Some(cpu)) => tracing::info!(
                "{stage:<10} {:>8.1} ms   cpu {:>8.1} ms   peak RSS {mb:>5} MB",
                took.as_secs_f64() * 1000.0,
                cpu.as_secs_f64() * 1000.0
            ),
            (Some(mb), None) => tracing::info!(
                "{stage:<10} {:>8.1} ms   peak RSS {mb:>5} MB",
                took.as_secs_f64() * 1000.0
            ),
            (None, _) => tracing::info!("{stage:<10} {:>8.1} ms", took.as_secs_f64() * 1000.0),
        }
        self.0.push((stage, took));
        out
    }
}

/// Peak resident memory of this process so far (Linux; `None` elsewhere), shown with `-v`.
pub fn peak_rss_mb() -> Option<u64> {
    peak_rss_mb_of("self")
}

/// CPU time (user + system, all threads) this process has used so far, from /proc (Linux only;
/// 10 ms resolution). Shown per stage with `-v`: a stage whose CPU time is well under twice its
/// wall time leaves a core idle. It counts every thread.
pub fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // USER_HZ is 100 on every Linux architecture kb targets
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Peak resident memory of process `pid` (`"self"` or a number) from /proc (Linux only).
pub fn peak_rss_mb_of(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024)
}
