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
/// (Finagle's `RetryBudget` is another design, `RateBudget` below: a token bucket refilled
/// by a percentage of requests over a time-to-live, with a minimum of retries per second.)
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

/// gRPC's retry throttling (gRFC A6, `retryThrottling`): per channel a token count that
/// starts at `max_tokens`; each attempt failing with a retryable status takes one token,
/// each success returns `token_ratio`; a retry goes ahead only while the count, after its
/// failure is recorded, stays above half of `max_tokens`. In thousandths, as gRPC keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    pub max_milli: u32,
    pub ratio_milli: u32,
}

#[derive(Clone, Debug)]
pub struct Throttle {
    cfg: ThrottleConfig,
    milli: u32,
}

impl Throttle {
    pub fn new(cfg: ThrottleConfig) -> Self {
        Throttle {
            cfg,
            milli: cfg.max_milli,
        }
    }

    /// An attempt failed with a retryable status: whether a retry may follow.
    pub fn failure(&mut self) -> bool {
        self.milli = self.milli.saturating_sub(1000);
        self.milli > self.cfg.max_milli / 2
    }

    pub fn success(&mut self) {
        self.milli = (self.milli + self.cfg.ratio_milli).min(self.cfg.max_milli);
    }

    /// Whether a retry or hedge may go out now (gRPC: tokens above half the maximum).
    pub fn allows(&self) -> bool {
        self.milli > self.cfg.max_milli / 2
    }
}

/// Finagle's `RetryBudget` (a `TokenRetryBudget` over a leaky token bucket): every request
/// deposits 1,000 tokens, every retry withdraws 1,000 / `percent_can_retry`, both expiring
/// after `ttl` (a window of ten slices); a reserve of `min_retries_per_sec` × `ttl` retries'
/// worth is always there. Retries over a `ttl` are thus at most the reserve plus
/// `percent_can_retry` of the requests.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateBudgetConfig {
    pub ttl: Nanos,
    pub min_retries_per_sec: u32,
    pub percent_can_retry: f64,
}

#[derive(Clone, Debug)]
pub struct RateBudget {
    /// Per slice of `ttl / 10`: its index and the tokens put (deposits − withdrawals).
    slices: std::collections::VecDeque<(u64, i64)>,
    slice: Nanos,
    reserve: i64,
    withdrawal: i64,
}

const SCALE: i64 = 1000;

impl RateBudget {
    pub fn new(cfg: RateBudgetConfig) -> Self {
        let withdrawal = (SCALE as f64 / cfg.percent_can_retry) as i64;
        let ttl_s = cfg.ttl / 1_000_000_000;
        RateBudget {
            slices: std::collections::VecDeque::new(),
            slice: (cfg.ttl / 10).max(1),
            reserve: cfg.min_retries_per_sec as i64 * ttl_s as i64 * withdrawal,
            withdrawal,
        }
    }

    fn put(&mut self, now: Nanos, n: i64) {
        let i = now / self.slice;
        while self.slices.front().is_some_and(|(j, _)| j + 10 <= i) {
            self.slices.pop_front();
        }
        match self.slices.back_mut() {
            Some((j, sum)) if *j == i => *sum += n,
            _ => self.slices.push_back((i, n)),
        }
    }

    fn balance(&self, now: Nanos) -> i64 {
        let i = now / self.slice;
        let live: i64 = self
            .slices
            .iter()
            .filter(|(j, _)| j + 10 > i)
            .map(|(_, n)| n)
            .sum();
        self.reserve + live
    }

    /// A request (not a retry) goes out.
    pub fn deposit(&mut self, now: Nanos) {
        self.put(now, SCALE);
    }

    /// Whether a retry could go out now, taking nothing.
    pub fn can_withdraw(&self, now: Nanos) -> bool {
        self.balance(now) >= self.withdrawal
    }

    /// Whether a retry may go out; if so, its tokens are taken.
    pub fn try_withdraw(&mut self, now: Nanos) -> bool {
        if !self.can_withdraw(now) {
            return false;
        }
        self.put(now, -self.withdrawal);
        true
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
    pub throttle: Option<ThrottleConfig>,
    pub rate_budget: Option<RateBudgetConfig>,
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
    fn grpc_throttling_follows_the_reference_implementation() {
        // gRPC's own test: max 4 tokens (threshold 2), each success returns 1.6.
        let mut t = Throttle::new(ThrottleConfig {
            max_milli: 4000,
            ratio_milli: 1600,
        });
        assert!(t.failure()); // 3
        t.success(); // 4, not beyond the maximum
        assert!(t.failure()); // 3
        assert!(!t.failure()); // 2: at the threshold, no retry
        t.success(); // 3.6
        assert!(t.failure()); // 2.6
        assert!(!t.failure()); // 1.6
        for _ in 0..3 {
            t.success();
        }
        assert_eq!(t.milli, 4000);
    }

    #[test]
    fn a_finagle_budget_allows_its_reserve_plus_a_share_of_requests_per_ttl() {
        let s = 1_000_000_000;
        let mut b = RateBudget::new(RateBudgetConfig {
            ttl: 10 * s,
            min_retries_per_sec: 10,
            percent_can_retry: 0.2,
        });
        // No requests: the reserve, 10 retries/s over 10 s.
        let free = (0..1000).take_while(|_| b.try_withdraw(0)).count();
        assert_eq!(free, 100);
        // 500 requests: 20% of them more.
        for _ in 0..500 {
            b.deposit(s);
        }
        let more = (0..1000).take_while(|_| b.try_withdraw(s)).count();
        assert_eq!(more, 100);
        // Everything expires after the ttl: the reserve is back.
        let later = (0..1000).take_while(|_| b.try_withdraw(12 * s)).count();
        assert_eq!(later, 100);
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
