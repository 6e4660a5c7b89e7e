//! The verify cache: a session that passed is not run again until something it depends on changes.
//!
//! Caching is per session, because a block's result depends on everything run before it in the
//! same container. The key hashes the image id (so a rebuilt image or a newer base image reruns
//! everything that used it), the container settings, and every step in order: files written, commands, expected outputs and statuses, restarts and
//! timeouts. Note paths and line numbers are not part of it, so adding a paragraph above a block
//! does not rerun it. Only sessions whose every block passed are stored: a failure always reruns.
//! The cache lives in `.kb/verify-cache.json`; entries unused for 30 days are dropped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::plan::{Action, Session, Step};

/// Bump when the meaning of a key changes (a new attribute that affects runs).
const KEY_VERSION: &str = "kb-verify-cache-v2";
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
            super::results::write_atomically(&path, |w| Ok(serde_json::to_writer(w, &*self)?))
        })
    }
}

/// Hash helper: length-prefixed fields, so ("ab","c") and ("a","bc") differ.
struct KeyHasher(blake3::Hasher);

impl KeyHasher {
    fn str(&mut self, s: &str) -> &mut Self {
        self.0.update(&(s.len() as u64).to_le_bytes());
        self.0.update(s.as_bytes());
        self
    }

    fn num(&mut self, n: i64) -> &mut Self {
        self.0.update(&n.to_le_bytes());
        self
    }
}

/// The cache key of a session run in the image with id `image_identity`.
pub(crate) fn session_key(s: &Session, image_identity: &str) -> SessionKey {
    let mut h = KeyHasher(blake3::Hasher::new());
    h.str(KEY_VERSION).str(image_identity);
    let spec = &s.spec;
    h.num(spec.caps.len() as i64);
    for c in &spec.caps {
        h.str(c);
    }
    h.num(spec.sysctls.len() as i64);
    for (k, v) in &spec.sysctls {
        h.str(k).str(v);
    }
    h.num(i64::from(spec.privileged))
        .num(i64::from(spec.docker))
        .str(&format!("{:?}", spec.network))
        .num(i64::from(spec.limits.pids))
        .num(spec.limits.memory as i64)
        .num(i64::from(spec.limits.millicpus));
    for step in &s.steps {
        match step {
            Step::Skip(_) => {
                h.str("skip");
            }
            Step::Run(r) => {
                h.str("run")
                    .num(i64::from(r.restart))
                    .num(r.timeout.as_millis() as i64);
                h.num(r.writes.len() as i64);
                for w in &r.writes {
                    h.str(&w.path).str(&w.text).num(i64::from(w.executable));
                }
                match &r.action {
                    Action::Transcript(t) => {
                        h.str("transcript").num(t.commands.len() as i64);
                        for c in &t.commands {
                            h.str(&c.cmd).num(c.exit).str(&c.expected);
                        }
                    }
                    Action::Program(p) => {
                        h.str("program").str(&p.file).str(&p.command).num(p.exit);
                        match &p.expected {
                            Some(e) => h.str("expected").str(&e.text),
                            None => h.str("unchecked"),
                        };
                    }
                }
            }
        }
    }
    SessionKey(h.0.finalize().to_hex().to_string())
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
        assert_eq!(session_key(&a[0], "img"), session_key(&moved[0], "img"));
        let changed = sessions("```sh run\necho hi\n```\n\n```output\nhello\n```\n");
        assert_ne!(session_key(&a[0], "img"), session_key(&changed[0], "img"));
        assert_ne!(session_key(&a[0], "img"), session_key(&a[0], "other-img"));
    }

    #[test]
    fn key_covers_the_container_limits() {
        let base = sessions("```console run\n$ true\n```\n");
        let limited = sessions("```console run memory=64m\n$ true\n```\n");
        assert_ne!(session_key(&base[0], "i"), session_key(&limited[0], "i"));
    }

    #[test]
    fn key_covers_every_earlier_block_of_the_session() {
        let one = sessions(
            "```sh run session=s\ntouch x\n```\n\n```console run session=s\n$ ls\nx\n```\n",
        );
        let two = sessions(
            "```sh run session=s\ntouch y\n```\n\n```console run session=s\n$ ls\nx\n```\n",
        );
        assert_ne!(session_key(&one[0], "i"), session_key(&two[0], "i"));
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
