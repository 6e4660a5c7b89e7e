//! What the server tells the browser: the messages on the live-reload WebSocket
//! (`/_kb/livereload`), and the script that acts on them (`/_kb/livereload.js`, injected into
//! every HTML response by the server, never written into `kb build` output).
//!
//! Messages are JSON objects tagged by `kind`:
//! - `reload` with `paths`: URL paths whose page changed (`"*"`: every page). A tab reloads only
//!   if it shows one of them, and keeps its scroll position.
//! - `css` with `paths`: stylesheets to swap in place, without a reload.
//! - `asset` with `paths`: images to refresh in place.
//! - `problems`: the current errors and warnings (with `path:line`), shown as an overlay; an
//!   empty list clears it. Sent on connect too, so a reloaded tab still shows them.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::diagnostics::{Diagnostic, Severity};

/// The browser-side script.
pub(crate) const SCRIPT: &str = include_str!("livereload.js");

/// URL path of the script and of the socket.
pub(crate) const SCRIPT_PATH: &str = "/_kb/livereload.js";
pub(crate) const SOCKET_PATH: &str = "/_kb/livereload";

/// A message on the live-reload socket.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(crate) enum ServerMsg {
    /// First message on a connection.
    Hello {
        generation: u64,
    },
    Reload {
        generation: u64,
        paths: Vec<String>,
    },
    Css {
        generation: u64,
        paths: Vec<String>,
    },
    Asset {
        generation: u64,
        paths: Vec<String>,
    },
    Problems {
        generation: u64,
        problems: Vec<Problem>,
    },
}

impl ServerMsg {
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }
}

/// One problem for the overlay and the terminal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub(crate) struct Problem {
    /// Path relative to the root (`content/go/gc.md`).
    pub(crate) path: String,
    pub(crate) line: Option<usize>,
    pub(crate) severity: ProblemSeverity,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    /// URL path of the note the problem is in, if it has a page: the overlay shows warnings
    /// only on that page, errors everywhere.
    pub(crate) url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProblemSeverity {
    Error,
    Warning,
}

impl Problem {
    pub(crate) fn from_diagnostic(d: &Diagnostic, url: Option<String>) -> Problem {
        Problem {
            path: d.path.to_string_lossy().replace('\\', "/"),
            line: d.line,
            severity: match d.severity {
                Severity::Error => ProblemSeverity::Error,
                // Infos are not problems: `Problems::list` leaves them out.
                Severity::Warning | Severity::Info => ProblemSeverity::Warning,
            },
            message: d.message.clone(),
            hint: d.hint.clone(),
            url,
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            ProblemSeverity::Error => "error",
            ProblemSeverity::Warning => "warning",
        };
        match self.line {
            Some(l) => write!(f, "{}:{l}: {sev}: {}", self.path, self.message)?,
            None => write!(f, "{}: {sev}: {}", self.path, self.message)?,
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// What the open tabs must do after an update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reload {
    /// Every page may have changed.
    pub(crate) all: bool,
    /// URL paths of pages that changed or went away.
    pub(crate) pages: BTreeSet<String>,
    /// URL paths of stylesheets that changed.
    pub(crate) css: BTreeSet<String>,
    /// URL paths of other static files (images) that changed.
    pub(crate) assets: BTreeSet<String>,
}

impl Reload {
    /// Record a changed output file by its site-relative path.
    pub(crate) fn file(&mut self, rel_path: &str) {
        let url = url_of(rel_path);
        if rel_path.ends_with(".css") {
            self.css.insert(url);
        } else if rel_path.ends_with(".html") || rel_path.ends_with(".xml") {
            self.pages.insert(url);
        } else if is_image(rel_path) {
            self.assets.insert(url);
        } else {
            // Scripts, fonts, the search index: pages use them, reload them all.
            self.all = true;
        }
    }

    /// The messages to send, in order.
    pub(crate) fn messages(&self, generation: u64) -> Vec<ServerMsg> {
        if self.all {
            return vec![ServerMsg::Reload {
                generation,
                paths: vec!["*".into()],
            }];
        }
        let mut out = Vec::new();
        if !self.css.is_empty() {
            out.push(ServerMsg::Css {
                generation,
                paths: self.css.iter().cloned().collect(),
            });
        }
        if !self.assets.is_empty() {
            out.push(ServerMsg::Asset {
                generation,
                paths: self.assets.iter().cloned().collect(),
            });
        }
        if !self.pages.is_empty() {
            out.push(ServerMsg::Reload {
                generation,
                paths: self.pages.iter().cloned().collect(),
            });
        }
        out
    }
}

/// URL path of a site-relative file path: `notes/x/index.html` -> `/notes/x/`.
pub(crate) fn url_of(rel_path: &str) -> String {
    if rel_path == "index.html" {
        "/".into()
    } else if let Some(dir) = rel_path.strip_suffix("/index.html") {
        format!("/{dir}/")
    } else {
        format!("/{rel_path}")
    }
}

fn is_image(rel_path: &str) -> bool {
    let ext = rel_path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    matches!(
        ext.as_str(),
        "png" | "jpg" | "jpeg" | "gif" | "svg" | "webp" | "avif" | "ico" | "bmp"
    )
}

/// Insert the live-reload script into an HTML page: before the last `</body>`, else at the end.
pub(crate) fn inject(html: &[u8]) -> Vec<u8> {
    let tag = format!("<script src=\"{SCRIPT_PATH}\" defer></script>");
    let at = find_last_ci(html, b"</body>").unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + tag.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn find_last_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .rev()
        .find(|&i| haystack[i..i + needle.len()].eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_goes_before_the_last_body_close_tag() {
        let out = inject(b"<html><body><pre></body></pre></BODY></html>");
        let out = String::from_utf8(out).unwrap();
        assert_eq!(out, format!("<html><body><pre></body></pre><script src=\"{SCRIPT_PATH}\" defer></script></BODY></html>"));
        let out = String::from_utf8(inject(b"<p>fragment")).unwrap();
        assert!(out.ends_with("defer></script>"), "{out}");
    }

    #[test]
    fn changed_files_become_page_urls_stylesheets_or_assets() {
        let mut r = Reload::default();
        r.file("notes/go-gc/index.html");
        r.file("index.html");
        r.file("style.css");
        r.file("go/diagram.png");
        assert_eq!(r.pages.iter().collect::<Vec<_>>(), ["/", "/notes/go-gc/"]);
        assert_eq!(r.css.iter().collect::<Vec<_>>(), ["/style.css"]);
        assert_eq!(r.assets.iter().collect::<Vec<_>>(), ["/go/diagram.png"]);
        assert!(!r.all);
        r.file("kb.js");
        assert!(r.all);
        assert_eq!(
            r.messages(3),
            vec![ServerMsg::Reload {
                generation: 3,
                paths: vec!["*".into()]
            }]
        );
    }

    #[test]
    fn messages_are_tagged_json() {
        let m = ServerMsg::Reload {
            generation: 2,
            paths: vec!["/".into()],
        };
        assert_eq!(
            m.to_json(),
            r#"{"kind":"reload","generation":2,"paths":["/"]}"#
        );
    }
}
