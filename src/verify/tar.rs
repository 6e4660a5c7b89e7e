//! A minimal ustar writer: the Docker API takes build contexts and file uploads as tar archives.
//!
//! kb only ever archives small, known inputs (a `snippets/images/NAME` directory, a session's
//! `file=` blocks), so regular files and directories with POSIX ustar headers are all it needs;
//! writing them here keeps the dependency tree smaller than a general tar crate would.

use std::path::Path;

use anyhow::{bail, Context};

/// An in-memory tar archive under construction.
#[derive(Debug, Default)]
pub(crate) struct Tar {
    buf: Vec<u8>,
}

impl Tar {
    /// Add a directory entry (`path` without a trailing slash).
    pub(crate) fn dir(&mut self, path: &str) -> anyhow::Result<()> {
        self.header(&format!("{path}/"), 0o755, 0, b'5')
    }

    /// Add a regular file.
    pub(crate) fn file(&mut self, path: &str, mode: u32, data: &[u8]) -> anyhow::Result<()> {
        self.header(path, mode, data.len() as u64, b'0')?;
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
        Ok(())
    }

    /// Finish with the two zero blocks tar readers expect.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.buf.extend(std::iter::repeat_n(0u8, 1024));
        self.buf
    }

    fn header(&mut self, path: &str, mode: u32, size: u64, kind: u8) -> anyhow::Result<()> {
        let mut h = [0u8; 512];
        // Long paths go into the 155-byte prefix field, split at a `/`.
        let (prefix, name) = if path.len() <= 100 {
            ("", path)
        } else {
            let split = path[..path.len().min(156)]
                .rfind('/')
                .filter(|&i| path.len() - i - 1 <= 100 && i <= 155);
            match split {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => bail!("path `{path}` is too long for a tar archive (at most 100 bytes after the last `/` within the first 155)"),
            }
        };
        h[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut h[100..108], u64::from(mode));
        octal(&mut h[108..116], 0); // uid
        octal(&mut h[116..124], 0); // gid
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], 0); // mtime: fixed, so the same inputs give the same bytes
        h[148..156].copy_from_slice(b"        ");
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        octal(&mut h[148..155], u64::from(sum));
        h[155] = b' ';
        self.buf.extend_from_slice(&h);
        Ok(())
    }
}

/// Write `value` as zero-padded octal filling `field` except its last byte (NUL).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let digits = format!("{value:0width$o}");
    field[..width].copy_from_slice(&digits.as_bytes()[digits.len() - width..]);
    field[width] = 0;
}

/// Archive a directory (a build context): every file and directory under it, sorted, with
/// permissions kept. Hidden entries are included (a `.dockerignore` is the engine's business).
pub(crate) fn archive_dir(dir: &Path) -> anyhow::Result<Vec<u8>> {
    let mut tar = Tar::default();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .follow_links(true)
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
        if entry.file_type().is_dir() {
            tar.dir(&rel)?;
        } else {
            let data = std::fs::read(entry.path())
                .with_context(|| format!("couldn't read `{}`", entry.path().display()))?;
            tar.file(&rel, file_mode(&entry), &data)?;
        }
    }
    Ok(tar.finish())
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

    #[test]
    fn headers_have_valid_checksums_and_data_is_padded() {
        let mut t = Tar::default();
        t.dir("a").unwrap();
        t.file("a/b.txt", 0o644, b"hello").unwrap();
        let bytes = t.finish();
        assert_eq!(bytes.len(), 512 + 512 + 512 + 1024);
        let h = &bytes[512..1024];
        assert_eq!(&h[..7], b"a/b.txt");
        assert_eq!(&h[124..135], b"00000000005");
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut copy = h.to_vec();
        copy[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, copy.iter().map(|&b| u32::from(b)).sum::<u32>());
        assert_eq!(&bytes[1024..1029], b"hello");
    }

    #[test]
    fn long_paths_use_the_prefix_field() {
        let mut t = Tar::default();
        let dir = "d".repeat(120);
        t.file(&format!("{dir}/f"), 0o644, b"").unwrap();
        let bytes = t.finish();
        assert_eq!(&bytes[..2], b"f\0");
        assert_eq!(&bytes[345..465], dir.as_bytes());
        assert!(t_err(&"x".repeat(300)));
    }

    fn t_err(p: &str) -> bool {
        Tar::default().file(p, 0o644, b"").is_err()
    }
}
