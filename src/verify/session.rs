//! What a planned session is: the types planning produces and every later stage reads — a
//! session (one container), its steps in note order, the files each step writes, the command or
//! transcript it runs, and the block references reports name.
//!
//! These types are also the verify cache's input: a session serializes to exactly what can change
//! its outcome (see [`super::cache`]). Fields that only locate or name a block — note paths, lines,
//! ids — are `#[serde(skip)]`, so moving a block in its note does not rerun it; any other field
//! added here is part of the cache key unless it is skipped too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::snippet::{Limits, Network, Requirement, Shell, SnippetKey};

use super::transcript::Transcript;

/// The image every language falls back to when kb.toml `[verify.images]` names none.
pub(crate) const FALLBACK_IMAGE: &str = "debian:bookworm-slim";

/// Where a session's image comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum ImageRef {
    /// `snippets/images/NAME`, built and tagged by kb.
    Local(String),
    /// Any other image reference, used as is.
    Reference(String),
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Local(n) => write!(f, "snippets/images/{n}"),
            ImageRef::Reference(r) => f.write_str(r),
        }
    }
}

/// Container settings of a session (the union over its blocks).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct ContainerSpec {
    pub(crate) caps: BTreeSet<String>,
    pub(crate) sysctls: BTreeMap<String, String>,
    pub(crate) privileged: bool,
    pub(crate) network: Network,
    /// The engine socket is mounted; what the session's commands create is removed afterwards.
    pub(crate) docker: bool,
    /// What the engine must offer (`requires=`); otherwise the session is skipped.
    pub(crate) requires: BTreeSet<Requirement>,
    /// pids, memory and CPU limits: the largest `pids=`/`memory=`/`cpus=` of the session's
    /// blocks, each else the configured default.
    pub(crate) limits: Limits,
}

impl Default for ContainerSpec {
    fn default() -> Self {
        ContainerSpec {
            caps: BTreeSet::new(),
            sysctls: BTreeMap::new(),
            privileged: false,
            network: Network::None,
            docker: false,
            requires: BTreeSet::new(),
            limits: Limits::DEFAULT,
        }
    }
}

/// A block as reports and the results file name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BlockRef {
    pub(crate) key: SnippetKey,
    /// `id=`, or the key as text.
    pub(crate) id: String,
    /// 1-based line of the opening fence in the note's file.
    pub(crate) line: usize,
}

impl BlockRef {
    /// `content/a.md:12`.
    pub(crate) fn location(&self) -> String {
        format!("{}:{}", self.key.note, self.line)
    }
}

/// How a session is named in reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum SessionName {
    /// `session=NAME`.
    Named(String),
    /// A runnable block on its own: its ordinal.
    Block(usize),
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionName::Named(n) => write!(f, "session={n}"),
            SessionName::Block(o) => write!(f, "#{o}"),
        }
    }
}

/// One container's worth of work.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Session {
    #[serde(skip)]
    pub(crate) note: String,
    #[serde(skip)]
    pub(crate) name: SessionName,
    /// Skipped: the cache key has the image's id instead, which changes with its contents.
    #[serde(skip)]
    pub(crate) image: ImageRef,
    pub(crate) spec: ContainerSpec,
    pub(crate) steps: Vec<Step>,
    /// `file=` blocks that are only written (for the results file: they share the session's fate).
    /// Their text is in the steps' writes.
    #[serde(skip)]
    pub(crate) file_blocks: Vec<BlockRef>,
}

impl Session {
    /// Does this session need a container at all (skipped blocks only need none)?
    pub(crate) fn runs_anything(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Run(_)))
    }

    /// `content/a.md session=gc`, for progress messages.
    pub(crate) fn label(&self) -> String {
        format!("{} {}", self.note, self.name)
    }

    /// Every block of the note this session accounts for (runnable, output, file, skipped).
    pub(crate) fn block_refs(&self) -> impl Iterator<Item = &BlockRef> {
        self.steps
            .iter()
            .flat_map(|s| {
                let (b, out) = match s {
                    Step::Run(r) => (&r.block, r.output_block()),
                    Step::Skip(k) => (&k.block, k.output_block.as_ref()),
                };
                std::iter::once(b).chain(out)
            })
            .chain(&self.file_blocks)
    }
}

/// A step of a session, in note order.
#[derive(Debug, Clone, Serialize)]
pub(crate) enum Step {
    Run(RunStep),
    Skip(SkipStep),
}

/// A block tagged `skip`: reported, never run (only its place among the steps counts for the
/// cache).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SkipStep {
    #[serde(skip)]
    pub(crate) block: BlockRef,
    #[serde(skip)]
    pub(crate) reason: Option<String>,
    #[serde(skip)]
    pub(crate) output_block: Option<BlockRef>,
}

/// A file written into the container's `/work` before a step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub(crate) struct FileWrite {
    /// Relative to `/work` (never absolute, never `..`: the fence parser refuses those).
    pub(crate) path: String,
    pub(crate) text: String,
    /// Mode 0755 when the text starts with `#!`.
    pub(crate) executable: bool,
}

/// A runnable block.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunStep {
    #[serde(skip)]
    pub(crate) block: BlockRef,
    /// `docker stop` + `docker start` the container first.
    pub(crate) restart: bool,
    pub(crate) timeout: Duration,
    /// Files to write before this step (for the first step: every `file=` block of the session).
    pub(crate) writes: Vec<FileWrite>,
    pub(crate) action: Action,
    /// `shell=` of a transcript (left out of the cache key when not given, so keys of sessions
    /// without it stay as they were).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) shell: Option<Shell>,
}

impl RunStep {
    pub(crate) fn output_block(&self) -> Option<&BlockRef> {
        match &self.action {
            Action::Program(p) => p.expected.as_ref().map(|e| &e.block),
            Action::Transcript(_) => None,
        }
    }
}

/// What a runnable block does.
#[derive(Debug, Clone, Serialize)]
pub(crate) enum Action {
    /// A `console` block: each `$` command is run and checked.
    Transcript(Transcript),
    /// Any other language: the block's file is run with a command.
    Program(Program),
}

/// A non-console runnable block.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Program {
    /// The block's file, relative to `/work`.
    pub(crate) file: String,
    /// The block's text (written to `file`).
    pub(crate) text: String,
    /// Shell command run in `/work` (`{file}` already substituted).
    pub(crate) command: String,
    /// Expected exit status (`exit=`, default 0).
    pub(crate) exit: i64,
    /// The `output` block right after it, if any (without one, output is not checked).
    pub(crate) expected: Option<ExpectedOutput>,
}

/// An `output` block.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ExpectedOutput {
    #[serde(skip)]
    pub(crate) block: BlockRef,
    pub(crate) text: String,
}
