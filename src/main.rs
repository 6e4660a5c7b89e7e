//! The `kb` binary: parse arguments, run, print the error chain once, exit with a code.

use std::process::ExitCode;

/// mimalloc instead of glibc malloc: a build allocates millions of small strings (tokens, terms)
/// from several threads at once (see the Performance section of the README).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    kb::cli::main()
}
