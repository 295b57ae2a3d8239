//! Validating a `Balancer` node and building its actor configuration.

use super::*;

pub(super) fn build(cx: &Cx, name: &str, b: &spec::BalancerSpec) -> Result<ActorConfig, Error> {
    Ok({
        let at = |field: &str, m: String| cx.err(&[name, field], format!("balancer `{name}`: {m}"));
        let target = cx.service_target(name, &b.target, &[name, "target"])?;
        let Some(spec::Node::Service(svc)) = cx.model.nodes.get(&b.target) else {
            return Err(at(
                "target",
                format!(
                    "`{}` is not a service: a balancer spreads load over a service's replicas",
                    b.target
                ),
            ));
        };
        if svc.function.is_some() {
            return Err(at("target", format!("`{}` is function-style: its platform routes each request to an instance; call it directly", b.target)));
        }
        let replicas = svc.replicas;
        let algorithm = match &b.algorithm {
            AlgorithmSpec::RoundRobin => Algorithm::RoundRobin,
            AlgorithmSpec::WeightedRoundRobin { weights } => {
                if weights.len() != replicas as usize {
                    return Err(at(
                        "algorithm",
                        format!(
                            "{} weights for {replicas} replicas of `{}`",
                            weights.len(),
                            b.target
                        ),
                    ));
                }
                if weights.iter().all(|w| *w == 0) {
                    return Err(at(
                        "algorithm",
                        "every weight is zero: no replica would get traffic".into(),
                    ));
                }
                Algorithm::WeightedRoundRobin(weights.clone())
            }
            AlgorithmSpec::Random => Algorithm::Random,
            AlgorithmSpec::LeastOutstanding => Algorithm::LeastOutstanding,
            AlgorithmSpec::PowerOfChoices { d } => {
                if *d == 0 {
                    return Err(at(
                        "algorithm",
                        "power of choices needs d of at least 1".into(),
                    ));
                }
                Algorithm::PowerOfChoices(*d)
            }
            AlgorithmSpec::RingHash { vnodes } => {
                if *vnodes == 0 {
                    return Err(at(
                        "algorithm",
                        "a hash ring needs at least 1 point per replica".into(),
                    ));
                }
                Algorithm::RingHash { vnodes: *vnodes }
            }
            AlgorithmSpec::Maglev { table } => {
                if *table < replicas.max(2) || !is_prime(*table) {
                    return Err(at("algorithm", format!("a Maglev table size must be a prime at least the replica count (65537 is usual), not {table}")));
                }
                Algorithm::Maglev { table: *table }
            }
            AlgorithmSpec::ShardByHash => Algorithm::ShardByHash,
            AlgorithmSpec::ShardByRange { keys } => {
                if *keys < replicas as u64 {
                    return Err(at("algorithm", format!("{keys} keys cannot fill {replicas} ranges: give the size of the key space (a client's `keys` n)")));
                }
                Algorithm::ShardByRange { keys: *keys }
            }
        };
        let health_check = match b.health_check {
            None => None,
            Some(h) => {
                if h.interval.0 == 0 || h.timeout.0 == 0 || h.healthy == 0 || h.unhealthy == 0 {
                    return Err(at(
                        "health_check",
                        "interval, timeout and thresholds must be above zero".into(),
                    ));
                }
                Some(HealthCheck {
                    interval: h.interval.0,
                    timeout: h.timeout.0,
                    healthy: h.healthy,
                    unhealthy: h.unhealthy,
                })
            }
        };
        let outlier = match b.outlier {
            None => None,
            Some(o) => {
                if o.consecutive_errors == 0
                    || o.base_ejection.0 == 0
                    || !(o.max_percent > 0.0 && o.max_percent <= 100.0)
                {
                    return Err(at("outlier", "consecutive_errors and base_ejection must be above zero, max_percent in (0, 100]".into()));
                }
                Some(Outlier {
                    consecutive_errors: o.consecutive_errors,
                    base_ejection: o.base_ejection.0,
                    max_ejection: o.max_ejection.0,
                    max_percent: o.max_percent,
                })
            }
        };
        ActorConfig::Balancer(BalancerConfig {
            target,
            replicas,
            algorithm,
            health_check,
            outlier,
            affinity: b.affinity,
        })
    })
}
