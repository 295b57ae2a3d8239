//! Calls: timeouts, retries, hedging, breakers, pools, and the handler steps that make
//! calls.

use super::*;

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
    /// gRPC's retry throttling; none if absent.
    #[serde(default)]
    pub throttle: Option<ThrottleSpec>,
    /// Finagle's retry budget; none if absent.
    #[serde(default)]
    pub rate_budget: Option<RateBudgetSpec>,
}

pub(in crate::model) fn no_backoff() -> BackoffSpec {
    BackoffSpec::Fixed(Duration(0))
}

pub(in crate::model) fn retry_all() -> Vec<RetryOnSpec> {
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

pub(in crate::model) fn full_jitter() -> JitterSpec {
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

pub(in crate::model) fn twenty() -> f64 {
    20.0
}

/// gRPC's retry throttling (`retryThrottling`, gRFC A6): a token count per caller starting
/// at `max_tokens`; a retryable failure takes one token, a success returns `token_ratio`;
/// retries stop while the count is at or below half of `max_tokens`. gRPC has no defaults.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// The most tokens, in (0, 1000].
    pub max_tokens: f64,
    /// Tokens a success returns, above 0 (in thousandths).
    pub token_ratio: f64,
}

/// Finagle's `RetryBudget`: over any `ttl`, retries may be `percent` of the requests plus
/// `min_retries_per_sec` × `ttl` (Finagle's defaults: 10 s, 10 per second, 20%).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct RateBudgetSpec {
    /// How long a request's deposit and a retry's withdrawal count (10 s; 1 s to 60 s).
    #[serde(default = "ten_s")]
    pub ttl: Duration,
    /// Retries always allowed per second, whatever the requests (10).
    #[serde(default = "ten_u32")]
    pub min_retries_per_sec: u32,
    /// Retries allowed as a percentage of requests (20).
    #[serde(default = "twenty")]
    pub percent: f64,
}

pub(in crate::model) fn ten_u32() -> u32 {
    10
}
pub(in crate::model) fn three() -> u32 {
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
    /// Copies at most this percent of calls over 10 s, beyond a reserve of 10 a second
    /// (Finagle's backup requests: `maxExtraLoad` as a retry budget); unlimited if absent.
    #[serde(default)]
    pub max_extra_load: Option<f64>,
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
    /// Connections each replica keeps open at the target from its start to its end, busy
    /// or idle (HikariCP's `minimumIdle`, which defaults to the pool's size); if absent,
    /// connections count at the target only while a call uses them.
    #[serde(default)]
    pub min_idle: Option<u32>,
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

pub(in crate::model) fn one() -> u32 {
    1
}
pub(in crate::model) fn one_f() -> f64 {
    1.0
}
