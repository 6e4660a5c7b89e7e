//! Resource limits of a snippet container (`pids=`, `memory=`, `cpus=`, kb.toml `[verify]`):
//! the typed value, its defaults, and how limits are written and shown.

/// Resource limits of a snippet container: what one session may take from the host.
///
/// The defaults ([`Limits::DEFAULT`]) keep a runaway snippet from hurting the machine kb runs on
/// — a fork bomb meets 512 processes, not the host's pid table; a leak meets 1 GiB, not the OOM
/// killer on the host; a busy loop gets 2 CPUs, leaving the rest to the other sessions and the
/// user — while staying above what compiling and running a troubleshooting example needs (a Go
/// or C build uses a few hundred MiB and a few dozen processes). kb.toml `[verify]` changes the
/// defaults; `pids=`, `memory=` and `cpus=` on a fence change them for one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Limits {
    /// Most processes and threads at once (`pids=`).
    pub pids: u32,
    /// Most memory in bytes, swap included (`memory=`).
    pub memory: u64,
    /// CPU time, in thousandths of a CPU (`cpus=1.5` is 1500).
    pub millicpus: u32,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        pids: 512,
        memory: 1 << 30,
        millicpus: 2000,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// `512 MiB`, `1 GiB`, `1536 KiB`: a byte count as reports show it.
pub fn human_bytes(n: u64) -> String {
    for (unit, size) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
        if n >= size && n.is_multiple_of(size) {
            return format!("{} {unit}", n / size);
        }
    }
    if n >= 1 << 20 {
        format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20))
    } else {
        format!("{n} bytes")
    }
}

/// `1.5` CPUs from thousandths.
pub fn human_cpus(millicpus: u32) -> String {
    let s = format!("{:.3}", f64::from(millicpus) / 1000.0);
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The smallest memory limit the engine accepts (Docker refuses less than 6 MiB).
pub const MIN_MEMORY: u64 = 6 << 20;

/// `512m`, `1g`, `1GiB`, `64MiB`, `700k`, or a bare number of bytes; at least [`MIN_MEMORY`].
pub fn parse_memory(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = (&s[..split], s[split..].trim());
    let n: f64 = num.parse().ok()?;
    let unit = unit.to_ascii_lowercase();
    let unit = unit
        .strip_suffix("ib")
        .or_else(|| unit.strip_suffix('b'))
        .unwrap_or(&unit);
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    let bytes = n * mult as f64;
    (bytes.is_finite() && bytes >= MIN_MEMORY as f64 && bytes < u64::MAX as f64)
        .then_some(bytes as u64)
}

/// `2`, `0.5`, `1.25`: CPUs, as thousandths; at least 0.01.
pub fn parse_cpus(s: &str) -> Option<u32> {
    let n: f64 = s.trim().parse().ok()?;
    let milli = (n * 1000.0).round();
    (n.is_finite() && (10.0..=1_000_000.0).contains(&milli)).then_some(milli as u32)
}

/// A process count limit: 1 or more.
pub fn parse_pids(s: &str) -> Option<u32> {
    s.trim().parse::<u32>().ok().filter(|&n| n >= 1)
}
