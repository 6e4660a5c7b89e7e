//! The rules that turn one note's tagged blocks into groups: blocks with the same `session=`
//! share a container, a runnable block without one is its own (with the `file=` blocks before
//! it), an `output` block belongs to the runnable block right before it, and every runnable block
//! gets its file and command. Each group then becomes a session ([`super::group`]).

use crate::diagnostics::Diagnostic;
use crate::snippet::attrs::check_relative_path;
use crate::snippet::{Attrs, CodeBlock, Lang, SnippetKey};

use super::group::{bad_snippet, finish, Group, Item, Settings};
use super::notes::{NoteText, PlanConfig};
use super::session::{
    Action, BlockRef, ExpectedOutput, FileWrite, Program, RunStep, Session, SessionName, SkipStep,
};
use super::transcript;

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

/// Where an item went: a `session=` group or a group of its own, and its index there.
#[derive(Clone, Copy)]
enum GroupAt {
    Named(usize, usize),
    Single(usize, usize),
}

/// Plans one note: walks its blocks in order, grouping them, then finishes each group.
pub(super) struct NotePlanner<'a> {
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
    pub(super) fn new(
        note: NoteText<'a>,
        cfg: &'a PlanConfig,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Self {
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
        bad_snippet(self.diags, self.note.path, line, message, hint);
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

    pub(super) fn run(mut self, blocks: &[CodeBlock]) -> Vec<Session> {
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
        // A `file=` block no runnable block takes is a caption (Hugo's `{file="x"}`), unless
        // the note runs blocks: there it is a file its author meant a block to use.
        let pending = std::mem::take(&mut self.pending_files);
        if blocks.iter().any(|b| b.info.attrs.run) {
            for (item, s) in pending {
                if let Item::File { block, .. } = item {
                    self.error(
                        s.line,
                        format!("`file={}` has no session and no runnable block after it", block.id),
                        "a file= block without session= is written for the next runnable block without one; add `run`, or put it and the blocks that use it in a `session=NAME`",
                    );
                }
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
            if let Some(s) = group.and_then(|g| finish(g, self.note.path, self.cfg, self.diags)) {
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
                    self.take_pending_files()
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

    /// The `file=` blocks without a session waiting for this runnable block. Their paths are
    /// checked here, where kb writes them: on a block with no other kb attribute `file=` is
    /// taken as written (Hugo's `{file="/assets/x.css"}` is a caption, and no error).
    fn take_pending_files(&mut self) -> Vec<(Item, Settings)> {
        let mut files = std::mem::take(&mut self.pending_files);
        files.retain(|(item, s)| match item {
            Item::File { write, .. } => match check_relative_path(&write.path) {
                Ok(()) => true,
                Err((message, hint)) => {
                    bad_snippet(self.diags, self.note.path, s.line, message, hint);
                    false
                }
            },
            _ => true,
        });
        files
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
                if a.shell.is_some() {
                    self.error(b.line, "`shell=` on a block that is not a console transcript", "`shell=` picks the shell a `console` block's `$ ` commands run in; a program runs with its language's command, or `cmd=`");
                    return None;
                }
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
            shell: a.shell,
        })
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

    #[test]
    fn shell_quoting_only_when_needed() {
        assert_eq!(shell_quote("a/b-c.go"), "a/b-c.go");
        assert_eq!(shell_quote("my file.go"), "'my file.go'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
