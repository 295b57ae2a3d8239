//! Regions and zones: links between regions on call edges, DNS failover delayed by the
//! health checks and the TTL, weighted records, the loss of a region and what it costs in
//! data (RPO) and time (RTO).

mod common;

use common::metrics_of;

fn write(name: &str, body: &str) -> std::path::PathBuf {
    common::write("regions", name, body)
}

/// Users behind a DNS over two regions' balancers; `east` is lost at 105 s.
fn failover(name: &str, dns: &str, rate: f64) -> scalesim::metrics::RunMetrics {
    let body = format!(
        r#"Experiment(
    model: Model(
        nodes: {{
            "users": Client(target: "dns", arrivals: Poisson(rate: {rate})),
            "dns": Dns(targets: ["lb_east", "lb_west"], {dns}),
            "lb_east": Balancer(target: "app_east"),
            "lb_west": Balancer(target: "app_west"),
            "app_east": Service(replicas: 2, workers: 16, service_time: Exponential(mean: "10ms")),
            "app_west": Service(replicas: 2, workers: 16, service_time: Exponential(mean: "10ms")),
        }},
        network: Network(regions: {{
            "east": ["lb_east", "app_east"],
            "west": ["lb_west", "app_west"],
        }}),
    ),
    faults: [RegionLoss(region: "east", at: "105s")],
    duration: "300s",
    warmup: "10s",
    seed: 8,
)"#
    );
    metrics_of(&write(name, &body))
}

#[test]
fn dns_failover_waits_for_the_health_checks_then_for_the_callers_caches() {
    // Probes every 10 s fail from 110 s on (a crashed replica refuses at once): the third,
    // at 130 s, changes the record. Caches filled at unrelated times keep the old answer
    // for a uniform share of the TTL: the calls still sent to `east` after the change are
    // rate × TTL / 2.
    let checks = "health_check: (interval: \"10s\", failures: 3)";
    let m = failover("ttl30", &format!("ttl: \"30s\", {checks}"), 200.0);
    assert_eq!(m.node("dns", "first_change_s"), Some(130.0));
    assert_eq!(m.node("dns", "changes"), Some(1.0));
    let stale = m.node("dns", "stale").unwrap();
    let expected = 200.0 * 30.0 / 2.0;
    assert!(
        (stale - expected).abs() < 4.0 * expected.sqrt(),
        "{stale} calls followed a stale answer; expected {expected}"
    );
    // Every call to the lost region failed: 25 s of all of them, then the stale ones.
    let failed = m.get("failed").unwrap();
    let before = 200.0 * 25.0;
    assert!(
        (failed - before - stale).abs() < 4.0 * before.sqrt(),
        "{failed} failed; {before} expected before the change and {stale} after"
    );
    // Goodput is back (a 10 s window at 90% of before) when the stale share averages 10%
    // over the window: 25 s + 30 s × (1 − 0.1) − 10 s / 2 = 47 s after the loss.
    let rto = m.node("users", "rto_s").unwrap();
    assert!((rto - 47.0).abs() <= 3.0, "recovery took {rto} s");
    assert_eq!(m.node("users", "recovered"), Some(1.0));

    // Without caching, recovery is the detection: the first whole window after 130 s.
    let m = failover("ttl0", &format!("ttl: \"0s\", {checks}"), 200.0);
    assert_eq!(m.node("dns", "stale"), Some(0.0));
    assert_eq!(m.node("users", "rto_s"), Some(25.0));
    // A tenth of callers ignore the TTL and keep answers 300 s: after the change at 130 s
    // their stale share falls over 300 s, of which the run sees 170 s:
    // stale = 0.1 × rate × ∫₀¹⁷⁰ (1 − t/300) dt.
    let slow = format!(r#"ttl: "0s", slow_clients: (percent: 10.0, cache: "300s"), {checks}"#);
    let m = failover("slow-clients", &slow, 200.0);
    let stale = m.node("dns", "stale").unwrap();
    let expected = 0.1 * 200.0 * (170.0 - 170.0 * 170.0 / 600.0);
    assert!(
        (stale - expected).abs() < 4.0 * expected.sqrt(),
        "{stale} calls from slow clients' caches; expected {expected}"
    );
    // Route 53's defaults (30 s × 3) detect later: the probes at 120, 150 and 180 s fail.
    let m = failover("defaults", "ttl: \"0s\"", 200.0);
    assert_eq!(m.node("dns", "first_change_s"), Some(180.0));
}

#[test]
fn weighted_records_split_by_weight_and_drop_an_unhealthy_target() {
    let dns = r#"policy: Weighted(weights: [1, 3]), ttl: "0s", health_check: (interval: "10s")"#;
    let m = failover("weighted", dns, 400.0);
    // Before the loss (10 s to 105 s) a quarter went east; none after the change at 130 s.
    let east = m.node("dns", "target0.requests").unwrap();
    // (Poisson arrivals thinned by weight: the count is Poisson too.)
    let expected: f64 = 0.25 * 400.0 * (95.0 + 25.0);
    let se = expected.sqrt();
    assert!(
        (east - expected).abs() < 4.0 * se,
        "east got {east}, expected {expected}"
    );
    assert_eq!(m.node("dns", "first_change_s"), Some(130.0));
}

#[test]
fn a_call_between_regions_pays_the_link_each_way_unless_it_gives_its_own() {
    let body = |call_latency: &str| {
        format!(
            r#"Experiment(
    model: Model(
        nodes: {{
            "users": Client(target: "app", arrivals: Poisson(rate: 10.0){call_latency}),
            "app": Service(workers: 100, service_time: Deterministic(value: "10ms")),
        }},
        network: Network(
            regions: {{"a": ["users"], "b": ["app"]}},
            links: [(from: "b", to: "a", latency: Deterministic(value: "30ms"))],
        ),
    ),
    duration: "100s",
)"#
        )
    };
    let m = metrics_of(&write("link", &body("")));
    let p50 = m.get("latency_p50_s").unwrap();
    assert!((p50 - 0.070).abs() < 0.070 * 0.005, "p50 {p50}");
    let own = r#", latency: Deterministic(value: "1ms")"#;
    let m = metrics_of(&write("own-latency", &body(own)));
    let p50 = m.get("latency_p50_s").unwrap();
    assert!((p50 - 0.012).abs() < 0.012 * 0.005, "p50 {p50}");
}

#[test]
fn a_call_between_linked_zones_pays_the_zone_link_before_the_regions() {
    // One region; zones a and b linked by 1 ms, zone c unlinked. `app` is in a, `users` in
    // `users_zone`.
    let run = |users_zone: &str| {
        let zones: Vec<String> = ["b", "c"]
            .iter()
            .map(|z| {
                let members = if *z == users_zone { r#""users""# } else { "" };
                format!(r#""{z}": [{members}]"#)
            })
            .collect();
        let body = format!(
            r#"Experiment(
    model: Model(
        nodes: {{
            "users": Client(target: "app", arrivals: Poisson(rate: 10.0)),
            "app": Service(workers: 100, service_time: Deterministic(value: "10ms")),
        }},
        network: Network(
            regions: {{"r": ["users", "app"]}},
            zones: {{"a": ["app"], {}}},
            links: [(from: "a", to: "b", latency: Deterministic(value: "1ms"))],
        ),
    ),
    duration: "100s",
)"#,
            zones.join(", ")
        );
        let m = metrics_of(&write(&format!("zone-{users_zone}"), &body));
        m.get("latency_p50_s").unwrap()
    };
    let cross = run("b");
    assert!((cross - 0.012).abs() < 0.012 * 0.005, "p50 {cross}");
    // No link between a and c: within one region, no latency.
    let unlinked = run("c");
    assert!((unlinked - 0.010).abs() < 0.010 * 0.005, "p50 {unlinked}");
}

#[test]
fn latency_records_answer_the_nearest_healthy_region() {
    let body = r#"Experiment(
    model: Model(
        nodes: {
            "users": Client(target: "dns", arrivals: Poisson(rate: 100.0)),
            "dns": Dns(targets: ["far", "near"], policy: Latency, ttl: "0s"),
            "far": Service(workers: 100, service_time: Deterministic(value: "10ms")),
            "near": Service(workers: 100, service_time: Deterministic(value: "10ms")),
        },
        network: Network(
            regions: {"home": ["users", "dns"], "x": ["far"], "y": ["near"]},
            links: [
                (from: "home", to: "x", latency: Deterministic(value: "50ms")),
                (from: "home", to: "y", latency: Deterministic(value: "5ms")),
            ],
        ),
    ),
    duration: "60s",
)"#;
    let m = metrics_of(&write("latency-policy", body));
    assert_eq!(m.node("dns", "target0.requests"), Some(0.0));
    assert_eq!(m.node("dns", "target1.requests"), m.get("requests"));
    let p50 = m.get("latency_p50_s").unwrap();
    assert!((p50 - 0.020).abs() < 0.020 * 0.005, "p50 {p50}");
}

#[test]
fn a_failover_loses_exactly_the_writes_inside_the_replication_lag() {
    // 100 writes a second, evenly spaced (from a random phase), each committed 1 ms later
    // and applied by the replica 1 s after its commit. The primary's zone is lost at
    // 50.005 s: the writes committed in the last second before it never reached the
    // replica, 100 of them, the oldest less than one spacing (10 ms) after the second began.
    let body = r#"Experiment(
    model: Model(
        nodes: {
            "users": Client(
                target: "db",
                arrivals: Constant(rate: 100.0),
                classes: [(name: "write", weight: 1.0, write: true)],
            ),
            "db": Database(
                primary: "primary",
                replicas: "replica",
                lag: Deterministic(value: "1s"),
                failover: "10s",
            ),
            "primary": Service(workers: 4, service_time: Deterministic(value: "1ms")),
            "replica": Service(workers: 4, service_time: Deterministic(value: "1ms")),
        },
        network: Network(zones: {"az1": ["primary"], "az2": ["replica"]}),
    ),
    faults: [ZoneLoss(zone: "az1", at: "50.005s")],
    duration: "100s",
    warmup: "1s",
)"#;
    let m = metrics_of(&write("rpo", body));
    assert_eq!(m.node("db", "lost_writes"), Some(100.0));
    let rpo = m.node("db", "rpo_s").unwrap();
    assert!(rpo > 0.99 && rpo <= 1.0, "rpo {rpo}");
    // Writes between the loss and the promotion fail: 10 s of them.
    assert_eq!(m.node("db", "failed_writes"), Some(1000.0));
    assert_eq!(m.node("db", "failovers"), Some(1.0));
}

/// Each zone's share of the calls a zone-aware balancer in zone `a` sent, with replicas
/// `crashed` (of 12, replica i in zone i mod 3) down from the start.
fn zone_shares(name: &str, crashed: &[u32], zone_aware: &str) -> [f64; 3] {
    let faults: Vec<String> = crashed
        .iter()
        .map(|r| format!(r#"Crash(node: "app", replica: {r}, at: "0s")"#))
        .collect();
    let body = format!(
        r#"Experiment(
    model: Model(nodes: {{
        "users": Client(target: "lb", arrivals: Poisson(rate: 1000.0)),
        "lb": Balancer(
            target: "app",
            health_check: HealthCheck(interval: "1s", timeout: "500ms"),
            zone_aware: ({zone_aware}),
        ),
        "app": Service(
            replicas: 12,
            zones: ["a", "b", "c"],
            workers: 16,
            service_time: Exponential(mean: "10ms"),
        ),
    }}),
    faults: [{}],
    duration: "120s",
    warmup: "20s",
    seed: 9,
)"#,
        faults.join(", ")
    );
    let m = metrics_of(&write(name, &body));
    let mut per_zone = [0.0; 3];
    for r in 0..12 {
        per_zone[r % 3] += m.node("lb", &format!("replica{r}.requests")).unwrap();
    }
    let total: f64 = per_zone.iter().sum();
    assert_eq!(
        m.get("failed"),
        Some(0.0),
        "{name}: the crashed replicas were found"
    );
    per_zone.map(|x| x / total)
}

fn assert_share(what: &str, share: f64, expected: f64) {
    // About 100,000 calls: 4 binomial standard errors.
    let se = (expected * (1.0 - expected) / 100_000.0).sqrt();
    assert!(
        (share - expected).abs() <= 4.0 * se + 1e-12,
        "{what}: {share:.4}, expected {expected:.4}"
    );
}

#[test]
fn zone_aware_routing_stays_local_until_the_zone_has_less_than_its_callers_share() {
    let local = r#"zone: "a""#;
    // Every zone healthy: a third of the replicas, a third of the callers: all local.
    let s = zone_shares("zones-healthy", &[], local);
    assert_eq!(s, [1.0, 0.0, 0.0]);
    // One of zone a's four down: 3/11 of the replicas for 1/3 of the callers, so 9/11 of
    // the calls stay; the rest spill evenly to b and c (each 4/11 − 1/3 to spare).
    let s = zone_shares("zones-one-down", &[0], local);
    assert_share("local, one down", s[0], 9.0 / 11.0);
    assert_share("b, one down", s[1], 1.0 / 11.0);
    // Two down: 2/10 for 1/3: 60% stay.
    let s = zone_shares("zones-two-down", &[0, 3], local);
    assert_share("local, two down", s[0], 0.6);
    assert_share("c, two down", s[2], 0.2);
    // Callers mostly elsewhere (20% in a): 3/11 is still more than a's share: all local.
    let s = zone_shares(
        "zones-few-callers",
        &[0],
        r#"zone: "a", callers: [1.0, 2.0, 2.0]"#,
    );
    assert_eq!(s, [1.0, 0.0, 0.0]);
    // Fewer healthy replicas than `min_cluster_size`: zones are ignored (round robin).
    let s = zone_shares("zones-small", &[], r#"zone: "a", min_cluster_size: 13"#);
    assert_share("round robin", s[0], 1.0 / 3.0);
}

#[test]
fn a_zone_loss_crashes_the_replicas_spread_there() {
    let body = r#"Experiment(
    model: Model(nodes: {
        "users": Client(target: "app", arrivals: Poisson(rate: 100.0)),
        "app": Service(replicas: 6, zones: ["a", "b", "c"], workers: 4, service_time: Exponential(mean: "10ms")),
    }),
    faults: [ZoneLoss(zone: "b", at: "10s")],
    duration: "60s",
)"#;
    let m = metrics_of(&write("zone-loss", body));
    // Replicas 1 and 4 are in zone b: a third of the fleet refuses from 10 s on.
    // (6 replicas for 10 s, then 4 for 50 s.)
    let mean = m.node("app", "replicas_mean").unwrap();
    assert!(
        (mean - (6.0 * 10.0 + 4.0 * 50.0) / 60.0).abs() < 1e-6,
        "{mean}"
    );
    // The service sends every third call to a crashed replica, which refuses it.
    let failed = m.get("failed").unwrap();
    let expected = 100.0 * 50.0 / 3.0;
    assert!(
        (failed - expected).abs() < 4.0 * expected.sqrt(),
        "{failed} failed"
    );
}
