//! The verify cache: a session that passed is not run again until something it depends on changes.
//!
//! Caching is per session, because a block's result depends on everything run before it in the
//! same container. The key hashes the image id (so a rebuilt image or a newer base image reruns
//! everything that used it) and the session as it serializes: container settings, limits and
//! `requires=`, and every step in order — files written, commands, expected outputs and statuses,
//! restarts and timeouts. Note paths and line numbers are not part of it, so adding a paragraph
//! above a block does not rerun it. Only sessions whose every block passed are stored: a failure always reruns.
//! The cache lives in `.kb/verify-cache.json`; entries unused for 30 days are dropped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::outcome::{BlockOutcome, Verdict};
use super::session::{Session, Step};

/// Bump when the meaning of a key changes (a new attribute that affects runs).
const KEY_VERSION: &str = "kb-verify-cache-v3";
/// Entries not used for this long are dropped when the cache is saved.
const MAX_AGE_DAYS: i64 = 30;

/// A session's cache key (hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct SessionKey(pub(crate) String);

/// The stored result of one runnable block of a passed session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CachedBlock {
    pub(crate) date: DateTime<Utc>,
    pub(crate) duration_ms: u64,
    pub(crate) observed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CachedSession {
    pub(crate) last_used: DateTime<Utc>,
    /// One per runnable block, in order.
    pub(crate) blocks: Vec<CachedBlock>,
}

/// The cache file's contents.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Cache {
    sessions: BTreeMap<SessionKey, CachedSession>,
    #[serde(skip)]
    path: PathBuf,
}

impl Cache {
    /// Load `.kb/verify-cache.json`; a missing or unreadable cache is an empty one (it is only
    /// a cache).
    pub(crate) fn load(path: &Path) -> Cache {
        let mut cache = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Cache>(&b).ok())
            .unwrap_or_default();
        cache.path = path.to_path_buf();
        cache
    }

    /// The stored blocks of a passed session, marking the entry used.
    pub(crate) fn get(&mut self, key: &SessionKey) -> Option<Vec<CachedBlock>> {
        let entry = self.sessions.get_mut(key)?;
        entry.last_used = Utc::now();
        Some(entry.blocks.clone())
    }

    /// Store a session that ran in the image with id `image_id` if every runnable block of it
    /// passed (a failure always reruns).
    pub(crate) fn store_if_passed(
        &mut self,
        s: &Session,
        image_id: &str,
        host: HostFacts,
        outcomes: &[BlockOutcome],
    ) {
        let runs = || outcomes.iter().filter(|b| is_run_step(s, b));
        if !runs().all(|b| matches!(b.verdict, Verdict::Passed)) {
            return;
        }
        let blocks = runs()
            .map(|b| CachedBlock {
                date: b.date,
                duration_ms: b.duration.as_millis() as u64,
                observed: b.observed.clone(),
            })
            .collect();
        self.insert(session_key(s, image_id, host), blocks);
    }

    pub(crate) fn insert(&mut self, key: SessionKey, blocks: Vec<CachedBlock>) {
        self.sessions.insert(
            key,
            CachedSession {
                last_used: Utc::now(),
                blocks,
            },
        );
    }

    /// Write atomically, merged with what is on disk now: another `kb verify` on the same root
    /// may have saved entries since this one loaded, and they are kept (for a key both have,
    /// the most recently used wins). The read, merge and write happen under the file's lock,
    /// so two runs saving at once both keep their entries. Entries unused for [`MAX_AGE_DAYS`]
    /// are dropped.
    pub(crate) fn save(&mut self) -> anyhow::Result<()> {
        let path = self.path.clone();
        super::results::with_lock(&path, || {
            let on_disk = Cache::load(&path);
            for (key, theirs) in on_disk.sessions {
                match self.sessions.get(&key) {
                    Some(ours) if ours.last_used >= theirs.last_used => {}
                    _ => {
                        self.sessions.insert(key, theirs);
                    }
                }
            }
            let cutoff = Utc::now() - chrono::Duration::days(MAX_AGE_DAYS);
            self.sessions.retain(|_, s| s.last_used >= cutoff);
            crate::atomic_file::write(&path, |f| Ok(serde_json::to_writer(f, &*self)?))
                .with_context(|| format!("couldn't write `{}`", path.display()))
        })
    }
}

/// Outcomes of a session served from the cache (`None` if the entry doesn't fit the session).
pub(crate) fn restore(
    s: &Session,
    image: &str,
    blocks: Vec<CachedBlock>,
) -> Option<Vec<BlockOutcome>> {
    let runs = s
        .steps
        .iter()
        .filter(|st| matches!(st, Step::Run(_)))
        .count();
    if blocks.len() != runs {
        return None;
    }
    let mut blocks = blocks.into_iter();
    let mut out = Vec::new();
    for step in &s.steps {
        let o = match step {
            Step::Skip(k) => BlockOutcome {
                block: k.block.clone(),
                verdict: Verdict::Skipped(
                    k.reason.clone().unwrap_or_else(|| "marked `skip`".into()),
                ),
                duration: Duration::ZERO,
                date: chrono::Utc::now(),
                image: image.to_string(),
                observed: String::new(),
                cached: true,
                observations: Vec::new(),
            },
            Step::Run(r) => {
                let b = blocks.next()?;
                BlockOutcome {
                    block: r.block.clone(),
                    verdict: Verdict::Passed,
                    duration: Duration::from_millis(b.duration_ms),
                    date: b.date,
                    image: image.to_string(),
                    observed: b.observed,
                    cached: true,
                    observations: Vec::new(),
                }
            }
        };
        out.push(o);
    }
    Some(out)
}

fn is_run_step(s: &Session, o: &BlockOutcome) -> bool {
    s.steps
        .iter()
        .any(|st| matches!(st, Step::Run(r) if r.block.key == o.block.key))
}

/// Everything a session's outcome depends on, serialized into its key: the image's id (so a
/// rebuilt image or a newer base image reruns everything that used it) and the session's own
/// inputs as [`Session`] serializes them — container settings, limits and `requires=`, and every
/// step in order. What only names or locates a block is left out there (`#[serde(skip)]`), so a
/// field added to the session is in the key unless it is skipped on purpose.
#[derive(Serialize)]
struct KeyInput<'a> {
    version: &'static str,
    image: &'a str,
    session: &'a Session,
    /// Only for a session with `requires=`.
    #[serde(skip_serializing_if = "Option::is_none")]
    host: Option<HostFacts>,
}

/// What the engine's host offers, as far as `requires=` can ask. It is part of the key of a
/// session that requires something, so a pass recorded on a host that met the requirement is not
/// served on one that should skip the session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct HostFacts {
    /// The cgroup version of the engine's host, if the engine says.
    pub(crate) cgroup: Option<u8>,
}

/// The cache key of a session run in the image with id `image_identity` on an engine whose host
/// offers `host`.
pub(crate) fn session_key(s: &Session, image_identity: &str, host: HostFacts) -> SessionKey {
    let input = KeyInput {
        version: KEY_VERSION,
        image: image_identity,
        session: s,
        host: (!s.spec.requires.is_empty()).then_some(host),
    };
    // Serializing plain data (strings, numbers, maps with string keys) into memory cannot fail.
    let bytes = serde_json::to_vec(&input).expect("a session serializes to JSON");
    SessionKey(blake3::hash(&bytes).to_hex().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::plan::{self, Note, PlanConfig};

    fn sessions(body: &str) -> Vec<Session> {
        let note = Note {
            path: "content/a.md".into(),
            body: body.into(),
            body_line: 1,
        };
        let cfg = PlanConfig {
            images: Default::default(),
            commands: Default::default(),
            default_timeout: std::time::Duration::from_secs(60),
            limits: crate::snippet::Limits::DEFAULT,
            local_images: Default::default(),
        };
        plan::plan(&[note], &cfg).unwrap().sessions
    }

    #[test]
    fn key_ignores_position_but_not_content_or_image() {
        let a = sessions("```sh run\necho hi\n```\n\n```output\nhi\n```\n");
        let moved =
            sessions("intro\n\nmore text\n\n```sh run\necho hi\n```\n\n```output\nhi\n```\n");
        assert_eq!(
            session_key(&a[0], "img", NO_HOST),
            session_key(&moved[0], "img", NO_HOST)
        );
        let changed = sessions("```sh run\necho hi\n```\n\n```output\nhello\n```\n");
        assert_ne!(
            session_key(&a[0], "img", NO_HOST),
            session_key(&changed[0], "img", NO_HOST)
        );
        assert_ne!(
            session_key(&a[0], "img", NO_HOST),
            session_key(&a[0], "other-img", NO_HOST)
        );
    }

    #[test]
    fn key_covers_the_container_limits() {
        let base = sessions("```console run\n$ true\n```\n");
        let limited = sessions("```console run memory=64m\n$ true\n```\n");
        assert_ne!(
            session_key(&base[0], "i", NO_HOST),
            session_key(&limited[0], "i", NO_HOST)
        );
    }

    const NO_HOST: HostFacts = HostFacts { cgroup: None };

    #[test]
    fn key_of_a_session_with_requires_covers_the_host_it_ran_on() {
        let v1 = sessions("```console run requires=cgroup-v1\n$ true\n```\n");
        let any = sessions("```console run\n$ true\n```\n");
        let on = |cgroup| HostFacts {
            cgroup: Some(cgroup),
        };
        assert_ne!(
            session_key(&v1[0], "i", on(1)),
            session_key(&v1[0], "i", on(2)),
            "a pass on a cgroup v1 host is not a pass on a v2 host"
        );
        assert_eq!(
            session_key(&any[0], "i", on(1)),
            session_key(&any[0], "i", on(2)),
            "a session that requires nothing keeps its key on every host"
        );
    }

    #[test]
    fn key_covers_what_the_session_requires_of_the_engine() {
        let any = sessions("```console run\n$ true\n```\n");
        let v1 = sessions("```console run requires=cgroup-v1\n$ true\n```\n");
        let v2 = sessions("```console run requires=cgroup-v2\n$ true\n```\n");
        let (any, v1, v2) = (
            session_key(&any[0], "i", NO_HOST),
            session_key(&v1[0], "i", NO_HOST),
            session_key(&v2[0], "i", NO_HOST),
        );
        assert_ne!(any, v1);
        assert_ne!(v1, v2);
    }

    #[test]
    fn key_covers_settings_timeouts_and_exit_statuses() {
        let base = sessions("```console run\n$ true\n```\n");
        for changed in [
            "```console run caps=NET_ADMIN\n$ true\n```\n",
            "```console run network=bridge\n$ true\n```\n",
            "```console run timeout=5s\n$ true\n```\n",
            "```console run\n$ true\n? 1\n```\n",
            "```console run\n$ false\n```\n",
        ] {
            let other = sessions(changed);
            assert_ne!(
                session_key(&base[0], "i", NO_HOST),
                session_key(&other[0], "i", NO_HOST),
                "{changed}"
            );
        }
    }

    #[test]
    fn key_covers_every_earlier_block_of_the_session() {
        let one = sessions(
            "```sh run session=s\ntouch x\n```\n\n```console run session=s\n$ ls\nx\n```\n",
        );
        let two = sessions(
            "```sh run session=s\ntouch y\n```\n\n```console run session=s\n$ ls\nx\n```\n",
        );
        assert_ne!(
            session_key(&one[0], "i", NO_HOST),
            session_key(&two[0], "i", NO_HOST)
        );
    }

    #[test]
    fn two_runs_saving_at_once_keep_each_others_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kb/verify-cache.json");
        let mut seed = Cache::load(&path);
        seed.insert(SessionKey("old".into()), Vec::new());
        seed.save().unwrap();
        // Two runs load the same state, each adds its own entries, and they save together.
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            for run in ["a", "b"] {
                let (path, barrier) = (&path, &barrier);
                s.spawn(move || {
                    let mut c = Cache::load(path);
                    for i in 0..50 {
                        c.insert(SessionKey(format!("{run}{i}")), Vec::new());
                    }
                    barrier.wait();
                    c.save().unwrap();
                });
            }
        });
        let mut merged = Cache::load(&path);
        for key in ["old", "a0", "a49", "b0", "b49"] {
            assert!(merged.get(&SessionKey(key.into())).is_some(), "lost {key}");
        }
        assert_eq!(merged.sessions.len(), 101);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("verify-cache.json"))
            .collect();
        assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
    }

    #[test]
    fn stored_sessions_survive_a_save_and_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".kb/verify-cache.json");
        let mut c = Cache::load(&path);
        let key = SessionKey("k".into());
        assert!(c.get(&key).is_none());
        let block = CachedBlock {
            date: Utc::now(),
            duration_ms: 5,
            observed: "hi\n".into(),
        };
        c.insert(key.clone(), vec![block.clone()]);
        c.save().unwrap();
        let mut again = Cache::load(&path);
        assert_eq!(again.get(&key), Some(vec![block]));
        std::fs::write(&path, "garbage").unwrap();
        assert!(
            Cache::load(&path).get(&key).is_none(),
            "a corrupt cache is an empty cache"
        );
    }
}
