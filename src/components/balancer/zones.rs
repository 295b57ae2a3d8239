//! Envoy's zone-aware routing (SEMANTICS.md): a balancer standing for the callers of one
//! zone keeps every call there while that zone's share of available replicas is at least
//! its callers' share; otherwise that ratio stays, and the rest spills to the other zones
//! in proportion to their residual capacity (their share of replicas beyond their share of
//! callers). Replica slot r is in zone r mod `zones`.

use crate::engine::{index_in, Stream};
use rand::Rng;

/// The configuration: the zones, the callers' own and their spread.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneAware {
    pub zones: u32,
    /// The callers' zone.
    pub local: u32,
    /// The callers' share in each zone (summing to 1).
    pub callers: Vec<f64>,
    pub min_cluster_size: u32,
}

/// Available replicas per zone, rebuilt only after an availability change (so a pick
/// stays O(1)), and each zone's round-robin turn.
pub(super) struct Zones {
    cfg: ZoneAware,
    avail: Vec<Vec<u32>>,
    next: Vec<usize>,
    dirty: bool,
}

impl Zones {
    pub(super) fn new(cfg: ZoneAware) -> Self {
        let k = cfg.zones as usize;
        Zones {
            cfg,
            avail: vec![Vec::new(); k],
            next: vec![0; k],
            dirty: true,
        }
    }

    /// A replica's availability changed: the per-zone lists are rebuilt at the next pick.
    pub(super) fn invalidate(&mut self) {
        self.dirty = true;
    }

    /// A replica among `avail` (the balancer's eligible ones, outside panic), by zone then
    /// at random (`random`) or in turn within it; `None` when zone-aware routing does not
    /// apply (fewer available replicas than `min_cluster_size`, or none in the zone drawn).
    pub(super) fn pick(&mut self, avail: &[u32], rng: &mut Stream, random: bool) -> Option<u32> {
        if avail.len() < self.cfg.min_cluster_size.max(1) as usize {
            return None;
        }
        let k = self.cfg.zones as usize;
        if self.dirty {
            for v in &mut self.avail {
                v.clear();
            }
            for &r in avail {
                self.avail[r as usize % k].push(r);
            }
            self.dirty = false;
        }
        let zone = self.zone(avail.len() as f64, rng);
        let in_zone = &self.avail[zone];
        if in_zone.is_empty() {
            return None;
        }
        let i = if random {
            index_in(rng, 0, in_zone.len())
        } else {
            let i = self.next[zone] % in_zone.len();
            self.next[zone] = i + 1;
            i
        };
        Some(in_zone[i])
    }

    /// The zone a call goes to, given `total` available replicas.
    fn zone(&self, total: f64, rng: &mut Stream) -> usize {
        let (k, local, callers) = (self.avail.len(), self.cfg.local as usize, &self.cfg.callers);
        let share = |i: usize| self.avail[i].len() as f64 / total;
        let stay = (share(local) / callers[local]).min(1.0);
        if stay >= 1.0 || rng.random::<f64>() < stay {
            return local;
        }
        let residual = |i: usize| {
            if i == local {
                0.0
            } else {
                (share(i) - callers[i]).max(0.0)
            }
        };
        let sum: f64 = (0..k).map(residual).sum();
        // No zone has room beyond its callers: spill by available replicas instead.
        let weight = |i: usize| match (sum > 0.0, i == local) {
            (true, _) => residual(i),
            (false, true) => 0.0,
            (false, false) => share(i),
        };
        let all: f64 = (0..k).map(weight).sum();
        if all <= 0.0 {
            return local;
        }
        let mut x = rng.random::<f64>() * all;
        let mut pick = local;
        for i in 0..k {
            let w = weight(i);
            if w <= 0.0 {
                continue;
            }
            pick = i;
            if x < w {
                break;
            }
            x -= w;
        }
        pick
    }
}
