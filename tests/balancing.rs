//! Load balancing against theory (the supermarket model) and the load-balancing lesson.

mod common;

use common::{assert_agrees, run};
use scalesim::experiment::Results;
use scalesim::model::Plan;

fn point(plan: &Plan, variant: &str) -> usize {
    plan.points
        .iter()
        .position(|p| p.variant == variant)
        .unwrap()
}

fn per_rep(
    results: &Results,
    p: usize,
    f: impl Fn(&scalesim::metrics::RunMetrics) -> f64,
) -> Vec<f64> {
    results.of_point(p).map(|u| f(&u.metrics)).collect()
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn power_of_two_choices_follows_the_supermarket_model() {
    let (plan, results) = run("experiments/textbook/supermarket.ron", &[]);
    let lambda: f64 = 0.9;
    let (random, p2c, lo) = (
        point(&plan, "random"),
        point(&plan, "two_choices"),
        point(&plan, "least_outstanding"),
    );
    let s = |p: usize, k: u32| {
        per_rep(&results, p, |m| {
            m.node("app", &format!("replicas_with_ge_{k}")).unwrap()
        })
    };
    // Random assignment: every replica is an M/M/1 queue.
    for k in 1..=4 {
        assert_agrees(
            &format!("random: replicas with ≥ {k}"),
            &s(random, k),
            lambda.powi(k as i32),
            4.0,
            0.05,
        );
    }
    let per_replica = |p| {
        per_rep(&results, p, |m| {
            m.node("app", "in_system_mean").unwrap() / 50.0
        })
    };
    assert_agrees(
        "random: mean requests per replica",
        &per_replica(random),
        lambda / (1.0 - lambda),
        4.0,
        0.05,
    );
    // Two choices: s_k ≈ λ^(2^k − 1) for many servers; with 50, within 0.03 for k ≤ 4.
    for k in 1..=4u32 {
        let want = lambda.powi(2i32.pow(k) - 1);
        let got = mean(&s(p2c, k));
        eprintln!("two choices: replicas with ≥ {k}: {got:.4} vs supermarket {want:.4}");
        assert!((got - want).abs() < 0.03, "k = {k}: {got} vs {want}");
        assert!(got <= mean(&s(random, k)) + 1e-9);
    }
    let (q_random, q_p2c) = (mean(&per_replica(random)), mean(&per_replica(p2c)));
    assert!(q_p2c < q_random / 3.0, "mean queue: {q_p2c} vs {q_random}");
    // Mean latency: least outstanding ≤ two choices < random, each by a clear margin.
    let latency = |p| mean(&per_rep(&results, p, |m| m.get("latency_mean_s").unwrap()));
    let (l_lo, l_p2c, l_random) = (latency(lo), latency(p2c), latency(random));
    eprintln!("latency: least outstanding {l_lo:.4}, two choices {l_p2c:.4}, random {l_random:.4}");
    assert!(l_lo <= l_p2c && l_p2c < 0.5 * l_random);
}

#[test]
fn the_load_balancing_lesson_holds() {
    let (plan, results) = run("experiments/load-balancing.ron", &["replications=2".into()]);
    let goodput = |v: &str| {
        mean(&per_rep(&results, point(&plan, v), |m| {
            m.get("goodput_rps").unwrap()
        }))
    };
    let timed_out = |v: &str| {
        mean(&per_rep(&results, point(&plan, v), |m| {
            m.get("timed_out").unwrap()
        }))
    };
    let failed = |v: &str| {
        mean(&per_rep(&results, point(&plan, v), |m| {
            m.get("failed").unwrap()
        }))
    };
    let to_slow = |v: &str| {
        mean(&per_rep(&results, point(&plan, v), |m| {
            m.node("lb", "replica0.requests").unwrap() / m.node("lb", "replica1.requests").unwrap()
        }))
    };
    // Blind algorithms overload the slow replica: many timeouts.
    for v in ["round_robin", "random"] {
        assert!(timed_out(v) > 10_000.0, "{v}: {}", timed_out(v));
        assert!(
            (to_slow(v) - 1.0).abs() < 0.02,
            "{v} gives the slow replica an equal share"
        );
    }
    // Load-aware algorithms send it less, and nothing times out.
    for v in ["least_outstanding", "two_choices"] {
        assert_eq!(timed_out(v), 0.0, "{v}");
        assert!(to_slow(v) < 0.6, "{v}: {}", to_slow(v));
    }
    // But a crashed replica fails fast and attracts least-outstanding traffic: a black hole.
    assert!(failed("least_outstanding") > failed("round_robin"));
    // Ejection and health checks take it out: almost nothing fails, full goodput.
    for v in ["two_choices_ejecting", "least_outstanding_ejecting"] {
        assert!(failed(v) < 20.0, "{v}: {}", failed(v));
        assert!(goodput(v) > 0.99 * 800.0, "{v}: {}", goodput(v));
        assert!(
            goodput(v) > goodput("two_choices") && goodput("two_choices") > goodput("round_robin")
        );
    }
}

/// Four replicas of four workers at 20 ms behind a round-robin balancer, 400 requests/s (50%);
/// from the first minute to the end (5 minutes) replica 0 hangs: its work takes 1,000× longer.
/// `lb` is the balancer's settings, `timeout` the client's.
fn hung(name: &str, lb: &str, timeout: &str) -> (Plan, Results) {
    let p = common::write(
        "balancing",
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "lb", arrivals: Poisson(rate: 400.0), timeout: "{timeout}"),
                "lb": Balancer(target: "app", algorithm: RoundRobin, {lb}),
                "app": Service(replicas: 4, workers: 4, service_time: Exponential(mean: "20ms")),
            }}),
            faults: [Slowdown(node: "app", replica: Some(0), at: "1m", for: "4m", factor: 1000.0)],
            duration: "5m", warmup: "0s", seed: 9, replications: 2,
        )"#
        ),
    );
    common::run_file(&p)
}

#[test]
fn a_hung_replica_fails_its_health_checks_because_probes_wait_for_a_worker() {
    // Kubernetes/Envoy HTTP probes are requests to the application: behind a hung replica's
    // queue they time out, and after `unhealthy` failures the replica leaves rotation for
    // as long as it hangs.
    let checked = hung(
        "hung-checked",
        r#"health_check: Some(HealthCheck(interval: "5s", timeout: "1s", healthy: 1, unhealthy: 2))"#,
        "2s",
    );
    let bare = hung("hung-bare", "", "2s");
    let share = |(_, results): &(Plan, Results)| -> Vec<f64> {
        per_rep(results, 0, |m| {
            m.get("timed_out").unwrap() / m.get("requests").unwrap()
        })
    };
    // Without checks a quarter of the requests go to the hung replica for four minutes of
    // five: a fifth time out.
    for x in share(&bare) {
        assert!((0.18..0.22).contains(&x), "unchecked: {x}");
    }
    // With them, only those sent before two probes failed: the first probe after the hang
    // goes out within 5 s and fails 1 s later, the second 5 s after it, so the replica is
    // in rotation 6–11 s more at 100 requests/s: at most 1,100 of 120,000 (0.92%), or
    // 1.05% with four standard deviations of Poisson noise.
    for x in share(&checked) {
        assert!(x < 0.0105, "checked: {x}");
    }
    for f in per_rep(&checked.1, 0, |m| {
        m.node("lb", "health_check_failures").unwrap()
    }) {
        // One probe every 5 s for 4 minutes, all failing but those sent in the first 5 s
        // that finish after the run: 46–48.
        assert!((46.0..=48.0).contains(&f), "{f} failed probes");
    }
}

#[test]
fn a_route_timeout_counts_toward_outlier_ejection_but_a_caller_that_left_does_not() {
    // Envoy counts locally originated failures (timeouts, resets) as 5xx for
    // `consecutive_5xx` when `split_external_local_origin_errors` is false (the default).
    let outlier = r#"outlier: Some(Outlier(consecutive_errors: 5))"#;
    // Route timeout 500 ms below the client's 2 s: the hung replica's calls time out at the
    // balancer, five in a row eject it for 30 s, 60 s, 90 s, ... (capped at 300 s).
    let counted = hung(
        "hung-route",
        &format!(r#"timeout: "500ms", {outlier}"#),
        "2s",
    );
    // The default 15 s route timeout is longer than the client's 2 s: callers leave first,
    // their resets are nobody's failure, and the hung replica stays in rotation.
    let left = hung("hung-left", outlier, "2s");
    for e in per_rep(&counted.1, 0, |m| m.node("lb", "ejections").unwrap()) {
        // Ejected at ~1m, back at 1m30 (ejection 1: 30 s), ejected again at once for 60 s,
        // then 90 s: three or four ejections in the four minutes.
        assert!((2.0..=5.0).contains(&e), "{e} ejections");
    }
    for t in per_rep(&counted.1, 0, |m| m.node("lb", "route_timeouts").unwrap()) {
        // Five per ejection, plus the calls already in flight when it happened.
        assert!(t >= 10.0, "{t} route timeouts");
    }
    for x in per_rep(&counted.1, 0, |m| {
        m.get("failed").unwrap() / m.get("requests").unwrap()
    }) {
        assert!(x < 0.01, "route timeouts failed {x} of requests");
    }
    for e in per_rep(&left.1, 0, |m| m.node("lb", "ejections").unwrap()) {
        assert_eq!(e, 0.0, "ejected by callers' resets");
    }
    for t in per_rep(&left.1, 0, |m| m.node("lb", "route_timeouts").unwrap()) {
        assert_eq!(t, 0.0);
    }
}

/// Two range shards over keys 0..1000 (uniform), shard 0 split while serving: a copy from
/// 20 s to 30 s, with the new shard's replica starting in `startup`.
fn split_run(
    name: &str,
    by_load: bool,
    startup: &str,
    window: (u32, u32),
) -> scalesim::metrics::RunMetrics {
    let body = format!(
        r#"Experiment(
    model: Model(nodes: {{
        "users": Client(target: "lb", arrivals: Poisson(rate: 1000.0), keys: Uniform(n: 1000)),
        "lb": Balancer(target: "db", algorithm: ShardByRange(keys: 1000)),
        "db": Service(replicas: 2, workers: 32, service_time: Exponential(mean: "5ms"),
            startup: Deterministic(value: "{startup}")),
    }}),
    faults: [Split(node: "lb", shard: 0, at: "20s", copy: "10s", by_load: {by_load})],
    warmup: "{}s",
    duration: "{}s",
    seed: 21,
)"#,
        window.0, window.1
    );
    common::metrics_of(&common::write("balancing", name, &body))
}

#[test]
fn a_range_split_moves_the_upper_part_of_the_range_to_the_new_shard_at_cutover() {
    let m = split_run("split-middle", false, "1s", (30, 130));
    assert_eq!(m.node("lb", "splits"), Some(1.0));
    assert_eq!(m.node("lb", "split_key"), Some(250.0));
    let share = |r: u32| {
        let all: f64 = (0..3)
            .map(|i| m.node("lb", &format!("replica{i}.requests")).unwrap())
            .sum();
        m.node("lb", &format!("replica{r}.requests")).unwrap() / all
    };
    // Keys 0..250 stay, 250..500 moved to the new replica (slot 2), 500..1000 untouched.
    for (r, expected) in [(0, 0.25), (2, 0.25), (1, 0.5)] {
        let se = (expected * (1.0 - expected) / 100_000.0f64).sqrt();
        assert!(
            (share(r) - expected).abs() < 4.0 * se,
            "replica {r}: {:.4}, expected {expected}",
            share(r)
        );
    }
    // Placed by load, uniform keys split near the middle too (a sample's median).
    let m = split_run("split-load", true, "1s", (30, 60));
    let key = m.node("lb", "split_key").unwrap();
    assert!((key - 250.0).abs() < 20.0, "split at {key}");
}

#[test]
fn a_range_split_waits_for_its_new_replica() {
    // The copy ends at 30 s, but the new replica is ready only at 40 s.
    let m = split_run("split-waits", false, "20s", (30, 39));
    assert_eq!(m.node("lb", "splits"), Some(0.0));
    // (The slot has no column until its replica joins.)
    assert_eq!(m.node("lb", "replica2.requests").unwrap_or(0.0), 0.0);
    let m = split_run("split-waited", false, "20s", (30, 60));
    assert_eq!(m.node("lb", "splits"), Some(1.0));
    assert!(m.node("lb", "replica2.requests").unwrap() > 4000.0);
}
