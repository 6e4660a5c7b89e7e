//! [`SearchIndex`]: the tantivy index of every note, kept in the cache dir and updated in place.
//!
//! One tantivy document per note: `title`, `headings`, `body`, `code` and `tags` are scored
//! (BM25, title and headings boosted; a typed prefix expands over their term dictionaries),
//! `tag` is the raw tag filter, `source` the key for incremental updates (and a fast field that
//! numbers the browser index's notes) and `doc` the note's [`EncodedDoc`] JSON (the browser's
//! fragment) for excerpts.
//! [`SearchIndex::term_scores`] reads every term's scores back out of the segments for the
//! browser index, so notes are tokenized once per build. A manifest (`kb-manifest.json`) maps each source path to
//! the content hash of its SearchDoc; an update deletes and re-adds only the notes whose hash
//! changed, and the commit payload holds the manifest's own hash, so a manifest that does not
//! belong to the committed index is detected and the index rebuilt.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::doc::{EncodedDoc, SearchDoc};
use super::schema::{schema, Fields, ScoredField, SCHEMA_VERSION};
use super::tokenize::{KbTokenizer, TOKENIZER_NAME, TOKENIZER_VERSION};

const MANIFEST_FILE: &str = "kb-manifest.json";

/// `source -> content hash`, plus the versions it was built with and the caller's freshness
/// stamp (see [`super::content_stamp`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub(super) tokenizer: u32,
    pub(super) schema: u32,
    pub(super) stamp: String,
    pub(super) docs: BTreeMap<String, String>,
}

impl Manifest {
    fn fresh() -> Manifest {
        Manifest {
            tokenizer: TOKENIZER_VERSION,
            schema: SCHEMA_VERSION,
            ..Default::default()
        }
    }

    fn compatible(&self) -> bool {
        self.tokenizer == TOKENIZER_VERSION && self.schema == SCHEMA_VERSION
    }
}

/// What an update changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UpdateStats {
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub unchanged: usize,
    /// The saved index was unusable (missing, other version, torn manifest) and was rebuilt.
    pub rebuilt: bool,
}

impl UpdateStats {
    /// True if the update wrote anything.
    pub fn changed(&self) -> bool {
        self.added + self.updated + self.removed > 0 || self.rebuilt
    }
}

/// The search index of a knowledge base: open it, feed it every note's [`SearchDoc`], query it.
/// Cheap queries (`&self`); updates need `&mut self`. `kb serve` holds one in memory.
pub struct SearchIndex {
    pub(super) index: Index,
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
    /// Where the manifest lives (`None` for an in-memory index).
    pub(super) dir: Option<PathBuf>,
    pub(super) manifest: Manifest,
    /// The saved index could not be reused; the next update rebuilds it.
    pub(super) rebuild: bool,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("dir", &self.dir)
            .field("docs", &self.manifest.docs.len())
            .finish()
    }
}

impl SearchIndex {
    /// Open the index in `dir`, creating it if missing. An index of another version, or one whose
    /// manifest does not match its last commit, is wiped and rebuilt by the next update.
    pub fn open(dir: &Path) -> anyhow::Result<SearchIndex> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("couldn't create the search index dir `{}`", dir.display()))?;
        let (schema, fields) = schema();
        let manifest_path = dir.join(MANIFEST_FILE);
        let saved: Option<Manifest> = std::fs::read(&manifest_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Manifest>(&bytes).ok());
        let existing = Index::open_in_dir(dir)
            .ok()
            .filter(|i| i.schema() == schema);
        let (index, manifest, rebuild) = match (existing, saved) {
            (Some(index), Some(m)) if m.compatible() && payload_matches(&index, &m) => {
                (index, m, false)
            }
            (existing, _) => {
                drop(existing);
                wipe_dir(dir)?;
                let index = Index::create_in_dir(dir, schema).with_context(|| {
                    format!("couldn't create a search index in `{}`", dir.display())
                })?;
                (index, Manifest::fresh(), true)
            }
        };
        SearchIndex::from_index(index, fields, Some(dir.to_path_buf()), manifest, rebuild)
    }

    /// An index that lives in memory only (tests, benchmarks).
    pub fn in_memory() -> anyhow::Result<SearchIndex> {
        let (schema, fields) = schema();
        SearchIndex::from_index(
            Index::create_in_ram(schema),
            fields,
            None,
            Manifest::fresh(),
            false,
        )
    }

    fn from_index(
        index: Index,
        fields: Fields,
        dir: Option<PathBuf>,
        manifest: Manifest,
        rebuild: bool,
    ) -> anyhow::Result<SearchIndex> {
        index
            .tokenizers()
            .register(TOKENIZER_NAME, KbTokenizer::default());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("couldn't open a reader on the search index")?;
        Ok(SearchIndex {
            index,
            reader,
            fields,
            dir,
            manifest,
            rebuild,
        })
    }

    /// Number of notes in the index.
    pub fn len(&self) -> usize {
        self.manifest.docs.len()
    }

    /// True when no note is indexed.
    pub fn is_empty(&self) -> bool {
        self.manifest.docs.is_empty()
    }

    /// The freshness stamp given to the last update (empty if none).
    pub fn stamp(&self) -> &str {
        &self.manifest.stamp
    }

    /// Make the index hold exactly `docs` (the whole knowledge base): add new notes, re-index
    /// changed ones, delete the ones that are gone. `stamp` is stored for [`SearchIndex::stamp`].
    pub fn update(&mut self, docs: &[SearchDoc], stamp: &str) -> anyhow::Result<UpdateStats> {
        let docs: Vec<&SearchDoc> = docs.iter().collect();
        self.update_encoded(&docs, &EncodedDoc::all(&docs), stamp)
    }

    /// [`SearchIndex::update`] with each doc already encoded (`encoded[i]` is `docs[i]`'s), for
    /// callers that write the encoded docs out too.
    pub(crate) fn update_encoded(
        &mut self,
        docs: &[&SearchDoc],
        encoded: &[EncodedDoc],
        stamp: &str,
    ) -> anyhow::Result<UpdateStats> {
        let mut stats = UpdateStats {
            rebuilt: self.rebuild,
            ..Default::default()
        };
        let mut next: BTreeMap<String, String> = BTreeMap::new();
        // (doc, its encoding, whether an older version of it is in the index)
        let mut changed: Vec<(&SearchDoc, &EncodedDoc, bool)> = Vec::new();
        for (&doc, enc) in docs.iter().zip(encoded) {
            match self.manifest.docs.get(&doc.source) {
                Some(old) if *old == enc.hash => stats.unchanged += 1,
                Some(_) => {
                    stats.updated += 1;
                    changed.push((doc, enc, true));
                }
                None => {
                    stats.added += 1;
                    changed.push((doc, enc, false));
                }
            }
            if next.insert(doc.source.clone(), enc.hash.clone()).is_some() {
                anyhow::bail!("two notes share the source path `{}`", doc.source);
            }
        }
        let removed: Vec<&String> = self
            .manifest
            .docs
            .keys()
            .filter(|s| !next.contains_key(*s))
            .collect();
        stats.removed = removed.len();
        if !stats.changed() && self.manifest.stamp == stamp {
            return Ok(stats);
        }

        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(2);
        let mut writer: IndexWriter<TantivyDocument> = self
            .index
            .writer_with_num_threads(threads, 40_000_000 * threads)
            .context("couldn't lock the search index for writing (is another kb building it?)")?;
        if self.rebuild {
            writer.delete_all_documents()?;
        }
        for source in &removed {
            writer.delete_term(Term::from_field_text(self.fields.source, source));
        }
        for (doc, enc, replaces) in changed {
            // a note the manifest does not list is not in the index (the commit payload vouches
            // for the manifest): no delete to queue, which every new segment would then apply
            if replaces {
                writer.delete_term(Term::from_field_text(self.fields.source, &doc.source));
            }
            writer.add_document(self.to_tantivy(doc, enc))?;
        }
        let manifest = Manifest {
            docs: next,
            stamp: stamp.to_string(),
            ..Manifest::fresh()
        };
        let manifest_json = serde_json::to_vec(&manifest)?;
        if let Some(dir) = &self.dir {
            // manifest first, then the commit whose payload vouches for it
            let path = dir.join(MANIFEST_FILE);
            std::fs::write(&path, &manifest_json)
                .with_context(|| format!("couldn't write `{}`", path.display()))?;
        }
        let mut prepared = writer
            .prepare_commit()
            .context("couldn't commit the search index")?;
        prepared.set_payload(&manifest_hash(&manifest_json));
        prepared
            .commit()
            .context("couldn't commit the search index")?;
        writer
            .wait_merging_threads()
            .context("search index merge failed")?;
        self.reader
            .reload()
            .context("couldn't reload the search index")?;
        self.manifest = manifest;
        self.rebuild = false;
        Ok(stats)
    }

    fn to_tantivy(&self, doc: &SearchDoc, encoded: &EncodedDoc) -> TantivyDocument {
        let mut d = TantivyDocument::default();
        for f in ScoredField::ALL {
            for v in f.values(doc) {
                d.add_text(self.fields.scored(f), v);
            }
        }
        for t in &doc.tags {
            d.add_text(self.fields.tag, t.to_lowercase());
        }
        d.add_text(self.fields.source, &doc.source);
        d.add_text(self.fields.doc, &encoded.json);
        d
    }
}

fn manifest_hash(json: &[u8]) -> String {
    format!("kb-manifest:{}", &blake3::hash(json).to_hex()[..32])
}

fn payload_matches(index: &Index, m: &Manifest) -> bool {
    let Ok(json) = serde_json::to_vec(m) else {
        return false;
    };
    index
        .load_metas()
        .ok()
        .and_then(|meta| meta.payload)
        .is_some_and(|p| p == manifest_hash(&json))
}

/// Remove a stale index's files (only ours: tantivy's files and the manifest).
fn wipe_dir(dir: &Path) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("couldn't read `{}`", dir.display()))?;
    let ours: HashSet<&str> = [
        "meta.json",
        ".managed.json",
        ".tantivy-meta.lock",
        ".tantivy-writer.lock",
        MANIFEST_FILE,
    ]
    .into();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_segment_file =
            name.len() > 32 && name.as_bytes()[..32].iter().all(u8::is_ascii_hexdigit);
        if ours.contains(name.as_str()) || is_segment_file {
            std::fs::remove_file(e.path()).with_context(|| {
                format!("couldn't remove stale index file `{}`", e.path().display())
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::rank::expansions;

    pub(crate) fn note(
        source: &str,
        title: &str,
        tags: &[&str],
        sections: &[(&str, &str, &str, &str)],
    ) -> SearchDoc {
        SearchDoc {
            url: format!("/{}/", source.trim_end_matches(".md")),
            title: title.into(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            date: None,
            source: source.into(),
            sections: crate::search::doc::sections(sections),
        }
    }

    /// An in-memory index of [`sample`].
    fn sample_index() -> SearchIndex {
        let mut idx = SearchIndex::in_memory().unwrap();
        idx.update(&sample(), "").unwrap();
        idx
    }

    fn sample() -> Vec<SearchDoc> {
        vec![
            note(
                "content/go/gc.md",
                "Go 垃圾回收：三色标记与写屏障",
                &["go", "gc"],
                &[
                    (
                        "",
                        "",
                        "常用垃圾回收方法：引用计数、标记清除、分代回收。",
                        "",
                    ),
                    (
                        "三色标记",
                        "三色标记",
                        "所有对象开始是白色，从 root 扫描可达对象标记为灰色。",
                        "",
                    ),
                    (
                        "gc-日志",
                        "GC 日志",
                        "设置环境变量打开 gc 日志，输出到标准错误。",
                        "GODEBUG=gctrace=1 go run gc.go",
                    ),
                ],
            ),
            note(
                "content/docker/shared-memory.md",
                "容器里的共享内存",
                &["docker", "ipc"],
                &[(
                    "",
                    "",
                    "System V 共享内存段在容器重启后丢失；shmget 返回 EINVAL。",
                    "ipcs -m",
                )],
            ),
            note(
                "content/linux/cadvisor.md",
                "cadvisor 读 memory.numa_stat 导致网络延迟",
                &["linux", "cgroup"],
                &[(
                    "",
                    "",
                    "大量 memory cgroup 时读取 numa_stat 很慢，软中断被延迟。",
                    "cat memory.numa_stat",
                )],
            ),
        ]
    }

    fn top(idx: &SearchIndex, q: &str) -> Vec<String> {
        idx.search(q, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.source)
            .collect()
    }

    #[test]
    fn chinese_word_inside_a_longer_run_is_found() {
        let idx = sample_index();
        assert_eq!(top(&idx, "垃圾回收"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "共享内存")[0], "content/docker/shared-memory.md");
    }

    #[test]
    fn identifiers_are_found_by_parts_and_whole() {
        let idx = sample_index();
        assert_eq!(top(&idx, "GODEBUG=gctrace=1"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "gctrace"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "memory.numa_stat"), ["content/linux/cadvisor.md"]);
        assert_eq!(top(&idx, "numa"), ["content/linux/cadvisor.md"]);
    }

    #[test]
    fn hit_links_to_the_matching_heading_with_a_highlighted_excerpt() {
        let idx = sample_index();
        let hit = &idx.search("三色标记", 1).unwrap()[0];
        assert_eq!(hit.url, "/content/go/gc/#三色标记");
        let hit = &idx.search("gctrace", 1).unwrap()[0];
        assert_eq!(hit.url, "/content/go/gc/#gc-日志");
        assert!(
            hit.excerpt_html.contains("<mark>gctrace</mark>"),
            "{}",
            hit.excerpt_html
        );
    }

    #[test]
    fn tag_filter_and_phrase() {
        let idx = sample_index();
        assert_eq!(top(&idx, "tag:docker"), ["content/docker/shared-memory.md"]);
        assert!(top(&idx, "tag:go 共享内存").is_empty());
        assert_eq!(top(&idx, "\"numa stat\""), ["content/linux/cadvisor.md"]);
        assert!(top(&idx, "\"stat numa\"").is_empty());
    }

    #[test]
    fn one_character_finds_it_anywhere_in_a_run() {
        // `享` and `灰` sit inside runs (`共享内存`, `标记为灰色`), where only bigrams are indexed
        let idx = sample_index();
        assert_eq!(top(&idx, "享"), ["content/docker/shared-memory.md"]);
        assert_eq!(top(&idx, "灰"), ["content/go/gc.md"]);
        // `迟` ends its run (`延迟`), `延` starts it
        assert_eq!(top(&idx, "延"), ["content/linux/cadvisor.md"]);
        assert_eq!(top(&idx, "迟"), ["content/linux/cadvisor.md"]);
        assert!(top(&idx, "鲸").is_empty());
        // highlighted where it is, not only at the end of a run
        let hit = &idx.search("灰", 1).unwrap()[0];
        assert!(
            hit.excerpt_html.contains("<mark>灰</mark>"),
            "{}",
            hit.excerpt_html
        );
    }

    #[test]
    fn a_phrase_ending_in_one_character_matches_it_inside_a_run() {
        let idx = sample_index();
        // `shmget 返` : `返回` follows `shmget` in the text
        assert_eq!(
            top(&idx, "\"shmget 返\""),
            ["content/docker/shared-memory.md"]
        );
        assert!(top(&idx, "\"shmget 回\"").is_empty());
    }

    #[test]
    fn typed_prefix_matches_longer_terms() {
        let idx = sample_index();
        assert_eq!(top(&idx, "gctr"), ["content/go/gc.md"]);
        assert_eq!(top(&idx, "cadv"), ["content/linux/cadvisor.md"]);
    }

    #[test]
    fn no_note_with_every_term_falls_back_to_any_term() {
        let idx = sample_index();
        assert_eq!(
            top(&idx, "shmget nonexistentword ")[0],
            "content/docker/shared-memory.md"
        );
    }

    #[test]
    fn update_reindexes_only_changed_notes_and_removes_deleted_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut docs = sample();
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        let s = idx.update(&docs, "a").unwrap();
        assert_eq!((s.added, s.rebuilt), (3, true));

        docs[1].sections[0].text = "改成了 POSIX shm_open".into();
        docs.remove(2);
        drop(idx);
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        let s = idx.update(&docs, "b").unwrap();
        assert_eq!(
            (s.added, s.updated, s.removed, s.unchanged, s.rebuilt),
            (0, 1, 1, 1, false)
        );
        assert_eq!(top(&idx, "shm_open"), ["content/docker/shared-memory.md"]);
        assert!(top(&idx, "shmget ").is_empty());
        assert!(top(&idx, "numa_stat").is_empty());
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.stamp(), "b");
    }

    #[test]
    fn a_prefix_never_expands_to_a_word_only_deleted_notes_had() {
        let mut idx = SearchIndex::in_memory().unwrap();
        // notes with and without the word alternate, so every segment (one per indexing
        // thread) keeps live notes when the ones with it are deleted
        let docs: Vec<SearchDoc> = (0..40)
            .map(|i| {
                let text = if i % 2 == 0 {
                    "dockerfile dockerfile"
                } else {
                    "dockerd"
                };
                note(
                    &format!("content/{i:02}.md"),
                    "N",
                    &[],
                    &[("", "", text, "")],
                )
            })
            .collect();
        idx.update(&docs, "a").unwrap();
        let kept: Vec<SearchDoc> = docs.into_iter().skip(1).step_by(2).collect();
        idx.update(&kept, "b").unwrap();
        let searcher = idx.reader.searcher();
        assert!(
            searcher.segment_readers().iter().any(|s| s.has_deletes()),
            "the deleted note is still in a segment"
        );
        let words = expansions(&searcher, &idx.fields.scored, "dock").unwrap();
        assert_eq!(words, ["dockerd"]);
    }

    #[test]
    fn a_manifest_that_does_not_match_the_commit_forces_a_rebuild() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        idx.update(&sample(), "a").unwrap();
        drop(idx);
        std::fs::write(
            dir.path().join(MANIFEST_FILE),
            b"{\"tokenizer\":1,\"schema\":1,\"stamp\":\"x\",\"docs\":{}}",
        )
        .unwrap();
        let mut idx = SearchIndex::open(dir.path()).unwrap();
        let s = idx.update(&sample(), "a").unwrap();
        assert!(s.rebuilt);
        assert_eq!(top(&idx, "垃圾回收"), ["content/go/gc.md"]);
    }
}
