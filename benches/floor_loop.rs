//! The hard-coded M/M/1 simulation the engine is measured against (`benches/engine.rs` races
//! it, `benches/floor.rs` counts its instructions): a binary-heap calendar of arrivals and
//! departures, the same generator as scalesim's streams, two events per request. Bare, or
//! keeping by hand the statistics a scalesim run of `benches/mm1.ron` keeps per request (the
//! client's and the service's levels, histograms, moments, sums and counts, and the time
//! series' per-bucket counts and latency histogram), with no actor, message or request
//! record around them.

use rand::Rng;
use rand_distr::{Distribution, Exp1};
use scalesim::engine::{derive_stream, Stream};
use scalesim::metrics::series::{BucketIndex, CoarseHistogram};
use scalesim::metrics::{Histogram, Moments, TimeWeighted};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Arrival,
    Departure,
}

/// Per request, what a run of `benches/mm1.ron` records (see `Client::finished`,
/// `ServiceStats::{arrival, started, completed}`, `Service::occupancy`).
struct Stats {
    // The client.
    in_flight: TimeWeighted,
    requests: u64,
    attempts: u64,
    succeeded: u64,
    good: u64,
    latency: Histogram,
    response_sum: u128,
    responses: u64,
    series: BucketIndex,
    buckets: Vec<(u64, u64, CoarseHistogram)>,
    // The service.
    arrivals: u64,
    arrivals_total: u64,
    gaps: Moments,
    last_arrival: u64,
    wait: Histogram,
    wait_sum: u128,
    waits: u64,
    service: Moments,
    sojourn_sum: u128,
    sojourns: u64,
    completions: u64,
    busy: TimeWeighted,
    queued: TimeWeighted,
    in_system: TimeWeighted,
    level_time: [u128; 8],
    since: u64,
    level: usize,
}

impl Stats {
    fn new() -> Self {
        Stats {
            in_flight: TimeWeighted::new(0),
            requests: 0,
            attempts: 0,
            succeeded: 0,
            good: 0,
            latency: Histogram::new(),
            response_sum: 0,
            responses: 0,
            series: BucketIndex::new(1_000_000_000, 2_000),
            buckets: (0..2_000)
                .map(|_| (0, 0, CoarseHistogram::default()))
                .collect(),
            arrivals: 0,
            arrivals_total: 0,
            gaps: Moments::default(),
            last_arrival: 0,
            wait: Histogram::new(),
            wait_sum: 0,
            waits: 0,
            service: Moments::default(),
            sojourn_sum: 0,
            sojourns: 0,
            completions: 0,
            busy: TimeWeighted::new(0),
            queued: TimeWeighted::new(0),
            in_system: TimeWeighted::new(0),
            level_time: [0; 8],
            since: 0,
            level: 0,
        }
    }

    #[inline]
    fn occupancy(&mut self, now: u64, delta: i64) {
        self.in_system.add(now, delta);
        self.level_time[self.level.min(7)] += (now - self.since) as u128;
        self.since = now;
        self.level = (self.level as i64 + delta) as usize;
    }

    #[inline]
    fn arrival(&mut self, now: u64) {
        self.in_flight.add(now, 1);
        self.requests += 1;
        self.attempts += 1;
        let b = self.series.at(now);
        self.buckets[b].0 += 1;
        self.arrivals_total += 1;
        self.arrivals += 1;
        self.gaps.add(now - self.last_arrival);
        self.last_arrival = now;
        self.occupancy(now, 1);
    }

    #[inline]
    fn started(&mut self, now: u64, arrived: u64) {
        let wait = now - arrived;
        self.wait_sum += wait as u128;
        self.waits += 1;
        self.wait.record(wait);
        self.busy.add(now, 1);
    }

    #[inline]
    fn completed(&mut self, now: u64, arrived: u64, started: u64) {
        self.sojourn_sum += (now - arrived) as u128;
        self.sojourns += 1;
        self.service.add(now - started);
        self.completions += 1;
        self.occupancy(now, -1);
        self.busy.add(now, -1);
        // The client's answer.
        let latency = now - arrived;
        self.in_flight.add(now, -1);
        let b = self.series.at(now);
        let bucket = &mut self.buckets[b];
        bucket.1 += 1;
        bucket.2.record(latency);
        self.succeeded += 1;
        self.good += 1;
        self.latency.record(latency);
        self.response_sum += latency as u128;
        self.responses += 1;
    }
}

/// Simulates until `requests` have been served; returns (requests served, events handled).
#[inline(never)]
pub fn simulate(requests: u64, keep_stats: bool) -> (u64, u64) {
    let mut rng = derive_stream(1, 0, "baseline", "all");
    let (lambda, mu) = (800.0f64, 1000.0f64);
    let exp = |rng: &mut Stream, rate: f64| {
        let e: f64 = Exp1.sample(rng);
        (e / rate * 1e9 + 0.5) as u64
    };
    let mut heap: BinaryHeap<Reverse<(u64, u64, Kind)>> = BinaryHeap::new();
    let mut seq = 0u64;
    // Arrival times of the requests waiting, and of the one in service (with its start).
    let mut queue: VecDeque<u64> = VecDeque::new();
    let mut serving: Option<(u64, u64)> = None;
    let mut stats = Stats::new();
    let (mut served, mut events) = (0, 0);
    heap.push(Reverse((exp(&mut rng, lambda), seq, Kind::Arrival)));
    while served < requests {
        let Some(Reverse((now, _, kind))) = heap.pop() else {
            break;
        };
        events += 1;
        match kind {
            Kind::Arrival => {
                seq += 1;
                heap.push(Reverse((now + exp(&mut rng, lambda), seq, Kind::Arrival)));
                if keep_stats {
                    stats.arrival(now);
                }
                if serving.is_some() {
                    queue.push_back(now);
                    if keep_stats {
                        stats.queued.add(now, 1);
                    }
                } else {
                    serving = Some((now, now));
                    if keep_stats {
                        stats.started(now, now);
                    }
                    seq += 1;
                    heap.push(Reverse((now + exp(&mut rng, mu), seq, Kind::Departure)));
                }
            }
            Kind::Departure => {
                served += 1;
                let (arrived, started) = serving.take().expect("a request in service");
                if keep_stats {
                    stats.completed(now, arrived, started);
                }
                if let Some(next) = queue.pop_front() {
                    serving = Some((next, now));
                    if keep_stats {
                        stats.queued.add(now, -1);
                        stats.started(now, next);
                    }
                    seq += 1;
                    heap.push(Reverse((now + exp(&mut rng, mu), seq, Kind::Departure)));
                }
            }
        }
    }
    // Keeps the statistics (and the stream) from being optimized away.
    std::hint::black_box((&stats, rng.random::<u8>()));
    (served, events)
}
