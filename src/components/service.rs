//! Services: replicas × workers, each replica with a FIFO queue of optional capacity, and a
//! handler of steps: compute, call a dependency, call several in parallel.
//!
//! A worker stays taken for the whole handler, waiting on downstream calls included: that is
//! how thread-pool exhaustion and cascading failure arise. A request's first work is drawn
//! when it arrives, from the service's own stream, so the n-th arrival gets the same work
//! whatever the replicas or queue discipline (common random numbers across a sweep).

use super::dist::{DistParams, Sampler};
use super::limiter::{Limiter, LimiterConfig};
use super::outbound::{CallMeta, CallSite, Done, Final, Outbound};
use super::request::{Outcome, ReqId};
use super::slab::{Id, Slab};
use super::{Ctx, Msg};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::TimeWeighted;
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
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// Work started during the window takes `factor` times longer.
    Slowdown { factor: f64, replica: Option<u32> },
    /// Each request finishing its work during the window fails with this probability.
    Errors { rate: f64, replica: Option<u32> },
    /// The replica goes down: its queue and running requests fail, arrivals are refused.
    Crash { replica: u32 },
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
    /// A rate limit on every arrival, and per-class limits (global class id) that replace it
    /// for their class: each tier has its own, so tiers cannot take each other's quota.
    pub limit: Option<LimiterConfig>,
    pub class_limits: Vec<(u16, LimiterConfig)>,
    pub faults: Vec<Fault>,
    /// Price of one replica per hour.
    pub cost_per_hour: f64,
}

struct Replica {
    up: bool,
    idle: u32,
    queue: VecDeque<ReqId>,
    /// Requests in this replica (queued and in service), and since when.
    n: u32,
    since: Nanos,
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
}

/// Per-node observations, after warm-up.
pub struct ServiceStats {
    pub arrivals: u64,
    pub rejected: u64,
    /// Refused by a rate limit.
    pub limited: u64,
    pub dropped: u64,
    pub failed: u64,
    pub degraded: u64,
    pub completions: u64,
    pub wait_sum: u128,
    pub waits: u64,
    pub sojourn_sum: u128,
    pub sojourns: u64,
    pub busy: TimeWeighted,
    pub queued: TimeWeighted,
    pub in_system: TimeWeighted,
    pub workers: TimeWeighted,
    pub replicas: TimeWeighted,
    /// Replica-time spent at each occupancy level, after warm-up.
    pub level_time: [u128; LEVELS],
    warmup: Nanos,
    /// Arrivals from time zero, warm-up included (for time series).
    pub arrivals_total: u64,
}

/// A service's time series: one row per bucket, closed at each tick.
pub struct ServiceSeries {
    last_at: Nanos,
    /// Areas (from time zero) of: queued, in system, busy, workers, replicas.
    last_areas: [i128; 5],
    last_arrivals: u64,
    pub rows: Vec<[f64; 5]>,
}

/// Column names of a service's time series, in row order.
pub const SERIES_COLUMNS: [&str; 5] = [
    "arrivals_rps",
    "queue_len",
    "in_system",
    "utilization",
    "replicas",
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
    replicas: Vec<Replica>,
    next_replica: usize,
    jobs: Slab<Job>,
    pub out: Outbound,
    limiter: Option<Limiter>,
    class_limiters: Vec<(u16, Limiter)>,
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
                        _ => Ok(None),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        let replicas = (0..cfg.replicas)
            .map(|_| Replica {
                up: true,
                idle: cfg.workers,
                queue: VecDeque::new(),
                n: 0,
                since: 0,
            })
            .collect();
        let tw = || TimeWeighted::new(warmup);
        let mut stats = ServiceStats {
            arrivals: 0,
            rejected: 0,
            limited: 0,
            dropped: 0,
            failed: 0,
            degraded: 0,
            completions: 0,
            wait_sum: 0,
            waits: 0,
            sojourn_sum: 0,
            sojourns: 0,
            busy: tw(),
            queued: tw(),
            in_system: tw(),
            workers: tw(),
            replicas: tw(),
            level_time: [0; LEVELS],
            warmup,
            arrivals_total: 0,
        };
        stats.workers.set(0, (cfg.replicas * cfg.workers) as i64);
        stats.replicas.set(0, cfg.replicas as i64);
        let out = Outbound::new(id, cfg.calls.clone(), s.calls, warmup);
        let active_faults = vec![false; cfg.faults.len()];
        let limiter = cfg.limit.map(Limiter::new);
        let class_limiters = cfg
            .class_limits
            .iter()
            .map(|(c, l)| (*c, Limiter::new(*l)))
            .collect();
        let n = cfg.replicas as usize;
        Ok(Service {
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
            active_faults,
            series: None,
            slow: vec![1.0; n],
            error_rate: vec![0.0; n],
            stats,
        })
    }

    /// Schedules the fault timeline.
    pub fn start(&mut self, ctx: &mut Ctx) {
        for (i, f) in self.cfg.faults.iter().enumerate() {
            ctx.cal.at(f.at, self.id, Msg::Fault(i as u32, true));
            if let Some(end) = f.until {
                ctx.cal.at(end, self.id, Msg::Fault(i as u32, false));
            }
        }
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(id) => self.arrive(id, None, ctx),
            Msg::Route(id, replica) => self.arrive(id, Some(replica as usize), ctx),
            Msg::Probe(replica, from, seq) => {
                // A health check: answered at once by a replica that is up, never by one down.
                if self.replicas[replica as usize].up {
                    ctx.cal
                        .at(ctx.cal.now(), ActorId(from), Msg::ProbeAck(replica, seq));
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
            Msg::Fault(i, begin) => self.fault(i as usize, begin, ctx),
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
        let r = ctx
            .requests
            .get_mut(id)
            .expect("replying to a freed request");
        r.outcome = outcome;
        let (to, net) = (r.reply_to, r.net);
        ctx.cal.at(now + net, to, Msg::Reply(id));
    }

    /// A call arrives, for a given replica (from a balancer) or spread round robin.
    fn arrive(&mut self, id: ReqId, replica: Option<usize>, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let work = self.sampler.sample(&mut self.rng, self.cfg.speed);
        self.stats.arrivals_total += 1;
        let counted = now >= ctx.warmup;
        if counted {
            self.stats.arrivals += 1;
        }
        let r = ctx
            .requests
            .get_mut(id)
            .expect("a call for a freed request");
        r.work = work;
        r.entered = now;
        let class = r.class;
        let limiter = match self.class_limiters.iter_mut().find(|(c, _)| *c == class) {
            Some((_, l)) => Some(l),
            None => self.limiter.as_mut(),
        };
        if limiter.is_some_and(|l| !l.admit(now)) {
            // Throttled (429): answered at once, never queued.
            if counted {
                self.stats.limited += 1;
            }
            self.reply(id, Outcome::Rejected, ctx);
            return;
        }
        let k = replica.unwrap_or_else(|| {
            let k = self.next_replica;
            self.next_replica = (k + 1) % self.replicas.len();
            k
        });
        let rep = &mut self.replicas[k];
        if !rep.up {
            // Connection refused: the caller sees an error at once.
            if counted {
                self.stats.failed += 1;
            }
            self.reply(id, Outcome::Error, ctx);
        } else if rep.idle > 0 {
            rep.idle -= 1;
            self.occupancy(k, now, 1);
            self.start_job(k as u32, id, ctx);
        } else if self
            .cfg
            .capacity
            .is_some_and(|c| rep.queue.len() >= c as usize)
        {
            if counted {
                self.stats.rejected += 1;
            }
            self.reply(id, Outcome::Rejected, ctx);
        } else {
            rep.queue.push_back(id);
            self.occupancy(k, now, 1);
            self.stats.queued.add(now, 1);
        }
    }

    /// Puts `id` on a worker of replica `k` (the worker is already counted as taken).
    fn start_job(&mut self, k: u32, id: ReqId, ctx: &mut Ctx) {
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
            self.next_from_queue(k, ctx);
            return;
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
        });
        self.advance(job, ctx);
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
        match step {
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
                let slow = self.slow[job.replica as usize];
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

    /// A downstream call of a job ended.
    fn call_done(&mut self, done: Done, ctx: &mut Ctx) {
        let jid = Id::from_token(done.owner);
        let Some(job) = self.jobs.get_mut(jid) else {
            return; // the job ended (crash, or it went on without this call)
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
        let entered = ctx.requests.get(job.req).expect("live").entered;
        if entered >= ctx.warmup {
            self.stats.sojourn_sum += (now - entered) as u128;
            self.stats.sojourns += 1;
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
        let rep = &mut self.replicas[k as usize];
        if let Some(next) = rep.queue.pop_front() {
            self.stats.queued.add(now, -1);
            self.start_job(k, next, ctx);
        } else {
            rep.idle += 1;
        }
    }

    fn fault(&mut self, i: usize, begin: bool, ctx: &mut Ctx) {
        self.active_faults[i] = begin;
        if let FaultKind::Crash { replica } = self.cfg.faults[i].kind {
            if begin {
                self.crash(replica, ctx);
            } else {
                self.recover(replica, ctx);
            }
        }
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
    }

    fn crash(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &mut self.replicas[k as usize];
        if !rep.up {
            return;
        }
        rep.up = false;
        let queued: Vec<ReqId> = rep.queue.drain(..).collect();
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
        self.stats.workers.add(now, -(self.cfg.workers as i64));
        self.stats.replicas.add(now, -1);
    }

    fn recover(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &mut self.replicas[k as usize];
        if rep.up {
            return;
        }
        rep.up = true;
        rep.idle = self.cfg.workers;
        self.stats.workers.add(now, self.cfg.workers as i64);
        self.stats.replicas.add(now, 1);
    }

    /// Starts recording a time series.
    pub fn record_series(&mut self) {
        self.series = Some(ServiceSeries {
            last_at: 0,
            last_areas: [0; 5],
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
        ];
        let mut m: Vec<(String, f64)> = m.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        if self.replicas.len() > 1 {
            // The fraction of replica-time with at least k requests (the supermarket model's
            // s_k), closing every replica's current level at the end of the run.
            let mut time = self.stats.level_time;
            for rep in &self.replicas {
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
        m.push(("calls".into(), self.out.stats.attempts as f64));
        m.push(("call_retries".into(), self.out.stats.retries as f64));
        if let Some((open, refused)) = self.out.breaker_metrics(end) {
            m.push(("open_fraction".into(), open));
            m.push(("not_permitted".into(), refused));
        }
        m
    }

    /// What this service cost over the measured window (per-second billing of replicas).
    pub fn cost(&self, end: Nanos) -> f64 {
        self.stats.replicas.area(end) / 1e9 / 3600.0 * self.cfg.cost_per_hour
    }
}
