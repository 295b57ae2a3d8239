//! A fast path chosen at build (a lean service's request path) must have exactly the
//! effects of the general path: the same draws, the same events in the same order. Each
//! point runs twice — fast paths on, and every request through the general path — and the
//! metrics, every time-series value, the event count and the fingerprint must agree.

mod common;

use common::models::{random_plan, CASES};
use common::run_point;
use scalesim::model::{self, CommandLine};
use std::path::Path;

/// Lean services through everything that can happen to them while running: a balancer with
/// health checks and outlier ejection in front, a crash, a slowdown and injected errors, a
/// full queue dropping its oldest, a rolling deploy draining replicas, an autoscaler with
/// slow starts and warm-up.
const TROUBLE: &str = r#"Experiment(
    model: Model(nodes: {
        "users": Client(target: "lb", arrivals: Poisson(rate: 900.0), timeout: "300ms"),
        "lb": Balancer(
            target: "app",
            algorithm: LeastOutstanding,
            health_check: HealthCheck(interval: "2s", timeout: "500ms", healthy: 2, unhealthy: 2),
            outlier: Outlier(consecutive_errors: 5, base_ejection: "10s"),
        ),
        "app": Service(
            replicas: 4,
            workers: 2,
            capacity: 5,
            when_full: DropOldest,
            service_time: Exponential(mean: "8ms"),
            startup: Deterministic(value: "5s"),
            warm_up: WarmUp(for: "10s", speed: 0.5),
            autoscaler: Autoscaler(min: 3, max: 8, metric: Utilization(0.6), window: "10s"),
        ),
    }),
    duration: "150s",
    warmup: "5s",
    faults: [
        Crash(node: "app", replica: 1, at: "20s", for: "15s"),
        Slowdown(node: "app", replica: 0, at: "40s", for: "30s", factor: 4.0),
        Errors(node: "app", replica: 2, at: "60s", for: "20s", rate: 0.3),
        Deploy(node: "app", at: "90s", strategy: RollingUpdate(max_surge: 1, max_unavailable: 1)),
    ],
)"#;

/// The same trouble for a lean service whose handler is more than its work (a lean way
/// in, then the step interpreter): the app calls a database after its work.
fn trouble_with_steps() -> String {
    let steps = TROUBLE
        .replace(
            r#"service_time: Exponential(mean: "8ms"),"#,
            r#"service_time: Exponential(mean: "6ms"),
            handler: [Work, Call(target: "db", timeout: "40ms")],"#,
        )
        .replace(
            r#"        "lb": Balancer("#,
            r#"        "db": Service(workers: 6, service_time: Exponential(mean: "2ms")),
        "lb": Balancer("#,
        );
    assert_ne!(steps, TROUBLE);
    steps
}

#[test]
fn lean_services_change_nothing() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let mut files = Vec::new();
    for (name, text) in [
        ("fast-paths-trouble.ron", TROUBLE.to_string()),
        ("fast-paths-trouble-steps.ron", trouble_with_steps()),
    ] {
        std::fs::write(tmp.join(name), text).unwrap();
        files.push(tmp.join(name).display().to_string());
    }
    // Every shipped experiment, so that a feature added to the general path without a word
    // to `is_lean_in` shows here.
    files.extend(["benches/mm16.ron".into(), "benches/web-tier.ron".into()]);
    for dir in ["experiments", "experiments/textbook"] {
        let mut found: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "ron"))
            .map(|p| p.display().to_string())
            .collect();
        found.sort();
        files.extend(found);
    }
    for file in &files {
        let path = root.join(file); // an absolute path stays as it is
        let cli = CommandLine {
            quick: true,
            ..Default::default()
        };
        let plan = model::load_experiment(&path, &cli).unwrap_or_else(|e| panic!("{file}: {e}"));
        for p in 0..plan.points.len().min(3) {
            let fast = run_point(&plan, p, 0, |_, _| {});
            let general = run_point(&plan, p, 0, |net, _| net.general_paths_only());
            assert!(fast.2 > 1000, "{file} point {p}: too short to tell");
            assert_eq!(fast, general, "{file} point {p}");
        }
    }
}

/// Random models (features that choose a fast path at build, features that rule one out,
/// faults, loads up to overload): each runs with fast paths on and with every request,
/// call and job through the general path, and nothing may differ. A failure prints the
/// model.
#[test]
fn random_models_change_nothing() {
    let mut longest = 0;
    for case in 0..CASES {
        let (plan, text) = random_plan("fast-paths-random", case);
        let fast = run_point(&plan, 0, 0, |_, _| {});
        let general = run_point(&plan, 0, 0, |net, _| net.general_paths_only());
        assert_eq!(fast, general, "case {case}:\n{text}");
        longest = longest.max(fast.2);
    }
    assert!(longest > 10_000, "the random models are too short to tell");
}
