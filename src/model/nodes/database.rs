//! A database node: a primary, read replicas and their lag; validated into the database
//! actor's configuration.

use super::*;

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
    /// When the primary is lost (a `Crash` of this node), promote a replica after this long
    /// (RDS Multi-AZ: 60–120 s; Aurora: about 30 s), losing the writes it had not applied.
    /// Absent: writes fail until the primary comes back.
    #[serde(default)]
    pub failover: Option<Duration>,
}

impl Schema for DatabaseSpec {
    type Config = DatabaseConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<DatabaseConfig, Error> {
        build(cx, name, self)
    }
}

fn build(cx: &Cx, name: &str, d: &DatabaseSpec) -> Result<DatabaseConfig, Error> {
    Ok({
        let at = |field: &str, m: String| cx.err(&[name, field], format!("database `{name}`: {m}"));
        let primary = cx.service_target(name, &d.primary, &[name, "primary"])?;
        let replicas = d
            .replicas
            .as_ref()
            .map(|r| cx.service_target(name, r, &[name, "replicas"]))
            .transpose()?;
        if replicas == Some(primary) {
            return Err(at(
                "replicas",
                "the replicas must be another node than the primary".into(),
            ));
        }
        let lag = cx.field_dist(&d.lag, "database", name, "lag")?;
        if d.failover.is_some() && replicas.is_none() {
            return Err(at(
                "failover",
                "failing over promotes a replica: give the database `replicas`".into(),
            ));
        }
        if d.read_your_writes.is_some_and(|w| w.0 == 0) {
            return Err(at(
                "read_your_writes",
                "a window of 0 pins nothing: leave it out".into(),
            ));
        }
        DatabaseConfig {
            primary,
            replicas,
            lag,
            read_your_writes: d.read_your_writes.map(|w| w.0),
            write_class: cx.class_writes.clone(),
            failover: d.failover.map(|f| f.0),
            faults: Vec::new(),
        }
    })
}
