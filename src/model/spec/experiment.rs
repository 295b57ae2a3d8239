//! An experiment's own settings: duration, replications, faults on its timeline, limits.

use super::*;

/// An experiment: `Experiment(...)`. Beside these fields it has `model` (a model file's name,
/// or an embedded `Model(...)`), `set` (overrides by dotted path: `{ "app.replicas": 4 }`),
/// `variants` (named override sets), `sweep` (a grid of values per path, or `Zip({...})`)
/// and `plan` (see the README).
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The experiment's name; the file's stem if absent.
    #[serde(default)]
    pub name: Option<String>,
    /// What it shows, in a sentence (shown in reports).
    #[serde(default)]
    pub description: String,
    /// Simulated time of each run.
    pub duration: Duration,
    /// Time at the start of each run left out of the measurements (0).
    #[serde(default)]
    pub warmup: Duration,
    /// The seed every random stream is derived from (1).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Independent runs per point (1).
    #[serde(default = "one")]
    pub replications: u32,
    /// Safety caps on each run.
    #[serde(default)]
    pub limits: Limits,
    /// The variant others are compared with (paired differences); the first one by default.
    #[serde(default)]
    pub baseline: Option<String>,
    /// Sequential stopping: add replications until a metric is known precisely enough.
    #[serde(default)]
    pub stop_when: Option<StopWhen>,
    /// Faults and actions on the run's timeline.
    #[serde(default)]
    pub faults: Vec<FaultSpec>,
    /// Expectations checked against the results (`scalesim check`).
    #[serde(default)]
    pub expect: Vec<String>,
    /// What the run's table, the report's first table and the lesson plot show: metric
    /// expressions of the expect language per point (`"users.critical.latency_p99_s"`,
    /// `"cache.hits / cache.lookups"`), or `Show(metric: ..., label: ..., unit: ...)`. When
    /// absent: the metrics the expect lines use, then throughput, goodput, latency, losses
    /// and cost.
    #[serde(default)]
    pub show: Vec<Show>,
    /// A shorter profile for `scalesim check --quick`.
    #[serde(default)]
    pub quick: Option<QuickSpec>,
    /// Width of a time-series bucket (default: a 200th of the duration, whole milliseconds).
    #[serde(default)]
    pub bucket: Option<Duration>,
}

impl Settings {
    /// The time-series bucket width.
    pub fn bucket(&self) -> Nanos {
        self.bucket.map_or_else(
            || (self.duration.0 / 200 / 1_000_000).max(1) * 1_000_000,
            |b| b.0,
        )
    }
}

/// One shown metric: an expression of the expect language without a variant (it is shown for
/// every point), a label (the expression itself by default) and a unit. Time units (`s`,
/// `ms`, `us`) convert a metric in seconds (its name ends in `_s`; `ms` is the default for
/// those); `%` multiplies by 100; any other unit is only written beside the label. A bare
/// string is the expression with the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Show {
    /// The expression, like `users.critical.latency_p99_s`.
    pub metric: String,
    /// The label in tables and plots.
    pub label: Option<String>,
    /// The unit the value is shown in.
    pub unit: Option<String>,
}

/// `Show(...)`'s fields, read as a struct so unknown ones are located errors.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShowFields {
    metric: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    unit: Option<String>,
}

impl<'de> Deserialize<'de> for Show {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Show;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a metric expression like \"users.latency_p99_s\", or Show(metric: ..., label: ..., unit: ...)")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Show, E> {
                Ok(Show {
                    metric: s.to_string(),
                    label: None,
                    unit: None,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<Show, A::Error> {
                let f = ShowFields::deserialize(serde::de::value::MapAccessDeserializer::new(m))?;
                Ok(Show {
                    metric: f.metric,
                    label: f.label,
                    unit: f.unit,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// What `--quick` changes: a shorter run, fewer replications.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub struct QuickSpec {
    /// The run's duration in the quick profile.
    #[serde(default)]
    pub duration: Option<Duration>,
    /// Its warm-up.
    #[serde(default)]
    pub warmup: Option<Duration>,
    /// Its replications.
    #[serde(default)]
    pub replications: Option<u32>,
}

impl FaultSpec {
    /// What the fault is, the node it acts on (a latency fault: caller→callee), and its
    /// window in seconds (`None` at the end: it lasts to the end of the run).
    pub fn timeline(&self) -> (&'static str, String, f64, Option<f64>) {
        let window = |at: &Duration, d: &Duration| Some(at.secs() + d.secs());
        match self {
            FaultSpec::Slowdown {
                node, at, r#for, ..
            } => ("slowdown", node.clone(), at.secs(), window(at, r#for)),
            FaultSpec::Errors {
                node, at, r#for, ..
            } => ("errors", node.clone(), at.secs(), window(at, r#for)),
            FaultSpec::Crash {
                node, at, r#for, ..
            } => (
                "crash",
                node.clone(),
                at.secs(),
                r#for.map(|d| at.secs() + d.secs()),
            ),
            FaultSpec::Latency {
                from,
                to,
                at,
                r#for,
                ..
            } => (
                "latency",
                format!("{from}→{to}"),
                at.secs(),
                window(at, r#for),
            ),
            FaultSpec::Canary {
                node, at, r#for, ..
            } => ("canary", node.clone(), at.secs(), window(at, r#for)),
            FaultSpec::Scale { node, at, .. } => {
                ("scale", node.clone(), at.secs(), Some(at.secs()))
            }
            FaultSpec::Deploy { node, at, .. } => {
                ("deploy", node.clone(), at.secs(), Some(at.secs()))
            }
            FaultSpec::Resize { node, at, .. } => {
                ("resize", node.clone(), at.secs(), Some(at.secs()))
            }
            FaultSpec::Split { node, at, copy, .. } => (
                "split",
                node.clone(),
                at.secs(),
                Some(at.secs() + copy.secs()),
            ),
            FaultSpec::RegionLoss { region, at, r#for } => (
                "region loss",
                region.clone(),
                at.secs(),
                r#for.map(|d| at.secs() + d.secs()),
            ),
            FaultSpec::ZoneLoss { zone, at, r#for } => (
                "zone loss",
                zone.clone(),
                at.secs(),
                r#for.map(|d| at.secs() + d.secs()),
            ),
        }
    }
}

/// A fault on the experiment's timeline.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum FaultSpec {
    /// Work on `node` (or one replica of it) takes `factor` times longer during the window.
    Slowdown {
        /// The node it acts on.
        node: String,
        /// Only this replica; all if absent.
        #[serde(default)]
        replica: Option<u32>,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// How many times longer work takes.
        factor: f64,
    },
    /// Requests finishing on `node` (or one replica) fail with probability `rate` meanwhile.
    Errors {
        /// The node it acts on.
        node: String,
        /// Only this replica; all if absent.
        #[serde(default)]
        replica: Option<u32>,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// The failure probability of each request.
        rate: f64,
    },
    /// Calls from `from` to `to` sent during the window take `add` longer each way.
    Latency {
        /// The caller.
        from: String,
        /// The callee.
        to: String,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// Latency added each way.
        add: Duration,
    },
    /// Replica `replica` of `node` crashes at `at`, and recovers after `for` if given.
    Crash {
        /// The node it acts on.
        node: String,
        /// The replica that crashes (0).
        #[serde(default)]
        replica: u32,
        /// When it starts.
        at: Duration,
        /// Down this long; for the rest of the run if absent.
        #[serde(default)]
        r#for: Option<Duration>,
    },
    /// Every node of `region` (`network.regions`) is lost at `at`: each replica of its
    /// services and every cache, database, queue, pooler, topic, router and DNS in it
    /// crashes; back after `for` if given.
    RegionLoss {
        /// The region lost.
        region: String,
        /// When it starts.
        at: Duration,
        /// Down this long; for the rest of the run if absent.
        #[serde(default)]
        r#for: Option<Duration>,
    },
    /// Every node of `zone` (`network.zones`) is lost, as `RegionLoss` does for a region.
    ZoneLoss {
        /// The zone lost.
        zone: String,
        /// When it starts.
        at: Duration,
        /// Down this long; for the rest of the run if absent.
        #[serde(default)]
        r#for: Option<Duration>,
    },
    /// Split shard `shard` of range-sharding balancer `node` while serving: at `at` a
    /// replica is added to its service and the shard's keys are copied to it for `copy`,
    /// the copy slowing the shard's work by `load`; then the upper part of the range moves
    /// to the new shard, split where the load halves (`by_load`) or at the middle key.
    Split {
        /// The balancer (`ShardByRange`).
        node: String,
        /// The shard split (an initial replica's number).
        shard: u32,
        /// When the copy starts.
        at: Duration,
        /// How long the copy takes.
        copy: Duration,
        /// The copy's extra work on the shard: its work takes 1 + load times longer (0.5).
        #[serde(default = "half")]
        load: f64,
        /// Split where the load halves (CockroachDB's load-based splitting, from keys
        /// sampled during the copy), not at the middle key (true).
        #[serde(default = "yes")]
        by_load: bool,
    },
    /// Set `node`'s desired replica count at `at` (a manual scaling action).
    Scale {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// The desired replica count from then on.
        replicas: u32,
    },
    /// Roll `node` to a new version: a rolling update as Kubernetes' (25% surge and 25%
    /// unavailable by default), or blue-green.
    Deploy {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// Rolling update or blue-green (`Rolling` by default).
        #[serde(default)]
        strategy: DeployStrategy,
        /// Startup time of each new replica, instead of the service's `startup`.
        #[serde(default)]
        restart: Option<Duration>,
    },
    /// A canary: `replicas` extra replicas of a new version, `factor` times slower and
    /// failing with probability `rate`, take their share of traffic for `for`, then are
    /// rolled back.
    Canary {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// How long it lasts.
        r#for: Duration,
        /// Canary replicas (1).
        #[serde(default = "one")]
        replicas: u32,
        /// How many times slower the new version works (1.0).
        #[serde(default = "one_f64")]
        factor: f64,
        /// The new version's failure probability (0).
        #[serde(default)]
        rate: f64,
    },
    /// Move `node` to another of its sizes at `at`, replica by replica: `Restart` takes one
    /// down at a time, `Surge` starts the new one first.
    Resize {
        /// The node it acts on.
        node: String,
        /// When it starts.
        at: Duration,
        /// The size to move to.
        size: String,
        /// `Restart` (by default) or `Surge`.
        #[serde(default)]
        strategy: ResizeStrategy,
        /// Startup time of each resized replica, instead of the service's `startup`.
        #[serde(default)]
        restart: Option<Duration>,
    },
}

pub(in crate::model) fn one_f64() -> f64 {
    1.0
}

pub(in crate::model) fn half() -> f64 {
    0.5
}

pub(in crate::model) fn yes() -> bool {
    true
}

/// How a new version replaces the old.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum DeployStrategy {
    /// Kubernetes' rolling update: 25% surge, 25% unavailable.
    #[default]
    Rolling,
    /// Rolling with explicit bounds (replica counts).
    RollingUpdate {
        /// Replicas above the desired count while rolling.
        max_surge: u32,
        /// Replicas below the desired count that may be unavailable.
        max_unavailable: u32,
    },
    /// Start every new replica, then switch all traffic at once.
    BlueGreen,
}

/// How replicas move to another size.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum ResizeStrategy {
    /// One at a time: down, then up on the new size.
    #[default]
    Restart,
    /// Start the new one first, then drain the old.
    Surge,
}

/// Add batches of `replications` runs to every point until `metric`'s ci95 half-width is at
/// most `rel_ci95` × |mean|, or the point has `max_replications` runs.
#[derive(Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StopWhen {
    /// An experiment metric (`latency_p99_s`) or a node's (`app.wait_mean_s`).
    pub metric: String,
    /// Stop when the ci95 half-width is at most this fraction of |mean|.
    pub rel_ci95: f64,
    /// The most runs per point.
    pub max_replications: u32,
}

pub(in crate::model) fn default_seed() -> u64 {
    1
}

/// Safety caps on one run, so an unstable model cannot take the machine down.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Events per run before it stops with a warning (2 × 10⁹).
    pub max_events: u64,
    /// Requests in flight before the run stops as unstable (10⁶).
    pub max_in_flight: u32,
    /// Wall-clock time one run may take before it stops with a warning (no limit). A run
    /// cut short this way depends on the machine's speed; the warning says so.
    pub max_wall: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_events: 2_000_000_000,
            max_in_flight: 1_000_000,
            max_wall: None,
        }
    }
}
