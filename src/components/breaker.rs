//! Circuit breakers with resilience4j's semantics (SEMANTICS.md §A3).
//!
//! CLOSED records every call in a sliding window (the last N calls, or the last N seconds in
//! one-second buckets). Once the window holds at least `min_calls` (for a count window, at
//! most its size), the breaker OPENs if the failure rate ≥ `failure_rate` or the slow-call
//! rate ≥ `slow_rate` (a call is slow when it took longer than `slow_after`). OPEN refuses
//! every call for `wait_open`, then goes HALF_OPEN — on the next call, or by itself with
//! `auto_half_open`. HALF_OPEN lets `half_open_calls` calls through, records them in a fresh
//! window, and once min(min_calls, half_open_calls) have finished goes back to OPEN or to
//! CLOSED by the same thresholds. Refused calls are not recorded.

use crate::engine::Nanos;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Window {
    /// The last `n` calls.
    Count(u32),
    /// The last `n` seconds.
    Time(u32),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerConfig {
    pub window: Window,
    /// Percent.
    pub failure_rate: f64,
    /// Percent.
    pub slow_rate: f64,
    pub slow_after: Nanos,
    pub min_calls: u32,
    pub wait_open: Nanos,
    pub half_open_calls: u32,
    pub auto_half_open: bool,
    /// Answer refused calls with a fallback (`degraded`) instead of an error.
    pub fallback: bool,
}

impl Default for BreakerConfig {
    /// resilience4j's defaults.
    fn default() -> Self {
        BreakerConfig {
            window: Window::Count(100),
            failure_rate: 50.0,
            slow_rate: 100.0,
            slow_after: 60_000_000_000,
            min_calls: 100,
            wait_open: 60_000_000_000,
            half_open_calls: 10,
            auto_half_open: false,
            fallback: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Closed,
    Open { since: Nanos },
    HalfOpen,
}

/// One recorded outcome.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    calls: u32,
    failures: u32,
    slow: u32,
}

impl Tally {
    fn add(&mut self, failed: bool, slow: bool) {
        self.calls += 1;
        self.failures += failed as u32;
        self.slow += slow as u32;
    }
}

pub struct Breaker {
    cfg: BreakerConfig,
    state: State,
    /// Count window: a ring of the last outcomes (failed, slow).
    ring: Vec<(bool, bool)>,
    ring_next: usize,
    /// Time window: one tally per second, with the second it belongs to.
    buckets: Vec<(u64, Tally)>,
    /// Half-open: calls let through, and what the finished ones did.
    half_permitted: u32,
    half: Tally,
    pub not_permitted: u64,
    pub transitions: u64,
}

impl Breaker {
    pub fn new(cfg: BreakerConfig) -> Self {
        let buckets = match cfg.window {
            Window::Time(n) => vec![(u64::MAX, Tally::default()); n as usize],
            Window::Count(_) => Vec::new(),
        };
        Breaker {
            cfg,
            state: State::Closed,
            ring: Vec::new(),
            ring_next: 0,
            buckets,
            half_permitted: 0,
            half: Tally::default(),
            not_permitted: 0,
            transitions: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn config(&self) -> &BreakerConfig {
        &self.cfg
    }

    /// Whether the breaker is open at `now` (for time-weighted open fraction).
    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// The moment an automatic OPEN → HALF_OPEN transition is due, if one is.
    pub fn auto_transition_at(&self) -> Option<Nanos> {
        match self.state {
            State::Open { since } if self.cfg.auto_half_open => Some(since + self.cfg.wait_open),
            _ => None,
        }
    }

    fn go(&mut self, s: State) {
        self.state = s;
        self.transitions += 1;
        match s {
            State::Closed => {
                self.ring.clear();
                self.ring_next = 0;
                for b in &mut self.buckets {
                    *b = (u64::MAX, Tally::default());
                }
            }
            State::HalfOpen => {
                self.half_permitted = 0;
                self.half = Tally::default();
            }
            State::Open { .. } => {}
        }
    }

    /// An automatic transition's time has come.
    pub fn wake(&mut self, now: Nanos) {
        if let State::Open { since } = self.state {
            if now >= since + self.cfg.wait_open {
                self.go(State::HalfOpen);
            }
        }
    }

    /// May a call go through at `now`? A refusal is counted, not recorded in the window.
    pub fn try_acquire(&mut self, now: Nanos) -> bool {
        if let State::Open { since } = self.state {
            if !self.cfg.auto_half_open && now >= since + self.cfg.wait_open {
                self.go(State::HalfOpen);
            }
        }
        let ok = match self.state {
            State::Closed => true,
            State::Open { .. } => false,
            State::HalfOpen => {
                if self.half_permitted < self.cfg.half_open_calls {
                    self.half_permitted += 1;
                    true
                } else {
                    false
                }
            }
        };
        if !ok {
            self.not_permitted += 1;
        }
        ok
    }

    fn tally(&self, now: Nanos) -> Tally {
        match self.cfg.window {
            Window::Count(_) => {
                let mut t = Tally::default();
                for &(f, s) in &self.ring {
                    t.add(f, s);
                }
                t
            }
            Window::Time(n) => {
                let sec = now / 1_000_000_000;
                let mut t = Tally::default();
                for (s, b) in &self.buckets {
                    if *s != u64::MAX && *s + n as u64 > sec {
                        t.calls += b.calls;
                        t.failures += b.failures;
                        t.slow += b.slow;
                    }
                }
                t
            }
        }
    }

    fn exceeded(&self, t: Tally) -> bool {
        let rate = |x: u32| 100.0 * x as f64 / t.calls as f64;
        rate(t.failures) >= self.cfg.failure_rate || rate(t.slow) >= self.cfg.slow_rate
    }

    /// A permitted call finished at `now` after `took`.
    pub fn record(&mut self, now: Nanos, took: Nanos, failed: bool) {
        let slow = took > self.cfg.slow_after;
        match self.state {
            State::Closed => {
                let min = match self.cfg.window {
                    Window::Count(n) => {
                        if self.ring.len() < n as usize {
                            self.ring.push((failed, slow));
                        } else {
                            self.ring[self.ring_next] = (failed, slow);
                        }
                        self.ring_next = (self.ring_next + 1) % n as usize;
                        self.cfg.min_calls.min(n)
                    }
                    Window::Time(n) => {
                        let sec = now / 1_000_000_000;
                        let b = &mut self.buckets[(sec % n as u64) as usize];
                        if b.0 != sec {
                            *b = (sec, Tally::default());
                        }
                        b.1.add(failed, slow);
                        self.cfg.min_calls
                    }
                };
                let t = self.tally(now);
                if t.calls >= min && self.exceeded(t) {
                    self.go(State::Open { since: now });
                }
            }
            State::HalfOpen => {
                self.half.add(failed, slow);
                if self.half.calls >= self.cfg.min_calls.min(self.cfg.half_open_calls) {
                    if self.exceeded(self.half) {
                        self.go(State::Open { since: now });
                    } else {
                        self.go(State::Closed);
                    }
                }
            }
            // A call let through before the breaker opened: not recorded.
            State::Open { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;
    const MS: Nanos = 1_000_000;

    fn breaker(window: Window, min_calls: u32) -> Breaker {
        Breaker::new(BreakerConfig {
            window,
            failure_rate: 50.0,
            slow_rate: 100.0,
            slow_after: S,
            min_calls,
            wait_open: 10 * S,
            half_open_calls: 4,
            auto_half_open: false,
            fallback: false,
        })
    }

    fn call(b: &mut Breaker, now: Nanos, failed: bool) -> bool {
        let ok = b.try_acquire(now);
        if ok {
            b.record(now, MS, failed);
        }
        ok
    }

    #[test]
    fn opens_at_the_threshold_only_after_minimum_calls() {
        let mut b = breaker(Window::Count(10), 6);
        // Five failures: rate 100% but fewer than 6 calls recorded, so still closed.
        for _ in 0..5 {
            assert!(call(&mut b, 0, true));
        }
        assert_eq!(b.state(), State::Closed);
        // The sixth call (a success) makes 6 calls with 5/6 ≥ 50% failed: open.
        assert!(call(&mut b, 0, false));
        assert_eq!(b.state(), State::Open { since: 0 });
        assert!(!b.try_acquire(1), "open refuses");
        assert_eq!(b.not_permitted, 1);
    }

    #[test]
    fn the_threshold_is_inclusive_and_the_count_window_slides() {
        let mut b = breaker(Window::Count(4), 4);
        for failed in [false, false, false, true] {
            call(&mut b, 0, failed);
        }
        assert_eq!(b.state(), State::Closed, "25% < 50%");
        call(&mut b, 0, true); // window: f f f t t → last 4: f f t t = 50%
        assert_eq!(b.state(), State::Open { since: 0 }, "50% ≥ 50% opens");
        // min_calls larger than the window: capped at the window size.
        let mut b = breaker(Window::Count(4), 100);
        for _ in 0..4 {
            call(&mut b, 0, true);
        }
        assert!(matches!(b.state(), State::Open { .. }));
    }

    #[test]
    fn slow_calls_open_it_too() {
        let mut b = breaker(Window::Count(4), 4);
        for _ in 0..4 {
            assert!(b.try_acquire(0));
            b.record(0, 2 * S, false); // successful but slow (> 1 s)
        }
        assert!(matches!(b.state(), State::Open { .. }), "100% slow ≥ 100%");
        let mut b = breaker(Window::Count(4), 4);
        for _ in 0..4 {
            assert!(b.try_acquire(0));
            b.record(0, S, false); // exactly the threshold is not slow
        }
        assert_eq!(b.state(), State::Closed);
    }

    #[test]
    fn half_open_permits_a_few_then_decides() {
        let mut b = breaker(Window::Count(4), 4);
        for _ in 0..4 {
            call(&mut b, 0, true);
        }
        assert!(!b.try_acquire(9 * S), "still waiting");
        // After the wait, the next call moves it to half-open and is permitted.
        assert!(b.try_acquire(10 * S));
        assert_eq!(b.state(), State::HalfOpen);
        for _ in 0..3 {
            assert!(b.try_acquire(10 * S));
        }
        assert!(
            !b.try_acquire(10 * S),
            "only 4 permitted calls in half-open"
        );
        // Four finished calls, one failed (25%): closed again.
        for failed in [false, true, false, false] {
            b.record(11 * S, MS, failed);
        }
        assert_eq!(b.state(), State::Closed);
        // And a failing half-open goes back to open.
        for _ in 0..4 {
            call(&mut b, 12 * S, true);
        }
        assert!(b.try_acquire(22 * S));
        b.record(22 * S, MS, true);
        b.record(22 * S, MS, true);
        assert_eq!(b.state(), State::HalfOpen, "2 of 4 finished: undecided");
        b.record(22 * S, MS, false);
        b.record(22 * S, MS, false);
        assert_eq!(
            b.state(),
            State::Open { since: 22 * S },
            "2 of 4 failed = 50%: open"
        );
    }

    #[test]
    fn automatic_transition_and_time_window() {
        let mut b = breaker(Window::Time(10), 4);
        b.cfg.auto_half_open = true;
        // Three failures at 0 s (fewer than 4 calls: closed) have left the 10 s window by
        // 11 s, so one success then is one call of one, not four with three failures.
        for _ in 0..3 {
            call(&mut b, 0, true);
        }
        call(&mut b, 11 * S, false);
        assert_eq!(b.state(), State::Closed);
        for _ in 0..3 {
            call(&mut b, 11 * S, true);
        }
        assert_eq!(
            b.state(),
            State::Open { since: 11 * S },
            "3 of 4 in the window"
        );
        assert_eq!(b.auto_transition_at(), Some(21 * S));
        b.wake(21 * S);
        assert_eq!(b.state(), State::HalfOpen);
    }
}
