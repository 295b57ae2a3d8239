//! A server's connections (PostgreSQL's model): every call holds a connection while the
//! server has it, at most `max_connections` at once (PostgreSQL's default 100); a call
//! beyond that is refused at once ("sorry, too many clients already"), an error. A call
//! that does not come on a connection already open (a caller's pool, a pooler's server
//! connection) first waits for one to be set up: PostgreSQL forks a backend and
//! authenticates it, milliseconds that pools exist to save.
//!
//! Connections are counted while in use: a real server also counts the idle connections a
//! client's pool keeps open, so size pools so that replicas × pool size stays below the
//! limit (ARCHITECTURE.md, "Where we differ").

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
    in_use: u32,
    pub stats: ConnectionStats,
}

impl Connections {
    pub fn new(cfg: &ConnectionsConfig) -> Result<Self, String> {
        Ok(Connections {
            max: cfg.max,
            setup: cfg.setup.as_ref().map(Sampler::new).transpose()?,
            in_use: 0,
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
    /// assert_eq!(c.open(true, &mut rng, true), Open::Ready);
    /// assert_eq!(c.open(true, &mut rng, true), Open::Refused);
    /// c.close();
    /// assert_eq!(c.open(false, &mut rng, true), Open::Ready);
    /// ```
    pub fn open(&mut self, kept: bool, rng: &mut Stream, counted: bool) -> Open {
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

    /// A call was answered: its connection is free (or closed).
    pub fn close(&mut self) {
        debug_assert!(self.in_use > 0, "a connection closed that was never opened");
        self.in_use -= 1;
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
