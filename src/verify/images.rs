//! The images sessions run in: `snippets/images/NAME` directories, tagged by a hash of their
//! contents and built when that tag is missing, and any other reference, pulled when missing.
//! Problems are per image — the sessions using a broken image fail, the others run — and a build
//! failure's log tail is printed once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::docker::Engine;
use super::runtime::RuntimeError;
use super::session::{ImageRef, Session};
use super::text::escape_controls;

/// A session's image, ready to run (or why not).
#[derive(Debug, Clone)]
pub(crate) struct ReadyImage {
    /// Reference to create containers from (`kb-go:1a2b3c4d5e6f`, `debian:bookworm-slim`).
    pub(crate) reference: String,
    /// The image id (part of the cache key).
    pub(crate) id: String,
}

/// An image as found before building: the reference to run (the content-hash tag of a
/// `snippets/images` image) and its id when the engine already has it.
pub(crate) struct KnownImage {
    pub(crate) reference: String,
    pub(crate) id: Option<String>,
}

/// What each session's image is: the reference to run (for `snippets/images/NAME`, the tag of
/// its current contents) and its id when the engine already has it. Failures are per image.
pub(crate) async fn look_up(
    engine: &Engine,
    sessions: &[&Session],
    root: &Path,
) -> HashMap<ImageRef, Result<KnownImage, String>> {
    let mut known: HashMap<ImageRef, Result<KnownImage, String>> = HashMap::new();
    for s in sessions {
        if known.contains_key(&s.image) {
            continue;
        }
        let reference = match &s.image {
            ImageRef::Local(name) => local_image_tag(name, &image_dir(root, name))
                .map_err(|e| format!("snippets/images/{name}: {e:#}")),
            ImageRef::Reference(r) => Ok(r.clone()),
        };
        let info = match reference {
            Ok(reference) => match engine.image_id(&reference).await {
                Ok(id) => Ok(KnownImage { reference, id }),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e),
        };
        known.insert(s.image.clone(), info);
    }
    known
}

/// Build (or find) every image the sessions to run need. Failures are per image, so the
/// sessions using a broken image fail and the others run.
pub(crate) async fn prepare(
    engine: &Engine,
    to_run: &[&Session],
    known: &HashMap<ImageRef, Result<KnownImage, String>>,
    root: &Path,
    progress: &indicatif::ProgressBar,
) -> HashMap<ImageRef, Result<ReadyImage, String>> {
    let mut ready = HashMap::new();
    for s in to_run {
        if ready.contains_key(&s.image) {
            continue;
        }
        let result = match (&s.image, known.get(&s.image)) {
            (_, Some(Err(e))) => Err((e.clone(), e.clone())),
            (
                _,
                Some(Ok(KnownImage {
                    reference,
                    id: Some(id),
                })),
            ) => Ok(ReadyImage {
                reference: reference.clone(),
                id: id.clone(),
            }),
            (
                ImageRef::Local(name),
                Some(Ok(KnownImage {
                    reference: tag,
                    id: None,
                })),
            ) => {
                progress.set_message(format!("building snippets/images/{name}"));
                tracing::info!("building snippets/images/{name} as {tag}");
                let p = progress.clone();
                let log =
                    move |line: &str| p.set_message(format!("building {name}: {}", line.trim()));
                engine
                    .build(name, &image_dir(root, name), tag, &log)
                    .await
                    .map(|id| ReadyImage {
                        reference: tag.clone(),
                        id,
                    })
                    .map_err(|e| image_error(e, &s.image))
            }
            (ImageRef::Reference(r), _) => engine
                .ensure_reference(r)
                .await
                .map(|id| ReadyImage {
                    reference: r.clone(),
                    id,
                })
                .map_err(|e| image_error(e, &s.image)),
            (ImageRef::Local(name), None) => {
                let e = format!("snippets/images/{name} was not looked at");
                Err((e.clone(), e))
            }
        };
        let result = result.map_err(|(short, long)| {
            // The full story (build log tail, hint) once; each affected block names the image.
            // The build log is the container's output: escaped like every report.
            progress.suspend(|| crate::errln!("kb: {}", escape_controls(&long)));
            short
        });
        ready.insert(s.image.clone(), result);
    }
    ready
}

/// An image problem: a short message for each affected block, and the long one (build log
/// tail, hint) printed once.
fn image_error(e: RuntimeError, image: &ImageRef) -> (String, String) {
    match e {
        RuntimeError::BuildFailed { image, message, log_tail } => {
            let tail: String = log_tail.lines().map(|l| format!("\n    | {l}")).collect();
            (
                format!("{image} failed to build: {message} (build log above)"),
                format!("{image} failed to build: {message}\n  last lines of the build log:{tail}\n  hint: fix {image}/Dockerfile; `docker build {image}` shows the whole log"),
            )
        }
        RuntimeError::ImageUnavailable { reference, message } => (
            format!("image `{reference}` is not available (see above)"),
            format!("image `{reference}` is neither snippets/images/{reference}/Dockerfile nor available to the engine ({message})\n  hint: create snippets/images/{reference}/Dockerfile, or pull or build the image first"),
        ),
        other => {
            let e = format!("image {image}: {other}");
            (e.clone(), e)
        }
    }
}

/// The tag kb gives the image built from `snippets/images/NAME`: the name plus a hash of the
/// directory's contents, so an edited Dockerfile builds anew and an unchanged one never does.
pub(crate) fn local_image_tag(name: &str, dir: &Path) -> anyhow::Result<String> {
    let context = super::tar::archive_dir(dir)?;
    let hash = blake3::hash(&context).to_hex();
    let repo: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    Ok(format!("kb-{repo}:{}", &hash[..12]))
}

/// The directory of `snippets/images/NAME`.
fn image_dir(root: &Path, name: &str) -> PathBuf {
    root.join("snippets/images").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_image_tag_is_a_valid_reference_and_follows_the_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM debian:bookworm-slim\n").unwrap();
        let a = local_image_tag("Go_1", dir.path()).unwrap();
        assert!(
            a.starts_with("kb-go_1:") && a.len() == "kb-go_1:".len() + 12,
            "{a}"
        );
        assert_eq!(
            a,
            local_image_tag("Go_1", dir.path()).unwrap(),
            "same content, same tag"
        );
        std::fs::write(
            dir.path().join("Dockerfile"),
            "FROM debian:bookworm-slim\nRUN true\n",
        )
        .unwrap();
        assert_ne!(a, local_image_tag("Go_1", dir.path()).unwrap());
    }
}
