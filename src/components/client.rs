//! Clients: the source of requests, open-loop (arrivals at a rate) or closed-loop (users who
//! wait for an answer, think, and ask again), with an optional timeout.

use super::dist::{DistParams, Sampler};
use super::request::{Outcome, ReqId, Request};
use super::{Ctx, Msg};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::{Histogram, TimeWeighted};
use rand::Rng;
use rand_distr::{Distribution, Exp1};

/// How requests arrive.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// Exponential gaps at `rate` per second.
    Poisson { rate: f64 },
    /// Evenly spaced at `rate` per second, starting at a random phase.
    Constant { rate: f64 },
    /// A Poisson process whose rate is piecewise constant: `(from, rate)` steps in time order;
    /// before the first step the rate is zero.
    Schedule { steps: Vec<(Nanos, f64)> },
    /// `users` users who each think, send one request, and wait for its answer.
    Closed { users: u32, think: DistParams },
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub target: ActorId,
    pub arrivals: Arrivals,
    /// A request not answered within this is `timed_out`; its eventual answer is ignored.
    pub timeout: Option<Nanos>,
    /// Successes slower than this do not count toward goodput.
    pub deadline: Option<Nanos>,
}

enum Source {
    Poisson {
        gap_s: f64,
    },
    Constant {
        period_s: f64,
        first: Nanos,
        k: u64,
    },
    Schedule {
        steps: Vec<(Nanos, f64)>,
        step: usize,
    },
    Closed {
        think: Sampler,
    },
}

/// What a client counts, for requests whose first attempt started after warm-up.
#[derive(Default)]
pub struct ClientStats {
    pub requests: u64,
    pub succeeded: u64,
    pub good: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub retries: u64,
    /// End-to-end latency of successful requests.
    pub latency: Histogram,
    /// Time until the caller got an answer or gave up, over every final outcome.
    pub response_sum: u128,
    pub responses: u64,
}

pub struct Client {
    pub id: ActorId,
    cfg: ClientConfig,
    source: Source,
    arrivals_rng: Stream,
    think_rng: Stream,
    pub stats: ClientStats,
    /// Requests of this client in flight, over time (for Little's law end to end).
    pub in_flight: TimeWeighted,
}

impl Client {
    pub fn new(
        id: ActorId,
        cfg: ClientConfig,
        arrivals_rng: Stream,
        think_rng: Stream,
        warmup: Nanos,
    ) -> Result<Client, String> {
        let source = match &cfg.arrivals {
            Arrivals::Poisson { rate } => Source::Poisson { gap_s: 1.0 / rate },
            Arrivals::Constant { rate } => Source::Constant {
                period_s: 1.0 / rate,
                first: 0,
                k: 0,
            },
            Arrivals::Schedule { steps } => Source::Schedule {
                steps: steps.clone(),
                step: 0,
            },
            Arrivals::Closed { think, .. } => Source::Closed {
                think: Sampler::new(think)?,
            },
        };
        Ok(Client {
            id,
            cfg,
            source,
            arrivals_rng,
            think_rng,
            stats: ClientStats::default(),
            in_flight: TimeWeighted::new(warmup),
        })
    }

    /// Schedules the first arrivals (or every user's first think).
    pub fn start(&mut self, ctx: &mut Ctx) {
        if let Source::Constant {
            period_s, first, ..
        } = &mut self.source
        {
            let phase = self.arrivals_rng.random::<f64>() * *period_s;
            *first = (phase * 1e9).round() as Nanos;
        }
        match &self.source {
            Source::Closed { think } => {
                let Arrivals::Closed { users, .. } = self.cfg.arrivals else {
                    unreachable!()
                };
                for user in 0..users {
                    let t = think.sample(&mut self.think_rng, 1.0);
                    ctx.cal.after(t, self.id, Msg::Think(user));
                }
            }
            _ => {
                if let Some(t) = self.next_arrival(0) {
                    ctx.cal.at(t, self.id, Msg::Generate);
                }
            }
        }
    }

    /// The next open-loop arrival after `now`, or `None` if there is none.
    fn next_arrival(&mut self, now: Nanos) -> Option<Nanos> {
        let rng = &mut self.arrivals_rng;
        match &mut self.source {
            Source::Poisson { gap_s } => {
                let e: f64 = Exp1.sample(rng);
                Some(now + (e * *gap_s * 1e9).round() as Nanos)
            }
            Source::Constant { period_s, first, k } => {
                // From the index, not by adding periods, so rounding never accumulates.
                let t = *first + (*k as f64 * *period_s * 1e9).round() as Nanos;
                *k += 1;
                Some(t)
            }
            Source::Schedule { steps, step } => {
                // Memoryless: at a rate change, restarting the exponential clock is exact.
                let mut t = now;
                loop {
                    let (from, rate) = *steps.get(*step)?;
                    let t0 = t.max(from);
                    let end = steps.get(*step + 1).map(|s| s.0);
                    if rate > 0.0 {
                        let e: f64 = Exp1.sample(rng);
                        let cand = t0 + (e / rate * 1e9).round() as Nanos;
                        if end.is_none_or(|end| cand < end) {
                            return Some(cand);
                        }
                    }
                    t = end?;
                    *step += 1;
                }
            }
            Source::Closed { .. } => None,
        }
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        match msg {
            Msg::Generate => {
                self.send(0, ctx);
                if let Some(t) = self.next_arrival(now) {
                    ctx.cal.at(t, self.id, Msg::Generate);
                }
            }
            Msg::Think(user) => self.send(user, ctx),
            Msg::Reply(id) => {
                let Some(r) = ctx.requests.remove(id) else {
                    debug_assert!(false, "reply for an unknown request");
                    return;
                };
                if r.abandoned {
                    return; // already counted as timed out
                }
                self.in_flight.add(now, -1);
                if r.born >= ctx.warmup {
                    let s = &mut self.stats;
                    match r.outcome {
                        Outcome::Ok => {
                            let latency = now - r.born;
                            s.succeeded += 1;
                            s.latency.record(latency);
                            if self.cfg.deadline.is_none_or(|d| latency <= d) {
                                s.good += 1;
                            }
                        }
                        Outcome::Error => s.failed += 1,
                        Outcome::Rejected => s.rejected += 1,
                        Outcome::Pending => unreachable!("reply without an outcome"),
                    }
                    s.response_sum += (now - r.born) as u128;
                    s.responses += 1;
                }
                self.answered(r.token, ctx);
            }
            Msg::Expire(id) => {
                let Some(r) = ctx.requests.get_mut(id) else {
                    return; // answered in time
                };
                if r.abandoned {
                    return;
                }
                r.abandoned = true;
                let (born, token) = (r.born, r.token);
                self.in_flight.add(now, -1);
                if born >= ctx.warmup {
                    self.stats.timed_out += 1;
                    self.stats.response_sum += (now - born) as u128;
                    self.stats.responses += 1;
                }
                self.answered(token, ctx);
            }
            Msg::Call(_) | Msg::Finish(..) => unreachable!("a client is never called"),
        }
    }

    fn send(&mut self, token: u32, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let id: ReqId = ctx.requests.insert(Request::new(now, self.id, token));
        if now >= ctx.warmup {
            self.stats.requests += 1;
        }
        self.in_flight.add(now, 1);
        ctx.cal.at(now, self.cfg.target, Msg::Call(id));
        if let Some(t) = self.cfg.timeout {
            ctx.cal.after(t, self.id, Msg::Expire(id));
        }
    }

    /// A closed-loop user got an answer (or gave up): think, then ask again.
    fn answered(&mut self, user: u32, ctx: &mut Ctx) {
        if let Source::Closed { think } = &self.source {
            let t = think.sample(&mut self.think_rng, 1.0);
            ctx.cal.after(t, self.id, Msg::Think(user));
        }
    }

    /// This client's node metrics over the measured window.
    pub fn node_metrics(&self, window_s: f64, end: Nanos) -> Vec<(&'static str, f64)> {
        let s = &self.stats;
        let resp = if s.responses > 0 {
            s.response_sum as f64 / s.responses as f64 / 1e9
        } else {
            f64::NAN
        };
        vec![
            ("arrivals", s.requests as f64),
            ("throughput_rps", s.responses as f64 / window_s),
            ("response_mean_s", resp),
            (
                "in_flight_mean",
                self.in_flight.mean(end).unwrap_or(f64::NAN),
            ),
        ]
    }
}
