//! Services: replicas × workers, each replica with a FIFO queue of optional capacity, and a
//! handler of steps: compute, call a dependency, call several in parallel.
//!
//! A worker stays taken for the whole handler, waiting on downstream calls included: that is
//! how thread-pool exhaustion and cascading failure arise. A request's first work is drawn
//! when it arrives, from the service's own stream, so the n-th arrival gets the same work
//! whatever the replicas or queue discipline (common random numbers across a sweep).
//!
//! Replicas have a lifecycle: launched (billed, cold-starting), serving (perhaps slower while
//! warming up), draining (no new work; in-flight work finishes), gone. One reconcile step,
//! like a Deployment controller, moves the set toward the desired count and version: the
//! autoscaler, scaling actions and rollouts only change what is desired.

use super::autoscaler::{Autoscaler, AutoscalerConfig, PolicyConfig, Totals, SCRAPE};
use super::concurrency::{ConcurrencyLimit, LimitAlgorithm};
use super::degrade::{DegradeConfig, Dimmer};
use super::dist::{DistParams, Sampler};
use super::kernel::{Ctx, Msg};
use super::limiter::{Limiter, LimiterConfig, Verdict};
use super::outbound::{CallMeta, CallSite, Done, Final, Outbound};
use super::pool::Pool;
use super::queue::{CoDel, Order, QueuePolicy, WaitQueue, WhenFull};
use super::request::{Outcome, ReqId};
pub use super::size::Size;
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::{Moments, TimeWeighted};
use rand::Rng;
use std::collections::VecDeque;

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
    fn bounds(&self, n: u32) -> (u32, u32) {
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Launched and billed, not ready yet.
    Starting,
    /// Takes work (unless crashed: `up` false).
    Serving,
    /// Takes no new work; finishes what it has, then goes.
    Draining,
    /// A free slot.
    Gone,
}

struct Replica {
    phase: Phase,
    up: bool,
    idle: u32,
    queue: WaitQueue,
    /// Callers waiting to get into a full queue (`WhenFull::Block`).
    blocked: VecDeque<ReqId>,
    codel: Option<CoDel>,
    /// Requests in this replica (queued and in service), and since when.
    n: u32,
    since: Nanos,
    workers: u32,
    /// Work is multiplied by this: the base speed over this replica's size's speed.
    pace: f64,
    /// Price per hour in millionths.
    micro_cost: i64,
    /// Work started before this is slower (warm-up).
    warm_until: Nanos,
    /// Function instances: idle (no request) since, and whether a reclaim check is set.
    idle_since: Nanos,
    reaping: bool,
    version: u32,
    /// A canary of fault `canary − 1`, outside the desired count; 0 for none.
    canary: u32,
    /// Bumped when the slot is reused, so a stale readiness timer is ignored.
    epoch: u32,
    limit: Option<ConcurrencyLimit>,
    /// Per call site: this replica's connection pool, if the site has one.
    pools: Vec<Option<Pool>>,
}

impl Replica {
    fn new(phase: Phase, size: Size, base_speed: f64, cfg: &ServiceConfig, levels: usize) -> Self {
        Replica {
            phase,
            up: true,
            idle: if phase == Phase::Serving {
                size.workers
            } else {
                0
            },
            queue: WaitQueue::new(levels),
            blocked: VecDeque::new(),
            codel: cfg.queue.codel.map(CoDel::new),
            n: 0,
            since: 0,
            workers: size.workers,
            pace: base_speed / size.speed,
            micro_cost: micro(size.cost_per_hour),
            warm_until: 0,
            idle_since: 0,
            reaping: false,
            version: 0,
            canary: 0,
            epoch: 0,
            limit: cfg.concurrency_limit.map(ConcurrencyLimit::new),
            pools: pools(&cfg.calls),
        }
    }

    /// Counted toward the desired replicas.
    fn active(&self) -> bool {
        matches!(self.phase, Phase::Starting | Phase::Serving)
    }
}

/// Fresh connection pools, one per call site that has one.
fn pools(calls: &[CallSite]) -> Vec<Option<Pool>> {
    calls.iter().map(|c| c.pool.map(Pool::new)).collect()
}

/// A price in millionths, so that billing sums exactly whatever the order of changes.
fn micro(price: f64) -> i64 {
    (price * 1e6).round() as i64
}

/// Occupancy levels tracked per replica: 0, 1, …, LEVELS − 1 or more.
const LEVELS: usize = 9;

struct Job {
    req: ReqId,
    replica: u32,
    step: u16,
    /// The arrival's work is used by the first service-time step only.
    used_arrival_work: bool,
    pending: u16,
    ok: u16,
    need: u16,
    on_failure: OnFailure,
    /// A step went on without its call's answer: the reply is `Degraded`.
    degraded: bool,
    /// Which handler runs this job (0: the default).
    handler: u16,
    /// The call site whose pool connection this job holds.
    holds: Option<u16>,
    /// Waiting for a connection of its current call step's pool.
    waiting: bool,
    /// When it took its worker: the service time runs from here to the reply.
    started: Nanos,
}

/// Per-node observations, after warm-up.
pub struct ServiceStats {
    pub arrivals: u64,
    pub rejected: u64,
    /// Refused by a rate limit.
    pub limited: u64,
    /// Connections taken from call pools, the time spent waiting for them, and waits that
    /// hit the acquire timeout.
    pub pool_acquires: u64,
    pub pool_wait_sum: u128,
    pub pool_timeouts: u64,
    /// Delayed by a rate limit, and for how long in all.
    pub paced: u64,
    pub pace_sum: u128,
    /// Refused by a replica's concurrency limit.
    pub concurrency_limited: u64,
    /// The sum of the concurrency limits of replicas that hold one (serving or draining),
    /// and how many do.
    pub limits: TimeWeighted,
    pub limit_holders: TimeWeighted,
    /// Queued requests dropped to protect the rest: CoDel, priority shedding, drop-oldest.
    pub shed: u64,
    pub dropped: u64,
    pub failed: u64,
    pub degraded: u64,
    pub completions: u64,
    pub wait_sum: u128,
    pub waits: u64,
    pub sojourn_sum: u128,
    pub sojourns: u64,
    /// The moments of a worker's holding time (start to reply) and of the gaps between
    /// arrivals: what queueing formulas take as their inputs.
    pub service: Moments,
    pub gaps: Moments,
    last_arrival: Option<Nanos>,
    pub busy: TimeWeighted,
    pub queued: TimeWeighted,
    pub in_system: TimeWeighted,
    pub workers: TimeWeighted,
    /// Replicas serving (ready and up), starting, and desired.
    pub replicas: TimeWeighted,
    pub starting: TimeWeighted,
    pub desired: TimeWeighted,
    /// The price per hour (in millionths) of every billed replica.
    pub billed: TimeWeighted,
    /// Changes of the desired count, by the autoscaler or scaling actions.
    pub scale_events: u64,
    /// Function-style: instances started on demand, requests throttled at the cap, and
    /// invocations (from time zero, for pricing after warm-up see `invocations`).
    pub cold_starts: u64,
    pub throttled: u64,
    pub invocations: u64,
    /// Changes of machine size after warm-up (timeline or vertical autoscaler).
    pub resizes: u64,
    /// Optional steps skipped by the dimmer.
    pub optional_skipped: u64,
    /// The lowest and highest desired count over the whole run.
    pub desired_range: (u32, u32),
    /// Replica-time spent at each occupancy level, after warm-up.
    pub level_time: [u128; LEVELS],
    warmup: Nanos,
    /// Arrivals from time zero, warm-up included (for time series).
    pub arrivals_total: u64,
}

/// A service's time series: one row per bucket, closed at each tick.
pub struct ServiceSeries {
    last_at: Nanos,
    /// Areas (from time zero) of: queued, in system, busy, workers, replicas, starting,
    /// desired, billed.
    last_areas: [i128; 8],
    last_arrivals: u64,
    pub rows: Vec<[f64; SERIES_WIDTH]>,
}

pub const SERIES_WIDTH: usize = 8;

/// Column names of a service's time series, in row order.
pub const SERIES_COLUMNS: [&str; SERIES_WIDTH] = [
    "arrivals_rps",
    "queue_len",
    "in_system",
    "utilization",
    "replicas",
    "replicas_starting",
    "replicas_desired",
    "cost_per_hour",
];

pub struct Service {
    pub id: ActorId,
    cfg: ServiceConfig,
    sampler: Sampler,
    handlers: Vec<Vec<Step>>,
    route_of: Vec<(u16, u16)>,
    step_samplers: Vec<Vec<Option<Sampler>>>,
    rng: Stream,
    fault_rng: Stream,
    provision_rng: Stream,
    /// Priority levels of the queues (1 unless by priority).
    levels: usize,
    degrade_rng: Stream,
    dimmer: Option<Dimmer>,
    replicas: Vec<Replica>,
    next_replica: usize,
    /// The replica count and version the reconcile step works toward.
    desired: u32,
    version: u32,
    /// The strategy of the rollout in progress.
    rollout: Option<Rollout>,
    /// The size of replicas launched from now on.
    size: Size,
    startup: Option<Sampler>,
    autoscaler: Option<Autoscaler>,
    jobs: Slab<Job>,
    pub out: Outbound,
    limiter: Option<Limiter>,
    class_limiters: Vec<(u16, Limiter)>,
    /// Per-key limiters, created at a key's first request (looked up, never iterated).
    key_limiters: std::collections::HashMap<u64, Limiter>,
    active_faults: Vec<bool>,
    pub series: Option<ServiceSeries>,
    /// Per replica: the slowdown factor and error probability of the active faults.
    slow: Vec<f64>,
    error_rate: Vec<f64>,
    pub stats: ServiceStats,
}

/// A handler step's downstream call: owned by the job, tagged with the step.
fn call_meta(job: Id, step: u16, now: Nanos, r: &super::request::Request) -> CallMeta {
    CallMeta {
        owner: job.to_token(),
        tag: step as u32,
        born: now,
        class: r.class,
        key: r.key,
    }
}

/// Streams a service draws from.
pub struct ServiceStreams {
    pub work: Stream,
    pub faults: Stream,
    pub calls: Stream,
    pub provision: Stream,
    pub degrade: Stream,
}

impl Service {
    pub fn new(
        id: ActorId,
        mut cfg: ServiceConfig,
        s: ServiceStreams,
        warmup: Nanos,
    ) -> Result<Self, String> {
        if cfg.handler.is_empty() {
            cfg.handler.push(Step::Compute(None));
        }
        let sampler = Sampler::new(&cfg.service_time)?;
        // Handler 0 is the default; routes add one each.
        let handlers: Vec<Vec<Step>> = std::iter::once(cfg.handler.clone())
            .chain(cfg.routes.iter().map(|(_, h)| h.clone()))
            .collect();
        let route_of: Vec<(u16, u16)> = cfg
            .routes
            .iter()
            .enumerate()
            .map(|(i, (class, _))| (*class, i as u16 + 1))
            .collect();
        let step_samplers = handlers
            .iter()
            .map(|h| {
                h.iter()
                    .map(|st| match st {
                        Step::Compute(Some(d)) => Sampler::new(d).map(Some),
                        Step::Optional(inner) => match inner.as_ref() {
                            Step::Compute(Some(d)) => Sampler::new(d).map(Some),
                            _ => Ok(None),
                        },
                        _ => Ok(None),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let size = Size {
            workers: cfg.workers,
            speed: cfg.speed,
            cost_per_hour: cfg.cost_per_hour,
        };
        // The initial replicas are ready at time zero, warm: the run starts from a steady
        // deployment.
        let mut size = size;
        if cfg.function.is_some() {
            // Functions bill busy time, not instance time (see `cost`).
            size.cost_per_hour = 0.0;
        }
        let levels = if cfg.queue.by_priority {
            cfg.class_levels.iter().max().map_or(1, |m| *m as usize + 1)
        } else {
            1
        };
        let replicas = (0..cfg.replicas)
            .map(|_| Replica::new(Phase::Serving, size, cfg.speed, &cfg, levels))
            .collect();
        let startup = cfg
            .provisioning
            .startup
            .as_ref()
            .map(Sampler::new)
            .transpose()?;
        let tw = || TimeWeighted::new(warmup);
        let mut stats = ServiceStats {
            arrivals: 0,
            rejected: 0,
            limited: 0,
            paced: 0,
            pace_sum: 0,
            pool_acquires: 0,
            pool_wait_sum: 0,
            pool_timeouts: 0,
            concurrency_limited: 0,
            limits: tw(),
            limit_holders: tw(),
            shed: 0,
            dropped: 0,
            failed: 0,
            degraded: 0,
            completions: 0,
            wait_sum: 0,
            waits: 0,
            sojourn_sum: 0,
            sojourns: 0,
            service: Moments::default(),
            gaps: Moments::default(),
            last_arrival: None,
            busy: tw(),
            queued: tw(),
            in_system: tw(),
            workers: tw(),
            replicas: tw(),
            starting: tw(),
            desired: tw(),
            billed: tw(),
            scale_events: 0,
            cold_starts: 0,
            resizes: 0,
            optional_skipped: 0,
            throttled: 0,
            invocations: 0,
            desired_range: (cfg.replicas, cfg.replicas),
            level_time: [0; LEVELS],
            warmup,
            arrivals_total: 0,
        };
        stats.workers.set(0, (cfg.replicas * cfg.workers) as i64);
        stats.replicas.set(0, cfg.replicas as i64);
        if let Some(l) = cfg.concurrency_limit {
            let initial = ConcurrencyLimit::new(l).limit() as i64;
            stats.limits.set(0, cfg.replicas as i64 * initial);
            stats.limit_holders.set(0, cfg.replicas as i64);
        }
        stats.desired.set(0, cfg.replicas as i64);
        stats
            .billed
            .set(0, cfg.replicas as i64 * micro(size.cost_per_hour));
        let out = Outbound::new(id, cfg.calls.clone(), s.calls, warmup);
        let active_faults = vec![false; cfg.faults.len()];
        let limiter = cfg.limit.map(Limiter::new);
        let class_limiters = cfg
            .class_limits
            .iter()
            .map(|(c, l)| (*c, Limiter::new(*l)))
            .collect();
        let n = cfg.replicas as usize;
        let autoscaler = cfg.autoscaler.clone().map(Autoscaler::new);
        Ok(Service {
            provision_rng: s.provision,
            degrade_rng: s.degrade,
            dimmer: cfg.degrade.map(|d| Dimmer::new(d, warmup)),
            levels,
            desired: cfg.replicas,
            version: 0,
            rollout: None,
            size,
            startup,
            autoscaler,
            id,
            cfg,
            sampler,
            handlers,
            route_of,
            step_samplers,
            rng: s.work,
            fault_rng: s.faults,
            replicas,
            next_replica: 0,
            jobs: Slab::default(),
            out,
            limiter,
            class_limiters,
            key_limiters: Default::default(),
            active_faults,
            series: None,
            slow: vec![1.0; n],
            error_rate: vec![0.0; n],
            stats,
        })
    }

    /// Schedules the fault timeline and the autoscaler's clocks.
    pub fn start(&mut self, ctx: &mut Ctx) {
        for (i, f) in self.cfg.faults.iter().enumerate() {
            ctx.cal.at(
                f.at,
                self.id,
                Msg::Fault {
                    fault: i as u32,
                    begins: true,
                },
            );
            if let Some(end) = f.until {
                ctx.cal.at(
                    end,
                    self.id,
                    Msg::Fault {
                        fault: i as u32,
                        begins: false,
                    },
                );
            }
        }
        for k in 0..self.replicas.len() {
            self.idle_instance(k, 0, ctx);
        }
        if let Some(d) = &self.dimmer {
            ctx.cal.at(d.period(), self.id, Msg::Dimmer);
        }
        if let Some(a) = &self.autoscaler {
            ctx.cal.at(0, self.id, Msg::Scrape);
            ctx.cal.at(a.period(), self.id, Msg::Autoscale);
            for (i, action) in a.cfg.schedule.iter().enumerate() {
                ctx.cal.at(action.at, self.id, Msg::Scheduled(i as u32));
            }
        }
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(id) => self.arrive(id, None, ctx),
            Msg::Route {
                request: id,
                replica,
            } => self.arrive(id, Some(replica as usize), ctx),
            Msg::PoolTimeout { job, step } => self.pool_timeout(Id::from_token(job), step, ctx),
            Msg::Paced {
                request: id,
                replica,
            } => {
                // Its time at this node starts now, as the limiter lets it in.
                let r = ctx.requests.get_mut(id).expect("a paced request is live");
                let counted = r.entered >= ctx.warmup;
                r.entered = ctx.cal.now();
                let class = r.class;
                let replica = (replica != u32::MAX).then_some(replica as usize);
                self.admit(id, class, replica, counted, ctx);
            }
            Msg::Probe { replica, from, seq } => {
                // A health check: answered at once by a replica that is up, never by one down.
                let rep = &self.replicas[replica as usize];
                if rep.up && matches!(rep.phase, Phase::Serving | Phase::Draining) {
                    ctx.cal
                        .at(ctx.cal.now(), ActorId(from), Msg::ProbeAck { replica, seq });
                }
            }
            Msg::Finish(job) => self.finish_work(Id::from_token(job), ctx),
            Msg::Reply(id) => {
                if let Some(done) = self.out.on_reply(id, ctx) {
                    self.call_done(done, ctx);
                }
            }
            Msg::Expire(id) => {
                if let Some(done) = self.out.on_expire(id, ctx) {
                    self.call_done(done, ctx);
                }
            }
            Msg::RetryDue(token) => self.out.on_retry_due(token, ctx),
            Msg::HedgeDue(token) => self.out.on_hedge_due(token, ctx),
            Msg::Refused(token) => {
                if let Some(done) = self.out.on_refused(token) {
                    self.call_done(done, ctx);
                }
            }
            Msg::Fault {
                fault: i,
                begins: begin,
            } => self.fault(i as usize, begin, ctx),
            Msg::Ready { replica: k, epoch } => {
                let rep = &self.replicas[k as usize];
                if rep.epoch == epoch && rep.phase == Phase::Starting {
                    self.ready(k as usize, ctx);
                    self.reconcile(ctx);
                }
            }
            Msg::Dimmer => {
                let now = ctx.cal.now();
                let d = self.dimmer.as_mut().expect("ticks only with a dimmer");
                d.tick(now);
                ctx.cal.after(d.period(), self.id, Msg::Dimmer);
            }
            Msg::Reap { instance: k, epoch } => {
                let now = ctx.cal.now();
                let f = self.cfg.function.expect("reaping only functions");
                let rep = &mut self.replicas[k as usize];
                if rep.epoch != epoch || rep.phase != Phase::Serving {
                    return;
                }
                rep.reaping = false;
                if rep.n > 0 {
                    return; // busy again: its next idle moment sets a new check
                }
                let due = rep.idle_since + f.idle_timeout;
                if now >= due {
                    self.remove(k as usize, ctx);
                } else {
                    rep.reaping = true;
                    ctx.cal.at(due, self.id, Msg::Reap { instance: k, epoch });
                }
            }
            Msg::Scrape => {
                let now = ctx.cal.now();
                let totals = self.totals(now);
                let a = self
                    .autoscaler
                    .as_mut()
                    .expect("scrapes only with an autoscaler");
                a.sample(now, totals);
                ctx.cal.after(SCRAPE, self.id, Msg::Scrape);
            }
            Msg::Autoscale => {
                let now = ctx.cal.now();
                let ready = self
                    .replicas
                    .iter()
                    .filter(|r| r.phase == Phase::Serving && r.up)
                    .count() as u32;
                let starting = self
                    .replicas
                    .iter()
                    .filter(|r| r.phase == Phase::Starting)
                    .count() as u32;
                let a = self
                    .autoscaler
                    .as_mut()
                    .expect("decisions only with an autoscaler");
                let to = a.decide(now, self.desired, ready, starting);
                ctx.cal.after(a.period(), self.id, Msg::Autoscale);
                let resize = a.resize(now, self.rollout.is_some());
                let how = match &a.cfg.policy {
                    PolicyConfig::Vertical(v) => Some((v.surge, v.restart)),
                    _ => None,
                };
                self.set_desired(to, ctx);
                if let (Some(size), Some((surge, restart))) = (resize, how) {
                    let r = Rollout {
                        max_surge: Bound::Count(surge as u32),
                        max_unavailable: Bound::Count(!surge as u32),
                        blue_green: false,
                        size: Some(size),
                        restart,
                    };
                    self.roll_out(r, ctx);
                }
            }
            Msg::Scheduled(i) => {
                let a = self
                    .autoscaler
                    .as_mut()
                    .expect("schedules only with an autoscaler");
                let action = a.cfg.schedule[i as usize];
                if let Some(min) = action.min {
                    a.min = min;
                }
                if let Some(max) = action.max {
                    a.max = max;
                }
                let to = self.desired.clamp(a.min, a.max.max(a.min));
                self.set_desired(to, ctx);
            }
            _ => unreachable!("not a message for a service: {msg:?}"),
        }
    }

    /// Replica `k` gains (`delta` = 1) or loses (−1) a request.
    #[inline]
    fn occupancy(&mut self, k: usize, now: Nanos, delta: i64) {
        self.stats.in_system.add(now, delta);
        let rep = &mut self.replicas[k];
        let from = rep.since.max(self.stats.warmup);
        if now > from {
            self.stats.level_time[(rep.n as usize).min(LEVELS - 1)] += (now - from) as u128;
        }
        rep.since = now;
        rep.n = (rep.n as i64 + delta) as u32;
    }

    fn reply(&mut self, id: ReqId, outcome: Outcome, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        super::kernel::answer(ctx, id, outcome, now);
    }

    /// A call arrives, for a given replica (from a balancer) or spread round robin.
    fn arrive(&mut self, id: ReqId, replica: Option<usize>, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let work = self.sampler.sample(&mut self.rng, self.cfg.speed);
        self.stats.arrivals_total += 1;
        let counted = now >= ctx.warmup;
        if counted {
            self.stats.arrivals += 1;
            if let Some(last) = self.stats.last_arrival {
                self.stats.gaps.add(now - last);
            }
        }
        self.stats.last_arrival = Some(now);
        let r = ctx
            .requests
            .get_mut(id)
            .expect("a call for a freed request");
        r.work = work;
        r.entered = now;
        let class = r.class;
        if let Some(cfg) = self.cfg.key_limit {
            let key = r.key;
            let l = self
                .key_limiters
                .entry(key)
                .or_insert_with(|| Limiter::new(cfg));
            if !l.admit(now) {
                if counted {
                    self.stats.limited += 1;
                }
                self.reply(id, Outcome::Rejected, ctx);
                return;
            }
        }
        let limiter = match self.class_limiters.iter_mut().find(|(c, _)| *c == class) {
            Some((_, l)) => Some(l),
            None => self.limiter.as_mut(),
        };
        match limiter.map_or(Verdict::Admit, |l| l.decide(now)) {
            Verdict::Admit => {}
            Verdict::Refuse => {
                // Throttled (429): answered at once, never queued.
                if counted {
                    self.stats.limited += 1;
                }
                self.reply(id, Outcome::Rejected, ctx);
                return;
            }
            Verdict::After(wait) => {
                // Paced: held (without a worker or a place) until the limiter's time.
                if counted {
                    self.stats.paced += 1;
                    self.stats.pace_sum += wait as u128;
                }
                let to = replica.map_or(u32::MAX, |k| k as u32);
                ctx.cal.at(
                    now + wait,
                    self.id,
                    Msg::Paced {
                        request: id,
                        replica: to,
                    },
                );
                return;
            }
        }
        self.admit(id, class, replica, counted, ctx);
    }

    /// A call the rate limits let in goes to a replica (or a function instance).
    fn admit(
        &mut self,
        id: ReqId,
        class: u16,
        replica: Option<usize>,
        counted: bool,
        ctx: &mut Ctx,
    ) {
        let now = ctx.cal.now();
        if self.cfg.function.is_some() {
            self.invoke(id, counted, ctx);
            return;
        }
        // A replica chosen by a balancer takes the call unless it has gone (a route sent as
        // it left): then, as without a balancer, the next serving replica in turn does.
        let k = match replica {
            Some(k) if matches!(self.replicas[k].phase, Phase::Serving | Phase::Draining) => {
                Some(k)
            }
            _ => self.next_serving(),
        };
        let Some(k) = k else {
            // No replica at all (all starting or gone): no healthy upstream.
            if counted {
                self.stats.failed += 1;
            }
            self.reply(id, Outcome::Error, ctx);
            return;
        };
        let rep = &mut self.replicas[k];
        if !rep.up {
            // Connection refused: the caller sees an error at once.
            if counted {
                self.stats.failed += 1;
            }
            self.reply(id, Outcome::Error, ctx);
            return;
        }
        if rep.limit.as_ref().is_some_and(|l| rep.n >= l.limit()) {
            // Over the replica's concurrency limit: refused at once (503).
            if counted {
                self.stats.rejected += 1;
                self.stats.concurrency_limited += 1;
            }
            self.reply(id, Outcome::Rejected, ctx);
            return;
        }
        if rep.limit.is_some() {
            let held = rep.n + 1;
            ctx.requests
                .get_mut(id)
                .expect("a call for a freed request")
                .inflight = held;
        }
        let rep = &mut self.replicas[k];
        if rep.idle > 0 {
            rep.idle -= 1;
            if let Some(c) = &mut rep.codel {
                // No wait: CoDel sees a zero delay (never a drop).
                c.should_drop(now, 0);
            }
            self.occupancy(k, now, 1);
            if !self.start_job(k as u32, id, ctx) {
                self.next_from_queue(k as u32, ctx);
            }
        } else if self
            .cfg
            .capacity
            .is_some_and(|c| rep.queue.len() >= c as usize)
        {
            self.full(k, id, class, counted, ctx);
        } else {
            let level = self.level(class);
            self.replicas[k].queue.push(id, level);
            self.occupancy(k, now, 1);
            self.stats.queued.add(now, 1);
        }
    }

    /// The priority level of a request class in this service's queues.
    #[inline]
    fn level(&self, class: u16) -> usize {
        if self.levels == 1 {
            0
        } else {
            self.cfg
                .class_levels
                .get(class as usize)
                .map_or(0, |l| *l as usize)
        }
    }

    /// An arrival finds replica `k`'s queue full.
    fn full(&mut self, k: usize, id: ReqId, class: u16, counted: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let level = self.level(class);
        let rep = &mut self.replicas[k];
        let victim = match self.cfg.queue.when_full {
            WhenFull::Block => {
                rep.blocked.push_back(id);
                self.occupancy(k, now, 1);
                self.stats.queued.add(now, 1);
                return;
            }
            // A less important request makes room, if there is one.
            WhenFull::Reject if self.cfg.queue.by_priority => rep.queue.shed_below(level),
            WhenFull::Reject => None,
            WhenFull::DropOldest => rep.queue.pop_oldest_upto(level),
        };
        let Some(victim) = victim else {
            if counted {
                self.stats.rejected += 1;
            }
            self.reply(id, Outcome::Rejected, ctx);
            return;
        };
        rep.queue.push(id, level);
        self.shed(victim, ctx);
    }

    /// A queued request is dropped to protect the rest (CoDel, priority, drop-oldest); the
    /// caller gets a rejection (503). The caller adjusts queue and occupancy counts.
    fn shed(&mut self, id: ReqId, ctx: &mut Ctx) {
        if ctx
            .requests
            .get(id)
            .is_some_and(|r| r.entered >= ctx.warmup)
        {
            self.stats.shed += 1;
        }
        self.reply(id, Outcome::Rejected, ctx);
    }

    /// A function call: a free slot on a running instance, else a place on one starting,
    /// else a new instance (cold start), else throttled.
    fn invoke(&mut self, id: ReqId, counted: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let f = self.cfg.function.expect("function-style");
        let free = |r: &Replica| r.phase == Phase::Serving && r.up && r.idle > 0;
        let room =
            |r: &Replica| r.phase == Phase::Starting && r.queue.len() < f.concurrency as usize;
        let k = match self.replicas.iter().position(free) {
            Some(k) => k,
            None => match self.replicas.iter().position(room) {
                Some(k) => k,
                None => {
                    let running = self.replicas.iter().filter(|r| r.active()).count() as u32;
                    if running >= f.cap {
                        if counted {
                            self.stats.throttled += 1;
                            self.stats.rejected += 1;
                        }
                        self.reply(id, Outcome::Rejected, ctx);
                        return;
                    }
                    if counted {
                        self.stats.cold_starts += 1;
                    }
                    self.launch(ctx)
                }
            },
        };
        if counted {
            self.stats.invocations += 1;
        }
        let rep = &mut self.replicas[k];
        if rep.phase == Phase::Serving && rep.idle > 0 {
            rep.idle -= 1;
            self.occupancy(k, now, 1);
            if !self.start_job(k as u32, id, ctx) {
                self.next_from_queue(k as u32, ctx);
            }
        } else {
            rep.queue.push(id, 0);
            self.occupancy(k, now, 1);
            self.stats.queued.add(now, 1);
        }
    }

    /// A function instance has nothing to do: reclaim it after the idle timeout.
    fn idle_instance(&mut self, k: usize, now: Nanos, ctx: &mut Ctx) {
        let Some(f) = self.cfg.function else { return };
        let rep = &mut self.replicas[k];
        rep.idle_since = now;
        if !rep.reaping {
            rep.reaping = true;
            ctx.cal.at(
                now + f.idle_timeout,
                self.id,
                Msg::Reap {
                    instance: k as u32,
                    epoch: rep.epoch,
                },
            );
        }
    }

    /// The next serving replica in turn (crashed ones included: callers see the refusal).
    fn next_serving(&mut self) -> Option<usize> {
        let n = self.replicas.len();
        for _ in 0..n {
            let k = self.next_replica;
            self.next_replica = (k + 1) % n;
            if self.replicas[k].phase == Phase::Serving {
                return Some(k);
            }
        }
        None
    }

    /// Puts `id` on a worker of replica `k` (the worker is already counted as taken), or
    /// drops it if its caller's deadline has passed (then the worker is still taken: the
    /// caller gives it another request or frees it).
    fn start_job(&mut self, k: u32, id: ReqId, ctx: &mut Ctx) -> bool {
        let now = ctx.cal.now();
        let r = ctx.requests.get(id).expect("starting a freed request");
        let counted = r.entered >= ctx.warmup;
        if self.cfg.drop_expired && now > r.deadline {
            // The caller has given up on it: skip the work.
            if counted {
                self.stats.dropped += 1;
            }
            self.occupancy(k as usize, now, -1);
            self.reply(id, Outcome::Rejected, ctx);
            return false;
        }
        if counted {
            self.stats.wait_sum += (now - r.entered) as u128;
            self.stats.waits += 1;
        }
        self.stats.busy.add(now, 1);
        let class = r.class;
        let handler = self
            .route_of
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(0, |(_, h)| *h);
        let job = self.jobs.insert(Job {
            req: id,
            replica: k,
            step: 0,
            used_arrival_work: false,
            pending: 0,
            ok: 0,
            need: 0,
            on_failure: OnFailure::Fail,
            degraded: false,
            handler,
            holds: None,
            waiting: false,
            started: now,
        });
        self.advance(job, ctx);
        true
    }

    /// Runs the job's current step, or completes it after the last.
    fn advance(&mut self, jid: Id, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let job = self.jobs.get_mut(jid).expect("advancing a finished job");
        let Some(step) = self.handlers[job.handler as usize].get(job.step as usize) else {
            self.complete(jid, Outcome::Ok, ctx);
            return;
        };
        let r = ctx.requests.get(job.req).expect("a job's request is live");
        let step = match step {
            Step::Optional(inner) => {
                let theta = self.dimmer.as_ref().map_or(1.0, |d| d.theta);
                if theta >= 1.0 || (theta > 0.0 && self.degrade_rng.random::<f64>() < theta) {
                    inner.as_ref()
                } else {
                    // Skipped: the answer goes without the optional content.
                    let counted = r.entered >= ctx.warmup;
                    if counted {
                        self.stats.optional_skipped += 1;
                        if !job.degraded {
                            self.stats.degraded += 1;
                        }
                    }
                    job.degraded = true;
                    job.step += 1;
                    self.advance(jid, ctx);
                    return;
                }
            }
            s => s,
        };
        match step {
            Step::Optional(_) => unreachable!("optional steps do not nest"),
            Step::Compute(d) => {
                let work = match (d, job.used_arrival_work) {
                    (None, false) => {
                        job.used_arrival_work = true;
                        r.work
                    }
                    (None, true) => self.sampler.sample(&mut self.rng, self.cfg.speed),
                    (Some(_), _) => self.step_samplers[job.handler as usize][job.step as usize]
                        .as_ref()
                        .expect("built with the handler")
                        .sample(&mut self.rng, self.cfg.speed),
                };
                let k = job.replica as usize;
                let rep = &self.replicas[k];
                let mut slow = self.slow[k] * rep.pace;
                if now < rep.warm_until {
                    slow /= self.cfg.provisioning.warm_speed;
                }
                let work = if slow == 1.0 {
                    work
                } else {
                    (work as f64 * slow).round() as Nanos
                };
                ctx.cal.at(now + work, self.id, Msg::Finish(jid.to_token()));
            }
            Step::Call { site, on_failure } => {
                let meta = call_meta(jid, job.step, now, r);
                job.pending = 1;
                job.ok = 0;
                job.need = 1;
                job.on_failure = *on_failure;
                let counted = r.entered >= ctx.warmup;
                if let Some(pool) = &mut self.replicas[job.replica as usize].pools[*site as usize] {
                    if !pool.try_take() {
                        // No connection: the worker waits for one.
                        pool.wait(jid, now);
                        job.waiting = true;
                        let timeout = self.cfg.calls[*site as usize]
                            .pool
                            .and_then(|p| p.acquire_timeout);
                        if let Some(t) = timeout {
                            let step = job.step as u32;
                            ctx.cal.at(
                                now + t,
                                self.id,
                                Msg::PoolTimeout {
                                    job: jid.to_token(),
                                    step,
                                },
                            );
                        }
                        return;
                    }
                    job.holds = Some(*site);
                    if counted {
                        self.stats.pool_acquires += 1;
                    }
                }
                self.out.start(*site, meta, ctx);
            }
            Step::Parallel {
                sites,
                need,
                on_failure,
            } => {
                let meta = call_meta(jid, job.step, now, r);
                job.pending = sites.len() as u16;
                job.ok = 0;
                job.need = *need;
                job.on_failure = *on_failure;
                for s in sites {
                    self.out.start(*s, meta, ctx);
                }
            }
        }
    }

    fn finish_work(&mut self, jid: Id, ctx: &mut Ctx) {
        if self.jobs.get(jid).is_none() {
            return; // its replica crashed
        }
        let p = self.error_rate[self.jobs.get(jid).expect("checked").replica as usize];
        if p > 0.0 && self.fault_rng.random::<f64>() < p {
            self.complete(jid, Outcome::Error, ctx);
            return;
        }
        self.jobs.get_mut(jid).expect("checked").step += 1;
        self.advance(jid, ctx);
    }

    /// A connection of replica `k`'s pool for `site` comes back: the longest waiter sends
    /// its call with it.
    fn release(&mut self, k: u32, site: u16, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let pool = self.replicas[k as usize].pools[site as usize]
            .as_mut()
            .expect("a pooled site");
        let Some((jid, since)) = pool.give_back() else {
            return;
        };
        let job = self.jobs.get_mut(jid).expect("a waiting job is live");
        debug_assert!(job.waiting);
        job.waiting = false;
        job.holds = Some(site);
        let r = ctx.requests.get(job.req).expect("a job's request is live");
        if r.entered >= ctx.warmup {
            self.stats.pool_acquires += 1;
            self.stats.pool_wait_sum += (now - since) as u128;
        }
        let meta = call_meta(jid, job.step, now, r);
        self.out.start(site, meta, ctx);
    }

    /// A job gave up waiting for a connection: its call step fails, unsent.
    fn pool_timeout(&mut self, jid: Id, step: u32, ctx: &mut Ctx) {
        let Some(job) = self.jobs.get_mut(jid) else {
            return;
        };
        if !job.waiting || job.step as u32 != step {
            return; // it got a connection in time
        }
        let Some(Step::Call { site, .. }) = self.handlers[job.handler as usize].get(step as usize)
        else {
            unreachable!("waiting in a call step");
        };
        let pool = self.replicas[job.replica as usize].pools[*site as usize]
            .as_mut()
            .expect("a pooled site");
        let left = pool.leave(jid);
        debug_assert!(left);
        job.waiting = false;
        if ctx
            .requests
            .get(job.req)
            .is_some_and(|r| r.entered >= ctx.warmup)
        {
            self.stats.pool_timeouts += 1;
        }
        let done = Done {
            owner: jid.to_token(),
            tag: step,
            outcome: Final::Error,
            born: ctx.cal.now(),
        };
        self.call_done(done, ctx);
    }

    /// A downstream call of a job ended.
    fn call_done(&mut self, done: Done, ctx: &mut Ctx) {
        let jid = Id::from_token(done.owner);
        let Some(job) = self.jobs.get_mut(jid) else {
            return; // the job ended (crash, or it went on without this call)
        };
        if let Some(site) = job.holds.take() {
            let k = job.replica;
            self.release(k, site, ctx);
        }
        let Some(job) = self.jobs.get_mut(jid) else {
            unreachable!("releasing a connection ends no job");
        };
        if done.tag != job.step as u32 || job.pending == 0 {
            return; // a straggler of a parallel step already satisfied
        }
        job.pending -= 1;
        if done.outcome == Final::Degraded && !job.degraded {
            // A fallback answered somewhere below: the step goes on, the request is degraded.
            job.degraded = true;
            if ctx
                .requests
                .get(job.req)
                .is_some_and(|r| r.entered >= ctx.warmup)
            {
                self.stats.degraded += 1;
            }
        }
        if matches!(done.outcome, Final::Ok | Final::Degraded) {
            job.ok += 1;
        }
        if job.ok >= job.need {
            job.pending = 0;
            job.step += 1;
            self.advance(jid, ctx);
        } else if job.ok + job.pending < job.need {
            job.pending = 0;
            match job.on_failure {
                OnFailure::Fail => self.complete(jid, Outcome::Error, ctx),
                OnFailure::Continue => {
                    let (req, step) = (job.req, job.step);
                    job.step = step + 1;
                    job.degraded = true;
                    if ctx
                        .requests
                        .get(req)
                        .is_some_and(|r| r.entered >= ctx.warmup)
                    {
                        self.stats.degraded += 1;
                    }
                    self.advance(jid, ctx);
                }
            }
        }
    }

    /// The job is over: answer the caller and free the worker.
    fn complete(&mut self, jid: Id, outcome: Outcome, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let job = self.jobs.remove(jid).expect("completing a live job");
        let outcome = if outcome == Outcome::Ok && job.degraded {
            Outcome::Degraded
        } else {
            outcome
        };
        let r = ctx.requests.get(job.req).expect("live");
        let (entered, inflight) = (r.entered, r.inflight);
        if let Some(d) = &mut self.dimmer {
            d.record(now - entered);
        }
        if let Some(l) = &mut self.replicas[job.replica as usize].limit {
            let before = l.limit();
            l.sample(now - entered, inflight, outcome == Outcome::Error);
            self.stats.limits.add(now, l.limit() as i64 - before as i64);
        }
        if entered >= ctx.warmup {
            self.stats.sojourn_sum += (now - entered) as u128;
            self.stats.sojourns += 1;
            self.stats.service.add(now - job.started);
            self.stats.completions += 1;
            if outcome == Outcome::Error {
                self.stats.failed += 1;
            }
        }
        self.occupancy(job.replica as usize, now, -1);
        self.stats.busy.add(now, -1);
        self.reply(job.req, outcome, ctx);
        self.next_from_queue(job.replica, ctx);
    }

    /// A worker of replica `k` is free: take the next queued request, or go idle.
    fn next_from_queue(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        loop {
            let rep = &mut self.replicas[k as usize];
            let newest = match self.cfg.queue.order {
                Order::Fifo => false,
                Order::Lifo => true,
                Order::AdaptiveLifo => rep.codel.as_ref().is_some_and(|c| c.overloaded),
            };
            let Some(next) = rep.queue.pop(newest) else {
                break;
            };
            self.stats.queued.add(now, -1);
            if let Some(b) = rep.blocked.pop_front() {
                // A blocked caller gets the place (it stays counted as queued).
                let class = ctx
                    .requests
                    .get(b)
                    .expect("a blocked request is live")
                    .class;
                let level = self.level(class);
                self.replicas[k as usize].queue.push(b, level);
            }
            let rep = &mut self.replicas[k as usize];
            if let Some(c) = &mut rep.codel {
                let entered = ctx
                    .requests
                    .get(next)
                    .expect("a queued request is live")
                    .entered;
                if c.should_drop(now, now - entered) {
                    self.occupancy(k as usize, now, -1);
                    self.shed(next, ctx);
                    continue;
                }
            }
            if self.start_job(k, next, ctx) {
                return;
            }
        }
        let rep = &mut self.replicas[k as usize];
        rep.idle += 1;
        if rep.n == 0 {
            if rep.phase == Phase::Draining {
                self.gone(k as usize, now);
            } else {
                self.idle_instance(k as usize, now, ctx);
            }
        }
    }

    fn fault(&mut self, i: usize, begin: bool, ctx: &mut Ctx) {
        self.active_faults[i] = begin;
        match self.cfg.faults[i].kind {
            FaultKind::Crash { replica } if begin => self.crash(replica, ctx),
            FaultKind::Crash { replica } => self.recover(replica, ctx),
            FaultKind::Scale { replicas } => self.set_desired(replicas, ctx),
            FaultKind::Rollout(r) => self.roll_out(r, ctx),
            FaultKind::Canary { replicas, .. } if begin => {
                for _ in 0..replicas {
                    let k = self.launch(ctx);
                    self.replicas[k].canary = i as u32 + 1;
                }
            }
            FaultKind::Canary { .. } => {
                for k in 0..self.replicas.len() {
                    let r = &self.replicas[k];
                    if r.canary == i as u32 + 1 && r.active() {
                        self.remove(k, ctx);
                    }
                }
            }
            _ => {}
        }
        self.refresh_faults();
    }

    /// Starts replacing every replica with a new version (of a new size, perhaps).
    fn roll_out(&mut self, r: Rollout, ctx: &mut Ctx) {
        self.version += 1;
        self.rollout = Some(r);
        if let Some(size) = r.size {
            self.size = size;
            if ctx.cal.now() >= ctx.warmup {
                self.stats.resizes += 1;
            }
        }
        self.reconcile(ctx);
    }

    /// Recomputes every replica's slowdown and error rate from the active faults.
    fn refresh_faults(&mut self) {
        self.slow.iter_mut().for_each(|x| *x = 1.0);
        self.error_rate.iter_mut().for_each(|x| *x = 0.0);
        let n = self.replicas.len();
        let which = |r: Option<u32>| r.map_or(0..n, |r| r as usize..r as usize + 1);
        for (f, on) in self.cfg.faults.iter().zip(&self.active_faults) {
            match (f.kind, on) {
                (FaultKind::Slowdown { factor, replica }, true) => {
                    which(replica).for_each(|r| self.slow[r] *= factor)
                }
                (FaultKind::Errors { rate, replica }, true) => {
                    which(replica).for_each(|r| self.error_rate[r] = self.error_rate[r].max(rate))
                }
                _ => {}
            }
        }
        // Canaries carry their version's flaws while they live.
        for (k, r) in self.replicas.iter().enumerate() {
            if r.canary == 0 || r.phase == Phase::Gone {
                continue;
            }
            if let FaultKind::Canary { factor, rate, .. } =
                self.cfg.faults[r.canary as usize - 1].kind
            {
                self.slow[k] *= factor;
                self.error_rate[k] = self.error_rate[k].max(rate);
            }
        }
    }

    fn crash(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &mut self.replicas[k as usize];
        if !rep.up || !matches!(rep.phase, Phase::Serving | Phase::Draining) {
            return;
        }
        rep.up = false;
        let mut queued: Vec<ReqId> = rep.queue.drain();
        queued.extend(rep.blocked.drain(..));
        for id in queued {
            self.stats.queued.add(now, -1);
            self.occupancy(k as usize, now, -1);
            self.reply(id, Outcome::Error, ctx);
        }
        for jid in self.jobs.ids() {
            if self.jobs.get(jid).is_some_and(|j| j.replica == k) {
                let job = self.jobs.remove(jid).expect("listed");
                self.stats.busy.add(now, -1);
                self.occupancy(k as usize, now, -1);
                self.reply(job.req, Outcome::Error, ctx);
            }
        }
        let rep = &mut self.replicas[k as usize];
        rep.idle = 0;
        // The process is gone, and its pools with it; in-flight calls end unheard.
        rep.pools = pools(&self.cfg.calls);
        self.stats.workers.add(now, -(rep.workers as i64));
        if rep.phase == Phase::Serving {
            self.stats.replicas.add(now, -1);
        } else {
            // A draining replica that crashes is gone.
            self.gone(k as usize, now);
        }
    }

    fn recover(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &mut self.replicas[k as usize];
        if rep.up || rep.phase != Phase::Serving {
            return;
        }
        rep.up = true;
        rep.idle = rep.workers;
        self.stats.workers.add(now, rep.workers as i64);
        self.stats.replicas.add(now, 1);
        // A recovered replica may let a rollout go on.
        self.reconcile(ctx);
    }

    /// The service's totals since time zero, for the autoscaler.
    fn totals(&self, now: Nanos) -> Totals {
        let s = &self.stats;
        let secs = |tw: &TimeWeighted| tw.total_area(now) as f64 / 1e9;
        Totals {
            busy: secs(&s.busy),
            workers: secs(&s.workers),
            in_system: secs(&s.in_system),
            queued: secs(&s.queued),
            serving: secs(&s.replicas),
            arrivals: s.arrivals_total as f64,
        }
    }

    /// Sets the desired replica count and works toward it.
    fn set_desired(&mut self, to: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        if to != self.desired {
            if let Some(a) = &mut self.autoscaler {
                a.record(now, self.desired, to);
            }
            if now >= ctx.warmup {
                self.stats.scale_events += 1;
            }
            self.stats.desired.set(now, to as i64);
            let (lo, hi) = self.stats.desired_range;
            self.stats.desired_range = (lo.min(to), hi.max(to));
            self.desired = to;
        }
        self.reconcile(ctx);
    }

    /// Launches and removes replicas until the set matches the desired count and version,
    /// within the rollout's surge and unavailability bounds (as a Deployment controller).
    fn reconcile(&mut self, ctx: &mut Ctx) {
        if self.cfg.function.is_some() {
            return; // instances follow demand, not a desired count
        }
        loop {
            let v = self.version;
            let n = self.desired;
            let (mut old, mut new, mut available, mut new_ready) = (0u32, 0u32, 0u32, 0u32);
            for r in self.replicas.iter().filter(|r| r.active() && r.canary == 0) {
                let serving = r.phase == Phase::Serving && r.up;
                if r.version == v {
                    new += 1;
                    new_ready += serving as u32;
                } else {
                    old += 1;
                }
                available += serving as u32;
            }
            if old == 0 {
                self.rollout = None;
            }
            let ro = self.rollout;
            let (surge, unavailable) = ro.map_or((0, 0), |r| r.bounds(n));
            if new < n && (old == 0 || ro.is_some_and(|r| r.blue_green) || old + new < n + surge) {
                self.launch(ctx);
                continue;
            }
            if old > 0 {
                let ro = ro.expect("old replicas only during a rollout");
                // Old replicas that serve nothing cost no availability: they go first.
                if let Some(k) =
                    self.victim(|r| r.version != v && !(r.phase == Phase::Serving && r.up))
                {
                    self.remove(k, ctx);
                    continue;
                }
                let may_go = if ro.blue_green {
                    new_ready >= n
                } else {
                    available + unavailable > n || old + new > n + surge
                };
                if may_go {
                    let k = self.victim(|r| r.version != v).expect("counted");
                    self.remove(k, ctx);
                    continue;
                }
            }
            if new > n {
                let k = self.victim(|r| r.version == v).expect("counted");
                self.remove(k, ctx);
                continue;
            }
            return;
        }
    }

    /// Which active replica to remove among those matching: one still starting, else one
    /// down, else the newest slot.
    fn victim(&self, matching: impl Fn(&Replica) -> bool) -> Option<usize> {
        let rank = |r: &Replica| match (r.phase, r.up) {
            (Phase::Starting, _) => 0,
            (_, false) => 1,
            _ => 2,
        };
        (0..self.replicas.len())
            .rev()
            .filter(|&k| {
                let r = &self.replicas[k];
                r.active() && r.canary == 0 && matching(r)
            })
            .min_by_key(|&k| rank(&self.replicas[k]))
    }

    /// A new replica of the current version and size starts (cold start), in a free slot.
    fn launch(&mut self, ctx: &mut Ctx) -> usize {
        let now = ctx.cal.now();
        let k = match self.replicas.iter().position(|r| r.phase == Phase::Gone) {
            Some(k) => k,
            None => {
                let size = self.size;
                self.replicas.push(Replica::new(
                    Phase::Gone,
                    size,
                    self.cfg.speed,
                    &self.cfg,
                    self.levels,
                ));
                self.slow.push(1.0);
                self.error_rate.push(0.0);
                self.refresh_faults();
                self.replicas.len() - 1
            }
        };
        let (size, version, base) = (self.size, self.version, self.cfg.speed);
        let rep = &mut self.replicas[k];
        let epoch = rep.epoch.wrapping_add(1);
        *rep = Replica::new(Phase::Starting, size, base, &self.cfg, self.levels);
        rep.epoch = epoch;
        rep.version = version;
        rep.since = now;
        self.stats.starting.add(now, 1);
        self.stats.billed.add(now, rep.micro_cost);
        let delay = match (self.rollout.and_then(|r| r.restart), &self.startup) {
            (Some(d), _) => d,
            (None, Some(s)) => s.sample(&mut self.provision_rng, 1.0),
            (None, None) => 0,
        };
        if delay == 0 {
            self.ready(k, ctx);
        } else {
            ctx.cal.after(
                delay,
                self.id,
                Msg::Ready {
                    replica: k as u32,
                    epoch,
                },
            );
        }
        k
    }

    /// A starting replica is ready: it takes work and joins its balancers.
    fn ready(&mut self, k: usize, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let warm_for = self.cfg.provisioning.warm_for;
        let rep = &mut self.replicas[k];
        debug_assert_eq!(rep.phase, Phase::Starting);
        rep.phase = Phase::Serving;
        rep.idle = rep.workers;
        rep.warm_until = now + warm_for;
        self.stats.starting.add(now, -1);
        self.stats.workers.add(now, rep.workers as i64);
        self.stats.replicas.add(now, 1);
        if let Some(l) = &self.replicas[k].limit {
            self.stats.limits.add(now, l.limit() as i64);
            self.stats.limit_holders.add(now, 1);
        }
        self.tell_watchers(k, true, ctx);
        // Requests that waited for a function instance to start.
        let waiting = self.replicas[k].queue.len();
        for _ in 0..waiting.min(self.replicas[k].workers as usize) {
            self.replicas[k].idle -= 1;
            self.next_from_queue(k as u32, ctx);
        }
        if self.replicas[k].n == 0 {
            self.idle_instance(k, now, ctx);
        }
    }

    /// Takes replica `k` out: a starting one stops, a serving one drains.
    fn remove(&mut self, k: usize, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &mut self.replicas[k];
        match rep.phase {
            Phase::Starting => {
                rep.phase = Phase::Gone;
                self.stats.starting.add(now, -1);
                self.stats.billed.add(now, -rep.micro_cost);
            }
            Phase::Serving => {
                rep.phase = Phase::Draining;
                let (up, idle) = (rep.up, rep.n == 0);
                if up {
                    self.stats.replicas.add(now, -1);
                }
                self.tell_watchers(k, false, ctx);
                if !up || idle {
                    self.gone(k, now);
                }
            }
            Phase::Draining | Phase::Gone => unreachable!("removing an inactive replica"),
        }
    }

    /// A draining replica has finished its work (or crashed): its slot is free.
    fn gone(&mut self, k: usize, now: Nanos) {
        let rep = &mut self.replicas[k];
        debug_assert!(rep.phase == Phase::Draining && rep.n == 0 && rep.queue.is_empty());
        debug_assert!(rep.blocked.is_empty());
        // Close its occupancy time: a free slot is not a replica at level 0.
        let from = rep.since.max(self.stats.warmup);
        if now > from {
            self.stats.level_time[0] += (now - from) as u128;
        }
        rep.since = now;
        rep.phase = Phase::Gone;
        if rep.up {
            self.stats.workers.add(now, -(rep.workers as i64));
        }
        rep.idle = 0;
        self.stats.billed.add(now, -rep.micro_cost);
        if let Some(l) = &rep.limit {
            self.stats.limits.add(now, -(l.limit() as i64));
            self.stats.limit_holders.add(now, -1);
        }
    }

    fn tell_watchers(&self, k: usize, member: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        for w in &self.cfg.watchers {
            ctx.cal.at(
                now,
                *w,
                Msg::Members {
                    replica: k as u32,
                    joins: member,
                },
            );
        }
    }

    /// Starts recording a time series.
    pub fn record_series(&mut self) {
        self.series = Some(ServiceSeries {
            last_at: 0,
            last_areas: [0; SERIES_WIDTH],
            last_arrivals: 0,
            rows: Vec::new(),
        });
    }

    /// Closes the time bucket that ends at `at`.
    pub fn tick(&mut self, at: Nanos) {
        let s = &self.stats;
        let areas = [
            s.queued.total_area(at),
            s.in_system.total_area(at),
            s.busy.total_area(at),
            s.workers.total_area(at),
            s.replicas.total_area(at),
            s.starting.total_area(at),
            s.desired.total_area(at),
            s.billed.total_area(at),
        ];
        let arrivals = s.arrivals_total;
        let Some(series) = &mut self.series else {
            return;
        };
        let width = (at - series.last_at) as f64;
        if width > 0.0 {
            let d = |i: usize| (areas[i] - series.last_areas[i]) as f64;
            series.rows.push([
                (arrivals - series.last_arrivals) as f64 / (width / 1e9),
                d(0) / width,
                d(1) / width,
                if d(3) > 0.0 { d(2) / d(3) } else { f64::NAN },
                d(4) / width,
                d(5) / width,
                d(6) / width,
                match self.cfg.function {
                    None => d(7) / width / 1e6,
                    Some(_) => d(2) / width * self.cfg.cost_per_hour,
                },
            ]);
        }
        series.last_at = at;
        series.last_areas = areas;
        series.last_arrivals = arrivals;
    }

    /// This service's node metrics over the measured window.
    pub fn node_metrics(&self, window_s: f64, end: Nanos) -> Vec<(String, f64)> {
        let s = &self.stats;
        let mean = |sum: u128, n: u64| {
            if n > 0 {
                sum as f64 / n as f64 / 1e9
            } else {
                f64::NAN
            }
        };
        let busy = s.busy.area(end);
        let capacity = s.workers.area(end);
        let m: Vec<(&str, f64)> = vec![
            ("arrivals", s.arrivals as f64),
            ("rejected", s.rejected as f64),
            ("throughput_rps", s.completions as f64 / window_s),
            ("wait_mean_s", mean(s.wait_sum, s.waits)),
            ("sojourn_mean_s", mean(s.sojourn_sum, s.sojourns)),
            ("service_mean_s", s.service.mean_s()),
            ("service_scv", s.service.scv()),
            ("arrival_scv", s.gaps.scv()),
            (
                "utilization",
                if capacity > 0.0 {
                    busy / capacity
                } else {
                    f64::NAN
                },
            ),
            ("queue_len_mean", s.queued.mean(end).unwrap_or(f64::NAN)),
            ("in_system_mean", s.in_system.mean(end).unwrap_or(f64::NAN)),
            ("replicas_mean", s.replicas.mean(end).unwrap_or(f64::NAN)),
            ("replicas_desired_min", s.desired_range.0 as f64),
            ("replicas_desired_max", s.desired_range.1 as f64),
            ("scale_events", s.scale_events as f64),
            ("resizes", s.resizes as f64),
        ];
        let mut m: Vec<(String, f64)> = m.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        if self.replicas.len() > 1 {
            // The fraction of replica-time with at least k requests (the supermarket model's
            // s_k), closing every replica's current level at the end of the run.
            let mut time = self.stats.level_time;
            for rep in self.replicas.iter().filter(|r| r.phase != Phase::Gone) {
                let from = rep.since.max(self.stats.warmup);
                if end > from {
                    time[(rep.n as usize).min(LEVELS - 1)] += (end - from) as u128;
                }
            }
            let total: u128 = time.iter().sum();
            for k in 1..LEVELS {
                let at_least: u128 = time[k..].iter().sum();
                let frac = if total > 0 {
                    at_least as f64 / total as f64
                } else {
                    f64::NAN
                };
                m.push((format!("replicas_with_ge_{k}"), frac));
            }
        }
        m.push(("failed".into(), s.failed as f64));
        m.push(("degraded".into(), s.degraded as f64));
        m.push(("dropped".into(), s.dropped as f64));
        m.push(("limited".into(), s.limited as f64));
        let mut limits =
            (self.cfg.limit.iter()).chain(self.cfg.class_limits.iter().map(|(_, l)| l));
        if limits.any(LimiterConfig::delays) {
            m.push(("paced".into(), s.paced as f64));
            m.push(("pace_mean_s".into(), mean(s.pace_sum, s.paced)));
        }
        m.push(("shed".into(), s.shed as f64));
        if self.cfg.concurrency_limit.is_some() {
            m.push(("concurrency_limited".into(), s.concurrency_limited as f64));
            let per_replica = match (s.limits.mean(end), s.limit_holders.mean(end)) {
                (Some(l), Some(h)) if h > 0.0 => l / h,
                _ => f64::NAN,
            };
            m.push(("concurrency_limit_mean".into(), per_replica));
        }
        if let Some(d) = &self.dimmer {
            m.push(("dimmer_mean".into(), d.mean(end)));
            m.push(("optional_skipped".into(), s.optional_skipped as f64));
        }
        if self.cfg.function.is_some() {
            m.push(("cold_starts".into(), s.cold_starts as f64));
            m.push(("throttled".into(), s.throttled as f64));
        }
        if self.cfg.calls.iter().any(|c| c.pool.is_some()) {
            m.push((
                "pool_wait_mean_s".into(),
                mean(s.pool_wait_sum, s.pool_acquires),
            ));
            m.push(("pool_timeouts".into(), s.pool_timeouts as f64));
        }
        m.push(("calls".into(), self.out.stats.attempts as f64));
        m.push(("call_retries".into(), self.out.stats.retries as f64));
        if let Some(full) = self.out.bulkhead_metric() {
            m.push(("bulkhead_full".into(), full));
        }
        if let Some((open, refused)) = self.out.breaker_metrics(end) {
            m.push(("open_fraction".into(), open));
            m.push(("not_permitted".into(), refused));
        }
        m
    }

    /// What this service cost over the measured window: per-second billing of every
    /// replica from launch until it is gone, at its size's price.
    pub fn cost(&self, end: Nanos) -> f64 {
        match self.cfg.function {
            None => self.stats.billed.area(end) / 1e9 / 3600.0 / 1e6,
            // Functions: busy (invocation) time and a price per invocation.
            Some(f) => {
                self.stats.busy.area(end) / 1e9 / 3600.0 * self.cfg.cost_per_hour
                    + self.stats.invocations as f64 * f.price_per_request
            }
        }
    }
}
