//! AWS target tracking and step scaling: alarms over datapoints, cooldowns, steps.

use super::*;

/// AWS target tracking: alarms on consecutive periods above or below the target, a
/// proportional new capacity, and cooldowns.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTrackingConfig {
    /// One alarm datapoint per period (CloudWatch: one minute).
    pub period: Nanos,
    /// Consecutive datapoints above the target that scale out (3), below that scale in (15).
    pub out_datapoints: u32,
    pub in_datapoints: u32,
    pub out_cooldown: Nanos,
    pub in_cooldown: Nanos,
    /// Scale-in off: the policy only adds capacity.
    pub disable_scale_in: bool,
}

#[derive(Clone, Debug)]
pub struct TargetTracking {
    pub cfg: TargetTrackingConfig,
    pub(super) above: u32,
    pub(super) below: u32,
    pub(super) last_in: Option<Nanos>,
    /// The last scale-out's time and the capacity before it.
    pub(super) last_out: Option<(Nanos, u32)>,
}

impl TargetTracking {
    pub fn new(cfg: TargetTrackingConfig) -> Self {
        TargetTracking {
            cfg,
            above: 0,
            below: 0,
            last_in: None,
            last_out: None,
        }
    }

    /// New capacity: `ceil(capacity × metric / target)`, the metric averaged over ready
    /// replicas. Application Auto Scaling's cooldowns: while a scale-out cooldown is in
    /// effect the capacity that scale-out added counts toward the next one (the proportion
    /// applies to the capacity before it, and only a larger scale-out goes ahead); without
    /// it, replicas still starting (not yet in the metric) make every alarm add again. A
    /// scale-in cooldown blocks scale-in; a scale-out interrupts it.
    pub fn decide(&mut self, now: Nanos, current: u32, ratio: Option<f64>) -> u32 {
        let Some(ratio) = ratio else {
            return current;
        };
        if ratio > 1.0 {
            self.above += 1;
            self.below = 0;
        } else if ratio < 1.0 {
            self.below += 1;
            self.above = 0;
        } else {
            self.above = 0;
            self.below = 0;
        }
        let base = self
            .last_out
            .filter(|&(t, _)| now < t.saturating_add(self.cfg.out_cooldown))
            .map_or(current, |(_, before)| before);
        let out = (ratio * base as f64).ceil() as u32;
        if self.above >= self.cfg.out_datapoints && out > current {
            self.last_in = None;
            self.last_out = Some((now, base));
            return out;
        }
        let proposed = (ratio * current as f64).ceil() as u32;
        let cooling = self
            .last_in
            .is_some_and(|t| now < t.saturating_add(self.cfg.in_cooldown));
        if !self.cfg.disable_scale_in
            && self.below >= self.cfg.in_datapoints
            && proposed < current
            && !cooling
        {
            self.last_in = Some(now);
            return proposed.max(1);
        }
        current
    }
}

/// How a step changes capacity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Adjustment {
    Change(i32),
    /// A percentage of current capacity, at least one replica either way.
    Percent(f64),
    Exact(u32),
}

impl Adjustment {
    /// The capacity after this adjustment of `base` (never below zero).
    pub fn apply(self, base: u32) -> u32 {
        match self {
            Adjustment::Change(n) => (base as i64 + n as i64).max(0) as u32,
            Adjustment::Percent(p) => {
                let delta = base as f64 * p / 100.0;
                let delta = if delta >= 0.0 {
                    delta.ceil().max(1.0)
                } else {
                    delta.floor().min(-1.0)
                };
                (base as f64 + delta).max(0.0) as u32
            }
            Adjustment::Exact(n) => n,
        }
    }

    /// The same change the other way (an exact count stays itself).
    pub fn reversed(self) -> Adjustment {
        match self {
            Adjustment::Change(n) => Adjustment::Change(-n),
            Adjustment::Percent(p) => Adjustment::Percent(-p),
            Adjustment::Exact(n) => Adjustment::Exact(n),
        }
    }
}

/// A step: applies when the metric minus the threshold is in its bounds (above the
/// threshold `lower ≤ d < upper`, below it `lower < d ≤ upper`; `None` is unbounded).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScalingStep {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub adjustment: Adjustment,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StepScalingConfig {
    pub period: Nanos,
    pub threshold: f64,
    pub steps: Vec<ScalingStep>,
    /// Consecutive datapoints in breach before a step applies.
    pub datapoints: u32,
    /// After a scale-in, no other scale-in for this long.
    pub cooldown: Nanos,
}

#[derive(Clone, Debug)]
pub struct StepScaling {
    pub cfg: StepScalingConfig,
    pub(super) streak: u32,
    pub(super) last_side: i8,
    pub(super) last_in: Option<Nanos>,
}

impl StepScaling {
    pub fn new(cfg: StepScalingConfig) -> Self {
        StepScaling {
            cfg,
            streak: 0,
            last_side: 0,
            last_in: None,
        }
    }

    /// The step the metric falls in, if any.
    pub fn step_for(&self, metric: f64) -> Option<ScalingStep> {
        let d = metric - self.cfg.threshold;
        self.cfg.steps.iter().copied().find(|s| {
            let lo = s.lower.unwrap_or(f64::NEG_INFINITY);
            let hi = s.upper.unwrap_or(f64::INFINITY);
            if d >= 0.0 && lo >= 0.0 {
                lo <= d && d < hi
            } else if d < 0.0 && hi <= 0.0 {
                lo < d && d <= hi
            } else {
                false
            }
        })
    }

    /// New capacity. Replicas still starting count toward capacity, and a persisting alarm
    /// only adds what the step asks beyond the ready ones.
    pub fn decide(&mut self, now: Nanos, current: u32, ready: u32, metric: Option<f64>) -> u32 {
        let Some(m) = metric else { return current };
        let Some(step) = self.step_for(m) else {
            self.streak = 0;
            self.last_side = 0;
            return current;
        };
        let side = if m >= self.cfg.threshold { 1 } else { -1 };
        self.streak = if side == self.last_side {
            self.streak + 1
        } else {
            1
        };
        self.last_side = side;
        if self.streak < self.cfg.datapoints {
            return current;
        }
        let base = if side > 0 { ready } else { current };
        let target = step.adjustment.apply(base);
        if side > 0 {
            if target > current {
                self.last_in = None;
                return target;
            }
            return current;
        }
        let cooling = self
            .last_in
            .is_some_and(|t| now < t.saturating_add(self.cfg.cooldown));
        if target < current && !cooling {
            self.last_in = Some(now);
            return target;
        }
        current
    }
}
