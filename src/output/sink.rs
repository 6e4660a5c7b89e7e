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
        if !is_site_path(rel_path) {
            anyhow::bail!("refusing to write `{rel_path}`: not a path inside the site");
        }
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

/// Whether `rel` is a path inside the site: relative, `/`-separated, no empty, `.` or `..`
/// segment, no backslash or NUL. Every sink that writes files checks it, so no path a note
/// controls can reach outside the output directory, whatever an earlier stage let through.
pub fn is_site_path(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.contains(['\\', '\0'])
        && rel
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// `path` relative to `base` with `/` separators, for messages and keys.
pub fn rel_slash(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_site_are_site_paths() {
        for ok in [
            "index.html",
            "notes/a/index.html",
            "_kb/search/f/1.json",
            "a..b/x",
        ] {
            assert!(is_site_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/index.html",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a\\b",
            "a\0b",
            "a/",
        ] {
            assert!(!is_site_path(bad), "{bad:?}");
        }
    }
}
