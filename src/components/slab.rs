//! A slab of entries addressed by ids with generations: freed slots are reused, and an id
//! that outlived its entry (a timeout firing after the reply) finds nothing.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Id {
    idx: u32,
    gen: u32,
}

impl Id {
    /// The slot: live ids in slot order are the order `Slab::ids` lists them in.
    pub fn slot(self) -> u32 {
        self.idx
    }

    /// Packs the id into a token other actors can carry.
    pub fn to_token(self) -> u64 {
        ((self.gen as u64) << 32) | self.idx as u64
    }

    pub fn from_token(t: u64) -> Id {
        Id {
            idx: t as u32,
            gen: (t >> 32) as u32,
        }
    }
}

struct Slot<T> {
    gen: u32,
    value: Option<T>,
}

pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }
}

impl<T> Slab<T> {
    #[inline]
    pub fn insert(&mut self, value: T) -> Id {
        self.live += 1;
        if let Some(idx) = self.free.pop() {
            let s = &mut self.slots[idx as usize];
            debug_assert!(s.value.is_none());
            s.value = Some(value);
            return Id { idx, gen: s.gen };
        }
        let idx = u32::try_from(self.slots.len()).expect("more than 2^32 live entries");
        self.slots.push(Slot {
            gen: 0,
            value: Some(value),
        });
        Id { idx, gen: 0 }
    }

    #[inline]
    pub fn get(&self, id: Id) -> Option<&T> {
        let s = self.slots.get(id.idx as usize)?;
        if s.gen == id.gen {
            s.value.as_ref()
        } else {
            None
        }
    }

    #[inline]
    pub fn get_mut(&mut self, id: Id) -> Option<&mut T> {
        let s = self.slots.get_mut(id.idx as usize)?;
        if s.gen == id.gen {
            s.value.as_mut()
        } else {
            None
        }
    }

    /// Frees the entry; its id becomes stale.
    pub fn remove(&mut self, id: Id) -> Option<T> {
        let s = self.slots.get_mut(id.idx as usize)?;
        if s.gen != id.gen {
            return None;
        }
        let v = s.value.take()?;
        s.gen = s.gen.wrapping_add(1);
        self.free.push(id.idx);
        self.live -= 1;
        Some(v)
    }

    pub fn len(&self) -> usize {
        self.live
    }

    /// The ids of live entries, in slot order.
    pub fn ids(&self) -> Vec<Id> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.value.is_some())
            .map(|(i, s)| Id {
                idx: i as u32,
                gen: s.gen,
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_find_nothing() {
        let mut s = Slab::default();
        let a = s.insert(1);
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2);
        assert!(s.get(a).is_none(), "slot reused under a new generation");
        assert_eq!(s.get(b), Some(&2));
        assert!(s.remove(a).is_none());
        assert_eq!(Id::from_token(b.to_token()), b);
        assert_eq!(s.len(), 1);
    }
}
