//! A session's long-lived shell on the Docker engine: one exec with a terminal whose stdin is
//! kb's connection, commands written into it and their output read raw up to the marker that
//! ends each one (the protocol is in [`crate::verify::shell`]).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{finish_output, Engine};
use crate::snippet::Shell;
use crate::verify::attach::{self, Conn};
use crate::verify::runtime::{ExecResult, RuntimeError, ShellExec};
use crate::verify::shell::{self, Marker, ShellKind};

/// An open shell: its exec, the connection to its terminal, what arrived after the last marker.
pub(crate) struct EngineShell {
    exec_id: String,
    /// `None` once hung up (a timeout).
    conn: Option<std::pin::Pin<Box<dyn Conn>>>,
    nonce: String,
    /// Bytes read after the last marker (output of background processes between commands).
    pending: Vec<u8>,
    kind: ShellKind,
    /// [`shell::SH_INIT`] still to send with the first command (sh).
    fresh: bool,
}

impl EngineShell {
    pub(super) fn kind(&self) -> Shell {
        match self.kind {
            ShellKind::Bash => Shell::Bash,
            ShellKind::Sh => Shell::Sh,
        }
    }
}

/// How one read loop ended.
enum Ended {
    Marker(shell::Found),
    /// The shell is gone (its terminal closed, or the exec ended and went quiet).
    Exited,
}

impl Engine {
    /// Start the session's shell; `None` when the image cannot host one (no `stty`).
    pub(super) async fn start_shell(
        &self,
        container: &str,
        want: Option<Shell>,
        deadline: Instant,
        started: Instant,
    ) -> Result<Option<EngineShell>, RuntimeError> {
        let nonce = shell::nonce();
        let launcher = shell::launcher(&nonce, want);
        let (exec_id, attach::RawStream { first, conn }) =
            self.start_tty(container, &launcher, true).await?;
        let mut sh = EngineShell {
            exec_id,
            conn: Some(conn),
            nonce,
            pending: first,
            kind: ShellKind::Sh,
            fresh: true,
        };
        let mut dropped = 0;
        match self
            .read_to_marker(container, &mut sh, deadline, started, &mut dropped)
            .await?
        {
            (
                Ended::Marker(shell::Found {
                    marker: Marker::Ready(kind),
                    end,
                    ..
                }),
                buf,
            ) => {
                sh.pending = buf[end..].to_vec();
                sh.kind = kind;
                Ok(Some(sh))
            }
            (
                Ended::Marker(shell::Found {
                    marker: Marker::NoBash,
                    ..
                }),
                _,
            ) => Err(RuntimeError::NoShell(
                "`shell=bash`, but the session's image has no bash: install it in the image, or use `shell=sh`".into(),
            )),
            (Ended::Marker(_) | Ended::Exited, _) => Ok(None),
        }
    }

    /// Run one command in the shell, at most until `deadline` (then the container is removed,
    /// as for an exec).
    pub(super) async fn run_in_shell(
        &self,
        container: &str,
        sh: &mut EngineShell,
        cmd: &str,
        deadline: Instant,
        started: Instant,
    ) -> Result<ShellExec, RuntimeError> {
        let mut script = String::new();
        if sh.fresh && sh.kind == ShellKind::Sh {
            script.push_str(shell::SH_INIT);
        }
        sh.fresh = false;
        script.push_str(&shell::command_script(sh.kind, &sh.nonce, cmd));
        let conn = sh.conn.as_mut().ok_or_else(hung_up)?;
        let write = async {
            conn.write_all(script.as_bytes()).await?;
            conn.flush().await
        };
        match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), write).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(RuntimeError::Stream(e.to_string())),
            Err(_) => return Err(self.time_out(container, sh, started, String::new()).await),
        }
        let mut dropped = 0;
        let (ended, mut buf) = self
            .read_to_marker(container, sh, deadline, started, &mut dropped)
            .await?;
        match ended {
            Ended::Marker(f) => {
                sh.pending = buf.split_off(f.end);
                let exit = match f.marker {
                    Marker::Status(n) => n,
                    Marker::Ready(_) | Marker::NoStty | Marker::NoBash => -1,
                };
                Ok(ShellExec {
                    result: ExecResult {
                        output: self.kept(&buf[..f.start], dropped),
                        exit,
                    },
                    ended: false,
                })
            }
            Ended::Exited => {
                let info = self.docker.inspect_exec(&sh.exec_id).await?;
                Ok(ShellExec {
                    result: ExecResult {
                        output: self.kept(&buf, dropped),
                        exit: info.exit_code.unwrap_or(-1),
                    },
                    ended: true,
                })
            }
        }
    }

    /// Output as text, cut at the output cap.
    fn kept(&self, bytes: &[u8], dropped: usize) -> String {
        let over = bytes.len().saturating_sub(self.output_cap);
        finish_output(&bytes[..bytes.len() - over], dropped + over)
    }

    /// Read until the shell's next marker (or its end), starting with what is pending. Bytes past
    /// the output cap are dropped (counted in `dropped`), keeping enough of the end to find the
    /// marker.
    async fn read_to_marker(
        &self,
        container: &str,
        sh: &mut EngineShell,
        deadline: Instant,
        started: Instant,
        dropped: &mut usize,
    ) -> Result<(Ended, Vec<u8>), RuntimeError> {
        let mut buf = std::mem::take(&mut sh.pending);
        let mut from = 0;
        let mut chunk = vec![0u8; 64 * 1024];
        let mut poll = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_millis(200),
            Duration::from_millis(200),
        );
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut exited_at: Option<Instant> = None;
        let deadline = tokio::time::Instant::from_std(deadline);
        loop {
            if let Some(f) = shell::find_marker(&buf, &sh.nonce, from) {
                return Ok((Ended::Marker(f), buf));
            }
            from = shell::search_from(buf.len(), &sh.nonce);
            let cap = self.output_cap;
            if buf.len() > cap + 64 * 1024 {
                let tail = buf.len() - 1024;
                *dropped += tail - cap;
                buf.drain(cap..tail);
                from = shell::search_from(buf.len(), &sh.nonce).max(cap);
            }
            tokio::select! {
                // The deadline first, so a flood of output cannot hold it off.
                biased;
                _ = tokio::time::sleep_until(deadline) => {
                    let partial = self.kept(&buf, *dropped);
                    return Err(self.time_out(container, sh, started, partial).await);
                }
                read = conn_read(&mut sh.conn, &mut chunk) => match read {
                    Ok(0) => return Ok((Ended::Exited, buf)),
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) => return Err(RuntimeError::Stream(e.to_string())),
                },
                // A shell that exited while a background process holds its terminal open sends
                // no end of stream: ask the engine, and stop after a short quiet period.
                _ = poll.tick() => match exited_at {
                    Some(t) if t.elapsed() >= Duration::from_millis(300) => {
                        return Ok((Ended::Exited, buf))
                    }
                    Some(_) => {}
                    None => {
                        let info = self.docker.inspect_exec(&sh.exec_id).await?;
                        if info.running == Some(false) {
                            exited_at = Some(Instant::now());
                        }
                    }
                },
            }
        }
    }

    /// A command ran past its deadline: remove the container (the only sure way to stop all it
    /// started) and say when, with what it printed.
    async fn time_out(
        &self,
        container: &str,
        sh: &mut EngineShell,
        started: Instant,
        partial: String,
    ) -> RuntimeError {
        // Hang up first: with a command still writing into an unread connection, the engine
        // took 20 s to remove the container (see the exec's timeout).
        sh.conn = None;
        let pids = self.pids_current(container).await;
        let _ = self.discard_container(container).await;
        RuntimeError::Timeout {
            after: started.elapsed(),
            partial,
            pids,
        }
    }
}

fn hung_up() -> RuntimeError {
    RuntimeError::Stream("the session's shell was hung up".into())
}

async fn conn_read(
    conn: &mut Option<std::pin::Pin<Box<dyn Conn>>>,
    chunk: &mut [u8],
) -> std::io::Result<usize> {
    match conn {
        Some(c) => c.read(chunk).await,
        None => Ok(0),
    }
}
