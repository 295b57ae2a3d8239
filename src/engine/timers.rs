//! Cancellable timers: events that usually never fire (an attempt's timeout, answered in
//! time) kept apart from the calendar's heap, so that cancelling one costs next to nothing.
//!
//! Timers are kept in lanes, one per delay: a timeout is always set `delay` after the
//! current time, and time never goes back, so a lane filled in scheduling order is already
//! sorted by (time, sequence). Setting a timer appends to its lane, cancelling one marks it
//! dead where it stands, and the earliest timer is the earliest of the lanes' first live
//! ones. Models have a handful of distinct timeouts, so a handful of lanes.
//!
//! A dead timer leaves its lane when it reaches the front, or when dead ones are more than
//! half a lane (compacted then): memory stays in proportion to the timers set within one
//! delay, whatever the run's length.

use super::calendar::Scheduled;
use super::{ActorId, Nanos};
use std::collections::VecDeque;

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

struct Slot<M> {
    ev: Scheduled<M>,
    generation: u32,
    lane: u32,
    /// Pending: neither fired nor cancelled.
    live: bool,
}

/// Timers set with one delay, in scheduling order (so in (time, sequence) order).
struct Lane {
    queue: VecDeque<u32>,
    /// Cancelled timers still in `queue`.
    dead: usize,
}

/// Dead timers a lane holds before it is worth compacting.
const COMPACT_AT: usize = 256;

/// `head` when the earliest lane must be found again.
const UNKNOWN: usize = usize::MAX;

pub(super) struct Timers<M> {
    lanes: Vec<Lane>,
    /// Each lane's delay, by lane: looked up on every timer set, so kept apart and dense.
    delays: Vec<Nanos>,
    slots: Vec<Slot<M>>,
    free: Vec<u32>,
    /// Pending timers.
    live: usize,
    /// The lane whose first timer is the earliest of all (its first timer is live), or
    /// `UNKNOWN`. While known, every dead timer still in a lane is later than the head
    /// (dead ones were later when cancelled, and the head only gets earlier until it is
    /// found again, which drops dead first timers): so a new timer earlier than the head
    /// is the first of its lane.
    head: usize,
    /// That timer's (time, sequence), when `head` is known.
    head_key: (Nanos, u64),
}

impl<M: Copy> Timers<M> {
    pub(super) fn new() -> Self {
        Timers {
            lanes: Vec::new(),
            delays: Vec::new(),
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            head: UNKNOWN,
            head_key: (0, 0),
        }
    }

    /// Pending timers.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// The earliest pending timer's (time, sequence).
    #[inline]
    pub(super) fn first(&mut self) -> Option<(Nanos, u64)> {
        if self.live == 0 {
            return None;
        }
        if self.head == UNKNOWN {
            self.find_head();
        }
        Some(self.head_key)
    }

    /// Drops every lane's dead first timers and finds the lane with the earliest one.
    #[inline(never)]
    fn find_head(&mut self) {
        let mut best: Option<((Nanos, u64), usize)> = None;
        let (slots, free) = (&self.slots, &mut self.free);
        for (l, lane) in self.lanes.iter_mut().enumerate() {
            while let Some(&s) = lane.queue.front() {
                let slot = &slots[s as usize];
                if slot.live {
                    let key = (slot.ev.time, slot.ev.seq);
                    if best.is_none_or(|(b, _)| key < b) {
                        best = Some((key, l));
                    }
                    break;
                }
                lane.queue.pop_front();
                lane.dead -= 1;
                free.push(s);
            }
        }
        (self.head_key, self.head) = best.expect("a live timer in some lane");
    }

    /// Sets a timer due at `time`, `delay` after the current time, scheduled `seq`-th.
    pub(super) fn push(
        &mut self,
        time: Nanos,
        delay: Nanos,
        seq: u64,
        target: ActorId,
        msg: M,
    ) -> TimerId {
        let lane = self.lane_for(delay);
        let ev = Scheduled {
            time,
            seq,
            target,
            msg,
        };
        let (slot, generation) = match self.free.pop() {
            Some(s) => {
                let slot = &mut self.slots[s as usize];
                (slot.ev, slot.lane, slot.live) = (ev, lane as u32, true);
                (s, slot.generation)
            }
            None => {
                self.slots.push(Slot {
                    ev,
                    generation: 0,
                    lane: lane as u32,
                    live: true,
                });
                ((self.slots.len() - 1) as u32, 0)
            }
        };
        let queue = &mut self.lanes[lane].queue;
        debug_assert!(
            queue
                .back()
                .is_none_or(|&b| self.slots[b as usize].ev.time <= time),
            "a lane's timers out of order"
        );
        queue.push_back(slot);
        // A lane's first timer may be a dead one still waiting to leave: then the earliest
        // lane is found again when asked.
        if self.live == 0 {
            self.head = UNKNOWN;
        } else if self.head != UNKNOWN && (time, seq) < self.head_key {
            (self.head, self.head_key) = (lane, (time, seq));
        }
        self.live += 1;
        TimerId::new(slot, generation)
    }

    /// The lane of timers set with `delay`, made on first use.
    #[inline]
    fn lane_for(&mut self, delay: Nanos) -> usize {
        match self.delays.iter().position(|&d| d == delay) {
            Some(l) => l,
            None => {
                self.delays.push(delay);
                self.lanes.push(Lane {
                    queue: VecDeque::new(),
                    dead: 0,
                });
                self.lanes.len() - 1
            }
        }
    }

    /// Takes the earliest timer out.
    pub(super) fn pop(&mut self) -> Option<Scheduled<M>> {
        self.first()?;
        let l = self.head;
        let s = self.lanes[l].queue.pop_front().expect("the earliest timer");
        let slot = &mut self.slots[s as usize];
        debug_assert!(slot.live, "the earliest lane's first timer is pending");
        slot.live = false;
        slot.generation = slot.generation.wrapping_add(1);
        let ev = slot.ev;
        self.free.push(s);
        self.live -= 1;
        self.head = UNKNOWN;
        Some(ev)
    }

    /// Cancels `id` if it is still pending; true if it was.
    pub(super) fn cancel(&mut self, id: TimerId) -> bool {
        let s = id.slot();
        let Some(slot) = self.slots.get_mut(s) else {
            return false;
        };
        if slot.generation != id.generation() || !slot.live {
            return false;
        }
        slot.live = false;
        slot.generation = slot.generation.wrapping_add(1);
        let l = slot.lane as usize;
        self.live -= 1;
        if self.head == l && (slot.ev.time, slot.ev.seq) == self.head_key {
            // Was the earliest: the next one may be in another lane.
            self.head = UNKNOWN;
        }
        let lane = &mut self.lanes[l];
        lane.dead += 1;
        if lane.dead >= COMPACT_AT && lane.dead * 2 > lane.queue.len() {
            self.compact(l);
        }
        true
    }

    /// Frees lane `l`'s dead timers, keeping the live ones in order.
    #[inline(never)]
    fn compact(&mut self, l: usize) {
        let (slots, free) = (&self.slots, &mut self.free);
        self.lanes[l].queue.retain(|&s| {
            let live = slots[s as usize].live;
            if !live {
                free.push(s);
            }
            live
        });
        self.lanes[l].dead = 0;
        if self.head == l {
            self.head = UNKNOWN;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a sorted list, through pushes with a few delays, cancellations and pops in a
    /// pseudo-random mix, time moving forward as timers fire.
    #[test]
    fn timers_pop_in_order_and_cancel_exactly() {
        let mut t: Timers<u64> = Timers::new();
        let mut live: Vec<(Nanos, u64, TimerId)> = Vec::new();
        let (mut x, mut seq, mut now) = (7u64, 0, 0);
        let delays = [5, 40, 40, 300, 1, 1000];
        for _ in 0..50_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            match (x >> 60) % 4 {
                0 | 1 => {
                    let delay = delays[(x >> 20) as usize % delays.len()];
                    let id = t.push(now + delay, delay, seq, ActorId(0), seq);
                    live.push((now + delay, seq, id));
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
                    assert_eq!(t.first(), want.map(|(time, seq, _)| (time, seq)));
                    let got = t.pop().map(|e| (e.time, e.seq));
                    assert_eq!(got, want.map(|(time, seq, _)| (time, seq)));
                    if let Some((time, _, id)) = want {
                        assert!(!t.cancel(id), "a fired timer cannot be cancelled");
                        now = time;
                    }
                }
            }
            assert_eq!(t.len(), live.len());
        }
    }

    /// Cancelled timers do not pile up: a lane keeps about as many as are pending.
    #[test]
    fn cancelled_timers_are_freed() {
        let mut t: Timers<()> = Timers::new();
        for i in 0..100_000u64 {
            let id = t.push(i + 1_000_000, 1_000_000, i, ActorId(0), ());
            assert!(t.cancel(id));
        }
        assert_eq!(t.len(), 0);
        assert!(
            t.slots.len() <= 2 * COMPACT_AT + 1,
            "{} slots",
            t.slots.len()
        );
        assert_eq!(t.first(), None);
    }
}
