//! Rate limiters (SEMANTICS.md §A5): token bucket (Envoy), leaky bucket (NGINX `limit_req`),
//! GCRA, fixed-window and sliding-window counters (Cloudflare's estimate).
//!
//! Token and excess counts are kept in exact integers (a token is 10^12 units, rates in
//! thousandths of a request per second), so "burst + rate × t over any interval" holds to the
//! request, with no floating-point drift.
//!
//! The bucket limiters can delay instead of refusing (`max_delay` above zero): a request that
//! does not conform now reserves the time it will, if that is within `max_delay` — Go's
//! `rate.Limiter.Reserve` for the token bucket (tokens go into debt), NGINX `limit_req`
//! without `nodelay` for the leaky bucket (wait excess / rate), and the scheduled time of
//! the GCRA.

use crate::engine::Nanos;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LimiterConfig {
    /// Starts full with `burst` tokens, refills `rate` per second; a request takes one.
    TokenBucket {
        rate: f64,
        burst: u32,
        max_delay: Nanos,
    },
    /// NGINX `limit_req`: excess E drains at `rate`; a request is refused if E + 1 would
    /// exceed `burst`. Delaying, the first `delay` of the excess pass at once and the rest
    /// wait (E − delay) / rate (`delay=N`, two-stage limiting; 0 without it).
    LeakyBucket {
        rate: f64,
        burst: u32,
        max_delay: Nanos,
        delay: u32,
    },
    /// The generic cell rate algorithm with emission interval 1/`rate` and tolerance
    /// `burst` intervals.
    Gcra {
        rate: f64,
        burst: u32,
        max_delay: Nanos,
    },
    /// At most `limit` requests in each window [k·W, (k+1)·W).
    FixedWindow { limit: u32, window: Nanos },
    /// Cloudflare's sliding counter: previous window's count weighted by its overlap, plus
    /// this window's count, must stay below `limit`.
    SlidingWindow { limit: u32, window: Nanos },
}

const UNIT: i128 = 1_000_000_000_000; // one token
/// Credit gained per nanosecond at a rate given in thousandths per second: Δt·r_milli units
/// = Δt[ns]·r[1/s]·10^-9 tokens · 10^12 units/token / 10^3 (milli) — exactly Δt·r_milli.
fn milli(rate: f64) -> i128 {
    // At least one: validation keeps rates at 0.001/s or more, and a wait divides by this.
    ((rate * 1000.0).round() as i128).max(1)
}

/// What a limiter says to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Admit,
    /// Admitted once this much time has passed.
    After(Nanos),
    Refuse,
}

#[derive(Clone, Debug)]
pub struct Limiter {
    cfg: LimiterConfig,
    /// Token bucket: credit in units (negative: reserved by delayed requests); leaky bucket:
    /// excess in units; GCRA: theoretical arrival time in ns; windows: counts.
    level: i128,
    last: Nanos,
    window_start: Nanos,
    prev_count: u32,
    count: u32,
    started: bool,
}

impl LimiterConfig {
    /// Whether it delays requests that do not conform yet, rather than refusing them.
    pub fn delays(&self) -> bool {
        match *self {
            LimiterConfig::TokenBucket { max_delay, .. }
            | LimiterConfig::LeakyBucket { max_delay, .. }
            | LimiterConfig::Gcra { max_delay, .. } => max_delay > 0,
            LimiterConfig::FixedWindow { .. } | LimiterConfig::SlidingWindow { .. } => false,
        }
    }
}

impl Limiter {
    pub fn new(cfg: LimiterConfig) -> Self {
        let level = match cfg {
            LimiterConfig::TokenBucket { burst, .. } => burst as i128 * UNIT,
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

    /// Whether a request arriving at `now` is admitted at once (and counted).
    pub fn admit(&mut self, now: Nanos) -> bool {
        self.decide(now) == Verdict::Admit
    }

    /// Admits, delays or refuses a request arriving at `now`; an admission or a delay
    /// counts it.
    pub fn decide(&mut self, now: Nanos) -> Verdict {
        let dt = now.saturating_sub(self.last) as i128;
        // A wait of `units` of missing credit at `rate`, in whole nanoseconds.
        let wait = |units: i128, rate: f64| {
            let r = milli(rate);
            ((units + r - 1) / r) as Nanos
        };
        let delay = |w: Nanos| {
            if w == 0 {
                Verdict::Admit
            } else {
                Verdict::After(w)
            }
        };
        match self.cfg {
            LimiterConfig::TokenBucket {
                rate,
                burst,
                max_delay,
            } => {
                let cap = burst as i128 * UNIT;
                self.level = (self.level + dt * milli(rate)).min(cap);
                self.last = now;
                if self.level >= UNIT {
                    self.level -= UNIT;
                    return Verdict::Admit;
                }
                let w = wait(UNIT - self.level, rate);
                if w > max_delay {
                    return Verdict::Refuse;
                }
                self.level -= UNIT;
                delay(w)
            }
            LimiterConfig::LeakyBucket {
                rate,
                burst,
                max_delay,
                delay: undelayed,
            } => {
                // E' = max(0, E − r·Δt + 1); refused iff E' > burst, and a refusal changes
                // nothing. A key never seen starts with E' = 0.
                let excess = if self.started {
                    (self.level + UNIT - dt * milli(rate)).max(0)
                } else {
                    0
                };
                if excess > burst as i128 * UNIT {
                    return Verdict::Refuse;
                }
                // Delaying (NGINX without `nodelay`): wait until the excess beyond `delay=`
                // has drained.
                let beyond = (excess - undelayed as i128 * UNIT).max(0);
                let w = if max_delay > 0 { wait(beyond, rate) } else { 0 };
                if w > max_delay {
                    return Verdict::Refuse;
                }
                self.started = true;
                self.level = excess;
                self.last = now;
                delay(w)
            }
            LimiterConfig::Gcra {
                rate,
                burst,
                max_delay,
            } => {
                let t_ns = (1e9 / rate).round() as i128;
                let tau = burst as i128 * t_ns;
                let now = now as i128;
                let tat = if self.started { self.level } else { now };
                // Conforms at tat − τ.
                let w = (tat - tau - now).max(0) as Nanos;
                if w > max_delay {
                    return Verdict::Refuse;
                }
                self.started = true;
                self.level = tat.max(now) + t_ns;
                delay(w)
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
                    Verdict::Admit
                } else {
                    Verdict::Refuse
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
                    Verdict::Admit
                } else {
                    Verdict::Refuse
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
            let mut l = Limiter::new(LimiterConfig::TokenBucket {
                rate,
                burst,
                max_delay: 0,
            });
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
            max_delay: 0,
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
            max_delay: 0,
            delay: 0,
        });
        assert!(l.admit(0));
        assert!(!l.admit(50 * MS));
        assert!(l.admit(100 * MS), "the refusal changed nothing");
        // burst 2: three back-to-back, then a fourth refused.
        let mut l = Limiter::new(LimiterConfig::LeakyBucket {
            rate: 10.0,
            burst: 2,
            max_delay: 0,
            delay: 0,
        });
        assert!(l.admit(S) && l.admit(S) && l.admit(S));
        assert!(!l.admit(S));
        assert!(l.admit(S + 100 * MS), "one request drained in 100 ms");
    }

    #[test]
    fn nginx_two_stage_limiting() {
        // NGINX's example, `burst=12 delay=8`, at 10 r/s: of 20 requests at once the first
        // and 8 of the excess pass at once, 4 more wait (excess − 8) / rate, 7 are refused.
        let mut l = Limiter::new(LimiterConfig::LeakyBucket {
            rate: 10.0,
            burst: 12,
            max_delay: Nanos::MAX,
            delay: 8,
        });
        let verdicts: Vec<Verdict> = (0..20).map(|_| l.decide(S)).collect();
        let at_once = verdicts.iter().filter(|v| **v == Verdict::Admit).count();
        assert_eq!(at_once, 9);
        let waits: Vec<Nanos> = verdicts
            .iter()
            .filter_map(|v| match v {
                Verdict::After(w) => Some(*w),
                _ => None,
            })
            .collect();
        assert_eq!(waits, vec![100 * MS, 200 * MS, 300 * MS, 400 * MS]);
        assert_eq!(
            verdicts.iter().filter(|v| **v == Verdict::Refuse).count(),
            7
        );
    }

    #[test]
    fn gcra_matches_the_leaky_bucket() {
        let mut g = Limiter::new(LimiterConfig::Gcra {
            rate: 10.0,
            burst: 2,
            max_delay: 0,
        });
        let mut l = Limiter::new(LimiterConfig::LeakyBucket {
            rate: 10.0,
            burst: 2,
            max_delay: 0,
            delay: 0,
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

    #[test]
    fn delaying_buckets_pace_what_they_would_refuse() {
        let burst_at_zero = |cfg: LimiterConfig, n: usize| {
            let mut l = Limiter::new(cfg);
            (0..n).map(|_| l.decide(0)).collect::<Vec<_>>()
        };
        use Verdict::*;
        // Token bucket, rate 10, burst 2, wait up to 1 s: two now, then one every 100 ms.
        let v = burst_at_zero(
            LimiterConfig::TokenBucket {
                rate: 10.0,
                burst: 2,
                max_delay: S,
            },
            14,
        );
        let mut want = vec![Admit, Admit];
        want.extend((1..=10).map(|k| After(k * 100 * MS)));
        want.extend([Refuse, Refuse]);
        assert_eq!(v, want);
        // NGINX `limit_req` burst=5 without nodelay: the first passes, the next five wait
        // 100..500 ms, the seventh is refused.
        let v = burst_at_zero(
            LimiterConfig::LeakyBucket {
                rate: 10.0,
                burst: 5,
                max_delay: 10 * S,
                delay: 0,
            },
            7,
        );
        let mut want = vec![Admit];
        want.extend((1..=5).map(|k| After(k * 100 * MS)));
        want.push(Refuse);
        assert_eq!(v, want);
    }

    #[test]
    fn a_delaying_gcra_is_a_delaying_token_bucket_one_larger() {
        // GCRA(T, τ = b·T) and a token bucket of capacity b + 1 conform the same requests,
        // and so reserve the same delays.
        let mut g = Limiter::new(LimiterConfig::Gcra {
            rate: 10.0,
            burst: 2,
            max_delay: 700 * MS,
        });
        let mut b = Limiter::new(LimiterConfig::TokenBucket {
            rate: 10.0,
            burst: 3,
            max_delay: 700 * MS,
        });
        let mut delayed = 0;
        for i in 0..2000u64 {
            // Bursts of arrivals 3 ms apart, with gaps, from a fixed pseudo-random walk.
            let t = i * 3 * MS + (i / 50) * 2 * S;
            let (x, y) = (g.decide(t), b.decide(t));
            assert_eq!(x, y, "request {i} at {t}");
            delayed += matches!(x, Verdict::After(_)) as u32;
        }
        assert!(delayed > 100, "{delayed}");
    }
}
