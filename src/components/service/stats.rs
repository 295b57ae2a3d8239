//! What a service observes: counters, time averages, moments, its time series and metrics.

use super::*;

/// Per-node observations, after warm-up.
pub struct ServiceStats {
    pub arrivals: u64,
    pub rejected: u64,
    /// Refused by a rate limit.
    pub limited: u64,
    /// Connections taken from call pools, the time spent waiting for them, and waits that
    /// hit the acquire timeout.
    pub pool_acquires: u64,
    pub pool_wait_sum: u128,
    pub pool_timeouts: u64,
    /// Delayed by a rate limit, and for how long in all.
    pub paced: u64,
    pub pace_sum: u128,
    /// Refused by a replica's concurrency limit.
    pub concurrency_limited: u64,
    /// The sum of the concurrency limits of replicas that hold one (serving or draining),
    /// and how many do.
    pub limits: TimeWeighted,
    pub limit_holders: TimeWeighted,
    /// Queued requests dropped to protect the rest: CoDel, priority shedding, drop-oldest.
    pub shed: u64,
    pub dropped: u64,
    pub failed: u64,
    pub degraded: u64,
    pub completions: u64,
    pub wait_sum: u128,
    pub waits: u64,
    /// Waits in the queue (zero for a request a free worker took at once), for P(wait > 0)
    /// and the wait's percentiles.
    pub wait: crate::metrics::Histogram,
    pub sojourn_sum: u128,
    pub sojourns: u64,
    /// The moments of a worker's holding time (start to reply) and of the gaps between
    /// arrivals: what queueing formulas take as their inputs.
    pub service: Moments,
    pub gaps: Moments,
    pub(super) last_arrival: Option<Nanos>,
    pub busy: TimeWeighted,
    pub queued: TimeWeighted,
    pub in_system: TimeWeighted,
    pub workers: TimeWeighted,
    /// Replicas serving (ready and up), starting, and desired.
    pub replicas: TimeWeighted,
    pub starting: TimeWeighted,
    pub desired: TimeWeighted,
    /// The price per hour (in millionths) of every billed replica.
    pub billed: TimeWeighted,
    /// Changes of the desired count, by the autoscaler or scaling actions.
    pub scale_events: u64,
    /// Function-style: instances started on demand, requests throttled at the cap, and
    /// invocations (from time zero, for pricing after warm-up see `invocations`).
    pub cold_starts: u64,
    pub throttled: u64,
    /// Of those, throttled by the scaling rate (under the cap).
    pub scaling_throttled: u64,
    pub invocations: u64,
    /// Changes of machine size after warm-up (timeline or vertical autoscaler).
    pub resizes: u64,
    /// Optional steps skipped by the dimmer.
    pub optional_skipped: u64,
    /// The lowest and highest desired count over the whole run.
    pub desired_range: (u32, u32),
    /// Replica-time spent at each occupancy level, after warm-up.
    pub level_time: [u128; LEVELS],
    pub(super) warmup: Nanos,
    /// Arrivals from time zero, warm-up included (for time series).
    pub arrivals_total: u64,
}

/// A service's time series: one row per bucket, closed at each tick.
pub struct ServiceSeries {
    last_at: Nanos,
    /// Areas (from time zero) of: queued, in system, busy, workers, replicas, starting,
    /// desired, billed.
    last_areas: [i128; 8],
    last_arrivals: u64,
    pub rows: Vec<[f64; SERIES_WIDTH]>,
}

pub const SERIES_WIDTH: usize = 8;

/// Column names of a service's time series, in row order.
pub const SERIES_COLUMNS: [&str; SERIES_WIDTH] = [
    "arrivals_rps",
    "queue_len",
    "in_system",
    "utilization",
    "replicas",
    "replicas_starting",
    "replicas_desired",
    "cost_per_hour",
];

impl ServiceStats {
    /// An arrival at `now`; true if it counts (at or after the warm-up).
    #[inline]
    pub(super) fn arrival(&mut self, now: Nanos) -> bool {
        self.arrivals_total += 1;
        let counted = now >= self.warmup;
        if counted {
            self.arrivals += 1;
            if let Some(last) = self.last_arrival {
                self.gaps.add(now - last);
            }
        }
        self.last_arrival = Some(now);
        counted
    }

    /// A counted request took a worker after waiting `wait`.
    #[inline]
    pub(super) fn started(&mut self, wait: Nanos) {
        self.wait_sum += wait as u128;
        self.waits += 1;
        self.wait.record(wait);
    }

    /// A counted request's job ended at `now` with `outcome`: in the node since `entered`,
    /// on a worker since `started`.
    #[inline]
    pub(super) fn completed(&mut self, now: Nanos, entered: Nanos, started: Nanos, outcome: Outcome) {
        self.sojourn_sum += (now - entered) as u128;
        self.sojourns += 1;
        self.service.add(now - started);
        self.completions += 1;
        if outcome == Outcome::Error {
            self.failed += 1;
        }
    }
}

impl Service {
    /// Starts recording a time series.
    pub fn record_series(&mut self) {
        self.series = Some(ServiceSeries {
            last_at: 0,
            last_areas: [0; SERIES_WIDTH],
            last_arrivals: 0,
            rows: Vec::new(),
        });
    }

    /// Closes the time bucket that ends at `at`.
    pub fn tick(&mut self, at: Nanos) {
        let s = &self.stats;
        let areas = [
            s.queued.total_area(at),
            s.in_system.total_area(at),
            s.busy.total_area(at),
            s.workers.total_area(at),
            s.replicas.total_area(at),
            s.starting.total_area(at),
            s.desired.total_area(at),
            s.billed.total_area(at),
        ];
        let arrivals = s.arrivals_total;
        let Some(series) = &mut self.series else {
            return;
        };
        let width = (at - series.last_at) as f64;
        if width > 0.0 {
            let d = |i: usize| (areas[i] - series.last_areas[i]) as f64;
            series.rows.push([
                (arrivals - series.last_arrivals) as f64 / (width / 1e9),
                d(0) / width,
                d(1) / width,
                if d(3) > 0.0 { d(2) / d(3) } else { f64::NAN },
                d(4) / width,
                d(5) / width,
                d(6) / width,
                match self.cfg.function {
                    None => d(7) / width / 1e6,
                    Some(_) => d(2) / width * self.cfg.cost_per_hour,
                },
            ]);
        }
        series.last_at = at;
        series.last_areas = areas;
        series.last_arrivals = arrivals;
    }

    /// This service's node metrics over the measured window.
    pub fn node_metrics(&self, window_s: f64, end: Nanos) -> Vec<(String, f64)> {
        let s = &self.stats;
        let mean = |sum: u128, n: u64| {
            if n > 0 {
                sum as f64 / n as f64 / 1e9
            } else {
                f64::NAN
            }
        };
        let busy = s.busy.area(end);
        let capacity = s.workers.area(end);
        let m: Vec<(&str, f64)> = vec![
            ("arrivals", s.arrivals as f64),
            ("rejected", s.rejected as f64),
            ("throughput_rps", s.completions as f64 / window_s),
            ("wait_mean_s", mean(s.wait_sum, s.waits)),
            (
                "wait_probability",
                if s.waits > 0 {
                    1.0 - s.wait.zeros() as f64 / s.waits as f64
                } else {
                    f64::NAN
                },
            ),
            ("wait_p50_s", s.wait.quantile(0.5).map_or(f64::NAN, |v| v / 1e9)),
            ("wait_p99_s", s.wait.quantile(0.99).map_or(f64::NAN, |v| v / 1e9)),
            ("sojourn_mean_s", mean(s.sojourn_sum, s.sojourns)),
            ("service_mean_s", s.service.mean_s()),
            ("service_scv", s.service.scv()),
            ("arrival_scv", s.gaps.scv()),
            (
                "utilization",
                if capacity > 0.0 {
                    busy / capacity
                } else {
                    f64::NAN
                },
            ),
            ("queue_len_mean", s.queued.mean(end).unwrap_or(f64::NAN)),
            ("in_system_mean", s.in_system.mean(end).unwrap_or(f64::NAN)),
            ("replicas_mean", s.replicas.mean(end).unwrap_or(f64::NAN)),
            ("replicas_desired_min", s.desired_range.0 as f64),
            ("replicas_desired_max", s.desired_range.1 as f64),
            ("scale_events", s.scale_events as f64),
            ("resizes", s.resizes as f64),
            ("cost", self.cost(end)),
        ];
        let mut m: Vec<(String, f64)> = m.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
        if self.replicas.len() > 1 {
            // The fraction of replica-time with at least k requests (the supermarket model's
            // s_k), closing every replica's current level at the end of the run.
            let mut time = self.stats.level_time;
            for rep in self.replicas.iter().filter(|r| r.phase != Phase::Gone) {
                let from = rep.since.max(self.stats.warmup);
                if end > from {
                    time[(rep.n as usize).min(LEVELS - 1)] += (end - from) as u128;
                }
            }
            let total: u128 = time.iter().sum();
            for k in 1..LEVELS {
                let at_least: u128 = time[k..].iter().sum();
                let frac = if total > 0 {
                    at_least as f64 / total as f64
                } else {
                    f64::NAN
                };
                m.push((format!("replicas_with_ge_{k}"), frac));
            }
        }
        m.push(("failed".into(), s.failed as f64));
        m.push(("degraded".into(), s.degraded as f64));
        m.push(("dropped".into(), s.dropped as f64));
        m.push(("limited".into(), s.limited as f64));
        let mut limits =
            (self.cfg.limit.iter()).chain(self.cfg.class_limits.iter().map(|(_, l)| l));
        if limits.any(LimiterConfig::delays) {
            m.push(("paced".into(), s.paced as f64));
            m.push(("pace_mean_s".into(), mean(s.pace_sum, s.paced)));
        }
        m.push(("shed".into(), s.shed as f64));
        if self.cfg.concurrency_limit.is_some() {
            m.push(("concurrency_limited".into(), s.concurrency_limited as f64));
            let per_replica = match (s.limits.mean(end), s.limit_holders.mean(end)) {
                (Some(l), Some(h)) if h > 0.0 => l / h,
                _ => f64::NAN,
            };
            m.push(("concurrency_limit_mean".into(), per_replica));
        }
        if let Some(d) = &self.dimmer {
            m.push(("dimmer_mean".into(), d.mean(end)));
            m.push(("optional_skipped".into(), s.optional_skipped as f64));
        }
        if self.cfg.function.is_some() {
            m.push(("cold_starts".into(), s.cold_starts as f64));
            m.push(("throttled".into(), s.throttled as f64));
            m.push(("scaling_throttled".into(), s.scaling_throttled as f64));
        }
        if self.cfg.calls.iter().any(|c| c.pool.is_some()) {
            m.push((
                "pool_wait_mean_s".into(),
                mean(s.pool_wait_sum, s.pool_acquires),
            ));
            m.push(("pool_timeouts".into(), s.pool_timeouts as f64));
        }
        if let Some((c, _)) = &self.conns {
            m.extend(c.metrics());
        }
        if let Some(s) = &self.sessions {
            m.push(("sessions_started".into(), s.started as f64));
            m.push(("sessions_lost".into(), s.lost as f64));
        }
        m.push(("calls".into(), self.out.stats.attempts as f64));
        m.push(("call_retries".into(), self.out.stats.retries as f64));
        if let Some(full) = self.out.bulkhead_metric() {
            m.push(("bulkhead_full".into(), full));
        }
        if let Some((open, refused)) = self.out.breaker_metrics(end) {
            m.push(("open_fraction".into(), open));
            m.push(("not_permitted".into(), refused));
        }
        m
    }
}

impl ServiceStats {
    /// The counters of a service starting with its initial replicas of `size`.
    pub(super) fn new(cfg: &ServiceConfig, size: Size, warmup: Nanos) -> Self {
        let tw = || TimeWeighted::new(warmup);
        let mut stats = ServiceStats {
            arrivals: 0,
            rejected: 0,
            limited: 0,
            paced: 0,
            pace_sum: 0,
            pool_acquires: 0,
            pool_wait_sum: 0,
            pool_timeouts: 0,
            concurrency_limited: 0,
            limits: tw(),
            limit_holders: tw(),
            shed: 0,
            dropped: 0,
            failed: 0,
            degraded: 0,
            completions: 0,
            wait_sum: 0,
            waits: 0,
            wait: crate::metrics::Histogram::new(),
            sojourn_sum: 0,
            sojourns: 0,
            service: Moments::default(),
            gaps: Moments::default(),
            last_arrival: None,
            busy: tw(),
            queued: tw(),
            in_system: tw(),
            workers: tw(),
            replicas: tw(),
            starting: tw(),
            desired: tw(),
            billed: tw(),
            scale_events: 0,
            cold_starts: 0,
            resizes: 0,
            optional_skipped: 0,
            throttled: 0,
            scaling_throttled: 0,
            invocations: 0,
            desired_range: (cfg.replicas, cfg.replicas),
            level_time: [0; LEVELS],
            warmup,
            arrivals_total: 0,
        };
        stats.workers.set(0, (cfg.replicas * cfg.workers) as i64);
        stats.replicas.set(0, cfg.replicas as i64);
        if let Some(l) = cfg.concurrency_limit {
            let initial = ConcurrencyLimit::new(l).limit() as i64;
            stats.limits.set(0, cfg.replicas as i64 * initial);
            stats.limit_holders.set(0, cfg.replicas as i64);
        }
        stats.desired.set(0, cfg.replicas as i64);
        stats
            .billed
            .set(0, cfg.replicas as i64 * micro(size.cost_per_hour));
        stats
    }
}
