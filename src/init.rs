//! `kb init`: scaffold a new knowledge base that builds and verifies out of the box.

use std::path::Path;

use anyhow::{bail, Context};

const KB_TOML: &str = r#"# kb.toml: every key is optional. See the README's "kb.toml reference".
title = "我的知识库"
description = "排障笔记"
base_url = "http://127.0.0.1:1111/"
language = "zh-CN"

[verify]
timeout = "60s"

# Default image per language: a snippets/images/NAME/Dockerfile, or any image reference.
[verify.images]
console = "debian:bookworm-slim"
sh = "debian:bookworm-slim"
bash = "debian:bookworm-slim"
"#;

const FIRST_NOTE: &str = r#"---
title: 第一篇笔记
date: 2026-01-01
tags: [example]
summary: 一篇带有可验证代码块的示例笔记。
---

## 症状

写下你遇到的问题。

## 实验

带 `run` 的代码块会被 `kb verify` 放进容器里执行，并与下面的 `output` 块比较：

```sh run
echo "hello from a container"
```

```output
hello from a container
```

`console` 块是终端记录：`$ ` 开头的行是命令，其余是期望输出，`[..]` 匹配任意文本。

```console run
$ uname -s
Linux
$ echo "today is $(date +%Y)"
today is [..]
```
"#;

const IMAGE_README: &str = "Each folder here is an image for `kb verify`: `snippets/images/NAME/Dockerfile`,\nused by `image=NAME` on a code block or by `[verify.images]` in kb.toml.\n";

/// Create the scaffold in `dir`, which must be empty or missing.
pub fn create(dir: &Path) -> anyhow::Result<()> {
    if dir.exists()
        && dir
            .read_dir()
            .with_context(|| format!("couldn't read `{}`", dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "`{}` already exists and is not empty; choose a new directory",
            dir.display()
        );
    }
    write(dir, "kb.toml", KB_TOML)?;
    write(dir, "content/first-note.md", FIRST_NOTE)?;
    write(dir, "snippets/images/README.md", IMAGE_README)?;
    write(dir, ".gitignore", "/public\n/.kb\n")
}

fn write(dir: &Path, rel: &str, text: &str) -> anyhow::Result<()> {
    let p = dir.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("couldn't create `{}`", parent.display()))?;
    }
    std::fs::write(&p, text).with_context(|| format!("couldn't write `{}`", p.display()))
}
