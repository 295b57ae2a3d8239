//! Checks a typed model for nonsense and turns it into actor configurations.
//!
//! Errors carry the location of the offending value, looked up in the syntax tree by path,
//! so a zero worker count points at the line that says so (or at the node that left it out).

use super::de::Error;
use super::overrides::locate;
use super::spec::{
    self, AlgorithmSpec, Arrivals as ArrivalsSpec, BackoffSpec, CallSpec, ClassSpec, Dist,
    FaultSpec, JitterSpec, KeysSpec, Model, OnFailureSpec, RetryOnSpec, RetrySpec, StepSpec,
};
use super::syntax::{Node, Span};
use crate::components::autoscaler::AutoscalerConfig;
use crate::components::broker::BrokerConfig;
use crate::components::cache::{CacheConfig, WritePolicy};
use crate::components::concurrency::LimitAlgorithm;
use crate::components::database::DatabaseConfig;
use crate::components::degrade::DegradeConfig;
use crate::components::limiter::LimiterConfig;
use crate::components::queue::{CoDelConfig, Order, QueuePolicy, WhenFull};
use crate::components::retry::{Backoff, Budget, Jitter, QuotaConfig, RetryOn, RetryPolicy};
use crate::components::store::Eviction;
use crate::components::{
    ActorConfig, Algorithm, Arrivals, BalancerConfig, Bound, CallSite, Class, ClientConfig,
    DistParams, Fault, FaultKind, FunctionConfig, HealthCheck, Keys, OnFailure, Outlier,
    Provisioning, Rollout, Sampler, ServiceConfig, Size, Step,
};
use crate::engine::ActorId;
use std::path::Path;

/// Validates `model` (read from `tree`) and builds its actors, in node-name order. `faults`
/// come from the experiment, with their locations; trace files are found relative to `base`.
pub fn build(
    model: &Model,
    tree: &Node,
    faults: &[(FaultSpec, Span)],
    base: &Path,
) -> Result<Vec<(String, ActorConfig)>, Error> {
    let err = |path: &[&str], msg: String| {
        let mut full = vec!["nodes"];
        full.extend_from_slice(path);
        Error::at(locate(tree, &full).span, msg)
    };
    // A distribution at `node.field`, its errors located there: "{kind} `node`: field: …".
    let field_dist = |d: &Dist, kind: &str, node: &str, field: &str| {
        dist(d).map_err(|(p, m)| {
            let mut path = vec![node, field];
            path.extend(p);
            err(&path, format!("{kind} `{node}`: {field}: {m}"))
        })
    };
    if model.nodes.is_empty() {
        return Err(Error::at(
            locate(tree, &["nodes"]).span,
            "the model has no nodes: add a Client and a Service under `nodes`",
        ));
    }
    let index = |name: &str| model.nodes.keys().position(|k| k == name);
    // A call target must be a service or a balancer; the error names the node list.
    let service_target = |from: &str, target: &str, path: &[&str]| -> Result<ActorId, Error> {
        let Some(i) = index(target) else {
            let known: Vec<_> = model.nodes.keys().map(|k| format!("`{k}`")).collect();
            return Err(err(
                path,
                format!(
                    "`{from}` calls `{target}`, which is not a node; nodes are {}",
                    known.join(", ")
                ),
            ));
        };
        if matches!(model.nodes[target], spec::Node::Client(_)) {
            return Err(err(
                path,
                format!("`{from}` calls `{target}`, a client: call a service or a balancer"),
            ));
        }
        Ok(ActorId(i as u32))
    };
    // Request classes get one id across the model, so services can route on them.
    let mut class_ids: std::collections::BTreeMap<String, u16> = std::collections::BTreeMap::new();
    for node in model.nodes.values() {
        if let spec::Node::Client(c) = node {
            let names: Vec<String> = if c.classes.is_empty() {
                vec!["default".into()]
            } else {
                c.classes.iter().map(|k| k.name.clone()).collect()
            };
            for n in names {
                let next = class_ids.len() as u16;
                class_ids.entry(n).or_insert(next);
            }
        }
    }
    // A class's priority (the highest any client gives it), as a level among the distinct
    // priorities: what priority queues order by.
    let mut priority = vec![0u8; class_ids.len()];
    for node in model.nodes.values() {
        if let spec::Node::Client(c) = node {
            for k in &c.classes {
                let p = &mut priority[class_ids[&k.name] as usize];
                *p = (*p).max(k.priority);
            }
        }
    }
    let mut distinct = priority.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let class_levels: Vec<u8> = priority
        .iter()
        .map(|p| distinct.binary_search(p).expect("listed") as u8)
        .collect();
    // Which classes are writes; clients sending a class must agree.
    let mut class_writes: Vec<Option<bool>> = vec![None; class_ids.len()];
    for (name, node) in &model.nodes {
        if let spec::Node::Client(c) = node {
            for (i, k) in c.classes.iter().enumerate() {
                let w = &mut class_writes[class_ids[&k.name] as usize];
                if w.is_some_and(|w| w != k.write) {
                    let idx = i.to_string();
                    return Err(err(
                        &[name, "classes", &idx, "write"],
                        format!(
                            "class `{}` is a write for one client and a read for another: give them different names",
                            k.name
                        ),
                    ));
                }
                *w = Some(k.write);
            }
        }
    }
    let class_writes: Vec<bool> = class_writes.iter().map(|w| w.unwrap_or(false)).collect();
    let mut out = Vec::with_capacity(model.nodes.len());
    for (name, node) in &model.nodes {
        if name.is_empty() || name.contains(['.', ' ']) {
            return Err(err(
                &[name],
                format!("node name `{name}` must be non-empty, without dots or spaces"),
            ));
        }
        let cfg = match node {
            spec::Node::Client(c) => {
                let target = service_target(name, &c.target, &[name, "target"])?;
                let arrivals = arrivals(&c.arrivals, base).map_err(|(p, m)| {
                    let mut path = vec![name.as_str(), "arrivals"];
                    path.extend(p);
                    err(&path, format!("client `{name}`: {m}"))
                })?;
                for (field, d) in [("timeout", c.timeout), ("deadline", c.deadline)] {
                    if d.is_some_and(|d| d.0 == 0) {
                        return Err(err(
                            &[name, field],
                            format!("client `{name}`: a {field} of zero would fail every request"),
                        ));
                    }
                }
                let spec_call = CallSpec {
                    target: c.target.clone(),
                    timeout: c.timeout,
                    retry: c.retry.clone(),
                    hedge: c.hedge,
                    breaker: c.breaker,
                    latency: c.latency.clone(),
                    bulkhead: c.bulkhead,
                    pool: None,
                };
                let call = call_site(target, &spec_call).map_err(|(p, m)| {
                    let mut path = vec![name.as_str()];
                    path.extend(p);
                    err(&path, format!("client `{name}`: {m}"))
                })?;
                let classes = classes(&c.classes).map_err(|(i, m)| {
                    err(
                        &[name, "classes", INDEX[i.min(INDEX.len() - 1)]],
                        format!("client `{name}`: {m}"),
                    )
                })?;
                if let (Arrivals::Trace(events), n) = (&arrivals, classes.len()) {
                    if let Some(e) = events
                        .iter()
                        .find(|e| e.class.is_some_and(|c| c as usize >= n))
                    {
                        return Err(err(
                            &[name, "arrivals"],
                            format!(
                                "client `{name}`: the trace names class {} but the client has {n}",
                                e.class.unwrap_or(0)
                            ),
                        ));
                    }
                }
                let keys = match c.keys {
                    None => Keys::None,
                    Some(KeysSpec::Uniform { n }) if n > 0 => Keys::Uniform { n },
                    Some(KeysSpec::Zipf { s, n }) if n > 0 && s > 0.0 && s.is_finite() => {
                        Keys::Zipf { s, n }
                    }
                    Some(_) => {
                        return Err(err(
                            &[name, "keys"],
                            format!("client `{name}`: keys need n > 0 (and s > 0 for Zipf)"),
                        ))
                    }
                };
                let global: Vec<u16> = classes.iter().map(|k| class_ids[&k.name]).collect();
                ActorConfig::Client(ClientConfig {
                    class_ids: global,
                    arrivals,
                    call,
                    deadline: c.deadline.map(|d| d.0),
                    classes,
                    keys,
                })
            }
            spec::Node::Service(s) => {
                let at =
                    |field: &str, m: String| err(&[name, field], format!("service `{name}`: {m}"));
                if s.replicas == 0 && s.function.is_none() {
                    return Err(at("replicas", "needs at least 1 replica (only a function-style service may start with none)".into()));
                }
                let function = match s.function {
                    None => None,
                    Some(f) => {
                        let bad = |field: &str, m: &str| {
                            err(
                                &[name, "function", field],
                                format!("service `{name}`: function: {m}"),
                            )
                        };
                        if f.concurrency == 0 {
                            return Err(bad("concurrency", "an instance takes at least 1 request"));
                        }
                        if f.cap == 0 || f.cap < s.replicas {
                            return Err(bad("cap", "the cap must be at least 1 and at least the starting instances (`replicas`)"));
                        }
                        if !(f.price_per_request >= 0.0 && f.price_per_request.is_finite()) {
                            return Err(bad("price_per_request", "a price is zero or more"));
                        }
                        if s.autoscaler.is_some() {
                            return Err(at("autoscaler", "a function-style service scales with its requests: drop the autoscaler".into()));
                        }
                        Some(FunctionConfig {
                            concurrency: f.concurrency,
                            cap: f.cap,
                            idle_timeout: f.idle_timeout.0,
                            price_per_request: f.price_per_request,
                        })
                    }
                };
                for (size_name, z) in &s.sizes {
                    check_size(z.workers, z.speed, z.cost_per_hour).map_err(|(field, m)| {
                        err(
                            &[name, "sizes", size_name, field],
                            format!("service `{name}`: size `{size_name}`: {m}"),
                        )
                    })?;
                }
                let mut size = match &s.size {
                    Some(size_name) => {
                        let Some(z) = s.sizes.get(size_name) else {
                            return Err(at("size", unknown_size(size_name, &s.sizes)));
                        };
                        for (given, field) in [
                            (s.workers.is_some(), "workers"),
                            (s.speed.is_some(), "speed"),
                            (s.cost_per_hour.is_some(), "cost_per_hour"),
                        ] {
                            if given {
                                return Err(at(field, format!("`{field}` is given by size `{size_name}`: set one or the other")));
                            }
                        }
                        Size {
                            workers: z.workers,
                            speed: z.speed,
                            cost_per_hour: z.cost_per_hour,
                        }
                    }
                    None => Size {
                        workers: s.workers.unwrap_or(1),
                        speed: s.speed.unwrap_or(1.0),
                        cost_per_hour: s.cost_per_hour.unwrap_or(0.0),
                    },
                };
                check_size(size.workers, size.speed, size.cost_per_hour)
                    .map_err(|(field, m)| at(field, m))?;
                if let Some(f) = &function {
                    if s.workers.is_some() || s.size.is_some() {
                        return Err(at("function", "a function instance's workers are its `concurrency`: leave `workers` and `size` out".into()));
                    }
                    size.workers = f.concurrency;
                }
                let startup = s
                    .startup
                    .as_ref()
                    .map(|d| field_dist(d, "service", name, "startup"))
                    .transpose()?;
                let mut provisioning = Provisioning {
                    startup,
                    ..Provisioning::default()
                };
                if let Some(w) = s.warm_up {
                    if !(w.speed > 0.0 && w.speed <= 1.0) {
                        return Err(err(
                            &[name, "warm_up", "speed"],
                            format!(
                                "service `{name}`: a warm-up speed is a fraction in (0, 1], not {}",
                                w.speed
                            ),
                        ));
                    }
                    provisioning.warm_for = w.r#for.0;
                    provisioning.warm_speed = w.speed;
                }
                if matches!(s.order, spec::OrderSpec::AdaptiveLifo) && s.codel.is_none() {
                    return Err(at("order", "adaptive LIFO switches to LIFO while CoDel reports overload: add `codel: CoDel()`".into()));
                }
                if !matches!(s.when_full, spec::WhenFullSpec::Reject) && s.capacity.is_none() {
                    return Err(at(
                        "when_full",
                        "a queue without `capacity` is never full: set a capacity".into(),
                    ));
                }
                let queue = QueuePolicy {
                    when_full: match s.when_full {
                        spec::WhenFullSpec::Reject => WhenFull::Reject,
                        spec::WhenFullSpec::DropOldest => WhenFull::DropOldest,
                        spec::WhenFullSpec::Block => WhenFull::Block,
                    },
                    order: match s.order {
                        spec::OrderSpec::Fifo => Order::Fifo,
                        spec::OrderSpec::Lifo => Order::Lifo,
                        spec::OrderSpec::AdaptiveLifo => Order::AdaptiveLifo,
                    },
                    codel: match s.codel {
                        None => None,
                        Some(c) if c.target.0 > 0 && c.interval.0 > 0 => Some(CoDelConfig {
                            target: c.target.0,
                            interval: c.interval.0,
                        }),
                        Some(_) => {
                            return Err(at(
                                "codel",
                                "CoDel's target and interval must be longer than zero".into(),
                            ))
                        }
                    },
                    by_priority: s.priority,
                };
                let concurrency_limit = match s.concurrency_limit {
                    None => None,
                    Some(l) => Some(
                        concurrency_limit(l, s.function.is_some())
                            .map_err(|m| at("concurrency_limit", m))?,
                    ),
                };
                let degrade = match s.degrade {
                    None => None,
                    Some(spec::DegradeSpec::Brownout {
                        setpoint,
                        period,
                        window,
                        pole,
                        initial,
                    }) => {
                        if period.0 == 0 || window.0 < period.0 {
                            return Err(err(&[name, "degrade"], format!("service `{name}`: the period must be longer than zero and the window at least one period")));
                        }
                        if !(0.0..1.0).contains(&pole) || !(0.0..=1.0).contains(&initial) {
                            return Err(err(&[name, "degrade"], format!("service `{name}`: the pole is in [0, 1) and the initial dimmer in [0, 1]")));
                        }
                        Some(DegradeConfig::Brownout {
                            setpoint: setpoint.0,
                            period: period.0,
                            window: window.0,
                            pole,
                            initial,
                        })
                    }
                    Some(spec::DegradeSpec::Switch {
                        quantile,
                        above,
                        below,
                        window,
                        period,
                    }) => {
                        let below = below.unwrap_or(above);
                        if period.0 == 0 || window.0 < period.0 {
                            return Err(err(&[name, "degrade"], format!("service `{name}`: the period must be longer than zero and the window at least one period")));
                        }
                        if !(quantile > 0.0 && quantile < 1.0) || below.0 > above.0 {
                            return Err(err(&[name, "degrade"], format!("service `{name}`: the quantile is in (0, 1) and `below` at most `above`")));
                        }
                        Some(DegradeConfig::Switch {
                            quantile,
                            above: above.0,
                            below: below.0,
                            window: window.0,
                            period: period.0,
                        })
                    }
                };
                let autoscaler = match &s.autoscaler {
                    None => None,
                    Some(a) => Some(autoscaler(a, s, size).map_err(|(p, m)| {
                        let mut path = vec![name.as_str(), "autoscaler"];
                        path.extend(p);
                        err(&path, format!("service `{name}`: autoscaler: {m}"))
                    })?),
                };
                let service_time = dist(&s.service_time).map_err(|(p, m)| {
                    let mut path = vec![name.as_str(), "service_time"];
                    path.extend(p);
                    err(&path, format!("service `{name}`: service_time: {m}"))
                })?;
                let mut calls = Vec::new();
                let mut build_steps = |steps: &[StepSpec],
                                       prefix: &[&str]|
                 -> Result<Vec<Step>, Error> {
                    let mut handler = Vec::new();
                    for (i, st) in steps.iter().enumerate() {
                        let mut here: Vec<&str> = prefix.to_vec();
                        here.push(INDEX[i.min(INDEX.len() - 1)]);
                        let (st, optional) = match st {
                            StepSpec::Optional(inner) => {
                                here.push("0");
                                if matches!(inner.as_ref(), StepSpec::Optional(_)) {
                                    return Err(err(
                                        &here,
                                        format!("service `{name}`: an optional step is optional once: do not nest them"),
                                    ));
                                }
                                (inner.as_ref(), true)
                            }
                            st => (st, false),
                        };
                        let mut site = |c: &CallSpec, path: &[&str]| -> Result<u16, Error> {
                            let t = service_target(name, &c.target, path)?;
                            let cs = call_site(t, c).map_err(|(p, m)| {
                                let mut full = path.to_vec();
                                full.extend(p);
                                err(&full, format!("service `{name}`: {m}"))
                            })?;
                            calls.push(cs);
                            Ok((calls.len() - 1) as u16)
                        };
                        let step = match st {
                            StepSpec::Optional(_) => unreachable!("unwrapped above"),
                            StepSpec::Work => Step::Compute(None),
                            StepSpec::Compute(d) => {
                                Step::Compute(Some(dist(d).map_err(|(p, m)| {
                                    let mut path = here.to_vec();
                                    path.extend(p);
                                    err(&path, format!("service `{name}`: {m}"))
                                })?))
                            }
                            StepSpec::Call {
                                target,
                                timeout,
                                retry,
                                hedge,
                                breaker,
                                latency,
                                bulkhead,
                                pool,
                                on_failure,
                            } => {
                                let c = CallSpec {
                                    target: target.clone(),
                                    timeout: *timeout,
                                    retry: retry.clone(),
                                    hedge: *hedge,
                                    breaker: *breaker,
                                    latency: latency.clone(),
                                    bulkhead: *bulkhead,
                                    pool: *pool,
                                };
                                Step::Call {
                                    site: site(&c, &here)?,
                                    on_failure: on_fail(*on_failure),
                                }
                            }
                            StepSpec::Parallel {
                                calls: cs,
                                need,
                                on_failure,
                            } => {
                                if cs.is_empty() {
                                    return Err(err(
                                        &here,
                                        format!("service `{name}`: a Parallel step needs calls"),
                                    ));
                                }
                                let need = need.unwrap_or(cs.len() as u16);
                                if need == 0 || need as usize > cs.len() {
                                    return Err(err(
                                        &here,
                                        format!(
                                        "service `{name}`: need must be between 1 and the {} calls",
                                        cs.len()
                                    ),
                                    ));
                                }
                                let mut sites = Vec::new();
                                for (j, c) in cs.iter().enumerate() {
                                    let mut path = here.to_vec();
                                    path.extend(["calls", INDEX[j.min(INDEX.len() - 1)]]);
                                    if c.pool.is_some() {
                                        path.push("pool");
                                        return Err(err(&path, format!("service `{name}`: pools are on single calls: make this a `Call` step")));
                                    }
                                    sites.push(site(c, &path)?);
                                }
                                Step::Parallel {
                                    sites,
                                    need,
                                    on_failure: on_fail(*on_failure),
                                }
                            }
                        };
                        handler.push(if optional {
                            Step::Optional(Box::new(step))
                        } else {
                            step
                        });
                    }
                    Ok(handler)
                };
                let handler = build_steps(&s.handler, &[name.as_str(), "handler"])?;
                // A class named in `routes` or `class_limits` must be one some client sends.
                let class_id = |field: &str, what: &str, class: &str| -> Result<u16, Error> {
                    class_ids.get(class).copied().ok_or_else(|| {
                        let known: Vec<String> = class_ids.keys().map(|k| format!("`{k}`")).collect();
                        err(
                            &[name, field, class],
                            format!(
                                "service `{name}`: {what} for class `{class}`, which no client sends; classes are {}",
                                known.join(", ")
                            ),
                        )
                    })
                };
                let mut routes = Vec::new();
                for (class, steps) in &s.routes {
                    let id = class_id("routes", "a route", class)?;
                    routes.push((
                        id,
                        build_steps(steps, &[name.as_str(), "routes", class.as_str()])?,
                    ));
                }
                let limiter = |l: &spec::LimiterSpec,
                               path: &[&str]|
                 -> Result<LimiterConfig, Error> {
                    use spec::LimiterSpec as L;
                    let bad = |m: &str| Err(err(path, format!("service `{name}`: {m}")));
                    Ok(match *l {
                        L::TokenBucket { rate, burst, .. } | L::LeakyBucket { rate, burst, .. } | L::Gcra { rate, burst, .. }
                            if !(rate > 0.0 && rate.is_finite()) || (burst == 0 && matches!(l, L::TokenBucket { .. })) =>
                        {
                            return bad("a limiter needs a positive rate (and a token bucket a burst of at least 1)")
                        }
                        L::TokenBucket { rate, burst, max_delay } => LimiterConfig::TokenBucket { rate, burst, max_delay: max_delay.map_or(0, |d| d.0) },
                        L::LeakyBucket { rate, burst, max_delay } => LimiterConfig::LeakyBucket { rate, burst, max_delay: max_delay.map_or(0, |d| d.0) },
                        L::Gcra { rate, burst, max_delay } => LimiterConfig::Gcra { rate, burst, max_delay: max_delay.map_or(0, |d| d.0) },
                        L::FixedWindow { limit, window } | L::SlidingWindow { limit, window }
                            if limit == 0 || window.0 == 0 =>
                        {
                            return bad("a window limiter needs a limit and a window above zero")
                        }
                        L::FixedWindow { limit, window } => LimiterConfig::FixedWindow { limit, window: window.0 },
                        L::SlidingWindow { limit, window } => LimiterConfig::SlidingWindow { limit, window: window.0 },
                    })
                };
                let limit = s
                    .limit
                    .as_ref()
                    .map(|l| limiter(l, &[name.as_str(), "limit"]))
                    .transpose()?;
                let key_limit = match &s.key_limit {
                    None => None,
                    Some(l) if l.delays() => {
                        return Err(at(
                            "key_limit",
                            "a per-key limit refuses; it cannot delay (leave out `max_delay`)"
                                .into(),
                        ))
                    }
                    Some(l) => Some(limiter(l, &[name.as_str(), "key_limit"])?),
                };
                let mut class_limits = Vec::new();
                for (class, l) in &s.class_limits {
                    let id = class_id("class_limits", "a limit", class)?;
                    class_limits.push((
                        id,
                        limiter(l, &[name.as_str(), "class_limits", class.as_str()])?,
                    ));
                }
                ActorConfig::Service(ServiceConfig {
                    limit,
                    class_limits,
                    key_limit,
                    routes,
                    replicas: s.replicas,
                    workers: size.workers,
                    speed: size.speed,
                    capacity: s.capacity,
                    service_time,
                    handler,
                    calls,
                    drop_expired: s.drop_expired,
                    queue,
                    class_levels: class_levels.clone(),
                    faults: Vec::new(),
                    cost_per_hour: size.cost_per_hour,
                    provisioning,
                    autoscaler,
                    function,
                    degrade,
                    concurrency_limit,
                    watchers: Vec::new(),
                })
            }
            spec::Node::Queue(q) => {
                let at =
                    |field: &str, m: String| err(&[name, field], format!("queue `{name}`: {m}"));
                let consumer = service_target(name, &q.consumer, &[name, "consumer"])?;
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
                        return Err(err(
                            &[name, "windows", &idx],
                            format!("queue `{name}`: a window ends after it starts"),
                        ));
                    }
                }
                let publish = q
                    .publish
                    .as_ref()
                    .map(|d| field_dist(d, "queue", name, "publish"))
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
            }
            spec::Node::Database(d) => {
                let at =
                    |field: &str, m: String| err(&[name, field], format!("database `{name}`: {m}"));
                let primary = service_target(name, &d.primary, &[name, "primary"])?;
                let replicas = d
                    .replicas
                    .as_ref()
                    .map(|r| service_target(name, r, &[name, "replicas"]))
                    .transpose()?;
                if replicas == Some(primary) {
                    return Err(at(
                        "replicas",
                        "the replicas must be another node than the primary".into(),
                    ));
                }
                let lag = field_dist(&d.lag, "database", name, "lag")?;
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
                    write_class: class_writes.clone(),
                })
            }
            spec::Node::Cache(c) => {
                let at =
                    |field: &str, m: String| err(&[name, field], format!("cache `{name}`: {m}"));
                let backend = service_target(name, &c.backend, &[name, "backend"])?;
                if c.capacity == 0 {
                    return Err(at("capacity", "a cache holds at least 1 entry".into()));
                }
                if c.ttl.is_some_and(|t| t.0 == 0) {
                    return Err(at(
                        "ttl",
                        "a TTL of 0 would expire every entry at once: leave `ttl` out for none"
                            .into(),
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
                    .map(|d| field_dist(d, "cache", name, "lookup"))
                    .transpose()?;
                let mut cacheable = vec![c.classes.is_empty(); class_ids.len()];
                for (i, k) in c.classes.iter().enumerate() {
                    let Some(id) = class_ids.get(k) else {
                        let known: Vec<String> =
                            class_ids.keys().map(|k| format!("`{k}`")).collect();
                        let idx = i.to_string();
                        return Err(err(
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
                    write_class: class_writes.clone(),
                })
            }
            spec::Node::Balancer(b) => {
                let at =
                    |field: &str, m: String| err(&[name, field], format!("balancer `{name}`: {m}"));
                let target = service_target(name, &b.target, &[name, "target"])?;
                let Some(spec::Node::Service(svc)) = model.nodes.get(&b.target) else {
                    return Err(at("target", format!("`{}` is not a service: a balancer spreads load over a service's replicas", b.target)));
                };
                if svc.function.is_some() {
                    return Err(at("target", format!("`{}` is function-style: its platform routes each request to an instance; call it directly", b.target)));
                }
                let replicas = svc.replicas;
                let algorithm = match &b.algorithm {
                    AlgorithmSpec::RoundRobin => Algorithm::RoundRobin,
                    AlgorithmSpec::WeightedRoundRobin { weights } => {
                        if weights.len() != replicas as usize {
                            return Err(at(
                                "algorithm",
                                format!(
                                    "{} weights for {replicas} replicas of `{}`",
                                    weights.len(),
                                    b.target
                                ),
                            ));
                        }
                        if weights.iter().all(|w| *w == 0) {
                            return Err(at(
                                "algorithm",
                                "every weight is zero: no replica would get traffic".into(),
                            ));
                        }
                        Algorithm::WeightedRoundRobin(weights.clone())
                    }
                    AlgorithmSpec::Random => Algorithm::Random,
                    AlgorithmSpec::LeastOutstanding => Algorithm::LeastOutstanding,
                    AlgorithmSpec::PowerOfChoices { d } => {
                        if *d == 0 {
                            return Err(at(
                                "algorithm",
                                "power of choices needs d of at least 1".into(),
                            ));
                        }
                        Algorithm::PowerOfChoices(*d)
                    }
                    AlgorithmSpec::RingHash { vnodes } => {
                        if *vnodes == 0 {
                            return Err(at(
                                "algorithm",
                                "a hash ring needs at least 1 point per replica".into(),
                            ));
                        }
                        Algorithm::RingHash { vnodes: *vnodes }
                    }
                    AlgorithmSpec::Maglev { table } => {
                        if *table < replicas.max(2) || !is_prime(*table) {
                            return Err(at("algorithm", format!("a Maglev table size must be a prime at least the replica count (65537 is usual), not {table}")));
                        }
                        Algorithm::Maglev { table: *table }
                    }
                    AlgorithmSpec::ShardByHash => Algorithm::ShardByHash,
                    AlgorithmSpec::ShardByRange { keys } => {
                        if *keys < replicas as u64 {
                            return Err(at("algorithm", format!("{keys} keys cannot fill {replicas} ranges: give the size of the key space (a client's `keys` n)")));
                        }
                        Algorithm::ShardByRange { keys: *keys }
                    }
                };
                let health_check = match b.health_check {
                    None => None,
                    Some(h) => {
                        if h.interval.0 == 0
                            || h.timeout.0 == 0
                            || h.healthy == 0
                            || h.unhealthy == 0
                        {
                            return Err(at(
                                "health_check",
                                "interval, timeout and thresholds must be above zero".into(),
                            ));
                        }
                        Some(HealthCheck {
                            interval: h.interval.0,
                            timeout: h.timeout.0,
                            healthy: h.healthy,
                            unhealthy: h.unhealthy,
                        })
                    }
                };
                let outlier = match b.outlier {
                    None => None,
                    Some(o) => {
                        if o.consecutive_errors == 0
                            || o.base_ejection.0 == 0
                            || !(o.max_percent > 0.0 && o.max_percent <= 100.0)
                        {
                            return Err(at("outlier", "consecutive_errors and base_ejection must be above zero, max_percent in (0, 100]".into()));
                        }
                        Some(Outlier {
                            consecutive_errors: o.consecutive_errors,
                            base_ejection: o.base_ejection.0,
                            max_ejection: o.max_ejection.0,
                            max_percent: o.max_percent,
                        })
                    }
                };
                ActorConfig::Balancer(BalancerConfig {
                    target,
                    replicas,
                    algorithm,
                    health_check,
                    outlier,
                    affinity: b.affinity,
                })
            }
        };
        out.push((name.clone(), cfg));
    }
    check_cycles(&out).map_err(|(node, cycle)| err(&[&node, "handler"], cycle))?;
    // Balancers learn of replicas joining and leaving from their service.
    let watchers: Vec<(usize, ActorId)> = out
        .iter()
        .enumerate()
        .filter_map(|(i, (_, c))| match c {
            ActorConfig::Balancer(b) => Some((b.target.0 as usize, ActorId(i as u32))),
            _ => None,
        })
        .collect();
    for (target, balancer) in watchers {
        if let ActorConfig::Service(s) = &mut out[target].1 {
            s.watchers.push(balancer);
        }
    }
    for (f, span) in faults {
        attach_fault(&mut out, model, f).map_err(|m| Error::at(*span, m))?;
    }
    Ok(out)
}

fn check_size(workers: u32, speed: f64, cost: f64) -> Result<(), (&'static str, String)> {
    if workers == 0 {
        return Err(("workers", "needs at least 1 worker per replica".into()));
    }
    if !(speed > 0.0 && speed.is_finite()) {
        return Err((
            "speed",
            format!("speed must be a positive number, not {speed}"),
        ));
    }
    if !(cost >= 0.0 && cost.is_finite()) {
        return Err(("cost_per_hour", "cost_per_hour must be zero or more".into()));
    }
    Ok(())
}

fn unknown_size<V>(size: &str, sizes: &std::collections::BTreeMap<String, V>) -> String {
    if sizes.is_empty() {
        format!("no size `{size}`: the service has no `sizes`; add sizes: {{ \"{size}\": Size(workers: 4, speed: 1.0, cost_per_hour: 0.2) }}")
    } else {
        let known: Vec<String> = sizes.keys().map(|k| format!("`{k}`")).collect();
        format!("no size `{size}`; sizes are {}", known.join(", "))
    }
}

fn autoscaler(
    a: &spec::AutoscalerSpec,
    svc: &spec::ServiceSpec,
    size: Size,
) -> Result<AutoscalerConfig, Problem> {
    use crate::components::autoscaler::{
        Adjustment, Behavior, HpaConfig, Metric, PolicyConfig, RatePolicy, ScalingStep, Scheduled,
        Select, StepScalingConfig, TargetTrackingConfig, VerticalConfig,
    };
    use spec::{AdjustSpec, MetricSpec, RatePolicySpec, ScalingPolicySpec, SelectSpec};
    let replicas = svc.replicas;
    let vertical = matches!(a.policy, ScalingPolicySpec::Vertical { .. });
    let max = match (a.max, vertical) {
        (Some(m), _) => m,
        // A vertical policy leaves the count alone.
        (None, true) => replicas.max(a.min),
        (None, false) => {
            return Err((
                vec!["max"],
                "missing field `max`: the most replicas the autoscaler may run".into(),
            ))
        }
    };
    if a.min == 0 {
        return Err((
            vec!["min"],
            "min must be at least 1 (scaling to zero is not modelled)".into(),
        ));
    }
    if max < a.min {
        return Err((vec!["max"], format!("max ({max}) is below min ({})", a.min)));
    }
    if !(a.min..=max).contains(&replicas) {
        return Err((
            vec!["min"],
            format!(
                "the service starts with {replicas} replicas, outside [min, max] = [{}, {max}]",
                a.min
            ),
        ));
    }
    let (metric, target) = match a.metric {
        MetricSpec::Utilization(t) => (Metric::Utilization, t),
        MetricSpec::Concurrency(t) => (Metric::Concurrency, t),
        MetricSpec::QueueLength(t) => (Metric::QueueLength, t),
        MetricSpec::RequestsPerReplica(t) => (Metric::RequestsPerReplica, t),
    };
    if !(target > 0.0 && target.is_finite()) {
        return Err((
            vec!["metric"],
            format!("the metric's target must be positive, not {target}"),
        ));
    }
    if metric == Metric::Utilization && target > 1.0 {
        return Err((
            vec!["metric"],
            format!("a utilization target is a fraction in (0, 1], not {target}"),
        ));
    }
    if a.window.0 < crate::components::autoscaler::SCRAPE {
        return Err((
            vec!["window"],
            "the window must be at least 1s (metrics are sampled every second)".into(),
        ));
    }
    let positive = |d: spec::Duration, field: &'static str| {
        if d.0 > 0 {
            Ok(d.0)
        } else {
            Err((vec![field], format!("{field} must be longer than zero")))
        }
    };
    let behavior = |b: &spec::BehaviorSpec,
                    default: Behavior,
                    field: &'static str|
     -> Result<Behavior, Problem> {
        let policies = match &b.policies {
            None => default.policies,
            Some(ps) => {
                let mut out = Vec::new();
                for p in ps {
                    let (value, period) = match p {
                        RatePolicySpec::Pods { value, period }
                        | RatePolicySpec::Percent { value, period } => (*value, *period),
                    };
                    if value == 0 || period.0 == 0 || period.0 > 1800 * 1_000_000_000 {
                        return Err((
                            vec![field, "policies"],
                            "a policy needs a value above 0 and a period in (0s, 30m]".into(),
                        ));
                    }
                    out.push(match p {
                        RatePolicySpec::Pods { .. } => RatePolicy::Pods {
                            value,
                            period: period.0,
                        },
                        RatePolicySpec::Percent { .. } => RatePolicy::Percent {
                            value,
                            period: period.0,
                        },
                    });
                }
                if out.is_empty() {
                    return Err((
                        vec![field, "policies"],
                        "at least one policy (or leave `policies` out for the defaults)".into(),
                    ));
                }
                out
            }
        };
        let stabilization = b.stabilization.map_or(default.stabilization, |d| d.0);
        if stabilization > 3600 * 1_000_000_000 {
            return Err((
                vec![field, "stabilization"],
                "a stabilization window is at most 1h".into(),
            ));
        }
        Ok(Behavior {
            stabilization,
            policies,
            select: match b.select {
                None => default.select,
                Some(SelectSpec::Max) => Select::Max,
                Some(SelectSpec::Min) => Select::Min,
                Some(SelectSpec::Disabled) => Select::Disabled,
            },
        })
    };
    let policy = match &a.policy {
        ScalingPolicySpec::Hpa {
            sync_period,
            tolerance,
            scale_up,
            scale_down,
        } => {
            if !(0.0..1.0).contains(tolerance) {
                return Err((
                    vec!["policy", "tolerance"],
                    format!("a tolerance is a fraction in [0, 1), not {tolerance}"),
                ));
            }
            PolicyConfig::Hpa(HpaConfig {
                sync_period: positive(*sync_period, "sync_period")?,
                tolerance: *tolerance,
                up: behavior(scale_up, Behavior::default_up(), "scale_up")?,
                down: behavior(scale_down, Behavior::default_down(), "scale_down")?,
            })
        }
        ScalingPolicySpec::TargetTracking {
            period,
            out_datapoints,
            in_datapoints,
            scale_out_cooldown,
            scale_in_cooldown,
            disable_scale_in,
        } => {
            if *out_datapoints == 0 || *in_datapoints == 0 {
                return Err((vec!["policy"], "datapoints must be at least 1".into()));
            }
            PolicyConfig::TargetTracking(TargetTrackingConfig {
                period: positive(*period, "period")?,
                out_datapoints: *out_datapoints,
                in_datapoints: *in_datapoints,
                out_cooldown: scale_out_cooldown.0,
                in_cooldown: scale_in_cooldown.0,
                disable_scale_in: *disable_scale_in,
            })
        }
        ScalingPolicySpec::Vertical {
            sizes,
            period,
            stabilization,
            strategy,
            restart,
        } => {
            if metric != Metric::Utilization {
                return Err((
                    vec!["metric"],
                    "vertical scaling works on `Utilization`: a bigger machine lowers it in proportion".into(),
                ));
            }
            let mut ladder = Vec::new();
            for name in sizes {
                let Some(z) = svc.sizes.get(name) else {
                    return Err((vec!["policy", "sizes"], unknown_size(name, &svc.sizes)));
                };
                ladder.push(Size {
                    workers: z.workers,
                    speed: z.speed,
                    cost_per_hour: z.cost_per_hour,
                });
            }
            let cap = |s: &Size| s.workers as f64 * s.speed;
            if ladder.is_empty() || ladder.windows(2).any(|w| cap(&w[0]) >= cap(&w[1])) {
                return Err((
                    vec!["policy", "sizes"],
                    "list at least one size, in order of increasing capacity (workers × speed)"
                        .into(),
                ));
            }
            let Some(initial) = svc
                .size
                .as_ref()
                .and_then(|n| sizes.iter().position(|x| x == n))
            else {
                return Err((
                    vec!["policy", "sizes"],
                    "the service's `size` must be one of the sizes listed".into(),
                ));
            };
            debug_assert_eq!(ladder[initial], size);
            PolicyConfig::Vertical(VerticalConfig {
                period: positive(*period, "period")?,
                sizes: ladder,
                initial,
                stabilization: stabilization.0,
                surge: matches!(strategy, spec::ResizeStrategy::Surge),
                restart: restart.map(|d| d.0),
            })
        }
        ScalingPolicySpec::StepScaling {
            period,
            steps,
            datapoints,
            cooldown,
        } => {
            if steps.is_empty() {
                return Err((
                    vec!["policy", "steps"],
                    "step scaling needs at least one step".into(),
                ));
            }
            let mut out: Vec<ScalingStep> = Vec::new();
            for st in steps {
                let lo = st.lower.unwrap_or(f64::NEG_INFINITY);
                let hi = st.upper.unwrap_or(f64::INFINITY);
                if lo >= hi || (lo < 0.0 && hi > 0.0) {
                    return Err((vec!["policy", "steps"], format!("a step's bounds must satisfy lower < upper on one side of the threshold (both ≥ 0 or both ≤ 0), not [{lo}, {hi}]")));
                }
                let overlaps = out.iter().any(|o| {
                    let (a, b) = (
                        o.lower.unwrap_or(f64::NEG_INFINITY),
                        o.upper.unwrap_or(f64::INFINITY),
                    );
                    lo < b && a < hi
                });
                if overlaps {
                    return Err((
                        vec!["policy", "steps"],
                        format!("steps overlap at [{lo}, {hi}]"),
                    ));
                }
                out.push(ScalingStep {
                    lower: st.lower,
                    upper: st.upper,
                    adjustment: match st.adjust {
                        AdjustSpec::Change(n) => Adjustment::Change(n),
                        AdjustSpec::Percent(p) => Adjustment::Percent(p),
                        AdjustSpec::Exact(n) => Adjustment::Exact(n),
                    },
                });
            }
            PolicyConfig::StepScaling(StepScalingConfig {
                period: positive(*period, "period")?,
                threshold: target,
                steps: out,
                datapoints: (*datapoints).max(1),
                cooldown: cooldown.0,
            })
        }
    };
    let schedule = a
        .schedule
        .iter()
        .map(|s| Scheduled {
            at: s.at.0,
            min: s.min,
            max: s.max,
        })
        .collect();
    Ok(AutoscalerConfig {
        min: a.min,
        max,
        metric,
        target,
        window: a.window.0,
        lag: a.lag.0,
        policy,
        schedule,
    })
}

fn is_prime(n: u32) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn on_fail(f: OnFailureSpec) -> OnFailure {
    match f {
        OnFailureSpec::Fail => OnFailure::Fail,
        OnFailureSpec::Continue => OnFailure::Continue,
    }
}

/// Synchronous calls must not loop: a request would wait on itself forever.
fn check_cycles(nodes: &[(String, ActorConfig)]) -> Result<(), (String, String)> {
    let edges: Vec<Vec<usize>> = nodes
        .iter()
        .map(|(_, c)| match c {
            ActorConfig::Service(s) => s.calls.iter().map(|c| c.target.0 as usize).collect(),
            ActorConfig::Balancer(b) => vec![b.target.0 as usize],
            ActorConfig::Cache(c) => vec![c.backend.0 as usize],
            // Producers do not wait for the consumer: no synchronous edge.
            ActorConfig::Broker(_) => Vec::new(),
            ActorConfig::Database(d) => std::iter::once(d.primary.0 as usize)
                .chain(d.replicas.map(|r| r.0 as usize))
                .collect(),
            ActorConfig::Client(_) => Vec::new(),
        })
        .collect();
    // Depth-first search with colours: 0 unseen, 1 on the stack, 2 done.
    fn visit(
        v: usize,
        edges: &[Vec<usize>],
        colour: &mut [u8],
        stack: &mut Vec<usize>,
    ) -> Option<Vec<usize>> {
        colour[v] = 1;
        stack.push(v);
        for &w in &edges[v] {
            if colour[w] == 1 {
                let from = stack.iter().position(|&x| x == w).expect("on the stack");
                let mut cycle = stack[from..].to_vec();
                cycle.push(w);
                return Some(cycle);
            }
            if colour[w] == 0 {
                if let Some(c) = visit(w, edges, colour, stack) {
                    return Some(c);
                }
            }
        }
        stack.pop();
        colour[v] = 2;
        None
    }
    let mut colour = vec![0u8; nodes.len()];
    for v in 0..nodes.len() {
        if colour[v] == 0 {
            if let Some(cycle) = visit(v, &edges, &mut colour, &mut Vec::new()) {
                let names: Vec<&str> = cycle.iter().map(|&i| nodes[i].0.as_str()).collect();
                return Err((
                    names[0].to_string(),
                    format!("a cycle of synchronous calls: {}", names.join(" → ")),
                ));
            }
        }
    }
    Ok(())
}

/// A concurrency limit from its spec, or what is wrong with it.
fn concurrency_limit(
    l: spec::ConcurrencyLimitSpec,
    function: bool,
) -> Result<LimitAlgorithm, String> {
    use spec::ConcurrencyLimitSpec as S;
    if function {
        return Err("a function-style service limits each instance with `concurrency`".into());
    }
    let range = |initial: u32, min: u32, max: u32| {
        if min == 0 || min > initial || initial > max {
            Err(format!(
                "need 1 <= min <= initial <= max, got min {min}, initial {initial}, max {max}"
            ))
        } else {
            Ok(())
        }
    };
    Ok(match l {
        S::Fixed(0) => return Err("a limit of 0 would refuse every request".into()),
        S::Fixed(n) => LimitAlgorithm::Fixed(n),
        S::Aimd {
            initial,
            min,
            max,
            backoff,
            timeout,
        } => {
            range(initial, min, max)?;
            if !(0.5..1.0).contains(&backoff) {
                return Err(format!("the backoff ratio is in [0.5, 1), not {backoff}"));
            }
            if timeout.0 == 0 {
                return Err("the timeout must be longer than zero".into());
            }
            LimitAlgorithm::Aimd {
                initial,
                min,
                max,
                backoff,
                timeout: timeout.0,
            }
        }
        S::Gradient2 {
            initial,
            min,
            max,
            smoothing,
            queue_size,
            tolerance,
            long_window,
        } => {
            range(initial, min, max)?;
            if !(smoothing > 0.0 && smoothing <= 1.0) {
                return Err(format!("smoothing is in (0, 1], not {smoothing}"));
            }
            if tolerance.is_nan() || tolerance < 1.0 || long_window == 0 {
                return Err(format!(
                    "the RTT tolerance is at least 1 ({tolerance}) and the long window at least 1 sample ({long_window})"
                ));
            }
            LimitAlgorithm::Gradient2 {
                initial,
                min,
                max,
                smoothing,
                queue_size,
                tolerance,
                long_window,
            }
        }
    })
}

fn attach_fault(
    nodes: &mut [(String, ActorConfig)],
    model: &Model,
    f: &FaultSpec,
) -> Result<(), String> {
    if let FaultSpec::Latency {
        from,
        to,
        at,
        r#for,
        add,
    } = f
    {
        let Some(to_id) = nodes.iter().position(|(n, _)| n == to) else {
            return Err(format!("latency fault toward `{to}`, which is not a node"));
        };
        let window = (at.0, at.0 + r#for.0, add.0);
        let sites: Vec<&mut CallSite> = match nodes.iter_mut().find(|(n, _)| n == from) {
            Some((_, ActorConfig::Client(c))) => vec![&mut c.call],
            Some((_, ActorConfig::Service(s))) => s.calls.iter_mut().collect(),
            Some(_) => return Err(format!("`{from}` makes no calls of its own")),
            None => return Err(format!("latency fault from `{from}`, which is not a node")),
        };
        let mut found = false;
        for site in sites {
            if site.target.0 as usize == to_id {
                site.extra_latency.push(window);
                found = true;
            }
        }
        if !found {
            return Err(format!(
                "`{from}` does not call `{to}`: no edge to slow down"
            ));
        }
        return Ok(());
    }
    let (node, at, until, kind) = match f {
        FaultSpec::Slowdown {
            node,
            replica,
            at,
            r#for,
            factor,
        } => {
            if !(*factor > 0.0 && factor.is_finite()) {
                return Err(format!("a slowdown factor must be positive, not {factor}"));
            }
            (
                node,
                at.0,
                Some(at.0 + r#for.0),
                FaultKind::Slowdown {
                    factor: *factor,
                    replica: *replica,
                },
            )
        }
        FaultSpec::Errors {
            node,
            replica,
            at,
            r#for,
            rate,
        } => {
            if !(0.0..=1.0).contains(rate) {
                return Err(format!(
                    "an error rate is a probability in [0, 1], not {rate}"
                ));
            }
            (
                node,
                at.0,
                Some(at.0 + r#for.0),
                FaultKind::Errors {
                    rate: *rate,
                    replica: *replica,
                },
            )
        }
        FaultSpec::Crash {
            node,
            replica,
            at,
            r#for,
        } => (
            node,
            at.0,
            r#for.map(|d| at.0 + d.0),
            FaultKind::Crash { replica: *replica },
        ),
        FaultSpec::Scale { node, at, replicas } => {
            if *replicas == 0 {
                return Err("a scaling action needs at least 1 replica".into());
            }
            (
                node,
                at.0,
                None,
                FaultKind::Scale {
                    replicas: *replicas,
                },
            )
        }
        FaultSpec::Deploy {
            node,
            at,
            strategy,
            restart,
        } => {
            let (max_surge, max_unavailable, blue_green) = match strategy {
                spec::DeployStrategy::Rolling => (Bound::Percent(25), Bound::Percent(25), false),
                spec::DeployStrategy::RollingUpdate {
                    max_surge,
                    max_unavailable,
                } => {
                    if *max_surge == 0 && *max_unavailable == 0 {
                        return Err("max_surge and max_unavailable cannot both be 0: the rollout could never start".into());
                    }
                    (
                        Bound::Count(*max_surge),
                        Bound::Count(*max_unavailable),
                        false,
                    )
                }
                spec::DeployStrategy::BlueGreen => (Bound::Count(0), Bound::Count(0), true),
            };
            let rollout = Rollout {
                max_surge,
                max_unavailable,
                blue_green,
                size: None,
                restart: restart.map(|d| d.0),
            };
            (node, at.0, None, FaultKind::Rollout(rollout))
        }
        FaultSpec::Resize {
            node,
            at,
            size,
            strategy,
            restart,
        } => {
            let Some(spec::Node::Service(svc)) = model.nodes.get(node) else {
                return Err(format!("resize of `{node}`, which is not a service"));
            };
            let Some(z) = svc.sizes.get(size) else {
                return Err(format!("`{node}`: {}", unknown_size(size, &svc.sizes)));
            };
            let (max_surge, max_unavailable) = match strategy {
                spec::ResizeStrategy::Restart => (0, 1),
                spec::ResizeStrategy::Surge => (1, 0),
            };
            let rollout = Rollout {
                max_surge: Bound::Count(max_surge),
                max_unavailable: Bound::Count(max_unavailable),
                blue_green: false,
                size: Some(Size {
                    workers: z.workers,
                    speed: z.speed,
                    cost_per_hour: z.cost_per_hour,
                }),
                restart: restart.map(|d| d.0),
            };
            (node, at.0, None, FaultKind::Rollout(rollout))
        }
        FaultSpec::Canary {
            node,
            at,
            r#for,
            replicas,
            factor,
            rate,
        } => {
            if *replicas == 0 {
                return Err("a canary needs at least 1 replica".into());
            }
            if !(*factor > 0.0 && factor.is_finite()) {
                return Err(format!(
                    "a canary's slowdown factor must be positive, not {factor}"
                ));
            }
            if !(0.0..=1.0).contains(rate) {
                return Err(format!(
                    "an error rate is a probability in [0, 1], not {rate}"
                ));
            }
            (
                node,
                at.0,
                Some(at.0 + r#for.0),
                FaultKind::Canary {
                    replicas: *replicas,
                    factor: *factor,
                    rate: *rate,
                },
            )
        }
        FaultSpec::Latency { .. } => unreachable!("handled above"),
    };
    let known: Vec<String> = nodes.iter().map(|(n, _)| format!("`{n}`")).collect();
    let Some((_, cfg)) = nodes.iter_mut().find(|(n, _)| n == node) else {
        return Err(format!(
            "fault on `{node}`, which is not a node; nodes are {}",
            known.join(", ")
        ));
    };
    let ActorConfig::Service(s) = cfg else {
        return Err(format!("fault on `{node}`, which is not a service"));
    };
    let replica = match kind {
        FaultKind::Crash { replica } => Some(replica),
        FaultKind::Slowdown { replica, .. } | FaultKind::Errors { replica, .. } => replica,
        FaultKind::Scale { .. } | FaultKind::Rollout(_) | FaultKind::Canary { .. } => None,
    };
    if let Some(replica) = replica {
        if replica >= s.replicas {
            return Err(format!(
                "`{node}` has {} replicas (numbered from 0); there is no replica {replica}",
                s.replicas
            ));
        }
    }
    if s.function.is_some()
        && matches!(
            kind,
            FaultKind::Scale { .. } | FaultKind::Rollout(_) | FaultKind::Canary { .. }
        )
    {
        return Err(format!("`{node}` is function-style: its instances follow demand, so it cannot be scaled or rolled out"));
    }
    s.faults.push(Fault { at, until, kind });
    Ok(())
}

fn classes(specs: &[ClassSpec]) -> Result<Vec<Class>, (usize, String)> {
    if specs.is_empty() {
        return Ok(vec![Class {
            name: "default".into(),
            weight: 1.0,
            priority: 0,
            deadline: None,
        }]);
    }
    let mut out: Vec<Class> = Vec::new();
    for (i, c) in specs.iter().enumerate() {
        if !(c.weight >= 0.0 && c.weight.is_finite()) {
            return Err((
                i,
                format!("class `{}`: weight must be zero or more", c.name),
            ));
        }
        if c.name.is_empty() || c.name.contains(['.', ' ']) || out.iter().any(|o| o.name == c.name)
        {
            return Err((
                i,
                format!(
                    "class names must be distinct, non-empty, without dots or spaces: `{}`",
                    c.name
                ),
            ));
        }
        out.push(Class {
            name: c.name.clone(),
            weight: c.weight,
            priority: c.priority,
            deadline: c.deadline.map(|d| d.0),
        });
    }
    if out.iter().all(|c| c.weight == 0.0) {
        return Err((0, "every class has weight 0".into()));
    }
    Ok(out)
}

fn call_site(target: ActorId, c: &CallSpec) -> Result<CallSite, Problem> {
    let (timeout, retry, hedge, breaker, latency) = (
        c.timeout,
        c.retry.as_ref(),
        c.hedge,
        c.breaker,
        c.latency.as_ref(),
    );
    let pool = match c.pool {
        None => None,
        Some(p) if p.size == 0 => {
            return Err((
                vec!["pool", "size"],
                "a pool of 0 connections would never call".into(),
            ))
        }
        Some(p) => Some(crate::components::pool::PoolConfig {
            size: p.size,
            acquire_timeout: p.acquire_timeout.map(|t| t.0),
        }),
    };
    if c.bulkhead == Some(0) {
        return Err((
            vec!["bulkhead"],
            "a bulkhead of 0 would refuse every call".into(),
        ));
    }
    let breaker = match breaker {
        None => None,
        Some(b) => {
            let window = match b.window {
                spec::WindowSpec::Count(n) if n > 0 => crate::components::breaker::Window::Count(n),
                spec::WindowSpec::Time(n) if n > 0 => crate::components::breaker::Window::Time(n),
                _ => {
                    return Err((
                        vec!["breaker", "window"],
                        "a breaker window needs at least 1 call or second".into(),
                    ))
                }
            };
            for (field, v) in [
                ("failure_rate", b.failure_rate),
                ("slow_call_rate", b.slow_call_rate),
            ] {
                if !(v > 0.0 && v <= 100.0) {
                    return Err((
                        vec!["breaker", field],
                        format!("{field} is a percentage in (0, 100], not {v}"),
                    ));
                }
            }
            if b.minimum_calls == 0 || b.half_open_calls == 0 || b.wait_open.0 == 0 {
                return Err((
                    vec!["breaker"],
                    "minimum_calls, half_open_calls and wait_open must be above zero".into(),
                ));
            }
            Some(crate::components::breaker::BreakerConfig {
                window,
                failure_rate: b.failure_rate,
                slow_rate: b.slow_call_rate,
                slow_after: b.slow_call_duration.0,
                min_calls: b.minimum_calls,
                wait_open: b.wait_open.0,
                half_open_calls: b.half_open_calls,
                auto_half_open: b.automatic_half_open,
                fallback: b.fallback,
            })
        }
    };
    if hedge.is_some_and(|h| h.after.0 == 0 || h.max == 0) {
        return Err((
            vec!["hedge"],
            "a hedge needs a delay above zero and max of at least 1".into(),
        ));
    }
    if timeout.is_some_and(|t| t.0 == 0) {
        return Err((
            vec!["timeout"],
            "a timeout of zero would fail every call".into(),
        ));
    }
    let retry = retry.map(retry_policy).transpose().map_err(|(mut p, m)| {
        p.insert(0, "retry");
        (p, m)
    })?;
    let latency = latency
        .map(|d| dist(d).and_then(|p| Sampler::new(&p).map_err(|e| (vec![], e))))
        .transpose()
        .map_err(|(mut p, m)| {
            p.insert(0, "latency");
            (p, format!("latency: {m}"))
        })?;
    Ok(CallSite {
        target,
        timeout: timeout.map(|t| t.0),
        retry,
        latency,
        extra_latency: Vec::new(),
        hedge: hedge.map(|h| (h.after.0, h.max)),
        breaker,
        bulkhead: c.bulkhead,
        pool,
    })
}

fn retry_policy(r: &RetrySpec) -> Result<RetryPolicy, Problem> {
    if r.max_attempts == 0 {
        return Err((
            vec!["max_attempts"],
            "max_attempts counts the first attempt: at least 1".into(),
        ));
    }
    let backoff = match r.backoff {
        BackoffSpec::Fixed(d) => Backoff::Fixed(d.0),
        BackoffSpec::Exponential { base, cap, jitter } => {
            if base.0 == 0 {
                return Err((
                    vec!["backoff", "base"],
                    "an exponential backoff needs a base above zero".into(),
                ));
            }
            if cap.0 < base.0 {
                return Err((
                    vec!["backoff", "cap"],
                    format!(
                        "the backoff cap ({}s) is below its base ({}s)",
                        cap.secs(),
                        base.secs()
                    ),
                ));
            }
            let jitter = match jitter {
                JitterSpec::None => Jitter::None,
                JitterSpec::Full => Jitter::Full,
                JitterSpec::Equal => Jitter::Equal,
                JitterSpec::Decorrelated => Jitter::Decorrelated,
            };
            Backoff::Exponential {
                base: base.0,
                cap: cap.0,
                jitter,
            }
        }
    };
    if r.on.is_empty() {
        return Err((
            vec!["on"],
            "`on` is empty: nothing would be retried; remove `retry` instead".into(),
        ));
    }
    let budget = match r.budget {
        None => None,
        Some(b) if b.percent > 0.0 && b.percent <= 100.0 => Some(Budget {
            percent: b.percent,
            min_concurrency: b.min_concurrency,
        }),
        Some(b) => {
            return Err((
                vec!["budget", "percent"],
                format!(
                    "a retry budget is a percentage in (0, 100], not {}",
                    b.percent
                ),
            ))
        }
    };
    let quota = match r.quota {
        None => None,
        Some(q) if q.capacity > 0 && q.retry_cost > 0 && q.timeout_cost > 0 => Some(QuotaConfig {
            capacity: q.capacity,
            retry_cost: q.retry_cost,
            timeout_cost: q.timeout_cost,
            success_refill: q.success_refill,
        }),
        Some(_) => {
            return Err((
                vec!["quota"],
                "a retry quota needs a capacity and costs above zero".into(),
            ))
        }
    };
    Ok(RetryPolicy {
        max_attempts: r.max_attempts,
        backoff,
        on: RetryOn {
            timeout: r.on.contains(&RetryOnSpec::Timeout),
            error: r.on.contains(&RetryOnSpec::Error),
            rejected: r.on.contains(&RetryOnSpec::Rejected),
        },
        budget,
        quota,
    })
}

type Problem = (Vec<&'static str>, String);

fn positive_rate(rate: f64) -> Result<(), Problem> {
    if rate > 0.0 && rate.is_finite() {
        Ok(())
    } else {
        Err((
            vec!["rate"],
            format!("rate must be a positive number of requests per second, not {rate}"),
        ))
    }
}

fn arrivals(a: &ArrivalsSpec, base: &Path) -> Result<Arrivals, Problem> {
    Ok(match a {
        ArrivalsSpec::Poisson { rate } => {
            positive_rate(*rate)?;
            Arrivals::Poisson { rate: *rate }
        }
        ArrivalsSpec::Constant { rate } => {
            positive_rate(*rate)?;
            Arrivals::Constant { rate: *rate }
        }
        ArrivalsSpec::Schedule { steps } => {
            if steps.is_empty() {
                return Err((vec!["steps"], "a schedule needs at least one step".into()));
            }
            for (i, w) in steps.windows(2).enumerate() {
                if w[1].at.0 <= w[0].at.0 {
                    return Err((
                        vec!["steps", INDEX[(i + 1).min(INDEX.len() - 1)]],
                        "schedule steps must be in strictly increasing time order".into(),
                    ));
                }
            }
            for (i, s) in steps.iter().enumerate() {
                if !(s.rate >= 0.0 && s.rate.is_finite()) {
                    return Err((
                        vec!["steps", INDEX[i.min(INDEX.len() - 1)], "rate"],
                        format!("a step's rate must be zero or more, not {}", s.rate),
                    ));
                }
            }
            if steps.iter().all(|s| s.rate == 0.0) {
                return Err((
                    vec!["steps"],
                    "every step has rate 0: no request would arrive".into(),
                ));
            }
            Arrivals::Schedule {
                steps: steps.iter().map(|s| (s.at.0, s.rate)).collect(),
            }
        }
        ArrivalsSpec::Bursty {
            base: b,
            burst,
            base_for,
            burst_for,
        } => {
            for (field, r) in [("base", *b), ("burst", *burst)] {
                if !(r >= 0.0 && r.is_finite()) {
                    return Err((
                        vec![field],
                        format!("{field} must be a rate of zero or more, not {r}"),
                    ));
                }
            }
            if *b == 0.0 && *burst == 0.0 {
                return Err((
                    vec!["burst"],
                    "both rates are 0: no request would arrive".into(),
                ));
            }
            for (field, d) in [("base_for", base_for), ("burst_for", burst_for)] {
                if d.0 == 0 {
                    return Err((vec![field], format!("{field} must be longer than zero")));
                }
            }
            Arrivals::Bursty {
                rates: [*b, *burst],
                dwell_s: [base_for.secs(), burst_for.secs()],
            }
        }
        ArrivalsSpec::Diurnal {
            mean,
            amplitude,
            period,
            phase,
        } => {
            positive_rate(*mean).map_err(|(_, m)| (vec!["mean"], m))?;
            if !(0.0..=1.0).contains(amplitude) {
                return Err((
                    vec!["amplitude"],
                    format!(
                        "amplitude must be in [0, 1] (a rate cannot go negative), not {amplitude}"
                    ),
                ));
            }
            if period.0 == 0 {
                return Err((vec!["period"], "period must be longer than zero".into()));
            }
            Arrivals::Diurnal {
                mean: *mean,
                amplitude: *amplitude,
                period_s: period.secs(),
                phase_s: phase.secs(),
            }
        }
        ArrivalsSpec::Trace { file } => {
            let events = super::trace::load(&base.join(file)).map_err(|m| (vec!["file"], m))?;
            Arrivals::Trace(std::sync::Arc::new(events))
        }
        ArrivalsSpec::Closed { users, think } => {
            if *users == 0 {
                return Err((
                    vec!["users"],
                    "a closed-loop client needs at least 1 user".into(),
                ));
            }
            let think = dist(think).map_err(|(mut p, m)| {
                p.insert(0, "think");
                (p, format!("think: {m}"))
            })?;
            Arrivals::Closed {
                users: *users,
                think,
            }
        }
    })
}

/// Path segments for list indices, so problems in a list point at the item.
const INDEX: [&str; 16] = [
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15",
];

fn dist(d: &Dist) -> Result<DistParams, Problem> {
    let positive = |field: &'static str, v: f64, what: &str| {
        if v > 0.0 && v.is_finite() {
            Ok(())
        } else {
            Err((vec![field], format!("{what} must be positive, not {v}")))
        }
    };
    Ok(match d {
        Dist::Exponential { mean } => {
            positive("mean", mean.secs(), "the mean")?;
            DistParams::Exponential {
                mean_s: mean.secs(),
            }
        }
        Dist::Deterministic { value } => DistParams::Deterministic {
            value_s: value.secs(),
        },
        Dist::Uniform { min, max } => {
            if min.0 > max.0 {
                return Err((vec!["max"], "max must not be below min".into()));
            }
            DistParams::Uniform {
                min_s: min.secs(),
                max_s: max.secs(),
            }
        }
        Dist::LogNormal { mean, cv } => {
            positive("mean", mean.secs(), "the mean")?;
            positive("cv", *cv, "the coefficient of variation")?;
            DistParams::LogNormal {
                mean_s: mean.secs(),
                cv: *cv,
            }
        }
        Dist::Gamma { mean, cv } => {
            positive("mean", mean.secs(), "the mean")?;
            positive("cv", *cv, "the coefficient of variation")?;
            DistParams::Gamma {
                mean_s: mean.secs(),
                cv: *cv,
            }
        }
        Dist::Erlang { k, mean } => {
            positive("mean", mean.secs(), "the mean")?;
            if *k == 0 {
                return Err((
                    vec!["k"],
                    "k (the number of phases) must be at least 1".into(),
                ));
            }
            DistParams::Erlang {
                k: *k,
                mean_s: mean.secs(),
            }
        }
        Dist::Pareto { scale, shape } => {
            positive("scale", scale.secs(), "the scale")?;
            positive("shape", *shape, "the shape")?;
            if *shape <= 1.0 {
                return Err((
                    vec!["shape"],
                    format!("shape {shape} gives an infinite mean; use a shape above 1"),
                ));
            }
            DistParams::Pareto {
                scale_s: scale.secs(),
                shape: *shape,
            }
        }
        Dist::Empirical { values } => {
            if values.is_empty() {
                return Err((
                    vec!["values"],
                    "an empirical distribution needs at least one value".into(),
                ));
            }
            DistParams::Empirical {
                values_s: values.iter().map(|v| v.secs()).collect(),
            }
        }
    })
}
