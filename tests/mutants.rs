//! Mutants of the shipped experiments: numbers pushed to extremes, text cut, lines doubled or
//! swapped, stray tokens and bytes. Whatever the file says, `scalesim` answers with exit 0,
//! 1 or 2, never a panic, an abort, a signal or a hang, and leaves no result folder for bad
//! input.
//!
//! CI runs a few dozen cases (about half a minute). A longer search:
//! `MUTANTS=25000 MUTANTS_SEED=6 cargo test --release --test mutants -- --nocapture` (about
//! ten minutes on 2 cores).

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Every shipped experiment, as (path relative to the repository, text).
fn shipped() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in ["experiments", "experiments/textbook"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "ron"))
            .collect();
        names.sort();
        for p in names {
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
    out
}

const NUMBERS: [&str; 14] = [
    "0",
    "-1",
    "1",
    "4000000000",
    "18446744073709551616",
    "99999999999999999999",
    "1e308",
    "-1e-300",
    "1e-300",
    "NaN",
    "inf",
    "0.0",
    "2147483648",
    "100000",
];

const SNIPPETS: [&str; 18] = [
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "None",
    "Some(",
    "\"app\"",
    "\"users\"",
    "\u{feff}",
    "\u{0}",
    "é",
    "//",
    "\"0s\"",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// Replace the n-th number with an extreme one.
    Number(usize, usize),
    /// Delete `len` characters at a position.
    Delete(usize, usize),
    /// Insert a snippet at a position.
    Insert(usize, usize),
    /// Write the n-th line twice.
    DoubleLine(usize),
    /// Swap two lines.
    SwapLines(usize, usize),
    /// Replace the n-th string's content with another string's.
    SwapStrings(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let any = any::<usize>();
    prop_oneof![
        3 => (any, 0..NUMBERS.len()).prop_map(|(n, v)| Mutation::Number(n, v)),
        1 => (any, 1..20usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        1 => (any, 0..SNIPPETS.len()).prop_map(|(at, s)| Mutation::Insert(at, s)),
        1 => any.prop_map(Mutation::DoubleLine),
        1 => (any, any).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        1 => (any, any).prop_map(|(a, b)| Mutation::SwapStrings(a, b)),
    ]
}

/// A byte range of the text.
type Range = (usize, usize);

/// Byte ranges of number tokens (outside comments, roughly) and of string contents.
fn tokens(text: &str) -> (Vec<Range>, Vec<Range>) {
    let b = text.as_bytes();
    let (mut numbers, mut strings) = (Vec::new(), Vec::new());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                let start = i + 1;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += 1 + usize::from(b[i] == b'\\');
                }
                strings.push((start, i.min(b.len())));
                i += 1;
            }
            c if c.is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    i += 1;
                }
                numbers.push((start, i));
            }
            _ => i += 1,
        }
    }
    (numbers, strings)
}

/// The nearest char boundary at or before `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    let (numbers, strings) = tokens(text);
    let lines: Vec<&str> = text.split('\n').collect();
    match *m {
        Mutation::Number(n, v) if !numbers.is_empty() => {
            let (a, b) = numbers[n % numbers.len()];
            format!("{}{}{}", &text[..a], NUMBERS[v], &text[b..])
        }
        Mutation::Delete(at, len) => {
            let a = boundary(text, at % (text.len() + 1));
            let b = boundary(text, a + len);
            format!("{}{}", &text[..a], &text[b..])
        }
        Mutation::Insert(at, s) => {
            let a = boundary(text, at % (text.len() + 1));
            format!("{}{}{}", &text[..a], SNIPPETS[s], &text[a..])
        }
        Mutation::DoubleLine(n) => {
            let k = n % lines.len();
            let mut v = lines.clone();
            v.insert(k, lines[k]);
            v.join("\n")
        }
        Mutation::SwapLines(a, b) => {
            let mut v = lines.clone();
            v.swap(a % lines.len(), b % lines.len());
            v.join("\n")
        }
        Mutation::SwapStrings(a, b) if !strings.is_empty() => {
            let (s, e) = strings[a % strings.len()];
            let (s2, e2) = strings[b % strings.len()];
            let with = text[s2..e2].to_string();
            format!("{}{}{}", &text[..s], with, &text[e..])
        }
        _ => text.to_string(),
    }
}

/// A folder laid out like the repository (experiments beside `models/`), for mutants that
/// name a model file.
fn workspace() -> PathBuf {
    let w = Path::new(env!("CARGO_TARGET_TMPDIR")).join("mutants");
    let models = w.join("models");
    if !models.exists() {
        std::fs::create_dir_all(&models).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for e in std::fs::read_dir(root.join("models")).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, models.join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::create_dir_all(w.join("experiments/textbook")).unwrap();
    w
}

/// Runs `scalesim` with a wall-clock timeout; `None` if it had to be killed.
fn run(args: &[&str], limit: Duration) -> Option<(Option<i32>, String)> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            use std::io::Read;
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return Some((status.code(), err));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How many mutants ended with exit 0, 1 and 2.
static CODES: [AtomicUsize; 3] = [
    AtomicUsize::new(0),
    AtomicUsize::new(0),
    AtomicUsize::new(0),
];

fn check_mutant(rel: &str, text: &str) -> Result<(), String> {
    let w = workspace();
    let path = w.join(rel);
    std::fs::write(&path, text).unwrap();
    let out = w.join("out");
    let _ = std::fs::remove_dir_all(&out);
    let p = path.to_str().unwrap();
    // Short runs, whatever the file says: the command line wins.
    let args = [
        "run",
        p,
        "--quiet",
        "--threads",
        "2",
        "--replications",
        "1",
        "--set",
        "limits.max_events=300000",
        "--set",
        "limits.max_wall=\"2s\"",
        "--out",
        out.to_str().unwrap(),
    ];
    let Some((code, err)) = run(&args, Duration::from_secs(60)) else {
        return Err(format!(
            "{rel}: hung (killed after 60 s)\n--- mutant ---\n{text}"
        ));
    };
    let bad = |why: &str| Err(format!("{rel}: {why}\n{err}\n--- mutant ---\n{text}"));
    match code {
        None => return bad("killed by a signal (an abort?)"),
        Some(c) if ![0, 1, 2].contains(&c) => return bad(&format!("exit code {c}")),
        Some(2) if out.exists() => return bad("a result folder for bad input"),
        _ => {}
    }
    if err.contains("panicked") || err.contains("RUST_BACKTRACE") {
        return bad("a panic");
    }
    if code == Some(2) && !err.starts_with("error: ") {
        return bad("an error without `error: `");
    }
    if let Some(c) = code {
        CODES[c as usize].fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

#[test]
fn mutants_of_the_shipped_experiments_never_crash() {
    let cases = std::env::var("MUTANTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let files = shipped();
    // A fixed seed in CI (never flaky); another for a longer search with MUTANTS_SEED.
    let seed: u64 = std::env::var("MUTANTS_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = (0..files.len(), prop::collection::vec(mutation(), 1..4));
    runner
        .run(&strategy, |(k, ms)| {
            let (rel, text) = &files[k];
            let mutant = ms.iter().fold(text.clone(), |t, m| apply(&t, m));
            check_mutant(rel, &mutant).map_err(TestCaseError::fail)
        })
        .unwrap();
    let [ok, failed, bad] = CODES.each_ref().map(|c| c.load(Ordering::Relaxed));
    eprintln!("{cases} mutants: {ok} ran, {failed} ran with a failed expectation, {bad} refused");
    // Both paths are exercised: some mutants run, some are refused.
    assert!(ok + failed > 0 && bad > 0, "{ok} {failed} {bad}");
}
