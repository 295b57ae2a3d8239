//! Admission: an arrival's way in. Rate limits (per key, per class, shared), the concurrency
//! limit, the queue and what a full one does, function-style instances started on demand.

use super::*;

/// A service's rate limits, checked on arrival: a key's own (NGINX's `limit_req_zone`
/// keyed by client), then its class's, else the shared one.
pub(super) struct RateLimits {
    shared: Option<Limiter>,
    by_class: Vec<(u16, Limiter)>,
    /// Per-key limiters, created at a key's first request (looked up, never iterated).
    by_key: super::super::keymap::KeyMap<Limiter>,
    key_limit: Option<LimiterConfig>,
}

impl RateLimits {
    pub(super) fn new(cfg: &ServiceConfig) -> Self {
        RateLimits {
            shared: cfg.limit.map(Limiter::new),
            by_class: cfg
                .class_limits
                .iter()
                .map(|(c, l)| (*c, Limiter::new(*l)))
                .collect(),
            by_key: Default::default(),
            key_limit: cfg.key_limit,
        }
    }

    /// What the limits say of a request of `class` and `key` arriving `now`. A key's
    /// refusal uses no class or shared token.
    #[inline]
    fn decide(&mut self, class: u16, key: u64, now: Nanos) -> Verdict {
        if let Some(cfg) = self.key_limit {
            let l = self.by_key.entry(key).or_insert_with(|| Limiter::new(cfg));
            if !l.admit(now) {
                return Verdict::Refuse;
            }
        }
        let limiter = match self.by_class.iter_mut().find(|(c, _)| *c == class) {
            Some((_, l)) => Some(l),
            None => self.shared.as_mut(),
        };
        limiter.map_or(Verdict::Admit, |l| l.decide(now))
    }
}

/// The replica a held call (paced, or setting up its connection) goes to, as its message
/// carries it: `u32::MAX` for the next in turn.
fn held_for(replica: Option<usize>) -> u32 {
    replica.map_or(u32::MAX, |k| k as u32)
}

fn held_replica(replica: u32) -> Option<usize> {
    (replica != u32::MAX).then_some(replica as usize)
}

impl Service {
    /// A call arrives, for a given replica (from a balancer) or spread round robin: it takes
    /// a connection, if the server counts them, then goes in.
    #[inline]
    pub(super) fn arrive(&mut self, id: ReqId, replica: Option<usize>, ctx: &mut Ctx) {
        let Some((conns, rng)) = &mut self.conns else {
            self.enter(id, replica, ctx);
            return;
        };
        let now = ctx.cal.now();
        let r = ctx.requests.get(id).expect("a call for a freed request");
        let (kept, from) = (r.kept, r.reply_to.0);
        match conns.open(kept, from, rng, now >= ctx.warmup) {
            Open::Ready => self.enter(id, replica, ctx),
            // "Too many clients": refused before anything else sees it.
            Open::Refused => super::super::kernel::answer(ctx, id, Outcome::Error, now),
            Open::After(setup) => {
                let to = held_for(replica);
                let msg = Msg::Connected {
                    request: id,
                    replica: to,
                };
                ctx.cal.at(now.saturating_add(setup), self.id, msg);
            }
        }
    }

    /// A call's new connection is ready: it arrives now.
    pub(super) fn connected(&mut self, id: ReqId, replica: u32, ctx: &mut Ctx) {
        let replica = held_replica(replica);
        self.enter(id, replica, ctx);
    }

    /// A call comes in at `now`: its work is drawn (at arrival, whatever happens to it after:
    /// the n-th arrival gets the same work in every variant), the arrival counted, its time
    /// here starts. Returns (counted, class, key).
    #[inline]
    pub(super) fn take_in(&mut self, id: ReqId, now: Nanos, ctx: &mut Ctx) -> (bool, u16, u64) {
        let work = self.sampler.sample(&mut self.rng, self.cfg.speed);
        let counted = self.stats.arrival(now);
        let r = ctx
            .requests
            .get_mut(id)
            .expect("a call for a freed request");
        r.work = work;
        r.entered = now;
        (counted, r.class, r.key)
    }

    /// A call on its connection: rate limits, then a replica.
    #[inline]
    fn enter(&mut self, id: ReqId, replica: Option<usize>, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let (counted, class, key) = self.take_in(id, now, ctx);
        match self.limits.decide(class, key, now) {
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
                let to = held_for(replica);
                ctx.cal.at(
                    now.saturating_add(wait),
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

    /// A paced call's wait is over: its time at this node starts now.
    pub(super) fn paced(&mut self, id: ReqId, replica: u32, ctx: &mut Ctx) {
        let r = ctx.requests.get_mut(id).expect("a paced request is live");
        let counted = r.entered >= ctx.warmup;
        r.entered = ctx.cal.now();
        let class = r.class;
        let replica = held_replica(replica);
        self.admit(id, class, replica, counted, ctx);
    }

    /// A call the rate limits let in goes to a replica (or a function instance).
    pub(super) fn admit(
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
        let Some(k) = self.choose_replica(replica) else {
            self.unavailable(id, counted, ctx);
            return;
        };
        if let Some(s) = &mut self.sessions {
            let key = ctx.requests.get(id).expect("a call for a freed request").key;
            s.visit(key, k as u32, now, counted);
        }
        let rep = &mut self.replicas[k];
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
        } else {
            self.wait_in_line(k, id, class, counted, ctx);
        }
    }

    /// No worker of replica `k` is free: the call queues, or finds the queue full.
    #[inline(always)]
    pub(super) fn wait_in_line(&mut self, k: usize, id: ReqId, class: u16, counted: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &self.replicas[k];
        if self
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

    /// The replica a call goes to: the one a balancer chose unless it has gone (a route
    /// sent as it left), else the next serving replica in turn. `None` when there is no
    /// replica to take it (all starting or gone) or the one chosen is down (connection
    /// refused).
    #[inline]
    pub(super) fn choose_replica(&mut self, replica: Option<usize>) -> Option<usize> {
        let k = match replica {
            Some(k) if matches!(self.replicas[k].phase, Phase::Serving | Phase::Draining) => k,
            _ => self.next_serving()?,
        };
        self.replicas[k].up.then_some(k)
    }

    /// No healthy upstream (503): the caller sees an error at once.
    pub(super) fn unavailable(&mut self, id: ReqId, counted: bool, ctx: &mut Ctx) {
        if counted {
            self.stats.failed += 1;
        }
        self.reply(id, Outcome::Error, ctx);
    }

    /// The priority level of a request class in this service's queues.
    #[inline]
    pub(super) fn level(&self, class: u16) -> usize {
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
    pub(super) fn full(&mut self, k: usize, id: ReqId, class: u16, counted: bool, ctx: &mut Ctx) {
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
    pub(super) fn shed(&mut self, id: ReqId, ctx: &mut Ctx) {
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
    pub(super) fn invoke(&mut self, id: ReqId, counted: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let f = self.cfg.function.expect("function-style");
        let k = match self.free_instance() {
            Some(k) => k,
            None => match self.starting_instance(f.concurrency) {
                Some(k) => k,
                None => {
                    let running = self.instances.as_ref().expect("a function").running;
                    debug_assert_eq!(
                        running as usize,
                        self.replicas.iter().filter(|r| r.active()).count()
                    );
                    let too_fast = running < f.cap
                        && self.scaling.as_mut().is_some_and(|l| !l.admit(now));
                    if running >= f.cap || too_fast {
                        if counted {
                            self.stats.throttled += 1;
                            self.stats.scaling_throttled += too_fast as u64;
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
            if rep.idle == 0 {
                // Taken now: out of the set at once, not at the next lookup.
                self.instances.as_mut().expect("a function").free.remove(k);
            }
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

    /// The lowest-numbered serving instance with an idle worker.
    fn free_instance(&mut self) -> Option<usize> {
        let free = |r: &Replica| r.phase == Phase::Serving && r.up && r.idle > 0;
        let reps = &self.replicas;
        let i = self.instances.as_mut().expect("a function");
        let k = i.free.lowest_fitting(|k| free(&reps[k]));
        debug_assert_eq!(k, reps.iter().position(free), "an instance missing from the set");
        k
    }

    /// The lowest-numbered starting instance with room in its queue (its queue only grows
    /// until it is ready, so one found full stays out of the set).
    fn starting_instance(&mut self, concurrency: u32) -> Option<usize> {
        let room =
            |r: &Replica| r.phase == Phase::Starting && r.queue.len() < concurrency as usize;
        let reps = &self.replicas;
        let i = self.instances.as_mut().expect("a function");
        let k = i.starting.lowest_fitting(|k| room(&reps[k]));
        debug_assert_eq!(k, reps.iter().position(room), "an instance missing from the set");
        k
    }

    /// A function instance has nothing to do: reclaim it after the idle timeout.
    pub(super) fn idle_instance(&mut self, k: usize, now: Nanos, ctx: &mut Ctx) {
        let Some(f) = self.cfg.function else { return };
        let rep = &mut self.replicas[k];
        rep.idle_since = now;
        if !rep.reaping {
            rep.reaping = true;
            ctx.cal.at(
                now.saturating_add(f.idle_timeout),
                self.id,
                Msg::Reap {
                    instance: k as u32,
                    epoch: rep.epoch,
                },
            );
        }
    }

    /// The next serving replica in turn (crashed ones included: callers see the refusal):
    /// the one whose turn it is, else the first serving one after it, wrapping around.
    #[inline]
    pub(super) fn next_serving(&mut self) -> Option<usize> {
        let n = self.replicas.len();
        let turn = self.next_replica;
        let k = if turn < n && self.replicas[turn].phase == Phase::Serving {
            turn
        } else {
            self.serving_from(turn)?
        };
        debug_assert_eq!(
            Some(k),
            (0..n).map(|i| (turn + i) % n).find(|&i| self.replicas[i].phase == Phase::Serving)
        );
        self.next_replica = if k + 1 == n { 0 } else { k + 1 };
        Some(k)
    }

    /// The first serving replica from slot `turn` on, wrapping around.
    #[cold]
    #[inline(never)]
    fn serving_from(&self, turn: usize) -> Option<usize> {
        let serving = &self.census.serving;
        serving.first_from(turn).or_else(|| serving.lowest())
    }
}
