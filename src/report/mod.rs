//! The result folder: `summary.json`, `runs.csv`, and the table printed on stdout.
//!
//! Everything written here is a pure function of the plan and the unit results; wall-clock
//! figures are printed, never written, so the same experiment gives the same bytes.

mod charts;
pub mod compare;
mod heatmap;
mod html;
mod numbers;
mod page;
mod plan_view;
pub mod plots;
mod table;

pub use table::{table, theory_table};

use crate::analysis::{
    self, baseline, baseline_point, finite_json, paired, param_json, param_text, summarize,
    variant_names, warnings, Shown, Verdict,
};
use crate::experiment::Results;
use crate::files::write_atomic;
use crate::metrics::Aggregate;
use crate::model::Plan;
use serde_json::{json, Map, Value};
use std::path::Path;

fn agg_json(a: &Aggregate) -> Value {
    json!({ "mean": a.mean, "ci95": a.ci95, "min": a.min, "max": a.max })
}

/// What the nodes' own configuration (of the baseline's first point) puts on the timeline:
/// load changes, delivery windows. For shading plots.
fn timeline_json(plan: &Plan) -> Value {
    let Some(p) = plan.points.get(baseline_point(plan, 0)) else {
        return Value::Array(Vec::new());
    };
    let secs = |n: u64| n as f64 / 1e9;
    let items: Vec<Value> = p
        .actors
        .iter()
        .flat_map(|(node, cfg)| {
            cfg.timeline()
                .into_iter()
                .map(move |(at, until, what)| (node, at, until, what))
        })
        .map(|(node, at, until, what)| {
            json!({ "kind": what, "node": node, "at_s": secs(at), "until_s": until.map(secs) })
        })
        .collect();
    Value::Array(items)
}

/// The fault timeline, for readers and for shading plots.
fn faults_json(plan: &Plan) -> Value {
    let items: Vec<Value> = plan
        .settings
        .faults
        .iter()
        .map(|f| {
            let (kind, node, at, until) = f.timeline();
            json!({ "kind": kind, "node": node, "at_s": at, "until_s": until })
        })
        .collect();
    Value::Array(items)
}

/// Every time-series column with its owner (`kind`, `node`), in first-seen order: what plots
/// read instead of guessing a node's kind from a column's name.
fn series_columns(results: &Results) -> Value {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for s in results.units.iter().filter_map(|u| u.series.as_ref()) {
        for (c, o) in s.columns.iter().zip(&s.owners) {
            if !seen.contains(&c.as_str()) {
                seen.push(c);
                out.push(json!({ "column": c, "kind": o.kind(), "node": o.node() }));
            }
        }
    }
    Value::Array(out)
}

/// The contents of `summary.json`.
pub fn summary_json(plan: &Plan, results: &Results, verdicts: &[Verdict], shown: &Shown) -> String {
    let s = &plan.settings;
    let mut points = Vec::new();
    for (i, p) in plan.points.iter().enumerate() {
        let sum = summarize(results, i);
        let mut params = Map::new();
        for (path, v) in &p.params {
            params.insert(path.clone(), param_json(v));
        }
        let mut metrics = Map::new();
        for (name, a) in &sum.experiment {
            metrics.insert(name.clone(), agg_json(a));
        }
        let mut nodes = Map::new();
        for (node, ms) in &sum.nodes {
            let mut m = Map::new();
            for (name, a) in ms {
                m.insert(name.clone(), agg_json(a));
            }
            nodes.insert(node.clone(), Value::Object(m));
        }
        let mut point = json!({
            "variant": p.variant,
            "params": params,
            "replications": results.of_point(i).count(),
            "metrics": metrics,
            "nodes": nodes,
        });
        if let Some(values) = shown.values.get(i) {
            point["shown"] = values
                .iter()
                .map(|(m, ci)| json!({ "mean": finite_json(*m), "ci95": finite_json(*ci) }))
                .collect();
        }
        let th = analysis::theory::of_point(plan, results, i);
        if !th.is_empty() {
            point["theory"] = analysis::theory::to_json(&th);
        }
        let base = baseline_point(plan, i);
        if p.variant != baseline(plan) {
            let mut diffs = Map::new();
            for (name, a) in paired(results, i, base) {
                diffs.insert(name, json!({ "diff": a.mean, "ci95": a.ci95 }));
            }
            point["vs"] = json!({ baseline(plan): diffs });
        }
        points.push(point);
    }
    let doc = json!({
        "experiment": plan.name,
        "description": s.description,
        "introduction": plan.introduction,
        "seed": s.seed,
        "replications": s.replications,
        "duration_s": s.duration.secs(),
        "warmup_s": s.warmup.secs(),
        "sweep": plan.sweep_paths,
        "variants": variant_names(plan),
        "baseline": baseline(plan),
        "points": points,
        "show": shown
            .columns
            .iter()
            .map(|c| json!({ "metric": c.metric, "label": c.label, "unit": c.unit }))
            .collect::<Vec<_>>(),
        "faults": faults_json(plan),
        "timeline": timeline_json(plan),
        "expectations": verdicts
            .iter()
            .map(|v| json!({ "text": v.text, "passed": v.passed, "detail": v.detail }))
            .collect::<Vec<_>>(),
        "warnings": warnings(plan, results),
        "series": series_columns(results),
        "engine": { "events": results.events() },
    });
    let mut out = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
    out.push('\n');
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_number(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        format!("{x}")
    }
}

/// The column of a swept path in `runs.csv` and `timeseries.csv`: `param.<path>`, kept apart
/// from metric columns (a swept `users.arrivals` beside the client's metric
/// `users.arrivals`). No metric is named so: `param` would have to be a node whose class
/// metric ends in a model field.
pub fn param_column(path: &str) -> String {
    format!("param.{path}")
}

/// The contents of `runs.csv`: one row per point × replication.
pub fn runs_csv(plan: &Plan, results: &Results) -> String {
    let mut out = String::new();
    if results.units.is_empty() {
        return out;
    }
    let mut header: Vec<String> = vec!["variant".into()];
    header.extend(plan.sweep_paths.iter().map(|p| param_column(p)));
    header.extend(
        ["replication", "events", "fingerprint", "stop"]
            .iter()
            .map(|s| s.to_string()),
    );
    // Points may report different metrics (a variant with more replicas reports more
    // per-replica columns): the header is every name seen, in first-seen order.
    let mut columns: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for u in &results.units {
        for (name, _) in u.metrics.columns() {
            if seen.insert(name.clone()) {
                columns.push(name);
            }
        }
    }
    header.extend(columns.iter().cloned());
    out.push_str(
        &header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push('\n');
    for u in &results.units {
        let p = &plan.points[u.unit.point];
        let mut row: Vec<String> = vec![csv_field(&p.variant)];
        row.extend(p.params.iter().map(|(_, v)| csv_field(&param_text(v))));
        row.push(u.unit.replication.to_string());
        row.push(u.events.to_string());
        row.push(format!("{:016x}", u.fingerprint));
        row.push(format!("{:?}", u.stop).to_lowercase());
        let values: std::collections::HashMap<String, f64> = u.metrics.columns().collect();
        row.extend(
            columns
                .iter()
                .map(|c| values.get(c).map_or(String::new(), |x| csv_number(*x))),
        );
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// The contents of `timeseries.csv`: per point (first replication), one row per bucket.
pub fn timeseries_csv(plan: &Plan, results: &Results) -> String {
    let mut columns: Vec<String> = Vec::new();
    for u in &results.units {
        if let Some(s) = &u.series {
            for c in &s.columns {
                if !columns.contains(c) {
                    columns.push(c.clone());
                }
            }
        }
    }
    let mut header: Vec<String> = vec!["variant".into()];
    header.extend(plan.sweep_paths.iter().map(|p| param_column(p)));
    header.push("time_s".into());
    header.extend(columns.iter().cloned());
    let mut out = header
        .iter()
        .map(|h| csv_field(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    for u in &results.units {
        let Some(s) = &u.series else { continue };
        let p = &plan.points[u.unit.point];
        let index: Vec<Option<usize>> = columns
            .iter()
            .map(|c| s.columns.iter().position(|x| x == c))
            .collect();
        for (i, row) in s.rows.iter().enumerate() {
            let mut cells: Vec<String> = vec![csv_field(&p.variant)];
            cells.extend(p.params.iter().map(|(_, v)| csv_field(&param_text(v))));
            cells.push(format!("{}", i as f64 * s.bucket_s));
            cells.extend(
                index
                    .iter()
                    .map(|j| j.map_or(String::new(), |j| csv_number(row[j]))),
            );
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}

/// Writes the result folder: data files, then the plots drawn from them.
pub fn write_folder(
    dir: &Path,
    plan: &Plan,
    results: &Results,
    verdicts: &[Verdict],
    shown: &Shown,
) -> Result<(), String> {
    // Whole or not at all: nothing of an earlier run (a search's plan.json, plots of other
    // variants) survives, and a kill leaves the folder as it was.
    crate::files::write_whole(dir, |staging| {
        write_files(staging, plan, results, verdicts, shown)
    })
}

fn write_files(
    dir: &Path,
    plan: &Plan,
    results: &Results,
    verdicts: &[Verdict],
    shown: &Shown,
) -> Result<(), String> {
    let io =
        |name: &str, e: std::io::Error| format!("cannot write {}: {e}", dir.join(name).display());
    write_atomic(&dir.join("runs.csv"), runs_csv(plan, results).as_bytes())
        .map_err(|e| io("runs.csv", e))?;
    write_atomic(
        &dir.join("timeseries.csv"),
        timeseries_csv(plan, results).as_bytes(),
    )
    .map_err(|e| io("timeseries.csv", e))?;
    write_atomic(
        &dir.join("summary.json"),
        summary_json(plan, results, verdicts, shown).as_bytes(),
    )
    .map_err(|e| io("summary.json", e))?;
    plots::plot_folder(dir)?;
    Ok(())
}
