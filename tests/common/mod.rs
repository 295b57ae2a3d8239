//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod models;

use scalesim::components::{Msg, Network};
use scalesim::engine::{self, Calendar};
use scalesim::experiment::{self, Results};
use scalesim::metrics::{student_t_975, Aggregate};
use scalesim::model::{self, CommandLine, Plan};
use std::path::{Path, PathBuf};

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Loads a shipped experiment with `--set` overrides and runs it.
pub fn run(path: &str, set: &[String]) -> (Plan, Results) {
    let cli = CommandLine {
        set: set.to_vec(),
        ..Default::default()
    };
    let plan = model::load_experiment(&repo(path), &cli).unwrap_or_else(|e| panic!("{e}"));
    let results = experiment::run_plan(&plan, None).expect("run");
    (plan, results)
}

/// Writes an experiment to a temporary file under `group`.
pub fn write(group: &str, name: &str, body: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(group);
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.ron"));
    std::fs::write(&p, body).unwrap();
    p
}

pub fn load(p: &Path) -> Result<Plan, String> {
    model::load_experiment(p, &CommandLine::default()).map_err(|e| e.to_string())
}

pub fn run_file(p: &Path) -> (Plan, Results) {
    let plan = load(p).unwrap();
    let r = experiment::run_plan(&plan, None).unwrap();
    (plan, r)
}

/// The metrics of the first run of an experiment file (one point, one replication).
pub fn metrics_of(p: &Path) -> scalesim::metrics::RunMetrics {
    let (_, r) = run_file(p);
    r.units.into_iter().next().expect("a run").metrics
}

/// One metric of one node, per replication, for the first point.
pub fn per_rep(results: &Results, node: &str, metric: &str) -> Vec<f64> {
    results
        .of_point(0)
        .map(|u| {
            u.metrics
                .node(node, metric)
                .unwrap_or_else(|| panic!("no metric {node}.{metric}"))
        })
        .collect()
}

/// Mean and standard error of per-replication estimates.
pub fn mean_se(xs: &[f64]) -> (f64, f64) {
    let a = Aggregate::of(xs);
    (a.mean, a.ci95 / student_t_975(xs.len() - 1))
}

/// Asserts that the estimate from replications agrees with `theory` within `k` standard
/// errors, and that it is precise enough (relative standard error below `max_rel_se`) for
/// the comparison to mean something.
pub fn assert_agrees(what: &str, xs: &[f64], theory: f64, k: f64, max_rel_se: f64) {
    let (mean, se) = mean_se(xs);
    let z = (mean - theory) / se;
    eprintln!(
        "{what}: simulated {mean:.6e} ± {se:.2e} (se), theory {theory:.6e}, z = {z:+.2}, \
         rel err {:+.2}%",
        100.0 * (mean - theory) / theory
    );
    assert!(
        se / theory.abs() < max_rel_se,
        "{what}: too imprecise to test (relative se {:.3})",
        se / theory
    );
    assert!(
        z.abs() < k,
        "{what}: {mean} is {z:.1} standard errors from theory {theory}"
    );
}

/// Little's law at a service, on every replication: the time-average number in the service
/// equals its arrival rate times the mean time spent in it. It holds on every sample path,
/// up to requests that straddle the edges of the window.
pub fn assert_little(plan: &Plan, results: &Results, node: &str) {
    let window = plan.settings.duration.secs() - plan.settings.warmup.secs();
    for u in &results.units {
        let m = |name: &str| u.metrics.node(node, name).unwrap();
        let l = m("in_system_mean");
        let lambda = (m("arrivals") - m("rejected")) / window;
        let lw = lambda * m("sojourn_mean_s");
        assert!(
            (l - lw).abs() / l < 0.01,
            "Little's law at {node}, replication {}: L = {l}, λW = {lw}",
            u.unit.replication
        );
    }
}

/// Runs point `p` of `plan`, replication `rep`, recording its time series, after `setup` has
/// seen the network and the calendar: (metrics, series, events, fingerprint), the metrics and
/// series as text to compare whole.
pub fn run_point(
    plan: &Plan,
    p: usize,
    rep: u64,
    setup: impl FnOnce(&mut Network, &mut Calendar<Msg>),
) -> (String, String, u64, u64, engine::StopReason) {
    let s = &plan.settings;
    let mut net = Network::build(
        plan.points[p].actors.clone(),
        s.seed,
        rep,
        s.warmup.0,
        s.limits.max_in_flight as usize,
    )
    .unwrap();
    net.record_series(s.bucket(), s.duration.0);
    let mut cal = Calendar::new();
    setup(&mut net, &mut cal);
    net.start(&mut cal);
    let out = engine::run_ticking(
        &mut net,
        &mut cal,
        s.duration.0,
        s.limits.max_events,
        Some(s.bucket()),
    );
    let series = net.series(out.end).map(|x| format!("{:?}", x.rows));
    let metrics = format!("{:?}", net.metrics(out.end).columns().collect::<Vec<_>>());
    (
        metrics,
        series.unwrap_or_default(),
        out.events,
        out.fingerprint,
        out.stop,
    )
}
