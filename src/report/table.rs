//! The summary table printed after a run.

use super::{param_text, summarize};
use crate::experiment::Results;
use crate::metrics::Aggregate;
use crate::model::Plan;

fn cell(a: &Aggregate, scale: f64, digits: usize) -> String {
    if a.mean.is_nan() {
        return "-".into();
    }
    if a.ci95.is_nan() {
        format!("{:.*}", digits, a.mean * scale)
    } else {
        format!(
            "{:.*} ±{:.*}",
            digits,
            a.mean * scale,
            digits,
            a.ci95 * scale
        )
    }
}

/// A readable table: one row per point, the metrics people look at first.
pub fn table(plan: &Plan, results: &Results) -> String {
    let cols: [(&str, &str, f64, usize); 8] = [
        ("throughput_rps", "thru/s", 1.0, 1),
        ("goodput_rps", "good/s", 1.0, 1),
        ("latency_mean_s", "mean ms", 1e3, 2),
        ("latency_p99_s", "p99 ms", 1e3, 2),
        ("rejected", "rejected", 1.0, 0),
        ("timed_out", "timed out", 1.0, 0),
        ("failed", "failed", 1.0, 0),
        ("cost", "cost $", 1.0, 2),
    ];
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head = vec!["variant".to_string()];
    head.extend(plan.sweep_paths.iter().cloned());
    head.extend(cols.iter().map(|c| c.1.to_string()));
    rows.push(head);
    for (i, p) in plan.points.iter().enumerate() {
        let sum = summarize(results, i);
        let mut row = vec![p.variant.clone()];
        row.extend(p.params.iter().map(|(_, v)| param_text(v)));
        for (name, _, scale, digits) in cols {
            let a = sum
                .experiment
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, a)| *a)
                .expect("every run reports the experiment-level metrics");
            row.push(cell(&a, scale, digits));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (ri, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if c == 0 {
                    format!("{s:<w$}", w = widths[c])
                } else {
                    format!("{s:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if ri == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1)));
            out.push('\n');
        }
    }
    out
}
