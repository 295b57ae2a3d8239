//! Runs a plan: every point × replication as an independent unit, in parallel.
//!
//! A unit's result depends only on (plan, point, replication), never on which thread ran it
//! or when, and results are collected in work-list order, so output bytes do not depend on
//! the thread count.

use crate::components::Network;
use crate::engine::{self, Calendar, StopReason};
use crate::metrics::RunMetrics;
use crate::model::Plan;
use rayon::prelude::*;
use std::time::Instant;

/// One run: a parameter point and a replication index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The results of a whole plan, in work-list order (point-major, then replication).
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
}

/// The work list: every point, every replication.
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
    let mut net = Network::build(
        point.actors.clone(),
        s.seed,
        unit.replication as u64,
        s.warmup.0,
        s.limits.max_in_flight as usize,
    )
    .expect("the model was validated when the plan was loaded");
    let mut cal = Calendar::new();
    net.start(&mut cal);
    let out = engine::run(&mut net, &mut cal, s.duration.0, s.limits.max_events);
    UnitResult {
        unit,
        metrics: net.metrics(out.end),
        events: out.events,
        fingerprint: out.fingerprint,
        stop: out.stop,
        end_s: out.end as f64 / 1e9,
    }
}

/// Runs every unit of `plan` on `threads` threads (all cores if `None`).
pub fn run_plan(plan: &Plan, threads: Option<usize>) -> Result<Results, String> {
    let units = work_list(plan);
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    let results: Vec<UnitResult> =
        pool.install(|| units.par_iter().map(|u| run_unit(plan, *u)).collect());
    Ok(Results {
        units: results,
        wall_s: start.elapsed().as_secs_f64(),
    })
}
