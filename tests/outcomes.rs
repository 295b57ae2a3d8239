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

fn check(experiment: &str, fixture: &str) {
    let set = ["duration=60s", "warmup=5s", "replications=2"].map(String::from);
    let (plan, results) = run(experiment, &set);
    let now = scalesim::report::runs_csv(&plan, &results);
    let now = without_event_columns(&now);
    let path = repo(&format!("tests/fixtures/outcomes/{fixture}.csv"));
    let before = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let before: Vec<Vec<String>> = before
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert_eq!(now[0], before[0], "{experiment}: the columns changed");
    assert_eq!(now.len(), before.len(), "{experiment}: the number of runs");
    for (row, (a, b)) in now.iter().zip(&before).enumerate().skip(1) {
        for (col, (x, y)) in a.iter().zip(b).enumerate() {
            assert_eq!(
                x, y,
                "{experiment}: run {row}, column `{}` changed",
                before[0][col]
            );
        }
    }
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
    let set = ["duration=60s", "warmup=5s", "replications=2", "seed=2"].map(String::from);
    let (plan, results) = run("experiments/textbook/md1.ron", &set);
    let now = without_event_columns(&scalesim::report::runs_csv(&plan, &results));
    let before = std::fs::read_to_string(repo("tests/fixtures/outcomes/md1.csv")).unwrap();
    let before: Vec<Vec<String>> = before
        .lines()
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    assert_eq!(now[0], before[0]);
    assert_ne!(now, before);
}
