//! The seam between the session runner and a container engine: [`ContainerRuntime`] is what the
//! runner needs from one (a session container, files written into it, commands run in it with a
//! deadline, its limit counters, its removal) and nothing else. The Docker engine
//! ([`super::docker::Engine`]) implements it; the runner's tests use a fake.
//!
//! The caller connects the engine and hands it to the runner, so the runner never knows which
//! engine it drives. Images (build, pull) and the sweep of a killed run's leftovers are not part
//! of the seam: they happen before and after the sessions run, in [`super::execute`].

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::proxy::DockerProxy;
use super::session::{ContainerSpec, FileWrite};
use super::text::human_duration;
use crate::snippet::Shell;

/// An engine client's own error, kept as the source of a [`RuntimeError`].
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a session runner needs from a container engine. Every method names the container by the
/// id [`ContainerRuntime::create_session`] returned.
pub(crate) trait ContainerRuntime {
    /// A session's long-lived shell (see [`super::shell`]).
    type Shell;

    /// Start a long-lived shell in `/work` for a session's transcripts: `want`, or bash if the
    /// image has it, else sh (an image without the shell asked for is an error); `None` when the
    /// image cannot host one (then each command is one
    /// [`ContainerRuntime::exec`]). Bounded by `deadline` as an exec is.
    async fn open_shell(
        &self,
        container: &str,
        want: Option<Shell>,
        deadline: Instant,
        started: Instant,
    ) -> Result<Option<Self::Shell>, RuntimeError>;

    /// Which shell an open shell is.
    fn shell_kind(&self, shell: &Self::Shell) -> Shell;

    /// Run one command in the shell, stdin at end-of-file, at most until `deadline` (a timeout
    /// removes the container, as for [`ContainerRuntime::exec`]).
    async fn shell_exec(
        &self,
        container: &str,
        shell: &mut Self::Shell,
        cmd: &str,
        deadline: Instant,
        started: Instant,
    ) -> Result<ShellExec, RuntimeError>;

    /// Create and start a session container from `image` with the settings of `spec`: a process
    /// that keeps it alive as PID 1, work dir `/work`. `name_hint` and `seq` name it for people;
    /// `docker_socket` is mounted at `/var/run/docker.sock`. Returns the container's id.
    async fn create_session(
        &self,
        image: &str,
        spec: &ContainerSpec,
        name_hint: &str,
        seq: usize,
        docker_socket: Option<&Path>,
    ) -> Result<String, RuntimeError>;

    /// Write files into `/work`.
    async fn upload(&self, container: &str, writes: &[FileWrite]) -> Result<(), RuntimeError>;

    /// Run `sh -c CMD` in `/work` with a terminal, at most until `deadline`. On timeout the
    /// container is removed and [`RuntimeError::Timeout`] carries the partial output and the
    /// time since `started`.
    async fn exec(
        &self,
        container: &str,
        cmd: &str,
        deadline: Instant,
        started: Instant,
    ) -> Result<ExecResult, RuntimeError>;

    /// Stop and start the container again: processes go, the filesystem stays.
    async fn restart(&self, container: &str) -> Result<(), RuntimeError>;

    /// `Ok` while the container runs; otherwise why it stopped ([`RuntimeError::Exited`]).
    async fn check_running(&self, container: &str) -> Result<(), RuntimeError>;

    /// How often the container ran into its memory and pids limits so far; `None` when that
    /// can't be told.
    async fn limit_hits(&self, container: &str, pids_limit: u32) -> Option<LimitHits>;

    /// Remove the container (a container already gone is fine).
    async fn remove_container(&self, container: &str) -> Result<(), RuntimeError>;

    /// The cgroup version of the engine's host, if the engine says (for `requires=`).
    async fn cgroup_version(&self) -> Option<u8>;

    /// Open engine access for a `docker` session (number `seq` of this run): a socket its
    /// container mounts, through which it sees only its own objects.
    fn start_docker_session(&self, seq: usize) -> Result<DockerSession, String>;

    /// Close a `docker` session's access and remove what its commands created; returns what was
    /// removed, for the log.
    async fn end_docker_session(&self, session: DockerSession)
        -> Result<Vec<String>, RuntimeError>;
}

/// A `docker` session's access to the engine, open while this lives.
pub(crate) struct DockerSession {
    /// The name every object the session creates is labelled with.
    pub(crate) name: String,
    /// The API proxy the session container talks to.
    pub(crate) proxy: DockerProxy,
}

impl DockerSession {
    /// Host path of the socket to mount into the session container.
    pub(crate) fn socket(&self) -> PathBuf {
        self.proxy.socket()
    }
}

/// Engine errors a caller branches on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RuntimeError {
    /// No engine answers.
    #[error("the Docker engine at {host} is not reachable")]
    Unavailable {
        host: String,
        #[source]
        source: BoxError,
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
    #[error("timed out after {}", human_duration(*after))]
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
    /// The session's image lacks the shell a block asked for (`shell=bash`).
    #[error("{0}")]
    NoShell(String),
    /// Any other engine error.
    #[error("Docker engine request failed: {0}")]
    Api(#[source] BoxError),
}

/// What one exec printed and how it ended.
#[derive(Debug, Clone)]
pub(crate) struct ExecResult {
    /// Output as a terminal shows it (stdout and stderr interleaved), `\r\n` normalised, capped.
    pub(crate) output: String,
    pub(crate) exit: i64,
}

/// What one command in a session's shell did.
#[derive(Debug, Clone)]
pub(crate) struct ShellExec {
    pub(crate) result: ExecResult,
    /// The shell itself exited (`exit`, `set -e`): the next command needs a new one.
    pub(crate) ended: bool,
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
