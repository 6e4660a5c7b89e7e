//! What verifying a block ends in: a verdict (passed, skipped with a reason, or failed and why)
//! with what the block printed. A failed block is a value, not an error; the runner produces
//! these, the cache restores them, and the report, `--update` and the results file read them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::session::BlockRef;

/// What happened to one runnable or skipped block.
#[derive(Debug, Clone)]
pub(crate) struct BlockOutcome {
    pub(crate) block: BlockRef,
    pub(crate) verdict: Verdict,
    pub(crate) duration: Duration,
    /// When it ran (for a cached result: when it ran for real).
    pub(crate) date: DateTime<Utc>,
    /// The image reference the session ran in.
    pub(crate) image: String,
    /// What it printed (a transcript prints `$ cmd` before each command's output), capped.
    pub(crate) observed: String,
    /// True when the result came from the cache.
    pub(crate) cached: bool,
    /// Per command (one for a program block): what it printed and its status, for `--update`.
    pub(crate) observations: Vec<Option<Observation>>,
}

/// Verdict on one block.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    Passed,
    /// `skip`, or not run because the session could not go on; the reason.
    Skipped(String),
    Failed(Failure),
}

/// Why a block failed. Rendered (with a diff) by the report.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Output or exit status differ. `expected`/`actual` are canonical (actual normalised
    /// through the expected patterns, so only real differences remain).
    Mismatch {
        /// File line of the command (`$ ` line) or of the block.
        line: usize,
        command: String,
        expected: Option<String>,
        actual: String,
        expected_exit: i64,
        exit: i64,
    },
    /// The block ran past its timeout; what it printed until then.
    Timeout {
        line: usize,
        command: String,
        after: Duration,
        partial: String,
    },
    /// The block ran into a limit of its container (memory, pids): the limit, not a mismatch.
    Limit {
        line: usize,
        command: String,
        limit: LimitHit,
        /// What it printed.
        output: String,
    },
    /// The block could not run: image, container or engine trouble.
    Error { message: String },
}

/// Which container limit stopped a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// The kernel killed a process of the block for the memory limit (bytes).
    Memory(u64),
    /// Forks failed at the pids limit.
    Pids(u32),
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitHit::Memory(b) => write!(
                f,
                "killed: memory limit {}",
                crate::snippet::info::human_bytes(*b)
            ),
            LimitHit::Pids(n) => {
                write!(f, "stopped: pids limit {n} (no more processes could start)")
            }
        }
    }
}

impl LimitHit {
    /// The attribute and kb.toml key that raise it.
    pub(crate) fn knob(self) -> &'static str {
        match self {
            LimitHit::Memory(_) => "memory",
            LimitHit::Pids(_) => "pids",
        }
    }
}

/// One command's actual result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observation {
    /// Output with `\r\n` normalised (not yet matched against anything).
    pub(crate) output: String,
    pub(crate) exit: i64,
}
