//! Graceful degradation: how much optional work a service does, decided from its own
//! response times. A brownout dimmer (Klein et al., ICSE 2014) serves optional content with
//! a probability a controller adjusts to keep the worst recent response time near a
//! setpoint; a feature switch turns optional work off while a latency quantile is above a
//! threshold and back on once it is below another.

use crate::engine::Nanos;
use crate::metrics::series::CoarseHistogram;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DegradeConfig {
    /// The authors' controller (brownout-rubis `localController.py`): every `period`, with
    /// y the largest response time of the last `window`, e = (setpoint − 10 ms) − y (scaled
    /// by 0.1 when positive), θ += (1 − pole) · e · θ / y, clamped to [0, 1].
    Brownout {
        setpoint: Nanos,
        period: Nanos,
        window: Nanos,
        pole: f64,
        initial: f64,
    },
    /// Optional work off while the `quantile` of response times over `window` exceeds
    /// `above`; on again once it is below `below`. Checked every `period`.
    Switch {
        quantile: f64,
        above: Nanos,
        below: Nanos,
        window: Nanos,
        period: Nanos,
    },
}

impl DegradeConfig {
    pub fn period(&self) -> Nanos {
        match self {
            DegradeConfig::Brownout { period, .. } | DegradeConfig::Switch { period, .. } => {
                *period
            }
        }
    }

    fn window(&self) -> Nanos {
        match self {
            DegradeConfig::Brownout { window, .. } | DegradeConfig::Switch { window, .. } => {
                *window
            }
        }
    }
}

/// Response times of one period: their maximum, and their distribution for quantiles.
#[derive(Default)]
struct Period {
    max: Nanos,
    hist: CoarseHistogram,
}

pub struct Dimmer {
    cfg: DegradeConfig,
    /// The probability of doing optional work.
    pub theta: f64,
    periods: VecDeque<Period>,
    /// Time-weighted integral of θ (θ × ns) from warm-up, and since when.
    area: f64,
    last: Nanos,
    from: Nanos,
}

impl Dimmer {
    pub fn new(cfg: DegradeConfig, warmup: Nanos) -> Self {
        let theta = match cfg {
            DegradeConfig::Brownout { initial, .. } => initial,
            DegradeConfig::Switch { .. } => 1.0,
        };
        Dimmer {
            cfg,
            theta,
            periods: VecDeque::from([Period::default()]),
            area: 0.0,
            last: 0,
            from: warmup,
        }
    }

    pub fn period(&self) -> Nanos {
        self.cfg.period()
    }

    /// A response time at the service.
    #[inline]
    pub fn record(&mut self, response: Nanos) {
        let p = self.periods.back_mut().expect("one period at least");
        p.max = p.max.max(response);
        if let DegradeConfig::Switch { .. } = self.cfg {
            p.hist.record(response);
        }
    }

    fn advance(&mut self, now: Nanos) {
        let start = self.last.max(self.from);
        if now > start {
            self.area += self.theta * (now - start) as f64;
        }
        self.last = now;
    }

    /// The period ended: update θ from the window and start a new period.
    pub fn tick(&mut self, now: Nanos) {
        self.advance(now);
        let keep = (self.cfg.window() / self.cfg.period()).max(1) as usize;
        match self.cfg {
            DegradeConfig::Brownout { setpoint, pole, .. } => {
                let y = self.periods.iter().map(|p| p.max).max().unwrap_or(0) as f64 / 1e9;
                if y > 0.0 {
                    let mut e = (setpoint as f64 / 1e9 - 0.01) - y;
                    if e > 0.0 {
                        e *= 0.1;
                    }
                    // c = y / θ, the estimated response time at full optional content.
                    let theta = self.theta.max(0.01);
                    self.theta = (self.theta + (1.0 - pole) * e * theta / y).clamp(0.0, 1.0);
                }
            }
            DegradeConfig::Switch {
                quantile,
                above,
                below,
                ..
            } => {
                let mut h = CoarseHistogram::default();
                for p in &self.periods {
                    h.merge(&p.hist);
                }
                let q = h.quantile(quantile);
                if q.is_finite() {
                    let q = q * 1e9;
                    if self.theta > 0.0 && q > above as f64 {
                        self.theta = 0.0;
                    } else if self.theta == 0.0 && q < below as f64 {
                        self.theta = 1.0;
                    }
                }
            }
        }
        self.periods.push_back(Period::default());
        while self.periods.len() > keep {
            self.periods.pop_front();
        }
    }

    /// The time-average of θ over the measured window.
    pub fn mean(&self, end: Nanos) -> f64 {
        let start = self.last.max(self.from);
        let area = self.area
            + if end > start {
                self.theta * (end - start) as f64
            } else {
                0.0
            };
        if end > self.from {
            area / (end - self.from) as f64
        } else {
            f64::NAN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    fn brownout() -> Dimmer {
        Dimmer::new(
            DegradeConfig::Brownout {
                setpoint: 500 * MS,
                period: 1000 * MS,
                window: 5000 * MS,
                pole: 0.9,
                initial: 0.5,
            },
            0,
        )
    }

    #[test]
    fn brownout_dims_when_slow_and_brightens_when_fast() {
        let mut d = brownout();
        d.record(1000 * MS);
        d.tick(1000 * MS);
        // e = 0.49 − 1.0 = −0.51; θ += 0.1 · (−0.51) · 0.5 / 1.0.
        assert!((d.theta - (0.5 - 0.0255)).abs() < 1e-12, "{}", d.theta);
        // The slow response stays in the 5 s window: θ keeps falling for 5 periods.
        for t in 2..=5 {
            let before = d.theta;
            d.tick(t * 1000 * MS);
            assert!(d.theta < before);
        }
        // Fast from then on: e = 0.49 − 0.1 = 0.39, scaled by 0.1: θ rises slowly.
        let low = d.theta;
        for t in 6..=20 {
            d.record(100 * MS);
            d.tick(t * 1000 * MS);
        }
        assert!(d.theta > low);
        assert!(d.theta <= 1.0);
    }

    #[test]
    fn switch_has_hysteresis() {
        let mut d = Dimmer::new(
            DegradeConfig::Switch {
                quantile: 0.99,
                above: 200 * MS,
                below: 100 * MS,
                window: 1000 * MS,
                period: 1000 * MS,
            },
            0,
        );
        d.record(300 * MS);
        d.tick(1000 * MS);
        assert_eq!(d.theta, 0.0);
        // Between the thresholds: stays off.
        d.record(150 * MS);
        d.tick(2000 * MS);
        assert_eq!(d.theta, 0.0);
        d.record(50 * MS);
        d.tick(3000 * MS);
        assert_eq!(d.theta, 1.0);
        // On for the first of three seconds only.
        assert!((d.mean(3000 * MS) - 1.0 / 3.0).abs() < 1e-12);
    }
}
