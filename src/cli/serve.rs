//! `kb serve` on the command line: the address and debounce from flags or kb.toml.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;

use super::global::GlobalOpts;
use crate::diagnostics::Exit;

/// Arguments of `kb serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port to listen on (default: kb.toml `[serve] port`, else 1111); 0 picks a free port.
    #[arg(long, short)]
    pub port: Option<u16>,
    /// Address to listen on (default: kb.toml `[serve] bind`, else 127.0.0.1). Anything but a
    /// loopback address shows the site to the network.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// Include notes marked `draft: true`.
    #[arg(long)]
    pub drafts: bool,
    /// How long the sources must be quiet before a rebuild, e.g. `10ms` (default: kb.toml
    /// `[serve] debounce`, else 10ms).
    #[arg(long, value_name = "DURATION", value_parser = debounce_arg)]
    pub debounce: Option<Duration>,
}

/// `--debounce`: a duration up to a minute (a usage error otherwise, exit 2).
fn debounce_arg(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text, crate::duration::MAX_DEBOUNCE)
        .map_err(|e| format!("`{text}` {e}; {}", e.hint("--debounce 10ms")))
}

/// `kb serve`
pub fn run(global: &GlobalOpts, args: ServeArgs) -> anyhow::Result<Exit> {
    let config = global.config()?;
    let bind: IpAddr = match args.bind {
        Some(b) => b,
        None => config.serve.bind.parse().with_context(|| {
            format!(
                "kb.toml [serve] bind `{}` is not an IP address; use e.g. \"127.0.0.1\"",
                config.serve.bind
            )
        })?,
    };
    let debounce = match args.debounce {
        Some(d) => d,
        None => crate::duration::parse(&config.serve.debounce, crate::duration::MAX_DEBOUNCE)
            .map_err(|e| {
                anyhow::anyhow!(
                    "kb.toml [serve] debounce `{}` {e}; {}",
                    config.serve.debounce,
                    e.hint("debounce = \"10ms\"")
                )
            })?,
    };
    let opts = crate::serve::Options {
        addr: SocketAddr::new(bind, args.port.unwrap_or(config.serve.port)),
        drafts: args.drafts,
        debounce,
    };
    crate::serve::run(config, opts)
}
