//! Plots: drawn for every run, from the files alone, byte-identical when redrawn, and clear
//! errors when the data files are missing or corrupt.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scalesim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scalesim")
}

fn fresh(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("plots")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn run(exp: &str, out: &Path, extra: &[&str]) {
    let o = out.display().to_string();
    let mut args = vec!["run", exp, "--quiet", "--out", &o];
    args.extend_from_slice(extra);
    let r = scalesim(&args);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_run_draws_its_plots_and_redraws_them_identically() {
    let dir = fresh("storm");
    run(
        "experiments/retry-storm.ron",
        &dir,
        &["--replications", "1", "--set", "duration=5m"],
    );
    let plots = dir.join("plots");
    let files = [
        "timeseries.svg",
        "timeseries.png",
        "latency-percentiles.svg",
        "latency-percentiles.png",
    ];
    for f in files {
        assert!(read(&plots.join(f)).len() > 1000, "{f} is empty");
    }
    let svg = String::from_utf8(read(&plots.join("timeseries.svg"))).unwrap();
    for label in [
        "no_retries",
        "naive_retries",
        "backoff_budget",
        "time (s)",
        "requests/s",
        "attempts/s",
        "Queue length at db",
        "slowdown db",
    ] {
        assert!(svg.contains(label), "timeseries.svg lacks `{label}`");
    }
    assert!(read(&plots.join("timeseries.png")).starts_with(b"\x89PNG"));
    // Redrawn from the files alone: the same bytes.
    let before: Vec<Vec<u8>> = files.iter().map(|f| read(&plots.join(f))).collect();
    std::fs::remove_dir_all(&plots).unwrap();
    let r = scalesim(&["plot", dir.to_str().unwrap()]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let after: Vec<Vec<u8>> = files.iter().map(|f| read(&plots.join(f))).collect();
    assert!(before == after, "plot DIR redraws different bytes");
}

#[test]
fn sweeps_plot_metrics_against_the_parameter() {
    let dir = fresh("sweep");
    run(
        "experiments/textbook/speedup.ron",
        &dir,
        &["--replications", "3", "--set", "duration=20s"],
    );
    let svg = String::from_utf8(read(&dir.join("plots/sweep.svg"))).unwrap();
    for label in [
        "baseline",
        "faster",
        "arrivals.arrivals.rate",
        "Goodput",
        "Latency p99",
        "ms",
    ] {
        assert!(svg.contains(label), "sweep.svg lacks `{label}`");
    }
    // One time-series figure per sweep point.
    assert!(dir.join("plots/timeseries-500.0.svg").exists());
    assert!(dir.join("plots/timeseries-700.0.svg").exists());
}

#[test]
fn missing_or_corrupt_data_files_are_named() {
    let dir = fresh("broken");
    run(
        "experiments/quickstart.ron",
        &dir,
        &[
            "--replications",
            "1",
            "--set",
            "duration=10s",
            "--set",
            "warmup=1s",
        ],
    );
    std::fs::write(dir.join("summary.json"), "{ not json").unwrap();
    let r = scalesim(&["plot", dir.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("summary.json:1:3: not valid JSON"), "{err}");
    std::fs::remove_file(dir.join("summary.json")).unwrap();
    let r = scalesim(&["plot", dir.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("cannot read"));
    assert!(String::from_utf8_lossy(&r.stderr).contains("summary.json"));
    let ok = fresh("broken-series");
    run(
        "experiments/quickstart.ron",
        &ok,
        &[
            "--replications",
            "1",
            "--set",
            "duration=10s",
            "--set",
            "warmup=1s",
        ],
    );
    std::fs::write(ok.join("timeseries.csv"), "variant,time_s,x\nbase,0\n").unwrap();
    let r = scalesim(&["plot", ok.to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("timeseries.csv:2: 2 fields where the header has 3"),
        "{err}"
    );
}

#[test]
fn the_report_is_one_offline_page() {
    let dir = fresh("report");
    run(
        "experiments/retry-storm.ron",
        &dir,
        &["--replications", "2", "--set", "duration=5m"],
    );
    let html = String::from_utf8(read(&dir.join("report.html"))).unwrap();
    for part in [
        "<h1>retry-storm</h1>",
        "A short database slowdown",
        // The file's opening comment introduces the page.
        "<div class=\"intro\"><p>Retry storm: a retry policy",
        "<nav class=\"toc\">",
        "<a href=\"#shown\">What this experiment shows</a>",
        "<h2 id=\"settings\">Settings</h2>",
        "slowdown db from 60 s to 90 s",
        "<h2 id=\"expectations\">Expectations: ",
        "<span class=\"pass\">PASS</span>",
        "<h2 id=\"paired\">Paired differences against no_retries</h2>",
        "<h2 id=\"nodes\">Per node and per class</h2>",
        "<h3>db</h3>",
        "<table class=\"sortable\">",
        "<h2 id=\"timeseries\">Time series (interactive)</h2>",
        "<script id=\"series-data\" type=\"application/json\">",
        "<svg",
        "naive_retries",
    ] {
        assert!(html.contains(part), "report.html lacks `{part}`");
    }
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "the shown metrics, the time series and the percentiles, inline"
    );
    // Offline: scripts and styles inline, nothing fetched.
    for outside in ["src=", "<link", "fetch(", "XMLHttpRequest", "@import"] {
        assert!(!html.contains(outside), "self-contained: found `{outside}`");
    }
    let data = html
        .split("<script id=\"series-data\" type=\"application/json\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let data: serde_json::Value = serde_json::from_str(data).expect("the charts' data is JSON");
    let variants = data["points"][0]["variants"].as_array().unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("summary.json"))).unwrap();
    let all = summary["variants"].as_array().unwrap().len();
    assert!(all > 4);
    assert_eq!(variants.len(), all, "every variant's series");
    let t = data["points"][0]["t"].as_array().unwrap().len();
    assert!(t > 100, "{t} buckets");
    for v in variants {
        for c in v["cols"].as_array().unwrap() {
            assert_eq!(
                c.as_array().unwrap().len(),
                t,
                "columns as long as the time axis"
            );
        }
    }
}

#[test]
fn two_parameter_sweeps_draw_heatmaps() {
    let dir = fresh("heatmap");
    let exp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("plots-heatmap.ron");
    std::fs::write(
        &exp,
        r#"Experiment(
            name: "grid",
            model: Model(nodes: {
                "users": Client(target: "app", arrivals: Poisson(rate: 300.0)),
                "app": Service(workers: 4, service_time: Exponential(mean: "10ms")),
            }),
            duration: "20s", warmup: "2s", seed: 3, replications: 1,
            variants: { "fifo": {}, "codel": { "app.codel": CoDel() } },
            sweep: { "users.arrivals.rate": [200.0, 350.0], "app.workers": [4, 6] },
        )"#,
    )
    .unwrap();
    run(exp.to_str().unwrap(), &dir, &[]);
    let path = dir.join("plots/sweep-heatmap.svg");
    let svg = String::from_utf8(read(&path)).unwrap();
    for label in [
        "users.arrivals.rate",
        "app.workers",
        "Goodput (requests/s), fifo",
        "Latency p99 (ms), codel",
        "350",
    ] {
        assert!(svg.contains(label), "sweep-heatmap.svg lacks `{label}`");
    }
    // Four cells per grid, four grids: each cell is a filled rectangle with its value.
    assert!(svg.matches("<rect").count() >= 16);
    assert!(read(&dir.join("plots/sweep-heatmap.png")).starts_with(b"\x89PNG"));
    let before = read(&path);
    let r = scalesim(&["plot", dir.to_str().unwrap()]);
    assert!(r.status.success());
    assert_eq!(before, read(&path), "redrawn heatmaps differ");
}

#[test]
fn compare_overlays_two_result_folders() {
    let (a, b) = (fresh("compare-a"), fresh("compare-b"));
    let set = ["--replications", "1", "--set", "duration=5m"];
    run("experiments/retry-storm.ron", &a, &set);
    let mut more = set.to_vec();
    more.extend(["--set", "db.workers=10"]);
    run("experiments/retry-storm.ron", &b, &more);
    let out = fresh("compare-out");
    let r = scalesim(&[
        "compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let stdout = String::from_utf8_lossy(&r.stdout);
    assert!(
        stdout.contains("goodput_rps"),
        "the difference table: {stdout}"
    );
    let svg = String::from_utf8(read(&out.join("compare.svg"))).unwrap();
    for label in [
        "A: no_retries",
        "B: no_retries",
        "B: backoff_budget",
        "(the first 4 of ",
        "Latency p99",
        "slowdown db",
    ] {
        assert!(svg.contains(label), "compare.svg lacks `{label}`");
    }
    assert!(read(&out.join("compare.png")).starts_with(b"\x89PNG"));
}

#[test]
fn every_shipped_experiment_draws_its_plots_and_report() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["experiments", "experiments/textbook"] {
        let d = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "ron") {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() >= 20, "{files:?}");
    for exp in files {
        let name = exp.file_stem().unwrap().to_string_lossy().into_owned();
        let out = fresh(&format!("shipped-{name}"));
        run(exp.to_str().unwrap(), &out, &["--replications", "1"]);
        let plots = out.join("plots");
        let svgs: Vec<String> = std::fs::read_dir(&plots)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "svg"))
            .map(|p| String::from_utf8(read(&p)).unwrap())
            .collect();
        assert!(svgs.len() >= 2, "{name}: {} SVGs", svgs.len());
        assert!(plots.join("latency-percentiles.png").exists(), "{name}");
        let summary: serde_json::Value =
            serde_json::from_slice(&read(&out.join("summary.json"))).unwrap();
        let all = svgs.concat();
        for v in summary["variants"].as_array().unwrap() {
            let v = v.as_str().unwrap();
            assert!(all.contains(v), "{name}: no plot shows variant `{v}`");
        }
        for axis in ["time (s)", "requests/s"] {
            assert!(all.contains(axis), "{name}: no axis `{axis}`");
        }
        if name == "autoscaler-spike" {
            for panel in [
                "ready, and desired (dashed)",
                "Cost since the start",
                "Utilization of app",
            ] {
                assert!(all.contains(panel), "{name}: no panel `{panel}`");
            }
        }
        let report = String::from_utf8(read(&out.join("report.html"))).unwrap();
        assert!(report.contains("<svg"), "{name}: report without plots");
    }
}

/// The `x` of every SVG text element whose content is `label`.
fn text_x(svg: &str, label: &str) -> Vec<f64> {
    svg.split("<text ")
        .skip(1)
        .filter(|t| {
            let content = t.split('>').nth(1).and_then(|c| c.split('<').next());
            content.map(str::trim) == Some(label)
        })
        .filter_map(|t| t.split("x=\"").nth(1)?.split('"').next()?.parse().ok())
        .collect()
}

/// The defects a reader saw: variants without a breaker flooded its panel with a band,
/// legends covered data, percentile axes read "nines", load changes were not shaded, integer
/// sweeps had ticks between replicas and raw paths as axis names.
#[test]
fn plots_shade_what_happened_and_keep_legends_off_the_data() {
    let dir = fresh("breaker");
    run("experiments/circuit-breaker.ron", &dir, &["--quick"]);
    let svg = String::from_utf8(read(&dir.join("plots/timeseries.svg"))).unwrap();
    // The breaker panel's band belongs to `breaker` (vermillion) alone: `no_breaker` (blue)
    // and `bulkhead` (green) have no breaker and no band.
    let bands: Vec<&str> = svg
        .split("<polygon ")
        .skip(1)
        .filter(|p| p.contains("opacity=\"0.18\""))
        .collect();
    assert!(!bands.is_empty(), "the breaker's time open is drawn");
    assert!(
        bands.iter().all(|b| b.contains("fill=\"#D55E00\"")),
        "a band for a variant without a breaker"
    );
    // One legend, right of every plotting area (1,400 px wide, 300 px for the legend).
    for v in ["no_breaker", "breaker", "bulkhead"] {
        let xs = text_x(&svg, v);
        assert_eq!(xs.len(), 1, "`{v}` once in the legend: {xs:?}");
        assert!(xs[0] > 1100.0, "`{v}` legend at x = {}", xs[0]);
    }
    let pct = String::from_utf8(read(&dir.join("plots/latency-percentiles.svg"))).unwrap();
    for p in ["p50", "p90", "p99", "p99.9"] {
        assert_eq!(text_x(&pct, p).len(), 1, "the percentile axis reads {p}");
    }
    assert!(!pct.contains("nines"));

    // A schedule's surge is shaded and labelled.
    let dir = fresh("surge");
    run(
        "experiments/degradation-policies.ron",
        &dir,
        &["--quick", "--set", "duration=9m"],
    );
    let svg = String::from_utf8(read(&dir.join("plots/timeseries.svg"))).unwrap();
    assert!(svg.contains("load 1600/s"), "the surge is labelled");
    let summary = String::from_utf8(read(&dir.join("summary.json"))).unwrap();
    assert!(
        summary.contains("\"kind\": \"load 1600/s\""),
        "and listed on the timeline"
    );

    // An integer sweep spanning 8×: a log axis with ticks at the swept values only, named in
    // words.
    let dir = fresh("pool");
    run("experiments/connection-pool.ron", &dir, &["--quick"]);
    let svg = String::from_utf8(read(&dir.join("plots/sweep.svg"))).unwrap();
    assert!(
        svg.contains("pool size of app (search)"),
        "axis named in words"
    );
    for tick in ["4", "6", "8", "12", "32"] {
        assert!(!text_x(&svg, tick).is_empty(), "a tick at {tick}");
    }
    for tick in ["5", "7", "10", "20", "30", "1.5"] {
        assert!(
            text_x(&svg, tick).is_empty(),
            "a tick at {tick}, between swept values"
        );
    }
}
