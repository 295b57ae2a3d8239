//! The node kinds of a model: the one list that the file schema (`model::nodes`), the
//! builder and the network (`components`) each expand.
//!
//! Adding a node kind is its schema and validation in `src/model/nodes/<kind>.rs`, its actor
//! in `src/components/<module>.rs`, and one line here.

/// Calls `$then! { … }` with every node kind, one per line:
/// `Kind: schema_module::SchemaType => actor_module::ActorType,` with the kind's doc comment
/// (what `docs/reference.md` says of it). The kind is the name files use (`Cache(...)`).
macro_rules! node_kinds {
    ($then:ident) => {
        $then! {
            /// Sends requests: open-loop arrivals or closed-loop users.
            Client: client::ClientSpec => client::Client,
            /// Replicas of workers with queues, running a handler per request.
            Service: service::ServiceSpec => service::Service,
            /// Spreads calls over a service's replicas.
            Balancer: balancer::BalancerSpec => balancer::Balancer,
            /// Answers reads from memory, misses from its backend.
            Cache: cache::CacheSpec => cache::Cache,
            /// A primary for writes and replicas for reads, with replication lag.
            Database: database::DatabaseSpec => database::Database,
            /// A message queue: producers go on, a consumer processes later.
            Queue: queue::QueueSpec => broker::Broker,
            /// A connection pooler (PgBouncer): queries share a few server connections.
            Pooler: pooler::PoolerSpec => pooler::Pooler,
            /// A topic: every message to each subscriber queue (Kafka consumer groups, a
            /// RabbitMQ fanout exchange).
            Topic: topic::TopicSpec => topic::Topic,
            /// Splits calls between targets by weight, shifted on the timeline, with a
            /// mirror and a rollback rule (a migration in stages).
            Router: router::RouterSpec => router::Router,
            /// Global routing by DNS: regional entry points behind one name, health
            /// checks, and callers' caches that keep an answer for its TTL.
            Dns: dns::DnsSpec => dns::Dns,
        }
    };
}
pub(crate) use node_kinds;
