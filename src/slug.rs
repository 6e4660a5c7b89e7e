//! Slugs for URLs and heading ids that stay readable for Chinese: ASCII is lower-cased, CJK and
//! other letters are kept as they are, everything else collapses to single `-`.
//! `三色标记 & 写屏障` -> `三色标记-写屏障`, `ENTRYPOINT 与 CMD` -> `entrypoint-与-cmd`.

/// Slugify `text`; returns an empty string when nothing usable is left.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut dash = false;
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.extend(c.to_lowercase());
        } else {
            dash = true;
        }
    }
    out
}

/// Why `path` (a slug, or an alias URL path like `/old/name/`) cannot name a page of the site,
/// or `None` when it can. Rejects what would escape the output directory or make an unreachable
/// page: `.` and `..` segments (also percent-encoded), backslashes, control characters, `?`,
/// `#` and percent-encoded `/`, `\` or NUL.
pub fn url_path_problem(path: &str) -> Option<&'static str> {
    if path.chars().any(char::is_control) {
        return Some("holds a control character");
    }
    if path.contains('\\') {
        return Some("holds a backslash");
    }
    if path.contains('?') || path.contains('#') {
        return Some("holds `?` or `#`, which end a URL's path");
    }
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"]
        .iter()
        .any(|enc| lower.contains(enc))
    {
        return Some("holds a percent-encoded `.`, `/`, `\\` or NUL");
    }
    if path.split('/').any(|seg| seg == "." || seg == "..") {
        return Some("has a `.` or `..` segment, which would leave its folder");
    }
    None
}

/// Makes slugs unique within one scope by appending `-1`, `-2`, ...
#[derive(Debug, Default)]
pub struct Unique {
    seen: std::collections::HashMap<String, usize>,
}

impl Unique {
    pub fn make(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "section" } else { base };
        let n = self.seen.entry(base.to_string()).or_insert(0);
        let id = if *n == 0 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        *n += 1;
        if id != base {
            // Reserve the suffixed id too, so a later heading literally named `x-1` gets `x-1-1`.
            self.seen.entry(id.clone()).or_insert(1);
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_cjk_and_lowercases_ascii() {
        assert_eq!(slugify("三色标记 & 写屏障"), "三色标记-写屏障");
        assert_eq!(slugify("ENTRYPOINT 与 CMD"), "entrypoint-与-cmd");
        assert_eq!(slugify("GODEBUG=gctrace=1 字段"), "godebug-gctrace-1-字段");
        assert_eq!(slugify("  Hello, World!  "), "hello-world");
        assert_eq!(slugify("kube_proxy"), "kube_proxy");
        assert_eq!(slugify("!!!"), "");
    }

    #[test]
    fn unique_appends_counters() {
        let mut u = Unique::default();
        assert_eq!(u.make("实验"), "实验");
        assert_eq!(u.make("实验"), "实验-1");
        assert_eq!(u.make("实验"), "实验-2");
        assert_eq!(u.make(""), "section");
    }

    #[test]
    fn url_paths_that_leave_the_site_or_break_a_url_are_refused() {
        for bad in [
            "..",
            ".",
            "/../../victim/existing.html",
            "/a/./b/",
            "a\\b",
            "a\0b",
            "a\nb",
            "/%2e%2e/x/",
            "/%2E./x",
            "/a%2fb/",
            "a?b",
            "a#b",
        ] {
            assert!(url_path_problem(bad).is_some(), "{bad:?} accepted");
        }
        for good in [
            "go-gc",
            "/old/gc/",
            "/posts/2024/a.html",
            "笔记",
            "/a..b/",
            "v1.2",
        ] {
            assert_eq!(url_path_problem(good), None, "{good:?} refused");
        }
    }
}
