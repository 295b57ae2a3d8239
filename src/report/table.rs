//! The summary table printed after a run.

use super::numbers::{human, mean_ci};
use crate::analysis::theory::{self, Beside};
use crate::analysis::{param_text, Shown, ShownColumn};
use crate::experiment::Results;
use crate::metrics::Aggregate;
use crate::model::Plan;

fn cell(a: &Aggregate, scale: f64) -> String {
    mean_ci(a.mean * scale, a.ci95 * scale)
}

/// A readable table: one row per point, the metrics the experiment shows.
pub fn table(plan: &Plan, shown: &Shown) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head = vec!["variant".to_string()];
    head.extend(plan.sweep_paths.iter().cloned());
    head.extend(shown.columns.iter().map(ShownColumn::title));
    rows.push(head);
    for (p, values) in plan.points.iter().zip(&shown.values) {
        let mut row = vec![p.variant.clone()];
        row.extend(p.params.iter().map(|(_, v)| param_text(v)));
        row.extend(values.iter().map(|(m, ci)| mean_ci(*m, *ci)));
        rows.push(row);
    }
    render(&rows)
}

/// Lays out rows (the first is the header) in aligned columns.
fn render(rows: &[Vec<String>]) -> String {
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

fn theory_cell(b: Option<&Beside>, scale: f64) -> (String, String) {
    let Some(b) = b else {
        return ("–".into(), "–".into());
    };
    let th = match &b.theory {
        None => "unbounded".into(),
        Some(t) => human(t.mean * scale),
    };
    let mark = if b.disagrees { " !" } else { "" };
    (cell(&b.simulated, scale), format!("{th}{mark}"))
}

/// Theory beside simulation: for every service a formula describes, measured and predicted
/// wait, utilization and (finite queues) blocking; `!` marks a disagreement beyond the ci95.
/// Empty when no service has a formula.
pub fn theory_table(plan: &Plan, results: &Results) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head = vec!["variant".to_string()];
    head.extend(plan.sweep_paths.iter().cloned());
    head.extend(
        [
            "node", "model", "formula", "wait ms", "theory", "util", "theory", "blocked", "theory",
        ]
        .map(String::from),
    );
    rows.push(head);
    let mut reasons = Vec::new();
    for (i, p) in plan.points.iter().enumerate() {
        for t in theory::of_point(plan, results, i) {
            let mut row = vec![p.variant.clone()];
            row.extend(p.params.iter().map(|(_, v)| param_text(v)));
            row.extend([
                t.node.clone(),
                t.model.clone(),
                t.formula.name().to_string(),
            ]);
            for (metric, scale) in [
                ("wait_mean_s", 1e3),
                ("utilization", 1.0),
                ("blocking", 1.0),
            ] {
                let (sim, th) = theory_cell(t.value(metric), scale);
                row.extend([sim, th]);
            }
            if t.disagrees() {
                reasons.push(format!(
                    "{} {}: {}",
                    p.variant,
                    t.node,
                    t.reasons.join("; ")
                ));
            }
            rows.push(row);
        }
    }
    if rows.len() == 1 {
        return String::new();
    }
    let mut out = render(&rows);
    if !reasons.is_empty() {
        out.push_str("! simulation and theory disagree beyond the ci95; likely because of:\n");
        for r in reasons {
            out.push_str(&format!("  {r}\n"));
        }
    }
    out
}
