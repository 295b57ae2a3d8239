//! A migration in stages: a router's weights and their shifts on the timeline, its mirror,
//! and its rollback rule.

mod common;

use common::metrics_of;

fn write(name: &str, body: &str) -> std::path::PathBuf {
    common::write("migration", name, body)
}

/// A router in front of two services, `old` and `new`; `router` and `settings` are
/// spliced in as written.
fn model(router: &str, new_extra: &str, settings: &str) -> String {
    format!(
        r#"Experiment(
    model: Model(nodes: {{
        "users": Client(target: "edge", arrivals: Poisson(rate: 1000.0)),
        "edge": Router({router}),
        "old": Service(workers: 32, service_time: Exponential(mean: "10ms")),
        "new": Service(workers: 32, service_time: Exponential(mean: "10ms"){new_extra}),
    }}),
    {settings}
)"#
    )
}

const STAGES: &str = r#"routes: [(target: "old", weight: 97), (target: "new", weight: 3)],
        shifts: [(at: "100s", weights: [90, 10]), (at: "200s", weights: [1, 1])]"#;

/// The share of calls the router sent to `new` in [warmup, duration).
fn share_between(name: &str, warmup: u32, duration: u32) -> (f64, f64) {
    let settings = format!(r#"duration: "{duration}s", warmup: "{warmup}s", seed: 3"#);
    let m = metrics_of(&write(name, &model(STAGES, "", &settings)));
    let old = m.node("edge", "route0.requests").unwrap();
    let new = m.node("edge", "route1.requests").unwrap();
    // The services count what they were sent: the router lost nothing and made nothing up.
    assert_eq!(m.node("old", "arrivals").unwrap(), old, "{name}");
    assert_eq!(m.node("new", "arrivals").unwrap(), new, "{name}");
    (new / (old + new), old + new)
}

#[test]
fn traffic_shift_weights_are_honoured_within_sampling_error() {
    for (name, from, to, weight) in [
        ("stage-3", 0, 100, 0.03),
        ("stage-10", 100, 200, 0.10),
        ("stage-50", 200, 300, 0.50),
    ] {
        let (share, n) = share_between(name, from, to);
        // A binomial share: 4 standard errors either side (about 1,000 calls a second).
        let se = (weight * (1.0 - weight) / n).sqrt();
        assert!(
            (share - weight).abs() < 4.0 * se,
            "{name}: share {share:.4} of {n} calls, weight {weight} (se {se:.5})"
        );
    }
}

fn rollback_run(name: &str, faults: &str) -> scalesim::metrics::RunMetrics {
    let router = r#"routes: [(target: "old", weight: 100), (target: "new", weight: 0)],
        shifts: [(at: "10s", weights: [1, 1]), (at: "100s", weights: [0, 1])],
        rollback: (route: "new", interval: "5s", threshold: 3)"#;
    let settings = format!(r#"duration: "150s", warmup: "30s", seed: 4, faults: [{faults}]"#);
    metrics_of(&write(name, &model(router, "", &settings)))
}

#[test]
fn a_rollback_comes_after_threshold_failed_checks_and_outlasts_later_shifts() {
    // Half the new route's answers fail from the start. Checks begin with the first shift
    // that gives it traffic (10 s): those at 15, 20 and 25 s fail, and the third rolls
    // back. The shift to all-new at 100 s is ignored.
    let m = rollback_run(
        "rollback",
        r#"Errors(node: "new", at: "0s", for: "1000s", rate: 0.5)"#,
    );
    assert_eq!(m.node("edge", "rolled_back"), Some(1.0));
    assert_eq!(m.node("edge", "rollback_at_s"), Some(25.0));
    assert_eq!(m.node("edge", "failed_checks"), Some(3.0));
    assert_eq!(m.node("edge", "route1.requests"), Some(0.0));
    assert_eq!(m.node("edge", "route0.requests"), m.get("requests"));
    assert_eq!(
        m.get("failed"),
        Some(0.0),
        "nothing after warm-up reached `new`"
    );

    // A fault that ends before the third check fails two: no rollback.
    let m = rollback_run(
        "brief-fault",
        r#"Errors(node: "new", at: "0s", for: "20s", rate: 0.5)"#,
    );
    assert_eq!(m.node("edge", "failed_checks"), Some(2.0));
    assert_eq!(m.node("edge", "rolled_back"), Some(0.0));
    // …and the shift at 100 s sends it everything.
    assert!(m.node("edge", "shifted_share").unwrap() > 0.5 + 0.3 * 50.0 / 120.0);

    // A healthy new version is never rolled back.
    let m = rollback_run("healthy", "");
    assert_eq!(m.node("edge", "rolled_back"), Some(0.0));
    assert_eq!(m.node("edge", "failed_checks"), Some(0.0));
}

#[test]
fn a_mirror_copies_a_share_of_calls_and_its_answers_are_ignored() {
    let router = r#"routes: [(target: "old", weight: 1), (target: "new", weight: 0)],
        mirror: (target: "new", percent: 30.0)"#;
    let settings = r#"duration: "100s", warmup: "10s", seed: 5,
    faults: [Errors(node: "new", at: "0s", for: "1000s", rate: 1.0)]"#;
    let m = metrics_of(&write("mirror", &model(router, "", settings)));
    let requests = m.get("requests").unwrap();
    let mirrored = m.node("edge", "mirrored").unwrap();
    // Users never see the shadow's failures.
    assert_eq!(m.get("failed"), Some(0.0));
    assert_eq!(m.get("succeeded"), m.get("completed"));
    // Every copy failed, and was counted as the mirror's (but the few still in flight).
    let failed = m.node("edge", "mirror_failed").unwrap();
    assert!(
        failed <= mirrored && failed > mirrored - 20.0,
        "{failed} of {mirrored}"
    );
    let se = (0.3 * 0.7 / requests).sqrt();
    let share = mirrored / requests;
    assert!(
        (share - 0.3).abs() < 4.0 * se,
        "mirrored {share:.4} of {requests} calls (se {se:.5})"
    );
}
