//! What every command reads from the command line (`--root`, `-v`), and the knowledge base's
//! configuration loaded from it once.

use std::path::{Path, PathBuf};

use crate::config::Config;

/// Options every command reads: `--root` and `-v`.
#[derive(Debug, Clone)]
pub(super) struct GlobalOpts {
    pub(super) root: PathBuf,
    pub(super) verbose: u8,
}

impl GlobalOpts {
    /// kb.toml of `--root`, validated once for the whole command.
    pub(super) fn config(&self) -> anyhow::Result<Config> {
        Config::load(&self.root)
    }

    /// A path given on the command line: relative paths are relative to `--root`.
    pub(super) fn under_root(&self, path: &Path) -> PathBuf {
        if path.is_absolute() || self.root == Path::new(".") {
            path.to_path_buf()
        } else {
            self.root.join(path)
        }
    }
}
