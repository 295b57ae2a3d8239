//! Horizontal autoscalers: the Kubernetes HPA, AWS target tracking and step scaling, and
//! scheduled changes of the bounds. Pure decision logic: the service owning an autoscaler
//! feeds it observations and applies the replica counts it returns.
//!
//! Semantics follow the Kubernetes controller and the AWS documentation (SEMANTICS.md §A1,
//! §A1b); where a detail is ours, the doc comment says so.

mod aws;
mod azure;
mod hpa;
mod vertical;

pub use aws::*;
pub use azure::*;
pub use hpa::*;
pub use vertical::*;

use super::size::Size;
use crate::engine::Nanos;
use std::collections::VecDeque;

/// What the autoscaler measures, averaged over its window on ready replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Busy workers / workers (0..1), like CPU utilization.
    Utilization,
    /// Requests in a replica (queued and in service).
    Concurrency,
    /// Requests waiting in a replica's queue.
    QueueLength,
    /// Arrivals per second per replica.
    RequestsPerReplica,
}

/// Cumulative totals of a service since time zero, sampled by the autoscaler.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Totals {
    /// Integrals over time (count × seconds) of busy workers, workers, requests in the
    /// service, queued requests and serving replicas.
    pub busy: f64,
    pub workers: f64,
    pub in_system: f64,
    pub queued: f64,
    pub serving: f64,
    pub arrivals: f64,
}

impl Metric {
    /// The metric over the interval between two samples; `None` without ready replicas.
    pub fn between(self, a: &Totals, b: &Totals) -> Option<f64> {
        let per = |num: f64, den: f64| (den > 0.0).then(|| num / den);
        match self {
            Metric::Utilization => per(b.busy - a.busy, b.workers - a.workers),
            Metric::Concurrency => per(b.in_system - a.in_system, b.serving - a.serving),
            Metric::QueueLength => per(b.queued - a.queued, b.serving - a.serving),
            Metric::RequestsPerReplica => per(b.arrivals - a.arrivals, b.serving - a.serving),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum PolicyConfig {
    Hpa(HpaConfig),
    TargetTracking(TargetTrackingConfig),
    StepScaling(StepScalingConfig),
    Azure(AzureConfig),
    Vertical(VerticalConfig),
}

/// A scheduled change of the bounds (as AWS scheduled actions, or a cron scaler).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scheduled {
    pub at: Nanos,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AutoscalerConfig {
    pub min: u32,
    pub max: u32,
    pub metric: Metric,
    /// The metric's target per replica (HPA, target tracking); step scaling uses its own
    /// threshold.
    pub target: f64,
    /// The metric is averaged over `window`, ending `lag` before the decision.
    pub window: Nanos,
    pub lag: Nanos,
    pub policy: PolicyConfig,
    pub schedule: Vec<Scheduled>,
}

/// How often the service samples its totals for the autoscaler: windows and lags are
/// resolved to this.
pub const SCRAPE: Nanos = 1_000_000_000;

enum State {
    Hpa(Hpa),
    TargetTracking(TargetTracking),
    StepScaling(StepScaling),
    Azure(Azure),
    Vertical(Vertical),
}

pub struct Autoscaler {
    pub cfg: AutoscalerConfig,
    state: State,
    samples: VecDeque<(Nanos, Totals)>,
    /// The bounds now (schedules change them).
    pub min: u32,
    pub max: u32,
}

impl Autoscaler {
    pub fn new(cfg: AutoscalerConfig) -> Self {
        let state = match &cfg.policy {
            PolicyConfig::Hpa(c) => State::Hpa(Hpa::new(c.clone())),
            PolicyConfig::TargetTracking(c) => {
                State::TargetTracking(TargetTracking::new(c.clone()))
            }
            PolicyConfig::StepScaling(c) => State::StepScaling(StepScaling::new(c.clone())),
            PolicyConfig::Azure(c) => State::Azure(Azure::new(c.clone())),
            PolicyConfig::Vertical(c) => State::Vertical(Vertical::new(c.clone())),
        };
        Autoscaler {
            min: cfg.min,
            max: cfg.max,
            cfg,
            state,
            samples: VecDeque::new(),
        }
    }

    /// Time between decisions.
    pub fn period(&self) -> Nanos {
        match &self.cfg.policy {
            PolicyConfig::Hpa(c) => c.sync_period,
            PolicyConfig::TargetTracking(c) => c.period,
            PolicyConfig::StepScaling(c) => c.period,
            PolicyConfig::Azure(c) => c.period,
            PolicyConfig::Vertical(c) => c.period,
        }
    }

    /// Stores a sample of the service's totals, keeping what the window and lag need.
    pub fn sample(&mut self, now: Nanos, totals: Totals) {
        self.samples.push_back((now, totals));
        let keep = self.cfg.window + self.cfg.lag + SCRAPE;
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.saturating_sub(*t) > keep)
        {
            self.samples.pop_front();
        }
    }

    /// The metric over `[now − lag − window, now − lag]`, from the latest samples at or
    /// before each end.
    pub fn observe(&self, now: Nanos) -> Option<f64> {
        let end = now.checked_sub(self.cfg.lag)?;
        let start = end.saturating_sub(self.cfg.window);
        let at = |t: Nanos| self.samples.iter().rev().find(|(s, _)| *s <= t);
        let (t0, a) = at(start)?;
        let (t1, b) = at(end)?;
        if t1 <= t0 {
            return None;
        }
        self.cfg.metric.between(a, b)
    }

    /// The replica count to set, given the current one (starting replicas included), the
    /// ready ones and those still starting.
    pub fn decide(&mut self, now: Nanos, current: u32, ready: u32, starting: u32) -> u32 {
        let metric = self.observe(now);
        let (min, max) = (self.min, self.max);
        let target = self.cfg.target;
        let desired = match &mut self.state {
            State::Hpa(h) => {
                let raw = match metric {
                    Some(m) => hpa_replicas(current, ready, starting, m / target, h.cfg.tolerance),
                    None => current,
                };
                h.normalize(now, current, raw, min, max)
            }
            State::TargetTracking(t) => t.decide(now, current, metric.map(|m| m / target)),
            State::StepScaling(s) => s.decide(now, current, ready, metric),
            State::Azure(a) => a.decide(now, current, metric, min, max),
            // A vertical policy leaves the count alone (see `resize`).
            State::Vertical(_) => return current,
        };
        desired.clamp(min, max)
    }

    /// A vertical policy's new size (an index into its sizes), if it wants one now.
    pub fn resize(&mut self, now: Nanos, busy: bool) -> Option<Size> {
        let metric = self.observe(now);
        let target = self.cfg.target;
        let State::Vertical(v) = &mut self.state else {
            return None;
        };
        v.recommend(now, metric, target, busy)
            .map(|j| v.cfg.sizes[j])
    }

    /// Tells the policy the replica count changed (HPA rate policies count changes).
    pub fn record(&mut self, now: Nanos, from: u32, to: u32) {
        if let State::Hpa(h) = &mut self.state {
            h.record(now, from, to);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Nanos = 1_000_000_000;

    fn hpa(up: Behavior, down: Behavior) -> Hpa {
        Hpa::new(HpaConfig {
            sync_period: 15 * S,
            tolerance: 0.1,
            up,
            down,
        })
    }

    #[test]
    fn replica_calculator_matches_the_documented_formula() {
        // Docs: current 200m, target 100m → double; 50m → halve.
        assert_eq!(hpa_replicas(4, 4, 0, 200.0 / 100.0, 0.1), 8);
        assert_eq!(hpa_replicas(4, 4, 0, 50.0 / 100.0, 0.1), 2);
        // ceil, not round.
        assert_eq!(hpa_replicas(3, 3, 0, 1.5, 0.1), 5);
        // Within tolerance (|1 − ratio| ≤ 0.1): no change, even where ceil would move.
        assert_eq!(hpa_replicas(10, 10, 0, 1.05, 0.1), 10);
        assert_eq!(hpa_replicas(10, 10, 0, 0.9, 0.1), 10);
        assert_eq!(hpa_replicas(10, 10, 0, 1.11, 0.1), 12);
        // The code uses ready pods, not the spec's count.
        assert_eq!(hpa_replicas(6, 4, 0, 0.5, 0.1), 2);
        // Starting pods count as 0% on scale-up: 4 ready at 1.2 with 2 starting recompute
        // to 0.8, a flip in direction, so no change; at 2.0 it still scales.
        assert_eq!(hpa_replicas(6, 4, 2, 1.2, 0.1), 6);
        assert_eq!(hpa_replicas(6, 4, 2, 2.0, 0.1), 8);
    }

    #[test]
    fn scale_down_stabilization_takes_the_highest_recommendation_in_the_window() {
        let mut h = hpa(Behavior::default_up(), Behavior::default_down());
        let mut current = 10;
        // Recommendations 10, 4, 6, 3 every 15 s: the 300 s window holds the 10.
        for (i, raw) in [10, 4, 6, 3].into_iter().enumerate() {
            let now = 1000 * S + i as u64 * 15 * S;
            let d = h.normalize(now, current, raw, 1, 20);
            h.record(now, current, d);
            current = d;
            assert_eq!(current, 10, "recommendation {raw}");
        }
        // 300 s after the 10 left the window, the highest left is 6.
        let d = h.normalize(1000 * S + 301 * S, current, 3, 1, 20);
        assert_eq!(d, 6);
        h.record(1000 * S + 301 * S, current, d);
        // Once the 6 (recorded at 1030 s) has left the window, only 3s remain.
        let d2 = h.normalize(1000 * S + 346 * S, d, 3, 1, 20);
        assert_eq!(d2, 3);
    }

    #[test]
    fn scale_up_window_takes_the_lowest_recommendation() {
        let up = Behavior {
            stabilization: 60 * S,
            ..Behavior::default_up()
        };
        let mut h = hpa(up, Behavior::default_down());
        assert_eq!(h.normalize(100 * S, 2, 2, 1, 20), 2);
        // A spike to 8 is held at the lowest of the last 60 s (2)…
        assert_eq!(h.normalize(115 * S, 2, 8, 1, 20), 2);
        assert_eq!(h.normalize(130 * S, 2, 8, 1, 20), 2);
        // …until the 2 leaves the window; then the default rate policies allow 2 → 6
        // (4 pods beat 100%).
        assert_eq!(h.normalize(161 * S, 2, 8, 1, 20), 6);
    }

    #[test]
    fn percent_policy_scales_down_as_the_documented_example() {
        // Docs: Percent 10 per 60 s (with Pods 4 per 60 s, Max): 80 → 72 → 64 ….
        let down = Behavior {
            stabilization: 0,
            policies: vec![
                RatePolicy::Pods {
                    value: 4,
                    period: 60 * S,
                },
                RatePolicy::Percent {
                    value: 10,
                    period: 60 * S,
                },
            ],
            select: Select::Max,
        };
        let mut h = hpa(Behavior::default_up(), down);
        let mut current = 80;
        let mut now = 0;
        let mut seen = vec![current];
        while current > 10 && now < 3600 * S {
            now += 61 * S;
            let d = h.normalize(now, current, 10, 1, 100);
            h.record(now, current, d);
            current = d;
            seen.push(current);
        }
        assert_eq!(&seen[..4], &[80, 72, 64, 57]);
        // With 40 or fewer replicas the Pods policy allows more change: 4 per period.
        let i = seen.iter().position(|&c| c <= 40).unwrap();
        assert_eq!(seen[i + 1], seen[i] - 4);
        assert_eq!(*seen.last().unwrap(), 10);
    }

    #[test]
    fn rate_policies_count_changes_within_the_period() {
        // Scale-up Pods 4 per 60 s: two syncs 15 s apart may add 4 in all.
        let up = Behavior {
            stabilization: 0,
            policies: vec![RatePolicy::Pods {
                value: 4,
                period: 60 * S,
            }],
            select: Select::Max,
        };
        let mut h = hpa(up, Behavior::default_down());
        let d = h.normalize(100 * S, 2, 20, 1, 50);
        assert_eq!(d, 6);
        h.record(100 * S, 2, d);
        assert_eq!(h.normalize(115 * S, 6, 20, 1, 50), 6);
        // Once the change is older than the period: 4 more.
        assert_eq!(h.normalize(161 * S, 6, 20, 1, 50), 10);
    }

    #[test]
    fn select_min_and_disabled() {
        let up = |select| Behavior {
            stabilization: 0,
            select,
            ..Behavior::default_up()
        };
        // Default policies: 100% or 4 pods. From 10: Max allows 20, Min allows 14.
        assert_eq!(
            hpa(up(Select::Max), Behavior::default_down()).normalize(0, 10, 40, 1, 50),
            20
        );
        assert_eq!(
            hpa(up(Select::Min), Behavior::default_down()).normalize(0, 10, 40, 1, 50),
            14
        );
        assert_eq!(
            hpa(up(Select::Disabled), Behavior::default_down()).normalize(0, 10, 40, 1, 50),
            10
        );
    }

    #[test]
    fn bounds_hold() {
        let mut h = hpa(Behavior::default_up(), Behavior::default_down());
        assert_eq!(h.normalize(0, 5, 100, 2, 8), 8);
        let mut h = hpa(Behavior::default_up(), Behavior::default_down());
        // A new autoscaler does not scale down at once: its window starts with the current 5.
        assert_eq!(h.normalize(0, 5, 0, 2, 8), 5);
        let mut h = hpa(
            Behavior::default_up(),
            Behavior {
                stabilization: 0,
                ..Behavior::default_down()
            },
        );
        assert_eq!(h.normalize(0, 5, 0, 2, 8), 2);
    }

    #[test]
    fn target_tracking_needs_consecutive_datapoints_and_cools_down() {
        let mut t = TargetTracking::new(TargetTrackingConfig {
            period: 60 * S,
            out_datapoints: 3,
            in_datapoints: 15,
            out_cooldown: 300 * S,
            in_cooldown: 300 * S,
            disable_scale_in: false,
        });
        assert_eq!(t.decide(60 * S, 4, Some(2.0)), 4);
        assert_eq!(t.decide(120 * S, 4, Some(2.0)), 4);
        assert_eq!(t.decide(180 * S, 4, Some(2.0)), 8);
        // In the scale-out cooldown the 4 added count: 4 × 1.5 = 6 is not a larger scale-out…
        assert_eq!(t.decide(240 * S, 8, Some(1.5)), 8);
        // …4 × 2.5 = 10 is.
        assert_eq!(t.decide(300 * S, 8, Some(2.5)), 10);
        let mut now = 300 * S;
        let mut c = 10;
        for _ in 0..15 {
            now += 60 * S;
            c = t.decide(now, c, Some(0.4));
        }
        assert_eq!(c, 4);
        // The scale-in cooldown holds further scale-in…
        now += 60 * S;
        assert_eq!(t.decide(now, c, Some(0.5)), 4);
        // …until it has passed.
        assert_eq!(t.decide(now + 300 * S, c, Some(0.5)), 2);
    }

    #[test]
    fn without_a_scale_out_cooldown_alarms_on_starting_capacity_compound() {
        // Application Auto Scaling: "while the cooldown period is in effect, the capacity
        // that has been added by the previous scale out event that initiated the cooldown is
        // calculated as part of the desired capacity for the next scale out".
        let run = |cooldown: Nanos| {
            let mut t = TargetTracking::new(TargetTrackingConfig {
                period: 60 * S,
                out_datapoints: 1,
                in_datapoints: 15,
                out_cooldown: cooldown,
                in_cooldown: 300 * S,
                disable_scale_in: false,
            });
            // Four replicas run at twice the target; the ones added take 3 minutes to start,
            // so the metric (over ready replicas) stays at 2× for three alarms.
            let mut c = 4;
            let trail: Vec<u32> = (1..=3)
                .map(|m| {
                    c = t.decide(m * 60 * S, c, Some(2.0));
                    c
                })
                .collect();
            trail
        };
        assert_eq!(run(300 * S), vec![8, 8, 8]);
        assert_eq!(run(0), vec![8, 16, 32]);
        // A cooldown shorter than the start-up lets the third alarm add again.
        assert_eq!(run(90 * S), vec![8, 8, 16]);
    }

    #[test]
    fn azure_skips_a_scale_in_that_would_flap_and_cools_down() {
        let mut a = Azure::new(AzureConfig {
            period: 60 * S,
            out_above: 0.8,
            in_below: 0.6,
            out_by: Adjustment::Change(1),
            in_by: Adjustment::Change(1),
            cooldown: 300 * S,
        });
        // Azure's example: 2 instances at 50%: one would run at 100%, past the 80% scale-out
        // threshold, so the scale-in is skipped.
        assert_eq!(a.decide(0, 2, Some(0.5), 1, 10), 2);
        assert_eq!(a.flapping_skipped, 1);
        // 3 instances at 50%: two would run at 75%, below it: scale in.
        assert_eq!(a.decide(60 * S, 3, Some(0.5), 1, 10), 2);
        // The cooldown holds every action for 5 minutes, scale-outs included…
        assert_eq!(a.decide(120 * S, 2, Some(0.95), 1, 10), 2);
        // …then one step at a time.
        assert_eq!(a.decide(360 * S, 2, Some(0.95), 1, 10), 3);
        // A percentage rounds up to at least one instance.
        let mut p = Azure::new(AzureConfig {
            out_by: Adjustment::Percent(20.0),
            ..a.cfg.clone()
        });
        assert_eq!(p.decide(0, 11, Some(0.9), 1, 20), 14);
        assert_eq!(p.decide(300 * S, 14, Some(0.9), 1, 15), 15, "the max holds");
    }

    #[test]
    fn step_bounds_follow_the_aws_rules() {
        let s = StepScaling::new(StepScalingConfig {
            period: 60 * S,
            threshold: 0.5,
            steps: vec![
                ScalingStep {
                    lower: Some(0.0),
                    upper: Some(0.2),
                    adjustment: Adjustment::Change(1),
                },
                ScalingStep {
                    lower: Some(0.2),
                    upper: None,
                    adjustment: Adjustment::Percent(50.0),
                },
                ScalingStep {
                    lower: None,
                    upper: Some(-0.2),
                    adjustment: Adjustment::Change(-1),
                },
            ],
            datapoints: 1,
            cooldown: 300 * S,
        });
        let adj = |m: f64| s.step_for(m).map(|x| x.adjustment);
        assert_eq!(adj(0.5), Some(Adjustment::Change(1)));
        assert_eq!(adj(0.69), Some(Adjustment::Change(1)));
        assert_eq!(adj(0.75), Some(Adjustment::Percent(50.0)));
        assert_eq!(adj(0.4), None);
        assert_eq!(adj(0.3), Some(Adjustment::Change(-1)));
        let mut s = s;
        assert_eq!(s.decide(0, 4, 4, Some(0.8)), 6);
        // Two of four replicas still starting: the step adds to the ready ones only.
        assert_eq!(s.decide(60 * S, 6, 4, Some(0.6)), 6);
        assert_eq!(s.decide(120 * S, 6, 6, Some(0.1)), 5);
        assert_eq!(s.decide(180 * S, 5, 5, Some(0.1)), 5);
    }

    #[test]
    fn vertical_moves_up_at_once_and_down_after_the_window() {
        let size = |workers, speed| Size {
            workers,
            speed,
            cost_per_hour: 0.0,
        };
        let mut v = Vertical::new(VerticalConfig {
            period: 60 * S,
            sizes: vec![size(2, 1.0), size(4, 1.0), size(4, 2.0)],
            initial: 0,
            stabilization: 300 * S,
            surge: false,
            restart: None,
        });
        // 90% of 2 workers = 1.8 busy: 4 workers would run at 45%, under the 60% target.
        assert_eq!(v.recommend(0, Some(0.9), 0.6, false), Some(1));
        // 1.8 busy on 4 workers: where it is. Load falls to 0.8 busy (20%): 2 workers would
        // do (40%), but not before the 5-minute window has passed.
        assert_eq!(v.recommend(60 * S, Some(0.45), 0.6, false), None);
        for t in [120, 180, 240, 300] {
            assert_eq!(v.recommend(t * S, Some(0.2), 0.6, false), None, "at {t} s");
        }
        // The recommendation of size 1 (at 60 s) has left the window.
        assert_eq!(v.recommend(360 * S, Some(0.2), 0.6, false), Some(0));
        // Nothing starts while a resize is rolling out; then it does. Saturated at 2 busy
        // workers, the size to hold 60% is 4 workers (50%).
        assert_eq!(v.recommend(420 * S, Some(1.0), 0.6, true), None);
        assert_eq!(v.recommend(480 * S, Some(1.0), 0.6, false), Some(1));
    }

    #[test]
    fn observes_over_the_window_ending_lag_ago() {
        let mut a = Autoscaler::new(AutoscalerConfig {
            min: 1,
            max: 10,
            metric: Metric::Concurrency,
            target: 1.0,
            window: 10 * S,
            lag: 5 * S,
            policy: PolicyConfig::Hpa(HpaConfig {
                sync_period: 15 * S,
                tolerance: 0.1,
                up: Behavior::default_up(),
                down: Behavior::default_down(),
            }),
            schedule: vec![],
        });
        // One replica; 2 requests in it until 20 s, then 6.
        let mut t = Totals::default();
        for s in 1..=40u64 {
            let level = if s <= 20 { 2.0 } else { 6.0 };
            t.in_system += level;
            t.serving += 1.0;
            a.sample(s * S, t);
            if s == 30 {
                // Window [15 s, 25 s]: 5 s at 2 and 5 s at 6.
                assert_eq!(a.observe(30 * S), Some(4.0));
            }
        }
        assert_eq!(a.observe(40 * S), Some(6.0));
        // Not enough history yet: no observation.
        assert_eq!(a.observe(3 * S), None);
    }
}
