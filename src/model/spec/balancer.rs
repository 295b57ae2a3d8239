//! Load balancers: algorithms, health checks, outlier ejection.

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

pub(super) fn two() -> u32 {
    2
}
pub(super) fn ring_size() -> u32 {
    160
}
pub(super) fn maglev_size() -> u32 {
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

pub(super) fn two_s() -> Duration {
    Duration(2_000_000_000)
}
pub(super) fn one_s() -> Duration {
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
}

pub(super) fn five() -> u32 {
    5
}
pub(super) fn thirty_s() -> Duration {
    Duration(30_000_000_000)
}
pub(super) fn five_min() -> Duration {
    Duration(300_000_000_000)
}
pub(super) fn ten() -> f64 {
    10.0
}
