//! The data tier: connection pools (and, as they come, replicas, shards and queues).

mod common;

use common::metrics_of;

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
    metrics_of(&p)
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
    metrics_of(&p)
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

/// Messages published at `rate`/s into a queue with `queue` fields, consumed by `worker`.
fn queued(
    name: &str,
    rate: &str,
    queue: &str,
    worker: &str,
    extra: &str,
) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "producer": Client(target: "q", arrivals: {rate}),
                "q": Queue(consumer: "worker" {queue}),
                "worker": Service({worker}),
            }}),
            duration: "400s", warmup: "20s", seed: 101 {extra},
        )"#
        ),
    );
    metrics_of(&p)
}

#[test]
fn a_queue_in_front_of_workers_is_an_mmc_queue() {
    // Poisson 50/s, 4 workers at 50 ms (ρ = 0.625): a message's delay from publishing to
    // acknowledgement is the M/M/4 wait plus its service.
    let m = queued(
        "mm4",
        "Poisson(rate: 50.0)",
        "",
        r#"workers: 4, service_time: Exponential(mean: "50ms")"#,
        "",
    );
    let want = scalesim::theory::mmc_wait(4, 50.0, 20.0) + 0.05;
    let got = m.node("q", "delay_mean_s").unwrap();
    // ~19k messages: se ≈ 0.8 ms.
    assert!((got - want).abs() < 0.004, "{got} vs {want}");
    let q = |k: &str| m.node("q", k).unwrap();
    assert!(
        (q("acked") - q("deliveries")).abs() <= 10.0,
        "only those in flight at the end"
    );
    // The producer is answered at once.
    assert!(m.node("producer", "latency_p99_s").unwrap() < 1e-6);
}

#[test]
fn failed_deliveries_come_back_then_go_to_the_dead_letter_queue() {
    // Half the deliveries fail; each message gets 3: 1/8 of them end dead-lettered.
    let m = queued(
        "dlq",
        "Poisson(rate: 20.0)",
        r#", visibility_timeout: "1s", max_deliveries: 3"#,
        r#"workers: 10, service_time: Deterministic(value: "10ms")"#,
        r#", faults: [Errors(node: "worker", at: "0s", for: "1h", rate: 0.5)]"#,
    );
    let q = |k: &str| m.node("q", k).unwrap();
    let dead = q("dead_letters") / q("published");
    assert!((dead - 0.125).abs() < 0.01, "{dead}");
    assert!(q("redeliveries") > 0.5 * q("published"));
    // Each redelivery waited out its visibility timeout.
    assert!(q("delay_mean_s") > 0.4);
}

#[test]
fn a_consumer_slower_than_the_visibility_timeout_does_the_work_twice() {
    // Each message takes 2 s, visibility is 1.5 s: every message is delivered again at
    // 1.5 s, and the first delivery's acknowledgement comes late, at 2 s.
    let m = queued(
        "late",
        "Constant(rate: 5.0)",
        r#", visibility_timeout: "1500ms""#,
        r#"workers: 100, service_time: Deterministic(value: "2s")"#,
        "",
    );
    let q = |k: &str| m.node("q", k).unwrap();
    let n = q("published");
    assert!(n > 1800.0);
    // Counts after warm-up, give or take the messages at the edges of the window.
    assert!(
        (q("late_acks") - n).abs() <= 15.0,
        "{} of {n}",
        q("late_acks")
    );
    assert!((q("redeliveries") - n).abs() <= 15.0);
    assert!((q("delay_mean_s") - 2.0).abs() < 1e-6);
    // Twice the work for the consumer.
    assert!((m.node("worker", "throughput_rps").unwrap() - 10.0).abs() < 0.1);
}

#[test]
fn partitions_cap_the_parallelism() {
    // 2 ordered partitions of 100 ms messages: at most 20/s, whatever the 10 workers.
    // (Keys pick partitions: without keys every message would go to one.)
    let m = queued(
        "partitions",
        "Poisson(rate: 30.0), keys: Uniform(n: 1000)",
        ", partitions: 2",
        r#"workers: 10, service_time: Deterministic(value: "100ms")"#,
        "",
    );
    let w = |k: &str| m.node("worker", k).unwrap();
    assert!(w("in_system_mean") <= 2.0 + 1e-9);
    assert!(
        (w("throughput_rps") - 20.0).abs() < 0.5,
        "{}",
        w("throughput_rps")
    );
}

#[test]
fn range_shards_take_their_keys_share_and_a_hot_key_heats_one_shard() {
    // Zipf(1.1) keys over 1,000 keys, range-sharded in 4: shard i gets keys
    // [250 i, 250 (i + 1)), so the first shard takes the hot head of the distribution.
    let p = write(
        "shards",
        r#"Experiment(
            name: "shards",
            model: Model(nodes: {
                "users": Client(target: "lb", arrivals: Poisson(rate: 2000.0), keys: Zipf(s: 1.1, n: 1000)),
                "lb": Balancer(target: "db", algorithm: ShardByRange(keys: 1000)),
                "db": Service(replicas: 4, workers: 8, service_time: Exponential(mean: "1ms")),
            }),
            duration: "100s", warmup: "10s", seed: 103,
        )"#,
    );
    let m = &metrics_of(&p);
    let z = scalesim::theory::zipf(1000, 1.1);
    let total: f64 = (0..4)
        .map(|i| m.node("lb", &format!("replica{i}.requests")).unwrap())
        .sum();
    for i in 0..4 {
        let want: f64 = z[250 * i..250 * (i + 1)].iter().sum();
        let got = m.node("lb", &format!("replica{i}.requests")).unwrap() / total;
        // ~180k requests: se < 0.0012.
        assert!((got - want).abs() < 0.005, "shard {i}: {got} vs {want}");
    }
    // Hash sharding keeps a key on one shard: one key, one busy replica.
    let hashed = std::fs::read_to_string(&p)
        .unwrap()
        .replace("ShardByRange(keys: 1000)", "ShardByHash")
        .replace("Zipf(s: 1.1, n: 1000)", "Uniform(n: 1)");
    let m = &metrics_of(&write("shards-hash", &hashed));
    let busy: Vec<f64> = (0..4)
        .map(|i| m.node("lb", &format!("replica{i}.requests")).unwrap())
        .collect();
    assert_eq!(busy.iter().filter(|n| **n > 0.0).count(), 1, "{busy:?}");
}

#[test]
fn consumers_scale_with_the_backlog() {
    // A burst of messages (200/s for a minute against 2 consumers' 40/s): the consumer
    // service's autoscaler on queue length adds replicas, then the backlog drains.
    let p = write(
        "queue-autoscale",
        r#"Experiment(
            name: "queue-autoscale",
            model: Model(nodes: {
                "producer": Client(target: "q", arrivals: Schedule(steps: [
                    Step(at: "0s", rate: 20.0), Step(at: "2m", rate: 200.0), Step(at: "3m", rate: 20.0)])),
                "q": Queue(consumer: "worker"),
                "worker": Service(replicas: 2, workers: 2, service_time: Deterministic(value: "100ms"),
                    autoscaler: Autoscaler(min: 2, max: 20, metric: QueueLength(10.0),
                        policy: Hpa(sync_period: "5s"))),
            }),
            duration: "10m", warmup: "1m", seed: 107,
        )"#,
    );
    let m = &metrics_of(&p);
    let w = |k: &str| m.node("worker", k).unwrap();
    assert!(
        w("replicas_desired_max") >= 8.0,
        "{}",
        w("replicas_desired_max")
    );
    assert!(w("scale_events") > 0.0);
    let q = |k: &str| m.node("q", k).unwrap();
    assert!(
        (q("acked") - q("published")).abs() < 10.0,
        "the backlog drained"
    );
}

/// The replicated database above, losing its primary at 100 s (for `down`, or for good).
fn primary_lost(
    name: &str,
    lag: &str,
    failover: &str,
    down: &str,
) -> scalesim::metrics::RunMetrics {
    let faults = format!(r#"Crash(node: "db", at: "100s", for: {down})"#);
    lost_with(name, lag, failover, &faults)
}

/// The replicated database above with `faults`.
fn lost_with(name: &str, lag: &str, failover: &str, faults: &str) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "db", arrivals: Poisson(rate: 1000.0),
                    keys: Uniform(n: 100),
                    classes: [(name: "read", weight: 0.9), (name: "write", weight: 0.1, write: true)]),
                "db": Database(primary: "primary", replicas: "replica", lag: {lag}, failover: {failover}),
                "primary": Service(workers: 100, service_time: Deterministic(value: "10us")),
                "replica": Service(replicas: 2, workers: 100, service_time: Deterministic(value: "10us")),
            }}),
            faults: [{faults}],
            duration: "200s", warmup: "20s", seed: 97,
        )"#
        ),
    );
    metrics_of(&p)
}

#[test]
fn a_failover_loses_the_writes_inside_the_replication_lag() {
    // 100 writes/s, applied by the replicas 2 s after they commit: at the instant the
    // primary is lost, the writes of the last 2 s (≈ 200, Poisson sd 14) exist only on it.
    // The promotion 30 s later loses them; until then every write fails (≈ 3,000).
    let m = primary_lost(
        "failover",
        r#"Deterministic(value: "2s")"#,
        r#"Some("30s")"#,
        "None",
    );
    let db = |k: &str| m.node("db", k).unwrap();
    let lost = db("lost_writes");
    assert!((lost - 200.0).abs() < 4.0 * 14.2, "RPO: {lost} writes lost");
    let failed = db("failed_writes");
    assert!(
        (failed - 3000.0).abs() < 4.0 * 55.0,
        "{failed} writes failed"
    );
    assert_eq!(db("failovers"), 1.0);
    // Writes fail only while no primary takes them; reads never do (the replicas answer).
    assert_eq!(m.get("failed").unwrap(), failed);
    // The promoted primary has no replica behind it: no stale read after the promotion.
    let lag_short = primary_lost(
        "failover-short",
        r#"Deterministic(value: "200ms")"#,
        r#"Some("30s")"#,
        "None",
    );
    let lost = lag_short.node("db", "lost_writes").unwrap();
    assert!(
        (lost - 20.0).abs() < 4.0 * 4.5,
        "RPO with a 200 ms lag: {lost}"
    );
}

#[test]
fn without_failover_writes_wait_for_the_primary_and_none_are_lost() {
    // The primary restarts after 60 s with everything it committed: ≈ 6,000 writes fail,
    // none is lost, and writes succeed again afterwards.
    let m = primary_lost(
        "restart",
        r#"Deterministic(value: "2s")"#,
        "None",
        r#"Some("60s")"#,
    );
    let db = |k: &str| m.node("db", k).unwrap();
    assert_eq!(db("lost_writes"), 0.0);
    assert_eq!(db("failovers"), 0.0);
    let failed = db("failed_writes");
    assert!(
        (failed - 6000.0).abs() < 4.0 * 78.0,
        "{failed} writes failed"
    );
    let writes = db("writes");
    assert!((writes - 18_000.0).abs() < 4.0 * 134.0, "{writes}");
}

#[test]
fn a_queue_that_is_down_refuses_publishes_and_keeps_what_it_stored() {
    // Publishes at 50/s; the queue is down from 100 s for 20 s: ≈ 1,000 refused. The 1 s
    // consumer's acknowledgements sent while it is down are lost, and those messages come
    // back after the 30 s visibility timeout; every stored message is acknowledged.
    let m = queued(
        "queue-down",
        "Poisson(rate: 50.0)",
        r#", visibility_timeout: "30s""#,
        r#"workers: 100, service_time: Deterministic(value: "1s")"#,
        r#", faults: [Crash(node: "q", at: "100s", for: "20s")]"#,
    );
    let q = |k: &str| m.node("q", k).unwrap();
    let refused = q("refused");
    assert!((refused - 1000.0).abs() < 4.0 * 32.0, "{refused} refused");
    // Deliveries in flight at the crash (≈ 50, each 1 s) answer into the outage.
    let lost = q("lost_acks");
    assert!(
        (lost - 50.0).abs() < 4.0 * 7.1,
        "{lost} acknowledgements lost"
    );
    assert!(q("redeliveries") >= lost - 1.0);
    assert_eq!(m.get("failed").unwrap(), refused);
    // Published minus still in the queue at the end: all acknowledged.
    assert!(
        q("published") - q("acked") < 80.0,
        "{} vs {}",
        q("published"),
        q("acked")
    );
}

#[test]
fn a_primary_back_before_its_failover_cancels_it() {
    // Lost at 100 s for 10 s (the 30 s failover not due yet), lost again at 120 s: the
    // promotion comes 30 s after the second loss, not at the first loss's 130 s. Writes
    // fail for 10 + 30 s: ≈ 4,000.
    let m = lost_with(
        "lost-twice",
        r#"Deterministic(value: "2s")"#,
        r#"Some("30s")"#,
        r#"Crash(node: "db", at: "100s", for: Some("10s")), Crash(node: "db", at: "120s")"#,
    );
    let db = |k: &str| m.node("db", k).unwrap();
    assert_eq!(db("failovers"), 1.0);
    let failed = db("failed_writes");
    assert!(
        (failed - 4000.0).abs() < 4.0 * 64.0,
        "{failed} writes failed"
    );
}

/// Users at `rate`/s calling `entry` in a model with a 100 ms database `db` of 100 workers
/// whose connections are `conns`, and a PgBouncer `pgb` with `pooler` fields.
fn connected(
    name: &str,
    rate: f64,
    entry: &str,
    conns: &str,
    pooler: &str,
) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "{entry}", arrivals: Poisson(rate: {rate})),
                "app": Service(workers: 1000, service_time: Deterministic(value: "1us"),
                    handler: [Work, Call(target: "db")]),
                "pooled_app": Service(workers: 1000, service_time: Deterministic(value: "1us"),
                    handler: [Work, Call(target: "db", pool: Pool(size: 1000))]),
                "pgb": Pooler(target: "db", pool_mode: Transaction, {pooler}),
                "db": Service(workers: 100, service_time: Deterministic(value: "100ms"),
                    connections: ({conns})),
            }}),
            duration: "400s", warmup: "20s", seed: 61,
        )"#
        ),
    );
    metrics_of(&p)
}

#[test]
fn max_connections_refuses_the_calls_beyond_it_as_erlangs_loss_formula_says() {
    // Each call holds a connection for its 100 ms; at most 10 at once. Poisson arrivals
    // of 8 Erlangs: PostgreSQL refuses the fraction Erlang B(10, 8) = 12.2%.
    let m = connected("max-connections", 80.0, "db", "max_connections: 10", "");
    let db = |k: &str| m.node("db", k).unwrap();
    let refused = db("connections_refused") / (db("arrivals") + db("connections_refused"));
    let want = scalesim::theory::erlang_b(10, 8.0);
    // ~30k calls: se of the fraction ≈ 0.002.
    assert!((refused - want).abs() < 0.01, "{refused} vs {want}");
    assert_eq!(db("connections_peak"), 10.0);
    assert!(
        (m.get("failed").unwrap() - db("connections_refused")).abs() < 1.0,
        "a refused connection is a failed call"
    );
}

#[test]
fn a_new_connection_pays_its_setup_and_a_pooled_one_does_not() {
    let conns = r#"max_connections: 100, setup: Deterministic(value: "5ms")"#;
    let fresh = connected("setup-fresh", 20.0, "app", conns, "");
    let pooled = connected("setup-pooled", 20.0, "pooled_app", conns, "");
    let p50 = |m: &scalesim::metrics::RunMetrics| m.node("users", "latency_p50_s").unwrap();
    // Deterministic: 100 ms of query, plus 5 ms of setup on a connection per call.
    assert!((p50(&fresh) - 0.105).abs() < 0.001, "{}", p50(&fresh));
    assert!((p50(&pooled) - 0.100).abs() < 0.001, "{}", p50(&pooled));
    assert_eq!(fresh.node("db", "connection_setup_mean_s").unwrap(), 0.005);
    assert!(fresh.node("db", "connections_opened").unwrap() > 7000.0);
    assert_eq!(pooled.node("db", "connections_opened").unwrap(), 0.0);
}

#[test]
fn a_pooler_runs_queries_on_its_pool_and_opens_each_server_connection_once() {
    let conns = r#"max_connections: 100, setup: Deterministic(value: "5ms")"#;
    // 3 server connections of 100 ms: 30 queries/s at most; at 40/s the rest wait at the
    // pooler (PgBouncer's default query_wait_timeout of 120 s never passes: the waits
    // grow to 100 s over the run, and the queries beyond are refused at 100 clients).
    let m = connected("pgb-3", 40.0, "pgb", conns, "default_pool_size: 3");
    let db = |k: &str| m.node("db", k).unwrap();
    assert!(
        (db("throughput_rps") - 30.0).abs() < 0.1,
        "{}",
        db("throughput_rps")
    );
    assert_eq!(db("connections_peak"), 3.0);
    assert_eq!(
        db("connections_opened"),
        0.0,
        "opened before the warm-up ended, then kept"
    );
    let pgb = |k: &str| m.node("pgb", k).unwrap();
    assert_eq!(pgb("server_connections"), 3.0);
    assert!(pgb("wait_mean_s") > 1.0);
    assert!(pgb("clients_refused") > 0.0, "max_client_conn: 100");
    // Below the pool's capacity nothing waits long, and the clients never run out.
    let m = connected("pgb-light", 20.0, "pgb", conns, "default_pool_size: 3");
    assert!(m.node("pgb", "wait_mean_s").unwrap() < 0.1);
    assert_eq!(m.node("pgb", "clients_refused").unwrap(), 0.0);
}

#[test]
fn a_pooler_fails_queries_after_query_wait_timeout_and_refuses_clients_past_max_client_conn() {
    let conns = "max_connections: 100";
    let m = connected(
        "pgb-wait",
        40.0,
        "pgb",
        conns,
        r#"default_pool_size: 3, query_wait_timeout: "200ms""#,
    );
    let pgb = |k: &str| m.node("pgb", k).unwrap();
    // The 3 connections serve at most 30/s (a little less: the waiting line, never older
    // than 200 ms, sometimes runs dry); every other query gives up after 200 ms (up to
    // those waiting or running at the ends of the window), and nobody waits longer.
    let served = m.node("db", "throughput_rps").unwrap() * 380.0;
    assert!((29.0..=30.0).contains(&(served / 380.0)), "{served}");
    let gave_up = pgb("queries") - served;
    assert!((pgb("wait_timeouts") - gave_up).abs() < 20.0, "{gave_up}");
    assert!(pgb("wait_timeouts") > 8.0 * 380.0);
    assert!(pgb("wait_mean_s") < 0.2);
    assert!(m.node("users", "latency_p99_s").unwrap() <= 0.300 + 1e-6);
    // Clients: a pool larger than the load, 5 clients at most. Each query is a client for
    // its 100 ms, so the pooler is an Erlang loss system of 5 servers at 4 Erlangs.
    let m = connected(
        "pgb-clients",
        40.0,
        "pgb",
        conns,
        "default_pool_size: 50, max_client_conn: 5",
    );
    let pgb = |k: &str| m.node("pgb", k).unwrap();
    let refused = pgb("clients_refused") / (pgb("queries") + pgb("clients_refused"));
    let want = scalesim::theory::erlang_b(5, 4.0);
    assert!((refused - want).abs() < 0.01, "{refused} vs {want}");
}

#[test]
fn a_pooler_that_crashes_fails_its_queries_and_reopens_its_connections() {
    let p = write(
        "pgb-crash",
        r#"Experiment(
            name: "pgb-crash",
            model: Model(nodes: {
                "users": Client(target: "pgb", arrivals: Poisson(rate: 20.0)),
                "pgb": Pooler(target: "db", pool_mode: Transaction, default_pool_size: 3),
                "db": Service(workers: 100, service_time: Deterministic(value: "100ms"),
                    connections: (setup: Deterministic(value: "5ms"))),
            }),
            duration: "200s", warmup: "20s", seed: 62,
            faults: [Crash(node: "pgb", at: "100s", for: "20s")],
        )"#,
    );
    let m = &metrics_of(&p);
    // 20 s down at 20/s: ~400 queries refused, plus the two or so running at the crash.
    let failed = m.node("pgb", "fault_failed").unwrap();
    assert!((failed - 402.0).abs() < 60.0, "{failed}");
    assert_eq!(m.get("failed").unwrap(), failed);
    // Its server connections closed: it set them up again when it came back.
    let opened = m.node("db", "connections_opened").unwrap();
    assert!((1.0..=3.0).contains(&opened), "{opened}");
}

/// A topic read by two consumer groups: `fast` (4 workers at 50 ms, ρ = 0.625 at 50/s)
/// and `slow` (2 workers at 50 ms: 40/s of the 50/s), with `extra` experiment fields.
fn fanned_out(name: &str, extra: &str) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "producer": Client(target: "t", arrivals: Poisson(rate: 50.0)),
                "t": Topic(subscribers: ["fast_q", "slow_q"]),
                "fast_q": Queue(consumer: "fast"),
                "slow_q": Queue(consumer: "slow", concurrency: 2),
                "fast": Service(workers: 4, service_time: Exponential(mean: "50ms")),
                "slow": Service(workers: 2, service_time: Exponential(mean: "50ms")),
            }}),
            duration: "400s", warmup: "20s", seed: 103 {extra},
        )"#
        ),
    );
    metrics_of(&p)
}

#[test]
fn every_consumer_group_reads_every_message_at_its_own_pace() {
    let m = fanned_out("fan-out", "");
    let q = |n: &str, k: &str| m.node(n, k).unwrap();
    assert_eq!(q("fast_q", "published"), q("slow_q", "published"));
    assert_eq!(q("t", "published"), q("fast_q", "published"));
    // The fast group is the M/M/4 queue it would be alone.
    let want = scalesim::theory::mmc_wait(4, 50.0, 20.0) + 0.05;
    let got = q("fast_q", "delay_mean_s");
    assert!((got - want).abs() < 0.004, "{got} vs {want}");
    // The slow group's lag grows by the 10 messages/s it cannot keep up with, 10·t at time
    // t: 2,100 on average over the measured 20–400 s. (It is a random walk of variance
    // (50 + 40)·t; the sd of its time average is √(400 · 90 / 3) ≈ 110.)
    let depth = q("slow_q", "depth_mean");
    assert!((depth - 2100.0).abs() < 350.0, "{depth}");
    assert!(q("slow_q", "acked") < 0.81 * q("slow_q", "published"));
}

#[test]
fn a_publish_fails_when_a_subscriber_queue_is_down_and_the_others_keep_their_copy() {
    let m = fanned_out(
        "fan-out-down",
        r#", faults: [Crash(node: "slow_q", at: "100s", for: "20s")]"#,
    );
    let q = |n: &str, k: &str| m.node(n, k).unwrap();
    // 20 s at 50/s refused by the slow group's queue: the producer sees them fail…
    let refused = q("slow_q", "refused");
    assert!((refused - 1000.0).abs() < 100.0, "{refused}");
    assert_eq!(q("t", "failed"), refused);
    assert_eq!(m.get("failed").unwrap(), refused);
    // …while the fast group stored and read them.
    assert_eq!(q("fast_q", "published") - q("slow_q", "published"), refused);
}

#[test]
fn pools_that_keep_connections_open_hold_them_against_max_connections() {
    // Three app replicas each keep 10 connections open at a database that takes 25: the
    // third replica gets 5. An admin client without a pool finds the database full until
    // a replica is scaled in at 50 s and its 10 close.
    let body = r#"Experiment(
    model: Model(nodes: {
        "users": Client(target: "app", arrivals: Poisson(rate: 100.0)),
        "admin": Client(target: "db", arrivals: Poisson(rate: 5.0)),
        "app": Service(replicas: 3, workers: 8, service_time: Exponential(mean: "1ms"),
            handler: [Work, Call(target: "db", pool: Pool(size: 10, min_idle: 10))]),
        "db": Service(workers: 50, service_time: Exponential(mean: "5ms"),
            connections: (max_connections: 25)),
    }),
    faults: [Scale(node: "app", at: "50s", replicas: 2)],
    duration: "150s",
    warmup: "10s",
    seed: 3,
)"#;
    let m = common::metrics_of(&write("kept-connections", body));
    assert_eq!(m.node("db", "connections_peak"), Some(25.0));
    // The app's calls run on its kept connections (a few at once): none refused.
    assert_eq!(m.node("users", "failed"), Some(0.0));
    let refused = m.node("admin", "failed").unwrap();
    let expected = 5.0 * 40.0;
    assert!(
        (refused - expected).abs() < 4.0 * expected.sqrt(),
        "admin refused {refused} times, expected about {expected}"
    );
    assert_eq!(m.node("db", "connections_refused"), Some(refused));
}
