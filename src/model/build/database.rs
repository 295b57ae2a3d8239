//! Validating a `Database` node and building its actor configuration.

use super::*;

pub(super) fn build(cx: &Cx, name: &str, d: &spec::DatabaseSpec) -> Result<ActorConfig, Error> {
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
        if d.read_your_writes.is_some_and(|w| w.0 == 0) {
            return Err(at(
                "read_your_writes",
                "a window of 0 pins nothing: leave it out".into(),
            ));
        }
        ActorConfig::Database(DatabaseConfig {
            primary,
            replicas,
            lag,
            read_your_writes: d.read_your_writes.map(|w| w.0),
            write_class: cx.class_writes.clone(),
        })
    })
}
