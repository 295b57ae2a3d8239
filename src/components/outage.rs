//! Faults on a node that is not a service (a cache, a database, a queue): windows on the
//! timeline during which it is down, slower or failing. Each kind decides what being down
//! means for it; this only keeps which windows are open.

use super::kernel::{Ctx, Msg};
use crate::engine::{ActorId, Nanos};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OutageKind {
    /// The node is lost: what it held in memory is gone, and it answers nothing.
    Crash,
    /// Its own work (a lookup, storing a message) takes `factor` times longer.
    Slowdown(f64),
    /// Each operation fails with this probability.
    Errors(f64),
}

/// A fault window: from `at` until `until` (the rest of the run if `None`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outage {
    pub at: Nanos,
    pub until: Option<Nanos>,
    pub kind: OutageKind,
}

/// Schedules fault windows (`at`, `until`), numbered in order, as `Msg::Fault`s to `me`:
/// every node kind's faults, services' included, begin and end this way.
pub fn schedule(me: ActorId, windows: impl Iterator<Item = (Nanos, Option<Nanos>)>, ctx: &mut Ctx) {
    for (i, (at, until)) in windows.enumerate() {
        let fault = i as u32;
        ctx.cal.at(
            at,
            me,
            Msg::Fault {
                fault,
                begins: true,
            },
        );
        if let Some(end) = until {
            ctx.cal.at(
                end,
                me,
                Msg::Fault {
                    fault,
                    begins: false,
                },
            );
        }
    }
}

/// The fault windows of one node and which are open now.
#[derive(Clone, Debug, Default)]
pub struct Outages {
    windows: Vec<Outage>,
    open: Vec<bool>,
}

impl Outages {
    pub fn new(windows: Vec<Outage>) -> Self {
        let open = vec![false; windows.len()];
        Outages { windows, open }
    }

    /// Schedules every window's start and end as `Msg::Fault` to `me`.
    pub fn start(&self, me: ActorId, ctx: &mut Ctx) {
        schedule(me, self.windows.iter().map(|w| (w.at, w.until)), ctx);
    }

    /// Window `i` opens or closes; its kind, and whether the node was down before.
    pub fn set(&mut self, i: usize, begins: bool) -> (OutageKind, bool) {
        let was_down = self.down();
        self.open[i] = begins;
        (self.windows[i].kind, was_down)
    }

    /// A crash window is open.
    pub fn down(&self) -> bool {
        self.active().any(|k| k == OutageKind::Crash)
    }

    /// The product of the open slowdowns (1 without).
    pub fn factor(&self) -> f64 {
        self.active()
            .map(|k| match k {
                OutageKind::Slowdown(f) => f,
                _ => 1.0,
            })
            .product()
    }

    /// Whether this call fails here: the node is down, or an open `Errors` window fails
    /// it (one draw from `rng`, only while such a window is open).
    pub fn fails(&self, rng: &mut crate::engine::Stream) -> bool {
        use rand::Rng;
        if self.down() {
            return true;
        }
        let rate = self.error_rate();
        rate > 0.0 && rng.random::<f64>() < rate
    }

    /// The highest open error rate (0 without).
    pub fn error_rate(&self) -> f64 {
        self.active()
            .map(|k| match k {
                OutageKind::Errors(r) => r,
                _ => 0.0,
            })
            .fold(0.0, f64::max)
    }

    fn active(&self) -> impl Iterator<Item = OutageKind> + '_ {
        self.windows
            .iter()
            .zip(&self.open)
            .filter(|(_, o)| **o)
            .map(|(w, _)| w.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_windows_combine() {
        let w = |kind| Outage {
            at: 0,
            until: None,
            kind,
        };
        let mut o = Outages::new(vec![
            w(OutageKind::Slowdown(2.0)),
            w(OutageKind::Slowdown(3.0)),
            w(OutageKind::Errors(0.1)),
            w(OutageKind::Crash),
        ]);
        assert_eq!((o.factor(), o.error_rate(), o.down()), (1.0, 0.0, false));
        o.set(0, true);
        o.set(1, true);
        o.set(2, true);
        assert_eq!((o.factor(), o.error_rate()), (6.0, 0.1));
        assert_eq!(o.set(3, true), (OutageKind::Crash, false));
        assert!(o.down());
        assert_eq!(o.set(3, false), (OutageKind::Crash, true));
        o.set(0, false);
        assert_eq!((o.factor(), o.down()), (3.0, false));
    }
}
