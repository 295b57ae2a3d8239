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

mod admission;
mod census;
mod config;
mod control;
mod executor;
mod fleet;
mod instances;
mod jobs;
mod lean;
mod slots;
mod stats;

pub use config::*;
pub use stats::{ServiceSeries, ServiceStats, SERIES_COLUMNS, SERIES_WIDTH};

use super::autoscaler::{Autoscaler, AutoscalerConfig, PolicyConfig, Totals, SCRAPE};
use super::concurrency::{ConcurrencyLimit, LimitAlgorithm};
use super::connections::{Connections, ConnectionsConfig, Open};
use super::degrade::{DegradeConfig, Dimmer};
use super::dist::{DistParams, Sampler};
use super::kernel::{Ctx, Msg};
use super::limiter::{Limiter, LimiterConfig, Verdict};
use super::outbound::{CallMeta, CallSite, Done, Final, Outbound};
use super::pool::Pool;
use super::queue::{CoDel, Order, QueuePolicy, WaitQueue, WhenFull};
use super::request::{Outcome, ReqId};
pub use super::size::Size;
use super::slab::Id;
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::{Moments, TimeWeighted};
use rand::Rng;
use std::collections::VecDeque;

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
    /// Health checks waiting for a worker, in arrival order.
    probes: VecDeque<WaitingProbe>,
    /// Its pools hold their idle connections open at their targets.
    holding: bool,
}

/// A balancer's health check waiting its turn: answered by the first worker free once the
/// queue's `removed` count reaches `place` (the requests queued before it have left).
#[derive(Clone, Copy, Debug)]
struct WaitingProbe {
    place: u64,
    from: u32,
    seq: u32,
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
            probes: VecDeque::new(),
            holding: false,
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

impl Job {
    /// A job of request `req` on replica `replica`, running `handler` from its first step.
    fn new(req: ReqId, replica: u32, handler: u16, started: Nanos) -> Self {
        Job {
            req,
            replica,
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
            started,
        }
    }
}

pub struct Service {
    pub id: ActorId,
    cfg: ServiceConfig,
    sampler: Sampler,
    handlers: Vec<Vec<Step>>,
    /// The only handler is one step of the arrival's work (the default): jobs skip the
    /// step interpreter, with the same events.
    plain: bool,
    /// Nothing configured on a request's way in (see `lean`): arrivals take the lean path.
    lean_in: bool,
    /// Lean on the way in and plain: jobs take the lean path too.
    lean: bool,
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
    /// What reconcile and the autoscaler count of `replicas`, kept current by each change.
    census: census::Census,
    /// Gone slots, the lowest reused first (as a scan for the first free slot would).
    free_slots: slots::SlotSet,
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
    jobs: jobs::Jobs,
    pub out: Outbound,
    limits: admission::RateLimits,
    active_faults: Vec<bool>,
    /// The faults that set a replica's slowdown or error rate (`Slowdown`, `Errors`), in
    /// file order: a replica's rates come from these alone, however many crashes a region
    /// loss adds.
    rate_faults: Vec<usize>,
    pub series: Option<ServiceSeries>,
    /// Per replica: the slowdown factor and error probability of the active faults.
    slow: Vec<f64>,
    error_rate: Vec<f64>,
    /// A function's scaling rate: launches take a token.
    scaling: Option<Limiter>,
    /// A function's instances, as `invoke` looks them up.
    instances: Option<instances::Instances>,
    /// The server's connections, if it limits them or charges for new ones.
    conns: Option<(Connections, Stream)>,
    sessions: Option<super::sessions::Sessions>,
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

/// The handlers of a service, indexed: handler 0 is the default and each route adds one;
/// which handler a class's route runs; each step's own work distribution, if it has one.
#[allow(clippy::type_complexity)]
fn compile_handlers(
    cfg: &ServiceConfig,
) -> Result<(Vec<Vec<Step>>, Vec<(u16, u16)>, Vec<Vec<Option<Sampler>>>), String> {
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
        let step_samplers: Vec<Vec<Option<Sampler>>> = handlers
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
    Ok((handlers, route_of, step_samplers))
}

/// Streams a service draws from.
pub struct ServiceStreams {
    pub work: Stream,
    pub faults: Stream,
    pub calls: Stream,
    pub provision: Stream,
    pub degrade: Stream,
    pub connect: Stream,
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
        let (handlers, route_of, step_samplers) = compile_handlers(&cfg)?;
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
        let replicas: Vec<Replica> = (0..cfg.replicas)
            .map(|_| Replica::new(Phase::Serving, size, cfg.speed, &cfg, levels))
            .collect();
        let startup = cfg
            .provisioning
            .startup
            .as_ref()
            .map(Sampler::new)
            .transpose()?;
        let stats = ServiceStats::new(&cfg, size, warmup);
        let out = Outbound::new(id, cfg.calls.clone(), s.calls, warmup);
        let active_faults = vec![false; cfg.faults.len()];
        let rate_faults = (cfg.faults.iter().enumerate())
            .filter(|(_, f)| matches!(f.kind, FaultKind::Slowdown { .. } | FaultKind::Errors { .. }))
            .map(|(i, _)| i)
            .collect();
        let crashes = (cfg.faults.iter()).any(|f| matches!(f.kind, FaultKind::Crash { .. }));
        let limits = admission::RateLimits::new(&cfg);
        let n = cfg.replicas as usize;
        let autoscaler = cfg.autoscaler.clone().map(Autoscaler::new);
        let scaling = cfg
            .function
            .and_then(|f| f.scaling_rate)
            .map(|(instances, every)| {
                Limiter::new(LimiterConfig::TokenBucket {
                    rate: instances as f64 * 1e9 / every as f64,
                    burst: instances,
                    max_delay: 0,
                })
            });
        let conns = match &cfg.connections {
            Some(c) => Some((Connections::new(c)?, s.connect)),
            None => None,
        };
        let instances = cfg.function.map(|_| {
            let mut i = instances::Instances {
                running: cfg.replicas,
                ..Default::default()
            };
            (0..n).for_each(|k| i.free.insert(k));
            i
        });
        let plain = handlers.len() == 1 && matches!(handlers[0][..], [Step::Compute(None)]);
        let lean_in = Self::is_lean_in(&cfg, levels);
        let lean = lean_in && plain;
        Ok(Service {
            sessions: cfg.sessions.map(super::sessions::Sessions::new),
            conns,
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
            plain,
            lean_in,
            lean,
            handlers,
            route_of,
            step_samplers,
            rng: s.work,
            fault_rng: s.faults,
            census: census::Census::of(&replicas, 0),
            replicas,
            free_slots: Default::default(),
            next_replica: 0,
            jobs: jobs::Jobs::new(crashes),
            out,
            limits,
            active_faults,
            rate_faults,
            series: None,
            slow: vec![1.0; n],
            error_rate: vec![0.0; n],
            scaling,
            instances,
            stats,
        })
    }

    /// Schedules the fault timeline and the autoscaler's clocks.
    pub fn start(&mut self, ctx: &mut Ctx) {
        let windows = self.cfg.faults.iter().map(|f| (f.at, f.until));
        super::outage::schedule(self.id, windows, ctx);
        for k in 0..self.replicas.len() {
            self.idle_instance(k, 0, ctx);
            if self.replicas[k].phase == Phase::Serving {
                self.hold_pools(k, true, ctx);
            }
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
            // Admission and execution.
            Msg::Call(id) if self.lean_in => self.lean_arrive(id, None, ctx),
            Msg::Route {
                request: id,
                replica,
            } if self.lean_in => self.lean_arrive(id, Some(replica as usize), ctx),
            Msg::Finish(job) if self.lean => self.lean_finish(Id::from_token(job), ctx),
            Msg::Call(id) => self.arrive(id, None, ctx),
            Msg::Route {
                request: id,
                replica,
            } => self.arrive(id, Some(replica as usize), ctx),
            Msg::Paced {
                request: id,
                replica,
            } => self.paced(id, replica, ctx),
            Msg::Connected {
                request: id,
                replica,
            } => self.connected(id, replica, ctx),
            Msg::Finish(job) => self.finish_work(Id::from_token(job), ctx),
            Msg::PoolTimeout { job, step } => self.pool_timeout(Id::from_token(job), step, ctx),
            // Its own calls.
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
            // The fleet.
            Msg::Probe { replica, from, seq } => self.probe(replica, from, seq, ctx),
            Msg::Ready { replica, epoch } => self.ready_due(replica as usize, epoch, ctx),
            Msg::Reap { instance, epoch } => self.reap(instance, epoch, ctx),
            Msg::Fault { fault, begins } => self.fault(fault as usize, begins, ctx),
            // Control loops.
            Msg::Dimmer => self.dim(ctx),
            Msg::Scrape => self.scrape(ctx),
            Msg::Autoscale => self.autoscale(ctx),
            Msg::Scheduled(i) => self.scheduled(i as usize, ctx),
            // A caller's pool opens or closes the connections it keeps.
            Msg::Hold { from, count } => {
                let counted = ctx.cal.now() >= ctx.warmup;
                if let Some((c, _)) = &mut self.conns {
                    c.hold(from, count, counted);
                }
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

    #[inline(always)]
    fn reply(&mut self, id: ReqId, outcome: Outcome, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        if self.conns.is_some() {
            self.close_connection(id, ctx);
        }
        super::kernel::answer(ctx, id, outcome, now);
    }

    /// The caller's connection closes with its answer, unless kept alive.
    #[cold]
    #[inline(never)]
    fn close_connection(&mut self, id: ReqId, ctx: &mut Ctx) {
        let (c, _) = self.conns.as_mut().expect("a service limiting connections");
        let r = ctx.requests.get(id).expect("a call lives until answered");
        c.close(r.kept, r.reply_to.0);
    }
}

impl super::node::NodeActor for Service {
    fn general_paths_only(&mut self) {
        self.lean_in = false;
        self.lean = false;
        self.plain = false;
    }

    fn start(&mut self, ctx: &mut Ctx) {
        Service::start(self, ctx)
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Service::handle(self, msg, ctx)
    }

    fn metrics(&self, window_s: f64, end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics(window_s, end)
    }

    fn add_totals(&self, t: &mut super::node::Totals, end: Nanos) {
        t.cost += self.cost(end);
    }

    fn outbound(&mut self) -> Option<&mut Outbound> {
        Some(&mut self.out)
    }

    fn record_series(&mut self, _bucket: Nanos, _n: usize) {
        Service::record_series(self)
    }

    fn tick(&mut self, at: Nanos) {
        Service::tick(self, at)
    }

    fn close_series(&mut self, end: Nanos, n: usize) {
        if self.series.as_ref().is_some_and(|x| x.rows.len() < n) {
            Service::tick(self, end);
        }
    }

    fn series_columns(
        &self,
        name: &str,
        group: super::node::ColumnGroup,
    ) -> Vec<(crate::metrics::series::Owner, &'static str)> {
        if group != super::node::ColumnGroup::Service {
            return Vec::new();
        }
        let owner = crate::metrics::series::Owner::node_in("service", name);
        SERIES_COLUMNS.iter().map(|c| (owner.clone(), *c)).collect()
    }

    fn series_row(&self, i: usize, group: super::node::ColumnGroup, row: &mut Vec<f64>) {
        if group != super::node::ColumnGroup::Service {
            return;
        }
        let r = self.series.as_ref().and_then(|x| x.rows.get(i));
        row.extend(r.map_or([f64::NAN; SERIES_WIDTH], |r| *r));
    }
}

impl super::node::Build for Service {
    type Config = ServiceConfig;

    fn new(
        id: ActorId,
        cfg: ServiceConfig,
        s: &super::node::Streams,
        warmup: Nanos,
    ) -> Result<Self, String> {
        let streams = ServiceStreams {
            work: s.get("service"),
            faults: s.get("faults"),
            calls: s.get("calls"),
            provision: s.get("provision"),
            degrade: s.get("degrade"),
            connect: s.get("connect"),
        };
        Service::new(id, cfg, streams, warmup)
    }

    fn waits_on(cfg: &ServiceConfig) -> Vec<ActorId> {
        cfg.calls.iter().map(|c| c.target).collect()
    }
}
