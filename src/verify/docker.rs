//! The Docker engine, as `kb verify` uses it: images, session containers, execs, cleanup.
//!
//! Everything goes through the engine API (bollard), so any Docker-compatible engine works:
//! `DOCKER_HOST` is honoured, Podman's socket is found when no Docker socket exists, and the API
//! version is negotiated (Debian's docker.io 20.10 speaks 1.41). Every container kb creates
//! carries labels naming kb, the run and the process that created it, which is what lets a run
//! remove its own containers on any exit path and lets the next run sweep away the containers of
//! a run that was killed outright.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::errors::Error as ApiError;
use bollard::exec::CreateExecOptions;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters as q;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::attach::{self, Endpoint};

use super::plan::ContainerSpec;
use crate::snippet::Network;

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

/// Engine errors a caller branches on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DockerError {
    /// No engine answers.
    #[error("the Docker engine at {host} is not reachable")]
    Unavailable {
        host: String,
        #[source]
        source: ApiError,
    },
    /// `snippets/images/NAME` did not build; `log_tail` is the end of the build output.
    #[error("image {image} failed to build: {message}")]
    BuildFailed {
        image: String,
        message: String,
        log_tail: String,
    },
    /// An image reference that is neither local nor pullable.
    #[error("image `{reference}` is not available locally and could not be pulled: {message}")]
    ImageUnavailable { reference: String, message: String },
    /// A command ran past its deadline; its container has been removed.
    #[error("timed out after {}", super::report::human_duration(*after))]
    Timeout {
        after: Duration,
        partial: String,
        /// Processes in the container when it was stopped, if the engine said.
        pids: Option<u64>,
    },
    /// The session container stopped by itself (its image lacks `sh`, say).
    #[error("the session container exited with status {status}: {output}")]
    Exited { status: i64, output: String },
    /// The command's output stream could not be opened or broke off.
    #[error("couldn't read the command's output from the engine: {0}")]
    Stream(String),
    /// Any other engine error.
    #[error("Docker engine request failed: {0}")]
    Api(#[from] ApiError),
}

/// What one exec printed and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct ExecResult {
    /// Output as a terminal shows it (stdout and stderr interleaved), `\r\n` normalised, capped.
    pub(crate) output: String,
    pub(crate) exit: i64,
}

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
    pub(crate) host: String,
    /// Host path of the engine's Unix socket (mounted into `docker` sessions).
    socket: Option<PathBuf>,
    /// Where kb opens its own connections for exec output (see [`attach`]).
    endpoint: Option<Endpoint>,
    owner: std::sync::Arc<Owner>,
    /// Output cap per exec, in bytes.
    output_cap: usize,
    /// CPUs of the engine's host: a `cpus` limit above it is lowered to it (the engine refuses
    /// more than it has). `None` when the engine does not say.
    ncpu: Option<i64>,
}

/// How often a session's container ran into its limits so far (cgroup counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct LimitHits {
    /// Processes the kernel killed for the memory limit.
    pub(crate) oom_kills: u64,
    /// Forks refused by the pids limit.
    pub(crate) pids_refused: u64,
    /// The container was at its pids limit when looked at.
    pub(crate) pids_full: bool,
}

/// Reads the memory and pids counters of the container's own cgroup with shell builtins only
/// (any image with `sh` can run it): cgroup v1 (`memory.oom_control`, `pids/pids.events`) and
/// v2 (`memory.events`, `pids.events`).
const READ_LIMIT_COUNTERS: &str = "for f in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events /sys/fs/cgroup/pids/pids.events /sys/fs/cgroup/pids.events; do [ -r \"$f\" ] && while read -r k v; do echo \"${f##*/} $k $v\"; done < \"$f\"; done; true";

fn parse_limit_counters(text: &str) -> LimitHits {
    let mut hits = LimitHits::default();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(file), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(n) = value.parse::<u64>() else {
            continue;
        };
        match (file, key) {
            ("memory.oom_control" | "memory.events", "oom_kill") => hits.oom_kills += n,
            ("pids.events", "max") => hits.pids_refused += n,
            _ => {}
        }
    }
    hits
}

impl Engine {
    /// Connect (DOCKER_HOST, else the default socket, else Podman's), negotiate the API version
    /// and check that the engine answers. `root` (the knowledge base) goes into the labels.
    pub(crate) async fn connect(root: &Path) -> Result<Engine, DockerError> {
        let (host, docker) = match std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()) {
            Some(h) => (h.clone(), Docker::connect_with_host(&h)),
            None => {
                let socket = default_socket();
                let host = format!("unix://{}", socket.display());
                (host.clone(), Docker::connect_with_host(&host))
            }
        };
        let unavailable = |source| DockerError::Unavailable {
            host: host.clone(),
            source,
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

    /// Remove what kb runs that are gone (killed) left on the engine: their session
    /// containers and whatever their `docker` sessions created. Objects of kb runs that are
    /// still alive, or on other hosts sharing the engine, are left alone.
    pub(crate) async fn sweep_stale(&self) -> Result<usize, DockerError> {
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
    pub(crate) async fn remove_run(&self) -> Result<usize, DockerError> {
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
    ) -> Result<Vec<bollard::models::ContainerSummary>, DockerError> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{key}={value}")])]);
        let opts = q::ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        };
        Ok(self.docker.list_containers(Some(opts)).await?)
    }

    /// The image id of `reference`, if the engine has it.
    pub(crate) async fn image_id(&self, reference: &str) -> Result<Option<String>, DockerError> {
        match self.docker.inspect_image(reference).await {
            Ok(i) => Ok(i.id),
            Err(ApiError::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Make sure an image reference exists locally, pulling it if needed; returns its id.
    pub(crate) async fn ensure_reference(&self, reference: &str) -> Result<String, DockerError> {
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
                return Err(DockerError::ImageUnavailable {
                    reference: reference.to_string(),
                    message: e.to_string(),
                });
            }
        }
        self.image_id(reference)
            .await?
            .ok_or_else(|| DockerError::ImageUnavailable {
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
    ) -> Result<String, DockerError> {
        let context = super::tar::archive_dir(dir).map_err(|e| DockerError::BuildFailed {
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
                    return Err(DockerError::BuildFailed {
                        image: format!("snippets/images/{name}"),
                        message,
                        log_tail: tail,
                    });
                }
            }
        }
        self.image_id(tag)
            .await?
            .ok_or_else(|| DockerError::BuildFailed {
                image: format!("snippets/images/{name}"),
                message: "the build finished but produced no image".into(),
                log_tail: log[log.len().saturating_sub(BUILD_LOG_TAIL)..].join("\n"),
            })
    }

    /// Create and start a session container: the keep-alive as PID 1 (the image's entrypoint is
    /// bypassed), work dir `/work`, kb's labels, the session's capabilities, sysctls and network.
    pub(crate) async fn create_session(
        &self,
        image: &str,
        spec: &ContainerSpec,
        name_hint: &str,
        seq: usize,
        docker_socket: Option<&Path>,
    ) -> Result<String, DockerError> {
        let mut labels = self.owner_labels();
        labels.insert("kb.session".to_string(), name_hint.to_string());
        let binds =
            docker_socket.map(|sock| vec![format!("{}:/var/run/docker.sock", sock.display())]);
        let host_config = HostConfig {
            cap_add: (!spec.caps.is_empty()).then(|| spec.caps.iter().cloned().collect()),
            sysctls: (!spec.sysctls.is_empty()).then(|| spec.sysctls.clone().into_iter().collect()),
            privileged: spec.privileged.then_some(true),
            network_mode: Some(match spec.network {
                Network::None => "none".into(),
                Network::Bridge => "bridge".into(),
            }),
            binds,
            auto_remove: Some(false),
            pids_limit: Some(i64::from(spec.limits.pids)),
            memory: Some(spec.limits.memory as i64),
            // Swap counted in the same limit: a leak is stopped, not paged out for minutes.
            memory_swap: Some(spec.limits.memory as i64),
            nano_cpus: Some(self.nano_cpus(spec.limits.millicpus)),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(vec!["sh".into(), "-c".into(), KEEP_ALIVE.into()]),
            cmd: Some(vec!["kb-session".into()]),
            working_dir: Some("/work".into()),
            labels: Some(labels),
            host_config: Some(host_config),
            ..Default::default()
        };
        let opts = q::CreateContainerOptions {
            name: Some(format!("kb-{}-{seq}", self.owner.run)),
            ..Default::default()
        };
        let id = self.docker.create_container(Some(opts), body).await?.id;
        if let Err(e) = self
            .docker
            .start_container(&id, None::<q::StartContainerOptions>)
            .await
        {
            let _ = self.remove_container(&id).await;
            return Err(e.into());
        }
        Ok(id)
    }

    /// The CPU limit as the engine takes it, lowered to the engine's CPU count.
    fn nano_cpus(&self, millicpus: u32) -> i64 {
        let wanted = i64::from(millicpus) * 1_000_000;
        match self.ncpu.filter(|&n| n > 0) {
            Some(n) => wanted.min(n * 1_000_000_000),
            None => wanted,
        }
    }

    /// How often the container ran into its memory and pids limits so far. `None` when it
    /// can't be told (the container is gone, or so full of processes that nothing can start:
    /// then `pids_full` is looked up from the engine's stats instead).
    pub(crate) async fn limit_hits(&self, container: &str, pids_limit: u32) -> Option<LimitHits> {
        // A command that just died at the pids limit may still hold its slot for a moment (not
        // yet reaped), so the reader itself can fail to start: try a few times.
        for attempt in 0..4 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            if let Ok(r) = self
                .exec(container, READ_LIMIT_COUNTERS, deadline, Instant::now())
                .await
            {
                if r.exit == 0 {
                    return Some(parse_limit_counters(&r.output));
                }
            }
        }
        let full = self.pids_current(container).await? >= u64::from(pids_limit);
        Some(LimitHits {
            pids_full: full,
            ..Default::default()
        })
    }

    /// Processes in the container now (engine stats).
    async fn pids_current(&self, container: &str) -> Option<u64> {
        let opts = q::StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stats = self.docker.stats(container, Some(opts));
        let s = stats.next().await?.ok()?;
        s.pids_stats?.current
    }

    /// Write files into `/work` (paths relative to it) with one tar upload.
    pub(crate) async fn upload(
        &self,
        container: &str,
        files: &[(String, Vec<u8>, u32)],
    ) -> Result<(), DockerError> {
        let mut tar = super::tar::Tar::default();
        let mut dirs = BTreeSet::new();
        for (path, data, mode) in files {
            let mut acc = String::new();
            let parts: Vec<&str> = path.split('/').collect();
            for part in &parts[..parts.len() - 1] {
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(part);
                if dirs.insert(acc.clone()) {
                    tar.dir(&acc).map_err(|e| DockerError::Exited {
                        status: -1,
                        output: format!("{e:#}"),
                    })?;
                }
            }
            tar.file(path, *mode, data)
                .map_err(|e| DockerError::Exited {
                    status: -1,
                    output: format!("{e:#}"),
                })?;
        }
        let opts = q::UploadToContainerOptions {
            path: "/work".into(),
            ..Default::default()
        };
        self.docker
            .upload_to_container(
                container,
                Some(opts),
                bollard::body_full(
                    tar.finish()
                        .map_err(|e| DockerError::Exited {
                            status: -1,
                            output: format!("{e:#}"),
                        })?
                        .into(),
                ),
            )
            .await?;
        Ok(())
    }

    /// Run `sh -c CMD` in `/work` with a TTY; wait for it, at most until `deadline`. On timeout
    /// the container is removed (the only sure way to stop everything the command started) and
    /// the partial output is returned in the error, with the time from `started` until the
    /// container was gone. The output is read raw (see [`attach`]):
    /// every byte the terminal printed reaches the comparison.
    pub(crate) async fn exec(
        &self,
        container: &str,
        cmd: &str,
        deadline: Instant,
        started: Instant,
    ) -> Result<ExecResult, DockerError> {
        let Some(endpoint) = &self.endpoint else {
            return Err(DockerError::Stream(format!(
                "kb reads command output over a Unix socket or plain TCP; DOCKER_HOST is {}",
                self.host
            )));
        };
        // Job control (`set -m`, on the command's own line so shell messages keep their line
        // numbers): every job runs in a process group of its own, so when `sh` (the session
        // leader of the exec's terminal) exits, the kernel's SIGHUP reaches only the shell's own
        // group — never a process the command left running with `&`, `nohup` or `setsid -f`.
        // Without it, those were in the shell's group until they detached, and were killed in
        // that window: 6 of 50 `setsid -f`, 44 of 50 `nohup … &` and 49 of 50 `… &` lost.
        // The command (and everything it starts) is also the OOM killer's first choice
        // (`oom_score_adj` 500, inherited): a block that runs into the memory limit is killed,
        // never the session's PID 1, so the session goes on.
        let script =
            format!("{{ echo 500 >/proc/self/oom_score_adj; }} 2>/dev/null; set -m; {cmd}");
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", &script]),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(true),
                    working_dir: Some("/work"),
                    ..Default::default()
                },
            )
            .await?;
        let version = self.docker.client_version().to_string();
        let attach::RawStream { first, mut conn } =
            attach::start_tty_exec(endpoint, &version, &exec.id)
                .await
                .map_err(|e| DockerError::Stream(e.to_string()))?;
        // A wide terminal, so tools that fit output to the width (ps, ls) don't truncate.
        let _ = self
            .docker
            .resize_exec(&exec.id, q::ResizeExecOptions { h: 50, w: 200 })
            .await;
        let mut buf: Vec<u8> = Vec::new();
        let mut dropped = 0usize;
        let mut keep = |bytes: &[u8], buf: &mut Vec<u8>| {
            let room = self.output_cap.saturating_sub(buf.len());
            buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
            dropped += bytes.len().saturating_sub(room);
        };
        keep(&first, &mut buf);
        let mut chunk = vec![0u8; 64 * 1024];
        let mut poll = tokio::time::interval(Duration::from_millis(200));
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Set once the process has exited: background children may still hold the TTY open, so
        // stop reading after a short quiet period instead of waiting for EOF.
        let mut exited_at: Option<Instant> = None;
        let deadline = tokio::time::Instant::from_std(deadline);
        loop {
            tokio::select! {
                // The deadline first, so a flood of output (always ready to read) cannot hold it
                // off.
                biased;
                _ = tokio::time::sleep_until(deadline) => {
                    // Stop reading and hang up before removing the container: with a command
                    // still writing into an unread connection, the engine took 20 s to remove it
                    // (docker 20.10, `cat /dev/zero`); with the connection closed, 0.2 s.
                    drop(conn);
                    // A command stuck at the pids limit (a fork bomb) is told apart from a slow
                    // one while its processes are still there to count.
                    let pids = self.pids_current(container).await;
                    let _ = self.remove_container(container).await;
                    return Err(DockerError::Timeout {
                        after: started.elapsed(),
                        partial: finish_output(&buf, dropped),
                        pids,
                    });
                }
                read = conn.read(&mut chunk) => match read {
                    Ok(0) => break,
                    Ok(n) => keep(&chunk[..n], &mut buf),
                    Err(e) => return Err(DockerError::Stream(e.to_string())),
                },
                _ = poll.tick() => {
                    match exited_at {
                        Some(t) if t.elapsed() >= Duration::from_millis(300) => break,
                        Some(_) => {}
                        None => {
                            let info = self.docker.inspect_exec(&exec.id).await?;
                            if info.running == Some(false) {
                                exited_at = Some(Instant::now());
                            }
                        }
                    }
                }
            }
        }
        drop(conn);
        let info = self.docker.inspect_exec(&exec.id).await?;
        let exit = info.exit_code.unwrap_or(-1);
        Ok(ExecResult {
            output: finish_output(&buf, dropped),
            exit,
        })
    }

    /// `docker stop` + `docker start`: processes and IPC objects go, the filesystem stays.
    pub(crate) async fn restart(&self, container: &str) -> Result<(), DockerError> {
        self.docker
            .stop_container(
                container,
                Some(q::StopContainerOptions {
                    t: Some(5),
                    ..Default::default()
                }),
            )
            .await?;
        self.docker
            .start_container(container, None::<q::StartContainerOptions>)
            .await?;
        Ok(())
    }

    /// Is the container still running? If not, its status and log tail as an error.
    pub(crate) async fn check_running(&self, container: &str) -> Result<(), DockerError> {
        let info = self
            .docker
            .inspect_container(container, None::<q::InspectContainerOptions>)
            .await?;
        let state = info.state.unwrap_or_default();
        if state.running == Some(true) {
            return Ok(());
        }
        let mut logs = self.docker.logs(
            container,
            Some(q::LogsOptions {
                stdout: true,
                stderr: true,
                tail: "20".into(),
                ..Default::default()
            }),
        );
        let mut out = Vec::new();
        while let Some(Ok(chunk)) = logs.next().await {
            out.extend_from_slice(&chunk.into_bytes());
        }
        Err(DockerError::Exited {
            status: state.exit_code.unwrap_or(-1),
            output: String::from_utf8_lossy(&out).trim().to_string(),
        })
    }

    /// Remove a container and its anonymous volumes; a container already gone is fine.
    pub(crate) async fn remove_container(&self, id: &str) -> Result<(), DockerError> {
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

    /// The cgroup version of the engine's host (`docker info`'s CgroupVersion): 1, 2, or
    /// `None` when the engine does not say (old engines, other runtimes).
    pub(crate) async fn cgroup_version(&self) -> Option<u8> {
        use bollard::models::SystemInfoCgroupVersionEnum as V;
        match self.docker.info().await.ok()?.cgroup_version? {
            V::_1 => Some(1),
            V::_2 => Some(2),
            V::EMPTY => None,
        }
    }

    /// Every container, network, volume and image on the engine labelled `key=value`.
    async fn labelled(&self, key: &str, value: &str) -> Result<Labelled, DockerError> {
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
    ) -> Result<Vec<String>, DockerError> {
        let Labelled {
            containers,
            networks,
            volumes,
            images,
        } = self.labelled(key, value).await?;
        let mut removed = Vec::new();
        for id in containers.into_iter().filter_map(|c| c.id) {
            self.remove_container(&id).await?;
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

    /// The labels of everything a `docker` session `session` creates through its proxy: this
    /// run's (so the end of the run and the next run's sweep find them) and the session's own.
    pub(crate) fn docker_session_labels(&self, session: &str) -> HashMap<String, String> {
        let mut labels = self.owner_labels();
        labels.insert(super::proxy::SESSION_LABEL.to_string(), session.to_string());
        labels
    }

    /// The id of this run (in every object's labels).
    pub(crate) fn run_id(&self) -> &str {
        &self.owner.run
    }

    /// Host path of the engine's Unix socket, which `docker` sessions' proxies forward to.
    pub(crate) fn socket(&self) -> Result<&Path, DockerError> {
        self.socket.as_deref().ok_or_else(|| DockerError::Exited {
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

/// What [`Engine::labelled`] found.
struct Labelled {
    containers: Vec<bollard::models::ContainerSummary>,
    networks: Vec<bollard::models::Network>,
    volumes: Vec<bollard::models::Volume>,
    images: Vec<bollard::models::ImageSummary>,
}

/// A removal that found the object already gone is a success.
fn ignore_gone(r: Result<(), ApiError>) -> Result<(), DockerError> {
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

/// Captured bytes as text: lossy UTF-8, `\r\n` -> `\n`, a note when the cap dropped bytes.
fn finish_output(buf: &[u8], dropped: usize) -> String {
    let mut s = super::matcher::normalize_newlines(&String::from_utf8_lossy(buf));
    if dropped > 0 {
        s.push_str(&format!("\n[kb: output truncated, {dropped} more bytes]\n"));
    }
    s
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_has_a_start_time() {
        let me = process_start_time(std::process::id());
        assert!(me.is_some_and(|s| s.parse::<u64>().is_ok()));
        assert_eq!(process_start_time(u32::MAX), None);
    }

    #[test]
    fn limit_counters_of_cgroup_v1_and_v2() {
        let v1 = "memory.oom_control oom_kill_disable 0\nmemory.oom_control under_oom 0\nmemory.oom_control oom_kill 2\npids.events max 7\n";
        assert_eq!(
            parse_limit_counters(v1),
            LimitHits {
                oom_kills: 2,
                pids_refused: 7,
                pids_full: false
            }
        );
        let v2 = "memory.events low 0\nmemory.events high 0\nmemory.events max 12\nmemory.events oom 1\nmemory.events oom_kill 1\npids.events max 0\n";
        assert_eq!(parse_limit_counters(v2).oom_kills, 1);
        assert_eq!(parse_limit_counters(""), LimitHits::default());
    }

    #[test]
    fn truncated_output_says_how_much_was_dropped() {
        assert_eq!(finish_output(b"a\r\nb", 0), "a\nb");
        assert!(finish_output(b"a", 10).ends_with("[kb: output truncated, 10 more bytes]\n"));
    }
}
