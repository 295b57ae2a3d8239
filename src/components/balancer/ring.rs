//! The ring of consistent hashing (Ketama): `vnodes` points per replica slot, a slot keeping
//! its points for good (as a pod name would), a key going to the first point at or after
//! its hash, clockwise.
//!
//! Points sit in a sorted vector, which a lookup searches in O(log n). A fleet that grows
//! one replica at a time would re-sort it on every join, O(n log n) each; so the points of
//! slots that join later wait in an ordered set beside it, and join the vector in one
//! linear merge once they are an eighth of it: O(log n) per point added, amortised. A
//! lookup walks both in the order of the one sorted ring they stand for.

use super::mix;
use std::collections::BTreeSet;

#[derive(Default)]
pub(super) struct Ring {
    /// Points as (hash, slot), sorted.
    sorted: Vec<(u64, u32)>,
    /// Points added since the last merge.
    recent: BTreeSet<(u64, u32)>,
}

impl Ring {
    /// Adds the points of slots `slots`, `vnodes` each.
    pub(super) fn add(&mut self, slots: std::ops::Range<u32>, vnodes: u32) {
        let points = slots
            .flat_map(|r| (0..vnodes).map(move |v| (mix(((r as u64) << 32) | v as u64), r)));
        self.recent.extend(points);
        if self.recent.len() >= self.sorted.len() / 8 {
            self.merge();
        }
    }

    fn merge(&mut self) {
        let mut merged = Vec::with_capacity(self.sorted.len() + self.recent.len());
        let mut old = self.sorted.iter().copied().peekable();
        for p in std::mem::take(&mut self.recent) {
            while let Some(q) = old.next_if(|q| *q < p) {
                merged.push(q);
            }
            merged.push(p);
        }
        merged.extend(old);
        self.sorted = merged;
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
            .flat_map(|r| (0..vnodes).map(move |v| (mix(((r as u64) << 32) | v as u64), r)))
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
    fn picks_as_one_sorted_ring_while_slots_join_one_at_a_time() {
        let vnodes = 40;
        let mut ring = Ring::default();
        ring.add(0..20, vnodes);
        let mut h = 0x1234_5678_9abc_def0u64;
        for next in 20..400u32 {
            ring.add(next..next + 1, vnodes);
            let whole = naive(next + 1, vnodes);
            assert_eq!(ring.len(), whole.len());
            for _ in 0..20 {
                h = mix(h);
                // Every third slot down, or all but one, or none eligible.
                let down = |r: u32| match h % 3 {
                    0 => !r.is_multiple_of(3),
                    1 => r == next / 2,
                    _ => false,
                };
                assert_eq!(ring.pick(h, down), Some(naive_pick(&whole, h, down)));
            }
            // Past the last point, and before the first, the walk wraps.
            for h in [0, u64::MAX, whole[0].0, whole[whole.len() - 1].0] {
                assert_eq!(ring.pick(h, |r| r % 2 == 1), Some(naive_pick(&whole, h, |r| r % 2 == 1)));
            }
        }
        assert!(ring.sorted.len() > ring.recent.len(), "merged as it grew");
        assert_eq!(Ring::default().pick(7, |_| true), None);
    }
}
