//! Time series per sweep point, variants overlaid, fault windows shaded; panels chosen by
//! the owners `summary.json` lists for each column.

use super::*;

/// The nodes that own time-series columns of `kind` (`service`, `caller`, `cache`, `queue`),
/// in column order, as `summary.json` records them.
pub(super) fn owners(f: &Folder, kind: &str) -> Vec<String> {
    let mut nodes: Vec<String> = Vec::new();
    for c in f.summary["series"].as_array().into_iter().flatten() {
        if c["kind"].as_str() == Some(kind) {
            if let Some(n) = c["node"].as_str() {
                if !nodes.iter().any(|x| x == n) {
                    nodes.push(n.to_string());
                }
            }
        }
    }
    nodes
}

pub(super) fn windows(f: &Folder) -> Vec<(f64, f64, String)> {
    windows_of(&f.summary)
}

/// The shaded windows of a run's timeline, from its `summary.json`: faults and actions, the
/// warm-up.
pub fn windows_of(summary: &Value) -> Vec<(f64, f64, String)> {
    let mut w = Vec::new();
    let events = ["faults", "timeline"]
        .into_iter()
        .filter_map(|k| summary.get(k).and_then(Value::as_array))
        .flatten();
    for fault in events {
        let at = fault.get("at_s").and_then(Value::as_f64).unwrap_or(0.0);
        let until = fault
            .get("until_s")
            .and_then(Value::as_f64)
            .or_else(|| summary.get("duration_s").and_then(Value::as_f64))
            .unwrap_or(at);
        // An action at an instant (scaling, a deployment's start) gets a thin mark.
        let until = if until <= at {
            at + 0.004
                * summary
                    .get("duration_s")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0)
        } else {
            until
        };
        let kind = fault.get("kind").and_then(Value::as_str).unwrap_or("fault");
        let node = fault.get("node").and_then(Value::as_str).unwrap_or("");
        w.push((at, until, format!(" {kind} {node}")));
    }
    if let Some(warmup) = summary.get("warmup_s").and_then(Value::as_f64) {
        if warmup > 0.0 {
            w.push((0.0, warmup, " warm-up".into()));
        }
    }
    w
}

pub(super) fn timeseries_plots(f: &Folder, name: &str, out: &Path) -> Result<Vec<PathBuf>, String> {
    let s = &f.series;
    let col = |n: &str| s.header.iter().position(|h| h == n);
    let time = col("time_s").expect("checked on read");
    let nparams = f.sweep.len();
    // Sweep points, in first-seen order; each gets a figure with every variant overlaid.
    let mut points: Vec<Vec<String>> = Vec::new();
    for r in &s.rows {
        let p = r[1..1 + nparams].to_vec();
        if !points.contains(&p) {
            points.push(p);
        }
    }
    let services = owners(f, "service");
    let num = |x: &str| x.parse::<f64>().unwrap_or(f64::NAN);
    let mut written = Vec::new();
    for p in &points {
        let rows: Vec<&Vec<String>> = s
            .rows
            .iter()
            .filter(|r| &r[1..1 + nparams] == p.as_slice())
            .collect();
        let line = |metric: &str, scale: f64| -> Vec<Line> {
            let Some(c) = col(metric) else {
                return Vec::new();
            };
            f.variants
                .iter()
                .enumerate()
                .map(|(vi, v)| Line {
                    label: v.clone(),
                    color: vi,
                    points: rows
                        .iter()
                        .filter(|r| &r[0] == v)
                        .map(|r| (num(&r[time]), num(&r[c]) * scale))
                        .collect(),
                    band: None,
                    dashed: false,
                })
                // A variant without the column (no breaker, no such node) draws nothing.
                .filter(|l| l.points.iter().any(|p| p.1.is_finite()))
                .collect()
        };
        let mut panels = vec![
            Panel {
                title: "Goodput (successful, within deadline)".into(),
                y_label: "requests/s".into(),
                lines: line("goodput_rps", 1.0),
                log_y: false,
            },
            Panel {
                title: "Offered load: attempts sent, retries included".into(),
                y_label: "attempts/s".into(),
                lines: line("attempts_rps", 1.0),
                log_y: false,
            },
            Panel {
                title: "Latency p99 (successful requests)".into(),
                y_label: "ms (log scale)".into(),
                lines: line("latency_p99_s", 1e3),
                log_y: true,
            },
            Panel {
                title: "Latency p50 (successful requests)".into(),
                y_label: "ms (log scale)".into(),
                lines: line("latency_p50_s", 1e3),
                log_y: true,
            },
        ];
        // Requests that got no answer worth having, when there are any.
        let mut unanswered = line("failed_rps", 1.0);
        for metric in ["rejected_rps", "timed_out_rps"] {
            for (sum, l) in unanswered.iter_mut().zip(line(metric, 1.0)) {
                for (a, b) in sum.points.iter_mut().zip(&l.points) {
                    a.1 += b.1;
                }
            }
        }
        if unanswered
            .iter()
            .any(|l| l.points.iter().any(|p| p.1 > 0.0))
        {
            panels.push(Panel {
                title: "Failed, rejected and timed out".into(),
                y_label: "requests/s".into(),
                lines: unanswered,
                log_y: false,
            });
        }
        for svc in services.iter().take(3) {
            panels.push(Panel {
                title: format!("Queue length at {svc}"),
                y_label: "requests waiting".into(),
                lines: line(&format!("{svc}.queue_len"), 1.0),
                log_y: false,
            });
        }
        for svc in services.iter().take(2) {
            panels.push(Panel {
                title: format!("Utilization of {svc}"),
                y_label: "busy / workers".into(),
                lines: line(&format!("{svc}.utilization"), 1.0),
                log_y: false,
            });
        }
        // Message queues: messages stored (waiting or being processed).
        let queues = owners(f, "queue");
        for q in queues.iter().take(2) {
            panels.push(Panel {
                title: format!("Messages in queue {q}"),
                y_label: "messages".into(),
                lines: line(&format!("{q}.depth"), 1.0),
                log_y: false,
            });
        }
        // Caches: the share of reads each bucket answered from the cache.
        let caches = owners(f, "cache");
        for cache in caches.iter().take(2) {
            panels.push(Panel {
                title: format!("Cache hit ratio of {cache}"),
                y_label: "hits / reads".into(),
                lines: line(&format!("{cache}.hit_ratio"), 1.0),
                log_y: false,
            });
        }
        // Circuit breakers: the share of each bucket a caller's breakers were open.
        let callers = owners(f, "caller");
        for caller in callers.iter().take(2) {
            // Filled to the axis: open stretches read as coloured bands.
            let lines = line(&format!("{caller}.breaker_open"), 1.0)
                .into_iter()
                .map(|mut l| {
                    l.band = Some(l.points.iter().map(|p| (p.0, 0.0, p.1)).collect());
                    l
                })
                .collect();
            panels.push(Panel {
                title: format!("Circuit breakers of {caller}: time open"),
                y_label: "fraction open".into(),
                lines,
                log_y: false,
            });
        }
        // Replica counts where they change (autoscaling, rollouts, crashes), and what the
        // replicas cost per hour.
        let varies = |c: usize| {
            rows.iter()
                .map(|r| num(&r[c]))
                .filter(|x| x.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                    (lo.min(x), hi.max(x))
                })
        };
        let mut scaled = false;
        for svc in &services {
            let (ready, starting) = (
                col(&format!("{svc}.replicas")),
                col(&format!("{svc}.replicas_starting")),
            );
            let changes = |c: Option<usize>| c.map(varies).is_some_and(|(lo, hi)| hi > lo);
            if changes(ready) || changes(starting) {
                scaled = true;
                // Ready (solid) and desired (dashed) replicas, per variant: the gap is replicas
                // starting or draining.
                let mut lines = line(&format!("{svc}.replicas"), 1.0);
                lines.extend(
                    line(&format!("{svc}.replicas_desired"), 1.0)
                        .into_iter()
                        .map(|mut l| {
                            l.dashed = true;
                            l
                        }),
                );
                panels.push(Panel {
                    title: format!("Replicas of {svc}: ready, and desired (dashed)"),
                    y_label: "replicas".into(),
                    lines,
                    log_y: false,
                });
            }
        }
        if scaled {
            let mut cost = Vec::new();
            for svc in &services {
                for (i, l) in line(&format!("{svc}.cost_per_hour"), 1.0)
                    .into_iter()
                    .enumerate()
                {
                    match cost.get_mut(i) {
                        None => cost.push(l),
                        Some(sum) => {
                            let sum: &mut Line = sum;
                            for (a, b) in sum.points.iter_mut().zip(&l.points) {
                                a.1 += b.1;
                            }
                        }
                    }
                }
            }
            // What has been spent so far: each bucket's rate over its width (buckets are
            // stamped with their start; the last ends with the run).
            let end = f
                .summary
                .get("duration_s")
                .and_then(Value::as_f64)
                .unwrap_or(f64::NAN);
            let spent: Vec<Line> = cost
                .iter()
                .map(|l| {
                    let mut total = 0.0;
                    let mut points = vec![(0.0, 0.0)];
                    for (i, &(t, rate)) in l.points.iter().enumerate() {
                        let next = l.points.get(i + 1).map_or(end, |p| p.0);
                        if rate.is_finite() && next > t {
                            total += rate * (next - t) / 3600.0;
                            points.push((next, total));
                        }
                    }
                    Line {
                        label: l.label.clone(),
                        color: l.color,
                        points,
                        band: None,
                        dashed: false,
                    }
                })
                .collect();
            panels.push(Panel {
                title: "Cost rate of all services".into(),
                y_label: "$ per hour".into(),
                lines: cost,
                log_y: false,
            });
            panels.push(Panel {
                title: "Cost since the start, all services".into(),
                y_label: "$".into(),
                lines: spent,
                log_y: false,
            });
        }
        let where_: Vec<String> = f
            .sweep
            .iter()
            .zip(p)
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        let title = if where_.is_empty() {
            format!("{name}: over time")
        } else {
            format!("{name}: over time, {}", where_.join(", "))
        };
        let fig = Figure {
            title,
            x_label: "time (s)".into(),
            panels,
            windows: windows(f),
            x_axis: XAxis::Linear,
            x_keys: Vec::new(),
        };
        let file = if p.is_empty() {
            "timeseries".to_string()
        } else {
            format!("timeseries-{}", slug(&p.join("-")))
        };
        let height = 80 + 300 * fig.panels.len() as u32;
        written.extend(render(out, &file, (1400, height), &fig)?);
    }
    Ok(written)
}
