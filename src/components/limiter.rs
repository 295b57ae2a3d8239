//! Rate limiters (SEMANTICS.md §A5): token bucket (Envoy), leaky bucket (NGINX `limit_req`),
//! GCRA, fixed-window and sliding-window counters (Cloudflare's estimate).
//!
//! Token and excess counts are kept in exact integers (a token is 10^12 units, rates in
//! thousandths of a request per second), so "burst + rate × t over any interval" holds to the
//! request, with no floating-point drift.

use crate::engine::Nanos;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LimiterConfig {
    /// Starts full with `burst` tokens, refills `rate` per second; a request takes one.
    TokenBucket { rate: f64, burst: u32 },
    /// NGINX `limit_req`: excess E drains at `rate`; a request is refused if E + 1 would
    /// exceed `burst`.
    LeakyBucket { rate: f64, burst: u32 },
    /// The generic cell rate algorithm with emission interval 1/`rate` and tolerance
    /// `burst` intervals.
    Gcra { rate: f64, burst: u32 },
    /// At most `limit` requests in each window [k·W, (k+1)·W).
    FixedWindow { limit: u32, window: Nanos },
    /// Cloudflare's sliding counter: previous window's count weighted by its overlap, plus
    /// this window's count, must stay below `limit`.
    SlidingWindow { limit: u32, window: Nanos },
}

const UNIT: u128 = 1_000_000_000_000; // one token
/// Credit gained per nanosecond at a rate given in thousandths per second: Δt·r_milli units
/// = Δt[ns]·r[1/s]·10^-9 tokens · 10^12 units/token / 10^3 (milli) — exactly Δt·r_milli.
fn milli(rate: f64) -> u128 {
    (rate * 1000.0).round() as u128
}

#[derive(Clone, Debug)]
pub struct Limiter {
    cfg: LimiterConfig,
    /// Token bucket: credit in units; leaky bucket: excess in units; GCRA: theoretical
    /// arrival time in ns; windows: counts.
    level: u128,
    last: Nanos,
    window_start: Nanos,
    prev_count: u32,
    count: u32,
    started: bool,
}

impl Limiter {
    pub fn new(cfg: LimiterConfig) -> Self {
        let level = match cfg {
            LimiterConfig::TokenBucket { burst, .. } => burst as u128 * UNIT,
            _ => 0,
        };
        Limiter {
            cfg,
            level,
            last: 0,
            window_start: 0,
            prev_count: 0,
            count: 0,
            started: false,
        }
    }

    /// Whether a request arriving at `now` is admitted (and counted).
    pub fn admit(&mut self, now: Nanos) -> bool {
        let dt = now.saturating_sub(self.last) as u128;
        match self.cfg {
            LimiterConfig::TokenBucket { rate, burst } => {
                let cap = burst as u128 * UNIT;
                self.level = (self.level + dt * milli(rate)).min(cap);
                self.last = now;
                if self.level >= UNIT {
                    self.level -= UNIT;
                    true
                } else {
                    false
                }
            }
            LimiterConfig::LeakyBucket { rate, burst } => {
                // E' = max(0, E − r·Δt + 1); refused iff E' > burst, and a refusal changes
                // nothing. A key never seen starts with E' = 0.
                let excess = if self.started {
                    (self.level + UNIT).saturating_sub(dt * milli(rate))
                } else {
                    0
                };
                if excess > burst as u128 * UNIT {
                    return false;
                }
                self.started = true;
                self.level = excess;
                self.last = now;
                true
            }
            LimiterConfig::Gcra { rate, burst } => {
                let t_ns = (1e9 / rate).round() as u128;
                let tau = burst as u128 * t_ns;
                let now = now as u128;
                let tat = if self.started { self.level } else { now };
                if now + tau < tat {
                    return false;
                }
                self.started = true;
                self.level = tat.max(now) + t_ns;
                true
            }
            LimiterConfig::FixedWindow { limit, window } => {
                let start = now / window * window;
                if start != self.window_start || !self.started {
                    self.window_start = start;
                    self.count = 0;
                    self.started = true;
                }
                if self.count < limit {
                    self.count += 1;
                    true
                } else {
                    false
                }
            }
            LimiterConfig::SlidingWindow { limit, window } => {
                let start = now / window * window;
                if !self.started {
                    self.window_start = start;
                    self.started = true;
                }
                if start != self.window_start {
                    self.prev_count = if start == self.window_start + window {
                        self.count
                    } else {
                        0
                    };
                    self.count = 0;
                    self.window_start = start;
                }
                let elapsed = (now - start) as f64 / window as f64;
                let estimate = self.prev_count as f64 * (1.0 - elapsed) + self.count as f64;
                if estimate < limit as f64 {
                    self.count += 1;
                    true
                } else {
                    false
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;
    const S: Nanos = 1_000_000_000;

    /// Offers a request every `gap` from `from` to `to` and counts admissions.
    fn admitted(l: &mut Limiter, from: Nanos, to: Nanos, gap: Nanos) -> u64 {
        let mut n = 0;
        let mut t = from;
        while t < to {
            n += l.admit(t) as u64;
            t += gap;
        }
        n
    }

    #[test]
    fn a_token_bucket_admits_burst_plus_rate_times_t() {
        for (rate, burst, secs) in [(10.0, 5, 7), (2.5, 1, 4), (100.0, 20, 3)] {
            let mut l = Limiter::new(LimiterConfig::TokenBucket { rate, burst });
            // Saturating demand (every millisecond) over [0, t]: burst + ⌊rate·t⌋.
            let n = admitted(&mut l, 0, secs * S + 1, MS);
            assert_eq!(
                n,
                burst as u64 + (rate * secs as f64) as u64,
                "rate {rate} burst {burst}"
            );
        }
        // And over a later interval, once drained: exactly rate × t.
        let mut l = Limiter::new(LimiterConfig::TokenBucket {
            rate: 10.0,
            burst: 5,
        });
        admitted(&mut l, 0, 10 * S, MS);
        assert_eq!(admitted(&mut l, 10 * S, 20 * S, MS), 100);
    }

    #[test]
    fn nginx_leaky_bucket() {
        // burst 0 at 10 r/s: requests less than 100 ms apart are refused.
        let mut l = Limiter::new(LimiterConfig::LeakyBucket {
            rate: 10.0,
            burst: 0,
        });
        assert!(l.admit(0));
        assert!(!l.admit(50 * MS));
        assert!(l.admit(100 * MS), "the refusal changed nothing");
        // burst 2: three back-to-back, then a fourth refused.
        let mut l = Limiter::new(LimiterConfig::LeakyBucket {
            rate: 10.0,
            burst: 2,
        });
        assert!(l.admit(S) && l.admit(S) && l.admit(S));
        assert!(!l.admit(S));
        assert!(l.admit(S + 100 * MS), "one request drained in 100 ms");
    }

    #[test]
    fn gcra_matches_the_leaky_bucket() {
        let mut g = Limiter::new(LimiterConfig::Gcra {
            rate: 10.0,
            burst: 2,
        });
        let mut l = Limiter::new(LimiterConfig::LeakyBucket {
            rate: 10.0,
            burst: 2,
        });
        for i in 0..500u64 {
            let t = i * 37 * MS / 2;
            assert_eq!(g.admit(t), l.admit(t), "request {i} at {t}");
        }
    }

    #[test]
    fn fixed_and_sliding_windows() {
        let mut f = Limiter::new(LimiterConfig::FixedWindow {
            limit: 3,
            window: S,
        });
        assert_eq!(admitted(&mut f, 0, S, 100 * MS), 3);
        assert_eq!(
            admitted(&mut f, S, 2 * S, 100 * MS),
            3,
            "a new window, a new count"
        );
        // Sliding: right after a full window the previous count still weighs nearly fully.
        let mut s = Limiter::new(LimiterConfig::SlidingWindow {
            limit: 10,
            window: S,
        });
        assert_eq!(admitted(&mut s, 0, S, 50 * MS), 10);
        assert!(s.admit(S + MS), "estimate 10 × 0.999 + 0 = 9.99 < 10");
        assert!(!s.admit(S + 2 * MS), "estimate 10 × 0.998 + 1 = 10.98");
        assert!(s.admit(S + 500 * MS), "estimate 10 × 0.5 + 1 = 6");
    }
}
