//! Golden trajectories: the fingerprint of every handled event's (time, target, kind) for two
//! small runs. A change that alters behaviour changes these even when summary statistics
//! happen to agree.
//!
//! If you changed behaviour on purpose (a new event, a different draw order), check the
//! theory tests still pass, then update the values below from
//! `scalesim run EXP --set duration=60s --set warmup=5s --replications 2` (runs.csv), and say
//! so in the commit message. If you did not mean to change behaviour, find out what did.

mod common;

use common::run;

fn fingerprints(path: &str) -> Vec<(u64, String)> {
    let set = ["duration=60s", "warmup=5s", "replications=2"].map(String::from);
    let (_, results) = run(path, &set);
    results
        .units
        .iter()
        .map(|u| (u.events, format!("{:016x}", u.fingerprint)))
        .collect()
}

#[test]
fn quickstart_trajectory_is_unchanged() {
    assert_eq!(
        fingerprints("experiments/quickstart.ron"),
        vec![
            // Fewer events since cancelled timeouts no longer fire as no-ops (the same
            // metrics: tests/timers.rs).
            (67004, "09456017ade769f3".to_string()),
            (67778, "9e0372970c3a3e31".to_string()),
        ]
    );
}

#[test]
fn closed_loop_trajectory_is_unchanged() {
    assert_eq!(
        fingerprints("experiments/textbook/closed-loop.ron"),
        vec![
            (4462, "8524efe2840aefc3".to_string()),
            (4446, "9d4ac6e34e06ca3b".to_string()),
        ]
    );
}

#[test]
fn autoscaling_trajectory_is_unchanged() {
    // The noisy variants scale out within the first minute: cold starts, warm-up, the
    // HPA's decisions and its metric samples are all in the trajectory.
    let got = fingerprints("experiments/autoscaler-spike.ron");
    let want = [
        (48061, "ac58f508a4a1e630"),
        (48555, "7d2b930e0c980fd9"),
        (48061, "ac58f508a4a1e630"),
        (48555, "7d2b930e0c980fd9"),
        (48061, "ac58f508a4a1e630"),
        (48555, "7d2b930e0c980fd9"),
        (48058, "e8a46d143826bab3"),
        (48552, "7cf81be25ea351f8"),
        // The GCP autoscaler: the first minute of the HPA's (no change in it).
        (48061, "ac58f508a4a1e630"),
        (48555, "7d2b930e0c980fd9"),
        // Azure's rules: no decision within the first minute, as target tracking.
        (48058, "e8a46d143826bab3"),
        (48552, "7cf81be25ea351f8"),
        (88706, "3586282bcac02971"),
        (72368, "8caefe8cbed45310"),
        (88706, "3586282bcac02971"),
        (72368, "8caefe8cbed45310"),
    ];
    let want: Vec<(u64, String)> = want.iter().map(|(e, f)| (*e, f.to_string())).collect();
    assert_eq!(got, want);
}

#[test]
fn function_instances_trajectory_is_unchanged() {
    // Which instance a call lands on (the lowest free, else the lowest starting with room)
    // under crashes, recoveries, a cap, a scaling rate and idle reclaims. The values were
    // written while calls still found their instance by scanning every slot.
    assert_eq!(
        fingerprints("tests/fixtures/function-faults.ron"),
        vec![
            (17449, "eff9e86345f4ac13".to_string()),
            (17475, "ffec0759591151ff".to_string()),
        ]
    );
}

#[test]
fn fleet_lifecycle_trajectory_is_unchanged() {
    // Which replicas start, drain and serve through rollouts of every strategy with crashes
    // in their middle, a canary, scaling actions, scheduled bounds, a region loss and a
    // vertical resize. The values were written while reconcile counted the fleet by scanning
    // every slot, and every fault recomputed every replica's rates.
    assert_eq!(
        fingerprints("tests/fixtures/fleet-lifecycle.ron"),
        vec![
            (512084, "f2c982de3641fa8b".to_string()),
            (512621, "e22d6cf67f649f77".to_string()),
        ]
    );
}
