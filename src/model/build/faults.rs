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
    if let FaultSpec::Split {
        node,
        shard,
        at,
        copy,
        load,
        by_load,
    } = f
    {
        return super::split::split(nodes, model, node, *shard, (*at, *copy), (*load, *by_load));
    }
    if let FaultSpec::RegionLoss { region, at, r#for } = f {
        return lose_place(nodes, model, ("region", region), *at, *r#for);
    }
    if let FaultSpec::ZoneLoss { zone, at, r#for } = f {
        return lose_place(nodes, model, ("zone", zone), *at, *r#for);
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
        FaultSpec::Latency { .. }
        | FaultSpec::RegionLoss { .. }
        | FaultSpec::ZoneLoss { .. }
        | FaultSpec::Split { .. } => {
            unreachable!("handled above")
        }
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
        ActorConfig::Dns(d) => {
            let what = ("DNS", "a target");
            return attach_workless(&mut d.faults, node, what, kind, at, until);
        }
        _ => {
            return Err(format!(
                "fault on `{node}`, which is not a service, cache, database, queue, pooler, topic, router or DNS"
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

/// A region or zone lost: a crash of every replica of its services and of every other node
/// in it that can crash (clients and balancers cannot: users are outside, and a balancer
/// fails with its replicas), and of every database whose primary ran there. Clients learn
/// when, to measure their recovery.
fn lose_place(
    nodes: &mut [(String, ActorConfig)],
    model: &Model,
    (what, place): (&str, &String),
    at: spec::Duration,
    r#for: Option<spec::Duration>,
) -> Result<(), String> {
    let none = spec::NetworkSpec::default();
    let network = model.network.as_ref().unwrap_or(&none);
    let places = if what == "region" {
        &network.regions
    } else {
        &network.zones
    };
    let spread = what == "zone"
        && model
            .nodes
            .values()
            .any(|n| matches!(n, spec::Node::Service(s) if s.zones.contains(place)));
    let empty = Vec::new();
    let members = match places.get(place) {
        Some(m) => m,
        None if spread => &empty,
        None => {
            let known: Vec<String> = places.keys().map(|k| format!("`{k}`")).collect();
            return Err(if known.is_empty() {
                format!("{what} `{place}` is lost, but the model's `network` names no {what}s")
            } else {
                format!(
                    "{what} `{place}` is not in the model's `network`; {what}s are {}",
                    known.join(", ")
                )
            });
        }
    };
    for node in members {
        let replicas = match model.nodes.get(node) {
            Some(spec::Node::Service(s)) => s.replicas,
            Some(spec::Node::Client(_) | spec::Node::Balancer(_)) | None => continue,
            Some(_) => 1,
        };
        for replica in 0..replicas {
            let crash = FaultSpec::Crash {
                node: node.clone(),
                replica,
                at,
                r#for,
            };
            attach_fault(nodes, model, &crash)?;
        }
    }
    // Services spread over zones lose their replicas in a lost zone.
    if what == "zone" {
        for (name, node) in &model.nodes {
            let spec::Node::Service(s) = node else {
                continue;
            };
            if members.contains(name) || !s.zones.contains(place) {
                continue;
            }
            let n = s.zones.len() as u32;
            for replica in (0..s.replicas).filter(|r| s.zones[(r % n) as usize] == *place) {
                let crash = FaultSpec::Crash {
                    node: name.clone(),
                    replica,
                    at,
                    r#for,
                };
                attach_fault(nodes, model, &crash)?;
            }
        }
    }
    // A database whose primary ran there loses it, wherever the database's endpoint is.
    let names: Vec<String> = nodes.iter().map(|(n, _)| n.clone()).collect();
    let databases: Vec<String> = nodes
        .iter()
        .filter_map(|(n, cfg)| match cfg {
            ActorConfig::Database(d) if members.contains(&names[d.primary.0 as usize]) => {
                (!members.contains(n)).then(|| n.clone())
            }
            _ => None,
        })
        .collect();
    for node in databases {
        let crash = FaultSpec::Crash {
            node,
            replica: 0,
            at,
            r#for,
        };
        attach_fault(nodes, model, &crash)?;
    }
    for (_, cfg) in nodes.iter_mut() {
        if let ActorConfig::Client(c) = cfg {
            c.loss_at = Some(c.loss_at.map_or(at.0, |t: Nanos| t.min(at.0)));
        }
    }
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
