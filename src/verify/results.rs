//! The verify results file: written by `kb verify`, read by `kb build` to put a badge on every
//! verified block and to render the snippet status page.
//!
//! Lives at `.kb/verify-results.json` under the knowledge base root (see
//! [`crate::config::Config::verify_results_path`]). Keyed by [`SnippetKey`] rendered as text, so
//! the JSON stays readable and diffable.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::outcome::{BlockOutcome, Verdict};
use super::report::failure_summary;
use super::session::{BlockRef, Session, Step};
use crate::snippet::SnippetKey;

/// Outcome of one verified block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// What happened to one block the last time it ran (or was skipped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockResult {
    /// `id=` or the default `note#ordinal`.
    pub id: String,
    /// Note path relative to the root, `/`-separated.
    pub note: String,
    /// 1-based ordinal of the block in the note.
    pub ordinal: usize,
    /// 1-based line of the fence in the note.
    pub line: usize,
    pub status: Status,
    /// Skip reason, or a one-line failure summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the block last ran (for a cached result: when it ran for real).
    pub date: DateTime<Utc>,
    pub duration_ms: u64,
    /// Image reference the session ran in.
    #[serde(default)]
    pub image: String,
    /// What the block actually printed (capped), shown on the site on demand.
    #[serde(default)]
    pub observed: String,
}

/// Every block's latest result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VerifyResults {
    /// Keyed by `SnippetKey::to_string()` (`content/go/panic.md#3`).
    pub blocks: BTreeMap<String, BlockResult>,
}

impl VerifyResults {
    /// Load the results file; a missing file is an empty set (nothing verified yet).
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "`{}` is not a kb verify results file; delete it and run `kb verify` again",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("couldn't read `{}`", path.display())),
        }
    }

    /// Write atomically (temp file + rename) so a killed run never leaves half a file.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        crate::atomic_file::write(path, |f| Ok(serde_json::to_writer_pretty(f, self)?))
            .with_context(|| format!("couldn't write `{}`", path.display()))
    }

    /// Read the file, change it with `f`, and write it back, all under the file's lock: two
    /// `kb verify` runs recording results at once each see what the other wrote, and neither
    /// loses the other's blocks.
    pub(crate) fn update(path: &Path, f: impl FnOnce(&mut VerifyResults)) -> anyhow::Result<()> {
        with_lock(path, || {
            let mut results = VerifyResults::load(path)?;
            f(&mut results);
            results.save(path)
        })
    }

    pub fn get(&self, key: &SnippetKey) -> Option<&BlockResult> {
        self.blocks.get(&key.to_string())
    }

    pub fn insert(&mut self, key: &SnippetKey, result: BlockResult) {
        self.blocks.insert(key.to_string(), result);
    }
}

/// Record this run's outcomes: runnable and skipped blocks as they ended; each `output` block
/// like its runnable block; each file-only block like its session as a whole.
pub(crate) fn record_results(
    results: &mut VerifyResults,
    sessions: &[Session],
    outcomes: &[BlockOutcome],
) {
    let by_key: HashMap<&SnippetKey, &BlockOutcome> =
        outcomes.iter().map(|o| (&o.block.key, o)).collect();
    let to_result =
        |b: &BlockRef, o: &BlockOutcome, status: Status, reason: Option<String>| BlockResult {
            id: b.id.clone(),
            note: b.key.note.clone(),
            ordinal: b.key.ordinal,
            line: b.line,
            status,
            reason,
            date: o.date,
            duration_ms: o.duration.as_millis() as u64,
            image: o.image.clone(),
            observed: o.observed.clone(),
        };
    let status_of = |o: &BlockOutcome| match &o.verdict {
        Verdict::Passed => (Status::Passed, None),
        Verdict::Skipped(r) => (Status::Skipped, Some(r.clone())),
        Verdict::Failed(f) => (Status::Failed, Some(failure_summary(f))),
    };
    for s in sessions {
        let mut session_outcomes = Vec::new();
        for step in &s.steps {
            let (block, out_block) = match step {
                Step::Run(r) => (&r.block, r.output_block()),
                Step::Skip(k) => (&k.block, k.output_block.as_ref()),
            };
            let Some(o) = by_key.get(&block.key) else {
                continue;
            };
            let (status, reason) = status_of(o);
            results.insert(&block.key, to_result(block, o, status, reason.clone()));
            if let Some(ob) = out_block {
                results.insert(&ob.key, to_result(ob, o, status, reason));
            }
            session_outcomes.push(*o);
        }
        if let Some(first) = session_outcomes.first() {
            let status = if session_outcomes
                .iter()
                .any(|o| matches!(o.verdict, Verdict::Failed(_)))
            {
                Status::Failed
            } else if session_outcomes
                .iter()
                .any(|o| matches!(o.verdict, Verdict::Passed))
            {
                Status::Passed
            } else {
                Status::Skipped
            };
            for f in &s.file_blocks {
                let mut r = to_result(f, first, status, None);
                r.observed = String::new();
                results.insert(&f.key, r);
            }
        }
    }
}

/// Run `f` holding an exclusive lock on `PATH.lock` (created next to `path`, and left there:
/// removing a lock file would let two processes lock different files). Blocks until other kb
/// processes release it.
pub(crate) fn with_lock<T>(
    path: &Path,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("couldn't create `{}`", dir.display()))?;
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    let lock_path = dir.join(name);
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("couldn't open the lock file `{}`", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("couldn't lock `{}`", lock_path.display()))?;
    let out = f();
    let _ = lock.unlock();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file_and_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kb/verify-results.json");
        assert_eq!(
            VerifyResults::load(&path).unwrap(),
            VerifyResults::default()
        );
        let key = SnippetKey {
            note: "content/a.md".into(),
            ordinal: 2,
        };
        let mut r = VerifyResults::default();
        r.insert(
            &key,
            BlockResult {
                id: "a".into(),
                note: key.note.clone(),
                ordinal: 2,
                line: 7,
                status: Status::Passed,
                reason: None,
                date: Utc::now(),
                duration_ms: 12,
                image: "kb-go".into(),
                observed: "hello\n".into(),
            },
        );
        r.save(&path).unwrap();
        assert_eq!(VerifyResults::load(&path).unwrap(), r);
    }

    #[test]
    fn concurrent_updates_keep_every_runs_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kb/verify-results.json");
        let result = |note: &str| BlockResult {
            id: note.into(),
            note: note.into(),
            ordinal: 1,
            line: 1,
            status: Status::Passed,
            reason: None,
            date: Utc::now(),
            duration_ms: 1,
            image: String::new(),
            observed: String::new(),
        };
        std::thread::scope(|s| {
            for run in 0..4 {
                let (path, result) = (&path, &result);
                s.spawn(move || {
                    for i in 0..25 {
                        let key = SnippetKey {
                            note: format!("content/{run}-{i}.md"),
                            ordinal: 1,
                        };
                        VerifyResults::update(path, |r| r.insert(&key, result(&key.note))).unwrap();
                    }
                });
            }
        });
        assert_eq!(VerifyResults::load(&path).unwrap().blocks.len(), 100);
    }

    #[test]
    fn a_corrupt_file_names_itself_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = format!("{:#}", VerifyResults::load(&path).unwrap_err());
        assert!(
            e.contains("r.json") && e.contains("run `kb verify` again"),
            "{e}"
        );
    }
}
