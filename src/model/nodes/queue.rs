//! A message-queue node: delivery, partitions, visibility timeout, dead letters, windows;
//! validated into the broker actor's configuration.

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

impl Schema for QueueSpec {
    type Config = BrokerConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<BrokerConfig, Error> {
        build(cx, name, self)
    }
}

fn build(cx: &Cx, name: &str, q: &QueueSpec) -> Result<BrokerConfig, Error> {
    Ok({
        let at = |field: &str, m: String| cx.err(&[name, field], format!("queue `{name}`: {m}"));
        let consumer = cx.service_target(name, &q.consumer, &[name, "consumer"])?;
        if q.concurrency == Some(0) || q.partitions == Some(0) {
            return Err(at(
                if q.concurrency == Some(0) {
                    "concurrency"
                } else {
                    "partitions"
                },
                "must be at least 1".into(),
            ));
        }
        use crate::model::bounds;
        for (field, value, bound) in [
            ("concurrency", q.concurrency, bounds::CONCURRENCY),
            ("partitions", q.partitions, bounds::PARTITIONS),
        ] {
            if let Some(Err(m)) = value.map(|v| bound.check(v as u64)) {
                return Err(at(field, m));
            }
        }
        if q.visibility_timeout.0 == 0 {
            return Err(at("visibility_timeout", "must be longer than zero".into()));
        }
        if q.max_deliveries == Some(0) {
            return Err(at(
                "max_deliveries",
                "a message is delivered at least once".into(),
            ));
        }
        for (i, w) in q.windows.iter().enumerate() {
            if w.until.0 <= w.from.0 {
                let idx = i.to_string();
                return Err(cx.err(
                    &[name, "windows", &idx],
                    format!("queue `{name}`: a window ends after it starts"),
                ));
            }
        }
        let publish = q
            .publish
            .as_ref()
            .map(|d| cx.field_dist(d, "queue", name, "publish"))
            .transpose()?;
        BrokerConfig {
            consumer,
            concurrency: q.concurrency,
            partitions: q.partitions,
            visibility_timeout: q.visibility_timeout.0,
            max_deliveries: q.max_deliveries,
            publish,
            windows: q.windows.iter().map(|w| (w.from.0, w.until.0)).collect(),
            deadline: q.deadline.map(|d| d.0),
            faults: Vec::new(),
        }
    })
}
