//! `kb init` on the command line.

use super::global::GlobalOpts;
use crate::diagnostics::Exit;

/// Arguments of `kb init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Directory to create (relative to `--root`, by default the current directory); must be
    /// empty or missing.
    pub dir: std::path::PathBuf,
}

/// `kb init DIR`
pub fn run(g: &GlobalOpts, args: InitArgs) -> anyhow::Result<Exit> {
    let dir = g.under_root(&args.dir);
    crate::init::create(&dir)?;
    crate::errln!(
        "created a knowledge base in {}\n  next: kb --root {} serve",
        dir.display(),
        dir.display()
    );
    Ok(Exit::Ok)
}
