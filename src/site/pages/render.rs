//! Stages 5-6 for the whole site: build each [`Page`]'s view struct, fill its template, write
//! its files. A full build renders every page ([`write_site`]); `kb serve` calls
//! [`render_page`] for just the pages a change affects, so both share every line here.

use rayon::prelude::*;

use crate::highlight;
use crate::markdown::RenderedNote;
use crate::output::feeds::{self, FeedEntry};
use crate::output::Sink;
use crate::render::views::*;
use crate::render::Theme;
use crate::verify::results::Status;

use crate::site::model::Site;

use super::lookup::{lookup, Lookup};
use super::page::{alias_paths, pages, Page};

/// How many notes the home page lists.
const HOME_RECENT: usize = 30;

/// How many notes of its section a page tree lists at most (a window around the current note):
/// the tree is on every note page, and a section can hold thousands.
const NAV_NOTES: usize = 40;

/// How many notes the Atom feed holds.
const FEED_ENTRIES: usize = 50;

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
    let url = page.url(&site.notes, base);
    let one = |text: String| Ok(vec![(page.path(&site.notes), text.into_bytes())]);
    match page {
        Page::Note(i) => {
            let i = *i;
            let n = &site.notes[i];
            let r = &rendered[i];
            let neighbours = lk.neighbours[i];
            let view = NoteView {
                title: lk.cards[i].title.clone(),
                url: url.clone(),
                permalink: abs(&n.url),
                date: lk.cards[i].date.clone(),
                updated: n.meta.updated.map(|d| d.format("%Y-%m-%d").to_string()),
                summary: lk.cards[i].summary.clone(),
                lead: n.meta.summary.clone(),
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
                    nav: nav_view(site, lk, &n.section, Some(i)),
                },
            )?;
            let mut files = vec![(page.path(&site.notes), html.into_bytes())];
            files.extend(alias_files(n));
            Ok(files)
        }
        Page::Home => {
            let intro = page.intro(lk);
            let recent: Vec<NoteCard> = recent_notes(site, lk)
                .into_iter()
                .map(|i| lk.cards[i].clone())
                .collect();
            let home = ListPage {
                site: &lk.site,
                kind: ListKind::Home,
                title: cfg.title.clone(),
                description: cfg.description.clone(),
                url,
                notes: recent,
                sections: lk.site.sections.clone(),
                intro: intro.map(|i| intro_view(site, rendered, lk, i)),
                nav: NavView::default(),
            };
            with_aliases(site, intro, page, theme.render("index.html", &home)?)
        }
        Page::TagIndex => {
            let tags_page = ListPage {
                site: &lk.site,
                kind: ListKind::Tags,
                title: "标签".into(),
                description: String::new(),
                url,
                notes: vec![],
                sections: vec![],
                intro: None,
                nav: NavView::default(),
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
                url,
                notes: notes.iter().map(|&i| lk.cards[i].clone()).collect(),
                sections: vec![],
                intro: None,
                nav: NavView::default(),
            };
            one(theme.render("list.html", &page)?)
        }
        Page::Section(path) => {
            let s = site
                .sections
                .iter()
                .find(|s| &s.path == path)
                .ok_or_else(|| anyhow::anyhow!("no section `{path}`"))?;
            let intro = page.intro(lk);
            let notes: Vec<NoteCard> = lk
                .order
                .iter()
                .filter(|&&i| site.notes[i].section == s.path && Some(i) != intro)
                .map(|&i| lk.cards[i].clone())
                .collect();
            let subs: Vec<SectionLink> = lk
                .sections
                .iter()
                .filter(|c| c.path.rsplit_once('/').map(|(p, _)| p) == Some(s.path.as_str()))
                .cloned()
                .collect();
            let view = ListPage {
                site: &lk.site,
                kind: ListKind::Section,
                title: s.title.clone(),
                description: s.description.clone(),
                url,
                notes,
                sections: subs,
                intro: intro.map(|i| intro_view(site, rendered, lk, i)),
                // the page lists the section's notes itself
                nav: NavView {
                    notes: vec![],
                    more: 0,
                    ..nav_view(site, lk, &s.path, None)
                },
            };
            with_aliases(site, intro, page, theme.render("list.html", &view)?)
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
                url,
                notes: verify_rows,
            };
            one(theme.render("verify.html", &vp)?)
        }
        Page::NotFound => {
            let nf = SimplePage {
                site: &lk.site,
                title: "页面不存在".into(),
                url,
            };
            one(theme.render("404.html", &nf)?)
        }
        Page::Sitemap => {
            // The catalogue says which pages there are and which are listed; a note also says
            // when it last changed.
            let urls: Vec<(String, Option<chrono::DateTime<chrono::FixedOffset>>)> =
                pages(site, lk)
                    .iter()
                    .filter(|p| p.in_sitemap())
                    .map(|p| {
                        let modified = match p {
                            Page::Note(i) => {
                                site.notes[*i].meta.updated.or(site.notes[*i].meta.date)
                            }
                            _ => None,
                        };
                        (abs(&p.url(&site.notes, base)), modified)
                    })
                    .collect();
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

/// The page tree open at section `path`: its notes in display order (a window of
/// [`NAV_NOTES`] around note `current` when there are more).
fn nav_view(site: &Site, lk: &Lookup, path: &str, current: Option<usize>) -> NavView {
    let all: &[usize] = lk.by_section.get(path).map_or(&[], Vec::as_slice);
    let at = current
        .and_then(|c| all.iter().position(|&i| i == c))
        .unwrap_or(0);
    let start = at
        .saturating_sub(NAV_NOTES / 2)
        .min(all.len().saturating_sub(NAV_NOTES));
    let shown = &all[start..all.len().min(start + NAV_NOTES)];
    NavView {
        section: lk.sections.iter().find(|s| s.path == path).cloned(),
        path: path.to_string(),
        notes: shown
            .iter()
            .map(|&i| NavNote {
                title: lk.cards[i].title.clone(),
                url: site.notes[i].url.clone(),
                current: Some(i) == current,
            })
            .collect(),
        more: all.len() - shown.len(),
    }
}

/// The view of a folder page's text.
fn intro_view(site: &Site, rendered: &[RenderedNote], lk: &Lookup, i: usize) -> IntroView {
    IntroView {
        content: rendered[i].html.clone(),
        toc: rendered[i].toc.clone(),
        source: site.notes[i].rel.clone(),
        verify: lk.cards[i].verify,
    }
}

/// A page's file, and the alias redirects of the folder page it shows.
fn with_aliases(
    site: &Site,
    intro: Option<usize>,
    page: &Page,
    html: String,
) -> anyhow::Result<PageFiles> {
    let mut files = vec![(page.path(&site.notes), html.into_bytes())];
    if let Some(i) = intro {
        files.extend(alias_files(&site.notes[i]));
    }
    Ok(files)
}

/// The redirect page of each of a note's front matter `aliases`.
fn alias_files(note: &crate::content::Note) -> PageFiles {
    let redirect = feeds::redirect(&note.url);
    alias_paths(note)
        .into_iter()
        .map(|path| (path, redirect.clone().into_bytes()))
        .collect()
}

/// The notes the home page lists: newest first, at most [`HOME_RECENT`]; not the home page's
/// own text.
pub(crate) fn recent_notes(site: &Site, lk: &Lookup) -> Vec<usize> {
    let home = lk.intros.get("").copied();
    let mut by_date: Vec<usize> = (0..site.notes.len()).filter(|&i| Some(i) != home).collect();
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
