//! Every shipped experiment's expectations test its lesson: break the policy (or the
//! assumption) the lesson is about, and `check --quick` must fail the line that states it.
//! Each case below says what it breaks and which line must then fail.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// One deliberately broken experiment.
struct Broken {
    /// The shipped experiment, relative to the repository.
    file: &'static str,
    /// What the break does to the lesson.
    why: &'static str,
    /// Text replaced in the file (every occurrence; each must occur).
    edits: &'static [(&'static str, &'static str)],
    /// The expect line that must now fail.
    fails: &'static str,
}

const BROKEN: &[Broken] = &[
    Broken {
        file: "experiments/async-offload.ron",
        why: "the queued variant calls the slow email service directly: nothing is offloaded",
        edits: &[(
            r#""queued": { "app.handler": [Work, Call(target: "outbox")] },"#,
            r#""queued": { "app.handler": [Work, Call(target: "email")] },"#,
        )],
        fails: "queued.users.latency_p99_s < 0.05",
    },
    Broken {
        file: "experiments/autoscaler-spike.ron",
        why: "the fast autoscaler gets the conservative one's window, lag and rate limit",
        edits: &[(
            r#""fast": {},"#,
            r#""fast": {
            "app.autoscaler.window": "1m",
            "app.autoscaler.lag": "30s",
            "app.autoscaler.policy": Hpa(scale_up: Behavior(policies: [Pods(value: 1, period: "1m")])),
        },"#,
        )],
        fails: "fast.goodput_rps > 1.1 * conservative.goodput_rps",
    },
    Broken {
        file: "experiments/cache-stampede.ron",
        why: "the coalescing variant does not coalesce",
        edits: &[(
            r#""coalesce": { "cache.coalesce": true },"#,
            r#""coalesce": { "cache.coalesce": false },"#,
        )],
        fails: "coalesce.cache.fills_in_flight_max == 1",
    },
    Broken {
        file: "experiments/capacity-plan.ron",
        why: "the premium machines are not faster: no fleet meets an SLO below the work's own p99",
        edits: &[(
            "Size(workers: 4, speed: 2.0, cost_per_hour: 0.50)",
            "Size(workers: 4, speed: 1.0, cost_per_hour: 0.50)",
        )],
        fails: "plan.found == 1",
    },
    Broken {
        file: "experiments/circuit-breaker.ron",
        why: "the breaker needs 100,000 calls within a second before it may open: it never opens",
        edits: &[(
            "window: Count(20), minimum_calls: 10",
            "window: Time(1), minimum_calls: 100000",
        )],
        fails: "breaker.users.browse.latency_p99_s < 0.1",
    },
    Broken {
        file: "experiments/connection-pool.ron",
        why: "the acquire timeout is an hour: workers wait for connections as without one",
        edits: &[(r#"acquire_timeout: "50ms""#, r#"acquire_timeout: "1h""#)],
        fails: "all(acquire_timeout.users.static.latency_p99_s < 0.05)",
    },
    Broken {
        file: "experiments/degradation-policies.ron",
        why: "the priority variant has no priority: critical requests are shed like the others",
        edits: &[(
            r#""priority": { "app.capacity": 100, "app.priority": true },"#,
            r#""priority": { "app.capacity": 100, "app.priority": false },"#,
        )],
        fails: "priority.users.critical.rejected == 0",
    },
    Broken {
        file: "experiments/load-balancing.ron",
        why: "two choices out of one is random assignment",
        edits: &[(
            r#""two_choices": { "lb.algorithm": PowerOfChoices(d: 2) },"#,
            r#""two_choices": { "lb.algorithm": PowerOfChoices(d: 1) },"#,
        )],
        fails: "two_choices.timed_out == 0",
    },
    Broken {
        file: "experiments/load-shifting.ron",
        why: "the off-peak window opens at the start: the batch runs at peak after all",
        edits: &[(
            r#"[(from: "6m", until: "14m")]"#,
            r#"[(from: "0s", until: "14m")]"#,
        )],
        fails: "off_peak.users.latency_p99_s significantly < at_peak.users.latency_p99_s",
    },
    Broken {
        file: "experiments/quickstart.ron",
        why: "a fifth worker: the utilization is no longer 70%",
        edits: &[("workers: 4,", "workers: 5,")],
        fails: "app.utilization == 0.7 ± 0.01",
    },
    Broken {
        file: "experiments/rate-limit-tiers.ron",
        why: "the free tier's limit is above what it sends: nothing is refused",
        edits: &[(
            "\"free\": TokenBucket(rate: 500.0, burst: 100)",
            "\"free\": TokenBucket(rate: 5000.0, burst: 100)",
        )],
        fails: "tier_limits.paid_users.latency_p99_s < 0.05",
    },
    Broken {
        file: "experiments/read-replicas.ron",
        why: "reads are pinned to the primary for 1 ms after a write, far less than the lag",
        edits: &[(
            r#""db.read_your_writes": "2s","#,
            r#""db.read_your_writes": "1ms","#,
        )],
        fails: "all(lag_1s_ryw.db.stale_reads == 0)",
    },
    Broken {
        file: "experiments/retry-storm.ron",
        why: "the protected policy loses its budget and its backoff: naive retries",
        edits: &[
            (
                "budget: Some(Budget(percent: 10.0, min_concurrency: 3)),",
                "",
            ),
            (
                r#"backoff: Exponential(base: "50ms", cap: "5s", jitter: Full),"#,
                r#"backoff: Fixed("0ms"),"#,
            ),
        ],
        fails: "backoff_budget.goodput_rps >= 0.98 * no_retries.goodput_rps",
    },
    Broken {
        file: "experiments/retry-tipping-point.ron",
        why: "the protected policy loses its budget and its backoff: it tips like naive retries",
        edits: &[
            (
                "budget: Some(Budget(percent: 10.0, min_concurrency: 3)),",
                "",
            ),
            (
                r#"backoff: Exponential(base: "50ms", cap: "5s", jitter: Full),"#,
                r#"backoff: Fixed("0ms"),"#,
            ),
        ],
        fails: "backoff_budget.plan.tips == 0",
    },
    Broken {
        file: "experiments/rolling-deploy.ron",
        why: "the surge variant rolls without a surge",
        edits: &[(
            r#""surge": { "faults.0.strategy": RollingUpdate(max_surge: 1, max_unavailable: 0) },"#,
            r#""surge": { "faults.0.strategy": RollingUpdate(max_surge: 0, max_unavailable: 1) },"#,
        )],
        fails: "surge.latency_p99_s significantly < no_surge.latency_p99_s",
    },
    Broken {
        file: "experiments/vertical-vs-horizontal.ron",
        why:
            "the balancer neither checks health nor ejects: it keeps sending to the crashed replica",
        edits: &[
            (
                r#"health_check: HealthCheck(interval: "2s", timeout: "500ms", healthy: 2, unhealthy: 2),"#,
                "",
            ),
            (
                r#"outlier: Outlier(consecutive_errors: 5, base_ejection: "30s"),"#,
                "",
            ),
        ],
        fails: "all(horizontal.succeeded > 0.999 * horizontal.requests)",
    },
    Broken {
        file: "experiments/connection-storm.ron",
        why: "the pooler keeps as many server connections as the database accepts",
        edits: &[("default_pool_size: 40,", "default_pool_size: 150,")],
        fails: "pgbouncer.db.connections_peak <= 40",
    },
    Broken {
        file: "experiments/hedged-requests.ron",
        why: "the hedge waits 300 ms, past the tail it was meant to cut",
        edits: &[(
            r#""p95": { "users.hedge": Hedge(after: "30ms") },"#,
            r#""p95": { "users.hedge": Hedge(after: "300ms") },"#,
        )],
        fails: "p95.latency_p99_s significantly < 0.7 * none.latency_p99_s",
    },
    Broken {
        file: "experiments/migration.ron",
        why: "the rollback rule watches errors only: it fires once the collapse has begun",
        edits: &[(
            r#"interval: "15s", max_p99: "250ms", threshold: 2"#,
            r#"interval: "15s", threshold: 2"#,
        )],
        fails: "staged_rollback.edge.rollback_at_s < 150",
    },
    Broken {
        file: "experiments/multi-region-failover.ron",
        why: "the short TTL is as long as the long one: caches keep the lost region a minute",
        edits: &[(
            r#""passive_ttl5": { "dns.ttl": "5s" },"#,
            r#""passive_ttl5": { "dns.ttl": "60s" },"#,
        )],
        fails: "passive_ttl5.users.rto_s significantly < passive_ttl60.users.rto_s - 30",
    },
    Broken {
        file: "experiments/sticky-sessions.ron",
        why: "the balancer forgets affinity: users land anywhere, where their session is not",
        edits: &[("affinity: true,", "affinity: false,")],
        fails: "sticky.app.sessions_lost < 0.7 * 10000",
    },
    Broken {
        file: "experiments/hot-shards.ron",
        why: "the load-based split is placed at the middle key, past every popular key",
        edits: &[(
            r#"Split(node: "shards", shard: 0, at: "60s", copy: "30s")]"#,
            r#"Split(node: "shards", shard: 0, at: "60s", copy: "30s", by_load: false)]"#,
        )],
        fails: "split_by_load.goodput_rps significantly > 1.2 * split_middle.goodput_rps",
    },
    Broken {
        file: "experiments/monolith-vs-services.ron",
        why: "hops are free: no network latency and no serialization",
        edits: &[
            (
                r#"latency: Deterministic(value: "500us")"#,
                r#"latency: Deterministic(value: "1ns")"#,
            ),
            (
                r#"Compute(Deterministic(value: "200us"))"#,
                r#"Compute(Deterministic(value: "1ns"))"#,
            ),
        ],
        fails: "chain.latency_p50_s significantly > monolith.latency_p50_s + 0.004",
    },
    Broken {
        file: "experiments/serverless-vs-always-on.ron",
        why: "the function's instances are never reclaimed: no cold start after the first",
        edits: &[(r#"idle_timeout: "10m""#, r#"idle_timeout: "2h""#)],
        fails: "sporadic_function.latency_p99_s > 0.5",
    },
    Broken {
        file: "experiments/serverless-burst.ron",
        why: "the raised cap comes with no scaling rate: nothing throttles the ramp",
        edits: &[(
            r#""raised_cap": { "app.function.cap": 3000 },"#,
            r#""raised_cap": { "app.function.cap": 3000, "app.function.scaling_rate": None },"#,
        )],
        fails: "raised_cap.app.scaling_throttled > 1000",
    },
    Broken {
        file: "experiments/textbook/closed-loop.ron",
        why: "users think 2 s, not 1 s: the response time law still holds, the value moves",
        edits: &[(
            r#"think: Exponential(mean: "1s")"#,
            r#"think: Exponential(mean: "2s")"#,
        )],
        fails: "users.response_mean_s == 0.111 ± 0.003",
    },
    Broken {
        file: "experiments/textbook/erlang-b.ron",
        why: "a waiting room of 5: no longer a loss system",
        edits: &[(r#""queue.capacity": 0,"#, r#""queue.capacity": 5,"#)],
        fails: "queue.rejected / queue.arrivals == 0.0184 ± 0.001",
    },
    Broken {
        file: "experiments/textbook/md1.ron",
        why: "exponential service times: M/M/1 waits twice as long as M/D/1",
        edits: &[(
            r#"Deterministic(value: "1ms")"#,
            r#"Exponential(mean: "1ms")"#,
        )],
        fails: "queue.wait_mean_s == 0.002 ± 0.0001",
    },
    Broken {
        file: "experiments/textbook/mg1-lognormal.ron",
        why: "less variable service times (cv 1): Pollaczek–Khinchine gives a shorter wait",
        edits: &[(
            r#"LogNormal(mean: "1ms", cv: 2.0)"#,
            r#"LogNormal(mean: "1ms", cv: 1.0)"#,
        )],
        fails: "queue.wait_mean_s == 0.00583 ± 0.0005",
    },
    Broken {
        file: "experiments/textbook/mmc.ron",
        why: "a fifth server: the utilization is 64%, not 80%",
        edits: &[(r#""queue.workers": 4,"#, r#""queue.workers": 5,"#)],
        fails: "queue.utilization == 0.8 ± 0.01",
    },
    Broken {
        file: "experiments/textbook/mmck.ron",
        why: "a larger waiting room: fewer arrivals are blocked",
        edits: &[(r#""queue.capacity": 3,"#, r#""queue.capacity": 6,"#)],
        fails: "queue.rejected / queue.arrivals == 0.141 ± 0.004",
    },
    Broken {
        file: "experiments/textbook/speedup.ron",
        why: "the faster variant is not faster",
        edits: &[(r#""queue.speed": 1.1"#, r#""queue.speed": 1.0"#)],
        fails: "all(faster.latency_mean_s significantly < baseline.latency_mean_s)",
    },
    Broken {
        file: "experiments/textbook/supermarket.ron",
        why: "two choices out of one is random assignment",
        edits: &[(
            r#""two_choices": { "lb.algorithm": PowerOfChoices(d: 2) },"#,
            r#""two_choices": { "lb.algorithm": PowerOfChoices(d: 1) },"#,
        )],
        fails: "two_choices.latency_mean_s significantly < random.latency_mean_s",
    },
    Broken {
        file: "experiments/textbook/utilization-knee.ron",
        why: "the last step is 90% to 92%, not to 95%: no knee left to see",
        edits: &[(
            r#""rho95": { "arrivals.arrivals.rate": 950.0 },"#,
            r#""rho95": { "arrivals.arrivals.rate": 920.0 },"#,
        )],
        fails: "rho95.latency_mean_s > 1.8 * rho90.latency_mean_s",
    },
];

/// The broken file, written beside a copy of the models it names.
fn write_broken(b: &Broken) -> PathBuf {
    let original = std::fs::read_to_string(repo(b.file)).unwrap();
    let mut text = original.clone();
    for (from, to) in b.edits {
        assert!(
            text.contains(from),
            "{}: `{from}` is not in the file",
            b.file
        );
        text = text.replace(from, to);
    }
    assert_ne!(text, original);
    // Model paths are relative to the experiment: point them at the repository's.
    let dir = repo(b.file).parent().unwrap().to_path_buf();
    for models in ["../models/", "../../models/"] {
        let Ok(abs) = dir.join(models).canonicalize() else {
            continue;
        };
        text = text.replace(&format!("\"{models}"), &format!("\"{}/", abs.display()));
    }
    let out = repo("target/tmp/lessons");
    std::fs::create_dir_all(&out).unwrap();
    let name = b
        .file
        .rsplit('/')
        .next()
        .unwrap()
        .replace(".ron", "-broken.ron");
    let path = out.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_experiment_is_listed() {
    let mut shipped = Vec::new();
    for dir in ["experiments", "experiments/textbook"] {
        for e in std::fs::read_dir(repo(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "ron") {
                shipped.push(format!(
                    "{dir}/{}",
                    p.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    shipped.sort();
    let mut listed: Vec<String> = BROKEN.iter().map(|b| b.file.to_string()).collect();
    listed.sort();
    assert_eq!(
        listed, shipped,
        "each shipped experiment needs a broken variant here"
    );
}

#[test]
fn breaking_each_lesson_fails_its_expectation() {
    let paths: Vec<PathBuf> = BROKEN.iter().map(write_broken).collect();
    let mut args: Vec<&str> = vec!["check", "--quick"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(&args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // `check` prints each file's verdicts under its name, in the order given.
    let mut problems = Vec::new();
    for (b, p) in BROKEN.iter().zip(&paths) {
        let name = p.display().to_string();
        let Some(start) = stdout.find(&format!("{name} (")) else {
            problems.push(format!("{}: no verdicts", b.file));
            continue;
        };
        let section = &stdout[start..];
        let end = section[1..]
            .find(&format!("{}/", repo("target/tmp/lessons").display()))
            .map_or(section.len(), |e| e + 1);
        let section = &section[..end];
        if !section.contains(&format!("FAIL {}", b.fails)) {
            problems.push(format!(
                "{} ({}): `{}` did not fail:\n{section}",
                b.file, b.why, b.fails
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
