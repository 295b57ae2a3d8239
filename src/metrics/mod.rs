//! Observations of a run (histograms, time averages) and their aggregation over replications.

mod histogram;
mod stats;
mod time_weighted;

pub use histogram::Histogram;
pub use stats::{student_t_975, Aggregate};
pub use time_weighted::TimeWeighted;

/// The metrics of one run: experiment-level values and per-node values, in a fixed order.
/// A value is `NaN` when it is undefined in this run (a latency with no successful request).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunMetrics {
    pub experiment: Vec<(&'static str, f64)>,
    pub nodes: Vec<(String, Vec<(&'static str, f64)>)>,
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
        m.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}
