//! Build the next site in a staging dir beside the output dir, then swap it in at once.
//!
//! [`Staging`] is the [`Sink`] of `kb build`. A file whose bytes equal the previous build's is
//! not written again: at commit it is hard-linked from the old site, so it keeps its inode and
//! modification time (`rsync` and CDN uploads see only what changed). Every other file is
//! written to a temp dir in the output's parent (same file system). Until [`Staging::commit`]
//! runs the previous site is untouched, and dropping an uncommitted staging dir removes it.
//!
//! [`Staging::commit`] completes the staging dir into a whole site (unchanged files and every
//! file kb did not write, hard-linked from the old one; the new [`outdir::MANIFEST`]) and
//! exchanges it with the output in one `renameat2(RENAME_EXCHANGE)`: a reader sees the whole old
//! site or the whole new one, never a mix, whatever stops the build. Where the file system
//! cannot exchange, the old site is renamed aside and the new one renamed in (a moment with no
//! site, never a mixed one). A build killed at any point leaves a `.NAME.kb-new-*` or
//! `.NAME.kb-old-*` dir that the next build of the same output removes.
//!
//! Files the previous build wrote and this one does not are dropped; files kb did not write
//! (not in the manifest) are carried into every new site; a file kb did not write that the
//! build now produces is an error, never overwritten.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{bail, Context};
use rayon::prelude::*;

use super::outdir::{self, Manifest, OutDir, Protected, TempKind};
use super::sink::Sink;
use crate::sync::MutexExt;

/// The next version of the site, being written.
pub struct Staging {
    dir: Option<tempfile::TempDir>,
    out: OutDir,
    /// Every path the build wrote (changed or not), site-relative with `/`.
    produced: Mutex<HashSet<String>>,
    /// Paths whose bytes equal the previous build's: linked from it at commit.
    unchanged: Mutex<Vec<String>>,
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
    /// Files in the output that kb did not write, carried into the new site.
    pub kept: usize,
}

impl Staging {
    /// Claim `out` (see [`OutDir::claim`]) and create a staging dir beside it.
    pub fn new(out: &Path, protect: Protected) -> anyhow::Result<Staging> {
        let out = OutDir::claim(out, protect)?;
        let dir = tempfile::Builder::new()
            .prefix(&out.temp_prefix(TempKind::New))
            .tempdir_in(&out.parent)
            .with_context(|| {
                format!(
                    "couldn't create a temporary directory in `{}`; is it writable?",
                    out.parent.display()
                )
            })?;
        Ok(Staging {
            dir: Some(dir),
            out,
            produced: Mutex::new(HashSet::new()),
            unchanged: Mutex::new(Vec::new()),
            made_dirs: Mutex::new(HashSet::new()),
        })
    }

    /// The staging directory.
    pub fn path(&self) -> &Path {
        self.dir
            .as_ref()
            .map(|d| d.path())
            .unwrap_or(&self.out.path)
    }

    /// Make the staging dir a whole site and swap it with the output.
    pub fn commit(mut self) -> anyhow::Result<CommitStats> {
        let Some(dir) = self.dir.take() else {
            return Ok(CommitStats::default());
        };
        let produced = std::mem::take(&mut *self.produced.lock_or_recover());
        let unchanged = std::mem::take(&mut *self.unchanged.lock_or_recover());
        let stage = dir.path();
        let out = &self.out.path;
        let mut stats = CommitStats {
            written: produced.len() - unchanged.len(),
            unchanged: unchanged.len(),
            ..Default::default()
        };
        if self.out.is_mount_point {
            // A mount point cannot be swapped (and nothing can be linked across it): copy the
            // new and changed files in; unchanged files and files kb did not write stay.
            tracing::warn!(
                "`{}` is a mount point and cannot be swapped: updating it file by file (readers may see two builds mixed while it runs)",
                out.display()
            );
            let previous = self.out.previous.as_ref();
            stats.removed = previous.map_or(0, |p| {
                p.files()
                    .iter()
                    .filter(|rel| !produced.contains(rel.as_str()))
                    .count()
            });
            let manifest = Manifest::new(produced.into_iter().collect());
            std::fs::write(stage.join(outdir::MANIFEST), manifest.to_json())
                .with_context(|| format!("couldn't write the manifest in `{}`", stage.display()))?;
            update_in_place(stage, out, previous, &manifest)?;
            return Ok(stats);
        }
        if let Some(previous) = &self.out.previous {
            if !out.is_dir() {
                bail!(
                    "`{}` disappeared during the build; build again",
                    out.display()
                );
            }
            let t = std::time::Instant::now();
            unchanged.par_iter().try_for_each(|rel| {
                link_into(&out.join(rel), &stage.join(rel)).with_context(|| {
                    format!(
                        "couldn't link `{}` into the new site",
                        out.join(rel).display()
                    )
                })
            })?;
            tracing::debug!(
                "commit: linked {} unchanged files in {:?}",
                unchanged.len(),
                t.elapsed()
            );
            let t = std::time::Instant::now();
            stats.kept = carry_foreign_files(out, stage, previous, &produced)?;
            tracing::debug!(
                "commit: carried {} files kb did not write in {:?}",
                stats.kept,
                t.elapsed()
            );
            stats.removed = previous
                .files()
                .iter()
                .filter(|rel| !produced.contains(rel.as_str()))
                .count();
        }
        let manifest = Manifest::new(produced.into_iter().collect());
        std::fs::write(stage.join(outdir::MANIFEST), manifest.to_json())
            .with_context(|| format!("couldn't write the manifest in `{}`", stage.display()))?;
        set_mode(stage, self.out.mode);
        let staged = dir.keep();
        let swapped = if self.out.previous.is_some() {
            swap(&staged, out, &self.out)
        } else {
            std::fs::rename(&staged, out)
                .map(|()| None)
                .with_context(|| format!("couldn't move the new site into `{}`", out.display()))
        };
        match swapped {
            Ok(old) => {
                // the old site (now at `staged`, or moved aside): its files are the new site's
                // inodes or gone from it; remove it
                let old = old.unwrap_or(staged);
                if old.exists() {
                    let t = std::time::Instant::now();
                    let removed = std::fs::remove_dir_all(&old);
                    tracing::debug!("commit: removed the previous site in {:?}", t.elapsed());
                    if let Err(e) = removed {
                        tracing::warn!("couldn't remove the previous site at `{}`: {e} (the next build retries)", old.display());
                    }
                }
                Ok(stats)
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staged);
                Err(e)
            }
        }
    }
}

impl Sink for Staging {
    fn write(&self, rel_path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        if !super::sink::is_site_path(rel_path) {
            bail!("refusing to write `{rel_path}`: not a path inside the site");
        }
        if !self.produced.lock_or_recover().insert(rel_path.to_string()) {
            bail!("two parts of the build produce `{rel_path}`: this is a bug in kb, please report it");
        }
        if let Some(previous) = &self.out.previous {
            let old = self.out.path.join(rel_path);
            if previous.contains(rel_path) {
                if same_bytes(&old, bytes) {
                    self.unchanged.lock_or_recover().push(rel_path.to_string());
                    return Ok(());
                }
            } else if std::fs::symlink_metadata(&old).is_ok_and(|m| !m.is_dir()) {
                // (a directory there is checked at commit: it may hold only kb's old files)
                bail!(
                    "`{}` was not written by kb, and this build produces a file at that path\n  \
                     hint: kb never overwrites what it did not write: move that file away (or into content/ to publish it)",
                    old.display()
                );
            }
        }
        let path = self.path().join(rel_path);
        if let Some((rel_dir, _)) = rel_path.rsplit_once('/') {
            if !self.made_dirs.lock_or_recover().contains(rel_dir) {
                let parent = self.path().join(rel_dir);
                std::fs::create_dir_all(&parent)
                    .with_context(|| format!("couldn't create directory `{}`", parent.display()))?;
                self.made_dirs.lock_or_recover().insert(rel_dir.to_string());
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

/// Hard-link `from` (not following a symlink) to `to`, making `to`'s parent directories.
fn link_into(from: &Path, to: &Path) -> std::io::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::hard_link(from, to)
}

/// Link every file of the old site that kb did not write into the new one (empty directories
/// are made again); returns how many. A file standing where the new site has a directory or
/// file of its own is an error: kb does not overwrite what it did not write.
fn carry_foreign_files(
    out: &Path,
    stage: &Path,
    previous: &Manifest,
    produced: &HashSet<String>,
) -> anyhow::Result<usize> {
    let mut kept = 0;
    // A directory is empty when the entry after it (pre-order) is not deeper: no read_dir per
    // directory (a 10,000-note site has as many).
    let mut open_dir: Option<(String, usize)> = None;
    let make_empty_dir = |rel: &str| -> anyhow::Result<()> {
        let to = stage.join(rel);
        std::fs::create_dir_all(&to).with_context(|| format!("couldn't create `{}`", to.display()))
    };
    for e in walkdir::WalkDir::new(out).min_depth(1).follow_links(false) {
        let e = e.with_context(|| format!("couldn't list `{}`", out.display()))?;
        if let Some((dir, depth)) = open_dir.take() {
            if e.depth() <= depth {
                make_empty_dir(&dir)?;
            }
        }
        let rel = super::sink::rel_slash(e.path(), out);
        if e.file_type().is_dir() {
            open_dir = Some((rel, e.depth()));
            continue;
        }
        if rel == outdir::MANIFEST || previous.contains(&rel) {
            continue;
        }
        if produced.contains(&rel) {
            // caught when the file was written; kept here so a commit can never replace it
            bail!(
                "`{}` was not written by kb, and this build produces a file at that path",
                e.path().display()
            );
        }
        link_into(e.path(), &stage.join(&rel)).with_context(|| {
            format!(
                "couldn't carry `{}` (not written by kb) into the new site; does the new site have a file where its directory goes?",
                e.path().display()
            )
        })?;
        kept += 1;
    }
    if let Some((dir, _)) = open_dir {
        make_empty_dir(&dir)?;
    }
    Ok(kept)
}

/// Exchange the complete new site at `staged` with the output. Returns where the old site is
/// now when it is not at `staged`.
fn swap(staged: &Path, out: &Path, dir: &OutDir) -> anyhow::Result<Option<PathBuf>> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, staged, CWD, out, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(None),
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
                tracing::debug!(
                    "the file system cannot exchange directories ({e}); renaming in two steps"
                );
            }
            Err(e) => {
                return Err(std::io::Error::from(e)).with_context(|| {
                    format!("couldn't swap the new site into `{}`", out.display())
                })
            }
        }
    }
    // two renames: for a moment there is no site, but never a mixed one
    let aside = tempfile::Builder::new()
        .prefix(&dir.temp_prefix(TempKind::Old))
        .tempdir_in(&dir.parent)
        .with_context(|| {
            format!(
                "couldn't create a temporary directory in `{}`",
                dir.parent.display()
            )
        })?
        .keep();
    let old = aside.join("site");
    std::fs::rename(out, &old)
        .with_context(|| format!("couldn't move the previous site `{}` aside", out.display()))?;
    if let Err(e) = std::fs::rename(staged, out) {
        let _ = std::fs::rename(&old, out);
        return Err(e)
            .with_context(|| format!("couldn't move the new site into `{}`", out.display()));
    }
    Ok(Some(aside))
}

/// For an output that cannot be renamed (a mount point): copy the new and changed files in one
/// by one (each through a temp file beside it, so each is replaced whole), then delete the
/// previous build's files this one did not produce. Files kb did not write are never in the
/// way: one at a path the build produces stopped the build when it was written.
fn update_in_place(
    staged: &Path,
    out: &Path,
    previous: Option<&Manifest>,
    next: &Manifest,
) -> anyhow::Result<()> {
    let files: Vec<String> = walkdir::WalkDir::new(staged)
        .min_depth(1)
        .follow_links(false)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().is_dir())
        .map(|e| super::sink::rel_slash(e.path(), staged))
        .collect();
    for rel in &files {
        let (from, to) = (staged.join(rel), out.join(rel));
        make_room(out, rel, previous)?;
        // the staging dir is outside the mount: the file is copied in (through a temp file
        // beside it, so each file is replaced whole)
        // with the staged file's mode, as the swap would have: a temp file is 0600, which a
        // web server running as another user cannot read
        crate::atomic_file::write(&to, |tmp| {
            let mut staged = std::fs::File::open(&from)?;
            std::io::copy(&mut staged, tmp)?;
            tmp.set_permissions(staged.metadata()?.permissions())
        })
        .with_context(|| format!("couldn't update `{}`", to.display()))?;
    }
    let keep: HashSet<&str> = next.files().iter().map(String::as_str).collect();
    for rel in previous.map(Manifest::files).unwrap_or_default() {
        if keep.contains(rel.as_str()) {
            continue;
        }
        let _ = std::fs::remove_file(out.join(rel));
        // drop the directories the removal emptied, up to the output
        let mut dir = Path::new(rel.as_str()).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            if std::fs::remove_dir(out.join(d)).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    Ok(())
}

/// Make way in the output for a file of the new site at `rel`: an old file of kb's where one of
/// its directories must go, or an old directory of kb's where it must go, is removed. Anything
/// in the way that kb did not write is an error.
fn make_room(out: &Path, rel: &str, previous: Option<&Manifest>) -> anyhow::Result<()> {
    let kbs = |p: &str| previous.is_some_and(|m| m.contains(p));
    let foreign = |at: &Path| {
        anyhow::anyhow!(
            "`{}` was not written by kb and stands where this build puts `{rel}`\n  \
             hint: kb never removes what it did not write: move it away",
            at.display()
        )
    };
    let mut at = out.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let sub = parts[..=i].join("/");
        let last = i + 1 == parts.len();
        match std::fs::symlink_metadata(&at) {
            Ok(m) if !last && !m.is_dir() => {
                if !kbs(&sub) {
                    return Err(foreign(&at));
                }
                std::fs::remove_file(&at)?;
                std::fs::create_dir(&at)
                    .with_context(|| format!("couldn't create `{}`", at.display()))?;
            }
            Ok(m) if last && m.is_dir() => {
                let all_kbs = walkdir::WalkDir::new(&at)
                    .into_iter()
                    .filter_map(|e| e.ok())
                    .filter(|e| !e.file_type().is_dir())
                    .all(|e| kbs(&super::sink::rel_slash(e.path(), out)));
                if !all_kbs {
                    return Err(foreign(&at));
                }
                std::fs::remove_dir_all(&at)?;
            }
            Err(_) if !last => {
                std::fs::create_dir(&at)
                    .with_context(|| format!("couldn't create `{}`", at.display()))?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(dir: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode));
}

#[cfg(not(unix))]
fn set_mode(_: &Path, _: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A knowledge base root with `content/`, and its `public/`.
    fn kb() -> (tempfile::TempDir, PathBuf) {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("content")).unwrap();
        std::fs::write(root.path().join("content/a.md"), "# a\n").unwrap();
        let out = root.path().join("public");
        (root, out)
    }

    fn staging(root: &Path, out: &Path) -> anyhow::Result<Staging> {
        let content = root.join("content");
        Staging::new(
            out,
            Protected {
                root,
                content: &content,
            },
        )
    }

    /// Every file and symlink under `dir` (the manifest left out) with its text.
    fn tree(dir: &Path) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_type().is_dir())
            .map(|e| super::super::sink::rel_slash(e.path(), dir))
            .filter(|rel| rel != outdir::MANIFEST)
            .map(|rel| {
                let text = std::fs::read_to_string(dir.join(&rel)).unwrap_or_default();
                (rel, text)
            })
            .collect();
        v.sort();
        v
    }

    /// Entries of the root other than content/ and the output: what a build left behind.
    fn litter(root: &Path) -> Vec<String> {
        std::fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "content" && n != "public")
            .collect()
    }

    #[test]
    fn commit_replaces_and_drop_keeps_the_previous_site() {
        let (root, out) = kb();
        let s = staging(root.path(), &out).unwrap();
        s.write("old.html", b"old").unwrap();
        s.commit().unwrap();

        let s = staging(root.path(), &out).unwrap();
        s.write("new.html", b"new").unwrap();
        drop(s); // a failed build
        assert_eq!(tree(&out), [("old.html".into(), "old".into())]);
        assert!(litter(root.path()).is_empty(), "no staging dir left behind");

        let s = staging(root.path(), &out).unwrap();
        s.write("new.html", b"new").unwrap();
        s.commit().unwrap();
        assert_eq!(tree(&out), [("new.html".into(), "new".into())]);
        assert!(litter(root.path()).is_empty());
    }

    #[test]
    fn a_first_build_renames_the_staging_dir_into_place_readable_by_a_web_server() {
        let (root, out) = kb();
        let s = staging(root.path(), &out).unwrap();
        s.write("notes/a/index.html", b"a").unwrap();
        let stats = s.commit().unwrap();
        assert_eq!(tree(&out), [("notes/a/index.html".into(), "a".into())]);
        assert_eq!(stats.written, 1);
        assert!(out.join(outdir::MANIFEST).is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o755, "not the temp dir's 0700");
        }
        assert!(litter(root.path()).is_empty());
    }

    #[test]
    fn a_rebuild_rewrites_only_changed_files_and_removes_stale_ones() {
        let (root, out) = kb();
        let s = staging(root.path(), &out).unwrap();
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

        let s = staging(root.path(), &out).unwrap();
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
                removed: 1,
                kept: 0
            }
        );
        assert!(litter(root.path()).is_empty());
    }

    #[test]
    fn an_output_deleted_during_a_rebuild_is_an_error_not_a_partial_site() {
        let (root, out) = kb();
        let s = staging(root.path(), &out).unwrap();
        s.write("a.html", b"a").unwrap();
        s.write("b.html", b"b").unwrap();
        s.commit().unwrap();

        let s = staging(root.path(), &out).unwrap();
        s.write("a.html", b"a").unwrap(); // unchanged: not staged
        s.write("b.html", b"b2").unwrap();
        std::fs::remove_dir_all(&out).unwrap();
        let e = s.commit().unwrap_err();
        assert!(e.to_string().contains("disappeared"), "{e}");
        assert!(!out.exists(), "no site with b.html alone was moved in");
        assert!(litter(root.path()).is_empty());
    }

    #[test]
    fn a_file_and_a_directory_can_trade_places() {
        let (root, out) = kb();
        let s = staging(root.path(), &out).unwrap();
        s.write("notes/x", b"a file").unwrap();
        s.write("notes/y/index.html", b"in a dir").unwrap();
        s.commit().unwrap();

        let s = staging(root.path(), &out).unwrap();
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

    #[test]
    fn files_kb_did_not_write_survive_every_build() {
        let (root, out) = kb();
        staging(root.path(), &out).unwrap().commit().unwrap();
        std::fs::create_dir_all(out.join("keep/empty")).unwrap();
        std::fs::write(out.join("robots.txt"), "User-agent: *").unwrap();
        std::fs::write(out.join("keep/CNAME"), "example.com").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("robots.txt", out.join("robots-link.txt")).unwrap();
        for round in 0..3 {
            let s = staging(root.path(), &out).unwrap();
            s.write("index.html", format!("home {round}").as_bytes())
                .unwrap();
            if round == 1 {
                s.write("keep/kb.html", b"kb's, in a hand-made dir")
                    .unwrap();
            }
            let stats = s.commit().unwrap();
            assert_eq!(stats.kept, if cfg!(unix) { 3 } else { 2 }, "round {round}");
            assert_eq!(
                std::fs::read_to_string(out.join("robots.txt")).unwrap(),
                "User-agent: *"
            );
            assert_eq!(
                std::fs::read_to_string(out.join("keep/CNAME")).unwrap(),
                "example.com"
            );
            assert!(
                out.join("keep/empty").is_dir(),
                "an empty hand-made dir stays"
            );
            #[cfg(unix)]
            assert_eq!(
                std::fs::read_link(out.join("robots-link.txt")).unwrap(),
                Path::new("robots.txt"),
                "a symlink stays a symlink"
            );
            assert_eq!(out.join("keep/kb.html").exists(), round == 1);
        }
    }

    #[test]
    fn a_file_kb_did_not_write_is_never_overwritten() {
        let (root, out) = kb();
        staging(root.path(), &out).unwrap().commit().unwrap();
        std::fs::write(out.join("index.html"), "hand-written").unwrap();
        let s = staging(root.path(), &out).unwrap();
        let e = s.write("index.html", b"kb's home").unwrap_err();
        assert!(e.to_string().contains("not written by kb"), "{e}");
        drop(s);
        assert_eq!(
            std::fs::read_to_string(out.join("index.html")).unwrap(),
            "hand-written"
        );
    }

    #[test]
    fn directories_holding_notes_or_foreign_files_are_refused() {
        let (root, _) = kb();
        let r = root.path();
        std::fs::create_dir_all(r.join("other")).unwrap();
        std::fs::write(r.join("other/mine.txt"), "mine").unwrap();
        std::fs::write(r.join("file"), "a file").unwrap();
        let cases: [(PathBuf, &str); 8] = [
            (r.to_path_buf(), "knowledge base root"),
            (r.join("."), "knowledge base root"),
            (r.join(".."), "contains the knowledge base root"),
            (r.join("content"), "inside content/"),
            (r.join("content/sub/dir"), "inside content/"),
            (r.join("public/../content"), "inside content/"),
            (r.join("other"), "holds files kb did not write (`mine.txt`)"),
            (r.join("file"), "not a directory"),
        ];
        for (out, why) in cases {
            let e = match staging(r, &out) {
                Ok(_) => panic!("`{}` was accepted", out.display()),
                Err(e) => e.to_string(),
            };
            assert!(e.contains(why), "{}: {e}", out.display());
            assert!(e.contains("hint:"), "{e}");
        }
        assert_eq!(
            std::fs::read_to_string(r.join("other/mine.txt")).unwrap(),
            "mine"
        );
        assert!(r.join("content/a.md").is_file());
        // an empty directory is fine
        std::fs::create_dir_all(r.join("empty")).unwrap();
        staging(r, &r.join("empty")).unwrap().commit().unwrap();
    }

    #[test]
    fn the_next_build_removes_what_killed_builds_left() {
        let (root, out) = kb();
        let s = staging(root.path(), &out).unwrap();
        s.write("index.html", b"home").unwrap();
        s.commit().unwrap();
        for left in [".public.kb-new-abc/x", ".public.kb-old-def/site/y"] {
            let p = root.path().join(left);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "left").unwrap();
        }
        std::fs::create_dir_all(root.path().join(".public.other")).unwrap();
        let s = staging(root.path(), &out).unwrap();
        s.write("index.html", b"home").unwrap();
        s.commit().unwrap();
        assert_eq!(
            litter(root.path()),
            [".public.other"],
            "only kb's leftovers go"
        );
    }

    /// A mount point cannot be renamed: the output is updated in place (root only: the test
    /// bind-mounts the output onto itself).
    #[test]
    fn an_output_that_is_a_mount_point_is_updated_in_place() {
        struct Mounted(PathBuf);
        impl Drop for Mounted {
            fn drop(&mut self) {
                let _ = std::process::Command::new("umount").arg(&self.0).status();
            }
        }
        let (root, out) = kb();
        std::fs::create_dir_all(&out).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["--bind", out.to_str().unwrap(), out.to_str().unwrap()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "this test bind-mounts a directory: run it as root");
        let _mounted = Mounted(out.clone());
        let s = staging(root.path(), &out).unwrap();
        s.write("index.html", b"home").unwrap();
        s.write("notes/a/index.html", b"a").unwrap();
        s.write("notes/b", b"b as a file").unwrap();
        s.commit().unwrap();
        std::fs::write(out.join("robots.txt"), "mine").unwrap();

        let s = staging(root.path(), &out).unwrap();
        s.write("index.html", b"home v2").unwrap();
        s.write("notes/b/index.html", b"b as a dir").unwrap();
        let stats = s.commit().unwrap();
        assert_eq!(
            tree(&out),
            [
                ("index.html".into(), "home v2".into()),
                ("notes/b/index.html".into(), "b as a dir".into()),
                ("robots.txt".into(), "mine".into()),
            ]
        );
        assert!(!out.join("notes/a").exists(), "emptied directory removed");
        assert_eq!((stats.written, stats.unchanged, stats.removed), (2, 0, 2));
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            // what a swapped build would have: the mode kb's own writes get, not a temp file's
            let elsewhere = tempfile::tempdir().unwrap();
            let reference = elsewhere.path().join("mode-reference");
            std::fs::write(&reference, "x").unwrap();
            let expected = mode(&reference);
            assert_eq!(
                mode(&out.join("index.html")),
                expected,
                "copied-in files keep the staged mode"
            );
            assert_eq!(mode(&out.join("notes/b/index.html")), expected);
        }
        assert!(out.join(outdir::MANIFEST).is_file());

        std::fs::write(out.join("tags"), "mine too").unwrap();
        let s = staging(root.path(), &out).unwrap();
        s.write("tags/go/index.html", b"go").unwrap();
        let e = s.commit().unwrap_err();
        assert!(e.to_string().contains("not written by kb"), "{e}");
        assert_eq!(
            std::fs::read_to_string(out.join("tags")).unwrap(),
            "mine too"
        );
        assert!(litter(root.path()).is_empty());
    }
}
