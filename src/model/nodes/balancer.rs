//! A balancer node: algorithms, health checks, outlier ejection; validated into the
//! balancer actor's configuration.

use super::*;

/// A load balancer in front of a service's replicas.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct BalancerSpec {
    /// The service whose replicas it balances over.
    pub target: String,
    /// How a replica is chosen (`RoundRobin` by default).
    #[serde(default)]
    pub algorithm: AlgorithmSpec,
    /// Active health checks; none if absent.
    #[serde(default)]
    pub health_check: Option<HealthCheckSpec>,
    /// Passive outlier ejection; none if absent.
    #[serde(default)]
    pub outlier: Option<OutlierSpec>,
    /// Keep a request key on the replica it first went to, while that replica is available.
    #[serde(default)]
    pub affinity: bool,
    /// Envoy's zone-aware routing: prefer replicas in the balancer's zone, spilling over
    /// when that zone has fewer healthy replicas than its share of callers; off if absent.
    #[serde(default)]
    pub zone_aware: Option<ZoneAwareSpec>,
    /// The route timeout (Envoy's 15 s; `"0s"`: none): a call unanswered this long is
    /// answered with an error (a gateway timeout) and counts as the replica's failure for
    /// outlier detection, unless its caller has already given up.
    #[serde(default = "fifteen_s")]
    pub timeout: Duration,
}

/// Envoy's zone-aware routing, for a balancer standing for the callers in one zone (their
/// sidecars). The target service gives its replicas' `zones`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ZoneAwareSpec {
    /// The callers' zone, one of the target service's `zones`.
    pub zone: String,
    /// The callers' spread over the service's zones, a weight per zone in the order of
    /// `zones`; as the service's replicas if absent.
    #[serde(default)]
    pub callers: Option<Vec<f64>>,
    /// Below this many healthy replicas routing ignores zones (Envoy's 6).
    #[serde(default = "six")]
    pub min_cluster_size: u32,
}

pub(in crate::model) fn six() -> u32 {
    6
}

pub(in crate::model) fn fifteen_s() -> Duration {
    Duration(15_000_000_000)
}

/// A balancer's algorithm.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub enum AlgorithmSpec {
    /// Each replica in turn.
    #[default]
    RoundRobin,
    /// In turn, in proportion to `weights` (one per replica).
    WeightedRoundRobin {
        /// One weight per replica.
        weights: Vec<u32>,
    },
    /// Uniformly at random.
    Random,
    /// The replica with the fewest calls in flight from this balancer.
    LeastOutstanding,
    /// The less loaded of `d` replicas drawn at random.
    PowerOfChoices {
        /// Replicas drawn per choice (2).
        #[serde(default = "two")]
        d: u32,
    },
    /// Consistent hashing of the request key on a ring.
    RingHash {
        /// Points per replica on the ring (160).
        #[serde(default = "ring_size")]
        vnodes: u32,
    },
    /// Maglev consistent hashing of the request key.
    Maglev {
        /// The lookup table's size, a prime (65537).
        #[serde(default = "maglev_size")]
        table: u32,
    },
    /// Sharding: a key always goes to replica hash(key) mod n (n: the initial replicas).
    ShardByHash,
    /// Sharding by range: keys 0..`keys` split into n equal ranges, one per replica.
    ShardByRange {
        /// The key space 0..keys split into equal ranges.
        keys: u64,
    },
}

pub(in crate::model) fn two() -> u32 {
    2
}
pub(in crate::model) fn ring_size() -> u32 {
    160
}
pub(in crate::model) fn maglev_size() -> u32 {
    65537
}

/// Active health checks (HAProxy's defaults: every 2 s, rise 2, fall 3).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckSpec {
    /// Time between probes (2 s).
    #[serde(default = "two_s")]
    pub interval: Duration,
    /// A probe unanswered this long fails (1 s).
    #[serde(default = "one_s")]
    pub timeout: Duration,
    /// Successes in a row that bring a replica back (2).
    #[serde(default = "two")]
    pub healthy: u32,
    /// Failures in a row that take a replica out (3).
    #[serde(default = "three")]
    pub unhealthy: u32,
}

pub(in crate::model) fn two_s() -> Duration {
    Duration(2_000_000_000)
}
pub(in crate::model) fn one_s() -> Duration {
    Duration(1_000_000_000)
}

/// Passive outlier ejection (Envoy's defaults).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct OutlierSpec {
    /// Errors in a row that eject a replica (5).
    #[serde(default = "five")]
    pub consecutive_errors: u32,
    /// The first ejection's length, multiplied by the ejection count (30 s).
    #[serde(default = "thirty_s")]
    pub base_ejection: Duration,
    /// The longest ejection (300 s).
    #[serde(default = "five_min")]
    pub max_ejection: Duration,
    /// At most this share of replicas ejected at once, in percent (10).
    #[serde(default = "ten")]
    pub max_percent: f64,
    /// Envoy's sweep interval (10 s): at each sweep a replica not ejected has its ejection
    /// count lowered by one, so a replica that misbehaves rarely is ejected briefly.
    #[serde(default = "ten_s")]
    pub interval: Duration,
}

pub(in crate::model) fn ten_s() -> Duration {
    Duration(10_000_000_000)
}

pub(in crate::model) fn five() -> u32 {
    5
}
pub(in crate::model) fn thirty_s() -> Duration {
    Duration(30_000_000_000)
}
pub(in crate::model) fn five_min() -> Duration {
    Duration(300_000_000_000)
}
pub(in crate::model) fn ten() -> f64 {
    10.0
}

impl Schema for BalancerSpec {
    type Config = BalancerConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<BalancerConfig, Error> {
        build(cx, name, self)
    }
}

fn build(cx: &Cx, name: &str, b: &BalancerSpec) -> Result<BalancerConfig, Error> {
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
                crate::model::bounds::VNODES
                    .check(*vnodes as u64)
                    .map_err(|m| at("algorithm", m))?;
                // The ring holds a point per vnode of every replica the service may run.
                let most = svc
                    .autoscaler
                    .as_ref()
                    .and_then(|a| a.max)
                    .unwrap_or(0)
                    .max(replicas);
                crate::model::bounds::RING_POINTS
                    .check(*vnodes as u64 * most as u64)
                    .map_err(|m| {
                        at(
                            "algorithm",
                            format!("{m}: {vnodes} vnodes × up to {most} replicas"),
                        )
                    })?;
                Algorithm::RingHash { vnodes: *vnodes }
            }
            AlgorithmSpec::Maglev { table } => {
                crate::model::bounds::MAGLEV_TABLE
                    .check(*table as u64)
                    .map_err(|m| at("algorithm", m))?;
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
                    || o.interval.0 == 0
                    || !(o.max_percent > 0.0 && o.max_percent <= 100.0)
                {
                    return Err(at("outlier", "consecutive_errors, base_ejection and interval must be above zero, max_percent in (0, 100]".into()));
                }
                Some(Outlier {
                    consecutive_errors: o.consecutive_errors,
                    base_ejection: o.base_ejection.0,
                    max_ejection: o.max_ejection.0,
                    max_percent: o.max_percent,
                    interval: o.interval.0,
                })
            }
        };
        let zone_aware = match &b.zone_aware {
            None => None,
            Some(_) if b.affinity => {
                return Err(at(
                    "zone_aware",
                    "zone-aware routing with `affinity` is not modelled: choose one".into(),
                ))
            }
            Some(z) => Some(zone_aware(z, svc, &b.target, &algorithm).map_err(|m| at("zone_aware", m))?),
        };
        BalancerConfig {
            target,
            replicas,
            algorithm,
            health_check,
            outlier,
            affinity: b.affinity,
            timeout: b.timeout.0,
            zone_aware,
            splits: Vec::new(),
        }
    })
}

fn zone_aware(
    z: &ZoneAwareSpec,
    svc: &ServiceSpec,
    target: &str,
    algorithm: &Algorithm,
) -> Result<ZoneAware, String> {
    if !matches!(algorithm, Algorithm::RoundRobin | Algorithm::Random) {
        return Err("zone-aware routing works here with `RoundRobin` or `Random` within a zone".into());
    }
    let zones = &svc.zones;
    if zones.len() < 2 {
        return Err(format!("`{target}` gives fewer than 2 `zones` for its replicas"));
    }
    let Some(local) = zones.iter().position(|x| *x == z.zone) else {
        return Err(format!("`{}` is not one of `{target}`'s zones ({})", z.zone, zones.join(", ")));
    };
    let n = zones.len();
    let weights = match &z.callers {
        Some(w) => {
            if w.len() != n || w.iter().any(|x| !(x.is_finite() && *x >= 0.0)) || w[local] <= 0.0 {
                return Err(format!("`callers` takes {n} weights, one per zone, none negative, the balancer's own above zero"));
            }
            w.clone()
        }
        None => (0..n)
            .map(|i| (0..svc.replicas as usize).filter(|r| r % n == i).count() as f64)
            .collect(),
    };
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || weights[local] <= 0.0 {
        return Err(format!("`{target}` has no replica in `{}` to spread callers like", z.zone));
    }
    Ok(ZoneAware {
        zones: n as u32,
        local: local as u32,
        callers: weights.iter().map(|w| w / total).collect(),
        min_cluster_size: z.min_cluster_size,
    })
}
