//! The lesson plot, `shown`: each metric the experiment shows (`summary.json`'s `"show"`),
//! one panel per metric — against the swept parameter with ci95 bands for a numeric sweep,
//! else a bar per point with its ci95 whisker and value.

use super::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The most bars a panel draws; a larger grid is read from the heatmaps and the tables.
const MAX_BARS: usize = 40;

/// Bar panels under one title.
pub(super) struct Bars {
    title: String,
    panels: Vec<BarPanel>,
}

/// One shown metric: its label, unit and a bar per point.
struct BarPanel {
    title: String,
    unit: String,
    bars: Vec<Bar>,
}

/// A point's bar: its name, its variant's colour, the mean and its ci95.
struct Bar {
    label: String,
    color: usize,
    mean: f64,
    ci: f64,
}

/// Each shown column's (label, unit), from `summary.json`.
fn columns(f: &Folder) -> Vec<(String, String)> {
    f.summary
        .get("show")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            (s("label"), s("unit"))
        })
        .collect()
}

fn value(p: &Value, i: usize) -> (f64, f64) {
    let v = &p["shown"][i];
    (
        v["mean"].as_f64().unwrap_or(f64::NAN),
        v["ci95"].as_f64().unwrap_or(f64::NAN),
    )
}

pub(super) fn shown_plots(f: &Folder, name: &str, out: &Path) -> Result<Vec<PathBuf>, String> {
    let cols = columns(f);
    if cols.is_empty() {
        return Ok(Vec::new());
    }
    let points = f.summary["points"].as_array().expect("checked on read");
    let variant_of = |p: &Value| {
        let v = p.get("variant").and_then(Value::as_str).unwrap_or("");
        f.variants.iter().position(|x| x == v).unwrap_or(0)
    };
    let x_of = |p: &Value| {
        let param = f.sweep.first()?;
        p.get("params")?.get(param)?.as_f64()
    };
    let height = |n: usize| 80 + 300 * n as u32;
    if f.sweep.len() == 1 && points.iter().all(|p| x_of(p).is_some()) {
        let param = &f.sweep[0];
        let panels = cols
            .iter()
            .enumerate()
            .map(|(i, (label, unit))| Panel {
                title: label.clone(),
                y_label: unit.clone(),
                lines: lines_against(&f.variants, points, &x_of, &|p| Some(value(p, i))),
                log_y: false,
            })
            .collect::<Vec<_>>();
        let values: Vec<f64> = points.iter().filter_map(x_of).collect();
        let n = panels.len();
        let fig = Figure {
            title: format!("{name}: what it shows, against {}", axis_name(param)),
            x_label: format!("{}  [{param}]", axis_name(param)),
            panels,
            windows: Vec::new(),
            x_axis: sweep_axis(&values),
            x_keys: sweep_keys(&values),
        };
        return render(out, "shown", (1400, height(n)), &fig);
    }
    if points.len() > MAX_BARS {
        return Ok(Vec::new());
    }
    let label = |p: &Value| {
        let mut s = p
            .get("variant")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        for v in p
            .get("params")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|o| o.values())
        {
            s.push_str(&format!(
                " {}",
                v.as_str().map_or(v.to_string(), String::from)
            ));
        }
        s
    };
    let bars = Bars {
        title: format!("{name}: what it shows (bars: mean, whiskers: 95% confidence)"),
        panels: cols
            .iter()
            .enumerate()
            .map(|(i, (l, u))| {
                let bars = points
                    .iter()
                    .map(|p| {
                        let (mean, ci) = value(p, i);
                        Bar {
                            label: label(p),
                            color: variant_of(p),
                            mean,
                            ci,
                        }
                    })
                    .collect();
                BarPanel {
                    title: l.clone(),
                    unit: u.clone(),
                    bars,
                }
            })
            .collect(),
    };
    render_drawing(
        out,
        "shown",
        (1400, height(cols.len())),
        &Drawing::Bars(&bars),
    )
}

/// Draws bar panels: a bar per point in its variant's colour, a ci95 whisker, the value
/// written above, the point's name below.
pub(super) fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    b: &Bars,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(&b.title, (FONT, 30).into_font().color(&BLACK))
        .map_err(err)?;
    let areas = root.split_evenly((b.panels.len().max(1), 1));
    for (area, panel) in areas.iter().zip(&b.panels) {
        let bars = &panel.bars;
        let n = bars.len().max(1);
        let means: Vec<f64> = bars
            .iter()
            .map(|x| x.mean)
            .filter(|v| v.is_finite())
            .collect();
        let tops = bars
            .iter()
            .map(|x| x.mean + nan0(x.ci))
            .filter(|v| v.is_finite());
        let bottoms = bars
            .iter()
            .map(|x| x.mean - nan0(x.ci))
            .filter(|v| v.is_finite());
        let hi = tops.fold(0.0f64, f64::max);
        let lo = bottoms.fold(0.0f64, f64::min);
        // Values spanning more than 50× (a queue's minutes against a limit's milliseconds)
        // on a log axis, so the small ones can be read.
        let smallest = means
            .iter()
            .copied()
            .filter(|v| *v > 0.0)
            .fold(f64::INFINITY, f64::min);
        let log = means.iter().all(|v| *v > 0.0) && means.len() > 1 && hi > 50.0 * smallest;
        let mut chart = panel_chart(area, &panel.title);
        let x = -0.5..n as f64 - 0.5;
        if log {
            let (lo, hi) = (smallest / 2.0, hi * 3.0);
            let c = chart
                .build_cartesian_2d(x, (lo..hi).log_scale())
                .map_err(err)?;
            bar_panel(c, panel, lo, true).map_err(err)?;
        } else {
            let (lo, hi) = if hi > lo {
                (lo * 1.15, hi * 1.15)
            } else {
                (0.0, 1.0)
            };
            let c = chart.build_cartesian_2d(x, lo..hi).map_err(err)?;
            bar_panel(c, panel, 0.0, false).map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

const GREY: RGBColor = RGBColor(120, 120, 120);

/// One panel's axes and bars; bars rise from `base` (zero, or a log axis's bottom).
fn bar_panel<'a, DB, Y>(
    mut c: Chart<'a, DB, plotters::coord::types::RangedCoordf64, Y>,
    panel: &BarPanel,
    base: f64,
    log: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let bars = &panel.bars;
    let n = bars.len().max(1);
    let names: Vec<&str> = bars.iter().map(|x| x.label.as_str()).collect();
    let y_desc = match (log, panel.unit.is_empty()) {
        (true, true) => "log scale".to_string(),
        (true, false) => format!("{} (log scale)", panel.unit),
        (false, _) => panel.unit.clone(),
    };
    c.configure_mesh()
        .disable_x_mesh()
        .y_desc(y_desc.as_str())
        .label_style((FONT, 17))
        .axis_desc_style((FONT, 20))
        .x_labels(2 * n + 1)
        .y_labels(6)
        .x_label_formatter(&|x| {
            let whole = (x - x.round()).abs() < 1e-9 && *x >= 0.0;
            if whole {
                names
                    .get(x.round() as usize)
                    .map_or(String::new(), |s| s.to_string())
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| tick(*y))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (i, bar) in bars.iter().enumerate() {
        let (x, mean, ci) = (i as f64, bar.mean, bar.ci);
        let above = |y: f64, text: String, ink: &'static RGBColor| {
            let style = TextStyle::from((FONT, 17).into_font())
                .color(ink)
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            Text::new(text, (x, y), style)
        };
        if !mean.is_finite() {
            c.draw_series(std::iter::once(above(base, "no data".into(), &GREY)))?;
            continue;
        }
        c.draw_series(std::iter::once(Rectangle::new(
            [(x - 0.35, base), (x + 0.35, mean)],
            color(bar.color).mix(0.85).filled(),
        )))?;
        if ci.is_finite() && ci > 0.0 {
            let w = ShapeStyle::from(&BLACK).stroke_width(2);
            let low = (mean - ci).max(base);
            c.draw_series([
                PathElement::new(vec![(x, low), (x, mean + ci)], w),
                PathElement::new(vec![(x - 0.08, low), (x + 0.08, low)], w),
                PathElement::new(vec![(x - 0.08, mean + ci), (x + 0.08, mean + ci)], w),
            ])?;
        }
        let top = if mean >= 0.0 { mean + nan0(ci) } else { base };
        c.draw_series(std::iter::once(above(
            top,
            super::super::numbers::human(mean),
            &BLACK,
        )))?;
    }
    Ok(())
}
