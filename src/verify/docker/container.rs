//! The session containers of the Docker engine: [`ContainerRuntime`] for [`Engine`] — create a
//! container with kb's keep-alive as PID 1 and the session's settings and limits, upload files,
//! run commands with a raw TTY read and a deadline, read the cgroup limit counters, and give a
//! `docker` session its own API proxy.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::exec::CreateExecOptions;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters as q;
use futures_util::StreamExt;
use tokio::io::AsyncReadExt;

use super::shell::EngineShell;
use super::{finish_output, Engine, KEEP_ALIVE};
use crate::snippet::{Network, Shell};
use crate::verify::attach;
use crate::verify::proxy::{DockerProxy, SESSION_LABEL};
use crate::verify::runtime::{
    ContainerRuntime, DockerSession, ExecResult, LimitHits, RuntimeError, ShellExec,
};
use crate::verify::session::{ContainerSpec, FileWrite};

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

impl ContainerRuntime for Engine {
    type Shell = EngineShell;

    async fn open_shell(
        &self,
        container: &str,
        want: Option<Shell>,
        deadline: Instant,
        started: Instant,
    ) -> Result<Option<EngineShell>, RuntimeError> {
        self.start_shell(container, want, deadline, started).await
    }

    fn shell_kind(&self, shell: &EngineShell) -> Shell {
        shell.kind()
    }

    async fn shell_exec(
        &self,
        container: &str,
        shell: &mut EngineShell,
        cmd: &str,
        deadline: Instant,
        started: Instant,
    ) -> Result<ShellExec, RuntimeError> {
        self.run_in_shell(container, shell, cmd, deadline, started)
            .await
    }

    /// Create and start a session container: the keep-alive as PID 1 (the image's entrypoint is
    /// bypassed), work dir `/work`, kb's labels, the session's capabilities, sysctls and network.
    async fn create_session(
        &self,
        image: &str,
        spec: &ContainerSpec,
        name_hint: &str,
        seq: usize,
        docker_socket: Option<&Path>,
    ) -> Result<String, RuntimeError> {
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

    /// Write files into `/work` (paths relative to it) with one tar upload.
    async fn upload(&self, container: &str, writes: &[FileWrite]) -> Result<(), RuntimeError> {
        if writes.is_empty() {
            return Ok(());
        }
        let files: Vec<(&str, &[u8], u32)> = writes
            .iter()
            .map(|w| {
                let mode = if w.executable { 0o755 } else { 0o644 };
                (w.path.as_str(), w.text.as_bytes(), mode)
            })
            .collect();
        let mut tar = crate::verify::tar::Tar::default();
        let mut dirs = BTreeSet::new();
        for (path, data, mode) in &files {
            let mut acc = String::new();
            let parts: Vec<&str> = path.split('/').collect();
            for part in &parts[..parts.len() - 1] {
                if !acc.is_empty() {
                    acc.push('/');
                }
                acc.push_str(part);
                if dirs.insert(acc.clone()) {
                    tar.dir(&acc).map_err(|e| RuntimeError::Exited {
                        status: -1,
                        output: format!("{e:#}"),
                    })?;
                }
            }
            tar.file(path, *mode, data)
                .map_err(|e| RuntimeError::Exited {
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
                        .map_err(|e| RuntimeError::Exited {
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
    async fn exec(
        &self,
        container: &str,
        cmd: &str,
        deadline: Instant,
        started: Instant,
    ) -> Result<ExecResult, RuntimeError> {
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
        let (exec_id, attach::RawStream { first, mut conn }) =
            self.start_tty(container, &script, false).await?;
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
                    let _ = self.discard_container(container).await;
                    return Err(RuntimeError::Timeout {
                        after: started.elapsed(),
                        partial: finish_output(&buf, dropped),
                        pids,
                    });
                }
                read = conn.read(&mut chunk) => match read {
                    Ok(0) => break,
                    Ok(n) => keep(&chunk[..n], &mut buf),
                    Err(e) => return Err(RuntimeError::Stream(e.to_string())),
                },
                _ = poll.tick() => {
                    match exited_at {
                        Some(t) if t.elapsed() >= Duration::from_millis(300) => break,
                        Some(_) => {}
                        None => {
                            let info = self.docker.inspect_exec(&exec_id).await?;
                            if info.running == Some(false) {
                                exited_at = Some(Instant::now());
                            }
                        }
                    }
                }
            }
        }
        drop(conn);
        let info = self.docker.inspect_exec(&exec_id).await?;
        let exit = info.exit_code.unwrap_or(-1);
        Ok(ExecResult {
            output: finish_output(&buf, dropped),
            exit,
        })
    }

    /// `docker stop` + `docker start`: processes and IPC objects go, the filesystem stays.
    async fn restart(&self, container: &str) -> Result<(), RuntimeError> {
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
    async fn check_running(&self, container: &str) -> Result<(), RuntimeError> {
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
        Err(RuntimeError::Exited {
            status: state.exit_code.unwrap_or(-1),
            output: String::from_utf8_lossy(&out).trim().to_string(),
        })
    }

    /// How often the container ran into its memory and pids limits so far. `None` when it
    /// can't be told (the container is gone, or so full of processes that nothing can start:
    /// then `pids_full` is looked up from the engine's stats instead).
    async fn limit_hits(&self, container: &str, pids_limit: u32) -> Option<LimitHits> {
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

    async fn remove_container(&self, container: &str) -> Result<(), RuntimeError> {
        self.discard_container(container).await
    }

    /// The cgroup version of the engine's host (`docker info`'s CgroupVersion): 1, 2, or
    /// `None` when the engine does not say (old engines, other runtimes).
    async fn cgroup_version(&self) -> Option<u8> {
        use bollard::models::SystemInfoCgroupVersionEnum as V;
        match self.docker.info().await.ok()?.cgroup_version? {
            V::_1 => Some(1),
            V::_2 => Some(2),
            V::EMPTY => None,
        }
    }

    fn start_docker_session(&self, seq: usize) -> Result<DockerSession, String> {
        let name = format!("{}.{seq}", self.owner.run);
        let upstream = self.socket().map_err(|e| e.to_string())?;
        let proxy = DockerProxy::start(upstream, self.docker_session_labels(&name))
            .map_err(|e| format!("couldn't start the session's Docker API proxy: {e}"))?;
        Ok(DockerSession { name, proxy })
    }

    async fn end_docker_session(
        &self,
        session: DockerSession,
    ) -> Result<Vec<String>, RuntimeError> {
        let DockerSession { name, proxy } = session;
        drop(proxy);
        self.remove_labelled(SESSION_LABEL, &name).await
    }
}

impl Engine {
    /// Start `sh -c script` in a terminal in the container (with kb's connection as its stdin
    /// when `stdin`), read raw over kb's own attach connection, 200 columns wide so tools that
    /// fit output to the width (ps, ls) don't truncate. Returns the exec's id and its stream.
    pub(super) async fn start_tty(
        &self,
        container: &str,
        script: &str,
        stdin: bool,
    ) -> Result<(String, attach::RawStream), RuntimeError> {
        let endpoint = self.endpoint.as_ref().ok_or_else(|| {
            RuntimeError::Stream(format!(
                "kb reads command output over a Unix socket or plain TCP; DOCKER_HOST is {}",
                self.host
            ))
        })?;
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    cmd: Some(vec!["sh", "-c", script]),
                    attach_stdin: Some(stdin),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(true),
                    working_dir: Some("/work"),
                    ..Default::default()
                },
            )
            .await?;
        let version = self.docker.client_version().to_string();
        let stream = attach::start_tty_exec(endpoint, &version, &exec.id)
            .await
            .map_err(|e| RuntimeError::Stream(e.to_string()))?;
        let _ = self
            .docker
            .resize_exec(&exec.id, q::ResizeExecOptions { h: 50, w: 200 })
            .await;
        Ok((exec.id, stream))
    }

    /// The CPU limit as the engine takes it, lowered to the engine's CPU count.
    fn nano_cpus(&self, millicpus: u32) -> i64 {
        let wanted = i64::from(millicpus) * 1_000_000;
        match self.ncpu.filter(|&n| n > 0) {
            Some(n) => wanted.min(n * 1_000_000_000),
            None => wanted,
        }
    }
    /// Processes in the container now (engine stats).
    pub(super) async fn pids_current(&self, container: &str) -> Option<u64> {
        let opts = q::StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stats = self.docker.stats(container, Some(opts));
        let s = stats.next().await?.ok()?;
        s.pids_stats?.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
