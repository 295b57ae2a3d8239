//! A function's instances, found without scanning the fleet: the lowest-numbered instance
//! with a free worker, else the lowest starting one with room in its queue, and how many
//! are running. Picks are the ones a scan from slot 0 makes (`invoke` checks it in debug
//! builds), in time that does not grow with the number of instances.

use super::slots::SlotSet;

/// What `invoke` looks up. Invariants: every serving, up instance with an idle worker is in
/// `free`; every starting instance whose queue has room is in `starting`; `running` counts
/// the starting and serving instances.
#[derive(Clone, Debug, Default)]
pub(super) struct Instances {
    pub(super) free: SlotSet,
    pub(super) starting: SlotSet,
    pub(super) running: u32,
}
