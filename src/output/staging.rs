//! Build into a staging dir beside the output dir, then bring the output up to date.
//!
//! [`Staging`] is the [`Sink`] of `kb build`. A file whose bytes equal the one already in the
//! output is not written again; every other file goes to a temp dir in the output's parent (same
//! file system, so moving it is a rename). Until [`Staging::commit`] runs the previous site is
//! untouched, and dropping an uncommitted staging dir removes it: a failed build loses nothing.
//!
//! [`Staging::commit`] moves the new and changed files into the output and deletes the files the
//! build did not produce; unchanged files are left alone and keep their modification time (so
//! `rsync` and CDN uploads see only what changed). A first build, into an output dir that does
//! not exist, renames the whole staging dir into place. Rebuilding 10,000 unchanged notes this
//! way reads and compares 20,000 files instead of creating 20,000 and deleting 20,000 — file
//! creation right after mass deletion is slow on some file systems (ext4 without a journal
//! checks every recently freed inode).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context};

use super::sink::Sink;

/// The next version of the site, being written.
pub struct Staging {
    dir: Option<tempfile::TempDir>,
    out: PathBuf,
    /// Whether `out` existed when staging began (else commit renames the staging dir into place).
    update_in_place: bool,
    /// Every path the build wrote (changed or not), site-relative with `/`.
    produced: Mutex<HashSet<String>>,
    /// Directories already made in the staging dir, site-relative: a dir holding many files
    /// (the search index's fragments and shards) is made once instead of probed for each file.
    made_dirs: Mutex<HashSet<String>>,
}

/// What [`Staging::commit`] changed in the output.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Files new or different from the previous build.
    pub written: usize,
    /// Files left as they were (same bytes).
    pub unchanged: usize,
    /// Files of the previous build that this build did not produce.
    pub removed: usize,
}

impl Staging {
    /// Create a staging dir for `out` (which may not exist yet).
    pub fn new(out: &Path) -> anyhow::Result<Staging> {
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).with_context(|| {
            format!(
                "couldn't create `{}`; check the --out path and permissions",
                parent.display()
            )
        })?;
        if out.exists() && !out.is_dir() {
            bail!(
                "output path `{}` exists and is not a directory; choose another --out",
                out.display()
            );
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "public".into());
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.kb-new-"))
            .tempdir_in(parent)
            .with_context(|| {
                format!(
                    "couldn't create a temporary directory in `{}`; is it writable?",
                    parent.display()
                )
            })?;
        Ok(Staging {
            dir: Some(dir),
            out: out.to_path_buf(),
            update_in_place: out.is_dir(),
            produced: Mutex::new(HashSet::new()),
            made_dirs: Mutex::new(HashSet::new()),
        })
    }

    /// The staging directory.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(&self.out)
    }

    /// Bring `out` up to date with what was written: move new and changed files in, delete the
    /// files this build did not produce, leave unchanged files alone.
    pub fn commit(mut self) -> anyhow::Result<CommitStats> {
        let Some(dir) = self.dir.take() else {
            return Ok(CommitStats::default());
        };
        let produced =
            std::mem::take(&mut *self.produced.lock().unwrap_or_else(|e| e.into_inner()));
        if !self.update_in_place {
            // nothing was there to compare with: the staging dir holds the whole site
            let staged = dir.keep();
            if let Err(e) = std::fs::rename(&staged, &self.out) {
                let _ = std::fs::remove_dir_all(&staged);
                return Err(e).with_context(|| {
                    format!("couldn't move the new site into `{}`", self.out.display())
                });
            }
            return Ok(CommitStats {
                written: produced.len(),
                ..Default::default()
            });
        }
        if !self.out.is_dir() {
            // the staging dir holds only what changed: it is not a whole site
            bail!(
                "`{}` disappeared during the build; build again",
                self.out.display()
            );
        }
        let staged_files = files_under(dir.path());
        let mut stats = CommitStats {
            written: staged_files.len(),
            unchanged: produced.len().saturating_sub(staged_files.len()),
            removed: 0,
        };
        use rayon::prelude::*;
        staged_files.par_iter().try_for_each(|rel| {
            move_into(&dir.path().join(rel), &self.out.join(rel)).with_context(|| {
                format!(
                    "couldn't update `{}`; the output may now mix two builds: build again",
                    self.out.join(rel).display()
                )
            })
        })?;
        let keep: HashSet<&str> = produced
            .iter()
            .map(String::as_str)
            .chain(staged_files.iter().map(String::as_str))
            .collect();
        let stale: Vec<String> = files_under(&self.out)
            .into_iter()
            .filter(|rel| !keep.contains(rel.as_str()))
            .collect();
        stats.removed = stale.len();
        stale.par_iter().for_each(|rel| {
            let _ = std::fs::remove_file(self.out.join(rel));
        });
        remove_empty_dirs(&self.out);
        Ok(stats)
    }
}

impl Sink for Staging {
    fn write(&self, rel_path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        self.produced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(rel_path.to_string());
        if self.update_in_place && same_bytes(&self.out.join(rel_path), bytes) {
            return Ok(());
        }
        let path = self.path().join(rel_path);
        if let Some((rel_dir, _)) = rel_path.rsplit_once('/') {
            let made = self
                .made_dirs
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(rel_dir);
            if !made {
                let parent = self.path().join(rel_dir);
                std::fs::create_dir_all(&parent)
                    .with_context(|| format!("couldn't create directory `{}`", parent.display()))?;
                self.made_dirs
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(rel_dir.to_string());
            }
        }
        std::fs::write(&path, bytes).with_context(|| format!("couldn't write `{}`", path.display()))
    }
}

/// True if `path` is a file holding exactly `bytes` (size checked first, then content).
fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => {
            std::fs::read(path).is_ok_and(|old| old == bytes)
        }
        _ => false,
    }
}

/// Move a staged file to its place in the output, making room: a directory or a file standing
/// where the new file or one of its parent directories must go is removed first.
fn move_into(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        if std::fs::create_dir_all(parent).is_err() {
            // a file of the previous build where a directory must now be
            let mut p = parent.to_path_buf();
            loop {
                if p.is_file() || p.is_symlink() {
                    std::fs::remove_file(&p)?;
                    break;
                }
                if !p.pop() {
                    break;
                }
            }
            std::fs::create_dir_all(parent)?;
        }
    }
    if to.is_dir() && !to.is_symlink() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::rename(from, to)
}

/// Every file (or symlink) under `dir`, relative with `/` separators.
fn files_under(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().is_dir())
        .filter_map(|e| {
            e.path()
                .strip_prefix(dir)
                .ok()
                .map(|p| super::sink::rel_slash(p, Path::new("")))
        })
        .collect()
}

/// Remove directories under `dir` left empty by deleted files (deepest first).
fn remove_empty_dirs(dir: &Path) {
    for e in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .contents_first(true)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir())
    {
        // fails (and is meant to) when the directory is not empty
        let _ = std::fs::remove_dir(e.path());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(dir: &Path) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = files_under(dir)
            .into_iter()
            .map(|rel| {
                let text = std::fs::read_to_string(dir.join(&rel)).unwrap();
                (rel, text)
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn commit_replaces_and_drop_keeps_the_previous_site() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("public");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("old.html"), "old").unwrap();

        let s = Staging::new(&out).unwrap();
        s.write("new.html", b"new").unwrap();
        drop(s); // a failed build
        assert!(out.join("old.html").exists());
        assert_eq!(
            std::fs::read_dir(root.path()).unwrap().count(),
            1,
            "no staging dir left behind"
        );

        let s = Staging::new(&out).unwrap();
        s.write("new.html", b"new").unwrap();
        s.commit().unwrap();
        assert!(out.join("new.html").exists() && !out.join("old.html").exists());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_first_build_renames_the_staging_dir_into_place() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("public");
        let s = Staging::new(&out).unwrap();
        s.write("notes/a/index.html", b"a").unwrap();
        let stats = s.commit().unwrap();
        assert_eq!(tree(&out), [("notes/a/index.html".into(), "a".into())]);
        assert_eq!(stats.written, 1);
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_rebuild_rewrites_only_changed_files_and_removes_stale_ones() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("public");
        let s = Staging::new(&out).unwrap();
        for (rel, text) in [
            ("index.html", "home"),
            ("notes/a/index.html", "a"),
            ("notes/b/index.html", "b"),
        ] {
            s.write(rel, text.as_bytes()).unwrap();
        }
        s.commit().unwrap();
        let unchanged = out.join("notes/a/index.html");
        let old_time = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000);
        std::fs::File::options()
            .write(true)
            .open(&unchanged)
            .unwrap()
            .set_modified(old_time)
            .unwrap();

        let s = Staging::new(&out).unwrap();
        s.write("index.html", b"home v2").unwrap();
        s.write("notes/a/index.html", b"a").unwrap();
        s.write("notes/c/index.html", b"c").unwrap();
        let stats = s.commit().unwrap();
        assert_eq!(
            tree(&out),
            [
                ("index.html".into(), "home v2".into()),
                ("notes/a/index.html".into(), "a".into()),
                ("notes/c/index.html".into(), "c".into()),
            ]
        );
        assert!(!out.join("notes/b").exists(), "emptied directory removed");
        assert_eq!(
            std::fs::metadata(&unchanged).unwrap().modified().unwrap(),
            old_time,
            "an unchanged file is not rewritten"
        );
        assert_eq!(
            stats,
            CommitStats {
                written: 2,
                unchanged: 1,
                removed: 1
            }
        );
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn an_output_deleted_during_a_rebuild_is_an_error_not_a_partial_site() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("public");
        let s = Staging::new(&out).unwrap();
        s.write("a.html", b"a").unwrap();
        s.write("b.html", b"b").unwrap();
        s.commit().unwrap();

        let s = Staging::new(&out).unwrap();
        s.write("a.html", b"a").unwrap(); // unchanged: not staged
        s.write("b.html", b"b2").unwrap();
        std::fs::remove_dir_all(&out).unwrap();
        let e = s.commit().unwrap_err();
        assert!(e.to_string().contains("disappeared"), "{e}");
        assert!(!out.exists(), "no site with b.html alone was moved in");
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_file_and_a_directory_can_trade_places() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("public");
        let s = Staging::new(&out).unwrap();
        s.write("notes/x", b"a file").unwrap();
        s.write("notes/y/index.html", b"in a dir").unwrap();
        s.commit().unwrap();

        let s = Staging::new(&out).unwrap();
        s.write("notes/x/index.html", b"now a dir").unwrap();
        s.write("notes/y", b"now a file").unwrap();
        s.commit().unwrap();
        assert_eq!(
            tree(&out),
            [
                ("notes/x/index.html".into(), "now a dir".into()),
                ("notes/y".into(), "now a file".into()),
            ]
        );
    }
}
