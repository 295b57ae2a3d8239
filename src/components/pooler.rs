//! A connection pooler in front of a database (PgBouncer): clients connect to it, cheaply,
//! and it runs their queries on a few server connections it keeps open.
//!
//! Transaction and statement pooling (PgBouncer's `pool_mode = transaction | statement`):
//! a query takes a server connection for its duration; with none free it waits, in
//! arrival order, up to `query_wait_timeout` (120 s), then fails. At most
//! `default_pool_size` (20) server connections, opened on first need: the first query on
//! each pays the database's connection setup, the rest find it open. At most
//! `max_client_conn` (100) clients at once: a query beyond them is refused ("no more
//! connections allowed").
//!
//! Callers connect per query here: a client connection lasts as long as its query, at the
//! pooler (waiting or running).
//!
//! Faults: a `Crash` is the process lost: its clients' queries, waiting or running, fail,
//! its server connections close (reopened, with their setup, when it is back) and queries
//! meanwhile are refused. `Errors` fail that fraction of queries.

use super::kernel::{answer, Ctx, Msg};
use super::outage::{Outage, OutageKind, Outages};
use super::request::{Outcome, ReqId};
use super::slab::{Id, Slab};
use crate::engine::{ActorId, Nanos, Stream, TimerId};
use std::collections::VecDeque;

#[derive(Clone, Debug)]
pub struct PoolerConfig {
    pub target: ActorId,
    /// Server connections (PgBouncer's `default_pool_size`).
    pub pool_size: u32,
    /// Clients at once (`max_client_conn`).
    pub max_clients: u32,
    /// How long a query waits for a server connection; forever if absent.
    pub query_wait_timeout: Option<Nanos>,
    pub faults: Vec<Outage>,
}

#[derive(Default)]
pub struct PoolerStats {
    pub queries: u64,
    /// Queries refused for want of a client slot.
    pub client_refused: u64,
    /// Queries that waited for a server connection, their total wait, and those that gave
    /// up (`query_wait_timeout`).
    pub waited: u64,
    pub wait_sum: u128,
    pub wait_timeouts: u64,
    /// Queries refused or cut off by a crash, or failed by an `Errors` fault.
    pub fault_failed: u64,
}

/// A query waiting for a server connection.
struct Waiting {
    query: ReqId,
    since: Nanos,
    timer: TimerId,
}

pub struct Pooler {
    pub id: ActorId,
    cfg: PoolerConfig,
    clients: u32,
    /// Server connections open and idle, and open in all.
    idle: u32,
    open: u32,
    waiting: VecDeque<Waiting>,
    /// Queries running on a server connection, by the token their server call carries.
    running: Slab<ReqId>,
    outages: Outages,
    rng: Stream,
    pub stats: PoolerStats,
}

impl Pooler {
    pub fn new(id: ActorId, cfg: PoolerConfig, rng: Stream) -> Self {
        Pooler {
            id,
            running: Slab::default(),
            outages: Outages::new(cfg.faults.clone()),
            rng,
            cfg,
            clients: 0,
            idle: 0,
            open: 0,
            waiting: VecDeque::new(),
            stats: PoolerStats::default(),
        }
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(query) => self.query(query, ctx),
            Msg::Reply(server_call) => self.answered(server_call, ctx),
            Msg::Expire(query) => self.wait_timeout(query, ctx),
            Msg::Fault { fault, begins } => self.fault(fault as usize, begins, ctx),
            // Client connections are counted per query here (its `max_client_conn`): kept
            // ones cost PgBouncer next to nothing.
            Msg::Hold { .. } => {}
            _ => unreachable!("a pooler gets queries, their answers, its timers and faults"),
        }
    }

    fn query(&mut self, query: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let counted = now >= ctx.warmup;
        if self.outages.fails(&mut self.rng) {
            self.stats.fault_failed += counted as u64;
            answer(ctx, query, Outcome::Error, now);
            return;
        }
        if self.clients >= self.cfg.max_clients {
            self.stats.client_refused += counted as u64;
            answer(ctx, query, Outcome::Error, now);
            return;
        }
        self.clients += 1;
        self.stats.queries += counted as u64;
        if self.idle > 0 {
            self.idle -= 1;
            self.forward(query, true, ctx);
        } else if self.open < self.cfg.pool_size {
            self.open += 1;
            self.forward(query, false, ctx);
        } else {
            let timer = match self.cfg.query_wait_timeout {
                Some(t) => ctx
                    .cal
                    .timer(now.saturating_add(t), self.id, Msg::Expire(query)),
                None => TimerId::NONE,
            };
            self.waiting.push_back(Waiting {
                query,
                since: now,
                timer,
            });
        }
    }

    /// Runs `query` on a server connection (`kept`: one already open).
    fn forward(&mut self, query: ReqId, kept: bool, ctx: &mut Ctx) {
        let token = self.running.insert(query).to_token();
        let id = ctx.call_for(query, self.id, token, self.cfg.target);
        ctx.requests.get_mut(id).expect("just sent").kept = kept;
    }

    /// The database answered: the client gets the answer, the server connection the next
    /// waiting query.
    fn answered(&mut self, server_call: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = ctx
            .requests
            .remove(server_call)
            .expect("a reply frees its request");
        let Some(query) = self.running.remove(Id::from_token(c.token)) else {
            return; // its query failed with a crash since, and its connection closed
        };
        answer(ctx, query, c.outcome, now);
        self.clients -= 1;
        match self.waiting.pop_front() {
            Some(w) => {
                ctx.cal.cancel(w.timer);
                if ctx.requests.get(w.query).is_some_and(|r| r.born >= ctx.warmup) {
                    self.stats.waited += 1;
                    self.stats.wait_sum += (now - w.since) as u128;
                }
                self.forward(w.query, true, ctx);
            }
            None => self.idle += 1,
        }
    }

    /// A query waited `query_wait_timeout` for a server connection: it fails.
    fn wait_timeout(&mut self, query: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let i = self
            .waiting
            .iter()
            .position(|w| w.query == query)
            .expect("a cancelled timer never fires");
        let w = self.waiting.remove(i).expect("just found");
        if ctx.requests.get(query).is_some_and(|r| r.born >= ctx.warmup) {
            self.stats.wait_timeouts += 1;
            self.stats.waited += 1;
            self.stats.wait_sum += (now - w.since) as u128;
        }
        self.clients -= 1;
        answer(ctx, query, Outcome::Error, now);
    }

    /// A crash begins (the process is lost) or a fault window opens or closes.
    fn fault(&mut self, i: usize, begins: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let (kind, was_down) = self.outages.set(i, begins);
        if !(kind == OutageKind::Crash && begins && !was_down) {
            return;
        }
        // Every client's connection drops with the process, and every server connection:
        // the answers to those still running find no query (`answered`).
        let counted = now >= ctx.warmup;
        for id in self.running.ids() {
            let query = self.running.remove(id).expect("listed");
            self.stats.fault_failed += counted as u64;
            answer(ctx, query, Outcome::Error, now);
        }
        for w in std::mem::take(&mut self.waiting) {
            ctx.cal.cancel(w.timer);
            self.stats.fault_failed += counted as u64;
            answer(ctx, w.query, Outcome::Error, now);
        }
        self.clients = 0;
        self.idle = 0;
        self.open = 0;
    }

    pub fn node_metrics(&self) -> Vec<(String, f64)> {
        let s = &self.stats;
        // Over every query let in, those that found a connection at once included.
        let wait_mean = if s.queries > 0 {
            s.wait_sum as f64 / s.queries as f64 / 1e9
        } else {
            f64::NAN
        };
        vec![
            ("queries".to_string(), s.queries as f64),
            ("clients_refused".into(), s.client_refused as f64),
            ("waited".into(), s.waited as f64),
            ("wait_mean_s".into(), wait_mean),
            ("wait_timeouts".into(), s.wait_timeouts as f64),
            ("server_connections".into(), self.open as f64),
        ]
        .into_iter()
        .chain(
            (!self.cfg.faults.is_empty())
                .then(|| ("fault_failed".to_string(), s.fault_failed as f64)),
        )
        .collect()
    }
}

impl super::node::NodeActor for Pooler {
    fn start(&mut self, ctx: &mut Ctx) {
        self.outages.start(self.id, ctx);
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Pooler::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, _end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics()
    }
}

impl super::node::Build for Pooler {
    type Config = PoolerConfig;

    fn new(
        id: ActorId,
        cfg: PoolerConfig,
        s: &super::node::Streams,
        _warmup: Nanos,
    ) -> Result<Self, String> {
        Ok(Pooler::new(id, cfg, s.get("faults")))
    }

    fn waits_on(cfg: &PoolerConfig) -> Vec<ActorId> {
        vec![cfg.target]
    }
}
