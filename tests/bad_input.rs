//! Bad input gets a clear error with its location on stderr and exit code 2, never a panic.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad_input");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `text` as an experiment file and runs `scalesim run` on it with `extra` arguments.
/// Returns (exit code, stderr, the file's path as printed).
fn run(name: &str, text: &str, extra: &[&str]) -> (i32, String, String) {
    run_bytes(name, text.as_bytes(), extra)
}

/// Writes `bytes` as experiment `name` and runs it into a fresh `NAME-out` folder: the
/// output, the folder and the file's path as printed.
fn invoke(name: &str, bytes: &[u8], extra: &[&str]) -> (std::process::Output, PathBuf, String) {
    let path = dir().join(format!("{name}.ron"));
    std::fs::write(&path, bytes).unwrap();
    let out_dir = dir().join(format!("{name}-out"));
    let _ = std::fs::remove_dir_all(&out_dir);
    let mut args = vec!["run", path.to_str().unwrap(), "--quiet", "--out"];
    args.push(out_dir.to_str().unwrap());
    args.extend_from_slice(extra);
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(&args)
        .output()
        .unwrap();
    (out, out_dir, path.display().to_string())
}

/// [`run`] on a file of any bytes (encodings, byte-order marks).
fn run_bytes(name: &str, bytes: &[u8], extra: &[&str]) -> (i32, String, String) {
    let (out, out_dir, path) = invoke(name, bytes, extra);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{name}: panicked: {stderr}");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || !out_dir.exists(),
        "{name}: a result folder was written for bad input"
    );
    (code, stderr, path)
}

/// Asserts exit code 2 and an `error: FILE:LINE:COL: ...` message mentioning `needle`.
fn assert_error_at(name: &str, text: &str, extra: &[&str], line: u32, needle: &str) {
    let (code, stderr, path) = run(name, text, extra);
    assert_eq!(code, 2, "{name}: exit code; stderr: {stderr}");
    let prefix = format!("error: {path}:{line}:");
    assert!(
        stderr.starts_with(&prefix),
        "{name}: expected `{prefix}…`, got: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "{name}: expected `{needle}` in: {stderr}"
    );
}

fn experiment(nodes: &str, settings: &str) -> String {
    format!("Experiment(\n    model: Model(nodes: {{\n{nodes}\n    }}),\n{settings}\n)\n",)
}

const USERS: &str = r#"        "users": Client(target: "app", arrivals: Poisson(rate: 10.0)),"#;
const APP: &str = r#"        "app": Service(service_time: Exponential(mean: "10ms")),"#;
const SETTINGS: &str = r#"    duration: "10s","#;

#[test]
fn malformed_ron() {
    let text = experiment(
        &format!("{USERS}\n        \"app\": Service(service_time: Exponential(mean: \"10ms\")\n"),
        SETTINGS,
    );
    assert_error_at("malformed", &text, &[], 6, "expected `,` or `)`");
}

#[test]
fn unknown_field() {
    let app = r#"        "app": Service(workerz: 4, service_time: Exponential(mean: "10ms")),"#;
    assert_error_at(
        "unknown-field",
        &experiment(&format!("{USERS}\n{app}"), SETTINGS),
        &[],
        4,
        "unknown field `workerz`",
    );
    let settings = "    duration: \"10s\",\n    seeed: 3,";
    assert_error_at(
        "unknown-setting",
        &experiment(&format!("{USERS}\n{APP}"), settings),
        &[],
        7,
        "unknown field `seeed`",
    );
}

#[test]
fn unknown_variant_names_the_choices() {
    let app = r#"        "app": Service(service_time: Exponentiel(mean: "10ms")),"#;
    assert_error_at(
        "unknown-variant",
        &experiment(&format!("{USERS}\n{app}"), SETTINGS),
        &[],
        4,
        "Exponential",
    );
}

#[test]
fn missing_model_file() {
    let text = "Experiment(\n    duration: \"10s\",\n    model: \"no/such/model.ron\",\n)\n";
    assert_error_at("missing-model", text, &[], 3, "does not exist");
}

#[test]
fn missing_experiment_file() {
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(["run", "no/such/experiment.ron"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: cannot read no/such/experiment.ron"),
        "{stderr}"
    );
}

#[test]
fn negative_and_zero_rates() {
    for (name, rate) in [("negative-rate", "-5.0"), ("zero-rate", "0.0")] {
        let users =
            format!("        \"users\": Client(target: \"app\", arrivals: Poisson(rate: {rate})),");
        assert_error_at(
            name,
            &experiment(&format!("{users}\n{APP}"), SETTINGS),
            &[],
            3,
            "rate must be a positive number",
        );
    }
    let users = "        \"users\": Client(target: \"app\", arrivals: Schedule(steps: [(at: \"0s\", rate: 0.0)])),";
    assert_error_at(
        "all-zero-schedule",
        &experiment(&format!("{users}\n{APP}"), SETTINGS),
        &[],
        3,
        "no request would arrive",
    );
}

#[test]
fn zero_workers_and_replicas() {
    let app = r#"        "app": Service(workers: 0, service_time: Exponential(mean: "10ms")),"#;
    assert_error_at(
        "zero-workers",
        &experiment(&format!("{USERS}\n{app}"), SETTINGS),
        &[],
        4,
        "at least 1 worker",
    );
    let (code, stderr, _) = run(
        "zero-replicas-cli",
        &experiment(&format!("{USERS}\n{APP}"), SETTINGS),
        &["--set", "app.replicas=0"],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.starts_with("error: --set app.replicas=0"),
        "{stderr}"
    );
    assert!(stderr.contains("needs at least 1 replica"), "{stderr}");
}

#[test]
fn zero_mean_and_bad_distributions() {
    let app = r#"        "app": Service(service_time: Exponential(mean: "0ms")),"#;
    assert_error_at(
        "zero-mean",
        &experiment(&format!("{USERS}\n{app}"), SETTINGS),
        &[],
        4,
        "the mean must be positive",
    );
    let app = r#"        "app": Service(service_time: Pareto(scale: "1ms", shape: 0.8)),"#;
    assert_error_at(
        "pareto",
        &experiment(&format!("{USERS}\n{app}"), SETTINGS),
        &[],
        4,
        "infinite mean",
    );
    let app = r#"        "app": Service(service_time: Exponential(mean: 10)),"#;
    assert_error_at(
        "unitless",
        &experiment(&format!("{USERS}\n{app}"), SETTINGS),
        &[],
        4,
        "needs a unit",
    );
}

#[test]
fn warmup_not_shorter_than_duration() {
    let settings = "    duration: \"10s\",\n    warmup: \"10s\",";
    assert_error_at(
        "warmup",
        &experiment(&format!("{USERS}\n{APP}"), settings),
        &[],
        7,
        "warmup (10s) must be shorter than duration (10s)",
    );
}

#[test]
fn unknown_target() {
    let users = r#"        "users": Client(target: "ap", arrivals: Poisson(rate: 10.0)),"#;
    assert_error_at(
        "unknown-target",
        &experiment(&format!("{users}\n{APP}"), SETTINGS),
        &[],
        3,
        "`users` calls `ap`, which is not a node",
    );
}

#[test]
fn unknown_override_paths() {
    // In the file: the location of the override is reported.
    let settings = "    duration: \"10s\",\n    set: { \"app.replicaz\": 2 },";
    assert_error_at(
        "set-unknown-field",
        &experiment(&format!("{USERS}\n{APP}"), settings),
        &[],
        7,
        "unknown field `replicaz`",
    );
    let settings = "    duration: \"10s\",\n    set: { \"nope.replicas\": 2 },";
    assert_error_at(
        "set-unknown-node",
        &experiment(&format!("{USERS}\n{APP}"), settings),
        &[],
        7,
        "there is no node `nope`",
    );
    // On the command line: the argument is named.
    let (code, stderr, _) = run(
        "cli-unknown",
        &experiment(&format!("{USERS}\n{APP}"), SETTINGS),
        &["--set", "ap.replicas=2"],
    );
    assert_eq!(code, 2);
    assert!(stderr.starts_with("error: --set ap.replicas=2"), "{stderr}");
    assert!(
        stderr.contains("there is no node `ap`; nodes are `users`, `app`"),
        "{stderr}"
    );
    let (code, stderr, _) = run(
        "cli-no-equals",
        &experiment(&format!("{USERS}\n{APP}"), SETTINGS),
        &["--set", "app.replicas"],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("expected PATH=VALUE"), "{stderr}");
}

#[test]
fn validate_reports_without_running() {
    let path = dir().join("validate-ok.ron");
    std::fs::write(&path, experiment(&format!("{USERS}\n{APP}"), SETTINGS)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(["validate", path.to_str().unwrap(), "no/such.ron"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok: "));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such.ron"));
}

#[test]
fn scaling_configuration_errors() {
    let cases: [(&str, &str, u32, &str); 7] = [
        (
            "unknown-size",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), sizes: { "small": Size(workers: 2) }, size: "huge"),"#,
            4,
            "no size `huge`; sizes are `small`",
        ),
        (
            "size-and-workers",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), workers: 4, sizes: { "small": Size(workers: 2) }, size: "small"),"#,
            4,
            "`workers` is given by size `small`",
        ),
        (
            "autoscaler-bounds",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), autoscaler: Autoscaler(min: 4, max: 2, metric: Utilization(0.5))),"#,
            4,
            "max (2) is below min (4)",
        ),
        (
            "autoscaler-start-outside",
            r#"        "app": Service(replicas: 1, service_time: Exponential(mean: "10ms"), autoscaler: Autoscaler(min: 2, max: 8, metric: Utilization(0.5))),"#,
            4,
            "starts with 1 replicas, outside [min, max] = [2, 8]",
        ),
        (
            "utilization-target",
            r#"        "app": Service(replicas: 2, service_time: Exponential(mean: "10ms"), autoscaler: Autoscaler(min: 2, max: 8, metric: Utilization(60.0))),"#,
            4,
            "a fraction in (0, 1]",
        ),
        (
            "hpa-policy-period",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), autoscaler: Autoscaler(max: 8, metric: Concurrency(4.0), policy: Hpa(scale_up: Behavior(policies: [Pods(value: 4, period: "2h")])))),"#,
            4,
            "period in (0s, 30m]",
        ),
        (
            "function-with-workers",
            r#"        "app": Service(workers: 4, service_time: Exponential(mean: "10ms"), function: Function()),"#,
            4,
            "leave `workers` and `size` out",
        ),
    ];
    for (name, app, line, needle) in cases {
        assert_error_at(
            name,
            &experiment(&format!("{USERS}\n{app}"), SETTINGS),
            &[],
            line,
            needle,
        );
    }
}

#[test]
fn timeline_scaling_errors() {
    let sizes = r#"        "app": Service(service_time: Exponential(mean: "10ms"), sizes: { "small": Size(workers: 2) }),"#;
    let cases = [
        (
            "deploy-deadlock",
            r#"    faults: [Deploy(node: "app", at: "1s", strategy: RollingUpdate(max_surge: 0, max_unavailable: 0))],"#,
            "cannot both be 0",
        ),
        (
            "resize-unknown",
            r#"    faults: [Resize(node: "app", at: "1s", size: "large")],"#,
            "no size `large`",
        ),
        (
            "canary-rate",
            r#"    faults: [Canary(node: "app", at: "1s", for: "2s", rate: 1.5)],"#,
            "a probability in [0, 1]",
        ),
    ];
    for (name, fault, needle) in cases {
        let settings = format!("{SETTINGS}\n{fault}");
        assert_error_at(
            name,
            &experiment(&format!("{USERS}\n{sizes}"), &settings),
            &[],
            7,
            needle,
        );
    }
    // Faults on nodes without replicas: what each kind can suffer, said where it is written.
    let data = r#"        "users": Client(target: "cache", arrivals: Poisson(rate: 10.0)),
        "cache": Cache(backend: "db", capacity: 10),
        "db": Database(primary: "app", lag: Exponential(mean: "1s")),
        "app": Service(service_time: Exponential(mean: "10ms")),"#;
    let cases = [
        (
            "db-slowdown",
            r#"    faults: [Slowdown(node: "db", at: "1s", for: "2s", factor: 2.0)],"#,
            "slow down or fail its primary or replicas",
        ),
        (
            "cache-replica",
            r#"    faults: [Crash(node: "cache", replica: 1, at: "1s")],"#,
            "a single node: leave `replica` out",
        ),
        (
            "cache-scale",
            r#"    faults: [Scale(node: "cache", at: "1s", replicas: 2)],"#,
            "only services are scaled",
        ),
        (
            "client-crash",
            r#"    faults: [Crash(node: "users", at: "1s")],"#,
            "not a service, cache, database, queue, pooler, topic, router or DNS",
        ),
    ];
    for (name, fault, needle) in cases {
        let settings = format!("{SETTINGS}\n{fault}");
        assert_error_at(name, &experiment(data, &settings), &[], 9, needle);
    }
    let failover = data.replace(
        r#"lag: Exponential(mean: "1s")"#,
        r#"lag: Exponential(mean: "1s"), failover: Some("30s")"#,
    );
    assert_error_at(
        "failover-without-replicas",
        &experiment(&failover, SETTINGS),
        &[],
        5,
        "promotes a replica",
    );
    // A balancer cannot front a function, nor can a function be rolled out.
    let lb = r#"        "users": Client(target: "lb", arrivals: Poisson(rate: 10.0)),
        "lb": Balancer(target: "app"),
        "app": Service(service_time: Exponential(mean: "10ms"), function: Function()),"#;
    assert_error_at(
        "balanced-function",
        &experiment(lb, SETTINGS),
        &[],
        4,
        "is function-style",
    );
}

#[test]
fn resilience_configuration_errors() {
    let cases: [(&str, &str, u32, &str); 6] = [
        (
            "pool-zero",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), handler: [Work, Call(target: "db", pool: Pool(size: 0))]),
        "db": Service(service_time: Exponential(mean: "10ms")),"#,
            4,
            "a pool of 0 connections would never call",
        ),
        (
            "pool-parallel",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), handler: [Parallel(calls: [(target: "db", pool: Pool(size: 2))])]),
        "db": Service(service_time: Exponential(mean: "10ms")),"#,
            4,
            "pools are on single calls",
        ),
        (
            "bulkhead-zero",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), handler: [Work, Call(target: "db", bulkhead: 0)]),
        "db": Service(service_time: Exponential(mean: "10ms")),"#,
            4,
            "a bulkhead of 0 would refuse every call",
        ),
        (
            "limit-range",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), concurrency_limit: Aimd(min: 50, max: 40)),"#,
            4,
            "service `app`: need 1 <= min <= initial <= max, got min 50, initial 20, max 40",
        ),
        (
            "limit-backoff",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), concurrency_limit: Aimd(backoff: 0.2)),"#,
            4,
            "the backoff ratio is in [0.5, 1)",
        ),
        (
            "limit-on-function",
            r#"        "app": Service(service_time: Exponential(mean: "10ms"), function: Function(), concurrency_limit: Fixed(4)),"#,
            4,
            "limits each instance with `concurrency`",
        ),
    ];
    for (name, app, line, needle) in cases {
        assert_error_at(
            name,
            &experiment(&format!("{USERS}\n{app}"), SETTINGS),
            &[],
            line,
            needle,
        );
    }
}

#[test]
fn cache_configuration_errors() {
    let db = r#"        "db": Service(service_time: Exponential(mean: "10ms")),"#;
    let users = r#"        "users": Client(target: "cache", arrivals: Poisson(rate: 10.0)),"#;
    let cases: [(&str, &str, u32, &str); 6] = [
        (
            "queue-window",
            r#"        "cache": Queue(consumer: "db", windows: [(from: "2m", until: "1m")]),"#,
            4,
            "queue `cache`: a window ends after it starts",
        ),
        (
            "database-same-node",
            r#"        "cache": Database(primary: "db", replicas: "db", lag: Deterministic(value: "1s")),"#,
            4,
            "database `cache`: the replicas must be another node than the primary",
        ),
        (
            "cache-capacity",
            r#"        "cache": Cache(backend: "db", capacity: 0),"#,
            4,
            "cache `cache`: a cache holds at least 1 entry",
        ),
        (
            "cache-class",
            r#"        "cache": Cache(backend: "db", capacity: 10, classes: ["gold"]),"#,
            4,
            "no client sends class `gold`; classes are `default`",
        ),
        (
            "cache-backend",
            r#"        "cache": Cache(backend: "dbx", capacity: 10),"#,
            4,
            "`cache` calls `dbx`, which is not a node",
        ),
        (
            "cache-xfetch-without-ttl",
            r#"        "cache": Cache(backend: "db", capacity: 10, early_refresh: 1.0),"#,
            4,
            "refreshing before expiry needs a `ttl`",
        ),
    ];
    for (name, cache, line, needle) in cases {
        assert_error_at(
            name,
            &experiment(&format!("{users}\n{cache}\n{db}"), SETTINGS),
            &[],
            line,
            needle,
        );
    }
}

/// Validation reports every node's error at once, each on its own line with its location,
/// in the order they are written (not the first only, and not in node-name order).
#[test]
fn every_bad_node_is_reported_with_its_location() {
    let text = experiment(
        r#"        "zeta": Client(target: "app", arrivals: Poisson(rate: 10.0)),
        "app": Service(workers: 0, service_time: Exponential(mean: "10ms")),
        "cache": Cache(backend: "app", capacity: 0),
        "db": Database(primary: "nowhere", lag: Exponential(mean: "1ms")),
        "alpha": Client(target: "app", arrivals: Poisson(rate: -1.0)),"#,
        r#"    duration: "1s","#,
    );
    let (code, stderr, path) = run("every_bad_node", &text, &[]);
    assert_eq!(code, 2, "stderr: {stderr}");
    let want = [
        (4, "worker"),
        (5, "at least 1 entry"),
        (6, "`nowhere`"),
        (7, "rate"),
    ];
    assert_one_line_per_error(&stderr, &path, &want);
}

/// Asserts that `stderr` holds exactly one `error: PATH:LINE:` line per wanted (line,
/// words), in order.
fn assert_one_line_per_error(stderr: &str, path: &str, want: &[(u32, &str)]) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), want.len(), "one line per error: {stderr}");
    for (l, (line, needle)) in lines.iter().zip(want) {
        assert!(
            l.starts_with(&format!("error: {path}:{line}:")) && l.contains(needle),
            "expected line {line} with `{needle}`, got `{l}` in: {stderr}"
        );
    }
}

/// Within a service, each part's error is reported (the size, the queue, the handler),
/// not only the first.
#[test]
fn every_bad_part_of_a_service_is_reported() {
    let text = experiment(
        r#"        "users": Client(target: "app", arrivals: Poisson(rate: 10.0)),
        "app": Service(
            workers: 0,
            order: AdaptiveLifo,
            handler: [Call(target: "nowhere")],
            service_time: Exponential(mean: "10ms"),
        ),"#,
        r#"    duration: "1s","#,
    );
    let (code, stderr, path) = run("every_bad_part", &text, &[]);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert_one_line_per_error(
        &stderr,
        &path,
        &[(5, "worker"), (6, "CoDel"), (7, "`nowhere`")],
    );
}

#[test]
fn a_key_given_twice_is_refused_with_both_places() {
    // Two nodes of one name: the last would silently win.
    let nodes = format!("{USERS}\n{APP}\n{APP}");
    let text = experiment(&nodes, "    duration: \"10s\",");
    assert_error_at("dup-node", &text, &[], 5, "first at line 4, column 9");
    // The same `set` path twice.
    let settings =
        "    duration: \"10s\",\n    set: {\n \"app.replicas\": 2,\n \"app.replicas\": 3 },";
    let text = experiment(&format!("{USERS}\n{APP}"), settings);
    assert_error_at("dup-set", &text, &[], 9, "\"app.replicas\" is given twice");
    // Two variants of one name.
    let settings =
        "    duration: \"10s\",\n    variants: {\n \"a\": {},\n \"b\": {},\n \"a\": {} },";
    let text = experiment(&format!("{USERS}\n{APP}"), settings);
    assert_error_at("dup-variant", &text, &[], 10, "first at line 8, column 2");
    // A struct field twice says where the first one is.
    let nodes = format!(
        "{USERS}\n        \"app\": Service(workers: 2,\n workers: 3, service_time: Exponential(mean: \"10ms\")),"
    );
    let text = experiment(&nodes, "    duration: \"10s\",");
    assert_error_at("dup-field", &text, &[], 5, "first at line 4, column 24");
}

#[test]
fn encodings_other_than_utf8_are_located() {
    let text = experiment(&format!("{USERS}\n{APP}"), "    duration: \"10s\",");
    // A UTF-8 byte-order mark is accepted (editors on Windows write one).
    let mut bom = b"\xef\xbb\xbf".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let (code, stderr, _) = run_bytes("bom", &bom, &["--set", "duration=1s"]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::remove_dir_all(dir().join("bom-out")).unwrap();
    // Latin-1: the first byte that is not UTF-8, by line and column.
    let latin = text.replace("\"10s\"", "\"10s\", description: \"d\u{e9}j\u{e0}\"");
    let latin: Vec<u8> = latin.chars().map(|c| c as u32 as u8).collect();
    let (code, stderr, path) = run_bytes("latin1", &latin, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.starts_with(&format!("error: {path}:6:")), "{stderr}");
    assert!(
        stderr.contains("0xe9") && stderr.contains("UTF-8"),
        "{stderr}"
    );
    // UTF-16 (with its byte-order mark), as some Windows editors save.
    let mut utf16 = vec![0xff, 0xfe];
    utf16.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let (code, stderr, path) = run_bytes("utf16", &utf16, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: {path}:1:1: ")),
        "{stderr}"
    );
    assert!(stderr.contains("UTF-16"), "{stderr}");
    // NUL bytes: not a text file at all.
    let (code, stderr, path) = run_bytes("nul", b"(model: \0\0\0)", &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: {path}:1:9: ")),
        "{stderr}"
    );
    assert!(stderr.contains("binary"), "{stderr}");
}

#[test]
fn a_model_path_that_is_not_a_text_file_is_located() {
    let settings = "    duration: \"10s\",";
    let model_at = |name: &str, model: &str| {
        format!("Experiment(\n    model: {model},\n{settings}\n)\n").replace("NAME", name)
    };
    let cases = [
        ("model-empty", "\"\"", "`model` is empty"),
        ("model-blank", "\"  \"", "`model` is empty"),
        ("model-dir", "\".\"", "is a folder"),
    ];
    for (name, model, needle) in cases {
        assert_error_at(name, &model_at(name, model), &[], 2, needle);
    }
    // A binary file named as the model: located in that file.
    let bin = dir().join("model-binary.bin");
    std::fs::write(&bin, b"\x7fELF\x02\x01\x01\0\0\0").unwrap();
    let (code, stderr, _) = run("model-binary", &model_at("", "\"model-binary.bin\""), &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("model-binary.bin:1:8: ") && stderr.contains("binary"),
        "{stderr}"
    );
}

#[test]
fn sizes_over_their_bounds_are_refused_with_the_bound() {
    // (name, nodes, settings, line of the error): one node per line from line 3.
    let lb = |algorithm: &str| {
        format!(
            "        \"users\": Client(target: \"lb\", arrivals: Poisson(rate: 10.0)),\n        \"lb\": Balancer(target: \"app\", algorithm: {algorithm}),\n{APP}"
        )
    };
    let app = |fields: &str| {
        format!(
            "{USERS}\n        \"app\": Service({fields}service_time: Exponential(mean: \"10ms\")),"
        )
    };
    let d = "    duration: \"10s\",";
    let cases: Vec<(&str, String, String, u32)> = vec![
        ("b-replicas", app("replicas: 200000, "), d.into(), 4),
        ("b-workers", app("workers: 1000000, "), d.into(), 4),
        ("b-capacity", app("capacity: 100000000, "), d.into(), 4),
        (
            "b-function-cap",
            app("replicas: 0, function: Some(Function(concurrency: 1, cap: 1000000, idle_timeout: \"1m\")), "),
            d.into(),
            4,
        ),
        (
            "b-autoscaler-max",
            app("autoscaler: Some(Autoscaler(min: 1, max: 500000, metric: Utilization(0.6))), "),
            d.into(),
            4,
        ),
        (
            "b-users",
            format!("        \"users\": Client(target: \"app\", arrivals: Closed(users: 2000000, think: Exponential(mean: \"1s\"))),\n{APP}"),
            d.into(),
            3,
        ),
        (
            "b-pool",
            format!("{USERS}\n        \"app\": Service(handler: [Work, Call(target: \"db\", pool: Pool(size: 50000000))], service_time: Exponential(mean: \"10ms\")),\n        \"db\": Service(service_time: Exponential(mean: \"1ms\")),"),
            d.into(),
            4,
        ),
        (
            "b-bulkhead",
            format!("        \"users\": Client(target: \"app\", bulkhead: Some(20000000), arrivals: Poisson(rate: 10.0)),\n{APP}"),
            d.into(),
            3,
        ),
        (
            "b-breaker-calls",
            format!("        \"users\": Client(target: \"app\", breaker: Some(Breaker(window: Count(100000000))), arrivals: Poisson(rate: 10.0)),\n{APP}"),
            d.into(),
            3,
        ),
        ("b-vnodes", lb("RingHash(vnodes: 20000)"), d.into(), 4),
        (
            "b-ring",
            "        \"users\": Client(target: \"lb\", arrivals: Poisson(rate: 10.0)),\n        \"lb\": Balancer(target: \"app\", algorithm: RingHash(vnodes: 5000)),\n        \"app\": Service(replicas: 2000, service_time: Exponential(mean: \"10ms\")),".to_string(),
            d.into(),
            4,
        ),
        ("b-maglev", lb("Maglev(table: 5000077)"), d.into(), 4),
        (
            "b-partitions",
            format!("        \"users\": Client(target: \"q\", arrivals: Poisson(rate: 10.0)),\n        \"q\": Queue(consumer: \"app\", partitions: Some(1000000)),\n{APP}"),
            d.into(),
            4,
        ),
        (
            "b-cache",
            format!("        \"users\": Client(target: \"c\", keys: Some(Uniform(n: 100)), arrivals: Poisson(rate: 10.0)),\n        \"c\": Cache(backend: \"app\", capacity: 1000000000),\n{APP}"),
            d.into(),
            4,
        ),
        (
            "b-scale",
            format!("{USERS}\n{APP}"),
            format!("{d}\n    faults: [Scale(node: \"app\", at: \"1s\", replicas: 300000)],"),
            7,
        ),
        (
            "b-replications",
            format!("{USERS}\n{APP}"),
            format!("{d}\n    replications: 1000000,"),
            7,
        ),
        (
            "b-grid",
            format!("{USERS}\n{APP}"),
            format!("{d}\n    sweep: {{ \"app.workers\": [{0}], \"app.replicas\": [{0}], \"users.arrivals.rate\": [{1}] }},",
                (1..=200).map(|i| i.to_string()).collect::<Vec<_>>().join(", "),
                (1..=200).map(|i| format!("{i}.0")).collect::<Vec<_>>().join(", ")),
            7,
        ),
    ];
    for (name, nodes, settings, line) in cases {
        let text = experiment(&nodes, &settings);
        assert_error_at(name, &text, &[], line, "over the bound: at most");
    }
    // The same bounds hold for values set from the command line.
    let text = experiment(&format!("{USERS}\n{APP}"), d);
    let (code, stderr, _) = run("b-cli", &text, &["--set", "app.replicas=4000000"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("at most 100,000"), "{stderr}");
    // Speeds and coefficients of variation that would make every sample round to nothing.
    assert_error_at(
        "b-speed",
        &experiment(&app("speed: 1e9, "), d),
        &[],
        4,
        "out of bounds",
    );
    let lognormal = format!(
        "{USERS}\n        \"app\": Service(service_time: LogNormal(mean: \"10ms\", cv: 1000.0)),"
    );
    assert_error_at("b-cv", &experiment(&lognormal, d), &[], 4, "at most 100.0");
    let limited = format!("{USERS}\n        \"app\": Service(limit: Some(TokenBucket(rate: 1e-300, burst: 100)), service_time: Exponential(mean: \"10ms\")),");
    assert_error_at(
        "b-limit-rate",
        &experiment(&limited, d),
        &[],
        4,
        "out of bounds: between 0.001",
    );
    let gamma =
        format!("{USERS}\n        \"app\": Service(service_time: Gamma(mean: \"10ms\", cv: 5e5)),");
    assert_error_at(
        "b-cv-gamma",
        &experiment(&gamma, d),
        &[],
        4,
        "at most 100.0",
    );
}

#[test]
fn seeds_up_to_two_to_the_64_are_read_from_files() {
    let text = experiment(
        &format!("{USERS}\n{APP}"),
        "    duration: \"2s\",\n    seed: 18446744073709551615,",
    );
    let (code, stderr, _) = run_bytes("seed-max", text.as_bytes(), &[]);
    assert_eq!(code, 0, "{stderr}");
    let summary = std::fs::read_to_string(dir().join("seed-max-out/summary.json")).unwrap();
    assert!(
        summary.contains("\"seed\": 18446744073709551615"),
        "{}",
        &summary[..400.min(summary.len())]
    );
    std::fs::remove_dir_all(dir().join("seed-max-out")).unwrap();
    let text = experiment(
        &format!("{USERS}\n{APP}"),
        "    duration: \"2s\",\n    seed: 18446744073709551616,",
    );
    assert_error_at("seed-over", &text, &[], 7, "expected u64");
}

#[test]
fn expectations_the_quick_profile_and_other_fields_are_checked_before_anything_runs() {
    let nodes = format!("{USERS}\n{APP}");
    // (name, settings, message): each on line 7.
    let cases = [
        (
            "x-syntax",
            "    expect: [\"latency_p99_s <\"],",
            "expected a number",
        ),
        ("x-op", "    expect: [\"latency_p99_s => 1\"],", ""),
        (
            "x-metric",
            "    expect: [\"app.latency_p95 < 1\"],",
            "`app.latency_p95` is not a metric",
        ),
        (
            "x-node",
            "    expect: [\"ap.utilization < 1\"],",
            "`ap.utilization` is not a metric",
        ),
        (
            "x-variant",
            "    expect: [\"big.app.utilization < big.app.nonsense\"],
    variants: { \"big\": { \"app.workers\": 2 } },",
            "`app.nonsense` is not a metric of variant `big`",
        ),
        (
            "x-quantifier",
            "    expect: [\"app.utilization < 1\"],\n    sweep: { \"app.workers\": [1, 2] },",
            "write all(...) or any(...)",
        ),
        (
            "q-zero",
            "    quick: (duration: \"0s\"),",
            "the quick profile: duration must be longer",
        ),
        (
            "q-warmup",
            "    quick: (duration: \"5s\", warmup: \"10s\"),",
            "the quick profile: warmup",
        ),
        (
            "q-replications",
            "    quick: (replications: 0),",
            "the quick profile: replications",
        ),
        (
            "f-wall",
            "    limits: (max_wall: \"0s\"),",
            "limits must be above zero",
        ),
        (
            "f-events",
            "    limits: (max_events: 0),",
            "limits must be above zero",
        ),
        ("f-name", "    name: \" \",", "name is empty"),
        (
            "f-baseline",
            "    baseline: \"nope\",",
            "baseline `nope` is not a variant",
        ),
        (
            "q-base",
            "    bucket: \"0s\",\n    quick: (replications: 2),",
            "bucket must be above zero",
        ),
        (
            "q-many",
            "    quick: (replications: 5000000),",
            "the quick profile: replications 5,000,000",
        ),
    ];
    for (name, settings, needle) in cases {
        let text = experiment(&nodes, &format!("    duration: \"10s\",\n{settings}"));
        assert_error_at(name, &text, &[], 7, needle);
        // `validate` refuses it too, at the same place.
        let path = dir().join(format!("{name}.ron"));
        let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
            .args(["validate", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{name}.ron:7:")), "{name}: {err}");
    }
    // Every bad expect line is reported, each on its own line.
    let settings = "    duration: \"10s\",\n    expect: [\n \"app.nope < 1\",\n \"latency_p99_s < 1\",\n \"users.nope > 0\"],";
    let (code, stderr, path) = run("x-several", &experiment(&nodes, settings), &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains(&format!("error: {path}:8:")), "{stderr}");
    assert!(stderr.contains(&format!("error: {path}:10:")), "{stderr}");
    assert!(!stderr.contains(&format!("{path}:9:")), "{stderr}");
}

#[test]
fn cycles_through_queues_are_refused() {
    let d = "    duration: \"10s\",";
    let users = |to: &str| {
        format!("        \"users\": Client(target: \"{to}\", arrivals: Poisson(rate: 10.0)),")
    };
    let cases = [
        // A queue that consumes itself.
        ("cy-self", format!("{}\n        \"q\": Queue(consumer: \"q\"),", users("q")), 4, "q → q"),
        // Two queues feeding each other.
        (
            "cy-two",
            format!("{}\n        \"q\": Queue(consumer: \"r\"),\n        \"r\": Queue(consumer: \"q\"),", users("q")),
            4,
            "q → r → q",
        ),
        // Through a service that publishes to the queue it consumes.
        (
            "cy-service",
            format!("{}\n        \"app\": Service(handler: [Work, Call(target: \"q\")], service_time: Exponential(mean: \"1ms\")),\n        \"q\": Queue(consumer: \"app\"),", users("q")),
            4,
            "app → q → app",
        ),
        // Through a cache whose backend is the queue.
        (
            "cy-cache",
            format!("{}\n        \"c\": Cache(backend: \"q\", capacity: 10),\n        \"q\": Queue(consumer: \"c\"),", users("q")),
            4,
            "c → q → c",
        ),
    ];
    for (name, nodes, line, needle) in cases {
        let text = experiment(&nodes, d);
        assert_error_at(name, &text, &[], line, needle);
        let (_, stderr, _) = run(name, &text, &[]);
        assert!(
            stderr.contains("a cycle through a queue"),
            "{name}: {stderr}"
        );
    }
}

/// Runs `text` and returns (exit code, stdout, summary.json's text).
fn run_warned(name: &str, text: &str, extra: &[&str]) -> (i32, String, String) {
    let (out, out_dir, _) = invoke(name, text.as_bytes(), extra);
    let summary = std::fs::read_to_string(out_dir.join("summary.json")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&out_dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        summary,
    )
}

#[test]
fn models_that_run_but_mean_nothing_are_warned_about() {
    let d = "    duration: \"10s\",";
    let cases: Vec<(&str, String, &str)> = vec![
        // No client at all.
        ("w-no-client", experiment(APP, d), "has no client"),
        // A variant that removes the only client's traffic source by replacing the node.
        (
            "w-variant-no-client",
            experiment(
                &format!("{USERS}\n{APP}"),
                &format!("{d}\n    variants: {{ \"base\": {{}}, \"nobody\": {{ \"nodes.users\": Service(service_time: Exponential(mean: \"1ms\")) }} }},"),
            ),
            "variant `nobody` has no client",
        ),
        // Faults that begin at or after the end of the run.
        (
            "w-fault-late",
            experiment(&format!("{USERS}\n{APP}"), &format!("{d}\n    faults: [Crash(node: \"app\", at: \"30s\")],")),
            "fault 0 (crash of `app`) begins at 30s",
        ),
        (
            "w-fault-at-end",
            experiment(&format!("{USERS}\n{APP}"), &format!("{d}\n    faults: [Slowdown(node: \"app\", factor: 2.0, at: \"10s\", for: \"1s\")],")),
            "at or after the end of the run",
        ),
        // Nothing completes in the measured window.
        (
            "w-nothing-done",
            experiment(
                "        \"users\": Client(target: \"app\", arrivals: Poisson(rate: 0.001)),\n        \"app\": Service(service_time: Exponential(mean: \"10ms\")),",
                d,
            ),
            "no request completed",
        ),
        (
            "w-too-slow",
            experiment(
                &format!("{USERS}\n        \"app\": Service(speed: 0.000001, service_time: Deterministic(value: \"1s\")),"),
                d,
            ),
            "no request completed",
        ),
        // Memory the sizes may need, estimated before the run.
        (
            "w-memory",
            experiment(
                &format!("        \"users\": Client(target: \"c\", keys: Some(Uniform(n: 100)), arrivals: Poisson(rate: 10.0)),\n        \"c\": Cache(backend: \"app\", capacity: 50000000),\n{APP}"),
                "    duration: \"2s\",",
            ),
            "may need about 4.5 GiB per run (the most for cache `c`",
        ),
        // Offered load the event cap will cut short.
        (
            "w-event-cap",
            experiment(&format!("{USERS}\n{APP}"), "    duration: \"10s\",\n    limits: (max_events: 100),"),
            "limits.max_events (100) will stop each run",
        ),
    ];
    for (name, text, needle) in cases {
        let (code, stdout, summary) = run_warned(name, &text, &[]);
        assert_eq!(code, 0, "{name}: {stdout}");
        assert!(
            stdout.contains("warning: ") && stdout.contains(needle),
            "{name}: {stdout}"
        );
        assert!(summary.contains(needle), "{name}: not in summary.json");
    }
    // A wall-clock cap stops a long run with a warning.
    let text = experiment(
        &format!("{USERS}\n{APP}"),
        "    duration: \"100000000s\",\n    limits: (max_wall: \"200ms\"),",
    );
    let (code, stdout, summary) = run_warned("w-wall", &text, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("limits.max_wall"), "{stdout}");
    assert!(summary.contains("limits.max_wall"));
}

#[test]
fn the_largest_fleets_run_with_result_files_of_bounded_size() {
    // At the bounds: 100,000 replicas behind a balancer. The run is short and its files do
    // not grow with the fleet (no column per replica beyond a few dozen).
    let nodes = "        \"users\": Client(target: \"lb\", arrivals: Poisson(rate: 1000.0)),\n        \"lb\": Balancer(target: \"app\", algorithm: PowerOfChoices(d: 2)),\n        \"app\": Service(replicas: 100000, workers: 4, service_time: Exponential(mean: \"10ms\")),";
    let text = experiment(nodes, "    duration: \"2s\",\n    replications: 2,");
    let (code, stdout, summary) = run_warned("big-fleet", &text, &[]);
    assert_eq!(code, 0, "{stdout}");
    assert!(summary.contains("requests_max_over_mean"));
    assert!(!summary.contains("replica99999"));
    assert!(
        summary.len() < 400_000,
        "summary.json of {} bytes",
        summary.len()
    );
}

/// Every bad `show` item is reported at its place: a syntax error in the expression, a time
/// unit on a count, a variant (show is per point), an unknown field; and, once they parse,
/// a metric no variant has, with the names it may have meant.
#[test]
fn bad_show_items_are_located() {
    let settings = r#"    duration: "1s",
    variants: { "one": {}, "two": { "app.workers": 2 } },
    show: [
        "app.utilization *",
        Show(metric: "rejected", unit: "ms"),
        Show(metric: "two.app.utilization"),
        "goodput_rps",
    ],"#;
    let text = experiment(&format!("{USERS}\n{APP}"), settings);
    let (code, stderr, path) = run("bad_show", &text, &[]);
    assert_eq!(code, 2, "stderr: {stderr}");
    assert_one_line_per_error(
        &stderr,
        &path,
        &[
            (9, "expected a number"),
            (10, "not a time"),
            (11, "drop the variant `two.`"),
        ],
    );
    let settings = r#"    duration: "1s",
    show: ["goodput_rps", "app.wait_probabilty", Show(metric: "cost", lable: "$")],"#;
    let text = experiment(&format!("{USERS}\n{APP}"), settings);
    assert_error_at("bad_show_field", &text, &[], 7, "unknown field `lable`");
    let settings = r#"    duration: "1s",
    show: ["goodput_rps", "app.wait_probabilty"],"#;
    let text = experiment(&format!("{USERS}\n{APP}"), settings);
    assert_error_at(
        "bad_show_metric",
        &text,
        &[],
        7,
        "did you mean `app.wait_probability`",
    );
}

#[test]
fn pooler_and_connection_errors() {
    let db = r#"        "db": Service(service_time: Exponential(mean: "10ms")),"#;
    let pooler = |fields: &str| {
        format!("{USERS}\n{APP}\n        \"pgb\": Pooler(target: \"db\", {fields}),\n{db}")
    };
    // Session pooling is refused with what to use instead, at the field.
    assert_error_at(
        "pooler-session",
        &experiment(&pooler("pool_mode: Session"), SETTINGS),
        &[],
        5,
        "use `Transaction`",
    );
    assert_error_at(
        "pooler-zero-pool",
        &experiment(
            &pooler("pool_mode: Transaction, default_pool_size: 0"),
            SETTINGS,
        ),
        &[],
        5,
        "default_pool_size",
    );
    assert_error_at(
        "pooler-no-mode",
        &experiment(&pooler("default_pool_size: 5"), SETTINGS),
        &[],
        5,
        "pool_mode",
    );
    assert_error_at(
        "pooler-unknown-target",
        &experiment(&pooler("target2: 1"), SETTINGS),
        &[],
        5,
        "target2",
    );
    // A pooler does no work to slow down.
    let slow = format!(
        "{SETTINGS}\n    faults: [Slowdown(node: \"pgb\", at: \"1s\", for: \"1s\", factor: 2.0)],"
    );
    assert_error_at(
        "pooler-slowdown",
        &experiment(&pooler("pool_mode: Transaction"), &slow),
        &[],
        9,
        "slow down its database",
    );
    // A server's connections: at least one.
    let zero = db.replace("))", "), connections: (max_connections: 0))");
    assert_error_at(
        "connections-zero",
        &experiment(&format!("{USERS}\n{APP}\n{zero}"), SETTINGS),
        &[],
        5,
        "max_connections must be at least 1",
    );
}

#[test]
fn topic_errors() {
    let topic = |subs: &str| {
        format!(
            "        \"users\": Client(target: \"t\", arrivals: Poisson(rate: 10.0)),\n{APP}\n        \"t\": Topic(subscribers: [{subs}]),\n        \"q\": Queue(consumer: \"app\"),"
        )
    };
    assert_error_at(
        "topic-not-a-queue",
        &experiment(&topic("\"q\", \"app\""), SETTINGS),
        &[],
        5,
        "is not a queue",
    );
    assert_error_at(
        "topic-empty",
        &experiment(&topic(""), SETTINGS),
        &[],
        5,
        "at least one subscriber",
    );
    assert_error_at(
        "topic-twice",
        &experiment(&topic("\"q\", \"q\""), SETTINGS),
        &[],
        5,
        "subscribes twice",
    );
}

#[test]
fn router_errors() {
    let router = |fields: &str| {
        format!(
            "        \"users\": Client(target: \"r\", arrivals: Poisson(rate: 10.0)),\n{APP}\n        \"r\": Router(\n            routes: [(target: \"app\", weight: 1), (target: \"new\", weight: 0)],\n            {fields}\n        ),\n        \"new\": Service(service_time: Exponential(mean: \"10ms\")),"
        )
    };
    let cases = [
        (
            "router-weights",
            "shifts: [(at: \"1s\", weights: [1])],",
            "2 routes",
        ),
        (
            "router-order",
            "shifts: [(at: \"2s\", weights: [1, 1]), (at: \"1s\", weights: [0, 1])],",
            "time order",
        ),
        (
            "router-rollback-route",
            "rollback: (route: \"old\"),",
            "is not a route",
        ),
        (
            "router-threshold",
            "rollback: (route: \"new\", threshold: 0),",
            "at least 1 failed check",
        ),
        (
            "router-mirror",
            "mirror: (target: \"new\", percent: 0.0),",
            "(0, 100]",
        ),
        (
            "router-mirror-target",
            "mirror: (target: \"nowhere\"),",
            "not a node",
        ),
    ];
    for (name, fields, needle) in cases {
        assert_error_at(name, &experiment(&router(fields), SETTINGS), &[], 7, needle);
    }
}

#[test]
fn network_and_dns_errors() {
    let with_network = |network: &str| {
        format!(
            "Experiment(\n    model: Model(\n        nodes: {{\n{USERS}\n{APP}\n        }},\n        network: {network},\n    ),\n{SETTINGS}\n)\n"
        )
    };
    let cases = [
        (
            "net-unknown-node",
            r#"Network(regions: {"a": ["nobody"]})"#,
            "`nobody` in regions `a` is not a node",
        ),
        (
            "net-twice",
            r#"Network(regions: {"a": ["app"], "b": ["app"]})"#,
            "a node runs in one place",
        ),
        (
            "net-link-region",
            r#"Network(regions: {"a": ["app"]}, links: [(from: "a", to: "c", latency: Deterministic(value: "1ms"))])"#,
            "`c` is not a region or a zone",
        ),
        (
            "net-no-link",
            r#"Network(regions: {"a": ["app"], "b": ["users"]})"#,
            "no link joins `b` and `a`",
        ),
    ];
    for (name, network, needle) in cases {
        assert_error_at(name, &with_network(network), &[], 7, needle);
    }
    let loss = format!(
        "{}    faults: [RegionLoss(region: \"mars\", at: \"1s\")],\n",
        SETTINGS
    );
    let text = format!(
        "Experiment(\n    model: Model(nodes: {{\n{USERS}\n{APP}\n    }}, network: Network(regions: {{\"a\": [\"app\"]}})),\n{loss})\n"
    );
    assert_error_at("region-unknown", &text, &[], 6, "region `mars` is not in");
    let dns = |fields: &str| {
        format!(
            "        \"users\": Client(target: \"d\", arrivals: Poisson(rate: 10.0)),\n{APP}\n        \"d\": Dns(targets: [\"app\"], {fields}),"
        )
    };
    assert_error_at(
        "dns-weights",
        &experiment(&dns("policy: Weighted(weights: [1, 2])"), SETTINGS),
        &[],
        5,
        "one per target",
    );
    assert_error_at(
        "dns-slow-clients",
        &experiment(
            &dns(r#"slow_clients: (percent: 0.0, cache: "1m")"#),
            SETTINGS,
        ),
        &[],
        5,
        "a share in percent",
    );
    assert_error_at(
        "dns-timeout",
        &experiment(
            &dns("health_check: (interval: \"1s\", timeout: \"2s\")"),
            SETTINGS,
        ),
        &[],
        5,
        "cannot outlast",
    );
}

#[test]
fn zone_aware_errors() {
    let lb = |algorithm: &str, zones: &str, zone: &str| {
        format!(
            "        \"users\": Client(target: \"lb\", arrivals: Poisson(rate: 10.0)),\n        \"app\": Service(replicas: 6, zones: [{zones}], service_time: Exponential(mean: \"10ms\")),\n        \"lb\": Balancer(target: \"app\", algorithm: {algorithm}, zone_aware: (zone: \"{zone}\")),"
        )
    };
    let cases = [
        (
            "zone-algorithm",
            lb("LeastOutstanding", "\"a\", \"b\"", "a"),
            "`RoundRobin` or `Random`",
        ),
        (
            "zone-unknown",
            lb("Random", "\"a\", \"b\"", "c"),
            "is not one of",
        ),
        ("zone-none", lb("Random", "", "a"), "fewer than 2 `zones`"),
    ];
    for (name, nodes, needle) in cases {
        assert_error_at(name, &experiment(&nodes, SETTINGS), &[], 5, needle);
    }
}

#[test]
fn split_errors() {
    let nodes = |algorithm: &str| {
        format!(
            "        \"users\": Client(target: \"lb\", arrivals: Poisson(rate: 10.0)),\n        \"app\": Service(replicas: 2, service_time: Exponential(mean: \"10ms\")),\n        \"lb\": Balancer(target: \"app\", algorithm: {algorithm}),"
        )
    };
    let settings = |split: &str| format!("{SETTINGS}\n    faults: [{split}],");
    let cases = [
        (
            "split-hash",
            "ShardByHash",
            r#"Split(node: "lb", shard: 0, at: "1s", copy: "1s")"#,
            "only `ShardByRange`",
        ),
        (
            "split-shard",
            "ShardByRange(keys: 100)",
            r#"Split(node: "lb", shard: 2, at: "1s", copy: "1s")"#,
            "no shard 2",
        ),
        (
            "split-node",
            "ShardByRange(keys: 100)",
            r#"Split(node: "app", shard: 0, at: "1s", copy: "1s")"#,
            "not a balancer",
        ),
    ];
    for (name, algorithm, split, needle) in cases {
        assert_error_at(
            name,
            &experiment(&nodes(algorithm), &settings(split)),
            &[],
            8,
            needle,
        );
    }
}
