#!/usr/bin/env bash
#! Lays real public knowledge bases out unedited and measures how kb builds them (issue 16).
#!
#! usage: bash scripts/corpora.sh [--kb [LABEL=]PATH]... [--mirrors DIR] [--dir DIR]
#!                                [--no-layout] [--no-probe] [--repeat N] [CORPUS...]
#!
#!   --kb       the kb binary to measure (default: $CARGO_TARGET_DIR/release/kb, else
#!              target/release/kb). Repeat it to compare binaries: `--kb main=/tmp/kb-main
#!              --kb new=target/release/kb` prints one table per binary over the same corpora.
#!   --mirrors  where the bare git mirrors are (default /work/.mirror, where the `fetch` tool puts
#!              github:OWNER/NAME as OWNER+NAME/repo). Nothing is downloaded here.
#!   --dir      where the corpora are laid out (default /work/scratch/corpora); never the repo.
#!   --no-layout  reuse an existing layout instead of copying it again from the mirror.
#!   --no-probe   when an unedited build fails, do not measure a probe copy (see below).
#!   --repeat N   build N times (cold each time) and report the fastest wall time (default 1;
#!              the machine is shared, so use 3 or more for figures that go in the README).
#!   CORPUS     any of: obsidian-en obsidian-zh zola hugo rust-book advanced-java (default all).
#!
#! Each corpus becomes DIR/NAME/ with content/ = the source's docs root, byte for byte, the
#! other folders its tool reads placed beside content/ where a user moving to kb would put
#! them (static/, assets/, listings/), and a two-line kb.toml (title, language). Then, per
#! binary: `kb check`, and a cold `kb build` (no .kb cache) into DIR/NAME/runs/LABEL/public under
#! `/usr/bin/time -v`, and scripts/corpora/analyze.py prints the diagnostics by kind and by the
#! convention that explains each (classify.py: false alarms vs real problems in the source, with
#! a sample line each), then checks the built site (site_check.py): dead local links / images /
#! #fragments, leaked source syntax outside code, code blocks left unhighlighted. When the unedited build fails,
#! the site figures come from a probe copy (DIR/NAME/runs/LABEL/probe) in which the fatal
#! errors are worked around (a path-derived `slug` for clashing notes, a colliding alias
#! dropped); the table marks those figures "(probe)" and the report lists every change.
#! Last, a markdown table with one row per corpus. Logs stay in DIR/NAME/runs/LABEL/.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1  # no __pycache__ in the repository

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
mirrors=/work/.mirror
dir=/work/scratch/corpora
layout=1
probe=1
repeat=1
kbs=()
corpora=()
while (($#)); do
    case $1 in
        --kb) kbs+=("$2"); shift 2 ;;
        --mirrors) mirrors=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --no-layout) layout=0; shift ;;
        --no-probe) probe=0; shift ;;
        --repeat) repeat=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set /s/^#! \{0,1\}//p' "$0"; exit 0 ;;
        -*) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
        *) corpora+=("$1"); shift ;;
    esac
done
((${#kbs[@]})) || kbs=("kb=${CARGO_TARGET_DIR:-$repo/target}/release/kb")
case $dir in "$repo"|"$repo"/*) echo "--dir must be outside the repository" >&2; exit 2 ;; esac

# name | mirror (OWNER+NAME) | language | SRC=DST folders (SRC in the mirror's HEAD tree)
table="
obsidian-en   | obsidianmd+obsidian-help | en    | en=content
obsidian-zh   | obsidianmd+obsidian-help | zh-CN | zh=content
zola          | getzola+zola             | en    | docs/content=content docs/static=static
hugo          | gohugoio+hugoDocs        | en    | content/en=content static=static assets=assets
rust-book     | rust-lang+book           | en    | src=content listings=listings
advanced-java | doocs+advanced-java      | zh-CN | docs=content
"
((${#corpora[@]})) || corpora=(obsidian-en obsidian-zh zola hugo rust-book advanced-java)

[[ -x /usr/bin/time ]] || { apt-get install -y time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }; }
for k in "${kbs[@]}"; do
    bin=${k#*=}
    [[ -x $bin ]] || { echo "no kb binary at $bin (cargo build --release, or --kb PATH)" >&2; exit 2; }
done

row() { awk -F'|' -v OFS='|' -v n="$1" '{gsub(/^ +| +$/, "", $1)} $1 == n {print}' <<<"$table"; }
trim() { sed 's/^ *//; s/ *$//' <<<"$1"; }

for name in "${corpora[@]}"; do
    line=$(row "$name")
    [[ -n $line ]] || { echo "unknown corpus $name" >&2; exit 2; }
    IFS='|' read -r _ mirror lang maps <<<"$line"
    mirror=$(trim "$mirror"); lang=$(trim "$lang")
    root=$dir/$name
    if ((layout)) || [[ ! -d $root/content ]]; then
        git_dir=$mirrors/$mirror/repo
        [[ -d $git_dir ]] || { echo "no mirror $git_dir: fetch github:${mirror/+//} first" >&2; exit 2; }
        # shellcheck disable=SC2086 # $maps is a list of SRC=DST words
        python3 "$here/corpora/layout.py" "$git_dir" "$root" $maps >/dev/null 2>"$dir/$name.layout.log"
        printf 'title = "%s"\nlanguage = "%s"\n' "$name" "$lang" >"$root/kb.toml"
        echo "laid out $name from $mirror at $(git --git-dir="$git_dir" rev-parse --short HEAD)" >&2
    fi
done

for k in "${kbs[@]}"; do
    label=${k%%=*}; bin=$(realpath "${k#*=}")
    [[ $k == *=* ]] || label=kb
    jsons=()
    for name in "${corpora[@]}"; do
        root=$dir/$name
        run=$root/runs/$label
        rm -rf "$run"
        mkdir -p "$run"
        (cd "$root" && "$bin" check >"$run/check.txt" 2>&1) || true
        times=()
        for ((i = 1; i <= repeat; i++)); do
            rm -rf "$root/.kb" "$run/public"
            (cd "$root" && /usr/bin/time -v -o "$run/time.$i.txt" "$bin" build --out "$run/public" \
                >"$run/build.txt" 2>&1) || true
            times+=("$run/time.$i.txt")
        done
        cp "$run/time.1.txt" "$run/time.txt"
        extra=()
        if ((probe)) && ! grep -q 'Exit status: 0' "$run/time.txt"; then
            # A copy with the fatal errors worked around, for the site figures only.
            mkdir -p "$run/probe"
            cp -a "$root/content" "$root/kb.toml" "$run/probe/"
            for d in static assets listings; do [[ -d $root/$d ]] && cp -a "$root/$d" "$run/probe/"; done
            : >"$run/probe-changes.txt"
            for _ in 1 2 3 4; do
                (cd "$run/probe" && /usr/bin/time -v -o "$run/probe-time.txt" "$bin" build \
                    --out "$run/probe-public" >"$run/probe-build.txt" 2>&1) && break
                python3 "$here/corpora/analyze.py" probe-fix "$run/probe" "$run/probe-build.txt" \
                    >>"$run/probe-changes.txt" || break
            done
            if grep -q 'Exit status: 0' "$run/probe-time.txt"; then
                ptimes=()
                for ((i = 1; i <= repeat; i++)); do
                    rm -rf "$run/probe/.kb" "$run/probe-public"
                    (cd "$run/probe" && /usr/bin/time -v -o "$run/probe-time.$i.txt" "$bin" build \
                        --out "$run/probe-public" >"$run/probe-build.txt" 2>&1) || true
                    ptimes+=("$run/probe-time.$i.txt")
                done
                extra=(--site "$run/probe-public" --probe "$run/probe-changes.txt"
                    --probe-time "$(IFS=,; echo "${ptimes[*]}")")
            fi
        else
            extra=(--site "$run/public")
        fi
        python3 "$here/corpora/analyze.py" report --name "$name" --root "$root" \
            --check "$run/check.txt" --build "$run/build.txt" --time "$(IFS=,; echo "${times[*]}")" \
            --json "$run/figures.json" "${extra[@]}" | tee "$run/report.md"
        jsons+=("$run/figures.json")
    done
    echo "### $label: $bin"
    echo
    python3 "$here/corpora/analyze.py" table "${jsons[@]}"
    echo
done
