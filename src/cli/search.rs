//! `kb search` on the command line: the index brought up to date, hits printed for a terminal
//! or as JSON.

use std::io::IsTerminal;

use super::global::GlobalOpts;
use crate::config::Config;
use crate::diagnostics::Exit;
use crate::search::{Hit, SearchDoc};

/// Arguments of `kb search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The query: words (all must match), "a phrase", tag:NAME; the last word also matches as a
    /// prefix.
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,

    /// Show at most this many results.
    #[arg(long, short = 'n', default_value_t = 10)]
    pub limit: usize,

    /// Print results as a JSON array (title, url, score, excerpt, ...).
    #[arg(long)]
    pub json: bool,
}

/// Every note as a [`SearchDoc`], from the build's load and markdown stages (drafts left out,
/// as `kb build` does by default).
fn load_docs(config: &Config) -> anyhow::Result<Vec<SearchDoc>> {
    let site = crate::site::Site::load(config.clone(), Default::default())?;
    let highlighter =
        crate::highlight::Highlighter::with_cache_file(&crate::site::highlight_cache_file(config));
    Ok(site
        .render(&highlighter)
        .into_iter()
        .map(|r| r.search)
        .collect())
}

/// `kb search`.
pub fn run(global: &GlobalOpts, args: SearchArgs) -> anyhow::Result<Exit> {
    let config = global.config()?;
    let query = args.query.join(" ");
    if crate::search::query::parse(&query).is_empty() {
        anyhow::bail!(
            "the query `{query}` has nothing to search for; give a word, a \"phrase\" or tag:NAME"
        );
    }
    let index = crate::search::open_fresh(&config, || load_docs(&config))?;
    let hits = index.search(&query, args.limit)?;
    if args.json {
        crate::outln!("{}", serde_json::to_string_pretty(&hits)?)?;
        return Ok(Exit::Ok);
    }
    if hits.is_empty() {
        crate::errln!("no results for `{query}`");
        return Ok(Exit::Ok);
    }
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    for (i, h) in hits.iter().enumerate() {
        crate::outln!("{}", render_hit(i + 1, h, color))?;
    }
    Ok(Exit::Ok)
}

/// One result for the terminal: number, title, link, excerpt with highlights.
fn render_hit(n: usize, h: &Hit, color: bool) -> String {
    let (bold, mark, dim, reset) = if color {
        ("\x1b[1m", "\x1b[1;33m", "\x1b[2m", "\x1b[0m")
    } else {
        ("", "", "", "")
    };
    let title = if h.heading.is_empty() || h.heading == h.title {
        h.title.clone()
    } else {
        format!("{} › {}", h.title, h.heading)
    };
    let excerpt = crate::search::excerpt::Excerpt {
        text: h.excerpt.clone(),
        highlights: h.highlights.clone(),
    };
    let (open, close) = if color { (mark, reset) } else { ("[", "]") };
    let body = excerpt.render(|s, out| out.push_str(s), open, close);
    format!(
        "{n}. {bold}{title}{reset}\n   {dim}{}{reset}\n   {body}\n",
        h.url
    )
}
