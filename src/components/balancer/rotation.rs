//! The replicas a balancer picks among, kept up to date as replicas join and leave, fail
//! health checks and are ejected, so that a pick costs O(1) or O(log n) whatever the
//! fleet's size: work in proportion to what changed, never a scan of the fleet per call.

/// Members and available members (healthy, not ejected), each in ascending order: the
/// order picks index into, so results do not depend on the order of changes.
pub(super) struct Rotation {
    available: Vec<u32>,
    members: Vec<u32>,
    is_available: Vec<bool>,
    is_member: Vec<bool>,
    /// For least-outstanding picks: the fewest outstanding among available members and
    /// among all members, over replica indices.
    least: Option<[MinTree; 2]>,
}

impl Rotation {
    pub(super) fn new(track_outstanding: bool) -> Self {
        Rotation {
            available: Vec::new(),
            members: Vec::new(),
            is_available: Vec::new(),
            is_member: Vec::new(),
            least: track_outstanding.then(|| [MinTree::default(), MinTree::default()]),
        }
    }

    /// Replica `r` is (or is not) a member, available, with `outstanding` calls.
    pub(super) fn set(&mut self, r: u32, member: bool, available: bool, outstanding: u32) {
        let i = r as usize;
        if i >= self.is_member.len() {
            self.is_member.resize(i + 1, false);
            self.is_available.resize(i + 1, false);
        }
        debug_assert!(member || !available, "only a member is available");
        toggle(&mut self.members, &mut self.is_member[i], r, member);
        toggle(&mut self.available, &mut self.is_available[i], r, available);
        self.outstanding(r, outstanding);
    }

    /// Replica `r` now has `outstanding` calls in flight.
    #[inline]
    pub(super) fn outstanding(&mut self, r: u32, outstanding: u32) {
        if let Some([avail, members]) = &mut self.least {
            let i = r as usize;
            let of = |yes: bool| if yes { outstanding } else { u32::MAX };
            avail.set(i, of(self.is_available[i]));
            members.set(i, of(self.is_member[i]));
        }
    }

    /// The replicas to balance over: the available ones, or every member when fewer than
    /// half are available (Envoy's panic threshold); and whether that is panic.
    #[inline]
    pub(super) fn eligible(&self) -> (&[u32], bool) {
        if self.available.len() * 2 < self.members.len() {
            (&self.members, true)
        } else {
            (&self.available, false)
        }
    }

    /// Whether `r` is among the eligible replicas (`panic` as `eligible` said).
    #[inline]
    pub(super) fn contains(&self, r: u32, panic: bool) -> bool {
        let flags = if panic {
            &self.is_member
        } else {
            &self.is_available
        };
        flags.get(r as usize).copied().unwrap_or(false)
    }

    /// Among the eligible, the first replica at or after `from` (in circular order of
    /// replica index) with the fewest calls outstanding.
    pub(super) fn least_from(&self, from: u32, panic: bool) -> u32 {
        let trees = self.least.as_ref().expect("tracked for least outstanding");
        let tree = &trees[usize::from(panic)];
        let fewest = tree.min();
        tree.first_at_most(from as usize, fewest)
            .or_else(|| tree.first_at_most(0, fewest))
            .expect("an eligible replica holds the minimum") as u32
    }
}

/// Puts `r` into or out of the ascending list `list`, as `want` says.
fn toggle(list: &mut Vec<u32>, flag: &mut bool, r: u32, want: bool) {
    if *flag == want {
        return;
    }
    *flag = want;
    let at = list.partition_point(|&x| x < r);
    if want {
        list.insert(at, r);
    } else {
        debug_assert_eq!(list.get(at), Some(&r));
        list.remove(at);
    }
}

/// A segment tree of minima over indices, `u32::MAX` where nothing is.
#[derive(Default)]
struct MinTree {
    /// Leaves at `size..2 × size`; node i holds the minimum of its children.
    nodes: Vec<u32>,
    size: usize,
}

impl MinTree {
    fn set(&mut self, i: usize, v: u32) {
        if i >= self.size {
            self.grow(i + 1);
        }
        let mut k = self.size + i;
        self.nodes[k] = v;
        while k > 1 {
            k /= 2;
            let m = self.nodes[2 * k].min(self.nodes[2 * k + 1]);
            if self.nodes[k] == m {
                break;
            }
            self.nodes[k] = m;
        }
    }

    /// Doubles the leaves until `n` fit (amortised O(1) per replica added).
    fn grow(&mut self, n: usize) {
        let size = n.next_power_of_two().max(2 * self.size).max(1);
        let mut nodes = vec![u32::MAX; 2 * size];
        nodes[size..size + self.size].copy_from_slice(&self.nodes[self.size..]);
        for k in (1..size).rev() {
            nodes[k] = nodes[2 * k].min(nodes[2 * k + 1]);
        }
        self.nodes = nodes;
        self.size = size;
    }

    fn min(&self) -> u32 {
        self.nodes.get(1).copied().unwrap_or(u32::MAX)
    }

    /// The first index at or after `from` whose value is at most `v`.
    fn first_at_most(&self, from: usize, v: u32) -> Option<usize> {
        if from >= self.size {
            return None;
        }
        // Walk up from the leaf, looking right of the path for a subtree holding a match.
        let mut k = self.size + from;
        if self.nodes[k] <= v {
            return Some(from);
        }
        loop {
            // Go up while k is a right child (nothing to its right at this level within
            // the parent), then step to the right sibling.
            while k % 2 == 1 {
                k /= 2;
                if k <= 1 {
                    return None;
                }
            }
            k += 1;
            if self.nodes[k] <= v {
                // Descend to the leftmost leaf at most v.
                while k < self.size {
                    k = if self.nodes[2 * k] <= v { 2 * k } else { 2 * k + 1 };
                }
                return Some(k - self.size);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_min_tree_finds_the_first_minimum_at_or_after_an_index() {
        let values = [5u32, 3, 7, 3, 9, 1, 4, 1, 8, 2];
        let mut t = MinTree::default();
        for (i, v) in values.iter().enumerate() {
            t.set(i, *v);
        }
        assert_eq!(t.min(), 1);
        for from in 0..values.len() {
            for v in 0..10 {
                let want = (from..values.len()).find(|&i| values[i] <= v);
                assert_eq!(t.first_at_most(from, v), want, "from {from}, at most {v}");
            }
        }
        t.set(5, u32::MAX);
        t.set(7, u32::MAX);
        assert_eq!(t.min(), 2);
        assert_eq!(t.first_at_most(0, 2), Some(9));
    }

    #[test]
    fn rotation_keeps_ascending_lists_and_panics_below_half() {
        let mut r = Rotation::new(true);
        for i in [3u32, 0, 2, 1] {
            r.set(i, true, true, i);
        }
        assert_eq!(r.eligible(), (&[0u32, 1, 2, 3][..], false));
        r.set(1, true, false, 0);
        r.set(2, true, false, 0);
        assert_eq!(r.eligible(), (&[0u32, 3][..], false), "half is not below half");
        r.set(3, true, false, 3);
        assert_eq!(r.eligible(), (&[0u32, 1, 2, 3][..], true), "panic: every member");
        assert!(r.contains(2, true) && !r.contains(2, false));
        // Least outstanding among all members in panic: 0, 1 and 2 hold none.
        assert_eq!(r.least_from(2, true), 2);
        assert_eq!(r.least_from(3, true), 0, "wraps around");
        // Among the available only (replica 0), whatever the start.
        assert_eq!(r.least_from(3, false), 0);
    }
}
