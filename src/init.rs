//! `kb init`: scaffold a new knowledge base.

use crate::cli::GlobalOpts;
use crate::diagnostics::Exit;

/// Arguments of `kb init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Directory to create.
    pub dir: std::path::PathBuf,
}

pub fn run(_g: &GlobalOpts, _a: InitArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("not yet")
}
