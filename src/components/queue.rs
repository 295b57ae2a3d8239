//! A replica's waiting room and the policies that decide who waits, who is served next and
//! who is shed: FIFO or LIFO (always, or adaptively under overload), priority levels, what
//! happens when it is full, and Facebook's server CoDel.

use super::request::ReqId;
use crate::engine::Nanos;
use std::collections::VecDeque;

/// What an arrival to a full queue does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum WhenFull {
    /// Refused at once (503).
    #[default]
    Reject,
    /// The oldest waiting request (of the lowest priority) is dropped to make room.
    DropOldest,
    /// The caller waits to get in: its request is held outside the queue, its worker (if
    /// it is a service) stays taken, so pressure propagates upstream.
    Block,
}

/// Which waiting request a free worker takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    #[default]
    Fifo,
    Lifo,
    /// FIFO normally, LIFO while CoDel says the queue is overloaded (Facebook's "Fail at
    /// Scale"): the newest requests, most likely still wanted, go first.
    AdaptiveLifo,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CoDelConfig {
    pub target: Nanos,
    pub interval: Nanos,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct QueuePolicy {
    pub when_full: WhenFull,
    pub order: Order,
    pub codel: Option<CoDelConfig>,
    /// Serve higher priority first and, when full, shed the lowest priority first.
    pub by_priority: bool,
}

/// Waiting requests by priority level (0 the lowest), each level in arrival order.
#[derive(Debug)]
pub struct WaitQueue {
    levels: Vec<VecDeque<ReqId>>,
    len: usize,
    /// Requests that ever left the queue (served, shed, dropped): a place in line is
    /// `removed + len` when joining, reached when `removed` gets there.
    removed: u64,
}

impl WaitQueue {
    pub fn new(levels: usize) -> Self {
        WaitQueue {
            levels: (0..levels.max(1)).map(|_| VecDeque::new()).collect(),
            len: 0,
            removed: 0,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many requests ever left the queue.
    #[inline]
    pub fn removed(&self) -> u64 {
        self.removed
    }

    #[inline]
    pub fn push(&mut self, id: ReqId, level: usize) {
        self.levels[level].push_back(id);
        self.len += 1;
    }

    /// The next to serve: from the highest non-empty level, its oldest (or newest).
    #[inline]
    pub fn pop(&mut self, newest: bool) -> Option<ReqId> {
        let q = self.levels.iter_mut().rev().find(|q| !q.is_empty())?;
        self.len -= 1;
        self.removed += 1;
        if newest {
            q.pop_back()
        } else {
            q.pop_front()
        }
    }

    /// The oldest request of the lowest non-empty level, if that level is at most `level`.
    pub fn pop_oldest_upto(&mut self, level: usize) -> Option<ReqId> {
        let q = self.levels[..=level].iter_mut().find(|q| !q.is_empty())?;
        self.len -= 1;
        self.removed += 1;
        q.pop_front()
    }

    /// The newest request of the lowest non-empty level below `level`, if any: the one to
    /// shed for an arrival of `level`.
    pub fn shed_below(&mut self, level: usize) -> Option<ReqId> {
        let q = self.levels[..level].iter_mut().find(|q| !q.is_empty())?;
        self.len -= 1;
        self.removed += 1;
        q.pop_back()
    }

    /// Everything waiting, highest level first.
    pub fn drain(&mut self) -> Vec<ReqId> {
        self.removed += self.len as u64;
        self.len = 0;
        self.levels
            .iter_mut()
            .rev()
            .flat_map(|q| q.drain(..))
            .collect()
    }
}

/// Facebook's server CoDel (folly `Codel`): each interval, the queue is overloaded if the
/// smallest queueing delay seen in the previous interval exceeded the target; while
/// overloaded, requests that waited more than twice the target are dropped when dequeued.
/// The first request of an interval is never dropped.
#[derive(Clone, Debug)]
pub struct CoDel {
    cfg: CoDelConfig,
    interval_end: Nanos,
    min_delay: Nanos,
    reset: bool,
    pub overloaded: bool,
}

impl CoDel {
    pub fn new(cfg: CoDelConfig) -> Self {
        CoDel {
            cfg,
            interval_end: cfg.interval,
            min_delay: 0,
            // The first request seen sets the minimum.
            reset: true,
            overloaded: false,
        }
    }

    /// A request is about to be served after waiting `delay`: drop it instead?
    pub fn should_drop(&mut self, now: Nanos, delay: Nanos) -> bool {
        if now > self.interval_end && !self.reset {
            self.reset = true;
            self.interval_end = now.saturating_add(self.cfg.interval);
            self.overloaded = self.min_delay > self.cfg.target;
        }
        if self.reset {
            self.reset = false;
            self.min_delay = delay;
            return false;
        }
        if delay < self.min_delay {
            self.min_delay = delay;
        }
        self.overloaded && delay > 2 * self.cfg.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::slab::Id;

    fn id(n: u32) -> ReqId {
        Id::from_token(n as u64)
    }

    #[test]
    fn levels_serve_the_highest_first_and_shed_the_lowest_newest() {
        let mut q = WaitQueue::new(3);
        for (n, level) in [(1, 0), (2, 2), (3, 0), (4, 1), (5, 2)] {
            q.push(id(n), level);
        }
        assert_eq!(q.len(), 5);
        assert_eq!(q.pop(false), Some(id(2)));
        assert_eq!(q.pop(true), Some(id(5)));
        // For an arrival of level 1: the newest of level 0.
        assert_eq!(q.shed_below(1), Some(id(3)));
        assert_eq!(q.shed_below(0), None);
        assert_eq!(q.pop_oldest_upto(0), Some(id(1)));
        assert_eq!(q.pop_oldest_upto(0), None);
        assert_eq!(q.drain(), vec![id(4)]);
        assert!(q.is_empty());
    }

    #[test]
    fn codel_drops_only_while_overloaded_and_only_long_waits() {
        const MS: Nanos = 1_000_000;
        let mut c = CoDel::new(CoDelConfig {
            target: 5 * MS,
            interval: 100 * MS,
        });
        // First interval: every request waited 50 ms. Not yet overloaded: nothing dropped.
        for t in 1..10 {
            assert!(!c.should_drop(t * 10 * MS, 50 * MS));
        }
        // The next interval starts overloaded (its min delay was 50 ms > 5 ms); its first
        // request is never dropped, the rest over 10 ms are, those under are not.
        assert!(!c.should_drop(101 * MS, 50 * MS));
        assert!(c.overloaded);
        assert!(c.should_drop(110 * MS, 50 * MS));
        assert!(!c.should_drop(120 * MS, 8 * MS));
        // One short wait in an interval ends the overload at the next one.
        assert!(!c.should_drop(130 * MS, MS));
        assert!(!c.should_drop(205 * MS, 50 * MS));
        assert!(!c.overloaded);
        assert!(!c.should_drop(210 * MS, 50 * MS));
    }
}
