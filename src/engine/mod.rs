//! The discrete-event core: simulated time, the event calendar, random streams and the loop.
//!
//! The engine knows nothing about what the actors are. A [`World`] owns the actors and
//! dispatches each event with one `match` over a closed set of kinds; the engine only keeps
//! the calendar in (time, sequence) order, hands events out, and fingerprints the trajectory.

mod calendar;
mod rng;
mod timers;

pub use calendar::{Calendar, Event, Scheduled};
pub use rng::{derive_stream, index_in, Stream};
pub use timers::TimerId;

/// Simulated time: an integer count of nanoseconds since the start of the run.
pub type Nanos = u64;

/// Nanoseconds per second, for conversions at the edges (files and reports).
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Seconds as a float, for reports only; simulated time never accumulates floats.
pub fn to_secs(t: Nanos) -> f64 {
    t as f64 / NANOS_PER_SEC as f64
}

/// Rounds a non-negative number of nanoseconds to the nearest whole one. On the hot path:
/// `f64::round` is a library call, adding a half and truncating is one instruction, and the
/// two agree for every non-negative value (saturating at `u64::MAX`).
#[inline]
pub fn round_ns(x: f64) -> Nanos {
    debug_assert!(x >= 0.0, "negative duration {x}");
    (x + 0.5) as Nanos
}

/// Rounds a non-negative number of seconds to the nearest nanosecond.
pub fn from_secs(s: f64) -> Nanos {
    debug_assert!(
        s >= 0.0 && s.is_finite(),
        "negative or non-finite duration {s}"
    );
    (s * NANOS_PER_SEC as f64).round() as Nanos
}

/// Index of an actor in its world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ActorId(pub u32);

/// What a world is to the engine: something that reacts to events by scheduling more.
pub trait World {
    type Msg: Copy;

    /// Reacts to `msg` delivered to `target` at `calendar.now()`.
    fn handle(&mut self, target: ActorId, msg: Self::Msg, calendar: &mut Calendar<Self::Msg>);

    /// A small code naming the kind of `msg`, mixed into the run's fingerprint.
    fn kind_code(msg: &Self::Msg) -> u32;

    /// Whether the world wants the run stopped now (a safety limit was reached).
    fn should_stop(&self) -> bool {
        false
    }

    /// Whether the run's wall-clock budget is spent. Checked as often as `should_stop`.
    fn past_deadline(&self) -> bool {
        false
    }

    /// A time-series bucket boundary: called once for each boundary `at`, after every event
    /// before it and before any event at or after it. Not an event: it does not count in
    /// the event total or the fingerprint, so recording a time series changes nothing else.
    fn tick(&mut self, _at: Nanos) {}
}

/// Why a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// Simulated time reached the end of the run.
    Duration,
    /// The calendar ran dry before the end.
    Idle,
    /// The event cap was reached.
    MaxEvents,
    /// The world asked to stop (for example, too many requests in flight).
    WorldLimit,
    /// Simulated time stood still for [`NO_PROGRESS_EVENTS`] events: a loop at one instant.
    NoProgress,
    /// The world's wall-clock budget ran out.
    WallClock,
}

/// Events at one simulated instant before a run is stopped as a loop that makes no progress.
/// Far more than any model's burst at one instant (a fleet's scrapes, a closed loop's start),
/// and counted in events, so the stop is as deterministic as the run.
pub const NO_PROGRESS_EVENTS: u64 = 1 << 24;

/// What the engine saw of a run.
#[derive(Clone, Copy, Debug)]
pub struct RunOutcome {
    pub events: u64,
    pub fingerprint: u64,
    pub stop: StopReason,
    /// Simulated time at which the run stopped.
    pub end: Nanos,
}

/// Runs `world` until simulated time `until` (events at exactly `until` are not handled),
/// the calendar empties, or `max_events` events have been handled.
pub fn run<W: World>(
    world: &mut W,
    calendar: &mut Calendar<W::Msg>,
    until: Nanos,
    max_events: u64,
) -> RunOutcome {
    run_ticking(world, calendar, until, max_events, None)
}

/// [`run`], calling [`World::tick`] at every multiple of `every` up to the end of the run.
#[inline]
pub fn run_ticking<W: World>(
    world: &mut W,
    calendar: &mut Calendar<W::Msg>,
    until: Nanos,
    max_events: u64,
    every: Option<Nanos>,
) -> RunOutcome {
    let every = every.filter(|e| *e > 0);
    let mut next_tick = every.unwrap_or(Nanos::MAX);
    let mut fingerprint = Fingerprint::new();
    let mut events = 0u64;
    // Check the world's limits every so often rather than per event: they guard memory, not
    // correctness, and a branch on every event would cost more than it is worth.
    const CHECK_EVERY: u64 = 4096;
    let (mut checked_at, mut still) = (calendar.now(), 0u64);
    let stop = loop {
        let Some(ev) = calendar.pop_before(until) else {
            break if calendar.is_empty() {
                StopReason::Idle
            } else {
                StopReason::Duration
            };
        };
        if ev.time >= next_tick {
            let step = every.expect("ticks only when asked");
            while next_tick <= ev.time {
                world.tick(next_tick);
                next_tick = next_tick.saturating_add(step);
            }
        }
        fingerprint.mix(ev.time, ev.target.0, W::kind_code(&ev.msg));
        world.handle(ev.target, ev.msg, calendar);
        events += 1;
        if events >= max_events {
            break StopReason::MaxEvents;
        }
        if events.is_multiple_of(CHECK_EVERY) {
            if world.should_stop() {
                break StopReason::WorldLimit;
            }
            if world.past_deadline() {
                break StopReason::WallClock;
            }
            if calendar.now() == checked_at {
                still += CHECK_EVERY;
                if still >= NO_PROGRESS_EVENTS {
                    break StopReason::NoProgress;
                }
            } else {
                (checked_at, still) = (calendar.now(), 0);
            }
        }
    };
    let end = match stop {
        StopReason::Duration | StopReason::Idle => until,
        _ => calendar.now(),
    };
    if let Some(step) = every {
        while next_tick <= end {
            world.tick(next_tick);
            next_tick = next_tick.saturating_add(step);
        }
    }
    RunOutcome {
        events,
        fingerprint: fingerprint.value(),
        stop,
        end,
    }
}

/// A running hash of every handled event's (time, target, kind), as OMNeT++ fingerprints do:
/// a refactor that changes behaviour changes it even when summary statistics agree.
#[derive(Clone, Copy, Debug)]
pub struct Fingerprint(u64);

impl Fingerprint {
    pub fn new() -> Self {
        Fingerprint(0x243f_6a88_85a3_08d3)
    }

    #[inline]
    pub fn mix(&mut self, time: Nanos, target: u32, kind: u32) {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut h = self.0 ^ time;
        h = h.wrapping_mul(K).rotate_left(31);
        h ^= ((target as u64) << 32) | kind as u64;
        h = h.wrapping_mul(K);
        self.0 = h ^ (h >> 29);
    }

    pub fn value(self) -> u64 {
        self.0
    }
}

impl Default for Fingerprint {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each event schedules another `gap` later: with no gap, time stands still.
    struct Echo {
        gap: Nanos,
    }

    impl World for Echo {
        type Msg = ();
        fn handle(&mut self, target: ActorId, _: (), calendar: &mut Calendar<()>) {
            calendar.after(self.gap, target, ());
        }
        fn kind_code(_: &()) -> u32 {
            0
        }
    }

    #[test]
    fn a_loop_at_one_instant_stops_without_progress() {
        let mut cal = Calendar::new();
        cal.at(5, ActorId(0), ());
        let out = run(&mut Echo { gap: 0 }, &mut cal, 1_000, u64::MAX);
        assert_eq!(out.stop, StopReason::NoProgress);
        assert_eq!(out.end, 5);
        assert!(out.events >= NO_PROGRESS_EVENTS && out.events <= NO_PROGRESS_EVENTS + 8192);
        // Time moving by one nanosecond per event is progress: the run reaches its end.
        let mut cal = Calendar::new();
        cal.at(0, ActorId(0), ());
        let out = run(&mut Echo { gap: 1 }, &mut cal, 20_000_000, u64::MAX);
        assert_eq!(out.stop, StopReason::Duration);
    }
}
