//! Metrics against a swept parameter with ci95 bands, and latency percentiles per variant.

use super::*;

pub(super) fn agg(point: &Value, metric: &str) -> Option<(f64, f64)> {
    let m = point.get("metrics")?.get(metric)?;
    Some((
        m.get("mean")?.as_f64()?,
        m.get("ci95").and_then(Value::as_f64).unwrap_or(0.0),
    ))
}

pub(super) fn sweep_plots(f: &Folder, name: &str, out: &Path) -> Result<Vec<PathBuf>, String> {
    if f.sweep.len() != 1 {
        return Ok(Vec::new());
    }
    let param = &f.sweep[0];
    let points = f.summary["points"].as_array().expect("checked on read");
    let x_of = |p: &Value| {
        p.get("params")
            .and_then(|ps| ps.get(param))
            .and_then(Value::as_f64)
    };
    if points.iter().any(|p| x_of(p).is_none()) {
        return Ok(Vec::new()); // a non-numeric sweep: no x axis
    }
    let metric_lines = |metric: &str, scale: f64| -> Vec<Line> {
        let value = |p: &Value| agg(p, metric).map(|(m, ci)| (m * scale, ci * scale));
        lines_against(&f.variants, points, &x_of, &value)
    };
    let mut panels = vec![
        Panel {
            title: "Goodput".into(),
            y_label: "requests/s".into(),
            lines: metric_lines("goodput_rps", 1.0),
            log_y: false,
        },
        Panel {
            title: "Latency p99".into(),
            y_label: "ms".into(),
            lines: metric_lines("latency_p99_s", 1e3),
            log_y: false,
        },
        Panel {
            title: "Latency mean".into(),
            y_label: "ms".into(),
            lines: metric_lines("latency_mean_s", 1e3),
            log_y: false,
        },
    ];
    // What each point cost, when anything is priced.
    if points
        .iter()
        .any(|p| agg(p, "cost").is_some_and(|(c, _)| c > 0.0))
    {
        panels.push(Panel {
            title: "Cost over the measured window".into(),
            y_label: "$".into(),
            lines: metric_lines("cost", 1.0),
            log_y: false,
        });
    }
    let height = 80 + 300 * panels.len() as u32;
    let values: Vec<f64> = points.iter().filter_map(x_of).collect();
    let fig = Figure {
        title: format!(
            "{name}: against {} (bands: 95% confidence)",
            axis_name(param)
        ),
        x_label: format!("{}  [{param}]", axis_name(param)),
        panels,
        windows: Vec::new(),
        x_axis: sweep_axis(&values),
        x_keys: sweep_keys(&values),
    };
    render(out, "sweep", (1400, height), &fig)
}

pub(super) fn percentile_plots(f: &Folder, name: &str, out: &Path) -> Result<Vec<PathBuf>, String> {
    let points = f.summary["points"].as_array().expect("checked on read");
    let first_params = points.first().and_then(|p| p.get("params")).cloned();
    let qs = [
        (50.0, "latency_p50_s"),
        (90.0, "latency_p90_s"),
        (99.0, "latency_p99_s"),
        (99.9, "latency_p999_s"),
    ];
    let lines: Vec<Line> = f
        .variants
        .iter()
        .enumerate()
        .filter_map(|(vi, v)| {
            let p = points.iter().find(|p| {
                p.get("variant").and_then(Value::as_str) == Some(v)
                    && p.get("params").cloned() == first_params
            })?;
            Some(Line {
                label: v.clone(),
                color: vi,
                // x: p50, p90, p99, p99.9 evenly spaced, so the tail gets room.
                points: qs
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (_, m))| agg(p, m).map(|(mean, _)| (i as f64, mean * 1e3)))
                    .collect(),
                band: None,
                dashed: false,
            })
        })
        .collect();
    let fig = Figure {
        title: format!("{name}: latency percentiles (p50, p90, p99, p99.9)"),
        x_label: "percentile".into(),
        panels: vec![Panel {
            title: "End-to-end latency of successful requests".into(),
            y_label: "ms (log scale)".into(),
            lines,
            log_y: true,
        }],
        windows: Vec::new(),
        x_axis: XAxis::Percentiles,
        x_keys: Vec::new(),
    };
    render(out, "latency-percentiles", (1400, 700), &fig)
}
