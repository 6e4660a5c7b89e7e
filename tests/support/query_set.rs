//! The search query set (tests/search-queries.toml) and recall@1/@3 over it, shared by the
//! search tests (library and browser) and the Pagefind benchmark so every engine is scored by
//! the same rules.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, serde::Deserialize)]
struct QuerySet {
    query: Vec<QueryCase>,
}

/// One known-item query.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct QueryCase {
    pub q: String,
    /// The note that must come first (`content/go/gc.md`).
    pub expect: String,
    /// zh, en, mixed, partial, ident, phrase or zh-part.
    pub kind: String,
}

/// The repository root (where Cargo.toml and tests/search-queries.toml are).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The knowledge base the query set runs against: this repository, or `KB_SEARCH_EVAL_ROOT`.
pub fn eval_root() -> PathBuf {
    std::env::var_os("KB_SEARCH_EVAL_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(repo_root)
}

/// The queries whose note exists under `root`, and the others.
pub fn load(root: &Path) -> (Vec<QueryCase>, Vec<QueryCase>) {
    let path = repo_root().join("tests/search-queries.toml");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let set: QuerySet = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    set.query
        .into_iter()
        .partition(|c| root.join(&c.expect).is_file())
}

/// Recall@1 and @3 of ranked source lists, overall and per kind, with the misses listed.
#[derive(Debug, Default)]
pub struct Recall {
    pub n: usize,
    pub at1: usize,
    pub at3: usize,
    /// kind -> (queries, hits at 1, hits within 3)
    pub by_kind: BTreeMap<String, (usize, usize, usize)>,
    pub misses: Vec<String>,
}

impl Recall {
    /// Score one query: `ranked` holds the sources of the hits, best first.
    pub fn add(&mut self, case: &QueryCase, ranked: &[String]) {
        self.n += 1;
        let pos = ranked.iter().position(|s| *s == case.expect);
        let kind = self.by_kind.entry(case.kind.clone()).or_default();
        kind.0 += 1;
        if pos == Some(0) {
            self.at1 += 1;
            kind.1 += 1;
        }
        if pos.is_some_and(|p| p < 3) {
            self.at3 += 1;
            kind.2 += 1;
        }
        if pos != Some(0) {
            self.misses.push(format!(
                "  [{}] {:?}: expected {} at {:?}, got {:?}",
                case.kind,
                case.q,
                case.expect,
                pos,
                &ranked[..ranked.len().min(3)]
            ));
        }
    }

    pub fn at1_rate(&self) -> f64 {
        self.at1 as f64 / self.n.max(1) as f64
    }

    pub fn at3_rate(&self) -> f64 {
        self.at3 as f64 / self.n.max(1) as f64
    }

    /// One summary line, then the misses.
    pub fn report(&self, what: &str) -> String {
        format!(
            "{what}: {} queries, recall@1 {:.3} ({}/{}), recall@3 {:.3} ({}/{})\n{}",
            self.n,
            self.at1_rate(),
            self.at1,
            self.n,
            self.at3_rate(),
            self.at3,
            self.n,
            self.misses.join("\n")
        )
    }
}
