"""Checks over a site kb built: dead local links, images and #fragments (each grouped by what it
looks like and where the source holds its target), leaked source syntax outside code, and code
blocks left unhighlighted."""
import os
import re
import urllib.parse
from collections import Counter
from html.parser import HTMLParser

from classify import NOTE_EXT, ci_path

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr", "param"}
SKIP_TEXT = {"code", "pre", "script", "style", "kbd", "samp"}
LEAKS = [  # (short name, what it is, regex, counted inside <code>/<pre> too?)
    ("{{<", "Hugo shortcode {{< >}} / {{% %}}", re.compile(r"\{\{[<%]"), False),
    ("{{</*", "Hugo escaped shortcode {{</* */>}} (code too)", re.compile(r"\{\{[<%]/\*"), True),
    ("{{ f()", "Zola shortcode {{ f() }} / {% f() %}", re.compile(r"\{[{%]-?\s*[a-z_]+\("), False),
    ("{{#include", "mdBook {{#include}} / {{#rustdoc_include}} (code too)",
     re.compile(r"\{\{#(include|rustdoc_include|playground)\b"), True),
    ("[!note]", "callout / GitHub alert marker [!note]", re.compile(r"\[![A-Za-z][\w-]*\][+-]?"), False),
    ("%%", "Obsidian %% comment %%", re.compile(r"%%"), False),
    ("==hl==", "Obsidian ==highlight==", re.compile(r"==[^=\s](?:[^=\n]*[^=\s])?=="), False),
    ("![[", "Obsidian embed ![[", re.compile(r"!\[\["), False),
    ("[[", "wikilink [[", re.compile(r"(?<!!)\[\["), False),
    ("+++", "TOML front matter printed as text (+++ lines)",
     re.compile(r"^\s*\+\+\+\s*$|\+\+\+\s+\w+\s*=", re.M), False),
]
PLAIN = {"", "text", "txt", "plain", "plaintext", "output", "none", "nohighlight"}
CODE_BLOCK = re.compile(
    r'<div class="kb-code[^"]*"[^>]*data-lang="([^"]*)"><div class="kb-code-head">.*?</div>'
    r'<pre class="hl-code"><code[^>]*>(.*?)</code></pre>', re.S)


class Page(HTMLParser):
    """Links, ids and (outside code) text of one HTML fragment."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs, self.ids, self.text, self.all_text = [], set(), [], []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("id",):
            if a.get(k):
                self.ids.add(a[k])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag in ("a", "link") and a.get("href") is not None:
            self.refs.append(("link", a["href"]))
        if tag in ("img", "source", "video", "audio", "iframe", "embed", "script") and a.get("src"):
            self.refs.append(("image" if tag != "iframe" else "link", a["src"]))
        if tag == "object" and a.get("data"):
            self.refs.append(("image", a["data"]))
        if tag in SKIP_TEXT and tag not in VOID:
            self.skip += 1

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in SKIP_TEXT:
            self.skip -= 1

    def handle_endtag(self, tag):
        if tag in SKIP_TEXT and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        self.all_text.append(data)
        if not self.skip:
            self.text.append(data)


def parse(html):
    p = Page()
    p.feed(html)
    p.close()
    return p


def local_target(site, page_url, ref):
    """(file path or None for external, fragment) of an href/src on the page at `page_url`."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", ref) or ref.startswith("//"):
        return None, None
    path, _, frag = ref.partition("#")
    path = path.split("?", 1)[0]
    if not path:
        return "", frag
    url = urllib.parse.urljoin(page_url, path)
    rel = urllib.parse.unquote(url).lstrip("/")
    f = os.path.join(site, rel)
    if url.endswith("/") or os.path.isdir(f):
        f = os.path.join(f, "index.html")
    return f, frag


def shape(ref):
    """What a dead href/src looks like, to group them by the convention it was written for."""
    path = urllib.parse.unquote(ref.split("#", 1)[0])
    if path.startswith("@/"):
        return "Zola @/ link left as is"
    if path.startswith("/"):
        return "root-absolute /..." + (" .md" if path.endswith(NOTE_EXT) else "")
    if re.search(r"\.(png|jpe?g|gif|svg|webp|avif|mp4|webm|ogg|mp3|pdf)$", path, re.I):
        return "relative file (image/attachment)"
    if path.endswith(".html"):
        return "relative .html"
    if path.endswith(NOTE_EXT):
        return "relative .md left as is"
    if "{{" in path:
        return "shortcode in the URL"
    if path == "g":
        return "relative `g` (hugoDocs glossary render hook)"
    return "relative other"


def in_source(c, source, ref):
    """Where the source tree holds what a dead href/src meant, or "no"."""
    path = urllib.parse.unquote(ref.split("#", 1)[0].split("?", 1)[0])
    if path.startswith("@/"):
        return "content/" if c.note_at(os.path.join(c.content, path[2:])) else "no"
    if path.endswith(".html") and not path.startswith("/"):
        path = path[:-5] + ".md"
    if path.startswith("/"):
        rel = path.lstrip("/")
        tries = [("content/", os.path.join(c.content, rel)),
                 ("static/", os.path.join(c.root, "static", rel)),
                 ("content/public/", os.path.join(c.content, "public", rel))]
        if "/" in rel:
            tries.append(("content/ minus 1st segment", os.path.join(c.content, rel.split("/", 1)[1])))
        for where, p in tries:
            if os.path.isfile(ci_path(p)) or c.note_at(p):
                return where
        return "no"
    if source:
        p = os.path.join(c.root, os.path.dirname(source), path)
        if os.path.isfile(p) or c.note_at(p):
            return "beside the source"
    if c.by_name.get(os.path.basename(path).lower()):
        return "elsewhere in content/ (same name)"
    return "no"


def check_site(site, c):
    """Figures over every HTML page of the built site."""
    ids_cache = {}

    def ids_of(f):
        if f not in ids_cache:
            with open(f, encoding="utf-8", errors="replace") as h:
                ids_cache[f] = parse(h.read()).ids
        return ids_cache[f]

    r = {"pages": 0, "note_pages": 0, "links": 0, "dead_links": 0, "dead_images": 0,
         "dead_fragments": 0, "dead_other_pages": 0, "leaks": Counter(), "leak_pages": Counter(),
         "code_blocks": 0, "code_plain": 0, "code_lang": 0, "code_unhighlighted": 0,
         "unhighlighted_langs": Counter(), "dead_examples": Counter(), "leak_examples": {},
         "dead_shapes": Counter(), "dead_shape_examples": {}, "dead_items": []}
    for dirpath, _, files in os.walk(site):
        if "/_kb" in dirpath:
            continue
        for name in files:
            if not name.endswith(".html"):
                continue
            f = os.path.join(dirpath, name)
            url = "/" + os.path.relpath(f, site).replace(os.sep, "/")
            with open(f, encoding="utf-8", errors="replace") as h:
                html = h.read()
            r["pages"] += 1
            start = html.find('<div class="kb-content">')
            end = html.rfind('<nav class="kb-prevnext"')
            note = start >= 0 and end > start
            if note:
                r["note_pages"] += 1
                src = re.search(r'kb-source">[^<]*<code>([^<]*)</code>', html)
                source = src and src.group(1)
                body = html[start:end]
                head = html[html.find('<h1 class="kb-title">'):start]
                for m in CODE_BLOCK.finditer(body):
                    lang, code = m.group(1), m.group(2)
                    r["code_blocks"] += 1
                    if lang.lower() in PLAIN:
                        r["code_plain"] += 1
                        continue
                    r["code_lang"] += 1
                    if 'class="hl-' not in code and 'class="kb-' not in code:
                        r["code_unhighlighted"] += 1
                        r["unhighlighted_langs"][lang] += 1
                p = parse(head + body)
                text, everything = "".join(p.text), "".join(p.all_text)
                for lname, _, rx, in_code in LEAKS:
                    hits = rx.findall(everything if in_code else text)
                    if hits:
                        r["leaks"][lname] += len(hits)
                        r["leak_pages"][lname] += 1
                        if lname not in r["leak_examples"]:
                            m = rx.search(everything if in_code else text)
                            s = (everything if in_code else text)
                            r["leak_examples"][lname] = url + ": " + " ".join(
                                s[max(0, m.start() - 30): m.end() + 40].split())
            else:
                p = parse(html)
            page_ids = p.ids if note else None
            # A page that shows other notes in place (`![[note]]`) holds their links too: kb
            # check names those at the embedded note's file.
            embeds = 'class="kb-embed"' in html
            for kind, ref in p.refs:
                target, frag = local_target(site, url, ref)
                if target is None:
                    continue
                if note:
                    r["links"] += 1
                if target == "":
                    target = f
                if not os.path.isfile(target):
                    if not note:
                        r["dead_other_pages"] += 1
                        r["dead_examples"]["(list page) " + ref] += 1
                        continue
                    r["dead_images" if kind == "image" else "dead_links"] += 1
                    r["dead_examples"][ref] += 1
                    r["dead_items"].append([source, kind, ref, "", embeds])
                    key = f"{kind}: {shape(ref)}; in source: {in_source(c, source, ref)}"
                    r["dead_shapes"][key] += 1
                    r["dead_shape_examples"].setdefault(key, f"{source}: {ref}")
                    continue
                if frag and target.endswith(".html") and note:
                    ids = page_ids if target == f else ids_of(target)
                    if frag not in ids and urllib.parse.unquote(frag) not in ids:
                        r["dead_fragments"] += 1
                        r["dead_examples"]["#" + frag if target == f else ref] += 1
                        r["dead_items"].append([source, "fragment", ref, frag, embeds])
    return r
