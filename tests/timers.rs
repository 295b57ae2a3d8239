//! Cancelled timers are events that would have done nothing: an attempt's timeout after its
//! reply came in time. The calendar drops them instead of dispatching them, and this must
//! change nothing but the count of events. Each point of experiments with timeouts, retries,
//! hedges and pools runs twice — cancelled timers dropped, and kept firing as no-ops — and
//! every metric and every time-series value must be the same, with fewer events.

mod common;

use common::models::{random_plan, CASES};
use common::run_point;
use scalesim::engine::StopReason;
use scalesim::model::{self, CommandLine};
use std::path::Path;

/// (metrics, series, events) of point `p` of `plan`, replication 0, with cancelled timers
/// dropped or kept firing, and whether it ran to its end (not stopped by a limit).
fn run(plan: &model::Plan, p: usize, keep_cancelled: bool) -> (String, String, u64, bool) {
    let (metrics, series, events, _, stop) = run_point(plan, p, 0, |_, cal| {
        cal.keep_cancelled_timers(keep_cancelled)
    });
    let whole = matches!(stop, StopReason::Duration | StopReason::Idle);
    (metrics, series, events, whole)
}

/// Hedged calls with timeouts and retries, over a balancer to a replica slowed by a fault:
/// hedge timers and timeouts both fire and are cancelled.
const HEDGED: &str = r#"Experiment(
    model: Model(nodes: {
        "users": Client(
            target: "lb",
            arrivals: Poisson(rate: 200.0),
            timeout: "80ms",
            retry: Retry(max_attempts: 3),
            hedge: Hedge(after: "20ms", max: 2),
        ),
        "lb": Balancer(target: "app", algorithm: Random),
        "app": Service(replicas: 3, workers: 8, service_time: Exponential(mean: "10ms")),
    }),
    duration: "120s",
    warmup: "5s",
    faults: [Slowdown(node: "app", replica: 0, at: "20s", for: "60s", factor: 10.0)],
)"#;

#[test]
fn cancelling_timers_changes_nothing_but_the_events() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hedged = Path::new(env!("CARGO_TARGET_TMPDIR")).join("timers-hedged.ron");
    std::fs::write(&hedged, HEDGED).unwrap();
    let hedged = hedged.display().to_string();
    let mut fewer = 0;
    for file in [
        hedged.as_str(),
        "benches/web-tier.ron",
        "experiments/retry-storm.ron",
        "experiments/circuit-breaker.ron",
        "experiments/connection-pool.ron",
        "experiments/cache-stampede.ron",
        "experiments/quickstart.ron",
        "experiments/autoscaler-spike.ron",
        "experiments/load-balancing.ron",
    ] {
        let path = root.join(file); // an absolute path stays as it is
        let cli = CommandLine::default();
        let plan = model::load_experiment(&path, &cli).unwrap_or_else(|e| panic!("{file}: {e}"));
        for p in 0..plan.points.len().min(6) {
            let (m_drop, s_drop, e_drop, whole) = run(&plan, p, false);
            let (m_keep, s_keep, e_keep, _) = run(&plan, p, true);
            assert!(whole, "{file} point {p}: stopped by a limit");
            assert_eq!(m_drop, m_keep, "{file} point {p}: metrics differ");
            assert_eq!(s_drop, s_keep, "{file} point {p}: time series differ");
            assert!(e_drop <= e_keep, "{file} point {p}: more events");
            fewer += (e_drop < e_keep) as usize;
        }
    }
    assert!(fewer >= 4, "timers were cancelled in only {fewer} points");
}

/// The same on random models (timeouts, retries and hedges on the client and on the app's
/// call, balancers with health checks, faults, loads up to overload). A failure prints the
/// model.
#[test]
fn cancelling_timers_changes_nothing_on_random_models() {
    let (mut fewer, mut compared) = (0, 0);
    for case in 0..CASES {
        let (plan, text) = random_plan("timers-random", case);
        let (m_drop, s_drop, e_drop, whole) = run(&plan, 0, false);
        let (m_keep, s_keep, e_keep, _) = run(&plan, 0, true);
        if !whole {
            // A runaway model stopped by a limit: limits are checked every so many events,
            // so where it stops depends on the events counted, cancelled timers included.
            continue;
        }
        compared += 1;
        assert_eq!(m_drop, m_keep, "case {case}: metrics differ\n{text}");
        assert_eq!(s_drop, s_keep, "case {case}: time series differ\n{text}");
        assert!(e_drop <= e_keep, "case {case}: more events\n{text}");
        fewer += (e_drop < e_keep) as usize;
    }
    assert!(
        compared >= CASES * 3 / 4,
        "only {compared} models ran to their end"
    );
    assert!(fewer >= 10, "timers were cancelled in only {fewer} models");
}
