//! Evaluating expectations against a run's results.

use super::expr::{Expectation, Expr, Op, Quantifier};
use crate::analysis::{baseline, paired, param_json, summarize, variant_names, PointSummary};
use crate::experiment::Results;
use crate::metrics::Aggregate;
use crate::model::Plan;

/// The verdict of one expectation: its text, whether it held, and what was measured (values
/// with their ci95 and, in a sweep, the points that decided it).
pub use crate::analysis::Verdict;

/// A value with its 95% confidence half-width (NaN when unknown).
#[derive(Clone, Copy, Debug)]
pub struct Value {
    pub mean: f64,
    pub ci95: f64,
}

/// Where metric values come from: a dotted path and the column it was written at.
pub type Lookup<'a> = dyn Fn(&[String], usize) -> Result<Value, String> + 'a;

/// Evaluates an expression with metric values from `lookup`; a constant scales an interval,
/// any other combination of two uncertain values leaves it unknown (NaN).
pub fn eval_with(e: &Expr, lookup: &Lookup) -> Result<Value, String> {
    Ok(match e {
        Expr::Num(x) => Value {
            mean: *x,
            ci95: 0.0,
        },
        Expr::Metric(path, col) => lookup(path, *col)?,
        Expr::Neg(x) => {
            let v = eval_with(x, lookup)?;
            Value {
                mean: -v.mean,
                ci95: v.ci95,
            }
        }
        Expr::Bin(a, op, b) => {
            let (x, y) = (eval_with(a, lookup)?, eval_with(b, lookup)?);
            let mean = match op {
                '+' => x.mean + y.mean,
                '-' => x.mean - y.mean,
                '*' => x.mean * y.mean,
                _ => x.mean / y.mean,
            };
            let ci95 = match (op, x.ci95 == 0.0, y.ci95 == 0.0) {
                ('+' | '-', _, true) => x.ci95,
                ('+', true, _) => y.ci95,
                ('*', _, true) => x.ci95 * y.mean.abs(),
                ('*', true, _) => y.ci95 * x.mean.abs(),
                ('/', _, true) => x.ci95 / y.mean.abs(),
                _ => f64::NAN,
            };
            Value { mean, ci95 }
        }
    })
}

/// Whether a comparison holds, with values from `lookup`, and what was measured. `paired` is
/// the paired difference left − right, when there is one, for `significantly`.
pub fn judge(
    e: &Expectation,
    lookup: &Lookup,
    paired: Option<Value>,
) -> Result<(bool, String), String> {
    let l = eval_with(&e.left, lookup)?;
    let r = eval_with(&e.right, lookup)?;
    let show = |v: Value| {
        // A ci95 a billion times smaller than the mean is rounding, not spread.
        if v.ci95.is_finite() && v.ci95 > 1e-9 * v.mean.abs() {
            format!("{} ± {}", fmt(v.mean), fmt(v.ci95))
        } else {
            fmt(v.mean)
        }
    };
    let undefined = l.mean.is_nan() || r.mean.is_nan();
    let (ok, extra) = match e.op {
        Op::Lt => (l.mean < r.mean, String::new()),
        Op::Le => (l.mean <= r.mean, String::new()),
        Op::Gt => (l.mean > r.mean, String::new()),
        Op::Ge => (l.mean >= r.mean, String::new()),
        Op::Eq => {
            let tol = match &e.tolerance {
                Some(t) => eval_with(t, lookup)?.mean,
                None => 0.0,
            };
            (
                (l.mean - r.mean).abs() <= tol,
                format!(" (tolerance {})", fmt(tol)),
            )
        }
        Op::SigLt | Op::SigGt => {
            let sign = if e.op == Op::SigLt { 1.0 } else { -1.0 };
            match paired {
                Some(d) => (
                    d.ci95.is_finite() && sign * d.mean + d.ci95 < 0.0,
                    format!(" (paired difference {} ± {})", fmt(d.mean), fmt(d.ci95)),
                ),
                None => {
                    let (lc, rc) = (nan0(l.ci95), nan0(r.ci95));
                    (sign * (l.mean - r.mean) + lc + rc < 0.0, String::new())
                }
            }
        }
    };
    let detail = format!("{} {} {}{extra}", show(l), e.op, show(r));
    if undefined {
        return Ok((false, format!("{detail}: undefined (no data)")));
    }
    Ok((ok, detail))
}

struct Context<'a> {
    plan: &'a Plan,
    results: &'a Results,
    variants: Vec<String>,
    per_variant: usize,
    summaries: Vec<PointSummary>,
}

impl Context<'_> {
    /// The point of `variant` at sweep position `k`.
    fn point(&self, variant: &str, k: usize) -> usize {
        let v = self
            .variants
            .iter()
            .position(|n| n == variant)
            .expect("a known variant");
        v * self.per_variant + k
    }

    /// Splits `[variant.][node.]metric` into (variant, node, metric).
    fn split<'p>(&self, path: &'p [String]) -> (String, Option<&'p str>, String) {
        let (variant, rest) = if path.len() > 1 && self.variants.contains(&path[0]) {
            (path[0].clone(), &path[1..])
        } else {
            (baseline(self.plan).to_string(), path)
        };
        match rest {
            [metric] => (variant, None, metric.clone()),
            [node, metric @ ..] => (variant, Some(node.as_str()), metric.join(".")),
            [] => unreachable!("a metric path has a name"),
        }
    }

    fn metric(&self, path: &[String], col: usize, k: usize) -> Result<Value, String> {
        let (variant, node, metric) = self.split(path);
        let s = &self.summaries[self.point(&variant, k)];
        let found = match node {
            None => s
                .experiment
                .iter()
                .find(|(n, _)| *n == metric)
                .map(|(_, a)| *a),
            Some(node) => s
                .nodes
                .iter()
                .find(|(n, _)| n == node)
                .and_then(|(_, ms)| ms.iter().find(|(n, _)| *n == metric))
                .map(|(_, a)| *a),
        };
        let a: Aggregate = found.ok_or_else(|| {
            let known: Vec<String> = match node {
                None => s.experiment.iter().map(|(n, _)| n.clone()).collect(),
                Some(node) => match s.nodes.iter().find(|(n, _)| n == node) {
                    Some((_, ms)) => ms.iter().map(|(n, _)| format!("{node}.{n}")).collect(),
                    None => s.nodes.iter().map(|(n, _)| format!("{n}.…")).collect(),
                },
            };
            format!(
                "column {col}: no metric `{}`; try {}",
                path.join("."),
                known
                    .iter()
                    .take(10)
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        Ok(Value {
            mean: a.mean,
            ci95: a.ci95,
        })
    }

    /// `significantly <`: the whole ci95 of left − right below zero. Two references to the
    /// same metric of different variants use the paired difference (common random numbers).
    fn significant_diff(&self, e: &Expectation, k: usize) -> Result<Option<Value>, String> {
        let (Expr::Metric(lp, _), Expr::Metric(rp, _)) = (&e.left, &e.right) else {
            return Ok(None);
        };
        let (lv, ln, lm) = self.split(lp);
        let (rv, rn, rm) = self.split(rp);
        if lv == rv || ln != rn || lm != rm {
            return Ok(None);
        }
        let name = match ln {
            Some(n) => format!("{n}.{lm}"),
            None => lm,
        };
        let diffs = paired(self.results, self.point(&lv, k), self.point(&rv, k));
        Ok(diffs
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| Value {
                mean: a.mean,
                ci95: a.ci95,
            }))
    }

    /// Whether the comparison holds at sweep position `k`, and what was measured.
    fn holds(&self, e: &Expectation, k: usize) -> Result<(bool, String), String> {
        let paired = match e.op {
            Op::SigLt | Op::SigGt => self.significant_diff(e, k)?,
            _ => None,
        };
        judge(e, &|path, col| self.metric(path, col, k), paired)
    }
}

fn nan0(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// A number as verdicts show it: five significant digits, thousands grouped, no trailing
/// zeros; below a thousandth, scientific.
///
/// ```
/// use scalesim::check::fmt;
/// assert_eq!(fmt(1.0794e6), "1,079,400");
/// assert_eq!(fmt(4112.1669), "4,112.2");
/// assert_eq!(fmt(457.4234), "457.42");
/// assert_eq!(fmt(0.0367), "0.0367");
/// assert_eq!(fmt(-2.5), "-2.5");
/// assert_eq!(fmt(60.0), "60");
/// assert_eq!(fmt(3.7597e-4), "3.7597e-4");
/// ```
pub fn fmt(x: f64) -> String {
    if x.is_nan() {
        return "undefined".into();
    }
    if !x.is_finite() {
        return format!("{x}");
    }
    if x != 0.0 && x.abs() < 1e-3 {
        return format!("{x:.4e}");
    }
    let magnitude = if x == 0.0 {
        0
    } else {
        x.abs().log10().floor() as i32
    };
    let decimals = (4 - magnitude).max(0) as usize;
    let unit = 10f64.powi(magnitude - 4);
    let text = format!("{:.*}", decimals, (x / unit).round() * unit);
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    let frac = frac.trim_end_matches('0');
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let mut out = String::from(sign);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Evaluates `e` over the results of `plan`.
pub fn evaluate(plan: &Plan, results: &Results, e: &Expectation) -> Result<Verdict, String> {
    let variants = variant_names(plan);
    let per_variant = plan.points.len() / variants.len();
    let cx = Context {
        plan,
        results,
        per_variant,
        summaries: (0..plan.points.len())
            .map(|p| summarize(results, p))
            .collect(),
        variants,
    };
    let where_ = |k: usize| {
        let params: Vec<String> = plan.points[k]
            .params
            .iter()
            .map(|(p, v)| format!("{p}={}", param_json(v)))
            .collect();
        params.join(", ")
    };
    let (passed, detail) = match e.quantifier {
        Quantifier::Trend => {
            if per_variant < 2 {
                return Err(format!(
                    "`{}` follows a sweep, and the experiment has {per_variant} point",
                    e.text
                ));
            }
            // Never against the trend from one point to the next, and moved from the first
            // to the last: a plateau (none left to time out) does not break it.
            let at = |k: usize| eval_with(&e.left, &|p, c| cx.metric(p, c, k)).map(|v| v.mean);
            let up = e.op == Op::Gt;
            let values = (0..per_variant).map(at).collect::<Result<Vec<f64>, _>>()?;
            let against = |a: f64, b: f64| if up { b < a } else { b > a };
            let mut failed: Vec<String> = values
                .windows(2)
                .enumerate()
                .filter(|(_, w)| against(w[0], w[1]) || w[0].is_nan() || w[1].is_nan())
                .map(|(k, w)| {
                    format!(
                        "[{}] {} then [{}] {}",
                        where_(k),
                        fmt(w[0]),
                        where_(k + 1),
                        fmt(w[1])
                    )
                })
                .collect();
            let (first, last) = (values[0], values[per_variant - 1]);
            let moved = if up { last > first } else { last < first };
            if !moved {
                failed.push(format!(
                    "[{}] {} to [{}] {}: not {} at the end",
                    where_(0),
                    fmt(first),
                    where_(per_variant - 1),
                    fmt(last),
                    if up { "higher" } else { "lower" }
                ));
            }
            let passed = failed.is_empty();
            let shown = if passed {
                values
                    .iter()
                    .map(|v| fmt(*v))
                    .collect::<Vec<_>>()
                    .join(" → ")
            } else {
                failed.join("; ")
            };
            (passed, shown)
        }
        Quantifier::One => {
            if per_variant != 1 {
                return Err(format!(
                    "the experiment has {per_variant} sweep points: write all(...) or any(...) around the comparison"
                ));
            }
            cx.holds(e, 0)?
        }
        Quantifier::All | Quantifier::Any => {
            let mut outcomes = Vec::new();
            for k in 0..per_variant {
                let (ok, d) = cx.holds(e, k)?;
                outcomes.push((ok, format!("[{}] {d}", where_(k))));
            }
            let all = e.quantifier == Quantifier::All;
            let passed = if all {
                outcomes.iter().all(|o| o.0)
            } else {
                outcomes.iter().any(|o| o.0)
            };
            // Show what decided it: the failing points of all(), the passing ones of any().
            let shown: Vec<&String> = outcomes
                .iter()
                .filter(|(ok, _)| if all { !ok || passed } else { *ok || !passed })
                .map(|(_, d)| d)
                .collect();
            (
                passed,
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            )
        }
    };
    Ok(Verdict {
        text: e.text.clone(),
        passed,
        detail,
    })
}
