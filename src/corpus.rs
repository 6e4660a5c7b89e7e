//! Synthetic knowledge bases for benchmarks: N notes of Chinese prose mixed with English terms,
//! code blocks (Go, shell, console), tables, headings, tags, sections and cross-links.
//!
//! Deterministic for a given seed, so benchmark runs compare like with like. The shape follows
//! the peer measurements in the README (about 4 KB of markdown, 3 code blocks, a table and 5
//! headings per note, 10 sections, 2 tags per note).

use std::path::Path;

use anyhow::Context;

const WORDS: &[&str] = &[
    "垃圾回收",
    "三色标记",
    "写屏障",
    "内存",
    "容器",
    "命名空间",
    "网络",
    "延迟",
    "调度",
    "信号",
    "进程",
    "内核",
    "共享内存",
    "文件系统",
    "缓存",
    "页面",
    "中断",
    "软中断",
    "队列",
    "连接",
    "超时",
    "重试",
    "日志",
    "监控",
    "分配",
    "回收",
    "标记",
    "清除",
    "对象",
    "指针",
    "引用",
    "计数",
    "线程",
    "协程",
    "锁",
    "竞争",
    "吞吐",
    "性能",
];
const TERMS: &[&str] = &[
    "GODEBUG=gctrace=1",
    "runtime.MemStats",
    "ENTRYPOINT",
    "CMD",
    "kube-proxy",
    "iptables",
    "KUBE-SVC-XXXX",
    "memory.numa_stat",
    "cfs_quota_us",
    "cpu.shares",
    "shmget",
    "mmap",
    "veth",
    "netns",
    "NAPI",
    "GRO",
    "RPS",
    "PID 1",
    "SIGTERM",
    "overlay2",
    "cgroup v2",
    "docker run",
    "softirq",
    "proxy_arp",
];
const TAGS: &[&str] = &[
    "go", "docker", "linux", "network", "cgroup", "iptables", "gc", "memory", "kernel", "k8s",
    "signal", "ipc",
];
const SECTIONS: &[&str] = &[
    "go", "docker", "linux", "network", "cgroup", "kernel", "k8s", "storage", "security", "runtime",
];

/// Tiny deterministic PRNG (xorshift64*), so the corpus needs no extra dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn sentence(rng: &mut Rng) -> String {
    let mut s = String::new();
    let n = 6 + rng.below(8);
    for i in 0..n {
        if i % 4 == 3 {
            s.push(' ');
            s.push_str(rng.pick(TERMS));
            s.push(' ');
        } else {
            s.push_str(rng.pick(WORDS));
        }
        if i % 5 == 4 {
            s.push('，');
        }
    }
    s.push('。');
    s
}

fn paragraph(rng: &mut Rng) -> String {
    (0..3 + rng.below(3))
        .map(|_| sentence(rng))
        .collect::<Vec<_>>()
        .join("")
}

/// The markdown of note `i` of `n`.
pub fn note(i: usize, n: usize, seed: u64) -> String {
    let mut rng = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let t1 = rng.pick(TAGS);
    let t2 = rng.pick(TAGS);
    let link = rng.below(n.max(1));
    let mut s = format!(
        "---\ntitle: 笔记 {i}：{}与{}\nslug: note-{i}\ndate: 2026-{:02}-{:02}\ntags: [{t1}, {t2}]\nsummary: {}\n---\n\n",
        rng.pick(WORDS),
        rng.pick(TERMS),
        1 + i % 12,
        1 + i % 28,
        sentence(&mut rng)
    );
    for h in 0..5 {
        s.push_str(&format!(
            "## {}{} {h}\n\n{}\n\n",
            rng.pick(WORDS),
            rng.pick(WORDS),
            paragraph(&mut rng)
        ));
        match h {
            0 => s.push_str(&format!(
                "```go\npackage main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n)\n\nfunc main() {{\n\tvar m runtime.MemStats\n\tfor i := 0; i < {}; i++ {{\n\t\t_ = make([]byte, 1<<10)\n\t}}\n\truntime.ReadMemStats(&m)\n\tfmt.Println(\"NumGC\", m.NumGC, \"HeapAlloc\", m.HeapAlloc)\n}}\n```\n\n",
                1000 + i
            )),
            1 => s.push_str(&format!(
                "```console\n$ docker run --rm --cpus 0.5 debian:bookworm-slim cat /sys/fs/cgroup/cpu.max\n50000 100000\n$ ip -br addr show dev veth{i}\nveth{i}@if2 UP 10.0.{}.1/24\n```\n\n",
                i % 250
            )),
            2 => s.push_str(&format!(
                "| 字段 | 含义 |\n|---|---|\n| `{}` | {} |\n| `{}` | {} |\n\n见 [相关笔记](../{}/note-{link}.md)。\n\n",
                rng.pick(TERMS),
                sentence(&mut rng),
                rng.pick(TERMS),
                sentence(&mut rng),
                SECTIONS[link % SECTIONS.len()]
            )),
            3 => s.push_str("```sh\nset -eu\nfor i in $(seq 1 3); do\n  echo \"round $i\" | tee -a /tmp/log\ndone\n```\n\n"),
            _ => {}
        }
    }
    s
}

/// Write a knowledge base of `n` notes under `root` (`content/<section>/note-<i>.md`).
pub fn generate(root: &Path, n: usize, seed: u64) -> anyhow::Result<()> {
    for i in 0..n {
        let section = SECTIONS[i % SECTIONS.len()];
        let dir = root.join("content").join(section);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("couldn't create `{}`", dir.display()))?;
        std::fs::write(dir.join(format!("note-{i}.md")), note(i, n, seed))?;
    }
    std::fs::write(root.join("kb.toml"), "title = \"synthetic\"\n")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn notes_are_deterministic_and_link_to_existing_notes() {
        assert_eq!(super::note(3, 10, 7), super::note(3, 10, 7));
        assert_ne!(super::note(3, 10, 7), super::note(4, 10, 7));
        let dir = tempfile::tempdir().unwrap();
        super::generate(dir.path(), 20, 1).unwrap();
        let cfg = crate::config::Config::load(dir.path()).unwrap();
        let site = crate::build::Site::load(cfg, Default::default()).unwrap();
        assert_eq!(site.notes.len(), 20);
        assert!(site.diagnostics.is_empty(), "{:?}", site.diagnostics);
    }
}
