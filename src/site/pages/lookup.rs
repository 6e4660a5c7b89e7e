//! What every view is made from, derived once per build (and kept up to date by `kb serve`):
//! each note's card, the tags with their notes, the display order, prev/next neighbours, the
//! sections with their counts, and the site-wide values every page shows.

use std::collections::{BTreeMap, HashMap};

use crate::markdown::render::SnippetInfo;
use crate::markdown::RenderedNote;
use crate::render::views::*;
use crate::slug::slugify;
use crate::verify::results::Status;

use crate::site::model::Site;

/// Everything derived once per build (or per `kb serve` update) for the views.
pub(crate) struct Lookup {
    pub(crate) site: SiteView,
    /// Per note: its card (for lists, backlinks, prev/next).
    pub(crate) cards: Vec<NoteCard>,
    /// Tag slug -> (display name, note indexes).
    pub(crate) tags: BTreeMap<String, (String, Vec<usize>)>,
    /// Notes in display order (weight, a book's SUMMARY.md, newest first, title).
    pub(crate) order: Vec<usize>,
    /// `rank[i]`: position of note i in `order`.
    pub(crate) rank: Vec<usize>,
    /// Per note: previous and next note in display order within its section.
    pub(crate) neighbours: Vec<(Option<usize>, Option<usize>)>,
    /// Section path (`""` for the content root) -> its notes in display order, folder pages
    /// left out: the page tree of the sidebar and the menu.
    pub(crate) by_section: BTreeMap<String, Vec<usize>>,
    /// Every section (nested ones too), with note counts.
    pub(crate) sections: Vec<SectionLink>,
    /// Section path (`""` for the content root) -> the note that is the folder's page, whose
    /// text heads the section page (the home page for the root).
    pub(crate) intros: HashMap<String, usize>,
}

/// URL path of a tag's page.
pub(crate) fn tag_url(base: &str, slug: &str) -> String {
    format!("{base}/tags/{slug}/")
}

/// The slug a tag's page is found by (`Go GC` -> `go-gc`).
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
            // A book's chapters in its SUMMARY.md's order, ahead of what it does not list.
            .then_with(|| match (na.book_order, nb.book_order) {
                (Some(x), Some(y)) => x.cmp(&y),
                (x, y) => y.is_some().cmp(&x.is_some()),
            })
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
    let mut by_section: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &i in order.iter().filter(|&&i| !site.notes[i].is_folder_page()) {
        by_section
            .entry(site.notes[i].section.clone())
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
    let intros = site
        .notes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.is_folder_page())
        .filter_map(|(i, n)| {
            crate::content::routes::section_of(&n.route.route).map(|s| (s.to_string(), i))
        })
        .collect();
    Lookup {
        site: site_view,
        cards,
        tags,
        order,
        rank,
        neighbours,
        by_section,
        sections,
        intros,
    }
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
            "{site}\n{}\n{:?}\n{:?}\n{:?}\n{}\n{}\n{:?}\n{:?}",
            serde_json::to_string(&lk.cards).unwrap(),
            lk.tags,
            lk.order,
            lk.neighbours,
            lk.rank.len(),
            serde_json::to_string(&lk.sections).unwrap(),
            lk.intros.iter().collect::<BTreeMap<_, _>>(),
            lk.by_section
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
