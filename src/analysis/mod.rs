//! What a run's results mean, apart from how they are shown: summaries over replications,
//! paired differences against the baseline, warnings, verdicts, and theory beside
//! simulation. `report` renders these, `check` and `plan` judge with them; none of them
//! computes its own.

pub mod theory;

use crate::experiment::{Results, UnitResult};
use crate::metrics::Aggregate;
use crate::model::{Param, Plan};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A sweep value as JSON: numbers, strings and booleans as themselves, anything else as the
/// RON text that produced it.
pub fn param_json(p: &Param) -> Value {
    match p {
        Param::Int(i) => json!(i),
        Param::Float(x) => json!(x),
        Param::Str(s) => json!(s),
        Param::Bool(b) => json!(b),
        Param::Ron(text) => json!(text),
    }
}

/// A sweep value as text: strings without quotes, anything else as RON.
pub fn param_text(p: &Param) -> String {
    match p {
        Param::Str(s) => s.clone(),
        _ => p.to_string(),
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
    // By name: the baseline may report a different set of metrics. Looked up in maps, so a
    // model with many columns costs in proportion to them, not to their square.
    let by_name = |r: &UnitResult| -> std::collections::HashMap<String, f64> {
        r.metrics.columns().collect()
    };
    let maps: Vec<_> = pairs
        .iter()
        .map(|(u, b)| (by_name(u), by_name(b)))
        .collect();
    names
        .into_iter()
        .map(|name| {
            let get = |m: &std::collections::HashMap<String, f64>| {
                m.get(&name).copied().unwrap_or(f64::NAN)
            };
            let diffs: Vec<f64> = maps.iter().map(|(u, b)| get(u) - get(b)).collect();
            (name, Aggregate::of(&diffs))
        })
        .collect()
}

/// Every warning the runs raised, in work-list order.
pub fn warnings(plan: &Plan, results: &Results) -> Vec<String> {
    let mut out = plan.warnings.clone();
    out.extend(results.units.iter().filter_map(|u| u.warning(plan)));
    // A point whose runs completed nothing measures nothing (a model with no client is
    // already said).
    let has_clients = plan.warnings.iter().all(|w| !w.contains("has no client"));
    for (k, p) in plan.points.iter().enumerate() {
        let mut runs = results.of_point(k).peekable();
        if has_clients
            && runs.peek().is_some()
            && runs.all(|u| u.metrics.get("completed").is_some_and(|c| c == 0.0))
        {
            out.push(format!(
                "variant `{}` point {k}: no request completed in the measured window; its latency metrics are undefined",
                p.variant
            ));
        }
    }
    out
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

/// The metrics an experiment shows (its `show` list, or the default), valued per point in
/// their display units: what the run's table, the report's first table and the lesson plot
/// draw.
#[derive(Clone, Debug, Default)]
pub struct Shown {
    pub columns: Vec<ShownColumn>,
    /// Per point, per column: the mean and its ci95 (NaN when the point lacks the metric).
    pub values: Vec<Vec<(f64, f64)>>,
}

/// One shown metric: the expression, its label and the unit its values are in.
#[derive(Clone, Debug, PartialEq)]
pub struct ShownColumn {
    pub metric: String,
    pub label: String,
    pub unit: String,
}

impl ShownColumn {
    /// The label with its unit, as a table header reads: `critical p99 (ms)`.
    pub fn title(&self) -> String {
        if self.unit.is_empty() {
            self.label.clone()
        } else {
            format!("{} ({})", self.label, self.unit)
        }
    }
}

/// An expectation's verdict, as the result folder records it.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub text: String,
    pub passed: bool,
    pub detail: String,
}
