//! The actors of a model and the world that dispatches events to them.
//!
//! The set of actor kinds is closed: [`Actor`] is an enum and [`Network::handle`] is one
//! `match`, so an event costs no virtual call. Actors talk only through messages carrying
//! request ids; the requests themselves live in one slab ([`Requests`]).

pub mod autoscaler;
pub mod balancer;
pub mod breaker;
pub mod broker;
pub mod cache;
pub mod client;
pub mod concurrency;
pub mod database;
pub mod degrade;
pub mod dist;
pub mod kernel;
pub mod limiter;
pub mod outbound;
pub mod pool;
pub mod queue;
pub mod request;
pub mod retry;
pub mod service;
pub mod size;
pub mod slab;
pub mod store;

pub use balancer::{Algorithm, Balancer, BalancerConfig, HealthCheck, Outlier};
pub use client::{Arrivals, Class, Client, ClientConfig, ClientStreams, Keys, TraceEvent};
pub use dist::{DistParams, Sampler};
pub use kernel::{answer, Ctx, Msg};
pub use outbound::CallSite;
pub use request::{Outcome, ReqId, Request, Requests};
pub use service::{
    Bound, Fault, FaultKind, FunctionConfig, OnFailure, Provisioning, Rollout, Service,
    ServiceConfig, ServiceStreams, Size, Step, SERIES_WIDTH,
};

use crate::engine::{derive_stream, ActorId, Calendar, Nanos, World};
use crate::metrics::series::{Owner, Series};
use crate::metrics::{named, Histogram, RunMetrics};
use service::SERIES_COLUMNS;

/// The calls an actor makes, if it makes any.
fn outbound(a: &mut Actor) -> Option<&mut outbound::Outbound> {
    match a {
        Actor::Client(c) => Some(&mut c.out),
        Actor::Service(s) => Some(&mut s.out),
        Actor::Balancer(_) | Actor::Cache(_) | Actor::Database(_) | Actor::Broker(_) => None,
    }
}

pub enum Actor {
    Client(Box<Client>),
    Service(Box<Service>),
    Balancer(Box<Balancer>),
    Cache(Box<cache::Cache>),
    Database(Box<database::Database>),
    Broker(Box<broker::Broker>),
}

/// The configuration of one actor, as the model builds it.
#[derive(Clone, Debug)]
// Built once per run: the size difference between variants costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
pub enum ActorConfig {
    Client(ClientConfig),
    Service(ServiceConfig),
    Balancer(BalancerConfig),
    Cache(cache::CacheConfig),
    Database(database::DatabaseConfig),
    Broker(broker::BrokerConfig),
}

/// A built model: the actors of one run, ready to start.
pub struct Network {
    names: Vec<String>,
    actors: Vec<Actor>,
    requests: Requests,
    warmup: Nanos,
    max_in_flight: usize,
    series_bucket: Option<Nanos>,
}

impl Network {
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
            let id = ActorId(i as u32);
            let stream = |purpose: &str| derive_stream(seed, replication, &name, purpose);
            let actor = match cfg {
                ActorConfig::Client(c) => {
                    let streams = ClientStreams {
                        arrivals: stream("arrivals"),
                        think: stream("think"),
                        mix: stream("mix"),
                        retry: stream("retry"),
                    };
                    Actor::Client(Box::new(
                        Client::new(id, c, streams, warmup)
                            .map_err(|e| format!("node `{name}`: {e}"))?,
                    ))
                }
                ActorConfig::Service(s) => {
                    let streams = ServiceStreams {
                        work: stream("service"),
                        faults: stream("faults"),
                        calls: stream("calls"),
                        provision: stream("provision"),
                        degrade: stream("degrade"),
                    };
                    Actor::Service(Box::new(
                        Service::new(id, s, streams, warmup)
                            .map_err(|e| format!("node `{name}`: {e}"))?,
                    ))
                }
                ActorConfig::Balancer(b) => {
                    Actor::Balancer(Box::new(Balancer::new(id, b, stream("balance"), warmup)))
                }
                ActorConfig::Broker(b) => Actor::Broker(Box::new(
                    broker::Broker::new(id, b, stream("publish"), warmup)
                        .map_err(|e| format!("node `{name}`: {e}"))?,
                )),
                ActorConfig::Database(d) => Actor::Database(Box::new(
                    database::Database::new(id, d, stream("replication"))
                        .map_err(|e| format!("node `{name}`: {e}"))?,
                )),
                ActorConfig::Cache(c) => Actor::Cache(Box::new(
                    cache::Cache::new(id, c, stream("cache"))
                        .map_err(|e| format!("node `{name}`: {e}"))?,
                )),
            };
            names.push(name);
            actors.push(actor);
        }
        Ok(Network {
            names,
            actors,
            requests: Requests::default(),
            warmup,
            max_in_flight,
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
            match a {
                Actor::Client(c) => c.start(&mut ctx),
                Actor::Service(s) => s.start(&mut ctx),
                Actor::Balancer(b) => b.start(&mut ctx),
                Actor::Cache(_) | Actor::Database(_) => {}
                Actor::Broker(b) => b.start(&mut ctx),
            }
        }
    }

    /// Records a time series in buckets of `bucket` over a run of `duration`.
    pub fn record_series(&mut self, bucket: Nanos, duration: Nanos) {
        let n = duration.div_ceil(bucket).max(1) as usize;
        self.series_bucket = Some(bucket);
        for a in &mut self.actors {
            match a {
                Actor::Client(c) => {
                    c.record_series(bucket, n);
                    c.out.record_breakers();
                }
                Actor::Service(s) => {
                    s.record_series();
                    s.out.record_breakers();
                }
                Actor::Balancer(_) => {}
                Actor::Cache(c) => c.record_series(bucket, n),
                Actor::Database(_) => {}
                Actor::Broker(b) => b.record_series(),
            }
        }
    }

    /// The time series of a run that ended at `end` (after `record_series`).
    pub fn series(&mut self, end: Nanos) -> Option<Series> {
        let bucket = self.series_bucket?;
        let n = end.div_ceil(bucket).max(1) as usize;
        // Close the last, partial bucket.
        for a in &mut self.actors {
            if let Actor::Service(s) = a {
                if s.series.as_ref().is_some_and(|x| x.rows.len() < n) {
                    s.tick(end);
                }
            }
            if let Some(out) = outbound(a) {
                if out.open_series.as_ref().is_some_and(|x| x.rows.len() < n) {
                    out.tick(end);
                }
            }
            if let Actor::Broker(b) = a {
                if b.series.as_ref().is_some_and(|x| x.2.len() < n) {
                    b.tick(end);
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
        let mut own = |columns: &mut Vec<String>, owner: Owner, metric: &str| {
            columns.push(format!("{}.{metric}", owner.node().unwrap_or("")));
            owners.push(owner);
        };
        for (name, a) in self.names.iter().zip(&self.actors) {
            if let Actor::Service(_) = a {
                for c in SERIES_COLUMNS {
                    own(&mut columns, Owner::Service(name.clone()), c);
                }
            }
        }
        for (name, a) in self.names.iter().zip(&mut self.actors) {
            if outbound(a).is_some_and(|o| o.open_series.is_some()) {
                own(&mut columns, Owner::Caller(name.clone()), "breaker_open");
            }
        }
        for (name, a) in self.names.iter().zip(&self.actors) {
            if let Actor::Cache(c) = a {
                if c.series.is_some() {
                    own(&mut columns, Owner::Cache(name.clone()), "hit_ratio");
                }
            }
            if let Actor::Broker(b) = a {
                if b.series.is_some() {
                    own(&mut columns, Owner::Queue(name.clone()), "depth");
                    own(&mut columns, Owner::Queue(name.clone()), "oldest_age_s");
                }
            }
        }
        let mut rows = Vec::with_capacity(n);
        for i in 0..n {
            let start = i as u64 * bucket;
            let width_s = (end.min(start + bucket) - start) as f64 / 1e9;
            let mut sums = [0u64; 7];
            let mut latency = crate::metrics::series::CoarseHistogram::default();
            for a in &self.actors {
                if let Actor::Client(c) = a {
                    let Some((_, buckets)) = &c.series else {
                        continue;
                    };
                    let b = &buckets[i];
                    for (k, v) in [
                        b.requests,
                        b.succeeded,
                        b.good,
                        b.failed,
                        b.rejected,
                        b.timed_out,
                    ]
                    .into_iter()
                    .enumerate()
                    {
                        sums[k] += v;
                    }
                    latency.merge(&b.latency);
                    if let Some((_, attempts)) = &c.out.series {
                        sums[6] += attempts[i];
                    }
                }
            }
            let mut row: Vec<f64> = sums.iter().map(|v| *v as f64 / width_s).collect();
            row.push(latency.quantile(0.5));
            row.push(latency.quantile(0.99));
            for a in &self.actors {
                if let Actor::Service(s) = a {
                    let r = s.series.as_ref().and_then(|x| x.rows.get(i));
                    row.extend(r.map_or([f64::NAN; SERIES_WIDTH], |r| *r));
                }
            }
            for a in &mut self.actors {
                if let Some(b) = outbound(a).and_then(|o| o.open_series.as_ref()) {
                    row.push(b.rows.get(i).copied().unwrap_or(f64::NAN));
                }
            }
            for a in &self.actors {
                if let Actor::Cache(c) = a {
                    if let Some((_, buckets)) = &c.series {
                        let (hits, reads) = buckets.get(i).copied().unwrap_or((0, 0));
                        row.push(if reads > 0 {
                            hits as f64 / reads as f64
                        } else {
                            f64::NAN
                        });
                    }
                }
                if let Actor::Broker(b) = a {
                    if let Some((_, _, rows)) = &b.series {
                        row.extend(rows.get(i).copied().unwrap_or([f64::NAN; 2]));
                    }
                }
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
        let mut latency = Histogram::new();
        let (mut requests, mut succeeded, mut good, mut failed, mut rejected) = (0, 0, 0, 0, 0);
        let (mut timed_out, mut retries, mut degraded) = (0, 0, 0);
        let mut cost = 0.0;
        let mut nodes = Vec::with_capacity(self.actors.len());
        let mut attempts = 0;
        for (name, a) in self.names.iter().zip(&self.actors) {
            match a {
                Actor::Client(c) => {
                    for s in &c.classes {
                        requests += s.requests;
                        succeeded += s.succeeded;
                        good += s.good;
                        failed += s.failed;
                        rejected += s.rejected;
                        timed_out += s.timed_out;
                        degraded += s.degraded;
                        latency.merge(&s.latency);
                    }
                    retries += c.out.stats.retries;
                    attempts += c.out.stats.attempts;
                    nodes.push((name.clone(), c.node_metrics(window_s, end)));
                }
                Actor::Service(s) => {
                    cost += s.cost(end);
                    nodes.push((name.clone(), s.node_metrics(window_s, end)));
                }
                Actor::Balancer(b) => nodes.push((name.clone(), b.node_metrics(end))),
                Actor::Cache(c) => nodes.push((name.clone(), c.node_metrics())),
                Actor::Database(d) => nodes.push((name.clone(), d.node_metrics())),
                Actor::Broker(b) => nodes.push((name.clone(), b.node_metrics(end))),
            }
        }
        let completed = succeeded + failed + rejected + timed_out + degraded;
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
        match &mut self.actors[target.0 as usize] {
            Actor::Client(c) => c.handle(msg, &mut ctx),
            Actor::Service(s) => s.handle(msg, &mut ctx),
            Actor::Balancer(b) => b.handle(msg, &mut ctx),
            Actor::Cache(c) => c.handle(msg, &mut ctx),
            Actor::Database(d) => d.handle(msg, &mut ctx),
            Actor::Broker(b) => b.handle(msg, &mut ctx),
        }
    }

    fn kind_code(msg: &Msg) -> u32 {
        msg.code()
    }

    fn should_stop(&self) -> bool {
        self.requests.len() > self.max_in_flight
    }

    fn tick(&mut self, at: Nanos) {
        for a in &mut self.actors {
            if let Actor::Service(s) = a {
                s.tick(at);
            }
            if let Some(out) = outbound(a) {
                out.tick(at);
            }
            if let Actor::Broker(b) = a {
                b.tick(at);
            }
        }
    }
}
