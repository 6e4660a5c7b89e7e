//! kb's integration tests: one binary, a module per feature, fixture knowledge bases under
//! tests/fixtures/ (one directory per case). tests/support/ holds what the benchmarks share with
//! the tests (the real build of a site, a static server, a WebDriver client on fantoccini, the search query
//! set).

mod support;

#[path = "../../benches/support/corpus.rs"]
mod corpus;

#[path = "../support/query_set.rs"]
mod query_set;
#[path = "../support/site.rs"]
mod site;
#[path = "../support/static_server.rs"]
mod static_server;
#[path = "../support/webdriver.rs"]
mod webdriver;

mod architecture;
mod build;
mod code_blocks;
mod feeds;
mod markdown_syntax;
mod pipes;
mod real_notes;
mod responsive;
mod search;
mod serve;
mod snippet_rules;
mod symlinks;
mod verify;
