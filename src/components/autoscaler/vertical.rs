//! Vertical scaling by rule: the smallest size that holds utilization at the target.

use super::*;

/// Vertical scaling by rule, on utilization: move to the smallest size of a ladder whose
/// capacity would hold utilization at or below the target. Larger at once; smaller only
/// when every recommendation of the stabilization window agrees (as the HPA's scale-down
/// window).
#[derive(Clone, Debug, PartialEq)]
pub struct VerticalConfig {
    pub period: Nanos,
    /// Sizes, smallest capacity (workers × speed) first.
    pub sizes: Vec<Size>,
    /// The service's size at the start, an index into `sizes`.
    pub initial: usize,
    pub stabilization: Nanos,
    /// Start each resized replica before its predecessor goes (else one at a time goes
    /// down first).
    pub surge: bool,
    /// Startup time of resized replicas, instead of the service's.
    pub restart: Option<Nanos>,
}

#[derive(Clone, Debug)]
pub struct Vertical {
    pub cfg: VerticalConfig,
    /// The size in force (the last one applied).
    pub(super) at: usize,
    pub(super) recommendations: VecDeque<(Nanos, usize)>,
}

impl Vertical {
    pub fn new(cfg: VerticalConfig) -> Self {
        Vertical {
            at: cfg.initial,
            cfg,
            recommendations: VecDeque::new(),
        }
    }

    pub(super) fn capacity(&self, i: usize) -> f64 {
        let s = self.cfg.sizes[i];
        s.workers as f64 * s.speed
    }

    /// The size to move to, if any. `busy`: a resize is still rolling out, so none starts.
    pub fn recommend(
        &mut self,
        now: Nanos,
        utilization: Option<f64>,
        target: f64,
        busy: bool,
    ) -> Option<usize> {
        if self.recommendations.is_empty() {
            self.recommendations.push_back((now, self.at));
        }
        let m = utilization?;
        let load = m * self.capacity(self.at);
        let n = self.cfg.sizes.len();
        let want = (0..n)
            .find(|&j| load / self.capacity(j) <= target)
            .unwrap_or(n - 1);
        let cut = now.saturating_sub(self.cfg.stabilization);
        let highest = self
            .recommendations
            .iter()
            .filter(|(t, _)| *t > cut || now < self.cfg.stabilization)
            .map(|(_, j)| *j)
            .fold(want, usize::max);
        self.recommendations.push_back((now, want));
        while self
            .recommendations
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) > self.cfg.stabilization)
        {
            self.recommendations.pop_front();
        }
        let to = if want > self.at {
            want
        } else {
            highest.min(self.at)
        };
        if to == self.at || busy {
            return None;
        }
        self.at = to;
        Some(to)
    }
}
