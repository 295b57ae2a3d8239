//! Smooth weighted round robin, as NGINX picks (SEMANTICS.md), without a scan of the fleet
//! per pick.
//!
//! NGINX adds each eligible peer's weight to its current weight, takes the first peer with
//! the greatest, and subtracts the eligible weights' total from it; peers out of rotation
//! keep their current weight as it was. After G picks a peer that stayed eligible holds
//! a + w·G for some intercept a that changes only when it is picked or leaves and rejoins:
//! a line in G. Peers of one weight share a slope, so their order is that of their
//! intercepts, which a heap per weight keeps; a pick compares the heaps' tops, one per
//! distinct weight, and sifts the one picked down. O(k + log n) per pick for k distinct
//! weights (replicas beyond the configured weights weigh 1), the same peers as the scan.

/// The current weights of every replica slot, and the eligible ones by weight.
pub(super) struct SmoothWeighted {
    weights: Vec<u32>,
    /// Picks so far (G).
    picks: i128,
    /// The eligible replicas' total weight.
    total: i128,
    /// A replica's current weight while not eligible (while eligible, its group holds its
    /// intercept).
    frozen: Vec<i128>,
    /// Its group (`NONE`: not eligible) and its place in the group's heap.
    group: Vec<u32>,
    at: Vec<u32>,
    groups: Vec<Group>,
    /// The set it follows: every member (Envoy's panic) or the available ones.
    pub(super) panic: bool,
}

const NONE: u32 = u32::MAX;

/// The eligible replicas of one weight, in a max-heap of (intercept, slot), a lower slot
/// first among equal intercepts.
struct Group {
    weight: u32,
    heap: Vec<Line>,
}

#[derive(Clone, Copy)]
struct Line {
    intercept: i128,
    slot: u32,
}

impl Line {
    /// Whether it goes before `other`: a greater intercept, or the same and a lower slot.
    #[inline]
    fn before(&self, other: &Line) -> bool {
        self.intercept > other.intercept
            || (self.intercept == other.intercept && self.slot < other.slot)
    }
}

impl SmoothWeighted {
    pub(super) fn new(weights: Vec<u32>) -> Self {
        SmoothWeighted {
            weights,
            picks: 0,
            total: 0,
            frozen: Vec::new(),
            group: Vec::new(),
            at: Vec::new(),
            groups: Vec::new(),
            panic: false,
        }
    }

    fn weight(&self, r: u32) -> u32 {
        self.weights.get(r as usize).copied().unwrap_or(1)
    }

    /// Replica `r` is (or is not) among the replicas picks choose from.
    pub(super) fn set(&mut self, r: u32, eligible: bool) {
        let i = r as usize;
        if i >= self.group.len() {
            self.frozen.resize(i + 1, 0);
            self.group.resize(i + 1, NONE);
            self.at.resize(i + 1, 0);
        }
        match (self.group[i] != NONE, eligible) {
            (false, true) => self.enter(r),
            (true, false) => self.leave(r),
            _ => {}
        }
    }

    /// A new replica in slot `r`: its current weight starts again from zero.
    pub(super) fn reset(&mut self, r: u32) {
        let eligible = self.group.get(r as usize).is_some_and(|&g| g != NONE);
        self.set(r, false);
        self.frozen[r as usize] = 0;
        self.set(r, eligible);
    }

    /// How many replicas are eligible.
    pub(super) fn len(&self) -> usize {
        self.groups.iter().map(|g| g.heap.len()).sum()
    }

    /// Picks as NGINX does among the eligible replicas, or `None` if there are none.
    pub(super) fn pick(&mut self) -> Option<u32> {
        self.picks += 1;
        // Each group's first by its current weight (a line's value at G), then the first
        // of those, by the same order.
        let mut best: Option<(Line, usize)> = None;
        for (g, group) in self.groups.iter().enumerate() {
            let Some(top) = group.heap.first() else {
                continue;
            };
            let current = Line {
                intercept: top.intercept + group.weight as i128 * self.picks,
                slot: top.slot,
            };
            if best.is_none_or(|(b, _)| current.before(&b)) {
                best = Some((current, g));
            }
        }
        let (Line { slot: r, .. }, g) = best?;
        let mut line = self.groups[g].heap[0];
        line.intercept -= self.total;
        self.sift_down(g, 0, line);
        Some(r)
    }

    fn enter(&mut self, r: u32) {
        let w = self.weight(r);
        let line = Line {
            intercept: self.frozen[r as usize] - w as i128 * self.picks,
            slot: r,
        };
        self.total += w as i128;
        let g = match self.groups.iter().position(|g| g.weight == w) {
            Some(g) => g,
            None => {
                self.groups.push(Group {
                    weight: w,
                    heap: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        self.group[r as usize] = g as u32;
        let at = self.groups[g].heap.len();
        self.groups[g].heap.push(line);
        self.sift_up(g, at, line);
    }

    fn leave(&mut self, r: u32) {
        let g = std::mem::replace(&mut self.group[r as usize], NONE) as usize;
        let at = self.at[r as usize] as usize;
        let w = self.groups[g].weight as i128;
        self.frozen[r as usize] = self.groups[g].heap[at].intercept + w * self.picks;
        self.total -= w;
        let heap = &mut self.groups[g].heap;
        let last = heap.pop().expect("r is in its group");
        if at < heap.len() {
            // The last line fills the hole, then moves to where it belongs.
            if at > 0 && last.before(&heap[(at - 1) / 2]) {
                self.sift_up(g, at, last);
            } else {
                self.sift_down(g, at, last);
            }
        }
    }

    /// Puts `line` at `at` of group `g`'s heap or above it, moving the lines it passes down.
    fn sift_up(&mut self, g: usize, mut at: usize, line: Line) {
        let heap = &mut self.groups[g].heap;
        while at > 0 {
            let parent = (at - 1) / 2;
            if !line.before(&heap[parent]) {
                break;
            }
            heap[at] = heap[parent];
            self.at[heap[at].slot as usize] = at as u32;
            at = parent;
        }
        heap[at] = line;
        self.at[line.slot as usize] = at as u32;
    }

    /// Puts `line` at `at` of group `g`'s heap or below it, moving the lines it passes up.
    fn sift_down(&mut self, g: usize, mut at: usize, line: Line) {
        let heap = &mut self.groups[g].heap;
        let n = heap.len();
        loop {
            let left = 2 * at + 1;
            if left >= n {
                break;
            }
            let right = left + 1;
            let child = if right < n && heap[right].before(&heap[left]) {
                right
            } else {
                left
            };
            if !heap[child].before(&line) {
                break;
            }
            heap[at] = heap[child];
            self.at[heap[at].slot as usize] = at as u32;
            at = child;
        }
        heap[at] = line;
        self.at[line.slot as usize] = at as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NGINX's scan, as the balancer did it before: every eligible replica gains its
    /// weight, the first with the greatest current weight is picked and loses the total.
    struct Scan {
        weights: Vec<u32>,
        current: Vec<i64>,
        eligible: Vec<bool>,
    }

    impl Scan {
        fn pick(&mut self) -> Option<u32> {
            let w = |r: usize| self.weights.get(r).map_or(1, |w| *w as i64);
            let avail: Vec<usize> = (0..self.eligible.len())
                .filter(|&r| self.eligible[r])
                .collect();
            let total: i64 = avail.iter().map(|&r| w(r)).sum();
            let mut best = *avail.first()?;
            for &r in &avail {
                self.current[r] += w(r);
            }
            for &r in &avail {
                if self.current[r] > self.current[best] {
                    best = r;
                }
            }
            self.current[best] -= total;
            Some(best as u32)
        }
    }

    #[test]
    fn picks_as_the_scan_through_joins_leaves_and_resets() {
        // A small generator, so that the sequence of changes is fixed.
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % n
        };
        for (case, weights) in [
            vec![],
            vec![5, 1, 1],
            vec![3, 3, 2, 2, 1, 0, 7],
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            vec![100, 1],
        ]
        .into_iter()
        .enumerate()
        {
            let n = 40usize;
            let mut fast = SmoothWeighted::new(weights.clone());
            let mut scan = Scan {
                weights,
                current: vec![0; n],
                eligible: vec![false; n],
            };
            for r in 0..12 {
                fast.set(r, true);
                scan.eligible[r as usize] = true;
            }
            for step in 0..20_000 {
                match next(20) {
                    0 => {
                        let r = next(n as u64) as usize;
                        let on = next(3) > 0;
                        fast.set(r as u32, on);
                        scan.eligible[r] = on;
                    }
                    1 if next(10) == 0 => {
                        let r = next(n as u64) as usize;
                        fast.reset(r as u32);
                        scan.current[r] = 0;
                    }
                    _ => assert_eq!(fast.pick(), scan.pick(), "case {case}, step {step}"),
                }
            }
        }
    }

    #[test]
    fn five_one_one_goes_as_nginx_documents() {
        // NGINX's example: weights 5, 1, 1 give a a b a c a a, then again.
        let mut w = SmoothWeighted::new(vec![5, 1, 1]);
        for r in 0..3 {
            w.set(r, true);
        }
        let picks: Vec<u32> = (0..14).map(|_| w.pick().unwrap()).collect();
        assert_eq!(picks, [0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0]);
        let mut none = SmoothWeighted::new(vec![1]);
        assert_eq!(none.pick(), None);
    }
}
