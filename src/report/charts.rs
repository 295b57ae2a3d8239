//! The data of a report's interactive charts, from `summary.json` and `timeseries.csv`: every
//! time-series column (latencies in ms), per sweep point, per variant, as compact JSON.

use super::compare::Runs;
use serde_json::Value;
use std::fmt::Write;

/// Numbers a page carries at most (about 4 MB): sweep points beyond it keep their SVGs only.
const MAX_NUMBERS: usize = 500_000;

/// A column's title and the factor into its unit.
fn unit_of(column: &str) -> (String, &'static str, f64) {
    if column.ends_with("_s") {
        (
            super::numbers::titled(column),
            "ms",
            super::numbers::scale_of(column),
        )
    } else if column.ends_with("_rps") {
        (format!("{column} (per s)"), "per s", 1.0)
    } else {
        (column.to_string(), "", 1.0)
    }
}

/// A number, short: seven significant digits, `null` for none.
fn number(out: &mut String, cell: &str, scale: f64) {
    match cell.parse::<f64>() {
        Ok(x) if x.is_finite() => {
            let _ = write!(out, "{}", (x * scale) as f32);
        }
        _ => out.push_str("null"),
    }
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

/// The charts' JSON and a sentence saying what they cover; `None` without time series.
pub fn data(
    summary: &Value,
    series: &Runs,
    variants: &[String],
    sweep: &[String],
) -> Option<(String, String)> {
    let col = |n: &str| series.header.iter().position(|h| h == n);
    let time = col("time_s")?;
    let columns: Vec<(String, usize)> = summary
        .get("series")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("column")?.as_str())
        .filter_map(|c| Some((c.to_string(), col(c)?)))
        .collect();
    if columns.is_empty() || series.rows.is_empty() {
        return None;
    }
    let n = sweep.len();
    let mut points: Vec<&[String]> = Vec::new();
    for r in &series.rows {
        if !points.contains(&&r[1..1 + n]) {
            points.push(&r[1..1 + n]);
        }
    }
    let mut out = String::from("{\"columns\":[");
    for (i, (c, _)) in columns.iter().enumerate() {
        let (title, unit, _) = unit_of(c);
        let _ = write!(
            out,
            "{}{{\"name\":{},\"title\":{},\"unit\":{}}}",
            if i > 0 { "," } else { "" },
            json_str(c),
            json_str(&title),
            json_str(unit)
        );
    }
    let defaults: Vec<usize> = ["goodput_rps", "attempts_rps", "latency_p99_s"]
        .iter()
        .filter_map(|d| columns.iter().position(|(c, _)| c == d))
        .collect();
    let defaults = if defaults.is_empty() {
        (0..columns.len().min(3)).collect()
    } else {
        defaults
    };
    let _ = write!(out, "],\"defaults\":{defaults:?},\"windows\":[");
    for (i, (from, to, label)) in super::plots::windows_of(summary).iter().enumerate() {
        let _ = write!(
            out,
            "{}[{from},{to},{}]",
            if i > 0 { "," } else { "" },
            json_str(label.trim())
        );
    }
    out.push_str("],\"points\":[");
    let mut numbers = 0;
    let mut shown = 0;
    for p in &points {
        let rows: Vec<&Vec<String>> = series.rows.iter().filter(|r| &r[1..1 + n] == *p).collect();
        let cost = rows.len() * (columns.len() + 1);
        if shown > 0 && numbers + cost > MAX_NUMBERS {
            break;
        }
        numbers += cost;
        let label: Vec<String> = sweep
            .iter()
            .zip(p.iter())
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        let first = rows.first().map(|r| r[0].clone()).unwrap_or_default();
        let _ = write!(
            out,
            "{}{{\"label\":{},\"t\":[",
            if shown > 0 { "," } else { "" },
            json_str(&label.join(", "))
        );
        for (i, r) in rows.iter().filter(|r| r[0] == first).enumerate() {
            if i > 0 {
                out.push(',');
            }
            number(&mut out, &r[time], 1.0);
        }
        out.push_str("],\"variants\":[");
        let mut first_variant = true;
        for (vi, v) in variants.iter().enumerate() {
            let vr: Vec<&&Vec<String>> = rows.iter().filter(|r| &r[0] == v).collect();
            if vr.is_empty() {
                continue;
            }
            let _ = write!(
                out,
                "{}{{\"name\":{},\"color\":{vi},\"cols\":[",
                if first_variant { "" } else { "," },
                json_str(v)
            );
            first_variant = false;
            for (ci, (c, at)) in columns.iter().enumerate() {
                let (_, _, scale) = unit_of(c);
                out.push_str(if ci > 0 { ",[" } else { "[" });
                for (i, r) in vr.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    number(&mut out, &r[*at], scale);
                }
                out.push(']');
            }
            out.push_str("]}");
        }
        out.push_str("]}");
        shown += 1;
    }
    out.push_str("]}");
    let note = if shown < points.len() {
        format!(
            "The first run of the first {shown} of {} sweep points, each variant overlaid.",
            points.len()
        )
    } else if points.len() > 1 {
        "The first run of each sweep point, each variant overlaid.".to_string()
    } else {
        "The first run of each variant, overlaid.".to_string()
    };
    Some((out, note))
}
