//! Theory beside simulation: for every service a queueing formula describes, the formula's
//! prediction from that run's own measured arrival rate and service-time moments, next to
//! what the run measured, with the paired difference and, where they disagree, the likely
//! reasons. The formulas are in `crate::theory`; this module only picks and feeds them.

use super::mean_ci_json as agg;
use crate::components::ActorConfig;
use crate::experiment::{Results, UnitResult};
use crate::metrics::{Aggregate, RunMetrics};
use crate::model::Plan;
use crate::theory::{self, Formula, Station};
use serde_json::{json, Map, Value};

/// One predicted quantity: the simulated value, the formula's, and their paired difference.
#[derive(Clone, Debug)]
pub struct Beside {
    pub metric: &'static str,
    pub simulated: Aggregate,
    /// The prediction over the runs; `None` when it is unbounded (an overloaded queue).
    pub theory: Option<Aggregate>,
    pub diff: Option<Aggregate>,
    pub disagrees: bool,
}

/// The theory of one service at one point.
#[derive(Clone, Debug)]
pub struct NodeTheory {
    pub node: String,
    /// Kendall notation with measured letters, `r × ` in front for r replicas.
    pub model: String,
    pub formula: Formula,
    pub exact: bool,
    pub inputs: Vec<(&'static str, Aggregate)>,
    pub values: Vec<Beside>,
    /// Why simulation and theory may differ, when they do.
    pub reasons: Vec<String>,
}

impl NodeTheory {
    pub fn disagrees(&self) -> bool {
        self.values.iter().any(|b| b.disagrees)
    }

    pub fn value(&self, metric: &str) -> Option<&Beside> {
        self.values.iter().find(|b| b.metric == metric)
    }
}

/// A difference is flagged when its ci95 excludes zero and it exceeds this share of the
/// prediction: formulas evaluated at estimated inputs carry a small bias, and with enough
/// replications any bias is "significant" without being a disagreement anyone should act on.
const MATERIAL: f64 = 0.02;

/// Below these a difference is immaterial whatever the prediction (a wait of nanoseconds at
/// light load): a hundredth of the mean service time for times, 0.002 for fractions.
const TIME_FLOOR: f64 = 0.01;
const FRACTION_FLOOR: f64 = 0.002;

/// Kendall's letter for a service's work: `M` or `D` only when its one step draws from an
/// exponential or a constant distribution (a measured scv of 1 does not make a log-normal
/// exponential), `G` for anything else.
fn service_letter(s: &crate::components::ServiceConfig) -> char {
    use crate::components::{DistParams, Step};
    let dist = match (s.handler.as_slice(), s.routes.is_empty()) {
        ([] | [Step::Compute(None)], true) => &s.service_time,
        ([Step::Compute(Some(d))], true) => d,
        _ => return 'G',
    };
    match dist {
        DistParams::Exponential { .. } => 'M',
        DistParams::Deterministic { .. } => 'D',
        _ => 'G',
    }
}

/// The service's queue shape, or why no formula applies to it.
type Shape = (u32, u32, Option<u32>, bool, char);

fn shape(cfg: &ActorConfig) -> Result<Shape, &'static str> {
    let ActorConfig::Service(s) = cfg else {
        return Err("not a service");
    };
    if s.function.is_some() {
        return Err("function-style instances start and stop with the load");
    }
    if s.autoscaler.is_some() {
        return Err("an autoscaler changes the replica count");
    }
    Ok((
        s.replicas,
        s.workers,
        s.capacity.map(|q| q + s.workers),
        !s.calls.is_empty(),
        service_letter(s),
    ))
}

fn node_value(m: &RunMetrics, node: &str, name: &str) -> f64 {
    m.node(node, name).unwrap_or(f64::NAN)
}

/// The station a run of `node` measured, one replica's share of it.
fn station(
    u: &UnitResult,
    node: &str,
    replicas: u32,
    servers: u32,
    places: Option<u32>,
    warmup_s: f64,
) -> Option<Station> {
    let m = &u.metrics;
    let window = u.end_s - warmup_s;
    let arrivals = node_value(m, node, "arrivals");
    let st = Station {
        servers,
        places,
        arrival_rate: arrivals / window / replicas as f64,
        service_mean: node_value(m, node, "service_mean_s"),
        service_scv: node_value(m, node, "service_scv"),
        arrival_scv: node_value(m, node, "arrival_scv"),
    };
    let defined = window > 0.0
        && arrivals >= 2.0
        && st.service_mean > 0.0
        && st.service_scv.is_finite()
        && st.arrival_scv.is_finite();
    defined.then_some(st)
}

/// Theory beside simulation for every service of `point` a formula describes.
pub fn of_point(plan: &Plan, results: &Results, point: usize) -> Vec<NodeTheory> {
    let runs: Vec<&UnitResult> = results.of_point(point).collect();
    let warmup_s = plan.settings.warmup.secs();
    let mut out = Vec::new();
    for (node, cfg) in &plan.points[point].actors {
        let Ok((replicas, servers, places, calls, letter)) = shape(cfg) else {
            continue;
        };
        let steady = runs.iter().all(|u| {
            let r = node_value(&u.metrics, node, "replicas_mean");
            (r - replicas as f64).abs() < 1e-9 && node_value(&u.metrics, node, "resizes") == 0.0
        });
        let stations: Option<Vec<Station>> = runs
            .iter()
            .map(|u| station(u, node, replicas, servers, places, warmup_s))
            .collect();
        let (true, Some(stations)) = (steady, stations) else {
            continue;
        };
        if stations.is_empty() {
            continue;
        }
        out.push(beside(
            plan,
            &runs,
            node,
            (replicas, letter),
            &stations,
            calls,
        ));
    }
    out
}

fn mean_of(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

fn beside(
    plan: &Plan,
    runs: &[&UnitResult],
    node: &str,
    (replicas, s): (u32, char),
    stations: &[Station],
    calls: bool,
) -> NodeTheory {
    let first = stations[0];
    // One formula for the point: arrivals by the variability its runs measured on average,
    // service by its configured distribution.
    let a = theory::letter(mean_of(stations.iter().map(|s| s.arrival_scv)));
    let formula = theory::formula(first.servers, first.places, a, s);
    let estimates: Vec<theory::Estimate> = stations
        .iter()
        .map(|st| theory::estimate(formula, st))
        .collect();
    let mut model = format!("{a}/{s}/{}", first.servers);
    if let Some(k) = first.places {
        model.push_str(&format!("/{k}"));
    }
    if replicas > 1 {
        model = format!("{replicas} × {model}");
    }
    let sim = |name: &str| -> Vec<f64> {
        runs.iter()
            .map(|u| node_value(&u.metrics, node, name))
            .collect()
    };
    let blocking_sim: Vec<f64> = runs
        .iter()
        .map(|u| {
            node_value(&u.metrics, node, "rejected") / node_value(&u.metrics, node, "arrivals")
        })
        .collect();
    let mut quantities: Vec<(&'static str, Vec<f64>, Vec<f64>)> = vec![
        (
            "wait_mean_s",
            sim("wait_mean_s"),
            estimates.iter().map(|e| e.wait_mean).collect(),
        ),
        (
            "sojourn_mean_s",
            sim("sojourn_mean_s"),
            estimates.iter().map(|e| e.sojourn_mean).collect(),
        ),
        (
            "utilization",
            sim("utilization"),
            estimates.iter().map(|e| e.utilization).collect(),
        ),
    ];
    if first.places.is_some() {
        quantities.push((
            "blocking",
            blocking_sim,
            estimates.iter().map(|e| e.blocking).collect(),
        ));
    }
    let values: Vec<Beside> = quantities
        .into_iter()
        .map(|(metric, sim, th)| {
            let floor = if metric.ends_with("_s") {
                TIME_FLOOR * mean_of(stations.iter().map(|s| s.service_mean))
            } else {
                FRACTION_FLOOR
            };
            compare(metric, &sim, &th, floor)
        })
        .collect();
    let inputs = vec![
        (
            "arrival_rate",
            Aggregate::of(&stations.iter().map(|s| s.arrival_rate).collect::<Vec<_>>()),
        ),
        (
            "service_mean_s",
            Aggregate::of(&stations.iter().map(|s| s.service_mean).collect::<Vec<_>>()),
        ),
        (
            "service_scv",
            Aggregate::of(&stations.iter().map(|s| s.service_scv).collect::<Vec<_>>()),
        ),
        (
            "arrival_scv",
            Aggregate::of(&stations.iter().map(|s| s.arrival_scv).collect::<Vec<_>>()),
        ),
    ];
    let mut t = NodeTheory {
        node: node.to_string(),
        model,
        formula,
        exact: formula.exact(a, s),
        inputs,
        values,
        reasons: Vec::new(),
    };
    if t.disagrees() {
        t.reasons = reasons(plan, runs, &t, a, replicas, calls);
    }
    t
}

fn compare(metric: &'static str, sim: &[f64], th: &[f64], floor: f64) -> Beside {
    let simulated = Aggregate::of(sim);
    if th.iter().any(|x| x.is_infinite()) {
        return Beside {
            metric,
            simulated,
            theory: None,
            diff: None,
            disagrees: true,
        };
    }
    let theory = Aggregate::of(th);
    let d: Vec<f64> = sim.iter().zip(th).map(|(s, t)| s - t).collect();
    let diff = Aggregate::of(&d);
    let material = diff.mean.abs() > (MATERIAL * theory.mean.abs()).max(floor);
    let significant = if diff.ci95.is_finite() {
        diff.mean.abs() > diff.ci95
    } else {
        true // one run: no interval, so a material difference is all we can judge
    };
    Beside {
        metric,
        simulated,
        theory: Some(theory),
        diff: Some(diff),
        disagrees: material && significant && !diff.mean.is_nan(),
    }
}

/// The likely reasons a disagreement has, from what the runs saw.
fn reasons(
    plan: &Plan,
    runs: &[&UnitResult],
    t: &NodeTheory,
    arrivals: char,
    replicas: u32,
    calls: bool,
) -> Vec<String> {
    let exp = |name: &str| mean_of(runs.iter().map(|u| u.metrics.get(name).unwrap_or(0.0)));
    let node = |name: &str| {
        mean_of(
            runs.iter()
                .map(|u| u.metrics.node(&t.node, name).unwrap_or(0.0)),
        )
    };
    let mut why = Vec::new();
    if t.values.iter().any(|b| b.theory.is_none()) {
        why.push(
            "overload: the offered load is at or above capacity, so the formula's queue grows \
             without bound while the run's is cut short by timeouts and its end"
                .to_string(),
        );
    }
    if exp("retries") > 0.0 || node("call_retries") > 0.0 {
        why.push("retries: failed attempts return as extra, correlated arrivals".into());
    }
    if exp("timed_out") > 0.0 || node("dropped") > 0.0 {
        why.push("timeouts: abandoned attempts still hold workers, or are dropped".into());
    }
    if arrivals != 'M' {
        let scv = t.inputs[3].1.mean;
        why.push(format!(
            "correlated or non-Poisson arrivals (interarrival scv {scv:.2}, Poisson's is 1)"
        ));
    }
    if t.value("blocking").is_none()
        && node("rejected") + node("shed") + node("limited") + node("concurrency_limited") > 0.0
    {
        why.push("admission control (a finite queue, shedding or limits) turns work away".into());
    }
    let measured = plan.settings.warmup.secs();
    let touches = plan.settings.faults.iter().any(|f| {
        let (_, node, _, until) = f.timeline();
        let on_node = node == t.node || node.ends_with(&format!("→{}", t.node));
        on_node && until.is_none_or(|u| u > measured)
    });
    if touches {
        why.push("faults make the service non-stationary over the measured window".into());
    }
    if calls {
        why.push("holding times include downstream calls, which grow with load".into());
    }
    if replicas > 1 {
        why.push(format!(
            "the balancer's split across {replicas} replicas (round robin smooths arrivals; \
             least-loaded choices pool the queues)"
        ));
    }
    if !t.exact {
        why.push(format!(
            "{} is an approximation for {}",
            t.formula.name(),
            t.model
        ));
    }
    if why.is_empty() {
        why.push("unexplained: look at the time series for a trend or a transient".into());
    }
    why
}

/// The `"theory"` entry of a point in `summary.json`: one object per node.
pub fn to_json(theories: &[NodeTheory]) -> Value {
    let mut out = Map::new();
    for t in theories {
        let mut o = Map::new();
        o.insert("model".into(), json!(t.model));
        o.insert("formula".into(), json!(t.formula.name()));
        o.insert("exact".into(), json!(t.exact));
        for (name, a) in &t.inputs {
            o.insert((*name).into(), agg(a));
        }
        for b in &t.values {
            o.insert(
                b.metric.into(),
                json!({
                    "simulated": agg(&b.simulated),
                    "theory": b.theory.as_ref().map_or(Value::Null, agg),
                    "diff": b.diff.as_ref().map_or(Value::Null, agg),
                    "disagrees": b.disagrees,
                }),
            );
        }
        o.insert("disagrees".into(), json!(t.disagrees()));
        o.insert("reasons".into(), json!(t.reasons));
        out.insert(t.node.clone(), Value::Object(o));
    }
    Value::Object(out)
}
