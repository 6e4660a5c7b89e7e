//! A group of blocks that share one container becomes a session: the session's settings are the
//! union of its blocks' (a conflicting `image=` or `network=` is an error), each file is written
//! before the first runnable block that needs it, and `restart` is checked.

use std::collections::BTreeSet;

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::snippet::{CodeBlock, Lang, Limits, Network, Requirement};

use super::notes::PlanConfig;
use super::session::{
    Action, BlockRef, ContainerSpec, FileWrite, ImageRef, RunStep, Session, SessionName, SkipStep,
    Step, FALLBACK_IMAGE,
};

/// A block of a group before the group becomes a session.
pub(super) enum Item {
    File {
        block: BlockRef,
        write: FileWrite,
        restart: bool,
    },
    Run(RunStep),
    Skip(SkipStep),
}

/// Blocks that will share one container.
pub(super) struct Group {
    pub(super) name: SessionName,
    pub(super) items: Vec<(Item, Settings)>,
}

/// The session-wide attributes of one block, with its line for conflict messages.
pub(super) struct Settings {
    pub(super) line: usize,
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
    pub(super) fn of(b: &CodeBlock) -> Settings {
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

/// Record a problem in a note's snippet tags at `line`.
pub(super) fn bad_snippet(
    diags: &mut Vec<Diagnostic>,
    note: &str,
    line: usize,
    message: impl Into<String>,
    hint: impl Into<String>,
) {
    diags.push(
        Diagnostic::error(DiagnosticKind::BadSnippet, note, Some(line), message).with_hint(hint),
    );
}

/// Turn a group into a session: place file writes, check restart, resolve image and settings.
pub(super) fn finish(
    g: Group,
    note: &str,
    cfg: &PlanConfig,
    diags: &mut Vec<Diagnostic>,
) -> Option<Session> {
    let errors_before = diags.len();
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
                    bad_snippet(diags, note, s.line, format!("`image={img}` conflicts with `image={first}` on line {line} of the same session"), "a session runs in one container: give `image=` once, on its first block");
                }
                Some(_) => {}
            }
        }
        if let Some(n) = s.network {
            match network {
                None => network = Some((n, s.line)),
                Some((first, line)) if first != n => bad_snippet(
                    diags,
                    note,
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
        pids: pids.unwrap_or(cfg.limits.pids),
        memory: memory.unwrap_or(cfg.limits.memory),
        millicpus: millicpus.unwrap_or(cfg.limits.millicpus),
    };
    spec.network = network.map(|(n, _)| n).unwrap_or(Network::None);
    let image_name = match image {
        Some((i, _)) => i,
        None => g
            .items
            .iter()
            .filter_map(|(_, s)| s.lang.as_ref())
            .find_map(|l| cfg.images.get(l.as_str()).cloned())
            .unwrap_or_else(|| FALLBACK_IMAGE.to_string()),
    };
    let image = if cfg.local_images.contains(&image_name) {
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
        .map(
            |(item, _)| matches!(item, Item::File { write, .. } if seen.insert(write.path.clone())),
        )
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
                    bad_snippet(diags, note, s.line, "`restart` on a block that doesn't run", "put `restart` on the runnable block that should start in a restarted container");
                }
                if !is_first {
                    later.push(write);
                }
                file_blocks.push(block);
            }
            Item::Skip(k) => steps.push(Step::Skip(k)),
            Item::Run(mut r) => {
                if first_run && r.restart {
                    bad_snippet(diags, note, r.block.line, "`restart` on the first runnable block of a session", "a restart needs a running container: put `restart` on a later block of the session, or remove it");
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
        bad_snippet(
            diags,
            note,
            line,
            format!("{} has `file=` blocks but no runnable block", g.name),
            "add a block tagged `run` to the session that uses the files",
        );
    }
    (diags.len() == errors_before).then(|| Session {
        note: note.to_string(),
        name: g.name,
        image,
        spec,
        steps,
        file_blocks,
    })
}

fn network_name(n: Network) -> &'static str {
    match n {
        Network::None => "none",
        Network::Bridge => "bridge",
    }
}
