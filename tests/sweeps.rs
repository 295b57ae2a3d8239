//! Experiments at scale: identical result folders however the work is run (one process,
//! one thread, shards merged, killed and resumed), common random numbers at work, zipped
//! sweeps and sequential stopping.

mod common;

use common::{repo, run};
use scalesim::metrics::student_t_975;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn scalesim(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scalesim");
    assert!(
        out.status.success(),
        "scalesim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn fresh(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("sweeps")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Every file of a folder, by relative name, with its text (all our files are text; a
/// mismatch then prints readably).
fn folder(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(
        !dir.join("units").exists(),
        "the journal is removed after a complete run"
    );
    files
}

const EXP: &str = "experiments/textbook/speedup.ron";

#[test]
fn result_folders_are_identical_however_the_work_is_run() {
    let args = |out: &Path| -> Vec<String> {
        vec![
            "run".into(),
            EXP.into(),
            "--quiet".into(),
            "--out".into(),
            out.display().to_string(),
        ]
    };
    let with = |out: &Path, extra: &[&str]| {
        let mut a = args(out);
        a.extend(extra.iter().map(|s| s.to_string()));
        let a: Vec<&str> = a.iter().map(|s| s.as_str()).collect();
        scalesim(&a);
    };
    // (a) one run.
    let one = fresh("one");
    with(&one, &[]);
    let reference = folder(&one);
    assert_eq!(
        reference.len(),
        4,
        "summary.json, runs.csv, timeseries.csv, report.html"
    );
    // (b) one thread.
    let single = fresh("single");
    with(&single, &["--threads", "1"]);
    assert_eq!(folder(&single), reference, "--threads 1");
    // (c) three shards, merged.
    let mut shard_dirs = Vec::new();
    for i in 0..3 {
        let d = fresh(&format!("shard{i}"));
        with(&d, &["--shard", &format!("{i}/3")]);
        assert!(
            !d.join("summary.json").exists(),
            "a shard writes no summary"
        );
        shard_dirs.push(d.display().to_string());
    }
    let merged = fresh("merged");
    let mut margs = vec!["merge"];
    margs.extend(shard_dirs.iter().map(|s| s.as_str()));
    let merged_s = merged.display().to_string();
    margs.extend(["--out", &merged_s]);
    scalesim(&margs);
    assert_eq!(folder(&merged), reference, "3 shards merged");
    // A merge that lacks a shard says so.
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args([
            "merge",
            &shard_dirs[0],
            &shard_dirs[2],
            "--out",
            &fresh("partial").display().to_string(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing shards: 1/3"));
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes() {
    // Long enough per unit that the kill lands midway, on one thread.
    let set = [
        "--set",
        "duration=300s",
        "--replications",
        "6",
        "--threads",
        "1",
    ];
    let straight = fresh("straight");
    let mut a = vec!["run", EXP, "--quiet", "--out"];
    let s = straight.display().to_string();
    a.push(&s);
    a.extend(set);
    scalesim(&a);

    let killed = fresh("killed");
    let k = killed.display().to_string();
    let mut a = vec!["run", EXP, "--quiet", "--out", &k];
    a.extend(set);
    let mut child = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(&a)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .spawn()
        .unwrap();
    let units = killed.join("units");
    let saved = |d: &Path| -> usize {
        std::fs::read_dir(d)
            .map(|r| {
                r.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with('p')
                })
                .count()
            })
            .unwrap_or(0)
    };
    let start = Instant::now();
    while saved(&units) < 3 && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = saved(&units);
    assert!(
        (3..24).contains(&done),
        "killed midway: {done} of 24 runs saved"
    );
    assert!(!killed.join("summary.json").exists());

    let mut a = vec!["run", EXP, "--out", &k, "--resume"];
    a.extend(set);
    let out = scalesim(&a);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("runs resumed"), "{stdout}");
    assert_eq!(folder(&killed), folder(&straight), "resumed run differs");
}

#[test]
fn resume_refuses_another_plan() {
    let d = fresh("other-plan");
    let ds = d.display().to_string();
    scalesim(&["run", EXP, "--quiet", "--out", &ds, "--shard", "0/2"]);
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args([
            "run", EXP, "--quiet", "--out", &ds, "--shard", "0/2", "--resume", "--seed", "5",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("different experiment, settings or shard")
    );
}

#[test]
fn common_random_numbers_sharpen_paired_differences() {
    let (plan, results) = run(EXP, &[]);
    assert_eq!(plan.points.len(), 4);
    for point in 2..4 {
        let base = scalesim::analysis::baseline_point(&plan, point);
        assert_eq!(base, point - 2);
        let paired = scalesim::analysis::paired(&results, point, base);
        let (_, d) = paired.iter().find(|(n, _)| n == "latency_mean_s").unwrap();
        // The unpaired interval: both means' standard errors combined (Welch, equal n).
        let summary_v = scalesim::analysis::summarize(&results, point);
        let summary_b = scalesim::analysis::summarize(&results, base);
        let get = |s: &scalesim::analysis::PointSummary| {
            s.experiment
                .iter()
                .find(|(n, _)| n == "latency_mean_s")
                .unwrap()
                .1
        };
        let (v, b) = (get(&summary_v), get(&summary_b));
        let t = student_t_975(v.n - 1);
        let unpaired = t * ((v.ci95 / t).powi(2) + (b.ci95 / t).powi(2)).sqrt();
        eprintln!(
            "point {point}: diff {:.3e}, paired ci95 {:.2e}, unpaired {:.2e}",
            d.mean, d.ci95, unpaired
        );
        assert!(d.mean < 0.0, "a faster server lowers latency");
        assert!((d.mean - (v.mean - b.mean)).abs() < 1e-12);
        assert!(
            d.ci95 < unpaired / 3.0,
            "paired ci95 {} vs unpaired {}",
            d.ci95,
            unpaired
        );
    }
    let summary = scalesim::report::summary_json(&plan, &results, &[], &Default::default());
    assert!(summary.contains(
        "\"vs\": {\n        \"baseline\": {\n          \"requests\": {\n            \"diff\": 0.0,"
    ));
}

#[test]
fn zipped_sweeps_pair_their_lists() {
    let (plan, _) = run(
        EXP,
        &[
            "replications=2".into(),
            "duration=5s".into(),
            "warmup=1s".into(),
        ],
    );
    assert_eq!(plan.points.len(), 4, "grid: 2 variants × 2 rates");
    let d = fresh("zip");
    std::fs::create_dir_all(&d).unwrap();
    let exp = d.join("zip.ron");
    std::fs::write(
        &exp,
        format!(
            r#"Experiment(model: "{}", duration: "5s", warmup: "1s", replications: 2,
                sweep: Zip({{ "arrivals.arrivals.rate": [100.0, 200.0, 300.0], "queue.workers": [1, 2, 3] }}))"#,
            repo("models/single-queue.ron").display()
        ),
    )
    .unwrap();
    let plan = scalesim::model::load_experiment(&exp, &Default::default()).unwrap();
    let params: Vec<String> = plan
        .points
        .iter()
        .map(|p| {
            p.params
                .iter()
                .map(|(_, v)| v.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(params, vec!["100.0 1", "200.0 2", "300.0 3"]);
    std::fs::write(
        &exp,
        format!(
            r#"Experiment(model: "{}", duration: "5s",
                sweep: Zip({{ "arrivals.arrivals.rate": [100.0, 200.0], "queue.workers": [1] }}))"#,
            repo("models/single-queue.ron").display()
        ),
    )
    .unwrap();
    let err = scalesim::model::load_experiment(&exp, &Default::default()).unwrap_err();
    assert!(
        err.to_string().contains("Zip needs lists of equal length"),
        "{err}"
    );
    assert!(err.to_string().contains(":2:"), "{err}");
}

#[test]
fn sequential_stopping_adds_replications_until_precise() {
    let stop = "stop_when=(metric: \"queue.wait_mean_s\", rel_ci95: 0.05, max_replications: 40)";
    let (plan, results) = run(
        EXP,
        &[
            stop.into(),
            "replications=4".into(),
            "duration=20s".into(),
            "warmup=2s".into(),
        ],
    );
    for p in 0..plan.points.len() {
        let s = scalesim::analysis::summarize(&results, p);
        let (_, a) = s
            .nodes
            .iter()
            .find(|(n, _)| n == "queue")
            .unwrap()
            .1
            .iter()
            .find(|(n, _)| n == "wait_mean_s")
            .unwrap()
            .clone();
        let n = results.of_point(p).count();
        assert!(n % 4 == 0 && n >= 4, "batches of 4: {n}");
        assert!(
            a.ci95 <= 0.05 * a.mean || n == 40,
            "point {p}: {n} runs, ci95 {} mean {}",
            a.ci95,
            a.mean
        );
        if n > 4 {
            // It stopped at the first batch that was precise enough.
            let first: Vec<f64> = results
                .of_point(p)
                .take(n - 4)
                .map(|u| u.metrics.node("queue", "wait_mean_s").unwrap())
                .collect();
            let earlier = scalesim::metrics::Aggregate::of(&first);
            assert!(earlier.ci95 > 0.05 * earlier.mean);
        }
    }
    // The busier points need more runs.
    assert!(results.of_point(1).count() >= results.of_point(0).count());
}

#[test]
fn compare_pairs_two_folders() {
    let (a, b) = (fresh("cmp-a"), fresh("cmp-b"));
    let (sa, sb) = (a.display().to_string(), b.display().to_string());
    let base = ["--quiet", "--set", "duration=20s", "--set", "warmup=2s"];
    let mut args = vec!["run", EXP, "--out", &sa];
    args.extend(base);
    scalesim(&args);
    let mut args = vec!["run", EXP, "--out", &sb, "--set", "queue.workers=2"];
    args.extend(base);
    scalesim(&args);
    let out = scalesim(&[
        "compare",
        &sa,
        &sb,
        "--metric",
        "latency_mean_s",
        "--metric",
        "requests",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("baseline 500.0") && l.contains("latency_mean (ms)"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(" -") && line.ends_with('*'),
        "two workers wait less: {line}"
    );
    let same = text.lines().find(|l| l.contains("requests")).unwrap();
    assert_eq!(
        same.split_whitespace().last(),
        Some("0"),
        "same arrivals in both, no difference: {same}"
    );

    std::fs::write(b.join("runs.csv"), "variant,replication\nx\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(["compare", &sa, &sb])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("runs.csv:2: 1 fields where the header has 2"),
        "{err}"
    );
}

#[test]
fn swept_paths_and_metrics_have_columns_of_their_own() {
    // Sweeping the client's whole `arrivals` while the client reports a metric `arrivals`:
    // runs.csv keeps the two apart (the swept value under `param.`), each name once.
    let p = common::write(
        "sweeps",
        "same-name",
        r#"Experiment(
    model: Model(nodes: {
        "users": Client(target: "app", arrivals: Poisson(rate: 10.0)),
        "app": Service(service_time: Exponential(mean: "10ms")),
    }),
    duration: "20s",
    replications: 1,
    sweep: { "users.arrivals": [Poisson(rate: 10.0), Poisson(rate: 20.0)] },
)"#,
    );
    let (plan, results) = common::run_file(&p);
    let csv = scalesim::report::runs_csv(&plan, &results);
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let mut unique = header.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), header.len(), "a name twice in {header:?}");
    let swept = header
        .iter()
        .position(|h| *h == "param.users.arrivals")
        .unwrap();
    let metric = header.iter().position(|h| *h == "users.arrivals").unwrap();
    let row: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    assert!(row[swept].contains("20.0"), "{}", row[swept]);
    let arrivals: f64 = row[metric].parse().unwrap();
    assert!(arrivals > 200.0, "about 20/s for 20 s: {arrivals}");
    let ts = scalesim::report::timeseries_csv(&plan, &results);
    assert!(ts.lines().next().unwrap().contains("param.users.arrivals"));
}

#[test]
fn a_merge_reports_verdicts_as_a_run_does_and_fails_on_a_failed_expectation() {
    // Five workers instead of four: the file's `utilization == 0.8` no longer holds.
    let mut dirs = Vec::new();
    for i in 0..2 {
        let d = fresh(&format!("verdict-shard{i}"));
        let (shard, out) = (format!("{i}/2"), d.display().to_string());
        let set = ["--set", "queue.workers=5", "--replications", "2"];
        let mut a = vec!["run", "experiments/textbook/mmc.ron", "--quiet"];
        a.extend(["--shard", &shard, "--out", &out]);
        a.extend(set);
        scalesim(&a);
        dirs.push(out);
    }
    let merged = fresh("verdict-merged").display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(["merge", &dirs[0], &dirs[1], "--out", &merged])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL queue.utilization == 0.8"), "{stdout}");
    // The table and the runs' origin, not a rate measured over nothing.
    assert!(stdout.contains("all from the shards"), "{stdout}");
    assert!(!stdout.contains("M events/s"), "{stdout}");
}
