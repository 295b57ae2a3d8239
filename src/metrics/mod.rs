//! Observations of a run (histograms, time averages) and their aggregation over replications.

mod histogram;
mod moments;
pub mod series;
mod stats;
mod time_weighted;

pub use histogram::Histogram;
pub use moments::Moments;
pub use stats::{student_t, student_t_975, Aggregate};
pub use time_weighted::TimeWeighted;

/// The metrics of one run: experiment-level values and per-node values, in a fixed order.
/// A value is `NaN` when it is undefined in this run (a latency with no successful request).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetrics {
    pub experiment: Vec<(String, f64)>,
    pub nodes: Vec<(String, Vec<(String, f64)>)>,
}

impl RunMetrics {
    /// Looks up an experiment-level metric.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.experiment
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    /// Looks up a node's metric.
    pub fn node(&self, node: &str, name: &str) -> Option<f64> {
        let (_, m) = self.nodes.iter().find(|(n, _)| n == node)?;
        m.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// Every metric as (column name, value): experiment-level first, then `node.metric`.
    pub fn columns(&self) -> impl Iterator<Item = (String, f64)> + '_ {
        let exp = self.experiment.iter().cloned();
        let nodes = self
            .nodes
            .iter()
            .flat_map(|(node, ms)| ms.iter().map(move |(n, v)| (format!("{node}.{n}"), *v)));
        exp.chain(nodes)
    }
}

/// `part / whole` of two counts, undefined (NaN) when there is no whole: a metric with no
/// data reads "undefined", never 0.
///
/// ```
/// assert_eq!(scalesim::metrics::ratio(1, 4), 0.25);
/// assert!(scalesim::metrics::ratio(0, 0).is_nan());
/// ```
pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole > 0 {
        part as f64 / whole as f64
    } else {
        f64::NAN
    }
}

/// Owned names for a list of metrics.
pub fn named(metrics: Vec<(&'static str, f64)>) -> Vec<(String, f64)> {
    metrics
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect()
}
