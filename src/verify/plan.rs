//! Planning: the tagged blocks of every note become sessions of steps, before any container runs.
//!
//! A session is one container: the blocks of a note that share `session=NAME`, or a single
//! runnable block (with the `file=` blocks without a session that come before it). Planning is
//! pure and checks everything that can be checked without Docker — an `output` block with no
//! runnable block before it, `restart` on a session's first runnable block, a language with no
//! run command, a transcript with text before its first command, conflicting `image=` or
//! `network=` in one session — so a typo fails in milliseconds with `path:line`, not after a
//! minute of image building.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::snippet::{extract, Attrs, CodeBlock, Lang, Limits, Network, Requirement, SnippetKey};

use super::transcript::{self, Transcript};

/// The image every language falls back to when kb.toml `[verify.images]` names none.
pub(crate) const FALLBACK_IMAGE: &str = "debian:bookworm-slim";

/// A note as verify needs it: its path and markdown body with the body's place in the file.
#[derive(Debug, Clone)]
pub(crate) struct Note {
    /// Path relative to the knowledge base root, `/`-separated (`content/go/panic.md`).
    pub(crate) path: String,
    /// The markdown after the front matter.
    pub(crate) body: String,
    /// 1-based file line on which the body starts.
    pub(crate) body_line: usize,
}

/// What planning needs from the configuration and the knowledge base.
#[derive(Debug, Clone)]
pub(crate) struct PlanConfig {
    /// Default image per language name (kb.toml `[verify.images]`).
    pub(crate) images: BTreeMap<String, String>,
    /// Run command per language name (kb.toml `[verify.commands]`), `{file}` replaced.
    pub(crate) commands: BTreeMap<String, String>,
    pub(crate) default_timeout: Duration,
    /// Container limits where a session's fences give none (kb.toml `[verify]`, else defaults).
    pub(crate) limits: Limits,
    /// Names with a `snippets/images/NAME/Dockerfile`.
    pub(crate) local_images: BTreeSet<String>,
}

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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub(crate) note: String,
    pub(crate) name: SessionName,
    pub(crate) image: ImageRef,
    pub(crate) spec: ContainerSpec,
    pub(crate) steps: Vec<Step>,
    /// `file=` blocks that are only written (for the results file: they share the session's fate).
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
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Run(RunStep),
    Skip(SkipStep),
}

/// A block tagged `skip`: reported, never run.
#[derive(Debug, Clone)]
pub(crate) struct SkipStep {
    pub(crate) block: BlockRef,
    pub(crate) reason: Option<String>,
    pub(crate) output_block: Option<BlockRef>,
}

/// A file written into the container's `/work` before a step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct FileWrite {
    /// Relative to `/work` (never absolute, never `..`: the fence parser refuses those).
    pub(crate) path: String,
    pub(crate) text: String,
    /// Mode 0755 when the text starts with `#!`.
    pub(crate) executable: bool,
}

/// A runnable block.
#[derive(Debug, Clone)]
pub(crate) struct RunStep {
    pub(crate) block: BlockRef,
    /// `docker stop` + `docker start` the container first.
    pub(crate) restart: bool,
    pub(crate) timeout: Duration,
    /// Files to write before this step (for the first step: every `file=` block of the session).
    pub(crate) writes: Vec<FileWrite>,
    pub(crate) action: Action,
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
#[derive(Debug, Clone)]
pub(crate) enum Action {
    /// A `console` block: each `$` command is run and checked.
    Transcript(Transcript),
    /// Any other language: the block's file is run with a command.
    Program(Program),
}

/// A non-console runnable block.
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
pub(crate) struct ExpectedOutput {
    pub(crate) block: BlockRef,
    pub(crate) text: String,
}

/// Every session of every note, in note order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub(crate) sessions: Vec<Session>,
}

/// A note's text as planning reads it, borrowed: `kb check`, `kb build` and `kb serve` plan the
/// notes they already hold, with exactly the rules `kb verify` runs by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoteText<'a> {
    /// Path relative to the knowledge base root, `/`-separated.
    pub(crate) path: &'a str,
    /// The markdown after the front matter.
    pub(crate) body: &'a str,
    /// 1-based file line on which the body starts.
    pub(crate) body_line: usize,
}

impl Note {
    pub(crate) fn text(&self) -> NoteText<'_> {
        NoteText {
            path: &self.path,
            body: &self.body,
            body_line: self.body_line,
        }
    }
}

/// One note planned on its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct NotePlan {
    /// Its sessions (those without problems).
    pub(crate) sessions: Vec<Session>,
    /// Every problem in the note's snippet tags.
    pub(crate) diagnostics: Vec<Diagnostic>,
    /// `(id, line)` of every block its sessions account for, for [`duplicate_ids`].
    pub(crate) ids: Vec<(String, usize)>,
}

/// Plan one note: extract its tagged blocks, group them into sessions, and check every rule
/// that does not depend on other notes (all but [`duplicate_ids`]).
pub(crate) fn plan_note(note: NoteText<'_>, cfg: &PlanConfig) -> NotePlan {
    let (blocks, errors) = extract(note.body, note.body_line);
    let mut diagnostics: Vec<Diagnostic> = errors
        .into_iter()
        .map(|e| {
            Diagnostic::error(
                DiagnosticKind::BadSnippet,
                note.path,
                Some(e.line),
                e.error.message,
            )
            .with_hint(e.error.hint)
        })
        .collect();
    let sessions = NotePlanner::new(note, cfg, &mut diagnostics).run(&blocks);
    let ids = sessions
        .iter()
        .flat_map(|s| s.block_refs().map(|b| (b.id.clone(), b.line)))
        .collect();
    NotePlan {
        sessions,
        diagnostics,
        ids,
    }
}

/// Block ids must be unique across the knowledge base: an error at every block that reuses an
/// id already used (in note order) somewhere else. `notes` yields each note's path and its
/// [`NotePlan::ids`].
pub(crate) fn duplicate_ids<'a>(
    notes: impl IntoIterator<Item = (&'a str, &'a [(String, usize)])>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut seen: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    for (note, ids) in notes {
        for (id, line) in ids {
            match seen.get(id.as_str()) {
                Some(&(path, first)) if (path, first) != (note, *line) => diags.push(
                    Diagnostic::error(
                        DiagnosticKind::BadSnippet,
                        note,
                        Some(*line),
                        format!("`id={id}` is already used at {path}:{first}"),
                    )
                    .with_hint(
                        "ids name blocks in reports and must be unique across the knowledge base",
                    ),
                ),
                Some(_) => {}
                None => {
                    seen.insert(id, (note, *line));
                }
            }
        }
    }
    diags
}

/// Plan all notes. Every problem is collected, so one run shows the author everything to fix.
pub(crate) fn plan(notes: &[Note], cfg: &PlanConfig) -> Result<Plan, Vec<Diagnostic>> {
    use rayon::prelude::*;
    let planned: Vec<NotePlan> = notes.par_iter().map(|n| plan_note(n.text(), cfg)).collect();
    let mut diags = duplicate_ids(
        notes
            .iter()
            .zip(&planned)
            .map(|(n, p)| (n.path.as_str(), p.ids.as_slice())),
    );
    let mut sessions = Vec::new();
    for p in planned {
        diags.extend(p.diagnostics);
        sessions.extend(p.sessions);
    }
    if diags.is_empty() {
        Ok(Plan { sessions })
    } else {
        crate::diagnostics::sort(&mut diags);
        Err(diags)
    }
}

/// A block of a group before the group becomes a session.
enum Item {
    File {
        block: BlockRef,
        write: FileWrite,
        restart: bool,
    },
    Run(RunStep),
    Skip(SkipStep),
}

/// Blocks that will share one container.
struct Group {
    name: SessionName,
    items: Vec<(Item, Settings)>,
}

/// The session-wide attributes of one block, with its line for conflict messages.
struct Settings {
    line: usize,
    lang: Option<Lang>,
    image: Option<String>,
    caps: Vec<String>,
    sysctl: Vec<(String, String)>,
    privileged: bool,
    network: Option<Network>,
    docker: bool,
    requires: Vec<Requirement>,
    pids: Option<u32>,
    memory: Option<u64>,
    millicpus: Option<u32>,
}

impl Settings {
    fn of(b: &CodeBlock) -> Settings {
        let a = &b.info.attrs;
        Settings {
            line: b.line,
            lang: b.info.lang.clone(),
            image: a.image.clone(),
            caps: a.caps.clone(),
            sysctl: a.sysctl.clone(),
            privileged: a.privileged,
            network: a.network,
            docker: a.docker,
            requires: a.requires.clone(),
            pids: a.pids,
            memory: a.memory,
            millicpus: a.millicpus,
        }
    }
}

/// Where the previous fenced block left an `output` block to go.
#[derive(Clone, Copy)]
enum Prev {
    /// Not a runnable block: an `output` block here is an error.
    Nothing,
    /// A console transcript (carries its own output).
    Console,
    /// A program block: group index and item index.
    Program(GroupAt),
    /// A skipped runnable block: the output is skipped with it.
    Skipped(GroupAt),
}

#[derive(Clone, Copy)]
enum GroupAt {
    Named(usize, usize),
    Single(usize, usize),
}

struct NotePlanner<'a> {
    note: NoteText<'a>,
    cfg: &'a PlanConfig,
    diags: &'a mut Vec<Diagnostic>,
    named: Vec<Group>,
    singles: Vec<Group>,
    /// Order of groups by first block: (is_named, index).
    order: Vec<(bool, usize)>,
    /// `file=` blocks without a session, waiting for the next runnable block without one.
    pending_files: Vec<(Item, Settings)>,
}

impl<'a> NotePlanner<'a> {
    fn new(note: NoteText<'a>, cfg: &'a PlanConfig, diags: &'a mut Vec<Diagnostic>) -> Self {
        NotePlanner {
            note,
            cfg,
            diags,
            named: Vec::new(),
            singles: Vec::new(),
            order: Vec::new(),
            pending_files: Vec::new(),
        }
    }

    fn error(&mut self, line: usize, message: impl Into<String>, hint: impl Into<String>) {
        self.diags.push(
            Diagnostic::error(
                DiagnosticKind::BadSnippet,
                self.note.path,
                Some(line),
                message,
            )
            .with_hint(hint),
        );
    }

    fn block_ref(&self, b: &CodeBlock) -> BlockRef {
        let key = SnippetKey {
            note: self.note.path.to_string(),
            ordinal: b.ordinal,
        };
        let id = b.info.attrs.id.clone().unwrap_or_else(|| key.to_string());
        BlockRef {
            key,
            id,
            line: b.line,
        }
    }

    fn run(mut self, blocks: &[CodeBlock]) -> Vec<Session> {
        let mut prev = Prev::Nothing;
        for b in blocks {
            let a = &b.info.attrs;
            if !a.is_verified() && a.skip.is_none() {
                prev = Prev::Nothing;
                continue;
            }
            if a.output {
                self.attach_output(b, prev);
                prev = Prev::Nothing;
                continue;
            }
            let settings = Settings::of(b);
            let is_console = b.info.lang == Some(Lang::Console);
            if let Some(skip) = &a.skip {
                let step = SkipStep {
                    block: self.block_ref(b),
                    reason: skip.reason.clone(),
                    output_block: None,
                };
                let at = self.push(
                    a.session.as_deref(),
                    b.ordinal,
                    Item::Skip(step),
                    settings,
                    false,
                );
                prev = if a.run && !is_console {
                    Prev::Skipped(at)
                } else {
                    Prev::Nothing
                };
                continue;
            }
            if let Some(path) = &a.file {
                if is_console {
                    self.error(b.line, "`file=` on a console transcript", "a transcript is run command by command; put the file's text in its own block with its language");
                    prev = Prev::Nothing;
                    continue;
                }
                let write = FileWrite {
                    path: path.clone(),
                    text: b.text.clone(),
                    executable: b.text.starts_with("#!"),
                };
                let item = Item::File {
                    block: self.block_ref(b),
                    write,
                    restart: a.restart && !a.run,
                };
                if a.run {
                    // Written like any file= block, then run as the next item.
                    self.push(
                        a.session.as_deref(),
                        b.ordinal,
                        item,
                        Settings::of(b),
                        false,
                    );
                } else {
                    self.push(a.session.as_deref(), b.ordinal, item, settings, false);
                    prev = Prev::Nothing;
                    continue;
                }
            }
            // `run`
            let Some(step) = self.run_step(b) else {
                prev = Prev::Nothing;
                continue;
            };
            let at = self.push(
                a.session.as_deref(),
                b.ordinal,
                Item::Run(step),
                Settings::of(b),
                true,
            );
            prev = if is_console {
                Prev::Console
            } else {
                Prev::Program(at)
            };
        }
        for (item, s) in std::mem::take(&mut self.pending_files) {
            if let Item::File { block, .. } = item {
                self.error(
                    s.line,
                    format!("`file={}` has no session and no runnable block after it", block.id),
                    "a file= block without session= is written for the next runnable block without one; add `run`, or put it and the blocks that use it in a `session=NAME`",
                );
            }
        }
        let mut sessions = Vec::new();
        let order = std::mem::take(&mut self.order);
        let mut named: Vec<Option<Group>> = std::mem::take(&mut self.named)
            .into_iter()
            .map(Some)
            .collect();
        let mut singles: Vec<Option<Group>> = std::mem::take(&mut self.singles)
            .into_iter()
            .map(Some)
            .collect();
        for (is_named, i) in order {
            let group = if is_named {
                named[i].take()
            } else {
                singles[i].take()
            };
            if let Some(s) = group.and_then(|g| self.finish(g)) {
                sessions.push(s);
            }
        }
        sessions
    }

    /// Add an item to its session group. Runnable blocks without a session start a group of
    /// their own (taking pending files); files without a session wait for one.
    fn push(
        &mut self,
        session: Option<&str>,
        ordinal: usize,
        item: Item,
        s: Settings,
        runnable: bool,
    ) -> GroupAt {
        match session {
            Some(name) => {
                let gi = match self
                    .named
                    .iter()
                    .position(|g| g.name == SessionName::Named(name.to_string()))
                {
                    Some(i) => i,
                    None => {
                        self.named.push(Group {
                            name: SessionName::Named(name.to_string()),
                            items: Vec::new(),
                        });
                        self.order.push((true, self.named.len() - 1));
                        self.named.len() - 1
                    }
                };
                self.named[gi].items.push((item, s));
                GroupAt::Named(gi, self.named[gi].items.len() - 1)
            }
            None if matches!(item, Item::File { .. }) => {
                self.pending_files.push((item, s));
                GroupAt::Single(usize::MAX, usize::MAX)
            }
            None => {
                let mut items = if runnable {
                    std::mem::take(&mut self.pending_files)
                } else {
                    Vec::new()
                };
                items.push((item, s));
                self.singles.push(Group {
                    name: SessionName::Block(ordinal),
                    items,
                });
                self.order.push((false, self.singles.len() - 1));
                GroupAt::Single(
                    self.singles.len() - 1,
                    self.singles[self.singles.len() - 1].items.len() - 1,
                )
            }
        }
    }

    fn item_mut(&mut self, at: GroupAt) -> Option<&mut Item> {
        let (g, i) = match at {
            GroupAt::Named(g, i) => (self.named.get_mut(g)?, i),
            GroupAt::Single(g, i) => (self.singles.get_mut(g)?, i),
        };
        g.items.get_mut(i).map(|(item, _)| item)
    }

    fn attach_output(&mut self, b: &CodeBlock, prev: Prev) {
        let a = &b.info.attrs;
        if a.run || a.file.is_some() {
            return self.error(
                b.line,
                "an `output` block cannot also be `run` or `file=`",
                "`output` marks the expected output of the runnable block right before it",
            );
        }
        let out_ref = self.block_ref(b);
        match prev {
            Prev::Nothing => self.error(
                b.line,
                "an `output` block with no runnable block right before it",
                "put the `output` block directly after the block tagged `run` whose output it shows",
            ),
            Prev::Console => self.error(
                b.line,
                "an `output` block after a console transcript",
                "a transcript carries its own output: put the lines under their `$ ` command",
            ),
            Prev::Skipped(at) => {
                if let Some(Item::Skip(s)) = self.item_mut(at) {
                    s.output_block = Some(out_ref);
                }
            }
            Prev::Program(at) => {
                if let Some(Item::Run(r)) = self.item_mut(at) {
                    if let Action::Program(p) = &mut r.action {
                        p.expected = Some(ExpectedOutput { block: out_ref, text: b.text.clone() });
                    }
                }
            }
        }
    }

    /// The run step of a `run` block (files are added when the session is finished).
    fn run_step(&mut self, b: &CodeBlock) -> Option<RunStep> {
        let a: &Attrs = &b.info.attrs;
        let block = self.block_ref(b);
        let timeout = a.timeout.unwrap_or(self.cfg.default_timeout);
        let action = match &b.info.lang {
            Some(Lang::Console) => {
                if a.cmd.is_some() || a.exit.is_some() {
                    self.error(b.line, "`cmd=` and `exit=` don't apply to a console transcript", "each `$ ` line is run by `sh -c`; write an expected status as a `? N` line after the command");
                    return None;
                }
                match transcript::parse(&b.text, b.line + 1) {
                    Ok(t) => Action::Transcript(t),
                    Err(e) => {
                        self.error(e.line, e.message, e.hint);
                        return None;
                    }
                }
            }
            lang => {
                let ext = lang.as_ref().map(extension).unwrap_or("txt");
                let file = a
                    .file
                    .clone()
                    .unwrap_or_else(|| format!(".kb/block-{}.{ext}", b.ordinal));
                let template = match (&a.cmd, lang) {
                    (Some(c), _) => c.clone(),
                    (None, Some(l)) => match self
                        .cfg
                        .commands
                        .get(l.as_str())
                        .cloned()
                        .or_else(|| default_command(l, b.ordinal))
                    {
                        Some(c) => c,
                        None => {
                            self.error(
                                b.line,
                                format!("kb doesn't know how to run `{l}` blocks"),
                                format!("add `cmd=\"... {{file}}\"` to the fence, or `{} = \"... {{file}}\"` under [verify.commands] in kb.toml", l.as_str()),
                            );
                            return None;
                        }
                    },
                    (None, None) => {
                        self.error(
                            b.line,
                            "a `run` block without a language",
                            "write the language first, e.g. ```sh run, or give `cmd=\"...\"`",
                        );
                        return None;
                    }
                };
                let command = template.replace("{file}", &shell_quote(&file));
                Action::Program(Program {
                    file,
                    text: b.text.clone(),
                    command,
                    exit: a.exit.map(i64::from).unwrap_or(0),
                    expected: None,
                })
            }
        };
        Some(RunStep {
            block,
            restart: a.restart,
            timeout,
            writes: Vec::new(),
            action,
        })
    }

    /// Turn a group into a session: place file writes, check restart, resolve image and settings.
    fn finish(&mut self, g: Group) -> Option<Session> {
        let errors_before = self.diags.len();
        // Image: the first `image=` of the session; a different one later is a conflict.
        let mut image: Option<(String, usize)> = None;
        let mut spec = ContainerSpec::default();
        let (mut pids, mut memory, mut millicpus) = (None, None, None);
        let mut network: Option<(Network, usize)> = None;
        for (_, s) in &g.items {
            if let Some(img) = &s.image {
                match &image {
                    None => image = Some((img.clone(), s.line)),
                    Some((first, line)) if first != img => {
                        let (first, line) = (first.clone(), *line);
                        self.error(s.line, format!("`image={img}` conflicts with `image={first}` on line {line} of the same session"), "a session runs in one container: give `image=` once, on its first block");
                    }
                    Some(_) => {}
                }
            }
            if let Some(n) = s.network {
                match network {
                    None => network = Some((n, s.line)),
                    Some((first, line)) if first != n => self.error(
                        s.line,
                        format!(
                            "`network={}` conflicts with line {line} of the same session",
                            network_name(n)
                        ),
                        "a session runs in one container: give `network=` once",
                    ),
                    Some(_) => {}
                }
            }
            spec.caps.extend(s.caps.iter().cloned());
            spec.sysctls.extend(s.sysctl.iter().cloned());
            spec.privileged |= s.privileged;
            spec.docker |= s.docker;
            spec.requires.extend(s.requires.iter().copied());
            pids = pids.max(s.pids);
            memory = memory.max(s.memory);
            millicpus = millicpus.max(s.millicpus);
        }
        spec.limits = Limits {
            pids: pids.unwrap_or(self.cfg.limits.pids),
            memory: memory.unwrap_or(self.cfg.limits.memory),
            millicpus: millicpus.unwrap_or(self.cfg.limits.millicpus),
        };
        spec.network = network.map(|(n, _)| n).unwrap_or(Network::None);
        let image_name = match image {
            Some((i, _)) => i,
            None => g
                .items
                .iter()
                .filter_map(|(_, s)| s.lang.as_ref())
                .find_map(|l| self.cfg.images.get(l.as_str()).cloned())
                .unwrap_or_else(|| FALLBACK_IMAGE.to_string()),
        };
        let image = if self.cfg.local_images.contains(&image_name) {
            ImageRef::Local(image_name)
        } else {
            ImageRef::Reference(image_name)
        };

        // Files: the first write of each path goes before the first runnable block (wherever it
        // is in the note); a later block writing the same path again is written right before the
        // next runnable block after it.
        let mut seen = BTreeSet::new();
        let first: Vec<bool> = g
            .items
            .iter()
            .map(|(item, _)| matches!(item, Item::File { write, .. } if seen.insert(write.path.clone())))
            .collect();
        let mut up_front: Vec<FileWrite> = g
            .items
            .iter()
            .zip(&first)
            .filter_map(|((item, _), is_first)| match item {
                Item::File { write, .. } if *is_first => Some(write.clone()),
                _ => None,
            })
            .collect();
        let mut later: Vec<FileWrite> = Vec::new();
        let mut steps = Vec::new();
        let mut file_blocks = Vec::new();
        let mut first_run = true;
        for ((item, s), is_first) in g.items.into_iter().zip(first) {
            match item {
                Item::File {
                    block,
                    write,
                    restart,
                } => {
                    if restart {
                        self.error(s.line, "`restart` on a block that doesn't run", "put `restart` on the runnable block that should start in a restarted container");
                    }
                    if !is_first {
                        later.push(write);
                    }
                    file_blocks.push(block);
                }
                Item::Skip(k) => steps.push(Step::Skip(k)),
                Item::Run(mut r) => {
                    if first_run && r.restart {
                        self.error(r.block.line, "`restart` on the first runnable block of a session", "a restart needs a running container: put `restart` on a later block of the session, or remove it");
                    }
                    if first_run {
                        r.writes.append(&mut up_front);
                    }
                    r.writes.append(&mut later);
                    if let Action::Program(p) = &r.action {
                        // A `file=` run block's text is already among the writes.
                        let is_file_block = file_blocks
                            .last()
                            .is_some_and(|f: &BlockRef| f.key == r.block.key);
                        if !is_file_block {
                            let executable = p.text.starts_with("#!");
                            r.writes.push(FileWrite {
                                path: p.file.clone(),
                                text: p.text.clone(),
                                executable,
                            });
                        }
                    }
                    // The run block itself is not a file-only block.
                    file_blocks.retain(|f| f.key != r.block.key);
                    first_run = false;
                    steps.push(Step::Run(r));
                }
            }
        }
        if first_run && !file_blocks.is_empty() {
            let line = file_blocks[0].line;
            self.error(
                line,
                format!("{} has `file=` blocks but no runnable block", g.name),
                "add a block tagged `run` to the session that uses the files",
            );
        }
        (self.diags.len() == errors_before).then(|| Session {
            note: self.note.path.to_string(),
            name: g.name,
            image,
            spec,
            steps,
            file_blocks,
        })
    }
}

fn network_name(n: Network) -> &'static str {
    match n {
        Network::None => "none",
        Network::Bridge => "bridge",
    }
}

/// File extension for a block's generated file.
fn extension(l: &Lang) -> &str {
    match l {
        Lang::Go => "go",
        Lang::Sh => "sh",
        Lang::Bash => "bash",
        Lang::C => "c",
        Lang::Python => "py",
        Lang::Console => "txt",
        Lang::Dockerfile => "Dockerfile",
        Lang::Other(s) => s,
    }
}

/// Built-in run command per language; `None` for languages kb cannot run without `cmd=`.
fn default_command(l: &Lang, ordinal: usize) -> Option<String> {
    Some(match l {
        Lang::Go => "go run {file}".into(),
        Lang::Sh => "sh {file}".into(),
        Lang::Bash => "bash {file}".into(),
        Lang::C => format!("cc -o /tmp/kb-{ordinal} {{file}} && /tmp/kb-{ordinal}"),
        Lang::Python => "python3 {file}".into(),
        Lang::Console | Lang::Dockerfile | Lang::Other(_) => return None,
    })
}

/// Quote a path for `sh` when it needs it.
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/-+=:@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PlanConfig {
        PlanConfig {
            images: BTreeMap::from([("go".into(), "go".into()), ("console".into(), "net".into())]),
            commands: BTreeMap::from([("ruby".into(), "ruby {file}".into())]),
            default_timeout: Duration::from_secs(60),
            limits: Limits::DEFAULT,
            local_images: BTreeSet::from(["go".to_string(), "net".to_string()]),
        }
    }

    fn plan_body(body: &str) -> Result<Vec<Session>, Vec<Diagnostic>> {
        let note = Note {
            path: "content/n.md".into(),
            body: body.into(),
            body_line: 1,
        };
        plan(&[note], &cfg()).map(|p| p.sessions)
    }

    fn errors(body: &str) -> Vec<String> {
        plan_body(body)
            .unwrap_err()
            .iter()
            .map(|d| d.to_string())
            .collect()
    }

    fn runs(s: &Session) -> Vec<&RunStep> {
        s.steps
            .iter()
            .filter_map(|st| if let Step::Run(r) = st { Some(r) } else { None })
            .collect()
    }

    #[test]
    fn each_runnable_block_without_a_session_is_its_own_session() {
        let s = plan_body("```sh run\necho a\n```\n\n```output\na\n```\n\n```go\nnot verified\n```\n\n```console run\n$ true\n```\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, SessionName::Block(1));
        let r = runs(&s[0]);
        let Action::Program(p) = &r[0].action else {
            panic!()
        };
        assert_eq!(p.file, ".kb/block-1.sh");
        assert_eq!(p.command, "sh .kb/block-1.sh");
        assert_eq!(p.expected.as_ref().unwrap().text, "a\n");
        assert_eq!(p.expected.as_ref().unwrap().block.key.ordinal, 2);
        assert_eq!(
            r[0].writes.len(),
            1,
            "the generated file is written before the block"
        );
        assert_eq!(s[1].name, SessionName::Block(4));
        assert_eq!(
            s[1].image,
            ImageRef::Local("net".into()),
            "console maps to the net image"
        );
        assert_eq!(
            s[0].image,
            ImageRef::Reference(FALLBACK_IMAGE.into()),
            "sh has no mapping"
        );
    }

    #[test]
    fn session_blocks_share_one_session_with_files_written_before_the_first_run() {
        let body = "```console run session=s\n$ go run main.go\nhi\n```\n\n```go file=main.go session=s\npackage main\n```\n\n```console run session=s restart\n$ ls\nmain.go\n```\n";
        let s = plan_body(body).unwrap();
        assert_eq!(s.len(), 1);
        let r = runs(&s[0]);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].writes
                .iter()
                .map(|w| w.path.as_str())
                .collect::<Vec<_>>(),
            ["main.go"]
        );
        assert!(r[1].writes.is_empty() && r[1].restart);
        assert_eq!(s[0].file_blocks.len(), 1);
        assert_eq!(
            s[0].image,
            ImageRef::Local("net".into()),
            "first block's language decides"
        );
    }

    #[test]
    fn a_file_written_again_later_is_written_before_the_next_run() {
        let body = "```sh file=a.sh session=s\necho 1\n```\n\n```console run session=s\n$ sh a.sh\n1\n```\n\n```sh file=a.sh session=s\necho 2\n```\n\n```console run session=s\n$ sh a.sh\n2\n```\n";
        let s = plan_body(body).unwrap();
        let r = runs(&s[0]);
        assert_eq!(r[0].writes[0].text, "echo 1\n");
        assert_eq!(r[1].writes[0].text, "echo 2\n");
    }

    #[test]
    fn file_blocks_without_a_session_go_with_the_next_runnable_block() {
        let body = "```c file=shm.c\nint main(){}\n```\n\n```console run\n$ cc shm.c\n```\n";
        let s = plan_body(body).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(runs(&s[0])[0].writes[0].path, "shm.c");
        let e = errors("```console run\n$ true\n```\n\n```c file=late.c\nx\n```\n");
        assert!(
            e[0].starts_with("content/n.md:5: error:")
                && e[0].contains("no runnable block after it"),
            "{e:?}"
        );
    }

    #[test]
    fn run_with_file_writes_and_runs_that_file() {
        let s = plan_body("```go run file=cmd/main.go\npackage main\n```\n").unwrap();
        let r = runs(&s[0]);
        let Action::Program(p) = &r[0].action else {
            panic!()
        };
        assert_eq!(p.command, "go run cmd/main.go");
        assert_eq!(r[0].writes.len(), 1);
        assert!(s[0].file_blocks.is_empty());
        assert_eq!(s[0].image, ImageRef::Local("go".into()));
    }

    #[test]
    fn commands_come_from_cmd_then_config_then_defaults() {
        let s = plan_body("```ruby run\nputs 1\n```\n\n```c run\nint main(){}\n```\n\n```python run cmd=\"python3 -u {file}\"\nprint(1)\n```\n").unwrap();
        let cmds: Vec<String> = s
            .iter()
            .map(|s| match &runs(s)[0].action {
                Action::Program(p) => p.command.clone(),
                Action::Transcript(_) => unreachable!(),
            })
            .collect();
        assert_eq!(
            cmds,
            [
                "ruby .kb/block-1.ruby",
                "cc -o /tmp/kb-2 .kb/block-2.c && /tmp/kb-2",
                "python3 -u .kb/block-3.py"
            ]
        );
        let e = errors("```yaml run\na: 1\n```\n");
        assert!(
            e[0].contains("doesn't know how to run `yaml`") && e[0].contains("[verify.commands]"),
            "{e:?}"
        );
    }

    #[test]
    fn output_block_needs_a_runnable_block_right_before_it() {
        let e =
            errors("```sh run\necho\n```\n\ntext\n\n```text\nplain\n```\n\n```output\nx\n```\n");
        assert!(
            e[0].starts_with("content/n.md:11: error: an `output` block with no runnable block"),
            "{e:?}"
        );
        let e = errors("```console run\n$ true\n```\n\n```output\nx\n```\n");
        assert!(e[0].contains("after a console transcript"), "{e:?}");
    }

    #[test]
    fn restart_on_the_first_runnable_block_is_an_error() {
        let e = errors("```console run session=s restart\n$ true\n```\n");
        assert!(
            e[0].starts_with("content/n.md:1: error: `restart` on the first runnable block"),
            "{e:?}"
        );
        let e = errors("```console run restart\n$ true\n```\n");
        assert!(
            e[0].contains("`restart` on the first runnable block"),
            "{e:?}"
        );
    }

    #[test]
    fn bad_attributes_and_transcripts_report_file_lines() {
        let e = errors("---\n\n```go run sesion=x\n```\n");
        assert!(
            e[0].starts_with("content/n.md:3: error: unknown snippet attribute `sesion`"),
            "{e:?}"
        );
        assert!(e[0].contains("did you mean `session`"));
        let e = errors("```go run file=../x.go\n```\n");
        assert!(e[0].contains("escapes the work dir"), "{e:?}");
        let e = errors("intro\n\n```console run\nstray\n$ true\n```\n");
        assert!(
            e[0].starts_with("content/n.md:4: error: `stray` comes before"),
            "{e:?}"
        );
    }

    #[test]
    fn session_settings_are_the_union_and_conflicts_are_errors() {
        let s = plan_body("```console run session=s caps=NET_ADMIN sysctl=net.ipv4.ip_forward=1\n$ true\n```\n\n```console run session=s caps=SYS_ADMIN network=bridge docker\n$ true\n```\n").unwrap();
        let spec = &s[0].spec;
        assert_eq!(
            spec.caps,
            BTreeSet::from(["NET_ADMIN".to_string(), "SYS_ADMIN".to_string()])
        );
        assert_eq!(
            spec.sysctls.get("net.ipv4.ip_forward").map(String::as_str),
            Some("1")
        );
        assert_eq!(spec.network, Network::Bridge);
        assert!(spec.docker);
        let e = errors("```console run session=s image=a\n$ true\n```\n\n```console run session=s image=b\n$ true\n```\n");
        assert!(
            e[0].starts_with("content/n.md:5:")
                && e[0].contains("conflicts with `image=a` on line 1"),
            "{e:?}"
        );
    }

    #[test]
    fn limits_are_the_sessions_largest_else_the_configured_default() {
        let s = plan_body("```console run session=s pids=32\n$ true\n```\n\n```console run session=s pids=64 memory=64m\n$ true\n```\n\n```console run\n$ true\n```\n").unwrap();
        assert_eq!(
            s[0].spec.limits,
            Limits {
                pids: 64,
                memory: 64 << 20,
                millicpus: Limits::DEFAULT.millicpus
            }
        );
        assert_eq!(s[1].spec.limits, Limits::DEFAULT);
    }

    #[test]
    fn skipped_blocks_are_planned_but_never_run() {
        let s = plan_body(
            "```sh run skip=\"needs a kernel module\"\nmodprobe x\n```\n\n```output\n```\n",
        )
        .unwrap();
        assert!(!s[0].runs_anything());
        let Step::Skip(k) = &s[0].steps[0] else {
            panic!()
        };
        assert_eq!(k.reason.as_deref(), Some("needs a kernel module"));
        assert_eq!(k.output_block.as_ref().unwrap().key.ordinal, 2);
    }

    #[test]
    fn ids_must_be_unique() {
        let e = errors("```sh run id=x\n```\n\n```sh run id=x\n```\n");
        assert!(
            e[0].contains("`id=x` is already used at content/n.md:1"),
            "{e:?}"
        );
    }

    #[test]
    fn shell_quoting_only_when_needed() {
        assert_eq!(shell_quote("a/b-c.go"), "a/b-c.go");
        assert_eq!(shell_quote("my file.go"), "'my file.go'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
