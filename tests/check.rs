//! `scalesim check`: verdicts, exit codes, JUnit output. (A broken policy caught, for
//! every shipped experiment: `tests/lessons.rs`.)

mod common;

use common::repo;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .arg("check")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scalesim")
}

fn dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("check");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(name: &str, text: &str) -> String {
    let p = dir().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

const SMALL: &str = r#"Experiment(
    model: Model(nodes: {
        "users": Client(target: "app", arrivals: Poisson(rate: 500.0)),
        "app": Service(service_time: Exponential(mean: "1ms")),
    }),
    duration: "20s", warmup: "2s", replications: 3,
    expect: EXPECT,
)"#;

fn small(name: &str, expect: &str) -> String {
    write(name, &SMALL.replace("EXPECT", expect))
}

#[test]
fn verdicts_and_exit_codes() {
    let ok = small(
        "ok.ron",
        r#"["app.utilization == 0.5 ± 0.02", "latency_mean_s < 0.01"]"#,
    );
    let out = check(&[&ok]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("PASS app.utilization == 0.5 ± 0.02  [0.49"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("2 passed, 0 failed"), "{text}");

    let bad = small("fails.ron", r#"["latency_mean_s < 0.001"]"#);
    let out = check(&[&bad]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // The measured value (about 2 ms at 50% load) is printed with its ci95.
    let measured: f64 = text
        .split("FAIL latency_mean_s < 0.001  [")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|x| x.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!((0.0015..0.0025).contains(&measured), "{text}");
    assert!(text.contains(" ± "), "{text}");

    let syntax = small("syntax.ron", r#"["latency_mean_s <"]"#);
    let out = check(&[&syntax]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    // Located in the file: the string's column plus the expression's.
    assert!(
        err.contains("syntax.ron:7:31: expected a number, a metric or `(`"),
        "{err}"
    );

    let unknown = small("unknown.ron", r#"["app.latency < 1"]"#);
    let out = check(&[&unknown]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown.ron:7:")
            && err.contains("`app.latency` is not a metric of variant `base`; did you mean"),
        "{err}"
    );
}

#[test]
fn quantifiers_range_over_sweep_points() {
    let body = SMALL.replace(
        "replications: 3,",
        "replications: 3, sweep: { \"users.arrivals.rate\": [100.0, 800.0] },",
    );
    let any = write(
        "any.ron",
        &body.replace("EXPECT", r#"["any(app.utilization > 0.5)"]"#),
    );
    assert_eq!(check(&[&any]).status.code(), Some(0));
    let all = write(
        "all.ron",
        &body.replace("EXPECT", r#"["all(app.utilization > 0.5)"]"#),
    );
    let out = check(&[&all]);
    assert_eq!(out.status.code(), Some(1));
    // The failing point is named.
    assert!(String::from_utf8_lossy(&out.stdout).contains("[users.arrivals.rate=100.0] 0.1"));
    let bare = write(
        "bare.ron",
        &body.replace("EXPECT", r#"["app.utilization > 0.5"]"#),
    );
    let out = check(&[&bare]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("write all(...) or any(...)"));
}

/// A small well-formedness check: tags balance, attributes are quoted, entities are ours.
fn well_formed(xml: &str) -> Result<usize, String> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .ok_or("no XML declaration")?;
    let mut stack: Vec<String> = Vec::new();
    let mut cases = 0;
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        if text.contains('>') {
            return Err(format!("a stray `>` in text: {text}"));
        }
        let end = rest[start..].find('>').ok_or("an unclosed tag")? + start;
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name) {
                return Err(format!("</{name}> closes the wrong element"));
            }
        } else {
            let name: String = tag
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if tag.matches('"').count() % 2 != 0 {
                return Err(format!("unbalanced quotes in <{tag}>"));
            }
            if name == "testcase" {
                cases += 1;
            }
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    Ok(cases)
}

#[test]
fn junit_has_one_case_per_expectation() {
    let f = small(
        "junit.ron",
        r#"["latency_mean_s < 0.001", "app.utilization > 0.4", "latency_p99_s < 1"]"#,
    );
    let xml_path = dir().join("junit.xml");
    let out = check(&[&f, "--junit", xml_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    assert_eq!(well_formed(&xml), Ok(3), "{xml}");
    assert!(xml.contains("<failure message=\"measured 0.00"), "{xml}");
    assert!(xml.contains("name=\"latency_mean_s &lt; 0.001\""), "{xml}");
    assert!(xml.contains("tests=\"3\" failures=\"1\""), "{xml}");
}

#[test]
fn model_files_in_folders_are_skipped() {
    let d = dir().join("folder");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(repo("models/single-queue.ron"), d.join("model.ron")).unwrap();
    std::fs::write(
        d.join("exp.ron"),
        SMALL.replace("EXPECT", r#"["app.utilization > 0.4"]"#),
    )
    .unwrap();
    let out = check(&[d.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed, 0 failed"));
}

#[test]
fn a_bad_expectation_is_refused_before_the_run() {
    let f = small("bad-metric.ron", r#"["app.nonsense < 1"]"#);
    let out_dir = dir().join("bad-metric-out");
    let _ = std::fs::remove_dir_all(&out_dir);
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(["run", &f, "--quiet", "--out", out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad-metric.ron:7:"), "{err}");
    assert!(err.contains("`app.nonsense` is not a metric"), "{err}");
    assert!(!out_dir.exists(), "nothing ran, nothing was written");
    // `validate` says the same.
    let out = Command::new(env!("CARGO_BIN_EXE_scalesim"))
        .args(["validate", &f])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`app.nonsense` is not a metric"));
}

#[test]
fn trends_follow_the_sweep() {
    let swept = SMALL.replace(
        r#"duration: "20s","#,
        r#"sweep: { "users.arrivals.rate": [200.0, 400.0, 600.0] }, duration: "20s","#,
    );
    let f = write(
        "trend.ron",
        &swept.replace(
            "EXPECT",
            r#"["increasing(app.utilization)", "decreasing(app.utilization)", "increasing(app.utilization * 0)"]"#,
        ),
    );
    let out = check(&[&f]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // Each step and the whole change: 0.2 → 0.4 → 0.6.
    assert!(
        text.contains("PASS increasing(app.utilization)  [0.19"),
        "{text}"
    );
    assert!(
        text.contains("FAIL decreasing(app.utilization)  [[users.arrivals.rate=200.0] 0.19"),
        "{text}"
    );
    // A flat line never goes against the trend, but does not move either.
    assert!(
        text.contains("FAIL increasing(app.utilization * 0)"),
        "{text}"
    );
    assert!(
        text.contains("0 to [users.arrivals.rate=600.0] 0: not higher at the end"),
        "{text}"
    );
    // Without a sweep there is no trend to follow: refused before running.
    let f = small("no-sweep-trend.ron", r#"["increasing(app.utilization)"]"#);
    let out = check(&[&f]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no-sweep-trend.ron:7:"), "{err}");
    assert!(
        err.contains("add a `sweep` of at least two values"),
        "{err}"
    );
    // Over a grid of two parameters the order of points is no trend.
    let grid = SMALL.replace(
        r#"duration: "20s","#,
        r#"sweep: { "users.arrivals.rate": [200.0, 400.0], "app.workers": [1, 2] }, duration: "20s","#,
    );
    let f = write(
        "grid-trend.ron",
        &grid.replace("EXPECT", r#"["increasing(app.utilization)"]"#),
    );
    let out = check(&[&f]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the sweep has 2: use all(...) or any(...)"),
        "{err}"
    );
}
