//! `kb serve`: local server with incremental rebuilds and browser live reload.

use crate::cli::GlobalOpts;
use crate::diagnostics::Exit;

/// Arguments of `kb serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on.
    #[arg(long)]
    pub port: Option<u16>,
}

pub fn run(_global: &GlobalOpts, _args: ServeArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("kb serve is not implemented yet")
}
