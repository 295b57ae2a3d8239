//! Scaling: vertical against horizontal, autoscalers settling and draining, rollouts, cost.

mod common;

use common::{assert_agrees, mean_se, run, run_file};
use scalesim::experiment::Results;
use scalesim::metrics::series::Series;
use scalesim::model::Plan;
use scalesim::theory;

fn write(name: &str, body: &str) -> std::path::PathBuf {
    common::write("scaling", name, body)
}

/// A node metric of every replication of `variant`'s first point.
fn node_per_rep(plan: &Plan, results: &Results, variant: &str, node: &str, m: &str) -> Vec<f64> {
    let p = point(plan, variant);
    results
        .of_point(p)
        .map(|u| {
            u.metrics
                .node(node, m)
                .unwrap_or_else(|| panic!("{node}.{m}"))
        })
        .collect()
}

fn per_rep(plan: &Plan, results: &Results, variant: &str, m: &str) -> Vec<f64> {
    let p = point(plan, variant);
    results
        .of_point(p)
        .map(|u| u.metrics.get(m).unwrap_or_else(|| panic!("{m}")))
        .collect()
}

fn point(plan: &Plan, variant: &str) -> usize {
    plan.points
        .iter()
        .position(|p| p.variant == variant)
        .unwrap_or_else(|| panic!("no variant {variant}"))
}

fn series(plan: &Plan, results: &Results, variant: &str) -> Series {
    let p = point(plan, variant);
    results.of_point(p).next().unwrap().series.clone().unwrap()
}

fn column<'a>(s: &'a Series, name: &str) -> impl Iterator<Item = f64> + 'a {
    let c = s.columns.iter().position(|c| c == name).unwrap();
    s.rows.iter().map(move |r| r[c])
}

/// Mean of a column over the buckets starting in [from, to) seconds.
fn window_mean(s: &Series, name: &str, from: f64, to: f64) -> f64 {
    let xs: Vec<f64> = column(s, name)
        .enumerate()
        .filter(|(i, _)| (from..to).contains(&(*i as f64 * s.bucket_s)))
        .map(|(_, v)| v)
        .collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn one_fast_server_beats_c_slow_ones_at_equal_capacity() {
    // λ = 320/s against 4 × 100/s of capacity (ρ = 0.8), three ways.
    let p = write(
        "equal-capacity",
        r#"Experiment(
            name: "equal-capacity",
            model: Model(nodes: {
                "users": Client(target: "lb", arrivals: Poisson(rate: 320.0)),
                "lb": Balancer(target: "app", algorithm: LeastOutstanding),
                "app": Service(
                    replicas: 1,
                    service_time: Exponential(mean: "10ms"),
                    sizes: {
                        "large": Size(workers: 1, speed: 4.0, cost_per_hour: 0.4),
                        "wide": Size(workers: 4, speed: 1.0, cost_per_hour: 0.4),
                        "small": Size(workers: 1, speed: 1.0, cost_per_hour: 0.1),
                    },
                    size: "large",
                ),
            }),
            duration: "12m", warmup: "1m", seed: 17, replications: 8,
            variants: {
                "one_fast": {},
                "shared_queue": { "app.size": "wide" },
                "four_replicas": { "app.size": "small", "app.replicas": 4 },
            },
        )"#,
    );
    let (plan, results) = run_file(&p);
    let latency = |v: &str| per_rep(&plan, &results, v, "latency_mean_s");
    // M/M/1 at rate cμ, and M/M/c at rate μ.
    let fast = theory::mmc_wait(1, 320.0, 400.0) + 1.0 / 400.0;
    let shared = theory::mmc_wait(4, 320.0, 100.0) + 1.0 / 100.0;
    assert_agrees("M/M/1 at 4μ", &latency("one_fast"), fast, 4.0, 0.03);
    assert_agrees("M/M/4", &latency("shared_queue"), shared, 4.0, 0.03);
    assert!(fast < shared);
    // Four replicas, each with its own queue, behind a least-outstanding balancer: no
    // better than a shared queue, far better than four independent M/M/1 queues.
    let (four, se) = mean_se(&latency("four_replicas"));
    let independent = 1.0 / (100.0 - 80.0);
    eprintln!("four replicas: {four:.4} ± {se:.4}; M/M/4 {shared:.4}; 4 × M/M/1 {independent:.4}");
    assert!(four > shared - 4.0 * se, "JSQ cannot beat a shared queue");
    assert!(four < 0.5 * independent);
    // Same price per hour.
    let cost = |v: &str| mean_se(&per_rep(&plan, &results, v, "cost")).0;
    assert!((cost("one_fast") - cost("four_replicas")).abs() < 1e-9);
    assert!((cost("one_fast") - 0.4 * 11.0 / 60.0).abs() < 1e-9);
}

#[test]
fn vertical_vs_horizontal_trades_latency_for_availability() {
    let (plan, results) = run(
        "experiments/vertical-vs-horizontal.ron",
        &["replications=2".into()],
    );
    for rate in [0, 1, 2] {
        let at = |v: &str, m: &str| {
            let p = plan
                .points
                .iter()
                .enumerate()
                .filter(|(_, p)| p.variant == v)
                .nth(rate)
                .unwrap()
                .0;
            let xs: Vec<f64> = results
                .of_point(p)
                .map(|u| u.metrics.get(m).unwrap())
                .collect();
            xs.iter().sum::<f64>() / xs.len() as f64
        };
        let available = |v: &str| at(v, "succeeded") / at(v, "requests");
        assert!(at("vertical", "latency_mean_s") < at("horizontal", "latency_mean_s"));
        // The crash takes the only vertical replica down for 1 of 9 measured minutes.
        assert!(
            (available("vertical") - 8.0 / 9.0).abs() < 0.01,
            "{}",
            available("vertical")
        );
        assert!(
            available("horizontal") > 0.999,
            "{}",
            available("horizontal")
        );
        assert!((at("vertical", "cost") - at("horizontal", "cost")).abs() < 1e-9);
    }
}

/// A service of 200 requests/s a replica under an HPA on 60% utilization.
fn autoscaled(name: &str, replicas: u32, arrivals: &str, extra: &str) -> std::path::PathBuf {
    write(
        name,
        &format!(
            r#"Experiment(
            name: "{name}",
            model: Model(nodes: {{
                "users": Client(target: "lb", arrivals: {arrivals}, timeout: "60s"),
                "lb": Balancer(target: "app", algorithm: PowerOfChoices(d: 2),
                    health_check: HealthCheck(interval: "5s", timeout: "1s", healthy: 1, unhealthy: 2)),
                "app": Service(
                    replicas: {replicas},
                    workers: 4,
                    service_time: Exponential(mean: "20ms"),
                    cost_per_hour: 1.0,
                    startup: Uniform(min: "10s", max: "40s"),
                    autoscaler: Autoscaler(min: 2, max: 12, metric: Utilization(0.6), window: "30s"),
                ),
            }}),
            seed: 23, replications: 4,
            {extra}
        )"#
        ),
    )
}

#[test]
fn an_autoscaler_settles_under_steady_load_within_its_bounds() {
    // 600/s needs 5 replicas at 60% (4 would run at 75%, outside the tolerance). At 6, the
    // utilization hovers at 50% and ceil(0.5 / 0.6 × 6) is 5 or 6 by a hair, so the
    // scale-down window, which keeps the highest recommendation, may hold 6.
    let p = autoscaled(
        "settle",
        2,
        "Poisson(rate: 600.0)",
        r#"duration: "40m", warmup: "10m","#,
    );
    let (plan, results) = run_file(&p);
    let v = "base";
    let events = node_per_rep(&plan, &results, v, "app", "scale_events");
    let replicas = node_per_rep(&plan, &results, v, "app", "replicas_mean");
    eprintln!("scale events after settling {events:?}, replicas {replicas:?}");
    for (e, r) in events.iter().zip(&replicas) {
        assert!(*e <= 2.0, "still scaling after 10 minutes: {e} events");
        assert!((4.5..=6.5).contains(r), "settled at {r} replicas");
    }
    for m in ["replicas_desired_min", "replicas_desired_max"] {
        for x in node_per_rep(&plan, &results, v, "app", m) {
            assert!((2.0..=12.0).contains(&x), "{m} = {x}");
        }
    }
    let s = series(&plan, &results, v);
    let started: Vec<f64> = column(&s, "app.replicas")
        .zip(column(&s, "app.replicas_starting"))
        .map(|(a, b)| a + b)
        .collect();
    assert!(started.iter().all(|n| *n <= 12.0 + 1e-9));
    // It did scale out from 2 (to about 5) early on, and the new replicas took their share
    // through the balancer.
    assert!(window_mean(&s, "app.replicas", 0.0, 30.0) < 2.5);
    assert!(window_mean(&s, "app.replicas", 600.0, 2400.0) > 4.5);
    for r in node_per_rep(&plan, &results, v, "lb", "replica4.requests") {
        assert!(r > 0.1 * 600.0 * 1800.0, "replica 4 got {r} requests");
    }
}

#[test]
fn scale_in_drains_replicas_without_dropping_a_request() {
    // 1,500/s on 12 replicas (62%) for 10 minutes, then 150/s: the HPA scales in to 2,
    // replica by replica, each finishing the requests it holds.
    let p = autoscaled(
        "drain",
        12,
        r#"Schedule(steps: [Step(at: "0s", rate: 1500.0), Step(at: "10m", rate: 150.0)])"#,
        r#"duration: "25m", warmup: "0s","#,
    );
    let (plan, results) = run_file(&p);
    let v = "base";
    let s = series(&plan, &results, v);
    assert!(window_mean(&s, "app.replicas", 420.0, 600.0) > 11.0);
    assert!(window_mean(&s, "app.replicas", 1320.0, 1500.0) < 2.5);
    for m in ["failed", "rejected", "timed_out"] {
        assert_eq!(per_rep(&plan, &results, v, m), vec![0.0; 4], "{m}");
    }
    for u in results.of_point(0) {
        let m = |k: &str| u.metrics.get(k).unwrap();
        // Every request is answered, but those in flight at the end.
        assert!(m("requests") - m("succeeded") < 20.0);
        assert!(u.metrics.node("app", "scale_events").unwrap() >= 1.0);
        assert_eq!(u.metrics.node("app", "replicas_desired_min").unwrap(), 2.0);
    }
}

#[test]
fn a_function_at_its_concurrency_cap_is_an_erlang_loss_system() {
    // One request per instance, instances start at once and stay: with the cap at c the
    // function is c servers without a waiting room, so throttling is Erlang B.
    let p = write(
        "function-cap",
        r#"Experiment(
            name: "function-cap",
            model: Model(nodes: {
                "users": Client(target: "fn", arrivals: Poisson(rate: 100.0)),
                "fn": Service(
                    replicas: 0,
                    service_time: Exponential(mean: "50ms"),
                    function: Function(cap: 6, idle_timeout: "1h", price_per_request: 0.000001),
                    cost_per_hour: 0.06,
                ),
            }),
            duration: "21m", warmup: "1m", seed: 41, replications: 8,
        )"#,
    );
    let (_, results) = run_file(&p);
    let blocked: Vec<f64> = results
        .of_point(0)
        .map(|u| {
            u.metrics.node("fn", "throttled").unwrap() / u.metrics.node("fn", "arrivals").unwrap()
        })
        .collect();
    assert_agrees(
        "throttled fraction",
        &blocked,
        theory::erlang_b(6, 5.0),
        4.0,
        0.03,
    );
    for u in results.of_point(0) {
        let m = |k: &str| u.metrics.node("fn", k).unwrap();
        // Instances started on demand up to the cap, all within the first minute.
        assert_eq!(m("cold_starts"), 0.0);
        assert_eq!(m("replicas_mean"), 6.0);
        // Billed: busy time at $0.06 an hour and $1 per million invocations.
        let busy_hours = m("utilization") * 6.0 * 20.0 / 60.0;
        let invocations = m("arrivals") - m("throttled");
        let want = busy_hours * 0.06 + invocations * 1e-6;
        let cost = u.metrics.get("cost").unwrap();
        assert!(
            (cost - want).abs() < 1e-9 * want.max(1.0),
            "{cost} vs {want}"
        );
    }
}

#[test]
fn a_function_scales_to_zero_and_pays_cold_starts() {
    // Requests every 30 s on average; an instance lives 10 s after its last request and
    // takes 1 s to start: most requests start an instance, and between them there is none.
    let p = write(
        "function-zero",
        r#"Experiment(
            name: "function-zero",
            model: Model(nodes: {
                "users": Client(target: "fn", arrivals: Poisson(rate: 0.0333333)),
                "fn": Service(
                    replicas: 0,
                    service_time: Deterministic(value: "100ms"),
                    startup: Deterministic(value: "1s"),
                    function: Function(idle_timeout: "10s"),
                ),
            }),
            duration: "10h", warmup: "0s", seed: 43, replications: 2,
        )"#,
    );
    let (_, results) = run_file(&p);
    for u in results.of_point(0) {
        let m = |k: &str| u.metrics.node("fn", k).unwrap();
        let cold = m("cold_starts") / m("arrivals");
        // An arrival finds a live instance iff the last one came less than ~10 s before:
        // P = 1 − e^(−10/30) ≈ 0.28, so about 72% are cold.
        assert!(
            (cold - (-10.0f64 / 30.0).exp()).abs() < 0.05,
            "cold fraction {cold}"
        );
        // A whole number of instances averaging below one half: none at all for more than
        // half of the time.
        assert!(m("replicas_mean") < 0.5, "{}", m("replicas_mean"));
        let mean = u.metrics.get("latency_mean_s").unwrap();
        assert!((mean - (0.1 + cold * 1.0)).abs() < 0.05, "latency {mean}");
    }
}

#[test]
fn a_rolling_update_dips_capacity_unless_it_surges() {
    let (plan, results) = run("experiments/rolling-deploy.ron", &["replications=2".into()]);
    let ready = |v: &str| series(&plan, &results, v);
    // From 5m, without surge one replica of ten is always missing; with surge none is, and
    // an eleventh is billed instead.
    let (no_surge, surge) = (ready("no_surge"), ready("surge"));
    assert!(window_mean(&no_surge, "app.replicas", 320.0, 560.0) < 9.1);
    assert!(window_mean(&surge, "app.replicas", 320.0, 560.0) > 9.99);
    assert!(window_mean(&surge, "app.cost_per_hour", 320.0, 560.0) > 5.4);
    assert!(window_mean(&no_surge, "app.cost_per_hour", 320.0, 560.0) < 5.01);
    // Every replica is of the new version by the end, and the count is back to ten.
    for v in ["no_surge", "surge", "blue_green", "kubernetes_default"] {
        let s = ready(v);
        assert_eq!(column(&s, "app.replicas").last(), Some(10.0), "{v}");
    }
    let p99 = |v: &str| mean_se(&per_rep(&plan, &results, v, "latency_p99_s")).0;
    assert!(p99("surge") < 0.25 * p99("no_surge"));
    // Nothing is dropped by the replicas that drain.
    for v in ["no_surge", "surge", "blue_green"] {
        assert_eq!(per_rep(&plan, &results, v, "failed"), vec![0.0; 2]);
    }
}

#[test]
fn resizing_moves_every_replica_to_the_new_size() {
    // Two small replicas (2 workers, $0.10) become large ones (8 workers, twice as fast,
    // $0.50) at 2m, one at a time with a surge replica.
    let p = write(
        "resize",
        r#"Experiment(
            name: "resize",
            model: Model(nodes: {
                "users": Client(target: "app", arrivals: Poisson(rate: 100.0)),
                "app": Service(
                    replicas: 2,
                    service_time: Exponential(mean: "10ms"),
                    sizes: {
                        "small": Size(workers: 2, cost_per_hour: 0.10),
                        "large": Size(workers: 8, speed: 2.0, cost_per_hour: 0.50),
                    },
                    size: "small",
                    startup: Deterministic(value: "20s"),
                ),
            }),
            duration: "10m", warmup: "0s", seed: 47, replications: 1, bucket: "10s",
            faults: [Resize(node: "app", at: "2m", size: "large", strategy: Surge)],
        )"#,
    );
    let (plan, results) = run_file(&p);
    let s = series(&plan, &results, "base");
    assert!((window_mean(&s, "app.cost_per_hour", 0.0, 120.0) - 0.2).abs() < 1e-9);
    assert!((window_mean(&s, "app.cost_per_hour", 200.0, 600.0) - 1.0).abs() < 1e-9);
    // Still two replicas, now large ones.
    assert!((window_mean(&s, "app.replicas", 200.0, 600.0) - 2.0).abs() < 1e-9);
    let u = results.of_point(0).next().unwrap();
    assert_eq!(u.metrics.node("app", "failed").unwrap(), 0.0);
    let util = |from: f64, to: f64| window_mean(&s, "app.utilization", from, to);
    // Busy workers / workers: 100/s × 10 ms on 4 workers, then × 5 ms on 16.
    assert!(
        (util(0.0, 120.0) - 0.25).abs() < 0.03,
        "{}",
        util(0.0, 120.0)
    );
    assert!(
        (util(200.0, 600.0) - 0.5 / 16.0).abs() < 0.005,
        "{}",
        util(200.0, 600.0)
    );
}

#[test]
fn a_vertical_rule_resizes_up_with_load_and_back_down() {
    // One replica; 60 → 300 → 60 requests/s of 10 ms. At 60% utilization, 2 workers hold
    // 120/s, 4 hold 240/s, 8 hold 480/s: the rule should pick small, large, small.
    let p = write(
        "vertical-rule",
        r#"Experiment(
            name: "vertical-rule",
            model: Model(nodes: {
                "users": Client(target: "app", arrivals: Schedule(steps: [
                    Step(at: "0s", rate: 60.0), Step(at: "5m", rate: 300.0), Step(at: "15m", rate: 60.0),
                ]), timeout: "10s"),
                "app": Service(
                    service_time: Exponential(mean: "10ms"),
                    sizes: {
                        "small": Size(workers: 2, cost_per_hour: 0.1),
                        "medium": Size(workers: 4, cost_per_hour: 0.2),
                        "large": Size(workers: 8, cost_per_hour: 0.4),
                    },
                    size: "small",
                    startup: Deterministic(value: "20s"),
                    autoscaler: Autoscaler(
                        metric: Utilization(0.6),
                        window: "30s",
                        policy: Vertical(sizes: ["small", "medium", "large"], strategy: Surge),
                    ),
                ),
            }),
            duration: "30m", warmup: "0s", seed: 53, replications: 2, bucket: "10s",
        )"#,
    );
    let (plan, results) = run_file(&p);
    let s = series(&plan, &results, "base");
    let cost = |from: f64, to: f64| window_mean(&s, "app.cost_per_hour", from, to);
    assert!(
        (cost(0.0, 290.0) - 0.1).abs() < 1e-9,
        "{}",
        cost(0.0, 290.0)
    );
    // Saturated small (2 busy workers of 2) reads as needing 4 at 60%: medium first, then
    // large a minute or two later.
    assert!(
        (cost(600.0, 890.0) - 0.4).abs() < 1e-9,
        "{}",
        cost(600.0, 890.0)
    );
    assert!(
        (cost(1500.0, 1800.0) - 0.1).abs() < 1e-9,
        "{}",
        cost(1500.0, 1800.0)
    );
    for u in results.of_point(0) {
        let m = |k: &str| u.metrics.node("app", k).unwrap();
        assert!(m("resizes") >= 3.0, "{}", m("resizes"));
        assert_eq!(m("failed"), 0.0);
        assert_eq!(m("replicas_desired_max"), 1.0);
    }
}

#[test]
fn a_scale_out_cooldown_counts_the_capacity_it_added() {
    // 4 replicas of 200/s at a 50% target; the load steps from 300/s to 700/s (7 replicas'
    // worth, 87.5% on 4) and new replicas take 150 s to start. With the default 300 s
    // cooldown the first alarm sets 7 and the alarms that follow while those start add
    // nothing; with none, every alarm multiplies capacity the metric has not seen yet by 1.75.
    let p = write(
        "aws-cooldown",
        r#"Experiment(
            name: "aws-cooldown",
            model: Model(nodes: {
                "users": Client(target: "app", timeout: "60s",
                    arrivals: Schedule(steps: [Step(at: "0s", rate: 300.0), Step(at: "5m", rate: 700.0)])),
                "app": Service(
                    replicas: 4,
                    workers: 4,
                    service_time: Exponential(mean: "20ms"),
                    startup: Deterministic(value: "150s"),
                    autoscaler: Autoscaler(min: 2, max: 60, metric: Utilization(0.5), window: "1m",
                        policy: TargetTracking()),
                ),
            }),
            variants: {
                "default": {},
                "no_cooldown": { "app.autoscaler.policy": TargetTracking(scale_out_cooldown: "0s") },
            },
            duration: "20m", warmup: "0s", seed: 5, replications: 2,
        )"#,
    );
    let (plan, results) = run_file(&p);
    for (v, lo, hi) in [("default", 7.0, 8.0), ("no_cooldown", 18.0, 60.0)] {
        for m in node_per_rep(&plan, &results, v, "app", "replicas_desired_max") {
            eprintln!("{v}: {m}");
            assert!((lo..=hi).contains(&m), "{v}: desired reached {m}");
        }
    }
}

#[test]
fn a_function_adds_at_most_its_scaling_rate_of_instances() {
    // Lambda: 1,000 new instances every 10 s. 3,000 requests/s of 1 s each need ~3,000
    // instances at once: the first 1,000 start at once, then 100 a second, so the fleet
    // reaches 3,000 after ~20 s, and meanwhile the requests that find no instance are
    // throttled: ∫ (3,000 − 1,000 − 100 t) dt over 20 s ≈ 20,000, fewer as instances are
    // reused. Without the limit only the cap (10,000) could throttle, and it does not.
    let p = write(
        "scaling-rate",
        r#"Experiment(
            name: "scaling-rate",
            model: Model(nodes: {
                "users": Client(target: "f", arrivals: Poisson(rate: 3000.0)),
                "f": Service(replicas: 0, service_time: Deterministic(value: "1s"),
                    function: Function(cap: 10000)),
            }),
            variants: { "lambda": {}, "unlimited": { "f.function.scaling_rate": None } },
            duration: "40s", warmup: "0s", seed: 3, replications: 2,
        )"#,
    );
    let (plan, results) = run_file(&p);
    for t in node_per_rep(&plan, &results, "lambda", "f", "scaling_throttled") {
        eprintln!("scaling-throttled {t}");
        assert!(
            (12_000.0..=21_000.0).contains(&t),
            "{t} throttled by the scaling rate"
        );
    }
    for t in node_per_rep(&plan, &results, "lambda", "f", "throttled") {
        assert!(t >= 12_000.0);
    }
    for m in ["throttled", "scaling_throttled"] {
        assert_eq!(
            node_per_rep(&plan, &results, "unlimited", "f", m),
            vec![0.0; 2]
        );
    }
}

#[test]
fn a_gcp_autoscaler_scales_out_at_once_and_in_after_its_stabilization_period() {
    // 300 → 1,000 → 300 requests/s on replicas of 200/s at a 60% target: 1,000/s needs
    // ⌈1000 / 120⌉ = 9 replicas, 300/s needs 3. The recommended size is the peak of the last
    // 10 minutes: scale-out follows at once (a cold start of 10 s), scale-in waits until
    // 10 minutes after the load fell at 8m. Scale-in controls of one replica per 10 minutes
    // slow the way down further.
    let p = write(
        "gcp",
        r#"Experiment(
            name: "gcp",
            model: Model(nodes: {
                "users": Client(target: "app", timeout: "10s", arrivals: Schedule(steps: [
                    Step(at: "0s", rate: 300.0), Step(at: "2m", rate: 1000.0), Step(at: "8m", rate: 300.0)])),
                "app": Service(replicas: 3, workers: 4, service_time: Exponential(mean: "20ms"),
                    startup: Deterministic(value: "10s"),
                    autoscaler: Autoscaler(min: 1, max: 20, metric: Utilization(0.6), window: "30s",
                        policy: Gcp())),
            }),
            variants: {
                "gcp": {},
                "controlled": { "app.autoscaler.policy": Gcp(scale_in_control: Some(ScaleInControl(max_replicas: Some(1), window: "10m"))) },
            },
            duration: "30m", warmup: "0s", seed: 17, replications: 2,
        )"#,
    );
    let (plan, results) = run_file(&p);
    for m in node_per_rep(&plan, &results, "gcp", "app", "replicas_desired_max") {
        // At least the 9 the load needs; more while the backlog of the first seconds keeps
        // utilization at 100% (no tolerance, no rate limit).
        assert!((9.0..=20.0).contains(&m), "peak {m}");
    }
    let s = series(&plan, &results, "gcp");
    let (peak, held, after) = (
        window_mean(&s, "app.replicas", 240.0, 480.0),
        window_mean(&s, "app.replicas", 900.0, 1050.0),
        window_mean(&s, "app.replicas", 1500.0, 1800.0),
    );
    eprintln!("gcp replicas: peak {peak}, held {held}, after {after}");
    assert!(peak >= 8.5, "scaled out: {peak}");
    assert!(
        held >= 8.5,
        "still held 7–9.5 minutes after the drop: {held}"
    );
    assert!(
        after <= 4.0,
        "scaled in after the stabilization period: {after}"
    );
    let c = series(&plan, &results, "controlled");
    let after = window_mean(&c, "app.replicas", 1500.0, 1800.0);
    assert!(after >= 7.0, "one replica per 10 minutes: {after}");
}

#[test]
fn a_replica_in_the_slot_a_canary_left_has_none_of_its_flaws() {
    // A canary that fails every request and works 10× slower is rolled back while busy: it
    // drains, and its slot is free. Later the HPA scales out into that slot: the replica
    // there is of the current version, and fails nothing.
    let p = write(
        "canary-slot",
        r#"Experiment(
            name: "canary-slot",
            model: Model(nodes: {
                "users": Client(target: "app", timeout: "60s", arrivals: Schedule(steps: [
                    Step(at: "0s", rate: 100.0), Step(at: "60s", rate: 1500.0),
                ])),
                "app": Service(
                    replicas: 2,
                    workers: 4,
                    service_time: Exponential(mean: "20ms"),
                    startup: Deterministic(value: "5s"),
                    autoscaler: Autoscaler(min: 2, max: 12, metric: Utilization(0.6), window: "10s"),
                ),
            }),
            faults: [Canary(node: "app", at: "10s", for: "20s", factor: 10.0, rate: 1.0)],
            duration: "150s", warmup: "50s", seed: 3, replications: 2,
        )"#,
    );
    let (plan, results) = run_file(&p);
    for u in results.of_point(point(&plan, "base")) {
        let scaled_to = u.metrics.node("app", "replicas_desired_max").unwrap();
        assert!(scaled_to >= 8.0, "scaled out to {scaled_to} replicas");
        assert_eq!(u.metrics.get("failed").unwrap(), 0.0);
    }
}
