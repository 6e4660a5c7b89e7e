//! The snippet attributes kb gives meaning to, typed: what each one sets on a block and the
//! checks on its value. `info` decides which attributes of a fence are kb's; [`apply`] sets them.
//! The field docs of [`Attrs`] are the user-facing contract (docs/snippets.md, "Attributes").

use std::time::Duration;

use super::limits::{parse_cpus, parse_memory, parse_pids};
use super::tokens::{AttrError, Token};

/// `network=` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    None,
    Bridge,
}

/// `shell=` values: the shell a session's `console` commands are typed into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Bash,
    Sh,
}

/// `requires=` values: what the engine must offer for a session to run. A session whose
/// requirement the engine does not meet is reported skipped with the reason, not failed, so a
/// note written on one kind of host still verifies (in part) on another.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Requirement {
    /// `cgroup-v1`: the engine's host uses cgroup v1 (per-controller hierarchies such as
    /// /sys/fs/cgroup/memory/).
    #[serde(rename = "cgroup-v1")]
    CgroupV1,
    /// `cgroup-v2`: the engine's host uses the unified cgroup v2 hierarchy.
    #[serde(rename = "cgroup-v2")]
    CgroupV2,
}

impl Requirement {
    pub const ALL: [Requirement; 2] = [Requirement::CgroupV1, Requirement::CgroupV2];

    pub fn as_str(self) -> &'static str {
        match self {
            Requirement::CgroupV1 => "cgroup-v1",
            Requirement::CgroupV2 => "cgroup-v2",
        }
    }
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `skip` or `skip="reason"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Skip {
    pub reason: Option<String>,
}

/// Every snippet attribute of a fence, typed. Field docs are the user-facing contract
/// (README "Snippet syntax").
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Attrs {
    /// `run`: execute this block.
    pub run: bool,
    /// `output`: the expected output of the runnable block right before this one.
    pub output: bool,
    /// `file=PATH`: write the block's text to PATH inside the session's work dir `/work`.
    pub file: Option<String>,
    /// `session=NAME`: blocks with the same session in one note share one container.
    pub session: Option<String>,
    /// `image=REF`: a `snippets/images/NAME` image or any image reference.
    pub image: Option<String>,
    /// `restart`: stop + start the session's container before this block.
    pub restart: bool,
    /// `exit=N`: expected exit status of a non-console runnable block.
    pub exit: Option<i32>,
    /// `timeout=DURATION`, e.g. `30s`, `2m`, `1h30m`, `500ms` (at most 24h).
    pub timeout: Option<Duration>,
    /// `caps=CAP,CAP`.
    pub caps: Vec<String>,
    /// `sysctl=key=value` (may repeat).
    pub sysctl: Vec<(String, String)>,
    /// `privileged`.
    pub privileged: bool,
    /// `network=none|bridge`.
    pub network: Option<Network>,
    /// `shell=bash|sh`: the shell a `console` block's commands run in (default: bash when the
    /// image has it, else sh).
    pub shell: Option<Shell>,
    /// `docker`: the session can talk to the engine that runs it.
    pub docker: bool,
    /// `hidden`: run or write it, but do not show the block on the site.
    pub hidden: bool,
    /// `skip` / `skip="reason"`: documented, never run.
    pub skip: Option<Skip>,
    /// `requires=cgroup-v1` (comma-separated): run the session only on an engine that offers
    /// this; elsewhere its blocks are reported skipped with the reason.
    pub requires: Vec<Requirement>,
    /// `pids=N`: most processes and threads in the session's container.
    pub pids: Option<u32>,
    /// `memory=SIZE` (`512m`, `2g`): most memory of the session's container, in bytes.
    pub memory: Option<u64>,
    /// `cpus=N` (`0.5`, `4`): CPU time of the session's container, in thousandths of a CPU.
    pub millicpus: Option<u32>,
    /// `id=NAME`: stable name in reports.
    pub id: Option<String>,
    /// `cmd="..."`: how to run a non-console block (`{file}` is replaced by its path).
    pub cmd: Option<String>,
}

impl Attrs {
    /// Does this block take part in verification at all?
    pub fn is_verified(&self) -> bool {
        self.run || self.file.is_some() || self.output
    }
}

/// Every attribute kb gives meaning to (for "did you mean" hints too).
pub const KNOWN_ATTRS: &[&str] = &[
    "run",
    "output",
    "file",
    "session",
    "image",
    "restart",
    "exit",
    "timeout",
    "caps",
    "sysctl",
    "privileged",
    "network",
    "shell",
    "docker",
    "hidden",
    "skip",
    "requires",
    "pids",
    "memory",
    "cpus",
    "id",
    "cmd",
];

/// Set kb attribute `t` on `a`, checking its value. An attribute kb does not know is an error
/// naming the closest known one.
pub(crate) fn apply(a: &mut Attrs, t: Token) -> Result<(), AttrError> {
    let err = |message: String, hint: &str| AttrError {
        column: t.column,
        message,
        hint: hint.to_string(),
    };
    let need_value = |v: &Option<String>, example: &str| -> Result<String, AttrError> {
        match v {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            _ => Err(AttrError {
                column: t.column,
                message: format!("`{}` needs a value", t.key),
                hint: format!("write it as `{example}`"),
            }),
        }
    };
    let no_value = |v: &Option<String>| -> Result<(), AttrError> {
        match v {
            None => Ok(()),
            Some(_) => Err(AttrError {
                column: t.column,
                message: format!("`{}` is a flag and takes no value", t.key),
                hint: format!("write just `{}`", t.key),
            }),
        }
    };
    match t.key.as_str() {
        "run" => {
            no_value(&t.value)?;
            a.run = true
        }
        "output" => {
            no_value(&t.value)?;
            a.output = true
        }
        "restart" => {
            no_value(&t.value)?;
            a.restart = true
        }
        "privileged" => {
            no_value(&t.value)?;
            a.privileged = true
        }
        "docker" => {
            no_value(&t.value)?;
            a.docker = true
        }
        "hidden" => {
            no_value(&t.value)?;
            a.hidden = true
        }
        "skip" => {
            a.skip = Some(Skip {
                reason: t.value.clone().filter(|r| !r.is_empty()),
            })
        }
        "file" => {
            let path = need_value(&t.value, "file=main.go")?;
            check_relative_path(&path).map_err(|(m, h)| err(m, h))?;
            a.file = Some(path)
        }
        "session" => a.session = Some(need_value(&t.value, "session=gc")?),
        "image" => a.image = Some(need_value(&t.value, "image=go")?),
        "id" => a.id = Some(need_value(&t.value, "id=panic-defer-order")?),
        "cmd" => a.cmd = Some(need_value(&t.value, "cmd=\"go run {file}\"")?),
        "exit" => {
            let v = need_value(&t.value, "exit=2")?;
            a.exit = Some(v.parse().map_err(|_| {
                err(
                    format!("`exit={v}` is not an integer exit status"),
                    "write e.g. `exit=2`",
                )
            })?)
        }
        "timeout" => {
            let v = need_value(&t.value, "timeout=30s")?;
            a.timeout = Some(
                crate::duration::parse(&v, crate::duration::MAX_TIMEOUT)
                    .map_err(|e| err(format!("`timeout={v}` {e}"), &e.hint("timeout=30s")))?,
            )
        }
        "caps" => {
            let v = need_value(&t.value, "caps=NET_ADMIN,SYS_ADMIN")?;
            for cap in v.split(',').map(str::trim).filter(|c| !c.is_empty()) {
                let cap = cap.to_ascii_uppercase();
                let cap = cap.strip_prefix("CAP_").unwrap_or(&cap).to_string();
                if !cap.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    return Err(err(
                        format!("`{cap}` is not a capability name"),
                        "use names like NET_ADMIN,SYS_ADMIN",
                    ));
                }
                a.caps.push(cap);
            }
        }
        "sysctl" => {
            let v = need_value(&t.value, "sysctl=kernel.shmmax=68719476736")?;
            let (k, val) = v.split_once('=').ok_or_else(|| {
                err(
                    format!("`sysctl={v}` has no value"),
                    "write `sysctl=key=value`, e.g. `sysctl=net.ipv4.ip_forward=1`",
                )
            })?;
            a.sysctl.push((k.to_string(), val.to_string()));
        }
        "requires" => {
            let v = need_value(&t.value, "requires=cgroup-v1")?;
            for r in v.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                let req = Requirement::ALL
                    .into_iter()
                    .find(|k| k.as_str() == r)
                    .ok_or_else(|| {
                        let known: Vec<&str> =
                            Requirement::ALL.iter().map(|k| k.as_str()).collect();
                        err(
                            format!("`requires={r}` is not a known requirement"),
                            &format!("use one of: {}", known.join(", ")),
                        )
                    })?;
                if !a.requires.contains(&req) {
                    a.requires.push(req);
                }
            }
        }
        "pids" => {
            let v = need_value(&t.value, "pids=64")?;
            a.pids = Some(parse_pids(&v).ok_or_else(|| {
                err(
                    format!("`pids={v}` is not a process count"),
                    "write a whole number of processes, e.g. `pids=64`",
                )
            })?)
        }
        "memory" => {
            let v = need_value(&t.value, "memory=512m")?;
            a.memory = Some(parse_memory(&v).ok_or_else(|| {
                err(
                    format!("`memory={v}` is not a memory size of at least 6 MiB"),
                    "write a size like `memory=512m` or `memory=2g`",
                )
            })?)
        }
        "cpus" => {
            let v = need_value(&t.value, "cpus=1")?;
            a.millicpus = Some(parse_cpus(&v).ok_or_else(|| {
                err(
                    format!("`cpus={v}` is not a number of CPUs"),
                    "write a number of CPUs from 0.01 up, e.g. `cpus=1` or `cpus=0.5`",
                )
            })?)
        }
        "shell" => {
            let v = need_value(&t.value, "shell=sh")?;
            a.shell = Some(match v.as_str() {
                "bash" => Shell::Bash,
                "sh" => Shell::Sh,
                _ => {
                    return Err(err(
                        format!("`shell={v}` is not supported"),
                        "use `shell=bash` or `shell=sh`",
                    ))
                }
            })
        }
        "network" => {
            let v = need_value(&t.value, "network=bridge")?;
            a.network = Some(match v.as_str() {
                "none" => Network::None,
                "bridge" => Network::Bridge,
                _ => {
                    return Err(err(
                        format!("`network={v}` is not supported"),
                        "use `network=none` or `network=bridge`",
                    ))
                }
            })
        }
        unknown => {
            let hint = match closest(unknown) {
                Some(k) => format!(
                    "did you mean `{k}`? known attributes: {}",
                    KNOWN_ATTRS.join(", ")
                ),
                None => format!("known attributes: {}", KNOWN_ATTRS.join(", ")),
            };
            return Err(AttrError {
                column: t.column,
                message: format!("unknown snippet attribute `{unknown}`"),
                hint,
            });
        }
    }
    Ok(())
}

/// `file=` must stay inside the session's work dir.
pub(crate) fn check_relative_path(path: &str) -> Result<(), (String, &'static str)> {
    if path.starts_with('/') {
        return Err((
            format!("`file={path}` is absolute"),
            "file= paths are relative to the session's work dir /work, e.g. `file=main.go`",
        ));
    }
    if path.split('/').any(|c| c == "..") {
        return Err((
            format!("`file={path}` escapes the work dir"),
            "remove the `..`: file= paths must stay inside /work",
        ));
    }
    // `.`, `./`, `a/` or `a//b` name a directory (or nothing), not a file to write.
    let parts: Vec<&str> = path.split('/').collect();
    let names_a_file = match parts.split_last() {
        Some((last, dirs)) => {
            !last.is_empty() && *last != "." && dirs.iter().all(|c| !c.is_empty())
        }
        None => false,
    };
    if !names_a_file || path.contains('\0') {
        return Err((
            format!("`file={path}` does not name a file"),
            "give a file path relative to /work, e.g. `file=main.go` or `file=src/main.go`",
        ));
    }
    Ok(())
}

fn closest(word: &str) -> Option<&'static str> {
    KNOWN_ATTRS
        .iter()
        .map(|k| (strsim::levenshtein(word, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}
