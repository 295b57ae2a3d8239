//! A topic node: the queues that each get a copy of every message; validated into the topic
//! actor's configuration.

use super::*;

/// A topic: every publish goes to each subscriber queue (a consumer group each).
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TopicSpec {
    /// The queues that each get every message: Kafka consumer groups, or the queues bound
    /// to a RabbitMQ fanout exchange.
    pub subscribers: Vec<String>,
}

impl Schema for TopicSpec {
    type Config = TopicConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<TopicConfig, Error> {
        if self.subscribers.is_empty() {
            return Err(cx.err(
                &[name, "subscribers"],
                format!("topic `{name}`: give at least one subscriber queue"),
            ));
        }
        let mut subscribers = Vec::new();
        for (i, q) in self.subscribers.iter().enumerate() {
            let idx = i.to_string();
            let path = [name, "subscribers", idx.as_str()];
            let id = cx.service_target(name, q, &path)?;
            if !matches!(cx.model.nodes[q.as_str()], spec::Node::Queue(_)) {
                return Err(cx.err(
                    &path,
                    format!("topic `{name}`: subscriber `{q}` is not a queue: each consumer group reads from a `Queue` of its own"),
                ));
            }
            if subscribers.contains(&id) {
                return Err(cx.err(
                    &path,
                    format!("topic `{name}`: `{q}` subscribes twice"),
                ));
            }
            subscribers.push(id);
        }
        Ok(TopicConfig {
            subscribers,
            faults: Vec::new(),
        })
    }
}
