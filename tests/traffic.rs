//! Traffic and call graphs: workloads, downstream calls holding workers, failures and
//! fallbacks, faults, and the retry storm.

mod common;

use common::{load, run, run_file};
use scalesim::experiment;

fn write(name: &str, body: &str) -> std::path::PathBuf {
    common::write("traffic", name, body)
}

fn mean(
    results: &experiment::Results,
    point: usize,
    f: impl Fn(&scalesim::metrics::RunMetrics) -> f64,
) -> f64 {
    let xs: Vec<f64> = results.of_point(point).map(|u| f(&u.metrics)).collect();
    xs.iter().sum::<f64>() / xs.len() as f64
}

#[test]
fn retry_storm_outlives_its_trigger_unless_retries_are_budgeted() {
    let (plan, results) = run("experiments/retry-storm.ron", &["replications=3".into()]);
    let names: Vec<&str> = plan.points.iter().map(|p| p.variant.as_str()).collect();
    assert_eq!(
        names,
        [
            "no_retries",
            "naive_retries",
            "backoff_budget",
            "naive_no_slowdown",
            "backoff_only",
            "budget_only",
            "grpc_throttling",
            "finagle_budget"
        ]
    );
    let goodput = |p| mean(&results, p, |m| m.get("goodput_rps").unwrap());
    let amplification = |p| {
        mean(&results, p, |m| {
            m.get("attempts").unwrap() / m.get("requests").unwrap()
        })
    };
    let db_util = |p| mean(&results, p, |m| m.node("db", "utilization").unwrap());
    eprintln!(
        "goodput {:.1} / {:.1} / {:.1}; amplification {:.2} / {:.2} / {:.2}",
        goodput(0),
        goodput(1),
        goodput(2),
        amplification(0),
        amplification(1),
        amplification(2)
    );
    // Measured from 2.5 minutes after the slowdown ended.
    assert!(goodput(0) > 590.0, "without retries the system recovers");
    assert!(
        goodput(1) < 0.05 * goodput(0),
        "naive retries keep it down: {}",
        goodput(1)
    );
    assert!(
        amplification(1) > 4.0,
        "offered load stays amplified: {}",
        amplification(1)
    );
    assert!(db_util(1) > 0.99, "the database stays saturated");
    assert!(
        goodput(2) > 0.98 * goodput(0),
        "budgeted backoff recovers: {}",
        goodput(2)
    );
    assert!(amplification(2) < 1.01);
    // And it recovers shortly after: already full goodput 30 s after the slowdown.
    let (_, early) = run(
        "experiments/retry-storm.ron",
        &[
            "replications=2".into(),
            "warmup=2m".into(),
            "duration=3m".into(),
        ],
    );
    let g = |p| mean(&early, p, |m| m.get("goodput_rps").unwrap());
    assert!(
        g(2) > 0.95 * g(0) && g(1) < 0.05 * g(0),
        "{} {} {}",
        g(0),
        g(1),
        g(2)
    );
}

const TWO_TIER: &str = r#"Experiment(
    model: Model(nodes: {
        "users": Client(target: "front", arrivals: Poisson(rate: 100.0)),
        "front": Service(workers: 50, service_time: Deterministic(value: "1ms"),
            handler: [Work, Call(target: "back")]),
        "back": Service(workers: 50, service_time: Deterministic(value: "20ms")),
    }),
    duration: "60s", warmup: "5s", replications: 2,
    faults: FAULTS,
)"#;

#[test]
fn workers_stay_taken_while_waiting_downstream() {
    let (_, r) = run_file(&write("hold", &TWO_TIER.replace("FAULTS", "[]")));
    let m = &r.units[0].metrics;
    // Each request holds a front worker for 1 ms of work plus 20 ms waiting on back.
    let front_busy = m.node("front", "utilization").unwrap() * 50.0;
    let expect = 100.0 * 0.021;
    assert!(
        (front_busy - expect).abs() / expect < 0.05,
        "{front_busy} vs {expect}"
    );
    let latency = m.get("latency_mean_s").unwrap();
    assert!(
        (latency - 0.021).abs() < 1e-6,
        "no queueing at this load: {latency}"
    );
}

#[test]
fn failures_propagate_unless_a_step_continues() {
    let errors = "[Errors(node: \"back\", at: \"0s\", for: \"1h\", rate: 0.3)]";
    let (_, r) = run_file(&write("errors", &TWO_TIER.replace("FAULTS", errors)));
    let m = &r.units[0].metrics;
    let failed = m.get("failed").unwrap() / m.get("requests").unwrap();
    assert!(
        (failed - 0.3).abs() < 0.03,
        "30% of back's answers fail, and so do front's: {failed}"
    );
    let cont = TWO_TIER.replace("FAULTS", errors).replace(
        "Call(target: \"back\")",
        "Call(target: \"back\", on_failure: Continue)",
    );
    let (_, r) = run_file(&write("continue", &cont));
    let m = &r.units[0].metrics;
    assert_eq!(m.get("failed"), Some(0.0));
    let degraded = m.node("front", "degraded").unwrap() / m.get("requests").unwrap();
    assert!((degraded - 0.3).abs() < 0.03, "{degraded}");
}

#[test]
fn a_crashed_replica_fails_its_requests_and_recovers() {
    let body = TWO_TIER
        .replace(
            "\"back\": Service(workers: 50,",
            "\"back\": Service(replicas: 2, workers: 50,",
        )
        .replace(
            "FAULTS",
            "[Crash(node: \"back\", replica: 1, at: \"20s\", for: \"10s\")]",
        );
    let (_, r) = run_file(&write("crash", &body));
    let m = &r.units[0].metrics;
    // Round robin keeps sending half the calls to the dead replica for 10 of 55 s.
    let failed = m.get("failed").unwrap() / m.get("requests").unwrap();
    let expect = 0.5 * 10.0 / 55.0;
    assert!((failed - expect).abs() < 0.02, "{failed} vs {expect}");
    let replicas = m.node("back", "replicas_mean").unwrap();
    assert!((replicas - (2.0 - 10.0 / 55.0)).abs() < 1e-3, "{replicas}");
}

#[test]
fn slowdowns_scale_work_in_their_window() {
    let body = TWO_TIER.replace(
        "FAULTS",
        "[Slowdown(node: \"back\", at: \"0s\", for: \"1h\", factor: 3.0)]",
    );
    let (_, r) = run_file(&write("slow", &body));
    let latency = r.units[0].metrics.get("latency_mean_s").unwrap();
    assert!((latency - 0.061).abs() < 1e-6, "{latency}");
}

#[test]
fn parallel_calls_wait_for_the_first_k() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "front", arrivals: Poisson(rate: 50.0)),
            "front": Service(workers: 50, service_time: Deterministic(value: "0ms"),
                handler: [Parallel(calls: [(target: "a"), (target: "b"), (target: "c")], need: NEED)]),
            "a": Service(workers: 50, service_time: Deterministic(value: "10ms")),
            "b": Service(workers: 50, service_time: Deterministic(value: "20ms")),
            "c": Service(workers: 50, service_time: Deterministic(value: "30ms")),
        }),
        duration: "30s", warmup: "1s",
    )"#;
    for (need, latency) in [(1, 0.010), (2, 0.020), (3, 0.030)] {
        let (_, r) = run_file(&write(
            &format!("par{need}"),
            &body.replace("NEED", &need.to_string()),
        ));
        let got = r.units[0].metrics.get("latency_mean_s").unwrap();
        assert!((got - latency).abs() < 1e-6, "need {need}: {got}");
    }
}

#[test]
fn bursty_and_diurnal_rates_average_out() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "s", arrivals: ARRIVALS),
            "s": Service(workers: 100, service_time: Exponential(mean: "1ms")),
        }),
        duration: "2000s", replications: 4,
    )"#;
    // MMPP: 100/s for a mean 3 s, 1000/s for a mean 1 s: long-run rate 325/s.
    let bursty = "Bursty(base: 100.0, burst: 1000.0, base_for: \"3s\", burst_for: \"1s\")";
    let (_, r) = run_file(&write(
        "bursty",
        &body
            .replace("ARRIVALS", bursty)
            .replace("replications: 4", "replications: 16"),
    ));
    let rates: Vec<f64> = r
        .of_point(0)
        .map(|u| u.metrics.get("requests").unwrap() / 2000.0)
        .collect();
    common::assert_agrees("MMPP long-run rate", &rates, 325.0, 4.0, 0.02);
    // Diurnal over whole periods: the mean rate; over the first half period, more.
    let diurnal = "Diurnal(mean: 200.0, amplitude: 0.5, period: \"100s\")";
    let (_, r) = run_file(&write("diurnal", &body.replace("ARRIVALS", diurnal)));
    let rate = mean(&r, 0, |m| m.get("requests").unwrap()) / 2000.0;
    assert!((rate - 200.0).abs() / 200.0 < 0.01, "{rate}");
    let half = body
        .replace("ARRIVALS", diurnal)
        .replace("\"2000s\"", "\"50s\"");
    let (_, r) = run_file(&write("diurnal-half", &half));
    let rate = mean(&r, 0, |m| m.get("requests").unwrap()) / 50.0;
    let expect = 200.0 * (1.0 + 0.5 * 2.0 / std::f64::consts::PI);
    assert!((rate - expect).abs() / expect < 0.05, "{rate} vs {expect}");
}

#[test]
fn traces_replay_their_requests() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("traffic");
    std::fs::create_dir_all(&dir).unwrap();
    let mut csv = String::from("time_s,key,class\n");
    for i in 0..1000 {
        csv.push_str(&format!("{},{},{}\n", i as f64 * 0.01, i % 7, i % 2));
    }
    std::fs::write(dir.join("trace.csv"), csv).unwrap();
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "s", arrivals: Trace(file: "trace.csv"),
                classes: [(name: "even"), (name: "odd")]),
            "s": Service(workers: 4, service_time: Deterministic(value: "1ms")),
        }),
        duration: "20s",
    )"#;
    let (_, r) = run_file(&write("trace", body));
    let m = &r.units[0].metrics;
    assert_eq!(m.get("requests"), Some(1000.0));
    assert_eq!(m.node("users", "even.requests"), Some(500.0));
    std::fs::write(dir.join("trace.csv"), "0.5\n0.2\n").unwrap();
    let err = load(&write("trace-bad", body)).unwrap_err();
    assert!(
        err.contains("trace.csv:2: times must not go backwards"),
        "{err}"
    );
}

#[test]
fn configuration_errors_name_their_place() {
    let cycle = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "a", arrivals: Poisson(rate: 1.0)),
            "a": Service(service_time: Exponential(mean: "1ms"), handler: [Call(target: "b")]),
            "b": Service(service_time: Exponential(mean: "1ms"), handler: [Work, Call(target: "a")]),
        }),
        duration: "1s",
    )"#;
    let err = load(&write("cycle", cycle)).unwrap_err();
    assert!(
        err.contains("cycle.ron:4:") && err.contains("a cycle of synchronous calls: a → b → a"),
        "{err}"
    );
    let jitter = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "a", arrivals: Poisson(rate: 1.0),
                retry: Retry(max_attempts: 3, backoff: Exponential(base: "1s", cap: "100ms"))),
            "a": Service(service_time: Exponential(mean: "1ms")),
        }),
        duration: "1s",
    )"#;
    let err = load(&write("jitter", jitter)).unwrap_err();
    assert!(
        err.contains("jitter.ron:4:") && err.contains("cap (0.1s) is below its base (1s)"),
        "{err}"
    );
    let fault = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "a", arrivals: Poisson(rate: 1.0)),
            "a": Service(service_time: Exponential(mean: "1ms")),
        }),
        duration: "1s",
        faults: [Crash(node: "a", replica: 2, at: "0s")],
    )"#;
    let err = load(&write("fault", fault)).unwrap_err();
    assert!(
        err.contains("fault.ron:7:") && err.contains("no replica 2"),
        "{err}"
    );
    let weights = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "a", arrivals: Poisson(rate: 1.0), classes: [(name: "x", weight: 0.0)]),
            "a": Service(service_time: Exponential(mean: "1ms")),
        }),
        duration: "1s",
    )"#;
    let err = load(&write("weights", weights)).unwrap_err();
    assert!(err.contains("every class has weight 0"), "{err}");
}

#[test]
fn edge_latency_faults_delay_both_ways() {
    let body = TWO_TIER.replace(
        "FAULTS",
        "[Latency(from: \"front\", to: \"back\", at: \"0s\", for: \"1h\", add: \"5ms\")]",
    );
    let (_, r) = run_file(&write("edge", &body));
    let latency = r.units[0].metrics.get("latency_mean_s").unwrap();
    assert!((latency - 0.031).abs() < 1e-6, "{latency}");
    let bad = TWO_TIER.replace(
        "FAULTS",
        "[Latency(from: \"back\", to: \"front\", at: \"0s\", for: \"1h\", add: \"5ms\")]",
    );
    let err = load(&write("edge-bad", &bad)).unwrap_err();
    assert!(err.contains("`back` does not call `front`"), "{err}");
}

#[test]
fn hedged_requests_cut_the_tail_of_a_slow_replica() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "lb", arrivals: Poisson(rate: 50.0) HEDGE),
            "lb": Balancer(target: "app", algorithm: Random),
            "app": Service(replicas: 2, workers: 20, service_time: Deterministic(value: "10ms")),
        }),
        duration: "200s", warmup: "5s",
        faults: [Slowdown(node: "app", replica: 0, at: "0s", for: "1h", factor: 10.0)],
    )"#;
    let (_, plain) = run_file(&write("unhedged", &body.replace("HEDGE", "")));
    let (_, hedged) = run_file(&write(
        "hedged",
        &body.replace("HEDGE", ", hedge: Hedge(after: \"20ms\", max: 1)"),
    ));
    let (p, h) = (&plain.units[0].metrics, &hedged.units[0].metrics);
    let p99 = |m: &scalesim::metrics::RunMetrics| m.get("latency_p99_s").unwrap();
    assert!(
        (p99(p) - 0.100).abs() < 0.002,
        "half the requests take 100 ms: {}",
        p99(p)
    );
    // A hedge after 20 ms lands on the fast replica half the time: 30 ms instead of 100.
    let mean = |m: &scalesim::metrics::RunMetrics| m.get("latency_mean_s").unwrap();
    let expect = 0.5 * 0.010 + 0.5 * (0.5 * 0.030 + 0.5 * 0.100);
    assert!((mean(h) - expect).abs() < 0.003, "{} vs {expect}", mean(h));
    let hedges = h.node("users", "hedges").unwrap();
    let requests = h.get("requests").unwrap();
    assert!(
        (hedges / requests - 0.5).abs() < 0.03,
        "every slow request is hedged once"
    );
    assert_eq!(h.get("attempts").unwrap(), requests + hedges);
}

#[test]
fn a_hedge_budget_caps_the_copies_at_its_share_plus_the_reserve() {
    // Half of 50 requests a second go to a slow replica and want a copy after 20 ms: 25
    // copies a second. Finagle's budget for backup requests at 2% allows, over any 10 s,
    // its reserve (10 a second: 100) and 2% of the 500 calls: 110 copies, 11 a second.
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "lb", arrivals: Poisson(rate: 50.0),
                hedge: Hedge(after: "20ms", max_extra_load: 2.0)),
            "lb": Balancer(target: "app", algorithm: Random),
            "app": Service(replicas: 2, workers: 20, service_time: Deterministic(value: "10ms")),
        }),
        duration: "205s", warmup: "5s",
        faults: [Slowdown(node: "app", replica: 0, at: "0s", for: "1h", factor: 10.0)],
    )"#;
    let (_, r) = run_file(&write("hedge-budget", body));
    let m = &r.units[0].metrics;
    let hedges = m.node("users", "hedges").unwrap();
    let refused = m.node("users", "hedges_refused").unwrap();
    let most = 11.0 * 200.0 + 110.0;
    assert!(hedges <= most, "{hedges} copies, at most {most}");
    // Wanted copies far outnumber the budget, so it is spent.
    assert!(hedges > 0.9 * 11.0 * 200.0, "{hedges} copies");
    let wanted = hedges + refused;
    assert!(
        (wanted / 200.0 - 25.0).abs() < 2.0,
        "{wanted} copies wanted"
    );
}

#[test]
fn servers_can_skip_requests_whose_caller_gave_up() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "app", arrivals: Poisson(rate: 150.0), timeout: "200ms"),
            "app": Service(workers: 1, service_time: Exponential(mean: "10ms"), drop_expired: DROP),
        }),
        duration: "60s", warmup: "10s",
    )"#;
    // 150% load: the queue grows without bound, and most callers give up.
    let (_, keep) = run_file(&write("keep", &body.replace("DROP", "false")));
    let (_, drop) = run_file(&write("drop", &body.replace("DROP", "true")));
    let (k, d) = (&keep.units[0].metrics, &drop.units[0].metrics);
    assert_eq!(k.node("app", "dropped"), Some(0.0));
    assert!(d.node("app", "dropped").unwrap() > 1000.0);
    // Skipping dead work keeps the queue from filling with it, so most served requests are
    // still wanted (FIFO still serves them late: many finish just past the timeout).
    assert!(
        d.get("goodput_rps").unwrap() > 50.0,
        "{:?}",
        d.get("goodput_rps")
    );
    assert!(
        k.get("goodput_rps").unwrap() < 10.0,
        "{:?}",
        k.get("goodput_rps")
    );
}

#[test]
fn balancer_configuration_errors() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "lb", arrivals: Poisson(rate: 1.0)),
            "lb": Balancer(target: "app", algorithm: ALGO),
            "app": Service(replicas: 2, service_time: Exponential(mean: "1ms")),
        }),
        duration: "1s",
    )"#;
    for (algo, msg) in [
        (
            "WeightedRoundRobin(weights: [0, 0])",
            "every weight is zero",
        ),
        (
            "WeightedRoundRobin(weights: [1])",
            "1 weights for 2 replicas",
        ),
        ("Maglev(table: 1000)", "must be a prime"),
        ("PowerOfChoices(d: 0)", "d of at least 1"),
    ] {
        let err = load(&write("lb-bad", &body.replace("ALGO", algo))).unwrap_err();
        assert!(
            err.contains("lb-bad.ron:4:") && err.contains(msg),
            "{algo}: {err}"
        );
    }
    let err = load(&write(
        "lb-target",
        &body.replace("target: \"app\", algorithm: ALGO", "target: \"users\""),
    ))
    .unwrap_err();
    assert!(
        err.contains("a client: call a service or a balancer"),
        "{err}"
    );
}

#[test]
fn points_with_different_metrics_share_one_csv() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "lb", arrivals: Poisson(rate: 10.0)),
            "lb": Balancer(target: "app"),
            "app": Service(replicas: 2, service_time: Exponential(mean: "1ms")),
        }),
        duration: "5s",
        sweep: { "app.replicas": [2, 3] },
    )"#;
    let (plan, results) = run_file(&write("columns", body));
    let csv = scalesim::report::runs_csv(&plan, &results);
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    let col = lines[0]
        .iter()
        .position(|h| *h == "lb.replica2.requests")
        .expect("the union of columns");
    assert!(
        lines.iter().all(|l| l.len() == lines[0].len()),
        "aligned rows"
    );
    assert_eq!(
        lines[1][col], "",
        "two replicas: no third replica column value"
    );
    assert!(!lines[2][col].is_empty());
}

#[test]
fn a_breaker_fails_fast_or_falls_back_while_a_dependency_is_down() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "app", arrivals: Poisson(rate: 200.0)),
            "app": Service(workers: 20, service_time: Deterministic(value: "1ms"),
                handler: [Work, Call(target: "dep", timeout: "500ms" BREAKER)]),
            "dep": Service(workers: 50, service_time: Deterministic(value: "5ms")),
        }),
        duration: "120s", warmup: "10s",
        faults: [Errors(node: "dep", at: "40s", for: "40s", rate: 1.0)],
    )"#;
    let breaker = ", breaker: Breaker(window: Count(20), minimum_calls: 10, wait_open: \"5s\", half_open_calls: 3, fallback: FALLBACK)";
    let (_, none) = run_file(&write("no-breaker", &body.replace("BREAKER", "")));
    let (_, fast) = run_file(&write(
        "breaker-fast",
        &body.replace("BREAKER", &breaker.replace("FALLBACK", "false")),
    ));
    let (_, fb) = run_file(&write(
        "breaker-fallback",
        &body.replace("BREAKER", &breaker.replace("FALLBACK", "true")),
    ));
    let (n, f, b) = (
        &none.units[0].metrics,
        &fast.units[0].metrics,
        &fb.units[0].metrics,
    );
    // Without a breaker every call during the 40 s outage reaches dep and fails there.
    let outage = 40.0 * 200.0;
    assert!(
        (n.get("failed").unwrap() - outage).abs() < 0.05 * outage,
        "{:?}",
        n.get("failed")
    );
    assert!(n.node("dep", "arrivals").unwrap() > 22_000.0 * 0.95);
    // With a breaker, most of those calls never leave app: dep sees far fewer.
    assert!(f.node("dep", "arrivals").unwrap() < n.node("dep", "arrivals").unwrap() - 0.8 * outage);
    let open = f.node("app", "open_fraction").unwrap();
    assert!(
        open > 0.25 && open < 0.4,
        "open most of the 40 s outage out of 110: {open}"
    );
    assert!(f.node("app", "not_permitted").unwrap() > 0.8 * outage);
    // Fail fast: still failures. Fallback: degraded answers instead, almost no failures.
    assert!(f.get("failed").unwrap() > 0.9 * outage);
    assert!(
        b.get("failed").unwrap() < 0.05 * outage,
        "{:?}",
        b.get("failed")
    );
    assert!(b.node("app", "degraded").unwrap() > 0.9 * outage);
    // Users see those as degraded answers, not failures or successes.
    assert!((b.get("degraded").unwrap() - b.node("app", "degraded").unwrap()).abs() < 1.0);
    // Outside the outage, the breaker closes again: successes as before.
    let answered = b.get("succeeded").unwrap() + b.get("degraded").unwrap();
    let before = n.get("succeeded").unwrap() + n.get("failed").unwrap();
    assert!(
        (answered - before).abs() < 0.01 * before,
        "{answered} vs {before}"
    );
    assert!(b.get("succeeded").unwrap() > 0.98 * n.get("succeeded").unwrap());
}

#[test]
fn services_route_request_classes_to_their_own_handlers() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "users": Client(target: "app", arrivals: Poisson(rate: 100.0),
                classes: [(name: "fast", weight: 1.0), (name: "slow", weight: 1.0)]),
            "app": Service(workers: 100, service_time: Deterministic(value: "1ms"),
                routes: { ROUTES }),
        }),
        duration: "30s", warmup: "1s",
    )"#;
    let (_, r) = run_file(&write(
        "routes",
        &body.replace(
            "ROUTES",
            "\"slow\": [Compute(Deterministic(value: \"50ms\"))]",
        ),
    ));
    let m = &r.units[0].metrics;
    assert_eq!(
        m.node("users", "fast.latency_p50_s")
            .map(|x| (x * 1e4).round()),
        Some(10.0),
        "1 ms"
    );
    assert_eq!(
        m.node("users", "slow.latency_p50_s")
            .map(|x| (x * 1e3).round()),
        Some(50.0),
        "50 ms"
    );
    let err = load(&write(
        "routes-bad",
        &body.replace("ROUTES", "\"medium\": [Work]"),
    ))
    .unwrap_err();
    assert!(
        err.contains(
            "a route for class `medium`, which no client sends; classes are `fast`, `slow`"
        ),
        "{err}"
    );
}

#[test]
fn tiers_have_their_own_rate_limits() {
    let body = r#"Experiment(
        model: Model(nodes: {
            "paid": Client(target: "api", arrivals: Constant(rate: 50.0), classes: [(name: "paid")]),
            "free": Client(target: "api", arrivals: Constant(rate: 1000.0), classes: [(name: "free")]),
            "api": Service(workers: 100, service_time: Deterministic(value: "1ms"),
                limit: TokenBucket(rate: 60.0, burst: 1),
                class_limits: { "free": TokenBucket(rate: 200.0, burst: 10) }),
        }),
        duration: "100s", warmup: "10s",
    )"#;
    let (_, r) = run_file(&write("tiers", body));
    let m = &r.units[0].metrics;
    // The free tier gets its own 200/s however hard it pushes; the paid tier's 50/s stays
    // under the shared 60/s limit, untouched by the free tier's flood.
    let free_ok = m.node("free", "throughput_rps").unwrap();
    assert!(
        (free_ok - 1000.0).abs() < 1.0,
        "every free request is answered, most with 429"
    );
    assert!((m.node("free", "goodput_rps").unwrap() - 200.0).abs() < 1.0);
    assert!((m.node("paid", "goodput_rps").unwrap() - 50.0).abs() < 0.5);
    assert!((m.node("api", "limited").unwrap() - 800.0 * 90.0).abs() < 100.0);
    let bad = body.replace("\"free\": TokenBucket", "\"gold\": TokenBucket");
    let err = load(&write("tiers-bad", &bad)).unwrap_err();
    assert!(
        err.contains("a limit for class `gold`, which no client sends"),
        "{err}"
    );
}

#[test]
fn a_delaying_rate_limit_paces_bursts_it_would_refuse() {
    // 80/s of Poisson arrivals under a 100/s bucket of 2: refusing, Poisson bursts hit 429s;
    // delaying up to 1 s, nothing is refused and everything is served, a little later.
    let body = |limit: &str| {
        format!(
            r#"Experiment(
        model: Model(nodes: {{
            "users": Client(target: "api", arrivals: Poisson(rate: {{RATE}})),
            "api": Service(workers: 100, service_time: Deterministic(value: "1ms"), limit: {limit}),
        }}),
        duration: "200s", warmup: "10s", seed: 71,
    )"#
        )
    };
    let refusing = body("TokenBucket(rate: 100.0, burst: 2)");
    let delaying = body(r#"TokenBucket(rate: 100.0, burst: 2, max_delay: "1s")"#);
    let (_, r) = run_file(&write("refusing-80", &refusing.replace("{RATE}", "80.0")));
    assert!(r.units[0].metrics.node("api", "limited").unwrap() > 1000.0);
    let (_, r) = run_file(&write("delaying-80", &delaying.replace("{RATE}", "80.0")));
    let m = &r.units[0].metrics;
    assert_eq!(m.node("api", "limited").unwrap(), 0.0);
    assert!(m.node("api", "paced").unwrap() > 1000.0);
    let pace = m.node("api", "pace_mean_s").unwrap();
    assert!(pace > 0.001 && pace < 0.1, "{pace}");
    assert!((m.node("api", "throughput_rps").unwrap() - 80.0).abs() < 2.0);
    // Offered 150/s, it admits exactly its rate: the rest wait up to 1 s, then are refused.
    let (_, r) = run_file(&write("delaying-150", &delaying.replace("{RATE}", "150.0")));
    let m = &r.units[0].metrics;
    let served = m.node("api", "throughput_rps").unwrap();
    assert!((served - 100.0).abs() < 0.1, "{served}");
    assert!(m.node("api", "limited").unwrap() > 40.0 * 190.0 * 0.95);
    assert!(m.node("api", "pace_mean_s").unwrap() > 0.9);
}

#[test]
fn a_per_key_limit_gives_each_key_its_own_bucket() {
    let body = |keys: &str| {
        format!(
            r#"Experiment(
        model: Model(nodes: {{
            "users": Client(target: "api", arrivals: Constant(rate: 1000.0) {keys}),
            "api": Service(workers: 100, service_time: Deterministic(value: "1ms"),
                key_limit: TokenBucket(rate: 20.0, burst: 5)),
        }}),
        duration: "100s", warmup: "10s", seed: 73,
    )"#
        )
    };
    // Ten keys, each offered ~100/s: each gets its own 20/s.
    let (_, r) = run_file(&write("key-limit", &body(", keys: Uniform(n: 10)")));
    let ok = r.units[0].metrics.node("users", "goodput_rps").unwrap();
    assert!((ok - 200.0).abs() < 1.0, "{ok}");
    // Without keys every request has the same one: one bucket for all.
    let (_, r) = run_file(&write("key-limit-none", &body("")));
    let ok = r.units[0].metrics.node("users", "goodput_rps").unwrap();
    assert!((ok - 20.0).abs() < 0.1, "{ok}");
    let bad = body("").replace("burst: 5)", r#"burst: 5, max_delay: "1s")"#);
    let err = load(&write("key-limit-delay", &bad)).unwrap_err();
    assert!(
        err.contains("a per-key limit refuses; it cannot delay"),
        "{err}"
    );
}

#[test]
fn retry_limits_refuse_retries_during_the_storm() {
    // Measured from the start, through the slowdown: every limit refuses retries while the
    // database is slow; naive retries are never refused.
    let (plan, results) = run(
        "experiments/retry-storm.ron",
        &[
            "warmup=0s".into(),
            "duration=3m".into(),
            "replications=1".into(),
        ],
    );
    let refused = |v: &str| {
        let p = plan.points.iter().position(|p| p.variant == v).unwrap();
        mean(&results, p, |m| m.node("users", "retries_refused").unwrap())
    };
    assert_eq!(refused("naive_retries"), 0.0);
    for v in [
        "budget_only",
        "grpc_throttling",
        "finagle_budget",
        "backoff_budget",
    ] {
        assert!(refused(v) > 100.0, "{v}: {} retries refused", refused(v));
    }
}
