//! The cheapest configuration meeting every constraint.
//!
//! The varied paths split into slices: every combination of the other paths (and variant),
//! each with the monotone path searched from its smallest value by galloping (indices 0, 1,
//! 3, 7, …) until a feasible value, then by bisection down to the smallest feasible one.
//! Without a monotone path every slice is one point. A point starts with `replications` runs;
//! a constraint holds when its margin's confidence interval lies above zero and fails when
//! it lies below; an unclear point gets more runs, up to `max_replications` (racing). A slice
//! stops early when even its cheapest remaining point is clearly dearer than the best
//! feasible point found so far (pruning). The slice winners are then raced on the objective
//! with paired runs until the best is clear or the runs run out.

use super::spec::Cheapest;
use super::{half_width, Answer, Outcome, Sample, Work};
use crate::experiment::{Evaluator, UnitResult};
use crate::metrics::Aggregate;
use crate::model::syntax::{Node, Span};
use crate::model::{Plan, Problem};

/// Where a point stands.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    Feasible,
    Infeasible(String),
    /// Not decided yet: more runs may settle it.
    Unclear,
    /// Not worth deciding: it costs more than a feasible point already found.
    Pruned(String),
}

/// A constraint's sides and margin at one point, over its runs.
#[derive(Clone, Debug)]
pub struct Constraint {
    pub value: Aggregate,
    pub bound: Aggregate,
    /// Positive when it holds.
    pub margin: Aggregate,
}

/// One evaluated point of the search.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub point: usize,
    pub variant: usize,
    /// Index into each dimension's values.
    pub at: Vec<usize>,
    pub runs: u32,
    pub status: Status,
    pub objective: Aggregate,
    /// Per constraint, over the runs.
    pub constraints: Vec<Constraint>,
}

pub struct CheapestAnswer {
    pub question: Cheapest,
    pub variants: Vec<String>,
    pub candidates: Vec<Candidate>,
    /// Index into `candidates`.
    pub best: Option<usize>,
    /// Winners the objective could not tell from the best within `max_replications`.
    pub tied: Vec<usize>,
    /// Slices left unsearched: (variant, the other paths' values, why).
    pub pruned: Vec<(usize, serde_json::Value, String)>,
    pub runs: usize,
    pub grid_runs: usize,
}

struct Slice {
    variant: usize,
    at: Vec<usize>,
    n: usize,
    /// Highest index known infeasible, lowest known feasible (or capped: nothing at or
    /// above it can win).
    lo: Option<usize>,
    hi: Option<usize>,
    hi_feasible: bool,
    /// The index being probed and how many runs it has asked for.
    probe: Option<(usize, u32)>,
    done: bool,
    pruned: Option<String>,
}

impl Slice {
    /// The next index to probe, or `None` when the slice is settled.
    fn next(&self) -> Option<usize> {
        match (self.lo, self.hi) {
            (None, None) => Some(0),
            (Some(l), None) if l + 1 >= self.n => None,
            (Some(l), None) => Some((2 * l + 1).min(self.n - 1)),
            (None, Some(0)) => None,
            (None, Some(h)) => Some((h - 1) / 2),
            (Some(l), Some(h)) if l + 1 >= h => None,
            (Some(l), Some(h)) => Some(l + (h - l) / 2),
        }
    }
}

struct Search<'a, 'p> {
    q: &'a Cheapest,
    work: Work<'p>,
    candidates: Vec<Candidate>,
}

impl Search<'_, '_> {
    fn values(&self, at: &[usize]) -> Vec<(String, Node, Span)> {
        self.q
            .dims
            .iter()
            .zip(at)
            .map(|(d, i)| (d.path.clone(), d.values[*i].clone(), d.span))
            .collect()
    }

    /// The candidate for (variant, at), created on first use.
    fn candidate(&mut self, variant: usize, at: &[usize]) -> Result<usize, Problem> {
        let values = self.values(at);
        let point = self.work.point(variant, &values)?;
        if let Some(i) = self.candidates.iter().position(|c| c.point == point) {
            return Ok(i);
        }
        self.candidates.push(Candidate {
            point,
            variant,
            at: at.to_vec(),
            runs: 0,
            status: Status::Unclear,
            objective: Aggregate::of(&[]),
            constraints: Vec::new(),
        });
        Ok(self.candidates.len() - 1)
    }

    /// Runs every (candidate, runs) asked for, then judges each.
    fn run(&mut self, wants: &[(usize, u32)]) -> Result<(), Problem> {
        let points: Vec<(usize, u32)> = wants
            .iter()
            .map(|(c, n)| (self.candidates[*c].point, *n))
            .collect();
        self.work.run(&points)?;
        for (c, n) in wants {
            self.judge(*c, *n);
        }
        Ok(())
    }

    /// The numeric values of the varied paths at candidate `c`.
    fn params(&self, c: usize) -> Vec<(String, f64)> {
        let at = &self.candidates[c].at;
        self.q
            .dims
            .iter()
            .zip(at)
            .filter_map(|(d, i)| Some((d.path.clone(), d.number(*i)?)))
            .collect()
    }

    /// The objective of each of candidate `c`'s first `n` runs.
    fn objectives(&self, c: usize, n: u32) -> Vec<f64> {
        let params = self.params(c);
        self.work
            .runs(self.candidates[c].point, n)
            .iter()
            .map(|u| {
                Sample {
                    metrics: &u.metrics,
                    params: &params,
                }
                .eval(&self.q.minimize)
            })
            .collect()
    }

    fn judge(&mut self, c: usize, n: u32) {
        let runs: Vec<&UnitResult> = self.work.runs(self.candidates[c].point, n);
        let params = self.params(c);
        let samples: Vec<Sample> = runs
            .iter()
            .map(|u| Sample {
                metrics: &u.metrics,
                params: &params,
            })
            .collect();
        let q = self.q;
        let objective = Aggregate::of(&self.objectives(c, n));
        let over = |f: &dyn Fn(&Sample) -> f64| {
            Aggregate::of(&samples.iter().map(f).collect::<Vec<f64>>())
        };
        let constraints: Vec<Constraint> = q
            .subject_to
            .iter()
            .map(|e| Constraint {
                value: over(&|s| s.eval(&e.left)),
                bound: over(&|s| s.eval(&e.right)),
                margin: over(&|s| s.margin(e)),
            })
            .collect();
        let stopped = runs.iter().find(|u| {
            !matches!(
                u.stop,
                crate::engine::StopReason::Duration | crate::engine::StopReason::Idle
            )
        });
        let mut status = Status::Feasible;
        if let Some(u) = stopped {
            status = Status::Infeasible(format!(
                "unstable: replication {} was stopped by a safety limit ({})",
                u.unit.replication,
                crate::experiment::journal::stop_name(u.stop)
            ));
        } else {
            for (e, Constraint { margin: m, .. }) in q.subject_to.iter().zip(&constraints) {
                let undefined = samples.iter().any(|s| s.margin(e).is_nan());
                let hw = half_width(m, q.confidence);
                if undefined {
                    status = Status::Infeasible(format!(
                        "`{}` is undefined in some run (no data)",
                        e.text
                    ));
                    break;
                }
                if m.mean + hw < 0.0 {
                    status = Status::Infeasible(format!(
                        "`{}` fails: margin {} ± {}",
                        e.text,
                        crate::check::fmt(m.mean),
                        crate::check::fmt(hw)
                    ));
                    break;
                }
                if m.mean - hw <= 0.0 {
                    status = Status::Unclear;
                }
            }
        }
        let cand = &mut self.candidates[c];
        cand.runs = n;
        cand.objective = objective;
        cand.constraints = constraints;
        if status == Status::Unclear && n >= q.max_replications {
            status = Status::Infeasible(format!(
                "not shown to hold at {:.0}% confidence after {n} runs",
                q.confidence * 100.0
            ));
        }
        cand.status = status;
    }

    /// The feasible candidate with the lowest objective so far.
    fn incumbent(&self) -> Option<usize> {
        let feasible = self
            .candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.status == Status::Feasible && !c.objective.mean.is_nan());
        feasible
            .min_by(|a, b| a.1.objective.mean.total_cmp(&b.1.objective.mean))
            .map(|(i, _)| i)
    }

    /// Whether candidate `c`'s objective is clearly above the incumbent's.
    fn dearer(&self, c: usize) -> Option<String> {
        let inc = self.incumbent()?;
        if inc == c {
            return None;
        }
        let (a, b) = (
            &self.candidates[c].objective,
            &self.candidates[inc].objective,
        );
        let conf = self.q.confidence;
        let (ha, hb) = (nan0(half_width(a, conf)), nan0(half_width(b, conf)));
        (a.mean - ha > b.mean + hb).then(|| {
            format!(
                "its objective {} is clearly above a feasible point's {}",
                crate::check::fmt(a.mean),
                crate::check::fmt(b.mean)
            )
        })
    }
}

fn nan0(x: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

/// Every combination of indices over dimensions of the given sizes, first slowest.
fn combos(sizes: &[usize]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new()];
    for &n in sizes {
        out = out
            .iter()
            .flat_map(|c| {
                (0..n).map(move |i| {
                    let mut c = c.clone();
                    c.push(i);
                    c
                })
            })
            .collect();
    }
    out
}

pub fn search<'p>(plan: &'p Plan, q: &Cheapest, eval: Evaluator<'p>) -> Result<Outcome, Problem> {
    let paths = q.dims.iter().map(|d| d.path.clone()).collect();
    let variants = plan.builder.variants();
    let mut s = Search {
        q,
        work: super::Work::new(plan, paths, eval),
        candidates: Vec::new(),
    };
    // Slices: the monotone dimension is searched inside each; every other one is listed.
    let sizes: Vec<usize> = q
        .dims
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if Some(i) == q.monotone {
                1
            } else {
                d.values.len()
            }
        })
        .collect();
    let n = q.monotone.map_or(1, |m| q.dims[m].values.len());
    let mut slices: Vec<Slice> = (0..variants.len())
        .flat_map(|variant| {
            combos(&sizes).into_iter().map(move |at| Slice {
                variant,
                at,
                n,
                lo: None,
                hi: None,
                hi_feasible: false,
                probe: None,
                done: false,
                pruned: None,
            })
        })
        .collect();
    let grid_points: usize =
        variants.len() * q.dims.iter().map(|d| d.values.len()).product::<usize>();
    loop {
        // Each live slice names its probe: a new index, or more runs for an unclear one.
        let mut wants: Vec<(usize, usize, u32)> = Vec::new(); // (slice, candidate, runs)
        for (si, sl) in slices.iter_mut().enumerate() {
            if sl.done {
                continue;
            }
            let (idx, runs) = match sl.probe {
                Some(p) => p,
                None => match sl.next() {
                    Some(i) => (i, q.replications),
                    None => {
                        sl.done = true;
                        continue;
                    }
                },
            };
            sl.probe = Some((idx, runs));
            let mut at = sl.at.clone();
            if let Some(m) = q.monotone {
                at[m] = idx;
            }
            let c = s.candidate(sl.variant, &at)?;
            wants.push((si, c, runs));
        }
        if wants.is_empty() {
            break;
        }
        let batch: Vec<(usize, u32)> = wants.iter().map(|w| (w.1, w.2)).collect();
        s.run(&batch)?;
        for (si, c, runs) in wants {
            let (idx, _) = slices[si].probe.expect("probing");
            let status = s.candidates[c].status.clone();
            let sl = &mut slices[si];
            match status {
                Status::Feasible => {
                    sl.hi = Some(idx);
                    sl.hi_feasible = true;
                    sl.probe = None;
                }
                Status::Infeasible(_) => {
                    sl.lo = Some(idx);
                    sl.probe = None;
                }
                Status::Unclear => {
                    if let Some(why) = s.dearer(c) {
                        // It cannot win, feasible or not, and nothing above it can: search
                        // below it only.
                        s.candidates[c].status = Status::Pruned(why);
                        sl.hi = Some(idx);
                        sl.hi_feasible = false;
                        sl.probe = None;
                    } else {
                        sl.probe = Some((idx, (runs + q.replications).min(q.max_replications)));
                    }
                }
                Status::Pruned(_) => sl.probe = None,
            }
        }
        // Prune slices whose cheapest remaining point is clearly dearer than the incumbent:
        // every remaining index lies above their highest infeasible one.
        for sl in slices
            .iter_mut()
            .filter(|sl| !sl.done && q.monotone.is_some())
        {
            let Some(lo) = sl.lo else { continue };
            let mut at = sl.at.clone();
            at[q.monotone.expect("monotone")] = lo;
            let c = s.candidate(sl.variant, &at)?;
            if let Some(why) = s.dearer(c) {
                sl.pruned = Some(format!(
                    "not searched further: at its last infeasible point {why}"
                ));
                sl.done = true;
            }
        }
    }
    let mut winners: Vec<usize> = Vec::new();
    for sl in slices.iter().filter(|sl| sl.hi_feasible) {
        let mut at = sl.at.clone();
        if let (Some(m), Some(h)) = (q.monotone, sl.hi) {
            at[m] = h;
        }
        winners.push(s.candidate(sl.variant, &at)?);
    }
    let best = race(&mut s, &mut winners)?;
    let tied = best.map_or_else(Vec::new, |b| ties(&s, &winners, b));
    let pruned = slices
        .iter()
        .filter_map(|sl| {
            let why = sl.pruned.clone()?;
            let mut values = serde_json::Map::new();
            for (i, (d, k)) in q.dims.iter().zip(&sl.at).enumerate() {
                if Some(i) != q.monotone {
                    values.insert(d.path.clone(), crate::analysis::param_json(&d.param(*k)));
                }
            }
            Some((sl.variant, serde_json::Value::Object(values), why))
        })
        .collect();
    let runs = s.work.eval.done.len();
    let answer = CheapestAnswer {
        pruned,
        question: q.clone(),
        variants,
        candidates: s.candidates,
        best,
        tied,
        runs,
        grid_runs: grid_points * q.replications as usize,
    };
    Ok(s.work.finish(Answer::Cheapest(answer)))
}

/// The paired difference of the objective between two candidates, over their common runs.
fn paired(s: &Search, a: usize, b: usize) -> Aggregate {
    let n = s.candidates[a].runs.min(s.candidates[b].runs);
    let (xa, xb) = (s.objectives(a, n), s.objectives(b, n));
    let d: Vec<f64> = xa.iter().zip(&xb).map(|(x, y)| x - y).collect();
    Aggregate::of(&d)
}

/// Whether the paired difference leaves the order of two candidates open.
fn open(d: &Aggregate, confidence: f64) -> bool {
    let hw = half_width(d, confidence);
    d.mean != 0.0 && (hw.is_nan() || d.mean.abs() <= hw)
}

/// The leader among `winners`: the lowest objective; on equal objectives, the least of the
/// monotone resource, then the first in file order.
fn leader(s: &Search, winners: &[usize]) -> Option<usize> {
    let key = |c: &Candidate| (s.q.monotone.map_or(0, |m| c.at[m]), c.variant, c.at.clone());
    winners
        .iter()
        .copied()
        .filter(|&c| s.candidates[c].status == Status::Feasible)
        .min_by(|&a, &b| {
            let (ca, cb) = (&s.candidates[a], &s.candidates[b]);
            ca.objective
                .mean
                .total_cmp(&cb.objective.mean)
                .then_with(|| key(ca).cmp(&key(cb)))
        })
}

/// Races the slice winners on the objective: while the leader and a rival are not told
/// apart, both get more runs. A winner that stops holding its constraints with more runs
/// drops out.
fn race(s: &mut Search, winners: &mut Vec<usize>) -> Result<Option<usize>, Problem> {
    let q = s.q;
    loop {
        let Some(best) = leader(s, winners) else {
            return Ok(None);
        };
        let rivals: Vec<usize> = winners
            .iter()
            .copied()
            .filter(|&c| c != best && s.candidates[c].status == Status::Feasible)
            .filter(|&c| open(&paired(s, c, best), q.confidence))
            .filter(|&c| {
                s.candidates[c].runs < q.max_replications
                    || s.candidates[best].runs < q.max_replications
            })
            .collect();
        if rivals.is_empty() {
            winners.retain(|&c| s.candidates[c].status == Status::Feasible);
            return Ok(Some(best));
        }
        let more = |c: usize| (s.candidates[c].runs + q.replications).min(q.max_replications);
        let mut wants: Vec<(usize, u32)> = vec![(best, more(best))];
        wants.extend(rivals.iter().map(|&c| (c, more(c))));
        s.run(&wants)?;
        for (c, _) in wants {
            if s.candidates[c].status == Status::Unclear {
                s.candidates[c].status =
                    Status::Infeasible("no longer shown to hold with more runs".into());
            }
        }
    }
}

/// Feasible candidates whose objective the runs could not tell from the best's.
fn ties(s: &Search, winners: &[usize], best: usize) -> Vec<usize> {
    winners
        .iter()
        .copied()
        .filter(|&c| c != best && s.candidates[c].status == Status::Feasible)
        .filter(|&c| {
            let d = paired(s, c, best);
            let hw = nan0(half_width(&d, s.q.confidence));
            d.mean.abs() <= hw
        })
        .collect()
}
