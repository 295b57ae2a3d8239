//! The fleet: replica slots and their lifecycle (launch, ready, drain, gone), the reconcile
//! step toward the desired count and version, faults and crashes, and billing.

use super::census::{Census, Place};
use super::*;

impl Service {
    pub(super) fn fault(&mut self, i: usize, begin: bool, ctx: &mut Ctx) {
        self.active_faults[i] = begin;
        match self.cfg.faults[i].kind {
            FaultKind::Crash { replica } if begin => self.crash(replica, ctx),
            FaultKind::Crash { replica } => self.recover(replica, ctx),
            FaultKind::Scale { replicas } => self.set_desired(replicas, ctx),
            FaultKind::Rollout(r) => self.roll_out(r, ctx),
            FaultKind::Canary { replicas, .. } if begin => {
                for _ in 0..replicas {
                    let k = self.launch(ctx);
                    let before = self.place(k);
                    self.replicas[k].canary = i as u32 + 1;
                    self.recount(k, before);
                    self.refresh_faults_of(k);
                }
            }
            FaultKind::Canary { .. } => {
                for k in 0..self.replicas.len() {
                    let r = &self.replicas[k];
                    if r.canary == i as u32 + 1 && r.active() {
                        self.remove(k, ctx);
                        self.refresh_faults_of(k);
                    }
                }
            }
            // Rates change on the replica named, or on all of them.
            FaultKind::Slowdown { replica, .. } | FaultKind::Errors { replica, .. } => {
                match replica {
                    Some(k) if (k as usize) < self.replicas.len() => {
                        self.refresh_faults_of(k as usize)
                    }
                    Some(_) => {} // a slot not made yet takes its rates at launch
                    None => {
                        for k in 0..self.replicas.len() {
                            self.refresh_faults_of(k);
                        }
                    }
                }
            }
        }
    }

    /// Starts replacing every replica with a new version (of a new size, perhaps).
    pub(super) fn roll_out(&mut self, r: Rollout, ctx: &mut Ctx) {
        self.version += 1;
        self.census.new_version(self.version);
        self.rollout = Some(r);
        if let Some(size) = r.size {
            self.size = size;
            if ctx.cal.now() >= ctx.warmup {
                self.stats.resizes += 1;
            }
        }
        self.reconcile(ctx);
    }

    /// Recomputes replica `k`'s slowdown and error rate from the active faults: those on
    /// every replica or on `k`, then a canary's flaws while it lives.
    fn refresh_faults_of(&mut self, k: usize) {
        let (mut slow, mut error_rate) = (1.0, 0.0f64);
        let on_k = |r: Option<u32>| r.is_none_or(|r| r as usize == k);
        for &i in self.rate_faults.iter().filter(|&&i| self.active_faults[i]) {
            match self.cfg.faults[i].kind {
                FaultKind::Slowdown { factor, replica } if on_k(replica) => slow *= factor,
                FaultKind::Errors { rate, replica } if on_k(replica) => {
                    error_rate = error_rate.max(rate)
                }
                _ => {}
            }
        }
        let r = &self.replicas[k];
        if r.canary != 0 && r.phase != Phase::Gone {
            if let FaultKind::Canary { factor, rate, .. } =
                self.cfg.faults[r.canary as usize - 1].kind
            {
                slow *= factor;
                error_rate = error_rate.max(rate);
            }
        }
        self.slow[k] = slow;
        self.error_rate[k] = error_rate;
    }

    /// Replica `k` opens (`open`) or closes the connections its pools keep open
    /// (HikariCP's `minimumIdle`), at each pool site's target.
    pub(super) fn hold_pools(&mut self, k: usize, open: bool, ctx: &mut Ctx) {
        let rep = &mut self.replicas[k];
        if rep.holding == open {
            return;
        }
        rep.holding = open;
        let now = ctx.cal.now();
        for site in &self.cfg.calls {
            let Some(p) = site.pool.filter(|p| p.min_idle > 0) else {
                continue;
            };
            let count = if open {
                p.min_idle as i32
            } else {
                -(p.min_idle as i32)
            };
            let msg = Msg::Hold {
                from: self.id.0,
                count,
            };
            ctx.cal.at(now, site.target, msg);
        }
    }

    pub(super) fn crash(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &mut self.replicas[k as usize];
        if !rep.up || !matches!(rep.phase, Phase::Serving | Phase::Draining) {
            return;
        }
        let before = self.place(k as usize);
        let rep = &mut self.replicas[k as usize];
        rep.up = false;
        rep.probes.clear();
        self.recount(k as usize, before);
        self.hold_pools(k as usize, false, ctx);
        let rep = &mut self.replicas[k as usize];
        if let Some(s) = &mut self.sessions {
            s.forget(k);
        }
        let mut queued: Vec<ReqId> = rep.queue.drain();
        queued.extend(rep.blocked.drain(..));
        for id in queued {
            self.stats.queued.add(now, -1);
            self.occupancy(k as usize, now, -1);
            self.reply(id, Outcome::Error, ctx);
        }
        for jid in self.jobs.on_replica(k) {
            let job = self.jobs.remove(jid).expect("listed");
            self.stats.busy.add(now, -1);
            self.occupancy(k as usize, now, -1);
            self.reply(job.req, Outcome::Error, ctx);
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
            self.gone(k as usize, now, ctx);
        }
    }

    pub(super) fn recover(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let rep = &mut self.replicas[k as usize];
        if rep.up || rep.phase != Phase::Serving {
            return;
        }
        let before = self.place(k as usize);
        let rep = &mut self.replicas[k as usize];
        rep.up = true;
        rep.idle = rep.workers;
        self.recount(k as usize, before);
        let rep = &mut self.replicas[k as usize];
        if let Some(i) = &mut self.instances {
            i.free.insert(k as usize);
        }
        self.stats.workers.add(now, rep.workers as i64);
        self.stats.replicas.add(now, 1);
        self.hold_pools(k as usize, true, ctx);
        // A recovered replica may let a rollout go on.
        self.reconcile(ctx);
    }

    /// The service's totals since time zero, for the autoscaler.
    pub(super) fn totals(&self, now: Nanos) -> Totals {
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
    pub(super) fn set_desired(&mut self, to: u32, ctx: &mut Ctx) {
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
    pub(super) fn reconcile(&mut self, ctx: &mut Ctx) {
        if self.cfg.function.is_some() {
            return; // instances follow demand, not a desired count
        }
        let v = self.version;
        debug_assert_eq!(self.census, Census::of(&self.replicas, v), "census kept current");
        // Each step launches toward the desired count or removes one of the replicas there
        // were: a census out of step with the fleet would loop, so the steps are counted.
        let most = 2 * (self.replicas.len() + self.desired as usize) + 4;
        for step in 0.. {
            assert!(step < most, "reconcile did not settle: its census is out of step");
            let [old, new, available, new_ready] = self.census.tally;
            let n = self.desired;
            if old == 0 {
                self.rollout = None;
            }
            let ro = self.rollout;
            let (surge, unavailable) = ro.map_or((0, 0), |r| r.bounds(n));
            let k = if new < n
                && (old == 0 || ro.is_some_and(|r| r.blue_green) || old + new < n + surge)
            {
                self.launch(ctx);
                continue;
            } else if old > 0 {
                let ro = ro.expect("old replicas only during a rollout");
                let may_go = ro.blue_green && new_ready >= n
                    || !ro.blue_green && (available + unavailable > n || old + new > n + surge);
                // Old replicas that serve nothing cost no availability: they go first.
                let idle_old = self.census.next_out(false, 1);
                debug_assert_eq!(
                    idle_old,
                    self.victim(|r| r.version != v && !(r.phase == Phase::Serving && r.up))
                );
                match idle_old {
                    Some(k) => k,
                    None if may_go => {
                        let k = self.census.next_out(false, 2);
                        debug_assert_eq!(k, self.victim(|r| r.version != v));
                        k.expect("counted")
                    }
                    None if new > n => {
                        let k = self.census.next_out(true, 2);
                        debug_assert_eq!(k, self.victim(|r| r.version == v));
                        k.expect("counted")
                    }
                    None => return,
                }
            } else if new > n {
                let k = self.census.next_out(true, 2);
                debug_assert_eq!(k, self.victim(|r| r.version == v));
                k.expect("counted")
            } else {
                return;
            };
            self.remove(k, ctx);
        }
    }

    /// Where replica `k` counts in the census now.
    fn place(&self, k: usize) -> Option<Place> {
        self.census.place(&self.replicas[k])
    }

    /// Replica `k` changed since it counted at `before`: the census follows.
    fn recount(&mut self, k: usize, before: Option<Place>) {
        let now = self.place(k);
        self.census.moved(k, before, now);
    }

    /// Which active replica to remove among those matching: one still starting, else one
    /// down, else the newest slot. A scan of the fleet: reconcile takes the same from its
    /// census, and checks it against this in debug builds.
    pub(super) fn victim(&self, matching: impl Fn(&Replica) -> bool) -> Option<usize> {
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
    pub(super) fn launch(&mut self, ctx: &mut Ctx) -> usize {
        let now = ctx.cal.now();
        let k = match self.free_slots.lowest() {
            Some(k) => {
                debug_assert_eq!(self.replicas[k].phase, Phase::Gone);
                self.free_slots.remove(k);
                k
            }
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
                self.replicas.len() - 1
            }
        };
        let (size, version, base) = (self.size, self.version, self.cfg.speed);
        let rep = &mut self.replicas[k];
        let epoch = rep.epoch.wrapping_add(1);
        *rep = Replica::new(Phase::Starting, size, base, &self.cfg, self.levels);
        if let Some(i) = &mut self.instances {
            i.starting.insert(k);
            i.running += 1;
        }
        rep.epoch = epoch;
        rep.version = version;
        rep.since = now;
        self.stats.starting.add(now, 1);
        self.stats.billed.add(now, rep.micro_cost);
        self.recount(k, None); // a free slot counted nowhere
        // The slot's last replica may have been a canary, drained after its faults were
        // last recomputed: this one starts with the faults on it now, and none of that.
        self.refresh_faults_of(k);
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
    pub(super) fn ready(&mut self, k: usize, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let warm_for = self.cfg.provisioning.warm_for;
        let before = self.place(k);
        let rep = &mut self.replicas[k];
        debug_assert_eq!(rep.phase, Phase::Starting);
        rep.phase = Phase::Serving;
        self.recount(k, before);
        let rep = &mut self.replicas[k];
        rep.idle = rep.workers;
        rep.warm_until = now.saturating_add(warm_for);
        if let Some(i) = &mut self.instances {
            i.free.insert(k);
        }
        self.stats.starting.add(now, -1);
        self.stats.workers.add(now, rep.workers as i64);
        self.stats.replicas.add(now, 1);
        if let Some(l) = &self.replicas[k].limit {
            self.stats.limits.add(now, l.limit() as i64);
            self.stats.limit_holders.add(now, 1);
        }
        self.tell_watchers(k, true, ctx);
        self.hold_pools(k, true, ctx);
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
    pub(super) fn remove(&mut self, k: usize, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let before = self.place(k);
        let rep = &mut self.replicas[k];
        match rep.phase {
            Phase::Starting => {
                rep.phase = Phase::Gone;
                self.recount(k, before);
                let rep = &mut self.replicas[k];
                if let Some(i) = &mut self.instances {
                    i.running -= 1;
                }
                self.free_slots.insert(k);
                self.stats.starting.add(now, -1);
                self.stats.billed.add(now, -rep.micro_cost);
            }
            Phase::Serving => {
                rep.phase = Phase::Draining;
                self.recount(k, before);
                let rep = &mut self.replicas[k];
                if let Some(i) = &mut self.instances {
                    i.running -= 1;
                }
                let (up, idle) = (rep.up, rep.n == 0);
                if up {
                    self.stats.replicas.add(now, -1);
                }
                self.tell_watchers(k, false, ctx);
                if !up || idle {
                    self.gone(k, now, ctx);
                }
            }
            Phase::Draining | Phase::Gone => unreachable!("removing an inactive replica"),
        }
    }

    /// A draining replica has finished its work (or crashed): its slot is free.
    pub(super) fn gone(&mut self, k: usize, now: Nanos, ctx: &mut Ctx) {
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
        if let Some(s) = &mut self.sessions {
            s.forget(k as u32);
        }
        self.free_slots.insert(k);
        if rep.up {
            self.stats.workers.add(now, -(rep.workers as i64));
        }
        rep.idle = 0;
        self.stats.billed.add(now, -rep.micro_cost);
        if let Some(l) = &rep.limit {
            self.stats.limits.add(now, -(l.limit() as i64));
            self.stats.limit_holders.add(now, -1);
        }
        self.hold_pools(k, false, ctx);
    }

    pub(super) fn tell_watchers(&self, k: usize, member: bool, ctx: &mut Ctx) {
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

    /// A health check: answered at once by a replica that is up, never by one down.
    /// A health check. An HTTP probe is a request to the application (Envoy's active checks,
    /// Kubernetes' probes): it waits for a worker behind the requests queued before it
    /// (none under LIFO), then takes no time. A crashed replica, or one whose queue is full,
    /// does not answer; the checker fails the probe at its timeout.
    pub(super) fn probe(&mut self, replica: u32, from: u32, seq: u32, ctx: &mut Ctx) {
        let rep = &mut self.replicas[replica as usize];
        if !rep.up || !matches!(rep.phase, Phase::Serving | Phase::Draining) {
            return;
        }
        if rep.idle > 0 || self.cfg.function.is_some() {
            ctx.cal
                .at(ctx.cal.now(), ActorId(from), Msg::ProbeAck { replica, seq });
            return;
        }
        if self
            .cfg
            .capacity
            .is_some_and(|c| rep.queue.len() >= c as usize)
        {
            return;
        }
        let ahead = match self.cfg.queue.order {
            Order::Lifo => 0,
            Order::Fifo | Order::AdaptiveLifo => rep.queue.len() as u64,
        };
        let place = rep.queue.removed() + ahead;
        rep.probes.push_back(WaitingProbe { place, from, seq });
    }

    /// A worker of replica `k` is free: it answers the probes whose turn has come first.
    pub(super) fn answer_probes(&mut self, k: u32, ctx: &mut Ctx) {
        let rep = &mut self.replicas[k as usize];
        while let Some(p) = rep.probes.front().copied() {
            if p.place > rep.queue.removed() {
                break;
            }
            rep.probes.pop_front();
            let ack = Msg::ProbeAck {
                replica: k,
                seq: p.seq,
            };
            ctx.cal.at(ctx.cal.now(), ActorId(p.from), ack);
        }
    }

    /// Replica `k`'s start-up is over, unless the slot moved on since.
    pub(super) fn ready_due(&mut self, k: usize, epoch: u32, ctx: &mut Ctx) {
        let rep = &self.replicas[k];
        if rep.epoch == epoch && rep.phase == Phase::Starting {
            self.ready(k, ctx);
            self.reconcile(ctx);
        }
    }

    /// A function instance's idle check: reclaimed if idle for `idle_timeout`.
    pub(super) fn reap(&mut self, k: u32, epoch: u32, ctx: &mut Ctx) {
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
        let due = rep.idle_since.saturating_add(f.idle_timeout);
        if now >= due {
            self.remove(k as usize, ctx);
        } else {
            rep.reaping = true;
            ctx.cal.at(due, self.id, Msg::Reap { instance: k, epoch });
        }
    }
}
