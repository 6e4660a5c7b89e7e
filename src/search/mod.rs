//! Full-text search: a tantivy index with a CJK-aware tokenizer, for the CLI, the server and the
//! static site.

pub mod doc;

use crate::cli::GlobalOpts;
use crate::diagnostics::Exit;

/// Arguments of `kb search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The query.
    pub query: Vec<String>,
}

pub fn run(_global: &GlobalOpts, _args: SearchArgs) -> anyhow::Result<Exit> {
    anyhow::bail!("kb search is not implemented yet")
}
