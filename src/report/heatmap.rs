//! Heatmaps of a two-parameter sweep: one grid per variant and metric, the first swept
//! parameter across, the second up, each cell coloured by the metric's mean and labelled
//! with it, so a projected slide can be read without a colour bar.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::Value;

/// One grid: `values[y][x]`, NaN where a point is missing. Grids in a row share `log`.
pub struct Grid {
    pub title: String,
    pub values: Vec<Vec<f64>>,
    /// Colour on a log scale (latencies spanning decades).
    pub log: bool,
    /// Lower is better: shown so in the title and with the colours reversed, so that good
    /// is always the light end.
    pub lower_is_better: bool,
}

pub struct Heatmaps {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_ticks: Vec<String>,
    pub y_ticks: Vec<String>,
    /// Rows of grids (one row per metric, one column per variant).
    pub grids: Vec<Vec<Grid>>,
}

/// Viridis, sampled: perceptually even and colour-blind safe.
const VIRIDIS: [(u8, u8, u8); 6] = [
    (68, 1, 84),
    (65, 68, 135),
    (42, 120, 142),
    (34, 168, 132),
    (122, 209, 81),
    (253, 231, 37),
];

/// The colour of `t` in [0, 1] along the map.
fn viridis(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (t.floor() as usize).min(VIRIDIS.len() - 2);
    let f = t - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// A cell label: three significant digits.
fn label(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

pub fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, h: &Heatmaps) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(&h.title, (super::plots::FONT, 30).into_font().color(&BLACK))
        .map_err(err)?;
    let rows = h.grids.len().max(1);
    let cols = h.grids.iter().map(Vec::len).max().unwrap_or(1).max(1);
    let areas = root.split_evenly((rows, cols));
    let (nx, ny) = (h.x_ticks.len(), h.y_ticks.len());
    for (r, row) in h.grids.iter().enumerate() {
        // One colour scale per metric, shared by its variants, so equal colours mean equal
        // values across the row.
        let finite: Vec<f64> = row
            .iter()
            .flat_map(|g| g.values.iter().flatten().map(move |v| (g.log, *v)))
            .filter(|(log, v)| v.is_finite() && (!log || *v > 0.0))
            .map(|(_, v)| v)
            .collect();
        for (c, grid) in row.iter().enumerate() {
            let area = &areas[r * cols + c];
            let scale = |v: f64| if grid.log { v.ln() } else { v };
            let lo = finite
                .iter()
                .map(|v| scale(*v))
                .fold(f64::INFINITY, f64::min);
            let hi = finite
                .iter()
                .map(|v| scale(*v))
                .fold(f64::NEG_INFINITY, f64::max);
            let shade = |v: f64| {
                if !v.is_finite() || (grid.log && v <= 0.0) {
                    return RGBColor(220, 220, 220);
                }
                let t = if hi > lo {
                    (scale(v) - lo) / (hi - lo)
                } else {
                    0.5
                };
                viridis(if grid.lower_is_better { 1.0 - t } else { t })
            };
            let mut chart = ChartBuilder::on(area)
                .caption(&grid.title, (super::plots::FONT, 22))
                .margin(14)
                .x_label_area_size(52)
                .y_label_area_size(90)
                .build_cartesian_2d(0.0..nx as f64, 0.0..ny as f64)
                .map_err(err)?;
            let x_ticks = &h.x_ticks;
            let y_ticks = &h.y_ticks;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(h.x_label.as_str())
                .y_desc(h.y_label.as_str())
                .label_style((super::plots::FONT, 17))
                .axis_desc_style((super::plots::FONT, 20))
                .x_labels(nx * 2 + 1)
                .y_labels(ny * 2 + 1)
                .x_label_formatter(&|x| centre_tick(*x, x_ticks))
                .y_label_formatter(&|y| centre_tick(*y, y_ticks))
                .draw()
                .map_err(err)?;
            for (yi, line) in grid.values.iter().enumerate() {
                for (xi, v) in line.iter().enumerate() {
                    let (x, y) = (xi as f64, yi as f64);
                    let fill = shade(*v);
                    chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x, y), (x + 1.0, y + 1.0)],
                            fill.filled(),
                        )))
                        .map_err(err)?;
                    // Dark text on the light end of the map, white on the dark end.
                    let light = (fill.0 as u32 * 299 + fill.1 as u32 * 587 + fill.2 as u32 * 114)
                        / 1000
                        > 140;
                    let ink = if light { BLACK } else { WHITE };
                    let style = TextStyle::from((super::plots::FONT, 20).into_font())
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    chart
                        .draw_series(std::iter::once(Text::new(
                            label(*v),
                            (x + 0.5, y + 0.5),
                            style,
                        )))
                        .map_err(err)?;
                }
            }
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Labels only at the middle of each cell (x = i + 0.5).
fn centre_tick(x: f64, ticks: &[String]) -> String {
    let i = (x - 0.5).round();
    if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
        ticks.get(i as usize).cloned().unwrap_or_default()
    } else {
        String::new()
    }
}

/// The two-parameter heatmaps of a summary, if it swept exactly two parameters.
pub fn from_summary(
    name: &str,
    summary: &Value,
    variants: &[String],
    sweep: &[String],
) -> Option<Heatmaps> {
    if sweep.len() != 2 {
        return None;
    }
    let points = summary.get("points")?.as_array()?;
    // Each parameter's values, in numeric order when all are numbers, else first seen.
    let values = |param: &str| -> Vec<Value> {
        let mut vs: Vec<Value> = Vec::new();
        for p in points {
            if let Some(v) = p.get("params").and_then(|ps| ps.get(param)) {
                if !vs.contains(v) {
                    vs.push(v.clone());
                }
            }
        }
        if vs.iter().all(Value::is_number) {
            vs.sort_by(|a, b| {
                a.as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&b.as_f64().unwrap_or(0.0))
            });
        }
        vs
    };
    let (xs, ys) = (values(&sweep[0]), values(&sweep[1]));
    let show = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => super::plots::tick(n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    };
    // Goodput and p99, then each metric the experiment shows: (title, value of a point,
    // log colours, lower is better).
    type Of<'a> = Box<dyn Fn(&Value) -> Option<f64> + 'a>;
    let metric = |name: &'static str, scale: f64| -> Of {
        Box::new(move |p: &Value| Some(p["metrics"][name]["mean"].as_f64()? * scale))
    };
    let mut rows: Vec<(String, Of, bool, bool)> = vec![
        (
            "Goodput (requests/s)".into(),
            metric("goodput_rps", 1.0),
            false,
            false,
        ),
        (
            "Latency p99 (ms)".into(),
            metric("latency_p99_s", 1e3),
            true,
            true,
        ),
    ];
    let shown = summary.get("show").and_then(Value::as_array);
    for (i, c) in shown
        .into_iter()
        .flatten()
        .enumerate()
        .filter(|(_, c)| !matches!(c["metric"].as_str(), Some("goodput_rps" | "latency_p99_s")))
        .take(4)
    {
        let (label, unit) = (
            c["label"].as_str().unwrap_or(""),
            c["unit"].as_str().unwrap_or(""),
        );
        let title = if unit.is_empty() {
            label.to_string()
        } else {
            format!("{label} ({unit})")
        };
        let of: Of = Box::new(move |p: &Value| p["shown"][i]["mean"].as_f64());
        rows.push((title, of, false, matches!(unit, "ms" | "s" | "µs" | "min")));
    }
    let grids = rows
        .iter()
        .map(|(title, of, log, lower)| {
            variants
                .iter()
                .map(|v| {
                    let values = ys
                        .iter()
                        .map(|y| {
                            xs.iter()
                                .map(|x| {
                                    points
                                        .iter()
                                        .find(|p| {
                                            p.get("variant").and_then(Value::as_str)
                                                == Some(v.as_str())
                                                && p["params"].get(&sweep[0]) == Some(x)
                                                && p["params"].get(&sweep[1]) == Some(y)
                                        })
                                        .and_then(of.as_ref())
                                        .unwrap_or(f64::NAN)
                                })
                                .collect()
                        })
                        .collect();
                    Grid {
                        title: if variants.len() > 1 {
                            format!("{title}, {v}")
                        } else {
                            title.clone()
                        },
                        values,
                        log: *log,
                        lower_is_better: *lower,
                    }
                })
                .collect()
        })
        .collect();
    Some(Heatmaps {
        title: format!(
            "{name}: {} × {} (light: more goodput, lower p99)",
            sweep[0], sweep[1]
        ),
        x_label: sweep[0].clone(),
        y_label: sweep[1].clone(),
        x_ticks: xs.iter().map(show).collect(),
        y_ticks: ys.iter().map(show).collect(),
        grids,
    })
}
