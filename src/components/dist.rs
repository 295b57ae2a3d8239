//! Random durations: service times and think times.

use crate::engine::{from_secs, index_in, round_ns, Nanos, Stream};
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
                let v = values[index_in(rng, 0, values.len())];
                return (v as f64 / speed).round() as Nanos;
            }
        };
        // Saturate rather than wrap: a heavy tail can draw absurd values.
        let ns = secs / speed * 1e9;
        if ns >= u64::MAX as f64 / 4.0 {
            u64::MAX / 4
        } else {
            round_ns(ns)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::derive_stream;

    /// Sample mean and coefficient of variation of `n` draws, in seconds.
    fn moments(p: &DistParams, speed: f64, n: usize) -> (f64, f64) {
        let s = Sampler::new(p).unwrap();
        let mut rng = derive_stream(5, 0, "dist", "test");
        let xs: Vec<f64> = (0..n)
            .map(|_| s.sample(&mut rng, speed) as f64 / 1e9)
            .collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt() / mean)
    }

    #[test]
    fn means_and_variability_match_parameters() {
        let n = 400_000;
        let cases: Vec<(DistParams, f64, f64)> = vec![
            (DistParams::Exponential { mean_s: 0.01 }, 0.01, 1.0),
            (DistParams::Deterministic { value_s: 0.01 }, 0.01, 0.0),
            (
                DistParams::Uniform {
                    min_s: 0.0,
                    max_s: 0.02,
                },
                0.01,
                1.0 / 3f64.sqrt(),
            ),
            (
                DistParams::LogNormal {
                    mean_s: 0.01,
                    cv: 0.5,
                },
                0.01,
                0.5,
            ),
            (
                DistParams::Gamma {
                    mean_s: 0.01,
                    cv: 0.5,
                },
                0.01,
                0.5,
            ),
            (DistParams::Erlang { k: 4, mean_s: 0.01 }, 0.01, 0.5),
            // Pareto with shape 3: mean = 1.5·scale, cv = 1/sqrt(shape·(shape−2)).
            (
                DistParams::Pareto {
                    scale_s: 0.01,
                    shape: 3.0,
                },
                0.015,
                1.0 / 3f64.sqrt(),
            ),
            (
                DistParams::Empirical {
                    values_s: vec![0.005, 0.015],
                },
                0.01,
                0.5,
            ),
        ];
        for (p, mean, cv) in cases {
            assert!((p.mean_s() - mean).abs() < 1e-12, "{p:?}: mean_s");
            let (m, c) = moments(&p, 1.0, n);
            // The standard error of the mean is cv·mean/√n; allow five of them (plus rounding).
            let tol = 5.0 * cv * mean / (n as f64).sqrt() + 1e-9;
            assert!((m - mean).abs() < tol, "{p:?}: mean {m} vs {mean}");
            assert!((c - cv).abs() < 0.02 + 0.05 * cv, "{p:?}: cv {c} vs {cv}");
        }
    }

    #[test]
    fn speed_divides_work() {
        let p = DistParams::Exponential { mean_s: 0.01 };
        let (m1, _) = moments(&p, 1.0, 10_000);
        let (m2, _) = moments(&p, 2.0, 10_000);
        assert!((m1 / m2 - 2.0).abs() < 1e-6, "same draws, half the time");
    }
}
