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
    /// kb.toml of `--root`, validated once for the whole command. A directory without
    /// `content/` is no knowledge base: every command but `kb init` refuses it (exit 2) rather
    /// than build an empty site into it.
    pub(super) fn config(&self) -> anyhow::Result<Config> {
        let config = Config::load(&self.root)?;
        if !config.content_dir().is_dir() {
            anyhow::bail!(
                "no content/ in `{}`: this is not a knowledge base; run `kb init DIR` to start one, or pass --root DIR",
                self.root.display()
            );
        }
        Ok(config)
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
