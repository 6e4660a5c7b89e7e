//! What one update of the served site did, for the rebuild loop: which tabs to reload, what
//! the search index must change, counts and per-step times for the terminal.

use std::time::Instant;

use crate::search::doc::SearchDoc;

use super::reload::Reload;

/// What an update did, for the server loop.
#[derive(Debug, Default)]
pub(crate) struct Update {
    pub(crate) reload: Reload,
    /// Search documents to add or replace, and sources to drop (`None`: nothing changed).
    pub(crate) search: Option<SearchDelta>,
    /// Note pages rendered, list pages marked stale.
    pub(crate) rendered_pages: usize,
    pub(crate) stale_pages: usize,
    /// Human-readable notes for the terminal (one per line).
    pub(crate) log: Vec<String>,
    /// Wall time per step, for `-v`.
    pub(crate) laps: Laps,
}

/// Wall time of each step of an update.
#[derive(Debug)]
pub(crate) struct Laps {
    last: Instant,
    pub(crate) steps: Vec<(&'static str, std::time::Duration)>,
}

impl Default for Laps {
    fn default() -> Self {
        Laps {
            last: Instant::now(),
            steps: Vec::new(),
        }
    }
}

impl Laps {
    /// Close the step that just ended.
    pub(crate) fn mark(&mut self, step: &'static str) {
        let now = Instant::now();
        self.steps.push((step, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Laps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .steps
            .iter()
            .map(|(s, d)| format!("{s} {:.1}ms", d.as_secs_f64() * 1000.0))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// Changes for the search index.
#[derive(Debug, Default)]
pub(crate) struct SearchDelta {
    /// Every document: the index should hold exactly these.
    pub(crate) all: Option<Vec<SearchDoc>>,
    pub(crate) upsert: Vec<SearchDoc>,
    /// `source` of removed notes.
    pub(crate) remove: Vec<String>,
}
