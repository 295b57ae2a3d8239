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

/// 1,000 requests/s over 100 keys, 10% of them writes, through a database whose replicas
/// apply writes `lag` after they commit.
fn replicated(name: &str, lag: &str, extra: &str) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "db", arrivals: Poisson(rate: 1000.0),
                    keys: Uniform(n: 100),
                    classes: [(name: "read", weight: 0.9), (name: "write", weight: 0.1, write: true)]),
                "db": Database(primary: "primary", replicas: "replica", lag: {lag} {extra}),
                "primary": Service(workers: 100, service_time: Deterministic(value: "10us")),
                "replica": Service(replicas: 2, workers: 100, service_time: Deterministic(value: "10us")),
            }}),
            duration: "300s", warmup: "20s", seed: 97, replications: 3,
        )"#
        ),
    );
    let (_, r) = run_file(&p);
    r.units[0].metrics.clone()
}

#[test]
fn stale_reads_follow_the_age_of_the_last_write() {
    // Each key is written once a second (Poisson); a read is stale when the last write to
    // its key is younger than the 200 ms lag: P = 1 − e^(−1 × 0.2) = 0.181.
    let m = replicated("stale", r#"Deterministic(value: "200ms")"#, "");
    let db = |k: &str| m.node("db", k).unwrap();
    let want = 1.0 - (-0.2f64).exp();
    // ~250k reads: se ≈ 0.001.
    assert!(
        (db("stale_fraction") - want).abs() < 0.006,
        "{} vs {want}",
        db("stale_fraction")
    );
    assert_eq!(db("replica_reads"), db("reads"));
    assert!((m.node("primary", "arrivals").unwrap() - db("writes")).abs() < 1.0);
    // A longer lag, more stale reads.
    let m = replicated("stale-long", r#"Deterministic(value: "1s")"#, "");
    let want = 1.0 - (-1.0f64).exp();
    let got = m.node("db", "stale_fraction").unwrap();
    assert!((got - want).abs() < 0.01, "{got} vs {want}");
}

#[test]
fn read_your_writes_sends_recent_readers_to_the_primary() {
    // Pinned for 2 s after a write: no read of a key sees a lag of 200 ms, and the share of
    // reads pinned is P(last write < 2 s ago) = 1 − e^(−2) = 0.865, all on the primary.
    let m = replicated(
        "ryw",
        r#"Deterministic(value: "200ms")"#,
        r#", read_your_writes: "2s""#,
    );
    let db = |k: &str| m.node("db", k).unwrap();
    assert_eq!(db("stale_reads"), 0.0);
    let pinned = db("pinned_reads") / db("reads");
    let want = 1.0 - (-2.0f64).exp();
    assert!((pinned - want).abs() < 0.01, "{pinned} vs {want}");
    let primary = m.node("primary", "arrivals").unwrap();
    assert!((primary - db("writes") - db("pinned_reads")).abs() < 1.0);
}

#[test]
fn read_throughput_grows_with_replicas_and_staleness_with_lag() {
    let (plan, results) = common::run(
        "experiments/read-replicas.ron",
        &["replications=1".into(), "duration=90s".into()],
    );
    let at = |variant: &str, replicas: u32, f: &dyn Fn(&scalesim::metrics::RunMetrics) -> f64| {
        let p = plan
            .points
            .iter()
            .position(|p| {
                p.variant == variant
                    && p.params.iter().any(|(k, v)| {
                        k == "replica.replicas" && v.to_string() == replicas.to_string()
                    })
            })
            .unwrap_or_else(|| panic!("no point {variant} {replicas}"));
        f(&results.of_point(p).next().unwrap().metrics)
    };
    let served = |m: &scalesim::metrics::RunMetrics| m.node("replica", "throughput_rps").unwrap();
    // 800 reads/s per replica until the 2,850 offered are all served.
    for (n, want) in [(1, 800.0), (2, 1600.0), (3, 2400.0)] {
        let got = at("lag_100ms", n, &served);
        assert!((got - want).abs() < 0.05 * want, "{n} replicas: {got}");
    }
    assert!((at("lag_100ms", 4, &served) - 2850.0).abs() < 100.0);
    // Staleness does not depend on the replicas, only on the lag.
    let stale = |m: &scalesim::metrics::RunMetrics| m.node("db", "stale_fraction").unwrap();
    for n in 1..=4 {
        assert!(at("lag_1s", n, &stale) > 5.0 * at("lag_100ms", n, &stale));
        assert_eq!(at("lag_1s_ryw", n, &stale), 0.0);
    }
}
