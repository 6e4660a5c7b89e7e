//! Build into a temp dir beside the output dir, then swap it into place.
//!
//! The temp dir lives in the output's parent so the final step is a rename on one file
//! system. Until [`Staging::commit`] runs, the previous site is untouched; dropping an
//! uncommitted staging dir removes it.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// A directory being filled with the next version of the site.
pub struct Staging {
    dir: Option<tempfile::TempDir>,
    out: PathBuf,
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
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.as_ref().map(|d| d.path()).unwrap_or(&self.out)
    }

    /// Replace `out` with the staged directory.
    pub fn commit(mut self) -> anyhow::Result<()> {
        let Some(dir) = self.dir.take() else {
            return Ok(());
        };
        let staged = dir.keep();
        let old = if self.out.exists() {
            let parent = self
                .out
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let old = tempfile::Builder::new()
                .prefix(".kb-old-")
                .tempdir_in(parent)?
                .keep();
            let old_site = old.join("site");
            std::fs::rename(&self.out, &old_site).with_context(|| {
                format!("couldn't move the previous `{}` aside", self.out.display())
            })?;
            Some(old)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&staged, &self.out) {
            // Put the previous site back before reporting.
            if let Some(old) = &old {
                let _ = std::fs::rename(old.join("site"), &self.out);
                let _ = std::fs::remove_dir_all(old);
            }
            let _ = std::fs::remove_dir_all(&staged);
            return Err(e).with_context(|| {
                format!("couldn't move the new site into `{}`", self.out.display())
            });
        }
        if let Some(old) = old {
            remove_dir_parallel(&old);
        }
        Ok(())
    }
}

/// Remove a directory tree, spreading the subdirectories of each top-level directory over the
/// rayon pool: a 10,000-note site has 10,000 directories under `notes/`, and unlinking them
/// one by one is a large part of a rebuild. Best effort: what can't be removed stays.
fn remove_dir_parallel(dir: &Path) {
    use rayon::prelude::*;
    let children = |d: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let grandchildren: Vec<PathBuf> = children(dir)
        .iter()
        .filter(|p| p.is_dir())
        .flat_map(|p| children(p))
        .collect();
    grandchildren.par_iter().for_each(|p| {
        let _ = if p.is_dir() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
    });
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_keeps_the_previous_site() {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("public");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("old.html"), "old").unwrap();

        let s = Staging::new(&out).unwrap();
        std::fs::write(s.path().join("new.html"), "new").unwrap();
        drop(s); // a failed build
        assert!(out.join("old.html").exists());
        assert_eq!(
            std::fs::read_dir(root.path()).unwrap().count(),
            1,
            "no staging dir left behind"
        );

        let s = Staging::new(&out).unwrap();
        std::fs::write(s.path().join("new.html"), "new").unwrap();
        s.commit().unwrap();
        assert!(out.join("new.html").exists() && !out.join("old.html").exists());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
