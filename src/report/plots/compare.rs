//! `scalesim compare A B --out DIR`: two folders' time series overlaid.

use super::*;

/// `scalesim compare A B --out DIR`: the time series of two result folders overlaid (each
/// variant found in both, the first sweep point), as `DIR/compare.svg` and `.png`, and
/// `DIR/report.html` with the comparison's table (`rows`) and the series to explore.
pub fn compare_plots(
    a: &Path,
    b: &Path,
    out: &Path,
    rows: &[super::super::compare::Row],
) -> Result<Vec<PathBuf>, String> {
    let (fa, fb) = (read_folder(a)?, read_folder(b)?);
    std::fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let all_shared: Vec<&String> = fa
        .variants
        .iter()
        .filter(|v| fb.variants.contains(v))
        .collect();
    // Eight lines a panel stay readable; the page (report.html) has every variant.
    let shared = &all_shared[..all_shared.len().min(4)];
    if shared.is_empty() {
        return Err(format!(
            "{} and {} have no variant in common to overlay",
            a.display(),
            b.display()
        ));
    }
    // One side's line for `metric` of `variant` at its first sweep point.
    let side = |f: &Folder, tag: &str, color: usize, variant: &str, metric: &str, scale: f64| {
        let s = &f.series;
        let col = |n: &str| s.header.iter().position(|h| h == n);
        let (time, c) = (col("time_s")?, col(metric)?);
        let n = f.sweep.len();
        let first = s.rows.first()?.get(1..1 + n)?.to_vec();
        let num = |x: &str| x.parse::<f64>().unwrap_or(f64::NAN);
        let points: Vec<(f64, f64)> = s
            .rows
            .iter()
            .filter(|r| r[0] == variant && r.get(1..1 + n) == Some(&first[..]))
            .map(|r| (num(&r[time]), num(&r[c]) * scale))
            .collect();
        Some(Line {
            label: format!("{tag}: {variant}"),
            color,
            points,
            band: None,
            dashed: false,
        })
    };
    let lines = |metric: &str, scale: f64| -> Vec<Line> {
        shared
            .iter()
            .enumerate()
            .flat_map(|(i, v)| {
                [
                    side(&fa, "A", 2 * i, v, metric, scale),
                    side(&fb, "B", 2 * i + 1, v, metric, scale),
                ]
            })
            .flatten()
            .collect()
    };
    let panel = |title: &str, y: &str, metric: &str, scale: f64, log_y: bool| Panel {
        title: title.into(),
        y_label: y.into(),
        lines: lines(metric, scale),
        log_y,
    };
    let fig = Figure {
        title: if shared.len() < all_shared.len() {
            format!(
                "A = {}, B = {} (the first {} of {} variants; report.html has all)",
                a.display(),
                b.display(),
                shared.len(),
                all_shared.len()
            )
        } else {
            format!("A = {}, B = {}", a.display(), b.display())
        },
        x_label: "time (s)".into(),
        panels: vec![
            panel("Goodput", "requests/s", "goodput_rps", 1.0, false),
            panel("Latency p99", "ms (log scale)", "latency_p99_s", 1e3, true),
            panel(
                "Offered load: attempts sent",
                "attempts/s",
                "attempts_rps",
                1.0,
                false,
            ),
        ],
        windows: windows(&fb),
        x_axis: XAxis::Linear,
        x_keys: Vec::new(),
    };
    let mut written = render(out, "compare", (1400, 80 + 300 * 3), &fig)?;
    let (series, labels) = overlaid(&fa, &fb, shared);
    let names: Vec<String> = series.rows.iter().fold(Vec::new(), |mut v, r| {
        if !v.contains(&r[0]) {
            v.push(r[0].clone());
        }
        v
    });
    let charts = super::super::charts::data(&labels, &series, &names, &[]);
    let page = super::super::html::render_compare(
        &format!("{} vs {}", a.display(), b.display()),
        out,
        rows,
        &["compare.svg".to_string()],
        charts,
    )?;
    let report = out.join("report.html");
    write_atomic(&report, page.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", report.display()))?;
    written.push(report);
    Ok(written)
}

/// Both folders' series of the shared variants at their first sweep point, as one table
/// whose variants are `A: name` and `B: name`, and a summary-like document listing its
/// columns (those both have) and B's timeline.
fn overlaid(fa: &Folder, fb: &Folder, shared: &[&String]) -> (Runs, Value) {
    let cols: Vec<String> = fa.series.header[1 + fa.sweep.len()..]
        .iter()
        .filter(|c| fb.series.header.contains(c))
        .cloned()
        .collect();
    let mut header = vec!["variant".to_string()];
    header.extend(cols.iter().cloned());
    let mut rows = Vec::new();
    for v in shared {
        for (tag, f) in [("A", fa), ("B", fb)] {
            let s = &f.series;
            let n = f.sweep.len();
            let Some(first) = s.rows.first().map(|r| r[1..1 + n].to_vec()) else {
                continue;
            };
            let at: Vec<usize> = cols
                .iter()
                .map(|c| s.header.iter().position(|h| h == c).expect("shared"))
                .collect();
            for r in s
                .rows
                .iter()
                .filter(|r| &r[0] == *v && r[1..1 + n] == first[..])
            {
                let mut row = vec![format!("{tag}: {v}")];
                row.extend(at.iter().map(|&i| r[i].clone()));
                rows.push(row);
            }
        }
    }
    let series: Vec<Value> = cols
        .iter()
        .filter(|c| *c != "time_s")
        .map(|c| serde_json::json!({ "column": c }))
        .collect();
    let mut doc = serde_json::json!({ "series": series });
    for k in ["faults", "warmup_s", "duration_s"] {
        if let Some(v) = fb.summary.get(k) {
            doc[k] = v.clone();
        }
    }
    (Runs { header, rows }, doc)
}
