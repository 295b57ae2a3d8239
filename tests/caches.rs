//! Caches: hit ratios against theory (Che's approximation for LRU, its FIFO counterpart,
//! TTL expiry), invalidation and write policies, and stampede protection.

mod common;

use common::{mean_se, metrics_of, per_rep, run_file};
use scalesim::theory;

fn write(name: &str, body: &str) -> std::path::PathBuf {
    common::write("caches", name, body)
}

/// Reads of `keys` at `rate` per second through a cache with `cache` fields, in front of
/// a database that answers in 1 µs (fills are as good as instant).
fn cached(name: &str, rate: f64, keys: &str, cache: &str, extra: &str) -> std::path::PathBuf {
    write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "cache", arrivals: Poisson(rate: {rate}), keys: {keys} {extra}),
                "cache": Cache(backend: "db", {cache}),
                "db": Service(workers: 10000, service_time: Deterministic(value: "1us")),
            }}),
            duration: "200s", warmup: "20s", seed: 79, replications: 4,
        )"#
        ),
    )
}

/// The hit ratio over replications: (mean, standard error).
fn hit_ratio(p: &std::path::Path) -> (f64, f64) {
    let (_, r) = run_file(p);
    mean_se(&per_rep(&r, "cache", "hit_ratio"))
}

#[test]
fn lru_agrees_with_ches_approximation() {
    for (s, n, c) in [(0.8, 1000u64, 100u64), (1.2, 5000, 200)] {
        let p = cached(
            &format!("lru-{s}-{c}"),
            2000.0,
            &format!("Zipf(s: {s}, n: {n})"),
            &format!("capacity: {c}"),
            "",
        );
        let (got, se) = hit_ratio(&p);
        let want = theory::che_lru(&theory::zipf(n, s), c as f64);
        // ~360k reads per replication: se ≈ 0.001. Che's approximation itself is within a
        // few thousandths at these sizes.
        assert!(
            (got - want).abs() < 0.01,
            "s {s}, C {c}: {got} ± {se} vs Che {want}"
        );
        assert!(se < 0.002, "{se}");
    }
}

#[test]
fn fifo_agrees_with_its_approximation_and_lfu_beats_lru() {
    let zipf = "Zipf(s: 0.9, n: 2000)";
    let (fifo, _) = hit_ratio(&cached(
        "fifo",
        2000.0,
        zipf,
        "capacity: 150, eviction: Fifo",
        "",
    ));
    let want = theory::che_fifo(&theory::zipf(2000, 0.9), 150.0);
    assert!((fifo - want).abs() < 0.01, "{fifo} vs {want}");
    let (lru, _) = hit_ratio(&cached("lru", 2000.0, zipf, "capacity: 150", ""));
    let (lfu, _) = hit_ratio(&cached(
        "lfu",
        2000.0,
        zipf,
        "capacity: 150, eviction: Lfu",
        "",
    ));
    // Under independent requests FIFO < LRU < LFU (LFU keeps the most popular keys).
    assert!(fifo < lru - 0.01 && lru < lfu - 0.01, "{fifo} {lru} {lfu}");
}

#[test]
fn ttl_expiry_matches_the_renewal_formula() {
    // 100 keys at 10/s each, entries living 0.5 s from their fill, room for all: a read
    // hits unless it is the first since the entry expired, so h = λT / (1 + λT) = 5/6.
    let (got, se) = hit_ratio(&cached(
        "ttl",
        1000.0,
        "Uniform(n: 100)",
        r#"capacity: 1000, ttl: "500ms""#,
        "",
    ));
    let want = 5.0 / 6.0;
    assert!(
        (got - want).abs() < 5.0 * se.max(0.001),
        "{got} ± {se} vs {want}"
    );
}

#[test]
fn writes_invalidate_or_update_their_key() {
    // 20% writes: with invalidation, a read misses exactly when the last operation on its
    // key was a write, so the hit ratio is 0.8. Writing through keeps every key warm.
    let classes =
        r#", classes: [(name: "read", weight: 0.8), (name: "write", weight: 0.2, write: true)]"#;
    let (inv, se) = hit_ratio(&cached(
        "invalidate",
        1000.0,
        "Uniform(n: 100)",
        "capacity: 1000",
        classes,
    ));
    assert!((inv - 0.8).abs() < 5.0 * se.max(0.001), "{inv} ± {se}");
    let (through, _) = hit_ratio(&cached(
        "write-through",
        1000.0,
        "Uniform(n: 100)",
        "capacity: 1000, writes: WriteThrough",
        classes,
    ));
    assert_eq!(through, 1.0);
    // Write-behind answers at once and writes each dirty key once per delay.
    let p = cached(
        "write-behind",
        1000.0,
        "Uniform(n: 100)",
        r#"capacity: 1000, writes: WriteBehind("1s")"#,
        classes,
    );
    let m = &metrics_of(&p);
    let (writes, flushes) = (
        m.node("cache", "writes").unwrap(),
        m.node("cache", "flushes").unwrap(),
    );
    // 200 writes/s over 100 keys, 2/s per key: a key's cycle is a wait for its first write
    // (0.5 s on average) and the 1 s delay, so 100 / 1.5 s ≈ 66.7 flushes/s, not 200.
    let per_s = flushes / 180.0;
    assert!(
        (per_s - 100.0 / 1.5).abs() < 2.0,
        "{per_s} flushes/s for {writes} writes"
    );
    assert_eq!(
        m.node("db", "arrivals").unwrap(),
        m.node("cache", "fills").unwrap() + flushes
    );
}

/// One hot key at 1,000 reads/s, cached for 10 s, that takes 100 ms to compute.
fn stampede(name: &str, fields: &str) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "cache", arrivals: Constant(rate: 1000.0), keys: Uniform(n: 1)),
                "cache": Cache(backend: "db", capacity: 10, ttl: "10s" {fields}),
                "db": Service(workers: 1000, service_time: Deterministic(value: "100ms")),
            }}),
            duration: "65s", warmup: "5s", seed: 83,
        )"#
        ),
    );
    metrics_of(&p)
}

#[test]
fn coalescing_turns_a_stampede_into_one_read() {
    // Without coalescing, every read in the 100 ms the recompute takes misses and goes to
    // the database: ~100 at once.
    let m = stampede("stampede", "");
    let max = m.node("cache", "fills_in_flight_max").unwrap();
    assert!((95.0..=101.0).contains(&max), "{max}");
    // With it: exactly one read per expiry, the rest wait for it.
    let m = stampede("coalesced", ", coalesce: true");
    assert_eq!(m.node("cache", "fills_in_flight_max").unwrap(), 1.0);
    let fills = m.node("cache", "fills").unwrap();
    // Expiries at ~10.1 s, 20.2 s, …: six in the 60 s measured.
    assert_eq!(fills, 6.0);
    assert!(m.node("cache", "coalesced").unwrap() > 500.0);
    assert_eq!(m.node("db", "arrivals").unwrap(), fills);
    // XFetch refreshes the hot key before it expires: no reader waits on a miss.
    let m = stampede("xfetch", ", early_refresh: 1.0");
    assert_eq!(m.node("cache", "misses").unwrap(), 0.0);
    assert!(m.node("cache", "early_refreshes").unwrap() >= 5.0);
}

#[test]
fn an_edge_cache_serves_cacheable_classes_and_passes_the_rest() {
    // A CDN in front of a balancer: `static` pages (10 keys) are cached, `api` calls always
    // reach the origin.
    let p = write(
        "edge",
        r#"Experiment(
            name: "edge",
            model: Model(nodes: {
                "users": Client(target: "cdn", arrivals: Poisson(rate: 500.0), keys: Uniform(n: 10),
                    classes: [(name: "static", weight: 0.6), (name: "api", weight: 0.4)]),
                "cdn": Cache(backend: "lb", capacity: 100, ttl: "60s", lookup: Deterministic(value: "1ms"),
                    classes: ["static"]),
                "lb": Balancer(target: "origin", algorithm: LeastOutstanding),
                "origin": Service(replicas: 2, workers: 8, service_time: Exponential(mean: "10ms")),
            }),
            duration: "200s", warmup: "20s", seed: 109,
        )"#,
    );
    let m = &metrics_of(&p);
    let c = |k: &str| m.node("cdn", k).unwrap();
    // 10 keys refreshed once a minute: 3 misses per key in 180 s, out of ~54k reads.
    assert!(c("misses") <= 40.0, "{}", c("misses"));
    assert!(c("hit_ratio") > 0.999);
    let origin = m.node("origin", "arrivals").unwrap();
    let api = m.node("users", "api.requests").unwrap();
    assert!(
        (origin - api - c("misses")).abs() < 5.0,
        "{origin} vs {api} + misses"
    );
    // Hits cost the lookup only; api calls the origin's ~10 ms.
    assert!(m.node("users", "static.latency_p50_s").unwrap() < 0.0015);
    assert!(m.node("users", "api.latency_p50_s").unwrap() > 0.005);
}

/// 1,000 requests/s over 100 keys, 20% writes, through a write-behind cache (1 s) in front
/// of a database of `db` fields, with `faults`.
fn behind(name: &str, db: &str, faults: &str) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "cache", arrivals: Poisson(rate: 1000.0), keys: Uniform(n: 100),
                    classes: [(name: "read", weight: 0.8), (name: "write", weight: 0.2, write: true)]),
                "cache": Cache(backend: "db", capacity: 1000, writes: WriteBehind("1s")),
                "db": Service(workers: 50, service_time: Deterministic(value: "1ms") {db}),
            }}),
            faults: [{faults}],
            duration: "200s", warmup: "20s", seed: 31,
        )"#
        ),
    );
    metrics_of(&p)
}

#[test]
fn a_crashed_cache_loses_its_dirty_keys_and_sends_everything_to_the_backend() {
    // Down from 100 s for 10 s: the keys written behind and not flushed are lost. A key's
    // cycle is a wait for its first write (0.5 s) then the 1 s delay, dirty for the delay:
    // 2/3 of the 100 keys (≈ 67) are dirty at any instant.
    let m = behind(
        "cache-crash",
        "",
        r#"Crash(node: "cache", at: "100s", for: "10s")"#,
    );
    let c = |k: &str| m.node("cache", k).unwrap();
    let lost = c("lost_writes");
    // Each key dirty with probability 2/3: sd 4.7 over 100 keys.
    assert!((lost - 66.7).abs() < 4.0 * 4.7, "{lost} dirty keys lost");
    // While down every call goes to the database: 10 s × 1,000/s.
    let bypassed = c("bypassed");
    assert!((bypassed - 10_000.0).abs() < 4.0 * 100.0, "{bypassed}");
    // Back up, the cache starts cold: the misses after the crash refill it (100 keys).
    let control = behind("cache-no-crash", "", "");
    let extra_misses = c("misses") - control.node("cache", "misses").unwrap();
    assert!(
        extra_misses > 50.0,
        "{extra_misses} more misses than without the crash"
    );
    assert_eq!(m.get("failed").unwrap(), 0.0);
}

#[test]
fn failed_flushes_are_retried_and_nothing_is_lost_without_a_crash() {
    // The database fails half its calls from 100 s for 20 s: flushes fail, and each dirty
    // key is flushed again after the delay until it lands.
    let m = behind(
        "flush-retry",
        "",
        r#"Errors(node: "db", at: "100s", for: "20s", rate: 0.5)"#,
    );
    let c = |k: &str| m.node("cache", k).unwrap();
    // A key's cycle is 1.5 s after a flush that lands (a wait for its first write, then the
    // delay) and 1 s after one that fails (it is still dirty): 1.25 s on average, so 80
    // flushes/s for 20 s, half failing: ≈ 800.
    let failures = c("flush_failures");
    assert!(
        (failures - 800.0).abs() < 4.0 * 28.0,
        "{failures} failed flushes"
    );
    assert_eq!(c("lost_writes"), 0.0);
    // The retries are extra flushes: about one per failure beyond the control's count.
    let control = behind("flush-retry-control", "", "");
    let extra = c("flushes") - control.node("cache", "flushes").unwrap();
    assert!(extra > 0.0, "{extra}");
}

/// 1,000 requests/s over 100 keys, 10% writes, through a cache-aside cache (invalidation,
/// single-flight fills) in front of a database answering in `db`.
fn racing(name: &str, db: &str) -> scalesim::metrics::RunMetrics {
    let p = write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "cache", arrivals: Poisson(rate: 1000.0), keys: Uniform(n: 100),
                    classes: [(name: "read", weight: 0.9), (name: "write", weight: 0.1, write: true)]),
                "cache": Cache(backend: "db", capacity: 1000, coalesce: true),
                "db": Service(workers: 10000, service_time: Deterministic(value: "{db}")),
            }}),
            duration: "200s", warmup: "20s", seed: 83, replications: 2,
        )"#
        ),
    );
    metrics_of(&p)
}

#[test]
fn a_fill_that_races_a_write_leaves_a_stale_entry() {
    // A miss fills its key with a 100 ms read (one at a time: later misses wait for it); a
    // write of the key completing meanwhile (each key's writes complete once a second,
    // Poisson: P = 1 − e^(−0.1) = 9.5%) invalidates the entry before the old value is
    // stored, so it stays stale until the next write completes. Stale and fresh entries
    // both live until then (memoryless): 9.5% of hits are stale.
    let m = racing("stale-race", "100ms");
    let c = |k: &str| m.node("cache", k).unwrap();
    let f = c("stale_hit_fraction");
    let want = 1.0 - (-0.1f64).exp();
    eprintln!("stale fraction {f} want {want}");
    assert!((f - want).abs() < 0.01, "{f} of hits stale, want {want}");
    // A 1 µs read leaves no window for the race.
    let m = racing("stale-race-fast", "1us");
    assert!(m.node("cache", "stale_hits").unwrap() < 5.0);
}

#[test]
fn a_slowed_cache_looks_up_slower() {
    // Lookups of 1 ms, ten times slower from 100 s on: every hit's latency is its lookup,
    // so the mean latency goes from 1 ms to about (80 × 1 + 100 × 10) / 180 = 6 ms.
    let p = write(
        "cache-slow",
        r#"Experiment(
            name: "cache-slow",
            model: Model(nodes: {
                "users": Client(target: "cache", arrivals: Poisson(rate: 100.0), keys: Uniform(n: 10)),
                "cache": Cache(backend: "db", capacity: 100, lookup: Deterministic(value: "1ms")),
                "db": Service(workers: 100, service_time: Deterministic(value: "1us")),
            }),
            faults: [Slowdown(node: "cache", at: "100s", for: "1h", factor: 10.0)],
            duration: "200s", warmup: "20s", seed: 5,
        )"#,
    );
    let mean = metrics_of(&p).get("latency_mean_s").unwrap();
    assert!((mean - 0.006).abs() < 0.0005, "mean latency {mean}");
}
