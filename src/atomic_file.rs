//! Atomic file replacement: write a uniquely named temp file in the target's directory, then
//! rename it over the target, so a reader (or a run killed half way) sees the whole old file or
//! the whole new one, never part of either. Two writers of one path at once each rename a whole
//! file; the last one wins.
//!
//! Used by the build caches (`cache.rs`), the verify results and cache, `kb verify --update`'s
//! note rewrites and the in-place update of an output that cannot be swapped.

use std::fs::File;
use std::io;
use std::path::Path;

/// Write `path` atomically with `write`, creating its parent directory. The temp file is
/// deleted if `write` (or the rename) fails, leaving `path` as it was. The new file gets the temp
/// file's permissions (0600 on Unix); see [`write_keeping_permissions`].
pub fn write(path: &Path, write: impl FnOnce(&mut File) -> io::Result<()>) -> io::Result<()> {
    replace(path, false, write)
}

/// [`write`], but a file that already exists at `path` keeps its permissions (a note rewritten
/// by `kb verify --update` stays as readable, or executable, as it was).
pub fn write_keeping_permissions(
    path: &Path,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    replace(path, true, write)
}

fn replace(
    path: &Path,
    keep_permissions: bool,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    write(tmp.as_file_mut())?;
    if keep_permissions {
        if let Ok(meta) = std::fs::metadata(path) {
            // best effort, as a copy would be: the content matters more than the mode
            let _ = tmp.as_file().set_permissions(meta.permissions());
        }
    }
    tmp.persist(path).map(|_| ()).map_err(|e| e.error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_a_new_file_creating_its_directory_and_replaces_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/f.txt");
        write(&path, |f| f.write_all(b"one")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "one");
        write(&path, |f| f.write_all(b"two")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(
            names(&dir.path().join("a/b")),
            ["f.txt"],
            "no temp file left"
        );
    }

    #[test]
    fn a_failing_writer_leaves_the_old_file_intact_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.txt");
        std::fs::write(&path, "old").unwrap();
        let e = write(&path, |f| {
            f.write_all(b"half of the n")?;
            Err(io::Error::other("writer failed"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "writer failed");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(names(dir.path()), ["f.txt"], "temp file deleted");
    }

    #[cfg(unix)]
    #[test]
    fn permissions_are_kept_only_when_asked() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("note.md");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o754)).unwrap();

        write_keeping_permissions(&path, |f| f.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(mode(&path), 0o754);

        write(&path, |f| f.write_all(b"newer")).unwrap();
        assert_eq!(mode(&path), 0o600, "a temp file's own mode");

        let fresh = dir.path().join("fresh.md");
        write_keeping_permissions(&fresh, |f| f.write_all(b"x")).unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "x");
    }
}
