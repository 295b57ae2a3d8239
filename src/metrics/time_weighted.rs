//! Time averages of levels that change at events (queue length, busy workers, replicas).

use crate::engine::Nanos;

/// Integrates an integer level over time, counting only time at or after `from` (the warm-up).
/// The area is kept exactly in integers, so the average does not depend on event order.
///
/// A change costs two multiply-adds and no branch: rather than the area so far, it keeps the
/// sums of each change weighted by its time (Σ Δ·t), from which the area to any later `end`
/// follows (Σ Δ·(end − t) = level·end − Σ Δ·t). Warm-up is the same sum with every time
/// before `from` counted as `from`.
#[derive(Clone, Debug)]
pub struct TimeWeighted {
    from: Nanos,
    last: Nanos,
    level: i64,
    /// Σ Δ·max(t, from) over every change.
    weighted: i128,
    /// Σ Δ·t over every change (for the area from time zero).
    weighted_total: i128,
}

impl TimeWeighted {
    pub fn new(from: Nanos) -> Self {
        TimeWeighted {
            from,
            last: 0,
            level: 0,
            weighted: 0,
            weighted_total: 0,
        }
    }

    /// The integral of the level over [0, at), warm-up included.
    pub fn total_area(&self, at: Nanos) -> i128 {
        let at = at.max(self.last);
        self.level as i128 * at as i128 - self.weighted_total
    }

    /// Changes the level by `delta` at time `now`.
    #[inline]
    pub fn add(&mut self, now: Nanos, delta: i64) {
        debug_assert!(now >= self.last, "a level changed in the past");
        let now = now.max(self.last);
        self.last = now;
        self.weighted += delta as i128 * now.max(self.from) as i128;
        self.weighted_total += delta as i128 * now as i128;
        self.level += delta;
        debug_assert!(self.level >= 0, "a level went negative");
    }

    /// Sets the level to `level` at time `now`.
    pub fn set(&mut self, now: Nanos, level: i64) {
        self.add(now, level - self.level);
    }

    pub fn level(&self) -> i64 {
        self.level
    }

    /// The integral of the level over [from, end), in level × nanoseconds, exactly.
    fn exact_area(&self, end: Nanos) -> i128 {
        let end = end.max(self.last).max(self.from);
        self.level as i128 * end as i128 - self.weighted
    }

    /// The average level over [from, end), or `None` if that window is empty.
    pub fn mean(&self, end: Nanos) -> Option<f64> {
        (end > self.from).then(|| self.exact_area(end) as f64 / (end - self.from) as f64)
    }

    /// The integral of the level over [from, end), in level × nanoseconds.
    pub fn area(&self, end: Nanos) -> f64 {
        self.exact_area(end) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_only_after_warmup() {
        let mut t = TimeWeighted::new(10);
        t.add(0, 5); // 5 from 0..20, but only 10..20 counts
        t.add(20, -3); // 2 from 20..30
        assert_eq!(t.mean(30), Some((5.0 * 10.0 + 2.0 * 10.0) / 20.0));
        assert_eq!(t.total_area(30), 5 * 20 + 2 * 10);
        let mut early = TimeWeighted::new(10);
        early.add(2, 4);
        assert_eq!(early.area(5), 0.0);
        assert_eq!(t.mean(10), None);
    }

    /// Against the area summed interval by interval, through a pseudo-random walk with
    /// changes before, at and after the warm-up's end.
    #[test]
    fn weighted_sums_give_the_interval_sum() {
        let (from, mut t) = (5_000, TimeWeighted::new(5_000));
        let (mut now, mut level, mut x) = (0u64, 0i64, 11u64);
        let (mut area, mut total) = (0i128, 0i128);
        for _ in 0..10_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let next = now + (x >> 58);
            total += level as i128 * (next - now) as i128;
            area += level as i128 * next.saturating_sub(now.max(from)) as i128;
            now = next;
            let delta = ((x >> 40) % 5) as i64 - 2;
            let delta = delta.max(-level);
            t.add(now, delta);
            level += delta;
            assert_eq!(t.total_area(now), total);
            assert_eq!(t.area(now), area as f64);
        }
        assert_eq!(t.level(), level);
    }
}
