//! Per-request outcomes kept across engine work: the textbook experiments and the quickstart,
//! run for a fixed seed, must give the same `runs.csv` as the engine before the per-request
//! cost work (cancellable timers, fast paths, the balancer's lists, the cache's slab), every
//! column but the two that count and hash handled events (fewer no-op events is the point).
//!
//! The files in `tests/fixtures/outcomes/` were written by that earlier engine with
//! `scalesim run EXP --set duration=60s --set warmup=5s --replications 2`, the two columns
//! removed. A change of semantics on purpose updates them, and says so in its commit; a
//! change meant to be only faster must leave them alone.

mod common;

use common::{repo, run};

/// Columns that legitimately change when the same run handles fewer events.
const EVENT_COLUMNS: [&str; 2] = ["events", "fingerprint"];

fn without_event_columns(csv: &str) -> Vec<Vec<String>> {
    let mut lines = csv.lines().map(|l| l.split(',').collect::<Vec<_>>());
    let header = lines.next().expect("a header");
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| !EVENT_COLUMNS.contains(&header[i]))
        .collect();
    std::iter::once(header)
        .chain(lines)
        .map(|row| keep.iter().map(|&i| row[i].to_string()).collect())
        .collect()
}

/// The runs and columns of the fixture whose values differ now (`experiment` run with the
/// fixture's settings and `extra`). Every column of then must still be there; metrics added
/// since are new columns and compare with nothing.
fn changes(experiment: &str, fixture: &str, extra: &[&str]) -> Vec<String> {
    let mut set: Vec<String> = ["duration=60s", "warmup=5s", "replications=2"]
        .map(String::from)
        .to_vec();
    set.extend(extra.iter().map(|s| s.to_string()));
    let (plan, results) = run(experiment, &set);
    let now = without_event_columns(&scalesim::report::runs_csv(&plan, &results));
    let path = repo(&format!("tests/fixtures/outcomes/{fixture}.csv"));
    let before = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let before: Vec<Vec<String>> = before
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    let at: Vec<usize> = before[0]
        .iter()
        .map(|name| {
            now[0]
                .iter()
                .position(|n| n == name)
                .unwrap_or_else(|| panic!("{experiment}: column `{name}` is gone"))
        })
        .collect();
    assert_eq!(now.len(), before.len(), "{experiment}: the number of runs");
    let mut changed = Vec::new();
    for (row, (a, b)) in now.iter().zip(&before).enumerate().skip(1) {
        for (col, y) in b.iter().enumerate() {
            if &a[at[col]] != y {
                changed.push(format!("run {row} `{}`", before[0][col]));
            }
        }
    }
    changed
}

fn check(experiment: &str, fixture: &str) {
    let changed = changes(experiment, fixture, &[]);
    assert!(changed.is_empty(), "{experiment}: changed {changed:?}");
}

#[test]
fn textbook_outcomes_are_unchanged() {
    for name in [
        "closed-loop",
        "erlang-b",
        "md1",
        "mg1-lognormal",
        "mmc",
        "mmck",
        "speedup",
        "supermarket",
        "utilization-knee",
    ] {
        check(&format!("experiments/textbook/{name}.ron"), name);
    }
}

#[test]
fn quickstart_outcomes_are_unchanged() {
    // Timeouts and retries: the cancelled timers are most of the events saved.
    check("experiments/quickstart.ron", "quickstart");
}

#[test]
fn a_changed_outcome_is_caught() {
    // The comparison itself can fail: a different seed changes the rows.
    let changed = changes("experiments/textbook/md1.ron", "md1", &["seed=2"]);
    assert!(
        changed.iter().any(|c| c.contains("latency_mean_s")),
        "{changed:?}"
    );
}
