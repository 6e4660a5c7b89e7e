#!/usr/bin/env python3
"""Measure one kb run over a real corpus: diagnostics by kind and by convention, a link and
leak check of the built site, and code-block highlighting. Python 3 standard library only.

usage:
  analyze.py report --name N --root KB_ROOT --check CHECK.txt --build BUILD.txt
                    --time TIME.txt[,TIME2.txt...] [--site PUBLIC] --json OUT.json
                    [--probe PROBE_CHANGES.txt --probe-time PROBE_TIME.txt]
  analyze.py table OUT.json ...        # one markdown row per corpus
  analyze.py probe-fix KB_ROOT BUILD.txt
      # make a failed build pass in a copy: give clashing notes a path-derived `slug`, drop a
      # colliding alias; prints what it changed, exits 1 when nothing it knows how to fix is left

`report` prints details (every diagnostic kind split by the convention that explains it, with a
sample line each) and writes the figures as JSON for `table`.
"""
import json
import os
import re
import urllib.parse
import sys
from collections import Counter

from classify import ALIAS, classify, parse_diags, Corpus
from site_check import LEAKS, check_site


def read_time(paths):
    """(wall s, peak RSS MB) of the fastest of the comma-separated `/usr/bin/time -v` files."""
    runs = [read_one_time(p) for p in paths.split(",")]
    return min(runs, key=lambda r: r[0] if r[0] is not None else float("inf"))


def read_one_time(path):
    wall, rss = None, None
    for line in open(path, encoding="utf-8", errors="replace"):
        if "Elapsed (wall clock)" in line:
            parts = line.rsplit(" ", 1)[1].strip().split(":")
            wall = sum(float(x) * 60 ** i for i, x in enumerate(reversed(parts)))
        if "Maximum resident set size" in line:
            rss = int(line.rsplit(" ", 1)[1]) / 1024
    return wall, rss


def report(args):
    c = Corpus(args["--root"])
    check = open(args["--check"], encoding="utf-8", errors="replace").read()
    build = open(args["--build"], encoding="utf-8", errors="replace").read()
    diags = parse_diags(check)
    notes = re.search(r"checked (\d+) notes?", check)
    rc = re.search(r"Exit status: (\d+)", open(args["--time"].split(",")[0]).read())
    wall, rss = read_time(args["--time"])
    out = {"name": args["--name"], "notes": int(notes.group(1)) if notes else None,
           "build_exit": int(rc.group(1)) if rc else None, "wall": wall, "rss_mb": rss,
           "fatal": [l for l in build.splitlines() if ": error: " in l],
           "errors": Counter(), "warnings": Counter(), "conventions": {}, "site": None,
           "site_from": None}
    samples = {}
    for d in diags:
        out["errors" if d["sev"] == "error" else "warnings"][d["kind"]] += 1
        verdict, conv = classify(c, d)
        key = f"{d['sev']} {d['kind']}"
        out["conventions"].setdefault(key, Counter())[f"{verdict}: {conv}"] += 1
        samples.setdefault((key, verdict, conv), f"{d['path']}:{d['line']}: {d['msg']}")
    site = args.get("--site")
    if site and os.path.isdir(site) and os.listdir(site):
        out["site"] = check_site(site, c)
        out["site"]["unreported"] = unreported(out["site"]["dead_items"], diags)
        out["site_from"] = "probe" if args.get("--probe") else "build"
        if args.get("--probe"):
            out["probe_wall"], out["probe_rss_mb"] = read_time(args["--probe-time"])
            out["probe_changes"] = open(args["--probe"]).read().splitlines()
    print_report(out, samples)
    with open(args["--json"], "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)


def unreported(dead, diags):
    """The dead links, images and #fragments of the built site that no `kb check` diagnostic on
    the same source file names (by the link as written, or by its fragment); on a page that
    embeds other notes, a diagnostic on any file."""
    by_file = {}
    for d in diags:
        by_file.setdefault(d["path"], []).append(urllib.parse.unquote(d["msg"]))
    out = []
    every = [m for ms in by_file.values() for m in ms]
    for source, kind, ref, frag, embeds in dead:
        msgs = every if embeds else by_file.get(source, [])
        names = {urllib.parse.unquote(ref), urllib.parse.unquote(ref.split("#", 1)[0])}
        if frag:
            names = {urllib.parse.unquote(frag)}
        if not any(n and n in m for n in names for m in msgs):
            out.append(f"{source}: {kind} {ref}")
    return out


def print_report(o, samples):
    print(f"## {o['name']}\n")
    print(f"notes {o['notes']}, build exit {o['build_exit']}, wall {o['wall']:.2f} s, "
          f"peak RSS {o['rss_mb']:.0f} MB")
    for line in o["fatal"][:12]:
        print(f"  fatal: {line}")
    if len(o["fatal"]) > 12:
        print(f"  ... {len(o['fatal']) - 12} more fatal errors")
    for key, convs in sorted(o["conventions"].items(), key=lambda kv: -sum(kv[1].values())):
        print(f"\n{sum(convs.values()):5d} {key}")
        for conv, n in convs.most_common():
            verdict, name = conv.split(": ", 1)
            print(f"  {n:5d} {conv}\n        e.g. {samples[(key, verdict, name)][:200]}")
    s = o["site"]
    if s is None:
        print("\nsite: none (the build failed; run without --no-probe for site figures)\n")
        return
    if o["site_from"] == "probe":
        print(f"\nsite figures from a PROBE copy (build failed unedited); probe build "
              f"{o['probe_wall']:.2f} s, {o['probe_rss_mb']:.0f} MB; changes:")
        for ch in o["probe_changes"][:8]:
            print(f"  {ch}")
        if len(o["probe_changes"]) > 8:
            print(f"  ... {len(o['probe_changes']) - 8} more (probe-changes.txt)")
    print(f"\nsite: {s['pages']} pages, {s['note_pages']} note pages, {s['links']} local links "
          f"in notes: dead links {s['dead_links']}, dead images {s['dead_images']}, dead "
          f"#fragments {s['dead_fragments']}; dead links on list/tag pages {s['dead_other_pages']}")
    print(f"dead ones kb check did not report: {len(s['unreported'])}")
    for line in s["unreported"][:10]:
        print(f"  {line[:160]}")
    print("dead links and images by shape:")
    for sh, n in s["dead_shapes"].most_common():
        print(f"  {n:5d} {sh}\n        e.g. {s['dead_shape_examples'][sh][:160]}")
    print("most frequent dead targets:")
    for ref, n in s["dead_examples"].most_common(10):
        print(f"  {n:5d} x {ref[:150]}")
    print("leaked source syntax (occurrences / pages):")
    names = {short: what for short, what, _, _ in LEAKS}
    for name, n in s["leaks"].most_common():
        print(f"  {n:5d} / {s['leak_pages'][name]:4d}  {names[name]}   e.g. "
              f"{s['leak_examples'][name][:140]}")
    print(f"code blocks: {s['code_blocks']} ({s['code_plain']} plain text), {s['code_lang']} with "
          f"a language, {s['code_unhighlighted']} of those unhighlighted; top:")
    print("  " + ", ".join(f"{l or '-'} {n}" for l, n in s["unhighlighted_langs"].most_common(15)))
    print()


def table(paths):
    print("| corpus | notes | build exit | wall s | peak RSS MB | check errors | check warnings "
          "| dead links / images / #fragments (not reported by kb check) | leaked syntax | code blocks with a language: "
          "unhighlighted | top unhighlighted |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for p in paths:
        o = json.load(open(p))
        short = lambda c: ", ".join(f"{k} {n}" if len(k) < 30 else f"{k[:27]}… {n}"
                                    for k, n in Counter(c).most_common()) or "0"
        s = o["site"]
        wall, rss = o["wall"], o["rss_mb"]
        mark = ""
        if o["site_from"] == "probe":
            wall, rss, mark = o["probe_wall"], o["probe_rss_mb"], " (probe)"
        if s:
            leaks = sum(s["leaks"].values())
            lk = f"{leaks}: " + ", ".join(f"`{k}` {n}"
                                          for k, n in Counter(s["leaks"]).most_common(4)) if leaks else "0"
            site = (f"{s['dead_links']} / {s['dead_images']} / {s['dead_fragments']} "
                    f"({len(s.get('unreported', []))}){mark} | "
                    f"{lk}{mark} | {s['code_lang']}: {s['code_unhighlighted']} "
                    f"({100 * s['code_unhighlighted'] / max(s['code_lang'], 1):.0f}%){mark} | "
                    + ", ".join(f"{l} {n}" for l, n in
                                Counter(s["unhighlighted_langs"]).most_common(5)))
        else:
            site = "n/a | n/a | n/a | n/a"
        print(f"| {o['name']} | {o['notes']} | {o['build_exit']} | {wall:.2f}{mark} | {rss:.0f}{mark} "
              f"| {short(o['errors'])} | {short(o['warnings'])} | {site} |")


# ---------------------------------------------------------------- probe

def set_slug(path, slug):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    if text.startswith("---\n"):
        text = f'---\nslug: "{slug}"\n' + text[4:]
    elif text.startswith("+++\n"):
        text = f'+++\nslug = "{slug}"\n' + text[4:]
    else:
        text = f'---\nslug: "{slug}"\n---\n' + text
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write(text)


def drop_alias(path, alias):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().split("\n")
    bare = alias.strip("/")
    item = re.compile(r"""\s*["']?/?%s/?["']?\s*""" % re.escape(bare))
    for i, line in enumerate(lines[:60]):
        if bare not in line:
            continue
        if re.match(r"\s*-\s", line):
            del lines[i]
        else:
            lines[i] = re.sub(r"\[(.*)\]", lambda m: "[" + ",".join(
                x for x in m.group(1).split(",") if not item.fullmatch(x)) + "]", line)
        with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(lines))
        return True
    return False


def probe_fix(root, build_txt):
    changed = 0
    for d in parse_diags(open(build_txt, encoding="utf-8", errors="replace").read()):
        if d["sev"] != "error":
            continue
        path = os.path.join(root, d["path"])
        if d["kind"] == "duplicate-slug":
            rel = os.path.splitext(os.path.relpath(path, os.path.join(root, "content")))[0]
            slug = re.sub(r"[^\w]+", "-", rel.lower()).strip("-")
            set_slug(path, slug)
            print(f"{d['path']}: slug {slug}")
            changed += 1
        elif d["kind"] == "alias-collision":
            out = ALIAS.match(d["msg"]).group("out")
            alias = "/" + re.sub(r"index\.html$", "", out)
            if drop_alias(path, alias):
                print(f"{d['path']}: alias {alias} dropped")
                changed += 1
        else:
            print(f"{d['path']}: cannot work around: {d['msg']}", file=sys.stderr)
    sys.exit(0 if changed else 1)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    if argv[1] == "table":
        return table(argv[2:])
    if argv[1] == "probe-fix":
        return probe_fix(argv[2], argv[3])
    if argv[1] == "report":
        a = argv[2:]
        return report({a[i]: a[i + 1] for i in range(0, len(a) - 1, 2)})
    sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
