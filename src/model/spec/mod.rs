//! The typed shape of model and experiment files. Unknown fields are errors.

mod calls;
mod experiment;
mod policies;

pub use super::nodes::*;
pub use calls::*;
pub use experiment::*;
pub use policies::*;

use crate::engine::Nanos;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::BTreeMap;

/// A duration written with a unit: `"250ms"`, `"1.5s"`, `"10m"`, `"2h"`, `"3us"`, `"40ns"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Duration(pub Nanos);

impl Duration {
    pub fn secs(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

/// Parses `"1.5s"` and friends, and sums like `"1m30s"`.
pub fn parse_duration(s: &str) -> Result<Nanos, String> {
    let hint = "write a number with a unit: ns, us, ms, s, m or h (e.g. \"250ms\", \"1m30s\")";
    let t = s.trim();
    if t.starts_with('-') {
        return Err(format!("duration \"{s}\" is negative: {hint}"));
    }
    if t.is_empty() {
        return Err(format!("empty duration: {hint}"));
    }
    let mut rest = t;
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let split = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(split);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let per: f64 = match unit.trim() {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" | "min" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("duration \"{s}\" has no unit: {hint}")),
            u => return Err(format!("unknown unit `{u}` in duration \"{s}\": {hint}")),
        };
        let x: f64 = num
            .replace('_', "")
            .parse()
            .map_err(|_| format!("\"{s}\" is not a duration: {hint}"))?;
        total += x * per;
        rest = next;
    }
    if !total.is_finite() || total > 1e18 {
        return Err(format!("duration \"{s}\" is too long"));
    }
    Ok(total.round() as Nanos)
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a duration string with a unit, like \"250ms\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Duration, E> {
                parse_duration(s).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\" or \"{v}ms\", not {v}"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                Err(E::custom(format!(
                    "a duration needs a unit: write \"{v}s\" or \"{v}ms\", not {v}"
                )))
            }
        }
        d.deserialize_str(V)
    }
}

/// A model: named nodes (clients and services) and how they connect.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// What the model is, in a sentence (shown in reports).
    #[serde(default)]
    pub description: String,
    /// The nodes by name: clients, services, balancers, caches, databases, queues.
    pub nodes: BTreeMap<String, Node>,
    /// Where the nodes run (regions and zones) and the latency between regions; none if
    /// absent.
    #[serde(default)]
    pub network: Option<NetworkSpec>,
}

/// Failure domains and the network between them. A region or zone is lost as a whole
/// (`RegionLoss`, `ZoneLoss`); a call between nodes of two regions pays the link's latency
/// each way unless the call gives its own.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Each region's nodes; a node is in at most one region.
    #[serde(default)]
    pub regions: BTreeMap<String, Vec<String>>,
    /// Each zone's nodes (availability zones, within or beside regions); a node is in at
    /// most one zone.
    #[serde(default)]
    pub zones: BTreeMap<String, Vec<String>>,
    /// One-way latency between two regions, or two zones, both directions: every pair of
    /// regions whose nodes call each other needs one; a link between zones applies to calls
    /// between nodes placed in them (the cross-zone hop within a region), before their
    /// regions' link.
    #[serde(default)]
    pub links: Vec<LinkSpec>,
}

/// The network between two regions or two zones.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One region (or zone).
    pub from: String,
    /// The other.
    pub to: String,
    /// One-way latency, each direction.
    pub latency: Dist,
}

/// A distribution of durations.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum Dist {
    /// Exponential, with this mean.
    Exponential {
        /// The mean.
        mean: Duration,
    },
    /// Always this value.
    Deterministic {
        /// The value.
        value: Duration,
    },
    /// Uniform between `min` and `max`.
    Uniform {
        /// The smallest value.
        min: Duration,
        /// The largest value.
        max: Duration,
    },
    /// Given by its mean and coefficient of variation (standard deviation / mean).
    LogNormal {
        /// The mean.
        mean: Duration,
        /// The coefficient of variation (standard deviation / mean).
        cv: f64,
    },
    /// Given by its mean and coefficient of variation.
    Gamma {
        /// The mean.
        mean: Duration,
        /// The coefficient of variation (standard deviation / mean).
        cv: f64,
    },
    /// The sum of `k` exponentials, with this mean in all.
    Erlang {
        /// The number of phases.
        k: u32,
        /// The mean.
        mean: Duration,
    },
    /// Minimum `scale`, tail index `shape` (the mean is finite only for shape > 1).
    Pareto {
        /// The smallest value.
        scale: Duration,
        /// The tail index.
        shape: f64,
    },
    /// Each draw picks one of `values` uniformly.
    Empirical {
        /// The values to draw from.
        values: Vec<Duration>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("10m"), Ok(600_000_000_000));
        assert_eq!(parse_duration("2h"), Ok(7_200_000_000_000));
        assert_eq!(parse_duration("3us"), Ok(3_000));
        assert_eq!(parse_duration("40ns"), Ok(40));
        assert!(parse_duration("10").unwrap_err().contains("no unit"));
        assert!(parse_duration("10 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(parse_duration("-5s").is_err());
        assert_eq!(parse_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_duration("1h2m3s"), Ok(3_723_000_000_000));
        assert!(parse_duration("1m30").unwrap_err().contains("no unit"));
    }
}
