//! Where nodes run: each node's region and zone, checked against the nodes, and the
//! latency of calls between regions put on the call edges that give none of their own.

use super::*;
use crate::components::dist::Sampler;
use std::collections::BTreeMap;

fn at(tree: &Node, path: &[&str], msg: String) -> Error {
    let mut full = vec!["network"];
    full.extend_from_slice(path);
    Error::at(locate(tree, &full).span, format!("network: {msg}"))
}

/// Each node's place of one kind (`regions` or `zones`), every member a node and in one
/// place at most.
fn places<'a>(
    model: &Model,
    tree: &Node,
    what: &str,
    places: &'a BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<&'a str, &'a str>, Error> {
    let mut of = BTreeMap::new();
    for (place, members) in places {
        for (i, node) in members.iter().enumerate() {
            let idx = i.to_string();
            let path = [what, place.as_str(), idx.as_str()];
            if !model.nodes.contains_key(node) {
                return Err(at(
                    tree,
                    &path,
                    format!("`{node}` in {what} `{place}` is not a node"),
                ));
            }
            if let Some(other) = of.insert(node.as_str(), place.as_str()) {
                return Err(at(
                    tree,
                    &path,
                    format!("`{node}` is in `{other}` and in `{place}`: a node runs in one place"),
                ));
            }
        }
    }
    Ok(of)
}

/// Validates the network and gives calls between regions (or linked zones) their link's
/// latency.
pub(in crate::model) fn apply(
    model: &Model,
    tree: &Node,
    nodes: &mut [(String, ActorConfig)],
) -> Result<(), Error> {
    let Some(net) = &model.network else {
        return Ok(());
    };
    let region = places(model, tree, "regions", &net.regions)?;
    let zone = places(model, tree, "zones", &net.zones)?;
    if let Some(both) = net.zones.keys().find(|z| net.regions.contains_key(*z)) {
        return Err(at(
            tree,
            &["zones", both.as_str()],
            format!("`{both}` names a region and a zone: a link could not tell which"),
        ));
    }
    let mut links: BTreeMap<(&str, &str), (Sampler, f64)> = BTreeMap::new();
    for (i, l) in net.links.iter().enumerate() {
        let idx = i.to_string();
        for end in [&l.from, &l.to] {
            let is_zone = net.zones.contains_key(end);
            if !net.regions.contains_key(end) && !is_zone {
                let known: Vec<_> = net
                    .regions
                    .keys()
                    .chain(net.zones.keys())
                    .map(|k| format!("`{k}`"))
                    .collect();
                return Err(at(
                    tree,
                    &["links", idx.as_str()],
                    format!(
                        "`{end}` is not a region or a zone; they are {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        if l.from == l.to || net.zones.contains_key(&l.from) != net.zones.contains_key(&l.to) {
            return Err(at(
                tree,
                &["links", idx.as_str()],
                "a link joins two different regions, or two different zones".into(),
            ));
        }
        let s = dist(&l.latency)
            .and_then(|p| Ok((Sampler::new(&p).map_err(|e| (vec![], e))?, p.mean_s())))
            .map_err(|(_, m)| at(tree, &["links", idx.as_str(), "latency"], m))?;
        let key = if l.from < l.to {
            (l.from.as_str(), l.to.as_str())
        } else {
            (l.to.as_str(), l.from.as_str())
        };
        if links.insert(key, s).is_some() {
            return Err(at(
                tree,
                &["links", idx.as_str()],
                format!("`{}` and `{}` are linked twice", l.from, l.to),
            ));
        }
    }
    let names: Vec<String> = nodes.iter().map(|(n, _)| n.clone()).collect();
    // The link a call from `from` to node `to` crosses: between their zones if both are
    // in one and a link joins them; else between their regions (required when they
    // differ); none within a region or for a node placed nowhere.
    let link = |from: &str, to: usize| -> Result<Option<(Sampler, f64)>, Error> {
        let target = names[to].as_str();
        if let (Some(a), Some(b)) = (zone.get(from), zone.get(target)) {
            let key = if a < b { (*a, *b) } else { (*b, *a) };
            if let Some(l) = links.get(&key).filter(|_| a != b) {
                return Ok(Some(l.clone()));
            }
        }
        let (Some(a), Some(b)) = (region.get(from), region.get(target)) else {
            return Ok(None);
        };
        if a == b {
            return Ok(None);
        }
        let key = if a < b { (*a, *b) } else { (*b, *a) };
        links.get(&key).cloned().map(Some).ok_or_else(|| {
            at(
                tree,
                &["links"],
                format!(
                    "`{from}` (in `{a}`) calls `{}` (in `{b}`), but no link joins `{a}` and `{b}`: add one to `links`",
                    names[to]
                ),
            )
        })
    };
    for (name, cfg) in nodes.iter_mut() {
        let sites: Vec<&mut CallSite> = match cfg {
            ActorConfig::Client(c) => vec![&mut c.call],
            ActorConfig::Service(s) => s.calls.iter_mut().collect(),
            ActorConfig::Dns(d) => {
                let mut means = Vec::new();
                for (i, t) in d.targets.iter().enumerate() {
                    let l = link(name, t.0 as usize)?;
                    means.push(l.as_ref().map_or(0.0, |l| l.1));
                    d.links[i] = l.map(|l| l.0);
                }
                if d.by_latency {
                    let mean = |i: usize| means[i];
                    let mut order: Vec<usize> = (0..d.targets.len()).collect();
                    order.sort_by(|&a, &b| mean(a).total_cmp(&mean(b)));
                    d.policy = DnsPolicy::Failover(order);
                }
                continue;
            }
            _ => continue,
        };
        for site in sites {
            if site.latency.is_none() {
                site.latency = link(name, site.target.0 as usize)?.map(|l| l.0);
            }
        }
    }
    Ok(())
}
