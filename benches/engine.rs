//! Engine benchmarks: requests (customers) and events per second for the benchmark models
//! shipped in `benches/` (M/M/1, M/M/16, the web tier) through the full actor model, against
//! a hard-coded single-purpose M/M/1 loop on the same machine, in interleaved rounds; and peak
//! memory for 10^6 vs 10^8 events. Run with `cargo bench --bench engine`.

use scalesim::components::{ActorConfig, Network};
use scalesim::engine::{self, Calendar};
use scalesim::model::{self, CommandLine};
use std::time::Instant;

#[path = "floor_loop.rs"]
mod floor_loop;

/// The actors of benchmark model `benches/NAME.ron`, long enough for any event count.
fn model(name: &str) -> Vec<(String, ActorConfig)> {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches")
        .join(format!("{name}.ron"));
    let cli = CommandLine {
        set: vec!["duration=1000000s".into()],
        ..Default::default()
    };
    let plan = model::load_experiment(&file, &cli).expect("the benchmark model loads");
    plan.points[0].actors.clone()
}

/// Runs benchmark model `name` until `events` events have been handled; returns
/// (requests, events, seconds).
fn run_model(name: &str, events: u64) -> (u64, u64, f64) {
    let mut net = Network::build(model(name), 1, 0, 0, usize::MAX).unwrap();
    let mut cal = Calendar::new();
    net.start(&mut cal);
    let t = Instant::now();
    let out = engine::run(&mut net, &mut cal, u64::MAX, events);
    let secs = t.elapsed().as_secs_f64();
    let requests = net.metrics(out.end).get("requests").unwrap_or(0.0) as u64;
    (requests, out.events, secs)
}

/// The hard-coded M/M/1 loop (`floor_loop.rs`, bare) for `events` events' worth of requests;
/// returns (requests, events, seconds).
fn baseline_mm1(events: u64) -> (u64, u64, f64) {
    let t = Instant::now();
    let (served, handled) = floor_loop::simulate(events / 2, false);
    (served, handled, t.elapsed().as_secs_f64())
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Peak memory of a fresh process running `events` events of M/M/1.
fn memory_in_child(events: u64) -> Option<u64> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .env("SCALESIM_BENCH_MEMORY_EVENTS", events.to_string())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn main() {
    if let Ok(v) = std::env::var("SCALESIM_BENCH_MEMORY_EVENTS") {
        let events: u64 = v.parse().expect("event count");
        run_model("mm1", events);
        println!("{}", peak_rss_kib());
        return;
    }
    // Requests and events per second, in interleaved rounds so that the machine's load
    // changes hit every contender alike; ratios to the loop are taken within each round.
    const EVENTS: u64 = 10_000_000;
    const ROUNDS: usize = 5;
    const MODELS: [(&str, &str); 3] = [
        ("mm1", "scalesim M/M/1"),
        ("mm16", "scalesim M/M/16"),
        ("web-tier", "scalesim web tier"),
    ];
    let per_s = |(n, e, s): (u64, u64, f64)| (n as f64 / s / 1e6, e as f64 / s / 1e6);
    let mut rounds: Vec<Vec<(f64, f64)>> = Vec::new();
    for _ in 0..ROUNDS {
        let mut round = vec![per_s(baseline_mm1(EVENTS))];
        for (m, _) in MODELS {
            round.push(per_s(run_model(m, EVENTS)));
        }
        rounds.push(round);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let column = |f: fn(&[(f64, f64)], usize) -> f64, i: usize| {
        median(rounds.iter().map(|r| f(r, i)).collect())
    };
    println!("median of {ROUNDS} interleaved rounds ({EVENTS} events each):");
    println!(
        "  {:<22} {:>10} {:>10} {:>14}",
        "", "requests/s", "events/s", "requests ÷ loop"
    );
    for (i, name) in std::iter::once("hard-coded M/M/1 loop")
        .chain(MODELS.map(|(_, label)| label))
        .enumerate()
    {
        let reqs = column(|r, i| r[i].0, i);
        let evs = column(|r, i| r[i].1, i);
        let ratio = column(|r, i| r[i].0 / r[0].0, i);
        println!("  {name:<22} {reqs:>8.2} M {evs:>8.2} M {ratio:>13.2}×");
    }
    match (memory_in_child(1_000_000), memory_in_child(100_000_000)) {
        (Some(small), Some(large)) => {
            println!("peak resident memory (whole process):");
            println!("  10^6 events  {:8.1} MiB", small as f64 / 1024.0);
            println!(
                "  10^8 events  {:8.1} MiB  ({:.2}× the 10^6 run)",
                large as f64 / 1024.0,
                large as f64 / small as f64
            );
        }
        _ => println!("peak memory: not measured (needs /proc/self/status)"),
    }
}
