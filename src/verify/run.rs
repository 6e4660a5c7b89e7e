//! Running sessions: one container per session, its blocks in order, each checked as it ends.
//!
//! A session's container is created from its image with kb's keep-alive as PID 1; `file=` blocks
//! are uploaded into `/work`; every runnable block is an exec (`sh -c`, TTY, in `/work`) bounded
//! by the block's timeout. A failed block is a value ([`Verdict::Failed`]), not an error: the
//! session goes on, so one run reports everything. The container is removed when the session
//! ends, whatever happened; a timed-out block's container is removed at once (that stops all it
//! started), and the session's later blocks are reported as not run.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::images::ReadyImage;
use super::matcher;
use super::outcome::{BlockOutcome, Failure, LimitHit, Observation, Verdict};
use super::runtime::{ContainerRuntime, LimitHits, RuntimeError};
use super::session::{Action, BlockRef, ImageRef, RunStep, Session, Step};
use crate::snippet::{Limits, Requirement};

/// How much observed output is kept per block for the results file and the site.
const OBSERVED_CAP: usize = 16 * 1024;

/// Shared by all sessions of a run: the container runtime the caller connected, the images it
/// prepared, the progress bar.
pub(crate) struct RunCtx<R> {
    pub(crate) runtime: R,
    pub(crate) images: HashMap<ImageRef, Result<ReadyImage, String>>,
    pub(crate) progress: indicatif::ProgressBar,
    seq: std::sync::atomic::AtomicUsize,
    /// The engine host's cgroup version, asked once (see [`unmet_requirement`]).
    cgroup_version: tokio::sync::OnceCell<Option<u8>>,
}

impl<R: ContainerRuntime> RunCtx<R> {
    pub(crate) fn new(
        runtime: R,
        images: HashMap<ImageRef, Result<ReadyImage, String>>,
        progress: indicatif::ProgressBar,
    ) -> Self {
        RunCtx {
            runtime,
            images,
            progress,
            seq: Default::default(),
            cgroup_version: Default::default(),
        }
    }
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
async fn unmet_requirement<R: ContainerRuntime>(
    ctx: &RunCtx<R>,
    session: &Session,
) -> Option<String> {
    for r in &session.spec.requires {
        let (wanted, found) = match r {
            Requirement::CgroupV1 | Requirement::CgroupV2 => {
                let found = *ctx
                    .cgroup_version
                    .get_or_init(|| ctx.runtime.cgroup_version())
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
pub(crate) async fn run_session<R: ContainerRuntime>(
    ctx: &RunCtx<R>,
    session: &Session,
) -> Vec<BlockOutcome> {
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
    // A `docker` session talks to the engine through access of its own that labels what it
    // creates and shows it only its own objects (see `proxy`).
    let docker = if session.spec.docker {
        match ctx.runtime.start_docker_session(seq) {
            Ok(d) => Some(d),
            Err(why) => return without_container(session, &image, Some(&why)),
        }
    } else {
        None
    };
    let docker_socket = docker.as_ref().map(|d| d.socket());
    let outcomes = match ctx
        .runtime
        .create_session(
            &image,
            &session.spec,
            &session.label(),
            seq,
            docker_socket.as_deref(),
        )
        .await
    {
        Ok(container) => {
            let outcomes = run_steps(ctx, session, &image, &container).await;
            if let Err(e) = ctx.runtime.remove_container(&container).await {
                tracing::warn!("couldn't remove container {container}: {e}");
            }
            outcomes
        }
        Err(e) => {
            let why = format!("couldn't start a container from `{image}`: {e}");
            without_container(session, &image, Some(&why))
        }
    };
    if let Some(docker) = docker {
        match ctx.runtime.end_docker_session(docker).await {
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

async fn run_steps<R: ContainerRuntime>(
    ctx: &RunCtx<R>,
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
                .runtime
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
            if ctx.runtime.check_running(container).await.is_err() {
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

async fn run_step<R: ContainerRuntime>(
    ctx: &RunCtx<R>,
    r: &RunStep,
    image: &str,
    container: &str,
    limits: &Limits,
) -> BlockOutcome {
    let started = Instant::now();
    let date = Utc::now();
    let mut o = outcome(&r.block, Verdict::Passed, image);
    o.date = date;
    let runtime = &ctx.runtime;
    let prepared = async {
        if r.restart {
            runtime.restart(container).await?;
        }
        runtime.upload(container, &r.writes).await?;
        runtime.check_running(container).await
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
            let res = runtime.exec(container, &p.command, deadline, started).await;
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
                match runtime.exec(container, &c.cmd, deadline, started).await {
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
    e: RuntimeError,
    line: usize,
    command: &str,
    observed: &mut String,
    limits: &Limits,
) -> Verdict {
    match e {
        RuntimeError::Timeout {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observed_output_is_capped_on_a_char_boundary() {
        let s = "é".repeat(OBSERVED_CAP);
        let c = cap(&s);
        assert!(c.len() < s.len() && c.contains("more bytes not kept"));
    }
}
