//! Services: replicas × workers, each replica with a FIFO queue of optional capacity.
//!
//! A request's work is drawn when it arrives (not when it starts), from the service's own
//! stream, so the n-th arrival gets the same work whatever the number of replicas or the
//! queue discipline: common random numbers across the points of a sweep.

use super::dist::{DistParams, Sampler};
use super::request::{Outcome, ReqId};
use super::{Ctx, Msg};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::TimeWeighted;
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct ServiceConfig {
    pub replicas: u32,
    pub workers: u32,
    /// Work is divided by this: 2.0 is a machine twice as fast.
    pub speed: f64,
    /// Waiting room per replica (not counting requests in service); `None` is unbounded.
    pub capacity: Option<u32>,
    pub service_time: DistParams,
    /// Price of one replica per hour.
    pub cost_per_hour: f64,
}

struct Replica {
    idle: u32,
    queue: VecDeque<ReqId>,
}

/// Per-node observations, after warm-up.
pub struct ServiceStats {
    pub arrivals: u64,
    pub rejected: u64,
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
}

pub struct Service {
    pub id: ActorId,
    cfg: ServiceConfig,
    sampler: Sampler,
    rng: Stream,
    replicas: Vec<Replica>,
    next_replica: usize,
    pub stats: ServiceStats,
}

impl Service {
    pub fn new(
        id: ActorId,
        cfg: ServiceConfig,
        rng: Stream,
        warmup: Nanos,
    ) -> Result<Self, String> {
        let sampler = Sampler::new(&cfg.service_time)?;
        let replicas = (0..cfg.replicas)
            .map(|_| Replica {
                idle: cfg.workers,
                queue: VecDeque::new(),
            })
            .collect();
        let mut stats = ServiceStats {
            arrivals: 0,
            rejected: 0,
            completions: 0,
            wait_sum: 0,
            waits: 0,
            sojourn_sum: 0,
            sojourns: 0,
            busy: TimeWeighted::new(warmup),
            queued: TimeWeighted::new(warmup),
            in_system: TimeWeighted::new(warmup),
            workers: TimeWeighted::new(warmup),
            replicas: TimeWeighted::new(warmup),
        };
        stats.workers.set(0, (cfg.replicas * cfg.workers) as i64);
        stats.replicas.set(0, cfg.replicas as i64);
        Ok(Service {
            id,
            cfg,
            sampler,
            rng,
            replicas,
            next_replica: 0,
            stats,
        })
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(id) => self.arrive(id, ctx),
            Msg::Finish(replica, id) => self.finish(replica, id, ctx),
            _ => unreachable!("a service only takes calls and its own completions"),
        }
    }

    fn arrive(&mut self, id: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let work = self.sampler.sample(&mut self.rng, self.cfg.speed);
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
        let k = self.next_replica;
        self.next_replica = (k + 1) % self.replicas.len();
        let rep = &mut self.replicas[k];
        if rep.idle > 0 {
            rep.idle -= 1;
            self.stats.in_system.add(now, 1);
            self.start(k as u32, id, ctx);
        } else if self
            .cfg
            .capacity
            .is_some_and(|c| rep.queue.len() >= c as usize)
        {
            if counted {
                self.stats.rejected += 1;
            }
            r.outcome = Outcome::Rejected;
            let to = r.reply_to;
            ctx.cal.at(now, to, Msg::Reply(id));
        } else {
            rep.queue.push_back(id);
            self.stats.in_system.add(now, 1);
            self.stats.queued.add(now, 1);
        }
    }

    /// Puts `id` on a worker of replica `k` (the worker is already counted as taken).
    fn start(&mut self, k: u32, id: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let r = ctx.requests.get(id).expect("starting a freed request");
        if r.entered >= ctx.warmup {
            self.stats.wait_sum += (now - r.entered) as u128;
            self.stats.waits += 1;
        }
        self.stats.busy.add(now, 1);
        ctx.cal.after(r.work, self.id, Msg::Finish(k, id));
    }

    fn finish(&mut self, k: u32, id: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let r = ctx.requests.get_mut(id).expect("finishing a freed request");
        r.outcome = Outcome::Ok;
        let (entered, to) = (r.entered, r.reply_to);
        if entered >= ctx.warmup {
            self.stats.sojourn_sum += (now - entered) as u128;
            self.stats.sojourns += 1;
            self.stats.completions += 1;
        }
        self.stats.in_system.add(now, -1);
        self.stats.busy.add(now, -1);
        ctx.cal.at(now, to, Msg::Reply(id));
        let rep = &mut self.replicas[k as usize];
        if let Some(next) = rep.queue.pop_front() {
            self.stats.queued.add(now, -1);
            self.start(k, next, ctx);
        } else {
            rep.idle += 1;
        }
    }

    /// This service's node metrics over the measured window.
    pub fn node_metrics(&self, window_s: f64, end: Nanos) -> Vec<(&'static str, f64)> {
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
        vec![
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
        ]
    }

    /// What this service cost over the measured window (per-second billing of replicas).
    pub fn cost(&self, end: Nanos) -> f64 {
        self.stats.replicas.area(end) / 1e9 / 3600.0 * self.cfg.cost_per_hour
    }
}
