//! The badge of a verified block on its note page: passed, failed, skipped or not yet run, with
//! the date, duration, image and reason of its last `kb verify` run.

use crate::html::escape;
use crate::verify::results::{BlockResult, Status};

/// The badge's HTML.
pub(crate) fn badge(
    status: Option<Status>,
    reason: Option<&String>,
    result: Option<&BlockResult>,
) -> String {
    let (class, label) = match status {
        Some(Status::Passed) => ("passed", "✓ 已验证"),
        Some(Status::Failed) => ("failed", "✗ 验证失败"),
        Some(Status::Skipped) => ("skipped", "⊘ 未运行"),
        None => ("unknown", "… 尚未验证"),
    };
    let mut title = Vec::new();
    if let Some(r) = result {
        title.push(r.date.format("%Y-%m-%d").to_string());
        title.push(format!("{:.1} s", r.duration_ms as f64 / 1000.0));
        if !r.image.is_empty() {
            title.push(r.image.clone());
        }
    }
    if let Some(reason) = reason {
        title.push(reason.clone());
    }
    let detail = if let (Some(Status::Skipped), Some(reason)) = (status, reason) {
        format!("<span class=\"kb-badge-detail\">{}</span>", escape(reason))
    } else if let Some(r) = result {
        format!(
            "<span class=\"kb-badge-detail\">{} · {:.1} s</span>",
            r.date.format("%Y-%m-%d"),
            r.duration_ms as f64 / 1000.0
        )
    } else {
        String::new()
    };
    let title = if title.is_empty() {
        String::new()
    } else {
        format!(" title=\"{}\"", escape(&title.join(" · ")))
    };
    format!("<span class=\"kb-badge kb-badge-{class}\"{title}>{label}{detail}</span>")
}
