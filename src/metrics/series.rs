//! Time series: metrics per time bucket, for plots and notebooks.

/// Which of `n` buckets of `width` a time falls in (the last takes every later time), for
/// times that never go back: a division only when a bucket ends, not per record.
#[derive(Clone, Debug)]
pub struct BucketIndex {
    width: u64,
    last: usize,
    i: usize,
    /// Where bucket `i` ends (`u64::MAX` for the last).
    end: u64,
}

impl BucketIndex {
    pub fn new(width: u64, n: usize) -> Self {
        assert!(
            width > 0 && n > 0,
            "a time series has buckets of some width"
        );
        let mut b = BucketIndex {
            width,
            last: n - 1,
            i: 0,
            end: 0,
        };
        b.move_to(0);
        b
    }

    /// The bucket of `now`, no earlier than the last time asked.
    #[inline(always)]
    pub fn at(&mut self, now: u64) -> usize {
        if now >= self.end {
            self.move_to(now);
        }
        debug_assert_eq!(self.i, ((now / self.width) as usize).min(self.last));
        self.i
    }

    #[inline(never)]
    fn move_to(&mut self, now: u64) {
        self.i = ((now / self.width) as usize).min(self.last);
        self.end = if self.i == self.last {
            u64::MAX
        } else {
            (self.i as u64 + 1) * self.width
        };
    }
}

/// A small log-linear histogram for per-bucket latency percentiles: microseconds, 8 equal
/// buckets per power of two, so a reported quantile (a bucket's midpoint) is within 6.25%
/// of the true value above 8 µs; integer arithmetic only, about 1 KiB each.
#[derive(Clone, Debug, Default)]
pub struct CoarseHistogram {
    counts: Vec<u32>,
    total: u64,
}

/// Sub-buckets per power of two, as bits.
const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;

impl CoarseHistogram {
    /// Log-linear bucket of a value in microseconds: exact below 8 µs, then 8 per octave.
    fn index(ns: u64) -> usize {
        let us = ns / 1_000;
        if us < SUB {
            return us as usize;
        }
        let exp = 63 - us.leading_zeros();
        let shift = exp - SUB_BITS;
        ((shift as u64 + 1) * SUB + ((us >> shift) & (SUB - 1))) as usize
    }

    /// The midpoint of a bucket, in seconds.
    fn midpoint_s(i: usize) -> f64 {
        let i = i as u64;
        let (lo, width) = if i < SUB {
            (i, 1)
        } else {
            let shift = i / SUB - 1;
            ((SUB + i % SUB) << shift, 1u64 << shift)
        };
        (lo as f64 + width as f64 / 2.0) * 1e-6
    }

    #[inline(always)]
    pub fn record(&mut self, ns: u64) {
        let i = Self::index(ns);
        if self.counts.len() <= i {
            self.grow(i);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    /// Room for bucket `i`: a slower value than any so far (rare, so kept off the hot path).
    #[cold]
    #[inline(never)]
    fn grow(&mut self, i: usize) {
        self.counts.resize(i + 1, 0);
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
                return Self::midpoint_s(i);
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
    /// Whose each column is, as the run knew it, so readers (plots) need not guess a node's
    /// kind from a column's name. One per column.
    pub owners: Vec<Owner>,
    pub rows: Vec<Vec<f64>>,
}

/// The owner of a time-series column: the whole experiment, or a node in some role — a
/// `service` (queue, utilization, replicas, cost), a `caller` with circuit breakers (time
/// open), a `cache` (hit ratio), a `queue` (depth, oldest message). Plots choose panels by
/// role; a new node kind names its own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    Experiment,
    Node { role: String, name: String },
}

impl Owner {
    /// A column of node `name` in `role`.
    pub fn node_in(role: &str, name: &str) -> Owner {
        Owner::Node {
            role: role.into(),
            name: name.into(),
        }
    }

    /// The role's name in files: `experiment`, or a node's role.
    pub fn kind(&self) -> &str {
        match self {
            Owner::Experiment => "experiment",
            Owner::Node { role, .. } => role,
        }
    }

    /// The node, if a node owns the column.
    pub fn node(&self) -> Option<&str> {
        match self {
            Owner::Experiment => None,
            Owner::Node { name, .. } => Some(name),
        }
    }

    /// Reads `kind` and `node` back.
    pub fn from_parts(kind: &str, node: Option<&str>) -> Option<Owner> {
        match (kind, node) {
            ("experiment", _) => Some(Owner::Experiment),
            (role, Some(name)) if !role.is_empty() => Some(Owner::node_in(role, name)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bucket found without dividing is the one the division gives, for times that
    /// stay, step within a bucket, jump several buckets and run past the last.
    #[test]
    fn bucket_index_agrees_with_division() {
        for (width, n) in [(1_000u64, 1usize), (1_000, 7), (999_983, 50)] {
            let mut index = BucketIndex::new(width, n);
            let mut now = 0u64;
            for step in 0..20_000u64 {
                now += (step * 7_919) % (3 * width) / (1 + step % 5);
                let want = ((now / width) as usize).min(n - 1);
                assert_eq!(index.at(now), want, "width {width}, n {n}, t {now}");
                assert_eq!(index.at(now), want, "asked again");
            }
            assert!(now > width * n as u64, "the run went past the last bucket");
        }
    }

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
