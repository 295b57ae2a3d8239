//! Validating a `Cache` node and building its actor configuration.

use super::*;

pub(super) fn build(cx: &Cx, name: &str, c: &spec::CacheSpec) -> Result<ActorConfig, Error> {
    Ok({
        let at = |field: &str, m: String| cx.err(&[name, field], format!("cache `{name}`: {m}"));
        let backend = cx.service_target(name, &c.backend, &[name, "backend"])?;
        if c.capacity == 0 {
            return Err(at("capacity", "a cache holds at least 1 entry".into()));
        }
        if c.ttl.is_some_and(|t| t.0 == 0) {
            return Err(at(
                "ttl",
                "a TTL of 0 would expire every entry at once: leave `ttl` out for none".into(),
            ));
        }
        if c.early_refresh.is_some_and(|b| !(b > 0.0 && b.is_finite())) {
            return Err(at(
                "early_refresh",
                "XFetch's β is above 0 (1.0 is the usual)".into(),
            ));
        }
        if c.early_refresh.is_some() && c.ttl.is_none() {
            return Err(at(
                "early_refresh",
                "refreshing before expiry needs a `ttl`".into(),
            ));
        }
        let lookup = c
            .lookup
            .as_ref()
            .map(|d| cx.field_dist(d, "cache", name, "lookup"))
            .transpose()?;
        let mut cacheable = vec![c.classes.is_empty(); cx.class_ids.len()];
        for (i, k) in c.classes.iter().enumerate() {
            let Some(id) = cx.class_ids.get(k) else {
                let known: Vec<String> = cx.class_ids.keys().map(|k| format!("`{k}`")).collect();
                let idx = i.to_string();
                return Err(cx.err(
                    &[name, "classes", &idx],
                    format!(
                        "cache `{name}`: no client sends class `{k}`; classes are {}",
                        known.join(", ")
                    ),
                ));
            };
            cacheable[*id as usize] = true;
        }
        ActorConfig::Cache(CacheConfig {
            backend,
            capacity: c.capacity.min(usize::MAX as u64) as usize,
            eviction: match c.eviction {
                spec::EvictionSpec::Lru => Eviction::Lru,
                spec::EvictionSpec::Lfu => Eviction::Lfu,
                spec::EvictionSpec::Fifo => Eviction::Fifo,
            },
            ttl: c.ttl.map(|t| t.0),
            lookup,
            coalesce: c.coalesce,
            early_refresh: c.early_refresh,
            writes: match c.writes {
                spec::WritesSpec::Invalidate => WritePolicy::Invalidate,
                spec::WritesSpec::WriteThrough => WritePolicy::WriteThrough,
                spec::WritesSpec::WriteBehind(d) => WritePolicy::WriteBehind(d.0),
            },
            cacheable,
            write_class: cx.class_writes.clone(),
        })
    })
}
