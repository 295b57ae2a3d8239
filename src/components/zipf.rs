//! Zipf-distributed keys, drawn exactly as `rand_distr::Zipf` draws them (rejection-inversion,
//! the same uniforms in the same order, the same floating-point operations), for a few
//! hundred instructions less per key: a draw's two powers are most of its cost, and one of
//! them only ever sees small integers, the other is the identity when s = 1.

use rand::Rng;

/// Powers x^(−s) kept for the integers x up to this (the candidates a draw mostly makes:
/// with s = 1 and a million keys, three in four are at most 4,096).
const TABLE: usize = 1 << 16;

/// Keys 1..=n with P(k) ∝ k^(−s).
pub struct ZipfKeys {
    s: f64,
    t: f64,
    q: f64,
    /// x^(−s) for integer x (0 = not computed yet; a power that underflows to 0 is simply
    /// computed every time).
    neg_powers: Vec<f64>,
}

impl ZipfKeys {
    /// As `rand_distr::Zipf::new(n, s)`: `n ≥ 1`, `s ≥ 0`.
    pub fn new(n: u64, s: f64) -> Result<ZipfKeys, String> {
        let n_f = n as f64;
        if s.is_nan() || s < 0.0 {
            return Err("s < 0 or is NaN in Zipf distribution".into());
        }
        if n_f < 1.0 {
            return Err("n < 1 in Zipf distribution".into());
        }
        let q = if s != 1.0 { 1.0 / (1.0 - s) } else { 0.0 };
        let t = if s != 1.0 {
            (n_f.powf(1.0 - s) - s) * q
        } else {
            1.0 + n_f.ln()
        };
        // The largest candidate is floor(n + 1).
        let len = (n as usize).saturating_add(2).min(TABLE);
        Ok(ZipfKeys {
            s,
            t,
            q,
            neg_powers: vec![0.0; len],
        })
    }

    #[inline]
    fn inv_cdf(&self, p: f64) -> f64 {
        let pt = p * self.t;
        if pt <= 1.0 {
            pt
        } else if self.s != 1.0 {
            (pt * (1.0 - self.s) + self.s).powf(self.q)
        } else {
            (pt - 1.0).exp()
        }
    }

    /// x^(−s) for a candidate x (a whole number ≥ 1): the same value `powf` gives.
    #[inline]
    fn neg_power(&mut self, x: f64) -> f64 {
        let i = x as usize;
        match self.neg_powers.get_mut(i) {
            Some(p) if *p != 0.0 => *p,
            Some(p) => {
                *p = x.powf(-self.s);
                *p
            }
            None => x.powf(-self.s),
        }
    }

    /// A key in 1..=n.
    #[inline]
    pub fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> u64 {
        loop {
            let inv_b = self.inv_cdf(rng.random::<f64>());
            let x = floor_non_negative(inv_b + 1.0);
            let mut ratio = self.neg_power(x);
            if x > 1.0 {
                // pow(v, 1) is v exactly: the exact result is representable and every libm's
                // pow is within one unit in the last place.
                ratio *= if self.s == 1.0 {
                    inv_b
                } else {
                    inv_b.powf(self.s)
                };
            }
            let y: f64 = rng.random();
            if y < ratio {
                return x as u64;
            }
        }
    }
}

/// `v.floor()` for `v` ≥ 0 (or NaN), without the library call `floor` compiles to on
/// targets without SSE4.1: below 2^52 truncating is flooring, and from 2^52 on every float
/// is whole.
#[inline(always)]
fn floor_non_negative(v: f64) -> f64 {
    debug_assert!(v >= 0.0 || v.is_nan(), "negative {v}");
    if v < (1u64 << 52) as f64 {
        (v as i64) as f64
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Zipf};

    #[test]
    fn floor_non_negative_is_floor() {
        let two52 = (1u64 << 52) as f64;
        let mut cases = vec![
            0.0,
            0.5,
            1.0,
            1.0 - f64::EPSILON / 2.0,
            2.5,
            1e6 + 0.999,
            two52 - 0.5,
            two52,
            two52 + 1.0,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::MIN_POSITIVE,
        ];
        // Just below and at whole numbers, where truncating and flooring could part.
        for w in [1.0, 2.0, 3.0, 100_000.0, 1e15, two52 - 1.0] {
            cases.extend([f64::from_bits(w.to_bits() - 1), w, w + 0.5]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..100_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            cases.push(f64::from_bits(x >> 1)); // every non-negative bit pattern alike
        }
        for v in cases {
            let (got, want) = (floor_non_negative(v), v.floor());
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "{v}"
            );
        }
    }

    /// The same keys as rand_distr's sampler from the same stream, draw for draw, over
    /// exponents on both sides of 1 and at 1, key counts small and large.
    #[test]
    fn draws_exactly_what_rand_distr_draws() {
        for (n, s) in [
            (100_000u64, 1.0),
            (1_000, 1.1),
            (2_000, 0.9),
            (10, 0.5),
            (1, 1.0),
            (5_000_000, 1.2),
            (300, 0.0),
            (50, 2.5),
        ] {
            let theirs = Zipf::new(n as f64, s).unwrap();
            let mut ours = ZipfKeys::new(n, s).unwrap();
            let mut a = rand_pcg::Pcg64Mcg::seed_from_u64(n ^ s.to_bits());
            let mut b = a.clone();
            for i in 0..200_000 {
                let want = theirs.sample(&mut a) as u64;
                assert_eq!(ours.sample(&mut b), want, "n {n}, s {s}, draw {i}");
                assert!((1..=n).contains(&want));
            }
        }
    }

    #[test]
    fn rejects_what_rand_distr_rejects() {
        assert!(ZipfKeys::new(0, 1.0).is_err());
        assert!(ZipfKeys::new(10, -1.0).is_err());
        assert!(ZipfKeys::new(10, f64::NAN).is_err());
    }
}
