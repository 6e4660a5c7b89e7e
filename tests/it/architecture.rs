//! The module structure's rules, checked on the source itself (docs/architecture.md states them):
//! no import cycle between source files nor between top-level modules, no file over 600 lines of
//! non-test code, and every file opens with a `//!` comment saying its one job.
//!
//! The import graph is read with syn: every `use` and every path starting with `crate::`,
//! `super::`, `self::` or a child module's name is an edge from the file to the file that defines
//! the item (re-exports are followed to their source, `#[macro_export]` macros to the file that
//! defines them). `#[cfg(test)]` items are left out: tests may reach across.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Longest file allowed, counting the lines above its `#[cfg(test)]` tests.
const MAX_CODE_LINES: usize = 600;

type ModPath = Vec<String>;

/// One parsed source file.
struct Source {
    /// Path relative to the crate root, e.g. `src/verify/plan.rs`.
    rel: String,
    module: ModPath,
    ast: syn::File,
    text: String,
}

/// What a file says about names others reach through it.
#[derive(Default)]
struct Exports {
    /// `pub use a::b::c as d;` → `d` ↦ absolute `a::b::c`.
    named: HashMap<String, ModPath>,
    /// `pub use a::b::*;` → absolute `a::b`.
    globs: Vec<ModPath>,
    /// Items defined in the file itself (fn, struct, enum, trait, type, const, static, macro).
    defined: BTreeSet<String>,
}

/// The import graph: edges between files with one path that made each edge.
struct Graph {
    files: Vec<String>,
    edges: BTreeMap<(usize, usize), String>,
}

fn load_sources(src: &Path) -> Vec<Source> {
    let mut sources = Vec::new();
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.expect("walk src");
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel_src = path.strip_prefix(src).unwrap();
        if rel_src == Path::new("main.rs") {
            continue; // the binary: only calls into the library
        }
        let text = std::fs::read_to_string(path).expect("read source");
        let ast = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("{}: does not parse: {e}", path.display()));
        sources.push(Source {
            rel: format!("src/{}", rel_src.display()),
            module: module_of(rel_src),
            ast,
            text,
        });
    }
    sources
}

/// `verify/plan.rs` → `[verify, plan]`; `verify/mod.rs` → `[verify]`; `lib.rs` → `[]`.
fn module_of(rel: &Path) -> ModPath {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

fn is_cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string().contains("test"))
    })
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

/// Flatten a use tree into (path, optional rename, is_glob).
fn flatten_use(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(ModPath, String, bool)>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            if name == "self" {
                out.push((
                    prefix.clone(),
                    prefix.last().cloned().unwrap_or_default(),
                    false,
                ));
            } else {
                let mut p = prefix.clone();
                p.push(name.clone());
                out.push((p, name, false));
            }
        }
        syn::UseTree::Rename(r) => {
            let mut p = prefix.clone();
            if r.ident != "self" {
                p.push(r.ident.to_string());
            }
            out.push((p, r.rename.to_string(), false));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), String::new(), true)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix, out);
            }
        }
    }
}

/// The child modules a file declares (`mod x;`), test modules left out.
fn child_modules(file: &syn::File) -> BTreeSet<String> {
    file.items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Mod(m) if !is_cfg_test(&m.attrs) => Some(m.ident.to_string()),
            _ => None,
        })
        .collect()
}

/// Make a path absolute (from the crate root) as seen from `module`; None for extern paths.
fn absolute(module: &ModPath, children: &BTreeSet<String>, path: &[String]) -> Option<ModPath> {
    let first = path.first()?;
    let mut base: ModPath = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => {
            let mut m = module.clone();
            m.pop()?;
            let mut rest = &path[1..];
            while rest.first().is_some_and(|s| s == "super") {
                m.pop()?;
                rest = &rest[1..];
            }
            m.extend(rest.iter().cloned());
            return Some(m);
        }
        name if children.contains(name) => {
            let mut m = module.clone();
            m.push(name.to_string());
            m.extend(path[1..].iter().cloned());
            return Some(m);
        }
        _ => return None,
    };
    base.extend(path[1..].iter().cloned());
    Some(base)
}

struct PathCollector<'a> {
    paths: &'a mut Vec<Vec<String>>,
}

impl<'ast> Visit<'ast> for PathCollector<'_> {
    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segs: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        if segs.len() > 1 || p.segments.first().is_some_and(|s| s.ident == "crate") {
            self.paths.push(segs);
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_item(&mut self, i: &'ast syn::Item) {
        if !is_cfg_test(item_attrs(i)) {
            syn::visit::visit_item(self, i);
        }
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_cfg_test(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    fn visit_item_use(&mut self, _: &'ast syn::ItemUse) {
        // Handled by flatten_use.
    }
}

fn build_graph(sources: &[Source]) -> Graph {
    let index: HashMap<ModPath, usize> = sources
        .iter()
        .enumerate()
        .map(|(i, s)| (s.module.clone(), i))
        .collect();
    let mut exports: Vec<Exports> = sources.iter().map(|_| Exports::default()).collect();
    let mut macros: HashMap<String, usize> = HashMap::new();
    let mut refs: Vec<Vec<ModPath>> = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        let children = child_modules(&s.ast);
        let mut file_refs = Vec::new();
        for item in &s.ast.items {
            if is_cfg_test(item_attrs(item)) {
                continue;
            }
            let defined = match item {
                syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
                syn::Item::Struct(x) => Some(x.ident.to_string()),
                syn::Item::Enum(x) => Some(x.ident.to_string()),
                syn::Item::Trait(x) => Some(x.ident.to_string()),
                syn::Item::Type(x) => Some(x.ident.to_string()),
                syn::Item::Const(x) => Some(x.ident.to_string()),
                syn::Item::Static(x) => Some(x.ident.to_string()),
                syn::Item::Macro(m) => {
                    let name = m.ident.as_ref().map(|n| n.to_string());
                    if let Some(n) = &name {
                        if m.attrs.iter().any(|a| a.path().is_ident("macro_export")) {
                            macros.insert(n.clone(), i);
                        }
                    }
                    name
                }
                _ => None,
            };
            if let Some(d) = defined {
                exports[i].defined.insert(d);
            }
            if let syn::Item::Use(u) = item {
                let mut flat = Vec::new();
                flatten_use(&u.tree, &mut Vec::new(), &mut flat);
                let public = !matches!(u.vis, syn::Visibility::Inherited);
                for (path, name, glob) in flat {
                    let Some(abs) = absolute(&s.module, &children, &path) else {
                        continue;
                    };
                    if public {
                        if glob {
                            exports[i].globs.push(abs.clone());
                        } else {
                            exports[i].named.insert(name, abs.clone());
                        }
                    }
                    file_refs.push(abs);
                }
            }
        }
        let mut paths = Vec::new();
        PathCollector { paths: &mut paths }.visit_file(&s.ast);
        for p in paths {
            if let Some(abs) = absolute(&s.module, &children, &p) {
                file_refs.push(abs);
            }
        }
        refs.push(file_refs);
    }

    let resolve = |path: &ModPath| -> Option<usize> {
        let mut path = path.clone();
        for _ in 0..8 {
            let (file, used) = (0..=path.len())
                .rev()
                .find_map(|n| index.get(&path[..n]).map(|&f| (f, n)))?;
            let Some(next) = path.get(used) else {
                return Some(file);
            };
            if file == index[&Vec::new()] && path.len() == used + 1 {
                if let Some(&m) = macros.get(next) {
                    return Some(m);
                }
            }
            let ex = &exports[file];
            if let Some(target) = ex.named.get(next) {
                let mut p = target.clone();
                p.extend(path[used + 1..].iter().cloned());
                path = p;
                continue;
            }
            if !ex.defined.contains(next) && ex.globs.len() == 1 {
                let mut p = ex.globs[0].clone();
                p.extend(path[used..].iter().cloned());
                path = p;
                continue;
            }
            return Some(file);
        }
        None
    };

    let mut edges = BTreeMap::new();
    for (i, file_refs) in refs.iter().enumerate() {
        for r in file_refs {
            if let Some(j) = resolve(r) {
                if j != i {
                    edges.entry((i, j)).or_insert_with(|| r.join("::"));
                }
            }
        }
    }
    Graph {
        files: sources.iter().map(|s| s.rel.clone()).collect(),
        edges,
    }
}

/// Strongly connected components with more than one member (Tarjan).
fn cycles(n: usize, edges: &BTreeSet<(usize, usize)>) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); n];
    for &(a, b) in edges {
        adj[a].push(b);
    }
    struct State {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(v: usize, adj: &[Vec<usize>], st: &mut State) {
        st.index[v] = Some(st.next);
        st.low[v] = st.next;
        st.next += 1;
        st.stack.push(v);
        st.on_stack[v] = true;
        for &w in &adj[v] {
            match st.index[w] {
                None => {
                    visit(w, adj, st);
                    st.low[v] = st.low[v].min(st.low[w]);
                }
                Some(iw) if st.on_stack[w] => st.low[v] = st.low[v].min(iw),
                _ => {}
            }
        }
        if Some(st.low[v]) == st.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = st.stack.pop().unwrap();
                st.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                st.out.push(comp);
            }
        }
    }
    let mut st = State {
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if st.index[v].is_none() {
            visit(v, &adj, &mut st);
        }
    }
    st.out
}

/// Every cycle, as text naming the files and a path that makes each edge.
fn cycle_report(src: &Path) -> Vec<String> {
    let sources = load_sources(src);
    let graph = build_graph(&sources);
    let mut problems = Vec::new();

    let file_edges: BTreeSet<(usize, usize)> = graph.edges.keys().copied().collect();
    for comp in cycles(graph.files.len(), &file_edges) {
        let mut msg = format!("files in an import cycle ({}):", comp.len());
        for (&(a, b), via) in &graph.edges {
            if comp.contains(&a) && comp.contains(&b) {
                msg += &format!("\n  {} -> {} (via {via})", graph.files[a], graph.files[b]);
            }
        }
        problems.push(msg);
    }

    // Top-level modules: `verify/*` files are `verify`; lib.rs is left out (it only declares).
    let top: Vec<Option<String>> = sources.iter().map(|s| s.module.first().cloned()).collect();
    let names: Vec<String> = top
        .iter()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let id = |n: &String| names.iter().position(|x| x == n).unwrap();
    let mut mod_edges = BTreeSet::new();
    let mut why: BTreeMap<(usize, usize), String> = BTreeMap::new();
    for (&(a, b), via) in &graph.edges {
        if let (Some(ta), Some(tb)) = (&top[a], &top[b]) {
            if ta != tb {
                mod_edges.insert((id(ta), id(tb)));
                why.entry((id(ta), id(tb)))
                    .or_insert_with(|| format!("{} uses {via}", graph.files[a]));
            }
        }
    }
    for comp in cycles(names.len(), &mod_edges) {
        let mut msg = format!(
            "top-level modules in an import cycle: {}",
            comp.iter()
                .map(|&i| names[i].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (&(a, b), w) in &why {
            if comp.contains(&a) && comp.contains(&b) {
                msg += &format!("\n  {} -> {}: {w}", names[a], names[b]);
            }
        }
        problems.push(msg);
    }
    problems
}

/// Lines above the file's first `#[cfg(test)]` at the start of a line.
fn code_lines(text: &str) -> usize {
    text.lines()
        .take_while(|l| !l.starts_with("#[cfg(test)]"))
        .count()
}

fn src_dir() -> PathBuf {
    crate::support::repo_root().join("src")
}

#[test]
fn no_import_cycles_between_files_or_modules() {
    let problems = cycle_report(&src_dir());
    assert!(
        problems.is_empty(),
        "{} import cycle(s); move the shared item into a file both can use:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn every_file_has_one_job_and_fits_on_a_few_screens() {
    let mut problems = Vec::new();
    for s in load_sources(&src_dir()) {
        let n = code_lines(&s.text);
        if n > MAX_CODE_LINES {
            problems.push(format!(
                "{}: {n} lines of non-test code (at most {MAX_CODE_LINES}): split it by responsibility",
                s.rel
            ));
        }
        if !s.text.trim_start().starts_with("//!") {
            problems.push(format!(
                "{}: no opening `//!` comment saying what the file does",
                s.rel
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checker itself finds a cycle through a re-export and a `super::` path, and none in a
/// tree that only goes one way.
#[test]
fn the_cycle_check_finds_a_cycle_through_reexports() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    let write = |p: &str, t: &str| {
        let path = src.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, t).unwrap();
    };
    write("lib.rs", "//! l\npub mod a;\npub mod b;\n");
    write("a/mod.rs", "//! a\nmod inner;\npub use inner::Thing;\n");
    write("a/inner.rs", "//! i\npub struct Thing(crate::b::Other);\n");
    write(
        "b.rs",
        "//! b\npub struct Other;\npub fn f() -> crate::a::Thing { todo!() }\n",
    );
    let problems = cycle_report(src);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("src/a/inner.rs -> src/b.rs"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].contains("src/b.rs -> src/a/inner.rs"),
        "{}",
        problems[0]
    );
    assert!(problems[1].contains("a, b"), "{}", problems[1]);

    // One way only: b no longer names a.
    write("b.rs", "//! b\npub struct Other;\n");
    assert_eq!(cycle_report(src), Vec::<String>::new());

    // A child using its parent's own item while the parent uses the child is a cycle too.
    write(
        "b.rs",
        "//! b\nmod c;\npub struct Other;\npub fn g() { c::h() }\n",
    );
    write("b/c.rs", "//! c\npub fn h() { let _ = super::Other; }\n");
    let problems = cycle_report(src);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("src/b/c.rs -> src/b.rs"),
        "{}",
        problems[0]
    );
}
