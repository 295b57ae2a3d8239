//! Arrival processes and duration distributions, with their errors located by path.

use super::*;

pub(in crate::model) fn positive_rate(rate: f64) -> Result<(), Problem> {
    if rate > 0.0 && rate.is_finite() {
        Ok(())
    } else {
        Err((
            vec!["rate"],
            format!("rate must be a positive number of requests per second, not {rate}"),
        ))
    }
}

pub(in crate::model) fn arrivals(a: &ArrivalsSpec, base: &Path) -> Result<Arrivals, Problem> {
    Ok(match a {
        ArrivalsSpec::Poisson { rate } => {
            positive_rate(*rate)?;
            Arrivals::Poisson { rate: *rate }
        }
        ArrivalsSpec::Constant { rate } => {
            positive_rate(*rate)?;
            Arrivals::Constant { rate: *rate }
        }
        ArrivalsSpec::Schedule { steps } => {
            if steps.is_empty() {
                return Err((vec!["steps"], "a schedule needs at least one step".into()));
            }
            for (i, w) in steps.windows(2).enumerate() {
                if w[1].at.0 <= w[0].at.0 {
                    return Err((
                        vec!["steps", INDEX[(i + 1).min(INDEX.len() - 1)]],
                        "schedule steps must be in strictly increasing time order".into(),
                    ));
                }
            }
            for (i, s) in steps.iter().enumerate() {
                if !(s.rate >= 0.0 && s.rate.is_finite()) {
                    return Err((
                        vec!["steps", INDEX[i.min(INDEX.len() - 1)], "rate"],
                        format!("a step's rate must be zero or more, not {}", s.rate),
                    ));
                }
            }
            if steps.iter().all(|s| s.rate == 0.0) {
                return Err((
                    vec!["steps"],
                    "every step has rate 0: no request would arrive".into(),
                ));
            }
            Arrivals::Schedule {
                steps: steps.iter().map(|s| (s.at.0, s.rate)).collect(),
            }
        }
        ArrivalsSpec::Bursty {
            base: b,
            burst,
            base_for,
            burst_for,
        } => {
            for (field, r) in [("base", *b), ("burst", *burst)] {
                if !(r >= 0.0 && r.is_finite()) {
                    return Err((
                        vec![field],
                        format!("{field} must be a rate of zero or more, not {r}"),
                    ));
                }
            }
            if *b == 0.0 && *burst == 0.0 {
                return Err((
                    vec!["burst"],
                    "both rates are 0: no request would arrive".into(),
                ));
            }
            for (field, d) in [("base_for", base_for), ("burst_for", burst_for)] {
                if d.0 == 0 {
                    return Err((vec![field], format!("{field} must be longer than zero")));
                }
            }
            Arrivals::Bursty {
                rates: [*b, *burst],
                dwell_s: [base_for.secs(), burst_for.secs()],
            }
        }
        ArrivalsSpec::Diurnal {
            mean,
            amplitude,
            period,
            phase,
        } => {
            positive_rate(*mean).map_err(|(_, m)| (vec!["mean"], m))?;
            if !(0.0..=1.0).contains(amplitude) {
                return Err((
                    vec!["amplitude"],
                    format!(
                        "amplitude must be in [0, 1] (a rate cannot go negative), not {amplitude}"
                    ),
                ));
            }
            if period.0 == 0 {
                return Err((vec!["period"], "period must be longer than zero".into()));
            }
            Arrivals::Diurnal {
                mean: *mean,
                amplitude: *amplitude,
                period_s: period.secs(),
                phase_s: phase.secs(),
            }
        }
        ArrivalsSpec::Trace { file } => {
            let events =
                crate::model::trace::load(&base.join(file)).map_err(|m| (vec!["file"], m))?;
            Arrivals::Trace(std::sync::Arc::new(events))
        }
        ArrivalsSpec::Closed { users, think } => {
            if *users == 0 {
                return Err((
                    vec!["users"],
                    "a closed-loop client needs at least 1 user".into(),
                ));
            }
            crate::model::bounds::USERS
                .check(*users as u64)
                .map_err(|m| (vec!["users"], m))?;
            let think = dist(think).map_err(|(mut p, m)| {
                p.insert(0, "think");
                (p, format!("think: {m}"))
            })?;
            Arrivals::Closed {
                users: *users,
                think,
            }
        }
    })
}

/// Path segments for list indices, so problems in a list point at the item.
pub(in crate::model) const INDEX: [&str; 16] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

/// The largest coefficient of variation of a lognormal or gamma distribution. Far above it,
/// nearly every sample rounds to 0 ns and the mean rests on samples rarer than any run draws
/// (a run would report a mean latency of zero for a distribution whose mean is not).
const MAX_CV: f64 = 100.0;

fn cv_in_bounds(cv: f64) -> Result<(), Problem> {
    if cv <= MAX_CV {
        return Ok(());
    }
    Err((
        vec!["cv"],
        format!("a coefficient of variation of {cv:?} is over the bound: at most {MAX_CV:?} (beyond it nearly every sample rounds to 0 ns and the mean rests on samples no run draws; measured service times have cv in single digits)"),
    ))
}

pub(in crate::model) fn dist(d: &Dist) -> Result<DistParams, Problem> {
    let positive = |field: &'static str, v: f64, what: &str| {
        if v > 0.0 && v.is_finite() {
            Ok(())
        } else {
            Err((vec![field], format!("{what} must be positive, not {v}")))
        }
    };
    Ok(match d {
        Dist::Exponential { mean } => {
            positive("mean", mean.secs(), "the mean")?;
            DistParams::Exponential {
                mean_s: mean.secs(),
            }
        }
        Dist::Deterministic { value } => DistParams::Deterministic {
            value_s: value.secs(),
        },
        Dist::Uniform { min, max } => {
            if min.0 > max.0 {
                return Err((vec!["max"], "max must not be below min".into()));
            }
            DistParams::Uniform {
                min_s: min.secs(),
                max_s: max.secs(),
            }
        }
        Dist::LogNormal { mean, cv } => {
            positive("mean", mean.secs(), "the mean")?;
            positive("cv", *cv, "the coefficient of variation")?;
            cv_in_bounds(*cv)?;
            DistParams::LogNormal {
                mean_s: mean.secs(),
                cv: *cv,
            }
        }
        Dist::Gamma { mean, cv } => {
            positive("mean", mean.secs(), "the mean")?;
            positive("cv", *cv, "the coefficient of variation")?;
            cv_in_bounds(*cv)?;
            DistParams::Gamma {
                mean_s: mean.secs(),
                cv: *cv,
            }
        }
        Dist::Erlang { k, mean } => {
            positive("mean", mean.secs(), "the mean")?;
            if *k == 0 {
                return Err((
                    vec!["k"],
                    "k (the number of phases) must be at least 1".into(),
                ));
            }
            DistParams::Erlang {
                k: *k,
                mean_s: mean.secs(),
            }
        }
        Dist::Pareto { scale, shape } => {
            positive("scale", scale.secs(), "the scale")?;
            positive("shape", *shape, "the shape")?;
            if *shape <= 1.0 {
                return Err((
                    vec!["shape"],
                    format!("shape {shape} gives an infinite mean; use a shape above 1"),
                ));
            }
            DistParams::Pareto {
                scale_s: scale.secs(),
                shape: *shape,
            }
        }
        Dist::Empirical { values } => {
            if values.is_empty() {
                return Err((
                    vec!["values"],
                    "an empirical distribution needs at least one value".into(),
                ));
            }
            DistParams::Empirical {
                values_s: values.iter().map(|v| v.secs()).collect(),
            }
        }
    })
}
