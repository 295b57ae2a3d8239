//! Checks a typed model for nonsense and turns it into actor configurations.
//!
//! Errors carry the location of the offending value, looked up in the syntax tree by path,
//! so a zero worker count points at the line that says so (or at the node that left it out).

use super::de::Error;
use super::overrides::locate;
use super::spec::{self, Arrivals as ArrivalsSpec, Dist, Model};
use super::syntax::Node;
use crate::components::{ActorConfig, Arrivals, ClientConfig, DistParams, ServiceConfig};

/// Validates `model` (read from `tree`) and builds its actors, in node-name order.
pub fn build(model: &Model, tree: &Node) -> Result<Vec<(String, ActorConfig)>, Error> {
    let err = |path: &[&str], msg: String| {
        let mut full = vec!["nodes"];
        full.extend_from_slice(path);
        Error::at(locate(tree, &full).span, msg)
    };
    if model.nodes.is_empty() {
        return Err(Error::at(
            locate(tree, &["nodes"]).span,
            "the model has no nodes: add a Client and a Service under `nodes`",
        ));
    }
    let mut out = Vec::with_capacity(model.nodes.len());
    let index = |name: &str| model.nodes.keys().position(|k| k == name);
    for (name, node) in &model.nodes {
        if name.is_empty() || name.contains(['.', ' ']) {
            return Err(err(
                &[name],
                format!("node name `{name}` must be non-empty, without dots or spaces"),
            ));
        }
        let cfg = match node {
            spec::Node::Client(c) => {
                let Some(target) = index(&c.target) else {
                    let known: Vec<_> = model.nodes.keys().map(|k| format!("`{k}`")).collect();
                    return Err(err(
                        &[name, "target"],
                        format!(
                            "client `{name}` targets `{}`, which is not a node; nodes are {}",
                            c.target,
                            known.join(", ")
                        ),
                    ));
                };
                if !matches!(model.nodes[&c.target], spec::Node::Service(_)) {
                    return Err(err(
                        &[name, "target"],
                        format!(
                            "client `{name}` targets `{}`, which is not a service",
                            c.target
                        ),
                    ));
                }
                let arrivals = arrivals(&c.arrivals).map_err(|(p, m)| {
                    let mut path = vec![name.as_str(), "arrivals"];
                    path.extend(p);
                    err(&path, format!("client `{name}`: {m}"))
                })?;
                for (field, d) in [("timeout", c.timeout), ("deadline", c.deadline)] {
                    if d.is_some_and(|d| d.0 == 0) {
                        return Err(err(
                            &[name, field],
                            format!("client `{name}`: a {field} of zero would fail every request"),
                        ));
                    }
                }
                ActorConfig::Client(ClientConfig {
                    target: crate::engine::ActorId(target as u32),
                    arrivals,
                    timeout: c.timeout.map(|d| d.0),
                    deadline: c.deadline.map(|d| d.0),
                })
            }
            spec::Node::Service(s) => {
                let at =
                    |field: &str, m: String| err(&[name, field], format!("service `{name}`: {m}"));
                if s.replicas == 0 {
                    return Err(at("replicas", "needs at least 1 replica".into()));
                }
                if s.workers == 0 {
                    return Err(at("workers", "needs at least 1 worker per replica".into()));
                }
                if !(s.speed > 0.0 && s.speed.is_finite()) {
                    return Err(at(
                        "speed",
                        format!("speed must be a positive number, not {}", s.speed),
                    ));
                }
                if !(s.cost_per_hour >= 0.0 && s.cost_per_hour.is_finite()) {
                    return Err(at(
                        "cost_per_hour",
                        "cost_per_hour must be zero or more".into(),
                    ));
                }
                let service_time = dist(&s.service_time).map_err(|(p, m)| {
                    let mut path = vec![name.as_str(), "service_time"];
                    path.extend(p);
                    err(&path, format!("service `{name}`: service_time: {m}"))
                })?;
                ActorConfig::Service(ServiceConfig {
                    replicas: s.replicas,
                    workers: s.workers,
                    speed: s.speed,
                    capacity: s.capacity,
                    service_time,
                    cost_per_hour: s.cost_per_hour,
                })
            }
        };
        out.push((name.clone(), cfg));
    }
    Ok(out)
}

type Problem = (Vec<&'static str>, String);

fn positive_rate(rate: f64) -> Result<(), Problem> {
    if rate > 0.0 && rate.is_finite() {
        Ok(())
    } else {
        Err((
            vec!["rate"],
            format!("rate must be a positive number of requests per second, not {rate}"),
        ))
    }
}

fn arrivals(a: &ArrivalsSpec) -> Result<Arrivals, Problem> {
    Ok(match a {
        ArrivalsSpec::Poisson { rate } => {
            positive_rate(*rate)?;
            Arrivals::Poisson { rate: *rate }
        }
        ArrivalsSpec::Constant { rate } => {
            positive_rate(*rate)?;
            Arrivals::Constant { rate: *rate }
        }
        ArrivalsSpec::Schedule { steps } => {
            if steps.is_empty() {
                return Err((vec!["steps"], "a schedule needs at least one step".into()));
            }
            for (i, w) in steps.windows(2).enumerate() {
                if w[1].at.0 <= w[0].at.0 {
                    return Err((
                        vec!["steps", INDEX[(i + 1).min(INDEX.len() - 1)]],
                        "schedule steps must be in strictly increasing time order".into(),
                    ));
                }
            }
            for (i, s) in steps.iter().enumerate() {
                if !(s.rate >= 0.0 && s.rate.is_finite()) {
                    return Err((
                        vec!["steps", INDEX[i.min(INDEX.len() - 1)], "rate"],
                        format!("a step's rate must be zero or more, not {}", s.rate),
                    ));
                }
            }
            if steps.iter().all(|s| s.rate == 0.0) {
                return Err((
                    vec!["steps"],
                    "every step has rate 0: no request would arrive".into(),
                ));
            }
            Arrivals::Schedule {
                steps: steps.iter().map(|s| (s.at.0, s.rate)).collect(),
            }
        }
        ArrivalsSpec::Closed { users, think } => {
            if *users == 0 {
                return Err((
                    vec!["users"],
                    "a closed-loop client needs at least 1 user".into(),
                ));
            }
            let think = dist(think).map_err(|(mut p, m)| {
                p.insert(0, "think");
                (p, format!("think: {m}"))
            })?;
            Arrivals::Closed {
                users: *users,
                think,
            }
        }
    })
}

/// Path segments for list indices, so problems in a list point at the item.
const INDEX: [&str; 16] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

fn dist(d: &Dist) -> Result<DistParams, Problem> {
    let positive = |field: &'static str, v: f64, what: &str| {
        if v > 0.0 && v.is_finite() {
            Ok(())
        } else {
            Err((vec![field], format!("{what} must be positive, not {v}")))
        }
    };
    Ok(match d {
        Dist::Exponential { mean } => {
            positive("mean", mean.secs(), "the mean")?;
            DistParams::Exponential {
                mean_s: mean.secs(),
            }
        }
        Dist::Deterministic { value } => DistParams::Deterministic {
            value_s: value.secs(),
        },
        Dist::Uniform { min, max } => {
            if min.0 > max.0 {
                return Err((vec!["max"], "max must not be below min".into()));
            }
            DistParams::Uniform {
                min_s: min.secs(),
                max_s: max.secs(),
            }
        }
        Dist::LogNormal { mean, cv } => {
            positive("mean", mean.secs(), "the mean")?;
            positive("cv", *cv, "the coefficient of variation")?;
            DistParams::LogNormal {
                mean_s: mean.secs(),
                cv: *cv,
            }
        }
        Dist::Gamma { mean, cv } => {
            positive("mean", mean.secs(), "the mean")?;
            positive("cv", *cv, "the coefficient of variation")?;
            DistParams::Gamma {
                mean_s: mean.secs(),
                cv: *cv,
            }
        }
        Dist::Erlang { k, mean } => {
            positive("mean", mean.secs(), "the mean")?;
            if *k == 0 {
                return Err((
                    vec!["k"],
                    "k (the number of phases) must be at least 1".into(),
                ));
            }
            DistParams::Erlang {
                k: *k,
                mean_s: mean.secs(),
            }
        }
        Dist::Pareto { scale, shape } => {
            positive("scale", scale.secs(), "the scale")?;
            positive("shape", *shape, "the shape")?;
            if *shape <= 1.0 {
                return Err((
                    vec!["shape"],
                    format!("shape {shape} gives an infinite mean; use a shape above 1"),
                ));
            }
            DistParams::Pareto {
                scale_s: scale.secs(),
                shape: *shape,
            }
        }
        Dist::Empirical { values } => {
            if values.is_empty() {
                return Err((
                    vec!["values"],
                    "an empirical distribution needs at least one value".into(),
                ));
            }
            DistParams::Empirical {
                values_s: values.iter().map(|v| v.secs()).collect(),
            }
        }
    })
}
