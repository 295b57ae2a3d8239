//! What one reconcile step knows of the fleet: the counts it steers by, and which replica
//! goes next. Built with one pass over the slots and kept current by each launch and
//! removal, so a step that changes m replicas costs O(fleet + m log fleet), not
//! O(fleet × m).

use super::{Phase, Replica};
use std::collections::BinaryHeap;

/// Which replicas go first: one still starting, else one down, else one serving.
fn rank(r: &Replica) -> usize {
    match (r.phase, r.up) {
        (Phase::Starting, _) => 0,
        (_, false) => 1,
        _ => 2,
    }
}

/// Whether reconcile counts `r` at all: active, and not a canary (outside the count).
fn counts(r: &Replica) -> bool {
    r.active() && r.canary == 0
}

pub(super) struct Census {
    version: u32,
    /// [old, new, available, new ready] toward `version`.
    pub(super) tally: [u32; 4],
    /// Per version class (0: old, 1: the current version), per rank: the counted replicas,
    /// the highest slot on top. Built at the first removal.
    candidates: Option<[[BinaryHeap<usize>; 3]; 2]>,
}

impl Census {
    pub(super) fn of(replicas: &[Replica], version: u32) -> Self {
        let mut tally = [0; 4];
        for r in replicas {
            add(&mut tally, counted(r, version));
        }
        Census {
            version,
            tally,
            candidates: None,
        }
    }

    /// Replica `k` (now `r`) was launched.
    pub(super) fn launched(&mut self, k: usize, r: &Replica) {
        add(&mut self.tally, counted(r, self.version));
        if let Some(c) = &mut self.candidates {
            if counts(r) {
                c[(r.version == self.version) as usize][rank(r)].push(k);
            }
        }
    }

    /// Replica `k` was removed: it counted as `before`, and is `after` now.
    pub(super) fn removed(&mut self, before: &[u32; 4], after: &Replica) {
        sub(&mut self.tally, *before);
        add(&mut self.tally, counted(after, self.version));
    }

    pub(super) fn counted(&self, r: &Replica) -> [u32; 4] {
        counted(r, self.version)
    }

    /// The replica to remove among the counted ones of the current version (`current`) or
    /// older ones, of rank at most `max_rank`: the lowest rank, then the highest slot (as
    /// `Service::victim` picks). Taken from the candidates: the caller removes it.
    pub(super) fn take(
        &mut self,
        replicas: &[Replica],
        current: bool,
        max_rank: usize,
    ) -> Option<usize> {
        let v = self.version;
        let c = self.candidates.get_or_insert_with(|| {
            let mut c: [[Vec<usize>; 3]; 2] = Default::default();
            for (k, r) in replicas.iter().enumerate().filter(|(_, r)| counts(r)) {
                c[(r.version == v) as usize][rank(r)].push(k);
            }
            c.map(|by_rank| by_rank.map(BinaryHeap::from))
        });
        c[current as usize][..=max_rank]
            .iter_mut()
            .find_map(|heap| heap.pop())
    }
}

/// What reconcile counts of a replica toward version `v`: [old, new, available, new ready].
fn counted(r: &Replica, v: u32) -> [u32; 4] {
    if !counts(r) {
        return [0; 4];
    }
    let serving = (r.phase == Phase::Serving && r.up) as u32;
    if r.version == v {
        [0, 1, serving, serving]
    } else {
        [1, 0, serving, 0]
    }
}

fn add(tally: &mut [u32; 4], c: [u32; 4]) {
    for (t, c) in tally.iter_mut().zip(c) {
        *t += c;
    }
}

fn sub(tally: &mut [u32; 4], c: [u32; 4]) {
    for (t, c) in tally.iter_mut().zip(c) {
        *t -= c;
    }
}
