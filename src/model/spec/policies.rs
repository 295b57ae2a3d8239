//! The parts of a service: queue policies and overload, degradation, concurrency limits,
//! machine sizes, autoscalers, limiters, function-style instances.

use super::*;

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
    /// How fast instances may be added: Lambda's 1,000 every 10 s (`ScalingRate(instances:
    /// 1000, every: "10s")`); beyond it requests are throttled. `None`: no limit.
    #[serde(default = "lambda_scaling_rate")]
    pub scaling_rate: Option<ScalingRateSpec>,
    /// An instance idle this long is reclaimed (10 minutes).
    #[serde(default = "ten_minutes")]
    pub idle_timeout: Duration,
    /// Price of each invocation, beside compute time (0).
    #[serde(default)]
    pub price_per_request: f64,
}

/// A limit on how fast a function adds instances.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct ScalingRateSpec {
    /// New instances per period (1,000).
    #[serde(default = "thousand")]
    pub instances: u32,
    /// The period (10 s).
    #[serde(default = "ten_s")]
    pub every: Duration,
}

pub(in crate::model) fn lambda_scaling_rate() -> Option<ScalingRateSpec> {
    Some(ScalingRateSpec {
        instances: 1000,
        every: Duration(10_000_000_000),
    })
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

pub(in crate::model) fn five_ms() -> Duration {
    Duration(5_000_000)
}
pub(in crate::model) fn hundred_ms() -> Duration {
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

pub(in crate::model) fn s1() -> Duration {
    secs(1)
}
pub(in crate::model) fn s5() -> Duration {
    secs(5)
}
pub(in crate::model) fn s30() -> Duration {
    secs(30)
}
pub(in crate::model) fn pole() -> f64 {
    0.9
}
pub(in crate::model) fn half() -> f64 {
    0.5
}
pub(in crate::model) fn p99() -> f64 {
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

pub(in crate::model) fn limit_initial() -> u32 {
    20
}
pub(in crate::model) fn limit_max() -> u32 {
    200
}
pub(in crate::model) fn backoff() -> f64 {
    0.9
}
pub(in crate::model) fn smoothing() -> f64 {
    0.2
}
pub(in crate::model) fn queue_size() -> u32 {
    4
}
pub(in crate::model) fn tolerance() -> f64 {
    1.5
}
pub(in crate::model) fn long_window() -> u32 {
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
    /// TCP Vegas: grows while the estimated queue (limit × (1 − no-load RTT / RTT)) is small,
    /// shrinks when it is large or a request fails.
    Vegas {
        /// The starting limit (20).
        #[serde(default = "limit_initial")]
        initial: u32,
        /// The highest limit (1,000).
        #[serde(default = "thousand")]
        max: u32,
        /// Weight of a new limit (1.0: none).
        #[serde(default = "one_f64")]
        smoothing: f64,
        /// The no-load RTT is probed again every 15–30 × this × the limit samples (30).
        #[serde(default = "thirty")]
        probe_multiplier: u32,
    },
    /// Envoy's adaptive concurrency filter (gradient controller): the limit follows
    /// (minRTT + buffer) / sampleRTT with √limit of headroom; the minRTT is measured with
    /// the limit pinned to `min_concurrency`, periodically.
    EnvoyGradient {
        /// How often the limit is recalculated (`concurrency_update_interval`, required in
        /// Envoy; 100 ms here).
        #[serde(default = "ms100")]
        update_interval: Duration,
        /// The percentile of a window's latencies taken as its sampleRTT (50).
        #[serde(default = "fifty")]
        percentile: f64,
        /// The highest limit (1,000).
        #[serde(default = "thousand")]
        max: u32,
        /// Time between minRTT measurements (60 s).
        #[serde(default = "s60")]
        min_rtt_interval: Duration,
        /// Requests a minRTT measurement takes (50).
        #[serde(default = "fifty_u32")]
        request_count: u32,
        /// A random delay of up to this percent of the interval before each measurement (10).
        #[serde(default = "ten")]
        jitter: f64,
        /// The limit while measuring the minRTT, and the lowest limit (3).
        #[serde(default = "three")]
        min_concurrency: u32,
        /// The minRTT's margin before latency counts as rising, in percent (25).
        #[serde(default = "twenty_five")]
        buffer: f64,
    },
}

pub(in crate::model) fn ms100() -> Duration {
    Duration(100_000_000)
}
pub(in crate::model) fn fifty() -> f64 {
    50.0
}
pub(in crate::model) fn fifty_u32() -> u32 {
    50
}
pub(in crate::model) fn twenty_five() -> f64 {
    25.0
}

pub(in crate::model) fn one_f64() -> f64 {
    1.0
}
pub(in crate::model) fn thirty() -> u32 {
    30
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

pub(in crate::model) fn secs(s: u64) -> Duration {
    Duration(s * 1_000_000_000)
}
pub(in crate::model) fn s15() -> Duration {
    secs(15)
}
pub(in crate::model) fn s60() -> Duration {
    secs(60)
}
pub(in crate::model) fn s300() -> Duration {
    secs(300)
}
pub(in crate::model) fn tenth() -> f64 {
    0.1
}
pub(in crate::model) fn fifteen() -> u32 {
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
        /// Time after a scale-out during which the capacity it added counts toward the next
        /// scale-out (300 s): only a larger one goes ahead.
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
    /// The Compute Engine managed instance group autoscaler: the recommended size is the
    /// peak of the sizes the metric asked for over the `stabilization` period (so it scales
    /// out at once and in only after 10 minutes of lower demand), within optional scale-in
    /// controls; no tolerance.
    Gcp {
        /// Time between recalculations (GCP recalculates constantly; 15 s here).
        #[serde(default = "s15")]
        period: Duration,
        /// Scale-in uses the highest recommendation over this period (10 minutes).
        #[serde(default = "ten_minutes")]
        stabilization: Duration,
        /// At most this many replicas, or this percent, removed within a trailing window.
        #[serde(default)]
        scale_in_control: Option<ScaleInControlSpec>,
        /// `ONLY_SCALE_OUT` mode: never remove replicas (false).
        #[serde(default)]
        only_scale_out: bool,
    },
    /// Azure autoscale (VM scale sets): a scale-out rule above `out_above` and a scale-in
    /// rule below `in_below`, on the metric averaged over the autoscaler's `window` (Azure's
    /// rule duration: 10 minutes by default there); a cooldown after each action; a
    /// scale-in that would bring the metric to the scale-out threshold is skipped (the
    /// flapping guard).
    Azure {
        /// Time between evaluations (60 s).
        #[serde(default = "s60")]
        period: Duration,
        /// Scale out while the metric is above this.
        out_above: f64,
        /// Scale in while the metric is below this.
        in_below: f64,
        /// Replicas a scale-out adds (`Change(1)`).
        #[serde(default = "change_one")]
        out_by: AdjustSpec,
        /// Replicas a scale-in removes (`Change(1)`).
        #[serde(default = "change_one")]
        in_by: AdjustSpec,
        /// Time after any action before another (5 minutes).
        #[serde(default = "s300")]
        cooldown: Duration,
    },
}

/// GCP's scale-in controls: `max_replicas` or `max_percent` removed within `window`.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct ScaleInControlSpec {
    /// At most this many replicas removed within the window.
    #[serde(default)]
    pub max_replicas: Option<u32>,
    /// At most this percent of the replicas removed within the window.
    #[serde(default)]
    pub max_percent: Option<u32>,
    /// The trailing window (10 minutes).
    #[serde(default = "ten_minutes")]
    pub window: Duration,
}

pub(in crate::model) fn change_one() -> AdjustSpec {
    AdjustSpec::Change(1)
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
        /// NGINX `delay=N` (two-stage limiting): the first `delay` requests beyond the rate
        /// pass at once, the rest up to `burst` wait; delaying without `max_delay`.
        #[serde(default)]
        delay: Option<u32>,
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
            LimiterSpec::LeakyBucket { delay: Some(_), .. } => true,
            LimiterSpec::TokenBucket { max_delay, .. }
            | LimiterSpec::LeakyBucket { max_delay, .. }
            | LimiterSpec::Gcra { max_delay, .. } => max_delay.is_some_and(|d| d.0 > 0),
            LimiterSpec::FixedWindow { .. } | LimiterSpec::SlidingWindow { .. } => false,
        }
    }
}
