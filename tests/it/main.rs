//! kb's integration tests: one binary, a module per feature, fixture knowledge bases under
//! tests/fixtures/ (one directory per case).

mod support;

mod build;
mod search;
mod serve;
mod verify;
