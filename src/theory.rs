//! Queueing theory the simulator is checked against and shows beside its results, computed
//! from the textbook formulas. Every formula lives here, used by the runs and the tests alike.
//!
//! Rates are per second, times in seconds. `a = λ/μ` is the offered load in Erlangs.

/// Erlang B: the probability that an arrival finds all `c` servers busy in M/M/c/c (lost).
///
/// ```
/// // 10 servers offered 5 Erlangs lose 1.8% of calls.
/// let b = scalesim::theory::erlang_b(10, 5.0);
/// assert!((b - 0.018_384).abs() < 1e-5);
/// ```
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
///
/// ```
/// // M/M/1 at 80% load: Wq = ρ / (μ − λ) = 4 time units.
/// assert!((scalesim::theory::mmc_wait(1, 0.8, 1.0) - 4.0).abs() < 1e-12);
/// ```
pub fn mmc_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (c as f64 * mu - lambda)
}

/// M/M/c/K (`k` places in all, `c` of them servers): the loss probability and the mean wait
/// in queue of admitted customers.
pub fn mmck(c: u32, k: u32, lambda: f64, mu: f64) -> (f64, f64) {
    assert!(k >= c);
    let a = lambda / mu;
    // State probabilities p_n ∝ a^n / n! (n ≤ c), then × (a/c) per extra place; in logs,
    // shifted by the largest, so thousands of places at high load neither overflow nor
    // lose the states that matter.
    let mut logs = Vec::with_capacity(k as usize + 1);
    let mut term = 0.0f64;
    logs.push(term);
    for n in 1..=k {
        term += if n <= c {
            (a / n as f64).ln()
        } else {
            (a / c as f64).ln()
        };
        logs.push(term);
    }
    let top = logs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let p: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
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

/// Allen–Cunneen's approximation of the mean wait in queue of G/G/c: the M/M/c wait scaled by
/// (ca² + cs²)/2, with ca² and cs² the squared coefficients of variation of the interarrival
/// and service times. Exact for M/M/c (both 1) and, at c = 1 with ca² = 1, equal to
/// Pollaczek–Khinchine; at c = 1 it is Kingman's formula.
pub fn gg_c_wait(c: u32, lambda: f64, mu: f64, ca2: f64, cs2: f64) -> f64 {
    mmc_wait(c, lambda, mu) * (ca2 + cs2) / 2.0
}

/// A queue as the formulas see it: measured inputs and the station's shape.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Station {
    /// Workers serving one queue.
    pub servers: u32,
    /// Places in all (servers + waiting room), or `None` for an unbounded queue.
    pub places: Option<u32>,
    /// Arrivals per second to this queue.
    pub arrival_rate: f64,
    /// Mean service (worker holding) time, in seconds.
    pub service_mean: f64,
    /// Squared coefficients of variation of service and interarrival times.
    pub service_scv: f64,
    pub arrival_scv: f64,
}

/// Which formula applies to a station, chosen once per station shape and variability class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Formula {
    /// M/G/c/c: Erlang B (insensitive to the service distribution).
    ErlangB,
    /// M/M/c/K: the birth-death chain, from the mean service time only.
    Mmck,
    /// M/M/c: Erlang C.
    ErlangC,
    /// M/G/1: Pollaczek–Khinchine.
    PollaczekKhinchine,
    /// G/G/c: Allen–Cunneen (Kingman at c = 1).
    AllenCunneen,
}

impl Formula {
    pub fn name(self) -> &'static str {
        match self {
            Formula::ErlangB => "Erlang B",
            Formula::Mmck => "M/M/c/K",
            Formula::ErlangC => "Erlang C",
            Formula::PollaczekKhinchine => "Pollaczek-Khinchine",
            Formula::AllenCunneen => "Allen-Cunneen",
        }
    }

    /// Exact for its queue (an approximation otherwise).
    pub fn exact(self, arrivals: char, service: char) -> bool {
        match self {
            Formula::ErlangB | Formula::PollaczekKhinchine | Formula::ErlangC => arrivals == 'M',
            Formula::Mmck => arrivals == 'M' && service == 'M',
            Formula::AllenCunneen => false,
        }
    }
}

/// Kendall's letter for a measured squared coefficient of variation: `M` within 10% of 1
/// (exponential), `D` below 0.01 (constant), `G` otherwise.
pub fn letter(scv: f64) -> char {
    if (scv - 1.0).abs() <= 0.1 {
        'M'
    } else if scv < 0.01 {
        'D'
    } else {
        'G'
    }
}

/// The formula for a station whose arrivals and services have Kendall letters `a` and `s`.
pub fn formula(servers: u32, places: Option<u32>, a: char, s: char) -> Formula {
    match places {
        Some(k) if k <= servers => Formula::ErlangB,
        Some(_) => Formula::Mmck,
        None if a == 'M' && s == 'M' => Formula::ErlangC,
        None if a == 'M' && servers == 1 => Formula::PollaczekKhinchine,
        None => Formula::AllenCunneen,
    }
}

/// What a formula predicts for a station. Waits are infinite when an unbounded queue is
/// offered as much work as it can do or more.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub utilization: f64,
    pub wait_mean: f64,
    pub sojourn_mean: f64,
    /// The fraction of arrivals turned away (0 for an unbounded queue).
    pub blocking: f64,
}

/// Applies `f` to station `st`.
///
/// ```
/// use scalesim::theory::{estimate, formula, Station};
///
/// // Four workers, Poisson arrivals, exponential 1 ms work, 80% load: Erlang C.
/// let st = Station {
///     servers: 4,
///     places: None,
///     arrival_rate: 3200.0,
///     service_mean: 0.001,
///     service_scv: 1.0,
///     arrival_scv: 1.0,
/// };
/// let e = estimate(formula(4, None, 'M', 'M'), &st);
/// assert!((e.utilization - 0.8).abs() < 1e-12);
/// assert!((e.wait_mean - 0.000_746).abs() < 1e-6);
/// ```
pub fn estimate(f: Formula, st: &Station) -> Estimate {
    let (c, lambda, s) = (st.servers, st.arrival_rate, st.service_mean);
    let mu = 1.0 / s;
    let a = lambda * s;
    let (blocking, wait) = match f {
        Formula::ErlangB => (erlang_b(c, a), 0.0),
        Formula::Mmck => mmck(c, st.places.unwrap_or(c).max(c), lambda, mu),
        _ if a >= c as f64 => (0.0, f64::INFINITY),
        Formula::ErlangC => (0.0, mmc_wait(c, lambda, mu)),
        Formula::PollaczekKhinchine => (0.0, mg1_wait(lambda, s, st.service_scv)),
        Formula::AllenCunneen => (
            0.0,
            gg_c_wait(c, lambda, mu, st.arrival_scv, st.service_scv),
        ),
    };
    Estimate {
        utilization: (a * (1.0 - blocking) / c as f64).min(1.0),
        wait_mean: wait,
        sojourn_mean: wait + s,
        blocking,
    }
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
        // Far overloaded with thousands of places: finite, nearly every place full.
        let (block, wait) = mmck(8, 2008, 20.0, 1.0);
        assert_relative_eq!(block, 1.0 - 8.0 / 20.0, max_relative = 1e-9);
        assert!(wait.is_finite() && wait > 90.0);
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
        // Allen–Cunneen is Erlang C for M/M/c and P-K for M/G/1.
        assert_relative_eq!(
            gg_c_wait(4, 3.2, 1.0, 1.0, 1.0),
            mmc_wait(4, 3.2, 1.0),
            max_relative = 1e-12
        );
        assert_relative_eq!(
            gg_c_wait(1, 0.7, 1.0, 1.0, 4.0),
            mg1_wait(0.7, 1.0, 4.0),
            max_relative = 1e-12
        );
        // One user never queues.
        assert_relative_eq!(mva_single(1, 0.1, 1.0).0, 0.1, max_relative = 1e-12);
    }

    #[test]
    fn formulas_by_station_shape() {
        assert_eq!(formula(10, Some(10), 'M', 'G'), Formula::ErlangB);
        assert_eq!(formula(2, Some(5), 'M', 'M'), Formula::Mmck);
        assert_eq!(formula(1, None, 'M', 'D'), Formula::PollaczekKhinchine);
        assert_eq!(formula(4, None, 'M', 'M'), Formula::ErlangC);
        assert_eq!(formula(4, None, 'G', 'M'), Formula::AllenCunneen);
        assert_eq!((letter(1.05), letter(0.0), letter(4.0)), ('M', 'D', 'G'));
        let st = Station {
            servers: 4,
            places: None,
            arrival_rate: 3.2,
            service_mean: 1.0,
            service_scv: 1.0,
            arrival_scv: 1.0,
        };
        let e = estimate(Formula::ErlangC, &st);
        assert_relative_eq!(e.wait_mean, mmc_wait(4, 3.2, 1.0), max_relative = 1e-12);
        assert_relative_eq!(e.sojourn_mean, e.wait_mean + 1.0, max_relative = 1e-12);
        assert_relative_eq!(e.utilization, 0.8, max_relative = 1e-12);
        // Overload: an unbounded queue grows without end.
        let over = Station {
            arrival_rate: 4.0,
            ..st
        };
        assert!(estimate(Formula::ErlangC, &over).wait_mean.is_infinite());
        // Erlang B carries a(1 − B) Erlangs.
        let loss = Station {
            servers: 10,
            places: Some(10),
            arrival_rate: 5.0,
            ..st
        };
        let e = estimate(Formula::ErlangB, &loss);
        assert_relative_eq!(e.blocking, erlang_b(10, 5.0), max_relative = 1e-12);
        assert_relative_eq!(
            e.utilization,
            0.5 * (1.0 - e.blocking),
            max_relative = 1e-12
        );
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
