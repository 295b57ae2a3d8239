//! The result folder: `summary.json`, `runs.csv`, and the table printed on stdout.
//!
//! Everything written here is a pure function of the plan and the unit results; wall-clock
//! figures are printed, never written, so the same experiment gives the same bytes.

pub mod compare;
mod heatmap;
mod html;
mod plan_view;
pub mod plots;
mod table;
pub mod theory;

pub use table::{table, theory_table};

use crate::experiment::{Results, UnitResult};
use crate::metrics::Aggregate;
use crate::model::syntax::{Kind, Node};
use crate::model::Plan;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// A sweep value as JSON: numbers, strings and booleans as themselves, anything else as the
/// RON text that produced it.
pub fn param_json(n: &Node) -> Value {
    match &n.kind {
        Kind::Int(i) => json!(i),
        Kind::Float(x) => json!(x),
        Kind::Str(s) => json!(s),
        Kind::Bool(b) => json!(b),
        _ => json!(n.to_string()),
    }
}

/// A sweep value as text: strings without quotes, anything else as RON.
pub fn param_text(n: &Node) -> String {
    match &n.kind {
        Kind::Str(s) => s.clone(),
        _ => n.to_string(),
    }
}

/// A number as JSON: null when it is not finite (JSON has no NaN or infinity).
pub fn finite_json(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

/// A mean and its ci95 as JSON, each null when undefined.
pub fn mean_ci_json(a: &Aggregate) -> Value {
    json!({ "mean": finite_json(a.mean), "ci95": finite_json(a.ci95) })
}

fn agg_json(a: &Aggregate) -> Value {
    json!({ "mean": a.mean, "ci95": a.ci95, "min": a.min, "max": a.max })
}

/// Aggregates of one point's experiment-level and per-node metrics.
pub struct PointSummary {
    pub experiment: Vec<(String, Aggregate)>,
    pub nodes: Vec<(String, Vec<(String, Aggregate)>)>,
}

/// Aggregates every metric of `point` over its replications.
pub fn summarize(results: &Results, point: usize) -> PointSummary {
    let runs: Vec<_> = results.of_point(point).collect();
    let first = &runs[0].metrics;
    let experiment = first
        .experiment
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let xs: Vec<f64> = runs.iter().map(|r| r.metrics.experiment[i].1).collect();
            (name.clone(), Aggregate::of(&xs))
        })
        .collect();
    let nodes = first
        .nodes
        .iter()
        .enumerate()
        .map(|(ni, (node, ms))| {
            let aggs = ms
                .iter()
                .enumerate()
                .map(|(mi, (name, _))| {
                    let xs: Vec<f64> = runs.iter().map(|r| r.metrics.nodes[ni].1[mi].1).collect();
                    (name.clone(), Aggregate::of(&xs))
                })
                .collect();
            (node.clone(), aggs)
        })
        .collect();
    PointSummary { experiment, nodes }
}

/// The baseline variant: the experiment's `baseline`, or the first variant.
pub fn baseline(plan: &Plan) -> &str {
    plan.settings
        .baseline
        .as_deref()
        .unwrap_or_else(|| plan.points[0].variant.as_str())
}

/// The point of the baseline variant with the same sweep values as `point`.
pub fn baseline_point(plan: &Plan, point: usize) -> usize {
    // Points are variant-major, and every variant has the same sweep points.
    let variants = variant_names(plan).len();
    let per_variant = plan.points.len() / variants;
    let first_of_baseline = plan
        .points
        .iter()
        .position(|p| p.variant == baseline(plan))
        .expect("the baseline is a variant");
    first_of_baseline + point % per_variant
}

/// Paired differences of every metric between `point` and its baseline point, over the
/// replications both have. Common random numbers make these far tighter than the difference
/// of two independent means.
pub fn paired(results: &Results, point: usize, base: usize) -> Vec<(String, Aggregate)> {
    let base_runs: BTreeMap<u32, &UnitResult> = results
        .of_point(base)
        .map(|u| (u.unit.replication, u))
        .collect();
    let pairs: Vec<(&UnitResult, &UnitResult)> = results
        .of_point(point)
        .filter_map(|u| base_runs.get(&u.unit.replication).map(|b| (u, *b)))
        .collect();
    let Some((first, _)) = pairs.first() else {
        return Vec::new();
    };
    let names: Vec<String> = first.metrics.columns().map(|(n, _)| n).collect();
    names
        .into_iter()
        .map(|name| {
            // By name: the baseline may report a different set of metrics.
            let diffs: Vec<f64> = pairs
                .iter()
                .map(|(u, b)| {
                    let get = |r: &UnitResult| {
                        r.metrics
                            .columns()
                            .find(|(n, _)| *n == name)
                            .map_or(f64::NAN, |(_, v)| v)
                    };
                    get(u) - get(b)
                })
                .collect();
            (name, Aggregate::of(&diffs))
        })
        .collect()
}

/// Every warning the runs raised, in work-list order.
pub fn warnings(plan: &Plan, results: &Results) -> Vec<String> {
    results
        .units
        .iter()
        .filter_map(|u| u.warning(plan))
        .collect()
}

/// What a fault is, the node it acts on (a latency fault: caller→callee), and its window in
/// seconds (`None` at the end: it lasts to the end of the run).
pub fn fault_span(f: &crate::model::spec::FaultSpec) -> (&'static str, String, f64, Option<f64>) {
    use crate::model::spec::FaultSpec;
    let window = |at: &crate::model::spec::Duration, d: &crate::model::spec::Duration| {
        Some(at.secs() + d.secs())
    };
    match f {
        FaultSpec::Slowdown {
            node, at, r#for, ..
        } => ("slowdown", node.clone(), at.secs(), window(at, r#for)),
        FaultSpec::Errors {
            node, at, r#for, ..
        } => ("errors", node.clone(), at.secs(), window(at, r#for)),
        FaultSpec::Crash {
            node, at, r#for, ..
        } => (
            "crash",
            node.clone(),
            at.secs(),
            r#for.map(|d| at.secs() + d.secs()),
        ),
        FaultSpec::Latency {
            from,
            to,
            at,
            r#for,
            ..
        } => (
            "latency",
            format!("{from}→{to}"),
            at.secs(),
            window(at, r#for),
        ),
        FaultSpec::Canary {
            node, at, r#for, ..
        } => ("canary", node.clone(), at.secs(), window(at, r#for)),
        FaultSpec::Scale { node, at, .. } => ("scale", node.clone(), at.secs(), Some(at.secs())),
        FaultSpec::Deploy { node, at, .. } => ("deploy", node.clone(), at.secs(), Some(at.secs())),
        FaultSpec::Resize { node, at, .. } => ("resize", node.clone(), at.secs(), Some(at.secs())),
    }
}

/// The fault timeline, for readers and for shading plots.
fn faults_json(plan: &Plan) -> Value {
    let items: Vec<Value> = plan
        .settings
        .faults
        .iter()
        .map(|f| {
            let (kind, node, at, until) = fault_span(f);
            json!({ "kind": kind, "node": node, "at_s": at, "until_s": until })
        })
        .collect();
    Value::Array(items)
}

/// Variant names in file order.
pub fn variant_names(plan: &Plan) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for p in &plan.points {
        if !names.contains(&p.variant) {
            names.push(p.variant.clone());
        }
    }
    names
}

/// The contents of `summary.json`.
pub fn summary_json(plan: &Plan, results: &Results, verdicts: &[Verdict]) -> String {
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
        let th = theory::of_point(plan, results, i);
        if !th.is_empty() {
            point["theory"] = theory::to_json(&th);
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
        "seed": s.seed,
        "replications": s.replications,
        "duration_s": s.duration.secs(),
        "warmup_s": s.warmup.secs(),
        "sweep": plan.sweep_paths,
        "variants": variant_names(plan),
        "baseline": baseline(plan),
        "points": points,
        "faults": faults_json(plan),
        "expectations": verdicts
            .iter()
            .map(|v| json!({ "text": v.text, "passed": v.passed, "detail": v.detail }))
            .collect::<Vec<_>>(),
        "warnings": warnings(plan, results),
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

/// The contents of `runs.csv`: one row per point × replication.
pub fn runs_csv(plan: &Plan, results: &Results) -> String {
    let mut out = String::new();
    if results.units.is_empty() {
        return out;
    }
    let mut header: Vec<String> = vec!["variant".into()];
    header.extend(plan.sweep_paths.iter().cloned());
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

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, synced, then
/// renamed over the target, so a reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
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
    header.extend(plan.sweep_paths.iter().cloned());
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

/// An expectation's verdict, as the result folder records it.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub text: String,
    pub passed: bool,
    pub detail: String,
}

/// Writes the result folder: data files, then the plots drawn from them.
pub fn write_folder(
    dir: &Path,
    plan: &Plan,
    results: &Results,
    verdicts: &[Verdict],
) -> Result<(), String> {
    let io =
        |name: &str, e: std::io::Error| format!("cannot write {}: {e}", dir.join(name).display());
    // A search's answer in the same folder would describe other runs than these.
    let stale = dir.join("plan.json");
    if stale.exists() {
        std::fs::remove_file(&stale)
            .map_err(|e| format!("cannot remove {}: {e}", stale.display()))?;
    }
    write_atomic(&dir.join("runs.csv"), runs_csv(plan, results).as_bytes())
        .map_err(|e| io("runs.csv", e))?;
    write_atomic(
        &dir.join("timeseries.csv"),
        timeseries_csv(plan, results).as_bytes(),
    )
    .map_err(|e| io("timeseries.csv", e))?;
    write_atomic(
        &dir.join("summary.json"),
        summary_json(plan, results, verdicts).as_bytes(),
    )
    .map_err(|e| io("summary.json", e))?;
    plots::plot_folder(dir)?;
    Ok(())
}
