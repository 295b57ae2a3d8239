//! What an experiment shows: its `show` list (or the default) resolved into columns — an
//! expression of the expect language, a label, a unit and the factor into it — and valued
//! for every point.

use super::eval::{eval_with, Value};
use super::expr::{self, Expr};
use crate::analysis::{summarize, variant_names, Shown, ShownColumn};
use crate::experiment::Results;
use crate::model::Plan;

/// The experiment-level metrics shown after those the expect lines use, when `show` is absent.
const DEFAULT: [&str; 8] = [
    "throughput_rps",
    "goodput_rps",
    "latency_mean_s",
    "latency_p99_s",
    "rejected",
    "timed_out",
    "failed",
    "cost",
];

/// One shown metric, resolved.
#[derive(Clone, Debug)]
pub struct Column {
    pub shown: ShownColumn,
    /// Display unit per unit of the expression (1,000 for seconds shown in ms).
    pub scale: f64,
    pub expr: Expr,
}

/// What is wrong with a `show` item: its index, the field (`metric` or `unit`), the column
/// in that string (0: the whole field) and the message.
#[derive(Debug, PartialEq)]
pub struct ShowError {
    pub item: usize,
    pub field: &'static str,
    pub col: usize,
    pub message: String,
}

/// Whether every metric the expression reads is a time in seconds (`..._s`).
fn in_seconds(e: &Expr) -> bool {
    let m = e.metrics();
    !m.is_empty()
        && m.iter()
            .all(|(p, _)| p.last().is_some_and(|n| n.ends_with("_s")))
}

/// The unit and the factor into it; `Err` for a time unit on a metric that is not a time.
fn unit_of(e: &Expr, unit: Option<&str>) -> Result<(String, f64), String> {
    let seconds = in_seconds(e);
    let time = |name: &str, factor: f64| {
        if seconds {
            Ok((name.to_string(), factor))
        } else {
            Err(format!(
                "unit `{name}` converts seconds, but the expression is not a time (metrics in seconds end in `_s`); use another unit or none"
            ))
        }
    };
    match unit {
        None if seconds => Ok(("ms".into(), 1e3)),
        None => Ok((String::new(), 1.0)),
        Some("s") => time("s", 1.0),
        Some("ms") => time("ms", 1e3),
        Some("us" | "µs") => time("µs", 1e6),
        Some("min") => time("min", 1.0 / 60.0),
        Some("%") => Ok(("%".into(), 100.0)),
        Some(other) => Ok((other.to_string(), 1.0)),
    }
}

/// Resolves one expression with an optional label and unit.
fn column(
    variants: &[String],
    nodes: &[&str],
    item: usize,
    text: &str,
    label: Option<&str>,
    unit: Option<&str>,
) -> Result<Column, ShowError> {
    let err = |field, col, message| ShowError {
        item,
        field,
        col,
        message,
    };
    let e = expr::parse_expr(text).map_err(|e| err("metric", e.col, e.message))?;
    for (path, col) in e.metrics() {
        // A first name that is a node's is the node's, even when a variant shares it.
        if path.len() > 1 && variants.contains(&path[0]) && !nodes.contains(&path[0].as_str()) {
            return Err(err(
                "metric",
                col,
                format!(
                    "`show` is valued for every point: drop the variant `{}.` (the table has a row per variant)",
                    path[0]
                ),
            ));
        }
    }
    let (unit, scale) = unit_of(&e, unit).map_err(|m| err("unit", 0, m))?;
    let label = match label {
        Some(l) => l.to_string(),
        None if matches!(unit.as_str(), "s" | "ms" | "µs" | "min")
            && e.metrics().len() == 1
            && text.ends_with("_s") =>
        {
            text.trim_end_matches("_s").to_string()
        }
        None => text.to_string(),
    };
    Ok(Column {
        shown: ShownColumn {
            metric: text.to_string(),
            label,
            unit,
        },
        scale,
        expr: e,
    })
}

/// The metrics the expect lines read, without their variants, in first-use order.
fn expected_metrics(plan: &Plan, variants: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in &plan.settings.expect {
        let Ok(e) = expr::parse(text) else { continue };
        for (path, _) in e.metrics() {
            let rest = if path.len() > 1 && variants.contains(&path[0]) {
                &path[1..]
            } else {
                path
            };
            // A plan's answer (`plan.found`) is not a metric of the runs a table shows.
            if plan.question.is_some() && rest.first().is_some_and(|n| n == "plan") {
                continue;
            }
            let name = rest.join(".");
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// The columns of `plan`: its `show` list, or the metrics its expect lines use followed by
/// the experiment-level defaults. `Err` lists every bad item.
pub fn columns(plan: &Plan) -> Result<Vec<Column>, Vec<ShowError>> {
    let variants = variant_names(plan);
    let nodes: Vec<&str> = plan
        .points
        .first()
        .map(|p| p.actors.iter().map(|(n, _)| n.as_str()).collect())
        .unwrap_or_default();
    let show = &plan.settings.show;
    if !show.is_empty() {
        let (ok, bad): (Vec<_>, Vec<_>) = show
            .iter()
            .enumerate()
            .map(|(i, s)| {
                column(
                    &variants,
                    &nodes,
                    i,
                    &s.metric,
                    s.label.as_deref(),
                    s.unit.as_deref(),
                )
            })
            .partition(Result::is_ok);
        if !bad.is_empty() {
            return Err(bad.into_iter().filter_map(Result::err).collect());
        }
        return Ok(ok.into_iter().filter_map(Result::ok).collect());
    }
    let mut names = expected_metrics(plan, &variants);
    for d in DEFAULT {
        if !names.iter().any(|n| n == d) {
            names.push(d.to_string());
        }
    }
    Ok(names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| column(&variants, &nodes, i, n, None, None).ok())
        .collect())
}

/// The value of `path` (`[node.]metric`) at a point, NaN when the point lacks it.
fn lookup(s: &crate::analysis::PointSummary, path: &[String]) -> Value {
    let found = match path {
        [metric] => s.experiment.iter().find(|(n, _)| n == metric),
        [node, rest @ ..] => {
            let name = rest.join(".");
            s.nodes
                .iter()
                .find(|(n, _)| n == node)
                .and_then(|(_, ms)| ms.iter().find(|(n, _)| *n == name))
        }
        [] => None,
    };
    found.map_or(
        Value {
            mean: f64::NAN,
            ci95: f64::NAN,
        },
        |(_, a)| Value {
            mean: a.mean,
            ci95: a.ci95,
        },
    )
}

/// The shown metrics of every point of a run.
pub fn shown(plan: &Plan, results: &Results) -> Result<Shown, String> {
    let cols = columns(plan).map_err(|errors| {
        let e = &errors[0];
        format!(
            "show[{}] `{}`: {}",
            e.item,
            plan.settings.show.get(e.item).map_or("", |s| &s.metric),
            e.message
        )
    })?;
    let values = (0..plan.points.len())
        .map(|p| {
            let s = summarize(results, p);
            cols.iter()
                .map(|c| {
                    let v = eval_with(&c.expr, &|path, _| Ok(lookup(&s, path)))
                        .expect("lookups never fail");
                    (v.mean * c.scale, v.ci95 * c.scale)
                })
                .collect()
        })
        .collect();
    Ok(Shown {
        columns: cols.into_iter().map(|c| c.shown).collect(),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(text: &str, label: Option<&str>, unit: Option<&str>) -> Result<Column, ShowError> {
        column(
            &["fast".into(), "slow".into()],
            &["users", "slow_db"],
            0,
            text,
            label,
            unit,
        )
    }

    #[test]
    fn latencies_default_to_milliseconds_and_fractions_take_percent() {
        let c = col("users.critical.latency_p99_s", None, None).unwrap();
        assert_eq!(
            (c.shown.label.as_str(), c.shown.unit.as_str(), c.scale),
            ("users.critical.latency_p99", "ms", 1e3)
        );
        let c = col("app.wait_probability", Some("P(wait)"), Some("%")).unwrap();
        assert_eq!(c.shown.title(), "P(wait) (%)");
        assert_eq!(c.scale, 100.0);
        let c = col("cache.hits / cache.lookups", None, Some("hits per lookup")).unwrap();
        assert_eq!(
            (c.scale, c.shown.label.as_str()),
            (1.0, "cache.hits / cache.lookups")
        );
    }

    #[test]
    fn a_time_unit_on_a_count_and_a_variant_prefix_are_refused() {
        let e = col("rejected", None, Some("ms")).unwrap_err();
        assert_eq!(e.field, "unit");
        assert!(e.message.contains("not a time"), "{}", e.message);
        let e = col("goodput_rps - slow.goodput_rps", None, None).unwrap_err();
        assert_eq!((e.field, e.col), ("metric", 15));
        assert!(
            e.message.contains("drop the variant `slow.`"),
            "{}",
            e.message
        );
        // A node that shares a variant's name is the node.
        let c = column(&["cache".into()], &["cache"], 0, "cache.hits", None, None).unwrap();
        assert_eq!(c.shown.label, "cache.hits");
        let e = col("goodput_rps >", None, None).unwrap_err();
        assert_eq!(e.field, "metric");
    }
}
