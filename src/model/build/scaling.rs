//! Machine sizes, autoscalers and concurrency limits: their validation and configuration.

use super::*;

/// The slowest speed a replica may have (and the inverse, the fastest).
const MIN_SPEED: f64 = 1e-6;

pub(in crate::model) fn check_size(
    workers: u32,
    speed: f64,
    cost: f64,
) -> Result<(), (&'static str, String)> {
    if workers == 0 {
        return Err(("workers", "needs at least 1 worker per replica".into()));
    }
    crate::model::bounds::WORKERS
        .check(workers as u64)
        .map_err(|m| ("workers", m))?;
    if !(speed > 0.0 && speed.is_finite()) {
        return Err((
            "speed",
            format!("speed must be a positive number, not {speed}"),
        ));
    }
    if !(MIN_SPEED..=1.0 / MIN_SPEED).contains(&speed) {
        return Err((
            "speed",
            format!("speed {speed:?} is out of bounds: between {MIN_SPEED:?} and {:?} (a speed is relative to 1.0; beyond these a request's work rounds to nothing or outlasts any run)", 1.0 / MIN_SPEED),
        ));
    }
    if !(cost >= 0.0 && cost.is_finite()) {
        return Err(("cost_per_hour", "cost_per_hour must be zero or more".into()));
    }
    Ok(())
}

pub(in crate::model) fn unknown_size<V>(
    size: &str,
    sizes: &std::collections::BTreeMap<String, V>,
) -> String {
    if sizes.is_empty() {
        format!("no size `{size}`: the service has no `sizes`; add sizes: {{ \"{size}\": Size(workers: 4, speed: 1.0, cost_per_hour: 0.2) }}")
    } else {
        let known: Vec<String> = sizes.keys().map(|k| format!("`{k}`")).collect();
        format!("no size `{size}`; sizes are {}", known.join(", "))
    }
}

pub(in crate::model) fn autoscaler(
    a: &spec::AutoscalerSpec,
    svc: &spec::ServiceSpec,
    size: Size,
) -> Result<AutoscalerConfig, Problem> {
    use crate::components::autoscaler::{
        Adjustment, AzureConfig, Behavior, HpaConfig, Metric, PolicyConfig, RatePolicy,
        ScalingStep, Scheduled, Select, StepScalingConfig, TargetTrackingConfig, VerticalConfig,
    };
    use spec::{AdjustSpec, MetricSpec, RatePolicySpec, ScalingPolicySpec, SelectSpec};
    let replicas = svc.replicas;
    let vertical = matches!(a.policy, ScalingPolicySpec::Vertical { .. });
    let max = match (a.max, vertical) {
        (Some(m), _) => m,
        // A vertical policy leaves the count alone.
        (None, true) => replicas.max(a.min),
        (None, false) => {
            return Err((
                vec!["max"],
                "missing field `max`: the most replicas the autoscaler may run".into(),
            ))
        }
    };
    if a.min == 0 {
        return Err((
            vec!["min"],
            "min must be at least 1 (scaling to zero is not modelled)".into(),
        ));
    }
    if max < a.min {
        return Err((vec!["max"], format!("max ({max}) is below min ({})", a.min)));
    }
    crate::model::bounds::REPLICAS
        .check(max as u64)
        .map_err(|m| (vec!["max"], m))?;
    if !(a.min..=max).contains(&replicas) {
        return Err((
            vec!["min"],
            format!(
                "the service starts with {replicas} replicas, outside [min, max] = [{}, {max}]",
                a.min
            ),
        ));
    }
    let (metric, target) = match a.metric {
        MetricSpec::Utilization(t) => (Metric::Utilization, t),
        MetricSpec::Concurrency(t) => (Metric::Concurrency, t),
        MetricSpec::QueueLength(t) => (Metric::QueueLength, t),
        MetricSpec::RequestsPerReplica(t) => (Metric::RequestsPerReplica, t),
    };
    if !(target > 0.0 && target.is_finite()) {
        return Err((
            vec!["metric"],
            format!("the metric's target must be positive, not {target}"),
        ));
    }
    if metric == Metric::Utilization && target > 1.0 {
        return Err((
            vec!["metric"],
            format!("a utilization target is a fraction in (0, 1], not {target}"),
        ));
    }
    if a.window.0 < crate::components::autoscaler::SCRAPE {
        return Err((
            vec!["window"],
            "the window must be at least 1s (metrics are sampled every second)".into(),
        ));
    }
    let positive = |d: spec::Duration, field: &'static str| {
        if d.0 > 0 {
            Ok(d.0)
        } else {
            Err((vec![field], format!("{field} must be longer than zero")))
        }
    };
    let behavior = |b: &spec::BehaviorSpec,
                    default: Behavior,
                    field: &'static str|
     -> Result<Behavior, Problem> {
        let policies = match &b.policies {
            None => default.policies,
            Some(ps) => {
                let mut out = Vec::new();
                for p in ps {
                    let (value, period) = match p {
                        RatePolicySpec::Pods { value, period }
                        | RatePolicySpec::Percent { value, period } => (*value, *period),
                    };
                    if value == 0 || period.0 == 0 || period.0 > 1800 * 1_000_000_000 {
                        return Err((
                            vec![field, "policies"],
                            "a policy needs a value above 0 and a period in (0s, 30m]".into(),
                        ));
                    }
                    out.push(match p {
                        RatePolicySpec::Pods { .. } => RatePolicy::Pods {
                            value,
                            period: period.0,
                        },
                        RatePolicySpec::Percent { .. } => RatePolicy::Percent {
                            value,
                            period: period.0,
                        },
                    });
                }
                if out.is_empty() {
                    return Err((
                        vec![field, "policies"],
                        "at least one policy (or leave `policies` out for the defaults)".into(),
                    ));
                }
                out
            }
        };
        let stabilization = b.stabilization.map_or(default.stabilization, |d| d.0);
        if stabilization > 3600 * 1_000_000_000 {
            return Err((
                vec![field, "stabilization"],
                "a stabilization window is at most 1h".into(),
            ));
        }
        Ok(Behavior {
            stabilization,
            policies,
            select: match b.select {
                None => default.select,
                Some(SelectSpec::Max) => Select::Max,
                Some(SelectSpec::Min) => Select::Min,
                Some(SelectSpec::Disabled) => Select::Disabled,
            },
        })
    };
    let policy = match &a.policy {
        ScalingPolicySpec::Hpa {
            sync_period,
            tolerance,
            scale_up,
            scale_down,
        } => {
            if !(0.0..1.0).contains(tolerance) {
                return Err((
                    vec!["policy", "tolerance"],
                    format!("a tolerance is a fraction in [0, 1), not {tolerance}"),
                ));
            }
            PolicyConfig::Hpa(HpaConfig {
                sync_period: positive(*sync_period, "sync_period")?,
                tolerance: *tolerance,
                up: behavior(scale_up, Behavior::default_up(), "scale_up")?,
                down: behavior(scale_down, Behavior::default_down(), "scale_down")?,
            })
        }
        ScalingPolicySpec::TargetTracking {
            period,
            out_datapoints,
            in_datapoints,
            scale_out_cooldown,
            scale_in_cooldown,
            disable_scale_in,
        } => {
            if *out_datapoints == 0 || *in_datapoints == 0 {
                return Err((vec!["policy"], "datapoints must be at least 1".into()));
            }
            PolicyConfig::TargetTracking(TargetTrackingConfig {
                period: positive(*period, "period")?,
                out_datapoints: *out_datapoints,
                in_datapoints: *in_datapoints,
                out_cooldown: scale_out_cooldown.0,
                in_cooldown: scale_in_cooldown.0,
                disable_scale_in: *disable_scale_in,
            })
        }
        ScalingPolicySpec::Vertical {
            sizes,
            period,
            stabilization,
            strategy,
            restart,
        } => {
            if metric != Metric::Utilization {
                return Err((
                    vec!["metric"],
                    "vertical scaling works on `Utilization`: a bigger machine lowers it in proportion".into(),
                ));
            }
            let mut ladder = Vec::new();
            for name in sizes {
                let Some(z) = svc.sizes.get(name) else {
                    return Err((vec!["policy", "sizes"], unknown_size(name, &svc.sizes)));
                };
                ladder.push(Size {
                    workers: z.workers,
                    speed: z.speed,
                    cost_per_hour: z.cost_per_hour,
                });
            }
            let cap = |s: &Size| s.workers as f64 * s.speed;
            if ladder.is_empty() || ladder.windows(2).any(|w| cap(&w[0]) >= cap(&w[1])) {
                return Err((
                    vec!["policy", "sizes"],
                    "list at least one size, in order of increasing capacity (workers × speed)"
                        .into(),
                ));
            }
            let Some(initial) = svc
                .size
                .as_ref()
                .and_then(|n| sizes.iter().position(|x| x == n))
            else {
                return Err((
                    vec!["policy", "sizes"],
                    "the service's `size` must be one of the sizes listed".into(),
                ));
            };
            debug_assert_eq!(ladder[initial], size);
            PolicyConfig::Vertical(VerticalConfig {
                period: positive(*period, "period")?,
                sizes: ladder,
                initial,
                stabilization: stabilization.0,
                surge: matches!(strategy, spec::ResizeStrategy::Surge),
                restart: restart.map(|d| d.0),
            })
        }
        ScalingPolicySpec::StepScaling {
            period,
            steps,
            datapoints,
            cooldown,
        } => {
            if steps.is_empty() {
                return Err((
                    vec!["policy", "steps"],
                    "step scaling needs at least one step".into(),
                ));
            }
            let mut out: Vec<ScalingStep> = Vec::new();
            for st in steps {
                let lo = st.lower.unwrap_or(f64::NEG_INFINITY);
                let hi = st.upper.unwrap_or(f64::INFINITY);
                if lo >= hi || (lo < 0.0 && hi > 0.0) {
                    return Err((vec!["policy", "steps"], format!("a step's bounds must satisfy lower < upper on one side of the threshold (both ≥ 0 or both ≤ 0), not [{lo}, {hi}]")));
                }
                let overlaps = out.iter().any(|o| {
                    let (a, b) = (
                        o.lower.unwrap_or(f64::NEG_INFINITY),
                        o.upper.unwrap_or(f64::INFINITY),
                    );
                    lo < b && a < hi
                });
                if overlaps {
                    return Err((
                        vec!["policy", "steps"],
                        format!("steps overlap at [{lo}, {hi}]"),
                    ));
                }
                out.push(ScalingStep {
                    lower: st.lower,
                    upper: st.upper,
                    adjustment: match st.adjust {
                        AdjustSpec::Change(n) => Adjustment::Change(n),
                        AdjustSpec::Percent(p) => Adjustment::Percent(p),
                        AdjustSpec::Exact(n) => Adjustment::Exact(n),
                    },
                });
            }
            PolicyConfig::StepScaling(StepScalingConfig {
                period: positive(*period, "period")?,
                threshold: target,
                steps: out,
                datapoints: (*datapoints).max(1),
                cooldown: cooldown.0,
            })
        }
        ScalingPolicySpec::Gcp {
            period,
            stabilization,
            scale_in_control,
            only_scale_out,
        } => {
            if stabilization.0 > 3600 * 1_000_000_000 {
                return Err((
                    vec!["policy", "stabilization"],
                    "a stabilization period is at most 1h".into(),
                ));
            }
            let policies = match scale_in_control {
                None => Vec::new(),
                Some(c) => {
                    let window = positive(c.window, "scale_in_control.window")?;
                    match (c.max_replicas, c.max_percent) {
                        (Some(n), None) => vec![RatePolicy::Pods {
                            value: n,
                            period: window,
                        }],
                        (None, Some(p)) if (1..=100).contains(&p) => {
                            vec![RatePolicy::Percent {
                                value: p,
                                period: window,
                            }]
                        }
                        _ => {
                            return Err((
                                vec!["policy", "scale_in_control"],
                                "give either `max_replicas` or `max_percent` (1 to 100)".into(),
                            ))
                        }
                    }
                }
            };
            PolicyConfig::Hpa(HpaConfig {
                sync_period: positive(*period, "period")?,
                tolerance: 0.0,
                // Out at once to the recommendation, no rate limit.
                up: Behavior {
                    stabilization: 0,
                    policies: Vec::new(),
                    select: Select::Max,
                },
                down: Behavior {
                    stabilization: stabilization.0,
                    policies,
                    select: if *only_scale_out {
                        Select::Disabled
                    } else {
                        Select::Max
                    },
                },
            })
        }
        ScalingPolicySpec::Azure {
            period,
            out_above,
            in_below,
            out_by,
            in_by,
            cooldown,
        } => {
            if in_below >= out_above || !in_below.is_finite() || !out_above.is_finite() {
                return Err((
                    vec!["policy", "in_below"],
                    format!("scale in below a lower value than scale out above: {in_below} is not below {out_above}"),
                ));
            }
            let adjust = |a: &AdjustSpec, field: &'static str| match *a {
                AdjustSpec::Change(n) if n > 0 => Ok(Adjustment::Change(n)),
                AdjustSpec::Percent(p) if p > 0.0 && p.is_finite() => Ok(Adjustment::Percent(p)),
                AdjustSpec::Exact(n) => Ok(Adjustment::Exact(n)),
                _ => Err((
                    vec!["policy", field],
                    "a rule changes the count: a change of at least 1, or a percentage above 0"
                        .to_string(),
                )),
            };
            PolicyConfig::Azure(AzureConfig {
                period: positive(*period, "period")?,
                out_above: *out_above,
                in_below: *in_below,
                out_by: adjust(out_by, "out_by")?,
                in_by: adjust(in_by, "in_by")?,
                cooldown: cooldown.0,
            })
        }
    };
    let schedule = a
        .schedule
        .iter()
        .map(|s| Scheduled {
            at: s.at.0,
            min: s.min,
            max: s.max,
        })
        .collect();
    Ok(AutoscalerConfig {
        min: a.min,
        max,
        metric,
        target,
        window: a.window.0,
        lag: a.lag.0,
        policy,
        schedule,
    })
}

/// A concurrency limit from its spec, or what is wrong with it.
pub(in crate::model) fn concurrency_limit(
    l: spec::ConcurrencyLimitSpec,
    function: bool,
) -> Result<LimitAlgorithm, String> {
    use spec::ConcurrencyLimitSpec as S;
    if function {
        return Err("a function-style service limits each instance with `concurrency`".into());
    }
    let range = |initial: u32, min: u32, max: u32| {
        if min == 0 || min > initial || initial > max {
            Err(format!(
                "need 1 <= min <= initial <= max, got min {min}, initial {initial}, max {max}"
            ))
        } else {
            Ok(())
        }
    };
    Ok(match l {
        S::Fixed(0) => return Err("a limit of 0 would refuse every request".into()),
        S::Fixed(n) => LimitAlgorithm::Fixed(n),
        S::Aimd {
            initial,
            min,
            max,
            backoff,
            timeout,
        } => {
            range(initial, min, max)?;
            if !(0.5..1.0).contains(&backoff) {
                return Err(format!("the backoff ratio is in [0.5, 1), not {backoff}"));
            }
            if timeout.0 == 0 {
                return Err("the timeout must be longer than zero".into());
            }
            LimitAlgorithm::Aimd {
                initial,
                min,
                max,
                backoff,
                timeout: timeout.0,
            }
        }
        S::Gradient2 {
            initial,
            min,
            max,
            smoothing,
            queue_size,
            tolerance,
            long_window,
        } => {
            range(initial, min, max)?;
            if !(smoothing > 0.0 && smoothing <= 1.0) {
                return Err(format!("smoothing is in (0, 1], not {smoothing}"));
            }
            if tolerance.is_nan() || tolerance < 1.0 || long_window == 0 {
                return Err(format!(
                    "the RTT tolerance is at least 1 ({tolerance}) and the long window at least 1 sample ({long_window})"
                ));
            }
            LimitAlgorithm::Gradient2 {
                initial,
                min,
                max,
                smoothing,
                queue_size,
                tolerance,
                long_window,
            }
        }
        S::Vegas {
            initial,
            max,
            smoothing,
            probe_multiplier,
        } => {
            range(initial, 1, max)?;
            if !(smoothing > 0.0 && smoothing <= 1.0) {
                return Err(format!("smoothing is in (0, 1], not {smoothing}"));
            }
            if probe_multiplier == 0 {
                return Err("the probe multiplier is at least 1".into());
            }
            LimitAlgorithm::Vegas {
                initial,
                max,
                smoothing,
                probe_multiplier,
            }
        }
        S::EnvoyGradient {
            update_interval,
            percentile,
            max,
            min_rtt_interval,
            request_count,
            jitter,
            min_concurrency,
            buffer,
        } => {
            range(min_concurrency, 1, max)?;
            if update_interval.0 == 0 || min_rtt_interval.0 == 0 || request_count == 0 {
                return Err("the update and minRTT intervals are above zero, and a minRTT measurement takes at least 1 request".into());
            }
            let valid = percentile > 0.0
                && percentile <= 100.0
                && (0.0..=100.0).contains(&jitter)
                && buffer >= 0.0
                && buffer.is_finite();
            if !valid {
                return Err(format!(
                    "percentile in (0, 100], jitter in [0, 100] and buffer ≥ 0 (percent), not {percentile}, {jitter}, {buffer}"
                ));
            }
            LimitAlgorithm::EnvoyGradient {
                update_interval: update_interval.0,
                percentile,
                max,
                min_rtt_interval: min_rtt_interval.0,
                request_count,
                jitter,
                min_concurrency,
                buffer,
            }
        }
    })
}
