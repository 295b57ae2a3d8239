//! The tipping point: the smallest trigger (a fault's length, a slowdown factor, a spike's
//! rate) the system does not recover from.
//!
//! "Recovered" is a comparison over one run's time series: `last.<column>` is the column's
//! mean over the run's last `window`, `before.<column>` its mean before the first fault
//! starts (from the end of warm-up when the fault comes after it). A probe's runs give the
//! recovery probability P(recovered | trigger), with a Wilson score interval; the probe
//! recovers when the whole interval lies above 1/2 and tips when it lies below, and gets
//! more runs in between. Both ends of the range are probed first, then the grid is bisected
//! down to neighbouring values, one recovering and one tipping, per variant in lockstep.

use super::spec::Tipping;
use super::{Answer, Outcome, Work};
use crate::check::{self, Value};
use crate::experiment::{Evaluator, UnitResult};
use crate::metrics::series::Series;
use crate::model::{Plan, Problem};

/// One probed trigger value of a variant.
#[derive(Clone, Debug)]
pub struct Probe {
    pub index: usize,
    pub point: usize,
    pub runs: u32,
    pub recovered: u32,
    /// Wilson interval of the recovery probability.
    pub low: f64,
    pub high: f64,
    /// Decided at the plan's confidence (not only by the majority at `max_replications`).
    pub clear: bool,
}

impl Probe {
    pub fn p(&self) -> f64 {
        self.recovered as f64 / self.runs.max(1) as f64
    }

    pub fn recovers(&self) -> bool {
        if self.clear {
            self.low > 0.5
        } else {
            self.p() > 0.5
        }
    }
}

/// A variant's answer.
#[derive(Clone, Debug)]
pub struct Boundary {
    pub variant: String,
    /// Probes in trigger order.
    pub probes: Vec<Probe>,
    /// Whether some trigger in the range tips the system.
    pub tips: bool,
    /// The smallest probed trigger that tips (a grid index), and the confidence interval of
    /// the boundary: from the largest clearly recovering probe below it to the smallest
    /// clearly tipping one at or above it (grid indices; `None`: the range's end).
    pub boundary: Option<usize>,
    pub low: Option<usize>,
    pub high: Option<usize>,
}

pub struct TippingAnswer {
    pub question: Tipping,
    pub boundaries: Vec<Boundary>,
    pub runs: usize,
}

/// Wilson's score interval for k successes in n trials at normal quantile z.
pub fn wilson(k: u32, n: u32, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (n, p) = (n as f64, k as f64 / n as f64);
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9).
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The mean of a series column over rows starting in [from, to).
fn window_mean(s: &Series, column: &str, from: f64, to: f64) -> f64 {
    let Some(j) = s.columns.iter().position(|c| c == column) else {
        return f64::NAN;
    };
    let xs: Vec<f64> = s
        .rows
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let t = *i as f64 * s.bucket_s;
            t >= from - 1e-9 && t + s.bucket_s <= to + 1e-9
        })
        .map(|(_, r)| r[j])
        .filter(|x| x.is_finite())
        .collect();
    if xs.is_empty() {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Whether one run recovered.
pub fn recovered(plan: &Plan, t: &Tipping, u: &UnitResult) -> bool {
    let Some(s) = &u.series else {
        return false;
    };
    let warmup = plan.settings.warmup.secs();
    let end = u.end_s;
    let window = if t.window_s.is_finite() {
        t.window_s
    } else {
        plan.settings.duration.secs() / 10.0
    };
    let first_fault = plan
        .settings
        .faults
        .iter()
        .map(|f| f.timeline().2)
        .fold(f64::INFINITY, f64::min);
    let (b_from, b_to) = if first_fault.is_finite() {
        (if first_fault > warmup { warmup } else { 0.0 }, first_fault)
    } else {
        (warmup, end - window)
    };
    let lookup = |path: &[String], _: usize| {
        let column = path[1..].join(".");
        let mean = match path[0].as_str() {
            "last" => window_mean(s, &column, end - window, end),
            _ => window_mean(s, &column, b_from, b_to),
        };
        Ok(Value { mean, ci95: 0.0 })
    };
    check::judge(&t.recovered, &lookup, None).is_ok_and(|(ok, _)| ok)
}

struct Bisection {
    lo: Option<usize>,
    hi: Option<usize>,
    /// Probes being decided: (grid index, runs asked for).
    open: Vec<(usize, u32)>,
    probes: Vec<Probe>,
    done: bool,
}

impl Bisection {
    fn next(&self, last: usize) -> Vec<usize> {
        match (self.lo, self.hi) {
            (None, None) => vec![0, last],
            (Some(l), Some(h)) if l + 1 < h => vec![l + (h - l) / 2],
            _ => Vec::new(),
        }
    }
}

pub fn search<'p>(plan: &'p Plan, t: &Tipping, eval: Evaluator<'p>) -> Result<Outcome, Problem> {
    let variants = plan.builder.variants();
    let mut work = Work::new(plan, vec![t.path.clone()], eval);
    // Recovery is judged on every run's time series.
    work.plan.series_for_every_run = true;
    let z = normal_quantile(0.5 + t.confidence / 2.0);
    let last = t.grid.len() - 1;
    let mut states: Vec<Bisection> = variants
        .iter()
        .map(|_| Bisection {
            lo: None,
            hi: None,
            open: Vec::new(),
            probes: Vec::new(),
            done: false,
        })
        .collect();
    loop {
        let mut wants: Vec<(usize, usize, u32, usize)> = Vec::new(); // (variant, index, runs, point)
        for (v, st) in states.iter_mut().enumerate() {
            if st.done {
                continue;
            }
            if st.open.is_empty() {
                st.open = st
                    .next(last)
                    .into_iter()
                    .map(|i| (i, t.replications))
                    .collect();
                if st.open.is_empty() {
                    st.done = true;
                    continue;
                }
            }
            for &(i, runs) in &st.open {
                let point = work.point(v, &[(t.path.clone(), t.grid[i].clone(), t.span)])?;
                wants.push((v, i, runs, point));
            }
        }
        if wants.is_empty() {
            break;
        }
        let batch: Vec<(usize, u32)> = wants.iter().map(|w| (w.3, w.2)).collect();
        work.run(&batch)?;
        for (v, i, runs, point) in wants {
            let ok = work
                .runs(point, runs)
                .iter()
                .filter(|u| recovered(plan, t, u))
                .count() as u32;
            let (low, high) = wilson(ok, runs, z);
            let clear = low > 0.5 || high < 0.5;
            let st = &mut states[v];
            if !clear && runs < t.max_replications {
                let more = (runs + t.replications).min(t.max_replications);
                for o in st.open.iter_mut().filter(|o| o.0 == i) {
                    o.1 = more;
                }
                continue;
            }
            st.open.retain(|o| o.0 != i);
            let probe = Probe {
                index: i,
                point,
                runs,
                recovered: ok,
                low,
                high,
                clear,
            };
            if probe.recovers() {
                st.lo = Some(st.lo.map_or(i, |l| l.max(i)));
            } else {
                st.hi = Some(st.hi.map_or(i, |h| h.min(i)));
            }
            st.probes.push(probe);
        }
        for st in states.iter_mut().filter(|st| st.open.is_empty()) {
            // Tipping at the low end, or recovering at the high end, settles it.
            if st.hi == Some(0) || st.lo == Some(last) {
                st.done = true;
            }
        }
    }
    let boundaries = variants
        .iter()
        .zip(states)
        .map(|(name, mut st)| {
            st.probes.sort_by_key(|p| p.index);
            let boundary = st.hi;
            let low = boundary.and_then(|b| {
                st.probes
                    .iter()
                    .filter(|p| p.index < b && p.clear && p.recovers())
                    .map(|p| p.index)
                    .max()
            });
            let high = boundary.and_then(|b| {
                st.probes
                    .iter()
                    .filter(|p| p.index >= b && p.clear && !p.recovers())
                    .map(|p| p.index)
                    .min()
            });
            Boundary {
                variant: name.clone(),
                probes: st.probes,
                tips: boundary.is_some(),
                boundary,
                low,
                high,
            }
        })
        .collect();
    let runs = work.eval.done.len();
    Ok(work.finish(Answer::Tipping(TippingAnswer {
        question: t.clone(),
        boundaries,
        runs,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_and_normal_quantiles() {
        assert!((normal_quantile(0.975) - 1.959_963_985).abs() < 1e-8);
        assert!((normal_quantile(0.5)).abs() < 1e-12);
        assert!((normal_quantile(0.005) + 2.575_829_304).abs() < 1e-8);
        // 5 of 5 is clearly above one half at 95%; 3 of 3 is not.
        assert!(wilson(5, 5, 1.96).0 > 0.5);
        assert!(wilson(3, 3, 1.96).0 < 0.5);
        let (lo, hi) = wilson(10, 20, 1.96);
        assert!(lo < 0.5 && hi > 0.5 && (lo + hi - 1.0).abs() < 1e-12);
    }
}
