//! The simulator against queueing theory. Each estimate comes from independent replications
//! with fixed seeds; it must agree with the formula within four standard errors and be
//! precise to a few percent, so that the check has teeth. Little's law is checked on every
//! run. Run with `--release`: these simulate a few hundred million events.

mod common;

use common::{assert_agrees, assert_little, per_rep, run};
use scalesim::theory;

const MU: f64 = 1000.0; // service rate of one worker: mean service 1 ms

fn set(pairs: &[(&str, String)]) -> Vec<String> {
    pairs.iter().map(|(p, v)| format!("{p}={v}")).collect()
}

#[test]
fn mmc_mean_wait_matches_erlang_c() {
    for c in [1u32, 2, 4, 16] {
        for rho in [0.5, 0.8, 0.95] {
            let lambda = rho * c as f64 * MU;
            // Heavier load relaxes more slowly, more servers faster: size runs to match.
            // At low load the waits that matter are rare, so the run stays long.
            let secs = if rho < 0.6 {
                60.0
            } else if rho < 0.9 {
                100.0 / (c as f64).sqrt()
            } else {
                800.0 / (c as f64).sqrt()
            };
            let (plan, results) = run(
                "experiments/textbook/mmc.ron",
                &set(&[
                    ("queue.workers", c.to_string()),
                    ("arrivals.arrivals.rate", format!("{lambda:?}")),
                    ("duration", format!("\"{secs}s\"")),
                    ("warmup", format!("\"{}s\"", secs / 10.0)),
                ]),
            );
            assert_agrees(
                &format!("M/M/{c} at ρ = {rho}: mean wait"),
                &per_rep(&results, "queue", "wait_mean_s"),
                theory::mmc_wait(c, lambda, MU),
                4.0,
                0.05,
            );
            // The wait's distribution: P(W > 0) is Erlang C, and P(W > t) = C e^{-(cμ-λ)t},
            // so its 99th percentile is ln(100 C) / (cμ - λ) when C is above 1%.
            let erlang_c = theory::erlang_c(c, lambda / MU);
            assert_agrees(
                &format!("M/M/{c} at ρ = {rho}: P(wait > 0)"),
                &per_rep(&results, "queue", "wait_probability"),
                erlang_c,
                4.0,
                0.05,
            );
            if erlang_c > 0.02 {
                assert_agrees(
                    &format!("M/M/{c} at ρ = {rho}: wait p99"),
                    &per_rep(&results, "queue", "wait_p99_s"),
                    (100.0 * erlang_c).ln() / (c as f64 * MU - lambda),
                    4.0,
                    0.05,
                );
            }
            assert_little(&plan, &results, "queue");
        }
    }
}

#[test]
fn mmck_blocking_and_wait() {
    let (c, capacity, lambda) = (2, 3, 1800.0);
    let (plan, results) = run("experiments/textbook/mmck.ron", &[]);
    let (block, wait) = theory::mmck(c, c + capacity, lambda, MU);
    let arrivals = per_rep(&results, "queue", "arrivals");
    let rejected = per_rep(&results, "queue", "rejected");
    let blocked: Vec<f64> = rejected.iter().zip(&arrivals).map(|(r, a)| r / a).collect();
    assert_agrees("M/M/2/5 blocking", &blocked, block, 4.0, 0.02);
    assert_agrees(
        "M/M/2/5 mean wait",
        &per_rep(&results, "queue", "wait_mean_s"),
        wait,
        4.0,
        0.02,
    );
    assert_little(&plan, &results, "queue");
}

#[test]
fn erlang_b_blocking() {
    for (c, a) in [(1u32, 0.5), (10, 5.0), (20, 18.0)] {
        let (plan, results) = run(
            "experiments/textbook/erlang-b.ron",
            &set(&[
                ("queue.workers", c.to_string()),
                ("arrivals.arrivals.rate", format!("{:?}", a * MU)),
            ]),
        );
        let arrivals = per_rep(&results, "queue", "arrivals");
        let rejected = per_rep(&results, "queue", "rejected");
        let blocked: Vec<f64> = rejected.iter().zip(&arrivals).map(|(r, a)| r / a).collect();
        assert_agrees(
            &format!("M/M/{c}/{c} at {a} Erlangs: blocking"),
            &blocked,
            theory::erlang_b(c, a),
            4.0,
            0.02,
        );
        assert_little(&plan, &results, "queue");
    }
}

#[test]
fn md1_wait_is_pollaczek_khinchine() {
    let (plan, results) = run("experiments/textbook/md1.ron", &[]);
    assert_agrees(
        "M/D/1 at ρ = 0.8: mean wait",
        &per_rep(&results, "queue", "wait_mean_s"),
        theory::mg1_wait(800.0, 1.0 / MU, 0.0),
        4.0,
        0.02,
    );
    assert_little(&plan, &results, "queue");
}

#[test]
fn mg1_lognormal_wait_is_pollaczek_khinchine() {
    let (plan, results) = run("experiments/textbook/mg1-lognormal.ron", &[]);
    assert_agrees(
        "M/G/1 (log-normal, cv 2) at ρ = 0.7: mean wait",
        &per_rep(&results, "queue", "wait_mean_s"),
        theory::mg1_wait(700.0, 1.0 / MU, 4.0),
        4.0,
        0.05,
    );
    assert_little(&plan, &results, "queue");
}

#[test]
fn closed_loop_response_time_law_and_mva() {
    let (n, s, z) = (20u32, 0.040, 1.0);
    let (plan, results) = run("experiments/textbook/closed-loop.ron", &[]);
    let r = per_rep(&results, "users", "response_mean_s");
    let x = per_rep(&results, "users", "throughput_rps");
    // The interactive response-time law, from the measured throughput.
    let law: Vec<f64> = x.iter().map(|x| n as f64 / x - z).collect();
    let diff: Vec<f64> = r.iter().zip(&law).map(|(r, l)| r - l).collect();
    let (d, se) = common::mean_se(&diff);
    eprintln!("R − (N/X − Z) = {d:.2e} ± {se:.2e}");
    assert!(
        d.abs() < 4.0 * se.max(1e-4 * r[0]),
        "R = N/X − Z fails: off by {d}"
    );
    // Exact mean value analysis for this network.
    let (r_mva, x_mva) = theory::mva_single(n, s, z);
    assert_agrees("closed loop: response time", &r, r_mva, 4.0, 0.02);
    assert_agrees("closed loop: throughput", &x, x_mva, 4.0, 0.02);
    assert_little(&plan, &results, "server");
}
