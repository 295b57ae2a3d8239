//! A database with a primary and asynchronous read replicas, as a router in front of two
//! nodes: writes go to the primary, reads to the replicas (a service with several replicas,
//! or a balancer over them), and reads of a key written within `read_your_writes` to the
//! primary (Rails' time pinning, with the request key standing for the session).
//!
//! Replication (SEMANTICS.md §A8): the replicas apply the primary's committed writes in
//! order, each `lag` (drawn per write) after it committed, never overtaking an earlier one.
//! A read a replica answers before the last write to its key is applied there is stale, if
//! that write had committed when the read was sent.

use super::dist::Sampler;
use super::kernel::{answer, Ctx, Msg};
use super::request::{Outcome, ReqId};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream};
use super::keymap::KeyMap;

#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    pub primary: ActorId,
    /// Where reads go; the primary if there are no replicas.
    pub replicas: Option<ActorId>,
    pub lag: super::DistParams,
    /// Reads of a key written this recently go to the primary.
    pub read_your_writes: Option<Nanos>,
    /// Per global class: a write.
    pub write_class: Vec<bool>,
}

enum Pending {
    Read {
        parent: ReqId,
        on_replica: bool,
        counted: bool,
    },
    Write {
        parent: ReqId,
    },
}

#[derive(Default)]
pub struct DatabaseStats {
    pub reads: u64,
    pub writes: u64,
    pub replica_reads: u64,
    pub pinned_reads: u64,
    /// Reads the replicas answered successfully, and how many of those were stale.
    pub replica_answers: u64,
    pub stale_reads: u64,
}

/// What the database knows of a key: when its last write committed on the primary, and
/// when the replicas will have applied it.
#[derive(Clone, Copy)]
struct Written {
    committed: Nanos,
    visible: Nanos,
}

pub struct Database {
    pub id: ActorId,
    cfg: DatabaseConfig,
    lag: Sampler,
    rng: Stream,
    pending: Slab<Pending>,
    written: KeyMap<Written>,
    /// When the replicas will have applied every write committed so far (replication is
    /// in commit order).
    applied: Nanos,
    pub stats: DatabaseStats,
}

impl Database {
    pub fn new(id: ActorId, cfg: DatabaseConfig, rng: Stream) -> Result<Self, String> {
        Ok(Database {
            id,
            lag: Sampler::new(&cfg.lag)?,
            rng,
            pending: Slab::default(),
            written: KeyMap::default(),
            applied: 0,
            stats: DatabaseStats::default(),
            cfg,
        })
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(parent) => self.arrive(parent, ctx),
            Msg::Reply(child) => self.answered(child, ctx),
            _ => unreachable!("a database router gets calls and replies"),
        }
    }

    fn arrive(&mut self, parent: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let p = *ctx
            .requests
            .get(parent)
            .expect("a call for a freed request");
        let counted = now >= ctx.warmup;
        let write = self
            .cfg
            .write_class
            .get(p.class as usize)
            .copied()
            .unwrap_or(false);
        let (target, what) = if write {
            if counted {
                self.stats.writes += 1;
            }
            (self.cfg.primary, Pending::Write { parent })
        } else {
            let pinned = self.cfg.read_your_writes.is_some_and(|w| {
                self.written
                    .get(&p.key)
                    .is_some_and(|k| now < k.committed.saturating_add(w))
            });
            let replica = self.cfg.replicas.filter(|_| !pinned);
            if counted {
                self.stats.reads += 1;
                self.stats.pinned_reads += (pinned && self.cfg.replicas.is_some()) as u64;
                self.stats.replica_reads += replica.is_some() as u64;
            }
            (
                replica.unwrap_or(self.cfg.primary),
                Pending::Read {
                    parent,
                    on_replica: replica.is_some(),
                    counted,
                },
            )
        };
        let pid = self.pending.insert(what);
        let mut child = p.on_behalf(self.id, pid.to_token());
        child.sent = now;
        let cid = ctx.requests.insert(child);
        ctx.cal.at(now, target, Msg::Call(cid));
    }

    fn answered(&mut self, child: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = ctx
            .requests
            .remove(child)
            .expect("a reply frees its request");
        let ok = matches!(c.outcome, Outcome::Ok | Outcome::Degraded);
        let parent = match self
            .pending
            .remove(Id::from_token(c.token))
            .expect("a reply to a pending call")
        {
            Pending::Write { parent } => {
                if ok {
                    // Committed now; the replicas apply it after its lag, in order.
                    let lag = self.lag.sample(&mut self.rng, 1.0);
                    self.applied = self.applied.max(now.saturating_add(lag));
                    self.written.insert(
                        c.key,
                        Written {
                            committed: now,
                            visible: self.applied,
                        },
                    );
                }
                parent
            }
            Pending::Read {
                parent,
                on_replica,
                counted,
            } => {
                // Stale: the key's last write had committed before the read was sent, and
                // the replica answered before applying it. (A write still in flight when
                // the read was sent may or may not be seen: either is consistent.)
                let stale = on_replica
                    && ok
                    && self
                        .written
                        .get(&c.key)
                        .is_some_and(|w| w.committed <= c.sent && now < w.visible);
                if counted && on_replica && ok {
                    self.stats.replica_answers += 1;
                    self.stats.stale_reads += stale as u64;
                }
                parent
            }
        };
        answer(ctx, parent, c.outcome, now);
    }

    pub fn node_metrics(&self) -> Vec<(String, f64)> {
        let s = &self.stats;
        let frac = |a: u64, b: u64| {
            if b > 0 {
                a as f64 / b as f64
            } else {
                f64::NAN
            }
        };
        vec![
            ("reads".to_string(), s.reads as f64),
            ("writes".into(), s.writes as f64),
            ("replica_reads".into(), s.replica_reads as f64),
            ("pinned_reads".into(), s.pinned_reads as f64),
            ("stale_reads".into(), s.stale_reads as f64),
            (
                "stale_fraction".into(),
                frac(s.stale_reads, s.replica_answers),
            ),
        ]
    }
}

impl super::node::NodeActor for Database {
    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Database::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, _end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics()
    }
}

impl super::node::Build for Database {
    type Config = DatabaseConfig;

    fn new(
        id: ActorId,
        cfg: DatabaseConfig,
        s: &super::node::Streams,
        _warmup: Nanos,
    ) -> Result<Self, String> {
        Database::new(id, cfg, s.get("replication"))
    }

    fn waits_on(cfg: &DatabaseConfig) -> Vec<ActorId> {
        std::iter::once(cfg.primary).chain(cfg.replicas).collect()
    }
}
