//! Same experiment and seed, same bytes: across repeated runs and thread counts. And common
//! random numbers: changing a service parameter leaves the arrival sequence untouched.

mod common;

use common::repo;
use scalesim::components::{Msg, Network};
use scalesim::engine::{self, ActorId, Calendar, Nanos, World};
use scalesim::model::{self, CommandLine};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scalesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scalesim")
}

fn out_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("determinism")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run_to(name: &str, extra: &[&str]) -> (Vec<u8>, Vec<u8>) {
    let dir = out_dir(name);
    let mut args = vec![
        "run",
        "experiments/quickstart.ron",
        "--quiet",
        "--set",
        "duration=60s",
        "--replications",
        "4",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = scalesim(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        std::fs::read(dir.join("summary.json")).unwrap(),
        std::fs::read(dir.join("runs.csv")).unwrap(),
    )
}

#[test]
fn same_bytes_across_runs_and_thread_counts() {
    let a = run_to("a", &["--threads", "1"]);
    let b = run_to("b", &["--threads", "2"]);
    let c = run_to("c", &[]);
    assert_eq!(a.0, b.0, "summary.json differs between 1 and 2 threads");
    assert_eq!(a.1, b.1, "runs.csv differs between 1 and 2 threads");
    assert_eq!(a, c, "a repeated run differs");
    // And the seed matters.
    let d = run_to("d", &["--seed", "43"]);
    assert_ne!(a.1, d.1);
}

/// Wraps a world and records when each open-loop arrival happens.
struct ArrivalRecorder {
    inner: Network,
    arrivals: Vec<Nanos>,
}

impl World for ArrivalRecorder {
    type Msg = Msg;
    fn handle(&mut self, target: ActorId, msg: Msg, cal: &mut Calendar<Msg>) {
        if matches!(msg, Msg::Generate) {
            self.arrivals.push(cal.now());
        }
        self.inner.handle(target, msg, cal);
    }
    fn kind_code(msg: &Msg) -> u32 {
        Network::kind_code(msg)
    }
}

fn arrivals_and_fingerprint(set: &[&str]) -> (Vec<Nanos>, u64) {
    let cli = CommandLine {
        set: set.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let plan = model::load_experiment(&repo("experiments/quickstart.ron"), &cli).unwrap();
    let s = &plan.settings;
    let net = Network::build(
        plan.points[0].actors.clone(),
        s.seed,
        3,
        s.warmup.0,
        1 << 20,
    )
    .unwrap();
    let mut w = ArrivalRecorder {
        inner: net,
        arrivals: Vec::new(),
    };
    let mut cal = Calendar::new();
    w.inner.start(&mut cal);
    let out = engine::run(&mut w, &mut cal, 60_000_000_000, u64::MAX);
    (w.arrivals, out.fingerprint)
}

#[test]
fn service_parameters_do_not_change_arrivals() {
    let (base, fp_base) = arrivals_and_fingerprint(&[]);
    let (slower, fp_slower) = arrivals_and_fingerprint(&[
        "app.workers=3",
        "app.service_time=Exponential(mean: \"12ms\")",
    ]);
    assert!(base.len() > 10_000);
    assert_eq!(
        base, slower,
        "the arrival times differ between the two points"
    );
    assert_ne!(
        fp_base, fp_slower,
        "the trajectories should differ after the arrivals"
    );
}

#[test]
fn sweeps_and_variants_give_one_point_each() {
    let dir = out_dir("sweep");
    let exp = dir.with_extension("ron");
    std::fs::create_dir_all(exp.parent().unwrap()).unwrap();
    std::fs::write(
        &exp,
        format!(
            r#"Experiment(
                model: "{}",
                duration: "20s", warmup: "1s", replications: 2,
                variants: {{ "slow": {{ "queue.speed": 0.5 }}, "fast": {{ "queue.speed": 2.0 }} }},
                sweep: {{ "arrivals.arrivals.rate": [100.0, 200.0], "queue.workers": [1, 2] }},
            )"#,
            repo("models/single-queue.ron").display()
        ),
    )
    .unwrap();
    let out = scalesim(&[
        "run",
        exp.to_str().unwrap(),
        "--quiet",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        1 + 2 * 4 * 2,
        "variants × grid × replications rows"
    );
    assert!(lines[0]
        .starts_with("variant,param.arrivals.arrivals.rate,param.queue.workers,replication,"));
    assert!(lines[1].starts_with("slow,100.0,1,0,"));
    assert!(lines[16].starts_with("fast,200.0,2,1,"));
    // Common random numbers: the same replication sees the same arrivals in every variant.
    let requests = |line: &str| line.split(',').nth(7).unwrap().to_string();
    assert_eq!(requests(lines[1]), requests(lines[9]));
}
