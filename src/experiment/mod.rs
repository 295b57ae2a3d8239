//! Runs a plan: every point × replication as an independent unit, in parallel, journaled as
//! it goes, optionally one shard of it, optionally until a metric is precise enough.
//!
//! A unit's result depends only on (plan, point, replication), never on which thread or
//! machine ran it or when, and results are gathered in (point, replication) order, so the
//! output bytes do not depend on thread count, interruption, or sharding.

pub mod journal;
mod progress;

use crate::components::Network;
use crate::engine::{self, Calendar, StopReason};
use crate::metrics::series::Series;
use crate::metrics::{Aggregate, RunMetrics};
use crate::model::Plan;
use journal::Journal;
use progress::Progress;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::time::Instant;

/// One run: a parameter point and a replication index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unit {
    pub point: usize,
    pub replication: u32,
}

/// What one run produced.
#[derive(Clone, Debug)]
pub struct UnitResult {
    pub unit: Unit,
    pub metrics: RunMetrics,
    pub events: u64,
    pub fingerprint: u64,
    pub stop: StopReason,
    /// Simulated seconds the run covered (shorter than the duration if a limit stopped it).
    pub end_s: f64,
    /// Wall time, when this process ran the unit (not when it was loaded from a journal).
    pub wall_s: Option<f64>,
    /// The time series, recorded for the first replication of every point.
    pub series: Option<Series>,
}

impl UnitResult {
    /// A warning if a safety limit cut this run short.
    pub fn warning(&self, plan: &Plan) -> Option<String> {
        let p = &plan.points[self.unit.point];
        let what = match self.stop {
            StopReason::Duration | StopReason::Idle => return None,
            StopReason::MaxEvents => format!(
                "reached limits.max_events ({})",
                plan.settings.limits.max_events
            ),
            StopReason::WorldLimit => format!(
                "more than limits.max_in_flight ({}) requests were in flight: the model is \
                 probably unstable (offered load above capacity with unbounded queues)",
                plan.settings.limits.max_in_flight
            ),
            StopReason::NoProgress => format!(
                "simulated time stood still for {} events: something in the model loops at \
                 one instant",
                crate::engine::NO_PROGRESS_EVENTS
            ),
            StopReason::WallClock => format!(
                "the run took limits.max_wall ({:.3}s of wall-clock time): its results depend \
                 on this machine's speed",
                plan.settings.limits.max_wall.map_or(0.0, |d| d.secs())
            ),
        };
        Some(format!(
            "variant `{}` point {} replication {} stopped at {:.3}s of {:.3}s: {what}",
            p.variant,
            self.unit.point,
            self.unit.replication,
            self.end_s,
            plan.settings.duration.secs()
        ))
    }
}

/// The results of a whole plan (or shard), in (point, replication) order.
pub struct Results {
    pub units: Vec<UnitResult>,
    pub wall_s: f64,
}

impl Results {
    pub fn events(&self) -> u64 {
        self.units.iter().map(|u| u.events).sum()
    }

    /// The results of one point, in replication order.
    pub fn of_point(&self, point: usize) -> impl Iterator<Item = &UnitResult> {
        self.units.iter().filter(move |u| u.unit.point == point)
    }

    /// Mean events per second of the units this process ran, each on its own thread.
    pub fn events_per_s_per_unit(&self) -> Option<f64> {
        let ran: Vec<f64> = self
            .units
            .iter()
            .filter_map(|u| u.wall_s.map(|w| u.events as f64 / w.max(1e-9)))
            .collect();
        (!ran.is_empty()).then(|| ran.iter().sum::<f64>() / ran.len() as f64)
    }
}

/// `I/N`: this process runs the I-th of N deterministic slices of the work (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` with 0 ≤ I < N.
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {s}: expected I/N with 0 <= I < N, like 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<u32>().map_err(|_| bad())?,
            n.trim().parse::<u32>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    fn owns(&self, k: usize) -> bool {
        k % self.count as usize == self.index as usize
    }
}

/// What to do about a unit that has no result yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// Run it (a run or a resume).
    Run,
    /// Report it (a merge: every unit must come from a shard).
    Fail,
}

pub struct Options<'a> {
    pub threads: Option<usize>,
    pub shard: Option<Shard>,
    pub journal: Option<&'a Journal>,
    /// Results already at hand (from a journal or from shards).
    pub known: Vec<UnitResult>,
    pub missing: Missing,
    pub progress: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            threads: None,
            shard: None,
            journal: None,
            known: Vec::new(),
            missing: Missing::Run,
            progress: false,
        }
    }
}

/// The fixed work list: every point, every replication, point-major.
pub fn work_list(plan: &Plan) -> Vec<Unit> {
    (0..plan.points.len())
        .flat_map(|point| {
            (0..plan.settings.replications).map(move |replication| Unit { point, replication })
        })
        .collect()
}

/// Runs one unit from scratch.
pub fn run_unit(plan: &Plan, unit: Unit) -> UnitResult {
    let s = &plan.settings;
    let point = &plan.points[unit.point];
    let start = Instant::now();
    let mut net = Network::build(
        point.actors.clone(),
        s.seed,
        unit.replication as u64,
        s.warmup.0,
        s.limits.max_in_flight as usize,
    )
    .expect("the model was validated when the plan was loaded");
    net.set_deadline(
        s.limits
            .max_wall
            .map(|d| start + std::time::Duration::from_nanos(d.0)),
    );
    let record = unit.replication == 0 || plan.series_for_every_run;
    if record {
        net.record_series(s.bucket(), s.duration.0);
    }
    let mut cal = Calendar::new();
    net.start(&mut cal);
    let every = record.then(|| s.bucket());
    let out = engine::run_ticking(&mut net, &mut cal, s.duration.0, s.limits.max_events, every);
    UnitResult {
        unit,
        series: if record { net.series(out.end) } else { None },
        metrics: net.metrics(out.end),
        events: out.events,
        fingerprint: out.fingerprint,
        stop: out.stop,
        end_s: out.end as f64 / 1e9,
        wall_s: Some(start.elapsed().as_secs_f64()),
    }
}

/// Runs every unit of `plan` on `threads` threads (all cores if `None`), without a journal.
pub fn run_plan(plan: &Plan, threads: Option<usize>) -> Result<Results, String> {
    execute(
        plan,
        Options {
            threads,
            ..Options::default()
        },
    )
}

/// Runs units on demand and keeps every result, across calls: a plain run asks once for its
/// whole work list; sequential stopping and plan searches ask again as results come in.
pub struct Evaluator<'a> {
    pool: rayon::ThreadPool,
    journal: Option<&'a Journal>,
    /// Every result at hand, by unit.
    pub done: BTreeMap<Unit, UnitResult>,
    /// Units this evaluator ran (not known beforehand).
    pub ran: usize,
}

impl<'a> Evaluator<'a> {
    /// An evaluator on `threads` threads (all cores if `None`), saving what it runs to
    /// `journal`, starting from the results in `known`.
    pub fn new(
        threads: Option<usize>,
        journal: Option<&'a Journal>,
        known: Vec<UnitResult>,
    ) -> Result<Self, String> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.unwrap_or(0))
            .build()
            .map_err(|e| format!("cannot start worker threads: {e}"))?;
        Ok(Evaluator {
            pool,
            journal,
            done: known.into_iter().map(|u| (u.unit, u)).collect(),
            ran: 0,
        })
    }

    /// Makes sure every unit in `units` of `plan` has a result: known ones are kept, the rest
    /// are run in parallel and journaled as each finishes.
    pub fn ensure(&mut self, plan: &Plan, units: &[Unit]) -> Result<(), String> {
        self.ensure_showing(plan, units, None)
    }

    fn ensure_showing(
        &mut self,
        plan: &Plan,
        units: &[Unit],
        progress: Option<&Progress>,
    ) -> Result<(), String> {
        let todo: Vec<Unit> = units
            .iter()
            .filter(|u| !self.done.contains_key(u))
            .copied()
            .collect();
        let journal = self.journal;
        let ran: Vec<Result<UnitResult, String>> = self.pool.install(|| {
            todo.par_iter()
                .map(|u| {
                    let r = run_unit(plan, *u);
                    if let Some(j) = journal {
                        j.save(&r)
                            .map_err(|e| format!("cannot save a finished run: {e}"))?;
                    }
                    if let Some(p) = progress {
                        p.finished(&r);
                    }
                    Ok(r)
                })
                .collect()
        });
        for r in ran {
            let r = r?;
            self.ran += 1;
            self.done.insert(r.unit, r);
        }
        Ok(())
    }
}

struct Runner<'a> {
    plan: &'a Plan,
    eval: Evaluator<'a>,
    missing: Missing,
    progress: Progress,
}

impl Runner<'_> {
    /// Makes sure every unit in `units` has a result (a merge: that every one is known).
    fn ensure(&mut self, units: &[Unit]) -> Result<(), String> {
        if self.missing == Missing::Fail {
            if let Some(u) = units.iter().find(|u| !self.eval.done.contains_key(u)) {
                return Err(format!(
                    "no result for point {} replication {}: a shard is missing or incomplete",
                    u.point, u.replication
                ));
            }
        }
        self.eval
            .ensure_showing(self.plan, units, Some(&self.progress))
    }
}

/// Runs (or gathers) the units of `plan` that `opts` asks for.
pub fn execute(plan: &Plan, opts: Options) -> Result<Results, String> {
    let start = Instant::now();
    let s = &plan.settings;
    let owns = |k: usize| opts.shard.is_none_or(|sh| sh.owns(k));
    let total = match &s.stop_when {
        None => work_list(plan).len(),
        Some(rule) => plan.points.len() * rule.max_replications as usize,
    };
    let mut runner = Runner {
        plan,
        eval: Evaluator::new(opts.threads, opts.journal, opts.known)?,
        missing: opts.missing,
        progress: Progress::new(opts.progress, total as u64),
    };
    match &s.stop_when {
        None => {
            // Shards split the work list itself, unit by unit.
            let units: Vec<Unit> = work_list(plan)
                .into_iter()
                .enumerate()
                .filter(|(k, _)| owns(*k))
                .map(|(_, u)| u)
                .collect();
            runner.ensure(&units)?;
            runner.eval.done.retain(|u, _| units.contains(u));
        }
        Some(rule) => {
            // Sequential stopping: how many runs a point needs depends on its own results,
            // so shards split by point, and each point grows in batches until it is precise.
            let batch = s.replications;
            let mut reps: BTreeMap<usize, u32> = (0..plan.points.len())
                .filter(|p| owns(*p))
                .map(|p| (p, 0))
                .collect();
            let mut active: Vec<usize> = reps.keys().copied().collect();
            while !active.is_empty() {
                let mut units = Vec::new();
                for p in &active {
                    let from = reps[p];
                    let to = (from + batch).min(rule.max_replications);
                    units.extend((from..to).map(|replication| Unit {
                        point: *p,
                        replication,
                    }));
                    reps.insert(*p, to);
                }
                runner.ensure(&units)?;
                active.retain(|p| {
                    let xs: Vec<f64> = (0..reps[p])
                        .map(|r| {
                            let u = &runner.eval.done[&Unit {
                                point: *p,
                                replication: r,
                            }];
                            u.metrics
                                .columns()
                                .find(|(n, _)| *n == rule.metric)
                                .map_or(f64::NAN, |(_, v)| v)
                        })
                        .collect();
                    let a = Aggregate::of(&xs);
                    let precise = a.ci95 <= rule.rel_ci95 * a.mean.abs();
                    !precise && reps[p] < rule.max_replications
                });
            }
            runner
                .eval
                .done
                .retain(|u, _| reps.get(&u.point).is_some_and(|n| u.replication < *n));
        }
    }
    runner.progress.done();
    Ok(Results {
        units: runner.eval.done.into_values().collect(),
        wall_s: start.elapsed().as_secs_f64(),
    })
}
