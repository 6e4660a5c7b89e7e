//! The output directory: which ones kb refuses to build into, the manifest of the files kb wrote
//! there, and the lock that keeps two builds of one output apart.
//!
//! kb removes or replaces only files it wrote itself. Every build leaves a manifest
//! ([`MANIFEST`]) in the output listing its files; the next build may drop or replace exactly
//! those, and carries every other file (a hand-placed `robots.txt`, a `CNAME`) into the new
//! site. A directory that holds files but no manifest was not made by kb: it is refused, as are
//! the knowledge base root, a directory containing it, and anything that is, contains or lies
//! inside `content/`.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Component, Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// File name of the manifest inside the output directory.
pub const MANIFEST: &str = ".kb-manifest.json";

/// Format version written in the manifest.
const MANIFEST_VERSION: u32 = 1;

/// Directories an output directory must keep away from.
#[derive(Debug, Clone, Copy)]
pub struct Protected<'a> {
    /// The knowledge base root.
    pub root: &'a Path,
    /// Its `content/` directory.
    pub content: &'a Path,
}

/// What the previous build wrote into the output directory.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_VERSION`].
    kb_manifest: u32,
    /// Site-relative paths with `/`, sorted.
    files: Vec<String>,
    #[serde(skip)]
    set: HashSet<String>,
}

impl Manifest {
    /// A manifest listing `files`.
    pub fn new(mut files: Vec<String>) -> Manifest {
        files.sort_unstable();
        Manifest {
            kb_manifest: MANIFEST_VERSION,
            files,
            set: HashSet::new(),
        }
    }

    /// Whether the previous build wrote `rel`.
    pub fn contains(&self, rel: &str) -> bool {
        self.set.contains(rel)
    }

    /// The files it lists.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn read(path: &Path) -> anyhow::Result<Manifest> {
        let bytes =
            std::fs::read(path).with_context(|| format!("couldn't read `{}`", path.display()))?;
        let mut m: Manifest = serde_json::from_slice(&bytes)
            .ok()
            .filter(|m: &Manifest| m.kb_manifest == MANIFEST_VERSION)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "`{}` is not a manifest kb can read, so kb cannot tell which files it wrote there\n  \
                     hint: if the directory holds only a site kb built, delete it yourself and build again",
                    path.display()
                )
            })?;
        m.set = m.files.iter().cloned().collect();
        Ok(m)
    }
}

/// An output directory kb may build into, locked for this build.
#[derive(Debug)]
pub struct OutDir {
    /// Absolute, with symlinks resolved: the directory that is replaced.
    pub path: PathBuf,
    /// Its parent (where the staging directory goes, on the same file system).
    pub parent: PathBuf,
    /// Its file name.
    pub name: String,
    /// `None` when the directory does not exist yet; an empty manifest when it is empty.
    pub previous: Option<Manifest>,
    /// Unix permissions the new site's top directory gets (the old one's, else 0755).
    pub mode: u32,
    /// The directory is a mount point: it cannot be swapped, only updated in place.
    pub is_mount_point: bool,
    /// Held until the build ends: a second build of the same output waits.
    _lock: File,
}

impl OutDir {
    /// Check that kb may build into `out`, lock it, and clean what killed builds left beside
    /// it. Errors say why the directory is refused and what to pass instead.
    pub fn claim(out: &Path, protect: Protected) -> anyhow::Result<OutDir> {
        let path = resolve(out)?;
        let root = protect
            .root
            .canonicalize()
            .unwrap_or_else(|_| protect.root.to_path_buf());
        let content = protect
            .content
            .canonicalize()
            .unwrap_or_else(|_| protect.content.to_path_buf());
        let refuse = |why: &str| -> anyhow::Result<OutDir> {
            bail!(
                "refusing to build into `{}`: {why}\n  hint: pass an output directory of its own, e.g. `--out public`; \
                 kb replaces the files it wrote there and keeps everything else",
                out.display()
            )
        };
        if path == root {
            return refuse("it is the knowledge base root");
        }
        if root.starts_with(&path) {
            return refuse("it contains the knowledge base root");
        }
        if path.starts_with(&content) {
            return refuse("it is inside content/, which holds the notes");
        }
        if content.starts_with(&path) {
            return refuse("it contains content/, which holds the notes");
        }
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return refuse("it has no parent directory");
        };
        let (parent, name) = (parent.to_path_buf(), name.to_string_lossy().into_owned());
        std::fs::create_dir_all(&parent).with_context(|| {
            format!(
                "couldn't create `{}`; check the --out path and permissions",
                parent.display()
            )
        })?;
        let lock =
            File::open(&parent).with_context(|| format!("couldn't open `{}`", parent.display()))?;
        lock.lock()
            .with_context(|| format!("couldn't lock `{}`", parent.display()))?;
        let (previous, mode) = match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, 0o755),
            Err(e) => return Err(e).with_context(|| format!("couldn't read `{}`", path.display())),
            Ok(m) if !m.is_dir() => {
                return refuse("it exists and is not a directory");
            }
            Ok(m) => (Some(previous_manifest(&path, out)?), mode_of(&m)),
        };
        remove_leftovers(&parent, &name);
        let is_mount_point = previous.is_some() && is_mount_point(&path);
        Ok(OutDir {
            is_mount_point,
            path,
            parent,
            name,
            previous,
            mode,
            _lock: lock,
        })
    }

    /// Prefix of the directories a build of this output makes beside it (staging, and the old
    /// site on file systems without an atomic exchange).
    pub fn temp_prefix(&self, kind: TempKind) -> String {
        format!(".{}.kb-{}-", self.name, kind.as_str())
    }
}

/// The two kinds of directory a build makes beside the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TempKind {
    /// The next site, being written.
    New,
    /// The previous site, moved aside to be deleted.
    Old,
}

impl TempKind {
    fn as_str(self) -> &'static str {
        match self {
            TempKind::New => "new",
            TempKind::Old => "old",
        }
    }
}

/// The previous build's manifest, an empty one for an empty directory, or an error for a
/// directory kb did not make.
fn previous_manifest(path: &Path, shown: &Path) -> anyhow::Result<Manifest> {
    let manifest = path.join(MANIFEST);
    if manifest.exists() {
        return Manifest::read(&manifest);
    }
    let mut names: Vec<String> = std::fs::read_dir(path)
        .with_context(|| format!("couldn't list `{}`", path.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if names.is_empty() {
        return Ok(Manifest::new(vec![]));
    }
    names.sort();
    let shown_names: Vec<String> = names.iter().take(3).map(|n| format!("`{n}`")).collect();
    bail!(
        "refusing to build into `{}`: it holds files kb did not write ({}{}) and no {MANIFEST} from an earlier build\n  \
         hint: pass an empty or new directory (e.g. `--out public`); if this is a site an older kb built, delete it yourself first",
        shown.display(),
        shown_names.join(", "),
        if names.len() > 3 {
            format!(" and {} more", names.len() - 3)
        } else {
            String::new()
        }
    )
}

/// `out` made absolute, `.` and `..` applied, and symlinks resolved as far as the path exists.
fn resolve(out: &Path) -> anyhow::Result<PathBuf> {
    let abs = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir()
            .context("couldn't read the current directory")?
            .join(out)
    };
    // resolve the longest existing prefix through the file system, then append the rest
    let mut existing = abs.clone();
    let mut rest: Vec<std::ffi::OsString> = vec![];
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut p = real;
            for part in rest.iter().rev() {
                let c = Path::new(part);
                match c.components().next() {
                    Some(Component::ParentDir) => {
                        p.pop();
                    }
                    Some(Component::CurDir) | None => {}
                    _ => p.push(part),
                }
            }
            return Ok(p);
        }
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => {
                // `..` or `.` at the end of a path that does not exist: apply it lexically
                let last = existing.components().next_back();
                match (last, existing.parent()) {
                    (Some(Component::ParentDir), Some(parent)) => {
                        rest.push("..".into());
                        existing = parent.to_path_buf();
                    }
                    (Some(Component::CurDir), Some(parent)) => existing = parent.to_path_buf(),
                    _ => bail!("couldn't resolve the output path `{}`", out.display()),
                }
            }
        }
    }
}

/// Remove the staging and old-site directories of builds of this output that were killed. Only
/// called with the lock held, so no running build owns them.
fn remove_leftovers(parent: &Path, name: &str) {
    let prefixes = [
        format!(".{name}.kb-{}-", TempKind::New.as_str()),
        format!(".{name}.kb-{}-", TempKind::Old.as_str()),
    ];
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        let file_name = e.file_name();
        let n = file_name.to_string_lossy();
        if prefixes.iter().any(|p| n.starts_with(p.as_str()))
            && e.file_type().is_ok_and(|t| t.is_dir())
        {
            match std::fs::remove_dir_all(e.path()) {
                Ok(()) => tracing::info!(
                    "removed `{}`, left by a build that was stopped",
                    e.path().display()
                ),
                Err(err) => tracing::warn!(
                    "couldn't remove `{}`, left by a build that was stopped: {err}",
                    e.path().display()
                ),
            }
        }
    }
}

/// Whether `path` (canonical) is where a file system is mounted, from /proc/self/mountinfo
/// (Linux; `false` elsewhere). Bind mounts count: nothing can be renamed or linked across them.
fn is_mount_point(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|mount| Path::new(&unescape_mountinfo(mount)) == path)
}

/// mountinfo writes space, tab, newline and backslash in paths as `\ooo` octal escapes.
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(unix)]
fn mode_of(m: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o755
}

#[cfg(test)]
mod tests {
    #[test]
    fn mountinfo_escapes_are_read() {
        assert_eq!(
            super::unescape_mountinfo("/srv/my\\040site"),
            "/srv/my site"
        );
        assert_eq!(super::unescape_mountinfo("/a\\134b"), "/a\\b");
        assert_eq!(super::unescape_mountinfo("/plain"), "/plain");
    }
}
