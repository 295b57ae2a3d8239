//! Requests in flight, held in a slab and passed between actors by id.
//!
//! One entry is one call from a caller to a callee: an attempt of a client's request, or a
//! downstream call of a service. Retries are new entries that keep `born`, so end-to-end
//! latency covers every attempt.

use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, TimerId};

pub type ReqId = Id;

/// How a call ended, as the callee reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Ok,
    Error,
    Rejected,
    /// Answered, but with a fallback somewhere along the way.
    Degraded,
}

#[derive(Clone, Copy, Debug)]
pub struct Request {
    /// When the caller's logical call started (its first attempt).
    pub born: Nanos,
    /// The actor that receives the reply.
    pub reply_to: ActorId,
    /// The caller's own reference for this call.
    pub token: u64,
    /// Work the callee drew for it, already scaled by the callee's speed.
    pub work: Nanos,
    /// When the callee accepted it.
    pub entered: Nanos,
    /// When the caller sent it.
    pub sent: Nanos,
    /// When the caller stops waiting for this attempt (`u64::MAX`: never).
    pub deadline: Nanos,
    /// One-way network latency of this attempt; the reply takes as long to return.
    pub net: Nanos,
    pub class: u16,
    pub key: u64,
    pub outcome: Outcome,
    /// The caller stopped waiting (timed out); the eventual reply only frees the entry.
    pub abandoned: bool,
    /// Requests the callee's replica held when it let this one in, itself included (a
    /// concurrency limiter's sample).
    pub inflight: u32,
    /// The caller's timeout for this attempt, cancelled when the reply comes in time.
    pub timer: TimerId,
    /// The caller's label for a call sent without a logical-call record (a plain call
    /// site: no retry, hedge, timeout, breaker or bulkhead), `None` otherwise.
    pub direct_tag: Option<u32>,
    /// Sent on a connection already open (a caller's pool, a pooler's server connection):
    /// a server with a connection setup cost charges none.
    pub kept: bool,
    /// The replica a balancer sent this call to (the balancer's own record of the route,
    /// read back when the reply or the route's timeout comes).
    pub route: u32,
}

impl Request {
    /// A call made on behalf of `self` (by a balancer, cache, database or queue): the same
    /// birth, class, key and deadline, answered to `reply_to` under `token`.
    pub fn on_behalf(&self, reply_to: ActorId, token: u64) -> Request {
        let mut child = Request::new(self.born, reply_to, token);
        child.class = self.class;
        child.key = self.key;
        child.deadline = self.deadline;
        child
    }

    pub fn new(born: Nanos, reply_to: ActorId, token: u64) -> Self {
        Request {
            born,
            reply_to,
            token,
            work: 0,
            entered: born,
            sent: born,
            deadline: Nanos::MAX,
            net: 0,
            class: 0,
            key: 0,
            outcome: Outcome::Pending,
            abandoned: false,
            inflight: 0,
            timer: TimerId::NONE,
            direct_tag: None,
            kept: false,
            route: 0,
        }
    }
}

/// The slab of requests in flight.
pub type Requests = Slab<Request>;
