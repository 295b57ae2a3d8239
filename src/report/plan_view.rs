//! The plots and page of a search's result folder, drawn from `plan.json` alone: the Pareto
//! view of a capacity plan (objective against the main constraint, feasible points filled,
//! the best circled, the bound dashed) and the recovery curve of a tipping point
//! (P(recovered) against the trigger with Wilson intervals, each boundary marked).

use super::plots::{color, register_font, tick, FONT};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;

/// One marker of the Pareto view.
pub struct Dot {
    pub x: f64,
    pub y: f64,
    pub feasible: bool,
    pub pruned: bool,
}

pub struct Pareto {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub dots: Vec<Dot>,
    pub best: Option<(f64, f64)>,
    /// The constraint's bound when it is one number for every point.
    pub bound: Option<f64>,
}

/// One variant's recovery curve: (trigger, p, low, high), and its boundary.
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64, f64, f64)>,
    pub boundary: Option<f64>,
}

pub struct Recovery {
    pub title: String,
    pub x_label: String,
    pub curves: Vec<Curve>,
}

fn f(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

fn mean(v: &Value, key: &str) -> Option<f64> {
    f(v.get(key).and_then(|x| x.get("mean")))
}

/// The Pareto view of a capacity plan, or `None` when there is nothing to place.
pub fn pareto(plan: &Value) -> Option<Pareto> {
    let name = plan.get("experiment")?.as_str()?;
    let objective = plan.get("minimize")?.as_str()?.to_string();
    let first = plan
        .get("subject_to")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)
        .map(String::from);
    let groups = [
        ("feasible", true, false),
        ("infeasible", false, false),
        ("pruned", false, true),
    ];
    let mut dots = Vec::new();
    let mut bounds = Vec::new();
    for (key, feasible, pruned) in groups {
        for p in plan.get(key)?.as_array()? {
            let Some(x) = mean(p, "objective") else {
                continue;
            };
            let c0 = p.get("constraints").and_then(|c| c.get(0));
            let Some(y) = c0.and_then(|c| mean(c, "value")) else {
                continue;
            };
            bounds.extend(c0.and_then(|c| mean(c, "bound")));
            dots.push(Dot {
                x,
                y,
                feasible,
                pruned,
            });
        }
    }
    if dots.is_empty() {
        return None;
    }
    let bound = bounds.first().copied().filter(|b| {
        bounds
            .iter()
            .all(|x| (x - b).abs() <= 1e-9 * b.abs().max(1e-12))
    });
    let best = plan.get("best").filter(|b| !b.is_null()).and_then(|b| {
        let x = mean(b, "objective")?;
        let y = mean(b.get("constraints")?.get(0)?, "value")?;
        Some((x, y))
    });
    Some(Pareto {
        title: format!(
            "{name}: {objective} against {}",
            first.clone().unwrap_or_default()
        ),
        x_label: objective,
        y_label: first
            .and_then(|t| {
                t.split(['<', '>', '='])
                    .next()
                    .map(|s| s.trim().to_string())
            })
            .unwrap_or_default(),
        dots,
        best,
        bound,
    })
}

/// The recovery curves of a tipping-point search.
pub fn recovery(plan: &Value) -> Option<Recovery> {
    let name = plan.get("experiment")?.as_str()?;
    let path = plan.get("vary")?.as_str()?;
    let unit = plan.get("unit").and_then(Value::as_str).unwrap_or("");
    let mut curves = Vec::new();
    for (variant, b) in plan.get("boundaries")?.as_object()? {
        let points: Vec<(f64, f64, f64, f64)> = b
            .get("curve")?
            .as_array()?
            .iter()
            .filter_map(|p| {
                Some((
                    f(p.get("trigger"))?,
                    f(p.get("p"))?,
                    f(p.get("low"))?,
                    f(p.get("high"))?,
                ))
            })
            .collect();
        curves.push(Curve {
            label: variant.clone(),
            points,
            boundary: f(b.get("boundary")),
        });
    }
    Some(Recovery {
        title: format!("{name}: P(recovered) against {path} (bars: Wilson intervals)"),
        x_label: if unit.is_empty() {
            path.to_string()
        } else {
            format!("{path} ({unit})")
        },
        curves,
    })
}

fn span(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = xs
        .filter(|x| x.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-9);
    (lo - pad, hi + pad)
}

/// Which dots a marker style is for.
type Pick = fn(&Dot) -> bool;

pub fn draw_pareto<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    p: &Pareto,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    register_font();
    root.fill(&WHITE).map_err(err)?;
    // Constraint values spanning orders of magnitude (an overloaded point's wait beside a
    // feasible one's) are drawn on a log scale: log10 on a linear axis, ticks as values.
    let all_y: Vec<f64> = p.dots.iter().map(|d| d.y).chain(p.bound).collect();
    let (lo, hi) = all_y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| {
            (a.min(y), b.max(y))
        });
    let log = lo > 0.0 && hi / lo > 100.0;
    let ty = |y: f64| if log { y.log10() } else { y };
    let xs = span(p.dots.iter().map(|d| d.x));
    let ys = span(all_y.iter().map(|&y| ty(y)));
    let y_desc = if log {
        format!("{} (log scale)", p.y_label)
    } else {
        p.y_label.clone()
    };
    let mut chart = ChartBuilder::on(root)
        .caption(&p.title, (FONT, 26))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(100)
        .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(p.x_label.as_str())
        .y_desc(y_desc.as_str())
        .label_style((FONT, 17))
        .axis_desc_style((FONT, 20))
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| tick(if log { 10f64.powf(*y) } else { *y }))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    if let Some(b) = p.bound {
        chart
            .draw_series(DashedLineSeries::new(
                vec![(xs.0, ty(b)), (xs.1, ty(b))],
                8,
                6,
                RGBColor(120, 120, 120).stroke_width(2),
            ))
            .map_err(err)?
            .label(format!("bound {}", tick(b)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RGBColor(120, 120, 120)));
    }
    let groups: [(&str, Pick, RGBColor, bool); 3] = [
        (
            "infeasible",
            |d| !d.feasible && !d.pruned,
            RGBColor(180, 180, 180),
            false,
        ),
        ("pruned", |d| d.pruned, RGBColor(220, 220, 220), false),
        ("feasible", |d| d.feasible, color(0), true),
    ];
    for (label, pick, col, filled) in groups {
        let pts: Vec<(f64, f64)> = p
            .dots
            .iter()
            .filter(|d| pick(d))
            .map(|d| (d.x, d.y))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let style = if filled {
            col.filled()
        } else {
            col.stroke_width(2)
        };
        chart
            .draw_series(pts.iter().map(|&(x, y)| Circle::new((x, y), 6, style)))
            .map_err(err)?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, style));
    }
    if let Some((x, y)) = p.best {
        let ring = color(1).stroke_width(3);
        chart
            .draw_series(std::iter::once(Circle::new((x, ty(y)), 14, ring)))
            .map_err(err)?
            .label("best")
            .legend(move |(x, y)| Circle::new((x + 10, y), 8, ring));
    }
    finish(root, &mut chart, SeriesLabelPosition::UpperRight)
}

/// Draws the legend where it covers least, and presents the drawing.
fn finish<'a, DB: DrawingBackend + 'a>(
    root: &DrawingArea<DB, Shift>,
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    at: SeriesLabelPosition,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font((FONT, 17))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

pub fn draw_recovery<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &Recovery,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    register_font();
    root.fill(&WHITE).map_err(err)?;
    let xs = span(r.curves.iter().flat_map(|c| c.points.iter().map(|p| p.0)));
    let mut chart = ChartBuilder::on(root)
        .caption(&r.title, (FONT, 26))
        .margin(16)
        .x_label_area_size(56)
        .y_label_area_size(80)
        .build_cartesian_2d(xs.0..xs.1, -0.02..1.05)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(r.x_label.as_str())
        .y_desc("P(recovered)")
        .label_style((FONT, 17))
        .axis_desc_style((FONT, 20))
        .x_label_formatter(&|x| tick(*x))
        .y_label_formatter(&|y| tick(*y))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(xs.0, 0.5), (xs.1, 0.5)],
            6,
            6,
            RGBColor(150, 150, 150).stroke_width(1),
        ))
        .map_err(err)?;
    for (i, c) in r.curves.iter().enumerate() {
        let col = color(i);
        let mut pts = c.points.clone();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(
                pts.iter().map(|p| (p.0, p.1)),
                col.stroke_width(3),
            ))
            .map_err(err)?
            .label(match c.boundary {
                Some(b) => format!("{}: tips at {}", c.label, tick(b)),
                None => format!("{}: recovers in range", c.label),
            })
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], col.stroke_width(3)));
        chart
            .draw_series(
                pts.iter()
                    .map(|p| PathElement::new(vec![(p.0, p.2), (p.0, p.3)], col.stroke_width(2))),
            )
            .map_err(err)?;
        chart
            .draw_series(pts.iter().map(|p| Circle::new((p.0, p.1), 5, col.filled())))
            .map_err(err)?;
        if let Some(b) = c.boundary {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(b, -0.02), (b, 1.05)],
                    8,
                    6,
                    col.stroke_width(2),
                ))
                .map_err(err)?;
        }
    }
    finish(root, &mut chart, SeriesLabelPosition::MiddleRight)
}
