//! Retry policies: how many attempts, how long to wait between them, and what limits retries
//! as a whole (Envoy-style retry budgets, AWS-SDK-style token-bucket quotas).
//!
//! The formulas follow the references in SEMANTICS.md §A4: AWS backoff and jitter
//! (`expo = min(cap, base·2^n)`, n = 1 at the first failure), Envoy's retry budget
//! (`max(min_concurrency, percent × active requests)` concurrent retries), and botocore's
//! standard retry quota (a bucket of 500 that retries drain and successes refill).

use crate::engine::{Nanos, Stream};
use rand::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Jitter {
    /// Wait exactly the exponential delay.
    None,
    /// U(0, expo).
    Full,
    /// expo/2 + U(0, expo/2).
    Equal,
    /// min(cap, U(base, 3 × previous sleep)), the previous sleep starting at base.
    Decorrelated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    Fixed(Nanos),
    Exponential {
        base: Nanos,
        cap: Nanos,
        jitter: Jitter,
    },
}

/// Which failures are worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryOn {
    pub timeout: bool,
    pub error: bool,
    pub rejected: bool,
}

/// Concurrent retries allowed: at most `percent`% of active requests, but always at least
/// `min_concurrency` (Envoy's `retry_budget`). Envoy checks it before every retry, not only a
/// call's first: a call already retrying holds one retry and releases it to be checked
/// again, so a budget that shrinks as traffic falls stops retries already under way.
/// (Finagle's `RetryBudget` is another design: a token bucket refilled by a percentage of
/// requests over a time-to-live, with a minimum of retries per second.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Budget {
    pub percent: f64,
    pub min_concurrency: u32,
}

impl Budget {
    /// Whether one more retry may start, with `active_requests` calls in flight (first
    /// attempts and retries) and `active_retries` of them retries.
    pub fn admits(&self, active_requests: u32, active_retries: u32) -> bool {
        let allowed =
            (self.percent / 100.0 * active_requests as f64).max(self.min_concurrency as f64);
        (active_retries as f64) < allowed
    }

    /// Whether a call may retry (again): checked on every retry, as Envoy does, with the
    /// call's own retry released first when it is already retrying.
    pub fn admits_retry(&self, active_requests: u32, active_retries: u32, retrying: bool) -> bool {
        self.admits(active_requests, active_retries - u32::from(retrying))
    }
}

/// A token-bucket retry quota, as in the AWS SDKs' standard mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Bucket size; the bucket starts full.
    pub capacity: u32,
    /// Tokens a retry after an error or rejection takes.
    pub retry_cost: u32,
    /// Tokens a retry after a timeout takes.
    pub timeout_cost: u32,
    /// Tokens a success adds when it needed no retry.
    pub success_refill: u32,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        QuotaConfig {
            capacity: 500,
            retry_cost: 5,
            timeout_cost: 10,
            success_refill: 1,
        }
    }
}

/// The state of a retry quota.
#[derive(Clone, Debug)]
pub struct Quota {
    cfg: QuotaConfig,
    tokens: u32,
}

impl Quota {
    pub fn new(cfg: QuotaConfig) -> Self {
        Quota {
            cfg,
            tokens: cfg.capacity,
        }
    }

    pub fn tokens(&self) -> u32 {
        self.tokens
    }

    /// Takes the cost of one retry; `None` (and nothing taken) if the bucket cannot pay.
    pub fn acquire(&mut self, after_timeout: bool) -> Option<u32> {
        let cost = if after_timeout {
            self.cfg.timeout_cost
        } else {
            self.cfg.retry_cost
        };
        if self.tokens < cost {
            return None;
        }
        self.tokens -= cost;
        Some(cost)
    }

    /// A call succeeded: refund what its last retry took, or add the refill if it needed none.
    pub fn success(&mut self, last_acquired: Option<u32>) {
        let add = last_acquired.unwrap_or(self.cfg.success_refill);
        self.tokens = (self.tokens + add).min(self.cfg.capacity);
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub backoff: Backoff,
    pub on: RetryOn,
    pub budget: Option<Budget>,
    pub quota: Option<QuotaConfig>,
}

impl Backoff {
    /// The wait before the next attempt after the `n`-th failure (n ≥ 1). `prev` is the
    /// previous sleep, for decorrelated jitter (start it at 0; it is updated).
    pub fn delay(&self, n: u32, prev: &mut Nanos, rng: &mut Stream) -> Nanos {
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Exponential { base, cap, jitter } => {
                let expo = exponential(base, cap, n);
                let sleep = match jitter {
                    Jitter::None => expo,
                    Jitter::Full => uniform(rng, 0, expo),
                    Jitter::Equal => expo / 2 + uniform(rng, 0, expo / 2),
                    Jitter::Decorrelated => {
                        let last = if *prev == 0 { base } else { *prev };
                        let hi = last.saturating_mul(3);
                        cap.min(uniform(rng, base, hi))
                    }
                };
                *prev = sleep;
                sleep
            }
        }
    }
}

/// min(cap, base · 2^n), without overflow.
pub fn exponential(base: Nanos, cap: Nanos, n: u32) -> Nanos {
    let factor = 1u64.checked_shl(n).unwrap_or(u64::MAX);
    base.saturating_mul(factor).min(cap)
}

/// A uniform draw in [lo, hi], in whole nanoseconds.
pub fn uniform(rng: &mut Stream, lo: Nanos, hi: Nanos) -> Nanos {
    if hi <= lo {
        return lo;
    }
    lo + (rng.random::<f64>() * (hi - lo) as f64) as Nanos
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;

    const MS: Nanos = 1_000_000;

    fn rng() -> Stream {
        derive_stream(1, 0, "retry", "test")
    }

    #[test]
    fn exponential_doubles_from_the_first_failure_and_caps() {
        assert_eq!(exponential(50 * MS, 5_000 * MS, 1), 100 * MS);
        assert_eq!(exponential(50 * MS, 5_000 * MS, 3), 400 * MS);
        assert_eq!(exponential(50 * MS, 5_000 * MS, 7), 5_000 * MS);
        assert_eq!(
            exponential(50 * MS, 5_000 * MS, 200),
            5_000 * MS,
            "no overflow"
        );
    }

    #[test]
    fn jitter_formulas_match_sampled_values() {
        let (base, cap) = (50 * MS, 2_000 * MS);
        for n in 1..8 {
            let expo = exponential(base, cap, n);
            for jitter in [Jitter::None, Jitter::Full, Jitter::Equal] {
                let b = Backoff::Exponential { base, cap, jitter };
                let mut r = rng();
                let mut shadow = r.clone();
                let got = b.delay(n, &mut 0, &mut r);
                let u: f64 = shadow.random();
                let want = match jitter {
                    Jitter::None => expo,
                    Jitter::Full => (u * expo as f64) as Nanos,
                    Jitter::Equal => expo / 2 + (u * (expo / 2) as f64) as Nanos,
                    Jitter::Decorrelated => unreachable!(),
                };
                assert_eq!(got, want, "{jitter:?} n={n}");
                assert!(got <= expo);
            }
        }
        // Decorrelated: sleep = min(cap, U(base, 3 × prev)), prev starting at base.
        let b = Backoff::Exponential {
            base,
            cap,
            jitter: Jitter::Decorrelated,
        };
        let (mut r, mut shadow) = (rng(), rng());
        let (mut prev, mut want_prev) = (0, base);
        for n in 1..20 {
            let got = b.delay(n, &mut prev, &mut r);
            let u: f64 = shadow.random();
            let want = cap.min(base + (u * (3 * want_prev - base) as f64) as Nanos);
            assert_eq!(got, want, "step {n}");
            assert!(got >= base.min(cap) && got <= cap);
            want_prev = want;
        }
        assert_eq!(Backoff::Fixed(7 * MS).delay(3, &mut 0, &mut rng()), 7 * MS);
    }

    #[test]
    fn the_budget_is_checked_again_on_every_retry() {
        // Envoy's defaults: 20% of active requests, at least 3 retries.
        let b = Budget {
            percent: 20.0,
            min_concurrency: 3,
        };
        // 30 calls in flight, 6 retrying: a call already retrying keeps going, a new one
        // may not start.
        assert!(b.admits_retry(30, 6, true));
        assert!(!b.admits_retry(30, 6, false));
        // Traffic fell to 10 calls, 4 still retrying: allowed max(3, 2) = 3, so a call
        // retrying again is stopped (3 others hold the budget).
        assert!(!b.admits_retry(10, 4, true));
        assert!(b.admits_retry(10, 3, true));
    }

    #[test]
    fn budget_admits_a_percentage_with_a_floor() {
        let b = Budget {
            percent: 20.0,
            min_concurrency: 3,
        };
        // Few requests: the floor of 3 concurrent retries applies.
        assert!(b.admits(5, 2));
        assert!(!b.admits(5, 3));
        // 100 active requests: 20 concurrent retries.
        assert!(b.admits(100, 19));
        assert!(!b.admits(100, 20));
    }

    #[test]
    fn quota_arithmetic() {
        let mut q = Quota::new(QuotaConfig::default());
        assert_eq!(q.tokens(), 500);
        assert_eq!(q.acquire(false), Some(5));
        assert_eq!(q.acquire(true), Some(10));
        assert_eq!(q.tokens(), 485);
        // A success after a retry refunds that retry's cost; a first-try success adds 1.
        q.success(Some(10));
        assert_eq!(q.tokens(), 495);
        q.success(None);
        q.success(None);
        assert_eq!(q.tokens(), 497);
        q.success(Some(5));
        assert_eq!(q.tokens(), 500, "capped at capacity");
        // Drain: 50 timeout retries take all 500; the next is refused and takes nothing.
        for _ in 0..50 {
            assert!(q.acquire(true).is_some());
        }
        assert_eq!(q.acquire(false), None);
        assert_eq!(q.tokens(), 0);
    }
}
