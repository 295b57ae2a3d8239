//! A database with a primary and asynchronous read replicas, as a router in front of two
//! nodes: writes go to the primary, reads to the replicas (a service with several replicas,
//! or a balancer over them), and reads of a key written within `read_your_writes` to the
//! primary (Rails' time pinning, with the request key standing for the session).
//!
//! Replication (SEMANTICS.md §A8): the replicas apply the primary's committed writes in
//! order, each `lag` (drawn per write) after it committed, never overtaking an earlier one.
//! A read a replica answers before the last write to its key is applied there is stale, if
//! that write had committed when the read was sent.
//!
//! Losing the primary (a `Crash` of the database): writes, and calls in flight to it, fail
//! until it comes back or, with `failover`, until a replica is promoted (RDS Multi-AZ and
//! Aurora promote a replica in tens of seconds). Promotion loses the writes the replicas
//! had not applied when the primary was lost (the recovery point); the promoted node then
//! takes reads and writes, with no replica left to lag behind it.

use super::dist::Sampler;
use super::kernel::{answer, Ctx, Msg};
use super::outage::{Outage, OutageKind, Outages};
use super::request::{Outcome, ReqId};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::ratio;
use super::keymap::KeyMap;
use std::collections::VecDeque;

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
    /// Time to promote a replica once the primary is lost; none: wait for the primary.
    pub failover: Option<Nanos>,
    /// Losses of the primary (crash windows).
    pub faults: Vec<Outage>,
}

enum Pending {
    Read {
        parent: ReqId,
        on_replica: bool,
        counted: bool,
    },
    Write {
        parent: ReqId,
        counted: bool,
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
    /// Writes refused or cut off while the primary was lost.
    pub failed_writes: u64,
    /// Committed writes the promoted replica never had.
    pub lost_writes: u64,
    /// The longest span of committed writes a failover lost (loss − oldest lost commit).
    pub rpo: Nanos,
    pub failovers: u64,
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
    /// When the replicas apply each write not yet applied, in commit order (what a
    /// promotion would lose).
    /// Committed writes not yet applied by the replicas: (when applied, when committed).
    unapplied: VecDeque<(Nanos, Nanos)>,
    outages: Outages,
    /// The primary was lost at this time and no replica is promoted yet.
    lost_at: Option<Nanos>,
    /// When the pending promotion is due (an earlier loss's promotion, the primary having
    /// come back since, finds another time here and does nothing).
    promote_at: Option<Nanos>,
    /// Calls to the primary sent before this were cut off by its loss.
    cut_before: Nanos,
    /// A replica took over: writes go to the replicas' node, which no longer lags.
    promoted: bool,
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
            unapplied: VecDeque::new(),
            outages: Outages::new(cfg.faults.clone()),
            lost_at: None,
            promote_at: None,
            cut_before: 0,
            promoted: false,
            stats: DatabaseStats::default(),
            cfg,
        })
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(parent) => self.arrive(parent, ctx),
            Msg::Reply(child) => self.answered(child, ctx),
            Msg::Fault { fault, begins } => self.fault(fault as usize, begins, ctx),
            Msg::Wake => self.promote(ctx),
            _ => unreachable!("a database router gets calls, replies, faults and promotions"),
        }
    }

    /// Where writes go now, if anywhere.
    fn writer(&self) -> Option<ActorId> {
        if self.promoted {
            self.cfg.replicas
        } else if self.lost_at.is_some() {
            None
        } else {
            Some(self.cfg.primary)
        }
    }

    /// The primary is lost (a crash begins) or back (it ends, before any promotion).
    fn fault(&mut self, i: usize, begins: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let (kind, was_down) = self.outages.set(i, begins);
        debug_assert_eq!(kind, OutageKind::Crash, "only crashes are attached");
        if self.promoted {
            return; // the old primary rejoins as a replica; nothing changes for callers
        }
        if begins && !was_down {
            self.lost_at = Some(now);
            self.cut_before = now;
            if let Some(delay) = self.cfg.failover {
                let due = now.saturating_add(delay);
                self.promote_at = Some(due);
                ctx.cal.at(due, self.id, Msg::Wake);
            }
        } else if !self.outages.down() {
            self.lost_at = None;
            self.promote_at = None;
        }
    }

    /// The failover delay is over: a replica becomes the primary, without the writes it had
    /// not applied when the primary was lost.
    fn promote(&mut self, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let Some(lost) = self.lost_at.filter(|_| self.promote_at == Some(now)) else {
            return; // the primary came back first (and may have been lost again since)
        };
        let lost_writes = self.unapplied.iter().filter(|v| v.0 > lost).count() as u64;
        // The recovery point: the oldest lost write's commit, before the loss.
        let oldest = self.unapplied.iter().find(|v| v.0 > lost).map(|v| v.1);
        if now >= ctx.warmup {
            self.stats.lost_writes += lost_writes;
            self.stats.failovers += 1;
            let window = oldest.map_or(0, |c| lost - c);
            self.stats.rpo = self.stats.rpo.max(window);
        }
        self.unapplied.clear();
        self.promoted = true;
        self.lost_at = None;
        self.promote_at = None;
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
            let Some(writer) = self.writer() else {
                // No primary to take it: refused at once.
                if counted {
                    self.stats.failed_writes += 1;
                }
                answer(ctx, parent, Outcome::Error, now);
                return;
            };
            (writer, Pending::Write { parent, counted })
        } else {
            let pinned = self.writer().is_some()
                && !self.promoted
                && self.cfg.read_your_writes.is_some_and(|w| {
                    self.written
                        .get(&p.key)
                        .is_some_and(|k| now < k.committed.saturating_add(w))
                });
            let replica = self.cfg.replicas.filter(|_| !pinned);
            if replica.is_none() && self.writer().is_none() {
                // Only the lost primary could answer it.
                answer(ctx, parent, Outcome::Error, now);
                return;
            }
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
        ctx.call_for(parent, self.id, pid.to_token(), target);
    }

    fn answered(&mut self, child: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = ctx
            .requests
            .remove(child)
            .expect("a reply frees its request");
        let mut outcome = c.outcome;
        let pending = self
            .pending
            .remove(Id::from_token(c.token))
            .expect("a reply to a pending call");
        // A call to the primary sent before it was lost never completed.
        let on_primary = !matches!(pending, Pending::Read { on_replica: true, .. });
        if on_primary && c.sent < self.cut_before {
            outcome = Outcome::Error;
        }
        let ok = matches!(outcome, Outcome::Ok | Outcome::Degraded);
        let parent = match pending {
            Pending::Write { parent, counted } => {
                if ok && self.promoted {
                    // The promoted primary has no replica behind it.
                    self.written.insert(
                        c.key,
                        Written {
                            committed: now,
                            visible: now,
                        },
                    );
                } else if ok {
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
                    if !self.cfg.faults.is_empty() {
                        while self.unapplied.front().is_some_and(|v| v.0 <= now) {
                            self.unapplied.pop_front();
                        }
                        self.unapplied.push_back((self.applied, now));
                    }
                } else if counted && outcome != c.outcome {
                    self.stats.failed_writes += 1;
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
                    && !self.promoted
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
        answer(ctx, parent, outcome, now);
    }

    pub fn node_metrics(&self) -> Vec<(String, f64)> {
        let s = &self.stats;
        vec![
            ("reads".to_string(), s.reads as f64),
            ("writes".into(), s.writes as f64),
            ("replica_reads".into(), s.replica_reads as f64),
            ("pinned_reads".into(), s.pinned_reads as f64),
            ("stale_reads".into(), s.stale_reads as f64),
            (
                "stale_fraction".into(),
                ratio(s.stale_reads, s.replica_answers),
            ),
        ]
        .into_iter()
        .chain((!self.cfg.faults.is_empty()).then(|| {
            [
                ("failed_writes".to_string(), s.failed_writes as f64),
                ("lost_writes".into(), s.lost_writes as f64),
                ("rpo_s".into(), s.rpo as f64 / 1e9),
                ("failovers".into(), s.failovers as f64),
            ]
        }).into_iter().flatten())
        .collect()
    }
}

impl super::node::NodeActor for Database {
    fn start(&mut self, ctx: &mut Ctx) {
        self.outages.start(self.id, ctx);
    }

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
