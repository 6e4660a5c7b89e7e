//! `kb build` and `kb check`.

use crate::cli::GlobalOpts;
use crate::diagnostics::Exit;

/// Arguments of `kb build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Output directory (relative to the root).
    #[arg(long, default_value = "public")]
    pub out: std::path::PathBuf,
}

/// Arguments of `kb check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {}

pub fn run_build(_g: &GlobalOpts, _a: BuildArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("not yet")
}

pub fn run_check(_g: &GlobalOpts, _a: CheckArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("not yet")
}
