//! Stage 5-6 for the whole site: build view structs, fill templates, write every file.
//!
//! Each output page is a [`Page`] value rendered by [`render_page`] from the loaded site, the
//! rendered notes and a [`Lookup`] (cards, tags, display order); [`write_site`] renders them all
//! in parallel. `kb serve` keeps those three in memory and calls [`render_page`] for just the
//! pages a change affects, so a full build and an incremental update share every line here.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use crate::content::Note;
use crate::highlight;
use crate::markdown::render::SnippetInfo;
use crate::markdown::RenderedNote;
use crate::output::feeds::{self, FeedEntry};
use crate::output::Sink;
use crate::render::views::*;
use crate::render::Theme;
use crate::slug::slugify;
use crate::verify::results::Status;

use super::Site;

/// How many notes the home page lists.
const HOME_RECENT: usize = 30;

/// How many notes the Atom feed holds.
const FEED_ENTRIES: usize = 50;

/// Everything derived once per build (or per `kb serve` update) for the views.
pub(crate) struct Lookup {
    pub(crate) site: SiteView,
    /// Per note: its card (for lists, backlinks, prev/next).
    pub(crate) cards: Vec<NoteCard>,
    /// Tag slug -> (display name, note indexes).
    pub(crate) tags: BTreeMap<String, (String, Vec<usize>)>,
    /// Notes in display order (weight, newest first, title).
    pub(crate) order: Vec<usize>,
    /// `rank[i]`: position of note i in `order`.
    pub(crate) rank: Vec<usize>,
    /// Per note: previous and next note in display order within its section.
    pub(crate) neighbours: Vec<(Option<usize>, Option<usize>)>,
    /// Every section (nested ones too), with note counts.
    pub(crate) sections: Vec<SectionLink>,
}

fn tag_url(base: &str, slug: &str) -> String {
    format!("{base}/tags/{slug}/")
}

pub(crate) fn tag_slug(name: &str) -> String {
    let s = slugify(name);
    if s.is_empty() {
        "tag".into()
    } else {
        s
    }
}

fn counts(snippets: &[SnippetInfo]) -> VerifyCounts {
    let mut c = VerifyCounts::default();
    for s in snippets {
        c.total += 1;
        match s.status {
            Some(Status::Passed) => c.passed += 1,
            Some(Status::Failed) => c.failed += 1,
            Some(Status::Skipped) => c.skipped += 1,
            None => c.unknown += 1,
        }
    }
    c
}

/// Cards, tags, display order and site-wide values for the views.
pub(crate) fn lookup(site: &Site, rendered: &[RenderedNote]) -> Lookup {
    let (tags, sections) = tags_and_sections(site);
    let cards: Vec<NoteCard> = (0..site.notes.len())
        .map(|i| card(site, rendered, &tags, &sections, i))
        .collect();
    assemble(site, tags, sections, cards)
}

/// Bring `lk` up to date after the notes at `changed` (same indexes, same number of notes)
/// were edited or re-rendered: the same result as [`lookup`], but only their cards are made
/// again unless a tag or section count changed (every card shows those).
pub(crate) fn update_lookup(
    lk: &mut Lookup,
    site: &Site,
    rendered: &[RenderedNote],
    changed: &[usize],
) {
    let (tags, sections) = tags_and_sections(site);
    let counts = |t: &BTreeMap<String, (String, Vec<usize>)>| {
        t.iter()
            .map(|(k, (n, v))| (k.clone(), n.clone(), v.len()))
            .collect::<Vec<_>>()
    };
    let same_counts = lk.cards.len() == site.notes.len()
        && counts(&tags) == counts(&lk.tags)
        && sections
            .iter()
            .map(|s| (&s.path, s.count))
            .eq(lk.sections.iter().map(|s| (&s.path, s.count)));
    if !same_counts {
        *lk = lookup(site, rendered);
        return;
    }
    let mut cards = std::mem::take(&mut lk.cards);
    for &i in changed {
        cards[i] = card(site, rendered, &tags, &sections, i);
    }
    *lk = assemble(site, tags, sections, cards);
}

type TagMap = BTreeMap<String, (String, Vec<usize>)>;

/// Tag slug -> (name, notes), and every section with its note count (sub-sections included).
fn tags_and_sections(site: &Site) -> (TagMap, Vec<SectionLink>) {
    let mut tags: TagMap = BTreeMap::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (i, n) in site.notes.iter().enumerate() {
        for t in &n.meta.tags {
            let e = tags
                .entry(tag_slug(t))
                .or_insert_with(|| (t.clone(), Vec::new()));
            if e.1.last() != Some(&i) {
                e.1.push(i);
            }
        }
        // A note counts for its section and every section above it.
        let mut path = n.section.as_str();
        while !path.is_empty() {
            *counts.entry(path).or_default() += 1;
            path = path.rsplit_once('/').map(|(p, _)| p).unwrap_or("");
        }
    }
    let sections: Vec<SectionLink> = site
        .sections
        .iter()
        .map(|s| SectionLink {
            path: s.path.clone(),
            title: s.title.clone(),
            description: s.description.clone(),
            url: s.url.clone(),
            count: counts.get(s.path.as_str()).copied().unwrap_or(0),
        })
        .collect();
    (tags, sections)
}

/// The card of note `i`.
fn card(
    site: &Site,
    rendered: &[RenderedNote],
    tags: &TagMap,
    sections: &[SectionLink],
    i: usize,
) -> NoteCard {
    let base = site.config.base_path.as_str();
    let (n, r) = (&site.notes[i], &rendered[i]);
    let tag_link = |name: &str| {
        let slug = tag_slug(name);
        let count = tags.get(&slug).map(|t| t.1.len()).unwrap_or(0);
        TagLink {
            name: name.to_string(),
            url: tag_url(base, &slug),
            count,
        }
    };
    NoteCard {
        title: n.meta.title.clone().unwrap_or_default(),
        url: n.url.clone(),
        date: n.meta.date.map(|d| d.format("%Y-%m-%d").to_string()),
        summary: n.meta.summary.clone().unwrap_or_else(|| r.excerpt.clone()),
        tags: n.meta.tags.iter().map(|t| tag_link(t)).collect(),
        section: sections.iter().find(|s| s.path == n.section).cloned(),
        verify: counts(&r.snippets),
    }
}

/// Everything else in a [`Lookup`], from the tags, sections and cards.
fn assemble(site: &Site, tags: TagMap, sections: Vec<SectionLink>, cards: Vec<NoteCard>) -> Lookup {
    let cfg = &site.config;
    let base = cfg.base_path.as_str();
    let mut all_tags: Vec<TagLink> = tags
        .iter()
        .map(|(slug, (name, ns))| TagLink {
            name: name.clone(),
            url: tag_url(base, slug),
            count: ns.len(),
        })
        .collect();
    all_tags.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let mut verify = VerifyCounts::default();
    for c in &cards {
        verify.total += c.verify.total;
        verify.passed += c.verify.passed;
        verify.failed += c.verify.failed;
        verify.skipped += c.verify.skipped;
        verify.unknown += c.verify.unknown;
    }
    let mut order: Vec<usize> = (0..site.notes.len()).collect();
    order.sort_by(|&a, &b| {
        let (na, nb) = (&site.notes[a], &site.notes[b]);
        na.meta
            .weight
            .unwrap_or(0)
            .cmp(&nb.meta.weight.unwrap_or(0))
            .then_with(|| nb.meta.date.cmp(&na.meta.date))
            .then_with(|| na.meta.title.cmp(&nb.meta.title))
    });
    let site_view = SiteView {
        title: cfg.title.clone(),
        description: cfg.description.clone(),
        base_url: cfg.base_url.clone(),
        base_path: cfg.base_path.clone(),
        language: cfg.language.clone(),
        sections: sections
            .iter()
            .filter(|s| !s.path.contains('/'))
            .cloned()
            .collect(),
        tags: all_tags,
        notes_count: site.notes.len(),
        verify,
        updated: site
            .notes
            .iter()
            .filter_map(|n| n.meta.updated.or(n.meta.date))
            .max()
            .map(|d| d.format("%Y-%m-%d").to_string()),
        search_enabled: cfg.search.enabled,
    };
    let mut rank = vec![0; site.notes.len()];
    for (pos, &i) in order.iter().enumerate() {
        rank[i] = pos;
    }
    // Prev/next follow display order within the note's section.
    let mut by_section: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in &order {
        by_section
            .entry(site.notes[i].section.as_str())
            .or_default()
            .push(i);
    }
    let mut neighbours: Vec<(Option<usize>, Option<usize>)> = vec![(None, None); site.notes.len()];
    for list in by_section.values() {
        for (pos, &i) in list.iter().enumerate() {
            neighbours[i] = (
                pos.checked_sub(1).map(|p| list[p]),
                list.get(pos + 1).copied(),
            );
        }
    }
    Lookup {
        site: site_view,
        cards,
        tags,
        order,
        rank,
        neighbours,
        sections,
    }
}

/// One output page of the site. A full build renders them all; `kb serve` re-renders only the
/// pages a change affects, so every page is produced by [`render_page`] alone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Page {
    /// A note (by index into `site.notes`), plus a redirect page per front matter alias.
    Note(usize),
    Home,
    /// The list of all tags.
    TagIndex,
    /// One tag, by slug.
    Tag(String),
    /// One section, by path (`go`, `network/k8s`).
    Section(String),
    /// The snippet status page.
    Verify,
    NotFound,
    Sitemap,
    Feed,
}

impl Page {
    /// Site-relative output path of the page itself (alias redirects not included).
    pub(crate) fn path(&self, site: &Site) -> String {
        match self {
            Page::Note(i) => format!("notes/{}/index.html", site.notes[*i].slug),
            Page::Home => "index.html".into(),
            Page::TagIndex => "tags/index.html".into(),
            Page::Tag(slug) => format!("tags/{slug}/index.html"),
            Page::Section(path) => format!("sections/{path}/index.html"),
            Page::Verify => "verify/index.html".into(),
            Page::NotFound => "404.html".into(),
            Page::Sitemap => "sitemap.xml".into(),
            Page::Feed => "atom.xml".into(),
        }
    }
}

/// Every page of the site: notes first (in `site.notes` order), then the list pages.
pub(crate) fn pages(site: &Site, lk: &Lookup) -> Vec<Page> {
    let mut out: Vec<Page> = (0..site.notes.len()).map(Page::Note).collect();
    out.extend([Page::Home, Page::TagIndex]);
    out.extend(lk.tags.keys().map(|slug| Page::Tag(slug.clone())));
    out.extend(site.sections.iter().map(|s| Page::Section(s.path.clone())));
    out.extend([Page::Verify, Page::NotFound, Page::Sitemap, Page::Feed]);
    out
}

/// Site-relative paths of the redirect pages for a note's front matter `aliases`.
pub(crate) fn alias_paths(note: &Note) -> Vec<String> {
    note.meta
        .redirect_aliases
        .iter()
        .filter(|alias| !alias.contains("://"))
        .map(|alias| {
            let path = alias.trim_matches('/');
            if path.is_empty() {
                "index.html".to_string()
            } else if path.ends_with(".html") {
                path.to_string()
            } else {
                format!("{path}/index.html")
            }
        })
        .collect()
}

/// Fill every template and write every file; returns the number of files written.
pub fn write_site(
    site: &Site,
    rendered: &[RenderedNote],
    theme: &Theme,
    sink: &dyn Sink,
) -> anyhow::Result<usize> {
    let lk = lookup(site, rendered);
    let written = pages(site, &lk)
        .par_iter()
        .map(|page| -> anyhow::Result<usize> {
            let files = render_page(site, rendered, &lk, theme, page)?;
            for (path, bytes) in &files {
                sink.write(path, bytes)?;
            }
            Ok(files.len())
        })
        .collect::<anyhow::Result<Vec<usize>>>()?;
    Ok(written.iter().sum::<usize>() + write_statics(site, theme, sink)?)
}

/// The files one page produces: (site-relative path, bytes).
pub(crate) type PageFiles = Vec<(String, Vec<u8>)>;

/// Render one page: its output files as (site-relative path, bytes). A note gives its page and
/// one redirect per alias; every other page gives one file.
pub(crate) fn render_page(
    site: &Site,
    rendered: &[RenderedNote],
    lk: &Lookup,
    theme: &Theme,
    page: &Page,
) -> anyhow::Result<PageFiles> {
    let cfg = &site.config;
    let base = cfg.base_path.as_str();
    let abs = |url: &str| {
        format!(
            "{}{}",
            cfg.base_url.trim_end_matches('/'),
            url.strip_prefix(base).unwrap_or(url)
        )
    };
    let one = |text: String| Ok(vec![(page.path(site), text.into_bytes())]);
    match page {
        Page::Note(i) => {
            let i = *i;
            let n = &site.notes[i];
            let r = &rendered[i];
            let neighbours = lk.neighbours[i];
            let view = NoteView {
                title: lk.cards[i].title.clone(),
                url: n.url.clone(),
                permalink: abs(&n.url),
                date: lk.cards[i].date.clone(),
                updated: n.meta.updated.map(|d| d.format("%Y-%m-%d").to_string()),
                summary: lk.cards[i].summary.clone(),
                tags: lk.cards[i].tags.clone(),
                section: lk.cards[i].section.clone(),
                toc: r.toc.clone(),
                content: r.html.clone(),
                backlinks: site.backlinks[i]
                    .iter()
                    .map(|&b| lk.cards[b].clone())
                    .collect(),
                prev: neighbours.0.map(|p| lk.cards[p].clone()),
                next: neighbours.1.map(|p| lk.cards[p].clone()),
                verify: lk.cards[i].verify,
                reading_minutes: (r.chars / 400).max(1),
                source: n.rel.clone(),
                extra: n.meta.extra.clone(),
            };
            let html = theme.render(
                "note.html",
                &NotePage {
                    site: &lk.site,
                    page: view,
                },
            )?;
            let mut files = vec![(page.path(site), html.into_bytes())];
            let redirect = feeds::redirect(&n.url);
            files.extend(
                alias_paths(n)
                    .into_iter()
                    .map(|path| (path, redirect.clone().into_bytes())),
            );
            Ok(files)
        }
        Page::Home => {
            let recent: Vec<NoteCard> = recent_notes(site, lk)
                .into_iter()
                .map(|i| lk.cards[i].clone())
                .collect();
            let home = ListPage {
                site: &lk.site,
                kind: ListKind::Home,
                title: cfg.title.clone(),
                description: cfg.description.clone(),
                url: format!("{base}/"),
                notes: recent,
                sections: lk.site.sections.clone(),
            };
            one(theme.render("index.html", &home)?)
        }
        Page::TagIndex => {
            let tags_page = ListPage {
                site: &lk.site,
                kind: ListKind::Tags,
                title: "标签".into(),
                description: String::new(),
                url: format!("{base}/tags/"),
                notes: vec![],
                sections: vec![],
            };
            one(theme.render("tags.html", &tags_page)?)
        }
        Page::Tag(slug) => {
            let (name, notes) = lk
                .tags
                .get(slug)
                .ok_or_else(|| anyhow::anyhow!("no tag `{slug}`"))?;
            let mut notes = notes.clone();
            notes.sort_by_key(|&i| lk.rank[i]);
            let page = ListPage {
                site: &lk.site,
                kind: ListKind::Tag,
                title: name.clone(),
                description: format!("{} 篇笔记", notes.len()),
                url: tag_url(base, slug),
                notes: notes.iter().map(|&i| lk.cards[i].clone()).collect(),
                sections: vec![],
            };
            one(theme.render("list.html", &page)?)
        }
        Page::Section(path) => {
            let s = site
                .sections
                .iter()
                .find(|s| &s.path == path)
                .ok_or_else(|| anyhow::anyhow!("no section `{path}`"))?;
            let notes: Vec<NoteCard> = lk
                .order
                .iter()
                .filter(|&&i| site.notes[i].section == s.path)
                .map(|&i| lk.cards[i].clone())
                .collect();
            let subs: Vec<SectionLink> = lk
                .sections
                .iter()
                .filter(|c| c.path.rsplit_once('/').map(|(p, _)| p) == Some(s.path.as_str()))
                .cloned()
                .collect();
            let page = ListPage {
                site: &lk.site,
                kind: ListKind::Section,
                title: s.title.clone(),
                description: s.description.clone(),
                url: s.url.clone(),
                notes,
                sections: subs,
            };
            one(theme.render("list.html", &page)?)
        }
        Page::Verify => {
            let verify_rows: Vec<VerifyNoteRow> = lk
                .order
                .iter()
                .filter(|&&i| !rendered[i].snippets.is_empty())
                .map(|&i| VerifyNoteRow {
                    note: lk.cards[i].clone(),
                    source: site.notes[i].rel.clone(),
                    blocks: rendered[i]
                        .snippets
                        .iter()
                        .map(|s| VerifyBlockRow {
                            id: s.id.clone(),
                            url: format!("{}#{}", site.notes[i].url, s.anchor),
                            line: s.line,
                            lang: s.lang.clone(),
                            status: s.status.map(Status::as_str).unwrap_or("unknown"),
                            reason: s.reason.clone(),
                            date: s
                                .result
                                .as_ref()
                                .map(|r| r.date.format("%Y-%m-%d %H:%M").to_string()),
                            duration: s
                                .result
                                .as_ref()
                                .map(|r| format!("{:.1} s", r.duration_ms as f64 / 1000.0)),
                            image: s
                                .result
                                .as_ref()
                                .map(|r| r.image.clone())
                                .filter(|i| !i.is_empty()),
                        })
                        .collect(),
                })
                .collect();
            let vp = VerifyPage {
                site: &lk.site,
                title: "代码验证状态".into(),
                url: format!("{base}/verify/"),
                notes: verify_rows,
            };
            one(theme.render("verify.html", &vp)?)
        }
        Page::NotFound => {
            let nf = SimplePage {
                site: &lk.site,
                title: "页面不存在".into(),
                url: format!("{base}/404.html"),
            };
            one(theme.render("404.html", &nf)?)
        }
        Page::Sitemap => {
            let mut urls: Vec<(String, Option<chrono::DateTime<chrono::FixedOffset>>)> =
                vec![(cfg.base_url.clone(), None)];
            urls.extend(
                site.notes
                    .iter()
                    .map(|n| (abs(&n.url), n.meta.updated.or(n.meta.date))),
            );
            urls.extend(site.sections.iter().map(|s| (abs(&s.url), None)));
            urls.extend(lk.tags.keys().map(|slug| (abs(&tag_url(base, slug)), None)));
            one(feeds::sitemap(&urls))
        }
        Page::Feed => {
            let entries: Vec<FeedEntry<'_>> = feed_notes(site)
                .into_iter()
                .map(|i| FeedEntry {
                    title: &lk.cards[i].title,
                    url: abs(&site.notes[i].url),
                    date: site.notes[i].meta.date,
                    updated: site.notes[i].meta.updated,
                    summary: &lk.cards[i].summary,
                    html: Some(&rendered[i].html),
                })
                .collect();
            one(feeds::atom(
                &cfg.title,
                &cfg.base_url,
                &format!("{}atom.xml", cfg.base_url),
                &entries,
            ))
        }
    }
}

/// The notes the home page lists: newest first, at most [`HOME_RECENT`].
pub(crate) fn recent_notes(site: &Site, lk: &Lookup) -> Vec<usize> {
    let mut by_date: Vec<usize> = (0..site.notes.len()).collect();
    by_date.sort_by(|&a, &b| {
        site.notes[b]
            .meta
            .date
            .cmp(&site.notes[a].meta.date)
            .then_with(|| lk.cards[a].title.cmp(&lk.cards[b].title))
    });
    by_date.truncate(HOME_RECENT);
    by_date
}

/// The notes in the Atom feed: newest first, at most [`FEED_ENTRIES`].
pub(crate) fn feed_notes(site: &Site) -> Vec<usize> {
    let mut by_date: Vec<usize> = (0..site.notes.len()).collect();
    by_date.sort_by(|&a, &b| site.notes[b].meta.date.cmp(&site.notes[a].meta.date));
    by_date.truncate(FEED_ENTRIES);
    by_date
}

/// Static files: theme assets, highlight stylesheets, content assets. Returns how many.
pub(crate) fn write_statics(site: &Site, theme: &Theme, sink: &dyn Sink) -> anyhow::Result<usize> {
    let mut written = 0;
    for (path, bytes) in &theme.statics {
        sink.write(path, bytes)?;
        written += 1;
    }
    let (light, dark) = highlight::stylesheets();
    sink.write("highlight.css", format!("{light}\n{dark}").as_bytes())?;
    written += 1;
    for asset in &site.assets {
        let rel = crate::output::sink::rel_slash(asset, &site.config.content_dir());
        let bytes = std::fs::read(asset)
            .map_err(|e| anyhow::anyhow!("couldn't read `{}`: {e}", asset.display()))?;
        sink.write(&rel, &bytes)?;
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::highlight::Highlighter;

    fn site(files: &[(&str, &str)]) -> (tempfile::TempDir, Site) {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let site = Site::load(Config::load(dir.path()).unwrap(), Default::default()).unwrap();
        (dir, site)
    }

    /// Everything a view can see of a lookup, as text.
    fn shape(lk: &Lookup) -> String {
        let site = serde_json::to_value(&lk.site).unwrap();
        format!(
            "{site}\n{}\n{:?}\n{:?}\n{:?}\n{}\n{}",
            serde_json::to_string(&lk.cards).unwrap(),
            lk.tags,
            lk.order,
            lk.neighbours,
            lk.rank.len(),
            serde_json::to_string(&lk.sections).unwrap()
        )
    }

    #[test]
    fn updating_a_lookup_for_edited_notes_equals_computing_it_again() {
        let (_dir, mut site) = site(&[
            (
                "content/go/a.md",
                "---\ntitle: A\ndate: 2024-01-01\ntags: [go]\n---\n\n第一段。\n",
            ),
            (
                "content/go/b.md",
                "---\ntitle: B\ndate: 2024-01-02\ntags: [go, gc]\n---\n\nB 的内容。\n",
            ),
            (
                "content/docker/c.md",
                "---\ntitle: C\ndate: 2024-01-03\n---\n\nC 的内容。\n",
            ),
        ]);
        let hl = Highlighter::default();
        let mut rendered = site.render(&hl);
        let mut lk = lookup(&site, &rendered);
        let index = |rel: &str| site.notes.iter().position(|n| n.rel == rel).unwrap();
        let (a, c) = (index("content/go/a.md"), index("content/docker/c.md"));
        // Edit a's title, date (so the order changes) and first paragraph; counts stay the same.
        site.notes[a].meta.title = Some("A2".into());
        site.notes[a].meta.date = crate::content::front_matter::parse_date("2025-01-01");
        site.notes[a].body = "新的第一段。\n".into();
        rendered = site.render(&hl);
        update_lookup(&mut lk, &site, &rendered, &[a]);
        assert_eq!(shape(&lk), shape(&lookup(&site, &rendered)));
        // A tag added changes the counts every card shows: the update recomputes everything.
        site.notes[c].meta.tags = vec!["gc".into()];
        update_lookup(&mut lk, &site, &rendered, &[c]);
        assert_eq!(shape(&lk), shape(&lookup(&site, &rendered)));
    }
}
