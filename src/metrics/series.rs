//! Time series: metrics per time bucket, for plots and notebooks.

/// A small log-scale histogram for per-bucket latency percentiles: 8 buckets per power of
/// two from 1 µs, so a quantile is within about 4.5% (half a bucket); under 1 KiB each.
#[derive(Clone, Debug, Default)]
pub struct CoarseHistogram {
    counts: Vec<u32>,
    total: u64,
}

const SUB: u32 = 8;
const FLOOR_NS: f64 = 1_000.0;

impl CoarseHistogram {
    fn index(ns: u64) -> usize {
        let x = (ns as f64 / FLOOR_NS).max(1.0);
        (x.log2() * SUB as f64).floor() as usize
    }

    pub fn record(&mut self, ns: u64) {
        let i = Self::index(ns);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    pub fn merge(&mut self, other: &CoarseHistogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
    }

    /// The quantile in seconds (bucket midpoint, geometric), or NaN when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.total == 0 {
            return f64::NAN;
        }
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c as u64;
            if seen >= rank {
                let mid = 2f64.powf((i as f64 + 0.5) / SUB as f64);
                return mid * FLOOR_NS / 1e9;
            }
        }
        f64::NAN
    }
}

/// A table of metrics per bucket: `rows[i]` holds the values of `columns` for the bucket
/// starting at `i × bucket_s`. NaN marks a value undefined in that bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub bucket_s: f64,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_quantiles_are_within_five_percent() {
        let mut h = CoarseHistogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 10_000); // 10 µs .. 100 ms
        }
        for q in [0.5, 0.99] {
            let exact = q * 10_000.0 * 10_000.0 / 1e9;
            let got = h.quantile(q);
            assert!((got - exact).abs() / exact < 0.05, "{q}: {got} vs {exact}");
        }
    }
}
