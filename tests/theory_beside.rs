//! Theory beside simulation: the columns a run reports are `scalesim::theory` applied to that
//! run's own measured inputs, they agree with simulation on the textbook queues, and they
//! are flagged, with reasons, where retries break the formulas' assumptions.

mod common;

use common::run;
use scalesim::analysis::theory::{of_point, NodeTheory};
use scalesim::theory::{self, Formula, Station};

/// The prediction recomputed by hand from each run's node metrics.
fn by_hand(
    results: &scalesim::experiment::Results,
    point: usize,
    node: &str,
    f: Formula,
    servers: u32,
    places: Option<u32>,
    window: f64,
) -> Vec<theory::Estimate> {
    results
        .of_point(point)
        .map(|u| {
            let m = |name: &str| u.metrics.node(node, name).unwrap();
            theory::estimate(
                f,
                &Station {
                    servers,
                    places,
                    arrival_rate: m("arrivals") / window,
                    service_mean: m("service_mean_s"),
                    service_scv: m("service_scv"),
                    arrival_scv: m("arrival_scv"),
                },
            )
        })
        .collect()
}

/// One quantity of an estimate.
type Pick = fn(&theory::Estimate) -> f64;

fn only(ts: Vec<NodeTheory>) -> NodeTheory {
    assert_eq!(ts.len(), 1, "{ts:?}");
    ts.into_iter().next().unwrap()
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = xs.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn textbook_columns_are_the_formulas_at_measured_inputs() {
    // (experiment, formula, model, servers, places)
    let cases = [
        (
            "experiments/textbook/mmc.ron",
            Formula::ErlangC,
            "M/M/4",
            4,
            None,
        ),
        (
            "experiments/textbook/md1.ron",
            Formula::PollaczekKhinchine,
            "M/D/1",
            1,
            None,
        ),
        (
            "experiments/textbook/mg1-lognormal.ron",
            Formula::PollaczekKhinchine,
            "M/G/1",
            1,
            None,
        ),
        (
            "experiments/textbook/mmck.ron",
            Formula::Mmck,
            "M/M/2/5",
            2,
            Some(5),
        ),
        (
            "experiments/textbook/erlang-b.ron",
            Formula::ErlangB,
            "M/M/10/10",
            10,
            Some(10),
        ),
    ];
    let quick = ["duration=60s", "warmup=5s", "replications=4"].map(String::from);
    for (path, formula, model, servers, places) in cases {
        let (plan, results) = run(path, &quick);
        let t = only(of_point(&plan, &results, 0));
        assert_eq!((t.formula, t.model.as_str()), (formula, model), "{path}");
        assert!(t.exact, "{path}");
        let want = by_hand(&results, 0, "queue", formula, servers, places, 55.0);
        let checks: [(&str, Pick); 3] = [
            ("wait_mean_s", |e| e.wait_mean),
            ("sojourn_mean_s", |e| e.sojourn_mean),
            ("utilization", |e| e.utilization),
        ];
        for (metric, get) in checks {
            let got = t.value(metric).unwrap().theory.unwrap().mean;
            let expect = mean(want.iter().map(get));
            assert!(
                (got - expect).abs() <= 1e-12 * expect.abs().max(1e-9),
                "{path} {metric}: {got} vs {expect}"
            );
        }
        // Exact formulas on their own queues: nothing to flag.
        assert!(!t.disagrees(), "{path}: {t:?}");
    }
}

#[test]
fn retry_storm_is_flagged_with_its_reasons() {
    let set = ["replications=3"].map(String::from);
    let (plan, results) = run("experiments/retry-storm.ron", &set);
    let point = plan
        .points
        .iter()
        .position(|p| p.variant == "naive_retries")
        .unwrap();
    let db = of_point(&plan, &results, point)
        .into_iter()
        .find(|t| t.node == "db")
        .expect("the database is a queue a formula describes");
    assert!(db.disagrees(), "{db:?}");
    assert!(db.value("wait_mean_s").unwrap().disagrees);
    let reasons = db.reasons.join("; ");
    assert!(reasons.contains("retries"), "{reasons}");
    assert!(reasons.contains("timeouts"), "{reasons}");
    // Without retries the same database matches its formula.
    let calm = plan
        .points
        .iter()
        .position(|p| p.variant == "no_retries")
        .unwrap();
    let db = of_point(&plan, &results, calm)
        .into_iter()
        .find(|t| t.node == "db")
        .unwrap();
    assert!(!db.value("wait_mean_s").unwrap().disagrees, "{db:?}");
}

#[test]
fn summary_json_carries_the_theory() {
    let quick = ["duration=30s", "warmup=5s", "replications=2"].map(String::from);
    let (plan, results) = run("experiments/textbook/mmc.ron", &quick);
    let text = scalesim::report::summary_json(&plan, &results, &[], &Default::default());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let t = &v["points"][0]["theory"]["queue"];
    assert_eq!(t["model"], "M/M/4");
    assert_eq!(t["formula"], "Erlang C");
    let th = t["wait_mean_s"]["theory"]["mean"].as_f64().unwrap();
    let expect = only(of_point(&plan, &results, 0))
        .value("wait_mean_s")
        .unwrap()
        .theory
        .unwrap()
        .mean;
    assert_eq!(th, expect);
    assert!(t["wait_mean_s"]["simulated"]["mean"].as_f64().is_some());
}
