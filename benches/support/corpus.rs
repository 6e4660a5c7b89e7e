//! The synthetic knowledge bases of the benchmarks (the only corpus generator): N notes of Chinese
//! prose mixed with English terms, identifiers and code blocks, deterministic for a given seed.
//!
//! Self-contained (no kb types) so any bench or test can include it with
//! `#[path = "support/corpus.rs"] mod corpus;` (it lives in a subdirectory so cargo does not
//! take it for a bench of its own). Two shapes:
//! - [`generate`] returns structured notes (the search bench maps them to SearchDocs directly;
//!   [`Note::markdown`] renders one as a `content/` file);
//! - [`write_site`] writes a whole knowledge base to disk (build, serve, Zola and Pagefind
//!   benches).

#![allow(dead_code)]

use std::path::Path;

/// One generated note.
#[derive(Debug, Clone)]
pub struct Note {
    /// `content/<section>/<slug>.md`
    pub path: String,
    pub slug: String,
    pub title: String,
    pub tags: Vec<String>,
    pub date: String,
    /// The text before the first heading.
    pub intro: String,
    pub sections: Vec<Section>,
}

/// A `##` section: heading, anchor, prose paragraphs and code blocks.
#[derive(Debug, Clone)]
pub struct Section {
    pub anchor: String,
    pub heading: String,
    pub text: String,
    /// (language, code)
    pub code: Vec<(String, String)>,
}

impl Note {
    /// The note as a markdown file with YAML front matter.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "---\ntitle: \"{}\"\ntags: [{}]\ndate: {}\n---\n\n{}\n",
            self.title.replace('"', "'"),
            self.tags.join(", "),
            self.date,
            self.intro
        );
        for s in &self.sections {
            md.push_str(&format!(
                "\n## {} {{#{}}}\n\n{}\n",
                s.heading, s.anchor, s.text
            ));
            for (lang, code) in &s.code {
                md.push_str(&format!("\n```{lang}\n{code}\n```\n"));
            }
        }
        md
    }
}

/// xorshift64*: deterministic and dependency-free.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    /// Zipf-ish pick: early entries much more frequent, like real vocabulary.
    pub fn zipf<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        let r = self.below(v.len()) as f64 / v.len() as f64;
        &v[((r * r * r) * v.len() as f64) as usize]
    }
}

/// Chinese technical vocabulary (2-4 characters), most common first.
pub const ZH_WORDS: &[&str] = &[
    "容器",
    "进程",
    "内存",
    "网络",
    "内核",
    "问题",
    "配置",
    "命令",
    "文件",
    "系统",
    "数据",
    "服务",
    "请求",
    "延迟",
    "线程",
    "调度",
    "信号",
    "日志",
    "参数",
    "接口",
    "节点",
    "集群",
    "镜像",
    "缓存",
    "磁盘",
    "路由",
    "规则",
    "端口",
    "地址",
    "设备",
    "驱动",
    "中断",
    "软中断",
    "队列",
    "协议",
    "连接",
    "超时",
    "重试",
    "负载",
    "监控",
    "指标",
    "采样",
    "性能",
    "瓶颈",
    "排查",
    "定位",
    "复现",
    "原因",
    "现象",
    "解决",
    "方案",
    "验证",
    "实验",
    "结果",
    "输出",
    "错误",
    "垃圾回收",
    "三色标记",
    "写屏障",
    "引用计数",
    "标记清除",
    "分代回收",
    "共享内存",
    "命名空间",
    "挂载点",
    "文件系统",
    "页缓存",
    "内存回收",
    "交换分区",
    "虚拟内存",
    "物理内存",
    "页表",
    "缺页中断",
    "上下文切换",
    "系统调用",
    "用户态",
    "内核态",
    "时间片",
    "优先级",
    "抢占",
    "限流",
    "配额",
    "权重",
    "带宽",
    "吞吐量",
    "丢包",
    "重传",
    "拥塞控制",
    "三次握手",
    "四次挥手",
    "半连接队列",
    "全连接队列",
    "负载均衡",
    "服务发现",
    "健康检查",
    "滚动更新",
    "回滚",
    "持久化",
    "快照",
    "副本",
    "一致性",
    "分布式锁",
    "死锁",
    "竞争条件",
    "原子操作",
    "内存屏障",
    "缓存行",
    "伪共享",
    "零拷贝",
    "异步",
    "同步",
    "阻塞",
    "非阻塞",
    "多路复用",
    "事件循环",
    "回调",
    "协程",
    "栈空间",
    "堆内存",
    "逃逸分析",
    "编译器",
    "链接器",
    "动态库",
    "静态库",
    "符号表",
    "调试信息",
    "断点",
    "火焰图",
    "采样分析",
];

/// Chinese function words and connectives that glue sentences together.
pub const ZH_GLUE: &[&str] = &[
    "的", "了", "在", "是", "和", "把", "被", "会", "就", "也", "都", "还", "要", "能", "从", "到",
    "对", "给", "让", "用", "如果", "因为", "所以", "但是", "然后", "这时", "其实", "通常", "一般",
    "可以", "需要", "导致", "发现", "看到",
];

/// English terms and identifiers as they appear in notes.
pub const EN_TERMS: &[&str] = &[
    "docker",
    "kubernetes",
    "cgroup",
    "namespace",
    "iptables",
    "netfilter",
    "conntrack",
    "overlay",
    "xfs",
    "ext4",
    "systemd",
    "kubelet",
    "containerd",
    "runc",
    "GODEBUG=gctrace=1",
    "runtime.MemStats",
    "memory.numa_stat",
    "cpu.cfs_quota_us",
    "cpu.shares",
    "KUBE-SVC-XXXX",
    "kube-proxy",
    "NAPI",
    "GRO",
    "RPS",
    "softirq",
    "ksoftirqd",
    "SIGTERM",
    "SIGKILL",
    "PID 1",
    "ENTRYPOINT",
    "CMD",
    "shmget",
    "EINVAL",
    "mmap",
    "kernel.shmmax",
    "/proc/meminfo",
    "vmstat",
    "free",
    "top",
    "perf",
    "strace",
    "tcpdump",
    "ip route",
    "ip neigh",
    "proxy_arp",
    "calico",
    "flannel",
    "veth",
    "bridge",
    "MASQUERADE",
    "DNAT",
    "SNAT",
    "PREROUTING",
    "POSTROUTING",
    "ClusterIP",
    "NodePort",
    "epoll",
    "goroutine",
    "panic",
    "recover",
    "defer",
    "HeapAlloc",
    "NumGC",
    "PauseTotalNs",
    "GOMAXPROCS",
    "pprof",
    "OOM",
    "oom_score_adj",
    "working_set",
    "rss",
    "page cache",
    "dentry",
    "inode",
    "pquota",
    "prjquota",
    "PrivateTmp",
];

const SECTIONS: &[&str] = &["go", "docker", "linux", "network", "k8s", "storage"];
const TAGS: &[&str] = &[
    "go",
    "docker",
    "linux",
    "network",
    "kubernetes",
    "cgroup",
    "memory",
    "cpu",
    "storage",
    "debug",
    "performance",
];

fn sentence(rng: &mut Rng) -> String {
    let mut s = String::new();
    let n = 6 + rng.below(10);
    for i in 0..n {
        match rng.below(10) {
            0..=4 => s.push_str(rng.zipf::<&str>(ZH_WORDS)),
            5..=7 => s.push_str(rng.pick::<&str>(ZH_GLUE)),
            _ => {
                if i > 0 {
                    s.push(' ');
                }
                let t = rng.zipf(EN_TERMS);
                if rng.below(3) == 0 {
                    s.push('`');
                    s.push_str(t);
                    s.push('`');
                } else {
                    s.push_str(t);
                }
                s.push(' ');
            }
        }
    }
    s.push(*rng.pick(&['。', '，', '；', '。']));
    s
}

fn paragraph(rng: &mut Rng, sentences: usize) -> String {
    (0..sentences)
        .map(|_| sentence(rng))
        .collect::<Vec<_>>()
        .join("")
}

fn code(rng: &mut Rng) -> (String, String) {
    let lang = *rng.pick(&["console", "go", "sh", "c"]);
    let mut lines = Vec::new();
    for _ in 0..(3 + rng.below(10)) {
        let line = match lang {
            "console" => format!(
                "$ {} {}",
                rng.pick(&["cat", "grep", "docker run", "ip", "sysctl", "kubectl get"]),
                rng.zipf(EN_TERMS)
            ),
            "go" => format!(
                "\tfmt.Println({}, {})",
                rng.pick(&["m.HeapAlloc", "m.NumGC", "err", "runtime.NumGoroutine()"]),
                rng.below(1000)
            ),
            "c" => format!(
                "    int r{} = {}(key_{}, 4096, IPC_CREAT | 0600);",
                rng.below(100),
                rng.pick(&["shmget", "open", "mmap"]),
                rng.below(100)
            ),
            _ => format!(
                "echo {} > /sys/fs/cgroup/{}",
                rng.below(100_000),
                rng.zipf(EN_TERMS)
            ),
        };
        lines.push(line);
    }
    (lang.to_string(), lines.join("\n"))
}

/// `n` notes, deterministic for `seed`.
pub fn generate(n: usize, seed: u64) -> Vec<Note> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let section = *rng.pick(SECTIONS);
            let slug = format!("note-{i:05}");
            let title = format!(
                "{}{}{}：{} {}",
                rng.zipf(ZH_WORDS),
                rng.pick(ZH_GLUE),
                rng.zipf(ZH_WORDS),
                rng.zipf(EN_TERMS),
                rng.zipf(ZH_WORDS)
            );
            let mut tags: Vec<String> = (0..1 + rng.below(3))
                .map(|_| rng.pick(TAGS).to_string())
                .collect();
            tags.sort();
            tags.dedup();
            let sections = (0..2 + rng.below(5))
                .map(|k| {
                    let heading = format!("{}{}", rng.zipf(ZH_WORDS), rng.zipf(ZH_WORDS));
                    Section {
                        anchor: format!("s{k}"),
                        heading,
                        text: {
                            let k = 2 + rng.below(6);
                            paragraph(&mut rng, k)
                        },
                        code: (0..rng.below(3)).map(|_| code(&mut rng)).collect(),
                    }
                })
                .collect();
            Note {
                path: format!("content/{section}/{slug}.md"),
                slug,
                title,
                tags,
                date: format!("2024-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28)),
                intro: {
                    let k = 1 + rng.below(3);
                    paragraph(&mut rng, k)
                },
                sections,
            }
        })
        .collect()
}

// --- A knowledge base on disk, for the build, serve, Zola and Pagefind benchmarks -------------
//
// About 4 KB of markdown, 3 code blocks (Go, shell, console), a table and 5 headings per note,
// 10 sections, 2 tags per note: the shape of the peer measurements in the README. Its own
// vocabulary (not the one above) keeps the figures of earlier runs comparable.

const SITE_WORDS: &[&str] = &[
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
const SITE_TERMS: &[&str] = &[
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
const SITE_TAGS: &[&str] = &[
    "go", "docker", "linux", "network", "cgroup", "iptables", "gc", "memory", "kernel", "k8s",
    "signal", "ipc",
];
const SITE_SECTIONS: &[&str] = &[
    "go", "docker", "linux", "network", "cgroup", "kernel", "k8s", "storage", "security", "runtime",
];

fn site_sentence(rng: &mut Rng) -> String {
    let mut s = String::new();
    let n = 6 + rng.below(8);
    for i in 0..n {
        if i % 4 == 3 {
            s.push(' ');
            s.push_str(rng.pick::<&str>(SITE_TERMS));
            s.push(' ');
        } else {
            s.push_str(rng.pick::<&str>(SITE_WORDS));
        }
        if i % 5 == 4 {
            s.push('，');
        }
    }
    s.push('。');
    s
}

fn site_paragraph(rng: &mut Rng) -> String {
    (0..3 + rng.below(3))
        .map(|_| site_sentence(rng))
        .collect::<Vec<_>>()
        .join("")
}

/// The markdown of note `i` of `n` in [`write_site`]'s knowledge base.
pub fn site_note(i: usize, n: usize, seed: u64) -> String {
    let mut rng = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let t1 = *rng.pick(SITE_TAGS);
    let t2 = *rng.pick(SITE_TAGS);
    let link = rng.below(n.max(1));
    let mut s = format!(
        "---\ntitle: 笔记 {i}：{}与{}\nslug: note-{i}\ndate: 2026-{:02}-{:02}\ntags: [{t1}, {t2}]\nsummary: {}\n---\n\n",
        *rng.pick(SITE_WORDS),
        *rng.pick(SITE_TERMS),
        1 + i % 12,
        1 + i % 28,
        site_sentence(&mut rng)
    );
    for h in 0..5 {
        s.push_str(&format!(
            "## {}{} {h}\n\n{}\n\n",
            *rng.pick(SITE_WORDS),
            *rng.pick(SITE_WORDS),
            site_paragraph(&mut rng)
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
                *rng.pick(SITE_TERMS),
                site_sentence(&mut rng),
                *rng.pick(SITE_TERMS),
                site_sentence(&mut rng),
                SITE_SECTIONS[link % SITE_SECTIONS.len()]
            )),
            3 => s.push_str("```sh\nset -eu\nfor i in $(seq 1 3); do\n  echo \"round $i\" | tee -a /tmp/log\ndone\n```\n\n"),
            _ => {}
        }
    }
    s
}

/// Write a knowledge base of `n` notes under `root` (`content/<section>/note-<i>.md`).
pub fn write_site(root: &Path, n: usize, seed: u64) -> anyhow::Result<()> {
    for i in 0..n {
        let section = SITE_SECTIONS[i % SITE_SECTIONS.len()];
        let dir = root.join("content").join(section);
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("couldn't create `{}`: {e}", dir.display()))?;
        std::fs::write(dir.join(format!("note-{i}.md")), site_note(i, n, seed))?;
    }
    std::fs::write(root.join("kb.toml"), "title = \"synthetic\"\n")?;
    Ok(())
}
