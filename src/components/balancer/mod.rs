//! Load balancers in front of a service's replicas: round robin (plain and weighted),
//! random, least outstanding requests, power of d choices, consistent hashing (ring hash
//! and Maglev), active health checks, passive outlier ejection, and session affinity.
//!
//! Semantics follow Envoy where the proxies differ (SEMANTICS.md §A2): P2C picks the
//! fewest active requests among d random hosts; outlier ejection lasts base × times
//! ejected, capped, and never ejects more than `max_percent` of hosts (one always may be);
//! below 50% available hosts the balancer panics and balances across all of them.
//!
//! The replica set may change (autoscaling, rollouts): the service tells its balancers when a
//! replica joins or leaves, as endpoint updates do, and only members get traffic.

mod ring;
mod rotation;
mod shards;
mod weighted;
mod zones;

use super::kernel::{answer, Ctx, Msg};
use super::request::{Outcome, ReqId};
use crate::engine::{index_in, ActorId, Nanos, Stream, TimerId};
use crate::metrics::TimeWeighted;
use ring::Ring;
use rotation::Rotation;
pub use shards::Split;
use shards::RangeShards;
pub use zones::ZoneAware;
use weighted::SmoothWeighted;
use zones::Zones;
use std::cmp::Reverse;
use super::keymap::KeyMap;
use std::collections::BinaryHeap;

#[derive(Clone, Debug, PartialEq)]
pub enum Algorithm {
    RoundRobin,
    /// Smooth weighted round robin (as NGINX), one weight per replica.
    WeightedRoundRobin(Vec<u32>),
    Random,
    /// The fewest requests in flight through this balancer; ties rotate.
    LeastOutstanding,
    /// The fewest in flight among `d` distinct random replicas.
    PowerOfChoices(u32),
    /// Ketama-style ring with `vnodes` points per replica, on the request key.
    RingHash {
        vnodes: u32,
    },
    /// Maglev lookup table of a prime size, on the request key.
    Maglev {
        table: u32,
    },
    /// Sharding: the replica holding the key's data, hash(key) mod the initial replicas,
    /// available or not (its data lives nowhere else).
    ShardByHash,
    /// Sharding by key range: keys 0..`keys` in equal ranges over the initial replicas.
    ShardByRange {
        keys: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HealthCheck {
    pub interval: Nanos,
    pub timeout: Nanos,
    /// Consecutive successes that mark an unhealthy replica healthy.
    pub healthy: u32,
    /// Consecutive failures that mark a healthy replica unhealthy.
    pub unhealthy: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outlier {
    /// Consecutive errors (errors and rejections, i.e. 5xx) that eject a replica.
    pub consecutive_errors: u32,
    pub base_ejection: Nanos,
    pub max_ejection: Nanos,
    pub max_percent: f64,
    /// Envoy's sweep interval: each sweep that finds a replica not ejected lowers its
    /// ejection count by one.
    pub interval: Nanos,
}

#[derive(Clone, Debug)]
pub struct BalancerConfig {
    pub target: ActorId,
    pub replicas: u32,
    pub algorithm: Algorithm,
    pub health_check: Option<HealthCheck>,
    pub outlier: Option<Outlier>,
    /// Keep sending a key to the replica it first went to, while that replica is available.
    pub affinity: bool,
    /// The route timeout (Envoy's 15 s; 0: none): an unanswered call is answered with an
    /// error (504) and counts as the replica's failure for outlier detection.
    pub timeout: Nanos,
    pub zone_aware: Option<ZoneAware>,
    /// Range splits while serving (`ShardByRange` only), in time order.
    pub splits: Vec<Split>,
}

struct Backend {
    /// In the endpoint set (a ready replica of the service).
    member: bool,
    /// A health-check timer is running for this slot.
    probing: bool,
    outstanding: u32,
    healthy: bool,
    /// Consecutive health-check results, and the probe awaited.
    hc_ok: u32,
    hc_fail: u32,
    probe_seq: u32,
    probe_pending: bool,
    /// The pending probe's timeout.
    probe_timer: TimerId,
    consecutive_errors: u32,
    ejected_until: Option<Nanos>,
    times_ejected: u32,
    requests: u64,
    load: TimeWeighted,
}

impl Backend {
    /// A slot with a clean record: healthy, nothing outstanding.
    fn new(member: bool, probing: bool, warmup: Nanos) -> Self {
        Backend {
            member,
            probing,
            outstanding: 0,
            healthy: true,
            hc_ok: 0,
            hc_fail: 0,
            probe_seq: 0,
            probe_pending: false,
            probe_timer: TimerId::NONE,
            consecutive_errors: 0,
            ejected_until: None,
            times_ejected: 0,
            requests: 0,
            load: TimeWeighted::new(warmup),
        }
    }
}

pub struct BalancerStats {
    pub ejections: u64,
    pub hc_failures: u64,
    pub panics: u64,
    pub timeouts: u64,
}

pub struct Balancer {
    pub id: ActorId,
    cfg: BalancerConfig,
    backends: Vec<Backend>,
    rr_next: usize,
    rng: Stream,
    ring: Ring,
    maglev: Vec<u32>,
    maglev_dirty: bool,
    zones: Option<Zones>,
    /// `ShardByRange`'s ranges and their splits.
    ranges: Option<RangeShards>,
    sticky: KeyMap<u32>,
    /// The replicas picks choose among, kept current as their state changes.
    rotation: Rotation,
    /// Smooth weighted round robin's current weights, for that algorithm.
    weighted: Option<SmoothWeighted>,
    /// P2C's swaps of one pick (a buffer kept between picks: no allocation per call).
    swaps: Vec<(usize, usize)>,
    /// Ejections by their end, to put replicas back when the time comes.
    expiries: BinaryHeap<Reverse<(Nanos, u32)>>,
    /// Replicas ejected now.
    ejected: usize,
    pub stats: BalancerStats,
}

/// A 64-bit mix for hashing keys and replica names (SplitMix64's finalizer).
pub(super) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Balancer {
    pub fn new(id: ActorId, cfg: BalancerConfig, rng: Stream, warmup: Nanos) -> Self {
        let n = cfg.replicas as usize;
        let least = matches!(cfg.algorithm, Algorithm::LeastOutstanding);
        let backends = (0..n)
            .map(|_| Backend::new(true, cfg.health_check.is_some(), warmup))
            .collect();
        let zones = cfg.zone_aware.clone().map(Zones::new);
        // Points on the ring only for a ring.
        let ring = Ring::new(match cfg.algorithm {
            Algorithm::RingHash { vnodes } => vnodes,
            _ => 0,
        });
        let weighted = match &cfg.algorithm {
            Algorithm::WeightedRoundRobin(w) => Some(SmoothWeighted::new(w.clone())),
            _ => None,
        };
        let ranges = match cfg.algorithm {
            Algorithm::ShardByRange { keys } => {
                Some(RangeShards::new(keys, cfg.replicas, cfg.splits.clone()))
            }
            _ => None,
        };
        let mut b = Balancer {
            id,
            cfg,
            backends,
            rr_next: 0,
            rng,
            ring,
            maglev: Vec::new(),
            maglev_dirty: true,
            zones,
            ranges,
            sticky: KeyMap::default(),
            rotation: Rotation::new(least),
            weighted,
            swaps: Vec::new(),
            expiries: BinaryHeap::new(),
            ejected: 0,
            stats: BalancerStats {
                ejections: 0,
                hc_failures: 0,
                panics: 0,
                timeouts: 0,
            },
        };
        b.ring.join(0..b.cfg.replicas);
        for r in 0..b.cfg.replicas {
            b.refresh(r, 0);
        }
        b
    }

    /// Replica `r` joined or left the service's endpoints.
    fn membership(&mut self, r: u32, member: bool, now: Nanos, ctx: &mut Ctx) {
        let n = self.backends.len() as u32;
        if r >= n {
            let warmup = ctx.warmup;
            self.backends
                .extend((n..=r).map(|_| Backend::new(false, false, warmup)));
        }
        if member {
            self.ring.join(r..r + 1);
        } else {
            self.ring.leave(r);
        }
        let b = &mut self.backends[r as usize];
        b.member = member;
        self.maglev_dirty = true;
        if member {
            // A new replica in the slot: healthy, with a clean record.
            b.healthy = true;
            b.hc_ok = 0;
            b.hc_fail = 0;
            b.consecutive_errors = 0;
            b.times_ejected = 0;
            if self.cfg.health_check.is_some() && !b.probing {
                b.probing = true;
                ctx.cal.at(now, self.id, Msg::ProbeDue(r));
            }
            self.set_ejected_until(r, None, now);
            if let Some(w) = &mut self.weighted {
                w.reset(r);
            }
        }
        self.refresh(r, now);
    }

    pub fn start(&mut self, ctx: &mut Ctx) {
        for (i, sp) in self.cfg.splits.iter().enumerate() {
            ctx.cal.at(sp.to, self.id, Msg::Scheduled(i as u32));
        }
        if let Some(hc) = self.cfg.health_check {
            for r in 0..self.cfg.replicas {
                // Spread the first probes over the interval, as real checkers jitter.
                let offset = hc.interval / self.cfg.replicas as u64 * r as u64;
                ctx.cal.after(offset, self.id, Msg::ProbeDue(r));
            }
        }
    }

    /// Puts replica `r` in or out of rotation after its state changed.
    fn refresh(&mut self, r: u32, now: Nanos) {
        if let Some(z) = &mut self.zones {
            z.invalidate();
        }
        let b = &self.backends[r as usize];
        let available = b.member && b.healthy && b.ejected_until.is_none_or(|t| now >= t);
        self.rotation.set(r, b.member, available, b.outstanding);
        if let Some(w) = &mut self.weighted {
            w.set(r, self.rotation.contains(r, w.panic));
        }
    }

    /// Sets when replica `r`'s ejection ends (`None`: not ejected), counting the ejected.
    fn set_ejected_until(&mut self, r: u32, until: Option<Nanos>, now: Nanos) {
        let b = &mut self.backends[r as usize];
        let was = b.ejected_until.is_some_and(|t| now < t);
        b.ejected_until = until;
        match until {
            Some(t) if now < t => {
                self.expiries.push(Reverse((t, r)));
                self.ejected += 1;
            }
            _ => {}
        }
        self.ejected -= usize::from(was);
        self.refresh(r, now);
    }

    /// Ejections that ended by `now` put their replicas back in rotation. On every pick, and
    /// usually none is pending: the check is inlined, the work is not.
    #[inline(always)]
    fn expire(&mut self, now: Nanos) {
        if self.expiries.peek().is_some_and(|&Reverse((t, _))| t <= now) {
            self.expire_ended(now);
        }
    }

    #[inline(never)]
    fn expire_ended(&mut self, now: Nanos) {
        while let Some(&Reverse((t, r))) = self.expiries.peek() {
            if t > now {
                break;
            }
            self.expiries.pop();
            // Stale if the ejection was lifted or replaced since.
            if self.backends[r as usize].ejected_until == Some(t) {
                self.ejected -= 1;
                self.refresh(r, now);
            }
        }
    }

    /// The replica for a call, or `None` when the service has no members at all.
    fn pick(&mut self, key: u64, now: Nanos) -> Option<u32> {
        let shards = self.cfg.replicas.max(1) as u64;
        match self.cfg.algorithm {
            Algorithm::ShardByHash => return Some((mix(key ^ 0x5bd1_e995) % shards) as u32),
            Algorithm::ShardByRange { .. } => {
                let shards = self.ranges.as_mut().expect("built for range sharding");
                return Some(shards.shard(key, now));
            }
            _ => {}
        }
        self.expire(now);
        let (avail, panic) = self.rotation.eligible();
        if let Some(z) = self.zones.as_mut().filter(|_| !panic) {
            let random = matches!(self.cfg.algorithm, Algorithm::Random);
            if let Some(r) = z.pick(avail, &mut self.rng, random) {
                return Some(r);
            }
        }
        if avail.is_empty() {
            return None;
        }
        if panic {
            self.stats.panics += 1;
        }
        if self.cfg.affinity {
            if let Some(&r) = self.sticky.get(&key) {
                if self.rotation.contains(r, panic) {
                    return Some(r);
                }
            }
        }
        let r = match &self.cfg.algorithm {
            Algorithm::RoundRobin => {
                // The first eligible replica at or after the next in turn, wrapping.
                let n = self.backends.len() as u32;
                let next = (self.rr_next % n as usize) as u32;
                let at = avail.partition_point(|&x| x < next);
                let r = avail.get(at).copied().unwrap_or(avail[0]);
                self.rr_next = r as usize + 1;
                r
            }
            Algorithm::WeightedRoundRobin(_) => {
                let w = self.weighted.as_mut().expect("built for weighted round robin");
                if w.panic != panic {
                    // The eligible set switched between the available replicas and every
                    // member (rare: availability crossed half).
                    w.panic = panic;
                    for r in 0..self.backends.len() as u32 {
                        w.set(r, self.rotation.contains(r, panic));
                    }
                }
                debug_assert_eq!(w.len(), avail.len(), "weighted picks follow the eligible");
                w.pick().expect("the eligible replicas are not empty")
            }
            Algorithm::Random => avail[index_in(&mut self.rng, 0, avail.len())],
            Algorithm::LeastOutstanding => {
                // The fewest outstanding, ties going to the first in turn after a rotating
                // start.
                let n = avail.len();
                let start = avail[self.rr_next % n];
                self.rr_next = self.rr_next.wrapping_add(1);
                self.rotation.least_from(start, panic)
            }
            Algorithm::PowerOfChoices(d) => {
                let backends = &self.backends;
                let load = |r: u32| backends[r as usize].outstanding;
                if *d == 2 && avail.len() >= 2 {
                    least_of_two(&mut self.rng, avail, load)
                } else {
                    least_of_choices(&mut self.rng, &mut self.swaps, avail, *d as usize, load)
                }
            }
            Algorithm::RingHash { .. } => {
                let h = mix(key ^ 0x5bd1_e995);
                let rotation = &self.rotation;
                self.ring
                    .pick(h, |r| rotation.contains(r, panic))
                    .expect("an eligible replica has points on the ring")
            }
            Algorithm::ShardByHash | Algorithm::ShardByRange { .. } => {
                unreachable!("shards are picked above")
            }
            Algorithm::Maglev { table } => {
                if self.maglev_dirty {
                    self.maglev = maglev_table(*table as usize, avail);
                    self.maglev_dirty = false;
                }
                self.maglev[(mix(key ^ 0x5bd1_e995) % *table as u64) as usize]
            }
        };
        if self.cfg.affinity {
            self.sticky.insert(key, r);
        }
        Some(r)
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        match msg {
            Msg::Call(parent) => {
                let p = *ctx
                    .requests
                    .get(parent)
                    .expect("a call for a freed request");
                let Some(r) = self.pick(p.key, now) else {
                    // No replica to send it to: no healthy upstream (503).
                    answer(ctx, parent, Outcome::Error, now);
                    return;
                };
                let b = &mut self.backends[r as usize];
                b.outstanding += 1;
                b.load.add(now, 1);
                let outstanding = b.outstanding;
                self.rotation.outstanding(r, outstanding);
                let b = &mut self.backends[r as usize];
                if now >= ctx.warmup {
                    b.requests += 1;
                }
                let mut child = p.on_behalf(self.id, parent.to_token());
                child.route = r;
                let cid = ctx.requests.insert(child);
                if self.cfg.timeout > 0 {
                    let due = now.saturating_add(self.cfg.timeout);
                    let timer = ctx.cal.timer(due, self.id, Msg::Expire(cid));
                    ctx.requests.get_mut(cid).expect("just inserted").timer = timer;
                }
                ctx.cal.at(
                    now,
                    self.cfg.target,
                    Msg::Route {
                        request: cid,
                        replica: r,
                    },
                );
            }
            Msg::Reply(child) => {
                let c = ctx
                    .requests
                    .remove(child)
                    .expect("a reply frees its request");
                if c.abandoned {
                    // Answered already at the route timeout: the late reply only frees it.
                    return;
                }
                let r = c.route;
                ctx.cal.cancel(c.timer);
                self.settle(r, now);
                let failed = matches!(c.outcome, Outcome::Error | Outcome::Rejected);
                self.passive_result(r, failed, now, ctx);
                answer(ctx, ReqId::from_token(c.token), c.outcome, now);
            }
            Msg::Expire(child) => self.route_timeout(child, now, ctx),
            Msg::ProbeDue(r) => {
                let hc = self
                    .cfg
                    .health_check
                    .expect("probes only with health checks");
                let b = &mut self.backends[r as usize];
                if !b.member {
                    // The replica left: stop checking it until a new one takes the slot.
                    b.probing = false;
                    return;
                }
                b.probe_seq = b.probe_seq.wrapping_add(1);
                b.probe_pending = true;
                ctx.cal.at(
                    now,
                    self.cfg.target,
                    Msg::Probe {
                        replica: r,
                        from: self.id.0,
                        seq: b.probe_seq,
                    },
                );
                // Usually acknowledged in time: a timer the acknowledgement cancels.
                let seq = b.probe_seq;
                b.probe_timer = ctx.cal.timer(
                    now.saturating_add(hc.timeout),
                    self.id,
                    Msg::ProbeTimeout { replica: r, seq },
                );
                ctx.cal.after(hc.interval, self.id, Msg::ProbeDue(r));
            }
            Msg::ProbeAck { replica: r, seq } => {
                let b = &self.backends[r as usize];
                if b.probe_pending && b.probe_seq == seq {
                    ctx.cal.cancel(b.probe_timer);
                }
                self.probe_result(r, seq, true, now)
            }
            Msg::ProbeTimeout { replica: r, seq } => self.probe_result(r, seq, false, now),
            Msg::Unejected(_) => self.maglev_dirty = true,
            Msg::Members {
                replica: r,
                joins: member,
            } => {
                self.membership(r, member, now, ctx);
                if let Some(shards) = &mut self.ranges {
                    shards.finish(members(&self.backends));
                }
            }
            Msg::Scheduled(i) => {
                let shards = self.ranges.as_mut().expect("splits only of range shards");
                shards.split(i as usize, members(&self.backends));
            }
            _ => unreachable!("a balancer takes calls, replies and its own timers"),
        }
    }

    /// Replica `r` no longer holds one of this balancer's calls.
    fn settle(&mut self, r: u32, now: Nanos) {
        let b = &mut self.backends[r as usize];
        b.outstanding -= 1;
        b.load.add(now, -1);
        let outstanding = b.outstanding;
        self.rotation.outstanding(r, outstanding);
    }

    /// The route timeout: the call is reset upstream (it stops counting as outstanding; the
    /// replica still does the work) and answered with a gateway timeout, a failure for
    /// outlier detection (Envoy counts a locally originated timeout as a 5xx) unless the
    /// caller had already gone: a downstream reset is nobody's failure.
    fn route_timeout(&mut self, child: ReqId, now: Nanos, ctx: &mut Ctx) {
        let Some(c) = ctx.requests.get_mut(child).filter(|c| !c.abandoned) else {
            return; // answered in time (a cancelled timer kept firing does nothing)
        };
        c.abandoned = true;
        let (r, parent) = (c.route, ReqId::from_token(c.token));
        self.settle(r, now);
        let gone = ctx
            .requests
            .get(parent)
            .expect("a parent lives until answered")
            .abandoned;
        if !gone {
            if now >= ctx.warmup {
                self.stats.timeouts += 1;
            }
            self.passive_result(r, true, now, ctx);
        }
        answer(ctx, parent, Outcome::Error, now);
    }

    fn probe_result(&mut self, r: u32, seq: u32, ok: bool, now: Nanos) {
        let hc = self
            .cfg
            .health_check
            .expect("probes only with health checks");
        let b = &mut self.backends[r as usize];
        if !b.probe_pending || b.probe_seq != seq {
            return;
        }
        b.probe_pending = false;
        if ok {
            b.hc_ok += 1;
            b.hc_fail = 0;
            if !b.healthy && b.hc_ok >= hc.healthy {
                b.healthy = true;
                self.maglev_dirty = true;
            }
            // A successful active check lifts an ejection (Envoy does the same).
            if b.ejected_until.is_some_and(|t| now < t) {
                self.set_ejected_until(r, Some(now), now);
                self.maglev_dirty = true;
            }
        } else {
            b.hc_fail += 1;
            b.hc_ok = 0;
            self.stats.hc_failures += 1;
            if b.healthy && b.hc_fail >= hc.unhealthy {
                b.healthy = false;
                self.maglev_dirty = true;
            }
        }
        self.refresh(r, now);
    }

    /// A call's result, for outlier detection if it is on (the check inlined: it usually
    /// is not).
    #[inline(always)]
    fn passive_result(&mut self, r: u32, failed: bool, now: Nanos, ctx: &mut Ctx) {
        if self.cfg.outlier.is_some() {
            self.outlier_result(r, failed, now, ctx);
        }
    }

    #[inline(never)]
    fn outlier_result(&mut self, r: u32, failed: bool, now: Nanos, ctx: &mut Ctx) {
        let Some(o) = self.cfg.outlier else { return };
        let n = self.backends.len();
        self.expire(now);
        let ejected_now = self.ejected;
        let b = &mut self.backends[r as usize];
        if !failed {
            b.consecutive_errors = 0;
            return;
        }
        b.consecutive_errors += 1;
        if b.consecutive_errors < o.consecutive_errors || b.ejected_until.is_some_and(|t| now < t) {
            return;
        }
        // At most max_percent of hosts ejected, but one host always may be.
        let cap = ((o.max_percent / 100.0 * n as f64).floor() as usize).max(1);
        if ejected_now >= cap {
            return;
        }
        // Forgiveness, computed when it matters: Envoy's sweeps (every `interval` from the
        // start) found the replica in rotation since its last ejection ended, and each one
        // lowered the count by one.
        if let Some(end) = b.ejected_until {
            let sweeps = now / o.interval - end / o.interval;
            b.times_ejected = b.times_ejected.saturating_sub(sweeps.min(u32::MAX as u64) as u32);
        }
        b.times_ejected += 1;
        let duration = o
            .base_ejection
            .saturating_mul(b.times_ejected as u64)
            .min(o.max_ejection.max(o.base_ejection));
        b.consecutive_errors = 0;
        self.set_ejected_until(r, Some(now.saturating_add(duration)), now);
        self.maglev_dirty = true;
        if now >= ctx.warmup {
            self.stats.ejections += 1;
        }
        ctx.cal.after(duration, self.id, Msg::Unejected(r));
    }

    /// Per-replica load through this balancer over the measured window.
    pub fn node_metrics(&self, end: Nanos) -> Vec<(String, f64)> {
        let mut m = vec![
            ("ejections".to_string(), self.stats.ejections as f64),
            ("route_timeouts".into(), self.stats.timeouts as f64),
            (
                "health_check_failures".into(),
                self.stats.hc_failures as f64,
            ),
        ];
        if let Some(r) = self.ranges.as_ref().filter(|r| !r.splits().is_empty()) {
            m.push(("splits".into(), r.done as f64));
            m.push(("split_key".into(), r.last_key as f64));
        }
        if self.backends.len() > PER_REPLICA_COLUMNS {
            // A column per replica of a large fleet would be most of the result files: say
            // how uneven the spread was instead.
            let n: Vec<f64> = self.backends.iter().map(|b| b.requests as f64).collect();
            let mean = n.iter().sum::<f64>() / n.len() as f64;
            let (lo, hi) = n
                .iter()
                .fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
            m.push(("requests_max_over_mean".into(), hi / mean));
            m.push(("requests_min_over_mean".into(), lo / mean));
            return m;
        }
        for (i, b) in self.backends.iter().enumerate() {
            m.push((format!("replica{i}.requests"), b.requests as f64));
            m.push((
                format!("replica{i}.outstanding_mean"),
                b.load.mean(end).unwrap_or(f64::NAN),
            ));
        }
        m
    }
}

/// The slots of the service's current members, in slot order.
fn members(backends: &[Backend]) -> impl Iterator<Item = u32> + '_ {
    (0..backends.len() as u32).filter(|&r| backends[r as usize].member)
}

/// Replica slots up to which a balancer reports each one's load in its own columns.
const PER_REPLICA_COLUMNS: usize = 64;

/// Maglev's lookup table (Eisenbud et al., NSDI 2016): each backend fills its preferred
/// slots in turn, following its own permutation of the table.
fn maglev_table(m: usize, backends: &[u32]) -> Vec<u32> {
    let perms: Vec<(usize, usize)> = backends
        .iter()
        .map(|&b| {
            let offset = (mix(b as u64 ^ 0xdead_beef) % m as u64) as usize;
            let skip = (mix(b as u64 ^ 0x1234_5678_9abc) % (m as u64 - 1)) as usize + 1;
            (offset, skip)
        })
        .collect();
    let mut next = vec![0usize; backends.len()];
    let mut table = vec![u32::MAX; m];
    let mut filled = 0;
    'fill: loop {
        for (i, &(offset, skip)) in perms.iter().enumerate() {
            let mut c = (offset + next[i] * skip) % m;
            while table[c] != u32::MAX {
                next[i] += 1;
                c = (offset + next[i] * skip) % m;
            }
            table[c] = backends[i];
            next[i] += 1;
            filled += 1;
            if filled == m {
                break 'fill;
            }
        }
    }
    table
}


impl super::node::NodeActor for Balancer {
    fn start(&mut self, ctx: &mut Ctx) {
        Balancer::start(self, ctx)
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Balancer::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics(end)
    }
}

impl super::node::Build for Balancer {
    type Config = BalancerConfig;

    fn new(
        id: ActorId,
        cfg: BalancerConfig,
        s: &super::node::Streams,
        warmup: Nanos,
    ) -> Result<Self, String> {
        Ok(Balancer::new(id, cfg, s.get("balance"), warmup))
    }

    fn waits_on(cfg: &BalancerConfig) -> Vec<ActorId> {
        vec![cfg.target]
    }
}

/// Power of `d` choices: `d` distinct replicas of `avail` drawn at random (a partial
/// Fisher–Yates over the indices, its few swaps kept aside in `swaps`, latest last, instead
/// of the whole permutation), the least loaded of them, the first drawn on ties.
fn least_of_choices(
    rng: &mut Stream,
    swaps: &mut Vec<(usize, usize)>,
    avail: &[u32],
    d: usize,
    load: impl Fn(u32) -> u32,
) -> u32 {
    let n = avail.len();
    let d = d.min(n);
    swaps.clear();
    let at = |i: usize, swaps: &[(usize, usize)]| {
        swaps.iter().rev().find(|(k, _)| *k == i).map_or(i, |(_, v)| *v)
    };
    let mut best: Option<u32> = None;
    for i in 0..d {
        let j = index_in(rng, i, n);
        let (vi, vj) = (at(i, swaps), at(j, swaps));
        swaps.extend([(i, vj), (j, vi)]);
        let r = avail[vj];
        if best.is_none_or(|b| load(r) < load(b)) {
            best = Some(r);
        }
    }
    best.expect("at least one replica")
}

/// `least_of_choices` for two choices of at least two replicas, its swaps worked out: the
/// same draws, the same pick. The first index drawn is j0; the second, drawn from 1..n,
/// is j1 unless j1 = j0, whose place the first swap gave to index 0.
#[inline(always)]
fn least_of_two(rng: &mut Stream, avail: &[u32], load: impl Fn(u32) -> u32) -> u32 {
    debug_assert!(avail.len() >= 2);
    let j0 = index_in(rng, 0, avail.len());
    let j1 = index_in(rng, 1, avail.len());
    let (r0, r1) = (avail[j0], avail[if j1 == j0 { 0 } else { j1 }]);
    if load(r1) < load(r0) {
        r1
    } else {
        r0
    }
}

#[cfg(test)]
mod tests;
