//! A topic with subscriptions: each publish is stored in every subscriber queue, and each
//! queue delivers its copy to its own consumer at its own pace. Kafka's consumer groups (a
//! group reads every message, at its own offset; the consumers within a group share its
//! partitions, which is a queue's `partitions` and its consumer's replicas) and RabbitMQ's
//! fanout exchange (a copy to every bound queue) both behave so.
//!
//! The producer is answered once every queue has stored its copy (RabbitMQ's publisher
//! confirm; Kafka's acknowledgement once the topic has it): with an error if any queue
//! refused, though the others keep their copies.
//!
//! Faults: while the topic is down (`Crash`) it refuses publishes; `Errors` fail that
//! fraction of publishes before any queue sees them.

use super::kernel::{answer, Ctx, Msg};
use super::outage::{Outage, Outages};
use super::request::{Outcome, ReqId};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream};

#[derive(Clone, Debug)]
pub struct TopicConfig {
    /// The queues that each get a copy, one per consumer group.
    pub subscribers: Vec<ActorId>,
    pub faults: Vec<Outage>,
}

/// A publish waiting for its copies to be stored.
struct Publish {
    producer_call: ReqId,
    left: u32,
    failed: bool,
}

#[derive(Default)]
pub struct TopicStats {
    pub published: u64,
    /// Publishes some queue refused (or the topic itself, down or failing).
    pub failed: u64,
}

pub struct Topic {
    pub id: ActorId,
    cfg: TopicConfig,
    pending: Slab<Publish>,
    outages: Outages,
    rng: Stream,
    pub stats: TopicStats,
}

impl Topic {
    pub fn new(id: ActorId, cfg: TopicConfig, rng: Stream) -> Self {
        Topic {
            id,
            pending: Slab::default(),
            outages: Outages::new(cfg.faults.clone()),
            rng,
            stats: TopicStats::default(),
            cfg,
        }
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(call) => self.publish(call, ctx),
            Msg::Reply(copy) => self.stored(copy, ctx),
            Msg::Fault { fault, begins } => {
                self.outages.set(fault as usize, begins);
            }
            _ => unreachable!("a topic gets publishes, its queues' answers and faults"),
        }
    }

    fn publish(&mut self, call: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let counted = now >= ctx.warmup;
        if self.outages.fails(&mut self.rng) {
            self.stats.failed += counted as u64;
            answer(ctx, call, Outcome::Error, now);
            return;
        }
        self.stats.published += counted as u64;
        let token = self
            .pending
            .insert(Publish {
                producer_call: call,
                left: self.cfg.subscribers.len() as u32,
                failed: false,
            })
            .to_token();
        for queue in &self.cfg.subscribers {
            ctx.call_for(call, self.id, token, *queue);
        }
    }

    /// A queue stored its copy (or refused it); the last answer answers the producer.
    fn stored(&mut self, copy: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = ctx.requests.remove(copy).expect("a reply frees its request");
        let id = Id::from_token(c.token);
        let p = self.pending.get_mut(id).expect("a copy of a pending publish");
        p.left -= 1;
        p.failed |= !matches!(c.outcome, Outcome::Ok);
        if p.left > 0 {
            return;
        }
        let p = self.pending.remove(id).expect("just seen");
        if p.failed && c.born >= ctx.warmup {
            self.stats.failed += 1;
        }
        let outcome = if p.failed { Outcome::Error } else { Outcome::Ok };
        answer(ctx, p.producer_call, outcome, now);
    }
}

impl super::node::NodeActor for Topic {
    fn start(&mut self, ctx: &mut Ctx) {
        self.outages.start(self.id, ctx);
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Topic::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, _end: Nanos) -> Vec<(String, f64)> {
        vec![
            ("published".to_string(), self.stats.published as f64),
            ("failed".into(), self.stats.failed as f64),
        ]
    }
}

impl super::node::Build for Topic {
    type Config = TopicConfig;

    fn new(
        id: ActorId,
        cfg: TopicConfig,
        s: &super::node::Streams,
        _warmup: Nanos,
    ) -> Result<Self, String> {
        Ok(Topic::new(id, cfg, s.get("faults")))
    }

    fn waits_on(cfg: &TopicConfig) -> Vec<ActorId> {
        cfg.subscribers.clone()
    }
}
