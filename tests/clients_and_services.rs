//! Arrival processes, timeouts, round robin over replicas, and the safety limits.

mod common;

use common::{assert_agrees, per_rep, repo, run};
use scalesim::experiment;
use scalesim::model::{self, CommandLine};
use scalesim::theory;

fn client_requests(set: &[&str]) -> Vec<f64> {
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    let (_, results) = run("experiments/textbook/mmc.ron", &set);
    per_rep(&results, "arrivals", "arrivals")
}

#[test]
fn constant_arrivals_are_exact() {
    let counts = client_requests(&[
        "arrivals.arrivals=Constant(rate: 250.0)",
        "duration=20s",
        "warmup=4s",
        "replications=3",
    ]);
    for c in counts {
        assert!(
            (c - 250.0 * 16.0).abs() <= 1.0,
            "{c} arrivals in 16 s at 250/s"
        );
    }
}

#[test]
fn schedules_follow_their_steps() {
    // 100/s for 10 s, nothing for 10 s, then 300/s.
    let steps = "arrivals.arrivals=Schedule(steps: [(at: \"0s\", rate: 100.0), (at: \"10s\", rate: 0.0), (at: \"20s\", rate: 300.0)])";
    let mean = |xs: Vec<f64>| xs.iter().sum::<f64>() / xs.len() as f64;
    let reps = "replications=20";
    let first = mean(client_requests(&[steps, "duration=10s", "warmup=0s", reps]));
    let quiet = mean(client_requests(&[
        steps,
        "duration=20s",
        "warmup=10s",
        reps,
    ]));
    let last = mean(client_requests(&[
        steps,
        "duration=30s",
        "warmup=20s",
        reps,
    ]));
    // Poisson counts: standard error of a mean over 20 replications is √(N/20).
    assert!(
        (first - 1000.0).abs() < 4.0 * (1000.0f64 / 20.0).sqrt(),
        "{first}"
    );
    assert_eq!(quiet, 0.0);
    assert!(
        (last - 3000.0).abs() < 4.0 * (3000.0f64 / 20.0).sqrt(),
        "{last}"
    );
}

#[test]
fn timeouts_count_and_leave_the_work_done() {
    let (_, results) = run(
        "experiments/textbook/mmc.ron",
        &[
            "arrivals.arrivals=Constant(rate: 5.0)".into(),
            "arrivals.timeout=50ms".into(),
            "queue.service_time=Deterministic(value: \"100ms\")".into(),
            "duration=20s".into(),
            "warmup=2s".into(),
            "replications=2".into(),
        ],
    );
    for u in &results.units {
        let m = &u.metrics;
        assert_eq!(m.get("succeeded"), Some(0.0));
        assert!(
            m.get("timed_out").unwrap() >= 89.0,
            "{:?}",
            m.get("timed_out")
        );
        assert!(
            m.get("latency_p99_s").unwrap().is_nan(),
            "no success, no latency"
        );
        // The service still did the work for the requests nobody waited for.
        assert!(m.node("queue", "throughput_rps").unwrap() > 4.9);
        // A user's response time is the timeout.
        let r = m.node("arrivals", "response_mean_s").unwrap();
        assert!((r - 0.05).abs() < 1e-9, "{r}");
    }
}

#[test]
fn round_robin_turns_poisson_into_erlang_arrivals() {
    // Two single-worker replicas behind round robin: each sees every other arrival, so
    // Erlang-2 interarrival times, and waits less than a random split (M/M/1) would.
    let lambda = 1600.0;
    let (_, results) = run(
        "experiments/textbook/mmc.ron",
        &[
            "queue.workers=1".into(),
            "queue.replicas=2".into(),
            format!("arrivals.arrivals.rate={lambda:?}"),
        ],
    );
    let waits = per_rep(&results, "queue", "wait_mean_s");
    let ek = theory::ekm1_wait(2, lambda / 2.0, 1000.0);
    assert_agrees(
        "E2/M/1 per replica under round robin",
        &waits,
        ek,
        4.0,
        0.02,
    );
    assert!(ek < theory::mmc_wait(1, lambda / 2.0, 1000.0));
}

#[test]
fn an_unstable_model_stops_at_the_cap_with_a_warning() {
    let cli = CommandLine {
        set: vec![
            "arrivals.arrivals.rate=2000.0".into(),
            "queue.workers=1".into(),
            "duration=1h".into(),
            "warmup=0s".into(),
            "replications=2".into(),
            "limits=(max_in_flight: 5000)".into(),
        ],
        ..Default::default()
    };
    let plan = model::load_experiment(&repo("experiments/textbook/mmc.ron"), &cli).unwrap();
    let results = experiment::run_plan(&plan, Some(1)).unwrap();
    let warnings = scalesim::analysis::warnings(&plan, &results);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[0].contains("max_in_flight (5000)") && warnings[0].contains("unstable"));
    // About 5,000 extra requests pile up in 5 s at 2,000/s against 1,000/s of capacity.
    assert!(
        results.units.iter().all(|u| u.end_s < 10.0),
        "stopped early"
    );
    let summary = scalesim::report::summary_json(&plan, &results, &[], &Default::default());
    assert!(
        summary.contains("\"warnings\": [\n    \"variant `base` point 0 replication 0 stopped at")
    );
}
