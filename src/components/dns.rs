//! Global routing by DNS (Route 53's failover, weighted and latency records with health
//! checks), and the clients' caches that delay a switch.
//!
//! Health checks probe each target every `interval`; `threshold` failures in a row (no
//! answer within `timeout`, or an error) make it unhealthy and as many successes healthy
//! again, which changes the record. With every target unhealthy the record answers as if
//! all were healthy (Route 53 does so). Failover answers the first healthy target in
//! order; latency routing is failover in order of the link's latency from the DNS's
//! region; weighted answers every healthy target, one chosen per call by weight.
//!
//! Clients cache an answer for the record's TTL. With many clients whose caches were
//! filled at unrelated times, a call at `t` follows the answer the record gave at `t − u`,
//! u uniform in [0, TTL): after a change, the share still sent to the old answer falls
//! linearly to nothing over one TTL. A share of callers may ignore the TTL and keep answers
//! longer (`slow_clients`): theirs fall off over their own cache time, the long tail of a
//! DNS switch. The call then goes to its target over the link between the regions.
//!
//! Faults: while the DNS is down (`Crash`) no name resolves and calls fail; `Errors` fail
//! that fraction of calls.

use super::dist::Sampler;
use super::kernel::{answer, Ctx, Msg};
use super::outage::{Outage, Outages};
use super::request::{Outcome, ReqId, Request};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream, TimerId};
use rand::Rng;
use std::collections::VecDeque;

/// How the record answers.
#[derive(Clone, Debug)]
pub enum DnsPolicy {
    /// The first healthy target, in this order (indices into the targets).
    Failover(Vec<usize>),
    /// Every healthy target, one picked per call by these weights.
    Weighted(Vec<u32>),
}

#[derive(Clone, Debug)]
pub struct DnsConfig {
    pub targets: Vec<ActorId>,
    pub policy: DnsPolicy,
    /// Order failover by the links' latency (Route 53's latency records), once known.
    pub by_latency: bool,
    pub ttl: Nanos,
    /// A share of calls from callers that keep answers this long instead of the TTL.
    pub slow_clients: Option<(f64, Nanos)>,
    pub interval: Nanos,
    pub timeout: Nanos,
    pub threshold: u32,
    /// One-way latency to each target (the link between regions), if any.
    pub links: Vec<Option<Sampler>>,
    pub faults: Vec<Outage>,
}

enum Pending {
    Call(ReqId),
    Probe { target: u32, seq: u32 },
}

struct Target {
    healthy: bool,
    /// Probe results in a row that disagree with `healthy`.
    streak: u32,
    seq: u32,
    timer: TimerId,
    /// A probe is waiting for its answer.
    probing: bool,
}

#[derive(Default)]
pub struct DnsStats {
    /// Calls after warm-up sent to each target.
    pub requests: Vec<u64>,
    /// Calls sent, from a cached answer, to a target the record no longer gave.
    pub stale: u64,
    pub failed: u64,
    pub changes: u64,
    pub first_change: Option<Nanos>,
}

pub struct Dns {
    pub id: ActorId,
    cfg: DnsConfig,
    targets: Vec<Target>,
    /// The record's healthy sets over the last TTL: (from when, bit per target).
    history: VecDeque<(Nanos, u64)>,
    pending: Slab<Pending>,
    outages: Outages,
    cache_rng: Stream,
    pick_rng: Stream,
    net_rng: Stream,
    fault_rng: Stream,
    pub stats: DnsStats,
}

impl Dns {
    pub fn new(id: ActorId, cfg: DnsConfig, streams: [Stream; 4]) -> Self {
        let [cache_rng, pick_rng, net_rng, fault_rng] = streams;
        let n = cfg.targets.len();
        assert!(n <= 64, "targets fit a mask");
        let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        Dns {
            id,
            targets: (0..n)
                .map(|_| Target {
                    healthy: true,
                    streak: 0,
                    seq: 0,
                    timer: TimerId::NONE,
                    probing: false,
                })
                .collect(),
            history: VecDeque::from([(0, all)]),
            pending: Slab::default(),
            outages: Outages::new(cfg.faults.clone()),
            cache_rng,
            pick_rng,
            net_rng,
            fault_rng,
            stats: DnsStats {
                requests: vec![0; n],
                ..DnsStats::default()
            },
            cfg,
        }
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(call) => self.resolve(call, ctx),
            Msg::Reply(child) => self.answered(child, ctx),
            Msg::ProbeDue(t) => self.probe(t, ctx),
            Msg::ProbeTimeout { replica, seq } => self.probed(replica, seq, false, ctx),
            Msg::Fault { fault, begins } => {
                self.outages.set(fault as usize, begins);
            }
            _ => unreachable!("a DNS gets calls, their answers and its probes"),
        }
    }

    /// The healthy set the record gave at `at` (within the last TTL).
    fn record_at(&self, at: Nanos) -> u64 {
        let i = self.history.partition_point(|(from, _)| *from <= at);
        self.history[i.saturating_sub(1)].1
    }

    /// The target the answer `healthy` sends a call to.
    fn pick(&mut self, healthy: u64) -> usize {
        let n = self.targets.len();
        let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        let set = if healthy == 0 { all } else { healthy };
        match &self.cfg.policy {
            DnsPolicy::Failover(order) => *order
                .iter()
                .find(|&&t| set & (1 << t) != 0)
                .expect("a non-empty set"),
            DnsPolicy::Weighted(w) => {
                let total: u64 = (0..n)
                    .filter(|t| set & (1 << t) != 0)
                    .map(|t| w[t] as u64)
                    .sum();
                let mut x = self.pick_rng.random_range(0..total);
                for (t, &wt) in w.iter().enumerate() {
                    if set & (1 << t) == 0 {
                        continue;
                    }
                    if x < wt as u64 {
                        return t;
                    }
                    x -= wt as u64;
                }
                unreachable!("a draw below the healthy weight falls in some target")
            }
        }
    }

    fn resolve(&mut self, call: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let counted = now >= ctx.warmup;
        if self.outages.fails(&mut self.fault_rng) {
            self.stats.failed += counted as u64;
            answer(ctx, call, Outcome::Error, now);
            return;
        }
        let mut keep = self.cfg.ttl;
        if let Some((share, cache)) = self.cfg.slow_clients {
            if self.cache_rng.random::<f64>() < share {
                keep = cache;
            }
        }
        let age = if keep > 0 {
            self.cache_rng.random_range(0..keep)
        } else {
            0
        };
        let cached = self.record_at(now.saturating_sub(age));
        let t = self.pick(cached);
        if counted {
            self.stats.requests[t] += 1;
            let current = self.history.back().expect("a record").1;
            self.stats.stale += (current != 0 && current & (1 << t) == 0) as u64;
        }
        let p = *ctx.requests.get(call).expect("a call of a freed request");
        let token = self.pending.insert(Pending::Call(call)).to_token();
        let mut child = p.on_behalf(self.id, token);
        child.net = match &self.cfg.links[t] {
            Some(s) => s.sample(&mut self.net_rng, 1.0),
            None => 0,
        };
        child.sent = now.saturating_add(child.net);
        let id = ctx.requests.insert(child);
        ctx.cal.at(child.sent, self.cfg.targets[t], Msg::Call(id));
    }

    fn answered(&mut self, child: ReqId, ctx: &mut Ctx) {
        let c = ctx
            .requests
            .remove(child)
            .expect("a reply frees its request");
        let ok = matches!(c.outcome, Outcome::Ok | Outcome::Degraded);
        match self
            .pending
            .remove(Id::from_token(c.token))
            .expect("an answer to a pending call or probe")
        {
            Pending::Call(parent) => answer(ctx, parent, c.outcome, ctx.cal.now()),
            Pending::Probe { target, seq } => {
                let t = &self.targets[target as usize];
                if t.probing && t.seq == seq {
                    ctx.cal.cancel(t.timer);
                    self.probed(target, seq, ok, ctx);
                }
            }
        }
    }

    fn probe(&mut self, t: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let target = &mut self.targets[t as usize];
        if target.probing {
            // The last probe is still out: it fails at its timeout.
        } else {
            target.seq = target.seq.wrapping_add(1);
            target.probing = true;
            let seq = target.seq;
            let token = self.pending.insert(Pending::Probe { target: t, seq }).to_token();
            let mut probe = Request::new(now, self.id, token);
            probe.net = match &self.cfg.links[t as usize] {
                Some(s) => s.sample(&mut self.net_rng, 1.0),
                None => 0,
            };
            probe.sent = now.saturating_add(probe.net);
            let id = ctx.requests.insert(probe);
            ctx.cal.at(probe.sent, self.cfg.targets[t as usize], Msg::Call(id));
            let due = now.saturating_add(self.cfg.timeout);
            self.targets[t as usize].timer =
                ctx.cal
                    .timer(due, self.id, Msg::ProbeTimeout { replica: t, seq });
        }
        ctx.cal.after(self.cfg.interval, self.id, Msg::ProbeDue(t));
    }

    /// Probe `seq` of target `t` succeeded or failed: `threshold` in a row flip its health.
    fn probed(&mut self, t: u32, seq: u32, ok: bool, ctx: &mut Ctx) {
        let target = &mut self.targets[t as usize];
        if !target.probing || target.seq != seq {
            return; // answered already (a cancelled timer kept firing), or a late answer
        }
        target.probing = false;
        if ok == target.healthy {
            target.streak = 0;
            return;
        }
        target.streak += 1;
        if target.streak < self.cfg.threshold {
            return;
        }
        target.healthy = ok;
        target.streak = 0;
        let now = ctx.cal.now();
        let mask = self
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.healthy)
            .fold(0u64, |m, (i, _)| m | 1 << i);
        self.history.push_back((now, mask));
        // Answers older than the longest cache are in none: keep the one in effect then.
        let longest = self.cfg.ttl.max(self.cfg.slow_clients.map_or(0, |c| c.1));
        let horizon = now.saturating_sub(longest);
        while self.history.len() > 1 && self.history[1].0 <= horizon {
            self.history.pop_front();
        }
        if now >= ctx.warmup {
            self.stats.changes += 1;
        }
        self.stats.first_change.get_or_insert(now);
    }

    pub fn node_metrics(&self) -> Vec<(String, f64)> {
        let mut m = Vec::new();
        for (i, r) in self.stats.requests.iter().enumerate() {
            m.push((format!("target{i}.requests"), *r as f64));
        }
        m.push(("stale".into(), self.stats.stale as f64));
        m.push(("failed".into(), self.stats.failed as f64));
        m.push(("changes".into(), self.stats.changes as f64));
        let first = self.stats.first_change.map_or(0.0, |t| t as f64 / 1e9);
        m.push(("first_change_s".into(), first));
        m
    }
}

impl super::node::NodeActor for Dns {
    fn start(&mut self, ctx: &mut Ctx) {
        self.outages.start(self.id, ctx);
        for t in 0..self.targets.len() {
            ctx.cal.after(self.cfg.interval, self.id, Msg::ProbeDue(t as u32));
        }
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Dns::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, _end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics()
    }
}

impl super::node::Build for Dns {
    type Config = DnsConfig;

    fn new(
        id: ActorId,
        cfg: DnsConfig,
        s: &super::node::Streams,
        _warmup: Nanos,
    ) -> Result<Self, String> {
        let streams = [s.get("cache"), s.get("pick"), s.get("network"), s.get("faults")];
        Ok(Dns::new(id, cfg, streams))
    }

    fn waits_on(cfg: &DnsConfig) -> Vec<ActorId> {
        cfg.targets.clone()
    }
}
