//! The layering of the library, written down once: a module may use only the modules below
//! it. A new import that goes upward, or a cycle between actor files, fails here.
//!
//! ```text
//! pipeline ─▶ plan ─▶ check, report ─▶ analysis ─▶ experiment ─▶ model ─▶ components ─▶ metrics ─▶ engine
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules it may use (besides itself).
const LAYERS: &[(&str, &[&str])] = &[
    ("engine", &[]),
    ("theory", &[]),
    ("files", &[]),
    // The list of node kinds, a macro the schema and the network expand.
    ("kinds", &[]),
    ("metrics", &["engine"]),
    ("components", &["engine", "metrics", "kinds"]),
    (
        "model",
        &["components", "engine", "metrics", "kinds", "files"],
    ),
    (
        "experiment",
        &["model", "components", "engine", "metrics", "files"],
    ),
    (
        "analysis",
        &[
            "experiment",
            "model",
            "components",
            "engine",
            "metrics",
            "theory",
        ],
    ),
    ("check", &["analysis", "experiment", "model", "metrics"]),
    (
        "report",
        &[
            "analysis",
            "experiment",
            "model",
            "components",
            "metrics",
            "files",
        ],
    ),
    (
        "plan",
        &[
            "check",
            "report",
            "analysis",
            "experiment",
            "model",
            "components",
            "engine",
            "metrics",
            "files",
        ],
    ),
    (
        "pipeline",
        &[
            "plan",
            "check",
            "report",
            "analysis",
            "experiment",
            "model",
            "files",
        ],
    ),
];

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

/// The top-level module a source file belongs to (`src/report/plots.rs` → `report`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel
        .components()
        .next()?
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    let name = first.trim_end_matches(".rs").to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The names following `prefix` in `text`: `crate::x`, and each `x` of `crate::{x, y::z}`.
fn used_after(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in text.match_indices(prefix) {
        let rest = &text[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of a group: split at commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            let end = group
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(j, _)| j);
            let body = &group[..end];
            let mut depth = 0;
            for (j, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(body[start..j].trim()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            out.insert(ident(body[start..].trim()));
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|n| !n.is_empty() && n != "self");
    out
}

/// Code without comments (a comment may mention `crate::x` in prose).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut seen_modules = BTreeSet::new();
    let mut wrong = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        seen_modules.insert(module.clone());
        let Some(ok) = allowed.get(module.as_str()) else {
            wrong.push(format!("{module} ({}) has no entry in LAYERS", f.display()));
            continue;
        };
        let text = code(&std::fs::read_to_string(f).unwrap());
        for used in used_after(&text, "crate::") {
            if used != module && !ok.contains(&used.as_str()) {
                wrong.push(format!(
                    "{} uses `crate::{used}`: {module} may use {ok:?}",
                    f.display()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layering:\n{}",
        wrong.join("\n")
    );
    // Every layer written down is a module, so the table cannot rot.
    for (m, _) in LAYERS {
        assert!(
            seen_modules.contains(*m),
            "LAYERS names `{m}`, which is not a module"
        );
    }
}

#[test]
fn actor_files_do_not_import_each_other_in_a_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/components");
    let mut files = Vec::new();
    rust_files(&dir, &mut files);
    // An actor is a file of `components/`, or a folder of them (`service/`: its files are
    // its parts); `mod.rs` at the top is the hub that wires them and is left out.
    let actor_of = |p: &Path| -> String {
        let rel = p.strip_prefix(&dir).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_string()
    };
    let actors: BTreeSet<String> = files
        .iter()
        .map(|p| actor_of(p))
        .filter(|n| n != "mod")
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let from = actor_of(f);
        if from == "mod" {
            continue;
        }
        let text = code(&std::fs::read_to_string(f).unwrap());
        // How a file names its siblings in `components/`: `super::` from a top-level file
        // or a folder's `mod.rs`, `super::super::` from a part inside a folder.
        let nested = f.parent() != Some(dir.as_path()) && f.file_name().unwrap() != "mod.rs";
        let prefix = if nested { "super::super::" } else { "super::" };
        let mut to: BTreeSet<String> = used_after(&text, prefix);
        to.extend(used_after(&text, "crate::components::"));
        to.retain(|t| actors.contains(t) && *t != from);
        edges.entry(from).or_default().extend(to);
    }
    // Depth-first search for a back edge.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n.to_string());
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, edges, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        if let Some(cycle) = visit(n, &edges, &mut Vec::new(), &mut done) {
            panic!(
                "actor files import each other in a cycle: {}",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_scanner_reads_groups_and_paths() {
    let text = "use crate::{alpha, beta::{x, y}, gamma::z};\nlet q = crate::delta::f();";
    let got = used_after(text, "crate::");
    let want: BTreeSet<String> = ["alpha", "beta", "gamma", "delta"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    assert_eq!(code("a // crate::x"), "a ");
}

/// A node kind is registered once, in `src/kinds.rs`: no other file lists every kind (as an
/// exhaustive `match` or a hand-written enum would), so adding a kind needs no arm elsewhere.
#[test]
fn node_kinds_are_listed_only_in_kinds_rs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let kinds_rs = std::fs::read_to_string(root.join("src/kinds.rs")).unwrap();
    let kinds: Vec<String> = kinds_rs
        .lines()
        .filter_map(|l| l.trim().split_once(" => ")?.0.split_once(": ").map(|x| x.0))
        .filter(|k| k.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(String::from)
        .collect();
    assert!(kinds.len() >= 6, "kinds read from src/kinds.rs: {kinds:?}");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut listing = Vec::new();
    for f in files {
        let text = code(&std::fs::read_to_string(&f).unwrap());
        let names_all = |prefix: &str| {
            kinds
                .iter()
                .all(|k| text.contains(&format!("{prefix}::{k}(")))
        };
        if ["Node", "Actor", "ActorConfig"]
            .iter()
            .any(|p| names_all(p))
        {
            listing.push(f.display().to_string());
        }
    }
    assert!(
        listing.is_empty(),
        "these files list every node kind; expand `kinds::node_kinds!` instead: {listing:?}"
    );
}
