//! Plots of a result folder, drawn from its files alone (`summary.json`, `timeseries.csv`),
//! as SVG and PNG: time series per sweep point with variants overlaid, metrics against a
//! swept parameter with ci95 bands, and latency percentiles.
//!
//! Every variant has one colour in every plot (colour-blind-safe palette, in variant order);
//! fonts and lines are sized for a projector; fault windows are shaded and labelled.

mod compare;
mod sweep;
mod timeseries;

pub use compare::compare_plots;
use sweep::{percentile_plots, sweep_plots};
pub(super) use timeseries::windows_of;
use timeseries::{timeseries_plots, windows};

use super::compare::Runs;
use super::heatmap::Heatmaps;
use super::write_atomic;
use plotters::coord::Shift;
use plotters::prelude::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Okabe–Ito colours, distinguishable with the common colour-vision deficiencies.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
    RGBColor(240, 228, 66),
];

pub(super) const FONT: &str = "sans-serif";

pub(super) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // PNG text needs a font; shipping one keeps plots identical on every machine.
        let _ = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../../assets/fonts/DejaVuSans.ttf"),
        );
    });
}

pub(super) fn color(variant_index: usize) -> RGBColor {
    PALETTE[variant_index % PALETTE.len()]
}

/// A line to draw: label, colour index, points.
struct Line {
    label: String,
    color: usize,
    points: Vec<(f64, f64)>,
    band: Option<Vec<(f64, f64, f64)>>,
    /// Drawn dashed: a second quantity of the same variant (desired beside ready).
    dashed: bool,
}

struct Panel {
    title: String,
    y_label: String,
    lines: Vec<Line>,
    log_y: bool,
    /// The legend in the upper left (for curves that rise to the right).
    legend_left: bool,
}

struct Figure {
    title: String,
    x_label: String,
    panels: Vec<Panel>,
    /// Shaded windows on the x axis: (from, to, label).
    windows: Vec<(f64, f64, String)>,
    /// Legend in the upper left (for curves that rise to the right).
    legend_left: bool,
}

/// A robust upper limit: the largest value once the top 0.5% are set aside, with headroom,
/// so one outlier cannot flatten the rest.
fn robust_max(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 1.0;
    }
    v.sort_by(f64::total_cmp);
    let top = v[((v.len() as f64 * 0.995) as usize).min(v.len() - 1)];
    let max = v[v.len() - 1];
    let m = if max > 3.0 * top { top } else { max };
    if m <= 0.0 {
        1.0
    } else {
        m * 1.08
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(&fig.title, (FONT, 30).into_font().color(&BLACK))
        .map_err(err)?;
    let areas = root.split_evenly((fig.panels.len(), 1));
    let x_max = fig
        .panels
        .iter()
        .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)))
        .fold(f64::NEG_INFINITY, f64::max);
    let x_min = fig
        .panels
        .iter()
        .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)))
        .fold(f64::INFINITY, f64::min);
    let (x_min, x_max) = if x_min.is_finite() && x_max > x_min {
        (x_min, x_max)
    } else {
        (0.0, 1.0)
    };
    for (area, panel) in areas.iter().zip(&fig.panels) {
        let ys: Vec<f64> = panel
            .lines
            .iter()
            .flat_map(|l| {
                l.points
                    .iter()
                    .map(|p| p.1)
                    .chain(l.band.iter().flatten().map(|b| b.2))
            })
            .collect();
        let y_max = robust_max(&ys);
        let mut chart = ChartBuilder::on(area);
        chart
            .caption(&panel.title, (FONT, 22))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(90);
        macro_rules! style_axes {
            ($mesh:expr) => {
                $mesh
                    .x_desc(fig.x_label.as_str())
                    .y_desc(panel.y_label.as_str())
                    .label_style((FONT, 17))
                    .axis_desc_style((FONT, 20))
                    .x_labels(10)
                    .y_labels(6)
                    .x_label_formatter(&|x| tick(*x))
                    .y_label_formatter(&|y| tick(*y))
                    .light_line_style(RGBColor(235, 235, 235))
            };
        }
        if panel.log_y {
            let positive: Vec<f64> = ys
                .iter()
                .copied()
                .filter(|y| *y > 0.0 && y.is_finite())
                .collect();
            let lo = positive.iter().copied().fold(f64::INFINITY, f64::min);
            let lo = if lo.is_finite() { lo / 1.5 } else { 1e-3 };
            let hi = (y_max * 1.5).max(lo * 10.0);
            let mut c = chart
                .build_cartesian_2d(x_min..x_max, (lo..hi).log_scale())
                .map_err(err)?;
            style_axes!(c.configure_mesh()).draw().map_err(err)?;
            shade(&mut c, &fig.windows, lo, hi).map_err(err)?;
            for l in &panel.lines {
                let pts: Vec<(f64, f64)> = l
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.1 > 0.0 && p.1.is_finite())
                    .collect();
                series(&mut c, l, pts).map_err(err)?;
            }
            legend(&mut c, fig.legend_left || panel.legend_left).map_err(err)?;
        } else {
            let mut c = chart
                .build_cartesian_2d(x_min..x_max, 0.0..y_max)
                .map_err(err)?;
            style_axes!(c.configure_mesh()).draw().map_err(err)?;
            shade(&mut c, &fig.windows, 0.0, y_max).map_err(err)?;
            for l in &panel.lines {
                if let Some(band) = &l.band {
                    let col = color(l.color).mix(0.18);
                    let upper: Vec<(f64, f64)> =
                        band.iter().map(|b| (b.0, b.2.min(y_max))).collect();
                    let lower: Vec<(f64, f64)> =
                        band.iter().rev().map(|b| (b.0, b.1.max(0.0))).collect();
                    let poly: Vec<(f64, f64)> = upper.into_iter().chain(lower).collect();
                    c.draw_series(std::iter::once(Polygon::new(poly, col.filled())))
                        .map_err(err)?;
                }
                let pts: Vec<(f64, f64)> = l
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.1.is_finite())
                    .collect();
                series(&mut c, l, pts).map_err(err)?;
            }
            legend(&mut c, fig.legend_left || panel.legend_left).map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

type Chart<'a, DB, Y> =
    ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

fn series<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    c: &mut Chart<'a, DB, Y>,
    l: &Line,
    pts: Vec<(f64, f64)>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let col = color(l.color);
    let style = ShapeStyle::from(&col).stroke_width(3);
    // Undefined values (no successful request in a bucket) break the line, not bridge it.
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    let step = l
        .points
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .fold(f64::INFINITY, f64::min);
    for p in &pts {
        let last = runs.last_mut().expect("one run at least");
        if last
            .last()
            .is_some_and(|q| step.is_finite() && p.0 - q.0 > step * 1.5)
        {
            runs.push(vec![*p]);
        } else {
            last.push(*p);
        }
    }
    for (i, run) in runs.into_iter().enumerate() {
        let drawn = if l.dashed {
            c.draw_series(DashedLineSeries::new(run, 10, 7, style.stroke_width(2)))?
        } else {
            c.draw_series(LineSeries::new(run, style))?
        };
        // A dashed line shares its variant's colour and legend entry; the title says what
        // the dashes are.
        if i == 0 && !l.dashed {
            drawn.label(l.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], col.stroke_width(4))
            });
        }
    }
    if pts.len() <= 12 {
        c.draw_series(pts.into_iter().map(|p| Circle::new(p, 5, col.filled())))?;
    }
    Ok(())
}

fn shade<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    c: &mut Chart<'a, DB, Y>,
    windows: &[(f64, f64, String)],
    lo: f64,
    hi: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    for (from, to, label) in windows {
        c.draw_series(std::iter::once(Rectangle::new(
            [(*from, lo), (*to, hi)],
            RGBColor(120, 120, 120).mix(0.15).filled(),
        )))?;
        c.draw_series(std::iter::once(Text::new(
            label.clone(),
            (*from, hi),
            (FONT, 16).into_font().color(&RGBColor(80, 80, 80)),
        )))?;
    }
    Ok(())
}

fn legend<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64>>(
    c: &mut Chart<'a, DB, Y>,
    left: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    c.configure_series_labels()
        .position(if left {
            SeriesLabelPosition::UpperLeft
        } else {
            SeriesLabelPosition::UpperRight
        })
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font((FONT, 17))
        .draw()
}

/// Writes `NAME.svg` and `NAME.png` in `dir`.
/// What one image shows.
enum Drawing<'a> {
    Figure(&'a Figure),
    Heatmaps(&'a Heatmaps),
    Pareto(&'a super::plan_view::Pareto),
    Recovery(&'a super::plan_view::Recovery),
}

fn paint<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Drawing) -> Result<(), String> {
    match d {
        Drawing::Figure(f) => draw(root, f),
        Drawing::Heatmaps(h) => super::heatmap::draw(root, h),
        Drawing::Pareto(p) => super::plan_view::draw_pareto(root, p),
        Drawing::Recovery(r) => super::plan_view::draw_recovery(root, r),
    }
}

fn render(dir: &Path, name: &str, size: (u32, u32), fig: &Figure) -> Result<Vec<PathBuf>, String> {
    render_drawing(dir, name, size, &Drawing::Figure(fig))
}

fn render_drawing(
    dir: &Path,
    name: &str,
    size: (u32, u32),
    fig: &Drawing,
) -> Result<Vec<PathBuf>, String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        paint(&root, fig)?;
    }
    let svg_path = dir.join(format!("{name}.svg"));
    write_atomic(&svg_path, svg.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", svg_path.display()))?;
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        paint(&root, fig)?;
    }
    let mut png = Vec::new();
    {
        use image::ImageEncoder;
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(&pixels, size.0, size.1, image::ColorType::Rgb8)
            .map_err(|e| format!("cannot encode {name}.png: {e}"))?;
    }
    let png_path = dir.join(format!("{name}.png"));
    write_atomic(&png_path, &png)
        .map_err(|e| format!("cannot write {}: {e}", png_path.display()))?;
    Ok(vec![svg_path, png_path])
}

/// A file-name-safe label for a sweep point.
fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a result folder holds, read back from its files.
struct Folder {
    summary: Value,
    variants: Vec<String>,
    sweep: Vec<String>,
    series: Runs,
}

fn read_folder(dir: &Path) -> Result<Folder, String> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let summary: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}:{}:{}: not valid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    let strings = |key: &str| -> Result<Vec<String>, String> {
        summary
            .get(key)
            .and_then(Value::as_array)
            .ok_or_else(|| {
                format!(
                    "{}: no `{key}` list: not a summary written by scalesim",
                    path.display()
                )
            })?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(String::from)
                    .ok_or_else(|| format!("{}: `{key}` holds a non-string", path.display()))
            })
            .collect()
    };
    let variants = strings("variants")?;
    let sweep = strings("sweep")?;
    if summary.get("points").and_then(Value::as_array).is_none() {
        return Err(format!(
            "{}: no `points`: not a summary written by scalesim",
            path.display()
        ));
    }
    let series = Runs::read_file(&dir.join("timeseries.csv"), "time_s")?;
    Ok(Folder {
        summary,
        variants,
        sweep,
        series,
    })
}

/// Draws every plot of the result folder `dir` into `dir/plots/`.
pub fn plot_folder(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if !dir.join("summary.json").exists() && dir.join("plan.json").exists() {
        return plan_folder(dir);
    }
    let f = read_folder(dir)?;
    let out = dir.join("plots");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    // Temporary files of a redraw that was killed (`scalesim plot` draws in place).
    for e in std::fs::read_dir(&out).map_err(|e| format!("cannot read {}: {e}", out.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') && name.ends_with(".tmp") {
            std::fs::remove_file(&p).map_err(|e| format!("cannot remove {}: {e}", p.display()))?;
        }
    }
    let name = f
        .summary
        .get("experiment")
        .and_then(Value::as_str)
        .unwrap_or("experiment")
        .to_string();
    let mut written = Vec::new();
    written.extend(timeseries_plots(&f, &name, &out)?);
    written.extend(sweep_plots(&f, &name, &out)?);
    if let Some(h) = super::heatmap::from_summary(&name, &f.summary, &f.variants, &f.sweep) {
        let cols = h.grids.iter().map(Vec::len).max().unwrap_or(1) as u32;
        let size = (80 + 620 * cols, 80 + 520 * h.grids.len() as u32);
        written.extend(render_drawing(
            &out,
            "sweep-heatmap",
            size,
            &Drawing::Heatmaps(&h),
        )?);
    }
    written.extend(percentile_plots(&f, &name, &out)?);
    let svgs: Vec<String> = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let charts = super::charts::data(&f.summary, &f.series, &f.variants, &f.sweep);
    let page = super::html::render(dir, &f.summary, &svgs, charts)?;
    let report = dir.join("report.html");
    write_atomic(&report, page.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", report.display()))?;
    written.push(report);
    Ok(written)
}

/// The plots and page of a search's folder, from its `plan.json`.
fn plan_folder(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let path = dir.join("plan.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let plan: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
    let out = dir.join("plots");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut written = Vec::new();
    if let Some(p) = super::plan_view::pareto(&plan) {
        written.extend(render_drawing(
            &out,
            "plan-pareto",
            (1400, 900),
            &Drawing::Pareto(&p),
        )?);
    }
    if let Some(r) = super::plan_view::recovery(&plan) {
        written.extend(render_drawing(
            &out,
            "plan-recovery",
            (1400, 800),
            &Drawing::Recovery(&r),
        )?);
    }
    let svgs: Vec<String> = written
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "svg"))
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let page = super::html::render_plan(dir, &plan, &svgs)?;
    let report = dir.join("report.html");
    write_atomic(&report, page.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", report.display()))?;
    written.push(report);
    Ok(written)
}

/// An axis label: no trailing zeros, thousands as k.
pub(super) fn tick(x: f64) -> String {
    let a = x.abs();
    let s = if a >= 10_000.0 {
        format!("{:.0}k", x / 1000.0)
    } else if a >= 100.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 1.0 {
        format!("{x:.1}")
    } else if a >= 0.01 {
        format!("{x:.3}")
    } else {
        format!("{x:.1e}")
    };
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn nan0(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}
