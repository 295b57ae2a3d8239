//! The balancer's algorithms and ejection rules, checked on the actor alone.

mod hashing {
    use super::super::*;

    #[test]
    fn maglev_spreads_evenly_and_moves_little() {
        let m = 65537;
        let t3 = maglev_table(m, &[0, 1, 2]);
        for b in 0..3 {
            let share = t3.iter().filter(|&&x| x == b).count() as f64 / m as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.01, "{share}");
        }
        // Removing one of three backends moves about its third, plus a little.
        let t2 = maglev_table(m, &[0, 1]);
        let moved = t3
            .iter()
            .zip(&t2)
            .filter(|(a, b)| **a != 2 && a != b)
            .count() as f64
            / m as f64;
        assert!(moved < 0.1, "{moved}");
    }
}

mod picking {
    use super::super::*;
    use crate::engine::derive_stream;

    fn balancer(algorithm: Algorithm, replicas: u32) -> Balancer {
        let cfg = BalancerConfig {
            target: ActorId(0),
            replicas,
            algorithm,
            health_check: None,
            outlier: None,
            affinity: false,
            timeout: 15_000_000_000,
            zone_aware: None,
            splits: Vec::new(),
        };
        Balancer::new(ActorId(1), cfg, derive_stream(1, 0, "lb", "test"), 0)
    }

    #[test]
    fn affinity_keeps_a_key_on_its_replica_while_available() {
        let mut b = balancer(Algorithm::RoundRobin, 3);
        b.cfg.affinity = true;
        let first: Vec<u32> = (0..6).map(|k| b.pick(k, 0).unwrap()).collect();
        assert_eq!(first, vec![0, 1, 2, 0, 1, 2]);
        let again: Vec<u32> = (0..6).map(|k| b.pick(k, 0).unwrap()).collect();
        assert_eq!(again, first, "sticky");
        b.backends[1].healthy = false;
        b.refresh(1, 0);
        assert_ne!(
            b.pick(1, 0).unwrap(),
            1,
            "moves when its replica is out of rotation"
        );
    }

    #[test]
    fn outlier_ejection_grows_with_repeat_offences_and_is_capped() {
        let mut b = balancer(Algorithm::RoundRobin, 10);
        b.cfg.outlier = Some(Outlier {
            consecutive_errors: 2,
            base_ejection: 30,
            max_ejection: 70,
            max_percent: 10.0,
            interval: u64::MAX,
        });
        let mut cal = crate::engine::Calendar::new();
        let mut requests = crate::components::Requests::default();
        let mut ctx = Ctx {
            cal: &mut cal,
            requests: &mut requests,
            warmup: 0,
        };
        let mut eject_at = |b: &mut Balancer, r: u32, now| {
            b.passive_result(r, true, now, &mut ctx);
            b.passive_result(r, true, now, &mut ctx);
            b.backends[r as usize].ejected_until
        };
        assert_eq!(eject_at(&mut b, 4, 0), Some(30), "base ejection");
        // At most 10% of 10 hosts: a second host is not ejected meanwhile.
        assert_eq!(eject_at(&mut b, 5, 10), None);
        assert_eq!(
            eject_at(&mut b, 4, 100),
            Some(160),
            "twice the base the second time"
        );
        assert_eq!(
            eject_at(&mut b, 4, 200),
            Some(270),
            "capped at max_ejection"
        );
    }

    /// Envoy: ejection = base × count, and each sweep (every interval) that finds the host in
    /// rotation lowers the count by one. With the defaults (30 s, 10 s sweeps), a host ejected
    /// again 5 s after its first ejection ended stays out 60 s; one that behaves for 110 s
    /// before failing again is out the base 30 s, not 90 s.
    #[test]
    fn outlier_ejection_is_forgiven_one_step_per_healthy_sweep() {
        let s = 1_000_000_000u64;
        let mut b = balancer(Algorithm::RoundRobin, 10);
        b.cfg.outlier = Some(Outlier {
            consecutive_errors: 1,
            base_ejection: 30 * s,
            max_ejection: 300 * s,
            max_percent: 10.0,
            interval: 10 * s,
        });
        let mut cal = crate::engine::Calendar::new();
        let mut requests = crate::components::Requests::default();
        let mut ctx = Ctx {
            cal: &mut cal,
            requests: &mut requests,
            warmup: 0,
        };
        let mut eject_at = |b: &mut Balancer, now: u64| {
            b.passive_result(3, true, now, &mut ctx);
            b.backends[3].ejected_until.map(|t| (t - now) / s)
        };
        assert_eq!(eject_at(&mut b, 0), Some(30));
        assert_eq!(eject_at(&mut b, 35 * s), Some(60), "no sweep since: count 2");
        // Out until 95 s; sweeps at 100, 110, ..., 200 s find it healthy: 11 steps down.
        assert_eq!(eject_at(&mut b, 205 * s), Some(30), "forgiven: count back to 1");
        // Out until 235 s; one sweep (240 s) before failing at 245 s: count 1 − 1 + 1.
        assert_eq!(eject_at(&mut b, 245 * s), Some(30));
        // Out until 275 s; failing again at 278 s, before any sweep: count 2.
        assert_eq!(eject_at(&mut b, 278 * s), Some(60));
    }

    #[test]
    fn smooth_weighted_round_robin_interleaves_by_weight() {
        let mut b = balancer(Algorithm::WeightedRoundRobin(vec![5, 1, 1]), 3);
        let picks: Vec<u32> = (0..7).map(|_| b.pick(0, 0).unwrap()).collect();
        // NGINX's smooth WRR for weights 5,1,1: a a b a c a a.
        assert_eq!(picks, vec![0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn ring_hash_moves_about_one_nth_of_keys() {
        let mut four = balancer(Algorithm::RingHash { vnodes: 160 }, 4);
        let before: Vec<u32> = (0..20_000).map(|k| four.pick(k, 0).unwrap()).collect();
        // Take replica 3 out of rotation: only its keys move.
        four.backends[3].healthy = false;
        four.refresh(3, 0);
        let after: Vec<u32> = (0..20_000).map(|k| four.pick(k, 0).unwrap()).collect();
        let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        let owned_by_3 = before.iter().filter(|&&r| r == 3).count();
        assert_eq!(moved, owned_by_3, "keys of other replicas stay put");
        let share = owned_by_3 as f64 / 20_000.0;
        assert!((share - 0.25).abs() < 0.05, "{share}");
    }
}

mod choices {
    use super::super::*;
    use rand::{Rng, SeedableRng};

    /// Two choices worked out pick what the general partial shuffle picks, from the same
    /// draws, whatever the loads (ties included) and the number of replicas.
    #[test]
    fn two_choices_pick_as_the_general_case_does() {
        let mut loads_rng = Stream::seed_from_u64(7);
        for n in [2usize, 3, 4, 5, 8, 100] {
            // Available replicas need not be 0..n: take every other id.
            let avail: Vec<u32> = (0..n as u32).map(|i| 2 * i + 1).collect();
            for seed in 0..500u64 {
                let loads: Vec<u32> = (0..2 * n + 2)
                    .map(|_| loads_rng.random_range(0..3))
                    .collect();
                let load = |r: u32| loads[r as usize];
                let mut a = Stream::seed_from_u64(seed);
                let mut b = a.clone();
                let general = least_of_choices(&mut a, &mut Vec::new(), &avail, 2, load);
                let two = least_of_two(&mut b, &avail, load);
                assert_eq!(two, general, "n {n}, seed {seed}");
                assert_eq!(a.random::<u64>(), b.random::<u64>(), "the same draws");
            }
        }
    }
}
