//! Which pages an update puts out of date, asked of the pages themselves
//! ([`Page::out_of_date`]): the pages a note's own edit shows at once are rendered now and
//! compared byte for byte (only real changes reload a tab); list pages are marked stale and
//! rendered when next requested; a change to the chrome every page shares marks every page.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::output::Sink;
use crate::site::pages::{self, Changes, Page};
use crate::sync::MutexExt;

use super::live::{chrome, json, LiveSite};
use super::reload::url_of;
use super::update::Update;

/// The part of the old state an incremental update compares against (same indexes as the new
/// state unless notes were added or removed). The old [`crate::site::pages::Lookup`] stays in
/// place until [`LiveSite::finish`] replaces it.
pub(super) struct Before {
    pub(super) backlinks: Vec<Vec<usize>>,
    chrome: String,
}

impl LiveSite {
    pub(super) fn before(&self) -> Before {
        Before {
            backlinks: self.site.backlinks.clone(),
            chrome: self.chrome.clone(),
        }
    }

    /// After notes were re-rendered: new lookup, then ask every page whether it is out of date:
    /// render those [`Page::renders_at_once`] now, mark the others stale (or, when the chrome
    /// changed, every page).
    pub(super) fn finish(
        &mut self,
        before: Before,
        structural: bool,
        dirty: &[usize],
        up: &mut Update,
    ) {
        // What the comparisons below need from the old lookup (same indexes unless structural).
        let old_cards: HashMap<usize, String> = if structural {
            HashMap::new()
        } else {
            dirty
                .iter()
                .map(|&i| (i, json(&self.lookup.cards[i])))
                .collect()
        };
        let old_titles: HashMap<usize, (String, String)> = if structural {
            HashMap::new()
        } else {
            dirty
                .iter()
                .map(|&i| {
                    let c = &self.lookup.cards[i];
                    (i, (c.title.clone(), c.url.clone()))
                })
                .collect()
        };
        let old_verified: bool =
            !structural && dirty.iter().any(|&i| self.lookup.cards[i].verify.total > 0);
        let old_order = if structural {
            Vec::new()
        } else {
            self.lookup.order.clone()
        };
        let old_neighbours = if structural {
            Vec::new()
        } else {
            self.lookup.neighbours.clone()
        };
        if structural {
            self.lookup = pages::lookup(&self.site, &self.rendered);
        } else {
            pages::update_lookup(&mut self.lookup, &self.site, &self.rendered, dirty);
        }
        self.chrome = chrome(&self.lookup);
        up.laps.mark("lookup");
        let everything = structural || self.chrome != before.chrome;
        let mut changes = Changes {
            rendered: dirty.iter().copied().collect(),
            ..Changes::default()
        };
        if !everything {
            // Same notes at the same indexes: compare cards, backlinks, neighbours and order.
            changes.cards = dirty
                .iter()
                .copied()
                .filter(|&i| old_cards.get(&i) != Some(&json(&self.lookup.cards[i])))
                .collect();
            changes.titles = dirty
                .iter()
                .copied()
                .filter(|&i| {
                    let c = &self.lookup.cards[i];
                    old_titles.get(&i) != Some(&(c.title.clone(), c.url.clone()))
                })
                .collect();
            changes.order = self.lookup.order != old_order;
            changes.backlinks = (self.site.backlinks.iter().zip(&before.backlinks))
                .enumerate()
                .filter(|(_, (now, then))| now != then)
                .map(|(j, _)| j)
                .collect();
            changes.neighbours = (self.lookup.neighbours.iter().zip(&old_neighbours))
                .enumerate()
                .filter(|(_, (now, then))| now != then)
                .map(|(j, _)| j)
                .collect();
            changes.snippets =
                dirty.iter().any(|&i| !self.rendered[i].snippets.is_empty()) || old_verified;
        }
        let (eager, lists): (Vec<Page>, Vec<Page>) = pages::pages(&self.site, &self.lookup)
            .into_iter()
            .filter(|p| p.out_of_date(&changes, &self.site, &self.lookup))
            .partition(Page::renders_at_once);

        // Render the eager pages now and compare bytes: only real changes reload a tab.
        up.laps.mark("affected");
        self.files.take_changed();
        let outputs: Vec<anyhow::Result<pages::PageFiles>> = eager
            .par_iter()
            .map(|p| pages::render_page(&self.site, &self.rendered, &self.lookup, &self.theme, p))
            .collect();
        let mut fresh: HashSet<String> = HashSet::new();
        for out in outputs {
            match out {
                Ok(files) => {
                    for (path, bytes) in files {
                        if let Err(e) = self.files.write(&path, &bytes) {
                            up.log.push(format!("{e:#}"));
                        }
                        fresh.insert(path);
                    }
                }
                Err(e) => up.log.push(format!("{e:#}")),
            }
        }
        up.rendered_pages += eager.len();
        for path in self.files.take_changed() {
            up.reload.file(&path);
        }
        up.laps.mark("pages");
        if everything {
            up.stale_pages += self.invalidate_all(&fresh);
            up.reload.all = true;
        } else {
            let mut stale = self.stale.lock_or_recover();
            for path in &fresh {
                stale.remove(path);
            }
            for page in lists {
                let path = page.path(&self.site.notes);
                up.reload.pages.insert(url_of(&path));
                stale.insert(path, page);
                up.stale_pages += 1;
            }
        }
        up.laps.mark("stale");
    }

    /// Mark every page stale except `fresh` ones, and drop stored files that are no longer part
    /// of the site (pages of deleted notes and tags, removed assets). Returns how many are stale.
    pub(super) fn invalidate_all(&self, fresh: &HashSet<String>) -> usize {
        let mut all: HashMap<String, Page> = HashMap::new();
        for page in pages::pages(&self.site, &self.lookup) {
            for path in page.paths(&self.site.notes) {
                all.insert(path, page.clone());
            }
        }
        let mut keep: HashSet<String> = self.theme.statics.keys().cloned().collect();
        keep.insert("highlight.css".into());
        keep.extend(self.asset_set.iter().cloned());
        for path in self.files.paths() {
            if !all.contains_key(&path) && !keep.contains(&path) && !path.starts_with("_kb/") {
                self.files.remove(&path);
            }
        }
        all.retain(|path, _| !fresh.contains(path));
        let n = all.len();
        *self.stale.lock_or_recover() = all;
        n
    }
}
