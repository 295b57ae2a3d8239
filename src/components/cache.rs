//! A cache in front of a backend (a service, a balancer, another cache): reads of cacheable
//! classes are answered from the store on a hit, and on a miss from the backend, which then
//! fills the store. Writes go through to the backend and invalidate or update their key, or
//! are written behind.
//!
//! Cache-aside and read-through differ in who calls the backend on a miss (the application
//! or the cache); the latency and the load on the backend are the same, so one actor models
//! both. Stampede protection: `coalesce` keeps one backend read per key in flight, the other
//! misses wait for it (single flight); `early_refresh` is XFetch (Vattani et al.): a hit
//! refreshes its key in the background when `now − Δ·β·ln(U) ≥ expiry`.
//!
//! Stale reads: a backend read that started before a write of its key completed may carry
//! the old value, and storing it after the write's invalidation leaves a stale entry until
//! it expires or is written again (the race Facebook's memcache leases close). Hits on such
//! entries are counted as stale.

use super::dist::Sampler;
use super::kernel::{answer, Ctx, Msg};
use super::outage::{Outage, OutageKind, Outages};
use super::request::{Outcome, ReqId, Request};
use super::slab::{Id, Slab};
use super::store::{Eviction, Lookup, Store};
use crate::engine::{ActorId, Nanos, Stream};
use crate::metrics::ratio;
use crate::metrics::series::BucketIndex;
use rand::Rng;
use super::keymap::KeyMap;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WritePolicy {
    /// Write to the backend, then drop the key (cache-aside).
    Invalidate,
    /// Write to the backend, then store the new value.
    WriteThrough,
    /// Store at once and answer; write to the backend after `.0`, once per key however
    /// many writes came in between.
    WriteBehind(Nanos),
}

#[derive(Clone, Debug)]
pub struct CacheConfig {
    pub backend: ActorId,
    pub capacity: usize,
    pub eviction: Eviction,
    pub ttl: Option<Nanos>,
    /// Time to look a key up (paid on hits and misses), and to store a write-behind.
    pub lookup: Option<super::DistParams>,
    pub coalesce: bool,
    /// XFetch's β.
    pub early_refresh: Option<f64>,
    pub writes: WritePolicy,
    /// Per global class: cached (reads and writes act on the store), else passed through.
    pub cacheable: Vec<bool>,
    /// Per global class: a write.
    pub write_class: Vec<bool>,
    /// Crashes (contents and unflushed writes lost; calls go to the backend while down),
    /// slowdowns of the lookup, and lookups failing (sent to the backend).
    pub faults: Vec<Outage>,
}

/// A backend call in flight and what to do with its answer.
enum Pending {
    /// A read that missed: fills `key`, then answers the waiters, `first` first (the others
    /// only when coalesced: a miss allocates nothing).
    Fill {
        key: u64,
        first: ReqId,
        more: Vec<ReqId>,
        started: Nanos,
    },
    /// XFetch's early refresh: fills `key`, answers no one.
    Refresh { key: u64, started: Nanos },
    /// A write going through: then invalidate or update `key`, and answer `parent`.
    Write { key: u64, parent: ReqId },
    /// A write-behind of `key` reaching the backend.
    Flush { key: u64, class: u16 },
    /// Not cacheable: answer `parent` with whatever comes back.
    Pass { parent: ReqId },
}

#[derive(Default)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    pub coalesced: u64,
    pub fills: u64,
    pub refreshes: u64,
    pub writes: u64,
    pub flushes: u64,
    /// Flushes the backend failed (the key stays dirty and is flushed again).
    pub flush_failures: u64,
    /// Written-behind keys lost: dirty in a crashed cache, or in a flush that failed after
    /// the crash.
    pub lost_writes: u64,
    /// Calls sent straight to the backend because the cache was down or failed the lookup.
    pub bypassed: u64,
    /// Hits on an entry filled by a read that started before the key's last write completed.
    pub stale_hits: u64,
    /// Most backend reads of one key in flight at once.
    pub fills_max: u32,
}

pub struct Cache {
    pub id: ActorId,
    cfg: CacheConfig,
    store: Store,
    lookup: Option<Sampler>,
    rng: Stream,
    pending: Slab<Pending>,
    /// Reads of a key in flight to the backend (a fill's id when coalescing).
    filling: KeyMap<(u32, Option<Id>)>,
    /// Keys written behind and not yet flushed, with the class to flush them as.
    unflushed: KeyMap<u16>,
    outages: Outages,
    /// Writes go through this cache to its backend: fills can race them.
    races: bool,
    /// When each key's last write through the cache completed at the backend.
    last_write: KeyMap<Nanos>,
    /// Keys whose entry holds a value older than their last write.
    stale: KeyMap<()>,
    /// When the cache last crashed: a backend read sent before cannot fill the new store.
    crashed_at: Option<Nanos>,
    pub stats: CacheStats,
    /// Per time bucket, when recording: (bucket, (hits, reads)).
    pub series: Option<(BucketIndex, Vec<(u64, u64)>)>,
}

impl Cache {
    pub fn new(id: ActorId, cfg: CacheConfig, rng: Stream) -> Result<Self, String> {
        let lookup = cfg.lookup.as_ref().map(Sampler::new).transpose()?;
        Ok(Cache {
            id,
            store: Store::new(cfg.capacity, cfg.eviction),
            lookup,
            rng,
            pending: Slab::default(),
            filling: KeyMap::default(),
            unflushed: KeyMap::default(),
            outages: Outages::new(cfg.faults.clone()),
            races: cfg.write_class.iter().any(|w| *w)
                && !matches!(cfg.writes, WritePolicy::WriteBehind(_)),
            last_write: KeyMap::default(),
            stale: KeyMap::default(),
            crashed_at: None,
            stats: CacheStats::default(),
            series: None,
            cfg,
        })
    }

    pub fn record_series(&mut self, bucket: Nanos, n: usize) {
        self.series = Some((BucketIndex::new(bucket, n), vec![(0, 0); n]));
    }

    fn lookup_time(&mut self) -> Nanos {
        match &self.lookup {
            // A slowdown of f is a speed of 1/f.
            Some(s) => s.sample(&mut self.rng, 1.0 / self.outages.factor()),
            None => 0,
        }
    }

    /// A backend answer to a call sent at `sent` may go into the store: the cache is up and
    /// has not crashed since.
    fn keeps(&self, sent: Nanos) -> bool {
        !self.outages.down() && self.crashed_at.is_none_or(|c| sent >= c)
    }

    /// Fault window `i` opens or closes. A crash loses the store and the keys written
    /// behind but not flushed (an in-memory cache: Redis without persistence, Memcached).
    fn fault(&mut self, i: usize, begins: bool, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let (kind, was_down) = self.outages.set(i, begins);
        if kind == OutageKind::Crash && begins && !was_down {
            if now >= ctx.warmup {
                self.stats.lost_writes += self.unflushed.len() as u64;
            }
            self.unflushed.clear();
            self.stale.clear();
            self.store = Store::new(self.cfg.capacity, self.cfg.eviction);
            self.crashed_at = Some(now);
        }
    }

    /// The cache cannot answer this call: down, or the lookup failed. The application goes
    /// to the backend (cache-aside's fallback), which is the load a cache outage adds.
    fn unavailable(&mut self) -> bool {
        self.outages.fails(&mut self.rng)
    }

    fn expiry(&self, now: Nanos) -> Nanos {
        self.cfg.ttl.map_or(Nanos::MAX, |t| now.saturating_add(t))
    }

    /// Sends a call for `like`'s class and key to the backend at `at`.
    fn send(&mut self, like: &Request, what: Pending, at: Nanos, ctx: &mut Ctx) -> Id {
        let pid = self.pending.insert(what);
        let cid = ctx.requests.insert(like.on_behalf(self.id, pid.to_token()));
        ctx.cal.at(at, self.cfg.backend, Msg::Call(cid));
        pid
    }

    pub fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        match msg {
            Msg::Call(parent) => self.arrive(parent, ctx),
            Msg::Reply(child) => self.answered(child, ctx),
            Msg::Flush(key) => {
                let Some(class) = self.unflushed.remove(&key) else {
                    return;
                };
                let now = ctx.cal.now();
                let mut like = Request::new(now, self.id, 0);
                like.class = class;
                like.key = key;
                if now >= ctx.warmup {
                    self.stats.flushes += 1;
                }
                let _ = self.send(&like, Pending::Flush { key, class }, now, ctx);
            }
            Msg::Fault { fault, begins } => self.fault(fault as usize, begins, ctx),
            _ => unreachable!("a cache gets calls, replies, flushes and faults"),
        }
    }

    fn arrive(&mut self, parent: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let p = *ctx
            .requests
            .get(parent)
            .expect("a call for a freed request");
        let counted = now >= ctx.warmup;
        let class = p.class as usize;
        if !self.cfg.cacheable.get(class).copied().unwrap_or(true) {
            let _ = self.send(&p, Pending::Pass { parent }, now, ctx);
            return;
        }
        if self.unavailable() {
            if counted {
                self.stats.bypassed += 1;
            }
            let _ = self.send(&p, Pending::Pass { parent }, now, ctx);
            return;
        }
        let t = now.saturating_add(self.lookup_time());
        if self.cfg.write_class.get(class).copied().unwrap_or(false) {
            if counted {
                self.stats.writes += 1;
            }
            match self.cfg.writes {
                WritePolicy::WriteBehind(delay) => {
                    let expiry = self.expiry(now);
                    self.store.put(p.key, expiry, 0);
                    if self.unflushed.insert(p.key, p.class).is_none() {
                        ctx.cal.at(now.saturating_add(delay), self.id, Msg::Flush(p.key));
                    }
                    answer(ctx, parent, Outcome::Ok, t);
                }
                _ => {
                    let _ = self.send(&p, Pending::Write { key: p.key, parent }, t, ctx);
                }
            }
            return;
        }
        let found = self.store.get(p.key, now);
        if let Some((index, v)) = &mut self.series {
            let i = index.at(now);
            v[i].0 += matches!(found, Lookup::Hit { .. }) as u64;
            v[i].1 += 1;
        }
        match found {
            Lookup::Hit { expiry, delta } => {
                if counted {
                    self.stats.hits += 1;
                    if self.races && self.stale.contains_key(&p.key) {
                        self.stats.stale_hits += 1;
                    }
                }
                if let Some(beta) = self.cfg.early_refresh {
                    // XFetch: −Δ·β·ln(U) is exponential with mean Δ·β.
                    let u: f64 = 1.0 - self.rng.random::<f64>();
                    let early = (-(delta as f64) * beta * u.ln()) as Nanos;
                    if now.saturating_add(early) >= expiry && !self.filling.contains_key(&p.key) {
                        if counted {
                            self.stats.refreshes += 1;
                        }
                        self.begin_fill(p.key, None);
                        let _ = self.send(
                            &p,
                            Pending::Refresh {
                                key: p.key,
                                started: now,
                            },
                            now,
                            ctx,
                        );
                    }
                }
                answer(ctx, parent, Outcome::Ok, t);
            }
            Lookup::Expired | Lookup::Miss => {
                if counted {
                    self.stats.misses += 1;
                }
                if self.cfg.coalesce {
                    if let Some((_, Some(fill))) = self.filling.get(&p.key) {
                        if let Some(Pending::Fill { more, .. }) = self.pending.get_mut(*fill) {
                            more.push(parent);
                            if counted {
                                self.stats.coalesced += 1;
                            }
                            return;
                        }
                    }
                }
                if counted {
                    self.stats.fills += 1;
                }
                let fill = Pending::Fill {
                    key: p.key,
                    first: parent,
                    more: Vec::new(),
                    started: now,
                };
                let pid = self.send(&p, fill, t, ctx);
                self.begin_fill(p.key, Some(pid));
            }
        }
    }

    /// A backend read of `key` starts (`fill`: the one misses may wait on).
    fn begin_fill(&mut self, key: u64, fill: Option<Id>) {
        let e = self.filling.entry(key).or_insert((0, None));
        e.0 += 1;
        if fill.is_some() && e.1.is_none() {
            e.1 = fill;
        }
        self.stats.fills_max = self.stats.fills_max.max(e.0);
    }

    /// A backend read of `key` sent at `started` fills the store: stale if a write of the
    /// key completed since it started.
    fn filled(&mut self, key: u64, started: Nanos, delta: Nanos, now: Nanos) {
        let expiry = self.expiry(now);
        self.store.put(key, expiry, delta);
        if !self.races {
            return;
        }
        if self.last_write.get(&key).is_some_and(|w| *w > started) {
            self.stale.insert(key, ());
        } else {
            self.stale.remove(&key);
        }
    }

    fn end_fill(&mut self, key: u64, fill: Option<Id>) {
        let e = self.filling.get_mut(&key).expect("a fill in flight");
        e.0 -= 1;
        if fill.is_some() && e.1 == fill {
            e.1 = None;
        }
        if e.0 == 0 {
            self.filling.remove(&key);
        }
    }

    fn answered(&mut self, child: ReqId, ctx: &mut Ctx) {
        let now = ctx.cal.now();
        let c = ctx
            .requests
            .remove(child)
            .expect("a reply frees its request");
        let pid = Id::from_token(c.token);
        let what = self.pending.remove(pid).expect("a reply to a pending call");
        let ok = matches!(c.outcome, Outcome::Ok | Outcome::Degraded);
        match what {
            Pending::Fill {
                key,
                first,
                more,
                started,
            } => {
                self.end_fill(key, Some(pid));
                if ok && self.keeps(started) {
                    self.filled(key, started, now - started, now);
                }
                for w in std::iter::once(first).chain(more) {
                    answer(ctx, w, c.outcome, now);
                }
            }
            Pending::Refresh { key, started } => {
                self.end_fill(key, None);
                if ok && self.keeps(started) {
                    self.filled(key, started, now - started, now);
                }
            }
            Pending::Write { key, parent } => {
                if ok {
                    self.last_write.insert(key, now);
                    self.stale.remove(&key);
                }
                if ok && self.keeps(c.sent) {
                    match self.cfg.writes {
                        WritePolicy::Invalidate => {
                            self.store.remove(key);
                        }
                        WritePolicy::WriteThrough => {
                            let expiry = self.expiry(now);
                            self.store.put(key, expiry, 0);
                        }
                        WritePolicy::WriteBehind(_) => unreachable!("written behind"),
                    }
                }
                answer(ctx, parent, c.outcome, now);
            }
            Pending::Flush { key, class } => {
                if ok {
                    return;
                }
                let counted = now >= ctx.warmup;
                if counted {
                    self.stats.flush_failures += 1;
                }
                if !self.keeps(c.sent) {
                    // The cache crashed since: the flush held the only copy.
                    if counted {
                        self.stats.lost_writes += 1;
                    }
                    return;
                }
                // Still dirty: flushed again after the write-behind delay, with any newer
                // write of the key (write-behind stores retry failed entries).
                let WritePolicy::WriteBehind(delay) = self.cfg.writes else {
                    unreachable!("flushes only behind")
                };
                if self.unflushed.insert(key, class).is_none() {
                    ctx.cal.at(now.saturating_add(delay), self.id, Msg::Flush(key));
                }
            }
            Pending::Pass { parent } => answer(ctx, parent, c.outcome, now),
        }
    }

    pub fn node_metrics(&self) -> Vec<(String, f64)> {
        let s = &self.stats;
        let reads = s.hits + s.misses;
        let mut m = vec![
            ("hits", s.hits as f64),
            ("misses", s.misses as f64),
            ("hit_ratio", ratio(s.hits, reads)),
            ("fills", s.fills as f64),
            ("coalesced", s.coalesced as f64),
            ("fills_in_flight_max", s.fills_max as f64),
            ("evictions", self.store.evictions as f64),
            ("entries", self.store.len() as f64),
            ("writes", s.writes as f64),
        ];
        if self.cfg.early_refresh.is_some() {
            m.push(("early_refreshes", s.refreshes as f64));
        }
        if matches!(self.cfg.writes, WritePolicy::WriteBehind(_)) {
            m.push(("flushes", s.flushes as f64));
            m.push(("flush_failures", s.flush_failures as f64));
            m.push(("lost_writes", s.lost_writes as f64));
        }
        if !self.cfg.faults.is_empty() {
            m.push(("bypassed", s.bypassed as f64));
        }
        if self.races {
            m.push(("stale_hits", s.stale_hits as f64));
            m.push(("stale_hit_fraction", ratio(s.stale_hits, s.hits)));
        }
        m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

impl super::node::NodeActor for Cache {
    fn start(&mut self, ctx: &mut Ctx) {
        self.outages.start(self.id, ctx);
    }

    #[inline]
    fn handle(&mut self, msg: Msg, ctx: &mut Ctx) {
        Cache::handle(self, msg, ctx)
    }

    fn metrics(&self, _window_s: f64, _end: Nanos) -> Vec<(String, f64)> {
        self.node_metrics()
    }

    fn record_series(&mut self, bucket: Nanos, n: usize) {
        Cache::record_series(self, bucket, n)
    }

    fn series_columns(
        &self,
        name: &str,
        group: super::node::ColumnGroup,
    ) -> Vec<(crate::metrics::series::Owner, &'static str)> {
        if group != super::node::ColumnGroup::Data || self.series.is_none() {
            return Vec::new();
        }
        vec![(crate::metrics::series::Owner::node_in("cache", name), "hit_ratio")]
    }

    fn series_row(&self, i: usize, group: super::node::ColumnGroup, row: &mut Vec<f64>) {
        if group != super::node::ColumnGroup::Data {
            return;
        }
        if let Some((_, buckets)) = &self.series {
            let (hits, reads) = buckets.get(i).copied().unwrap_or((0, 0));
            row.push(if reads > 0 {
                hits as f64 / reads as f64
            } else {
                f64::NAN
            });
        }
    }
}

impl super::node::Build for Cache {
    type Config = CacheConfig;

    fn new(
        id: ActorId,
        cfg: CacheConfig,
        s: &super::node::Streams,
        _warmup: Nanos,
    ) -> Result<Self, String> {
        Cache::new(id, cfg, s.get("cache"))
    }

    fn waits_on(cfg: &CacheConfig) -> Vec<ActorId> {
        vec![cfg.backend]
    }
}
