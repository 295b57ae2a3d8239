//! A router that splits calls between services by weight (Envoy's weighted clusters, the
//! traffic split of a service mesh), for migrations in stages: the weights change on the
//! timeline (1% → 10% → 50% → 100%, a strangler fig), a mirror sends a copy of calls to
//! another target and ignores its answer (Envoy's request mirroring: shadow traffic), and an
//! analysis rolls the shift back when the watched route misbehaves (Flagger's canary
//! analysis: every `interval`, a check of the route's success rate and p99 over that
//! interval; after `threshold` failed checks, all traffic goes back to the other routes and
//! later shifts are ignored).
//!
//! A call picks its route with one draw over the current weights (Envoy draws a random
//! value per request against the cumulative weights). The router adds no latency and keeps
//! no timeout of its own: the caller's timeout applies to the routed call.
//!
//! Faults: while the router is down (`Crash`) it fails every call; `Errors` fail that
//! fraction of calls before any route sees them.

use super::kernel::{answer, Ctx, Msg};
use super::outage::{Outage, Outages};
use super::request::{Outcome, ReqId};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::series::BucketIndex;
use crate::metrics::Histogram;
use rand::Rng;

#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// Each route's target.
    pub targets: Vec<ActorId>,
    /// The weights at the start, one per route.
    pub weights: Vec<u32>,
    /// Weight changes: (when, the weights from then on), in time order.
    pub shifts: Vec<(Nanos, Vec<u32>)>,
    /// A copy of each call, to `target`, with probability `fraction`; its answer ignored.
    pub mirror: Option<Mirror>,
    pub rollback: Option<Rollback>,
    pub faults: Vec<Outage>,
}

#[derive(Clone, Copy, Debug)]
pub struct Mirror {
    pub target: ActorId,
    pub fraction: f64,
}

/// Flagger's analysis of one route.
#[derive(Clone, Copy, Debug)]
pub struct Rollback {
    /// The route watched (an index into the routes).
    pub route: usize,
    pub interval: Nanos,
    /// A check fails when the route's success rate over the interval is below this (0–1).
    pub min_success: f64,
    /// A check fails when the route's p99 over the interval is above this.
    pub max_p99: Option<Nanos>,
    /// Failed checks that roll the shift back.
    pub threshold: u32,
}

/// A routed call waiting for its answer: `parent` is `None` for a mirrored copy.
struct Pending {
    parent: Option<ReqId>,
    route: u32,
    sent: Nanos,
}

#[derive(Default)]
pub struct RouterStats {
    /// Calls (after warm-up) sent to each route, and those answered with a failure.
    pub requests: Vec<u64>,
    pub failed: Vec<u64>,
    pub mirrored: u64,
    pub mirror_failed: u64,
    /// Calls failed by the router itself (down or failing).
    pub refused: u64,
    pub failed_checks: u32,
    pub rolled_back_at: Option<Nanos>,
}

/// The watched route's answers in the current analysis interval.
struct Window {
    answered: u64,
    failed: u64,
    latency: Histogram,
}

pub struct Router {
    pub id: ActorId,
    cfg: RouterConfig,
    weights: Vec<u32>,
    total: u64,
    next_shift: usize,
    rolled_back: bool,
    pending: Slab<Pending>,
    window: Option<Window>,
    outages: Outages,
    route_rng: Stream,
    mirror_rng: Stream,
    fault_rng: Stream,
    /// Per time bucket: calls routed, and those to the watched (or last) route.
    series: Option<(BucketIndex, Vec<(u64, u64)>)>,
    pub stats: RouterStats,
}

impl Router {
    pub fn new(id: ActorId, cfg: RouterConfig, streams: [Stream; 3]) -> Self {
        let [route_rng, mirror_rng, fault_rng] = streams;
        let n = cfg.targets.len();
        let mut r = Router {
            id,
            weights: Vec::new(),
            total: 0,
            next_shift: 0,
            rolled_back: false,
            pending: Slab::default(),
            window: None,
            outages: Outages::new(cfg.faults.clone()),
            route_rng,
            mirror_rng,
            fault_rng,
            series: None,
            stats: RouterStats {
                requests: vec![0; n],
                failed: vec![0; n],
                ..RouterStats::default()
            },
            cfg,
        };
        r.set_weights(r.cfg.weights.clone());
        r
    }

    fn set_weights(&mut self, weights: Vec<u32>) {
        assert_eq!(weights.len(), self.cfg.targets.len(), "a weight per route");
        self.total = weights.iter().map(|&w| w as u64).sum();
        self.weights = weights;
    }

    /// The route watched by the analysis, or the last (the one a migration moves to).
    fn watched(&self) -> usize {
        self.cfg
            .rollback
            .map_or(self.cfg.targets.len() - 1, |r| r.route)
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(call) => self.route(call, ctx),
            Msg::Reply(child) => self.answered(child, ctx),
            Msg::Scheduled(i) => self.shift(i as usize, ctx),
            Msg::Scrape => self.check(ctx),
            Msg::Fault { fault, begins } => {
                self.outages.set(fault as usize, begins);
            }
            _ => unreachable!("a router gets calls, their answers, its shifts and checks"),
        }
    }

    /// Draws a route by weight; `None` when every weight is zero.
    fn pick(&mut self) -> Option<usize> {
        if self.total == 0 {
            return None;
        }
        let mut x = self.route_rng.random_range(0..self.total);
        for (i, &w) in self.weights.iter().enumerate() {
            if x < w as u64 {
                return Some(i);
            }
            x -= w as u64;
        }
        unreachable!("a draw below the total weight falls in some route")
    }

    fn route(&mut self, call: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let counted = now >= ctx.warmup;
        let route = if self.outages.fails(&mut self.fault_rng) {
            None
        } else {
            self.pick()
        };
        let Some(route) = route else {
            self.stats.refused += counted as u64;
            answer(ctx, call, Outcome::Error, now);
            return;
        };
        if counted {
            self.stats.requests[route] += 1;
        }
        let watched = route == self.watched();
        if let Some((index, v)) = &mut self.series {
            let b = &mut v[index.at(now)];
            b.0 += 1;
            b.1 += watched as u64;
        }
        self.forward(call, Some(call), route as u32, self.cfg.targets[route], ctx);
        if let Some(m) = self.cfg.mirror {
            if m.fraction >= 1.0 || self.mirror_rng.random::<f64>() < m.fraction {
                self.stats.mirrored += counted as u64;
                self.forward(call, None, u32::MAX, m.target, ctx);
            }
        }
    }

    fn forward(
        &mut self,
        call: ReqId,
        parent: Option<ReqId>,
        route: u32,
        to: ActorId,
        ctx: &mut Ctx,
    ) {
        let sent = ctx.cal.now();
        let pending = Pending {
            parent,
            route,
            sent,
        };
        let token = self.pending.insert(pending).to_token();
        ctx.call_for(call, self.id, token, to);
    }

    fn answered(&mut self, child: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = ctx
            .requests
            .remove(child)
            .expect("a reply frees its request");
        let p = self
            .pending
            .remove(Id::from_token(c.token))
            .expect("an answer to a routed call");
        let failed = matches!(c.outcome, Outcome::Error | Outcome::Rejected);
        let counted = c.born >= ctx.warmup;
        let Some(parent) = p.parent else {
            self.stats.mirror_failed += (counted && failed) as u64;
            return;
        };
        let route = p.route as usize;
        self.stats.failed[route] += (counted && failed) as u64;
        if route == self.watched() {
            if let Some(w) = &mut self.window {
                w.answered += 1;
                w.failed += failed as u64;
                w.latency.record(now - p.sent);
            }
        }
        answer(ctx, parent, c.outcome, now);
    }

    /// Shift `i` is due: its weights apply unless the shift was rolled back. The analysis
    /// starts with the first shift that sends the watched route traffic.
    fn shift(&mut self, i: usize, ctx: &mut Ctx) {
        self.next_shift = i + 1;
        if self.rolled_back {
            return;
        }
        let weights = self.cfg.shifts[i].1.clone();
        self.set_weights(weights);
        if let Some(rb) = self.cfg.rollback {
            if self.window.is_none() && self.weights[rb.route] > 0 {
                self.window = Some(Window::new());
                ctx.cal.after(rb.interval, self.id, Msg::Scrape);
            }
        }
    }

    /// One analysis check over the interval that just ended. An interval without answers
    /// is skipped: Flagger halts on missing data, neither passing nor failing the release.
    fn check(&mut self, ctx: &mut Ctx) {
        let rb = self.cfg.rollback.expect("checks only with a rollback rule");
        if self.rolled_back {
            return;
        }
        let w = std::mem::replace(self.window.as_mut().expect("checks run"), Window::new());
        if w.answered > 0 {
            let success = 1.0 - w.failed as f64 / w.answered as f64;
            let slow = rb.max_p99.is_some_and(|max| {
                w.latency.quantile(0.99).expect("answers recorded") > max as f64
            });
            if success < rb.min_success || slow {
                self.stats.failed_checks += 1;
            }
        }
        if self.stats.failed_checks >= rb.threshold {
            self.roll_back(ctx.cal.now());
            return;
        }
        ctx.cal.after(rb.interval, self.id, Msg::Scrape);
    }

    /// All traffic back to the other routes, in their current proportions (or, if they
    /// have none, their starting ones); later shifts are ignored.
    fn roll_back(&mut self, now: Nanos) {
        let route = self.cfg.rollback.expect("a rollback rule").route;
        let mut weights = self.weights.clone();
        weights[route] = 0;
        if weights.iter().all(|&w| w == 0) {
            weights = self.cfg.weights.clone();
            weights[route] = 0;
        }
        if weights.iter().all(|&w| w == 0) {
            weights = vec![1; weights.len()];
            weights[route] = 0;
        }
        self.set_weights(weights);
        self.rolled_back = true;
        self.stats.rolled_back_at = Some(now);
    }

    pub fn node_metrics(&self) -> Vec<(String, f64)> {
        let mut m = Vec::new();
        for (i, (r, f)) in self.stats.requests.iter().zip(&self.stats.failed).enumerate() {
            m.push((format!("route{i}.requests"), *r as f64));
            m.push((format!("route{i}.failed"), *f as f64));
        }
        let routed: u64 = self.stats.requests.iter().sum();
        let watched = self.stats.requests[self.watched()];
        // No call routed: 0, not NaN, so means over runs stay defined.
        let share = if routed > 0 {
            watched as f64 / routed as f64
        } else {
            0.0
        };
        m.push(("shifted_share".into(), share));
        m.push(("refused".into(), self.stats.refused as f64));
        if self.cfg.mirror.is_some() {
            m.push(("mirrored".into(), self.stats.mirrored as f64));
            m.push(("mirror_failed".into(), self.stats.mirror_failed as f64));
        }
        if self.cfg.rollback.is_some() {
            let at = self.stats.rolled_back_at;
            m.push(("rolled_back".into(), at.is_some() as u8 as f64));
            m.push((
                "rollback_at_s".into(),
                at.map_or(0.0, |t| t as f64 / 1e9),
            ));
            m.push(("failed_checks".into(), self.stats.failed_checks as f64));
        }
        m
    }
}

impl Window {
    fn new() -> Self {
        Window {
            answered: 0,
            failed: 0,
            latency: Histogram::new(),
        }
    }
}

impl super::node::NodeActor for Router {
    fn start(&mut self, ctx: &mut Ctx) {
        self.outages.start(self.id, ctx);
        for (i, (at, _)) in self.cfg.shifts.iter().enumerate() {
            ctx.cal.at(*at, self.id, Msg::Scheduled(i as u32));
        }
        if let Some(rb) = self.cfg.rollback {
            if self.weights[rb.route] > 0 {
                self.window = Some(Window::new());
                ctx.cal.after(rb.interval, self.id, Msg::Scrape);
            }
        }
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Router::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, _end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics()
    }

    fn record_series(&mut self, bucket: Nanos, n: usize) {
        self.series = Some((BucketIndex::new(bucket, n), vec![(0, 0); n]));
    }

    fn series_columns(
        &self,
        name: &str,
        group: super::node::ColumnGroup,
    ) -> Vec<(crate::metrics::series::Owner, &'static str)> {
        if group != super::node::ColumnGroup::Service || self.series.is_none() {
            return Vec::new();
        }
        let owner = crate::metrics::series::Owner::node_in("router", name);
        vec![(owner, "shifted_share")]
    }

    fn series_row(&self, i: usize, group: super::node::ColumnGroup, row: &mut Vec<f64>) {
        if group != super::node::ColumnGroup::Service {
            return;
        }
        if let Some((_, buckets)) = &self.series {
            let (all, watched) = buckets.get(i).copied().unwrap_or((0, 0));
            row.push(crate::metrics::ratio(watched, all));
        }
    }
}

impl super::node::Build for Router {
    type Config = RouterConfig;

    fn new(
        id: ActorId,
        cfg: RouterConfig,
        s: &super::node::Streams,
        _warmup: Nanos,
    ) -> Result<Self, String> {
        let streams = [s.get("route"), s.get("mirror"), s.get("faults")];
        Ok(Router::new(id, cfg, streams))
    }

    fn waits_on(cfg: &RouterConfig) -> Vec<ActorId> {
        // A mirrored copy is not waited on, but it still must not call back into the
        // router: a cycle through it would copy calls forever.
        let mut v = cfg.targets.clone();
        v.extend(cfg.mirror.map(|m| m.target));
        v
    }

    /// Each shift, as the weights it sets.
    fn timeline(cfg: &RouterConfig) -> Vec<(Nanos, Option<Nanos>, String)> {
        cfg.shifts
            .iter()
            .enumerate()
            .map(|(i, (at, w))| {
                let until = cfg.shifts.get(i + 1).map(|n| n.0);
                let total: u64 = w.iter().map(|&x| x as u64).sum();
                let watched = cfg.rollback.map_or(w.len() - 1, |r| r.route);
                let pct = if total > 0 {
                    100.0 * w[watched] as f64 / total as f64
                } else {
                    0.0
                };
                (*at, until, format!("shift: {pct:.0}%"))
            })
            .collect()
    }
}
