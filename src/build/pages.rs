//! Stage 5-6 for the whole site: build view structs, fill templates, write every file.

use std::collections::BTreeMap;

use rayon::prelude::*;

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

/// Everything derived once per build for the views.
struct Lookup {
    site: SiteView,
    /// Per note: its card (for lists, backlinks, prev/next).
    cards: Vec<NoteCard>,
    /// Tag slug -> (display name, note indexes).
    tags: BTreeMap<String, (String, Vec<usize>)>,
    /// Notes in display order (weight, newest first, title).
    order: Vec<usize>,
    /// Every section (nested ones too), with note counts.
    sections: Vec<SectionLink>,
}

fn tag_url(base: &str, slug: &str) -> String {
    format!("{base}/tags/{slug}/")
}

fn tag_slug(name: &str) -> String {
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

fn lookup(site: &Site, rendered: &[RenderedNote]) -> Lookup {
    let cfg = &site.config;
    let base = cfg.base_path.as_str();
    let mut tags: BTreeMap<String, (String, Vec<usize>)> = BTreeMap::new();
    for (i, n) in site.notes.iter().enumerate() {
        for t in &n.meta.tags {
            let e = tags
                .entry(tag_slug(t))
                .or_insert_with(|| (t.clone(), Vec::new()));
            if e.1.last() != Some(&i) {
                e.1.push(i);
            }
        }
    }
    let section_counts = |path: &str| {
        site.notes
            .iter()
            .filter(|n| n.section == path || n.section.starts_with(&format!("{path}/")))
            .count()
    };
    let sections: Vec<SectionLink> = site
        .sections
        .iter()
        .map(|s| SectionLink {
            path: s.path.clone(),
            title: s.title.clone(),
            description: s.description.clone(),
            url: s.url.clone(),
            count: section_counts(&s.path),
        })
        .collect();
    let section_link = |path: &str| sections.iter().find(|s| s.path == path).cloned();
    let tag_link = |name: &str| {
        let slug = tag_slug(name);
        let count = tags.get(&slug).map(|t| t.1.len()).unwrap_or(0);
        TagLink {
            name: name.to_string(),
            url: tag_url(base, &slug),
            count,
        }
    };
    let cards: Vec<NoteCard> = site
        .notes
        .iter()
        .zip(rendered)
        .map(|(n, r)| NoteCard {
            title: n.meta.title.clone().unwrap_or_default(),
            url: n.url.clone(),
            date: n.meta.date.map(|d| d.format("%Y-%m-%d").to_string()),
            summary: n.meta.summary.clone().unwrap_or_else(|| r.excerpt.clone()),
            tags: n.meta.tags.iter().map(|t| tag_link(t)).collect(),
            section: section_link(&n.section),
            verify: counts(&r.snippets),
        })
        .collect();
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
        built_at: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        search_enabled: cfg.search.enabled,
    };
    Lookup {
        site: site_view,
        cards,
        tags,
        order,
        sections,
    }
}

/// Fill every template and write every file; returns the number of files written.
pub fn write_site(
    site: &Site,
    rendered: &[RenderedNote],
    theme: &Theme,
    sink: &dyn Sink,
) -> anyhow::Result<usize> {
    let lk = lookup(site, rendered);
    let cfg = &site.config;
    let base = cfg.base_path.as_str();
    let abs = |url: &str| {
        format!(
            "{}{}",
            cfg.base_url.trim_end_matches('/'),
            url.strip_prefix(base).unwrap_or(url)
        )
    };
    let mut written = 0usize;

    // Notes (parallel). Prev/next follow display order within the note's section.
    let mut by_section: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &i in &lk.order {
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
    let note_count = (0..site.notes.len())
        .into_par_iter()
        .map(|i| -> anyhow::Result<usize> {
            let n = &site.notes[i];
            let r = &rendered[i];
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
                prev: neighbours[i].0.map(|p| lk.cards[p].clone()),
                next: neighbours[i].1.map(|p| lk.cards[p].clone()),
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
            sink.write(&format!("notes/{}/index.html", n.slug), html.as_bytes())?;
            let mut count = 1;
            for alias in &n.meta.redirect_aliases {
                if alias.contains("://") {
                    continue;
                }
                let path = alias.trim_start_matches('/');
                let path = if path.ends_with(".html") {
                    path.to_string()
                } else {
                    format!("{}/index.html", path.trim_end_matches('/'))
                };
                sink.write(&path, feeds::redirect(&n.url).as_bytes())?;
                count += 1;
            }
            Ok(count)
        })
        .collect::<anyhow::Result<Vec<usize>>>()?;
    written += note_count.iter().sum::<usize>();

    // Home.
    let recent: Vec<NoteCard> = {
        let mut by_date: Vec<usize> = (0..site.notes.len()).collect();
        by_date.sort_by(|&a, &b| {
            site.notes[b]
                .meta
                .date
                .cmp(&site.notes[a].meta.date)
                .then_with(|| lk.cards[a].title.cmp(&lk.cards[b].title))
        });
        by_date
            .into_iter()
            .take(HOME_RECENT)
            .map(|i| lk.cards[i].clone())
            .collect()
    };
    let home = ListPage {
        site: &lk.site,
        kind: ListKind::Home,
        title: cfg.title.clone(),
        description: cfg.description.clone(),
        url: format!("{base}/"),
        notes: recent,
        sections: lk.site.sections.clone(),
    };
    sink.write("index.html", theme.render("index.html", &home)?.as_bytes())?;
    written += 1;

    // Tags.
    let tags_page = ListPage {
        site: &lk.site,
        kind: ListKind::Tags,
        title: "标签".into(),
        description: String::new(),
        url: format!("{base}/tags/"),
        notes: vec![],
        sections: vec![],
    };
    sink.write(
        "tags/index.html",
        theme.render("tags.html", &tags_page)?.as_bytes(),
    )?;
    written += 1;
    for (slug, (name, notes)) in &lk.tags {
        let mut notes = notes.clone();
        notes.sort_by_key(|i| lk.order.iter().position(|o| o == i));
        let page = ListPage {
            site: &lk.site,
            kind: ListKind::Tag,
            title: name.clone(),
            description: format!("{} 篇笔记", notes.len()),
            url: tag_url(base, slug),
            notes: notes.iter().map(|&i| lk.cards[i].clone()).collect(),
            sections: vec![],
        };
        sink.write(
            &format!("tags/{slug}/index.html"),
            theme.render("list.html", &page)?.as_bytes(),
        )?;
        written += 1;
    }

    // Sections.
    for s in &site.sections {
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
        sink.write(
            &format!("sections/{}/index.html", s.path),
            theme.render("list.html", &page)?.as_bytes(),
        )?;
        written += 1;
    }

    // Snippet status page.
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
    sink.write(
        "verify/index.html",
        theme.render("verify.html", &vp)?.as_bytes(),
    )?;
    written += 1;

    // 404.
    let nf = SimplePage {
        site: &lk.site,
        title: "页面不存在".into(),
        url: format!("{base}/404.html"),
    };
    sink.write("404.html", theme.render("404.html", &nf)?.as_bytes())?;
    written += 1;

    // Sitemap and feed.
    let mut urls: Vec<(String, Option<chrono::DateTime<chrono::FixedOffset>>)> =
        vec![(cfg.base_url.clone(), None)];
    urls.extend(
        site.notes
            .iter()
            .map(|n| (abs(&n.url), n.meta.updated.or(n.meta.date))),
    );
    urls.extend(site.sections.iter().map(|s| (abs(&s.url), None)));
    urls.extend(lk.tags.keys().map(|slug| (abs(&tag_url(base, slug)), None)));
    sink.write("sitemap.xml", feeds::sitemap(&urls).as_bytes())?;
    let mut by_date: Vec<usize> = (0..site.notes.len()).collect();
    by_date.sort_by(|&a, &b| site.notes[b].meta.date.cmp(&site.notes[a].meta.date));
    let entries: Vec<FeedEntry<'_>> = by_date
        .iter()
        .take(50)
        .map(|&i| FeedEntry {
            title: &lk.cards[i].title,
            url: abs(&site.notes[i].url),
            date: site.notes[i].meta.date,
            updated: site.notes[i].meta.updated,
            summary: &lk.cards[i].summary,
            html: Some(&rendered[i].html),
        })
        .collect();
    sink.write(
        "atom.xml",
        feeds::atom(
            &cfg.title,
            &cfg.base_url,
            &format!("{}atom.xml", cfg.base_url),
            &entries,
        )
        .as_bytes(),
    )?;
    written += 2;

    // Static files: theme assets, highlight stylesheets, content assets.
    for (path, bytes) in &theme.statics {
        sink.write(path, bytes)?;
        written += 1;
    }
    let (light, dark) = highlight::stylesheets();
    sink.write("highlight.css", format!("{light}\n{dark}").as_bytes())?;
    written += 1;
    for asset in &site.assets {
        let rel = crate::output::sink::rel_slash(asset, &cfg.content_dir());
        let bytes = std::fs::read(asset)
            .map_err(|e| anyhow::anyhow!("couldn't read `{}`: {e}", asset.display()))?;
        sink.write(&rel, &bytes)?;
        written += 1;
    }
    Ok(written)
}

/// The search index for the site (stage 7): the tantivy index in the cache dir and the
/// browser's index under `_kb/search/`.
pub fn write_search(site: &Site, rendered: &[RenderedNote], sink: &dyn Sink) -> anyhow::Result<()> {
    let docs: Vec<crate::search::doc::SearchDoc> =
        rendered.iter().map(|r| r.search.clone()).collect();
    crate::search::index_site(&site.config, &docs, sink)?;
    Ok(())
}
