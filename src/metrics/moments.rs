//! The first two moments of a stream of durations, exactly, in integers.

use crate::engine::Nanos;

/// Count, sum and sum of squares of durations in nanoseconds. `u128` holds 10^20 squared
/// one-second samples before it could overflow, so the sums are exact.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    pub n: u64,
    sum: u128,
    sum_sq: u128,
}

impl Moments {
    pub fn add(&mut self, d: Nanos) {
        self.n += 1;
        self.sum += d as u128;
        self.sum_sq += (d as u128) * (d as u128);
    }

    /// The mean in seconds (NaN with no samples).
    pub fn mean_s(&self) -> f64 {
        if self.n == 0 {
            return f64::NAN;
        }
        self.sum as f64 / self.n as f64 / 1e9
    }

    /// The squared coefficient of variation, Var/mean² (NaN with fewer than two samples or
    /// a zero mean): 1 for exponential durations, 0 for constant ones.
    pub fn scv(&self) -> f64 {
        if self.n < 2 || self.sum == 0 {
            return f64::NAN;
        }
        let n = self.n as f64;
        let mean = self.sum as f64 / n;
        let var = (self.sum_sq as f64 / n - mean * mean).max(0.0) * n / (n - 1.0);
        var / (mean * mean)
    }
}

#[cfg(test)]
mod tests {
    use super::Moments;

    #[test]
    fn constant_and_two_point_samples() {
        let mut m = Moments::default();
        for _ in 0..10 {
            m.add(2_000_000);
        }
        assert_eq!(m.mean_s(), 0.002);
        assert_eq!(m.scv(), 0.0);
        // 1 and 3: mean 2, sample variance 2, scv 0.5.
        let mut m = Moments::default();
        m.add(1);
        m.add(3);
        assert!((m.scv() - 0.5).abs() < 1e-12);
        assert!(Moments::default().mean_s().is_nan());
    }
}
