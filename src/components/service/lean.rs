//! The request path of a lean service, chosen once at build. A service with none of the
//! features a request meets on its way in (connection limits, rate limits, function
//! instances, sessions, concurrency limits, CoDel, priorities, blocking queues,
//! degradation, dropping expired requests) takes arrivals here (`lean_in`); if its handler
//! is also plain (one step of the arrival's work), its jobs start and finish here too
//! (`lean`), else they go through the step interpreter.
//!
//! The same effects, random draws and events, in the same order, as admission
//! (`arrive`, `enter`, `admit`) and execution (`start_job`, `finish_work`, `complete`,
//! `next_from_queue`) have for such a service, without their checks: `tests/fast_paths.rs`
//! runs every shipped experiment both ways and compares fingerprints. What can change
//! while running (a replica down, slowed or failing by a fault, probed by a health check,
//! draining) is checked here or handled by the shared steps these call. A new feature on
//! a request's way in or out must either exclude services from `is_lean_in` or be handled
//! here too.

use super::*;

impl Service {
    /// Whether `cfg` configures nothing a request meets on its way in beyond replicas,
    /// workers and a FIFO queue of at most `capacity`.
    pub(super) fn is_lean_in(cfg: &ServiceConfig, levels: usize) -> bool {
        levels == 1
            && cfg.connections.is_none()
            && cfg.limit.is_none()
            && cfg.class_limits.is_empty()
            && cfg.key_limit.is_none()
            && cfg.function.is_none()
            && cfg.sessions.is_none()
            && cfg.concurrency_limit.is_none()
            && cfg.queue.codel.is_none()
            && cfg.queue.order == Order::Fifo
            && cfg.queue.when_full != WhenFull::Block
            && cfg.degrade.is_none()
            && !cfg.drop_expired
    }

    /// A call arrives, for a given replica (from a balancer) or the next in turn.
    pub(super) fn lean_arrive(&mut self, id: ReqId, replica: Option<usize>, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let (counted, class, _) = self.take_in(id, now, ctx);
        let Some(k) = self.choose_replica(replica) else {
            self.unavailable(id, counted, ctx);
            return;
        };
        let rep = &mut self.replicas[k];
        if rep.idle > 0 {
            rep.idle -= 1;
            self.occupancy(k, now, 1);
            if self.plain {
                self.lean_start(k as u32, id, now, ctx);
            } else {
                // Nothing expires on the way in (`drop_expired` is off): the job starts.
                let started = self.start_job(k as u32, id, ctx);
                debug_assert!(started, "a lean service starts every job it takes");
            }
        } else {
            self.wait_in_line(k, id, class, counted, ctx);
        }
    }

    /// Puts `id` on a worker of replica `k` (already counted as taken): its work ends after
    /// the arrival's draw, slowed as the replica is.
    #[inline(always)]
    fn lean_start(&mut self, k: u32, id: ReqId, now: Nanos, ctx: &mut Ctx) {
        let r = ctx.requests.get(id).expect("starting a freed request");
        if r.entered >= ctx.warmup {
            self.stats.started(now - r.entered);
        }
        self.stats.busy.add(now, 1);
        let work = r.work;
        let mut job = Job::new(id, k, 0, now);
        job.used_arrival_work = true;
        let job = self.jobs.insert(job);
        self.work_done_at(k as usize, work, job, now, ctx);
    }

    /// A job's work is done: reply, and free the worker for the next in line.
    pub(super) fn lean_finish(&mut self, jid: Id, ctx: &mut Ctx) {
        let Some(job) = self.jobs.get(jid) else {
            return; // its replica crashed
        };
        if self.error_rate[job.replica as usize] > 0.0 {
            // A fault makes some replies errors: the general path draws which.
            self.finish_work(jid, ctx);
            return;
        }
        let job = self.jobs.remove(jid).expect("checked");
        let now = ctx.cal.now();
        let entered = ctx.requests.get(job.req).expect("live").entered;
        if entered >= ctx.warmup {
            self.stats.completed(now, entered, job.started, Outcome::Ok);
        }
        self.occupancy(job.replica as usize, now, -1);
        self.stats.busy.add(now, -1);
        self.reply(job.req, Outcome::Ok, ctx);
        let k = job.replica;
        if !self.replicas[k as usize].probes.is_empty() {
            self.answer_probes(k, ctx);
        }
        match self.replicas[k as usize].queue.pop(false) {
            Some(next) => {
                self.stats.queued.add(now, -1);
                self.lean_start(k, next, now, ctx);
            }
            None => self.worker_idle(k, now, ctx),
        }
    }
}
