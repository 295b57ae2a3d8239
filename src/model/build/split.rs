//! A range split while serving, expanded into its parts: a replica more for the sharded
//! service, the copy's load on the shard, and the cutover on the balancer.

use super::faults::attach_fault;
use super::*;

/// A range split while serving: a replica more for the service, the copy's load on the
/// shard, and the cutover on the balancer.
pub(super) fn split(
    nodes: &mut [(String, ActorConfig)],
    model: &Model,
    node: &str,
    shard: u32,
    (at, copy): (spec::Duration, spec::Duration),
    (load, by_load): (f64, bool),
) -> Result<(), String> {
    let Some(ActorConfig::Balancer(b)) = nodes.iter().find(|(n, _)| n == node).map(|x| &x.1) else {
        return Err(format!("split of `{node}`, which is not a balancer"));
    };
    if !matches!(b.algorithm, Algorithm::ShardByRange { .. }) {
        return Err(format!(
            "`{node}` does not shard by range: only `ShardByRange` ranges are split"
        ));
    }
    if shard >= b.replicas {
        return Err(format!(
            "`{node}` has {} shards (numbered from 0); there is no shard {shard}",
            b.replicas
        ));
    }
    if copy.0 == 0 || !(load >= 0.0 && load.is_finite()) {
        return Err("a split's copy takes time above zero and a load of 0 or more".into());
    }
    let service = nodes[b.target.0 as usize].0.clone();
    let Some(spec::Node::Service(svc)) = model.nodes.get(&service) else {
        unreachable!("a balancer's target is a service")
    };
    if svc.autoscaler.is_some() {
        return Err(format!(
            "`{service}` has an autoscaler: a split adds its shard's replica, and the autoscaler would take it away"
        ));
    }
    let done = b.splits.len() as u32;
    let (from, to) = (at.0, at.0.saturating_add(copy.0));
    let Some((_, ActorConfig::Balancer(b))) = nodes.iter_mut().find(|(n, _)| n == node) else {
        unreachable!("found above")
    };
    if b.splits.last().is_some_and(|s| s.to > to) {
        return Err("splits of one balancer must end in time order".into());
    }
    b.splits.push(Split {
        shard,
        from,
        to,
        by_load,
    });
    let replicas = svc.replicas + done + 1;
    attach_fault(
        nodes,
        model,
        &FaultSpec::Scale {
            node: service.clone(),
            at,
            replicas,
        },
    )?;
    if load > 0.0 {
        let slow = FaultSpec::Slowdown {
            node: service,
            replica: Some(shard),
            at,
            r#for: copy,
            factor: 1.0 + load,
        };
        attach_fault(nodes, model, &slow)?;
    }
    Ok(())
}
