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
            (83463, "53a30408a4e00517".to_string()),
            (84414, "c8d48c34581ef075".to_string()),
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
        (59639, "eec91d69f9b239cc"),
        (60255, "81839611fec7d664"),
        (59639, "eec91d69f9b239cc"),
        (60255, "81839611fec7d664"),
        (59639, "eec91d69f9b239cc"),
        (60255, "81839611fec7d664"),
        (59636, "6bc0766591ee49fd"),
        (60252, "14c22bea1f7cc022"),
        (107740, "4432d9774e910a8f"),
        (89880, "dddb219ead32f37f"),
        (107740, "4432d9774e910a8f"),
        (89880, "dddb219ead32f37f"),
    ];
    let want: Vec<(u64, String)> = want.iter().map(|(e, f)| (*e, f.to_string())).collect();
    assert_eq!(got, want);
}
