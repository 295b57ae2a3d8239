//! A fixed-size log-linear histogram of nanosecond values.
//!
//! Each power of two is split into 128 equal buckets, so a bucket is at most 1/128 of its lower
//! edge wide; reporting its midpoint errs by at most 1/256 (0.4%) of the true value. The whole
//! range of `u64` fits in 7,424 buckets, and memory never grows with the number of samples.

const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    total: u64,
    sum: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn index(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros(); // >= SUB_BITS
    let shift = exp - SUB_BITS;
    ((shift as u64 + 1) * SUB + ((v >> shift) & (SUB - 1))) as usize
}

/// The [low, high] range of values a bucket holds.
fn bounds(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < SUB {
        return (i, i);
    }
    let shift = i / SUB - 1;
    let low = (SUB + i % SUB) << shift;
    (low, low + ((1u64 << shift) - 1))
}

impl Histogram {
    pub fn new() -> Self {
        Histogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            sum: 0,
        }
    }

    #[inline(always)]
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.total += 1;
        self.sum += v as u128;
    }

    /// How many values were exactly zero (values below 128 have buckets of their own).
    pub fn zeros(&self) -> u64 {
        self.counts[0]
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The exact mean (the sum is kept exactly), or `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.total > 0).then(|| self.sum as f64 / self.total as f64)
    }

    /// The value at quantile `q` in [0, 1] (nearest rank), to within 0.4%, or `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, hi) = bounds(i);
                return Some((lo as f64 + hi as f64) / 2.0);
            }
        }
        unreachable!("rank {rank} beyond total {}", self.total)
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.total += other.total;
        self.sum += other.sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range() {
        let mut expect_low = 0u64;
        for i in 0..BUCKETS {
            let (lo, hi) = bounds(i);
            assert_eq!(lo, expect_low, "bucket {i}");
            assert!(hi >= lo);
            assert_eq!(index(lo), i);
            assert_eq!(index(hi), i);
            expect_low = hi.wrapping_add(1);
        }
        assert_eq!(expect_low, 0, "the last bucket ends at u64::MAX");
    }

    #[test]
    fn relative_error_is_below_one_percent() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            let (lo, hi) = bounds(index(v));
            let mid = (lo as f64 + hi as f64) / 2.0;
            assert!((mid - v as f64).abs() / v as f64 <= 0.01, "{v}");
            v = v * 3 + 1;
        }
    }

    #[test]
    fn quantiles_of_a_uniform_ramp() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        for q in [0.5, 0.9, 0.99, 0.999] {
            let exact = q * 100_000.0 * 1000.0;
            let got = h.quantile(q).unwrap();
            assert!(
                (got - exact).abs() / exact < 0.005,
                "q {q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.mean().unwrap(), 50_000.5 * 1000.0);
    }
}
