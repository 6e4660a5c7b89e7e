//! The command-line layer: clap arguments, turned into typed options for the library commands,
//! and the one place that prints results and maps errors to exit codes.
//!
//! One file per command (`cli/build.rs` holds `kb build` and `kb check`, ...): each parses its
//! arguments, loads the knowledge base's [`Config`](crate::config::Config) once, calls the library (which returns data,
//! never prints a summary) and prints what it returned. This module prints errors once and maps
//! them to exit codes (0 ok, 1 content problems or failed snippets, 2 usage or environment
//! problems). Output goes through [`crate::stdio`], so a closed pipe ends a command quietly
//! instead of with a panic. No other module imports this one.

mod build;
mod global;
mod init;
mod search;
mod serve;
mod verify;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::diagnostics::{ContentErrors, Exit};

use self::global::GlobalOpts;

/// kb: a knowledge base of markdown troubleshooting notes, built into a searchable static site,
/// with every tagged snippet verified in a real container.
#[derive(Debug, Parser)]
#[command(name = "kb", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Knowledge base directory (holds content/, optional kb.toml, themes/, snippets/).
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    pub root: PathBuf,

    /// Log each stage and its time (-v), or everything (-vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new knowledge base: kb.toml, content/ with a sample note, snippets/.
    Init(init::InitArgs),
    /// Build content/ into a static site (default: public/).
    Build(build::BuildArgs),
    /// Report broken links and anchors, bad front matter and bad snippet tags; writes nothing.
    Check(build::CheckArgs),
    /// Run every tagged snippet in Docker and compare with the documented output.
    Verify(verify::VerifyArgs),
    /// Search the knowledge base from the terminal.
    Search(search::SearchArgs),
    /// Serve the site locally, rebuild on change and live-reload the browser.
    Serve(serve::ServeArgs),
}

/// Entry point used by `main`.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let global = GlobalOpts {
        root: cli.root.clone(),
        verbose: cli.verbose,
    };
    let result = match cli.command {
        Command::Init(args) => init::run(&global, args),
        Command::Build(args) => build::run_build(&global, args),
        Command::Check(args) => build::run_check(&global, args),
        Command::Verify(args) => verify::run(&global, args),
        Command::Search(args) => search::run(&global, args),
        Command::Serve(args) => serve::run(&global, args),
    };
    // A reader that went away (`kb check 2>&1 | head -1`, `kb search x | true`) ends the command
    // quietly with 0, as ripgrep does: what it did not read is not an error of the content.
    match result {
        Ok(_) if crate::stdio::pipe_closed() => ExitCode::SUCCESS,
        Ok(exit) => ExitCode::from(exit as u8),
        Err(err) if crate::stdio::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let code = report(&err);
            if crate::stdio::pipe_closed() {
                ExitCode::SUCCESS
            } else {
                code
            }
        }
    }
}

/// Print an error once: content diagnostics one per line, anything else as a cause chain.
fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(ContentErrors(diags)) = err.downcast_ref::<ContentErrors>() {
        for d in diags {
            crate::errln!("{d}");
        }
        crate::errln!("kb: {err}");
        return ExitCode::from(Exit::Content as u8);
    }
    crate::errln!("kb: error: {err}");
    for cause in err.chain().skip(1) {
        crate::errln!("  caused by: {cause}");
    }
    ExitCode::from(Exit::Usage as u8)
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "kb=info",
        _ => "kb=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("KB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .without_time()
        .try_init();
}
