//! Problems in user input, reported as `path:line: message` plus a hint, and the exit codes.
//!
//! A build collects every [`Diagnostic`] instead of stopping at the first, so one run shows the
//! author everything to fix. [`ContentErrors`] carries them out of the pipeline; `main` maps it
//! to exit code 1 and everything else (usage, environment) to 2.

use std::fmt;
use std::path::PathBuf;

/// Process exit codes: 0 ok, 1 content problems (or failed snippets), 2 usage/environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Content = 1,
    Usage = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Fails `kb build`.
    Error,
    /// Reported by `kb build`; fails `kb build --strict` and `kb check`.
    Warning,
    /// Worth knowing, nothing to fix (a note given another URL than its file name's): listed
    /// by `kb check`, never fails anything.
    Info,
}

/// What kind of problem, so callers (and tests) branch on a value, not on message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiagnosticKind {
    Unreadable,
    InvalidUtf8,
    BadFrontMatter,
    NoTitle,
    DuplicateSlug,
    BrokenLink,
    BrokenAnchor,
    BadSnippet,
    BadConfig,
    /// Two parts of the site (an alias, an asset, a generated file) would write one file.
    OutputCollision,
    /// A Hugo or Zola shortcode kb does not render.
    UnknownShortcode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Path as the user should see it (relative to the root where possible).
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    pub severity: Severity,
    pub kind: DiagnosticKind,
    pub message: String,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(
        kind: DiagnosticKind,
        path: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            path: path.into(),
            line,
            severity: Severity::Error,
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(
        kind: DiagnosticKind,
        path: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(kind, path, line, message)
        }
    }

    pub fn info(
        kind: DiagnosticKind,
        path: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity: Severity::Info,
            ..Self::error(kind, path, line, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `path:line` (or just `path`).
    pub fn location(&self) -> String {
        match self.line {
            Some(l) => format!("{}:{l}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        };
        write!(f, "{}: {sev}: {}", self.location(), self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// The content problems that stopped a command; `main` exits with [`Exit::Content`].
#[derive(Debug)]
pub struct ContentErrors(pub Vec<Diagnostic>);

impl fmt::Display for ContentErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} problem{} in the content", plural(n))
    }
}

/// The `s` of "1 note", "2 notes", for every count a message states.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

impl std::error::Error for ContentErrors {}

/// Sort diagnostics by path then line, for stable output.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| (&a.path, a.line, &a.message).cmp(&(&b.path, b.line, &b.message)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_path_line_message_and_hint() {
        let d = Diagnostic::error(DiagnosticKind::NoTitle, "content/a.md", Some(3), "no title")
            .with_hint("add `title:`");
        assert_eq!(
            d.to_string(),
            "content/a.md:3: error: no title\n  hint: add `title:`"
        );
        let w = Diagnostic::warning(DiagnosticKind::BrokenLink, "b.md", None, "x");
        assert_eq!(w.to_string(), "b.md: warning: x");
    }
}
