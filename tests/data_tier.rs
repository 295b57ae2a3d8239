//! The data tier: connection pools (and, as they come, replicas, shards and queues).

mod common;

use common::run_file;

fn write(name: &str, body: &str) -> std::path::PathBuf {
    common::write("data_tier", name, body)
}

/// `rate` requests/s to an app of 50 workers whose one step queries a 100 ms database
/// through a pool with `pool` fields.
fn pooled(name: &str, rate: f64, pool: &str) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "app", arrivals: Poisson(rate: {rate})),
                "app": Service(workers: 50, service_time: Deterministic(value: "1us"),
                    handler: [Work, Call(target: "db", pool: Pool({pool}))]),
                "db": Service(workers: 100, service_time: Deterministic(value: "100ms")),
            }}),
            duration: "200s", warmup: "20s", seed: 89,
        )"#
        ),
    );
    let (_, r) = run_file(&p);
    r.units[0].metrics.clone()
}

#[test]
fn a_pool_caps_the_queries_in_flight_and_queues_the_rest() {
    // 3 connections of 100 ms: 30 queries/s at most. At 20/s the callers rarely wait.
    let m = pooled("pool-light", 20.0, "size: 3");
    let db = |k: &str| m.node("db", k).unwrap();
    assert!(db("in_system_mean") <= 3.0 + 1e-9);
    assert!(m.node("app", "pool_wait_mean_s").unwrap() < 0.1);
    assert_eq!(db("wait_mean_s"), 0.0, "the database itself never queues");
    // At 40/s the pool is exhausted: the database serves 30/s with all 3 connections busy,
    // and the rest wait in the app, holding its workers, until its 50 workers are gone.
    let m = pooled("pool-exhausted", 40.0, "size: 3");
    let db = |k: &str| m.node("db", k).unwrap();
    assert!(
        (db("throughput_rps") - 30.0).abs() < 0.1,
        "{}",
        db("throughput_rps")
    );
    assert!((db("in_system_mean") - 3.0).abs() < 0.01);
    assert!(m.node("app", "pool_wait_mean_s").unwrap() > 1.0);
    assert!(
        m.node("app", "wait_mean_s").unwrap() > 1.0,
        "workers ran out"
    );
}

#[test]
fn an_acquire_timeout_fails_the_call_unsent() {
    // Exhausted as above, but nobody waits more than 200 ms for a connection: the calls
    // that would wait longer fail, the database still serves 30/s.
    let m = pooled("pool-timeout", 40.0, r#"size: 3, acquire_timeout: "200ms""#);
    let app = |k: &str| m.node("app", k).unwrap();
    assert!(app("pool_wait_mean_s") <= 0.2);
    let timeouts = app("pool_timeouts");
    assert!(timeouts > 1000.0, "{timeouts}");
    assert_eq!(app("failed"), timeouts, "each timeout fails its request");
    assert!((m.node("db", "throughput_rps").unwrap() - 30.0).abs() < 0.2);
    assert_eq!(app("wait_mean_s"), 0.0, "workers are never all waiting");
}
