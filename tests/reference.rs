//! `docs/reference.md`, the RON reference, is generated from the doc comments of the file
//! schema (`src/model/spec/`, the node kinds' modules in `src/model/nodes/`, and the list of
//! kinds in `src/kinds.rs`): this test renders it and fails when the committed file is
//! stale. Regenerate it with
//!
//! ```sh
//! SCALESIM_BLESS=1 cargo test --release --test reference
//! ```
//!
//! Every `ron` example in it must also be RON to the `ron` crate.

use std::path::Path;

/// The schema's files besides the node kinds': the model and distributions, the experiment.
const SCHEMA: [&str; 2] = ["src/model/spec/mod.rs", "src/model/spec/experiment.rs"];

/// Shared parts of the schema, each after the node kind that introduced them: calls after
/// clients, a service's policies after services.
const PARTS: [(&str, &str); 2] = [
    ("client", "src/model/spec/calls.rs"),
    ("service", "src/model/spec/policies.rs"),
];

/// The node kinds of `src/kinds.rs`, in its order: (doc lines, kind, schema module, schema
/// type), from lines `/// doc` and `Kind: module::TypeSpec => actor_module::Actor,`.
fn kinds(root: &Path) -> Vec<(Vec<String>, String, String, String)> {
    let text = std::fs::read_to_string(root.join("src/kinds.rs")).unwrap();
    let mut out = Vec::new();
    let mut doc = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.trim().to_string());
            continue;
        }
        let entry = line.split_once(" => ").and_then(|(schema, _)| {
            let (kind, path) = schema.split_once(": ")?;
            let (module, ty) = path.split_once("::")?;
            Some((kind.to_string(), module.to_string(), ty.to_string()))
        });
        match entry {
            Some((kind, module, ty)) if !line.starts_with("//") => {
                out.push((std::mem::take(&mut doc), kind, module, ty))
            }
            _ => doc.clear(),
        }
    }
    assert!(!out.is_empty(), "no node kinds found in src/kinds.rs");
    out
}

/// A file's code, without its tests.
fn code_of(root: &Path, file: &str) -> String {
    let text = std::fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    text.split("#[cfg(test)]").next().unwrap_or("").to_string() + "\n"
}

/// The schema's text in the reference's order: the model, its `Node` enum (written out from
/// `src/kinds.rs`, where the macro that defines it reads), the experiment, then each node
/// kind's module followed by the shared parts it introduced.
fn schema(root: &Path) -> String {
    let kinds = kinds(root);
    let mut node = String::from("\n/// A node of the model, by kind.\npub enum Node {\n");
    for (doc, kind, _, ty) in &kinds {
        for d in doc {
            node.push_str(&format!("    /// {d}\n"));
        }
        node.push_str(&format!("    {kind}({ty}),\n"));
    }
    node.push_str("}\n");
    // Right after the model, whose `nodes` it describes.
    let model = code_of(root, SCHEMA[0]);
    let at = model
        .find("pub struct Model")
        .and_then(|i| model[i..].find("\n}\n").map(|j| i + j + 3))
        .expect("src/model/spec/mod.rs defines `pub struct Model`");
    let mut all = format!("{}{node}{}", &model[..at], &model[at..]);
    let mut files = vec![SCHEMA[0].to_string()];
    for f in &SCHEMA[1..] {
        all.push_str(&code_of(root, f));
        files.push(f.to_string());
    }
    for (_, _, module, _) in &kinds {
        let f = format!("src/model/nodes/{module}.rs");
        all.push_str(&code_of(root, &f));
        files.push(f);
        for (after, part) in PARTS {
            if after == module {
                all.push_str(&code_of(root, part));
                files.push(part.to_string());
            }
        }
    }
    // Every file of the schema is read.
    for dir in ["src/model/spec", "src/model/nodes"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            let f = format!("{dir}/{name}");
            if name != "mod.rs" || dir == "src/model/spec" {
                assert!(files.contains(&f), "{f} is not read into the reference");
            }
        }
    }
    all
}

/// A documented item: its doc lines, and the code line that follows them.
struct Item {
    doc: Vec<String>,
    code: String,
    indent: usize,
    optional: bool,
}

/// The schema's items in file order, up to its tests.
fn items(text: &str) -> Vec<Item> {
    let mut out = Vec::new();
    let mut doc = Vec::new();
    let mut optional = false;
    for line in text.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let t = line.trim();
        if let Some(d) = t.strip_prefix("///") {
            doc.push(d.trim().to_string());
        } else if t.starts_with("#[") {
            optional |= t.contains("serde(default") || t.starts_with("#[default]");
        } else if t.starts_with("//") || t.is_empty() {
            if t.is_empty() {
                doc.clear();
                optional = false;
            }
        } else {
            if !doc.is_empty() {
                out.push(Item {
                    doc: std::mem::take(&mut doc),
                    code: t.to_string(),
                    indent: line.len() - line.trim_start().len(),
                    optional,
                });
            }
            doc.clear();
            optional = false;
        }
    }
    out
}

/// A type as users write it: `Spec` suffixes dropped, `Option<T>` as T.
fn user_type(t: &str) -> String {
    let t = t.trim().trim_end_matches(',').trim();
    let t = t
        .strip_prefix("Option<")
        .and_then(|x| x.strip_suffix('>'))
        .unwrap_or(t);
    t.replace("Spec", "")
        .replace("std::collections::BTreeMap<", "map of ")
        .replace("BTreeMap<", "map of ")
        .replace(", ", " to ")
        .replace("Vec<", "list of ")
        .replace("Box<", "")
        .replace('>', "")
        .replace("Duration", "duration")
        .replace("String", "string")
}

/// A field's line: `name: Type,` as its name, type, whether it may be left out, and its doc.
fn field(code: &str, optional: bool, doc: &str) -> String {
    let (name, ty) = code.split_once(':').unwrap_or((code, ""));
    let name = name.trim_start_matches("r#");
    let opt = if optional || ty.contains("Option<") {
        ", optional"
    } else {
        ""
    };
    format!("- `{name}` ({}{opt}): {doc}", user_type(ty))
}

fn render(spec: &str, example: &str) -> String {
    let mut md = String::from(
        "# RON reference\n\n\
         Generated from the doc comments of `src/model/spec/`, `src/model/nodes/` and `src/kinds.rs` by `tests/reference.rs`; do not \
         edit by hand. Durations are strings with a unit (`\"250ms\"`, `\"1.5s\"`, `\"1m30s\"`). \
         Fields marked optional may be left out; their defaults are given in parentheses.\n\n\
         A complete experiment (`experiments/quickstart.ron`):\n\n```ron\n",
    );
    md.push_str(example.trim_end());
    md.push_str(
        "\n```\n\nAn experiment's `plan:` block (`Plan(...)` or `Tipping(...)`) is described in \
         the README, under \"Answers\".\n",
    );
    let mut header: Option<String> = None;
    for item in items(spec) {
        let doc = item.doc.join(" ");
        let code = &item.code;
        if code.starts_with("pub fn ") || code.starts_with("fn ") {
            continue; // a method, not part of the file format
        }
        if item.indent == 0 {
            let kind = if code.contains("pub struct ") {
                "pub struct "
            } else if code.contains("pub enum ") {
                "pub enum "
            } else {
                continue; // a function or an impl
            };
            let name = code[code.find(kind).unwrap() + kind.len()..]
                .split([' ', '{', '(', '<'])
                .next()
                .unwrap_or("")
                .replace("Spec", "");
            // The experiment's own fields are its settings.
            let name = if name == "Settings" {
                "Experiment".to_string()
            } else {
                name
            };
            let what = if kind.contains("enum") {
                "One of"
            } else {
                "Fields"
            };
            md.push_str(&format!("\n## {name}\n\n{doc}\n"));
            header = Some(format!("\n{what}:\n\n"));
            continue;
        }
        if let Some(h) = header.take() {
            md.push_str(&h);
        }
        let depth = if item.indent <= 4 { 0 } else { 1 };
        let pad = "  ".repeat(depth);
        let line = if let Some(rest) = code.strip_prefix("pub ") {
            field(rest, item.optional, &doc) // a field: `pub name: Type,`
        } else if code.starts_with(|c: char| c.is_ascii_uppercase()) {
            // A variant: `Name`, `Name(T)` or `Name {`.
            let name: String = code.chars().take_while(|c| c.is_alphanumeric()).collect();
            let inner = code[name.len()..].trim();
            let shape = if let Some(t) = inner.strip_prefix('(') {
                format!("`{name}({})`", user_type(t.trim_end_matches([',', ')'])))
            } else if inner.starts_with('{') {
                format!("`{name}(...)`")
            } else {
                format!("`{name}`")
            };
            format!("- {shape}: {doc}")
        } else {
            field(code, item.optional, &doc) // a variant's field: `name: Type,`
        };
        md.push_str(&format!("{pad}{line}\n"));
    }
    md.push_str(&bounds());
    md
}

/// The bounds on sizes and counts, from `src/model/bounds.rs`.
fn bounds() -> String {
    let mut md = String::from(
        "\n## Bounds\n\nSizes and counts over these are refused at validation, with their \
         location (`src/model/bounds.rs`):\n\n| what | at most | why |\n|---|---|---|\n",
    );
    for b in scalesim::model::bounds::ALL {
        md.push_str(&format!("| {} | {} | {} |\n", b.what, b.max, b.why));
    }
    md
}

#[test]
fn the_reference_is_generated_from_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = schema(root);
    let example = std::fs::read_to_string(root.join("experiments/quickstart.ron")).unwrap();
    let want = render(&spec, &example);
    let path = root.join("docs/reference.md");
    if std::env::var_os("SCALESIM_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/reference.md is stale: run `SCALESIM_BLESS=1 cargo test --release --test reference`"
    );
}

#[test]
fn every_ron_example_in_the_reference_is_ron() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("docs/reference.md")).unwrap();
    let mut blocks = 0;
    for block in text.split("```ron\n").skip(1) {
        let code = block.split("\n```").next().unwrap();
        if let Err(e) = ron::from_str::<ron::Value>(code) {
            panic!("an example in docs/reference.md is not RON: {e}\n{code}");
        }
        blocks += 1;
    }
    assert!(blocks >= 1);
}

#[test]
fn every_schema_type_and_field_is_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let spec = schema(root);
    let mut undocumented = Vec::new();
    let mut prev_doc = false;
    for line in spec.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let t = line.trim();
        if t.starts_with("///") {
            prev_doc = true;
            continue;
        }
        if t.starts_with("#[") || (t.starts_with("//") && !t.starts_with("///")) {
            continue;
        }
        let is_type = line.starts_with("pub struct ") || line.starts_with("pub enum ");
        let is_field = line.starts_with("    pub ") && t.contains(':') && !t.contains("fn ");
        if (is_type || is_field) && !prev_doc {
            undocumented.push(t.to_string());
        }
        prev_doc = false;
    }
    assert!(undocumented.is_empty(), "undocumented: {undocumented:#?}");
}

/// The README's policy table names every policy of these reference sections (the variants
/// of the enums, or the section's type itself), so a new policy cannot ship without saying
/// which real system it follows and its defaults.
#[test]
fn the_readme_says_which_real_system_each_policy_follows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let start = readme
        .find("### Policy reference")
        .expect("README has a policy reference");
    let table = &readme[start..];
    let table = &table[..table[4..].find("\n### ").map_or(table.len(), |e| e + 4)];
    let reference = std::fs::read_to_string(root.join("docs/reference.md")).unwrap();
    let section = |name: &str| -> String {
        let head = format!("\n## {name}\n");
        let at = reference
            .find(&head)
            .unwrap_or_else(|| panic!("no section {name}"));
        let rest = &reference[at + head.len()..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
    };
    let mut missing = Vec::new();
    let enums = [
        "Algorithm",
        "Limiter",
        "ConcurrencyLimit",
        "ScalingPolicy",
        "Degrade",
        "WhenFull",
        "Order",
        "DeployStrategy",
        "Eviction",
        "Writes",
        "Jitter",
    ];
    for name in enums {
        for line in section(name).lines() {
            let Some(rest) = line.strip_prefix("- `") else {
                continue;
            };
            let variant: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
            if variant == "None" {
                continue; // no jitter: nothing to follow
            }
            if !table.contains(&format!("`{variant}`")) {
                missing.push(format!("{name}::{variant}"));
            }
        }
    }
    let types = [
        "HealthCheck",
        "Outlier",
        "Retry",
        "Budget",
        "Quota",
        "Hedge",
        "Breaker",
        "Pool",
        "CoDel",
        "Function",
        "Cache",
        "Database",
        "Queue",
        "Pooler",
        "Connections",
        "Topic",
        "Router",
        "Dns",
        "Network",
    ];
    for name in types {
        let _ = section(name);
        if !table.contains(&format!("`{name}`")) {
            missing.push(name.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "README's policy table lacks {missing:?}"
    );
}
