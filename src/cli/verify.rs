//! `kb verify` on the command line: options in, the run's report printed.

use std::io::IsTerminal;
use std::path::PathBuf;

use super::global::GlobalOpts;
use crate::diagnostics::Exit;
use crate::verify::{Shard, VerifyOptions};

/// Arguments of `kb verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Notes or directories to verify (default: all of content/).
    pub paths: Vec<PathBuf>,

    /// Sessions to run at once (default: the number of CPU cores).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,

    /// Only blocks whose id or note path contains TEXT (each with its whole session).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,

    /// Rewrite the expected output in the notes for blocks that no longer match.
    #[arg(long)]
    pub update: bool,

    /// Also write a JUnit XML report to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Run only the I-th of N deterministic slices (by session), e.g. `--shard 2/4`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,

    /// Run every session, even those the cache says passed.
    #[arg(long)]
    pub no_cache: bool,
}

/// `kb verify`
pub fn run(g: &GlobalOpts, args: VerifyArgs) -> anyhow::Result<Exit> {
    let config = g.config()?;
    let opts = VerifyOptions {
        paths: args.paths,
        jobs: args.jobs,
        filter: args.filter,
        update: args.update,
        junit: args.junit,
        shard: args.shard,
        no_cache: args.no_cache,
    };
    let report = crate::verify::run(&config, &opts)?;
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    // A closed pipe (`kb verify | head`) is not an error worth a panic; the results are recorded
    // already, and the command ends with 0 (crate::stdio).
    let _ = crate::stdio::write_out_bytes(report.render(g.verbose > 0, color).as_bytes());
    Ok(if report.failed() {
        Exit::Content
    } else {
        Exit::Ok
    })
}
