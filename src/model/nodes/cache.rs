//! A cache node: capacity, eviction, TTL, coalescing, write policy; validated into the
//! cache actor's configuration.

use super::*;

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

impl Schema for CacheSpec {
    type Config = CacheConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<CacheConfig, Error> {
        build(cx, name, self)
    }
}

fn build(cx: &Cx, name: &str, c: &CacheSpec) -> Result<CacheConfig, Error> {
    Ok({
        let at = |field: &str, m: String| cx.err(&[name, field], format!("cache `{name}`: {m}"));
        let backend = cx.service_target(name, &c.backend, &[name, "backend"])?;
        if c.capacity == 0 {
            return Err(at("capacity", "a cache holds at least 1 entry".into()));
        }
        crate::model::bounds::CACHE_ENTRIES
            .check(c.capacity)
            .map_err(|m| at("capacity", m))?;
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
        CacheConfig {
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
            faults: Vec::new(),
        }
    })
}
