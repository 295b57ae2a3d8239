//! Time averages of levels that change at events (queue length, busy workers, replicas).

use crate::engine::Nanos;

/// Integrates an integer level over time, counting only time at or after `from` (the warm-up).
/// The area is kept exactly in integers, so the average does not depend on event order.
#[derive(Clone, Debug)]
pub struct TimeWeighted {
    from: Nanos,
    last: Nanos,
    level: i64,
    area: i128,
    /// The area from time zero, warm-up included (for time series).
    total: i128,
}

impl TimeWeighted {
    pub fn new(from: Nanos) -> Self {
        TimeWeighted {
            from,
            last: 0,
            level: 0,
            area: 0,
            total: 0,
        }
    }

    #[inline]
    fn advance(&mut self, now: Nanos) {
        let start = self.last.max(self.from);
        if now > start {
            self.area += self.level as i128 * (now - start) as i128;
        }
        if now > self.last {
            self.total += self.level as i128 * (now - self.last) as i128;
        }
        self.last = now;
    }

    /// The integral of the level over [0, at), warm-up included.
    pub fn total_area(&self, at: Nanos) -> i128 {
        let mut me = self.clone();
        me.advance(at.max(self.last));
        me.total
    }

    /// Changes the level by `delta` at time `now`.
    #[inline]
    pub fn add(&mut self, now: Nanos, delta: i64) {
        self.advance(now);
        self.level += delta;
        debug_assert!(self.level >= 0, "a level went negative");
    }

    /// Sets the level to `level` at time `now`.
    pub fn set(&mut self, now: Nanos, level: i64) {
        self.advance(now);
        self.level = level;
    }

    pub fn level(&self) -> i64 {
        self.level
    }

    /// The average level over [from, end), or `None` if that window is empty.
    pub fn mean(&self, end: Nanos) -> Option<f64> {
        let mut me = self.clone();
        me.advance(end);
        (end > self.from).then(|| me.area as f64 / (end - self.from) as f64)
    }

    /// The integral of the level over [from, end), in level × nanoseconds.
    pub fn area(&self, end: Nanos) -> f64 {
        let mut me = self.clone();
        me.advance(end);
        me.area as f64
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
    }
}
