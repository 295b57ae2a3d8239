//! A result folder is written whole or not at all: a run killed at any moment (while
//! simulating, while writing plots, while swapping the folder in), then resumed, leaves the
//! same bytes as a run never interrupted; a run into a folder of another experiment leaves
//! none of its files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A short sweep (with the settings in `run_into`): about a tenth of a second, most of it
/// spent on plots and the report.
const EXP: &str = "experiments/textbook/speedup.ron";
const SHORT: [&str; 4] = ["--set", "duration=20s", "--replications", "2"];

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("kill")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.parent().unwrap()).unwrap();
    d
}

fn scalesim(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scalesim"));
    c.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    c
}

/// Every file under `dir` (relative path → bytes), and every entry beside it.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Which files differ between two trees, by name (not their bytes: they are long).
fn differ(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|n| a.get(*n) != b.get(*n))
        .cloned()
        .collect()
}

/// The folder and whatever of its staging or old copies is beside it.
fn siblings(d: &Path) -> Vec<String> {
    let name = d.file_name().unwrap().to_string_lossy().into_owned();
    let mine = [
        name.clone(),
        format!(".{name}.staging"),
        format!(".{name}.old"),
    ];
    let mut v: Vec<String> = std::fs::read_dir(d.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| mine.contains(n))
        .collect();
    v.sort();
    v
}

fn run_into(out: &Path, extra: &[&str]) -> std::process::Output {
    let o = out.display().to_string();
    let mut args = vec!["run", EXP, "--quiet", "--threads", "2", "--out", &o];
    args.extend_from_slice(&SHORT);
    args.extend_from_slice(extra);
    scalesim(&args).output().unwrap()
}

#[test]
fn a_killed_run_resumed_gives_the_same_bytes() {
    let whole = dir("whole");
    let t0 = Instant::now();
    assert!(run_into(&whole, &[]).status.success());
    let took = t0.elapsed();
    let want = tree(&whole);
    assert!(
        want.keys().any(|k| k.starts_with("plots/")),
        "plots are written"
    );
    // Kill at moments spread over the run's length (and past it), resume, compare.
    for i in 0..16u32 {
        let d = dir(&format!("killed-{i}"));
        let o = d.display().to_string();
        let mut args = vec!["run", EXP, "--quiet", "--threads", "2", "--out", &o];
        args.extend_from_slice(&SHORT);
        let mut child = scalesim(&args).spawn().unwrap();
        std::thread::sleep(took.mul_f64(i as f64 / 12.0) + Duration::from_millis(i as u64));
        let _ = child.kill();
        child.wait().unwrap();
        let out = run_into(&d, &["--resume"]);
        assert!(out.status.success(), "kill {i}: {out:?}");
        let diff = differ(&tree(&d), &want);
        assert!(
            diff.is_empty(),
            "kill {i}: the resumed folder differs in {diff:?}"
        );
        assert_eq!(
            siblings(&d),
            vec![format!("killed-{i}")],
            "kill {i}: leftovers"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}

#[test]
fn a_run_into_another_experiments_folder_leaves_none_of_its_files() {
    let d = dir("reused");
    let o = d.display().to_string();
    // A sweep writes sweep plots the next experiment does not.
    assert!(run_into(&d, &[]).status.success());
    let before = tree(&d);
    let out = scalesim(&[
        "run",
        "experiments/textbook/md1.ron",
        "--quiet",
        "--out",
        &o,
    ])
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let fresh = dir("fresh");
    let f = fresh.display().to_string();
    let out = scalesim(&[
        "run",
        "experiments/textbook/md1.ron",
        "--quiet",
        "--out",
        &f,
    ])
    .output()
    .unwrap();
    assert!(out.status.success());
    let after = tree(&d);
    let diff = differ(&after, &tree(&fresh));
    assert!(diff.is_empty(), "not what a fresh folder holds: {diff:?}");
    assert!(before.keys().any(|k| !after.contains_key(k)));
}

#[test]
fn a_folder_of_other_files_is_not_replaced() {
    let d = dir("mine");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("notes.txt"), "keep me").unwrap();
    let out = run_into(&d, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`notes.txt`") && err.contains("--out"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("notes.txt")).unwrap(),
        "keep me"
    );
    assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
}

#[test]
fn a_redraw_removes_what_a_killed_one_left() {
    let d = dir("redraw");
    assert!(run_into(&d, &[]).status.success());
    let want = tree(&d);
    std::fs::write(d.join("plots/.sweep.svg.4242.tmp"), "half a plot").unwrap();
    let o = d.display().to_string();
    assert!(scalesim(&["plot", &o]).output().unwrap().status.success());
    let diff = differ(&tree(&d), &want);
    assert!(diff.is_empty(), "{diff:?}");
}
