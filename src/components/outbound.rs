//! Outbound calls with timeouts and retries, shared by every actor that calls another
//! (clients, and services calling their dependencies).
//!
//! A logical call is one entry here; each attempt is a [`Request`] whose token points back
//! at it. An attempt that times out is abandoned, not cancelled: the callee keeps working on
//! it, as a real server does when the client has gone.

use super::breaker::{Breaker, BreakerConfig};
use super::dist::Sampler;
use super::kernel::{Ctx, Msg};
use super::request::{Outcome, ReqId, Request};
use super::retry::{Quota, RateBudget, RetryPolicy, Throttle};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream, TimerId};
use crate::metrics::series::BucketIndex;
use crate::metrics::TimeWeighted;

/// Where and how one call site calls.
#[derive(Clone, Debug)]
pub struct CallSite {
    pub target: ActorId,
    /// Per-attempt timeout.
    pub timeout: Option<Nanos>,
    pub retry: Option<RetryPolicy>,
    /// One-way network latency of the edge (each direction).
    pub latency: Option<Sampler>,
    /// Fault windows `[from, until)` adding latency to attempts sent in them.
    pub extra_latency: Vec<(Nanos, Nanos, Nanos)>,
    /// Hedging: if no answer came within `.0`, send another attempt (at most `.1` extra).
    pub hedge: Option<(Nanos, u32)>,
    /// Finagle's budget for backup requests (its `maxExtraLoad`), if any.
    pub hedge_budget: Option<super::retry::RateBudgetConfig>,
    pub breaker: Option<BreakerConfig>,
    /// A bulkhead: at most this many calls through the site at once from one caller;
    /// beyond it a call fails at once (resilience4j's semaphore bulkhead, no waiting).
    pub bulkhead: Option<u32>,
    /// A connection pool per caller replica (services only).
    pub pool: Option<super::pool::PoolConfig>,
}

/// How a logical call ended, after any retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Final {
    Ok,
    Error,
    Rejected,
    TimedOut,
    /// An open breaker refused the call and its fallback answered: neither success nor
    /// failure.
    Degraded,
}

/// A finished logical call, handed back to its owner.
#[derive(Clone, Copy, Debug)]
pub struct Done {
    pub owner: u64,
    pub tag: u32,
    pub outcome: Final,
    pub born: Nanos,
}

struct OutCall {
    owner: u64,
    tag: u32,
    site: u16,
    born: Nanos,
    class: u16,
    key: u64,
    attempts: u32,
    prev_sleep: Nanos,
    last_cost: Option<u32>,
    /// Attempts sent and not yet answered (more than one only when hedging).
    outstanding: u32,
    hedges: u32,
    /// Holds one of its site's bulkhead places.
    in_bulkhead: bool,
    /// The latest hedge timer, cancelled when the call ends (then it would do nothing).
    hedge_timer: TimerId,
}

/// What should be sent with a new logical call.
#[derive(Clone, Copy, Debug)]
pub struct CallMeta {
    pub owner: u64,
    /// The owner's label for this call (a handler step, say), returned in [`Done`].
    pub tag: u32,
    pub born: Nanos,
    pub class: u16,
    pub key: u64,
}

/// Counts after warm-up (by the logical call's start).
#[derive(Clone, Copy, Debug, Default)]
pub struct OutboundStats {
    pub attempts: u64,
    pub retries: u64,
    pub hedges: u64,
    /// Copies a budget or throttle refused.
    pub hedges_refused: u64,
    pub not_permitted: u64,
    /// Calls refused by a full bulkhead.
    pub bulkhead_full: u64,
    /// Retries a retry limit refused (budget, quota, throttling).
    pub retries_refused: u64,
}

pub struct Outbound {
    me: ActorId,
    sites: Vec<CallSite>,
    /// Per site: a call is its one attempt (no retry, hedge, breaker or bulkhead; a timeout
    /// ends both at once), so it needs no record of its own.
    plain: Vec<bool>,
    /// Calls holding a bulkhead place, per site.
    in_bulkhead: Vec<u32>,
    calls: Slab<OutCall>,
    quotas: Vec<Option<Quota>>,
    /// Per site: gRPC retry throttling and Finagle's retry budget, this caller's state.
    throttles: Vec<Option<Throttle>>,
    rate_budgets: Vec<Option<RateBudget>>,
    hedge_budgets: Vec<Option<RateBudget>>,
    /// Logical calls in flight, and how many of those are retrying.
    active: u32,
    active_retries: u32,
    rng: Stream,
    warmup: Nanos,
    breakers: Vec<Option<(Breaker, TimeWeighted)>>,
    pub stats: OutboundStats,
    /// Attempts sent per time bucket, when recording a time series: (the bucket of a time,
    /// counts).
    pub series: Option<(BucketIndex, Vec<u64>)>,
    /// Per time bucket, the mean fraction of it the breakers were open, when recording.
    pub open_series: Option<BreakerSeries>,
}

/// Breaker state over time: buckets close at ticks, like a service's series.
pub struct BreakerSeries {
    last_at: Nanos,
    last_area: i128,
    pub rows: Vec<f64>,
}

impl Outbound {
    pub fn new(me: ActorId, sites: Vec<CallSite>, rng: Stream, warmup: Nanos) -> Self {
        let breakers = sites
            .iter()
            .map(|s| {
                s.breaker
                    .map(|b| (Breaker::new(b), TimeWeighted::new(warmup)))
            })
            .collect();
        let quotas = sites
            .iter()
            .map(|s| s.retry.as_ref().and_then(|r| r.quota).map(Quota::new))
            .collect();
        let throttles = sites
            .iter()
            .map(|s| s.retry.as_ref().and_then(|r| r.throttle).map(Throttle::new))
            .collect();
        let rate_budgets = sites
            .iter()
            .map(|s| {
                s.retry
                    .as_ref()
                    .and_then(|r| r.rate_budget)
                    .map(RateBudget::new)
            })
            .collect();
        let hedge_budgets = sites
            .iter()
            .map(|s| s.hedge_budget.map(RateBudget::new))
            .collect();
        let plain = sites
            .iter()
            .map(|s| {
                s.retry.is_none()
                    && s.hedge.is_none()
                    && s.hedge_budget.is_none()
                    && s.breaker.is_none()
                    && s.bulkhead.is_none()
            })
            .collect();
        Outbound {
            me,
            plain,
            in_bulkhead: vec![0; sites.len()],
            sites,
            calls: Slab::default(),
            quotas,
            throttles,
            rate_budgets,
            hedge_budgets,
            active: 0,
            active_retries: 0,
            rng,
            warmup,
            breakers,
            stats: OutboundStats::default(),
            series: None,
            open_series: None,
        }
    }

    /// Starts recording breaker state over time, if this caller has breakers.
    pub fn record_breakers(&mut self) {
        if self.breakers.iter().any(Option::is_some) {
            self.open_series = Some(BreakerSeries {
                last_at: 0,
                last_area: 0,
                rows: Vec::new(),
            });
        }
    }

    /// Closes the time bucket of the breaker series that ends at `at`.
    pub fn tick(&mut self, at: Nanos) {
        let Some(s) = &mut self.open_series else {
            return;
        };
        let open: Vec<&TimeWeighted> = self.breakers.iter().flatten().map(|(_, t)| t).collect();
        let area: i128 = open.iter().map(|t| t.total_area(at)).sum();
        if at > s.last_at {
            let width = (at - s.last_at) as f64 * open.len() as f64;
            s.rows.push((area - s.last_area) as f64 / width);
        }
        s.last_at = at;
        s.last_area = area;
    }

    /// Logical calls in flight.
    pub fn active(&self) -> u32 {
        self.active
    }

    /// Sends every call through a logical-call record, plain sites' too (for tests: results
    /// must not change).
    pub fn general_paths_only(&mut self) {
        self.plain.fill(false);
    }

    /// Starts a logical call from `site` and sends its first attempt.
    #[inline(always)]
    pub fn start(&mut self, site: u16, meta: CallMeta, ctx: &mut Ctx) {
        if self.plain[site as usize] {
            self.send_plain(site, meta, ctx);
            return;
        }
        let bulkhead = self.sites[site as usize].bulkhead;
        let full = bulkhead.is_some_and(|n| self.in_bulkhead[site as usize] >= n);
        let holds = bulkhead.is_some() && !full;
        let id = self.calls.insert(OutCall {
            owner: meta.owner,
            tag: meta.tag,
            site,
            born: meta.born,
            class: meta.class,
            key: meta.key,
            attempts: 0,
            prev_sleep: 0,
            last_cost: None,
            outstanding: 0,
            hedges: 0,
            in_bulkhead: holds,
            hedge_timer: TimerId::NONE,
        });
        self.active += 1;
        if full {
            if meta.born >= self.warmup {
                self.stats.bulkhead_full += 1;
            }
            ctx.cal
                .at(ctx.cal.now(), self.me, Msg::Refused(id.to_token()));
            return;
        }
        if holds {
            self.in_bulkhead[site as usize] += 1;
        }
        let now = ctx.cal.now();
        if let Some(b) = &mut self.rate_budgets[site as usize] {
            b.deposit(now);
        }
        if let Some(b) = &mut self.hedge_budgets[site as usize] {
            b.deposit(now);
        }
        self.attempt(id, false, ctx);
    }

    /// A plain site's call: its one attempt carries the owner's token and label, and the
    /// reply (or the timeout) ends the call. What `attempt` does for such a site, in the
    /// same order (the same draws, the same events), without a logical-call record.
    #[inline(always)]
    fn send_plain(&mut self, site: u16, meta: CallMeta, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        self.active += 1;
        let site = &self.sites[site as usize];
        let net = edge_latency(site, &mut self.rng, now);
        let mut req = Request::new(meta.born, self.me, meta.owner);
        req.sent = now;
        req.net = net;
        req.class = meta.class;
        req.key = meta.key;
        req.direct_tag = Some(meta.tag);
        req.kept = site.pool.is_some();
        if let Some((index, counts)) = &mut self.series {
            counts[index.at(now)] += 1;
        }
        if meta.born >= self.warmup {
            self.stats.attempts += 1;
        }
        send(self.me, site, req, ctx);
    }

    /// Sends an attempt: a first try or retry, or (`hedge`) an extra copy of one in flight.
    fn attempt(&mut self, id: Id, hedge: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = self.calls.get_mut(id).expect("attempt of a finished call");
        if !hedge {
            c.attempts += 1;
        }
        c.outstanding += 1;
        let site = &self.sites[c.site as usize];
        let net = edge_latency(site, &mut self.rng, now);
        if let Some((b, open)) = &mut self.breakers[c.site as usize] {
            let was_open = b.is_open();
            let auto_at = b.auto_transition_at();
            let permitted = b.try_acquire(now);
            if was_open && !b.is_open() {
                // It left OPEN: at the automatic transition's time, or now.
                open.set(auto_at.unwrap_or(now).min(now), 0);
            }
            if !permitted {
                if c.born >= self.warmup {
                    self.stats.not_permitted += 1;
                }
                c.outstanding -= 1;
                if c.outstanding == 0 {
                    ctx.cal.at(now, self.me, Msg::Refused(id.to_token()));
                }
                return;
            }
        }
        let mut req = Request::new(c.born, self.me, id.to_token());
        req.sent = now;
        req.net = net;
        req.class = c.class;
        req.key = c.key;
        req.kept = site.pool.is_some();
        if let Some((index, counts)) = &mut self.series {
            counts[index.at(now)] += 1;
        }
        if c.born >= self.warmup {
            self.stats.attempts += 1;
            if hedge {
                self.stats.hedges += 1;
            } else if c.attempts > 1 {
                self.stats.retries += 1;
            }
        }
        if let Some((after, max)) = site.hedge {
            if c.hedges < max {
                let due = now.saturating_add(after);
                c.hedge_timer = ctx.cal.timer(due, self.me, Msg::HedgeDue(id.to_token()));
            }
        }
        send(self.me, site, req, ctx);
    }

    /// A reply to one of our attempts. Returns the logical call if it is now finished.
    #[inline(always)]
    pub fn on_reply(&mut self, rid: ReqId, ctx: &mut Ctx) -> Option<Done> {
        let r = ctx.requests.remove(rid).expect("a reply frees its request");
        if r.abandoned {
            return None; // already settled as a timeout
        }
        ctx.cal.cancel(r.timer);
        let outcome = match r.outcome {
            Outcome::Ok => Final::Ok,
            Outcome::Error => Final::Error,
            Outcome::Rejected => Final::Rejected,
            Outcome::Degraded => Final::Degraded,
            Outcome::Pending => unreachable!("a reply without an outcome"),
        };
        if let Some(tag) = r.direct_tag {
            return Some(self.end_plain(r.token, r.born, tag, outcome));
        }
        self.answered(Id::from_token(r.token), outcome, r.sent, ctx)
    }

    /// A plain site's call (its owner's token, born when sent, labelled `tag`) ends with
    /// its one attempt.
    #[inline]
    fn end_plain(&mut self, owner: u64, born: Nanos, tag: u32, outcome: Final) -> Done {
        self.active -= 1;
        Done {
            owner,
            tag,
            outcome,
            born,
        }
    }

    /// An open breaker refused the call's attempt: fail fast, or the fallback answers.
    pub fn on_refused(&mut self, token: u64) -> Option<Done> {
        let id = Id::from_token(token);
        let c = self.calls.get(id)?;
        let fallback = self.sites[c.site as usize]
            .breaker
            .is_some_and(|b| b.fallback);
        Some(self.finish(
            id,
            if fallback {
                Final::Degraded
            } else {
                Final::Error
            },
        ))
    }

    /// Ends a logical call with `outcome`.
    fn finish(&mut self, id: Id, outcome: Final) -> Done {
        let c = self.calls.remove(id).expect("finishing a live call");
        self.active -= 1;
        if c.in_bulkhead {
            self.in_bulkhead[c.site as usize] -= 1;
        }
        if c.attempts > 1 {
            self.active_retries -= 1;
        }
        Done {
            owner: c.owner,
            tag: c.tag,
            outcome,
            born: c.born,
        }
    }

    /// Calls refused by full bulkheads, if any site has one.
    pub fn bulkhead_metric(&self) -> Option<f64> {
        self.sites
            .iter()
            .any(|s| s.bulkhead.is_some())
            .then_some(self.stats.bulkhead_full as f64)
    }

    /// The fraction of the measured window each breaker was open, and refusals: (mean over
    /// breakers, refusals), or `None` without breakers.
    pub fn breaker_metrics(&self, end: Nanos) -> Option<(f64, f64)> {
        let open: Vec<f64> = self
            .breakers
            .iter()
            .flatten()
            .map(|(_, tw)| tw.mean(end).unwrap_or(f64::NAN))
            .collect();
        (!open.is_empty()).then(|| {
            (
                open.iter().sum::<f64>() / open.len() as f64,
                self.stats.not_permitted as f64,
            )
        })
    }

    /// One attempt is over. A failure waits for hedged siblings still in flight.
    fn answered(&mut self, id: Id, outcome: Final, sent: Nanos, ctx: &mut Ctx) -> Option<Done> {
        let now = ctx.cal.now();
        let c = self.calls.get_mut(id)?; // a hedged sibling already settled the call
        if let Some((b, open)) = &mut self.breakers[c.site as usize] {
            let was_open = b.is_open();
            let failed = matches!(outcome, Final::Error | Final::Rejected | Final::TimedOut);
            b.record(now, now - sent, failed);
            if b.is_open() != was_open {
                open.set(now, b.is_open() as i64);
            }
        }
        c.outstanding -= 1;
        if outcome != Final::Ok && c.outstanding > 0 {
            return None;
        }
        self.settle(id, outcome, ctx)
    }

    /// No answer yet after the hedging delay: send another copy.
    pub fn on_hedge_due(&mut self, token: u64, ctx: &mut Ctx) {
        let id = Id::from_token(token);
        let Some(c) = self.calls.get_mut(id) else {
            return;
        };
        let site = c.site as usize;
        let max = self.sites[site].hedge.map_or(0, |h| h.1);
        if c.outstanding == 0 || c.hedges >= max {
            return;
        }
        // A copy is extra load: the backup budget, gRPC's throttle and Finagle's client
        // retry budget must all allow it (without the throttle's or budget's state
        // changing when one refuses).
        let now = ctx.cal.now();
        let throttled = self.throttles[site].as_ref().is_some_and(|t| !t.allows());
        let counted = c.born >= self.warmup;
        if throttled
            || !withdraw_both(
                &mut self.hedge_budgets[site],
                &mut self.rate_budgets[site],
                now,
            )
        {
            self.stats.hedges_refused += counted as u64;
            return;
        }
        c.hedges += 1;
        self.attempt(id, true, ctx);
    }

    /// An attempt's timeout fired. Returns the logical call if it is now finished.
    pub fn on_expire(&mut self, rid: ReqId, ctx: &mut Ctx) -> Option<Done> {
        let r = ctx.requests.get_mut(rid)?; // None: answered in time
        if r.abandoned {
            return None;
        }
        r.abandoned = true;
        if let Some(tag) = r.direct_tag {
            let (owner, born) = (r.token, r.born);
            return Some(self.end_plain(owner, born, tag, Final::TimedOut));
        }
        let (token, sent) = (r.token, r.sent);
        self.answered(Id::from_token(token), Final::TimedOut, sent, ctx)
    }

    /// A backoff ended: send the next attempt.
    pub fn on_retry_due(&mut self, token: u64, ctx: &mut Ctx) {
        let id = Id::from_token(token);
        if self.calls.get(id).is_some() {
            self.attempt(id, false, ctx);
        }
    }

    fn settle(&mut self, id: Id, outcome: Final, ctx: &mut Ctx) -> Option<Done> {
        let c = self
            .calls
            .get_mut(id)
            .expect("an attempt of a finished call");
        let site = c.site as usize;
        if outcome == Final::Ok {
            if let Some(q) = &mut self.quotas[site] {
                q.success(c.last_cost);
            }
            if let Some(t) = &mut self.throttles[site] {
                t.success();
            }
        } else if let Some(p) = &self.sites[site].retry {
            let retryable = match outcome {
                Final::TimedOut => p.on.timeout,
                Final::Degraded => false,
                Final::Error => p.on.error,
                Final::Rejected => p.on.rejected,
                Final::Ok => false,
            };
            // gRPC records every retryable failure, attempts left or not.
            let throttle_ok =
                !retryable || self.throttles[site].as_mut().is_none_or(|t| t.failure());
            let wanted = retryable && c.attempts < p.max_attempts;
            let first_retry = c.attempts == 1;
            let now = ctx.cal.now();
            let allowed = throttle_ok
                && p.budget
                    .is_none_or(|b| b.admits_retry(self.active, self.active_retries, !first_retry))
                && self.rate_budgets[site]
                    .as_mut()
                    .is_none_or(|b| !wanted || b.try_withdraw(now));
            if wanted && !allowed && c.born >= self.warmup {
                self.stats.retries_refused += 1;
            }
            if wanted && allowed {
                let cost = match &mut self.quotas[site] {
                    Some(q) => q.acquire(outcome == Final::TimedOut).map(Some),
                    None => Some(None),
                };
                if cost.is_none() && c.born >= self.warmup {
                    self.stats.retries_refused += 1;
                }
                if let Some(cost) = cost {
                    c.last_cost = cost;
                    if first_retry {
                        self.active_retries += 1;
                    }
                    let delay = p
                        .backoff
                        .delay(c.attempts, &mut c.prev_sleep, &mut self.rng);
                    ctx.cal.after(delay, self.me, Msg::RetryDue(id.to_token()));
                    return None;
                }
            }
        }
        ctx.cal.cancel(c.hedge_timer);
        Some(self.finish(id, outcome))
    }
}

/// Sends attempt `req` (sent now, its latency drawn) from `me` over `site`, with the
/// site's timeout as its deadline and a timer, if the site has one.
#[inline(always)]
fn send(me: ActorId, site: &CallSite, mut req: Request, ctx: &mut Ctx) {
    let (now, net) = (req.sent, req.net);
    req.deadline = site.timeout.map_or(Nanos::MAX, |t| now.saturating_add(t));
    let rid = ctx.requests.insert(req);
    ctx.cal
        .at(now.saturating_add(net), site.target, Msg::Call(rid));
    if let Some(t) = site.timeout {
        // Usually answered in time: a timer the reply cancels, not an event to skip.
        let timer = ctx.cal.timer(now.saturating_add(t), me, Msg::Expire(rid));
        ctx.requests.get_mut(rid).expect("just inserted").timer = timer;
    }
}

/// The one-way latency of an attempt sent at `now` from `site`.
#[inline]
fn edge_latency(site: &CallSite, rng: &mut Stream, now: Nanos) -> Nanos {
    let mut net = site.latency.as_ref().map_or(0, |l| l.sample(rng, 1.0));
    for &(from, until, add) in &site.extra_latency {
        if (from..until).contains(&now) {
            net += add;
        }
    }
    net
}

/// Takes a withdrawal from each budget present, or from neither if one cannot pay.
fn withdraw_both(a: &mut Option<RateBudget>, b: &mut Option<RateBudget>, now: Nanos) -> bool {
    let can = |x: &Option<RateBudget>| x.as_ref().is_none_or(|x| x.can_withdraw(now));
    if !(can(a) && can(b)) {
        return false;
    }
    for x in [a, b].into_iter().flatten() {
        let paid = x.try_withdraw(now);
        debug_assert!(paid, "checked just before");
    }
    true
}
