//! Created, edited, deleted and renamed notes while serving: load the changed files, merge them
//! into the note-aligned vectors, check links again only as far as names and targets changed,
//! and re-render the markdown of the notes whose output may differ; then hand over to
//! `stale.rs` for the pages.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use crate::content;
use crate::content::load::{load_note, Admit};
use crate::content::publish::Cascades;
use crate::content::Note;
use crate::markdown::links::Resolved;
use crate::markdown::outline::LinkKind;
use crate::markdown::{self, LinkIndex, Outline, RenderedNote};
use crate::output::sink::rel_slash;
use crate::search::doc::SearchDoc;
use crate::site::{pages, snippet_check, SnippetCheck};
use crate::sync::MutexExt;
use crate::verify::plan::PlanConfig;

use super::live::LiveSite;
use super::reload::url_of;
use super::update::{SearchDelta, Update};

impl LiveSite {
    /// Whether note `host` embeds note `guest` (`![[guest]]`), so its page shows guest's text.
    fn embeds(&self, host: usize, guest: usize) -> bool {
        let notes = &self.site.notes;
        self.site.outlines[host].links.iter().any(|l| {
            l.kind == LinkKind::Image
                && matches!(
                    self.site.links.resolve(notes, host, &l.dest, l.kind),
                    Resolved::Note { index, .. } if index == guest
                )
        })
    }

    /// Created, edited, deleted and renamed notes.
    pub(super) fn apply_notes(&mut self, paths: &[PathBuf], up: &mut Update) {
        let started = Instant::now();
        let root = self.site.config.root.clone();
        let mut upserts: BTreeMap<String, Note> = BTreeMap::new();
        let mut removes: BTreeSet<String> = BTreeSet::new();
        for path in paths {
            let rel = rel_slash(path, &root);
            let existing = self.index_of(&rel);
            // The content walk's policy: a link out of the root (or to nowhere) is not a note.
            let loaded =
                (content::load::admit(&self.site.config, path) == Admit::File).then(|| {
                    let cascades = Cascades::above(&self.site.config, path);
                    load_note(&self.site.config, path, self.opts, &cascades)
                });
            match loaded {
                Some(Ok(Some(note))) => {
                    self.problems.load.remove(&rel);
                    if existing.is_some_and(|i| self.site.notes[i].hash == note.hash) {
                        continue;
                    }
                    upserts.insert(rel, note);
                }
                Some(Err(diag)) => {
                    // The last good version stays on the site; the overlay shows the problem.
                    up.log
                        .push(format!("{rel}: not updated (see the problem below)"));
                    self.problems.load.insert(rel, diag);
                }
                Some(Ok(None)) | None => {
                    self.problems.load.remove(&rel);
                    if existing.is_some() {
                        removes.insert(rel);
                    }
                }
            }
        }
        up.laps.mark("load");
        if upserts.is_empty() && removes.is_empty() {
            return;
        }
        let plan_cfg = PlanConfig::of(&self.site.config);
        let structural =
            !removes.is_empty() || upserts.keys().any(|rel| self.index_of(rel).is_none());
        if let Err(why) = self.place(&mut upserts, &removes, structural) {
            self.reload_content(up, why);
            return;
        }
        if structural && self.sections_change(&upserts, &removes) {
            self.reload_content(
                up,
                "a note was added to or removed from a folder that changes the sections",
            );
            return;
        }

        // Merge the changes into the note-aligned vectors (sorted by path).
        let before = self.before();
        let old_count = self.site.notes.len();
        // Output paths a note no longer has (deleted, or its slug or aliases changed).
        let mut gone_paths: BTreeSet<String> = BTreeSet::new();
        let mut removed: Vec<(usize, Note)> = Vec::new();
        // (new index, old index if it existed) of every loaded note.
        let mut changed: Vec<(usize, Option<usize>)> = Vec::new();
        let mut identity_changed = structural;
        // Whether every edited note links to the same places as before (lines aside) and had
        // no broken link: then links, backlinks and link problems are all unchanged.
        let mut same_links = !structural;
        let new_of_old: Vec<Option<usize>>;
        if !structural {
            // Edits of existing notes: replace them where they are.
            for (rel, new) in std::mem::take(&mut upserts) {
                let Some(i) = self.index_of(&rel) else {
                    continue;
                };
                let outline = markdown::outline::outline(&new);
                identity_changed |= identity(&self.site.notes[i], &self.site.outlines[i])
                    != identity(&new, &outline);
                let targets = |o: &Outline| {
                    o.links
                        .iter()
                        .map(|l| (l.dest.clone(), l.kind))
                        .collect::<Vec<_>>()
                };
                same_links &= targets(&self.site.outlines[i]) == targets(&outline)
                    && !self
                        .problems
                        .links
                        .iter()
                        .any(|d| d.path.to_string_lossy() == rel);
                let kept = pages::note_paths(&new);
                gone_paths.extend(
                    pages::note_paths(&self.site.notes[i])
                        .into_iter()
                        .filter(|p| !kept.contains(p)),
                );
                self.problems.snippets[i] = snippet_check(&plan_cfg, &new);
                self.site.notes[i] = new;
                self.site.outlines[i] = outline;
                self.rendered[i] = empty_rendered();
                changed.push((i, Some(i)));
            }
            new_of_old = (0..old_count).map(Some).collect();
        } else {
            let old_notes = std::mem::take(&mut self.site.notes);
            let old_outlines = std::mem::take(&mut self.site.outlines);
            let old_rendered = std::mem::take(&mut self.rendered);
            let old_snippets = std::mem::take(&mut self.problems.snippets);
            struct Entry {
                note: Note,
                outline: Outline,
                rendered: Option<RenderedNote>,
                snippets: SnippetCheck,
                old: Option<usize>,
                identity_changed: bool,
            }
            let mut entries: Vec<Entry> = Vec::with_capacity(old_count + upserts.len());
            for (i, ((note, outline), (rendered, snippets))) in old_notes
                .into_iter()
                .zip(old_outlines)
                .zip(old_rendered.into_iter().zip(old_snippets))
                .enumerate()
            {
                if removes.contains(&note.rel) {
                    gone_paths.extend(pages::note_paths(&note));
                    removed.push((i, note));
                    continue;
                }
                match upserts.remove(&note.rel) {
                    Some(new) => {
                        let new_outline = markdown::outline::outline(&new);
                        let identity_changed =
                            identity(&note, &outline) != identity(&new, &new_outline);
                        let kept = pages::note_paths(&new);
                        gone_paths.extend(
                            pages::note_paths(&note)
                                .into_iter()
                                .filter(|p| !kept.contains(p)),
                        );
                        entries.push(Entry {
                            snippets: snippet_check(&plan_cfg, &new),
                            note: new,
                            outline: new_outline,
                            rendered: None,
                            old: Some(i),
                            identity_changed,
                        });
                    }
                    None => entries.push(Entry {
                        note,
                        outline,
                        rendered: Some(rendered),
                        snippets,
                        old: Some(i),
                        identity_changed: false,
                    }),
                }
            }
            for (_, new) in std::mem::take(&mut upserts) {
                let outline = markdown::outline::outline(&new);
                entries.push(Entry {
                    snippets: snippet_check(&plan_cfg, &new),
                    note: new,
                    outline,
                    rendered: None,
                    old: None,
                    identity_changed: true,
                });
            }
            if structural {
                entries.sort_by(|a, b| a.note.rel.cmp(&b.note.rel));
            }
            let mut remap: Vec<Option<usize>> = vec![None; old_count];
            let mut rendered: Vec<RenderedNote> = Vec::with_capacity(entries.len());
            for (new_i, e) in entries.into_iter().enumerate() {
                if let Some(o) = e.old {
                    remap[o] = Some(new_i);
                }
                if e.rendered.is_none() {
                    changed.push((new_i, e.old));
                }
                identity_changed |= e.identity_changed;
                self.site.notes.push(e.note);
                self.site.outlines.push(e.outline);
                self.problems.snippets.push(e.snippets);
                rendered.push(e.rendered.unwrap_or_else(empty_rendered));
            }
            self.rendered = rendered;
            new_of_old = remap;
        }

        // A note loaded alone has no place in a book yet; an edited SUMMARY.md moves others.
        content::reading_order::apply(&mut self.site.notes);
        up.laps.mark("merge");
        // Links: the index is rebuilt only when a note's name, path or headings changed.
        if identity_changed {
            self.site.links = LinkIndex::new(
                &self.site.notes,
                &self.site.outlines,
                self.asset_set.clone(),
                &self.site.config.base_path,
            );
        }
        if identity_changed || !same_links {
            let (link_diags, backlinks) =
                markdown::links::check_all(&self.site.notes, &self.site.outlines, &self.site.links);
            self.problems.links = link_diags;
            self.site.backlinks = backlinks;
        }
        up.laps.mark("links");

        // Markdown to re-render: the changed notes, and when names or headings changed, every
        // note that links (or linked) to them: their link targets and texts may differ now.
        let mut dirty: BTreeSet<usize> = changed.iter().map(|(n, _)| *n).collect();
        if identity_changed {
            let touched_old = removed
                .iter()
                .map(|(o, _)| *o)
                .chain(changed.iter().filter_map(|(_, o)| *o));
            for o in touched_old {
                dirty.extend(before.backlinks[o].iter().filter_map(|&b| new_of_old[b]));
            }
            for (n, _) in &changed {
                dirty.extend(self.site.backlinks[*n].iter().copied());
            }
        }
        // Pages that show a changed note in place (`![[note]]`), and pages that show those.
        let mut frontier: Vec<usize> = dirty.iter().copied().collect();
        while let Some(n) = frontier.pop() {
            for &b in self.site.backlinks.get(n).into_iter().flatten() {
                if !dirty.contains(&b) && self.embeds(b, n) {
                    dirty.insert(b);
                    frontier.push(b);
                }
            }
        }
        let dirty: Vec<usize> = dirty.into_iter().collect();
        self.rerender(&dirty);
        up.laps.mark("markdown");

        for path in &gone_paths {
            self.files.remove(path);
            self.stale.lock_or_recover().remove(path);
            up.reload.pages.insert(url_of(path));
        }
        up.search = Some(SearchDelta {
            all: None,
            upsert: dirty
                .iter()
                .map(|&i| self.rendered[i].search.clone())
                .collect(),
            remove: removed.iter().map(|(_, n)| n.rel.clone()).collect(),
        });
        let names: Vec<String> = changed
            .iter()
            .map(|(i, _)| self.site.notes[*i].rel.clone())
            .chain(removed.iter().map(|(_, n)| format!("{} (removed)", n.rel)))
            .collect();
        self.finish(before, structural, &dirty, up);
        up.log.push(format!(
            "{}: {} pages rendered, {} marked stale, in {:.1} ms",
            names.join(", "),
            up.rendered_pages,
            up.stale_pages,
            started.elapsed().as_secs_f64() * 1000.0
        ));
    }

    /// Give the loaded notes their routes among the others ([`content::routes::assign`]), and
    /// the route problems of the whole knowledge base. `Err` says why the content must be
    /// reloaded instead: the change moves a note that was not edited (a namesake came or went),
    /// or adds, removes or renames a folder's page (the section's title and text).
    fn place(
        &mut self,
        upserts: &mut BTreeMap<String, Note>,
        removes: &BTreeSet<String>,
        structural: bool,
    ) -> Result<(), &'static str> {
        let same_wishes = upserts.iter().all(|(rel, new)| {
            self.index_of(rel)
                .is_some_and(|i| self.site.notes[i].wish == new.wish)
        });
        if !structural && same_wishes {
            // Nothing asks for another place: every note keeps its route.
            for (rel, new) in upserts.iter_mut() {
                let old = &self.site.notes[self.index_of(rel).unwrap_or_default()];
                if old.is_folder_page()
                    && (old.meta.title != new.meta.title
                        || old.meta.summary != new.meta.summary
                        || old.meta.weight != new.meta.weight)
                {
                    return Err("a folder page's title, summary or weight changed");
                }
                new.place(old.route.clone(), &self.site.config.base_path);
            }
            return Ok(());
        }
        let mut all: Vec<&Note> = self
            .site
            .notes
            .iter()
            .filter(|n| !removes.contains(&n.rel) && !upserts.contains_key(&n.rel))
            .chain(upserts.values())
            .collect();
        all.sort_by(|a, b| a.rel.cmp(&b.rel));
        let inputs: Vec<content::routes::RouteInput<'_>> =
            all.iter().map(|n| content::load::route_input(n)).collect();
        let (placed, diags) = content::routes::assign(&inputs, &self.site.config.base_path);
        let mut routes: BTreeMap<String, content::routes::Route> = BTreeMap::new();
        for (n, r) in all.iter().zip(placed) {
            if upserts.contains_key(&n.rel) {
                routes.insert(n.rel.clone(), r);
            } else if n.route != r {
                return Err("a note's URL changed: a namesake or a folder page came or went");
            }
        }
        let removed_folder_page = self
            .site
            .notes
            .iter()
            .any(|n| removes.contains(&n.rel) && n.is_folder_page());
        if removed_folder_page {
            return Err("a folder page was removed");
        }
        for (rel, new) in upserts.iter_mut() {
            let route = routes.remove(rel).unwrap_or_default();
            let was = self
                .index_of(rel)
                .map(|i| &self.site.notes[i])
                .filter(|n| n.is_folder_page());
            if route.folder_page || was.is_some() {
                return Err("a folder page was added or moved");
            }
            new.place(route, &self.site.config.base_path);
        }
        self.problems.duplicates = diags;
        Ok(())
    }

    /// Would adding `upserts` and dropping `removes` change the list of sections?
    fn sections_change(
        &self,
        upserts: &BTreeMap<String, Note>,
        removes: &BTreeSet<String>,
    ) -> bool {
        let known: HashSet<&str> = self.site.sections.iter().map(|s| s.path.as_str()).collect();
        if upserts
            .values()
            .any(|n| !n.section.is_empty() && !known.contains(n.section.as_str()))
        {
            return true;
        }
        // A section stays while a note (or a section `_index.md`) remains in it or below it.
        let leaving: BTreeSet<&str> = self
            .site
            .notes
            .iter()
            .filter(|n| {
                removes.contains(&n.rel)
                    || upserts.get(&n.rel).is_some_and(|u| u.section != n.section)
            })
            .map(|n| n.section.as_str())
            .collect();
        leaving.into_iter().filter(|s| !s.is_empty()).any(|s| {
            let inside = |section: &str| section == s || section.starts_with(&format!("{s}/"));
            let stays = self.site.notes.iter().any(|n| {
                inside(&n.section)
                    && !removes.contains(&n.rel)
                    && upserts.get(&n.rel).is_none_or(|u| inside(&u.section))
            }) || upserts.values().any(|u| inside(&u.section));
            !stays
                && !self
                    .site
                    .config
                    .content_dir()
                    .join(s)
                    .join("_index.md")
                    .is_file()
        })
    }
}

/// What other notes' links and renderings depend on: where a note is, what it is called, its
/// headings.
fn identity<'a>(
    note: &'a Note,
    outline: &'a Outline,
) -> (
    &'a str,
    &'a str,
    Option<&'a str>,
    &'a [String],
    Vec<&'a str>,
) {
    (
        &note.content_rel,
        &note.url,
        note.meta.title.as_deref(),
        &note.meta.name_aliases,
        outline
            .headings
            .iter()
            .map(|h| h.id.as_str())
            .chain(outline.terms.iter().map(String::as_str))
            .collect(),
    )
}

fn empty_rendered() -> RenderedNote {
    RenderedNote {
        html: String::new(),
        toc: Vec::new(),
        search: SearchDoc::default(),
        snippets: Vec::new(),
        excerpt: String::new(),
        chars: 0,
    }
}
