//! The ring of consistent hashing (Ketama): `vnodes` points per replica slot, fixed by the
//! slot (as by a pod name), a key going to the first point at or after its hash, clockwise,
//! whose replica is eligible. Only members' points are on it, as Envoy builds its ring
//! from the current hosts: a fleet cut a hundred-fold does not leave picks walking past
//! the points of slots long gone.
//!
//! Points sit in a sorted vector, which a lookup searches in O(log n). A fleet that grows
//! one replica at a time would re-sort it on every join, O(n log n) each; so the points of
//! slots that join later wait in an ordered set beside it, and join the vector in one
//! linear merge once they are an eighth of it: O(log n) per point added, amortised. A
//! slot that leaves keeps its points where they are until the departed points are an
//! eighth of the ring, then one pass drops them (a walk skips them meanwhile: a replica
//! that left is never eligible). A lookup walks the vector and the set in the order of the
//! one sorted ring they stand for.

use super::mix;
use std::collections::BTreeSet;

pub(super) struct Ring {
    vnodes: u32,
    /// Points as (hash, slot), sorted.
    sorted: Vec<(u64, u32)>,
    /// Points added since the last merge.
    recent: BTreeSet<(u64, u32)>,
    /// Each slot's points: on the ring for a member, still there for one that left since
    /// the last pass, or not there.
    state: Vec<Points>,
    /// Points of slots that left, still on the ring.
    departed: usize,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Points {
    Absent,
    Member,
    Departed,
}

impl Ring {
    pub(super) fn new(vnodes: u32) -> Self {
        Ring {
            vnodes,
            sorted: Vec::new(),
            recent: BTreeSet::new(),
            state: Vec::new(),
            departed: 0,
        }
    }

    /// Slots `slots` joined.
    pub(super) fn join(&mut self, slots: std::ops::Range<u32>) {
        if self.vnodes == 0 {
            return; // not a ring's balancer
        }
        if slots.end as usize > self.state.len() {
            self.state.resize(slots.end as usize, Points::Absent);
        }
        for r in slots {
            match self.state[r as usize] {
                Points::Member => {}
                Points::Departed => {
                    self.departed -= self.vnodes as usize;
                    self.state[r as usize] = Points::Member;
                }
                Points::Absent => {
                    self.recent.extend((0..self.vnodes).map(|v| point(r, v)));
                    self.state[r as usize] = Points::Member;
                }
            }
        }
        if self.recent.len() >= self.sorted.len() / 8 {
            self.merge();
        }
    }

    /// Slot `r` left.
    pub(super) fn leave(&mut self, r: u32) {
        if self.vnodes == 0 {
            return;
        }
        if self.state.get(r as usize) != Some(&Points::Member) {
            return;
        }
        self.state[r as usize] = Points::Departed;
        self.departed += self.vnodes as usize;
        if self.departed * 8 >= self.sorted.len() + self.recent.len() {
            self.merge();
        }
    }

    /// One sorted vector of the members' points.
    fn merge(&mut self) {
        let state = &self.state;
        self.sorted = merge(&self.sorted, self.recent.iter())
            .filter(|p| state[p.1 as usize] == Points::Member)
            .collect();
        self.recent.clear();
        for s in &mut self.state {
            if *s == Points::Departed {
                *s = Points::Absent;
            }
        }
        self.departed = 0;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    /// The slot of the first point at or after `h` (clockwise) whose slot `eligible` takes,
    /// or, if none does, the slot of the first point at or after `h`. `None` on an empty
    /// ring.
    pub(super) fn pick(&self, h: u64, eligible: impl Fn(u32) -> bool) -> Option<u32> {
        let start = self.sorted.partition_point(|(p, _)| *p < h);
        if self.recent.is_empty() {
            // The steady state: one sorted vector, searched and walked as it always was.
            let len = self.sorted.len();
            let first = self.sorted.get(start % len.max(1))?.1;
            let found = (0..len)
                .map(|i| self.sorted[(start + i) % len].1)
                .find(|&r| eligible(r));
            return Some(found.unwrap_or(first));
        }
        // Clockwise from `h` to the end, then from the start back to `h`.
        let after = merge(&self.sorted[start..], self.recent.range((h, 0)..));
        let before = merge(&self.sorted[..start], self.recent.range(..(h, 0)));
        let mut walk = after.chain(before).map(|(_, r)| r);
        let first = walk.next()?;
        if eligible(first) {
            return Some(first);
        }
        Some(walk.find(|&r| eligible(r)).unwrap_or(first))
    }
}

/// Point `v` of slot `r`.
fn point(r: u32, v: u32) -> (u64, u32) {
    (mix(((r as u64) << 32) | v as u64), r)
}

/// Two ascending sequences of points as one.
fn merge<'a>(
    a: &'a [(u64, u32)],
    b: impl Iterator<Item = &'a (u64, u32)> + 'a,
) -> impl Iterator<Item = (u64, u32)> + 'a {
    let mut a = a.iter().copied().peekable();
    let mut b = b.copied().peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) if x <= y => a.next(),
        (_, Some(_)) => b.next(),
        _ => a.next(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ring as one sorted vector, re-sorted on every addition (as it was kept before).
    fn naive(slots: u32, vnodes: u32) -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = (0..slots)
            .flat_map(|r| (0..vnodes).map(move |v| point(r, v)))
            .collect();
        v.sort_unstable();
        v
    }

    fn naive_pick(ring: &[(u64, u32)], h: u64, eligible: impl Fn(u32) -> bool) -> u32 {
        let start = ring.partition_point(|(p, _)| *p < h);
        let len = ring.len();
        (0..len)
            .map(|i| ring[(start + i) % len].1)
            .find(|&r| eligible(r))
            .unwrap_or(ring[start % len].1)
    }

    #[test]
    fn picks_as_a_ring_of_every_slot_while_slots_join_and_leave() {
        // Against the ring of every slot that ever joined, sorted again at every change,
        // among eligible members (a balancer's eligible replicas are always members).
        let vnodes = 40;
        let mut ring = Ring::new(vnodes);
        ring.join(0..20);
        let mut member = vec![true; 20];
        let mut h = 0x1234_5678_9abc_def0u64;
        for step in 0..3000u32 {
            h = mix(h);
            let slots = member.len() as u32;
            match h % 4 {
                0 if slots < 400 => {
                    ring.join(slots..slots + 1);
                    member.push(true);
                }
                1 => {
                    let r = (h >> 8) as u32 % slots;
                    if member.iter().filter(|&&m| m).count() > 1 {
                        ring.leave(r);
                        member[r as usize] = false;
                    }
                }
                2 => {
                    let r = (h >> 8) as u32 % slots;
                    ring.join(r..r + 1);
                    member[r as usize] = true;
                }
                _ => {}
            }
            let whole = naive(member.len() as u32, vnodes);
            for k in 0..8u64 {
                let key = mix(h ^ k);
                // Every member, or two in three, or one alone, eligible.
                let only = (0..member.len()).rev().find(|&r| member[r]).unwrap() as u32;
                let eligible = |r: u32| {
                    member[r as usize]
                        && match key % 3 {
                            0 => true,
                            1 => !r.is_multiple_of(3) || r == only,
                            _ => r == only,
                        }
                };
                let want = naive_pick(&whole, key, eligible);
                assert_eq!(ring.pick(key, eligible), Some(want), "step {step}");
            }
            let on_ring = member.iter().filter(|&&m| m).count() * vnodes as usize;
            assert!(ring.len() >= on_ring && ring.len() <= on_ring + on_ring / 7 + 8 * 40);
        }
        assert_eq!(Ring::new(3).pick(7, |_| true), None);
    }
}
