//! Removing what kb created on the Docker engine: a container, everything of this run at its end
//! (also on failure and Ctrl-C), and what runs that were killed outright left behind — told
//! apart from live runs by the labels naming the process that created each object.

use std::collections::{BTreeSet, HashMap};

use bollard::errors::Error as ApiError;
use bollard::query_parameters as q;

use super::{process_start_time, Engine, LABEL, LABEL_HOST, LABEL_PID, LABEL_RUN, LABEL_STARTED};
use crate::verify::runtime::RuntimeError;

impl Engine {
    /// Remove what kb runs that are gone (killed) left on the engine: their session
    /// containers and whatever their `docker` sessions created. Objects of kb runs that are
    /// still alive, or on other hosts sharing the engine, are left alone.
    pub(crate) async fn sweep_stale(&self) -> Result<usize, RuntimeError> {
        let Labelled {
            containers,
            networks,
            volumes,
            images,
        } = self.labelled(LABEL, "1").await?;
        let all_labels = containers
            .into_iter()
            .filter_map(|c| c.labels)
            .chain(networks.into_iter().filter_map(|n| n.labels))
            .chain(volumes.into_iter().map(|v| v.labels))
            .chain(images.into_iter().map(|i| i.labels));
        let mut dead_runs = BTreeSet::new();
        for labels in all_labels {
            let same_host = labels
                .get(LABEL_HOST)
                .is_some_and(|h| *h == self.owner.host);
            let pid = labels.get(LABEL_PID).and_then(|p| p.parse::<u32>().ok());
            let started = labels.get(LABEL_STARTED).cloned().unwrap_or_default();
            let alive = pid.is_some_and(|p| process_start_time(p).is_some_and(|s| s == started));
            if let Some(run) = labels.get(LABEL_RUN).filter(|_| same_host && !alive) {
                dead_runs.insert(run.clone());
            }
        }
        let mut removed = 0;
        for run in dead_runs {
            removed += self.remove_labelled(LABEL_RUN, &run).await?.len();
        }
        Ok(removed)
    }

    /// Remove everything of this run: its session containers and what its `docker` sessions
    /// created (end of run, failure, Ctrl-C). Returns how many objects.
    pub(crate) async fn remove_run(&self) -> Result<usize, RuntimeError> {
        Ok(self
            .remove_labelled(LABEL_RUN, &self.owner.run)
            .await?
            .len())
    }

    /// Labelled containers of this run still present (tests and sanity checks).
    async fn list_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<bollard::models::ContainerSummary>, RuntimeError> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{key}={value}")])]);
        let opts = q::ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        Ok(self.docker.list_containers(Some(opts)).await?)
    }

    /// Remove a container and its anonymous volumes; a container already gone is fine.
    pub(super) async fn discard_container(&self, id: &str) -> Result<(), RuntimeError> {
        let opts = q::RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self.docker.remove_container(id, Some(opts)).await {
            Ok(()) => Ok(()),
            Err(ApiError::DockerResponseServerError {
                status_code: 404 | 409,
                ..
            }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Every container, network, volume and image on the engine labelled `key=value`.
    async fn labelled(&self, key: &str, value: &str) -> Result<Labelled, RuntimeError> {
        let filters = || HashMap::from([("label".to_string(), vec![format!("{key}={value}")])]);
        Ok(Labelled {
            containers: self.list_labelled(key, value).await?,
            networks: self
                .docker
                .list_networks(Some(q::ListNetworksOptions {
                    filters: Some(filters()),
                }))
                .await?,
            volumes: self
                .docker
                .list_volumes(Some(q::ListVolumesOptions {
                    filters: Some(filters()),
                }))
                .await?
                .volumes
                .unwrap_or_default(),
            images: self
                .docker
                .list_images(Some(q::ListImagesOptions {
                    all: true,
                    filters: Some(filters()),
                    ..Default::default()
                }))
                .await?,
        })
    }

    /// Remove every container, network, volume and image labelled `key=value`: containers
    /// first, then the networks and volumes they used, then images (untagged first; an image
    /// that another container still uses stays). Returns what was removed, for the log.
    pub(crate) async fn remove_labelled(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Vec<String>, RuntimeError> {
        let Labelled {
            containers,
            networks,
            volumes,
            images,
        } = self.labelled(key, value).await?;
        let mut removed = Vec::new();
        for id in containers.into_iter().filter_map(|c| c.id) {
            self.discard_container(&id).await?;
            removed.push(format!("container {}", short(&id)));
        }
        for id in networks.into_iter().filter_map(|n| n.id) {
            ignore_gone(self.docker.remove_network(&id).await)?;
            removed.push(format!("network {}", short(&id)));
        }
        for v in volumes {
            let opts = q::RemoveVolumeOptions { force: true };
            ignore_gone(self.docker.remove_volume(&v.name, Some(opts)).await)?;
            removed.push(format!("volume {}", short(&v.name)));
        }
        for image in images {
            // Untag first, then remove the image itself. Never forced: an image another
            // container still uses stays (409).
            for name in image
                .repo_tags
                .iter()
                .filter(|t| *t != "<none>:<none>")
                .chain(std::iter::once(&image.id))
            {
                let opts = q::RemoveImageOptions {
                    force: false,
                    ..Default::default()
                };
                match self.docker.remove_image(name, Some(opts), None).await {
                    Ok(_)
                    | Err(ApiError::DockerResponseServerError {
                        status_code: 404 | 409,
                        ..
                    }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            removed.push(format!("image {}", short(&image.id)));
        }
        Ok(removed)
    }
}

/// What [`Engine::labelled`] found.
struct Labelled {
    containers: Vec<bollard::models::ContainerSummary>,
    networks: Vec<bollard::models::Network>,
    volumes: Vec<bollard::models::Volume>,
    images: Vec<bollard::models::ImageSummary>,
}

/// A removal that found the object already gone is a success.
fn ignore_gone(r: Result<(), ApiError>) -> Result<(), RuntimeError> {
    match r {
        Ok(())
        | Err(ApiError::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

fn short(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}
