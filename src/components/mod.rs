//! The actors of a model and the world that dispatches events to them.
//!
//! The set of actor kinds is closed: [`Actor`] is an enum and [`Network::handle`] is one
//! `match`, so an event costs no virtual call. Actors talk only through messages carrying
//! request ids; the requests themselves live in one slab ([`Requests`]).

pub mod autoscaler;
pub mod breaker;
pub mod concurrency;
pub mod connections;
pub mod degrade;
pub mod dist;
pub mod kernel;
pub mod keymap;
pub mod limiter;
pub mod node;
pub mod outage;
pub mod outbound;
pub mod pool;
pub mod queue;
pub mod recovery;
pub mod request;
pub mod retry;
pub mod sessions;
pub mod size;
pub mod slab;
pub mod store;
pub mod zipf;

pub use balancer::{Algorithm, Balancer, BalancerConfig, HealthCheck, Outlier, Split, ZoneAware};
pub use client::{Arrivals, Class, Client, ClientConfig, ClientStreams, Keys, TraceEvent};
pub use dist::{DistParams, Sampler};
pub use kernel::{answer, Ctx, Msg};
pub use outbound::CallSite;
pub use request::{Outcome, ReqId, Request, Requests};
pub use service::{
    Bound, Fault, FaultKind, FunctionConfig, OnFailure, Provisioning, Rollout, Service,
    ServiceConfig, ServiceStreams, Size, Step, SERIES_WIDTH,
};

use crate::engine::{ActorId, Calendar, Nanos, World};
use crate::metrics::series::{Owner, Series};
use crate::metrics::{named, RunMetrics};
use node::{BucketTotals, Build, ColumnGroup, NodeActor, Outcomes, Streams, Totals};

/// The actor and configuration enums, one variant per node kind of `kinds.rs`, and the
/// forwarding that keeps an event's dispatch one `match`.
macro_rules! actors {
    ($( $(#[$doc:meta])* $kind:ident : $smod:ident :: $sty:ident => $amod:ident :: $aty:ident, )*) => {
        $( pub mod $amod; )*

        /// An actor of a run, by node kind.
        pub enum Actor {
            $( $kind(Box<$amod::$aty>), )*
        }

        /// The configuration of one actor, as the model builds it.
        #[derive(Clone, Debug)]
        // Built once per run: the size difference between variants costs nothing worth boxing for.
        #[allow(clippy::large_enum_variant)]
        pub enum ActorConfig {
            $( $kind(<$amod::$aty as Build>::Config), )*
        }

        impl ActorConfig {
            /// The nodes a request waits on synchronously, for the model's cycle check.
            pub fn waits_on(&self) -> Vec<ActorId> {
                match self {
                    $( ActorConfig::$kind(c) => <$amod::$aty as Build>::waits_on(c), )*
                }
            }

            /// What the node's configuration puts on the run's timeline: (from, until, what).
            pub fn timeline(&self) -> Vec<(Nanos, Option<Nanos>, String)> {
                match self {
                    $( ActorConfig::$kind(c) => <$amod::$aty as Build>::timeline(c), )*
                }
            }
        }

        impl Actor {
            fn new(id: ActorId, cfg: ActorConfig, streams: &Streams, warmup: Nanos) -> Result<Actor, String> {
                Ok(match cfg {
                    $( ActorConfig::$kind(c) => Actor::$kind(Box::new(<$amod::$aty as Build>::new(id, c, streams, warmup)?)), )*
                })
            }

            #[inline]
            fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
                match self {
                    $( Actor::$kind(a) => a.handle(msg, ctx), )*
                }
            }

            /// The actor, for what is not on the hot path.
            fn node(&self) -> &dyn NodeActor {
                match self {
                    $( Actor::$kind(a) => &**a, )*
                }
            }

            fn node_mut(&mut self) -> &mut dyn NodeActor {
                match self {
                    $( Actor::$kind(a) => &mut **a, )*
                }
            }
        }
    };
}
crate::kinds::node_kinds!(actors);

/// A built model: the actors of one run, ready to start.
pub struct Network {
    names: Vec<String>,
    actors: Vec<Actor>,
    requests: Requests,
    warmup: Nanos,
    max_in_flight: usize,
    series_bucket: Option<Nanos>,
    /// When the run's wall-clock budget ends (`limits.max_wall`), if it has one.
    deadline: Option<std::time::Instant>,
}

impl Network {
    /// Sends every request through the general paths, never a fast path chosen at build
    /// (for tests: results must not change).
    pub fn general_paths_only(&mut self) {
        for a in &mut self.actors {
            let a = a.node_mut();
            a.general_paths_only();
            if let Some(out) = a.outbound() {
                out.general_paths_only();
            }
        }
    }

    /// Stops the run (with a warning) once the wall clock reaches `deadline`.
    pub fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.deadline = deadline;
    }

    /// Builds the actors of one replication. Random streams come from (seed, replication,
    /// actor name, purpose) only.
    pub fn build(
        nodes: Vec<(String, ActorConfig)>,
        seed: u64,
        replication: u64,
        warmup: Nanos,
        max_in_flight: usize,
    ) -> Result<Network, String> {
        let mut names = Vec::with_capacity(nodes.len());
        let mut actors = Vec::with_capacity(nodes.len());
        for (i, (name, cfg)) in nodes.into_iter().enumerate() {
            let streams = Streams {
                seed,
                replication,
                name: &name,
            };
            let actor = Actor::new(ActorId(i as u32), cfg, &streams, warmup)
                .map_err(|e| format!("node `{name}`: {e}"))?;
            names.push(name);
            actors.push(actor);
        }
        Ok(Network {
            names,
            actors,
            requests: Requests::default(),
            warmup,
            max_in_flight,
            deadline: None,
            series_bucket: None,
        })
    }

    /// Schedules every actor's first events.
    pub fn start(&mut self, cal: &mut Calendar<Msg>) {
        let mut ctx = Ctx {
            cal,
            requests: &mut self.requests,
            warmup: self.warmup,
        };
        for a in &mut self.actors {
            a.node_mut().start(&mut ctx);
        }
    }

    /// Records a time series in buckets of `bucket` over a run of `duration`.
    pub fn record_series(&mut self, bucket: Nanos, duration: Nanos) {
        let n = duration.div_ceil(bucket).max(1) as usize;
        self.series_bucket = Some(bucket);
        for a in &mut self.actors {
            let a = a.node_mut();
            a.record_series(bucket, n);
            if let Some(out) = a.outbound() {
                out.record_breakers();
            }
        }
    }

    /// The time series of a run that ended at `end` (after `record_series`).
    pub fn series(&mut self, end: Nanos) -> Option<Series> {
        let bucket = self.series_bucket?;
        let n = end.div_ceil(bucket).max(1) as usize;
        // Close the last, partial bucket.
        for a in &mut self.actors {
            let a = a.node_mut();
            a.close_series(end, n);
            if let Some(out) = a.outbound() {
                if out.open_series.as_ref().is_some_and(|x| x.rows.len() < n) {
                    out.tick(end);
                }
            }
        }
        let mut columns: Vec<String> = [
            "requests_rps",
            "throughput_rps",
            "goodput_rps",
            "failed_rps",
            "rejected_rps",
            "timed_out_rps",
            "attempts_rps",
            "latency_p50_s",
            "latency_p99_s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut owners = vec![Owner::Experiment; columns.len()];
        let mut own = |owner: Owner, metric: &str| {
            columns.push(format!("{}.{metric}", owner.node().unwrap_or("")));
            owners.push(owner);
        };
        for (name, a) in self.names.iter().zip(&self.actors) {
            for (owner, c) in a.node().series_columns(name, ColumnGroup::Service) {
                own(owner, c);
            }
        }
        for (name, a) in self.names.iter().zip(&mut self.actors) {
            if a.node_mut()
                .outbound()
                .is_some_and(|o| o.open_series.is_some())
            {
                own(Owner::node_in("caller", name), "breaker_open");
            }
        }
        for (name, a) in self.names.iter().zip(&self.actors) {
            for (owner, c) in a.node().series_columns(name, ColumnGroup::Data) {
                own(owner, c);
            }
        }
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let start = i as u64 * bucket;
            let width_s = (end.min(start + bucket) - start) as f64 / 1e9;
            let mut totals = BucketTotals::default();
            for a in &self.actors {
                a.node().add_bucket(i, &mut totals);
            }
            let mut row: Vec<f64> = totals.counts.iter().map(|v| *v as f64 / width_s).collect();
            row.push(totals.latency.quantile(0.5));
            row.push(totals.latency.quantile(0.99));
            for a in &self.actors {
                a.node().series_row(i, ColumnGroup::Service, &mut row);
            }
            for a in &mut self.actors {
                if let Some(b) = a.node_mut().outbound().and_then(|o| o.open_series.as_ref()) {
                    row.push(b.rows.get(i).copied().unwrap_or(f64::NAN));
                }
            }
            for a in &self.actors {
                a.node().series_row(i, ColumnGroup::Data, &mut row);
            }
            rows.push(row);
        }
        debug_assert_eq!(columns.len(), owners.len());
        Some(Series {
            bucket_s: bucket as f64 / 1e9,
            columns,
            owners,
            rows,
        })
    }

    /// Requests in flight now.
    pub fn in_flight(&self) -> usize {
        self.requests.len()
    }

    /// The metrics of the run that ended at `end`.
    pub fn metrics(&self, end: Nanos) -> RunMetrics {
        let window_s = (end.saturating_sub(self.warmup)) as f64 / 1e9;
        let mut totals = Totals::default();
        let mut nodes = Vec::with_capacity(self.actors.len());
        for (name, a) in self.names.iter().zip(&self.actors) {
            let a = a.node();
            a.add_totals(&mut totals, end);
            nodes.push((name.clone(), a.metrics(window_s, end)));
        }
        let Totals {
            requests,
            ended,
            retries,
            attempts,
            latency,
            cost,
        } = totals;
        let Outcomes {
            succeeded,
            good,
            failed,
            rejected,
            timed_out,
            degraded,
        } = ended;
        let completed = ended.total();
        let secs = |q: f64| latency.quantile(q).map_or(f64::NAN, |v| v / 1e9);
        let experiment = vec![
            ("requests", requests as f64),
            ("completed", completed as f64),
            ("succeeded", succeeded as f64),
            ("failed", failed as f64),
            ("rejected", rejected as f64),
            ("timed_out", timed_out as f64),
            ("degraded", degraded as f64),
            ("retries", retries as f64),
            ("attempts", attempts as f64),
            ("in_flight", requests.saturating_sub(completed) as f64),
            ("throughput_rps", succeeded as f64 / window_s),
            ("goodput_rps", good as f64 / window_s),
            (
                "latency_mean_s",
                latency.mean().map_or(f64::NAN, |v| v / 1e9),
            ),
            ("latency_p50_s", secs(0.5)),
            ("latency_p90_s", secs(0.9)),
            ("latency_p99_s", secs(0.99)),
            ("latency_p999_s", secs(0.999)),
            ("cost", cost),
            (
                "cost_per_million",
                if succeeded > 0 {
                    cost / succeeded as f64 * 1e6
                } else {
                    f64::NAN
                },
            ),
        ];
        RunMetrics {
            experiment: named(experiment),
            nodes,
        }
    }
}

impl World for Network {
    type Msg = Msg;

    #[inline]
    fn handle(&mut self, target: ActorId, msg: Msg, cal: &mut Calendar<Msg>) {
        let mut ctx = Ctx {
            cal,
            requests: &mut self.requests,
            warmup: self.warmup,
        };
        self.actors[target.0 as usize].handle(msg, &mut ctx);
    }

    fn kind_code(msg: &Msg) -> u32 {
        msg.code()
    }

    fn should_stop(&self) -> bool {
        self.requests.len() > self.max_in_flight
    }

    fn past_deadline(&self) -> bool {
        self.deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
    }

    fn tick(&mut self, at: Nanos) {
        for a in &mut self.actors {
            let a = a.node_mut();
            a.tick(at);
            if let Some(out) = a.outbound() {
                out.tick(at);
            }
        }
    }
}
