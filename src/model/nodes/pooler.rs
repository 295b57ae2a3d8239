//! A connection pooler node (PgBouncer): its pool mode and sizes, validated into the pooler
//! actor's configuration.

use super::*;

/// A pooler in front of a database service: queries run on a few server connections.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct PoolerSpec {
    /// The database: a service (give it `connections` for its limit and setup cost).
    pub target: String,
    /// When a server connection goes back to the pool: after each `Transaction` or
    /// `Statement` (a call is one of each here). `Session` pooling is not modelled.
    pub pool_mode: PoolModeSpec,
    /// Server connections to the database (PgBouncer: 20).
    #[serde(default = "twenty")]
    pub default_pool_size: u32,
    /// Client connections at once; queries beyond are refused (PgBouncer: 100).
    #[serde(default = "super::service::hundred")]
    pub max_client_conn: u32,
    /// How long a query waits for a server connection before it fails (PgBouncer: 120 s;
    /// 0 waits forever).
    #[serde(default = "two_minutes")]
    pub query_wait_timeout: Duration,
}

/// PgBouncer's `pool_mode`.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolModeSpec {
    /// A server connection per client connection, for as long as the client stays.
    Session,
    /// A server connection per transaction.
    Transaction,
    /// A server connection per statement.
    Statement,
}

fn twenty() -> u32 {
    20
}
fn two_minutes() -> Duration {
    secs(120)
}

impl Schema for PoolerSpec {
    type Config = PoolerConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<PoolerConfig, Error> {
        let at = |field: &str, m: String| cx.err(&[name, field], format!("pooler `{name}`: {m}"));
        let target = cx.service_target(name, &self.target, &[name, "target"])?;
        if self.pool_mode == PoolModeSpec::Session {
            return Err(at(
                "pool_mode",
                "session pooling gives each client a server connection for as long as it \
                 stays connected, so it pools nothing for long-lived clients; callers here \
                 connect per query, for which it equals `Transaction`: use `Transaction`"
                    .into(),
            ));
        }
        for (field, v) in [
            ("default_pool_size", self.default_pool_size),
            ("max_client_conn", self.max_client_conn),
        ] {
            if v == 0 {
                return Err(at(field, format!("{field} must be at least 1")));
            }
        }
        Ok(PoolerConfig {
            target,
            pool_size: self.default_pool_size,
            max_clients: self.max_client_conn,
            query_wait_timeout: (self.query_wait_timeout.0 > 0)
                .then_some(self.query_wait_timeout.0),
            faults: Vec::new(),
        })
    }
}
