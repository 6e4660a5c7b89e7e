"""What each `kb check` diagnostic is: its kind, and the convention of the source's own tool
that explains it (a false alarm) or the real problem in the source, read from the source files."""
import os
import re
import urllib.parse
from collections import Counter, defaultdict

DIAG = re.compile(r"^(?P<path>.+?)(?::(?P<line>\d+))?: (?P<sev>error|warning): (?P<msg>.*)$")
LINK = re.compile(r"^link `(?P<dest>.*)` points to `(?P<target>.*)`, which does not exist$")
ANCHOR = re.compile(r"^link `(?P<dest>.*)`: `(?P<note>.*)` has no heading with id `(?P<anchor>.*)`$")
SLUG = re.compile(r"^slug `(?P<slug>.*)` is already used by `(?P<other>.*)`$")
ALIAS = re.compile(r"^an alias of `(?P<note>.*)` would be written to `(?P<out>.*)`, which is")
EMAIL = re.compile(r"^(mailto:)?[^/\s@:]+@[^/\s@]+\.[A-Za-z]{2,}$")
NOTE_EXT = (".md", ".markdown")
FOLDER_PAGES = ("_index.md", "index.md", "README.md", "readme.md")


def kind_of(msg):
    """A short name for a diagnostic message (its template with the quoted parts removed)."""
    for name, rx in (("broken-link", LINK), ("broken-anchor", ANCHOR), ("duplicate-slug", SLUG),
                     ("alias-collision", ALIAS)):
        if rx.match(msg):
            return name
    template = re.sub(r"`[^`]*`", "X", msg)
    return SHORT_KINDS.get(template, template)


SHORT_KINDS = {
    "unknown snippet attribute X": "snippet-unknown-attribute",
    "X has no session and no runnable block after it": "snippet-file-without-run",
    "X is absolute": "snippet-absolute-file",
}


def parse_diags(text):
    out = []
    for line in text.splitlines():
        m = DIAG.match(line)
        if m:
            d = m.groupdict()
            d["kind"] = kind_of(d["msg"])
            out.append(d)
    return out


# ---------------------------------------------------------------- corpus files and headings

class Corpus:
    """The files of a laid-out knowledge base, for resolving what a link meant in its source."""

    def __init__(self, root):
        self.root = root
        self.content = os.path.join(root, "content")
        self.by_name = defaultdict(list)  # lower-case file name (and stem of notes) -> paths
        for dirpath, _, files in os.walk(self.content):
            for f in files:
                p = os.path.join(dirpath, f)
                self.by_name[f.lower()].append(p)
                if f.lower().endswith(NOTE_EXT):
                    self.by_name[os.path.splitext(f)[0].lower()].append(p)
        self._lines = {}
        missing = os.path.join(root, "missing-from-snapshot.txt")
        self.missing = set()
        if os.path.exists(missing):
            self.missing = {os.path.join(root, l.strip()) for l in open(missing) if l.strip()}

    def note_at(self, p):
        """Whether `p` names a note or a folder page (as a file, `p.md`, or a folder); file
        names compare case-insensitively, as Hugo's GetPage does."""
        p = ci_path(os.path.normpath(p))
        if os.path.isfile(p) or os.path.isfile(p + ".md"):
            return True
        return os.path.isdir(p) and any(os.path.exists(os.path.join(p, f)) for f in FOLDER_PAGES)

    def lines(self, path):
        if path not in self._lines:
            try:
                with open(os.path.join(self.root, path), encoding="utf-8", errors="replace") as f:
                    self._lines[path] = f.read().splitlines()
            except OSError:
                self._lines[path] = []
        return self._lines[path]

    def source_near(self, path, line):
        ls = self.lines(path)
        i = int(line or 1) - 1
        return "\n".join(ls[max(i, 0): i + 3])


def ci_path(p):
    """`p` with each component matched case-insensitively against the disk (else as given)."""
    out = os.sep if p.startswith(os.sep) else ""
    for part in [x for x in p.split(os.sep) if x]:
        cand = os.path.join(out, part) if out else part
        if not os.path.exists(cand) and os.path.isdir(out or "."):
            low = [e for e in os.listdir(out or ".")
                   if e.lower() in (part.lower(), part.lower() + ".md")]
            if low:
                cand = os.path.join(out, low[0] if len(low) == 1 else part)
                if low[0].lower().endswith(".md") and not part.lower().endswith(".md"):
                    cand = os.path.join(out, low[0][:-3])
        out = cand
    return out


def strip_inline(text):
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[\[([^\]|]*\|)?([^\]]*)\]\]", r"\2", text)
    return re.sub(r"[`*]|<[^>]+>", "", text).strip()


def github_id(text):
    """GitHub / mdBook / Hugo (autoHeadingIDType = github) heading ids."""
    t = strip_inline(text).lower()
    t = re.sub(r"[^\w\- ]", "", t)
    return t.replace(" ", "-")


def zola_id(text):
    """Zola's default anchors (slugify: ASCII, lower case, runs of other characters -> '-')."""
    return re.sub(r"[^a-z0-9]+", "-", strip_inline(text).lower()).strip("-")


def headings(corpus, path):
    """(text, explicit id or None) of each ATX heading outside fenced code, plus `^block` ids
    and the terms of definition lists (Hugo gives them ids: autoDefinitionTermID)."""
    out, blocks, terms, fence = [], set(), [], None
    lines = corpus.lines(path)
    for i, line in enumerate(lines):
        if fence is None and line.strip() and i + 1 < len(lines) and lines[i + 1].startswith(": "):
            terms.append(line.strip())
        s = line.lstrip()
        m = re.match(r"(`{3,}|~{3,})", s)
        if m:
            if fence is None:
                fence = m.group(1)[0] * 3
            elif s.startswith(fence):
                fence = None
            continue
        if fence:
            continue
        m = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            text = m.group(1)
            explicit = re.search(r"\{#([^}\s]+)[^}]*\}\s*$", text)
            out.append((re.sub(r"\s*\{[^}]*\}\s*$", "", text), explicit and explicit.group(1)))
        b = re.search(r"\s\^([A-Za-z0-9-]+)\s*$", line)
        if b:
            blocks.add(b.group(1))
    return out, blocks, terms


# ---------------------------------------------------------------- classification

REAL = "real"
FALSE = "false"
OTHER = "n/a"


def classify_link(c, d):
    """(verdict, convention) for `link X points to Y, which does not exist`."""
    m = LINK.match(d["msg"])
    dest, target = m.group("dest"), m.group("target")
    path = dest.split("#", 1)[0]
    src = c.source_near(d["path"], d["line"])
    note_dir = os.path.dirname(os.path.join(c.root, d["path"]))
    wikilink = ("[[" + dest.split("|")[0]) in src or ("[[" + path) in src
    if os.path.basename(path) in {os.path.basename(m) for m in c.missing}:
        return OTHER, "file left out of the snapshot (>= 4 MiB)"
    if EMAIL.match(dest):
        return FALSE, "email autolink <a@b.c>"
    if dest.startswith("{{"):
        return FALSE, "Hugo shortcode as link destination"
    if dest == "g":
        return FALSE, "hugoDocs render hook: [term](g) = glossary link"
    if dest.startswith("@/"):
        return FALSE, "Zola @/ internal link"
    if wikilink:
        embed = ("![[" + path) in src
        if dest.endswith("\\") and "\\|" in src:
            return FALSE, "Obsidian \\| inside a table wikilink"
        if "#^" in dest:
            return FALSE, "Obsidian block reference [[note#^id]]"
        base = os.path.basename(path).lower()
        hits = c.by_name.get(base) or c.by_name.get(base + ".md")
        if hits:
            if not base.endswith(NOTE_EXT) and "." in base:
                return FALSE, "Obsidian attachment found vault-wide by name"
            if embed:
                return FALSE, "Obsidian note embed ![[note]] / ![[note#heading]]"
            if "/" in path:
                tail = "/" + path.strip("/").lower()
                if any(h.lower().endswith(tail) or h.lower().endswith(tail + ".md") for h in hits):
                    return FALSE, "Obsidian [[Folder/Note]] path"
                return REAL, "[[Folder/Note]] whose folder does not hold the note (stale path)"
            return FALSE, "Obsidian note found vault-wide by name"
        if re.search(r"[.'\"\\$@,]", path) or re.fullmatch(r"[a-z0-9_]+", path):
            return FALSE, "[[...]] in code/shortcode body (TOML table, array) taken for a wikilink"
        return REAL, "wikilink to a note that does not exist"
    resolved = os.path.normpath(os.path.join(note_dir, urllib.parse.unquote(path)))
    if not resolved.startswith(os.path.normpath(c.content) + os.sep) and not path.startswith("/"):
        return FALSE, "link above the docs root (host-relative, e.g. mdBook ../std/)"
    if path.endswith(".html"):
        md = resolved[:-5] + ".md"
        if os.path.exists(md):
            return FALSE, "mdBook link to a chapter as .html"
        return REAL, ".html link to no chapter"
    if os.path.isdir(resolved):
        if any(os.path.exists(os.path.join(resolved, f)) for f in FOLDER_PAGES):
            return FALSE, "link to a folder with README/_index/index page"
        return REAL, "link to a folder without a page"
    if os.path.exists(resolved):
        if os.path.basename(resolved) in FOLDER_PAGES:
            return FALSE, "link to README/_index/index note"
        return FALSE, "target exists on disk"
    base = os.path.basename(path).lower()
    if c.by_name.get(base) and "/" not in path.strip("./"):
        return FALSE, "attachment found vault-wide by name (markdown link)"
    if path and c.note_at(resolved):
        return FALSE, "page path without .md (Hugo GetPage / pretty URL)"
    if path and c.note_at(os.path.join(c.content, urllib.parse.unquote(path))):
        return FALSE, "path relative to the content root (Hugo GetPage fallback)"
    return REAL, "missing file"


def classify_anchor(c, d):
    m = ANCHOR.match(d["msg"])
    dest, note, anchor = m.group("dest"), m.group("note"), m.group("anchor")
    src = c.source_near(d["path"], d["line"])
    heads, blocks, terms = headings(c, note)
    if anchor.startswith("^"):
        if anchor[1:] in blocks:
            return FALSE, "Obsidian block reference #^id (block exists)"
        return REAL, "Obsidian block reference to no block"
    if anchor.endswith("\\") and "\\|" in src:
        return FALSE, "Obsidian \\| inside a table wikilink"
    texts = [t for t, _ in heads]
    if "#" in anchor:
        last = anchor.rsplit("#", 1)[1]
        if any(strip_inline(t).lower() == last.lower() or github_id(t) == last for t in texts):
            return FALSE, "Obsidian nested heading [[note#A#B]]"
        return REAL, "stale nested anchor [[note#A#B]] (no heading B)"
    seen, deduped = Counter(), set()
    for t in texts + terms:
        base = github_id(t)
        deduped.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    if any(strip_inline(t).lower() == anchor.lower() for t in texts):
        return FALSE, "Obsidian heading by its text"
    if any(e == anchor for _, e in heads):
        return FALSE, "explicit {#id} kb did not see"
    if any(github_id(t) == anchor for t in texts):
        return FALSE, "GitHub/mdBook/Hugo-style heading id"
    if any(zola_id(t) == anchor for t in texts):
        return FALSE, "Zola-style heading id"
    if any(github_id(t) == anchor for t in terms):
        return FALSE, "Hugo definition-list term id (autoDefinitionTermID)"
    if anchor in deduped:
        return FALSE, "GitHub/Hugo id of a repeated heading or term (x-1)"
    for inc in re.findall(r"\{\{[%<]\s*include\s+\"/?([^\"]+)\"", "\n".join(c.lines(note))):
        h2, _, t2 = headings(c, os.path.join("content", inc))
        if any(github_id(t) == anchor for t in [t for t, _ in h2] + t2):
            return FALSE, "anchor in a fragment the note {{% include %}}s (Hugo)"
    if "/_common/" in note or os.path.basename(note).startswith("_"):
        return FALSE, "Hugo headless fragment (_common): anchor in the including page"
    return REAL, "stale anchor (no such heading)"


def classify_slug(c, d):
    name = os.path.basename(d["path"])
    if name in FOLDER_PAGES:
        return FALSE, f"same file name in two folders: {name} (folder page)"
    return FALSE, "same file name in two folders (other)"


def classify(c, d):
    k = d["kind"]
    if k == "broken-link":
        return classify_link(c, d)
    if k == "broken-anchor":
        return classify_anchor(c, d)
    if k == "duplicate-slug":
        return classify_slug(c, d)
    if k == "alias-collision":
        return REAL, "two notes claim one alias"
    if k == "snippet-unknown-attribute":
        attr = re.search(r"`([^`]*)`", d["msg"]).group(1)
        return FALSE, "other tool's fence attribute (" + attr.split("=")[0][:12] + ")"
    if k in ("snippet-file-without-run", "snippet-absolute-file"):
        return FALSE, "Hugo fence {file=...} caption read as a kb snippet file"
    return OTHER, "unclassified"
