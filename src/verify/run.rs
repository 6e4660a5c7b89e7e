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
use super::runtime::{ContainerRuntime, ExecResult, LimitHits, RuntimeError};
use super::session::{Action, BlockRef, ImageRef, RunStep, Session, Step};
use crate::snippet::{Limits, Requirement, Shell};

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

    /// The engine host's cgroup version, when the caller asked the engine already.
    pub(crate) fn knowing_cgroup_version(self, version: Option<u8>) -> Self {
        let _ = self.cgroup_version.set(version);
        self
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
    // The session's shell, kept from block to block (transcripts only).
    let mut shell = ShellSlot::Closed;
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
        let mut o = run_step(ctx, r, image, container, &session.spec.limits, &mut shell).await;
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
    shell: &mut ShellSlot<R::Shell>,
) -> BlockOutcome {
    let started = Instant::now();
    let date = Utc::now();
    let mut o = outcome(&r.block, Verdict::Passed, image);
    o.date = date;
    let runtime = &ctx.runtime;
    let prepared = async {
        if r.restart {
            // The restart stops the shell with everything else; the next command starts one.
            if let ShellSlot::Open(..) = shell {
                *shell = ShellSlot::Closed;
            }
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
                match run_command(
                    runtime, container, shell, r.shell, &c.cmd, deadline, started,
                )
                .await
                {
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

/// The session's shell as the runner knows it.
enum ShellSlot<S> {
    /// None yet, or the last one ended: the next command starts one.
    Closed,
    /// A shell, and which one it is.
    Open(S, Shell),
    /// The image cannot host one: every command is an exec of its own.
    Unsupported,
}

/// Run one transcript command in the session's shell, starting the shell first if needed.
async fn run_command<R: ContainerRuntime>(
    runtime: &R,
    container: &str,
    slot: &mut ShellSlot<R::Shell>,
    want: Option<Shell>,
    cmd: &str,
    deadline: Instant,
    started: Instant,
) -> Result<ExecResult, RuntimeError> {
    // A block asking for another shell than the open one gets a fresh shell of its kind; a
    // block that asks for none keeps the open one.
    if matches!((&slot, want), (ShellSlot::Open(_, open), Some(w)) if *open != w) {
        *slot = ShellSlot::Closed;
    }
    if let ShellSlot::Closed = slot {
        *slot = match runtime
            .open_shell(container, want, deadline, started)
            .await?
        {
            Some(s) => {
                let kind = runtime.shell_kind(&s);
                ShellSlot::Open(s, kind)
            }
            None => ShellSlot::Unsupported,
        };
    }
    let ShellSlot::Open(sh, _) = slot else {
        return runtime.exec(container, cmd, deadline, started).await;
    };
    match runtime
        .shell_exec(container, sh, cmd, deadline, started)
        .await
    {
        Ok(x) => {
            if x.ended {
                *slot = ShellSlot::Closed;
            }
            Ok(x.result)
        }
        Err(e) => {
            *slot = ShellSlot::Closed;
            Err(e)
        }
    }
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
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::verify::images::ReadyImage;
    use crate::verify::plan::{self, Note, PlanConfig};
    use crate::verify::runtime::{DockerSession, ShellExec};
    use crate::verify::session::{ContainerSpec, FileWrite};

    /// How the fake answers a command.
    #[derive(Clone, Copy)]
    enum Answer {
        /// Prints this and exits with this status.
        Prints(&'static str, i64),
        /// Runs past its deadline after printing this.
        TimesOut(&'static str),
    }

    /// A container runtime that runs nothing: commands answer as scripted (unscripted ones print
    /// nothing and exit 0) and every call is logged, so a test sees what the runner asked for.
    #[derive(Default)]
    struct Fake {
        answers: HashMap<&'static str, Answer>,
        fail_create: bool,
        fail_upload: bool,
        log: Mutex<Vec<String>>,
    }

    impl Fake {
        fn answering(answers: &[(&'static str, Answer)]) -> Fake {
            Fake {
                answers: answers.iter().copied().collect(),
                ..Fake::default()
            }
        }

        fn note(&self, what: String) {
            self.log.lock().unwrap().push(what);
        }
    }

    impl ContainerRuntime for Fake {
        type Shell = ();

        async fn open_shell(
            &self,
            _container: &str,
            _want: Option<Shell>,
            _deadline: Instant,
            _started: Instant,
        ) -> Result<Option<()>, RuntimeError> {
            Ok(None)
        }

        fn shell_kind(&self, _shell: &()) -> Shell {
            unreachable!("the fake opens no shell")
        }

        async fn shell_exec(
            &self,
            _container: &str,
            _shell: &mut (),
            _cmd: &str,
            _deadline: Instant,
            _started: Instant,
        ) -> Result<ShellExec, RuntimeError> {
            unreachable!("the fake opens no shell")
        }

        async fn create_session(
            &self,
            image: &str,
            _spec: &ContainerSpec,
            _name_hint: &str,
            seq: usize,
            _docker_socket: Option<&Path>,
        ) -> Result<String, RuntimeError> {
            if self.fail_create {
                return Err(RuntimeError::Exited {
                    status: 127,
                    output: "sh: not found".into(),
                });
            }
            self.note(format!("create c{seq} from {image}"));
            Ok(format!("c{seq}"))
        }

        async fn upload(&self, container: &str, writes: &[FileWrite]) -> Result<(), RuntimeError> {
            let paths: Vec<&str> = writes.iter().map(|w| w.path.as_str()).collect();
            self.note(format!("upload {container} {}", paths.join(" ")));
            if self.fail_upload {
                return Err(RuntimeError::Stream("the upload broke off".into()));
            }
            Ok(())
        }

        async fn exec(
            &self,
            container: &str,
            cmd: &str,
            _deadline: Instant,
            started: Instant,
        ) -> Result<ExecResult, RuntimeError> {
            self.note(format!("exec {container} {cmd}"));
            match self.answers.get(cmd).copied() {
                None => Ok(ExecResult {
                    output: String::new(),
                    exit: 0,
                }),
                Some(Answer::Prints(output, exit)) => Ok(ExecResult {
                    output: output.into(),
                    exit,
                }),
                Some(Answer::TimesOut(partial)) => {
                    // Like the engine: the container goes with the timeout.
                    self.note(format!("remove {container}"));
                    Err(RuntimeError::Timeout {
                        after: started.elapsed(),
                        partial: partial.into(),
                        pids: None,
                    })
                }
            }
        }

        async fn restart(&self, container: &str) -> Result<(), RuntimeError> {
            self.note(format!("restart {container}"));
            Ok(())
        }

        async fn check_running(&self, _container: &str) -> Result<(), RuntimeError> {
            Ok(())
        }

        async fn limit_hits(&self, _container: &str, _pids_limit: u32) -> Option<LimitHits> {
            Some(LimitHits::default())
        }

        async fn remove_container(&self, container: &str) -> Result<(), RuntimeError> {
            self.note(format!("remove {container}"));
            Ok(())
        }

        async fn cgroup_version(&self) -> Option<u8> {
            Some(2)
        }

        fn start_docker_session(&self, _seq: usize) -> Result<DockerSession, String> {
            Err("the fake has no Docker API".into())
        }

        async fn end_docker_session(
            &self,
            _session: DockerSession,
        ) -> Result<Vec<String>, RuntimeError> {
            Ok(Vec::new())
        }
    }

    fn session(body: &str) -> Session {
        let note = Note {
            path: "content/n.md".into(),
            body: body.into(),
            body_line: 1,
        };
        let cfg = PlanConfig {
            images: Default::default(),
            commands: Default::default(),
            default_timeout: Duration::from_secs(60),
            limits: Limits::DEFAULT,
            local_images: Default::default(),
        };
        let mut sessions = plan::plan(&[note], &cfg).unwrap().sessions;
        assert_eq!(sessions.len(), 1, "one session in {body:?}");
        sessions.remove(0)
    }

    /// Run `session` on `fake`; the outcomes and the fake's log.
    fn run_on(fake: Fake, session: &Session) -> (Vec<BlockOutcome>, Vec<String>) {
        let images = HashMap::from([(
            session.image.clone(),
            Ok(ReadyImage {
                reference: "img:1".into(),
                id: "sha256:1".into(),
            }),
        )]);
        let ctx = RunCtx::new(fake, images, indicatif::ProgressBar::hidden());
        let outcomes = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(run_session(&ctx, session));
        let log = ctx.runtime.log.into_inner().unwrap();
        (outcomes, log)
    }

    #[test]
    fn a_passing_block_runs_its_file_in_a_container_that_is_removed_after() {
        let s = session("```sh run\necho hi\n```\n\n```output\nhi\n```\n");
        let fake = Fake::answering(&[("sh .kb/block-1.sh", Answer::Prints("hi\r\n", 0))]);
        let (outcomes, log) = run_on(fake, &s);
        assert_eq!(outcomes.len(), 1);
        assert!(
            matches!(outcomes[0].verdict, Verdict::Passed),
            "{:?}",
            outcomes[0]
        );
        assert_eq!(outcomes[0].image, "img:1");
        assert_eq!(outcomes[0].observed, "hi\r\n");
        assert_eq!(
            log,
            [
                "create c0 from img:1",
                "upload c0 .kb/block-1.sh",
                "exec c0 sh .kb/block-1.sh",
                "remove c0",
            ]
        );
    }

    #[test]
    fn a_block_printing_something_else_fails_with_both_texts_for_the_diff() {
        let s = session("```sh run\necho hi\n```\n\n```output\nhi\npid [..]\n```\n");
        let fake = Fake::answering(&[("sh .kb/block-1.sh", Answer::Prints("bye\npid 42\n", 0))]);
        let (outcomes, log) = run_on(fake, &s);
        let Verdict::Failed(Failure::Mismatch {
            line,
            expected,
            actual,
            expected_exit,
            exit,
            ..
        }) = &outcomes[0].verdict
        else {
            panic!("{:?}", outcomes[0].verdict)
        };
        assert_eq!(*line, 1);
        assert_eq!(expected.as_deref(), Some("hi\npid [..]\n"));
        // normalised through the expected patterns: `pid [..]` still matches, only `bye` differs
        assert_eq!(actual, "bye\npid [..]\n");
        assert_eq!((*expected_exit, *exit), (0, 0));
        let report = crate::verify::report::render_failure(
            &outcomes[0],
            crate::verify::report::Style { color: false },
        );
        assert!(
            report.contains("-hi\n") && report.contains("+bye\n"),
            "{report}"
        );
        assert_eq!(log.last().map(String::as_str), Some("remove c0"));
    }

    #[test]
    fn an_unexpected_exit_status_fails_the_command_with_its_line() {
        let s = session("```console run\n$ true\n$ false\n? 2\n```\n");
        let fake = Fake::answering(&[("false", Answer::Prints("", 1))]);
        let (outcomes, _) = run_on(fake, &s);
        let Verdict::Failed(Failure::Mismatch {
            line,
            command,
            expected_exit,
            exit,
            ..
        }) = &outcomes[0].verdict
        else {
            panic!("{:?}", outcomes[0].verdict)
        };
        assert_eq!((*line, command.as_str()), (3, "false"));
        assert_eq!((*expected_exit, *exit), (2, 1));
        assert_eq!(outcomes[0].observed, "$ true\n$ false\n");
    }

    #[test]
    fn a_timeout_keeps_the_partial_output_and_the_sessions_later_blocks_are_not_run() {
        let s = session(
            "```console run session=s\n$ yes\n```\n\n```console run session=s\n$ true\n```\n",
        );
        let fake = Fake::answering(&[("yes", Answer::TimesOut("y\ny\n"))]);
        let (outcomes, log) = run_on(fake, &s);
        let Verdict::Failed(Failure::Timeout {
            line,
            command,
            partial,
            ..
        }) = &outcomes[0].verdict
        else {
            panic!("{:?}", outcomes[0].verdict)
        };
        assert_eq!(
            (*line, command.as_str(), partial.as_str()),
            (2, "yes", "y\ny\n")
        );
        assert_eq!(outcomes[0].observed, "$ yes\ny\ny\n");
        let Verdict::Skipped(why) = &outcomes[1].verdict else {
            panic!("{:?}", outcomes[1].verdict)
        };
        assert_eq!(
            why,
            "not run: content/n.md:1 timed out earlier in the session"
        );
        assert!(
            !log.iter().any(|l| l == "exec c0 true"),
            "a block after the timeout ran: {log:?}"
        );
        assert_eq!(log.last().map(String::as_str), Some("remove c0"));
    }

    #[test]
    fn the_container_is_removed_when_a_block_cannot_run() {
        let s = session("```sh file=a.sh\necho a\n```\n\n```console run\n$ sh a.sh\na\n```\n");
        let fake = Fake {
            fail_upload: true,
            ..Fake::default()
        };
        let (outcomes, log) = run_on(fake, &s);
        let Verdict::Failed(Failure::Error { message }) = &outcomes[0].verdict else {
            panic!("{:?}", outcomes[0].verdict)
        };
        assert!(message.contains("the upload broke off"), "{message}");
        assert_eq!(
            log,
            ["create c0 from img:1", "upload c0 a.sh", "remove c0"],
            "nothing ran, and the container went"
        );
    }

    #[test]
    fn a_container_that_does_not_start_fails_every_block_with_the_reason() {
        let s = session(
            "```console run session=s\n$ true\n```\n\n```console run session=s\n$ true\n```\n",
        );
        let fake = Fake {
            fail_create: true,
            ..Fake::default()
        };
        let (outcomes, log) = run_on(fake, &s);
        assert_eq!(outcomes.len(), 2);
        for o in &outcomes {
            let Verdict::Failed(Failure::Error { message }) = &o.verdict else {
                panic!("{:?}", o.verdict)
            };
            assert!(
                message.starts_with("couldn't start a container from `img:1`")
                    && message.contains("sh: not found"),
                "{message}"
            );
        }
        assert!(log.is_empty(), "{log:?}");
    }

    #[test]
    fn a_requirement_the_engine_does_not_meet_skips_the_session_without_a_container() {
        let s = session("```console run requires=cgroup-v1\n$ true\n```\n");
        let (outcomes, log) = run_on(Fake::default(), &s);
        let Verdict::Skipped(why) = &outcomes[0].verdict else {
            panic!("{:?}", outcomes[0].verdict)
        };
        assert!(
            why.contains("needs cgroup v1") && why.contains("runs cgroup v2"),
            "{why}"
        );
        assert!(log.is_empty(), "{log:?}");
    }

    #[test]
    fn observed_output_is_capped_on_a_char_boundary() {
        let s = "é".repeat(OBSERVED_CAP);
        let c = cap(&s);
        assert!(c.len() < s.len() && c.contains("more bytes not kept"));
    }
}
