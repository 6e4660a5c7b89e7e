//! Printing to stdout and stderr without panicking when the reader has gone away.
//!
//! `println!` and `eprintln!` panic when the write fails, and Rust ignores `SIGPIPE`, so
//! `kb check 2>&1 | head -1` used to die with a panic once `head` had closed the pipe. Every line
//! kb prints for the user goes through [`outln!`](crate::outln) or [`errln!`](crate::errln)
//! instead: a write that fails with `BrokenPipe` is dropped and remembered, and the command ends
//! quietly with exit code 0 once it has finished its work (a `kb verify` still removes its
//! containers and writes its results), as ripgrep does (`crates/core/main.rs`). Other write
//! errors on stderr are ignored (there is nowhere left to report them); on stdout they are
//! returned, so a command whose output is its result (`kb search`) fails instead of printing half
//! of it.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static OUT_CLOSED: AtomicBool = AtomicBool::new(false);
static ERR_CLOSED: AtomicBool = AtomicBool::new(false);

/// Has a reader of stdout or stderr closed its end during this process?
pub fn pipe_closed() -> bool {
    OUT_CLOSED.load(Ordering::Relaxed) || ERR_CLOSED.load(Ordering::Relaxed)
}

/// Is `err` (or anything in its chain) a closed pipe?
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Remember a closed pipe in `flag`.
fn note(flag: &AtomicBool, result: io::Result<()>) -> io::Result<()> {
    if let Err(e) = &result {
        if e.kind() == io::ErrorKind::BrokenPipe {
            flag.store(true, Ordering::Relaxed);
        }
    }
    result
}

/// Write one line to stdout. A closed pipe is remembered ([`pipe_closed`]) and returned.
pub fn write_out(args: fmt::Arguments<'_>) -> io::Result<()> {
    if OUT_CLOSED.load(Ordering::Relaxed) {
        return Err(io::ErrorKind::BrokenPipe.into());
    }
    let mut out = io::stdout().lock();
    note(
        &OUT_CLOSED,
        out.write_fmt(args).and_then(|()| out.write_all(b"\n")),
    )
}

/// Write `bytes` to stdout as they are (a whole report at once).
pub fn write_out_bytes(bytes: &[u8]) -> io::Result<()> {
    if OUT_CLOSED.load(Ordering::Relaxed) {
        return Err(io::ErrorKind::BrokenPipe.into());
    }
    let mut out = io::stdout().lock();
    note(&OUT_CLOSED, out.write_all(bytes).and_then(|()| out.flush()))
}

/// Write one line to stderr; any failure is dropped (a closed pipe is remembered).
pub fn write_err(args: fmt::Arguments<'_>) {
    if ERR_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut err = io::stderr().lock();
    let _ = note(
        &ERR_CLOSED,
        err.write_fmt(args).and_then(|()| err.write_all(b"\n")),
    );
}

/// `println!` that returns an `io::Result` instead of panicking (see the module docs).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::stdio::write_out(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics (see the module docs).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::stdio::write_err(format_args!($($arg)*))
    };
}
