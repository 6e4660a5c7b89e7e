//! Running sessions: one container per session, its blocks in order, each checked as it ends.
//!
//! A session's container is created from its image with kb's keep-alive as PID 1; `file=` blocks
//! are uploaded into `/work`; every runnable block is an exec (`sh -c`, TTY, in `/work`) bounded
//! by the block's timeout. A failed block is a value ([`Verdict::Failed`]), not an error: the
//! session goes on, so one run reports everything. The container is removed when the session
//! ends, whatever happened; a timed-out block's container is removed at once (that stops all it
//! started), and the session's later blocks are reported as not run.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::docker::{DockerError, Engine, LimitHits};
use super::matcher;
use super::plan::{Action, BlockRef, FileWrite, ImageRef, RunStep, Session, Step};
use super::proxy::{DockerProxy, SESSION_LABEL};
use super::transcript;
use crate::snippet::{Limits, Requirement};

/// How much observed output is kept per block for the results file and the site.
const OBSERVED_CAP: usize = 16 * 1024;

/// What happened to one runnable or skipped block.
#[derive(Debug, Clone)]
pub(crate) struct BlockOutcome {
    pub(crate) block: BlockRef,
    pub(crate) verdict: Verdict,
    pub(crate) duration: Duration,
    /// When it ran (for a cached result: when it ran for real).
    pub(crate) date: DateTime<Utc>,
    /// The image reference the session ran in.
    pub(crate) image: String,
    /// What it printed (a transcript prints `$ cmd` before each command's output), capped.
    pub(crate) observed: String,
    /// True when the result came from the cache.
    pub(crate) cached: bool,
    /// Per command (one for a program block): what it printed and its status, for `--update`.
    pub(crate) observations: Vec<Option<Observation>>,
}

/// Verdict on one block.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    Passed,
    /// `skip`, or not run because the session could not go on; the reason.
    Skipped(String),
    Failed(Failure),
}

/// Why a block failed. Rendered (with a diff) by [`super::report`].
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Output or exit status differ. `expected`/`actual` are canonical (actual normalised
    /// through the expected patterns, so only real differences remain).
    Mismatch {
        /// File line of the command (`$ ` line) or of the block.
        line: usize,
        command: String,
        expected: Option<String>,
        actual: String,
        expected_exit: i64,
        exit: i64,
    },
    /// The block ran past its timeout; what it printed until then.
    Timeout {
        line: usize,
        command: String,
        after: Duration,
        partial: String,
    },
    /// The block ran into a limit of its container (memory, pids): the limit, not a mismatch.
    Limit {
        line: usize,
        command: String,
        limit: LimitHit,
        /// What it printed.
        output: String,
    },
    /// The block could not run: image, container or engine trouble.
    Error { message: String },
}

/// Which container limit stopped a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LimitHit {
    /// The kernel killed a process of the block for the memory limit (bytes).
    Memory(u64),
    /// Forks failed at the pids limit.
    Pids(u32),
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LimitHit::Memory(b) => write!(
                f,
                "killed: memory limit {}",
                crate::snippet::info::human_bytes(*b)
            ),
            LimitHit::Pids(n) => {
                write!(f, "stopped: pids limit {n} (no more processes could start)")
            }
        }
    }
}

impl LimitHit {
    /// The attribute and kb.toml key that raise it.
    pub(crate) fn knob(self) -> &'static str {
        match self {
            LimitHit::Memory(_) => "memory",
            LimitHit::Pids(_) => "pids",
        }
    }
}

/// One command's actual result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observation {
    /// Output with `\r\n` normalised (not yet matched against anything).
    pub(crate) output: String,
    pub(crate) exit: i64,
}

/// A session's image, ready to run (or why not).
#[derive(Debug, Clone)]
pub(crate) struct ReadyImage {
    /// Reference to create containers from (`kb-go:1a2b3c4d5e6f`, `debian:bookworm-slim`).
    pub(crate) reference: String,
    /// The image id (part of the cache key).
    pub(crate) id: String,
}

/// Shared by all sessions of a run.
pub(crate) struct RunCtx {
    pub(crate) engine: Engine,
    pub(crate) images: HashMap<ImageRef, Result<ReadyImage, String>>,
    pub(crate) progress: indicatif::ProgressBar,
    seq: std::sync::atomic::AtomicUsize,
    /// The engine host's cgroup version, asked once (see [`unmet_requirement`]).
    cgroup_version: tokio::sync::OnceCell<Option<u8>>,
}

impl RunCtx {
    pub(crate) fn new(
        engine: Engine,
        images: HashMap<ImageRef, Result<ReadyImage, String>>,
        progress: indicatif::ProgressBar,
    ) -> Self {
        RunCtx {
            engine,
            images,
            progress,
            seq: Default::default(),
            cgroup_version: Default::default(),
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

/// Outcomes for every step of a session that needs no container (all skipped), or whose image
/// is unavailable.
pub(crate) fn without_container(
    session: &Session,
    image: &str,
    why: Option<&str>,
) -> Vec<BlockOutcome> {
    session
        .steps
        .iter()
        .map(|step| match step {
            Step::Skip(k) => outcome(
                &k.block,
                Verdict::Skipped(skip_reason(k.reason.as_deref())),
                image,
            ),
            Step::Run(r) => outcome(
                &r.block,
                Verdict::Failed(Failure::Error {
                    message: why.unwrap_or("not run").to_string(),
                }),
                image,
            ),
        })
        .collect()
}

fn skip_reason(r: Option<&str>) -> String {
    r.map(str::to_string)
        .unwrap_or_else(|| "marked `skip`".into())
}

fn outcome(block: &BlockRef, verdict: Verdict, image: &str) -> BlockOutcome {
    BlockOutcome {
        block: block.clone(),
        verdict,
        duration: Duration::ZERO,
        date: Utc::now(),
        image: image.to_string(),
        observed: String::new(),
        cached: false,
        observations: Vec::new(),
    }
}

/// Why the engine cannot run `session` (a `requires=` it does not meet), if so. An engine that
/// does not report a fact meets every requirement on it: the blocks then run and tell.
async fn unmet_requirement(ctx: &RunCtx, session: &Session) -> Option<String> {
    for r in &session.spec.requires {
        let (wanted, found) = match r {
            Requirement::CgroupV1 | Requirement::CgroupV2 => {
                let found = *ctx
                    .cgroup_version
                    .get_or_init(|| ctx.engine.cgroup_version())
                    .await;
                let wanted = if *r == Requirement::CgroupV1 { 1 } else { 2 };
                (wanted, found)
            }
        };
        if let Some(found) = found.filter(|&f| f != wanted) {
            return Some(format!(
                "needs cgroup v{wanted} (`requires={r}`); the Docker engine's host runs cgroup v{found}"
            ));
        }
    }
    None
}

/// Every step of a session reported skipped for `why`.
fn skipped_session(session: &Session, image: &str, why: &str) -> Vec<BlockOutcome> {
    session
        .steps
        .iter()
        .map(|step| {
            let block = match step {
                Step::Skip(k) => &k.block,
                Step::Run(r) => &r.block,
            };
            outcome(block, Verdict::Skipped(why.to_string()), image)
        })
        .collect()
}

/// Run one session start to finish. Never fails: problems become failed blocks.
pub(crate) async fn run_session(ctx: &RunCtx, session: &Session) -> Vec<BlockOutcome> {
    if let Some(why) = unmet_requirement(ctx, session).await {
        return skipped_session(session, &session.image.to_string(), &why);
    }
    let image = match ctx.images.get(&session.image) {
        Some(Ok(i)) => i.reference.clone(),
        Some(Err(e)) => return without_container(session, &session.image.to_string(), Some(e)),
        None => {
            return without_container(
                session,
                &session.image.to_string(),
                Some("image was not prepared"),
            )
        }
    };
    if !session.runs_anything() {
        return without_container(session, &image, None);
    }
    ctx.progress.set_message(session.label());
    let seq = ctx.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // A `docker` session talks to the engine through a proxy of its own that labels what it
    // creates and shows it only its own objects (see `proxy`).
    let docker_session = format!("{}.{seq}", ctx.engine.run_id());
    let proxy = if session.spec.docker {
        let started = ctx
            .engine
            .socket()
            .map_err(|e| e.to_string())
            .and_then(|upstream| {
                DockerProxy::start(upstream, ctx.engine.docker_session_labels(&docker_session))
                    .map_err(|e| format!("couldn't start the session's Docker API proxy: {e}"))
            });
        match started {
            Ok(p) => Some(p),
            Err(why) => return without_container(session, &image, Some(&why)),
        }
    } else {
        None
    };
    let proxy_socket = proxy.as_ref().map(DockerProxy::socket);
    let outcomes = match ctx
        .engine
        .create_session(
            &image,
            &session.spec,
            &session.label(),
            seq,
            proxy_socket.as_deref(),
        )
        .await
    {
        Ok(container) => {
            let outcomes = run_steps(ctx, session, &image, &container).await;
            if let Err(e) = ctx.engine.remove_container(&container).await {
                tracing::warn!("couldn't remove container {container}: {e}");
            }
            outcomes
        }
        Err(e) => {
            let why = format!("couldn't start a container from `{image}`: {e}");
            without_container(session, &image, Some(&why))
        }
    };
    if proxy.is_some() {
        drop(proxy);
        match ctx
            .engine
            .remove_labelled(SESSION_LABEL, &docker_session)
            .await
        {
            Ok(removed) if !removed.is_empty() => {
                tracing::info!("{}: removed {}", session.label(), removed.join(", "))
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(
                "{}: cleaning up after the docker session failed: {e}",
                session.label()
            ),
        }
    }
    outcomes
}

async fn run_steps(
    ctx: &RunCtx,
    session: &Session,
    image: &str,
    container: &str,
) -> Vec<BlockOutcome> {
    let mut outcomes = Vec::new();
    // Set when the container is gone (a timeout removed it): later blocks cannot run.
    let mut gone: Option<String> = None;
    // The container's limit counters as of the last look, so a failure is blamed on a limit
    // only when the counters moved during it.
    let mut seen = LimitHits::default();
    for step in &session.steps {
        let r = match step {
            Step::Skip(k) => {
                outcomes.push(outcome(
                    &k.block,
                    Verdict::Skipped(skip_reason(k.reason.as_deref())),
                    image,
                ));
                continue;
            }
            Step::Run(r) => r,
        };
        if let Some(why) = &gone {
            outcomes.push(outcome(&r.block, Verdict::Skipped(why.clone()), image));
            ctx.progress.inc(1);
            continue;
        }
        let mut o = run_step(ctx, r, image, container, &session.spec.limits).await;
        if let Verdict::Failed(Failure::Mismatch {
            line,
            command,
            actual,
            ..
        }) = &o.verdict
        {
            if let Some(now) = ctx
                .engine
                .limit_hits(container, session.spec.limits.pids)
                .await
            {
                let limit = if now.oom_kills > seen.oom_kills {
                    Some(LimitHit::Memory(session.spec.limits.memory))
                } else if now.pids_refused > seen.pids_refused || now.pids_full {
                    Some(LimitHit::Pids(session.spec.limits.pids))
                } else {
                    None
                };
                if let Some(limit) = limit {
                    o.verdict = Verdict::Failed(Failure::Limit {
                        line: *line,
                        command: command.clone(),
                        limit,
                        output: actual.clone(),
                    });
                }
                seen = now;
            }
        }
        if let Verdict::Failed(Failure::Timeout { .. }) = o.verdict {
            gone = Some(format!(
                "not run: {} timed out earlier in the session",
                r.block.location()
            ));
        } else if let Verdict::Failed(Failure::Error { .. } | Failure::Limit { .. }) = o.verdict {
            if ctx.engine.check_running(container).await.is_err() {
                gone = Some(format!(
                    "not run: the session's container stopped at {}",
                    r.block.location()
                ));
            }
        }
        ctx.progress.inc(1);
        outcomes.push(o);
    }
    outcomes
}

async fn run_step(
    ctx: &RunCtx,
    r: &RunStep,
    image: &str,
    container: &str,
    limits: &Limits,
) -> BlockOutcome {
    let started = Instant::now();
    let date = Utc::now();
    let mut o = outcome(&r.block, Verdict::Passed, image);
    o.date = date;
    let engine = &ctx.engine;
    let prepared = async {
        if r.restart {
            engine.restart(container).await?;
        }
        upload(engine, container, &r.writes).await?;
        engine.check_running(container).await
    };
    if let Err(e) = prepared.await {
        o.verdict = Verdict::Failed(Failure::Error {
            message: e.to_string(),
        });
        o.duration = started.elapsed();
        return o;
    }
    let deadline = started + r.timeout;
    match &r.action {
        Action::Program(p) => {
            let res = engine.exec(container, &p.command, deadline, started).await;
            match res {
                Ok(x) => {
                    o.observed = cap(&x.output);
                    o.observations = vec![Some(Observation {
                        output: x.output.clone(),
                        exit: x.exit,
                    })];
                    let output_ok = p
                        .expected
                        .as_ref()
                        .is_none_or(|e| matcher::matches(&e.text, &x.output));
                    if !output_ok || x.exit != p.exit {
                        o.verdict = Verdict::Failed(Failure::Mismatch {
                            line: r.block.line,
                            command: p.command.clone(),
                            expected: p.expected.as_ref().map(|e| matcher::canonical(&e.text)),
                            actual: match &p.expected {
                                Some(e) => matcher::normalize(&e.text, &x.output),
                                None => matcher::canonical(&x.output),
                            },
                            expected_exit: p.exit,
                            exit: x.exit,
                        });
                    }
                }
                Err(e) => {
                    o.verdict = failed_exec(e, r.block.line, &p.command, &mut o.observed, limits)
                }
            }
        }
        Action::Transcript(t) => {
            let mut observed = String::new();
            for c in &t.commands {
                observed.push_str(&format!("$ {}\n", c.cmd));
                match engine.exec(container, &c.cmd, deadline, started).await {
                    Ok(x) => {
                        observed.push_str(&x.output);
                        if !x.output.is_empty() && !x.output.ends_with('\n') {
                            observed.push('\n');
                        }
                        let ok = x.exit == c.exit && matcher::matches(&c.expected, &x.output);
                        if !ok && matches!(o.verdict, Verdict::Passed) {
                            o.verdict = Verdict::Failed(Failure::Mismatch {
                                line: c.line,
                                command: c.cmd.clone(),
                                expected: Some(matcher::canonical(&c.expected)),
                                actual: matcher::normalize(&c.expected, &x.output),
                                expected_exit: c.exit,
                                exit: x.exit,
                            });
                        }
                        o.observations.push(Some(Observation {
                            output: x.output,
                            exit: x.exit,
                        }));
                    }
                    Err(e) => {
                        o.verdict = failed_exec(e, c.line, &c.cmd, &mut observed, limits);
                        break;
                    }
                }
            }
            o.observed = cap(&observed);
        }
    }
    o.duration = started.elapsed();
    o
}

/// An exec that did not complete: a timeout (with its partial output; a timeout with the
/// container full to its pids limit is that limit's doing) or an engine error.
fn failed_exec(
    e: DockerError,
    line: usize,
    command: &str,
    observed: &mut String,
    limits: &Limits,
) -> Verdict {
    match e {
        DockerError::Timeout {
            after,
            partial,
            pids,
        } => {
            observed.push_str(&partial);
            *observed = cap(observed);
            if pids.is_some_and(|n| n >= u64::from(limits.pids)) {
                return Verdict::Failed(Failure::Limit {
                    line,
                    command: command.to_string(),
                    limit: LimitHit::Pids(limits.pids),
                    output: partial,
                });
            }
            Verdict::Failed(Failure::Timeout {
                line,
                command: command.to_string(),
                after,
                partial,
            })
        }
        other => Verdict::Failed(Failure::Error {
            message: other.to_string(),
        }),
    }
}

async fn upload(engine: &Engine, container: &str, writes: &[FileWrite]) -> Result<(), DockerError> {
    if writes.is_empty() {
        return Ok(());
    }
    let files: Vec<(String, Vec<u8>, u32)> = writes
        .iter()
        .map(|w| {
            (
                w.path.clone(),
                w.text.clone().into_bytes(),
                if w.executable { 0o755 } else { 0o644 },
            )
        })
        .collect();
    engine.upload(container, &files).await
}

/// Keep at most [`OBSERVED_CAP`] bytes (on a char boundary), saying so when cut.
fn cap(s: &str) -> String {
    if s.len() <= OBSERVED_CAP {
        return s.to_string();
    }
    let mut end = OBSERVED_CAP;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}\n[kb: {} more bytes not kept]\n",
        &s[..end],
        s.len() - end
    )
}

/// Observations written back by `--update`: each command's output normalised through its
/// expected patterns (so wildcards that still match survive).
pub(crate) fn transcript_observed(
    t: &transcript::Transcript,
    obs: &[Option<Observation>],
) -> Vec<Option<transcript::Observed>> {
    t.commands
        .iter()
        .enumerate()
        .map(|(i, c)| {
            obs.get(i)
                .and_then(Option::as_ref)
                .map(|o| transcript::Observed {
                    output: matcher::normalize(&c.expected, &o.output),
                    exit: o.exit,
                })
        })
        .collect()
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

    #[test]
    fn observed_output_is_capped_on_a_char_boundary() {
        let s = "é".repeat(OBSERVED_CAP);
        let c = cap(&s);
        assert!(c.len() < s.len() && c.contains("more bytes not kept"));
    }
}
