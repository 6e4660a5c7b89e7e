//! The served files: the site in memory ([`MemSink`]) plus what HTTP caching needs per file.
//!
//! Every write compares the new bytes with the stored ones, so a rebuild learns exactly which
//! files changed (only those trigger a reload) and a file keeps its `Last-Modified` time and
//! `ETag` while its bytes stay the same, which makes conditional GETs answer 304.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use crate::output::{MemSink, Sink};
use crate::sync::{MutexExt, RwLockExt};

/// Validators of one stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileMeta {
    /// Strong entity tag, quoted (`"1f2e..."`): a hash of the bytes.
    pub(crate) etag: String,
    /// When the bytes last changed.
    pub(crate) modified: SystemTime,
}

/// A stored file as the HTTP layer sees it.
#[derive(Debug, Clone)]
pub(crate) struct Served {
    pub(crate) bytes: Arc<Vec<u8>>,
    pub(crate) meta: FileMeta,
}

/// The site's files in memory. Safe to share between the rebuild thread (writes) and request
/// handlers (reads).
#[derive(Debug, Default)]
pub(crate) struct LiveFiles {
    mem: MemSink,
    meta: RwLock<HashMap<String, FileMeta>>,
    /// Paths written with different bytes since the last [`LiveFiles::take_changed`].
    changed: Mutex<Vec<String>>,
}

impl LiveFiles {
    pub(crate) fn get(&self, rel_path: &str) -> Option<Served> {
        let bytes = self.mem.get(rel_path)?;
        let meta = self.meta.read_or_recover().get(rel_path).cloned()?;
        Some(Served { bytes, meta })
    }

    /// Remove a file; returns whether it existed.
    pub(crate) fn remove(&self, rel_path: &str) -> bool {
        let existed = self.mem.get(rel_path).is_some();
        self.mem.remove(rel_path);
        self.meta.write_or_recover().remove(rel_path);
        existed
    }

    /// Every stored path.
    pub(crate) fn paths(&self) -> Vec<String> {
        self.mem.paths()
    }

    /// The paths whose bytes changed since the last call (each once, in write order).
    pub(crate) fn take_changed(&self) -> Vec<String> {
        let mut changed = std::mem::take(&mut *self.changed.lock_or_recover());
        let mut seen = std::collections::HashSet::new();
        changed.retain(|p| seen.insert(p.clone()));
        changed
    }
}

impl Sink for LiveFiles {
    fn write(&self, rel_path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        if self
            .mem
            .get(rel_path)
            .is_some_and(|old| old.as_slice() == bytes)
        {
            return Ok(());
        }
        let etag = format!("\"{}\"", &blake3::hash(bytes).to_hex()[..20]);
        self.mem.write(rel_path, bytes)?;
        self.meta.write_or_recover().insert(
            rel_path.to_string(),
            FileMeta {
                etag,
                modified: SystemTime::now(),
            },
        );
        self.changed.lock_or_recover().push(rel_path.to_string());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_identical_bytes_keeps_validators_and_is_not_a_change() {
        let files = LiveFiles::default();
        files.write("a.html", b"one").unwrap();
        let first = files.get("a.html").unwrap().meta;
        assert_eq!(files.take_changed(), vec!["a.html"]);
        files.write("a.html", b"one").unwrap();
        assert_eq!(files.get("a.html").unwrap().meta, first);
        assert!(files.take_changed().is_empty());
        files.write("a.html", b"two").unwrap();
        assert_ne!(files.get("a.html").unwrap().meta.etag, first.etag);
        assert_eq!(files.take_changed(), vec!["a.html"]);
    }

    #[test]
    fn removed_files_are_gone() {
        let files = LiveFiles::default();
        files.write("x/index.html", b"x").unwrap();
        assert!(files.remove("x/index.html"));
        assert!(files.get("x/index.html").is_none());
        assert!(!files.remove("x/index.html"));
    }
}
