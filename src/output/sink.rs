//! [`Sink`]: a destination for output files, keyed by site-relative path (`notes/x/index.html`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;

/// A destination for the site's files. Paths are `/`-separated and relative to the site root
/// (no leading `/`). Implementations must be safe to call from rayon workers.
pub trait Sink: Sync {
    fn write(&self, rel_path: &str, bytes: &[u8]) -> anyhow::Result<()>;
}

/// Writes files under a directory, creating parent directories as needed.
#[derive(Debug, Clone)]
pub struct DirSink {
    pub dir: PathBuf,
}

impl DirSink {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirSink { dir: dir.into() }
    }
}

impl Sink for DirSink {
    fn write(&self, rel_path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let path = self.dir.join(rel_path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("couldn't create directory `{}`", parent.display()))?;
        }
        std::fs::write(&path, bytes).with_context(|| format!("couldn't write `{}`", path.display()))
    }
}

/// Keeps files in memory (for `kb serve` and tests). Cheap to clone: clones share the map.
#[derive(Debug, Clone, Default)]
pub struct MemSink {
    pub files: Arc<RwLock<BTreeMap<String, Arc<Vec<u8>>>>>,
}

impl MemSink {
    pub fn get(&self, rel_path: &str) -> Option<Arc<Vec<u8>>> {
        self.files.read().ok()?.get(rel_path).cloned()
    }

    pub fn remove(&self, rel_path: &str) {
        if let Ok(mut f) = self.files.write() {
            f.remove(rel_path);
        }
    }

    pub fn paths(&self) -> Vec<String> {
        self.files
            .read()
            .map(|f| f.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Sink for MemSink {
    fn write(&self, rel_path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.files
            .write()
            .map_err(|_| anyhow::anyhow!("output map poisoned by an earlier panic"))?
            .insert(rel_path.to_string(), Arc::new(bytes.to_vec()));
        Ok(())
    }
}

/// `path` relative to `base` with `/` separators, for messages and keys.
pub fn rel_slash(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}
