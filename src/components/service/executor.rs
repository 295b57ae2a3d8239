//! Execution: a job holds a worker from start to reply and runs its handler's steps: work,
//! calls (through pools), parallel calls, optional work; then the next queued request.

use super::*;

impl Service {
    /// Puts `id` on a worker of replica `k` (the worker is already counted as taken), or
    /// drops it if its caller's deadline has passed (then the worker is still taken: the
    /// caller gives it another request or frees it).
    pub(super) fn start_job(&mut self, k: u32, id: ReqId, ctx: &mut Ctx) -> bool {
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
            self.stats.started(now - r.entered);
        }
        self.stats.busy.add(now, 1);
        let (class, work) = (r.class, r.work);
        let handler = self
            .route_of
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(0, |(_, h)| *h);
        let mut job = Job::new(id, k, handler, now);
        if self.plain {
            // What `advance` does for the one step of the arrival's work.
            job.used_arrival_work = true;
            let job = self.jobs.insert(job);
            self.work_done_at(k as usize, work, job, now, ctx);
        } else {
            let job = self.jobs.insert(job);
            self.advance(job, ctx);
        }
        true
    }

    /// Schedules the end of `work` for job `jid` on replica `k`, slowed by faults and
    /// warm-up.
    #[inline(always)]
    pub(super) fn work_done_at(&mut self, k: usize, work: Nanos, jid: Id, now: Nanos, ctx: &mut Ctx) {
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
        ctx.cal.at(now.saturating_add(work), self.id, Msg::Finish(jid.to_token()));
    }

    /// Runs the job's current step, or completes it after the last.
    pub(super) fn advance(&mut self, jid: Id, ctx: &mut Ctx) {
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
                self.work_done_at(k, work, jid, now, ctx);
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
                                now.saturating_add(t),
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

    #[inline(always)]
    pub(super) fn finish_work(&mut self, jid: Id, ctx: &mut Ctx) {
        if self.jobs.get(jid).is_none() {
            return; // its replica crashed
        }
        let p = self.error_rate[self.jobs.get(jid).expect("checked").replica as usize];
        if p > 0.0 && self.fault_rng.random::<f64>() < p {
            self.complete(jid, Outcome::Error, ctx);
            return;
        }
        if self.plain {
            // Its one step is done: what `advance` does after the last step.
            self.complete(jid, Outcome::Ok, ctx);
            return;
        }
        self.jobs.get_mut(jid).expect("checked").step += 1;
        self.advance(jid, ctx);
    }

    /// A connection of replica `k`'s pool for `site` comes back: the longest waiter sends
    /// its call with it.
    pub(super) fn release(&mut self, k: u32, site: u16, ctx: &mut Ctx) {
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
    pub(super) fn pool_timeout(&mut self, jid: Id, step: u32, ctx: &mut Ctx) {
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
    pub(super) fn call_done(&mut self, done: Done, ctx: &mut Ctx) {
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
    #[inline(always)]
    pub(super) fn complete(&mut self, jid: Id, outcome: Outcome, ctx: &mut Ctx) {
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
            l.sample(now, now - entered, inflight, outcome == Outcome::Error);
            self.stats.limits.add(now, l.limit() as i64 - before as i64);
        }
        if entered >= ctx.warmup {
            self.stats.completed(now, entered, job.started, outcome);
        }
        self.occupancy(job.replica as usize, now, -1);
        self.stats.busy.add(now, -1);
        self.reply(job.req, outcome, ctx);
        self.next_from_queue(job.replica, ctx);
    }

    /// A worker of replica `k` is free: take the next queued request, or go idle.
    pub(super) fn next_from_queue(&mut self, k: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        if !self.replicas[k as usize].probes.is_empty() {
            self.answer_probes(k, ctx);
        }
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
        self.worker_idle(k, now, ctx);
    }

    /// A worker of replica `k` has nothing to do: a draining replica left empty is gone, a
    /// function instance left empty starts its idle timeout.
    pub(super) fn worker_idle(&mut self, k: u32, now: Nanos, ctx: &mut Ctx) {
        if self.instances.is_some() {
            self.instance_freed(k as usize);
        }
        let rep = &mut self.replicas[k as usize];
        rep.idle += 1;
        if rep.n == 0 {
            if rep.phase == Phase::Draining {
                self.gone(k as usize, now, ctx);
            } else if self.instances.is_some() {
                self.idle_instance(k as usize, now, ctx);
            }
        }
    }

    /// A function instance has a free worker again: a candidate for the next call.
    #[cold]
    #[inline(never)]
    fn instance_freed(&mut self, k: usize) {
        self.instances.as_mut().expect("a function").free.insert(k);
    }
}
