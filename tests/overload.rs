//! Overload protection: queue policies, CoDel, priority shedding, degradation.

mod common;

use common::{run, run_file};
use scalesim::experiment::Results;
use scalesim::model::Plan;

fn write(name: &str, body: &str) -> std::path::PathBuf {
    common::write("overload", name, body)
}

fn mean(
    plan: &Plan,
    results: &Results,
    variant: &str,
    f: impl Fn(&scalesim::metrics::RunMetrics) -> f64,
) -> f64 {
    let p = plan
        .points
        .iter()
        .position(|p| p.variant == variant)
        .unwrap();
    let xs: Vec<f64> = results.of_point(p).map(|u| f(&u.metrics)).collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn every_policy_protects_the_critical_class_from_an_overload() {
    let (plan, results) = run(
        "experiments/degradation-policies.ron",
        &["replications=2".into()],
    );
    let p99 = |v: &str| {
        mean(&plan, &results, v, |m| {
            m.node("users", "critical.latency_p99_s").unwrap()
        })
    };
    let unprotected = p99("unbounded");
    // Five minutes at twice the capacity: the backlog reaches minutes of waiting.
    assert!(unprotected > 120.0, "{unprotected}");
    for v in ["bounded", "codel", "priority", "aimd", "gradient2"] {
        assert!(p99(v) < 0.5, "{v}: p99 {}", p99(v));
    }
    for v in ["adaptive_lifo", "brownout"] {
        assert!(p99(v) < 0.05 * unprotected, "{v}: p99 {}", p99(v));
    }
    // Priority shedding sheds only normal requests; CoDel drops instead of queueing.
    let node = |v: &str, k: &str| mean(&plan, &results, v, |m| m.node("app", k).unwrap());
    let users = |v: &str, k: &str| mean(&plan, &results, v, |m| m.node("users", k).unwrap());
    assert_eq!(users("priority", "critical.rejected"), 0.0);
    assert!(users("priority", "normal.rejected") > 100_000.0);
    assert!(node("codel", "shed") > 100_000.0);
    assert!(node("codel", "queue_len_mean") < 20.0);
    assert!(node("unbounded", "queue_len_mean") > 50_000.0);
    // The brownout answers everyone, a good part without the optional work.
    let all = |v: &str, k: &str| mean(&plan, &results, v, |m| m.get(k).unwrap());
    assert_eq!(all("brownout", "rejected"), 0.0);
    assert!(all("brownout", "degraded") > 0.3 * all("brownout", "requests"));
    assert!(node("brownout", "dimmer_mean") < 0.9);
}

/// One replica of 4 workers at 10 ms (400/s) offered 800/s, with the given queue fields.
fn overloaded(name: &str, queue: &str) -> std::path::PathBuf {
    write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "app", arrivals: Poisson(rate: 800.0)),
                "app": Service(workers: 4, service_time: Deterministic(value: "10ms"), {queue}),
            }}),
            duration: "2m", warmup: "10s", seed: 59, replications: 2,
        )"#
        ),
    )
}

#[test]
fn drop_oldest_sheds_waiting_requests_instead_of_refusing_arrivals() {
    // 40 places: a served request waited at most 40 / 400 per second = 100 ms. Under
    // drop-oldest nothing is refused on arrival: the oldest waiting ones are shed instead.
    let (plan, results) = run_file(&overloaded(
        "drop-oldest",
        "capacity: 40, when_full: DropOldest",
    ));
    let m = |k: &str| mean(&plan, &results, "base", |m| m.node("app", k).unwrap());
    assert_eq!(m("rejected"), 0.0);
    assert!(m("shed") > 0.45 * m("arrivals"));
    assert!(m("wait_mean_s") <= 0.1 + 1e-9, "{}", m("wait_mean_s"));
    let (plan_r, results_r) = run_file(&overloaded("reject", "capacity: 40"));
    let r = |k: &str| mean(&plan_r, &results_r, "base", |m| m.node("app", k).unwrap());
    assert_eq!(r("shed"), 0.0);
    assert!(r("rejected") > 0.45 * r("arrivals"));
    // Both serve at capacity.
    for x in [m("throughput_rps"), r("throughput_rps")] {
        assert!((x - 400.0).abs() < 2.0, "{x}");
    }
}

#[test]
fn blocking_holds_the_callers_instead_of_refusing_them() {
    // Block: nothing refused or shed, the waiting simply moves out of the queue: everything
    // is served, late.
    let (plan, results) = run_file(&overloaded("block", "capacity: 40, when_full: Block"));
    let m = |k: &str| mean(&plan, &results, "base", |m| m.node("app", k).unwrap());
    assert_eq!(m("rejected") + m("shed"), 0.0);
    assert!(m("wait_mean_s") > 10.0, "{}", m("wait_mean_s"));
}

#[test]
fn a_feature_switch_turns_optional_work_off_under_load() {
    // 4 ms required + 6 ms optional on 4 workers: 400/s with the option, 1,000/s without.
    // At 600/s the p99 climbs past 200 ms with the option on, so the switch turns it off;
    // with it off latency falls below 50 ms and it comes back on: it cycles.
    let p = write(
        "switch",
        r#"Experiment(
            name: "switch",
            model: Model(nodes: {
                "users": Client(target: "app", arrivals: Poisson(rate: 600.0)),
                "app": Service(
                    workers: 4,
                    service_time: Deterministic(value: "4ms"),
                    handler: [Work, Optional(Compute(Deterministic(value: "6ms")))],
                    degrade: Switch(above: "200ms", below: "50ms", window: "5s"),
                ),
            }),
            duration: "5m", warmup: "10s", seed: 61, replications: 2,
        )"#,
    );
    let (plan, results) = run_file(&p);
    let m = |k: &str| mean(&plan, &results, "base", |m| m.node("app", k).unwrap());
    let on = m("dimmer_mean");
    assert!(on > 0.05 && on < 0.95, "on {on} of the time");
    // Work done matches: busy = 600/s × (4 ms + on-fraction-of-requests × 6 ms) on 4 workers.
    let skipped = m("optional_skipped") / m("arrivals");
    let want = 600.0 * (0.004 + (1.0 - skipped) * 0.006) / 4.0;
    assert!(
        (m("utilization") - want).abs() < 0.02,
        "{} vs {want}",
        m("utilization")
    );
    let all = |k: &str| mean(&plan, &results, "base", |m| m.get(k).unwrap());
    assert!((all("degraded") / all("requests") - skipped).abs() < 0.01);
}

#[test]
fn a_bulkhead_caps_concurrent_calls_and_refuses_the_rest_at_once() {
    // The dependency takes exactly 1 s and has room for everyone; the bulkhead lets only 5
    // calls through at once, so at most 5 complete per second, and the other ~95 of the
    // 100 arrivals per second are refused at once instead of waiting.
    let p = write(
        "bulkhead",
        r#"Experiment(
            name: "bulkhead",
            model: Model(nodes: {
                "users": Client(target: "app", arrivals: Poisson(rate: 100.0)),
                "app": Service(
                    workers: 200,
                    service_time: Deterministic(value: "1ms"),
                    handler: [Work, Call(target: "dep", bulkhead: 5)],
                ),
                "dep": Service(workers: 1000, service_time: Deterministic(value: "1s")),
            }),
            duration: "2m", warmup: "10s", seed: 67, replications: 2,
        )"#,
    );
    let (plan, results) = run_file(&p);
    let node = |n: &str, k: &str| mean(&plan, &results, "base", |m| m.node(n, k).unwrap());
    let served = node("dep", "throughput_rps");
    assert!(served <= 5.0 + 1e-9 && served > 4.8, "{served}");
    let all = |k: &str| mean(&plan, &results, "base", |m| m.get(k).unwrap());
    let refused = node("app", "bulkhead_full");
    assert!(refused > 0.9 * all("requests"), "{refused}");
    // Refused calls fail the request, immediately.
    assert!((all("failed") - refused).abs() < 0.01 * refused);
    assert!(
        node("app", "in_system_mean") < 6.0,
        "{}",
        node("app", "in_system_mean")
    );
}

#[test]
fn a_fixed_concurrency_limit_is_a_bounded_queue() {
    // 4 workers and a limit of 10 let in what 4 workers and 6 waiting places do: the same
    // runs, request for request.
    let (pl, rl) = run_file(&overloaded("fixed-limit", "concurrency_limit: Fixed(10)"));
    let (pq, rq) = run_file(&overloaded("capacity-6", "capacity: 6"));
    for k in [
        "rejected",
        "throughput_rps",
        "wait_mean_s",
        "in_system_mean",
    ] {
        let l = mean(&pl, &rl, "base", |m| m.node("app", k).unwrap());
        let q = mean(&pq, &rq, "base", |m| m.node("app", k).unwrap());
        assert_eq!(l, q, "{k}");
    }
    let limited = mean(&pl, &rl, "base", |m| {
        m.node("app", "concurrency_limited").unwrap()
    });
    assert!(limited > 0.4 * mean(&pl, &rl, "base", |m| m.node("app", "arrivals").unwrap()));
    let limit = mean(&pl, &rl, "base", |m| {
        m.node("app", "concurrency_limit_mean").unwrap()
    });
    assert_eq!(limit, 10.0);
}

#[test]
fn aimd_finds_the_concurrency_that_keeps_answers_under_its_timeout() {
    // 400/s of capacity offered 800/s: a request let in behind 40 others waits 100 ms, so
    // the limit climbs to ~40, then every answer let in above it comes back slow and cuts
    // it by 10%. Those answers return together, a burst of cuts down to the floor (the
    // library's default minimum, 20): a sawtooth between 20 and 40.
    let (plan, results) = run_file(&overloaded(
        "aimd",
        r#"concurrency_limit: Aimd(timeout: "100ms")"#,
    ));
    let m = |k: &str| mean(&plan, &results, "base", |m| m.node("app", k).unwrap());
    let limit = m("concurrency_limit_mean");
    // Little: 400/s × 100 ms = 40 requests inside at the timeout.
    assert!(limit > 20.0 && limit < 40.0, "{limit}");
    // Requests let in before a cut stay in: answers hover around the timeout, not below it.
    let sojourn = m("sojourn_mean_s");
    assert!(sojourn > 0.07 && sojourn < 0.13, "{sojourn}");
    assert!((m("throughput_rps") - 400.0).abs() < 2.0);
    assert_eq!(m("rejected"), m("concurrency_limited"));
}
