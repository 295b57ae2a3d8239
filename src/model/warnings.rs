//! Warnings about models that run but cannot mean much: found at load, reported with the
//! run's own warnings on stdout and in `summary.json`.

use super::{ActorConfig, Point, Settings};

const GIB: f64 = (1u64 << 30) as f64;
/// A run estimated to need more memory than this is warned about before it starts.
const MEMORY_WARNING: f64 = 2.0 * GIB;

/// Bytes one run of `actors` may hold at the most, roughly (what grows with sizes in the
/// file: replica slots, cache entries, ring points, closed-loop users), and its largest part.
fn memory_estimate(actors: &[(String, ActorConfig)]) -> (f64, String) {
    use crate::components::{balancer::Algorithm, Arrivals};
    let mut parts: Vec<(f64, String)> = Vec::new();
    for (name, c) in actors {
        let (bytes, what) = match c {
            ActorConfig::Service(s) => {
                let most = s
                    .autoscaler
                    .as_ref()
                    .map_or(s.replicas, |a| a.max.max(s.replicas));
                (
                    most as f64 * 2048.0,
                    format!("service `{name}`: {most} replicas"),
                )
            }
            ActorConfig::Cache(c) => (
                c.capacity as f64 * 96.0,
                format!("cache `{name}`: {} entries", c.capacity),
            ),
            ActorConfig::Balancer(b) => match b.algorithm {
                Algorithm::RingHash { vnodes } => (
                    vnodes as f64 * b.replicas as f64 * 16.0,
                    format!("balancer `{name}`: its hash ring"),
                ),
                Algorithm::Maglev { table } => (
                    table as f64 * 4.0,
                    format!("balancer `{name}`: its Maglev table"),
                ),
                _ => (b.replicas as f64 * 256.0, format!("balancer `{name}`")),
            },
            ActorConfig::Client(c) => match c.arrivals {
                Arrivals::Closed { users, .. } => (
                    users as f64 * 64.0,
                    format!("client `{name}`: {users} users"),
                ),
                _ => (0.0, String::new()),
            },
            _ => (0.0, String::new()),
        };
        parts.push((bytes, what));
    }
    let total = parts.iter().map(|p| p.0).sum();
    let largest = parts
        .into_iter()
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(b, w)| format!("the most for {w}, about {:.1} GiB", b / GIB))
        .unwrap_or_default();
    (total, largest)
}

/// Models that run but cannot mean much: no client in a variant, faults outside the run,
/// open arrivals that the event cap will cut short.
pub(super) fn of(s: &Settings, points: &[Point]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for p in points {
        if seen.contains(&p.variant.as_str()) {
            continue;
        }
        seen.push(&p.variant);
        let clients: Vec<&crate::components::ClientConfig> = p
            .actors
            .iter()
            .filter_map(|(_, c)| match c {
                ActorConfig::Client(c) => Some(c),
                _ => None,
            })
            .collect();
        if clients.is_empty() {
            out.push(format!(
                "variant `{}` has no client: nothing sends requests, so every request metric is empty",
                p.variant
            ));
        }
        // Open arrivals at a known rate: about four events per request at the least.
        let rate: f64 = clients
            .iter()
            .map(|c| match c.arrivals {
                crate::components::Arrivals::Poisson { rate }
                | crate::components::Arrivals::Constant { rate } => rate,
                crate::components::Arrivals::Diurnal { mean, .. } => mean,
                _ => 0.0,
            })
            .sum();
        let (bytes, largest) = memory_estimate(&p.actors);
        if bytes > MEMORY_WARNING {
            out.push(format!(
                "variant `{}` may need about {:.1} GiB per run ({largest}); each thread holds a run",
                p.variant,
                bytes / GIB
            ));
        }
        let events = 4.0 * rate * s.duration.secs();
        if events > s.limits.max_events as f64 {
            out.push(format!(
                "variant `{}` offers about {:.3e} requests per run ({:.3e} events at the least): limits.max_events ({}) will stop each run at about {:.0}s of {:.0}s; shorten `duration` or raise the limit",
                p.variant,
                rate * s.duration.secs(),
                events,
                s.limits.max_events,
                s.limits.max_events as f64 / (4.0 * rate),
                s.duration.secs()
            ));
        }
    }
    for (i, f) in s.faults.iter().enumerate() {
        let (kind, node, at, _) = f.timeline();
        if at >= s.duration.secs() {
            out.push(format!(
                "fault {i} ({kind} of `{node}`) begins at {at}s, at or after the end of the run ({}s): it never happens",
                s.duration.secs()
            ));
        }
    }
    out
}
