//! A search's result folder (`plan.json`, `runs.csv`, plots and `report.html`) and the
//! answer printed on stdout. `plan.json` is a pure function of the search's units, so a
//! rerun, another thread count or a resumed search writes the same bytes.

use super::cheapest::{Candidate, CheapestAnswer, Status};
use super::tipping::{Boundary, TippingAnswer};
use super::Answer;
use crate::analysis::{finite_json as num, mean_ci_json as agg, param_json, param_text, summarize};
use crate::check::{fmt, Verdict};
use crate::experiment::{Results, UnitResult};
use crate::files::write_atomic;
use crate::metrics::Aggregate;
use crate::model::Plan;
use crate::report;
use serde_json::{json, Map, Value};
use std::path::Path;

fn values_json(c: &CheapestAnswer, cand: &Candidate) -> Value {
    let mut m = Map::new();
    for (d, i) in c.question.dims.iter().zip(&cand.at) {
        m.insert(d.path.clone(), param_json(&d.param(*i)));
    }
    Value::Object(m)
}

fn candidate_json(c: &CheapestAnswer, cand: &Candidate) -> Value {
    let constraints: Vec<Value> = c
        .question
        .subject_to
        .iter()
        .zip(&cand.constraints)
        .map(|(e, k)| {
            json!({
                "text": e.text,
                "value": agg(&k.value),
                "bound": agg(&k.bound),
                "margin": agg(&k.margin),
            })
        })
        .collect();
    let mut o = json!({
        "variant": c.variants[cand.variant],
        "values": values_json(c, cand),
        "runs": cand.runs,
        "objective": agg(&cand.objective),
        "constraints": constraints,
    });
    match &cand.status {
        Status::Infeasible(why) | Status::Pruned(why) => o["reason"] = json!(why),
        Status::Unclear => o["reason"] = json!("not decided"),
        Status::Feasible => {}
    }
    o
}

fn cheapest_json(c: &CheapestAnswer, work: &Plan, units: &[UnitResult]) -> Value {
    let q = &c.question;
    let mut vary = Map::new();
    for d in &q.dims {
        vary.insert(
            d.path.clone(),
            Value::Array(
                (0..d.values.len())
                    .map(|i| param_json(&d.param(i)))
                    .collect(),
            ),
        );
    }
    let of = |s: fn(&Status) -> bool| -> Vec<Value> {
        c.candidates
            .iter()
            .filter(|x| s(&x.status))
            .map(|x| candidate_json(c, x))
            .collect()
    };
    let best = c.best.map_or(Value::Null, |b| {
        let cand = &c.candidates[b];
        let mut o = candidate_json(c, cand);
        // Each varied path's value at the top level too: `best["app.replicas"]`.
        for (d, i) in q.dims.iter().zip(&cand.at) {
            o[d.path.as_str()] = param_json(&d.param(*i));
        }
        let results = Results {
            units: units
                .iter()
                .filter(|u| u.unit.point == cand.point && u.unit.replication < cand.runs)
                .cloned()
                .collect(),
            wall_s: 0.0,
        };
        let s = summarize(&results, cand.point);
        let mut metrics = Map::new();
        for (n, a) in &s.experiment {
            metrics.insert(n.clone(), agg(a));
        }
        for (node, ms) in &s.nodes {
            for (n, a) in ms {
                metrics.insert(format!("{node}.{n}"), agg(a));
            }
        }
        o["metrics"] = Value::Object(metrics);
        o
    });
    json!({
        "experiment": work.name,
        "kind": "cheapest",
        "seed": work.settings.seed,
        "duration_s": work.settings.duration.secs(),
        "warmup_s": work.settings.warmup.secs(),
        "variants": c.variants,
        "vary": vary,
        "monotone": q.monotone.map(|m| q.dims[m].path.clone()),
        "minimize": q.minimize_text,
        "subject_to": q.subject_to.iter().map(|e| e.text.clone()).collect::<Vec<_>>(),
        "confidence": q.confidence,
        "replications": q.replications,
        "max_replications": q.max_replications,
        "found": c.best.is_some(),
        "objective": c.best.map_or(Value::Null, |b| num(c.candidates[b].objective.mean)),
        "best": best,
        "tied": c.tied.iter().map(|&t| candidate_json(c, &c.candidates[t])).collect::<Vec<_>>(),
        "feasible": of(|s| *s == Status::Feasible),
        "infeasible": of(|s| matches!(s, Status::Infeasible(_) | Status::Unclear)),
        "pruned": of(|s| matches!(s, Status::Pruned(_))),
        "pruned_slices": c.pruned.iter().map(|(v, values, why)| json!({
            "variant": c.variants[*v],
            "values": values,
            "reason": why,
        })).collect::<Vec<_>>(),
        "evaluated": c.candidates.len(),
        "runs": c.runs,
        "grid_runs": c.grid_runs,
    })
}

fn boundary_json(t: &TippingAnswer, b: &Boundary) -> Value {
    let x = |i: Option<usize>| i.map_or(Value::Null, |i| num(t.question.numbers[i]));
    let curve: Vec<Value> = b
        .probes
        .iter()
        .map(|p| {
            json!({
                "trigger": num(t.question.numbers[p.index]),
                "runs": p.runs,
                "recovered": p.recovered,
                "p": num(p.p()),
                "low": num(p.low),
                "high": num(p.high),
                "clear": p.clear,
            })
        })
        .collect();
    json!({
        "tips": b.tips,
        "boundary": x(b.boundary),
        "boundary_low": x(b.low),
        "boundary_high": x(b.high),
        "probes": b.probes.len(),
        "curve": curve,
    })
}

fn tipping_json(t: &TippingAnswer, work: &Plan) -> Value {
    let q = &t.question;
    let mut boundaries = Map::new();
    for b in &t.boundaries {
        boundaries.insert(b.variant.clone(), boundary_json(t, b));
    }
    json!({
        "experiment": work.name,
        "kind": "tipping",
        "seed": work.settings.seed,
        "duration_s": work.settings.duration.secs(),
        "warmup_s": work.settings.warmup.secs(),
        "vary": q.path,
        "unit": q.unit,
        "range": [num(q.numbers[0]), num(q.numbers[q.numbers.len() - 1])],
        "resolution": num(q.numbers.get(1).map_or(0.0, |x| x - q.numbers[0])),
        "recovered": q.recovered.text,
        "window_s": num(q.window_s),
        "confidence": q.confidence,
        "replications": q.replications,
        "max_replications": q.max_replications,
        "boundaries": boundaries,
        "runs": t.runs,
    })
}

/// The contents of `plan.json` (without the verdicts).
pub fn answer_json(a: &Answer, work: &Plan, units: &[UnitResult]) -> Value {
    match a {
        Answer::Cheapest(c) => cheapest_json(c, work, units),
        Answer::Tipping(t) => tipping_json(t, work),
    }
}

/// Writes the result folder of a search: `plan.json`, `runs.csv`, then plots and the report
/// drawn from them. Files a run writes that a search does not are removed, so the folder
/// never mixes the two.
pub fn write_folder(
    dir: &Path,
    outcome: &super::Outcome,
    verdicts: &[Verdict],
) -> Result<(), String> {
    crate::files::write_whole(dir, |staging| write_files(staging, outcome, verdicts))
}

fn write_files(dir: &Path, outcome: &super::Outcome, verdicts: &[Verdict]) -> Result<(), String> {
    let io =
        |name: &str, e: std::io::Error| format!("cannot write {}: {e}", dir.join(name).display());
    let mut doc = answer_json(&outcome.answer, &outcome.work, &outcome.units);
    doc["expectations"] = verdicts
        .iter()
        .map(|v| json!({ "text": v.text, "passed": v.passed, "detail": v.detail }))
        .collect();
    let mut text = serde_json::to_string_pretty(&doc).expect("JSON of plain values");
    text.push('\n');
    let results = Results {
        units: outcome.units.clone(),
        wall_s: 0.0,
    };
    write_atomic(
        &dir.join("runs.csv"),
        report::runs_csv(&outcome.work, &results).as_bytes(),
    )
    .map_err(|e| io("runs.csv", e))?;
    write_atomic(&dir.join("plan.json"), text.as_bytes()).map_err(|e| io("plan.json", e))?;
    report::plots::plot_folder(dir)?;
    Ok(())
}

fn values_text(c: &CheapestAnswer, cand: &Candidate) -> String {
    let mut parts: Vec<String> = c
        .question
        .dims
        .iter()
        .zip(&cand.at)
        .map(|(d, i)| format!("{} = {}", d.path, param_text(&d.param(*i))))
        .collect();
    if c.variants.len() > 1 {
        parts.push(format!("variant {}", c.variants[cand.variant]));
    }
    parts.join(", ")
}

fn show(a: &Aggregate) -> String {
    if a.ci95.is_finite() && a.ci95 > 1e-9 * a.mean.abs() {
        format!("{} ± {}", fmt(a.mean), fmt(a.ci95))
    } else {
        fmt(a.mean)
    }
}

/// The answer in a few lines, for stdout.
pub fn answer_text(a: &Answer, work: &Plan) -> String {
    match a {
        Answer::Cheapest(c) => cheapest_text(c, work),
        Answer::Tipping(t) => tipping_text(t),
    }
}

/// "7 × medium" when the plan varies one node's replicas and size.
fn fleet(c: &CheapestAnswer, cand: &Candidate) -> Option<String> {
    let value = |suffix: &str| {
        c.question
            .dims
            .iter()
            .zip(&cand.at)
            .find(|(d, _)| d.path.ends_with(suffix))
            .map(|(d, i)| {
                (
                    d.path.trim_end_matches(suffix).to_string(),
                    param_text(&d.param(*i)),
                )
            })
    };
    let ((n1, replicas), (n2, size)) = (value(".replicas")?, value(".size")?);
    (n1 == n2).then(|| format!("{replicas} × {size}: "))
}

fn cheapest_text(c: &CheapestAnswer, work: &Plan) -> String {
    let q = &c.question;
    let mut out = String::new();
    let count = |f: fn(&Status) -> bool| c.candidates.iter().filter(|x| f(&x.status)).count();
    match c.best {
        Some(b) => {
            let cand = &c.candidates[b];
            // Cost is billed over the measured window; say it per hour as well.
            let hours = (work.settings.duration.secs() - work.settings.warmup.secs()) / 3600.0;
            let per_hour = if q.minimize_text.trim() == "cost" && hours > 0.0 {
                format!(", ${:.2}/h", cand.objective.mean / hours)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "cheapest: {}{}\n  {} = {}{per_hour}  ({} runs)\n",
                fleet(c, cand).unwrap_or_default(),
                values_text(c, cand),
                q.minimize_text,
                show(&cand.objective),
                cand.runs
            ));
            for (e, k) in q.subject_to.iter().zip(&cand.constraints) {
                out.push_str(&format!(
                    "  {}: {}, holds by {}\n",
                    e.text,
                    show(&k.value),
                    show(&k.margin)
                ));
            }
            for &t in &c.tied {
                out.push_str(&format!(
                    "  as cheap within the runs: {} ({})\n",
                    values_text(c, &c.candidates[t]),
                    show(&c.candidates[t].objective)
                ));
            }
        }
        None => out.push_str("no configuration in the range meets every constraint\n"),
    }
    out.push_str(&format!(
        "{} points evaluated in {} runs (the full grid: {} runs); {} feasible, {} infeasible, {} pruned\n",
        c.candidates.len(),
        c.runs,
        c.grid_runs,
        count(|s| *s == Status::Feasible),
        count(|s| matches!(s, Status::Infeasible(_) | Status::Unclear)),
        count(|s| matches!(s, Status::Pruned(_))) + c.pruned.len(),
    ));
    out
}

fn tipping_text(t: &TippingAnswer) -> String {
    let q = &t.question;
    let x = |i: usize| format!("{}{}", fmt(q.numbers[i]), q.unit);
    let mut out = String::new();
    for b in &t.boundaries {
        let curve: Vec<String> = b
            .probes
            .iter()
            .map(|p| format!("{} {:.2}", x(p.index), p.p()))
            .collect();
        let head = match b.boundary {
            None => format!(
                "recovers over the whole range (up to {} = {})",
                q.path,
                x(q.numbers.len() - 1)
            ),
            Some(i) => format!(
                "tips at {} = {} (between {} and {} at {:.0}% confidence)",
                q.path,
                x(i),
                b.low.map_or("the range's start".into(), x),
                b.high.map_or("the range's end".into(), x),
                q.confidence * 100.0
            ),
        };
        out.push_str(&format!(
            "{}: {head}\n  P(recovered): {}\n",
            b.variant,
            curve.join(", ")
        ));
    }
    out.push_str(&format!(
        "{} runs; recovered means `{}`\n",
        t.runs, q.recovered.text
    ));
    out
}
