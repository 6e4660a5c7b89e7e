//! `kb build` and `kb check` on the command line: options in, the build's report printed.

use std::path::PathBuf;
use std::time::Instant;

use super::global::GlobalOpts;
use crate::content::LoadOptions;
use crate::diagnostics::{plural, Exit};
use crate::site::{build, Site};

/// Arguments of `kb build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Output directory; relative paths are relative to the knowledge base root.
    #[arg(long, short, default_value = "public", value_name = "DIR")]
    pub out: PathBuf,
    /// Include notes marked `draft: true`.
    #[arg(long)]
    pub drafts: bool,
    /// Override `base_url` from kb.toml (e.g. https://example.com/kb/).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Fail (exit 1) on warnings too: broken links and anchors, bad snippet tags.
    #[arg(long)]
    pub strict: bool,
}

/// Arguments of `kb check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Check notes marked `draft: true` too.
    #[arg(long)]
    pub drafts: bool,
}

/// `kb build`
pub fn run_build(g: &GlobalOpts, args: BuildArgs) -> anyhow::Result<Exit> {
    let mut config = g.config()?;
    if let Some(url) = &args.base_url {
        config = config.with_base_url(url)?;
    }
    let out = if args.out.is_absolute() {
        args.out.clone()
    } else {
        config.root.join(&args.out)
    };
    let start = Instant::now();
    let report = build(
        config,
        LoadOptions {
            drafts: args.drafts,
            unrendered: false,
        },
        &out,
        args.strict,
    )?;
    for w in &report.warnings {
        crate::errln!("{w}");
    }
    let o = report.output;
    // a first build writes everything; a rebuild says what it changed
    let changes = if o.unchanged == 0 && o.removed == 0 {
        String::new()
    } else {
        format!(
            ": {} written, {} unchanged, {} removed",
            o.written, o.unchanged, o.removed
        )
    };
    let kept = if o.kept == 0 {
        String::new()
    } else {
        format!(", {} file{} not written by kb kept", o.kept, plural(o.kept))
    };
    crate::errln!(
        "built {} note{} ({} files{changes}{kept}) in {:.0} ms -> {}{}",
        report.notes,
        plural(report.notes),
        o.written + o.unchanged,
        start.elapsed().as_secs_f64() * 1000.0,
        report.out.display(),
        if report.warnings.is_empty() {
            String::new()
        } else {
            format!(
                ", {} warning{} (kb check lists them; --strict fails on them)",
                report.warnings.len(),
                plural(report.warnings.len())
            )
        }
    );
    Ok(Exit::Ok)
}

/// `kb check`
pub fn run_check(g: &GlobalOpts, args: CheckArgs) -> anyhow::Result<Exit> {
    let config = g.config()?;
    let site = Site::load(
        config,
        LoadOptions {
            drafts: args.drafts,
            unrendered: false,
        },
    )?;
    for d in &site.diagnostics {
        crate::errln!("{d}");
    }
    let problems = site.errors().count() + site.warnings().count();
    let infos = site.diagnostics.len() - problems;
    let infos = match infos {
        0 => String::new(),
        n => format!(" ({n} info{} above, nothing to fix)", plural(n)),
    };
    let notes = site.notes.len();
    if problems == 0 {
        crate::errln!("checked {notes} note{}: no problems{infos}", plural(notes));
        Ok(Exit::Ok)
    } else {
        crate::errln!(
            "checked {notes} note{}: {problems} problem{}{infos}",
            plural(notes),
            plural(problems)
        );
        Ok(Exit::Content)
    }
}
