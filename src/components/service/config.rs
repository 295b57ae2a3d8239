//! What a service is configured with: its steps, faults, rollouts, sizes and limits.

use super::*;

/// What a handler does when a call fails (after its retries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFailure {
    /// The request fails: the caller gets an error.
    Fail,
    /// Carry on without the answer (a fallback): the request is `degraded`, not failed.
    Continue,
}

#[derive(Clone, Debug)]
pub enum Step {
    /// Work on a worker; `None` is the service's `service_time`.
    Compute(Option<DistParams>),
    /// A synchronous call through call site `site`.
    Call { site: u16, on_failure: OnFailure },
    /// Calls through every site at once; go on when `need` have succeeded.
    Parallel {
        sites: Vec<u16>,
        need: u16,
        on_failure: OnFailure,
    },
    /// Optional work: done with the dimmer's probability, else skipped and the answer is
    /// `Degraded`.
    Optional(Box<Step>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Work started during the window takes `factor` times longer.
    Slowdown { factor: f64, replica: Option<u32> },
    /// Each request finishing its work during the window fails with this probability.
    Errors { rate: f64, replica: Option<u32> },
    /// The replica goes down: its queue and running requests fail, arrivals are refused.
    Crash { replica: u32 },
    /// Set the desired replica count (a manual or scheduled scaling action).
    Scale { replicas: u32 },
    /// Replace every replica with a new version, perhaps of another size.
    Rollout(Rollout),
    /// Extra replicas of a new version that is `factor` times slower and fails with
    /// probability `rate`, beside the desired ones, for the window; then rolled back.
    Canary {
        replicas: u32,
        factor: f64,
        rate: f64,
    },
}

/// A rollout bound: a replica count, or a percentage of the desired count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    Count(u32),
    Percent(u32),
}

/// How a new version replaces the old (Kubernetes' rolling update, or blue-green).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rollout {
    /// Replicas above the desired count while rolling (a percentage rounds up).
    pub max_surge: Bound,
    /// Replicas below the desired count that may be unavailable (a percentage rounds down).
    pub max_unavailable: Bound,
    /// Start every new replica first, then switch all traffic at once.
    pub blue_green: bool,
    /// The new version's size; `None` keeps the current one.
    pub size: Option<Size>,
    /// Startup time of the new replicas, instead of the service's `startup`.
    pub restart: Option<Nanos>,
}

impl Rollout {
    /// Surge and unavailability for `n` desired replicas; never both zero (Kubernetes then
    /// allows one unavailable).
    pub(super) fn bounds(&self, n: u32) -> (u32, u32) {
        let surge = match self.max_surge {
            Bound::Count(c) => c,
            Bound::Percent(p) => (n as u64 * p as u64).div_ceil(100) as u32,
        };
        let unavailable = match self.max_unavailable {
            Bound::Count(c) => c,
            Bound::Percent(p) => (n as u64 * p as u64 / 100) as u32,
        };
        if surge == 0 && unavailable == 0 {
            (0, 1)
        } else {
            (surge, unavailable)
        }
    }
}

/// A function-style service (AWS Lambda, Cloud Run): instances take `concurrency` requests
/// each; a request that finds no free instance starts one (a cold start) unless `cap`
/// instances run already, then it is throttled (429). An instance idle for `idle_timeout`
/// is reclaimed, down to zero.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FunctionConfig {
    pub concurrency: u32,
    pub cap: u32,
    /// Lambda's scaling rate: at most `.0` new instances per `.1` (1,000 per 10 s), as a
    /// token bucket that starts full and refills continuously.
    pub scaling_rate: Option<(u32, Nanos)>,
    pub idle_timeout: Nanos,
    /// Price of each invocation; compute time is billed at `cost_per_hour` while busy.
    pub price_per_request: f64,
}

/// Cold start and warm-up of new replicas.
#[derive(Clone, Debug, PartialEq)]
pub struct Provisioning {
    /// Time from launch to ready; `None` is at once.
    pub startup: Option<DistParams>,
    /// For this long after becoming ready a replica works at `warm_speed` of its speed.
    pub warm_for: Nanos,
    pub warm_speed: f64,
}

impl Default for Provisioning {
    fn default() -> Self {
        Provisioning {
            startup: None,
            warm_for: 0,
            warm_speed: 1.0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    pub at: Nanos,
    pub until: Option<Nanos>,
    pub kind: FaultKind,
}

#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub replicas: u32,
    pub workers: u32,
    /// Work is divided by this: 2.0 is a machine twice as fast.
    pub speed: f64,
    /// Waiting room per replica (not counting requests in service); `None` is unbounded.
    pub capacity: Option<u32>,
    pub service_time: DistParams,
    /// The handler; empty means one `Compute(None)` step.
    pub handler: Vec<Step>,
    /// Handlers for particular request classes (by global class id), instead of `handler`.
    pub routes: Vec<(u16, Vec<Step>)>,
    /// Call sites the handler's steps refer to.
    pub calls: Vec<CallSite>,
    /// Drop a queued request, unstarted, once its caller's deadline has passed.
    pub drop_expired: bool,
    /// Queue discipline, what a full queue does, CoDel, priorities.
    pub queue: QueuePolicy,
    /// Priority level (0 the lowest) of each global request class, for `queue.by_priority`.
    pub class_levels: Vec<u8>,
    /// A rate limit on every arrival, and per-class limits (global class id) that replace it
    /// for their class: each tier has its own, so tiers cannot take each other's quota.
    pub limit: Option<LimiterConfig>,
    pub class_limits: Vec<(u16, LimiterConfig)>,
    /// A limit per request key, each key with its own state; refuses, never delays.
    pub key_limit: Option<LimiterConfig>,
    pub faults: Vec<Fault>,
    /// Price of one replica per hour.
    pub cost_per_hour: f64,
    pub provisioning: Provisioning,
    pub autoscaler: Option<AutoscalerConfig>,
    /// Function-style: an instance per `concurrency` requests, started on demand.
    pub function: Option<FunctionConfig>,
    /// How much optional work to do (brownout, feature switch); all of it if absent.
    pub degrade: Option<DegradeConfig>,
    /// Each replica lets in at most this many requests at once (queued or in service).
    pub concurrency_limit: Option<LimitAlgorithm>,
    /// Balancers in front of this service: told when a replica joins or leaves.
    pub watchers: Vec<ActorId>,
    /// A connection limit and setup cost (a database server's).
    pub connections: Option<ConnectionsConfig>,
    /// Session state in each replica's memory, if the service keeps it.
    pub sessions: Option<super::super::sessions::SessionsConfig>,
}
