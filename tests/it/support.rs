//! Helpers shared by the integration tests: the kb binary, fixture copies, output capture.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// Path of the repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture knowledge base copied into a fresh temp dir, so tests can write into it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// Copy `tests/fixtures/NAME` into a temp dir.
    pub fn copy(name: &str) -> Fixture {
        let src = repo_root().join("tests/fixtures").join(name);
        assert!(src.is_dir(), "fixture {} missing", src.display());
        let dir = tempfile::tempdir().expect("temp dir");
        copy_dir(&src, dir.path());
        Fixture { dir }
    }

    /// An empty knowledge base with the given files (`("content/a.md", "...")`).
    pub fn with_files(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Fixture { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Run `kb --root <fixture> ARGS...`.
    pub fn kb(&self, args: &[&str]) -> Run {
        kb_in(self.root(), args)
    }
}

/// Run `kb --root ROOT ARGS...` and capture everything.
pub fn kb_in(root: &Path, args: &[&str]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kb"))
        .arg("--root")
        .arg(root)
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run kb");
    Run::from(out)
}

/// A finished kb process.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Panic with both streams unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub fn copy_dir(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(src).unwrap();
        let target = dst.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
