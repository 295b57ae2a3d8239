//! The event calendar: a binary heap ordered by (time, insertion sequence).

use super::timers::{TimerId, Timers};
use super::{ActorId, Nanos};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// An event waiting in the calendar.
#[derive(Clone, Copy, Debug)]
pub struct Scheduled<M> {
    pub time: Nanos,
    pub seq: u64,
    pub target: ActorId,
    pub msg: M,
}

impl<M> Scheduled<M> {
    /// (time, sequence) as one number: one wide comparison instead of two branches.
    #[inline(always)]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

impl<M> PartialEq for Scheduled<M> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<M> Eq for Scheduled<M> {}
impl<M> PartialOrd for Scheduled<M> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<M> Ord for Scheduled<M> {
    // Reversed, so that the max-heap pops the earliest event; equal times pop in insertion
    // order (FIFO), which makes a run a pure function of its input.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// An event handed out by the calendar: when, to whom, what.
#[derive(Clone, Copy, Debug)]
pub struct Event<M> {
    pub time: Nanos,
    pub target: ActorId,
    pub msg: M,
}

impl<M> From<Scheduled<M>> for Event<M> {
    #[inline]
    fn from(s: Scheduled<M>) -> Self {
        Event {
            time: s.time,
            target: s.target,
            msg: s.msg,
        }
    }
}

/// Pending events plus the current simulated time.
///
/// Events due at the current instant (a reply sent the moment work finishes) skip the heap
/// and wait in a FIFO: every event already in the heap for this instant was scheduled
/// earlier, so it has a smaller sequence number and still goes first. The order is exactly
/// (time, sequence); only the cost changes. Once nothing but the FIFO is due at an instant,
/// its events are handed out without looking at the heap or the timers again.
pub struct Calendar<M> {
    heap: BinaryHeap<Scheduled<M>>,
    /// Events due now, in the order scheduled (their time is `now`; their sequence numbers
    /// are all larger than any in the heap or the timers, so only the order among them counts).
    immediate: VecDeque<(ActorId, M)>,
    /// Cancellable timers, beside the heap; ordered with it by (time, sequence).
    timers: Timers<M>,
    /// Cancelled timers still fire (as no-op events): only to show that cancelling
    /// changes nothing but the events counted.
    keep_cancelled: bool,
    /// Nothing in the heap or the timers is due at `now`: the FIFO's front, if any, is the
    /// next event. Scheduling never puts an event due now anywhere but the FIFO, so this
    /// holds until time moves.
    only_fifo_now: bool,
    next_seq: u64,
    now: Nanos,
}

impl<M: Copy> Calendar<M> {
    pub fn new() -> Self {
        Calendar {
            heap: BinaryHeap::with_capacity(1024),
            immediate: VecDeque::with_capacity(64),
            timers: Timers::new(),
            keep_cancelled: false,
            only_fifo_now: false,
            next_seq: 0,
            now: 0,
        }
    }

    /// Keeps cancelled timers firing, as if nothing were ever cancelled. Results must not
    /// change, only the count of (no-op) events: `tests/timers.rs` checks it.
    pub fn keep_cancelled_timers(&mut self, keep: bool) {
        self.keep_cancelled = keep;
    }

    /// Schedules a timer that may be cancelled before it fires: `msg` to `target` at
    /// `time`, ordered with every other event by (time, scheduling order).
    #[inline]
    pub fn timer(&mut self, time: Nanos, target: ActorId, msg: M) -> TimerId {
        assert!(time >= self.now, "event scheduled in the past");
        if time == self.now {
            // Due at once: an ordinary event, which nothing can overtake.
            self.at(time, target, msg);
            return TimerId::NONE;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.timers.push(time, time - self.now, seq, target, msg)
    }

    /// Cancels a timer that has not fired: it never will.
    #[inline]
    pub fn cancel(&mut self, id: TimerId) {
        if id != TimerId::NONE && !self.keep_cancelled {
            self.timers.cancel(id);
        }
    }

    /// The time of the event being handled (or of the last one handled).
    #[inline]
    pub fn now(&self) -> Nanos {
        self.now
    }

    /// Schedules `msg` for `target` at absolute time `time`, which must not be in the past.
    #[inline(always)]
    pub fn at(&mut self, time: Nanos, target: ActorId, msg: M) {
        assert!(time >= self.now, "event scheduled in the past");
        let seq = self.next_seq;
        self.next_seq += 1;
        if time == self.now {
            self.immediate.push_back((target, msg));
        } else {
            self.heap.push(Scheduled {
                time,
                seq,
                target,
                msg,
            });
        }
    }

    /// Schedules `msg` for `target` after `delay` from now.
    #[inline]
    pub fn after(&mut self, delay: Nanos, target: ActorId, msg: M) {
        self.at(self.now.saturating_add(delay), target, msg);
    }

    /// Takes the earliest event if it is due strictly before `until`, advancing `now` to it.
    #[inline]
    pub fn pop_before(&mut self, until: Nanos) -> Option<Event<M>> {
        if self.only_fifo_now && self.now < until {
            if let Some((target, msg)) = self.immediate.pop_front() {
                debug_assert!(self.heap.peek().is_none_or(|h| h.time != self.now));
                return Some(self.due_now(target, msg));
            }
        }
        if self.timers.len() != 0 && self.timer_first() {
            return self.pop_timer_before(until);
        }
        // Events due now that were scheduled before now come before those scheduled at
        // now (the immediate queue).
        let heap_first = self.heap.peek().is_some_and(|h| h.time == self.now);
        if !heap_first && self.now < until {
            if let Some((target, msg)) = self.immediate.pop_front() {
                // Nothing but the FIFO is due now (the earliest timer is no earlier than
                // the heap's first, which is later).
                self.only_fifo_now = true;
                return Some(self.due_now(target, msg));
            }
        }
        debug_assert!(heap_first || self.immediate.is_empty() || self.now >= until);
        if self.heap.peek()?.time >= until {
            return None;
        }
        let ev = self.heap.pop()?;
        debug_assert!(ev.time >= self.now, "time went backwards");
        self.advance(ev.time);
        Some(ev.into())
    }

    #[inline]
    fn due_now(&self, target: ActorId, msg: M) -> Event<M> {
        Event {
            time: self.now,
            target,
            msg,
        }
    }

    /// Whether the earliest timer comes before the heap's first event.
    #[inline]
    fn timer_first(&mut self) -> bool {
        let Some((time, seq)) = self.timers.first() else {
            return false;
        };
        match self.heap.peek() {
            Some(h) => (((time as u128) << 64) | seq as u128) < h.key(),
            None => true,
        }
    }

    /// `pop_before` when a timer is the earliest of the heap and the timers.
    #[inline(never)]
    fn pop_timer_before(&mut self, until: Nanos) -> Option<Event<M>> {
        let (time, _) = self.timers.first().expect("a timer is pending");
        if time != self.now && self.now < until {
            if let Some((target, msg)) = self.immediate.pop_front() {
                self.only_fifo_now = true; // the heap's first is after the earliest timer
                return Some(self.due_now(target, msg));
            }
        }
        if time >= until {
            return None;
        }
        let ev = self.timers.pop()?;
        debug_assert!(ev.time >= self.now, "time went backwards");
        self.advance(ev.time);
        Some(ev.into())
    }

    /// Moves time to `t`, the time of the event just taken from the heap or the timers.
    #[inline]
    fn advance(&mut self, t: Nanos) {
        self.now = t;
        self.only_fifo_now = self.heap.peek().is_none_or(|h| h.time != t)
            && (self.timers.len() == 0 || self.timers.first().is_none_or(|(f, _)| f != t));
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.immediate.is_empty() && self.timers.len() == 0
    }

    pub fn len(&self) -> usize {
        self.heap.len() + self.immediate.len() + self.timers.len()
    }
}

impl<M: Copy> Default for Calendar<M> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut c = Calendar::new();
        c.at(5, ActorId(0), 'a');
        c.at(1, ActorId(0), 'b');
        c.at(5, ActorId(0), 'c');
        c.at(1, ActorId(0), 'd');
        let order: Vec<char> = std::iter::from_fn(|| c.pop_before(10).map(|e| e.msg)).collect();
        assert_eq!(order, vec!['b', 'd', 'a', 'c']);
    }

    #[test]
    fn same_instant_events_keep_sequence_order() {
        let mut c = Calendar::new();
        c.at(5, ActorId(0), 1);
        c.at(5, ActorId(0), 2);
        let first = c.pop_before(10).unwrap();
        assert_eq!(first.msg, 1);
        // Scheduled now, at t = 5: after the event 2 that was scheduled earlier for t = 5.
        c.at(5, ActorId(0), 3);
        c.at(7, ActorId(0), 5);
        c.at(5, ActorId(0), 4);
        let rest: Vec<i32> = std::iter::from_fn(|| c.pop_before(10).map(|e| e.msg)).collect();
        assert_eq!(rest, vec![2, 3, 4, 5]);
    }

    /// Timers, heap events and events due now interleave by (time, sequence) alone, whatever
    /// lane a timer sits in and whatever was cancelled around it.
    #[test]
    fn timers_order_with_other_events() {
        let mut c = Calendar::new();
        let t1 = c.timer(10, ActorId(0), 'a'); // lane 10
        c.at(10, ActorId(0), 'b');
        let dead = c.timer(10, ActorId(0), 'x');
        c.timer(4, ActorId(0), 'c'); // lane 4, earlier
        c.timer(10, ActorId(0), 'd');
        c.cancel(dead);
        c.cancel(dead); // twice does nothing
        let first = c.pop_before(100).unwrap();
        assert_eq!((first.time, first.msg), (4, 'c'));
        c.at(4, ActorId(0), 'e'); // due now: before everything at 10
        c.timer(10, ActorId(0), 'f'); // lane 6: after 'd', scheduled earlier
        let rest: Vec<char> = std::iter::from_fn(|| c.pop_before(100).map(|e| e.msg)).collect();
        assert_eq!(rest, vec!['e', 'a', 'b', 'd', 'f']);
        c.cancel(t1); // fired already: nothing happens
        assert!(c.is_empty());
    }

    #[test]
    fn stops_at_horizon() {
        let mut c = Calendar::new();
        c.at(10, ActorId(0), ());
        assert!(c.pop_before(10).is_none());
        assert!(c.pop_before(11).is_some());
        assert_eq!(c.now(), 10);
    }
}
