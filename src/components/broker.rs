//! A message queue between producers and a consumer node: producers' calls are answered as
//! soon as the message is stored; the queue delivers messages to the consumer, at most
//! `concurrency` at once, and deletes each when the consumer answers it successfully (the
//! acknowledgement).
//!
//! SQS semantics for failures: a delivery not acknowledged within the visibility timeout
//! (no answer, or a failed one) makes its message visible again, to be delivered anew —
//! while a slow first delivery may still be running, so work can be done twice. After
//! `max_deliveries` the message goes to the dead-letter queue instead.
//!
//! Kafka semantics with `partitions`: a message's key picks its partition; each partition
//! delivers in order, one message at a time, so at most `partitions` are in flight.
//!
//! Load shifting: with delivery `windows`, messages wait for a window to be delivered;
//! with a `deadline`, those acknowledged later than that after publishing count as late.
//!
//! Faults: while the queue is down it refuses publishes and delivers nothing, and
//! acknowledgements sent to it are lost (the messages come back at their visibility
//! timeout); stored messages survive, as SQS and Kafka keep them on replicated disks.
//! `Errors` fail publishes; a `Slowdown` makes storing a message slower.

use super::dist::Sampler;
use super::kernel::{answer, Ctx, Msg};
use super::outage::{Outage, Outages};
use super::request::{Outcome, ReqId, Request};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::{ratio, Histogram, TimeWeighted};
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct BrokerConfig {
    pub consumer: ActorId,
    pub concurrency: Option<u32>,
    pub partitions: Option<u32>,
    pub visibility_timeout: Nanos,
    pub max_deliveries: Option<u32>,
    /// Time to store a message before the producer's answer.
    pub publish: Option<super::DistParams>,
    /// Deliveries only within these [from, until) windows; always if empty.
    pub windows: Vec<(Nanos, Nanos)>,
    pub deadline: Option<Nanos>,
    pub faults: Vec<Outage>,
}

struct Message {
    key: u64,
    class: u16,
    published: Nanos,
    deliveries: u32,
    /// Acknowledged (a late acknowledgement of an earlier delivery can come after a
    /// redelivery was sent).
    done: bool,
    /// In a partition's queue of visible messages.
    visible: bool,
}

struct Delivery {
    msg: Id,
    partition: u32,
    /// The consumer failed it; it becomes visible again at the visibility timeout.
    failed: bool,
    /// Its visibility timeout passed: the message was made visible again.
    expired: bool,
}

#[derive(Default)]
pub struct BrokerStats {
    pub published: u64,
    pub deliveries: u64,
    pub acked: u64,
    pub redeliveries: u64,
    pub dead_letters: u64,
    /// Acknowledgements of deliveries whose visibility had already expired.
    pub late_acks: u64,
    pub on_time: u64,
    /// Publishes refused (down) or failed (errors).
    pub refused: u64,
    /// Acknowledgements that reached a queue that was down.
    pub lost_acks: u64,
}

pub struct Broker {
    pub id: ActorId,
    cfg: BrokerConfig,
    publish: Option<Sampler>,
    rng: Stream,
    messages: Slab<Message>,
    /// Visible messages, per partition (one without partitions).
    ready: Vec<VecDeque<Id>>,
    /// Partitions with a delivery in flight.
    busy: Vec<bool>,
    next_partition: usize,
    deliveries: Slab<Delivery>,
    in_flight: u32,
    /// Messages stored (visible or in flight).
    pub depth: TimeWeighted,
    pub delay: Histogram,
    pub stats: BrokerStats,
    warmup: Nanos,
    outages: Outages,
    /// Per time bucket, when recording: (last tick, rows of [depth, oldest age s]).
    pub series: Option<(Nanos, i128, Vec<[f64; 2]>)>,
}

impl Broker {
    pub fn new(id: ActorId, cfg: BrokerConfig, rng: Stream, warmup: Nanos) -> Result<Self, String> {
        let parts = cfg.partitions.unwrap_or(1).max(1) as usize;
        Ok(Broker {
            id,
            publish: cfg.publish.as_ref().map(Sampler::new).transpose()?,
            rng,
            messages: Slab::default(),
            ready: vec![VecDeque::new(); parts],
            busy: vec![false; parts],
            next_partition: 0,
            deliveries: Slab::default(),
            in_flight: 0,
            depth: TimeWeighted::new(warmup),
            delay: Histogram::new(),
            stats: BrokerStats::default(),
            warmup,
            outages: Outages::new(cfg.faults.clone()),
            series: None,
            cfg,
        })
    }

    pub fn start(&mut self, ctx: &mut Ctx) {
        self.outages.start(self.id, ctx);
        for (from, until) in &self.cfg.windows {
            ctx.cal.at(*from, self.id, Msg::Wake);
            ctx.cal.at(*until, self.id, Msg::Wake);
        }
    }

    pub fn record_series(&mut self) {
        self.series = Some((0, 0, Vec::new()));
    }

    /// Closes the time bucket that ends at `at`.
    pub fn tick(&mut self, at: Nanos) {
        let area = self.depth.total_area(at);
        let oldest = self
            .ready
            .iter()
            .filter_map(|q| q.front())
            .filter_map(|m| self.messages.get(*m))
            .map(|m| m.published)
            .min();
        let Some((last_at, last_area, rows)) = &mut self.series else {
            return;
        };
        if at > *last_at {
            let width = (at - *last_at) as f64;
            let age = oldest.map_or(0.0, |p| at.saturating_sub(p) as f64 / 1e9);
            rows.push([(area - *last_area) as f64 / width, age]);
        }
        *last_at = at;
        *last_area = area;
    }

    fn open(&self, now: Nanos) -> bool {
        self.cfg.windows.is_empty()
            || self
                .cfg
                .windows
                .iter()
                .any(|(from, until)| *from <= now && now < *until)
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(id) => self.publish(id, ctx),
            Msg::Reply(child) => self.answered(child, ctx),
            Msg::Visibility(token) => self.visibility(Id::from_token(token), ctx),
            Msg::Wake => self.pump(ctx),
            Msg::Fault { fault, begins } => {
                self.outages.set(fault as usize, begins);
                self.pump(ctx);
            }
            _ => unreachable!("a queue gets messages, replies and its timers"),
        }
    }

    fn publish(&mut self, id: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let r = *ctx.requests.get(id).expect("a call for a freed request");
        if self.outages.fails(&mut self.rng) {
            if now >= ctx.warmup {
                self.stats.refused += 1;
            }
            answer(ctx, id, Outcome::Error, now);
            return;
        }
        if now >= ctx.warmup {
            self.stats.published += 1;
        }
        let m = self.messages.insert(Message {
            key: r.key,
            class: r.class,
            published: now,
            deliveries: 0,
            done: false,
            visible: true,
        });
        self.depth.add(now, 1);
        let p = self.partition(r.key);
        self.ready[p].push_back(m);
        // Stored: the producer goes on.
        let store = match &self.publish {
            // A slowdown of f is a speed of 1/f.
            Some(s) => s.sample(&mut self.rng, 1.0 / self.outages.factor()),
            None => 0,
        };
        answer(ctx, id, Outcome::Ok, now.saturating_add(store));
        self.pump(ctx);
    }

    fn partition(&self, key: u64) -> usize {
        match self.cfg.partitions {
            // Mixed first, so keys spread whatever their values.
            Some(n) => {
                (super::balancer::mix(key.wrapping_add(0x9E37_79B9_7F4A_7C15)) % n as u64) as usize
            }
            None => 0,
        }
    }

    /// Delivers visible messages while there is room.
    fn pump(&mut self, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        if !self.open(now) || self.outages.down() {
            return;
        }
        let ordered = self.cfg.partitions.is_some();
        let parts = self.ready.len();
        while self.cfg.concurrency.is_none_or(|c| self.in_flight < c) {
            // The next partition in turn with a visible message and nothing in flight.
            let Some(p) = (0..parts)
                .map(|i| (self.next_partition + i) % parts)
                .find(|&p| !self.ready[p].is_empty() && (!ordered || !self.busy[p]))
            else {
                return;
            };
            self.next_partition = (p + 1) % parts;
            let m = self.ready[p].pop_front().expect("non-empty");
            let msg = self
                .messages
                .get_mut(m)
                .expect("a visible message is stored");
            msg.visible = false;
            if msg.done {
                // A late acknowledgement finished it while it waited for redelivery.
                self.messages.remove(m);
                self.depth.add(now, -1);
                continue;
            }
            msg.deliveries += 1;
            let (key, class, published) = (msg.key, msg.class, msg.published);
            if ordered {
                self.busy[p] = true;
            }
            self.in_flight += 1;
            if published >= self.warmup {
                self.stats.deliveries += 1;
            }
            let d = self.deliveries.insert(Delivery {
                msg: m,
                partition: p as u32,
                failed: false,
                expired: false,
            });
            let mut child = Request::new(published, self.id, d.to_token());
            child.class = class;
            child.key = key;
            child.sent = now;
            let cid = ctx.requests.insert(child);
            ctx.cal.at(now, self.cfg.consumer, Msg::Call(cid));
            ctx.cal.at(
                now.saturating_add(self.cfg.visibility_timeout),
                self.id,
                Msg::Visibility(d.to_token()),
            );
        }
    }

    /// A delivery no longer counts as in flight (answered or expired).
    fn settle(&mut self, partition: u32) {
        self.in_flight -= 1;
        if self.cfg.partitions.is_some() {
            self.busy[partition as usize] = false;
        }
    }

    fn answered(&mut self, child: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = ctx
            .requests
            .remove(child)
            .expect("a reply frees its request");
        let did = Id::from_token(c.token);
        let d = self.deliveries.get_mut(did).expect("a delivery in flight");
        let mut ok = matches!(c.outcome, Outcome::Ok | Outcome::Degraded);
        if ok && self.outages.down() {
            // Nobody took the acknowledgement: the delivery counts as failed.
            ok = false;
            if c.born >= self.warmup {
                self.stats.lost_acks += 1;
            }
        }
        let (msg, partition, expired) = (d.msg, d.partition, d.expired);
        if expired {
            // Too late: the message was already made visible again.
            self.deliveries.remove(did);
            if ok && self.ack(msg, now) && c.born >= self.warmup {
                self.stats.late_acks += 1;
            }
            return;
        }
        if !ok {
            // Not deleted: visible again when its visibility timeout passes.
            d.failed = true;
            return;
        }
        self.deliveries.remove(did);
        self.settle(partition);
        let _ = self.ack(msg, now);
        self.pump(ctx);
    }

    /// The message is done: deleted, its delay recorded (once, however many deliveries).
    /// False if it was done already.
    fn ack(&mut self, m: Id, now: Nanos) -> bool {
        let Some(msg) = self.messages.get_mut(m) else {
            return false; // acknowledged or dead-lettered already
        };
        if msg.done {
            return false;
        }
        msg.done = true;
        let published = msg.published;
        if published >= self.warmup {
            self.stats.acked += 1;
            self.delay.record(now - published);
            if self.cfg.deadline.is_some_and(|d| now - published <= d) {
                self.stats.on_time += 1;
            }
        }
        // A message waiting for a redelivery leaves the queue when its turn comes.
        if !msg.visible {
            self.messages.remove(m);
            self.depth.add(now, -1);
        }
        true
    }

    fn visibility(&mut self, did: Id, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let Some(d) = self.deliveries.get_mut(did) else {
            return; // acknowledged in time
        };
        if d.expired {
            return;
        }
        let (msg, partition, failed) = (d.msg, d.partition, d.failed);
        if failed {
            self.deliveries.remove(did);
        } else {
            // Still running: the answer may come later, but the message is visible again.
            d.expired = true;
        }
        self.settle(partition);
        // Another delivery of it may have been acknowledged meanwhile.
        let Some(m) = self.messages.get_mut(msg).filter(|m| !m.done) else {
            self.pump(ctx);
            return;
        };
        let counted = m.published >= self.warmup;
        if self
            .cfg
            .max_deliveries
            .is_some_and(|max| m.deliveries >= max)
        {
            if counted {
                self.stats.dead_letters += 1;
            }
            self.messages.remove(msg);
            self.depth.add(now, -1);
        } else {
            m.visible = true;
            if counted {
                self.stats.redeliveries += 1;
            }
            self.ready[partition as usize].push_front(msg);
        }
        self.pump(ctx);
    }

    pub fn node_metrics(&self, end: Nanos) -> Vec<(String, f64)> {
        let s = &self.stats;
        let secs = |v: Option<f64>| v.map_or(f64::NAN, |x| x / 1e9);
        let mut m = vec![
            ("published", s.published as f64),
            ("deliveries", s.deliveries as f64),
            ("acked", s.acked as f64),
            ("redeliveries", s.redeliveries as f64),
            ("dead_letters", s.dead_letters as f64),
            ("late_acks", s.late_acks as f64),
            ("depth_mean", self.depth.mean(end).unwrap_or(f64::NAN)),
            ("delay_mean_s", secs(self.delay.mean())),
            ("delay_p99_s", secs(self.delay.quantile(0.99))),
        ];
        if !self.cfg.faults.is_empty() {
            m.push(("refused", s.refused as f64));
            m.push(("lost_acks", s.lost_acks as f64));
        }
        if self.cfg.deadline.is_some() {
            m.push(("on_time_fraction", ratio(s.on_time, s.acked)));
        }
        m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

impl super::node::NodeActor for Broker {
    fn start(&mut self, ctx: &mut Ctx) {
        Broker::start(self, ctx)
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Broker::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics(end)
    }

    fn record_series(&mut self, _bucket: Nanos, _n: usize) {
        Broker::record_series(self)
    }

    fn tick(&mut self, at: Nanos) {
        Broker::tick(self, at)
    }

    fn close_series(&mut self, end: Nanos, n: usize) {
        if self.series.as_ref().is_some_and(|x| x.2.len() < n) {
            Broker::tick(self, end);
        }
    }

    fn series_columns(
        &self,
        name: &str,
        group: super::node::ColumnGroup,
    ) -> Vec<(crate::metrics::series::Owner, &'static str)> {
        if group != super::node::ColumnGroup::Data || self.series.is_none() {
            return Vec::new();
        }
        let owner = || crate::metrics::series::Owner::node_in("queue", name);
        vec![(owner(), "depth"), (owner(), "oldest_age_s")]
    }

    fn series_row(&self, i: usize, group: super::node::ColumnGroup, row: &mut Vec<f64>) {
        if group != super::node::ColumnGroup::Data {
            return;
        }
        if let Some((_, _, rows)) = &self.series {
            row.extend(rows.get(i).copied().unwrap_or([f64::NAN; 2]));
        }
    }
}

impl super::node::Build for Broker {
    type Config = BrokerConfig;

    fn new(
        id: ActorId,
        cfg: BrokerConfig,
        s: &super::node::Streams,
        warmup: Nanos,
    ) -> Result<Self, String> {
        Broker::new(id, cfg, s.get("publish"), warmup)
    }

    /// A delivery waits on the consumer's answer; the producer waits only for the store.
    fn waits_on(cfg: &BrokerConfig) -> Vec<ActorId> {
        vec![cfg.consumer]
    }

    fn timeline(cfg: &BrokerConfig) -> Vec<(Nanos, Option<Nanos>, String)> {
        cfg.windows
            .iter()
            .map(|&(from, until)| (from, Some(until), "delivery window".to_string()))
            .collect()
    }
}
