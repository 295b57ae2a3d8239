//! A client's recovery from the loss of a region or zone: its goodput per second after the
//! loss against its rate before it. The recovery time (RTO as users live it) is when a
//! window of `WINDOW_S` seconds first has at least `SHARE` of the goodput the same window
//! had before the loss.

use crate::engine::Nanos;

const SECOND: Nanos = 1_000_000_000;
/// Seconds per window: long enough that Poisson noise at tens of requests a second does
/// not pass for recovery or for its absence.
pub const WINDOW_S: usize = 10;
/// The share of the goodput before the loss that counts as recovered.
pub const SHARE: f64 = 0.9;
/// Seconds after the loss that are followed (a week): memory stays bounded.
const MAX_SECONDS: usize = 7 * 24 * 3600;

pub struct Recovery {
    at: Nanos,
    warmup: Nanos,
    /// Good answers completed in [warm-up, the loss).
    before: u64,
    /// Good answers completed in each second from the loss on.
    after: Vec<u32>,
}

impl Recovery {
    pub fn new(at: Nanos, warmup: Nanos) -> Self {
        Recovery {
            at,
            warmup,
            before: 0,
            after: Vec::new(),
        }
    }

    /// A good answer (a success within its deadline) completed at `now`.
    pub fn good(&mut self, now: Nanos) {
        if now < self.at {
            self.before += (now >= self.warmup) as u64;
            return;
        }
        let s = ((now - self.at) / SECOND) as usize;
        if s >= MAX_SECONDS {
            return;
        }
        if self.after.len() <= s {
            self.after.resize(s + 1, 0);
        }
        self.after[s] += 1;
    }

    /// Seconds from the loss until goodput came back, and whether it did before `end`
    /// (if not, the seconds followed). `None` when nothing was measured before the loss.
    pub fn rto(&self, end: Nanos) -> Option<(f64, bool)> {
        if self.at <= self.warmup || self.before == 0 {
            return None;
        }
        let rate = self.before as f64 / ((self.at - self.warmup) as f64 / SECOND as f64);
        let need = SHARE * rate * WINDOW_S as f64;
        let seconds = (end.saturating_sub(self.at) / SECOND) as usize;
        let seconds = seconds.min(MAX_SECONDS);
        let count = |s: usize| self.after.get(s).copied().unwrap_or(0) as f64;
        let mut sum: f64 = (0..WINDOW_S.min(seconds)).map(count).sum();
        for k in 0..=seconds.saturating_sub(WINDOW_S) {
            if k > 0 {
                sum += count(k + WINDOW_S - 1) - count(k - 1);
            }
            if seconds >= WINDOW_S && sum >= need {
                return Some((k as f64, true));
            }
        }
        Some((seconds as f64, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `rate` good answers a second, none in [down, up).
    fn recovery(rate: u64, down: u64, up: u64, end: u64) -> Recovery {
        let mut r = Recovery::new(100 * SECOND, 10 * SECOND);
        for s in 0..end {
            if (down..up).contains(&s) {
                continue;
            }
            for i in 0..rate {
                r.good(s * SECOND + i * SECOND / rate);
            }
        }
        r
    }

    #[test]
    fn recovery_is_the_first_full_window_back_at_the_rate_before() {
        // Down from the loss (100 s) to 130 s: the window from 129 s has nine full
        // seconds of ten, 90%; the one before it, 80%.
        let r = recovery(50, 100, 130, 300);
        assert_eq!(r.rto(300 * SECOND), Some((29.0, true)));
        // Never down: recovered at once.
        let r = recovery(50, 0, 0, 300);
        assert_eq!(r.rto(300 * SECOND), Some((0.0, true)));
        // Down to the end: not recovered, followed 200 s.
        let r = recovery(50, 100, 300, 300);
        assert_eq!(r.rto(300 * SECOND), Some((200.0, false)));
        // A window may start inside the outage if 90% of it is served: 1 s down of 10.
        let r = recovery(50, 100, 101, 300);
        assert_eq!(r.rto(300 * SECOND), Some((0.0, true)));
    }
}
