//! A machine size: what a replica runs on. Services run on one; the autoscaler may choose
//! another (vertical scaling).

/// A machine size: workers, speed (work is divided by it) and price.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Size {
    pub workers: u32,
    pub speed: f64,
    pub cost_per_hour: f64,
}
