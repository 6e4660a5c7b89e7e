//! Planning: the tagged blocks of every note become sessions of steps, before any container runs.
//!
//! A session is one container: the blocks of a note that share `session=NAME`, or a single
//! runnable block (with the `file=` blocks without a session that come before it). Planning is
//! pure and checks everything that can be checked without Docker — an `output` block with no
//! runnable block before it, `restart` on a session's first runnable block, a language with no
//! run command, a transcript with text before its first command, conflicting `image=` or
//! `network=` in one session — so a typo fails in milliseconds with `path:line`, not after a
//! minute of image building.
//!
//! This file is planning's entry: [`plan`] for `kb verify`, [`plan_note`] and [`duplicate_ids`]
//! for the commands that plan notes they already hold. The rules are in [`super::planner`] and
//! [`super::group`]; the result is made of [`super::session`]'s types.

use std::collections::BTreeMap;

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::snippet::extract;

use super::planner::NotePlanner;
use super::session::Session;

pub(crate) use super::notes::{Note, NoteText, PlanConfig};

/// Every session of every note, in note order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub(crate) sessions: Vec<Session>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snippet::{Limits, Network};
    use crate::verify::session::{Action, ImageRef, RunStep, SessionName, Step, FALLBACK_IMAGE};
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

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
    fn shell_is_for_transcripts_only_and_kept_on_their_step() {
        let s = plan_body("```console run shell=sh\n$ true\n```\n").unwrap();
        assert_eq!(runs(&s[0])[0].shell, Some(crate::snippet::Shell::Sh));
        let e = errors("```sh run shell=bash\necho\n```\n");
        assert!(
            e[0].contains("content/n.md:1") && e[0].contains("`shell=`"),
            "{e:?}"
        );
        let e = errors("```console run shell=zsh\n$ true\n```\n");
        assert!(e[0].contains("`shell=zsh` is not supported"), "{e:?}");
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

    /// Hugo's `{file="..."}` (and other tools' attributes) on a note that runs nothing: captions,
    /// no session and no error, whatever the path.
    #[test]
    fn a_file_block_no_runnable_block_takes_is_a_caption() {
        let body = "```go-html-template {file=\"layouts/page.html\" copy=true}\n{{ .Title }}\n```\n\n```css {file=\"/assets/main.css\"}\nbody {}\n```\n\n```rust,ignore\nfn main() {}\n```\n\n```sh\nhugo build\n```\n";
        assert_eq!(plan_body(body).unwrap().len(), 0);
    }

    /// A plain `file=` block a runnable block takes has its path checked then.
    #[test]
    fn a_taken_file_must_stay_inside_the_work_dir() {
        let e =
            errors("```c {file=\"/etc/x.c\"}\nint main(){}\n```\n\n```console run\n$ true\n```\n");
        assert!(
            e[0].starts_with("content/n.md:1: error: `file=/etc/x.c` is absolute"),
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
}
