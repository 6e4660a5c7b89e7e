//! Record files: the on-disk format of kb's build caches under `.kb/cache/`.
//!
//! A record file is an 8-byte magic (format name and version) followed by records, each a
//! length-prefixed key and a length-prefixed value (little-endian `u32` lengths). It is written
//! through [`crate::atomic_file`] (a temp file renamed into place), so a reader never sees half a
//! file; a file with another magic, or cut short, reads as an error and callers treat that as an
//! empty cache. Used by the
//! highlight cache (key: content hash, value: HTML) and the browser search index cache (key:
//! file path, value: file bytes).

use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::Path;

/// Write `records` to `path` atomically (a temp file of its own, then renamed into place),
/// creating the parent directory. Two processes writing the same cache at once each rename a
/// whole file; the last one wins, and neither ever sees half a file.
pub fn write_records<'a>(
    path: &Path,
    magic: &[u8; 8],
    records: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> std::io::Result<()> {
    crate::atomic_file::write(path, |file| {
        let mut w = BufWriter::with_capacity(1 << 20, file);
        w.write_all(magic)?;
        for (key, value) in records {
            for part in [key, value] {
                let len = u32::try_from(part.len())
                    .map_err(|_| std::io::Error::other("cache record over 4 GiB"))?;
                w.write_all(&len.to_le_bytes())?;
                w.write_all(part)?;
            }
        }
        w.flush()
    })
}

/// Records of `path`, read one at a time. Fails at once if the file is missing or has another
/// magic; a record cut short is an error item.
pub fn read_records(
    path: &Path,
    magic: &[u8; 8],
) -> std::io::Result<impl Iterator<Item = std::io::Result<(Vec<u8>, Vec<u8>)>>> {
    let mut r = BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut found = [0u8; 8];
    r.read_exact(&mut found)?;
    if &found != magic {
        return Err(std::io::Error::other(format!(
            "`{}` is not a {} file",
            path.display(),
            String::from_utf8_lossy(magic)
        )));
    }
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let key = match read_part(&mut r) {
            Ok(Some(k)) => k,
            Ok(None) => {
                done = true;
                return None;
            }
            Err(e) => {
                done = true;
                return Some(Err(e));
            }
        };
        match read_part(&mut r) {
            Ok(Some(value)) => Some(Ok((key, value))),
            Ok(None) => {
                done = true;
                Some(Err(std::io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "cache record without a value",
                )))
            }
            Err(e) => {
                done = true;
                Some(Err(e))
            }
        }
    }))
}

/// One length-prefixed part; `None` at a clean end of file.
fn read_part(r: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"kbtest01";

    #[test]
    fn records_round_trip_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/c.bin");
        let recs: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"", b"empty key"), (b"c", b"")];
        write_records(&path, MAGIC, recs.clone()).unwrap();
        let back: Vec<(Vec<u8>, Vec<u8>)> = read_records(&path, MAGIC)
            .unwrap()
            .collect::<std::io::Result<_>>()
            .unwrap();
        let want: Vec<(Vec<u8>, Vec<u8>)> =
            recs.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(back, want);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.bin"], "temp file renamed away");
    }

    #[test]
    fn another_magic_or_a_cut_file_is_an_error_not_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        write_records(&path, MAGIC, [(&b"key"[..], &b"value"[..])]).unwrap();
        assert!(read_records(&path, b"kbother1").is_err());
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let items: Vec<_> = read_records(&path, MAGIC).unwrap().collect();
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err(), "a truncated value is reported");
    }

    #[test]
    fn concurrent_writers_never_leave_a_mixed_or_cut_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        std::thread::scope(|scope| {
            for t in 0..3u8 {
                let path = &path;
                scope.spawn(move || {
                    let value = vec![b'a' + t; 256 * 1024];
                    for _ in 0..40 {
                        write_records(
                            path,
                            b"TEST0001",
                            [(&b"k"[..], &value[..]), (&b"k2"[..], &value[..])],
                        )
                        .unwrap();
                    }
                });
            }
            scope.spawn(|| {
                for _ in 0..200 {
                    let Ok(records) = read_records(&path, b"TEST0001") else {
                        continue; // not written yet
                    };
                    let records: Vec<_> = records.collect::<Result<_, _>>().expect("a whole file");
                    assert_eq!(records.len(), 2);
                    let first = records[0].1[0];
                    assert!(
                        records
                            .iter()
                            .all(|(_, v)| v.len() == 256 * 1024 && v.iter().all(|&b| b == first)),
                        "bytes of two writers in one file"
                    );
                }
            });
        });
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.bin"], "no temp file left");
    }
}
