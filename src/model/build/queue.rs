//! Validating a `Queue` node and building its actor configuration.

use super::*;

pub(super) fn build(cx: &Cx, name: &str, q: &spec::QueueSpec) -> Result<ActorConfig, Error> {
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
        ActorConfig::Broker(BrokerConfig {
            consumer,
            concurrency: q.concurrency,
            partitions: q.partitions,
            visibility_timeout: q.visibility_timeout.0,
            max_deliveries: q.max_deliveries,
            publish,
            windows: q.windows.iter().map(|w| (w.from.0, w.until.0)).collect(),
            deadline: q.deadline.map(|d| d.0),
        })
    })
}
