//! Requests in flight, held in a slab and passed between actors by id.
//!
//! One entry is one call from a caller to a callee (an attempt, or a downstream call). Ids
//! carry a generation, so an event that outlives its request (a timeout that fires after the
//! reply) finds nothing instead of a stranger reusing the slot.

use crate::engine::{ActorId, Nanos};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReqId {
    idx: u32,
    gen: u32,
}

/// How a call ended, as the callee reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Ok,
    Error,
    Rejected,
}

#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// When the end-to-end request's first attempt started; latency is measured from here.
    pub born: Nanos,
    /// The actor that receives the reply.
    pub reply_to: ActorId,
    /// The caller's own slot for this call (a closed-loop user, say).
    pub token: u32,
    /// Work the callee drew for it, already scaled by the callee's speed.
    pub work: Nanos,
    /// When the callee accepted it.
    pub entered: Nanos,
    pub outcome: Outcome,
    /// The caller stopped waiting (timed out); the eventual reply only frees the entry.
    pub abandoned: bool,
}

impl Request {
    pub fn new(born: Nanos, reply_to: ActorId, token: u32) -> Self {
        Request {
            born,
            reply_to,
            token,
            work: 0,
            entered: born,
            outcome: Outcome::Pending,
            abandoned: false,
        }
    }
}

struct Slot {
    gen: u32,
    live: bool,
    req: Request,
}

/// The slab of requests in flight.
#[derive(Default)]
pub struct Requests {
    slots: Vec<Slot>,
    free: Vec<u32>,
    live: usize,
}

impl Requests {
    pub fn insert(&mut self, req: Request) -> ReqId {
        self.live += 1;
        if let Some(idx) = self.free.pop() {
            let s = &mut self.slots[idx as usize];
            debug_assert!(!s.live);
            s.live = true;
            s.req = req;
            return ReqId { idx, gen: s.gen };
        }
        let idx = u32::try_from(self.slots.len()).expect("more than 2^32 requests in flight");
        self.slots.push(Slot {
            gen: 0,
            live: true,
            req,
        });
        ReqId { idx, gen: 0 }
    }

    #[inline]
    pub fn get(&self, id: ReqId) -> Option<&Request> {
        let s = self.slots.get(id.idx as usize)?;
        (s.live && s.gen == id.gen).then_some(&s.req)
    }

    #[inline]
    pub fn get_mut(&mut self, id: ReqId) -> Option<&mut Request> {
        let s = self.slots.get_mut(id.idx as usize)?;
        (s.live && s.gen == id.gen).then_some(&mut s.req)
    }

    /// Frees the entry; its id becomes stale.
    pub fn remove(&mut self, id: ReqId) -> Option<Request> {
        let s = self.slots.get_mut(id.idx as usize)?;
        if !(s.live && s.gen == id.gen) {
            return None;
        }
        s.live = false;
        s.gen = s.gen.wrapping_add(1);
        self.free.push(id.idx);
        self.live -= 1;
        Some(s.req)
    }

    /// Requests currently in flight.
    pub fn live(&self) -> usize {
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_ids_find_nothing() {
        let mut r = Requests::default();
        let a = r.insert(Request::new(1, ActorId(0), 0));
        assert!(r.remove(a).is_some());
        let b = r.insert(Request::new(2, ActorId(0), 0));
        assert!(r.get(a).is_none(), "slot reused under a new generation");
        assert_eq!(r.get(b).map(|q| q.born), Some(2));
        assert!(r.remove(a).is_none());
        assert_eq!(r.live(), 1);
    }
}
