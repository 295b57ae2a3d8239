//! A server's connections (PostgreSQL's model): every call holds a connection while the
//! server has it, at most `max_connections` at once (PostgreSQL's default 100); a call
//! beyond that is refused at once ("sorry, too many clients already"), an error. A call
//! that does not come on a connection already open (a caller's pool, a pooler's server
//! connection) first waits for one to be set up: PostgreSQL forks a backend and
//! authenticates it, milliseconds that pools exist to save.
//!
//! Connections are counted while in use, unless a caller's pool keeps some open
//! (`min_idle`, HikariCP's `minimumIdle`): those count from the caller replica's start to
//! its end, busy or idle, and its calls run on them. A pool's connection the server refused
//! was never opened: a call the caller sends on it is refused. Refused pool connections are
//! opened as soon as others close (HikariCP keeps retrying to fill its pool).

use super::dist::Sampler;
use crate::engine::{Nanos, Stream};

#[derive(Clone, Debug)]
pub struct ConnectionsConfig {
    pub max: u32,
    /// Time to set up a new connection; none if absent.
    pub setup: Option<super::DistParams>,
}

/// What a call's arrival finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Open {
    /// On an open connection: go on.
    Ready,
    /// A new connection, ready after this long.
    After(Nanos),
    /// No connection left: refused.
    Refused,
}

#[derive(Default, Debug)]
pub struct ConnectionStats {
    /// New connections set up (calls that came on none), and their total setup time.
    pub setups: u64,
    pub setup_sum: u128,
    pub refused: u64,
    /// The most connections in use at once, after warm-up.
    pub peak: u32,
}

pub struct Connections {
    max: u32,
    setup: Option<Sampler>,
    /// Open connections: calls' own and pools' kept ones.
    in_use: u32,
    /// Per caller actor with kept pool connections (a few callers: a list, scanned).
    kept: Vec<Kept>,
    pub stats: ConnectionStats,
}

/// A caller's kept connections: wanted by its replicas' pools, opened, and busy.
#[derive(Clone, Copy, Debug)]
struct Kept {
    from: u32,
    wanted: u32,
    open: u32,
    busy: u32,
}

impl Connections {
    pub fn new(cfg: &ConnectionsConfig) -> Result<Self, String> {
        Ok(Connections {
            max: cfg.max,
            setup: cfg.setup.as_ref().map(Sampler::new).transpose()?,
            in_use: 0,
            kept: Vec::new(),
            stats: ConnectionStats::default(),
        })
    }

    /// A call arrives, on an open connection (`kept`) or a new one.
    ///
    /// ```
    /// use scalesim::components::connections::{Connections, ConnectionsConfig, Open};
    /// use scalesim::engine::derive_stream;
    ///
    /// let mut c = Connections::new(&ConnectionsConfig { max: 1, setup: None }).unwrap();
    /// let mut rng = derive_stream(1, 0, "db", "connect");
    /// assert_eq!(c.open(true, 7, &mut rng, true), Open::Ready);
    /// assert_eq!(c.open(true, 7, &mut rng, true), Open::Refused);
    /// c.close(true, 7);
    /// assert_eq!(c.open(false, 7, &mut rng, true), Open::Ready);
    /// ```
    pub fn open(&mut self, kept: bool, from: u32, rng: &mut Stream, counted: bool) -> Open {
        if let Some(k) = self.kept_by(kept, from) {
            if k.busy < k.open {
                k.busy += 1;
                return Open::Ready;
            }
            // The pool's connection for it was refused: it does not exist.
            self.stats.refused += counted as u64;
            return Open::Refused;
        }
        if self.in_use >= self.max {
            self.stats.refused += counted as u64;
            return Open::Refused;
        }
        self.in_use += 1;
        if counted {
            self.stats.peak = self.stats.peak.max(self.in_use);
        }
        if kept {
            return Open::Ready;
        }
        self.stats.setups += counted as u64;
        let Some(s) = &self.setup else {
            return Open::Ready;
        };
        let t = s.sample(rng, 1.0);
        if counted {
            self.stats.setup_sum += t as u128;
        }
        Open::After(t)
    }

    /// A call was answered: its connection is free (a pool's kept one) or closed.
    pub fn close(&mut self, kept: bool, from: u32) {
        // (A call that came before its pool's connections were kept used one of its own.)
        if let Some(k) = self.kept_by(kept, from).filter(|k| k.busy > 0) {
            k.busy -= 1;
            return;
        }
        debug_assert!(self.in_use > 0, "a connection closed that was never opened");
        self.in_use -= 1;
    }

    /// The kept connections a call of `from` runs on, if it comes from a pool that keeps
    /// them.
    fn kept_by(&mut self, kept: bool, from: u32) -> Option<&mut Kept> {
        if !kept {
            return None;
        }
        self.kept.iter_mut().find(|k| k.from == from)
    }

    /// A replica of `from` opens (`count` > 0) or closes the connections its pool keeps.
    ///
    /// ```
    /// use scalesim::components::connections::{Connections, ConnectionsConfig, Open};
    /// use scalesim::engine::derive_stream;
    ///
    /// let mut c = Connections::new(&ConnectionsConfig { max: 15, setup: None }).unwrap();
    /// let mut rng = derive_stream(1, 0, "db", "connect");
    /// c.hold(7, 10, true);
    /// c.hold(7, 10, true); // a second replica's pool: 5 of its 10 are refused
    /// assert_eq!(c.stats.refused, 5);
    /// assert_eq!(c.open(false, 8, &mut rng, true), Open::Refused); // none left for others
    /// c.hold(7, -10, true); // a replica leaves: the other's 5 missing ones open
    /// assert_eq!(c.open(false, 8, &mut rng, true), Open::Ready);
    /// ```
    pub fn hold(&mut self, from: u32, count: i32, counted: bool) {
        let i = match self.kept.iter().position(|k| k.from == from) {
            Some(i) => i,
            None => {
                self.kept.push(Kept {
                    from,
                    wanted: 0,
                    open: 0,
                    busy: 0,
                });
                self.kept.len() - 1
            }
        };
        let k = &mut self.kept[i];
        if count >= 0 {
            k.wanted += count as u32;
            let before = k.open;
            self.fill(i);
            let opened = self.kept[i].open - before;
            self.stats.refused += counted as u64 * (count as u32 - opened) as u64;
        } else {
            k.wanted = k.wanted.saturating_sub(count.unsigned_abs());
            let closed = k.open.saturating_sub(k.wanted);
            k.open -= closed;
            self.in_use -= closed;
            // Pools still short of connections open them now.
            for j in 0..self.kept.len() {
                self.fill(j);
            }
        }
    }

    /// Opens caller `i`'s missing kept connections, as many as the limit allows.
    fn fill(&mut self, i: usize) {
        let k = &mut self.kept[i];
        let n = (k.wanted - k.open).min(self.max.saturating_sub(self.in_use));
        k.open += n;
        self.in_use += n;
        self.stats.peak = self.stats.peak.max(self.in_use);
    }

    pub fn metrics(&self) -> Vec<(String, f64)> {
        let s = &self.stats;
        vec![
            ("connections_refused".into(), s.refused as f64),
            ("connections_peak".into(), s.peak as f64),
            ("connections_opened".into(), s.setups as f64),
            (
                "connection_setup_mean_s".into(),
                if s.setups > 0 {
                    s.setup_sum as f64 / s.setups as f64 / 1e9
                } else {
                    f64::NAN
                },
            ),
        ]
    }
}
