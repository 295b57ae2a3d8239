//! `SlotSet`: a set of replica slot numbers whose lowest and highest members are found in
//! about n / 4,096 word reads, so lookups by slot order cost next to nothing at any fleet
//! size.

/// A bitmap of slots, and a summary bit per bitmap word that has a member.
#[derive(Clone, Debug, Default)]
pub(super) struct SlotSet {
    words: Vec<u64>,
    summary: Vec<u64>,
}

impl SlotSet {
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

    pub(super) fn highest(&self) -> Option<usize> {
        let (i, s) = (self.summary.iter().enumerate().rev()).find(|(_, s)| **s != 0)?;
        let w = i * 64 + 63 - s.leading_zeros() as usize;
        Some(w * 64 + 63 - self.words[w].leading_zeros() as usize)
    }

    /// The lowest member at or above `k`.
    pub(super) fn first_from(&self, k: usize) -> Option<usize> {
        let w = k / 64;
        let here = self.words.get(w)? & (!0u64 << (k % 64));
        if here != 0 {
            return Some(w * 64 + here.trailing_zeros() as usize);
        }
        // The next word with a member: the first summary bit above `w`'s.
        let next = w + 1;
        let (i, s) = (self.summary.iter().enumerate().skip(next / 64))
            .map(|(i, &s)| (i, if i == next / 64 { s & (!0u64 << (next % 64)) } else { s }))
            .find(|(_, s)| *s != 0)?;
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

    /// Moves every member of `other` into this set, word by word.
    pub(super) fn take_all(&mut self, other: &mut SlotSet) {
        if other.words.len() > self.words.len() {
            self.grow(other.words.len() - 1);
        }
        for (w, o) in self.words.iter_mut().zip(&mut other.words) {
            *w |= std::mem::take(o);
        }
        for (s, o) in self.summary.iter_mut().zip(&mut other.summary) {
            *s |= std::mem::take(o);
        }
    }
}

/// The same members, however far each bitmap has grown.
impl PartialEq for SlotSet {
    fn eq(&self, other: &Self) -> bool {
        let n = self.words.len().max(other.words.len());
        (0..n).all(|w| self.words.get(w).unwrap_or(&0) == other.words.get(w).unwrap_or(&0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_lowest_highest_and_next_members_are_the_ones_a_scan_finds() {
        let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
        let n = 20_000;
        let mut set = SlotSet::default();
        let mut member = vec![false; n];
        for _ in 0..200_000 {
            let k = match rng.random_range(0..3) {
                0 => rng.random_range(0..n),
                1 => rng.random_range(0..70), // crowd the first words, so they empty and refill
                _ => rng.random_range(n - 70..n), // and the last ones
            };
            if rng.random_bool(0.5) {
                set.insert(k);
                member[k] = true;
            } else {
                set.remove(k);
                member[k] = false;
            }
            assert_eq!(set.lowest(), member.iter().position(|m| *m));
            assert_eq!(set.highest(), member.iter().rposition(|m| *m));
            let from = rng.random_range(0..n + 100);
            let scan = (from..n).find(|&j| member[j]);
            assert_eq!(set.first_from(from), scan, "first from {from}");
        }
    }

    #[test]
    fn lowest_fitting_skips_and_drops_stale_members() {
        let mut set = SlotSet::default();
        for k in [3, 64, 4_100, 9_000] {
            set.insert(k);
        }
        assert_eq!(set.lowest_fitting(|k| k > 100), Some(4_100));
        assert_eq!(set.lowest(), Some(4_100), "3 and 64 were dropped");
        assert_eq!(set.lowest_fitting(|_| false), None);
        assert_eq!(set.lowest(), None);
        set.remove(12_345); // beyond the bitmap: nothing to do
    }

    #[test]
    fn take_all_moves_every_member_and_equality_ignores_length() {
        let (mut a, mut b) = (SlotSet::default(), SlotSet::default());
        for k in [1, 70, 5_000] {
            a.insert(k);
        }
        for k in [2, 70, 9_999] {
            b.insert(k);
        }
        a.take_all(&mut b);
        let mut want = SlotSet::default();
        for k in [1, 2, 70, 5_000, 9_999] {
            want.insert(k);
        }
        assert_eq!(a, want);
        assert_eq!(b, SlotSet::default(), "emptied, though its bitmap keeps its length");
        assert_eq!((a.lowest(), a.highest()), (Some(1), Some(9_999)));
        assert_eq!((b.lowest(), b.highest()), (None, None));
    }
}
