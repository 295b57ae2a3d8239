//! What the network asks of every node kind's actor: how it is built, started, fed
//! messages and observed. `Network` holds one enum of actors, generated from the list in
//! `kinds.rs`, and forwards to these methods, so an event costs no virtual call.

use super::kernel::{Ctx, Msg};
use super::outbound::Outbound;
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
    pub succeeded: u64,
    pub good: u64,
    pub failed: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub degraded: u64,
    pub retries: u64,
    pub attempts: u64,
    pub latency: Histogram,
    pub cost: f64,
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
