//! `report.html`: one offline page per result folder — the experiment's introduction (its
//! file's opening comment), a table of contents, its settings, verdicts, the metrics it
//! shows, experiment-wide, paired, per-node and per-class tables (sortable), theory beside
//! simulation, interactive time series and the plots inlined as SVG. Drawn from
//! `summary.json`, `timeseries.csv` and `plots/`, like the plots themselves.

use super::numbers::{human, scale_of, titled};
use super::page::{esc, introduction, Cell, Page};
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

fn num(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64).map_or("–".into(), human)
}

fn f(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// A cell of `{mean, ci95}` (or `{diff, ci95}`) JSON, scaled, sorted by its mean.
fn agg_cell(a: Option<&Value>, key: &str, scale: f64) -> Cell {
    let mean = f(a.and_then(|a| a.get(key))) * scale;
    let ci = f(a.and_then(|a| a.get("ci95"))) * scale;
    Cell::number(super::numbers::mean_ci(mean, ci), mean)
}

/// The experiment-wide metrics every report tabulates, with their titles.
const WIDE: [(&str, &str); 8] = [
    ("throughput_rps", "throughput (req/s)"),
    ("goodput_rps", "goodput (req/s)"),
    ("latency_mean_s", "latency mean (ms)"),
    ("latency_p99_s", "latency p99 (ms)"),
    ("timed_out", "timed out"),
    ("rejected", "rejected"),
    ("failed", "failed"),
    ("cost", "cost ($)"),
];

/// The plots of `dir/plots/`, inlined.
fn figures(page: &mut Page, dir: &Path, plots: &[String]) -> Result<(), String> {
    figures_in(page, &dir.join("plots"), plots)
}

/// The plots of `dir`, inlined.
fn figures_in(page: &mut Page, dir: &Path, plots: &[String]) -> Result<(), String> {
    if plots.is_empty() {
        return Ok(());
    }
    page.section("plots", "Plots");
    for name in plots {
        let path = dir.join(name);
        let svg = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let svg = svg
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .trim_start();
        page.push(&format!(
            "<figure>{svg}<figcaption>{}</figcaption></figure>\n",
            esc(name)
        ));
    }
    Ok(())
}

/// A point's label: its variant and sweep values.
fn label(p: &Value) -> String {
    let mut s = p
        .get("variant")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if let Some(params) = p.get("params").and_then(Value::as_object) {
        for (k, v) in params {
            let _ = write!(s, " · {k}={v}");
        }
    }
    s
}

fn settings(page: &mut Page, summary: &Value) {
    page.section("settings", "Settings");
    let mut h = String::from("<table>\n");
    for key in ["duration_s", "warmup_s", "seed", "replications"] {
        let _ = writeln!(
            h,
            "<tr><th class=\"l\">{key}</th><td>{}</td></tr>",
            num(summary.get(key))
        );
    }
    for key in ["variants", "sweep"] {
        let list: Vec<String> = summary
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(esc))
            .collect();
        let _ = writeln!(
            h,
            "<tr><th class=\"l\">{key}</th><td class=\"l\">{}</td></tr>",
            list.join(", ")
        );
    }
    let faults: Vec<String> = ["faults", "timeline"]
        .into_iter()
        .filter_map(|k| summary.get(k).and_then(Value::as_array))
        .flatten()
        .map(|f| {
            let until = match f.get("until_s").filter(|u| !u.is_null()) {
                Some(u) => format!("{} s", num(Some(u))),
                None => "the end".into(),
            };
            format!(
                "{} {} from {} s to {until}",
                esc(f.get("kind").and_then(Value::as_str).unwrap_or("")),
                esc(f.get("node").and_then(Value::as_str).unwrap_or("")),
                num(f.get("at_s")),
            )
        })
        .collect();
    let _ = writeln!(
        h,
        "<tr><th class=\"l\">faults and actions</th><td class=\"l\">{}</td></tr>\n</table>",
        if faults.is_empty() {
            "none".into()
        } else {
            faults.join("<br>")
        }
    );
    page.push(&h);
}

/// The metrics the experiment shows (`show`, or its default): the first table.
fn shown_table(page: &mut Page, summary: &Value, points: &[Value]) {
    let Some(cols) = summary
        .get("show")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
    else {
        return;
    };
    page.section("shown", "What this experiment shows");
    page.push(
        "<p>Mean ± 95% confidence half-width over replications, in three significant digits: \
         latency percentiles come from histograms that resolve 0.4% of a value, so a value \
         shown without ± was the same in every replication to that precision.</p>\n",
    );
    let mut head = vec!["point".to_string()];
    for c in cols {
        let l = c.get("label").and_then(Value::as_str).unwrap_or("");
        let u = c.get("unit").and_then(Value::as_str).unwrap_or("");
        head.push(if u.is_empty() {
            l.to_string()
        } else {
            format!("{l} ({u})")
        });
    }
    let rows: Vec<Vec<Cell>> = points
        .iter()
        .map(|p| {
            let values = p.get("shown").and_then(Value::as_array);
            let mut row = vec![Cell::text(&label(p))];
            for i in 0..cols.len() {
                row.push(agg_cell(values.and_then(|v| v.get(i)), "mean", 1.0));
            }
            row
        })
        .collect();
    page.table(&head, &rows);
}

fn wide_table(page: &mut Page, points: &[Value]) {
    page.section("summary", "Experiment-wide metrics");
    let mut head = vec!["point".to_string()];
    head.extend(WIDE.iter().map(|(_, t)| t.to_string()));
    let rows: Vec<Vec<Cell>> = points
        .iter()
        .map(|p| {
            let mut row = vec![Cell::text(&label(p))];
            for (m, _) in WIDE {
                row.push(agg_cell(
                    p.get("metrics").and_then(|ms| ms.get(m)),
                    "mean",
                    scale_of(m),
                ));
            }
            row
        })
        .collect();
    page.table(&head, &rows);
}

fn paired_table(page: &mut Page, summary: &Value, points: &[Value]) {
    let baseline = summary
        .get("baseline")
        .and_then(Value::as_str)
        .unwrap_or("");
    let paired: Vec<&Value> = points.iter().filter(|p| p.get("vs").is_some()).collect();
    if paired.is_empty() {
        return;
    }
    page.section("paired", &format!("Paired differences against {baseline}"));
    page.push("<p>Each run minus the baseline's run with the same replication (same arrivals): the difference and its 95% confidence half-width.</p>\n");
    let mut head = vec!["point".to_string()];
    head.extend(WIDE.iter().map(|(_, t)| format!("Δ {t}")));
    let rows: Vec<Vec<Cell>> = paired
        .iter()
        .map(|p| {
            let mut row = vec![Cell::text(&label(p))];
            for (m, _) in WIDE {
                let d = p
                    .get("vs")
                    .and_then(|v| v.get(baseline))
                    .and_then(|v| v.get(m));
                row.push(agg_cell(d, "diff", scale_of(m)));
            }
            row
        })
        .collect();
    page.table(&head, &rows);
}

/// One table per node: a row per point for the node as a whole, and a row per point and
/// part (a request class, a replica) for metrics named `part.metric`.
fn node_tables(page: &mut Page, points: &[Value]) {
    let mut nodes: Vec<String> = Vec::new();
    for p in points {
        for n in p
            .get("nodes")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|o| o.keys())
        {
            if !nodes.contains(n) {
                nodes.push(n.clone());
            }
        }
    }
    if nodes.is_empty() {
        return;
    }
    page.section("nodes", "Per node and per class");
    page.push("<p>Every metric of every node (mean ± ci95; latencies in ms). Rows named <code>point / part</code> are a request class's or a replica's own numbers.</p>\n");
    for node in &nodes {
        // Metric names in first-seen order, split into (part, metric).
        let mut metrics: Vec<String> = Vec::new();
        let mut parts: Vec<String> = vec![String::new()];
        for p in points {
            let Some(ms) = p
                .get("nodes")
                .and_then(|n| n.get(node))
                .and_then(Value::as_object)
            else {
                continue;
            };
            for name in ms.keys() {
                let (part, metric) = name
                    .rsplit_once('.')
                    .map_or(("", name.as_str()), |(a, b)| (a, b));
                if !metrics.iter().any(|m| m == metric) {
                    metrics.push(metric.to_string());
                }
                if !parts.iter().any(|x| x == part) {
                    parts.push(part.to_string());
                }
            }
        }
        page.push(&format!("<h3>{}</h3>\n", esc(node)));
        let mut head = vec!["point / part".to_string()];
        head.extend(metrics.iter().map(|m| titled(m)));
        let mut rows = Vec::new();
        for part in &parts {
            for p in points {
                let Some(ms) = p.get("nodes").and_then(|n| n.get(node)) else {
                    continue;
                };
                let key = |m: &str| {
                    if part.is_empty() {
                        m.to_string()
                    } else {
                        format!("{part}.{m}")
                    }
                };
                if !metrics.iter().any(|m| ms.get(key(m)).is_some()) {
                    continue;
                }
                let name = if part.is_empty() {
                    label(p)
                } else {
                    format!("{} / {part}", label(p))
                };
                let mut row = vec![Cell::text(&name)];
                for m in &metrics {
                    row.push(agg_cell(ms.get(key(m)), "mean", scale_of(m)));
                }
                rows.push(row);
            }
        }
        page.table(&head, &rows);
    }
}

/// Renders the page for the result folder `dir`; `charts` is the interactive series' data
/// and what it covers.
pub fn render(
    dir: &Path,
    summary: &Value,
    plots: &[String],
    charts: Option<(String, String)>,
) -> Result<String, String> {
    let name = summary
        .get("experiment")
        .and_then(Value::as_str)
        .unwrap_or("experiment");
    let points = summary
        .get("points")
        .and_then(Value::as_array)
        .ok_or("summary.json has no points")?;
    let mut intro = String::new();
    if let Some(d) = summary
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        let _ = writeln!(intro, "<p><b>{}</b></p>", esc(d));
    }
    intro.push_str(&introduction(
        summary
            .get("introduction")
            .and_then(Value::as_str)
            .unwrap_or(""),
    ));
    let mut page = Page::new();
    verdicts(&mut page, summary);
    shown_table(&mut page, summary, points);
    settings(&mut page, summary);
    wide_table(&mut page, points);
    paired_table(&mut page, summary, points);
    theory_section(&mut page, points);
    node_tables(&mut page, points);
    if let Some(w) = summary
        .get("warnings")
        .and_then(Value::as_array)
        .filter(|w| !w.is_empty())
    {
        page.section("warnings", "Warnings");
        let mut h = String::from("<ul>\n");
        for x in w {
            let _ = writeln!(h, "<li>{}</li>", esc(x.as_str().unwrap_or("")));
        }
        h.push_str("</ul>\n");
        page.push(&h);
    }
    if let Some((data, note)) = charts {
        page.charts(data, &note);
    }
    figures(&mut page, dir, plots)?;
    Ok(page.finish(name, &intro))
}

/// Theory beside simulation: every service a formula describes, measured against predicted,
/// disagreements marked with their likely reasons.
fn theory_section(page: &mut Page, points: &[Value]) {
    let rows: Vec<(&Value, &String, &Value)> = points
        .iter()
        .filter_map(|p| Some((p, p.get("theory")?.as_object()?)))
        .flat_map(|(p, t)| t.iter().map(move |(node, v)| (p, node, v)))
        .collect();
    if rows.is_empty() {
        return;
    }
    page.section("theory", "Theory beside simulation");
    page.push(
        "<p>For every service a queueing formula describes: \
         the formula applied to each run's measured arrival rate and service-time moments, \
         beside what the run measured (mean ± ci95 over replications; times in ms). \
         <span class=\"fail\">!</span> marks a paired difference whose ci95 excludes zero \
         and exceeds 2% of the prediction.</p>\n",
    );
    const QUANTITIES: [(&str, &str); 4] = [
        ("wait_mean_s", "wait (ms)"),
        ("sojourn_mean_s", "sojourn (ms)"),
        ("utilization", "utilization"),
        ("blocking", "blocked"),
    ];
    let mut head: Vec<String> = ["point", "node", "model", "formula"]
        .map(String::from)
        .to_vec();
    for (_, title) in QUANTITIES {
        head.push(format!("{title}: simulated"));
        head.push("theory".into());
    }
    head.push("likely reasons".into());
    let mut table = Vec::new();
    for (p, node, t) in rows {
        let text = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut row = vec![
            Cell::text(&label(p)),
            Cell::text(node),
            Cell::text(&text("model")),
            Cell::text(&text("formula")),
        ];
        for (m, _) in QUANTITIES {
            let Some(q) = t.get(m) else {
                row.push(Cell::number("–".into(), f64::NAN));
                row.push(Cell::number("–".into(), f64::NAN));
                continue;
            };
            let scale = scale_of(m);
            row.push(agg_cell(q.get("simulated"), "mean", scale));
            let flag = if q.get("disagrees").and_then(Value::as_bool) == Some(true) {
                " <span class=\"fail\">!</span>"
            } else {
                ""
            };
            let theory = q
                .get("theory")
                .filter(|v| !v.is_null())
                .map(|v| f(v.get("mean")) * scale);
            row.push(match theory {
                Some(x) => Cell {
                    html: format!("{}{flag}", esc(&human(x))),
                    sort: x.is_finite().then_some(x),
                    left: false,
                },
                None => Cell {
                    html: format!("unbounded{flag}"),
                    sort: Some(f64::INFINITY),
                    left: false,
                },
            });
        }
        let reasons: Vec<String> = t
            .get("reasons")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(String::from))
            .collect();
        row.push(Cell::text(&reasons.join("; ")));
        table.push(row);
    }
    page.table(&head, &table);
}

fn verdicts(page: &mut Page, doc: &Value) {
    let Some(expect) = doc
        .get("expectations")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    else {
        return;
    };
    let failed = expect
        .iter()
        .filter(|e| e.get("passed").and_then(Value::as_bool) != Some(true))
        .count();
    page.section(
        "expectations",
        &format!(
            "Expectations: {} of {} hold",
            expect.len() - failed,
            expect.len()
        ),
    );
    let rows: Vec<Vec<Cell>> = expect
        .iter()
        .map(|e| {
            let passed = e.get("passed").and_then(Value::as_bool).unwrap_or(false);
            vec![
                Cell::text(e.get("text").and_then(Value::as_str).unwrap_or("")),
                Cell::html(format!(
                    "<span class=\"{}\">{}</span>",
                    if passed { "pass" } else { "fail" },
                    if passed { "PASS" } else { "FAIL" }
                )),
                Cell::text(e.get("detail").and_then(Value::as_str).unwrap_or("")),
            ]
        })
        .collect();
    page.table(
        &["expectation".into(), "verdict".into(), "measured".into()],
        &rows,
    );
}

fn mean_ci(v: Option<&Value>) -> String {
    format!(
        "{} ± {}",
        num(v.and_then(|a| a.get("mean"))),
        num(v.and_then(|a| a.get("ci95")))
    )
}

/// The page of a search's folder: the question, the answer, every evaluated point with its
/// verdict, and the plots.
pub fn render_plan(dir: &Path, plan: &Value, plots: &[String]) -> Result<String, String> {
    let mut h = String::new();
    let mut page = Page::new();
    let name = plan
        .get("experiment")
        .and_then(Value::as_str)
        .unwrap_or("experiment");
    let text = |k: &str| {
        esc(&plan
            .get(k)
            .map(|v| match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .unwrap_or_default())
    };
    page.section("plan", "The plan");
    h.push_str("<table>\n");
    let keys: &[&str] = if plan.get("kind").and_then(Value::as_str) == Some("tipping") {
        &[
            "vary",
            "range",
            "unit",
            "recovered",
            "window_s",
            "confidence",
            "replications",
            "max_replications",
            "runs",
        ]
    } else {
        &[
            "vary",
            "monotone",
            "minimize",
            "subject_to",
            "confidence",
            "replications",
            "max_replications",
            "evaluated",
            "runs",
            "grid_runs",
        ]
    };
    for k in keys {
        let _ = writeln!(
            h,
            "<tr><th>{k}</th><td style=\"text-align:left\">{}</td></tr>",
            text(k)
        );
    }
    h.push_str("</table>\n");
    page.push(&std::mem::take(&mut h));
    verdicts(&mut page, plan);
    if let Some(b) = plan.get("boundaries").and_then(Value::as_object) {
        page.section("answer", "Tipping points");
        h.push_str("<table><tr><th>variant</th><th>tips</th><th>boundary</th><th>confidence interval</th><th>P(recovered) by trigger</th></tr>\n");
        for (v, x) in b {
            let curve: Vec<String> = x
                .get("curve")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| format!("{}: {}", num(p.get("trigger")), num(p.get("p"))))
                .collect();
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(v),
                x.get("tips").and_then(Value::as_bool).unwrap_or(false),
                num(x.get("boundary")),
                num(x.get("boundary_low")),
                num(x.get("boundary_high")),
                curve.join(", ")
            );
        }
        h.push_str("</table>\n");
    } else {
        page.section("answer", "The answer");
        match plan.get("best").filter(|b| !b.is_null()) {
            Some(b) => {
                let _ = writeln!(
                    h,
                    "<p>Cheapest: <b>{}</b> (variant {}), {} = {} over {} runs.</p>",
                    esc(&b.get("values").map(Value::to_string).unwrap_or_default()),
                    esc(b.get("variant").and_then(Value::as_str).unwrap_or("")),
                    text("minimize"),
                    mean_ci(b.get("objective")),
                    num(b.get("runs"))
                );
            }
            None => h.push_str(
                "<p class=\"fail\">No configuration in the range meets every constraint.</p>\n",
            ),
        }
        page.push(&std::mem::take(&mut h));
        page.section("points", "Evaluated points");
        h.push_str("<table><tr><th>verdict</th><th>point</th><th>runs</th><th>objective</th><th>constraints</th><th>reason</th></tr>\n");
        for key in ["feasible", "infeasible", "pruned"] {
            for p in plan
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let cons: Vec<String> = p
                    .get("constraints")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|c| {
                        format!(
                            "{}: {}",
                            esc(c.get("text").and_then(Value::as_str).unwrap_or("")),
                            mean_ci(c.get("value"))
                        )
                    })
                    .collect();
                let _ = writeln!(
                    h,
                    "<tr><td class=\"{}\">{key}</td><td>{} {}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td></tr>",
                    if key == "feasible" { "pass" } else { "fail" },
                    esc(p.get("variant").and_then(Value::as_str).unwrap_or("")),
                    esc(&p.get("values").map(Value::to_string).unwrap_or_default()),
                    num(p.get("runs")),
                    mean_ci(p.get("objective")),
                    cons.join("<br>"),
                    esc(p.get("reason").and_then(Value::as_str).unwrap_or(""))
                );
            }
        }
        h.push_str("</table>\n");
    }
    page.push(&h);
    figures(&mut page, dir, plots)?;
    Ok(page.finish(name, ""))
}

/// The page of `compare A B --out DIR`: the paired comparison (sortable), the series of
/// both folders to explore, and the overlay plot.
pub fn render_compare(
    title: &str,
    dir: &Path,
    rows: &[super::compare::Row],
    plots: &[String],
    charts: Option<(String, String)>,
) -> Result<String, String> {
    let mut page = Page::new();
    page.section("comparison", "B − A, paired by replication");
    page.push(
        "<p>Runs of A and B with the same variant, sweep point and replication are paired \
         (common random numbers when both come from one experiment file): the mean of each \
         side and of their differences, with 95% confidence half-widths. \
         <span class=\"pass\">*</span> marks a difference whose interval excludes zero.</p>\n",
    );
    let head: Vec<String> = ["point", "metric", "A", "B", "B − A", "significant"]
        .map(String::from)
        .to_vec();
    let table: Vec<Vec<Cell>> = rows
        .iter()
        .map(|r| {
            let scale = scale_of(&r.metric);
            let cell = |a: &crate::metrics::Aggregate| {
                Cell::number(
                    super::numbers::mean_ci(a.mean * scale, a.ci95 * scale),
                    a.mean * scale,
                )
            };
            let significant = r.diff.ci95.is_finite() && r.diff.mean.abs() > r.diff.ci95;
            vec![
                Cell::text(&r.point),
                Cell::text(&titled(&r.metric)),
                cell(&r.a),
                cell(&r.b),
                cell(&r.diff),
                Cell::html(if significant {
                    "<span class=\"pass\">*</span>".into()
                } else {
                    String::new()
                }),
            ]
        })
        .collect();
    page.table(&head, &table);
    if let Some((data, note)) = charts {
        page.charts(data, &note);
    }
    figures_in(&mut page, dir, plots)?;
    Ok(page.finish(title, ""))
}
