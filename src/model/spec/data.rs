//! The data tier: message queues, databases with read replicas, caches.

use super::*;

/// A message queue: producers call it and go on; it delivers to `consumer`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The node that processes messages (a service, usually a worker pool).
    pub consumer: String,
    /// Deliveries in flight at once; unlimited if absent (the consumer's own queue holds
    /// the backlog, and its autoscaler can scale on `QueueLength`).
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Ordered partitions (by key): one delivery in flight per partition.
    #[serde(default)]
    pub partitions: Option<u32>,
    /// A delivery unacknowledged this long makes its message visible again (SQS: 30 s).
    #[serde(default = "s30")]
    pub visibility_timeout: Duration,
    /// Deliveries before a message goes to the dead-letter queue; unlimited if absent.
    #[serde(default)]
    pub max_deliveries: Option<u32>,
    /// Time to store a message before the producer is answered.
    #[serde(default)]
    pub publish: Option<Dist>,
    /// Deliver only within these windows (off-peak processing); always if empty.
    #[serde(default)]
    pub windows: Vec<DeliveryWindow>,
    /// Messages acknowledged later than this after publishing are late.
    #[serde(default)]
    pub deadline: Option<Duration>,
}

/// A time window `[from, until)` of the run.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct DeliveryWindow {
    /// The window's start.
    pub from: Duration,
    /// The window's end (not included).
    pub until: Duration,
}

/// A primary and read replicas: writes to `primary`, reads to `replicas`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSpec {
    /// The node that takes writes (and pinned reads): a service.
    pub primary: String,
    /// The node that takes reads: a service with several replicas, or a balancer over them.
    /// Reads go to the primary if absent.
    #[serde(default)]
    pub replicas: Option<String>,
    /// How long after a write commits the replicas apply it.
    pub lag: Dist,
    /// Reads of a key written this recently go to the primary.
    #[serde(default)]
    pub read_your_writes: Option<Duration>,
}

/// A cache in front of a backend.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct CacheSpec {
    /// What answers misses and takes writes: a service, a balancer or another cache.
    pub backend: String,
    /// Entries it holds.
    pub capacity: u64,
    /// Which entry makes room when the cache is full (`Lru` by default).
    #[serde(default)]
    pub eviction: EvictionSpec,
    /// Entries expire this long after they are filled; never if absent.
    #[serde(default)]
    pub ttl: Option<Duration>,
    /// Time to look a key up (on hits and misses); none if absent.
    #[serde(default)]
    pub lookup: Option<Dist>,
    /// One backend read per key in flight; other misses wait for it.
    #[serde(default)]
    pub coalesce: bool,
    /// XFetch: refresh a hot key before it expires, with this β (1.0 is the usual).
    #[serde(default)]
    pub early_refresh: Option<f64>,
    /// What a write does to the cache (`Invalidate` by default).
    #[serde(default)]
    pub writes: WritesSpec,
    /// The request classes it caches; the others pass through. All if empty.
    #[serde(default)]
    pub classes: Vec<String>,
}

/// Which entry a full cache evicts.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum EvictionSpec {
    /// The least recently used.
    #[default]
    Lru,
    /// The least frequently used.
    Lfu,
    /// The oldest filled.
    Fifo,
}

/// What a write (a class with `write: true`) does to the cache.
#[derive(Deserialize, Debug, Clone, Copy, Default)]
#[serde(deny_unknown_fields)]
pub enum WritesSpec {
    /// Write to the backend, then drop the key (cache-aside).
    #[default]
    Invalidate,
    /// Write to the backend, then store the value.
    WriteThrough,
    /// Store and answer at once; write to the backend after this delay, once per key.
    WriteBehind(Duration),
}
