//! RON stays RON: our own reader keeps locations and enum variant names, but every shipped
//! model and experiment must also be what the `ron` crate (and so users' editors and tools)
//! reads as RON.

use std::path::{Path, PathBuf};

fn ron_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            ron_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "ron") {
            out.push(p);
        }
    }
}

#[test]
fn every_shipped_file_parses_with_the_ron_crate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["experiments", "models", "benches"] {
        ron_files(&root.join(dir), &mut files);
    }
    assert!(files.len() >= 30, "{} files", files.len());
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if let Err(e) = ron::from_str::<ron::Value>(&text) {
            panic!("{} is not RON to the ron crate: {e}", f.display());
        }
    }
}
