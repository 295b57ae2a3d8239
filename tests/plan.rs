//! `scalesim plan`: capacity plans against Erlang C, tipping points against a brute-force
//! scan, byte-identical answers across threads, reruns and resumes, and located errors.

mod common;

use common::{repo, write};
use scalesim::experiment::journal::{Journal, RunRecord};
use scalesim::model::CommandLine;
use scalesim::plan::{self, spec::Question, Answer};
use scalesim::theory;
use std::path::{Path, PathBuf};
use std::process::Command;

fn load(p: &Path) -> plan::Loaded {
    plan::load(p, &CommandLine::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn mmc_plan(
    name: &str,
    (rate, mean_ms): (f64, f64),
    bound_s: f64,
    duration: &str,
    objective: &str,
) -> PathBuf {
    write(
        "plan",
        name,
        &format!(
            r#"Experiment(
    name: "{name}",
    model: Model(nodes: {{
        "arrivals": Client(target: "queue", arrivals: Poisson(rate: {rate:?})),
        "queue": Service(workers: 1, service_time: Exponential(mean: "{mean_ms}ms")),
    }}),
    duration: "{duration}", warmup: "4s", seed: 21, replications: 3,
    plan: Plan(
        vary: {{ "queue.workers": Range(1, 48) }},
        minimize: "{objective}",
        subject_to: ["queue.wait_mean_s < {bound_s:e}"],
    ),
)"#
        ),
    )
}

/// The smallest c whose Erlang C mean wait is below `bound`.
fn erlang_c_answer(rate: f64, mean_s: f64, bound: f64) -> u32 {
    (1..200)
        .find(|&c| rate * mean_s < c as f64 && theory::mmc_wait(c, rate, 1.0 / mean_s) < bound)
        .unwrap()
}

#[test]
fn capacity_plan_finds_the_erlang_c_answer_with_fewer_runs_than_the_grid() {
    // (rate, mean service in ms, the answer the bound is placed for, duration, objective):
    // the objective may be a metric or the varied path itself.
    for (rate, mean_ms, c0, duration, objective) in [
        (3200.0, 1.0, 5u32, "30s", "cost"),
        (1800.0, 5.0, 12, "40s", "queue.workers"),
        (400.0, 20.0, 10, "120s", "queue.workers * 2 + cost"),
    ] {
        let (mean_s, mu) = (mean_ms / 1e3, 1e3 / mean_ms);
        // A bound halfway (geometrically) between the waits of c0 − 1 and c0 workers.
        let bound = (theory::mmc_wait(c0 - 1, rate, mu) * theory::mmc_wait(c0, rate, mu)).sqrt();
        assert_eq!(erlang_c_answer(rate, mean_s, bound), c0);
        let p = mmc_plan(
            &format!("mmc-{c0}"),
            (rate, mean_ms),
            bound,
            duration,
            objective,
        );
        let loaded = load(&p);
        let out = plan::search(&loaded, None, None, Vec::new()).unwrap();
        let Answer::Cheapest(a) = &out.answer else {
            panic!("a capacity plan")
        };
        let best = &a.candidates[a.best.expect("an answer")];
        let workers = a.question.dims[0].number(best.at[0]).unwrap() as u32;
        assert_eq!(workers, c0, "λ={rate} S={mean_ms}ms bound={bound}");
        assert!(
            a.runs * 2 < a.grid_runs,
            "{} runs against {}",
            a.runs,
            a.grid_runs
        );
        // Every evaluated point is a unit of the work list.
        assert_eq!(out.units.len(), a.runs);
    }
}

fn scalesim(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(args)
        .output()
        .expect("run scalesim")
}

fn folder_bytes(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for name in ["plan.json", "runs.csv", "report.html"] {
        files.push((name.to_string(), std::fs::read(dir.join(name)).unwrap()));
    }
    let mut plots: Vec<PathBuf> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    plots.sort();
    for p in plots {
        files.push((
            p.file_name().unwrap().to_string_lossy().into_owned(),
            std::fs::read(&p).unwrap(),
        ));
    }
    files
}

fn sized_plan() -> PathBuf {
    write(
        "plan",
        "sized",
        r#"Experiment(
    name: "sized",
    model: Model(nodes: {
        "users": Client(target: "lb", arrivals: Poisson(rate: 400.0)),
        "lb": Balancer(target: "app", algorithm: LeastOutstanding),
        "app": Service(
            service_time: Exponential(mean: "10ms"),
            sizes: {
                "small": Size(workers: 1, speed: 1.0, cost_per_hour: 0.10),
                "large": Size(workers: 4, speed: 1.0, cost_per_hour: 0.40),
            },
            size: "small",
        ),
    }),
    duration: "20s", warmup: "2s", seed: 4, replications: 2,
    plan: Plan(
        vary: { "app.size": ["small", "large"], "app.replicas": Range(1, 16) },
        minimize: "cost",
        subject_to: ["latency_p99_s < 0.08"],
    ),
    expect: ["plan.found == 1", "plan.best.latency_p99_s < 0.08"],
)"#,
    )
}

#[test]
fn plan_folders_are_identical_across_threads_reruns_and_resumes() {
    let exp = sized_plan();
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan-bytes");
    let _ = std::fs::remove_dir_all(&base);
    let dir = |n: &str| base.join(n);
    for (name, threads) in [("t1", "1"), ("t2", "2"), ("again", "2")] {
        let o = scalesim(&[
            "plan",
            exp.to_str().unwrap(),
            "--out",
            dir(name).to_str().unwrap(),
            "--threads",
            threads,
            "--quiet",
        ]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        assert!(!dir(name).join("units").exists(), "the journal is removed");
    }
    let reference = folder_bytes(&dir("t1"));
    assert!(reference.iter().any(|(n, _)| n == "plan-pareto.svg"));
    assert_eq!(reference, folder_bytes(&dir("t2")));
    assert_eq!(reference, folder_bytes(&dir("again")));

    // An interrupted search: its journal holds some of the units; --resume finishes it.
    let loaded = load(&exp);
    let resumed = dir("resumed");
    let record = RunRecord {
        experiment: exp.display().to_string(),
        set: Vec::new(),
        seed: None,
        replications: None,
        quick: false,
        plan_id: plan::search_id(&loaded.plan),
        shard: None,
    };
    let (journal, _) = Journal::open(&resumed, &record, false).unwrap();
    plan::search(&loaded, Some(2), Some(&journal), Vec::new()).unwrap();
    let units = Journal::dir_of(&resumed);
    let mut saved: Vec<PathBuf> = std::fs::read_dir(&units)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('p'))
        .filter(|p| p.file_name().unwrap() != "plan.json")
        .collect();
    saved.sort();
    assert!(saved.len() > 4);
    for p in saved.iter().step_by(2) {
        std::fs::remove_file(p).unwrap();
    }
    let o = scalesim(&[
        "plan",
        exp.to_str().unwrap(),
        "--out",
        resumed.to_str().unwrap(),
        "--resume",
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("runs resumed"), "{stdout}");
    assert_eq!(reference, folder_bytes(&resumed));
}

#[test]
fn a_plan_with_no_feasible_point_exits_1_and_says_so() {
    let p = write(
        "plan",
        "impossible",
        r#"Experiment(
    model: Model(nodes: {
        "users": Client(target: "app", arrivals: Poisson(rate: 100.0)),
        "app": Service(service_time: Deterministic(value: "50ms")),
    }),
    duration: "10s", replications: 2,
    plan: Plan(vary: { "app.workers": Range(1, 8) }, minimize: "cost",
               subject_to: ["latency_mean_s < 0.01"]),
    expect: ["plan.best.latency_mean_s < 0.01"],
)"#,
    );
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plan-impossible");
    let o = scalesim(&["plan", p.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("no configuration in the range meets every constraint"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL plan.best.latency_mean_s"), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("plan.json")).unwrap()).unwrap();
    assert_eq!(v["found"], false);
    let reasons = v["infeasible"].as_array().unwrap();
    assert!(!reasons.is_empty());
    assert!(reasons.iter().all(|r| r["reason"].as_str().is_some()));
}

#[test]
fn bad_plan_blocks_are_refused_with_their_location() {
    let model = r#"model: Model(nodes: {
        "users": Client(target: "app", arrivals: Poisson(rate: 100.0)),
        "app": Service(service_time: Exponential(mean: "5ms")),
    }),
    duration: "10s","#;
    let cases = [
        (
            "unknown-path",
            r#"plan: Plan(vary: { "app.replicaz": Range(1, 4) }, minimize: "cost"),"#,
            "unknown field `replicaz`",
        ),
        (
            "unknown-node",
            r#"plan: Plan(vary: { "ap.replicas": Range(1, 4) }, minimize: "cost"),"#,
            "there is no node `ap`",
        ),
        (
            "empty-range",
            r#"plan: Plan(vary: { "app.replicas": Range(5, 1) }, minimize: "cost"),"#,
            "is empty",
        ),
        (
            "empty-list",
            r#"plan: Plan(vary: { "app.replicas": [] }, minimize: "cost"),"#,
            "has no values",
        ),
        (
            "objective-not-a-metric",
            r#"plan: Plan(vary: { "app.replicas": Range(1, 4) }, minimize: "costs"),"#,
            "`costs` is not a metric",
        ),
        (
            "constraint-not-a-metric",
            r#"plan: Plan(vary: { "app.replicas": Range(1, 4) }, minimize: "cost", subject_to: ["app.latency < 1"]),"#,
            "`app.latency` is not a metric",
        ),
        (
            "bad-value",
            r#"plan: Plan(vary: { "app.replicas": [1, "two"] }, minimize: "cost"),"#,
            "",
        ),
        (
            "unknown-field",
            r#"plan: Plan(vary: { "app.replicas": Range(1, 4) }, minimise: "cost"),"#,
            "no field `minimise`",
        ),
        (
            "tipping-bad-column",
            r#"plan: Tipping(vary: "app.workers", range: (1, 8), recovered: "last.goodput > 1"),"#,
            "`goodput` is not a time-series column",
        ),
        (
            "best-not-a-metric",
            r#"plan: Plan(vary: { "app.replicas": Range(1, 4) }, minimize: "cost"),
    expect: ["plan.best.latency_p999 < 1"],"#,
            "did you mean `plan.best.latency_p999_s`",
        ),
        (
            "varied-twice",
            r#"plan: Plan(vary: { "app.replicas": Range(1, 4), "app.replicas": [2] }, minimize: "cost"),"#,
            "\"app.replicas\" is given twice in this map (first at line 7, column 24)",
        ),
        (
            "no-such-fault",
            r#"plan: Tipping(vary: "faults.0.for", range: ("1s", "10s")),"#,
            "names no fault",
        ),
        (
            "tipping-empty-range",
            r#"plan: Tipping(vary: "app.workers", range: (8, 1)),"#,
            "`range` is empty",
        ),
        (
            "expect-not-the-answer",
            r#"plan: Plan(vary: { "app.replicas": Range(1, 4) }, minimize: "cost"),
    expect: ["latency_p99_s < 1"],"#,
            "expect lines read its answer",
        ),
    ];
    for (name, block, message) in cases {
        let p = write(
            "plan-bad",
            name,
            &format!("Experiment(\n    {model}\n    {block}\n)"),
        );
        let o = scalesim(&["validate", p.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{name}: {o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        let file = p.display().to_string();
        assert!(
            err.contains(&format!("{file}:")),
            "{name}: no location: {err}"
        );
        assert!(err.contains(message), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        // The same error from `plan`, before anything runs.
        let o = scalesim(&["plan", p.to_str().unwrap(), "--out", "/nonexistent/never"]);
        assert_eq!(o.status.code(), Some(2), "{name}: {o:?}");
    }
    // Errors inside a plan's expression point at the column within the file.
    let p = write(
        "plan-bad",
        "syntax",
        &format!(
            "Experiment(\n    {model}\n    plan: Plan(vary: {{ \"app.replicas\": Range(1, 4) }}, minimize: \"cost +\"),\n)"
        ),
    );
    let o = scalesim(&["validate", p.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("{}:7:", p.display())), "{err}");
    assert!(err.contains("expected a number, a metric"), "{err}");
}

fn tipping_experiment(plan_block: &str, sweep: &str) -> String {
    format!(
        r#"Experiment(
    name: "tip",
    model: "{}",
    duration: "4m",
    warmup: "20s",
    seed: 11,
    replications: 5,
    faults: [ Slowdown(node: "db", at: "1m", for: "1s", factor: 2.0) ],
    set: {{ "users.retry": Some(Retry(max_attempts: 5, backoff: Fixed("0ms"))) }},
    {plan_block}
    {sweep}
)"#,
        repo("models/web-db.ron").display()
    )
}

#[test]
fn tipping_point_lies_in_the_brute_force_scans_transition() {
    let block = r#"plan: Tipping(vary: "faults.0.for", range: ("500ms", "3500ms"), resolution: "250ms", window: "1m"),"#;
    let p = write("tipping", "bisect", &tipping_experiment(block, ""));
    let loaded = load(&p);
    let Some(Question::Tipping(t)) = &loaded.question else {
        panic!("a tipping plan")
    };
    let out = plan::search(&loaded, None, None, Vec::new()).unwrap();
    let Answer::Tipping(a) = &out.answer else {
        panic!("a tipping answer")
    };
    let b = &a.boundaries[0];
    assert!(b.tips, "naive retries tip within the range");
    let boundary = t.numbers[b.boundary.unwrap()];

    // Every grid value, the same seeds and replications.
    let values: Vec<String> = t
        .numbers
        .iter()
        .map(|x| format!("\"{}ms\"", (x * 1e3).round()))
        .collect();
    let sweep = format!(r#"sweep: {{ "faults.0.for": [{}] }},"#, values.join(", "));
    let scan_file = write("tipping", "scan", &tipping_experiment("", &sweep));
    let mut scan = common::load(&scan_file).unwrap();
    scan.series_for_every_run = true;
    let results = scalesim::experiment::run_plan(&scan, None).unwrap();
    let p_recovered: Vec<f64> = (0..scan.points.len())
        .map(|i| {
            let runs: Vec<_> = results.of_point(i).collect();
            let ok = runs.iter().filter(|u| plan::recovered(&scan, t, u)).count();
            ok as f64 / runs.len() as f64
        })
        .collect();
    // The transition: from the last value below which every run recovered to the first
    // value from which none did.
    let first_partial = p_recovered.iter().position(|&p| p < 1.0).unwrap();
    let lo = if first_partial == 0 {
        t.numbers[0]
    } else {
        t.numbers[first_partial - 1]
    };
    let last_partial = p_recovered.iter().rposition(|&p| p > 0.0).unwrap_or(0);
    let hi = t.numbers[(last_partial + 1).min(t.numbers.len() - 1)];
    assert!(
        lo <= boundary && boundary <= hi,
        "boundary {boundary} outside the scan's transition [{lo}, {hi}]: {p_recovered:?}"
    );
    // The bisection spent fewer probes than the scan.
    assert!(
        b.probes.len() < t.numbers.len(),
        "{} probes",
        b.probes.len()
    );
    // The scan does go from recovering to tipping inside the range.
    assert_eq!(p_recovered[0], 1.0);
    assert_eq!(*p_recovered.last().unwrap(), 0.0);
}

#[test]
fn tipping_folders_are_identical_across_threads_and_probe_decimals() {
    let block = r#"plan: Tipping(vary: "faults.0.factor", range: (1.0, 3.0), resolution: 0.25, window: "1m"),
    expect: ["plan.tips == 1", "plan.boundary > 1", "plan.boundary_low < plan.boundary"],"#;
    let p = write("tipping", "factor", &tipping_experiment(block, ""));
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tipping-bytes");
    let _ = std::fs::remove_dir_all(&base);
    for threads in ["1", "2"] {
        let o = scalesim(&[
            "plan",
            p.to_str().unwrap(),
            "--out",
            base.join(threads).to_str().unwrap(),
            "--threads",
            threads,
        ]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.contains("tips at faults.0.factor = "), "{stdout}");
    }
    let one = folder_bytes(&base.join("1"));
    assert!(one.iter().any(|(n, _)| n == "plan-recovery.svg"));
    assert_eq!(one, folder_bytes(&base.join("2")));
}
