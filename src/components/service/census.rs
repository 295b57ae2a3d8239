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

/// What the census reads of a replica.
#[derive(Clone, Copy, Debug)]
pub(super) struct Seen {
    phase: Phase,
    up: bool,
    canary: bool,
    version: u32,
}

impl From<&Replica> for Seen {
    fn from(r: &Replica) -> Self {
        Seen {
            phase: r.phase,
            up: r.up,
            canary: r.canary != 0,
            version: r.version,
        }
    }
}

impl Census {
    pub(super) fn of(replicas: &[Replica], version: u32) -> Self {
        Self::of_seen(replicas.iter().map(Seen::from), version)
    }

    fn of_seen(replicas: impl Iterator<Item = Seen>, version: u32) -> Self {
        let mut c = Census {
            version,
            tally: [0; 4],
            fleet: [0; 3],
            slots: Default::default(),
            serving: SlotSet::default(),
        };
        for (k, r) in replicas.enumerate() {
            c.moved(k, None, c.place_seen(r));
        }
        c
    }

    /// Where replica `r` counts now.
    pub(super) fn place(&self, r: &Replica) -> Option<Place> {
        self.place_seen(r.into())
    }

    fn place_seen(&self, r: Seen) -> Option<Place> {
        let rank = match (r.phase, r.up) {
            (Phase::Starting, _) => 0,
            (Phase::Serving, false) => 1,
            (Phase::Serving, true) => 2,
            (Phase::Draining | Phase::Gone, _) => return None,
        };
        Some(Place {
            canary: r.canary,
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// Which replica `Service::victim` would remove among the tallied ones of a version
    /// class with rank at most `max_rank`: the lowest rank, then the highest slot.
    fn victim(fleet: &[Seen], c: &Census, current: bool, max_rank: u8) -> Option<usize> {
        let places = fleet.iter().map(|r| c.place_seen(*r));
        let fit = places.enumerate().filter_map(|(k, p)| {
            p.filter(|p| !p.canary && p.current == current && p.rank <= max_rank)
                .map(|p| (p.rank, std::cmp::Reverse(k)))
        });
        fit.min().map(|(_, std::cmp::Reverse(k))| k)
    }

    /// Every lifecycle change, at random, moved into a census as the service does: it equals a
    /// census rebuilt from the replicas, and picks the replicas a scan would.
    #[test]
    fn a_census_kept_current_equals_one_rebuilt() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(11);
        let mut fleet: Vec<Seen> = Vec::new();
        let mut version = 0;
        let mut c = Census::of_seen(fleet.iter().copied(), version);
        for step in 0..40_000u32 {
            if rng.random_range(0..500) == 0 {
                version += 1;
                c.new_version(version);
            } else {
                let k = rng.random_range(0..fleet.len() + 1);
                let Some(r) = fleet.get(k).copied() else {
                    fleet.push(Seen {
                        phase: Phase::Gone,
                        up: true,
                        canary: false,
                        version,
                    });
                    continue;
                };
                let before = c.place_seen(r);
                let mut next = r;
                match (r.phase, rng.random_range(0..3)) {
                    (Phase::Gone, _) => {
                        next = Seen {
                            phase: Phase::Starting,
                            up: true,
                            canary: rng.random_range(0..8) == 0,
                            version,
                        }
                    }
                    (Phase::Starting, 0) => next.phase = Phase::Gone,
                    (Phase::Starting, _) => next.phase = Phase::Serving,
                    (Phase::Serving, 0) => next.phase = Phase::Draining,
                    (Phase::Serving, _) => next.up = !r.up,
                    (Phase::Draining, _) => next.phase = Phase::Gone,
                }
                fleet[k] = next;
                c.moved(k, before, c.place_seen(next));
            }
            if step.is_multiple_of(97) {
                assert_eq!(c, Census::of_seen(fleet.iter().copied(), version), "step {step}");
                for (current, max_rank) in [(false, 1), (false, 2), (true, 2)] {
                    let want = victim(&fleet, &c, current, max_rank);
                    assert_eq!(c.next_out(current, max_rank as usize), want, "step {step}");
                }
            }
        }
    }
}
