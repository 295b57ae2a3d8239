//! A function's instances, found without scanning the fleet: the lowest-numbered instance
//! with a free worker, else the lowest starting one with room in its queue, and how many
//! are running. Picks are the ones a scan from slot 0 makes (`invoke` checks it in debug
//! builds), in time that does not grow with the number of instances.

/// A set of slot numbers that finds its lowest member in about n / 4,096 word reads: a
/// bitmap, and a summary bit per bitmap word that has a member.
#[derive(Clone, Debug, Default)]
pub(super) struct LowestSet {
    words: Vec<u64>,
    summary: Vec<u64>,
}

impl LowestSet {
    #[inline]
    pub(super) fn insert(&mut self, k: usize) {
        let w = k / 64;
        if w >= self.words.len() {
            self.grow(w);
        }
        self.words[w] |= 1 << (k % 64);
        self.summary[w / 64] |= 1 << (w % 64);
    }

    #[cold]
    fn grow(&mut self, w: usize) {
        self.words.resize(w + 1, 0);
        self.summary.resize(w / 64 + 1, 0);
    }

    #[inline]
    pub(super) fn remove(&mut self, k: usize) {
        let w = k / 64;
        if let Some(word) = self.words.get_mut(w) {
            *word &= !(1 << (k % 64));
            if *word == 0 {
                self.summary[w / 64] &= !(1 << (w % 64));
            }
        }
    }

    #[inline]
    pub(super) fn lowest(&self) -> Option<usize> {
        let (i, s) = self.summary.iter().enumerate().find(|(_, s)| **s != 0)?;
        let w = i * 64 + s.trailing_zeros() as usize;
        Some(w * 64 + self.words[w].trailing_zeros() as usize)
    }

    /// The lowest member for which `fits` holds, dropping the lower ones it does not hold
    /// for. A set of candidates: members may be stale, as long as every slot that fits is
    /// a member (so each is dropped once per time it was added).
    pub(super) fn lowest_fitting(&mut self, fits: impl Fn(usize) -> bool) -> Option<usize> {
        while let Some(k) = self.lowest() {
            if fits(k) {
                return Some(k);
            }
            self.remove(k);
        }
        None
    }
}

/// What `invoke` looks up. Invariants: every serving, up instance with an idle worker is in
/// `free`; every starting instance whose queue has room is in `starting`; `running` counts
/// the starting and serving instances.
#[derive(Clone, Debug, Default)]
pub(super) struct Instances {
    pub(super) free: LowestSet,
    pub(super) starting: LowestSet,
    pub(super) running: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_lowest_member_is_the_one_a_scan_finds() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let n = 20_000;
        let mut set = LowestSet::default();
        let mut member = vec![false; n];
        for _ in 0..200_000 {
            let k = if rng.random_bool(0.5) {
                rng.random_range(0..n)
            } else {
                rng.random_range(0..70) // crowd the first words, so they empty and refill
            };
            if rng.random_bool(0.5) {
                set.insert(k);
                member[k] = true;
            } else {
                set.remove(k);
                member[k] = false;
            }
            assert_eq!(set.lowest(), member.iter().position(|m| *m));
        }
    }

    #[test]
    fn lowest_fitting_skips_and_drops_stale_members() {
        let mut set = LowestSet::default();
        for k in [3, 64, 4_100, 9_000] {
            set.insert(k);
        }
        assert_eq!(set.lowest_fitting(|k| k > 100), Some(4_100));
        assert_eq!(set.lowest(), Some(4_100), "3 and 64 were dropped");
        assert_eq!(set.lowest_fitting(|_| false), None);
        assert_eq!(set.lowest(), None);
        set.remove(12_345); // beyond the bitmap: nothing to do
    }
}
