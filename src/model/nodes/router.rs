//! A router node: weighted routes between services, weight shifts on the timeline, a
//! mirror and a rollback rule; validated into the router actor's configuration.

use super::*;

/// Splits calls between targets by weight, for a migration in stages.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RouterSpec {
    /// Where calls go: each route a target and its weight at the start.
    pub routes: Vec<RouteSpec>,
    /// Weight changes on the timeline (1% → 10% → 50% → 100%), in time order: each gives
    /// every route's weight from then on.
    #[serde(default)]
    pub shifts: Vec<ShiftSpec>,
    /// Shadow traffic: a copy of calls sent to another target, its answer ignored; none
    /// if absent.
    #[serde(default)]
    pub mirror: Option<MirrorSpec>,
    /// Roll the shift back when a route fails its checks (Flagger's analysis); none if
    /// absent.
    #[serde(default)]
    pub rollback: Option<RollbackSpec>,
}

/// A route: a target and its weight.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// The node called (a service, a balancer, …).
    pub target: String,
    /// Its share of calls is weight / the sum of weights.
    pub weight: u32,
}

/// A weight change.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ShiftSpec {
    /// When it applies.
    pub at: Duration,
    /// One weight per route, in the order of `routes`.
    pub weights: Vec<u32>,
}

/// Request mirroring (Envoy's): a copy of a share of calls, fire and forget.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct MirrorSpec {
    /// The node that gets the copies.
    pub target: String,
    /// The share of calls copied, in percent (100).
    #[serde(default = "hundred")]
    pub percent: f64,
}

/// Flagger's canary analysis of one route: a check every `interval` over that interval's
/// answers; after `threshold` failed checks all traffic goes back to the other routes.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RollbackSpec {
    /// The route watched, by its target (the new version).
    pub route: String,
    /// Time between checks (1 min, Flagger's usual).
    #[serde(default = "one_min")]
    pub interval: Duration,
    /// A check fails when the route's success rate is below this, in percent (99, Flagger's
    /// `request-success-rate` example).
    #[serde(default = "ninety_nine")]
    pub min_success: f64,
    /// A check fails when the route's p99 latency is above this; not checked if absent
    /// (Flagger's `request-duration` example uses 500 ms).
    #[serde(default)]
    pub max_p99: Option<Duration>,
    /// Failed checks that roll back (5, Flagger's tutorials).
    #[serde(default = "five")]
    pub threshold: u32,
}

fn hundred() -> f64 {
    100.0
}
fn ninety_nine() -> f64 {
    99.0
}
fn one_min() -> Duration {
    Duration(60_000_000_000)
}

impl Schema for RouterSpec {
    type Config = RouterConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<RouterConfig, Error> {
        let at = |path: &[&str], m: String| {
            let mut p = vec![name];
            p.extend_from_slice(path);
            cx.err(&p, format!("router `{name}`: {m}"))
        };
        if self.routes.is_empty() {
            return Err(at(&["routes"], "give at least one route".into()));
        }
        let mut targets = Vec::new();
        for (i, r) in self.routes.iter().enumerate() {
            let idx = i.to_string();
            let path = [name, "routes", idx.as_str(), "target"];
            let id = cx.service_target(name, &r.target, &path)?;
            if targets.contains(&id) {
                return Err(at(
                    &["routes", idx.as_str(), "target"],
                    format!("`{}` is routed to twice: give it one route", r.target),
                ));
            }
            targets.push(id);
        }
        let weights: Vec<u32> = self.routes.iter().map(|r| r.weight).collect();
        let n = targets.len();
        let mut shifts = Vec::new();
        let mut last = 0;
        for (i, s) in self.shifts.iter().enumerate() {
            let idx = i.to_string();
            if s.weights.len() != n {
                return Err(at(
                    &["shifts", idx.as_str(), "weights"],
                    format!("{} weights for {n} routes: give one per route, in the order of `routes`", s.weights.len()),
                ));
            }
            if i > 0 && s.at.0 < last {
                return Err(at(
                    &["shifts", idx.as_str(), "at"],
                    "shifts must be in time order".into(),
                ));
            }
            last = s.at.0;
            shifts.push((s.at.0, s.weights.clone()));
        }
        let mirror = match &self.mirror {
            None => None,
            Some(m) => {
                let path = [name, "mirror", "target"];
                let target = cx.service_target(name, &m.target, &path)?;
                if !(m.percent > 0.0 && m.percent <= 100.0) {
                    return Err(at(
                        &["mirror", "percent"],
                        format!("a share in percent in (0, 100], not {}", m.percent),
                    ));
                }
                Some(Mirror {
                    target,
                    fraction: m.percent / 100.0,
                })
            }
        };
        let rollback = match &self.rollback {
            None => None,
            Some(rb) => Some(rollback(self, rb, &at)?),
        };
        Ok(RouterConfig {
            targets,
            weights,
            shifts,
            mirror,
            rollback,
            faults: Vec::new(),
        })
    }
}

fn rollback(
    spec: &RouterSpec,
    rb: &RollbackSpec,
    at: &dyn Fn(&[&str], String) -> Error,
) -> Result<Rollback, Error> {
    let Some(route) = spec.routes.iter().position(|r| r.target == rb.route) else {
        let known: Vec<_> = spec.routes.iter().map(|r| format!("`{}`", r.target)).collect();
        return Err(at(
            &["rollback", "route"],
            format!("`{}` is not a route; routes go to {}", rb.route, known.join(", ")),
        ));
    };
    if spec.routes.len() < 2 {
        return Err(at(
            &["rollback", "route"],
            "a rollback needs another route to send traffic back to".into(),
        ));
    }
    if rb.interval.0 == 0 {
        return Err(at(&["rollback", "interval"], "must be above zero".into()));
    }
    if !(0.0..=100.0).contains(&rb.min_success) {
        return Err(at(
            &["rollback", "min_success"],
            format!("a success rate in percent in [0, 100], not {}", rb.min_success),
        ));
    }
    if rb.threshold == 0 {
        return Err(at(
            &["rollback", "threshold"],
            "at least 1 failed check before rolling back".into(),
        ));
    }
    Ok(Rollback {
        route,
        interval: rb.interval.0,
        min_success: rb.min_success / 100.0,
        max_p99: rb.max_p99.map(|d| d.0),
        threshold: rb.threshold,
    })
}
