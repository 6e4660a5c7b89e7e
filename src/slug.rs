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
}
