//! Plots of a result folder, drawn from its files alone (`summary.json`, `timeseries.csv`),
//! as SVG and PNG: time series per sweep point with variants overlaid, metrics against a
//! swept parameter with ci95 bands, and latency percentiles.
//!
//! Every variant has one colour in every plot (colour-blind-safe palette, in variant order);
//! fonts and lines are sized for a projector; fault windows are shaded and labelled.

mod compare;
mod shown;
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
    /// Drawn dotted: a second quantity of the same variant (desired beside ready).
    dashed: bool,
}

struct Panel {
    title: String,
    y_label: String,
    lines: Vec<Line>,
    log_y: bool,
}

/// How the x axis reads.
#[derive(Clone, Copy, PartialEq)]
enum XAxis {
    Linear,
    /// A parameter spanning more than a decade.
    Log,
    /// An integer parameter: ticks only at whole numbers.
    Integer,
    /// Positions 0, 1, 2, 3 are p50, p90, p99, p99.9.
    Percentiles,
}

struct Figure {
    title: String,
    x_label: String,
    panels: Vec<Panel>,
    /// Shaded windows on the x axis: (from, to, label).
    windows: Vec<(f64, f64, String)>,
    x_axis: XAxis,
    /// Where a log x axis has its ticks (a sweep's values); empty: chosen by the axis.
    x_keys: Vec<f64>,
}

/// The axis of a swept parameter's values: log when they are positive and span five times
/// or more (sweeps like 4, 6, 8, 12, 32 are geometric: on a linear axis the small values
/// crowd together), whole-number ticks when they are all integers.
fn sweep_axis(values: &[f64]) -> XAxis {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo > 0.0 && hi >= 5.0 * lo {
        XAxis::Log
    } else if values.iter().all(|v| v.fract() == 0.0) {
        XAxis::Integer
    } else {
        XAxis::Linear
    }
}

/// One line per variant of a value against the swept parameter, with its ci95 band:
/// `value` gives a point's (mean, ci95), `x_of` its parameter value.
fn lines_against(
    variants: &[String],
    points: &[Value],
    x_of: &dyn Fn(&Value) -> Option<f64>,
    value: &dyn Fn(&Value) -> Option<(f64, f64)>,
) -> Vec<Line> {
    variants
        .iter()
        .enumerate()
        .map(|(vi, v)| {
            let mut pts: Vec<(f64, f64, f64)> = points
                .iter()
                .filter(|p| p.get("variant").and_then(Value::as_str) == Some(v))
                .filter_map(|p| {
                    let (m, ci) = value(p)?;
                    Some((x_of(p)?, m, ci))
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Line {
                label: v.clone(),
                color: vi,
                points: pts.iter().map(|p| (p.0, p.1)).collect(),
                band: Some(
                    pts.iter()
                        .map(|p| (p.0, p.1 - nan0(p.2), p.1 + nan0(p.2)))
                        .collect(),
                ),
                dashed: false,
            }
        })
        .collect()
}

/// The distinct swept values, in order: where a log axis puts its ticks.
fn sweep_keys(values: &[f64]) -> Vec<f64> {
    let mut k = values.to_vec();
    k.sort_by(f64::total_cmp);
    k.dedup();
    k
}

/// A swept path as an axis reads it: its words first (`app.routes.search.1.pool.size` →
/// `pool size (app, search)`), the path after.
fn axis_name(path: &str) -> String {
    let parts: Vec<&str> = path
        .split('.')
        .filter(|p| p.parse::<usize>().is_err() && !matches!(*p, "routes" | "arrivals" | "set"))
        .collect();
    let path_words = |ps: &[&str]| ps.join(" ").replace('_', " ");
    match parts.as_slice() {
        [] => path.to_string(),
        [one] => path_words(&[one]),
        [node, rest @ ..] if rest.len() <= 2 => format!("{} of {node}", path_words(rest)),
        [node, rest @ ..] => {
            let (mid, last) = rest.split_at(rest.len() - 2);
            format!("{} of {node} ({})", path_words(last), path_words(mid))
        }
    }
}

/// The percentiles a percentile axis shows, at positions 0, 1, 2, 3.
const PERCENTILES: [&str; 4] = ["p50", "p90", "p99", "p99.9"];

/// Variants 5 to 8 are dashed: with the palette's eight colours, two variants never share
/// both colour and style, and the pairs of similar hues (blue and sky blue, vermillion and
/// orange) differ in style.
fn dashed_variant(color: usize) -> bool {
    color % 16 >= PALETTE.len() / 2 && color % 16 < PALETTE.len() + PALETTE.len() / 2
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

/// The width of the legend column to the right of the plots.
const LEGEND_WIDTH: u32 = 300;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(&fig.title, (FONT, 30).into_font().color(&BLACK))
        .map_err(err)?;
    let width = root.dim_in_pixel().0;
    let (plots, side) = root.split_horizontally(width.saturating_sub(LEGEND_WIDTH));
    legend(&side, fig).map_err(err)?;
    let areas = plots.split_evenly((fig.panels.len(), 1));
    let xs = || {
        fig.panels
            .iter()
            .flat_map(|p| p.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)))
            .filter(|x| x.is_finite() && (fig.x_axis != XAxis::Log || *x > 0.0))
    };
    let x_max = xs().fold(f64::NEG_INFINITY, f64::max);
    let x_min = xs().fold(f64::INFINITY, f64::min);
    let (x_min, x_max) = if x_min.is_finite() && x_max > x_min {
        (x_min, x_max)
    } else if x_min.is_finite() {
        (x_min - 0.5, x_min + 0.5)
    } else {
        (0.0, 1.0)
    };
    let (x_min, x_max) = match fig.x_axis {
        XAxis::Percentiles | XAxis::Integer => (x_min - 0.2, x_max + 0.2),
        XAxis::Log => (x_min / 1.15, x_max * 1.15),
        XAxis::Linear => (x_min, x_max),
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
        let mut chart = panel_chart(area, &panel.title);
        let (lo, hi) = if panel.log_y {
            let lo = ys
                .iter()
                .copied()
                .filter(|y| *y > 0.0 && y.is_finite())
                .fold(f64::INFINITY, f64::min);
            let lo = if lo.is_finite() { lo / 1.5 } else { 1e-3 };
            (lo, (y_max * 1.5).max(lo * 10.0))
        } else {
            (0.0, y_max)
        };
        macro_rules! panel {
            ($x:expr, $y:expr) => {{
                let c = chart.build_cartesian_2d($x, $y).map_err(err)?;
                draw_panel(c, fig, panel, lo, hi).map_err(err)?
            }};
        }
        // Ticks at given values on a log axis only: a linear one picks round numbers well
        // (and whole ones for integer parameters, by the formatter).
        let keys = fig.x_keys.clone();
        let (x, log_x) = (x_min..x_max, fig.x_axis == XAxis::Log);
        match (log_x, panel.log_y, keys.is_empty()) {
            (false, false, _) => panel!(x, lo..hi),
            (false, true, _) => panel!(x, (lo..hi).log_scale()),
            (true, false, true) => panel!(x.log_scale(), lo..hi),
            (true, true, true) => panel!(x.log_scale(), (lo..hi).log_scale()),
            (true, false, false) => panel!(x.log_scale().with_key_points(keys), lo..hi),
            (true, true, false) => {
                panel!(x.log_scale().with_key_points(keys), (lo..hi).log_scale())
            }
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

/// A panel's chart builder: its title, margins and label areas, the same in every figure.
fn panel_chart<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut chart = ChartBuilder::on(area);
    chart
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(90);
    chart
}

type Chart<'a, DB, X, Y> = ChartContext<'a, DB, Cartesian2d<X, Y>>;

/// A tick label on the x axis as the figure reads it.
fn x_tick(axis: XAxis, x: f64) -> String {
    let whole = (x - x.round()).abs() < 1e-9;
    match axis {
        XAxis::Percentiles if whole && x >= 0.0 => PERCENTILES
            .get(x.round() as usize)
            .map_or(String::new(), |p| p.to_string()),
        XAxis::Percentiles | XAxis::Integer if !whole => String::new(),
        _ => tick(x),
    }
}

/// One panel: axes, shaded windows, bands, lines.
fn draw_panel<'a, DB, X, Y>(
    mut c: Chart<'a, DB, X, Y>,
    fig: &Figure,
    panel: &Panel,
    lo: f64,
    hi: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let axis = fig.x_axis;
    let x_labels = match axis {
        XAxis::Percentiles => 4,
        XAxis::Integer => 12,
        _ => 10,
    };
    c.configure_mesh()
        .x_desc(fig.x_label.as_str())
        .y_desc(panel.y_label.as_str())
        .label_style((FONT, 17))
        .axis_desc_style((FONT, 20))
        .x_labels(x_labels)
        .y_labels(6)
        .x_label_formatter(&|x| x_tick(axis, *x))
        .y_label_formatter(&|y| tick(*y))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    shade(&mut c, &fig.windows, lo, hi)?;
    for l in &panel.lines {
        if let Some(band) = l.band.as_ref().filter(|_| !panel.log_y) {
            band_of(&mut c, l.color, band, lo, hi)?;
        }
        let pts: Vec<(f64, f64)> = l
            .points
            .iter()
            .copied()
            .filter(|p| p.1.is_finite() && (!panel.log_y || p.1 > 0.0))
            .collect();
        series(&mut c, l, pts)?;
    }
    Ok(())
}

/// A ci95 band (or a filled-to-the-axis share): one polygon per stretch of known values, so
/// a bucket without data leaves a gap instead of a full-height band.
fn band_of<'a, DB, X, Y>(
    c: &mut Chart<'a, DB, X, Y>,
    color_index: usize,
    band: &[(f64, f64, f64)],
    lo: f64,
    hi: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let col = color(color_index).mix(0.18);
    let known = |b: &&(f64, f64, f64)| b.0.is_finite() && b.1.is_finite() && b.2.is_finite();
    for stretch in band.split(|b| !known(&b)).filter(|s| !s.is_empty()) {
        let upper = stretch.iter().map(|b| (b.0, b.2.clamp(lo, hi)));
        let lower = stretch.iter().rev().map(|b| (b.0, b.1.clamp(lo, hi)));
        let poly: Vec<(f64, f64)> = upper.chain(lower).collect();
        c.draw_series(std::iter::once(Polygon::new(poly, col.filled())))?;
    }
    Ok(())
}

fn series<'a, DB, X, Y>(
    c: &mut Chart<'a, DB, X, Y>,
    l: &Line,
    pts: Vec<(f64, f64)>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
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
    for run in runs {
        if l.dashed {
            c.draw_series(DashedLineSeries::new(run, 3, 6, style.stroke_width(3)))?;
        } else if dashed_variant(l.color) {
            c.draw_series(DashedLineSeries::new(run, 14, 6, style))?;
        } else {
            c.draw_series(LineSeries::new(run, style))?;
        }
    }
    if pts.len() <= 12 {
        c.draw_series(pts.into_iter().map(|p| Circle::new(p, 5, col.filled())))?;
    }
    Ok(())
}

/// Shaded windows, each labelled at its start; a label that would overlap an earlier one
/// drops to the next free row.
fn shade<'a, DB, X, Y>(
    c: &mut Chart<'a, DB, X, Y>,
    windows: &[(f64, f64, String)],
    lo: f64,
    hi: f64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let mut ends: Vec<i32> = Vec::new(); // per row, the pixel where its last label ends
    let mut order: Vec<&(f64, f64, String)> = windows.iter().collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (from, to, label) in order {
        c.draw_series(std::iter::once(Rectangle::new(
            [(*from, lo), (*to, hi)],
            RGBColor(120, 120, 120).mix(0.15).filled(),
        )))?;
        // Labels in pixels within the plotting area, rows of 18 px from its top.
        let base = c.plotting_area().get_base_pixel();
        let x = c.backend_coord(&(*from, hi)).0 - base.0 + 3;
        let width = 9 * label.trim().chars().count() as i32;
        let row = match ends.iter().position(|e| *e < x) {
            Some(r) => r,
            None => {
                ends.push(i32::MIN);
                ends.len() - 1
            }
        };
        ends[row] = x + width;
        c.plotting_area().strip_coord_spec().draw(&Text::new(
            label.trim().to_string(),
            (x, 3 + 18 * row as i32),
            (FONT, 16).into_font().color(&RGBColor(80, 80, 80)),
        ))?;
    }
    Ok(())
}

/// The figure's one legend, in its own column right of the plots: each variant's colour and
/// line style, in variant order.
fn legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &Figure,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let mut seen: Vec<(usize, &str)> = Vec::new();
    for l in fig
        .panels
        .iter()
        .flat_map(|p| &p.lines)
        .filter(|l| !l.dashed)
    {
        if !seen.iter().any(|(c, n)| *c == l.color && *n == l.label) {
            seen.push((l.color, &l.label));
        }
    }
    let font = (FONT, 18).into_font();
    for (i, (c, name)) in seen.iter().enumerate() {
        let y = 70 + 30 * i as i32;
        let style = ShapeStyle::from(&color(*c)).stroke_width(4);
        if dashed_variant(*c) {
            area.draw(&PathElement::new(vec![(10, y), (22, y)], style))?;
            area.draw(&PathElement::new(vec![(28, y), (40, y)], style))?;
        } else {
            area.draw(&PathElement::new(vec![(10, y), (40, y)], style))?;
        }
        area.draw(&Text::new(
            name.to_string(),
            (48, y - 10),
            font.clone().color(&BLACK),
        ))?;
    }
    Ok(())
}

/// Writes `NAME.svg` and `NAME.png` in `dir`.
/// What one image shows.
enum Drawing<'a> {
    Figure(&'a Figure),
    Heatmaps(&'a Heatmaps),
    Pareto(&'a super::plan_view::Pareto),
    Recovery(&'a super::plan_view::Recovery),
    Bars(&'a shown::Bars),
}

fn paint<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &Drawing) -> Result<(), String> {
    match d {
        Drawing::Figure(f) => draw(root, f),
        Drawing::Heatmaps(h) => super::heatmap::draw(root, h),
        Drawing::Pareto(p) => super::plan_view::draw_pareto(root, p),
        Drawing::Recovery(r) => super::plan_view::draw_recovery(root, r),
        Drawing::Bars(b) => shown::draw_bars(root, b),
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
    written.extend(shown::shown_plots(&f, &name, &out)?);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweep_axes_read_as_words_with_their_scale() {
        assert_eq!(axis_name("app.replicas"), "replicas of app");
        assert_eq!(axis_name("users.arrivals.rate"), "rate of users");
        assert_eq!(
            axis_name("app.routes.search.1.pool.size"),
            "pool size of app (search)"
        );
        assert_eq!(axis_name("app.max_queue_wait"), "max queue wait of app");
        assert!(sweep_axis(&[4.0, 6.0, 8.0, 12.0, 32.0]) == XAxis::Log);
        assert!(sweep_axis(&[1.0, 2.0, 3.0, 4.0]) == XAxis::Integer);
        assert!(sweep_axis(&[1.0, 10.0, 100.0]) == XAxis::Log);
        assert!(sweep_axis(&[0.5, 0.7, 0.9]) == XAxis::Linear);
        assert_eq!(x_tick(XAxis::Integer, 1.5), "");
        assert_eq!(x_tick(XAxis::Integer, 2.0), "2");
        assert_eq!(x_tick(XAxis::Percentiles, 2.0), "p99");
        assert_eq!(x_tick(XAxis::Percentiles, 3.0), "p99.9");
    }
}
