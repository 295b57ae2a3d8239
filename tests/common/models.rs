//! Random models for equivalence tests: a client, perhaps a balancer, an app service and
//! perhaps a database, each with a random draw of the features that choose fast paths at
//! build (or rule them out), under random faults and at loads from light to overloaded.
//! The same `case` always gives the same text, so a failure names its model.

use scalesim::model::{self, CommandLine, Plan};

/// How many random models each equivalence test runs (1,500 agreed when last run longer).
pub const CASES: u64 = 100;

/// Random model number `case`, written under `group` and loaded, and its text (for the
/// message of a failure).
pub fn random_plan(group: &str, case: u64) -> (Plan, String) {
    let text = random_model(case);
    let path = super::write(group, &case.to_string(), &text);
    let plan = model::load_experiment(&path, &CommandLine::default())
        .unwrap_or_else(|e| panic!("case {case}: {e}\n{text}"));
    (plan, text)
}

/// A small generator (SplitMix64), so that the cases do not depend on a crate's streams.
struct Pick(u64);

impl Pick {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number in `lo..=hi`.
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    fn one<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.next() as usize % xs.len()]
    }
}

/// The experiment text of random model number `case`.
pub fn random_model(case: u64) -> String {
    let mut p = Pick(case.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x5ca1_e51b);
    let replicas = p.int(1, 4);
    let workers = p.int(1, 4);
    let mean_ms = p.int(2, 20);
    let service_time = match p.int(0, 3) {
        0 => format!(r#"Exponential(mean: "{mean_ms}ms")"#),
        1 => format!(r#"Deterministic(value: "{mean_ms}ms")"#),
        2 => format!(r#"LogNormal(mean: "{mean_ms}ms", cv: 1.5)"#),
        _ => format!(r#"Uniform(min: "1ms", max: "{}ms")"#, 2 * mean_ms),
    };
    // Load from light to overloaded, on the app's capacity.
    let load = [0.3, 0.6, 0.85, 1.2][p.int(0, 3) as usize];
    let rate = load * (replicas * workers) as f64 * 1000.0 / mean_ms as f64;
    let balanced = p.chance(0.5);
    let with_db = p.chance(0.5);
    let cached = with_db && p.chance(0.3);
    let classes = p.chance(0.2);

    let mut client = vec![format!(
        r#"target: "{}""#,
        if balanced { "lb" } else { "app" }
    )];
    client.push(if p.chance(0.2) {
        format!(
            r#"arrivals: Closed(users: {}, think: Exponential(mean: "{}ms"))"#,
            p.int(2, 40),
            p.int(5, 200)
        )
    } else {
        format!("arrivals: Poisson(rate: {rate:.1})")
    });
    if p.chance(0.6) {
        client.push(format!(r#"timeout: "{}ms""#, p.int(2, 12) * mean_ms * 5));
    }
    if p.chance(0.4) {
        client.push(format!(
            r#"retry: Retry(max_attempts: {}, backoff: Exponential(base: "{}ms", cap: "200ms"))"#,
            p.int(2, 4),
            p.int(1, 20)
        ));
    }
    if p.chance(0.2) {
        client.push(format!(
            r#"hedge: Hedge(after: "{}ms")"#,
            p.int(1, 4) * mean_ms
        ));
    }
    if classes {
        client.push(
            r#"classes: [Class(name: "critical", weight: 0.3, priority: 1), Class(name: "normal", weight: 0.7)]"#
                .into(),
        );
    }
    match p.int(0, 2) {
        0 => client.push("keys: Uniform(n: 1000)".into()),
        1 => client.push("keys: Zipf(s: 1.0, n: 1000)".into()),
        _ => {}
    }

    let mut nodes = vec![format!(r#""users": Client({})"#, client.join(", "))];
    if balanced {
        // One weight per replica, the first never zero (all zero is refused).
        let weights: Vec<u64> = (0..replicas).map(|i| p.int(u64::from(i == 0), 3)).collect();
        let weighted = format!("WeightedRoundRobin(weights: {weights:?})");
        let mut lb = vec![
            r#"target: "app""#.to_string(),
            format!(
                "algorithm: {}",
                p.one(&[
                    &weighted,
                    "RoundRobin",
                    "Random",
                    "LeastOutstanding",
                    "PowerOfChoices()",
                    "RingHash()",
                    "Maglev()",
                ])
            ),
        ];
        if p.chance(0.3) {
            lb.push(
                r#"health_check: HealthCheck(interval: "2s", timeout: "500ms", healthy: 2, unhealthy: 2)"#
                    .into(),
            );
        }
        if p.chance(0.3) {
            lb.push(r#"outlier: Outlier(consecutive_errors: 5, base_ejection: "5s")"#.into());
        }
        nodes.push(format!(r#""lb": Balancer({})"#, lb.join(", ")));
    }

    let mut app = vec![
        format!("replicas: {replicas}"),
        format!("workers: {workers}"),
        format!("service_time: {service_time}"),
    ];
    if p.chance(0.4) {
        app.push(format!("capacity: {}", p.int(1, 20)));
        app.push(format!(
            "when_full: {}",
            p.one(&["Reject", "DropOldest", "Block"])
        ));
    }
    if with_db {
        let target = if cached { "cache" } else { "db" };
        let mut call = vec![format!(r#"target: "{target}""#)];
        if p.chance(0.5) {
            call.push(format!(r#"timeout: "{}ms""#, p.int(5, 100)));
        }
        if p.chance(0.3) {
            call.push("retry: Retry(max_attempts: 2)".into());
        }
        if p.chance(0.2) {
            call.push(r#"latency: Deterministic(value: "500us")"#.into());
        }
        let work_first = p.chance(0.7);
        app.push(if work_first {
            format!("handler: [Work, Call({})]", call.join(", "))
        } else {
            format!("handler: [Call({}), Work]", call.join(", "))
        });
    }
    // Features that rule the lean way in out, now and then.
    let mut function = false;
    match p.int(0, 9) {
        0 => app.push("codel: CoDel()".into()),
        1 => app.push(r#"concurrency_limit: Aimd(timeout: "100ms")"#.into()),
        2 => app.push(format!(
            "limit: TokenBucket(rate: {:.1}, burst: 10)",
            rate * 0.8
        )),
        3 => app.push("drop_expired: true".into()),
        4 => app.push("order: AdaptiveLifo, codel: CoDel()".into()),
        5 => app.push(format!(
            r#"connections: (max_connections: {}, setup: Deterministic(value: "1ms"))"#,
            p.int(1, 8) * workers
        )),
        6 if !balanced => {
            // A function instance's workers are its concurrency.
            app.retain(|f| !f.starts_with("workers"));
            app.push(r#"function: Function(idle_timeout: "5s")"#.into());
            function = true;
        }
        _ => {}
    }
    if classes && p.chance(0.5) {
        app.push("priority: true".into());
    }
    if p.chance(0.25) && !function {
        app.push(format!(
            r#"autoscaler: Autoscaler(min: {replicas}, max: {}, metric: Utilization(0.5), window: "5s")"#,
            replicas + 3
        ));
        app.push(r#"startup: Deterministic(value: "2s")"#.into());
    }
    nodes.push(format!(r#""app": Service({})"#, app.join(", ")));
    if cached {
        nodes.push(format!(
            r#""cache": Cache(backend: "db", capacity: {}, ttl: "5s")"#,
            p.int(10, 500)
        ));
    }
    if with_db {
        nodes.push(format!(
            r#""db": Service(workers: {}, service_time: Exponential(mean: "{}ms"))"#,
            p.int(2, 16),
            p.int(1, 5)
        ));
    }

    let mut faults = Vec::new();
    let replica = p.int(0, replicas - 1);
    for (kind, more) in [
        ("Crash", ""),
        ("Slowdown", ", factor: 3.0"),
        ("Errors", ", rate: 0.3"),
    ] {
        if p.chance(0.3) {
            faults.push(format!(
                r#"{kind}(node: "app", replica: {replica}, at: "{}s", for: "{}s"{more})"#,
                p.int(3, 15),
                p.int(1, 10)
            ));
        }
    }
    format!(
        "Experiment(\n    model: Model(nodes: {{\n        {},\n    }}),\n    duration: \"30s\",\n    \
         warmup: \"2s\",\n    seed: {case},\n    faults: [{}],\n)\n",
        nodes.join(",\n        "),
        faults.join(", ")
    )
}
