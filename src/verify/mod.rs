//! `kb verify`: run every tagged snippet in a container and compare with the documented output.

pub mod results;

use crate::cli::GlobalOpts;
use crate::diagnostics::Exit;

/// Arguments of `kb verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Notes or directories to verify (default: all of content/).
    pub paths: Vec<std::path::PathBuf>,
}

pub fn run(_global: &GlobalOpts, _args: VerifyArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("kb verify is not implemented yet")
}
