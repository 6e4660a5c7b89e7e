//! A synthetic knowledge base for benchmarks: `sections` folders of notes shaped like the real
//! ones (Chinese prose with English terms, YAML front matter, 5 headings, a go block, a console
//! transcript, an `output` block, two tags from a pool of 60, three links to other notes as
//! relative paths and wikilinks). Deterministic: the same arguments give the same files.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;

/// xorshift64*: enough randomness for text, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const SECTIONS: &[&str] = &["go", "docker", "linux", "network", "k8s", "cgroup", "storage", "kernel", "ebpf", "db"];
const TERMS: &[&str] = &[
    "goroutine", "GC", "write barrier", "cgroup", "namespace", "iptables", "conntrack", "softirq", "NAPI", "overlayfs",
    "PID 1", "SIGTERM", "ENTRYPOINT", "veth", "bridge", "MTU", "TIME_WAIT", "page cache", "RSS", "OOM killer",
];
const PROSE: &[&str] = &[
    "在生产环境里遇到这个问题时，第一步是确认现象能否稳定复现",
    "内核的行为和文档描述并不完全一致，需要用实验验证",
    "这里的关键是区分用户态和内核态各自消耗的时间",
    "排查时先看指标，再看日志，最后才去读源码",
    "容器里的进程看到的资源视图和宿主机不同",
    "这个参数的默认值在不同版本之间变过好几次",
    "观察到的延迟主要来自锁竞争而不是网络本身",
    "把问题缩小到一个最小的可复现例子之后，原因就很清楚了",
];

/// Title of note `i` (unique).
pub fn title(i: usize) -> String {
    format!("笔记 {i}：{} 的排查记录", TERMS[i % TERMS.len()])
}

/// Path of note `i` relative to the knowledge base root.
pub fn note_path(i: usize, sections: usize) -> String {
    format!("content/{}/note-{i:05}.md", section(i, sections))
}

fn section(i: usize, sections: usize) -> String {
    let s = i % sections;
    match SECTIONS.get(s) {
        Some(name) => name.to_string(),
        None => format!("section-{s}"),
    }
}

/// The text of note `i` of `n` (about 3.5 KB).
pub fn note_text(i: usize, n: usize, sections: usize) -> String {
    let mut rng = Rng(seed(i));
    let mut s = String::with_capacity(4096);
    let tag_a = format!("tag{}", rng.below(60));
    let tag_b = format!("tag{}", rng.below(60));
    let _ = write!(
        s,
        "---\ntitle: \"{}\"\ndate: 2024-{:02}-{:02}\ntags: [{tag_a}, {tag_b}]\n---\n\n",
        title(i),
        1 + i % 12,
        1 + i % 28
    );
    let paragraph = |rng: &mut Rng, s: &mut String| {
        for _ in 0..4 {
            let _ = write!(s, "{}，`{}` 是其中的关键。", rng.pick(PROSE), rng.pick(TERMS));
        }
        s.push_str("\n\n");
    };
    paragraph(&mut rng, &mut s);
    for (h, heading) in ["现象", "复现", "分析", "解决", "总结"].iter().enumerate() {
        let _ = writeln!(s, "## {heading}：{}\n", rng.pick(TERMS));
        paragraph(&mut rng, &mut s);
        match h {
            1 => {
                // Distinct code per note, so the highlight cache does not flatter the numbers.
                let _ = write!(
                    s,
                    "```go run\npackage main\n\nimport \"fmt\"\n\nfunc main() {{\n\tfor i := 0; i < 3; i++ {{\n\t\tfmt.Println(\"note {i} step\", i)\n\t}}\n}}\n```\n\n```output\nnote {i} step 0\nnote {i} step 1\nnote {i} step 2\n```\n\n"
                );
            }
            2 => {
                let _ = writeln!(s, "```console run\n$ echo {}\n{}\n$ uname -s\nLinux\n```\n", i, i);
            }
            3 => {
                // Links: a relative path into another section, a wikilink by title, one to a heading.
                let a = (i + 1 + rng.below(n.max(2) - 1)) % n.max(1);
                let b = (i + 7) % n.max(1);
                let c = (i + sections) % n.max(1);
                let _ = writeln!(
                    s,
                    "相关笔记：[另一个案例](../{}/note-{a:05}.md)、[[{}]]，以及 [这一节](../{}/note-{c:05}.md#{}) 。\n",
                    section(a, sections),
                    title(b),
                    section(c, sections),
                    heading_id(c),
                );
            }
            _ => {}
        }
    }
    s
}

/// Id of the first heading of note `i` (what `#anchor` links to it use).
pub fn heading_id(i: usize) -> String {
    let mut rng = Rng(seed(i));
    let _ = (rng.below(60), rng.below(60));
    for _ in 0..4 {
        let _ = (rng.pick(PROSE), rng.pick(TERMS));
    }
    format!("现象-{}", rng.pick(TERMS).to_lowercase().replace(' ', "-"))
}

fn seed(i: usize) -> u64 {
    0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0x1000_0000_01b3)
}

/// Write an `n`-note knowledge base with `sections` folders into `root`.
pub fn generate(root: &Path, n: usize, sections: usize) {
    std::fs::write(root.join("kb.toml"), "title = \"synthetic\"\nbase_url = \"http://127.0.0.1:1111/\"\n").expect("write kb.toml");
    for i in 0..n {
        let path = root.join(note_path(i, sections));
        if i < sections {
            std::fs::create_dir_all(path.parent().expect("note dir")).expect("create section dir");
        }
        std::fs::write(&path, note_text(i, n, sections)).expect("write note");
    }
}
