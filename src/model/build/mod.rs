//! Checks a typed model for nonsense and turns it into actor configurations.
//!
//! Errors carry the location of the offending value, looked up in the syntax tree by path,
//! so a zero worker count points at the line that says so (or at the node that left it out).

pub(in crate::model) use super::de::Error;
pub(in crate::model) use super::overrides::locate;
pub(in crate::model) use super::spec::{
    self, ArrivalsSpec, BackoffSpec, CallSpec, ClassSpec, Dist, FaultSpec, JitterSpec, Model,
    OnFailureSpec, RetryOnSpec, RetrySpec,
};
use super::syntax::{Node, Span};
pub(in crate::model) use crate::components::autoscaler::AutoscalerConfig;
pub(in crate::model) use crate::components::broker::BrokerConfig;
pub(in crate::model) use crate::components::cache::{CacheConfig, WritePolicy};
pub(in crate::model) use crate::components::concurrency::LimitAlgorithm;
pub(in crate::model) use crate::components::connections::ConnectionsConfig;
pub(in crate::model) use crate::components::database::DatabaseConfig;
pub(in crate::model) use crate::components::degrade::DegradeConfig;
pub(in crate::model) use crate::components::dns::{DnsConfig, DnsPolicy};
pub(in crate::model) use crate::components::limiter::LimiterConfig;
pub(in crate::model) use crate::components::pooler::PoolerConfig;
pub(in crate::model) use crate::components::queue::{CoDelConfig, Order, QueuePolicy, WhenFull};
pub(in crate::model) use crate::components::retry::{
    Backoff, Budget, Jitter, QuotaConfig, RateBudgetConfig, RetryOn, RetryPolicy, ThrottleConfig,
};
pub(in crate::model) use crate::components::router::{Mirror, Rollback, RouterConfig};
pub(in crate::model) use crate::components::store::Eviction;
pub(in crate::model) use crate::components::topic::TopicConfig;
pub(in crate::model) use crate::components::{
    ActorConfig, Algorithm, Arrivals, BalancerConfig, Bound, CallSite, Class, ClientConfig,
    DistParams, Fault, FaultKind, FunctionConfig, HealthCheck, Keys, OnFailure, Outlier,
    Provisioning, Rollout, Sampler, ServiceConfig, Size, Split, ZoneAware,
};
pub(in crate::model) use crate::engine::ActorId;
pub(in crate::model) use std::path::Path;

mod calls;
mod dists;
mod faults;
mod network;
mod scaling;
mod split;

pub(in crate::model) use calls::*;
pub(in crate::model) use dists::*;
use faults::*;
pub(in crate::model) use scaling::*;

/// A located error at `nodes.<path>` of the model tree.
fn err_at(tree: &Node, path: &[&str], msg: String) -> Error {
    let mut full = vec!["nodes"];
    full.extend_from_slice(path);
    Error::at(locate(tree, &full).span, msg)
}

/// What every node kind's builder reads: the model and where it was written, where trace
/// files are found, and the request classes across the model.
pub(in crate::model) struct Cx<'a> {
    pub(in crate::model) model: &'a Model,
    pub(in crate::model) tree: &'a Node,
    pub(in crate::model) base: &'a Path,
    pub(in crate::model) class_ids: std::collections::BTreeMap<String, u16>,
    /// A class's priority as a level among the distinct priorities.
    pub(in crate::model) class_levels: Vec<u8>,
    pub(in crate::model) class_writes: Vec<bool>,
}

impl Cx<'_> {
    /// A located error at `nodes.<path>`.
    pub(in crate::model) fn err(&self, path: &[&str], msg: String) -> Error {
        err_at(self.tree, path, msg)
    }

    /// A distribution at `node.field`, its errors located there: "{kind} `node`: field: …".
    pub(in crate::model) fn field_dist(
        &self,
        d: &Dist,
        kind: &str,
        node: &str,
        field: &str,
    ) -> Result<DistParams, Error> {
        dist(d).map_err(|(p, m)| {
            let mut path = vec![node, field];
            path.extend(p);
            self.err(&path, format!("{kind} `{node}`: {field}: {m}"))
        })
    }

    /// A call target: a service or a balancer; the error names the node list.
    pub(in crate::model) fn service_target(
        &self,
        from: &str,
        target: &str,
        path: &[&str],
    ) -> Result<ActorId, Error> {
        let Some(i) = self.model.nodes.keys().position(|k| k == target) else {
            let known: Vec<_> = self.model.nodes.keys().map(|k| format!("`{k}`")).collect();
            return Err(self.err(
                path,
                format!(
                    "`{from}` calls `{target}`, which is not a node; nodes are {}",
                    known.join(", ")
                ),
            ));
        };
        if matches!(self.model.nodes[target], spec::Node::Client(_)) {
            return Err(self.err(
                path,
                format!("`{from}` calls `{target}`, a client: call a service or a balancer"),
            ));
        }
        Ok(ActorId(i as u32))
    }
}

/// Validates `model` (read from `tree`) and builds its actors, in node-name order. `faults`
/// come from the experiment, with their locations; trace files are found relative to `base`.
pub fn build(
    model: &Model,
    tree: &Node,
    faults: &[(FaultSpec, Span)],
    base: &Path,
) -> Result<Vec<(String, ActorConfig)>, Error> {
    let err = |path: &[&str], msg: String| err_at(tree, path, msg);
    if model.nodes.is_empty() {
        return Err(Error::at(
            locate(tree, &["nodes"]).span,
            "the model has no nodes: add a Client and a Service under `nodes`",
        ));
    }
    // Request classes get one id across the model, so services can route on them.
    let mut class_ids: std::collections::BTreeMap<String, u16> = std::collections::BTreeMap::new();
    for node in model.nodes.values() {
        if let spec::Node::Client(c) = node {
            let names: Vec<String> = if c.classes.is_empty() {
                vec!["default".into()]
            } else {
                c.classes.iter().map(|k| k.name.clone()).collect()
            };
            for n in names {
                let next = class_ids.len() as u16;
                class_ids.entry(n).or_insert(next);
            }
        }
    }
    // A class's priority (the highest any client gives it), as a level among the distinct
    // priorities: what priority queues order by.
    let mut priority = vec![0u8; class_ids.len()];
    for node in model.nodes.values() {
        if let spec::Node::Client(c) = node {
            for k in &c.classes {
                let p = &mut priority[class_ids[&k.name] as usize];
                *p = (*p).max(k.priority);
            }
        }
    }
    let mut distinct = priority.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let class_levels: Vec<u8> = priority
        .iter()
        .map(|p| distinct.binary_search(p).expect("listed") as u8)
        .collect();
    // Every error of the model is reported, not just the first: each class conflict, the
    // first of each node, each fault's.
    let mut errors = Vec::new();
    // Which classes are writes; clients sending a class must agree.
    let mut class_writes: Vec<Option<bool>> = vec![None; class_ids.len()];
    for (name, node) in &model.nodes {
        if let spec::Node::Client(c) = node {
            for (i, k) in c.classes.iter().enumerate() {
                let w = &mut class_writes[class_ids[&k.name] as usize];
                if w.is_some_and(|w| w != k.write) {
                    let idx = i.to_string();
                    errors.push(err(
                        &[name, "classes", &idx, "write"],
                        format!(
                            "class `{}` is a write for one client and a read for another: give them different names",
                            k.name
                        ),
                    ));
                }
                w.get_or_insert(k.write);
            }
        }
    }
    let class_writes: Vec<bool> = class_writes.iter().map(|w| w.unwrap_or(false)).collect();
    let cx = Cx {
        model,
        tree,
        base,
        class_ids,
        class_levels,
        class_writes,
    };
    let mut out = Vec::with_capacity(model.nodes.len());
    for (name, node) in &model.nodes {
        if name.is_empty() || name.contains(['.', ' ']) {
            errors.push(err(
                &[name],
                format!("node name `{name}` must be non-empty, without dots or spaces"),
            ));
            continue;
        }
        match node.build(&cx, name) {
            Ok(cfg) => out.push((name.clone(), cfg)),
            Err(e) => errors.push(e),
        }
    }
    if let Some(e) = Error::all(errors) {
        return Err(e);
    }
    check_cycles(&out).map_err(|(node, cycle)| err(&[&node, "handler"], cycle))?;
    check_kept_pools(&out).map_err(|(node, m)| err(&[&node, "handler"], m))?;
    network::apply(model, tree, &mut out)?;
    // Balancers learn of replicas joining and leaving from their service.
    let watchers: Vec<(usize, ActorId)> = out
        .iter()
        .enumerate()
        .filter_map(|(i, (_, c))| match c {
            ActorConfig::Balancer(b) => Some((b.target.0 as usize, ActorId(i as u32))),
            _ => None,
        })
        .collect();
    for (target, balancer) in watchers {
        if let ActorConfig::Service(s) = &mut out[target].1 {
            s.watchers.push(balancer);
        }
    }
    let errors = faults
        .iter()
        .filter_map(|(f, span)| {
            attach_fault(&mut out, model, f)
                .err()
                .map(|m| Error::at(*span, m))
        })
        .collect();
    match Error::all(errors) {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

pub(in crate::model) fn is_prime(n: u32) -> bool {
    // In u64: `d * d` of a divisor candidate near 2^16 overflows u32.
    let n = n as u64;
    n >= 2
        && (2u64..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

pub(in crate::model) fn on_fail(f: OnFailureSpec) -> OnFailure {
    match f {
        OnFailureSpec::Fail => OnFailure::Fail,
        OnFailureSpec::Continue => OnFailure::Continue,
    }
}

/// A pool that keeps connections open does so at a service (its `connections` count them)
/// or a pooler (whose client connections cost it nothing).
fn check_kept_pools(nodes: &[(String, ActorConfig)]) -> Result<(), (String, String)> {
    for (name, cfg) in nodes {
        let ActorConfig::Service(s) = cfg else {
            continue;
        };
        for site in s
            .calls
            .iter()
            .filter(|c| c.pool.is_some_and(|p| p.min_idle > 0))
        {
            let (target, t) = &nodes[site.target.0 as usize];
            if !matches!(t, ActorConfig::Service(_) | ActorConfig::Pooler(_)) {
                return Err((
                    name.clone(),
                    format!("`{name}`'s pool keeps connections open at `{target}`, which keeps none: give `min_idle` only for calls to a service or a pooler"),
                ));
            }
        }
    }
    Ok(())
}

/// Synchronous calls must not loop: a request would wait on itself forever. Nor may a queue's
/// deliveries lead back to it, whatever kinds of node they pass through.
fn check_cycles(nodes: &[(String, ActorConfig)]) -> Result<(), (String, String)> {
    let edges: Vec<Vec<usize>> = nodes
        .iter()
        .map(|(_, c)| c.waits_on().iter().map(|t| t.0 as usize).collect())
        .collect();
    // Depth-first search with colours: 0 unseen, 1 on the stack, 2 done.
    fn visit(
        v: usize,
        edges: &[Vec<usize>],
        colour: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        colour[v] = 1;
        stack.push(v);
        for &w in &edges[v] {
            if colour[w] == 1 {
                let from = stack.iter().position(|&x| x == w).expect("on the stack");
                let mut cycle = stack[from..].to_vec();
                cycle.push(w);
                return Some(cycle);
            }
            if colour[w] == 0 {
                if let Some(c) = visit(w, edges, colour, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        colour[v] = 2;
        None
    }
    let mut colour = vec![0u8; nodes.len()];
    for v in 0..nodes.len() {
        if colour[v] == 0 {
            if let Some(cycle) = visit(v, &edges, &mut colour, &mut Vec::new()) {
                let names: Vec<&str> = cycle.iter().map(|&i| nodes[i].0.as_str()).collect();
                let queue = cycle
                    .iter()
                    .any(|&i| matches!(nodes[i].1, ActorConfig::Queue(_)));
                let what = if queue {
                    // Not a wait on itself, but each delivery sends another message: the
                    // flow never drains, and with no work on the way it loops at one instant.
                    "a cycle through a queue (every delivery would send another message, forever)"
                } else {
                    "a cycle of synchronous calls"
                };
                return Err((
                    names[0].to_string(),
                    format!("{what}: {}", names.join(" → ")),
                ));
            }
        }
    }
    Ok(())
}

pub(in crate::model) type Problem = (Vec<&'static str>, String);

#[cfg(test)]
mod tests {
    #[test]
    fn primes_up_to_u32_max() {
        assert!(super::is_prime(65537) && super::is_prime(5_000_011));
        assert!(super::is_prime(4_294_967_291)); // the largest prime below 2^32
        assert!(!super::is_prime(4_294_967_295) && !super::is_prime(1) && !super::is_prime(65535));
    }
}
