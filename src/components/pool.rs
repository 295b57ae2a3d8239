//! A connection pool on a call edge, per caller replica (HikariCP's model): a call takes a
//! connection for its whole duration; when none is free the caller's worker waits for one,
//! in arrival order, up to the acquire timeout, after which the call fails without being
//! sent. Pool exhaustion shows as wait time when the calls it guards slow down.

use super::slab::Id;
use crate::engine::Nanos;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    pub size: u32,
    /// How long a caller waits for a connection; forever if `None`.
    pub acquire_timeout: Option<Nanos>,
    /// Connections kept open at the target from the replica's start to its end (HikariCP's
    /// `minimumIdle`); 0: opened per call, counted only while in use.
    pub min_idle: u32,
}

/// One replica's pool for one call site.
#[derive(Clone, Debug)]
pub struct Pool {
    pub free: u32,
    /// Jobs waiting for a connection, and since when.
    waiting: VecDeque<(Id, Nanos)>,
}

impl Pool {
    pub fn new(cfg: PoolConfig) -> Self {
        Pool {
            free: cfg.size,
            waiting: VecDeque::new(),
        }
    }

    /// Takes a connection if one is free.
    pub fn try_take(&mut self) -> bool {
        if self.free > 0 {
            self.free -= 1;
            true
        } else {
            false
        }
    }

    pub fn wait(&mut self, job: Id, now: Nanos) {
        self.waiting.push_back((job, now));
    }

    /// A connection comes back: the longest waiter takes it (with when it began waiting),
    /// or it goes back to the free ones.
    pub fn give_back(&mut self) -> Option<(Id, Nanos)> {
        let next = self.waiting.pop_front();
        if next.is_none() {
            self.free += 1;
        }
        next
    }

    /// A waiter gives up (acquire timeout); true if it was waiting.
    pub fn leave(&mut self, job: Id) -> bool {
        match self.waiting.iter().position(|(j, _)| *j == job) {
            Some(i) => {
                self.waiting.remove(i);
                true
            }
            None => false,
        }
    }
}
