//! The layers the workspace promises (docs/architecture.md), held by the manifests, the
//! lock file and the sources themselves:
//! - the protocol crate (`antelope`) and the pure core (`failover-core`) reach no tokio,
//!   reqwest or hyper, not even transitively (Cargo.lock);
//! - each crate depends only on the crates below it;
//! - within each crate, the top-level modules import each other without a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `package -> its dependencies`, from Cargo.lock (normal, build and dev alike).
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let lock: toml::Value = toml::from_str(&text).unwrap();
    let mut graph = BTreeMap::new();
    for p in lock["package"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap().to_string();
        let deps: Vec<String> = p
            .get("dependencies")
            .and_then(|d| d.as_array())
            .map(|d| {
                d.iter()
                    // "name", or "name version" when the lock holds several versions.
                    .map(|s| s.as_str().unwrap().split(' ').next().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default();
        graph.entry(name).or_insert_with(Vec::new).extend(deps);
    }
    graph
}

fn closure(graph: &BTreeMap<String, Vec<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(p) = todo.pop() {
        if seen.insert(p.clone()) {
            todo.extend(graph.get(&p).cloned().unwrap_or_default());
        }
    }
    seen
}

/// The workspace crates a package's manifest names in `[dependencies]`.
fn workspace_deps(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let m: toml::Value = toml::from_str(&text).unwrap();
    let ours = ["antelope", "failover-core", "antelope-sim", "bp-failover"];
    m.get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| {
            t.keys()
                .filter(|k| ours.contains(&k.as_str()))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn the_protocol_crate_and_the_core_reach_no_async_runtime_or_http() {
    let graph = lock_graph();
    for krate in ["antelope", "failover-core"] {
        assert!(graph.contains_key(krate), "{krate} is not in Cargo.lock");
        let reach = closure(&graph, krate);
        for banned in ["tokio", "reqwest", "hyper", "hyper-util", "mio"] {
            assert!(
                !reach.contains(banned),
                "{krate} reaches {banned} (through Cargo.lock): the layer must stay free of I/O"
            );
        }
    }
}

#[test]
fn each_crate_depends_only_on_the_crates_below_it() {
    let r = root();
    let expect: [(&str, PathBuf, &[&str]); 4] = [
        ("antelope", r.join("crates/antelope/Cargo.toml"), &[]),
        (
            "failover-core",
            r.join("crates/core/Cargo.toml"),
            &["antelope"],
        ),
        (
            "antelope-sim",
            r.join("crates/sim/Cargo.toml"),
            &["antelope", "failover-core"],
        ),
        (
            "bp-failover",
            r.join("Cargo.toml"),
            &["antelope", "failover-core", "antelope-sim"],
        ),
    ];
    for (name, manifest, allowed) in expect {
        let deps = workspace_deps(&manifest);
        let allowed: BTreeSet<String> = allowed.iter().map(|s| s.to_string()).collect();
        assert!(
            deps.is_subset(&allowed),
            "{name} depends on {deps:?}; allowed: {allowed:?}"
        );
    }
}

/// The top-level module a source file belongs to (`src/daemon/act.rs` -> `daemon`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `module -> modules it names as crate::X` (non-test code only: tests may reach across).
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| module_of(src, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = module_of(src, f) else {
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let to: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if to != from && modules.contains(&to) {
                graph.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let at = path.iter().position(|p| p == n).unwrap_or(0);
                let mut cycle = path[at..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_import_cycle_between_the_modules_of_any_crate() {
    let r = root();
    for src in [
        r.join("src"),
        r.join("crates/antelope/src"),
        r.join("crates/core/src"),
        r.join("crates/sim/src"),
    ] {
        let graph = module_graph(&src);
        assert!(
            !graph.is_empty() || src.ends_with("antelope/src"),
            "{src:?}"
        );
        if let Some(cycle) = find_cycle(&graph) {
            panic!("import cycle in {}: {}", src.display(), cycle.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g).unwrap(),
        ["a", "b", "c", "a"].map(String::from).to_vec()
    );
}

#[test]
fn cargo_run_at_the_root_runs_the_operators_binary() {
    // The README's first command is `cargo run --release -- drill`. The lab's binary is in
    // `default-members` too, so without the root's `default-run` cargo refuses to choose.
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let m: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(
        m["package"].get("default-run").and_then(|v| v.as_str()),
        Some("bp-failover"),
        "set default-run = \"bp-failover\" in the root [package]"
    );
}
