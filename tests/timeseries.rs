//! Time series: consistent with the run's totals, and showing what happened when.

mod common;

use common::run;

#[test]
fn buckets_add_up_to_the_totals() {
    let (plan, results) = run(
        "experiments/quickstart.ron",
        &[
            "duration=100s".into(),
            "warmup=0s".into(),
            "replications=2".into(),
        ],
    );
    let u = &results.units[0];
    let s = u
        .series
        .as_ref()
        .expect("the first replication records a series");
    assert_eq!(s.bucket_s, 0.5, "a 200th of 100 s");
    assert_eq!(s.rows.len(), 200);
    assert!(
        results.units[1].series.is_none(),
        "only the first replication"
    );
    let col = |name: &str| s.columns.iter().position(|c| c == name).unwrap();
    let sum = |name: &str| {
        s.rows
            .iter()
            .map(|r| r[col(name)] * s.bucket_s)
            .sum::<f64>()
    };
    let requests = u.metrics.get("requests").unwrap();
    assert!(
        (sum("requests_rps") - requests).abs() < 1e-6,
        "{} vs {requests}",
        sum("requests_rps")
    );
    let succeeded = u.metrics.get("succeeded").unwrap();
    assert!((sum("throughput_rps") - succeeded).abs() < 1e-6);
    // The time average of the per-bucket utilization is the run's utilization.
    let util = s
        .rows
        .iter()
        .map(|r| r[col("app.utilization")])
        .sum::<f64>()
        / 200.0;
    let want = u.metrics.node("app", "utilization").unwrap();
    assert!((util - want).abs() < 1e-9, "{util} vs {want}");
    let csv = scalesim::report::timeseries_csv(&plan, &results);
    assert_eq!(csv.lines().count(), 1 + 200);
    assert!(csv.starts_with("variant,time_s,requests_rps,"));
}

#[test]
fn the_retry_storm_is_visible_over_time() {
    let (plan, results) = run("experiments/retry-storm.ron", &["replications=1".into()]);
    let series = |variant: &str| {
        let p = plan
            .points
            .iter()
            .position(|p| p.variant == variant)
            .unwrap();
        results.of_point(p).next().unwrap().series.clone().unwrap()
    };
    let at = |s: &scalesim::metrics::series::Series, name: &str, t: f64| {
        let c = s.columns.iter().position(|c| c == name).unwrap();
        s.rows[(t / s.bucket_s) as usize][c]
    };
    let (naive, budget) = (series("naive_retries"), series("backoff_budget"));
    // Before the slowdown (at 1m), all is well; at 5m naive retries still storm.
    assert!(at(&naive, "goodput_rps", 30.0) > 550.0);
    assert!(at(&naive, "goodput_rps", 300.0) < 10.0);
    assert!(at(&naive, "attempts_rps", 300.0) > 4.0 * at(&naive, "requests_rps", 300.0));
    assert!(at(&budget, "goodput_rps", 300.0) > 550.0);
    assert!(at(&budget, "db.queue_len", 300.0) < 10.0);
}

#[test]
fn breaker_state_over_time_matches_its_open_fraction() {
    // warm-up 0, so the open fraction covers the whole run, as the series does.
    let (plan, results) = run(
        "experiments/circuit-breaker.ron",
        &["warmup=0s".into(), "replications=1".into()],
    );
    let point = |v: &str| plan.points.iter().position(|p| p.variant == v).unwrap();
    let u = results.of_point(point("breaker")).next().unwrap();
    let s = u.series.as_ref().unwrap();
    let c = s
        .columns
        .iter()
        .position(|c| c == "app.breaker_open")
        .unwrap();
    // Closed before the dependency hangs (2m), open most of the time while it does.
    let at = |t: f64| s.rows[(t / s.bucket_s) as usize][c];
    assert_eq!(at(60.0), 0.0);
    let during: Vec<f64> = s.rows[(125.0 / s.bucket_s) as usize..(235.0 / s.bucket_s) as usize]
        .iter()
        .map(|r| r[c])
        .collect();
    assert!(during.iter().sum::<f64>() / during.len() as f64 > 0.7);
    let mean = s.rows.iter().map(|r| r[c]).sum::<f64>() / s.rows.len() as f64;
    let want = u.metrics.node("app", "open_fraction").unwrap();
    assert!((mean - want).abs() < 1e-9, "{mean} vs {want}");
    // Callers without breakers have no such column.
    let u = results.of_point(point("no_breaker")).next().unwrap();
    let s = u.series.as_ref().unwrap();
    assert!(!s.columns.iter().any(|c| c.ends_with("breaker_open")));
}
