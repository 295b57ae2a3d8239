//! The typed shape of model and experiment files. Unknown fields are errors.

use crate::engine::Nanos;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A duration written with a unit: `"250ms"`, `"1.5s"`, `"10m"`, `"2h"`, `"3us"`, `"40ns"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Duration(pub Nanos);

impl Duration {
    pub fn secs(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

/// Parses `"1.5s"` and friends, and sums like `"1m30s"`.
pub fn parse_duration(s: &str) -> Result<Nanos, String> {
    let hint = "write a number with a unit: ns, us, ms, s, m or h (e.g. \"250ms\", \"1m30s\")";
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("duration \"{s}\" is negative: {hint}"));
    }
    if t.is_empty() {
        return Err(format!("empty duration: {hint}"));
    }
    let mut rest = t;
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(split);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let per: f64 = match unit.trim() {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" | "min" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("duration \"{s}\" has no unit: {hint}")),
            u => return Err(format!("unknown unit `{u}` in duration \"{s}\": {hint}")),
        };
        let x: f64 = num
            .replace('_', "")
            .parse()
            .map_err(|_| format!("\"{s}\" is not a duration: {hint}"))?;
        total += x * per;
        rest = next;
    }
    if !total.is_finite() || total > 1e18 {
        return Err(format!("duration \"{s}\" is too long"));
    }
    Ok(total.round() as Nanos)
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration string with a unit, like \"250ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
                parse_duration(s).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\" or \"{v}ms\", not {v}"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\" or \"{v}ms\", not {v}"
                )))
            }
        }
        d.deserialize_str(V)
    }
}

/// A model: named nodes (clients and services) and how they connect.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// What the model is, in a sentence (shown in reports).
    #[serde(default)]
    pub description: String,
    /// The nodes by name: clients, services, balancers, caches, databases, queues.
    pub nodes: BTreeMap<String, Node>,
}

#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
// Read once per file: the size difference between variants does not matter.
/// A node of the model, by kind.
#[allow(clippy::large_enum_variant)]
pub enum Node {
    /// Sends requests: open-loop arrivals or closed-loop users.
    Client(ClientSpec),
    /// Replicas of workers with queues, running a handler per request.
    Service(ServiceSpec),
    /// Spreads calls over a service's replicas.
    Balancer(BalancerSpec),
    /// Answers reads from memory, misses from its backend.
    Cache(CacheSpec),
    /// A primary for writes and replicas for reads, with replication lag.
    Database(DatabaseSpec),
    /// A message queue: producers go on, a consumer processes later.
    Queue(QueueSpec),
}

/// A message queue: producers call it and go on; it delivers to `consumer`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The node that processes messages (a service, usually a worker pool).
    pub consumer: String,
    /// Deliveries in flight at once; unlimited if absent (the consumer's own queue holds
    /// the backlog, and its autoscaler can scale on `QueueLength`).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Ordered partitions (by key): one delivery in flight per partition.
    #[serde(default)]
    pub partitions: Option<u32>,
    /// A delivery unacknowledged this long makes its message visible again (SQS: 30 s).
    #[serde(default = "s30")]
    pub visibility_timeout: Duration,
    /// Deliveries before a message goes to the dead-letter queue; unlimited if absent.
    #[serde(default)]
    pub max_deliveries: Option<u32>,
    /// Time to store a message before the producer is answered.
    #[serde(default)]
    pub publish: Option<Dist>,
    /// Deliver only within these windows (off-peak processing); always if empty.
    #[serde(default)]
    pub windows: Vec<DeliveryWindow>,
    /// Messages acknowledged later than this after publishing are late.
    #[serde(default)]
    pub deadline: Option<Duration>,
}

/// A time window `[from, until)` of the run.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct DeliveryWindow {
    /// The window's start.
    pub from: Duration,
    /// The window's end (not included).
    pub until: Duration,
}

/// A primary and read replicas: writes to `primary`, reads to `replicas`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// The node that takes writes (and pinned reads): a service.
    pub primary: String,
    /// The node that takes reads: a service with several replicas, or a balancer over them.
    /// Reads go to the primary if absent.
    #[serde(default)]
    pub replicas: Option<String>,
    /// How long after a write commits the replicas apply it.
    pub lag: Dist,
    /// Reads of a key written this recently go to the primary.
    #[serde(default)]
    pub read_your_writes: Option<Duration>,
}

/// A cache in front of a backend.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// What answers misses and takes writes: a service, a balancer or another cache.
    pub backend: String,
    /// Entries it holds.
    pub capacity: u64,
    /// Which entry makes room when the cache is full (`Lru` by default).
    #[serde(default)]
    pub eviction: EvictionSpec,
    /// Entries expire this long after they are filled; never if absent.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Time to look a key up (on hits and misses); none if absent.
    #[serde(default)]
    pub lookup: Option<Dist>,
    /// One backend read per key in flight; other misses wait for it.
    #[serde(default)]
    pub coalesce: bool,
    /// XFetch: refresh a hot key before it expires, with this β (1.0 is the usual).
    #[serde(default)]
    pub early_refresh: Option<f64>,
    /// What a write does to the cache (`Invalidate` by default).
    #[serde(default)]
    pub writes: WritesSpec,
    /// The request classes it caches; the others pass through. All if empty.
    #[serde(default)]
    pub classes: Vec<String>,
}

/// Which entry a full cache evicts.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum EvictionSpec {
    /// The least recently used.
    #[default]
    Lru,
    /// The least frequently used.
    Lfu,
    /// The oldest filled.
    Fifo,
}

/// What a write (a class with `write: true`) does to the cache.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum WritesSpec {
    /// Write to the backend, then drop the key (cache-aside).
    #[default]
    Invalidate,
    /// Write to the backend, then store the value.
    WriteThrough,
    /// Store and answer at once; write to the backend after this delay, once per key.
    WriteBehind(Duration),
}

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

fn two() -> u32 {
    2
}
fn ring_size() -> u32 {
    160
}
fn maglev_size() -> u32 {
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

fn two_s() -> Duration {
    Duration(2_000_000_000)
}
fn one_s() -> Duration {
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

fn five() -> u32 {
    5
}
fn thirty_s() -> Duration {
    Duration(30_000_000_000)
}
fn five_min() -> Duration {
    Duration(300_000_000_000)
}
fn ten() -> f64 {
    10.0
}

/// A client: where its requests go, when they arrive, and how it waits and retries.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The node this client sends its requests to.
    pub target: String,
    /// When requests arrive.
    pub arrivals: Arrivals,
    /// Give up on an attempt not answered within this (counted `timed_out` if it was the last).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Retries of failed attempts; none if absent.
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Hedged copies of slow attempts; none if absent.
    #[serde(default)]
    pub hedge: Option<HedgeSpec>,
    /// A circuit breaker on the client's calls; none if absent.
    #[serde(default)]
    pub breaker: Option<BreakerSpec>,
    /// One-way network latency to the target.
    #[serde(default)]
    pub latency: Option<Dist>,
    /// At most this many requests in flight at once; beyond, a request fails at once.
    #[serde(default)]
    pub bulkhead: Option<u32>,
    /// Successes slower than this do not count as goodput.
    #[serde(default)]
    pub deadline: Option<Duration>,
    /// Request classes; one class, `default`, if none are given.
    #[serde(default)]
    pub classes: Vec<ClassSpec>,
    /// Request keys (users, items), for caches, hashing balancers and per-key limits; none if absent.
    #[serde(default)]
    pub keys: Option<KeysSpec>,
}

/// A class of requests: a share of the traffic with its own priority and deadline.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    /// The class's name (routes, limits and caches refer to it).
    pub name: String,
    /// Its share of the arrivals, relative to the other classes' (1.0).
    #[serde(default = "one_f")]
    pub weight: f64,
    /// Higher is more important, for services with `priority: true` (0).
    #[serde(default)]
    pub priority: u8,
    /// Successes slower than this are not goodput, instead of the client's `deadline`.
    #[serde(default)]
    pub deadline: Option<Duration>,
    /// Requests of this class change their key (caches invalidate or update it).
    #[serde(default)]
    pub write: bool,
}

/// How requests draw their keys.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum KeysSpec {
    /// Keys 1..n, equally likely.
    Uniform { n: u64 },
    /// Keys 1..n with popularity ∝ 1/k^s.
    Zipf { s: f64, n: u64 },
}

/// A retry policy.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The wait before each retry (none by default).
    #[serde(default = "no_backoff")]
    pub backoff: BackoffSpec,
    /// Which failures are retried (all three by default).
    #[serde(default = "retry_all")]
    pub on: Vec<RetryOnSpec>,
    /// Envoy's retry budget; none if absent.
    #[serde(default)]
    pub budget: Option<BudgetSpec>,
    /// The AWS SDKs' retry quota; none if absent.
    #[serde(default)]
    pub quota: Option<QuotaSpec>,
}

fn no_backoff() -> BackoffSpec {
    BackoffSpec::Fixed(Duration(0))
}

fn retry_all() -> Vec<RetryOnSpec> {
    vec![
        RetryOnSpec::Timeout,
        RetryOnSpec::Error,
        RetryOnSpec::Rejected,
    ]
}

/// The wait before a retry.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum BackoffSpec {
    /// The same wait every time.
    Fixed(Duration),
    /// min(cap, base·2^n) at the n-th failure, with jitter.
    Exponential {
        /// The first wait.
        base: Duration,
        /// The longest wait.
        cap: Duration,
        /// How the wait is randomized (`Full` by default).
        #[serde(default = "full_jitter")]
        jitter: JitterSpec,
    },
}

fn full_jitter() -> JitterSpec {
    JitterSpec::Full
}

/// Randomization of an exponential backoff (the AWS analysis' names).
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum JitterSpec {
    /// The exact exponential wait.
    None,
    /// Uniform between 0 and the exponential wait.
    Full,
    /// Half the exponential wait, plus uniform up to the other half.
    Equal,
    /// min(cap, uniform between base and 3 × the previous wait).
    Decorrelated,
}

/// A failure a retry policy may retry.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryOnSpec {
    /// The attempt timed out.
    Timeout,
    /// The callee answered with an error.
    Error,
    /// The callee refused it (full queue, limit, shedding).
    Rejected,
}

/// Envoy's retry budget: concurrent retries ≤ max(min_concurrency, percent% of active calls).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct BudgetSpec {
    /// Retries in flight may be this percent of active calls (20).
    #[serde(default = "twenty")]
    pub percent: f64,
    /// Retries always allowed in flight, whatever the percent (3).
    #[serde(default = "three")]
    pub min_concurrency: u32,
}

fn twenty() -> f64 {
    20.0
}
fn three() -> u32 {
    3
}

/// The AWS SDKs' retry quota; defaults are the standard mode's.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaSpec {
    /// Tokens in the bucket (500).
    pub capacity: u32,
    /// Tokens a retry after an error takes (5).
    pub retry_cost: u32,
    /// Tokens a retry after a timeout takes (10).
    pub timeout_cost: u32,
    /// Tokens a success returns (1).
    pub success_refill: u32,
}

impl Default for QuotaSpec {
    fn default() -> Self {
        QuotaSpec {
            capacity: 500,
            retry_cost: 5,
            timeout_cost: 10,
            success_refill: 1,
        }
    }
}

/// Hedged requests: another copy after `after` without an answer, at most `max` extra.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct HedgeSpec {
    /// Send a copy when an attempt is unanswered this long.
    pub after: Duration,
    /// Copies at most (1).
    #[serde(default = "one")]
    pub max: u32,
}

/// One downstream call of a handler. Its fields stand again in `ClientSpec` and in
/// `StepSpec::Call`: serde's `flatten` cannot be combined with `deny_unknown_fields`, and a
/// misspelt field must stay an error.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// The node called.
    pub target: String,
    /// Give up on an attempt not answered within this; never if absent.
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Retries of failed attempts; none if absent.
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Hedged copies of slow attempts; none if absent.
    #[serde(default)]
    pub hedge: Option<HedgeSpec>,
    /// A circuit breaker on this call; none if absent.
    #[serde(default)]
    pub breaker: Option<BreakerSpec>,
    /// One-way network latency to the target; none if absent.
    #[serde(default)]
    pub latency: Option<Dist>,
    /// At most this many of these calls at once from one caller; beyond, a call fails at
    /// once (a bulkhead).
    #[serde(default)]
    pub bulkhead: Option<u32>,
    /// A connection pool per caller replica.
    #[serde(default)]
    pub pool: Option<PoolSpec>,
}

/// A connection pool: calls wait for one of `size` connections, up to `acquire_timeout`
/// (forever if absent; HikariCP's default is 30 s).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    /// Connections per caller replica.
    pub size: u32,
    /// A call waiting longer for a connection fails unsent; it waits forever if absent.
    #[serde(default)]
    pub acquire_timeout: Option<Duration>,
}

/// A circuit breaker on a call edge; defaults are resilience4j's.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerSpec {
    /// The calls the rates are computed over (`Count(100)`).
    pub window: WindowSpec,
    /// Open at this percent of failed calls in the window (50).
    pub failure_rate: f64,
    /// Open at this percent of slow calls in the window (100).
    pub slow_call_rate: f64,
    /// Calls slower than this are slow (60 s).
    pub slow_call_duration: Duration,
    /// Calls in the window before the rates count (100).
    pub minimum_calls: u32,
    /// Time open before trying calls again (60 s).
    pub wait_open: Duration,
    /// Trial calls while half open (10).
    pub half_open_calls: u32,
    /// Go half open when `wait_open` ends, without waiting for a call (false).
    pub automatic_half_open: bool,
    /// Answer refused calls with a fallback (counted `degraded`) instead of an error.
    pub fallback: bool,
}

impl Default for BreakerSpec {
    fn default() -> Self {
        BreakerSpec {
            window: WindowSpec::Count(100),
            failure_rate: 50.0,
            slow_call_rate: 100.0,
            slow_call_duration: Duration(60_000_000_000),
            minimum_calls: 100,
            wait_open: Duration(60_000_000_000),
            half_open_calls: 10,
            automatic_half_open: false,
            fallback: false,
        }
    }
}

/// A breaker's sliding window: the last N calls, or the last N seconds.
#[derive(Deserialize, Debug, Clone, Copy)]
pub enum WindowSpec {
    /// The last N calls.
    Count(u32),
    /// The calls of the last N seconds.
    Time(u32),
}

/// What a failed call does to the request that made it.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnFailureSpec {
    /// The request fails.
    #[default]
    Fail,
    /// The request goes on, and its answer is `degraded`.
    Continue,
}

/// A step of a service's handler.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
#[allow(clippy::large_enum_variant)] // read once per file
pub enum StepSpec {
    /// The service's own `service_time`.
    Work,
    /// Work drawn from this distribution.
    Compute(Dist),
    /// A synchronous call; the worker waits for it.
    Call {
        /// The node called.
        target: String,
        /// Give up on an attempt not answered within this; never if absent.
        #[serde(default)]
        timeout: Option<Duration>,
        /// Retries of failed attempts; none if absent.
        #[serde(default)]
        retry: Option<RetrySpec>,
        /// Hedged copies of slow attempts; none if absent.
        #[serde(default)]
        hedge: Option<HedgeSpec>,
        /// A circuit breaker on this call; none if absent.
        #[serde(default)]
        breaker: Option<BreakerSpec>,
        /// One-way network latency to the target; none if absent.
        #[serde(default)]
        latency: Option<Dist>,
        /// At most this many of these calls at once from one caller; beyond, a call fails at once.
        #[serde(default)]
        bulkhead: Option<u32>,
        /// A connection pool per caller replica.
        #[serde(default)]
        pool: Option<PoolSpec>,
        /// What a failed call does (`Fail` by default).
        #[serde(default)]
        on_failure: OnFailureSpec,
    },
    /// Calls in parallel; go on once `need` have succeeded (all by default).
    Parallel {
        /// The calls, sent at once.
        calls: Vec<CallSpec>,
        /// Successes needed to go on; all by default.
        #[serde(default)]
        need: Option<u16>,
        /// What too few successes do (`Fail` by default).
        #[serde(default)]
        on_failure: OnFailureSpec,
    },
    /// Optional work: skipped when the service's `degrade` controller dims it.
    Optional(Box<StepSpec>),
}

/// When a client's requests arrive.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum Arrivals {
    /// Poisson arrivals, `rate` per second.
    Poisson { rate: f64 },
    /// Evenly spaced arrivals, `rate` per second.
    Constant { rate: f64 },
    /// Poisson arrivals at a rate that changes in steps: `[(at: "0s", rate: 50.0), ...]`.
    Schedule { steps: Vec<Step> },
    /// Bursts: Poisson at `base` per second, switching to `burst` per second; each state lasts
    /// an exponential time of mean `base_for` / `burst_for` (a two-state MMPP).
    Bursty {
        /// Arrivals per second in the base state.
        base: f64,
        /// Arrivals per second in the burst state.
        burst: f64,
        /// Mean time in the base state.
        base_for: Duration,
        /// Mean time in the burst state.
        burst_for: Duration,
    },
    /// A daily (or any) cycle: rate = mean × (1 + amplitude × sin(2π (t − phase) / period)).
    Diurnal {
        /// Mean arrivals per second.
        mean: f64,
        /// The swing, as a fraction of the mean.
        amplitude: f64,
        /// The cycle's length.
        period: Duration,
        /// The cycle's offset (0).
        #[serde(default)]
        phase: Duration,
    },
    /// Replays a CSV trace (path relative to the experiment file): `time_s[,key[,class]]`.
    Trace { file: String },
    /// `users` users, each thinking for a `think` time between answer and next request.
    Closed { users: u32, think: Dist },
}

/// A step of a rate schedule.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// From this time…
    pub at: Duration,
    /// …arrivals per second are this.
    pub rate: f64,
}

fn one() -> u32 {
    1
}
fn one_f() -> f64 {
    1.0
}

/// A service: replicas of workers with queues, running a handler for each request.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Replicas at the start (1).
    #[serde(default = "one")]
    pub replicas: u32,
    /// Workers (threads, processes) per replica; 1 unless a `size` gives it.
    #[serde(default)]
    pub workers: Option<u32>,
    /// Service times are divided by this; 1.0 unless a `size` gives it.
    #[serde(default)]
    pub speed: Option<f64>,
    /// Waiting room per replica; arrivals to a full queue are rejected. Unbounded if absent.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// The work of a `Work` step, drawn per request at its arrival.
    pub service_time: Dist,
    /// What a request does: `[Work]` by default.
    #[serde(default)]
    pub handler: Vec<StepSpec>,
    /// Handlers for particular request classes (by class name), instead of `handler`.
    #[serde(default)]
    pub routes: std::collections::BTreeMap<String, Vec<StepSpec>>,
    /// Skip queued requests whose caller's timeout has passed.
    #[serde(default)]
    pub drop_expired: bool,
    /// What an arrival to a full queue does.
    #[serde(default)]
    pub when_full: WhenFullSpec,
    /// Which waiting request is served next.
    #[serde(default)]
    pub order: OrderSpec,
    /// Facebook's server CoDel on the queue.
    #[serde(default)]
    pub codel: Option<CoDelSpec>,
    /// Serve higher-priority classes first and, when full, shed lower ones first.
    #[serde(default)]
    pub priority: bool,
    /// How much `Optional` work to do: a brownout dimmer or a feature switch.
    #[serde(default)]
    pub degrade: Option<DegradeSpec>,
    /// Each replica lets in at most this many requests at once, queued or in service; the
    /// rest are `rejected` (503) at once.
    #[serde(default)]
    pub concurrency_limit: Option<ConcurrencyLimitSpec>,
    /// A rate limit on all arrivals; refused ones are `rejected` (429) at once.
    #[serde(default)]
    pub limit: Option<LimiterSpec>,
    /// Limits per request class (tier), each with its own state, instead of `limit`.
    #[serde(default)]
    pub class_limits: std::collections::BTreeMap<String, LimiterSpec>,
    /// A limit per request key (user, API key), checked before the others; requests from
    /// clients without `keys` share one.
    #[serde(default)]
    pub key_limit: Option<LimiterSpec>,
    /// Price of one replica per hour; 0 unless a `size` gives it.
    #[serde(default)]
    pub cost_per_hour: Option<f64>,
    /// Named machine sizes this service can run on.
    #[serde(default)]
    pub sizes: std::collections::BTreeMap<String, SizeSpec>,
    /// The size of the replicas: its workers, speed and price, instead of those fields.
    #[serde(default)]
    pub size: Option<String>,
    /// Cold start: time from a replica's launch to ready. At once if absent.
    #[serde(default)]
    pub startup: Option<Dist>,
    /// A new replica works slower for a while once ready (caches, JIT, connection pools).
    #[serde(default)]
    pub warm_up: Option<WarmUpSpec>,
    /// Scales the replica count (or size) with the load; none if absent.
    #[serde(default)]
    pub autoscaler: Option<AutoscalerSpec>,
    /// Function-style (serverless): instances started per request on demand.
    #[serde(default)]
    pub function: Option<FunctionSpec>,
}

fn ten_minutes() -> Duration {
    secs(600)
}
fn thousand() -> u32 {
    1000
}

/// A function-style service: AWS Lambda's defaults (one request per instance, 1,000
/// concurrent instances per account, reclaimed after some idle minutes).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct FunctionSpec {
    /// Requests one instance serves at once (1).
    #[serde(default = "one")]
    pub concurrency: u32,
    /// Account-level cap on concurrent instances; requests beyond it are throttled.
    #[serde(default = "thousand")]
    pub cap: u32,
    /// An instance idle this long is reclaimed (10 minutes).
    #[serde(default = "ten_minutes")]
    pub idle_timeout: Duration,
    /// Price of each invocation, beside compute time (0).
    #[serde(default)]
    pub price_per_request: f64,
}

/// What an arrival to a full queue does.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum WhenFullSpec {
    /// It is refused (503).
    #[default]
    Reject,
    /// The longest-waiting request is shed to make room.
    DropOldest,
    /// The caller waits for a place, holding its worker.
    Block,
}

/// Which waiting request a free worker takes.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum OrderSpec {
    /// The oldest.
    #[default]
    Fifo,
    /// The newest.
    Lifo,
    /// The oldest, but the newest while CoDel reports overload.
    AdaptiveLifo,
}

fn five_ms() -> Duration {
    Duration(5_000_000)
}
fn hundred_ms() -> Duration {
    Duration(100_000_000)
}

/// CoDel's target queueing delay and interval (Facebook's defaults: 5 ms, 100 ms).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct CoDelSpec {
    /// The queueing delay CoDel aims for (5 ms).
    #[serde(default = "five_ms")]
    pub target: Duration,
    /// How often overload is judged (100 ms).
    #[serde(default = "hundred_ms")]
    pub interval: Duration,
}

fn s1() -> Duration {
    secs(1)
}
fn s5() -> Duration {
    secs(5)
}
fn s30() -> Duration {
    secs(30)
}
fn pole() -> f64 {
    0.9
}
fn half() -> f64 {
    0.5
}
fn p99() -> f64 {
    0.99
}

/// How much optional work a service does.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum DegradeSpec {
    /// A brownout dimmer keeping the worst response time of `window` near `setpoint`.
    Brownout {
        /// The worst response time to aim for.
        setpoint: Duration,
        /// Time between controller updates (1 s).
        #[serde(default = "s1")]
        period: Duration,
        /// Response times of this window are watched (5 s).
        #[serde(default = "s5")]
        window: Duration,
        /// The controller's pole, 0 to 1 (0.9).
        #[serde(default = "pole")]
        pole: f64,
        /// The starting dimmer (0.5).
        #[serde(default = "half")]
        initial: f64,
    },
    /// Optional work off while the `quantile` of response times over `window` is above
    /// `above`, on again below `below` (`above` if absent).
    Switch {
        /// The response-time quantile watched (0.99).
        #[serde(default = "p99")]
        quantile: f64,
        /// Off while the quantile is above this.
        above: Duration,
        /// On again below this (`above` if absent).
        #[serde(default)]
        below: Option<Duration>,
        /// Response times of this window are watched (30 s).
        #[serde(default = "s30")]
        window: Duration,
        /// Time between checks (1 s).
        #[serde(default = "s1")]
        period: Duration,
    },
}

fn limit_initial() -> u32 {
    20
}
fn limit_max() -> u32 {
    200
}
fn backoff() -> f64 {
    0.9
}
fn smoothing() -> f64 {
    0.2
}
fn queue_size() -> u32 {
    4
}
fn tolerance() -> f64 {
    1.5
}
fn long_window() -> u32 {
    600
}

/// A concurrency limit per replica; defaults are Netflix concurrency-limits'.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum ConcurrencyLimitSpec {
    /// A constant limit.
    Fixed(u32),
    /// +1 while busy, × `backoff` on a failure or an answer slower than `timeout`.
    Aimd {
        /// The starting limit (20).
        #[serde(default = "limit_initial")]
        initial: u32,
        /// The lowest limit (20).
        #[serde(default = "limit_initial")]
        min: u32,
        /// The highest limit (200).
        #[serde(default = "limit_max")]
        max: u32,
        /// The factor applied on a drop (0.9).
        #[serde(default = "backoff")]
        backoff: f64,
        /// Answers slower than this count as drops (5 s).
        #[serde(default = "s5")]
        timeout: Duration,
    },
    /// Grows while response times stay near their long average, shrinks as they rise.
    Gradient2 {
        /// The starting limit (20).
        #[serde(default = "limit_initial")]
        initial: u32,
        /// The lowest limit (20).
        #[serde(default = "limit_initial")]
        min: u32,
        /// The highest limit (200).
        #[serde(default = "limit_max")]
        max: u32,
        /// Weight of a new sample (0.2).
        #[serde(default = "smoothing")]
        smoothing: f64,
        /// Requests allowed to queue above the estimate (4).
        #[serde(default = "queue_size")]
        queue_size: u32,
        /// How much slower than the long average counts as normal (1.5).
        #[serde(default = "tolerance")]
        tolerance: f64,
        /// Samples in the long average (600).
        #[serde(default = "long_window")]
        long_window: u32,
    },
}

/// A machine size.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct SizeSpec {
    /// Workers per replica.
    pub workers: u32,
    /// Work is divided by this (1.0).
    #[serde(default = "one_f")]
    pub speed: f64,
    /// Price per replica per hour (0).
    #[serde(default)]
    pub cost_per_hour: f64,
}

/// For `for` after becoming ready a replica works at `speed` of its full speed.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct WarmUpSpec {
    /// How long the warm-up lasts.
    pub r#for: Duration,
    /// The share of full speed meanwhile.
    pub speed: f64,
}

fn secs(s: u64) -> Duration {
    Duration(s * 1_000_000_000)
}
fn s15() -> Duration {
    secs(15)
}
fn s60() -> Duration {
    secs(60)
}
fn s300() -> Duration {
    secs(300)
}
fn tenth() -> f64 {
    0.1
}
fn fifteen() -> u32 {
    15
}

/// A horizontal autoscaler: bounds, the metric and its target, and a policy.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AutoscalerSpec {
    /// The fewest replicas (1).
    #[serde(default = "one")]
    pub min: u32,
    /// Required by the horizontal policies.
    #[serde(default)]
    pub max: Option<u32>,
    /// The metric and its target per ready replica.
    pub metric: MetricSpec,
    /// The metric is averaged over this window…
    #[serde(default = "s15")]
    pub window: Duration,
    /// …ending this long before each decision (metrics pipelines lag).
    #[serde(default)]
    pub lag: Duration,
    /// How it decides (the Kubernetes HPA by default).
    #[serde(default)]
    pub policy: ScalingPolicySpec,
    /// Changes of the bounds at given times (pre-scaling before a known peak).
    #[serde(default)]
    pub schedule: Vec<ScheduledSpec>,
}

/// What an autoscaler keeps near its target, per ready replica.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum MetricSpec {
    /// Busy workers over workers, 0 to 1 (like CPU utilization).
    Utilization(f64),
    /// Requests in a replica, queued or in service.
    Concurrency(f64),
    /// Requests waiting in a replica's queue.
    QueueLength(f64),
    /// Arrivals per second per replica.
    RequestsPerReplica(f64),
}

/// How an autoscaler decides.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum ScalingPolicySpec {
    /// The Kubernetes HPA.
    Hpa {
        /// Time between decisions (15 s).
        #[serde(default = "s15")]
        sync_period: Duration,
        /// No change while the metric is within this ratio of its target (0.1).
        #[serde(default = "tenth")]
        tolerance: f64,
        /// Kubernetes' defaults where absent.
        #[serde(default)]
        scale_up: BehaviorSpec,
        /// Scale-down behavior; Kubernetes' defaults where absent.
        #[serde(default)]
        scale_down: BehaviorSpec,
    },
    /// AWS target tracking.
    TargetTracking {
        /// The alarm period (60 s).
        #[serde(default = "s60")]
        period: Duration,
        /// Periods above target before scaling out (3).
        #[serde(default = "three")]
        out_datapoints: u32,
        /// Periods below target before scaling in (15).
        #[serde(default = "fifteen")]
        in_datapoints: u32,
        /// Time after a scale-out before another (300 s).
        #[serde(default = "s300")]
        scale_out_cooldown: Duration,
        /// Time after a scale-in before another (300 s).
        #[serde(default = "s300")]
        scale_in_cooldown: Duration,
        /// Never scale in (false).
        #[serde(default)]
        disable_scale_in: bool,
    },
    /// Vertical scaling by rule: the smallest of `sizes` (names of the service's sizes,
    /// smallest capacity first) that holds utilization at or below the target.
    Vertical {
        /// Sizes to choose from, smallest capacity first.
        sizes: Vec<String>,
        /// Time between decisions (60 s).
        #[serde(default = "s60")]
        period: Duration,
        /// A smaller size is chosen only if it held for this long (300 s).
        #[serde(default = "s300")]
        stabilization: Duration,
        /// How replicas move to the new size (`Restart` by default).
        #[serde(default)]
        strategy: ResizeStrategy,
        /// Startup time of a resized replica, instead of the service's `startup`.
        #[serde(default)]
        restart: Option<Duration>,
    },
    /// AWS step scaling: the metric's value is the alarm threshold.
    StepScaling {
        /// The alarm period (60 s).
        #[serde(default = "s60")]
        period: Duration,
        /// The adjustment per range of the metric's distance from the threshold.
        steps: Vec<ScalingStepSpec>,
        /// Periods in alarm before acting (1).
        #[serde(default = "one")]
        datapoints: u32,
        /// Time after an action before another (300 s).
        #[serde(default = "s300")]
        cooldown: Duration,
    },
}

impl Default for ScalingPolicySpec {
    fn default() -> Self {
        ScalingPolicySpec::Hpa {
            sync_period: s15(),
            tolerance: tenth(),
            scale_up: BehaviorSpec::default(),
            scale_down: BehaviorSpec::default(),
        }
    }
}

/// One direction of an HPA's behavior; absent fields take Kubernetes' defaults.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct BehaviorSpec {
    /// Recommendations over this window are combined (up: 0 s, down: 300 s).
    #[serde(default)]
    pub stabilization: Option<Duration>,
    /// Rate limits on changes (up: 4 pods or 100% per 15 s; down: 100% per 15 s).
    #[serde(default)]
    pub policies: Option<Vec<RatePolicySpec>>,
    /// Which policy applies when several do (`Max`).
    #[serde(default)]
    pub select: Option<SelectSpec>,
}

/// A limit on how fast an HPA changes the replica count.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum RatePolicySpec {
    /// At most `value` replicas per `period`.
    Pods { value: u32, period: Duration },
    /// At most `value` percent of the replicas per `period`.
    Percent { value: u32, period: Duration },
}

/// Which of several rate policies applies.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum SelectSpec {
    /// The one allowing the largest change.
    Max,
    /// The one allowing the smallest change.
    Min,
    /// No change in this direction.
    Disabled,
}

/// A step: applies when the metric minus the threshold is within its bounds.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct ScalingStepSpec {
    /// The step applies from this distance above the threshold; unbounded below if absent.
    #[serde(default)]
    pub lower: Option<f64>,
    /// …up to this distance; unbounded above if absent.
    #[serde(default)]
    pub upper: Option<f64>,
    /// What the step does to the replica count.
    pub adjust: AdjustSpec,
}

/// A step scaling adjustment.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum AdjustSpec {
    /// Add this many replicas (negative: remove).
    Change(i32),
    /// Add this percent of the replicas.
    Percent(f64),
    /// Set the count to this.
    Exact(u32),
}

/// A scheduled change of an autoscaler's bounds.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct ScheduledSpec {
    /// When the change applies.
    pub at: Duration,
    /// The new lower bound; unchanged if absent.
    #[serde(default)]
    pub min: Option<u32>,
    /// The new upper bound; unchanged if absent.
    #[serde(default)]
    pub max: Option<u32>,
}

/// A rate limiter. With `max_delay`, a bucket delays a request that does not conform yet
/// (by up to that long) instead of refusing it.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub enum LimiterSpec {
    /// `burst` tokens, refilled at `rate` per second; a request takes one.
    TokenBucket {
        /// Tokens per second.
        rate: f64,
        /// Tokens the bucket holds.
        burst: u32,
        /// Delay a non-conforming request up to this instead of refusing it; refuse if absent.
        #[serde(default)]
        max_delay: Option<Duration>,
    },
    /// NGINX `limit_req`: requests drain at `rate` per second, `burst` may wait.
    LeakyBucket {
        /// Requests per second.
        rate: f64,
        /// Requests that may wait beyond the rate.
        burst: u32,
        /// Delay a non-conforming request up to this instead of refusing it; refuse if absent.
        #[serde(default)]
        max_delay: Option<Duration>,
    },
    /// The generic cell rate algorithm: `rate` per second with `burst` of slack.
    Gcra {
        /// Requests per second.
        rate: f64,
        /// Requests allowed at once beyond the rate.
        burst: u32,
        /// Delay a non-conforming request up to this instead of refusing it; refuse if absent.
        #[serde(default)]
        max_delay: Option<Duration>,
    },
    /// At most `limit` requests per `window`, counted from each window's start.
    FixedWindow {
        /// Requests allowed per window.
        limit: u32,
        /// The window's length.
        window: Duration,
    },
    /// At most `limit` requests in any `window`, weighting the previous window.
    SlidingWindow {
        /// Requests allowed per window.
        limit: u32,
        /// The window's length.
        window: Duration,
    },
}

impl LimiterSpec {
    /// Whether it delays rather than refuses.
    pub fn delays(&self) -> bool {
        match self {
            LimiterSpec::TokenBucket { max_delay, .. }
            | LimiterSpec::LeakyBucket { max_delay, .. }
            | LimiterSpec::Gcra { max_delay, .. } => max_delay.is_some_and(|d| d.0 > 0),
            LimiterSpec::FixedWindow { .. } | LimiterSpec::SlidingWindow { .. } => false,
        }
    }
}

/// A distribution of durations.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum Dist {
    /// Exponential, with this mean.
    Exponential {
        /// The mean.
        mean: Duration,
    },
    /// Always this value.
    Deterministic {
        /// The value.
        value: Duration,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// The smallest value.
        min: Duration,
        /// The largest value.
        max: Duration,
    },
    /// Given by its mean and coefficient of variation (standard deviation / mean).
    LogNormal {
        /// The mean.
        mean: Duration,
        /// The coefficient of variation (standard deviation / mean).
        cv: f64,
    },
    /// Given by its mean and coefficient of variation.
    Gamma {
        /// The mean.
        mean: Duration,
        /// The coefficient of variation (standard deviation / mean).
        cv: f64,
    },
    /// The sum of `k` exponentials, with this mean in all.
    Erlang {
        /// The number of phases.
        k: u32,
        /// The mean.
        mean: Duration,
    },
    /// Minimum `scale`, tail index `shape` (the mean is finite only for shape > 1).
    Pareto {
        /// The smallest value.
        scale: Duration,
        /// The tail index.
        shape: f64,
    },
    /// Each draw picks one of `values` uniformly.
    Empirical {
        /// The values to draw from.
        values: Vec<Duration>,
    },
}

/// An experiment: `Experiment(...)`. Beside these fields it has `model` (a model file's name,
/// or an embedded `Model(...)`), `set` (overrides by dotted path: `{ "app.replicas": 4 }`),
/// `variants` (named override sets), `sweep` (a grid of values per path, or `Zip({...})`)
/// and `plan` (see the README).
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The experiment's name; the file's stem if absent.
    #[serde(default)]
    pub name: Option<String>,
    /// What it shows, in a sentence (shown in reports).
    #[serde(default)]
    pub description: String,
    /// Simulated time of each run.
    pub duration: Duration,
    /// Time at the start of each run left out of the measurements (0).
    #[serde(default)]
    pub warmup: Duration,
    /// The seed every random stream is derived from (1).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Independent runs per point (1).
    #[serde(default = "one")]
    pub replications: u32,
    /// Safety caps on each run.
    #[serde(default)]
    pub limits: Limits,
    /// The variant others are compared with (paired differences); the first one by default.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Sequential stopping: add replications until a metric is known precisely enough.
    #[serde(default)]
    pub stop_when: Option<StopWhen>,
    /// Faults and actions on the run's timeline.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Expectations checked against the results (`scalesim check`).
    #[serde(default)]
    pub expect: Vec<String>,
    /// A shorter profile for `scalesim check --quick`.
    #[serde(default)]
    pub quick: Option<QuickSpec>,
    /// Width of a time-series bucket (default: a 200th of the duration, whole milliseconds).
    #[serde(default)]
    pub bucket: Option<Duration>,
}

impl Settings {
    /// The time-series bucket width.
    pub fn bucket(&self) -> Nanos {
        self.bucket.map_or_else(
            || (self.duration.0 / 200 / 1_000_000).max(1) * 1_000_000,
            |b| b.0,
        )
    }
}

/// What `--quick` changes: a shorter run, fewer replications.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub struct QuickSpec {
    /// The run's duration in the quick profile.
    #[serde(default)]
    pub duration: Option<Duration>,
    /// Its warm-up.
    #[serde(default)]
    pub warmup: Option<Duration>,
    /// Its replications.
    #[serde(default)]
    pub replications: Option<u32>,
}

impl FaultSpec {
    /// What the fault is, the node it acts on (a latency fault: caller→callee), and its
    /// window in seconds (`None` at the end: it lasts to the end of the run).
    pub fn timeline(&self) -> (&'static str, String, f64, Option<f64>) {
        let window = |at: &Duration, d: &Duration| Some(at.secs() + d.secs());
        match self {
            FaultSpec::Slowdown {
                node, at, r#for, ..
            } => ("slowdown", node.clone(), at.secs(), window(at, r#for)),
            FaultSpec::Errors {
                node, at, r#for, ..
            } => ("errors", node.clone(), at.secs(), window(at, r#for)),
            FaultSpec::Crash {
                node, at, r#for, ..
            } => (
                "crash",
                node.clone(),
                at.secs(),
                r#for.map(|d| at.secs() + d.secs()),
            ),
            FaultSpec::Latency {
                from,
                to,
                at,
                r#for,
                ..
            } => (
                "latency",
                format!("{from}→{to}"),
                at.secs(),
                window(at, r#for),
            ),
            FaultSpec::Canary {
                node, at, r#for, ..
            } => ("canary", node.clone(), at.secs(), window(at, r#for)),
            FaultSpec::Scale { node, at, .. } => {
                ("scale", node.clone(), at.secs(), Some(at.secs()))
            }
            FaultSpec::Deploy { node, at, .. } => {
                ("deploy", node.clone(), at.secs(), Some(at.secs()))
            }
            FaultSpec::Resize { node, at, .. } => {
                ("resize", node.clone(), at.secs(), Some(at.secs()))
            }
        }
    }
}

/// A fault on the experiment's timeline.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum FaultSpec {
    /// Work on `node` (or one replica of it) takes `factor` times longer during the window.
    Slowdown {
        /// The node it acts on.
        node: String,
        /// Only this replica; all if absent.
        #[serde(default)]
        replica: Option<u32>,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// How many times longer work takes.
        factor: f64,
    },
    /// Requests finishing on `node` (or one replica) fail with probability `rate` meanwhile.
    Errors {
        /// The node it acts on.
        node: String,
        /// Only this replica; all if absent.
        #[serde(default)]
        replica: Option<u32>,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// The failure probability of each request.
        rate: f64,
    },
    /// Calls from `from` to `to` sent during the window take `add` longer each way.
    Latency {
        /// The caller.
        from: String,
        /// The callee.
        to: String,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// Latency added each way.
        add: Duration,
    },
    /// Replica `replica` of `node` crashes at `at`, and recovers after `for` if given.
    Crash {
        /// The node it acts on.
        node: String,
        /// The replica that crashes (0).
        #[serde(default)]
        replica: u32,
        /// When it starts.
        at: Duration,
        /// Down this long; for the rest of the run if absent.
        #[serde(default)]
        r#for: Option<Duration>,
    },
    /// Set `node`'s desired replica count at `at` (a manual scaling action).
    Scale {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// The desired replica count from then on.
        replicas: u32,
    },
    /// Roll `node` to a new version: a rolling update as Kubernetes' (25% surge and 25%
    /// unavailable by default), or blue-green.
    Deploy {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// Rolling update or blue-green (`Rolling` by default).
        #[serde(default)]
        strategy: DeployStrategy,
        /// Startup time of each new replica, instead of the service's `startup`.
        #[serde(default)]
        restart: Option<Duration>,
    },
    /// A canary: `replicas` extra replicas of a new version, `factor` times slower and
    /// failing with probability `rate`, take their share of traffic for `for`, then are
    /// rolled back.
    Canary {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// Canary replicas (1).
        #[serde(default = "one")]
        replicas: u32,
        /// How many times slower the new version works (1.0).
        #[serde(default = "one_f64")]
        factor: f64,
        /// The new version's failure probability (0).
        #[serde(default)]
        rate: f64,
    },
    /// Move `node` to another of its sizes at `at`, replica by replica: `Restart` takes one
    /// down at a time, `Surge` starts the new one first.
    Resize {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// The size to move to.
        size: String,
        /// `Restart` (by default) or `Surge`.
        #[serde(default)]
        strategy: ResizeStrategy,
        /// Startup time of each resized replica, instead of the service's `startup`.
        #[serde(default)]
        restart: Option<Duration>,
    },
}

fn one_f64() -> f64 {
    1.0
}

/// How a new version replaces the old.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum DeployStrategy {
    /// Kubernetes' rolling update: 25% surge, 25% unavailable.
    #[default]
    Rolling,
    /// Rolling with explicit bounds (replica counts).
    RollingUpdate {
        /// Replicas above the desired count while rolling.
        max_surge: u32,
        /// Replicas below the desired count that may be unavailable.
        max_unavailable: u32,
    },
    /// Start every new replica, then switch all traffic at once.
    BlueGreen,
}

/// How replicas move to another size.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum ResizeStrategy {
    /// One at a time: down, then up on the new size.
    #[default]
    Restart,
    /// Start the new one first, then drain the old.
    Surge,
}

/// Add batches of `replications` runs to every point until `metric`'s ci95 half-width is at
/// most `rel_ci95` × |mean|, or the point has `max_replications` runs.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StopWhen {
    /// An experiment metric (`latency_p99_s`) or a node's (`app.wait_mean_s`).
    pub metric: String,
    /// Stop when the ci95 half-width is at most this fraction of |mean|.
    pub rel_ci95: f64,
    /// The most runs per point.
    pub max_replications: u32,
}

fn default_seed() -> u64 {
    1
}

/// Safety caps on one run, so an unstable model cannot take the machine down.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Events per run before it stops with a warning (2 × 10⁹).
    pub max_events: u64,
    /// Requests in flight before the run stops as unstable (10⁶).
    pub max_in_flight: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: 2_000_000_000,
            max_in_flight: 1_000_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("10m"), Ok(600_000_000_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000_000_000));
        assert_eq!(parse_duration("3us"), Ok(3_000));
        assert_eq!(parse_duration("40ns"), Ok(40));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("-5s").is_err());
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1h2m3s"), Ok(3_723_000_000_000));
        assert!(parse_duration("1m30").unwrap_err().contains("no unit"));
    }
}
