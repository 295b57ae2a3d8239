//! Queueing theory the simulator is checked against, computed from the textbook formulas.
//!
//! Rates are per second, times in seconds. `a = λ/μ` is the offered load in Erlangs.

/// Erlang B: the probability that an arrival finds all `c` servers busy in M/M/c/c (lost).
pub fn erlang_b(c: u32, a: f64) -> f64 {
    // The stable recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
    (1..=c).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

/// Erlang C: the probability that an arrival waits in M/M/c (requires a < c).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(a < c as f64, "M/M/c is unstable at a ≥ c");
    let b = erlang_b(c, a);
    c as f64 * b / (c as f64 - a * (1.0 - b))
}

/// Mean wait in queue of M/M/c with arrival rate `lambda` and service rate `mu` per server.
pub fn mmc_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (c as f64 * mu - lambda)
}

/// M/M/c/K (`k` places in all, `c` of them servers): the loss probability and the mean wait
/// in queue of admitted customers.
pub fn mmck(c: u32, k: u32, lambda: f64, mu: f64) -> (f64, f64) {
    assert!(k >= c);
    let a = lambda / mu;
    // Unnormalized state probabilities p_n ∝ a^n / n! (n ≤ c), then × (a/c) per extra place.
    let mut p = Vec::with_capacity(k as usize + 1);
    let mut term = 1.0;
    p.push(term);
    for n in 1..=k {
        term *= if n <= c { a / n as f64 } else { a / c as f64 };
        p.push(term);
    }
    let total: f64 = p.iter().sum();
    let p: Vec<f64> = p.iter().map(|x| x / total).collect();
    let block = p[k as usize];
    let lq: f64 = p
        .iter()
        .enumerate()
        .skip(c as usize + 1)
        .map(|(n, pn)| (n - c as usize) as f64 * pn)
        .sum();
    (block, lq / (lambda * (1.0 - block)))
}

/// Pollaczek–Khinchine: mean wait in queue of M/G/1 with service mean `s` and squared
/// coefficient of variation `scv` (0 for deterministic, 1 for exponential).
pub fn mg1_wait(lambda: f64, s: f64, scv: f64) -> f64 {
    let rho = lambda * s;
    assert!(rho < 1.0, "M/G/1 is unstable at ρ ≥ 1");
    lambda * s * s * (1.0 + scv) / (2.0 * (1.0 - rho))
}

/// Exact mean value analysis of `n` users with mean think time `z` in front of one FIFO
/// exponential server with mean service `s`: (response time, throughput).
pub fn mva_single(n: u32, s: f64, z: f64) -> (f64, f64) {
    let (mut r, mut x, mut q) = (0.0, 0.0, 0.0);
    for users in 1..=n {
        r = s * (1.0 + q);
        x = users as f64 / (r + z);
        q = x * r;
    }
    (r, x)
}

/// Mean wait in queue of E_k/M/1: Erlang-k interarrival times with rate `lambda`, one
/// exponential server with rate `mu`. GI/M/1 theory: W = σ / (μ(1 − σ)), where σ is the root
/// in (0, 1) of σ = A*(μ(1 − σ)) and A* is the interarrival time's Laplace transform.
pub fn ekm1_wait(k: u32, lambda: f64, mu: f64) -> f64 {
    assert!(lambda < mu, "E_k/M/1 is unstable at λ ≥ μ");
    let phase = k as f64 * lambda;
    let lst = |s: f64| (phase / (phase + s)).powi(k as i32);
    let mut sigma = 0.5;
    for _ in 0..10_000 {
        let next = lst(mu * (1.0 - sigma));
        if (next - sigma).abs() < 1e-15 {
            break;
        }
        sigma = next;
    }
    sigma / (mu * (1.0 - sigma))
}

/// Zipf popularities of `n` keys with exponent `s`: p_k ∝ 1/k^s, k = 1..n.
pub fn zipf(n: u64, s: f64) -> Vec<f64> {
    let w: Vec<f64> = (1..=n).map(|k| (k as f64).powf(-s)).collect();
    let total: f64 = w.iter().sum();
    w.into_iter().map(|x| x / total).collect()
}

/// The characteristic time t solving Σ h(p_i·t) = capacity, for a per-key hit probability
/// h increasing in its argument from 0 to 1 (bisection on a log scale).
fn characteristic_time(p: &[f64], capacity: f64, h: impl Fn(f64) -> f64) -> f64 {
    let occupied = |t: f64| p.iter().map(|&pi| h(pi * t)).sum::<f64>();
    let (mut lo, mut hi) = (1e-12f64, 1.0f64);
    while occupied(hi) < capacity {
        hi *= 2.0;
    }
    for _ in 0..200 {
        let mid = (lo * hi).sqrt();
        if occupied(mid) < capacity {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo * hi).sqrt()
}

/// LRU hit ratio under independent requests with popularities `p` (Che's approximation,
/// Che, Tung and Wang 2002): h_i = 1 − e^(−p_i·t_C), Σ h_i = capacity.
pub fn che_lru(p: &[f64], capacity: f64) -> f64 {
    let h = |x: f64| 1.0 - (-x).exp();
    let t = characteristic_time(p, capacity, h);
    p.iter().map(|&pi| pi * h(pi * t)).sum()
}

/// FIFO hit ratio under independent requests (Martina, Garetto and Leonardi 2014):
/// h_i = p_i·t / (1 + p_i·t), Σ h_i = capacity.
pub fn che_fifo(p: &[f64], capacity: f64) -> f64 {
    let h = |x: f64| x / (1.0 + x);
    let t = characteristic_time(p, capacity, h);
    p.iter().map(|&pi| pi * h(pi * t)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    #[test]
    fn known_values() {
        // M/M/1: Wq = ρ / (μ − λ).
        assert_relative_eq!(mmc_wait(1, 0.8, 1.0), 0.8 / 0.2, max_relative = 1e-12);
        // A table value: B(10, 5 Erlangs) = 0.018384.
        assert_relative_eq!(erlang_b(10, 5.0), 0.018_384, max_relative = 1e-4);
        // M/M/c/K with K = c is Erlang B; M/M/1/K loss: (1−ρ)ρ^K / (1−ρ^(K+1)).
        assert_relative_eq!(
            mmck(3, 3, 2.0, 1.0).0,
            erlang_b(3, 2.0),
            max_relative = 1e-12
        );
        let rho: f64 = 0.9;
        let expect = (1.0 - rho) * rho.powi(4) / (1.0 - rho.powi(5));
        assert_relative_eq!(mmck(1, 4, 0.9, 1.0).0, expect, max_relative = 1e-12);
        // P-K with scv = 1 is M/M/1; M/D/1 waits half as long.
        assert_relative_eq!(
            mg1_wait(0.8, 1.0, 1.0),
            mmc_wait(1, 0.8, 1.0),
            max_relative = 1e-12
        );
        assert_relative_eq!(mg1_wait(0.8, 1.0, 0.0), 2.0, max_relative = 1e-12);
        // E_1/M/1 is M/M/1.
        assert_relative_eq!(
            ekm1_wait(1, 0.8, 1.0),
            mmc_wait(1, 0.8, 1.0),
            max_relative = 1e-9
        );
        // One user never queues.
        assert_relative_eq!(mva_single(1, 0.1, 1.0).0, 0.1, max_relative = 1e-12);
    }

    #[test]
    fn che_with_equal_popularities_is_the_cached_share() {
        // Every key equally likely: each is cached with probability C / N.
        let p = vec![0.01; 100];
        assert!((super::che_lru(&p, 30.0) - 0.3).abs() < 1e-9);
        assert!((super::che_fifo(&p, 30.0) - 0.3).abs() < 1e-9);
        // Skew helps: the same room holds more of the requests.
        let z = super::zipf(100, 1.0);
        assert!((z.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(super::che_lru(&z, 30.0) > 0.6);
        assert!(super::che_fifo(&z, 30.0) < super::che_lru(&z, 30.0));
    }
}
