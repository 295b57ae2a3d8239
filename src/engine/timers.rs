//! Cancellable timers: events that usually never fire (an attempt's timeout, answered in
//! time) kept apart from the calendar's heap, in a binary heap that knows where each timer
//! sits, so cancelling one removes it at once instead of leaving a dead event to pop later.

use super::calendar::Scheduled;
use super::{ActorId, Nanos};

/// A handle to a scheduled timer: its slot and the slot's generation (a handle to a timer
/// that fired or was cancelled finds nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimerId(u64);

impl TimerId {
    /// A handle to no timer.
    pub const NONE: TimerId = TimerId(u64::MAX);

    fn new(slot: u32, generation: u32) -> Self {
        TimerId(((generation as u64) << 32) | slot as u64)
    }

    fn slot(self) -> usize {
        (self.0 & 0xffff_ffff) as usize
    }

    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// Not in the heap.
const OUT: u32 = u32::MAX;

struct Slot<M> {
    ev: Option<Scheduled<M>>,
    generation: u32,
    /// Its index in `heap`, or `OUT`.
    pos: u32,
}

pub(super) struct Timers<M> {
    /// Slots, ordered as a binary min-heap by (time, sequence).
    heap: Vec<u32>,
    slots: Vec<Slot<M>>,
    free: Vec<u32>,
}

impl<M: Copy> Timers<M> {
    pub(super) fn new() -> Self {
        Timers {
            heap: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.heap.len()
    }

    /// The earliest timer's (time, sequence).
    #[inline]
    pub(super) fn first(&self) -> Option<(Nanos, u64)> {
        let s = *self.heap.first()?;
        let ev = self.slots[s as usize]
            .ev
            .as_ref()
            .expect("a timer in the heap");
        Some((ev.time, ev.seq))
    }

    pub(super) fn push(&mut self, time: Nanos, seq: u64, target: ActorId, msg: M) -> TimerId {
        let ev = Some(Scheduled {
            time,
            seq,
            target,
            msg,
        });
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize].ev = ev;
                s
            }
            None => {
                self.slots.push(Slot {
                    ev,
                    generation: 0,
                    pos: OUT,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let at = self.heap.len();
        self.heap.push(slot);
        self.slots[slot as usize].pos = at as u32;
        self.sift_up(at);
        TimerId::new(slot, self.slots[slot as usize].generation)
    }

    /// Takes the earliest timer out.
    pub(super) fn pop(&mut self) -> Option<Scheduled<M>> {
        let slot = *self.heap.first()?;
        Some(self.take(slot as usize))
    }

    /// Cancels `id` if it is still pending; true if it was.
    pub(super) fn cancel(&mut self, id: TimerId) -> bool {
        let s = id.slot();
        match self.slots.get(s) {
            Some(slot) if slot.generation == id.generation() && slot.pos != OUT => {
                self.take(s);
                true
            }
            _ => false,
        }
    }

    /// Removes slot `s` from the heap and frees it.
    fn take(&mut self, s: usize) -> Scheduled<M> {
        let at = self.slots[s].pos as usize;
        let last = self.heap.len() - 1;
        self.heap.swap(at, last);
        self.heap.pop();
        if at < last {
            let moved = self.heap[at] as usize;
            self.slots[moved].pos = at as u32;
            self.sift_down(at);
            self.sift_up(self.slots[moved].pos as usize);
        }
        let slot = &mut self.slots[s];
        slot.pos = OUT;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(s as u32);
        slot.ev.take().expect("a timer in the heap")
    }

    fn key(&self, i: usize) -> (Nanos, u64) {
        let ev = self.slots[self.heap[i] as usize]
            .ev
            .as_ref()
            .expect("a timer in the heap");
        (ev.time, ev.seq)
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.heap.swap(a, b);
        self.slots[self.heap[a] as usize].pos = a as u32;
        self.slots[self.heap[b] as usize].pos = b as u32;
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 2;
            if self.key(i) >= self.key(parent) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let (l, r) = (2 * i + 1, 2 * i + 2);
            let mut least = i;
            if l < n && self.key(l) < self.key(least) {
                least = l;
            }
            if r < n && self.key(r) < self.key(least) {
                least = r;
            }
            if least == i {
                return;
            }
            self.swap(i, least);
            i = least;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a sorted list, through pushes, cancellations and pops in a pseudo-random mix.
    #[test]
    fn timers_pop_in_order_and_cancel_exactly() {
        let mut t: Timers<u64> = Timers::new();
        let mut live: Vec<(Nanos, u64, TimerId)> = Vec::new();
        let mut x = 7u64;
        let mut seq = 0;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match (x >> 60) % 4 {
                0 | 1 => {
                    let time = (x >> 20) % 1000;
                    let id = t.push(time, seq, ActorId(0), seq);
                    live.push((time, seq, id));
                    seq += 1;
                }
                2 if !live.is_empty() => {
                    let i = (x >> 30) as usize % live.len();
                    let (_, _, id) = live.swap_remove(i);
                    assert!(t.cancel(id));
                    assert!(!t.cancel(id), "cancelled twice");
                }
                _ => {
                    live.sort_by_key(|&(time, seq, _)| (time, seq));
                    let want = (!live.is_empty()).then(|| live.remove(0));
                    let got = t.pop().map(|e| (e.time, e.seq));
                    assert_eq!(got, want.map(|(time, seq, _)| (time, seq)));
                    if let Some((_, _, id)) = want {
                        assert!(!t.cancel(id), "a fired timer cannot be cancelled");
                    }
                }
            }
            assert_eq!(t.len(), live.len());
        }
    }
}
