//! Mean, 95% confidence interval (Student t), min and max over replications.

/// Aggregate of one metric over replications. Undefined (NaN) samples are left out; with
/// fewer than two defined samples the confidence interval is undefined (NaN).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aggregate {
    pub mean: f64,
    pub ci95: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Aggregate {
    pub fn of(samples: &[f64]) -> Aggregate {
        let defined: Vec<f64> = samples.iter().copied().filter(|x| !x.is_nan()).collect();
        let n = defined.len();
        if n == 0 {
            return Aggregate {
                mean: f64::NAN,
                ci95: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
                n,
            };
        }
        let mean = defined.iter().sum::<f64>() / n as f64;
        let min = defined.iter().copied().fold(f64::INFINITY, f64::min);
        let max = defined.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let ci95 = if n < 2 {
            f64::NAN
        } else {
            let var = defined.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            student_t_975(n - 1) * (var / n as f64).sqrt()
        };
        Aggregate {
            mean,
            ci95,
            min,
            max,
            n,
        }
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (two-sided 95% interval),
/// found by bisection on the t distribution's CDF.
pub fn student_t_975(df: usize) -> f64 {
    student_t(df, 0.975)
}

/// The `p` quantile (0.5 ≤ p < 1) of Student's t with `df` degrees of freedom.
pub fn student_t(df: usize, p: f64) -> f64 {
    assert!(df >= 1 && (0.5..1.0).contains(&p));
    let nu = df as f64;
    let (mut lo, mut hi) = (0.0f64, 20.0f64);
    while t_cdf(hi, nu) < p && hi < 1e12 {
        hi *= 10.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, nu) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// CDF of Student's t at t >= 0: 1 - I_x(nu/2, 1/2) / 2 with x = nu / (nu + t²).
fn t_cdf(t: f64, nu: f64) -> f64 {
    let x = nu / (nu + t * t);
    1.0 - 0.5 * incomplete_beta(x, nu / 2.0, 0.5)
}

/// The regularized incomplete beta function I_x(a, b) (continued fraction, Numerical Recipes).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(1.0 - x, b, a) / b
    }
}

fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn t_quantiles_match_tables() {
        // Standard two-sided 95% critical values.
        for (df, t) in [
            (1, 12.706),
            (2, 4.303),
            (4, 2.776),
            (9, 2.262),
            (29, 2.045),
            (1000, 1.962),
        ] {
            assert_relative_eq!(student_t_975(df), t, max_relative = 1e-3);
        }
    }

    #[test]
    fn aggregates_skip_undefined_samples() {
        let a = Aggregate::of(&[1.0, f64::NAN, 3.0]);
        assert_eq!((a.mean, a.min, a.max, a.n), (2.0, 1.0, 3.0, 2));
        assert_relative_eq!(a.ci95, 12.706 * (2.0f64 / 2.0).sqrt(), max_relative = 1e-3);
        assert!(Aggregate::of(&[5.0]).ci95.is_nan());
    }
}
