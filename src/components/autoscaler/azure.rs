//! Azure autoscale (VM scale sets): a scale-out and a scale-in rule on a metric, a cooldown
//! after every action, and the flapping guard.

use super::*;

/// Azure autoscale's rules: above `out_above` add `out_by`, below `in_below` remove `in_by`
/// (both positive changes; the rule gives the direction);
/// nothing for `cooldown` after any action. A scale-in is skipped when the metric, spread
/// over the smaller count (`metric × current / new`), would reach the scale-out threshold:
/// Azure's flapping guard.
#[derive(Clone, Debug, PartialEq)]
pub struct AzureConfig {
    pub period: Nanos,
    pub out_above: f64,
    pub in_below: f64,
    pub out_by: Adjustment,
    pub in_by: Adjustment,
    pub cooldown: Nanos,
}

#[derive(Clone, Debug)]
pub struct Azure {
    pub cfg: AzureConfig,
    last_action: Option<Nanos>,
    /// Scale-ins the flapping guard skipped.
    pub flapping_skipped: u64,
}

impl Azure {
    pub fn new(cfg: AzureConfig) -> Self {
        Azure {
            cfg,
            last_action: None,
            flapping_skipped: 0,
        }
    }

    /// The new count, within `[min, max]`, from the metric averaged over the window.
    pub fn decide(
        &mut self,
        now: Nanos,
        current: u32,
        metric: Option<f64>,
        min: u32,
        max: u32,
    ) -> u32 {
        let Some(m) = metric else { return current };
        if self
            .last_action
            .is_some_and(|t| now < t.saturating_add(self.cfg.cooldown))
        {
            return current;
        }
        if m > self.cfg.out_above {
            let n = self.cfg.out_by.apply(current).clamp(min, max);
            if n > current {
                self.last_action = Some(now);
                return n;
            }
            return current;
        }
        if m < self.cfg.in_below {
            let n = self
                .cfg
                .in_by
                .reversed()
                .apply(current)
                .clamp(min.max(1), max);
            if n >= current {
                return current;
            }
            let projected = m * current as f64 / n as f64;
            if projected >= self.cfg.out_above {
                self.flapping_skipped += 1;
                return current;
            }
            self.last_action = Some(now);
            return n;
        }
        current
    }
}
