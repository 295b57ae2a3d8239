//! What reconcile steers by, kept current by every change to a replica's lifecycle (launch,
//! ready, crash, recovery, removal, a canary marked, a new version), so a reconcile step
//! and an autoscaler's decision cost O(what changes), not O(fleet).

use super::slots::SlotSet;
use super::{Phase, Replica};

/// Where the census counts an active replica (starting or serving; a draining or gone
/// one is counted nowhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Place {
    /// A canary: beside the desired count, outside reconcile's tally.
    canary: bool,
    /// Of the version the fleet moves to.
    current: bool,
    /// Which replicas go first: 0 starting, 1 down, 2 serving.
    rank: u8,
}

#[derive(Debug, PartialEq)]
pub(super) struct Census {
    version: u32,
    /// Toward `version`, without canaries: [old, new, available, new ready].
    pub(super) tally: [u32; 4],
    /// Every active replica, canaries too, per rank: [starting, down, serving].
    pub(super) fleet: [u32; 3],
    /// Per version class (0 old, 1 current), per rank: the slots of the tallied replicas.
    slots: [[SlotSet; 3]; 2],
    /// Every serving replica, down or up, canaries too: round robin's turn.
    pub(super) serving: SlotSet,
}

impl Census {
    pub(super) fn of(replicas: &[Replica], version: u32) -> Self {
        let mut c = Census {
            version,
            tally: [0; 4],
            fleet: [0; 3],
            slots: Default::default(),
            serving: SlotSet::default(),
        };
        for (k, r) in replicas.iter().enumerate() {
            c.moved(k, None, c.place(r));
        }
        c
    }

    /// Where replica `r` counts now.
    pub(super) fn place(&self, r: &Replica) -> Option<Place> {
        let rank = match (r.phase, r.up) {
            (Phase::Starting, _) => 0,
            (Phase::Serving, false) => 1,
            (Phase::Serving, true) => 2,
            (Phase::Draining | Phase::Gone, _) => return None,
        };
        Some(Place {
            canary: r.canary != 0,
            current: r.version == self.version,
            rank,
        })
    }

    /// Replica `k` counted at `from` and counts at `to` now.
    pub(super) fn moved(&mut self, k: usize, from: Option<Place>, to: Option<Place>) {
        if from == to {
            return;
        }
        if let Some(p) = from {
            if p.rank > 0 {
                self.serving.remove(k);
            }
            self.fleet[p.rank as usize] -= 1;
            if !p.canary {
                self.slots[p.current as usize][p.rank as usize].remove(k);
                for (t, c) in self.tally.iter_mut().zip(counts(p)) {
                    *t -= c;
                }
            }
        }
        if let Some(p) = to {
            if p.rank > 0 {
                self.serving.insert(k);
            }
            self.fleet[p.rank as usize] += 1;
            if !p.canary {
                self.slots[p.current as usize][p.rank as usize].insert(k);
                for (t, c) in self.tally.iter_mut().zip(counts(p)) {
                    *t += c;
                }
            }
        }
    }

    /// The fleet moves to `version`: every replica of the current one is old now.
    pub(super) fn new_version(&mut self, version: u32) {
        self.version = version;
        let [old, new] = &mut self.slots;
        for (o, n) in old.iter_mut().zip(new) {
            o.take_all(n);
        }
        let [o, n, available, _] = self.tally;
        self.tally = [o + n, 0, available, 0];
    }

    /// The replica to remove among the tallied ones of the current version (`current`) or
    /// older ones, of rank at most `max_rank`: the lowest rank, then the highest slot (as
    /// `Service::victim` picks).
    pub(super) fn next_out(&self, current: bool, max_rank: usize) -> Option<usize> {
        self.slots[current as usize][..=max_rank]
            .iter()
            .find_map(SlotSet::highest)
    }
}

/// What a tallied replica adds to [old, new, available, new ready].
fn counts(p: Place) -> [u32; 4] {
    let serving = (p.rank == 2) as u32;
    if p.current {
        [0, 1, serving, serving]
    } else {
        [1, 0, serving, 0]
    }
}
