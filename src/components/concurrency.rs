//! Adaptive concurrency limits: how many requests a replica lets in at once, learned from
//! the response times and failures it sees, as Netflix's concurrency-limits library does.
//!
//! Each replica has its own limit (a server-side limiter in each instance). An arrival is
//! refused (503) when the replica already holds `limit` requests, queued or in service.
//! Each answered request is a sample: its time in the replica (the RTT), the requests held
//! when it was let in, and whether it failed. Requests shed from the queue are not samples,
//! as the library ignores calls that never ran.

use crate::engine::Nanos;

/// How the limit is found; defaults are the library's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LimitAlgorithm {
    /// A constant limit.
    Fixed(u32),
    /// Additive increase (+1 per sample while at least half the limit is in use),
    /// multiplicative decrease (× `backoff` on a failure or a sample slower than `timeout`).
    Aimd {
        initial: u32,
        min: u32,
        max: u32,
        backoff: f64,
        timeout: Nanos,
    },
    /// Gradient2: compares each sample with a long exponential average of RTTs; grows by
    /// `queue_size` while latency stays within `tolerance` × the average, shrinks in
    /// proportion when it rises, smoothed.
    Gradient2 {
        initial: u32,
        min: u32,
        max: u32,
        smoothing: f64,
        queue_size: u32,
        tolerance: f64,
        long_window: u32,
    },
    /// TCP Vegas (the library's `VegasLimit`): the queue is estimated as
    /// `limit × (1 − rtt_noload / rtt)`; with at most log10(limit) queued the limit grows by
    /// 6·log10, below 3·log10 by log10, above 6·log10 it shrinks by log10 (log10 at least 1);
    /// a drop shrinks it. The no-load RTT is the lowest seen, probed afresh every
    /// 15–30 × limit samples.
    Vegas {
        initial: u32,
        max: u32,
        smoothing: f64,
        probe_multiplier: u32,
    },
    /// Envoy's adaptive concurrency filter (gradient controller): every `update_interval`
    /// the `percentile` of that window's RTTs (sampleRTT) gives
    /// `gradient = clamp((minRTT × (1 + buffer)) / sampleRTT, 0.5, 2)` and
    /// `limit = gradient × limit + √(gradient × limit)`, within `[min_concurrency, max]`.
    /// The minRTT is measured with the limit pinned to `min_concurrency` until
    /// `request_count` requests have answered: at the start, every `min_rtt_interval` (plus
    /// up to `jitter`), and after 5 windows in a row at the minimum.
    EnvoyGradient {
        update_interval: Nanos,
        percentile: f64,
        max: u32,
        min_rtt_interval: Nanos,
        request_count: u32,
        jitter: f64,
        min_concurrency: u32,
        buffer: f64,
    },
}

impl LimitAlgorithm {
    pub const AIMD_DEFAULT: LimitAlgorithm = LimitAlgorithm::Aimd {
        initial: 20,
        min: 20,
        max: 200,
        backoff: 0.9,
        timeout: 5_000_000_000,
    };
    pub const VEGAS_DEFAULT: LimitAlgorithm = LimitAlgorithm::Vegas {
        initial: 20,
        max: 1000,
        smoothing: 1.0,
        probe_multiplier: 30,
    };
    pub const GRADIENT2_DEFAULT: LimitAlgorithm = LimitAlgorithm::Gradient2 {
        initial: 20,
        min: 20,
        max: 200,
        smoothing: 0.2,
        queue_size: 4,
        tolerance: 1.5,
        long_window: 600,
    };

    fn initial(&self) -> u32 {
        match *self {
            LimitAlgorithm::Fixed(n) => n,
            LimitAlgorithm::Aimd { initial, .. }
            | LimitAlgorithm::Gradient2 { initial, .. }
            | LimitAlgorithm::Vegas { initial, .. } => initial,
            // Envoy starts by measuring the minRTT, at the minimum.
            LimitAlgorithm::EnvoyGradient {
                min_concurrency, ..
            } => min_concurrency,
        }
    }
}

/// Samples averaged plainly before the long RTT average turns exponential (the library's
/// warm-up window).
const LONG_RTT_WARMUP: u32 = 10;

/// One replica's limit.
#[derive(Clone, Debug)]
pub struct ConcurrencyLimit {
    algorithm: LimitAlgorithm,
    /// Gradient2 keeps the estimate as a real number; the limit is its integer part.
    estimate: f64,
    /// Gradient2's long RTT average (ns) and the samples in it so far.
    long_rtt: f64,
    samples: u32,
    /// Vegas: the no-load RTT (0: none yet), samples since the last probe, the probe's
    /// jitter in [0.5, 1), and the state of the generator that draws it.
    rtt_noload: Nanos,
    probe_count: u32,
    probe_jitter: f64,
    jitter_state: u64,
    /// Envoy's gradient controller: RTTs of the current window (or of the minRTT
    /// measurement), when the window started, whether the minRTT is being measured, the
    /// limit to restore after it, the next measurement, and windows in a row at the minimum.
    window: Vec<Nanos>,
    window_start: Nanos,
    measuring: bool,
    restore: f64,
    next_measure: Nanos,
    at_minimum: u32,
    min_rtt: Nanos,
}

/// The `p`-th percentile (0–100) of `xs`, nearest rank (reorders `xs`).
fn quantile(xs: &mut [Nanos], p: f64) -> Nanos {
    let k = ((p / 100.0 * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    *xs.select_nth_unstable(k).1
}

/// log10 of a limit as the library's `Log10RootFunction` has it: its integer part, at least 1.
fn log10(limit: u32) -> u32 {
    (limit.max(1) as f64).log10().floor().max(1.0) as u32
}

impl ConcurrencyLimit {
    pub fn new(algorithm: LimitAlgorithm) -> Self {
        ConcurrencyLimit {
            algorithm,
            estimate: algorithm.initial() as f64,
            long_rtt: 0.0,
            samples: 0,
            rtt_noload: 0,
            probe_count: 0,
            probe_jitter: 0.75,
            jitter_state: 0x853c_49e6_748f_ea9b,
            window: Vec::new(),
            window_start: 0,
            measuring: matches!(algorithm, LimitAlgorithm::EnvoyGradient { .. }),
            restore: algorithm.initial() as f64,
            next_measure: 0,
            at_minimum: 0,
            min_rtt: 0,
        }
    }

    /// Envoy's gradient controller, window by window as samples arrive (an empty window
    /// changes nothing in Envoy either).
    fn envoy(&mut self, now: Nanos, rtt: Nanos) {
        let LimitAlgorithm::EnvoyGradient {
            update_interval,
            percentile,
            max,
            min_rtt_interval,
            request_count,
            jitter,
            min_concurrency,
            buffer,
        } = self.algorithm
        else {
            unreachable!("the gradient controller's state")
        };
        let floor = min_concurrency as f64;
        if self.measuring {
            self.window.push(rtt);
            if self.window.len() < request_count as usize {
                return;
            }
            self.min_rtt = quantile(&mut self.window, percentile);
            self.window.clear();
            self.measuring = false;
            self.estimate = self.restore;
            self.window_start = now;
            let delay = self.next_jitter() * 2.0 - 1.0; // [0, 1)
            let extra = (min_rtt_interval as f64 * jitter / 100.0 * delay) as Nanos;
            self.next_measure = now.saturating_add(min_rtt_interval).saturating_add(extra);
            return;
        }
        if now >= self.next_measure {
            self.start_measuring(floor);
            self.window.push(rtt);
            return;
        }
        self.window.push(rtt);
        if now < self.window_start.saturating_add(update_interval) {
            return;
        }
        let sample = quantile(&mut self.window, percentile).max(1) as f64;
        self.window.clear();
        self.window_start = now;
        let target = self.min_rtt as f64 * (1.0 + buffer / 100.0);
        let gradient = (target / sample).clamp(0.5, 2.0);
        let limit = self.estimate * gradient;
        self.estimate = (limit + limit.sqrt()).clamp(floor, max as f64);
        if self.estimate <= floor {
            self.at_minimum += 1;
            if self.at_minimum >= 5 {
                self.start_measuring(floor);
            }
        } else {
            self.at_minimum = 0;
        }
    }

    fn start_measuring(&mut self, floor: f64) {
        self.measuring = true;
        self.restore = self.estimate;
        self.estimate = floor;
        self.window.clear();
        self.at_minimum = 0;
    }

    /// The next probe jitter in [0.5, 1): SplitMix64, so every replica's sequence is fixed.
    fn next_jitter(&mut self) -> f64 {
        self.jitter_state = self.jitter_state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let z = super::balancer::mix(self.jitter_state);
        0.5 + 0.5 * (z >> 11) as f64 / (1u64 << 53) as f64
    }

    fn vegas(
        &mut self,
        rtt: Nanos,
        inflight: u32,
        failed: bool,
        max: u32,
        smoothing: f64,
        probe: u32,
    ) {
        let rtt = rtt.max(1);
        self.probe_count += 1;
        if self.probe_jitter * probe as f64 * self.estimate <= self.probe_count as f64 {
            self.probe_jitter = self.next_jitter();
            self.probe_count = 0;
            self.rtt_noload = rtt;
            return;
        }
        if self.rtt_noload == 0 || rtt < self.rtt_noload {
            self.rtt_noload = rtt;
            return;
        }
        let limit = self.estimate as u32;
        let queue = (self.estimate * (1.0 - self.rtt_noload as f64 / rtt as f64)).ceil() as u32;
        let step = log10(limit) as f64;
        let next = if failed {
            self.estimate - step
        } else if (inflight as f64) * 2.0 < self.estimate {
            return;
        } else if queue <= log10(limit) {
            self.estimate + 6.0 * step
        } else if queue < 3 * log10(limit) {
            self.estimate + step
        } else if queue > 6 * log10(limit) {
            self.estimate - step
        } else {
            return;
        };
        let next = next.clamp(1.0, max as f64);
        self.estimate = (1.0 - smoothing) * self.estimate + smoothing * next;
    }

    /// Requests let in at once.
    pub fn limit(&self) -> u32 {
        self.estimate as u32
    }

    /// Learns from a request answered at `now`: its time in the replica, the requests the
    /// replica held when it was let in (itself included), and whether it failed.
    pub fn sample(&mut self, now: Nanos, rtt: Nanos, inflight: u32, failed: bool) {
        match self.algorithm {
            LimitAlgorithm::Fixed(_) => {}
            LimitAlgorithm::Aimd {
                min,
                max,
                backoff,
                timeout,
                ..
            } => {
                let mut limit = self.limit();
                if failed || rtt > timeout {
                    limit = (limit as f64 * backoff) as u32;
                } else if inflight * 2 >= limit {
                    limit += 1;
                }
                self.estimate = limit.clamp(min, max) as f64;
            }
            LimitAlgorithm::Gradient2 {
                min,
                max,
                smoothing,
                queue_size,
                tolerance,
                long_window,
                ..
            } => {
                let short = rtt.max(1) as f64;
                if self.samples < LONG_RTT_WARMUP {
                    self.samples += 1;
                    self.long_rtt += (short - self.long_rtt) / self.samples as f64;
                } else {
                    let f = 2.0 / (long_window as f64 + 1.0);
                    self.long_rtt = self.long_rtt * (1.0 - f) + short * f;
                }
                let long = self.long_rtt;
                // After a long overload the average lags far behind: pull it down faster.
                if long / short > 2.0 {
                    self.long_rtt *= 0.95;
                }
                // Not using half the limit: nothing learned about the ceiling.
                if (inflight as f64) < self.estimate / 2.0 {
                    return;
                }
                let gradient = (tolerance * long / short).clamp(0.5, 1.0);
                let next = self.estimate * gradient + queue_size as f64;
                let next = self.estimate * (1.0 - smoothing) + next * smoothing;
                self.estimate = next.clamp(min as f64, max as f64);
            }
            LimitAlgorithm::Vegas {
                max,
                smoothing,
                probe_multiplier,
                ..
            } => self.vegas(rtt, inflight, failed, max, smoothing, probe_multiplier),
            LimitAlgorithm::EnvoyGradient { .. } => self.envoy(now, rtt),
        }
        debug_assert!(self.limit() >= 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    #[test]
    fn aimd_adds_one_while_busy_and_backs_off_on_failure_or_timeout() {
        let mut l = ConcurrencyLimit::new(LimitAlgorithm::Aimd {
            initial: 20,
            min: 1,
            max: 200,
            backoff: 0.9,
            timeout: 5_000 * MS,
        });
        // Less than half the limit in use: no change.
        l.sample(0, 10 * MS, 9, false);
        assert_eq!(l.limit(), 20);
        l.sample(0, 10 * MS, 10, false);
        assert_eq!(l.limit(), 21);
        // int(21 × 0.9) = 18.
        l.sample(0, 10 * MS, 21, true);
        assert_eq!(l.limit(), 18);
        // Slower than the timeout counts as a drop: int(18 × 0.9) = 16.
        l.sample(0, 6_000 * MS, 1, false);
        assert_eq!(l.limit(), 16);
    }

    #[test]
    fn vegas_grows_without_queueing_and_shrinks_when_rtt_doubles() {
        let mut l = ConcurrencyLimit::new(LimitAlgorithm::VEGAS_DEFAULT);
        // The first sample sets the no-load RTT.
        l.sample(0, 10 * MS, 20, false);
        assert_eq!((l.limit(), l.rtt_noload), (20, 10 * MS));
        // No queueing (queue 0 ≤ log10 20 = 1): + 6 × 1.
        l.sample(0, 10 * MS, 20, false);
        assert_eq!(l.limit(), 26);
        // Less than half the limit in use: nothing learned.
        l.sample(0, 10 * MS, 12, false);
        assert_eq!(l.limit(), 26);
        // RTT doubled: queue ⌈26 × 0.5⌉ = 13 > 6: − 1.
        l.sample(0, 20 * MS, 26, false);
        assert_eq!(l.limit(), 25);
        // A queue of ⌈25 × (1 − 10/11)⌉ = 3 is in [3, 6]: the sweet spot, no change.
        l.sample(0, 11 * MS, 25, false);
        assert_eq!(l.limit(), 25);
        // ⌈25 × (1 − 10/10.5)⌉ = 2 < 3: + 1.
        l.sample(0, 10_500_000, 25, false);
        assert_eq!(l.limit(), 26);
        // A drop: − 1.
        l.sample(0, 10 * MS, 26, true);
        assert_eq!(l.limit(), 25);
        // At 100 and above the steps are log10 = 2: + 12 without queueing.
        let mut l = ConcurrencyLimit::new(LimitAlgorithm::Vegas {
            initial: 100,
            max: 1000,
            smoothing: 1.0,
            probe_multiplier: 30,
        });
        l.sample(0, 10 * MS, 100, false);
        l.sample(0, 10 * MS, 100, false);
        assert_eq!(l.limit(), 112);
    }

    #[test]
    fn vegas_probes_the_no_load_rtt_again_after_some_samples() {
        let mut l = ConcurrencyLimit::new(LimitAlgorithm::Vegas {
            initial: 10,
            max: 10,
            smoothing: 1.0,
            probe_multiplier: 30,
        });
        l.sample(0, 10 * MS, 10, false);
        // At a steady 40 ms the queue estimate stays high, but within 15–30 × 10 samples the
        // probe takes 40 ms as the new no-load RTT.
        for _ in 0..300 {
            l.sample(0, 40 * MS, 10, false);
        }
        assert_eq!(l.rtt_noload, 40 * MS);
    }

    fn envoy() -> ConcurrencyLimit {
        ConcurrencyLimit::new(LimitAlgorithm::EnvoyGradient {
            update_interval: 100 * MS,
            percentile: 50.0,
            max: 1000,
            min_rtt_interval: 60_000 * MS,
            request_count: 50,
            jitter: 10.0,
            min_concurrency: 3,
            buffer: 25.0,
        })
    }

    #[test]
    fn envoy_measures_the_min_rtt_at_the_minimum_then_follows_the_gradient() {
        let mut l = envoy();
        // Pinned at 3 until 50 requests answered: their median is the minRTT.
        for i in 0..50 {
            assert_eq!(l.limit(), 3);
            l.sample(i * MS, (10 + i % 3) * MS, 1, false);
        }
        assert_eq!(l.min_rtt, 11 * MS);
        // At the minRTT the gradient is 1.25: 3 → 3.75 + √3.75 = 5.69.
        l.sample(50 * MS, 11 * MS, 3, false);
        l.sample(160 * MS, 11 * MS, 3, false);
        assert!(
            (l.estimate - (3.75 + 3.75f64.sqrt())).abs() < 1e-9,
            "{}",
            l.estimate
        );
        // Latency four times the minRTT: the gradient floors at 0.5.
        let before = l.estimate;
        l.sample(270 * MS, 44 * MS, 5, false);
        let half = before * 0.5;
        assert!((l.estimate - (half + half.sqrt()).max(3.0)).abs() < 1e-9);
    }

    #[test]
    fn envoy_measures_again_after_its_interval_and_after_five_windows_at_the_minimum() {
        let mut l = envoy();
        for i in 0..50 {
            l.sample(i * MS, 10 * MS, 1, false);
        }
        let next = l.next_measure;
        assert!(
            (60_000 * MS..66_000 * MS).contains(&next),
            "jitter within 10%: {next}"
        );
        // Grow for a while, then the interval passes: pinned at 3 again.
        for k in 1..100 {
            l.sample(50 * MS + k * 110 * MS, 10 * MS, l.limit(), false);
        }
        assert!(l.limit() > 100);
        l.sample(next, 10 * MS, 3, false);
        assert_eq!(l.limit(), 3);
        assert!(l.measuring);
        // Finished, the limit is back where it was.
        for i in 1..50 {
            l.sample(next + i * MS, 10 * MS, 1, false);
        }
        assert!(l.limit() > 100);
        // Latency stuck far above the minRTT drives it to the minimum; five windows there
        // start a new measurement.
        let mut t = next + 100 * MS;
        while !l.measuring {
            t += 110 * MS;
            l.sample(t, 100 * MS, 3, false);
        }
        assert_eq!(l.limit(), 3);
    }

    #[test]
    fn aimd_stays_within_min_and_max() {
        let mut l = ConcurrencyLimit::new(LimitAlgorithm::AIMD_DEFAULT);
        l.sample(0, MS, 20, true);
        assert_eq!(l.limit(), 20);
        for _ in 0..1000 {
            l.sample(0, MS, 200, false);
        }
        assert_eq!(l.limit(), 200);
    }

    #[test]
    fn gradient2_grows_at_steady_latency_and_shrinks_when_it_doubles() {
        let mut l = ConcurrencyLimit::new(LimitAlgorithm::GRADIENT2_DEFAULT);
        // Constant RTT: gradient min(1, 1.5) = 1, so L ← 0.8 L + 0.2 (L + 4) = L + 0.8.
        for _ in 0..10 {
            l.sample(0, 10 * MS, 20, false);
        }
        assert!((l.estimate - 28.0).abs() < 1e-9, "{}", l.estimate);
        // Half the limit not in use: held.
        l.sample(0, 10 * MS, 13, false);
        assert!((l.estimate - 28.0).abs() < 1e-9);
        // An RTT of 3× the long average: gradient max(0.5, 1.5 / 3 ≈ 0.5) — the average
        // moves a little first: long = 10 + (30 − 10) × 2/601.
        l.sample(0, 30 * MS, 28, false);
        let long = 10.0 + 20.0 * 2.0 / 601.0;
        let g = (1.5 * long / 30.0f64).clamp(0.5, 1.0);
        let want = 28.0 * 0.8 + (28.0 * g + 4.0) * 0.2;
        assert!((l.estimate - want).abs() < 1e-9, "{} vs {want}", l.estimate);
        assert!(l.estimate < 28.0);
    }

    #[test]
    fn gradient2_settles_at_the_minimum_under_persistent_queueing() {
        // Every sample at 8× the unloaded RTT: the long average creeps up (to ~23 ms after
        // 60 samples) but the gradient stays at its floor of 0.5, so the limit converges
        // geometrically (× 0.9 per sample) to the fixed point.
        let mut l = ConcurrencyLimit::new(LimitAlgorithm::Gradient2 {
            initial: 100,
            min: 5,
            max: 200,
            smoothing: 0.2,
            queue_size: 4,
            tolerance: 1.5,
            long_window: 600,
        });
        for _ in 0..10 {
            l.sample(0, 10 * MS, 100, false);
        }
        for _ in 0..60 {
            l.sample(0, 80 * MS, 100, false);
        }
        // Fixed point of L = 0.8 L + 0.2 (0.5 L + 4): L = 8.
        assert!((l.estimate - 8.0).abs() < 0.5, "{}", l.estimate);
    }
}
