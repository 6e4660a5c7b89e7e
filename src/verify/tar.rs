//! Tar archives for the Docker API, which takes build contexts and file uploads as tar.
//!
//! Written with the `tar` crate. A build context (`snippets/images/NAME`) is archived as
//! `docker build` archives one: a symlink goes in as a symlink — the link, never the content of
//! what it points to, so a link to a host file cannot put that file into an image — and a file
//! that is neither a regular file, a directory nor a symlink (a FIFO, a socket, a device) is
//! refused with its path. Headers carry no owner and a fixed mtime, so the same directory always
//! gives the same bytes (the image tag is a hash of them).

use std::path::Path;

use anyhow::{bail, Context};

/// An in-memory tar archive under construction.
pub(crate) struct Tar {
    builder: tar::Builder<Vec<u8>>,
}

impl Default for Tar {
    fn default() -> Self {
        Tar {
            builder: tar::Builder::new(Vec::new()),
        }
    }
}

/// A header with kb's fixed metadata: no owner, mtime 0.
fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

impl Tar {
    /// Add a directory entry (`path` without a trailing slash).
    pub(crate) fn dir(&mut self, path: &str) -> anyhow::Result<()> {
        let mut h = header(tar::EntryType::Directory, 0o755, 0);
        self.builder
            .append_data(&mut h, format!("{path}/"), std::io::empty())
            .with_context(|| format!("couldn't archive directory `{path}`"))
    }

    /// Add a regular file.
    pub(crate) fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> anyhow::Result<()> {
        let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
        self.builder
            .append_data(&mut h, path, data)
            .with_context(|| format!("couldn't archive `{path}`"))
    }

    /// Add a symlink pointing at `target` (kept as written, relative or absolute).
    pub(crate) fn symlink(&mut self, path: &str, target: &Path) -> anyhow::Result<()> {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        self.builder
            .append_link(&mut h, path, target)
            .with_context(|| format!("couldn't archive symlink `{path}`"))
    }

    /// Finish with the two zero blocks tar readers expect.
    pub(crate) fn finish(self) -> anyhow::Result<Vec<u8>> {
        self.builder
            .into_inner()
            .context("couldn't finish the tar archive")
    }
}

/// Archive a directory (a build context): every file, directory and symlink under it, sorted,
/// with permissions kept. Symlinks are not followed. Hidden entries are included (a
/// `.dockerignore` is the engine's business).
pub(crate) fn archive_dir(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let mut tar = Tar::default();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .follow_links(false)
    {
        let entry = entry.with_context(|| format!("couldn't read `{}`", dir.display()))?;
        let rel = entry.path().strip_prefix(dir).with_context(|| {
            format!(
                "`{}` is outside `{}`",
                entry.path().display(),
                dir.display()
            )
        })?;
        let rel = rel.to_string_lossy().replace('\\', "/");
        let kind = entry.file_type();
        if kind.is_dir() {
            tar.dir(&rel)?;
        } else if kind.is_symlink() {
            let target = std::fs::read_link(entry.path())
                .with_context(|| format!("couldn't read symlink `{}`", entry.path().display()))?;
            tar.symlink(&rel, &target)?;
        } else if kind.is_file() {
            let data = std::fs::read(entry.path())
                .with_context(|| format!("couldn't read `{}`", entry.path().display()))?;
            tar.file(&rel, file_mode(&entry), &data)?;
        } else {
            bail!(
                "`{}` is not a regular file, directory or symlink (a FIFO, socket or device); remove it from the image directory",
                entry.path().display()
            );
        }
    }
    tar.finish()
}

#[cfg(unix)]
fn file_mode(entry: &walkdir::DirEntry) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    entry
        .metadata()
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0o644)
}

#[cfg(not(unix))]
fn file_mode(_: &walkdir::DirEntry) -> u32 {
    0o644
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (path, kind, link target, content) of every entry.
    fn entries(bytes: &[u8]) -> Vec<(String, tar::EntryType, Option<String>, Vec<u8>)> {
        let mut a = tar::Archive::new(bytes);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let path = e.path().unwrap().to_string_lossy().into_owned();
                let kind = e.header().entry_type();
                let link = e
                    .link_name()
                    .unwrap()
                    .map(|l| l.to_string_lossy().into_owned());
                let mut data = Vec::new();
                std::io::Read::read_to_end(&mut e, &mut data).unwrap();
                (path, kind, link, data)
            })
            .collect()
    }

    #[test]
    fn files_and_dirs_round_trip_with_modes_and_long_paths() {
        let mut t = Tar::default();
        t.dir("a").unwrap();
        t.file("a/b.sh", 0o755, b"hello").unwrap();
        let long = format!("{}/f", "d".repeat(300));
        t.file(&long, 0o644, b"x").unwrap();
        let bytes = t.finish().unwrap();
        let e = entries(&bytes);
        assert_eq!(e[0].0, "a/");
        assert_eq!(
            e[1],
            (
                "a/b.sh".into(),
                tar::EntryType::Regular,
                None,
                b"hello".to_vec()
            )
        );
        assert_eq!(e[2].0, long);
        let mut a = tar::Archive::new(&bytes[..]);
        let modes: Vec<u32> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().header().mode().unwrap())
            .collect();
        assert_eq!(modes, [0o755, 0o755, 0o644]);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_in_a_build_context_are_sent_as_links_never_as_their_targets_content() {
        let secret = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(secret.path(), "kb-test-secret-7f3a").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("inner"), "kb-test-secret-dir").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        std::os::unix::fs::symlink(secret.path(), dir.path().join("leak")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("leakdir")).unwrap();
        std::os::unix::fs::symlink("Dockerfile", dir.path().join("relative")).unwrap();
        let bytes = archive_dir(dir.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("kb-test-secret"),
            "a symlink's target content is in the archive"
        );
        let e = entries(&bytes);
        let link = |name: &str| {
            e.iter()
                .find(|x| x.0 == name)
                .map(|x| (x.1, x.2.clone()))
                .unwrap()
        };
        assert_eq!(
            link("leak"),
            (
                tar::EntryType::Symlink,
                Some(secret.path().to_string_lossy().into_owned())
            )
        );
        assert_eq!(link("leakdir").0, tar::EntryType::Symlink);
        assert_eq!(
            link("relative"),
            (tar::EntryType::Symlink, Some("Dockerfile".into()))
        );
        assert_eq!(e.len(), 4, "nothing under the linked directory: {e:?}");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = format!("{:#}", archive_dir(dir.path()).unwrap_err());
        assert!(
            e.contains("pipe") && e.contains("not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn the_same_directory_gives_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let a = archive_dir(dir.path()).unwrap();
        filetime_touch(&dir.path().join("Dockerfile"));
        assert_eq!(a, archive_dir(dir.path()).unwrap());
    }

    fn filetime_touch(p: &Path) {
        let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
            .unwrap();
    }
}
