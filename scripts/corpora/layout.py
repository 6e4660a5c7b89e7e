#!/usr/bin/env python3
"""Lay one public corpus out as a kb knowledge base, from a bare git mirror, files unedited.

usage: layout.py GIT_DIR DEST SRC=DST [SRC=DST ...]

Each SRC (a folder of the mirror's HEAD tree, `.` for the whole tree) is copied to DEST/DST byte
for byte. Blobs the mirror lacks (snapshots leave out files of 4 MiB and more) are skipped and
listed on stderr and in DEST/missing-from-snapshot.txt; stdout says `missing N`. DEST is emptied
first.
"""
import os
import shutil
import subprocess
import sys


def tree_files(git_dir, src):
    """(mode, sha, path) of every blob under HEAD:src, paths relative to src."""
    spec = "HEAD" if src in (".", "") else f"HEAD:{src}"
    out = subprocess.run(
        ["git", "--git-dir", git_dir, "ls-tree", "-r", "-z", spec],
        check=True, capture_output=True,
    ).stdout
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, path = entry.split(b"\t", 1)
        mode, kind, sha = meta.split(b" ")
        if kind == b"blob":  # submodules (commit) have no content here
            yield mode.decode(), sha.decode(), os.fsdecode(path)


def copy(git_dir, src, dest):
    files = list(tree_files(git_dir, src))
    cat = subprocess.Popen(
        ["git", "--git-dir", git_dir, "cat-file", "--batch"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    missing = []
    for mode, sha, path in files:
        cat.stdin.write(sha.encode() + b"\n")
        cat.stdin.flush()
        header = cat.stdout.readline().split()
        if header[-1] == b"missing":
            missing.append(path)
            continue
        data = cat.stdout.read(int(header[2]))
        cat.stdout.read(1)  # the newline after each object
        target = os.path.join(dest, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if mode == "120000":  # a symlink: its blob is the link text
            os.symlink(os.fsdecode(data), target)
            continue
        with open(target, "wb") as f:
            f.write(data)
        if mode == "100755":
            os.chmod(target, 0o755)
    cat.stdin.close()
    cat.wait()
    return len(files) - len(missing), missing


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    git_dir, dest, maps = argv[1], argv[2], argv[3:]
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    all_missing = []
    for m in maps:
        src, dst = m.split("=", 1)
        n, missing = copy(git_dir, src, os.path.join(dest, dst))
        all_missing += [os.path.join(dst, p) for p in missing]
        print(f"copied {n} files {src} -> {dst}", file=sys.stderr)
    for p in all_missing:
        print(f"  not in the snapshot (>= 4 MiB?): {p}", file=sys.stderr)
    with open(os.path.join(dest, "missing-from-snapshot.txt"), "w") as f:
        f.writelines(p + "\n" for p in all_missing)
    print(f"missing {len(all_missing)}")


if __name__ == "__main__":
    main(sys.argv)
