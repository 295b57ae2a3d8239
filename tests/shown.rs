//! What an experiment shows reaches the reader: every shipped experiment, run with its quick
//! profile, has each metric of its `show` list (or of the default) in the table printed
//! after the run, in report.html's first table and in at least one plot; the values in
//! `summary.json` are the metrics they name, in the unit they say.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn experiments() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["experiments", "experiments/textbook"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "ron") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The HTML text of `s` as the report and plotters' SVG write it.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A metric's value at a point of `summary.json`, for a show item that names one metric.
fn metric(point: &Value, path: &str) -> Option<f64> {
    match path.split_once('.') {
        None => point["metrics"][path]["mean"].as_f64(),
        Some((node, rest)) => point["nodes"][node][rest]["mean"].as_f64(),
    }
}

#[test]
fn every_shipped_experiment_shows_its_metrics_in_the_table_the_report_and_a_plot() {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shown");
    let mut checked = 0;
    for exp in experiments() {
        let name = exp.file_stem().unwrap().to_string_lossy().into_owned();
        let out = root.join(&name);
        let _ = std::fs::remove_dir_all(&out);
        let run = Command::new(env!("CARGO_BIN_EXE_scalesim"))
            .args([
                "run",
                exp.to_str().unwrap(),
                "--quick",
                "--threads",
                "2",
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let stdout = String::from_utf8_lossy(&run.stdout);
        let summary: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        let html = std::fs::read_to_string(out.join("report.html")).unwrap();
        let svgs: Vec<String> = std::fs::read_dir(out.join("plots"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "svg"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        let show = summary["show"].as_array().expect("a show list");
        assert!(!show.is_empty(), "{name}: shows nothing");
        let shown_table = html
            .split("<h2 id=\"shown\">")
            .nth(1)
            .and_then(|s| s.split("</table>").next())
            .unwrap_or_else(|| panic!("{name}: report.html has no shown table"));
        for (i, c) in show.iter().enumerate() {
            let (label, unit) = (c["label"].as_str().unwrap(), c["unit"].as_str().unwrap());
            let title = if unit.is_empty() {
                label.to_string()
            } else {
                format!("{label} ({unit})")
            };
            let header = stdout.lines().find(|l| l.starts_with("variant")).unwrap();
            assert!(
                header.contains(&title),
                "{name}: `{title}` not in: {header}"
            );
            assert!(
                shown_table.contains(&format!(">{}</th>", esc(&title))),
                "{name}: `{title}` not in report.html's first table"
            );
            assert!(
                svgs.iter()
                    .any(|s| s.contains(&esc(label).replace('\'', "&apos;"))),
                "{name}: `{label}` in no plot"
            );
            // A show item naming one metric carries that metric's mean, in its unit.
            let m = c["metric"].as_str().unwrap();
            let scale = match unit {
                "ms" => 1e3,
                "%" => 100.0,
                _ => 1.0,
            };
            if m.chars()
                .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '.')
            {
                for p in summary["points"].as_array().unwrap() {
                    let shown = p["shown"][i]["mean"].as_f64();
                    let want = metric(p, m).map(|x| x * scale);
                    match (shown, want) {
                        (Some(a), Some(b)) => {
                            assert!(
                                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                                "{name} {m}: {a} vs {b}"
                            )
                        }
                        (None, None) => {}
                        other => panic!("{name} {m}: shown and metric disagree: {other:?}"),
                    }
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} experiments");
}
