//! A cache's entries: bounded in count, evicted LRU, LFU or FIFO, expiring by TTL.
//!
//! Entries live in a slab, found through a hash map (looked up, never iterated, so its order
//! cannot leak into results). LRU and FIFO keep the slab's entries on a doubly linked list,
//! oldest first: a use moves an entry to the end (LRU), an eviction takes the front, each in
//! O(1). LFU ranks entries in an ordered set by use count, then last use. Expired entries are
//! dropped lazily, when looked up or evicted, as memcached does; until then they take room.

use super::keymap::KeyMap;
use crate::engine::Nanos;
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    Lru,
    /// Least frequently used (counts since the entry was filled), oldest use first on ties.
    Lfu,
    Fifo,
}

/// No neighbour on the list.
const NONE: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u64,
    expiry: Nanos,
    /// How long the last fill took (XFetch's Δ).
    delta: Nanos,
    uses: u64,
    /// The entry's place in `ranked` (LFU).
    rank: (u64, u64),
    /// Neighbours on the list (LRU, FIFO): toward the oldest, toward the newest.
    older: u32,
    newer: u32,
}

/// What a lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Hit {
        expiry: Nanos,
        delta: Nanos,
    },
    /// There, but past its expiry: now removed.
    Expired,
    Miss,
}

pub struct Store {
    capacity: usize,
    eviction: Eviction,
    /// Key → slot in `slots`.
    index: KeyMap<u32>,
    slots: Vec<Entry>,
    free: Vec<u32>,
    /// The list's ends (LRU, FIFO): the next to evict, and the newest.
    oldest: u32,
    newest: u32,
    /// LFU's ranking: (uses, last use, slot).
    ranked: BTreeSet<(u64, u64, u32)>,
    tick: u64,
    pub evictions: u64,
}

impl Store {
    pub fn new(capacity: usize, eviction: Eviction) -> Self {
        assert!(capacity > 0, "a cache holds at least one entry");
        Store {
            capacity,
            eviction,
            index: KeyMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            oldest: NONE,
            newest: NONE,
            ranked: BTreeSet::new(),
            tick: 0,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Looks `key` up at `now`; a hit counts as a use.
    pub fn get(&mut self, key: u64, now: Nanos) -> Lookup {
        let Some(&slot) = self.index.get(&key) else {
            return Lookup::Miss;
        };
        let e = self.slots[slot as usize];
        if now >= e.expiry {
            self.remove(key);
            return Lookup::Expired;
        }
        match self.eviction {
            Eviction::Fifo => {}
            Eviction::Lru => {
                self.unlink(slot);
                self.link_newest(slot);
            }
            Eviction::Lfu => {
                self.tick += 1;
                let e = &mut self.slots[slot as usize];
                self.ranked.remove(&(e.rank.0, e.rank.1, slot));
                e.uses += 1;
                e.rank = (e.uses, self.tick);
                self.ranked.insert((e.rank.0, e.rank.1, slot));
            }
        }
        Lookup::Hit {
            expiry: e.expiry,
            delta: e.delta,
        }
    }

    /// Fills `key` (new or refreshed) until `expiry`; a full store evicts first.
    pub fn put(&mut self, key: u64, expiry: Nanos, delta: Nanos) {
        if let Some(&slot) = self.index.get(&key) {
            // A refresh keeps the entry's place and use count.
            let e = &mut self.slots[slot as usize];
            e.expiry = expiry;
            e.delta = delta;
            return;
        }
        if self.index.len() >= self.capacity {
            let victim = match self.eviction {
                Eviction::Lfu => self.ranked.first().expect("a full store has entries").2,
                Eviction::Lru | Eviction::Fifo => self.oldest,
            };
            let victim_key = self.slots[victim as usize].key;
            self.remove(victim_key);
            self.evictions += 1;
        }
        self.tick += 1;
        let entry = Entry {
            key,
            expiry,
            delta,
            uses: 1,
            rank: (1, self.tick),
            older: NONE,
            newer: NONE,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = entry;
                s
            }
            None => {
                self.slots.push(entry);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
        match self.eviction {
            Eviction::Lfu => {
                self.ranked.insert((1, self.tick, slot));
            }
            Eviction::Lru | Eviction::Fifo => self.link_newest(slot),
        }
        debug_assert!(self.index.len() <= self.capacity);
    }

    /// Drops `key` (an invalidation); true if it was there.
    pub fn remove(&mut self, key: u64) -> bool {
        let Some(slot) = self.index.remove(&key) else {
            return false;
        };
        match self.eviction {
            Eviction::Lfu => {
                let e = self.slots[slot as usize];
                self.ranked.remove(&(e.rank.0, e.rank.1, slot));
            }
            Eviction::Lru | Eviction::Fifo => self.unlink(slot),
        }
        self.free.push(slot);
        true
    }

    /// Takes `slot` off the list.
    fn unlink(&mut self, slot: u32) {
        let Entry { older, newer, .. } = self.slots[slot as usize];
        match older {
            NONE => self.oldest = newer,
            o => self.slots[o as usize].newer = newer,
        }
        match newer {
            NONE => self.newest = older,
            n => self.slots[n as usize].older = older,
        }
    }

    /// Puts `slot` at the newest end of the list.
    fn link_newest(&mut self, slot: u32) {
        let e = &mut self.slots[slot as usize];
        e.older = self.newest;
        e.newer = NONE;
        match self.newest {
            NONE => self.oldest = slot,
            n => self.slots[n as usize].newer = slot,
        }
        self.newest = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEVER: Nanos = Nanos::MAX;

    fn hit(s: &mut Store, k: u64) -> bool {
        matches!(s.get(k, 0), Lookup::Hit { .. })
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut s = Store::new(2, Eviction::Lru);
        s.put(1, NEVER, 0);
        s.put(2, NEVER, 0);
        assert!(hit(&mut s, 1));
        s.put(3, NEVER, 0); // 2 is the least recently used
        assert!(hit(&mut s, 1) && !hit(&mut s, 2) && hit(&mut s, 3));
        assert_eq!(s.evictions, 1);
    }

    #[test]
    fn fifo_evicts_the_oldest_whatever_its_use() {
        let mut s = Store::new(2, Eviction::Fifo);
        s.put(1, NEVER, 0);
        s.put(2, NEVER, 0);
        assert!(hit(&mut s, 1));
        s.put(3, NEVER, 0);
        assert!(!hit(&mut s, 1) && hit(&mut s, 2) && hit(&mut s, 3));
    }

    #[test]
    fn lfu_evicts_the_least_used_and_the_oldest_among_equals() {
        let mut s = Store::new(3, Eviction::Lfu);
        for k in 1..=3 {
            s.put(k, NEVER, 0);
        }
        assert!(hit(&mut s, 1) && hit(&mut s, 1) && hit(&mut s, 3));
        // Uses: 1 → 3, 2 → 1, 3 → 2.
        s.put(4, NEVER, 0);
        assert!(!hit(&mut s, 2));
        // Uses: 1 → 4, 3 → 3, 4 → 1; tie-free: 4 goes next.
        s.put(5, NEVER, 0);
        assert!(!hit(&mut s, 4) && hit(&mut s, 1) && hit(&mut s, 3) && hit(&mut s, 5));
    }

    #[test]
    fn entries_expire_and_can_be_invalidated() {
        let mut s = Store::new(4, Eviction::Lru);
        s.put(1, 100, 7);
        assert_eq!(
            s.get(1, 99),
            Lookup::Hit {
                expiry: 100,
                delta: 7
            }
        );
        assert_eq!(s.get(1, 100), Lookup::Expired);
        assert_eq!(s.get(1, 101), Lookup::Miss);
        assert!(s.is_empty());
        s.put(2, NEVER, 0);
        assert!(s.remove(2));
        assert!(!s.remove(2));
        assert_eq!(s.get(2, 0), Lookup::Miss);
        assert_eq!(s.len(), 0);
    }

    /// Against a plain reference (a list of keys, oldest first) over many operations: the
    /// same hits and the same evictions.
    #[test]
    fn lru_and_fifo_match_a_reference_under_churn() {
        for eviction in [Eviction::Lru, Eviction::Fifo] {
            let mut s = Store::new(50, eviction);
            let mut reference: Vec<u64> = Vec::new();
            let mut x = 12345u64;
            for _ in 0..20_000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let key = (x >> 33) % 120;
                match (x >> 20) % 4 {
                    0 => {
                        assert_eq!(s.remove(key), reference.contains(&key));
                        reference.retain(|&k| k != key);
                    }
                    1 | 2 => {
                        let hit = hit(&mut s, key);
                        let at = reference.iter().position(|&k| k == key);
                        assert_eq!(hit, at.is_some());
                        if let (Some(i), Eviction::Lru) = (at, eviction) {
                            reference.remove(i);
                            reference.push(key);
                        }
                    }
                    _ => {
                        if !reference.contains(&key) {
                            if reference.len() == 50 {
                                reference.remove(0);
                            }
                            reference.push(key);
                        }
                        s.put(key, NEVER, 0);
                    }
                }
                assert_eq!(s.len(), reference.len());
            }
        }
    }
}
