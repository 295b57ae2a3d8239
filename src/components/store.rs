//! A cache's entries: bounded in count, evicted LRU, LFU or FIFO, expiring by TTL.
//!
//! Entries are kept in a hash map (looked up, never iterated, so its order cannot leak into
//! results) and ranked in an ordered set by the eviction policy: last use (LRU), use count
//! then last use (LFU), or insertion (FIFO). Expired entries are dropped lazily, when looked
//! up or evicted, as memcached does; until then they take room.

use crate::engine::Nanos;
use std::collections::{BTreeSet, HashMap};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eviction {
    Lru,
    /// Least frequently used (counts since the entry was filled), oldest use first on ties.
    Lfu,
    Fifo,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    expiry: Nanos,
    /// How long the last fill took (XFetch's Δ).
    delta: Nanos,
    uses: u64,
    /// The entry's place in `order`.
    rank: (u64, u64),
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
    entries: HashMap<u64, Entry>,
    order: BTreeSet<(u64, u64, u64)>,
    tick: u64,
    pub evictions: u64,
}

impl Store {
    pub fn new(capacity: usize, eviction: Eviction) -> Self {
        assert!(capacity > 0, "a cache holds at least one entry");
        Store {
            capacity,
            eviction,
            entries: HashMap::new(),
            order: BTreeSet::new(),
            tick: 0,
            evictions: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn rank(&mut self, uses: u64, inserted: u64) -> (u64, u64) {
        self.tick += 1;
        match self.eviction {
            Eviction::Lru => (self.tick, 0),
            Eviction::Lfu => (uses, self.tick),
            Eviction::Fifo => (inserted, 0),
        }
    }

    /// Looks `key` up at `now`; a hit counts as a use.
    pub fn get(&mut self, key: u64, now: Nanos) -> Lookup {
        let Some(e) = self.entries.get(&key).copied() else {
            return Lookup::Miss;
        };
        if now >= e.expiry {
            self.remove(key);
            return Lookup::Expired;
        }
        if self.eviction != Eviction::Fifo {
            self.order.remove(&(e.rank.0, e.rank.1, key));
            let rank = self.rank(e.uses + 1, 0);
            self.order.insert((rank.0, rank.1, key));
            let e = self.entries.get_mut(&key).expect("looked up");
            e.uses += 1;
            e.rank = rank;
        }
        Lookup::Hit {
            expiry: e.expiry,
            delta: e.delta,
        }
    }

    /// Fills `key` (new or refreshed) until `expiry`; a full store evicts first.
    pub fn put(&mut self, key: u64, expiry: Nanos, delta: Nanos) {
        if let Some(e) = self.entries.get_mut(&key) {
            // A refresh keeps the entry's place and use count.
            e.expiry = expiry;
            e.delta = delta;
            return;
        }
        if self.entries.len() >= self.capacity {
            let victim = *self.order.first().expect("a full store has entries");
            self.order.remove(&victim);
            self.entries.remove(&victim.2);
            self.evictions += 1;
        }
        self.tick += 1;
        let rank = match self.eviction {
            Eviction::Lru => (self.tick, 0),
            Eviction::Lfu => (1, self.tick),
            Eviction::Fifo => (self.tick, 0),
        };
        self.order.insert((rank.0, rank.1, key));
        self.entries.insert(
            key,
            Entry {
                expiry,
                delta,
                uses: 1,
                rank,
            },
        );
        debug_assert!(self.entries.len() <= self.capacity);
        debug_assert_eq!(self.entries.len(), self.order.len());
    }

    /// Drops `key` (an invalidation); true if it was there.
    pub fn remove(&mut self, key: u64) -> bool {
        match self.entries.remove(&key) {
            Some(e) => {
                self.order.remove(&(e.rank.0, e.rank.1, key));
                true
            }
            None => false,
        }
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
}
