//! Clients: the source of requests. Open loop (arrivals at a rate, in bursts, following a
//! daily cycle or replaying a trace) or closed loop (users who wait for an answer, think,
//! and ask again); request classes and keys; timeouts and retries through [`Outbound`].

use super::dist::{DistParams, Sampler};
use super::kernel::{Ctx, Msg};
use super::node::Outcomes;
use super::outbound::{CallMeta, CallSite, Done, Final, Outbound};
use crate::engine::{round_ns, ActorId, Nanos, Stream};
use crate::metrics::series::BucketIndex;
use crate::metrics::{Histogram, TimeWeighted};
use rand::Rng;
use super::zipf::ZipfKeys;
use rand_distr::{Distribution, Exp1};
use std::sync::Arc;

/// One request of a replayed trace.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TraceEvent {
    pub at: Nanos,
    pub key: Option<u64>,
    pub class: Option<u16>,
}

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
    /// A two-state Markov-modulated Poisson process: `rates[i]` while in state i, which lasts
    /// an exponential time of mean `dwell_s[i]`. Starts in state 0.
    Bursty { rates: [f64; 2], dwell_s: [f64; 2] },
    /// Poisson with rate `mean × (1 + amplitude × sin(2π (t − phase) / period))`.
    Diurnal {
        mean: f64,
        amplitude: f64,
        period_s: f64,
        phase_s: f64,
    },
    /// Replays requests at the given times.
    Trace(Arc<Vec<TraceEvent>>),
    /// `users` users who each think, send one request, and wait for its answer.
    Closed { users: u32, think: DistParams },
}

/// A class of requests: its share of traffic, priority and deadline.
#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    pub name: String,
    pub weight: f64,
    /// Lower is more important.
    pub priority: u8,
    /// Successes slower than this do not count as goodput.
    pub deadline: Option<Nanos>,
}

/// How request keys are drawn (for hashing, caches and shards).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Keys {
    None,
    Uniform { n: u64 },
    Zipf { s: f64, n: u64 },
}

#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub arrivals: Arrivals,
    /// The call to the target: timeout per attempt, retries, network latency.
    pub call: CallSite,
    /// Successes slower than this do not count toward goodput (a class deadline wins).
    pub deadline: Option<Nanos>,
    /// At least one; the first is the default.
    pub classes: Vec<Class>,
    /// Each class's id across the model (what services route on).
    pub class_ids: Vec<u16>,
    pub keys: Keys,
    /// The first loss of a region or zone, from which the client measures its recovery.
    pub loss_at: Option<Nanos>,
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
    Bursty {
        rates: [f64; 2],
        dwell_s: [f64; 2],
        state: usize,
        state_end: Nanos,
    },
    Diurnal {
        mean: f64,
        amplitude: f64,
        period_s: f64,
        phase_s: f64,
    },
    Trace {
        events: Arc<Vec<TraceEvent>>,
        next: usize,
    },
    Closed {
        think: Sampler,
    },
}

/// Per-class counts, for requests whose first attempt started after warm-up.
#[derive(Default)]
pub struct ClassStats {
    pub requests: u64,
    pub ended: Outcomes,
    /// End-to-end latency of successful requests.
    pub latency: Histogram,
    /// Time until the caller got an answer or gave up, over every final outcome.
    pub response_sum: u128,
    pub responses: u64,
}

impl ClassStats {
    /// A logical request of this class ended with `outcome` after `latency`; `good` if it
    /// succeeded within its deadline.
    #[inline]
    fn record(&mut self, outcome: Final, latency: Nanos, good: bool) {
        self.ended.count(outcome, good);
        if outcome == Final::Ok {
            self.latency.record(latency);
        }
        self.response_sum += latency as u128;
        self.responses += 1;
    }
}

pub struct Client {
    pub id: ActorId,
    cfg: ClientConfig,
    source: Source,
    arrivals_rng: Stream,
    think_rng: Stream,
    mix_rng: Stream,
    zipf: Option<ZipfKeys>,
    pub out: Outbound,
    pub classes: Vec<ClassStats>,
    /// Logical requests of this client in flight, over time.
    pub in_flight: TimeWeighted,
    /// Per time bucket, when recording a time series: (the bucket of a time, stats by bucket).
    pub series: Option<(BucketIndex, Vec<BucketStats>)>,
    recovery: Option<super::recovery::Recovery>,
}

/// What a client saw in one time bucket (warm-up included; by the time of the event).
#[derive(Clone, Default)]
pub struct BucketStats {
    pub requests: u64,
    pub ended: Outcomes,
    pub latency: crate::metrics::series::CoarseHistogram,
}

impl BucketStats {
    /// A logical request ended in this bucket, as `ClassStats::record` counts it.
    #[inline]
    fn record(&mut self, outcome: Final, latency: Nanos, good: bool) {
        self.ended.count(outcome, good);
        if outcome == Final::Ok {
            self.latency.record(latency);
        }
    }
}

/// Streams a client draws from, each for one purpose, so that changing one thing (say,
/// the class mix) does not shift the arrival times.
pub struct ClientStreams {
    pub arrivals: Stream,
    pub think: Stream,
    pub mix: Stream,
    pub retry: Stream,
}

impl Client {
    pub fn new(
        id: ActorId,
        cfg: ClientConfig,
        s: ClientStreams,
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
            Arrivals::Bursty { rates, dwell_s } => Source::Bursty {
                rates: *rates,
                dwell_s: *dwell_s,
                state: 0,
                state_end: 0,
            },
            Arrivals::Diurnal {
                mean,
                amplitude,
                period_s,
                phase_s,
            } => Source::Diurnal {
                mean: *mean,
                amplitude: *amplitude,
                period_s: *period_s,
                phase_s: *phase_s,
            },
            Arrivals::Trace(events) => Source::Trace {
                events: events.clone(),
                next: 0,
            },
            Arrivals::Closed { think, .. } => Source::Closed {
                think: Sampler::new(think)?,
            },
        };
        let zipf = match cfg.keys {
            Keys::Zipf { s, n } => Some(ZipfKeys::new(n, s)?),
            _ => None,
        };
        let out = Outbound::new(id, vec![cfg.call.clone()], s.retry, warmup);
        let classes = cfg.classes.iter().map(|_| ClassStats::default()).collect();
        let recovery = cfg
            .loss_at
            .map(|at| super::recovery::Recovery::new(at, warmup));
        Ok(Client {
            id,
            cfg,
            source,
            arrivals_rng: s.arrivals,
            think_rng: s.think,
            mix_rng: s.mix,
            zipf,
            out,
            classes,
            in_flight: TimeWeighted::new(warmup),
            series: None,
            recovery,
        })
    }

    /// Starts recording per-bucket counts for a run of `n` buckets of `bucket`.
    pub fn record_series(&mut self, bucket: Nanos, n: usize) {
        self.series = Some((BucketIndex::new(bucket, n), vec![BucketStats::default(); n]));
        self.out.series = Some((BucketIndex::new(bucket, n), vec![0; n]));
    }

    fn bucket(&mut self, now: Nanos) -> Option<&mut BucketStats> {
        let (index, stats) = self.series.as_mut()?;
        Some(&mut stats[index.at(now)])
    }

    /// Schedules the first arrivals (or every user's first think).
    pub fn start(&mut self, ctx: &mut Ctx) {
        match &mut self.source {
            Source::Constant {
                period_s, first, ..
            } => {
                let phase = self.arrivals_rng.random::<f64>() * *period_s;
                *first = (phase * 1e9).round() as Nanos;
            }
            Source::Bursty {
                dwell_s, state_end, ..
            } => {
                let e: f64 = Exp1.sample(&mut self.arrivals_rng);
                *state_end = (e * dwell_s[0] * 1e9).round() as Nanos;
            }
            _ => {}
        }
        if let Source::Closed { think } = &self.source {
            let Arrivals::Closed { users, .. } = self.cfg.arrivals else {
                unreachable!("a closed source comes from closed arrivals")
            };
            for user in 0..users {
                let t = think.sample(&mut self.think_rng, 1.0);
                ctx.cal.after(t, self.id, Msg::Think(user));
            }
        } else if let Some(t) = self.next_arrival(0) {
            ctx.cal.at(t, self.id, Msg::Generate);
        }
    }

    /// The next open-loop arrival at or after `now`, or `None` if there is none.
    #[inline(always)]
    fn next_arrival(&mut self, now: Nanos) -> Option<Nanos> {
        let rng = &mut self.arrivals_rng;
        let exp = |rng: &mut Stream, mean_s: f64| -> Nanos {
            let e: f64 = Exp1.sample(rng);
            round_ns(e * mean_s * 1e9)
        };
        match &mut self.source {
            Source::Poisson { gap_s } => Some(now.saturating_add(exp(rng, *gap_s))),
            Source::Constant { period_s, first, k } => {
                // From the index, not by adding periods, so rounding never accumulates.
                let t = first.saturating_add((*k as f64 * *period_s * 1e9).round() as Nanos);
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
                        let cand = t0.saturating_add(exp(rng, 1.0 / rate));
                        if end.is_none_or(|end| cand < end) {
                            return Some(cand);
                        }
                    }
                    t = end?;
                    *step += 1;
                }
            }
            Source::Bursty {
                rates,
                dwell_s,
                state,
                state_end,
            } => {
                let mut t = now;
                loop {
                    let rate = rates[*state];
                    if rate > 0.0 {
                        let cand = t.saturating_add(exp(rng, 1.0 / rate));
                        if cand < *state_end {
                            return Some(cand);
                        }
                    }
                    // Past the end of simulated time (a rate or dwell near zero): none.
                    if *state_end == Nanos::MAX {
                        return None;
                    }
                    t = *state_end;
                    *state ^= 1;
                    *state_end = t.saturating_add(exp(rng, dwell_s[*state]));
                }
            }
            Source::Diurnal {
                mean,
                amplitude,
                period_s,
                phase_s,
            } => {
                // Thinning: candidates at the peak rate, kept with probability rate(t)/peak.
                let peak = *mean * (1.0 + amplitude.abs());
                let mut t = now;
                loop {
                    if t == Nanos::MAX {
                        return None;
                    }
                    t = t.saturating_add(exp(rng, 1.0 / peak));
                    let x = (t as f64 / 1e9 - *phase_s) / *period_s;
                    let rate = *mean * (1.0 + *amplitude * (std::f64::consts::TAU * x).sin());
                    if rng.random::<f64>() * peak < rate {
                        return Some(t);
                    }
                }
            }
            Source::Trace { events, next } => events.get(*next).map(|e| e.at.max(now)),
            Source::Closed { .. } => None,
        }
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        match msg {
            Msg::Generate => {
                let (key, class) = match &mut self.source {
                    Source::Trace { events, next } => {
                        let e = events[*next];
                        *next += 1;
                        (e.key, e.class)
                    }
                    _ => (None, None),
                };
                self.send(0, key, class, ctx);
                if let Some(t) = self.next_arrival(now) {
                    ctx.cal.at(t, self.id, Msg::Generate);
                }
            }
            Msg::Think(user) => self.send(user as u64, None, None, ctx),
            Msg::Reply(id) => {
                if let Some(done) = self.out.on_reply(id, ctx) {
                    self.finished(done, ctx);
                }
            }
            Msg::Expire(id) => {
                if let Some(done) = self.out.on_expire(id, ctx) {
                    self.finished(done, ctx);
                }
            }
            Msg::RetryDue(token) => self.out.on_retry_due(token, ctx),
            Msg::HedgeDue(token) => self.out.on_hedge_due(token, ctx),
            Msg::Refused(token) => {
                if let Some(done) = self.out.on_refused(token) {
                    self.finished(done, ctx);
                }
            }
            _ => unreachable!("a client is never called"),
        }
    }

    fn draw_class(&mut self) -> u16 {
        if self.cfg.classes.len() == 1 {
            return 0;
        }
        let total: f64 = self.cfg.classes.iter().map(|c| c.weight).sum();
        let mut u = self.mix_rng.random::<f64>() * total;
        for (i, c) in self.cfg.classes.iter().enumerate() {
            if u < c.weight {
                return i as u16;
            }
            u -= c.weight;
        }
        (self.cfg.classes.len() - 1) as u16
    }

    #[inline(always)]
    fn draw_key(&mut self) -> u64 {
        match self.cfg.keys {
            Keys::None => 0,
            Keys::Uniform { n } => self.mix_rng.random_range(0..n),
            Keys::Zipf { .. } => {
                let z = self.zipf.as_mut().expect("built with the keys");
                z.sample(&mut self.mix_rng) - 1
            }
        }
    }

    #[inline(always)]
    fn send(&mut self, owner: u64, key: Option<u64>, class: Option<u16>, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let class = class.unwrap_or_else(|| self.draw_class());
        let key = key.unwrap_or_else(|| self.draw_key());
        if now >= ctx.warmup {
            self.classes[class as usize].requests += 1;
        }
        if let Some(b) = self.bucket(now) {
            b.requests += 1;
        }
        self.in_flight.add(now, 1);
        let meta = CallMeta {
            owner,
            tag: class as u32,
            born: now,
            class: self.cfg.class_ids[class as usize],
            key,
        };
        self.out.start(0, meta, ctx);
    }

    /// A logical request ended (after any retries): count it; a closed-loop user thinks.
    #[inline(always)]
    fn finished(&mut self, done: Done, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        self.in_flight.add(now, -1);
        let class = done.tag as usize;
        let latency = now - done.born;
        // Good: succeeded within the class's deadline (or the client's).
        let good = done.outcome == Final::Ok
            && (self.cfg.classes[class].deadline)
                .or(self.cfg.deadline)
                .is_none_or(|d| latency <= d);
        if let Some(b) = self.bucket(now) {
            b.record(done.outcome, latency, good);
        }
        if good {
            if let Some(r) = &mut self.recovery {
                r.good(now);
            }
        }
        if done.born >= ctx.warmup {
            self.classes[class].record(done.outcome, latency, good);
        }
        if let Source::Closed { .. } = &self.source {
            self.think(done.owner as u32, ctx);
        }
    }

    /// A closed-loop user thinks before its next request.
    #[cold]
    #[inline(never)]
    fn think(&mut self, user: u32, ctx: &mut Ctx) {
        let Source::Closed { think } = &self.source else {
            unreachable!("only closed-loop users think")
        };
        let t = think.sample(&mut self.think_rng, 1.0);
        ctx.cal.after(t, self.id, Msg::Think(user));
    }

    /// This client's node metrics over the measured window.
    pub fn node_metrics(&self, window_s: f64, end: Nanos) -> Vec<(String, f64)> {
        let sum = |f: fn(&ClassStats) -> u64| self.classes.iter().map(f).sum::<u64>();
        let (responses, response_sum) = (
            sum(|c| c.responses),
            self.classes.iter().map(|c| c.response_sum).sum::<u128>(),
        );
        let resp = if responses > 0 {
            response_sum as f64 / responses as f64 / 1e9
        } else {
            f64::NAN
        };
        let requests = sum(|c| c.requests);
        let mut latency = Histogram::new();
        for c in &self.classes {
            latency.merge(&c.latency);
        }
        let q = |q: f64| latency.quantile(q).map_or(f64::NAN, |v| v / 1e9);
        let mut m = vec![
            ("goodput_rps".to_string(), sum(|c| c.ended.good) as f64 / window_s),
            ("latency_p50_s".into(), q(0.5)),
            ("latency_p99_s".into(), q(0.99)),
            ("arrivals".into(), requests as f64),
            ("attempts".into(), self.out.stats.attempts as f64),
            ("retries".into(), self.out.stats.retries as f64),
            ("hedges".into(), self.out.stats.hedges as f64),
            ("retries_refused".into(), self.out.stats.retries_refused as f64),
            ("throughput_rps".into(), responses as f64 / window_s),
            // This client's outcomes: with several clients, the experiment-wide counts mix them.
            ("succeeded".into(), sum(|c| c.ended.succeeded) as f64),
            ("failed".into(), sum(|c| c.ended.failed) as f64),
            ("rejected".into(), sum(|c| c.ended.rejected) as f64),
            ("timed_out".into(), sum(|c| c.ended.timed_out) as f64),
            ("degraded".into(), sum(|c| c.ended.degraded) as f64),
            ("response_mean_s".into(), resp),
            (
                "in_flight_mean".into(),
                self.in_flight.mean(end).unwrap_or(f64::NAN),
            ),
        ];
        if self.cfg.call.hedge.is_some() {
            m.push(("hedges_refused".into(), self.out.stats.hedges_refused as f64));
        }
        if let Some(r) = &self.recovery {
            let (rto, back) = r.rto(end).map_or((f64::NAN, f64::NAN), |(s, b)| (s, b as u8 as f64));
            m.push(("rto_s".into(), rto));
            m.push(("recovered".into(), back));
        }
        if let Some(full) = self.out.bulkhead_metric() {
            m.push(("bulkhead_full".into(), full));
        }
        if let Some((open, refused)) = self.out.breaker_metrics(end) {
            m.push(("open_fraction".into(), open));
            m.push(("not_permitted".into(), refused));
        }
        if self.classes.len() > 1 {
            for (c, s) in self.cfg.classes.iter().zip(&self.classes) {
                let q = |q: f64| s.latency.quantile(q).map_or(f64::NAN, |v| v / 1e9);
                m.push((format!("{}.requests", c.name), s.requests as f64));
                m.push((format!("{}.goodput_rps", c.name), s.ended.good as f64 / window_s));
                m.push((format!("{}.latency_p50_s", c.name), q(0.5)));
                m.push((format!("{}.latency_p99_s", c.name), q(0.99)));
                m.push((format!("{}.rejected", c.name), s.ended.rejected as f64));
                m.push((format!("{}.degraded", c.name), s.ended.degraded as f64));
                m.push((format!("{}.timed_out", c.name), s.ended.timed_out as f64));
            }
        }
        m
    }
}

impl super::node::NodeActor for Client {
    fn start(&mut self, ctx: &mut Ctx) {
        Client::start(self, ctx)
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Client::handle(self, msg, ctx)
    }

    fn metrics(&self, window_s: f64, end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics(window_s, end)
    }

    fn add_totals(&self, t: &mut super::node::Totals, _end: Nanos) {
        for s in &self.classes {
            t.requests += s.requests;
            t.ended.add(&s.ended);
            t.latency.merge(&s.latency);
        }
        t.retries += self.out.stats.retries;
        t.attempts += self.out.stats.attempts;
    }

    fn outbound(&mut self) -> Option<&mut Outbound> {
        Some(&mut self.out)
    }

    fn record_series(&mut self, bucket: Nanos, n: usize) {
        Client::record_series(self, bucket, n)
    }

    fn add_bucket(&self, i: usize, t: &mut super::node::BucketTotals) {
        let Some((_, buckets)) = &self.series else {
            return;
        };
        let b = &buckets[i];
        for (k, v) in [
            b.requests,
            b.ended.succeeded,
            b.ended.good,
            b.ended.failed,
            b.ended.rejected,
            b.ended.timed_out,
        ]
        .into_iter()
        .enumerate()
        {
            t.counts[k] += v;
        }
        t.latency.merge(&b.latency);
        if let Some((_, attempts)) = &self.out.series {
            t.counts[6] += attempts[i];
        }
    }
}

impl super::node::Build for Client {
    type Config = ClientConfig;

    /// A schedule's stretches away from its first rate (a surge, a lull), each until the
    /// next step: a return to the first rate ends one.
    fn timeline(cfg: &ClientConfig) -> Vec<(Nanos, Option<Nanos>, String)> {
        let Arrivals::Schedule { steps } = &cfg.arrivals else {
            return Vec::new();
        };
        let Some(&(_, base)) = steps.first() else {
            return Vec::new();
        };
        steps
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, s)| s.1 != base)
            .map(|(i, s)| {
                let until = steps.get(i + 1).map(|n| n.0);
                (s.0, until, format!("load {}/s", s.1))
            })
            .collect()
    }

    fn new(
        id: ActorId,
        cfg: ClientConfig,
        s: &super::node::Streams,
        warmup: Nanos,
    ) -> Result<Self, String> {
        let streams = ClientStreams {
            arrivals: s.get("arrivals"),
            think: s.get("think"),
            mix: s.get("mix"),
            retry: s.get("retry"),
        };
        Client::new(id, cfg, streams, warmup)
    }
}
