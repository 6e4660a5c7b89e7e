//! The `kb` binary: parse arguments, run, print the error chain once, exit with a code.

use std::process::ExitCode;

fn main() -> ExitCode {
    kb::cli::main()
}
