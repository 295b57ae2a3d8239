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
