//! Time series: metrics per time bucket, for plots and notebooks.

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

/// The owner of a time-series column: the whole experiment, or a node of a kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    Experiment,
    /// A service (queue, utilization, replicas, cost).
    Service(String),
    /// A caller with circuit breakers (time open).
    Caller(String),
    Cache(String),
    /// A message queue (depth, oldest message).
    Queue(String),
}

impl Owner {
    /// The kind's name in files: `experiment`, `service`, `caller`, `cache`, `queue`.
    pub fn kind(&self) -> &'static str {
        match self {
            Owner::Experiment => "experiment",
            Owner::Service(_) => "service",
            Owner::Caller(_) => "caller",
            Owner::Cache(_) => "cache",
            Owner::Queue(_) => "queue",
        }
    }

    /// The node, if a node owns the column.
    pub fn node(&self) -> Option<&str> {
        match self {
            Owner::Experiment => None,
            Owner::Service(n) | Owner::Caller(n) | Owner::Cache(n) | Owner::Queue(n) => Some(n),
        }
    }

    /// Reads `kind` and `node` back.
    pub fn from_parts(kind: &str, node: Option<&str>) -> Option<Owner> {
        let n = || node.map(String::from);
        Some(match kind {
            "experiment" => Owner::Experiment,
            "service" => Owner::Service(n()?),
            "caller" => Owner::Caller(n()?),
            "cache" => Owner::Cache(n()?),
            "queue" => Owner::Queue(n()?),
            _ => return None,
        })
    }
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
