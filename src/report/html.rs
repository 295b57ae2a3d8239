//! `report.html`: one self-contained page (no network, no scripts) with the experiment's
//! settings, its summary and paired-difference tables, expectation verdicts, and the plots
//! inlined as SVG. Drawn from `summary.json` and `plots/`, like the plots themselves.

use super::numbers::human;
use serde_json::Value;
use std::fmt::Write;
use std::path::Path;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn num(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64).map_or("–".into(), human)
}

/// A value of metric `m` in the unit its table column says (latencies in milliseconds).
fn shown(m: &str, v: Option<&Value>) -> String {
    if m.ends_with("_s") {
        millis(v)
    } else {
        num(v)
    }
}

/// A latency in seconds, shown in milliseconds.
fn millis(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64)
        .map_or("–".into(), |s| human(s * 1000.0))
}

/// The metrics shown in the tables, with their display names and units.
const SHOWN: [(&str, &str); 8] = [
    ("throughput_rps", "throughput (req/s)"),
    ("goodput_rps", "goodput (req/s)"),
    ("latency_mean_s", "latency mean (ms)"),
    ("latency_p99_s", "latency p99 (ms)"),
    ("timed_out", "timed out"),
    ("rejected", "rejected"),
    ("failed", "failed"),
    ("cost", "cost ($)"),
];

/// The page's head and title.
fn head(h: &mut String, name: &str) {
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{0} — scalesim</title>\n<style>\
         body{{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}}\
         table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:right}}\
         th{{background:#f4f4f4}}td:first-child,th:first-child{{text-align:left}}\
         .pass{{color:#0a6e31;font-weight:bold}}.fail{{color:#b00020;font-weight:bold}}\
         figure{{margin:2em 0}}svg{{max-width:100%;height:auto}}</style></head><body>\n<h1>{0}</h1>\n",
        esc(name)
    );
}

/// The plots, inlined.
fn figures(h: &mut String, dir: &Path, plots: &[String]) -> Result<(), String> {
    h.push_str("<h2>Plots</h2>\n");
    for name in plots {
        let path = dir.join("plots").join(name);
        let svg = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let svg = svg
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .trim_start();
        let _ = writeln!(
            h,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            esc(name)
        );
    }
    Ok(())
}

/// Renders the page for the result folder `dir`.
pub fn render(dir: &Path, summary: &Value, plots: &[String]) -> Result<String, String> {
    let mut h = String::new();
    let name = summary
        .get("experiment")
        .and_then(Value::as_str)
        .unwrap_or("experiment");
    head(&mut h, name);
    if let Some(d) = summary
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty())
    {
        let _ = writeln!(h, "<p>{}</p>", esc(d));
    }
    h.push_str("<h2>Settings</h2>\n<table>\n");
    for key in ["duration_s", "warmup_s", "seed", "replications"] {
        let _ = writeln!(
            h,
            "<tr><th>{key}</th><td>{}</td></tr>",
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
        let _ = writeln!(h, "<tr><th>{key}</th><td>{}</td></tr>", list.join(", "));
    }
    let faults: Vec<String> = summary
        .get("faults")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{} {} from {} s to {} s",
                esc(f.get("kind").and_then(Value::as_str).unwrap_or("")),
                esc(f.get("node").and_then(Value::as_str).unwrap_or("")),
                num(f.get("at_s")),
                num(f.get("until_s"))
            )
        })
        .collect();
    let _ = writeln!(
        h,
        "<tr><th>faults</th><td>{}</td></tr>\n</table>",
        if faults.is_empty() {
            "none".into()
        } else {
            faults.join("<br>")
        }
    );

    verdicts(&mut h, summary);

    let points = summary
        .get("points")
        .and_then(Value::as_array)
        .ok_or("summary.json has no points")?;
    let label = |p: &Value| {
        let mut s = esc(p.get("variant").and_then(Value::as_str).unwrap_or(""));
        if let Some(params) = p.get("params").and_then(Value::as_object) {
            for (k, v) in params {
                let _ = write!(s, " · {}={}", esc(k), esc(&v.to_string()));
            }
        }
        s
    };
    h.push_str("<h2>Summary</h2>\n<p>Mean ± 95% confidence half-width over replications.</p>\n<table><tr><th>point</th>");
    for (_, title) in SHOWN {
        let _ = write!(h, "<th>{title}</th>");
    }
    h.push_str("</tr>\n");
    for p in points {
        let _ = write!(h, "<tr><td>{}</td>", label(p));
        for (m, _) in SHOWN {
            let a = p.get("metrics").and_then(|ms| ms.get(m));
            let _ = write!(
                h,
                "<td>{} ± {}</td>",
                shown(m, a.and_then(|a| a.get("mean"))),
                shown(m, a.and_then(|a| a.get("ci95")))
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");

    let baseline = summary
        .get("baseline")
        .and_then(Value::as_str)
        .unwrap_or("");
    let paired: Vec<&Value> = points.iter().filter(|p| p.get("vs").is_some()).collect();
    if !paired.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Paired differences against {}</h2>\n<p>Each run minus the baseline's run with the same replication (same arrivals): the difference and its 95% confidence half-width.</p>\n<table><tr><th>point</th>",
            esc(baseline)
        );
        for (_, title) in SHOWN {
            let _ = write!(h, "<th>Δ {title}</th>");
        }
        h.push_str("</tr>\n");
        for p in paired {
            let _ = write!(h, "<tr><td>{}</td>", label(p));
            for (m, _) in SHOWN {
                let d = p
                    .get("vs")
                    .and_then(|v| v.get(baseline))
                    .and_then(|v| v.get(m));
                let _ = write!(
                    h,
                    "<td>{} ± {}</td>",
                    shown(m, d.and_then(|d| d.get("diff"))),
                    shown(m, d.and_then(|d| d.get("ci95")))
                );
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n");
    }

    theory_section(&mut h, points, &label);

    if let Some(w) = summary
        .get("warnings")
        .and_then(Value::as_array)
        .filter(|w| !w.is_empty())
    {
        h.push_str("<h2>Warnings</h2>\n<ul>\n");
        for x in w {
            let _ = writeln!(h, "<li>{}</li>", esc(x.as_str().unwrap_or("")));
        }
        h.push_str("</ul>\n");
    }

    figures(&mut h, dir, plots)?;
    h.push_str("</body></html>\n");
    Ok(h)
}

/// Theory beside simulation: every service a formula describes, measured against predicted,
/// disagreements marked with their likely reasons.
fn theory_section(h: &mut String, points: &[Value], label: &dyn Fn(&Value) -> String) {
    let rows: Vec<(&Value, &String, &Value)> = points
        .iter()
        .filter_map(|p| Some((p, p.get("theory")?.as_object()?)))
        .flat_map(|(p, t)| t.iter().map(move |(node, v)| (p, node, v)))
        .collect();
    if rows.is_empty() {
        return;
    }
    h.push_str(
        "<h2>Theory beside simulation</h2>\n<p>For every service a queueing formula describes: \
         the formula applied to each run's measured arrival rate and service-time moments, \
         beside what the run measured (mean ± ci95 over replications). \
         <span class=\"fail\">!</span> marks a paired difference whose ci95 excludes zero \
         and exceeds 2% of the prediction.</p>\n<table><tr><th>point</th><th>node</th>\
         <th>model</th><th>formula</th>",
    );
    const QUANTITIES: [(&str, &str); 4] = [
        ("wait_mean_s", "wait (s)"),
        ("sojourn_mean_s", "sojourn (s)"),
        ("utilization", "utilization"),
        ("blocking", "blocked"),
    ];
    for (_, title) in QUANTITIES {
        let _ = write!(h, "<th>{title}: simulated</th><th>theory</th>");
    }
    h.push_str("<th>likely reasons</th></tr>\n");
    for (p, node, t) in rows {
        let text = |k: &str| esc(t.get(k).and_then(Value::as_str).unwrap_or(""));
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            label(p),
            esc(node),
            text("model"),
            text("formula")
        );
        for (m, _) in QUANTITIES {
            let Some(q) = t.get(m) else {
                h.push_str("<td>–</td><td>–</td>");
                continue;
            };
            let sim = q.get("simulated");
            let theory = match q.get("theory").filter(|v| !v.is_null()) {
                Some(v) => num(v.get("mean")),
                None => "unbounded".into(),
            };
            let flag = if q.get("disagrees").and_then(Value::as_bool) == Some(true) {
                " <span class=\"fail\">!</span>"
            } else {
                ""
            };
            let _ = write!(
                h,
                "<td>{} ± {}</td><td>{theory}{flag}</td>",
                num(sim.and_then(|a| a.get("mean"))),
                num(sim.and_then(|a| a.get("ci95")))
            );
        }
        let reasons: Vec<String> = t
            .get("reasons")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(esc))
            .collect();
        let _ = writeln!(
            h,
            "<td style=\"text-align:left\">{}</td></tr>",
            reasons.join("; ")
        );
    }
    h.push_str("</table>\n");
}

fn verdicts(h: &mut String, doc: &Value) {
    let Some(expect) = doc
        .get("expectations")
        .and_then(Value::as_array)
        .filter(|e| !e.is_empty())
    else {
        return;
    };
    h.push_str("<h2>Expectations</h2>\n<table><tr><th>expectation</th><th>verdict</th><th>measured</th></tr>\n");
    for e in expect {
        let passed = e.get("passed").and_then(Value::as_bool).unwrap_or(false);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(e.get("text").and_then(Value::as_str).unwrap_or("")),
            if passed { "pass" } else { "fail" },
            if passed { "PASS" } else { "FAIL" },
            esc(e.get("detail").and_then(Value::as_str).unwrap_or(""))
        );
    }
    h.push_str("</table>\n");
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
    let name = plan
        .get("experiment")
        .and_then(Value::as_str)
        .unwrap_or("experiment");
    head(&mut h, name);
    let text = |k: &str| {
        esc(&plan
            .get(k)
            .map(|v| match v {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            })
            .unwrap_or_default())
    };
    h.push_str("<h2>The plan</h2>\n<table>\n");
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
    verdicts(&mut h, plan);
    if let Some(b) = plan.get("boundaries").and_then(Value::as_object) {
        h.push_str("<h2>Tipping points</h2>\n<table><tr><th>variant</th><th>tips</th><th>boundary</th><th>confidence interval</th><th>P(recovered) by trigger</th></tr>\n");
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
        h.push_str("<h2>The answer</h2>\n");
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
        h.push_str("<h2>Evaluated points</h2>\n<table><tr><th>verdict</th><th>point</th><th>runs</th><th>objective</th><th>constraints</th><th>reason</th></tr>\n");
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
    figures(&mut h, dir, plots)?;
    h.push_str("</body></html>\n");
    Ok(h)
}
