//! Random durations: service times and think times.

use crate::engine::{from_secs, Nanos, Stream};
use rand::Rng;
use rand_distr::{Distribution, Exp1, Gamma, LogNormal, Pareto};

/// A duration distribution ready to sample, in seconds internally.
#[derive(Clone, Debug)]
pub enum Sampler {
    Exponential { mean: f64 },
    Deterministic { value: Nanos },
    Uniform { min: f64, max: f64 },
    LogNormal(LogNormal<f64>),
    Gamma(Gamma<f64>),
    Pareto(Pareto<f64>),
    Empirical(Vec<Nanos>),
}

/// Parameters a sampler is built from; checked by the model before this is called.
#[derive(Clone, Debug, PartialEq)]
pub enum DistParams {
    Exponential { mean_s: f64 },
    Deterministic { value_s: f64 },
    Uniform { min_s: f64, max_s: f64 },
    LogNormal { mean_s: f64, cv: f64 },
    Gamma { mean_s: f64, cv: f64 },
    Erlang { k: u32, mean_s: f64 },
    Pareto { scale_s: f64, shape: f64 },
    Empirical { values_s: Vec<f64> },
}

impl DistParams {
    /// The mean in seconds (infinite for a Pareto with shape ≤ 1).
    pub fn mean_s(&self) -> f64 {
        match self {
            DistParams::Exponential { mean_s }
            | DistParams::LogNormal { mean_s, .. }
            | DistParams::Gamma { mean_s, .. }
            | DistParams::Erlang { mean_s, .. } => *mean_s,
            DistParams::Deterministic { value_s } => *value_s,
            DistParams::Uniform { min_s, max_s } => (min_s + max_s) / 2.0,
            DistParams::Pareto { scale_s, shape } if *shape > 1.0 => {
                scale_s * shape / (shape - 1.0)
            }
            DistParams::Pareto { .. } => f64::INFINITY,
            DistParams::Empirical { values_s } => {
                values_s.iter().sum::<f64>() / values_s.len().max(1) as f64
            }
        }
    }
}

impl Sampler {
    /// Builds a sampler; `Err` names the parameter that is out of range.
    pub fn new(p: &DistParams) -> Result<Sampler, String> {
        Ok(match *p {
            DistParams::Exponential { mean_s } => Sampler::Exponential { mean: mean_s },
            DistParams::Deterministic { value_s } => Sampler::Deterministic {
                value: from_secs(value_s),
            },
            DistParams::Uniform { min_s, max_s } => Sampler::Uniform {
                min: min_s,
                max: max_s,
            },
            DistParams::LogNormal { mean_s, cv } => {
                let sigma2 = (1.0 + cv * cv).ln();
                let mu = mean_s.ln() - sigma2 / 2.0;
                Sampler::LogNormal(LogNormal::new(mu, sigma2.sqrt()).map_err(|e| e.to_string())?)
            }
            DistParams::Gamma { mean_s, cv } => {
                let shape = 1.0 / (cv * cv);
                Sampler::Gamma(Gamma::new(shape, mean_s / shape).map_err(|e| e.to_string())?)
            }
            DistParams::Erlang { k, mean_s } => {
                let k = k as f64;
                Sampler::Gamma(Gamma::new(k, mean_s / k).map_err(|e| e.to_string())?)
            }
            DistParams::Pareto { scale_s, shape } => {
                Sampler::Pareto(Pareto::new(scale_s, shape).map_err(|e| e.to_string())?)
            }
            DistParams::Empirical { ref values_s } => {
                Sampler::Empirical(values_s.iter().map(|v| from_secs(*v)).collect())
            }
        })
    }

    /// Draws one duration, divided by `speed` (a faster machine takes less time).
    #[inline]
    pub fn sample(&self, rng: &mut Stream, speed: f64) -> Nanos {
        let secs = match self {
            Sampler::Exponential { mean } => {
                let e: f64 = Exp1.sample(rng);
                e * mean
            }
            Sampler::Deterministic { value } => {
                return if speed == 1.0 {
                    *value
                } else {
                    (*value as f64 / speed).round() as Nanos
                }
            }
            Sampler::Uniform { min, max } => min + (max - min) * rng.random::<f64>(),
            Sampler::LogNormal(d) => d.sample(rng),
            Sampler::Gamma(d) => d.sample(rng),
            Sampler::Pareto(d) => d.sample(rng),
            Sampler::Empirical(values) => {
                let v = values[rng.random_range(0..values.len())];
                return (v as f64 / speed).round() as Nanos;
            }
        };
        // Saturate rather than wrap: a heavy tail can draw absurd values.
        let ns = secs / speed * 1e9;
        if ns >= u64::MAX as f64 / 4.0 {
            u64::MAX / 4
        } else {
            ns.round() as Nanos
        }
    }
}
