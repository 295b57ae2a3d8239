//! The Kubernetes HPA: the replica calculator, stabilization windows and rate policies.

use super::*;

/// HPA scaling policy: at most `value` pods, or `value` percent, of change per `period`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RatePolicy {
    Pods { value: u32, period: Nanos },
    Percent { value: u32, period: Nanos },
}

impl RatePolicy {
    pub(super) fn period(self) -> Nanos {
        match self {
            RatePolicy::Pods { period, .. } | RatePolicy::Percent { period, .. } => period,
        }
    }
}

/// Which of several policies wins: the one allowing the most change (`Max`, Kubernetes'
/// default), the least, or none (scaling in this direction is off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Select {
    Max,
    Min,
    Disabled,
}

/// One direction of an HPA's `behavior`.
#[derive(Clone, Debug, PartialEq)]
pub struct Behavior {
    pub stabilization: Nanos,
    pub policies: Vec<RatePolicy>,
    pub select: Select,
}

impl Behavior {
    /// Kubernetes' default scale-up: no window; 100% or 4 pods per 15 s, whichever is more.
    pub fn default_up() -> Self {
        Behavior {
            stabilization: 0,
            policies: vec![
                RatePolicy::Percent {
                    value: 100,
                    period: 15_000_000_000,
                },
                RatePolicy::Pods {
                    value: 4,
                    period: 15_000_000_000,
                },
            ],
            select: Select::Max,
        }
    }

    /// Kubernetes' default scale-down: a 300 s window; 100% per 15 s.
    pub fn default_down() -> Self {
        Behavior {
            stabilization: 300_000_000_000,
            policies: vec![RatePolicy::Percent {
                value: 100,
                period: 15_000_000_000,
            }],
            select: Select::Max,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct HpaConfig {
    pub sync_period: Nanos,
    pub tolerance: f64,
    pub up: Behavior,
    pub down: Behavior,
}

/// The Kubernetes horizontal pod autoscaler's decision state.
#[derive(Clone, Debug)]
pub struct Hpa {
    pub cfg: HpaConfig,
    /// Unstabilized recommendations, newest last.
    pub(super) recommendations: VecDeque<(Nanos, u32)>,
    /// The first decision seeds the scale-down window with the current count, so a new
    /// autoscaler does not scale down at once (the controller does the same).
    pub(super) seeded: bool,
    /// Replicas added (or removed) by each scale event, newest last.
    pub(super) ups: VecDeque<(Nanos, u32)>,
    pub(super) downs: VecDeque<(Nanos, u32)>,
}

/// The replica calculator: `ceil(ratio × ready)`, unless the ratio is within tolerance of 1.
/// On scale-up, replicas still starting count as using nothing; if that brings the ratio
/// back within tolerance (or flips its direction), nothing changes.
pub fn hpa_replicas(current: u32, ready: u32, unready: u32, ratio: f64, tolerance: f64) -> u32 {
    if ready == 0 || (1.0 - ratio).abs() <= tolerance {
        return current;
    }
    if ratio > 1.0 && unready > 0 {
        let all = (ready + unready) as f64;
        let recomputed = ratio * ready as f64 / all;
        if recomputed <= 1.0 + tolerance {
            return current;
        }
        return (recomputed * all).ceil() as u32;
    }
    (ratio * ready as f64).ceil() as u32
}

/// Replicas changed within `period` before `now` (events strictly after the cutoff).
pub(super) fn changed_within(events: &VecDeque<(Nanos, u32)>, now: Nanos, period: Nanos) -> u32 {
    let cutoff = now.saturating_sub(period);
    events
        .iter()
        .filter(|(t, _)| now < period || *t > cutoff)
        .map(|(_, n)| *n)
        .sum()
}

impl Hpa {
    pub fn new(cfg: HpaConfig) -> Self {
        Hpa {
            cfg,
            recommendations: VecDeque::new(),
            seeded: false,
            ups: VecDeque::new(),
            downs: VecDeque::new(),
        }
    }

    /// From a raw recommendation to the replica count to set: stabilized over the windows,
    /// limited by the rate policies, and kept within `[min, max]` (as the controller's
    /// `normalizeDesiredReplicasWithBehaviors`).
    pub fn normalize(&mut self, now: Nanos, current: u32, raw: u32, min: u32, max: u32) -> u32 {
        if !self.seeded {
            self.seeded = true;
            if self.cfg.down.stabilization > 0 {
                self.recommendations.push_back((now, current));
            }
        }
        // Stabilization: the lowest recommendation of the scale-up window and the highest of
        // the scale-down window bound the change.
        let (mut up, mut down) = (raw, raw);
        let up_cut = now.saturating_sub(self.cfg.up.stabilization);
        let down_cut = now.saturating_sub(self.cfg.down.stabilization);
        for &(t, r) in &self.recommendations {
            if t > up_cut || now < self.cfg.up.stabilization {
                up = up.min(r);
            }
            if t > down_cut || now < self.cfg.down.stabilization {
                down = down.max(r);
            }
        }
        let mut desired = current.max(up).min(down);
        self.recommendations.push_back((now, raw));
        let keep = self.cfg.up.stabilization.max(self.cfg.down.stabilization);
        while self
            .recommendations
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) > keep)
        {
            self.recommendations.pop_front();
        }
        // Rate limits.
        if desired > current {
            let limit = self.up_limit(now, current).max(current);
            desired = desired.min(max.min(limit));
        } else if desired < current {
            let limit = self.down_limit(now, current).min(current);
            desired = desired.max(min.max(limit));
        }
        desired.clamp(min, max)
    }

    pub(super) fn period_start(&self, now: Nanos, current: u32, period: Nanos) -> i64 {
        current as i64 - changed_within(&self.ups, now, period) as i64
            + changed_within(&self.downs, now, period) as i64
    }

    pub(super) fn up_limit(&self, now: Nanos, current: u32) -> u32 {
        let b = &self.cfg.up;
        let proposals = b.policies.iter().map(|p| {
            let start = self.period_start(now, current, p.period());
            match *p {
                RatePolicy::Pods { value, .. } => start + value as i64,
                RatePolicy::Percent { value, .. } => {
                    (start as f64 * (1.0 + value as f64 / 100.0)).ceil() as i64
                }
            }
        });
        let limit = match b.select {
            Select::Disabled => return current,
            Select::Max => proposals.max(),
            Select::Min => proposals.min(),
        };
        limit.unwrap_or(i64::MAX).clamp(0, u32::MAX as i64) as u32
    }

    pub(super) fn down_limit(&self, now: Nanos, current: u32) -> u32 {
        let b = &self.cfg.down;
        let proposals = b.policies.iter().map(|p| {
            let start = self.period_start(now, current, p.period());
            match *p {
                RatePolicy::Pods { value, .. } => start - value as i64,
                // Truncated, as the controller's int32 conversion.
                RatePolicy::Percent { value, .. } => {
                    (start as f64 * (1.0 - value as f64 / 100.0)) as i64
                }
            }
        });
        let limit = match b.select {
            Select::Disabled => return current,
            // The most change downward is the lowest count.
            Select::Max => proposals.min(),
            Select::Min => proposals.max(),
        };
        limit.unwrap_or(0).clamp(0, u32::MAX as i64) as u32
    }

    /// Records a change of the replica count, for the rate policies.
    pub fn record(&mut self, now: Nanos, from: u32, to: u32) {
        if to > from {
            self.ups.push_back((now, to - from));
        } else if to < from {
            self.downs.push_back((now, from - to));
        }
        let longest = |b: &Behavior| b.policies.iter().map(|p| p.period()).max().unwrap_or(0);
        let keep = longest(&self.cfg.up).max(longest(&self.cfg.down));
        for q in [&mut self.ups, &mut self.downs] {
            while q
                .front()
                .is_some_and(|(t, _)| now.saturating_sub(*t) > keep)
            {
                q.pop_front();
            }
        }
    }
}
