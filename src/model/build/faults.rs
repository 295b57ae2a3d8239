//! Faults and actions on the timeline, attached to the nodes they act on.

use super::*;
use crate::components::outage::{Outage, OutageKind};
use crate::engine::Nanos;

pub(in crate::model) fn attach_fault(
    nodes: &mut [(String, ActorConfig)],
    model: &Model,
    f: &FaultSpec,
) -> Result<(), String> {
    if let FaultSpec::Latency {
        from,
        to,
        at,
        r#for,
        add,
    } = f
    {
        let Some(to_id) = nodes.iter().position(|(n, _)| n == to) else {
            return Err(format!("latency fault toward `{to}`, which is not a node"));
        };
        let window = (at.0, at.0.saturating_add(r#for.0), add.0);
        let sites: Vec<&mut CallSite> = match nodes.iter_mut().find(|(n, _)| n == from) {
            Some((_, ActorConfig::Client(c))) => vec![&mut c.call],
            Some((_, ActorConfig::Service(s))) => s.calls.iter_mut().collect(),
            Some(_) => return Err(format!("`{from}` makes no calls of its own")),
            None => return Err(format!("latency fault from `{from}`, which is not a node")),
        };
        let mut found = false;
        for site in sites {
            if site.target.0 as usize == to_id {
                site.extra_latency.push(window);
                found = true;
            }
        }
        if !found {
            return Err(format!(
                "`{from}` does not call `{to}`: no edge to slow down"
            ));
        }
        return Ok(());
    }
    let (node, at, until, kind) = match f {
        FaultSpec::Slowdown {
            node,
            replica,
            at,
            r#for,
            factor,
        } => {
            if !(*factor > 0.0 && factor.is_finite()) {
                return Err(format!("a slowdown factor must be positive, not {factor}"));
            }
            factor_in_bounds(*factor)?;
            (
                node,
                at.0,
                Some(at.0.saturating_add(r#for.0)),
                FaultKind::Slowdown {
                    factor: *factor,
                    replica: *replica,
                },
            )
        }
        FaultSpec::Errors {
            node,
            replica,
            at,
            r#for,
            rate,
        } => {
            if !(0.0..=1.0).contains(rate) {
                return Err(format!(
                    "an error rate is a probability in [0, 1], not {rate}"
                ));
            }
            (
                node,
                at.0,
                Some(at.0.saturating_add(r#for.0)),
                FaultKind::Errors {
                    rate: *rate,
                    replica: *replica,
                },
            )
        }
        FaultSpec::Crash {
            node,
            replica,
            at,
            r#for,
        } => (
            node,
            at.0,
            r#for.map(|d| at.0.saturating_add(d.0)),
            FaultKind::Crash { replica: *replica },
        ),
        FaultSpec::Scale { node, at, replicas } => {
            if *replicas == 0 {
                return Err("a scaling action needs at least 1 replica".into());
            }
            crate::model::bounds::REPLICAS.check(*replicas as u64)?;
            (
                node,
                at.0,
                None,
                FaultKind::Scale {
                    replicas: *replicas,
                },
            )
        }
        FaultSpec::Deploy {
            node,
            at,
            strategy,
            restart,
        } => {
            let (max_surge, max_unavailable, blue_green) = match strategy {
                spec::DeployStrategy::Rolling => (Bound::Percent(25), Bound::Percent(25), false),
                spec::DeployStrategy::RollingUpdate {
                    max_surge,
                    max_unavailable,
                } => {
                    if *max_surge == 0 && *max_unavailable == 0 {
                        return Err("max_surge and max_unavailable cannot both be 0: the rollout could never start".into());
                    }
                    (
                        Bound::Count(*max_surge),
                        Bound::Count(*max_unavailable),
                        false,
                    )
                }
                spec::DeployStrategy::BlueGreen => (Bound::Count(0), Bound::Count(0), true),
            };
            let rollout = Rollout {
                max_surge,
                max_unavailable,
                blue_green,
                size: None,
                restart: restart.map(|d| d.0),
            };
            (node, at.0, None, FaultKind::Rollout(rollout))
        }
        FaultSpec::Resize {
            node,
            at,
            size,
            strategy,
            restart,
        } => {
            let Some(spec::Node::Service(svc)) = model.nodes.get(node) else {
                return Err(format!("resize of `{node}`, which is not a service"));
            };
            let Some(z) = svc.sizes.get(size) else {
                return Err(format!("`{node}`: {}", unknown_size(size, &svc.sizes)));
            };
            let (max_surge, max_unavailable) = match strategy {
                spec::ResizeStrategy::Restart => (0, 1),
                spec::ResizeStrategy::Surge => (1, 0),
            };
            let rollout = Rollout {
                max_surge: Bound::Count(max_surge),
                max_unavailable: Bound::Count(max_unavailable),
                blue_green: false,
                size: Some(Size {
                    workers: z.workers,
                    speed: z.speed,
                    cost_per_hour: z.cost_per_hour,
                }),
                restart: restart.map(|d| d.0),
            };
            (node, at.0, None, FaultKind::Rollout(rollout))
        }
        FaultSpec::Canary {
            node,
            at,
            r#for,
            replicas,
            factor,
            rate,
        } => {
            if *replicas == 0 {
                return Err("a canary needs at least 1 replica".into());
            }
            crate::model::bounds::REPLICAS.check(*replicas as u64)?;
            if !(*factor > 0.0 && factor.is_finite()) {
                return Err(format!(
                    "a canary's slowdown factor must be positive, not {factor}"
                ));
            }
            factor_in_bounds(*factor)?;
            if !(0.0..=1.0).contains(rate) {
                return Err(format!(
                    "an error rate is a probability in [0, 1], not {rate}"
                ));
            }
            (
                node,
                at.0,
                Some(at.0.saturating_add(r#for.0)),
                FaultKind::Canary {
                    replicas: *replicas,
                    factor: *factor,
                    rate: *rate,
                },
            )
        }
        FaultSpec::Latency { .. } => unreachable!("handled above"),
    };
    let known: Vec<String> = nodes.iter().map(|(n, _)| format!("`{n}`")).collect();
    let Some((_, cfg)) = nodes.iter_mut().find(|(n, _)| n == node) else {
        return Err(format!(
            "fault on `{node}`, which is not a node; nodes are {}",
            known.join(", ")
        ));
    };
    let s = match cfg {
        ActorConfig::Service(s) => s,
        ActorConfig::Cache(c) => {
            return attach_outage(&mut c.faults, node, "cache", kind, at, until)
        }
        ActorConfig::Queue(q) => {
            return attach_outage(&mut q.faults, node, "queue", kind, at, until)
        }
        ActorConfig::Database(d) => {
            if !matches!(kind, FaultKind::Crash { .. }) {
                return Err(format!(
                    "`{node}` is a database: a crash loses its primary; slow down or fail its primary or replicas (services) instead"
                ));
            }
            return attach_outage(&mut d.faults, node, "database", kind, at, until);
        }
        ActorConfig::Pooler(p) => {
            let what = ("pooler", "its database");
            return attach_workless(&mut p.faults, node, what, kind, at, until);
        }
        ActorConfig::Topic(t) => {
            let what = ("topic", "a subscriber queue");
            return attach_workless(&mut t.faults, node, what, kind, at, until);
        }
        ActorConfig::Router(r) => {
            let what = ("router", "a route's target");
            return attach_workless(&mut r.faults, node, what, kind, at, until);
        }
        _ => {
            return Err(format!(
                "fault on `{node}`, which is not a service, cache, database, queue, pooler, topic or router"
            ))
        }
    };
    let replica = match kind {
        FaultKind::Crash { replica } => Some(replica),
        FaultKind::Slowdown { replica, .. } | FaultKind::Errors { replica, .. } => replica,
        FaultKind::Scale { .. } | FaultKind::Rollout(_) | FaultKind::Canary { .. } => None,
    };
    if let Some(replica) = replica {
        if replica >= s.replicas {
            return Err(format!(
                "`{node}` has {} replicas (numbered from 0); there is no replica {replica}",
                s.replicas
            ));
        }
    }
    if s.function.is_some()
        && matches!(
            kind,
            FaultKind::Scale { .. } | FaultKind::Rollout(_) | FaultKind::Canary { .. }
        )
    {
        return Err(format!("`{node}` is function-style: its instances follow demand, so it cannot be scaled or rolled out"));
    }
    s.faults.push(Fault { at, until, kind });
    Ok(())
}

/// A fault on a node without replicas: a crash, a slowdown or errors, as an outage window.
/// A fault on a node that does no work of its own (`what`: its kind, and what to slow down
/// instead): it can crash or fail calls, not slow down.
fn attach_workless(
    faults: &mut Vec<Outage>,
    node: &str,
    (what, instead): (&str, &str),
    kind: FaultKind,
    at: Nanos,
    until: Option<Nanos>,
) -> Result<(), String> {
    if matches!(kind, FaultKind::Slowdown { .. }) {
        return Err(format!(
            "`{node}` is a {what}: it does no work of its own to slow down; slow down {instead} instead"
        ));
    }
    attach_outage(faults, node, what, kind, at, until)
}

fn attach_outage(
    faults: &mut Vec<Outage>,
    node: &str,
    what: &str,
    kind: FaultKind,
    at: Nanos,
    until: Option<Nanos>,
) -> Result<(), String> {
    let kind = match kind {
        FaultKind::Crash { replica: 0 } => OutageKind::Crash,
        FaultKind::Slowdown {
            factor,
            replica: None,
        } => OutageKind::Slowdown(factor),
        FaultKind::Errors {
            rate,
            replica: None,
        } => OutageKind::Errors(rate),
        FaultKind::Crash { .. } | FaultKind::Slowdown { .. } | FaultKind::Errors { .. } => {
            return Err(format!(
                "`{node}` is a {what}, a single node: leave `replica` out"
            ))
        }
        FaultKind::Scale { .. } | FaultKind::Rollout(_) | FaultKind::Canary { .. } => {
            return Err(format!(
                "`{node}` is a {what}: only services are scaled, deployed or resized"
            ))
        }
    };
    faults.push(Outage { at, until, kind });
    Ok(())
}

/// A slowdown factor within the bounds of a replica's speed (1e-6 to 1e6): beyond them work
/// rounds to nothing or outlasts any run.
fn factor_in_bounds(factor: f64) -> Result<(), String> {
    if (1e-6..=1e6).contains(&factor) {
        return Ok(());
    }
    Err(format!(
        "a slowdown factor of {factor:?} is out of bounds: between 1e-6 and 1e6 (beyond them work rounds to nothing or outlasts any run)"
    ))
}
