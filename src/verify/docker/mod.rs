//! The Docker engine, as `kb verify` uses it: connecting, this run's identity and labels, images.
//! Session containers (the [`ContainerRuntime`](super::runtime::ContainerRuntime) side) are in
//! `container.rs`, removal and the sweep of a killed run's leftovers in `cleanup.rs`.
//!
//! Everything goes through the engine API (bollard), so any Docker-compatible engine works:
//! `DOCKER_HOST` is honoured, Podman's socket is found when no Docker socket exists, and the API
//! version is negotiated (Debian's docker.io 20.10 speaks 1.41). Every container kb creates
//! carries labels naming kb, the run and the process that created it, which is what lets a run
//! remove its own containers on any exit path and lets the next run sweep away the containers of
//! a run that was killed outright.

mod cleanup;
mod container;
mod shell;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bollard::errors::Error as ApiError;
use bollard::query_parameters as q;
use bollard::Docker;
use futures_util::StreamExt;

use super::attach::Endpoint;
use super::proxy::SESSION_LABEL;
use super::runtime::RuntimeError;

/// Label on every container kb creates.
pub(crate) const LABEL: &str = "kb.verify";
/// Label with the run id (removal at the end of a run).
const LABEL_RUN: &str = "kb.run";
/// Labels naming the creating process, so a later run can tell a dead run's leftovers.
const LABEL_HOST: &str = "kb.host";
const LABEL_PID: &str = "kb.pid";
const LABEL_STARTED: &str = "kb.pid-started";
/// Label with the knowledge base root, to find a run's containers from outside.
pub(crate) const LABEL_ROOT: &str = "kb.root";
/// Label on images kb builds from `snippets/images/NAME`.
pub(crate) const LABEL_IMAGE: &str = "kb.image";

/// PID 1 of a session container: sleeps until `docker stop`, reaping whatever it adopts.
const KEEP_ALIVE: &str = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait; done";

/// How much of a build log an error shows.
const BUILD_LOG_TAIL: usize = 25;

/// Identity of this kb process, written into labels.
#[derive(Debug, Clone)]
struct Owner {
    run: String,
    host: String,
    pid: u32,
    started: String,
    root: String,
}

/// A connected engine.
#[derive(Clone)]
pub(crate) struct Engine {
    docker: Docker,
    /// Where the engine is, for messages.
    host: String,
    /// Host path of the engine's Unix socket (mounted into `docker` sessions).
    socket: Option<PathBuf>,
    /// Where kb opens its own connections for exec output (see [`super::attach`]).
    endpoint: Option<Endpoint>,
    owner: std::sync::Arc<Owner>,
    /// Output cap per exec, in bytes.
    output_cap: usize,
    /// CPUs of the engine's host: a `cpus` limit above it is lowered to it (the engine refuses
    /// more than it has). `None` when the engine does not say.
    ncpu: Option<i64>,
}

/// Every engine error not sorted into a kind of its own.
impl From<ApiError> for RuntimeError {
    fn from(e: ApiError) -> Self {
        RuntimeError::Api(Box::new(e))
    }
}

impl Engine {
    /// Connect (DOCKER_HOST, else the default socket, else Podman's), negotiate the API version
    /// and check that the engine answers. `root` (the knowledge base) goes into the labels.
    pub(crate) async fn connect(root: &Path) -> Result<Engine, RuntimeError> {
        let (host, docker) = match std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
            Some(h) => (h.clone(), Docker::connect_with_host(&h)),
            None => {
                let socket = default_socket();
                let host = format!("unix://{}", socket.display());
                (host.clone(), Docker::connect_with_host(&host))
            }
        };
        let unavailable = |source: ApiError| RuntimeError::Unavailable {
            host: host.clone(),
            source: Box::new(source),
        };
        let docker = docker.map_err(unavailable)?;
        let docker = docker.negotiate_version().await.map_err(unavailable)?;
        docker.ping().await.map_err(unavailable)?;
        let ncpu = docker.info().await.ok().and_then(|i| i.ncpu);
        let socket = host.strip_prefix("unix://").map(PathBuf::from);
        let endpoint = Endpoint::parse(&host);
        let pid = std::process::id();
        let owner = Owner {
            run: format!("{pid}-{}", chrono::Utc::now().timestamp_millis()),
            host: hostname(),
            pid,
            started: process_start_time(pid).unwrap_or_default(),
            root: root.display().to_string(),
        };
        Ok(Engine {
            docker,
            host,
            socket,
            endpoint,
            owner: std::sync::Arc::new(owner),
            output_cap: 1 << 20,
            ncpu,
        })
    }

    /// The image id of `reference`, if the engine has it.
    pub(crate) async fn image_id(&self, reference: &str) -> Result<Option<String>, RuntimeError> {
        match self.docker.inspect_image(reference).await {
            Ok(i) => Ok(i.id),
            Err(ApiError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Make sure an image reference exists locally, pulling it if needed; returns its id.
    pub(crate) async fn ensure_reference(&self, reference: &str) -> Result<String, RuntimeError> {
        if let Some(id) = self.image_id(reference).await? {
            return Ok(id);
        }
        let opts = q::CreateImageOptions {
            from_image: Some(reference.to_string()),
            ..Default::default()
        };
        let mut stream = self.docker.create_image(Some(opts), None, None);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                return Err(RuntimeError::ImageUnavailable {
                    reference: reference.to_string(),
                    message: e.to_string(),
                });
            }
        }
        self.image_id(reference)
            .await?
            .ok_or_else(|| RuntimeError::ImageUnavailable {
                reference: reference.to_string(),
                message: "the pull finished but the image is not there".into(),
            })
    }

    /// Build `dir` (a `snippets/images/NAME` directory) as `tag`; `progress` sees each log line.
    /// Returns the image id.
    pub(crate) async fn build(
        &self,
        name: &str,
        dir: &Path,
        tag: &str,
        progress: &(dyn Fn(&str) + Sync),
    ) -> Result<String, RuntimeError> {
        let context =
            crate::verify::tar::archive_dir(dir).map_err(|e| RuntimeError::BuildFailed {
                image: format!("snippets/images/{name}"),
                message: format!("{e:#}"),
                log_tail: String::new(),
            })?;
        let opts = q::BuildImageOptions {
            t: Some(tag.to_string()),
            rm: true,
            forcerm: true,
            labels: Some(HashMap::from([(LABEL_IMAGE.to_string(), name.to_string())])),
            ..Default::default()
        };
        let mut log: Vec<String> = Vec::new();
        let mut stream =
            self.docker
                .build_image(opts, None, Some(bollard::body_full(context.into())));
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(s) = info.stream {
                        for line in s.lines().filter(|l| !l.trim().is_empty()) {
                            progress(line);
                            log.push(line.to_string());
                        }
                    }
                }
                Err(e) => {
                    let message = match e {
                        ApiError::DockerStreamError { error } => error,
                        other => other.to_string(),
                    };
                    let tail = log[log.len().saturating_sub(BUILD_LOG_TAIL)..].join("\n");
                    return Err(RuntimeError::BuildFailed {
                        image: format!("snippets/images/{name}"),
                        message,
                        log_tail: tail,
                    });
                }
            }
        }
        self.image_id(tag)
            .await?
            .ok_or_else(|| RuntimeError::BuildFailed {
                image: format!("snippets/images/{name}"),
                message: "the build finished but produced no image".into(),
                log_tail: log[log.len().saturating_sub(BUILD_LOG_TAIL)..].join("\n"),
            })
    }

    /// The labels of everything a `docker` session `session` creates through its proxy: this
    /// run's (so the end of the run and the next run's sweep find them) and the session's own.
    fn docker_session_labels(&self, session: &str) -> HashMap<String, String> {
        let mut labels = self.owner_labels();
        labels.insert(SESSION_LABEL.to_string(), session.to_string());
        labels
    }

    /// Host path of the engine's Unix socket, which `docker` sessions' proxies forward to.
    fn socket(&self) -> Result<&Path, RuntimeError> {
        self.socket.as_deref().ok_or_else(|| RuntimeError::Exited {
            status: -1,
            output: format!(
                "`docker` sessions need an engine on a Unix socket; DOCKER_HOST is {}",
                self.host
            ),
        })
    }

    fn owner_labels(&self) -> HashMap<String, String> {
        let o = &self.owner;
        HashMap::from([
            (LABEL.to_string(), "1".to_string()),
            (LABEL_RUN.to_string(), o.run.clone()),
            (LABEL_HOST.to_string(), o.host.clone()),
            (LABEL_PID.to_string(), o.pid.to_string()),
            (LABEL_STARTED.to_string(), o.started.clone()),
            (LABEL_ROOT.to_string(), o.root.clone()),
        ])
    }
}

/// The Docker socket, or Podman's when only that exists.
fn default_socket() -> PathBuf {
    let docker = PathBuf::from("/var/run/docker.sock");
    if docker.exists() {
        return docker;
    }
    let mut podman = Vec::new();
    if let Ok(dir) = std::env::var("XDG_RUNTIME_DIR") {
        podman.push(Path::new(&dir).join("podman/podman.sock"));
    }
    podman.push(PathBuf::from("/run/podman/podman.sock"));
    podman.into_iter().find(|p| p.exists()).unwrap_or(docker)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// A process's start time (clock ticks since boot, from /proc), which together with the pid
/// identifies a process even after pid reuse. `None` when the process does not exist.
fn process_start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at field 3; starttime is 22.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

/// Captured bytes as text: lossy UTF-8, `\r\n` -> `\n`, a note when the cap dropped bytes.
fn finish_output(buf: &[u8], dropped: usize) -> String {
    let mut s = crate::verify::matcher::normalize_newlines(&String::from_utf8_lossy(buf));
    if dropped > 0 {
        s.push_str(&format!("\n[kb: output truncated, {dropped} more bytes]\n"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_has_a_start_time() {
        let me = process_start_time(std::process::id());
        assert!(me.is_some_and(|s| s.parse::<u64>().is_ok()));
        assert_eq!(process_start_time(u32::MAX), None);
    }
}
