//! What the network asks of every node kind's actor: how it is built, started, fed
//! messages and observed. `Network` holds one enum of actors, generated from the list in
//! `kinds.rs`, and forwards to these methods, so an event costs no virtual call.

use super::kernel::{Ctx, Msg};
use super::outbound::{Final, Outbound};
use crate::engine::{derive_stream, ActorId, Nanos, Stream};
use crate::metrics::series::{CoarseHistogram, Owner};
use crate::metrics::Histogram;

/// Where an actor's random streams come from: (seed, replication, its name, a purpose).
pub struct Streams<'a> {
    pub seed: u64,
    pub replication: u64,
    pub name: &'a str,
}

impl Streams<'_> {
    /// The stream for `purpose`, the same in every run of this seed and replication.
    pub fn get(&self, purpose: &str) -> Stream {
        derive_stream(self.seed, self.replication, self.name, purpose)
    }
}

/// Experiment-wide totals the actors add to at the end of a run.
#[derive(Default)]
pub struct Totals {
    pub requests: u64,
    pub ended: Outcomes,
    pub retries: u64,
    pub attempts: u64,
    pub latency: Histogram,
    pub cost: f64,
}

/// Logical requests by how they ended (after any retries).
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcomes {
    pub succeeded: u64,
    /// Succeeded within the deadline.
    pub good: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    /// Answered by a breaker's fallback.
    pub degraded: u64,
}

impl Outcomes {
    /// Counts one that ended with `outcome`; `good` if it succeeded within its deadline.
    #[inline]
    pub fn count(&mut self, outcome: Final, good: bool) {
        match outcome {
            Final::Ok => {
                self.succeeded += 1;
                self.good += good as u64;
            }
            Final::Error => self.failed += 1,
            Final::Rejected => self.rejected += 1,
            Final::TimedOut => self.timed_out += 1,
            Final::Degraded => self.degraded += 1,
        }
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Outcomes) {
        self.succeeded += other.succeeded;
        self.good += other.good;
        self.failed += other.failed;
        self.rejected += other.rejected;
        self.timed_out += other.timed_out;
        self.degraded += other.degraded;
    }

    /// Every one that ended.
    pub fn total(&self) -> u64 {
        self.succeeded + self.failed + self.rejected + self.timed_out + self.degraded
    }
}

/// Experiment-wide counts of one time bucket: requests, succeeded, good, failed, rejected,
/// timed out, attempts; and the latency of the answers.
#[derive(Default)]
pub struct BucketTotals {
    pub counts: [u64; 7],
    pub latency: CoarseHistogram,
}

/// Where a node's time-series columns go in `series.csv`: the services' own columns come
/// first, then the callers' breakers, then the data tier.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ColumnGroup {
    Service,
    Data,
}

/// An actor of some node kind, as the network drives it.
pub trait NodeActor {
    /// Schedules its first events.
    fn start(&mut self, _ctx: &mut Ctx) {}

    /// Handles one message addressed to it.
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx);

    /// Its metrics at the end of a run of `window_s` measured seconds ending at `end`.
    fn metrics(&self, window_s: f64, end: Nanos) -> Vec<(String, f64)>;

    /// Adds what it counts to the experiment's totals.
    fn add_totals(&self, _totals: &mut Totals, _end: Nanos) {}

    /// The calls it makes, if it makes any.
    fn outbound(&mut self) -> Option<&mut Outbound> {
        None
    }

    /// Starts recording a time series of `n` buckets of `bucket`.
    fn record_series(&mut self, _bucket: Nanos, _n: usize) {}

    /// A time bucket ended at `at`.
    fn tick(&mut self, _at: Nanos) {}

    /// Closes its last, partial bucket of a run that ended at `end` with `n` buckets.
    fn close_series(&mut self, _end: Nanos, _n: usize) {}

    /// Its time-series columns in `group`, with their owner (when recording).
    fn series_columns(&self, _name: &str, _group: ColumnGroup) -> Vec<(Owner, &'static str)> {
        Vec::new()
    }

    /// Its values of bucket `i` in `group`, one per column.
    fn series_row(&self, _i: usize, _group: ColumnGroup, _row: &mut Vec<f64>) {}

    /// Adds its experiment-wide counts of bucket `i`.
    fn add_bucket(&self, _i: usize, _totals: &mut BucketTotals) {}

    /// Sends every request through the general path, never a fast path chosen at build:
    /// results must not change (`tests/fast_paths.rs`).
    fn general_paths_only(&mut self) {}
}

/// How an actor is built from the configuration the model resolved for it.
pub trait Build: NodeActor + Sized {
    /// What the model builds for it: targets resolved to ids, times in nanoseconds.
    type Config: Clone + std::fmt::Debug;

    fn new(
        id: ActorId,
        cfg: Self::Config,
        streams: &Streams,
        warmup: Nanos,
    ) -> Result<Self, String>;

    /// The nodes a request waits on synchronously, for the model's cycle check.
    fn waits_on(_cfg: &Self::Config) -> Vec<ActorId> {
        Vec::new()
    }

    /// What the node's own configuration puts on the run's timeline (a load change, a
    /// delivery window), for plots to shade: (from, until, what).
    fn timeline(_cfg: &Self::Config) -> Vec<(Nanos, Option<Nanos>, String)> {
        Vec::new()
    }
}
