//! A service node: replicas of workers with queues running a handler; validated into the
//! service actor's configuration (its parts' schemas are in `spec/service.rs`).

use super::*;
use crate::components::Step;
use crate::model::bounds;

/// A service: replicas of workers with queues, running a handler for each request.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// Replicas at the start (1).
    #[serde(default = "one")]
    pub replicas: u32,
    /// The zones its replicas are spread over, replica slot i in the (i mod n)-th
    /// (Kubernetes' topology spread); none if absent. A `ZoneLoss` of one crashes its
    /// replicas there, and a balancer may route zone-aware.
    #[serde(default)]
    pub zones: Vec<String>,
    /// Workers (threads, processes) per replica; 1 unless a `size` gives it.
    #[serde(default)]
    pub workers: Option<u32>,
    /// Service times are divided by this; 1.0 unless a `size` gives it.
    #[serde(default)]
    pub speed: Option<f64>,
    /// Waiting room per replica; arrivals to a full queue are rejected. Unbounded if absent.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// The work of a `Work` step, drawn per request at its arrival.
    pub service_time: Dist,
    /// What a request does: `[Work]` by default.
    #[serde(default)]
    pub handler: Vec<StepSpec>,
    /// Handlers for particular request classes (by class name), instead of `handler`.
    #[serde(default)]
    pub routes: std::collections::BTreeMap<String, Vec<StepSpec>>,
    /// Skip queued requests whose caller's timeout has passed.
    #[serde(default)]
    pub drop_expired: bool,
    /// What an arrival to a full queue does.
    #[serde(default)]
    pub when_full: WhenFullSpec,
    /// Which waiting request is served next.
    #[serde(default)]
    pub order: OrderSpec,
    /// Facebook's server CoDel on the queue.
    #[serde(default)]
    pub codel: Option<CoDelSpec>,
    /// Serve higher-priority classes first and, when full, shed lower ones first.
    #[serde(default)]
    pub priority: bool,
    /// How much `Optional` work to do: a brownout dimmer or a feature switch.
    #[serde(default)]
    pub degrade: Option<DegradeSpec>,
    /// Each replica lets in at most this many requests at once, queued or in service; the
    /// rest are `rejected` (503) at once.
    #[serde(default)]
    pub concurrency_limit: Option<ConcurrencyLimitSpec>,
    /// A rate limit on all arrivals; refused ones are `rejected` (429) at once.
    #[serde(default)]
    pub limit: Option<LimiterSpec>,
    /// Limits per request class (tier), each with its own state, instead of `limit`.
    #[serde(default)]
    pub class_limits: std::collections::BTreeMap<String, LimiterSpec>,
    /// A limit per request key (user, API key), checked before the others; requests from
    /// clients without `keys` share one.
    #[serde(default)]
    pub key_limit: Option<LimiterSpec>,
    /// Price of one replica per hour; 0 unless a `size` gives it.
    #[serde(default)]
    pub cost_per_hour: Option<f64>,
    /// Named machine sizes this service can run on.
    #[serde(default)]
    pub sizes: std::collections::BTreeMap<String, SizeSpec>,
    /// The size of the replicas: its workers, speed and price, instead of those fields.
    #[serde(default)]
    pub size: Option<String>,
    /// Cold start: time from a replica's launch to ready. At once if absent.
    #[serde(default)]
    pub startup: Option<Dist>,
    /// A new replica works slower for a while once ready (caches, JIT, connection pools).
    #[serde(default)]
    pub warm_up: Option<WarmUpSpec>,
    /// Scales the replica count (or size) with the load; none if absent.
    #[serde(default)]
    pub autoscaler: Option<AutoscalerSpec>,
    /// Function-style (serverless): instances started per request on demand.
    #[serde(default)]
    pub function: Option<FunctionSpec>,
    /// A database server's connections: a limit, and a setup cost for calls that do not
    /// come on an open connection (a pool's).
    #[serde(default)]
    pub connections: Option<ConnectionsSpec>,
    /// Session state kept in each replica's memory, per request key (user); none if
    /// absent. A request whose session is on another replica, or on one that crashed or
    /// left since, loses it (counted as `sessions_lost`).
    #[serde(default)]
    pub sessions: Option<SessionsSpec>,
}

/// In-memory sessions (a servlet container's `HttpSession`).
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct SessionsSpec {
    /// A session unused this long has ended (30 min, Tomcat's default).
    #[serde(default = "thirty_min")]
    pub idle_timeout: Duration,
}

fn thirty_min() -> Duration {
    Duration(1_800_000_000_000)
}

/// A server's connection handling, PostgreSQL's by default.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsSpec {
    /// Calls in progress at once, each on its connection; more are refused as errors
    /// ("too many clients"). PostgreSQL's `max_connections`: 100.
    #[serde(default = "hundred")]
    pub max_connections: u32,
    /// Time to set up a connection for a call not on an open one (PostgreSQL forks and
    /// authenticates a backend: a few milliseconds). None if absent.
    #[serde(default)]
    pub setup: Option<Dist>,
}

pub(in crate::model) fn hundred() -> u32 {
    100
}

pub(in crate::model) fn ten_minutes() -> Duration {
    secs(600)
}
pub(in crate::model) fn thousand() -> u32 {
    1000
}

impl Schema for ServiceSpec {
    type Config = ServiceConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<ServiceConfig, Error> {
        build(cx, name, self)
    }
}

fn build(cx: &Cx, name: &str, s: &ServiceSpec) -> Result<ServiceConfig, Error> {
    let at = |field: &str, m: String| cx.err(&[name, field], format!("service `{name}`: {m}"));
    // Each part is checked whatever the others say, so every part's first error is
    // reported; parts that read another (the autoscaler reads the size) wait for it.
    let mut errors = Vec::new();
    if s.replicas == 0 && s.function.is_none() {
        errors.push(at(
            "replicas",
            "needs at least 1 replica (only a function-style service may start with none)".into(),
        ));
    }
    if let Err(m) = bounds::REPLICAS.check(s.replicas as u64) {
        errors.push(at("replicas", m));
    }
    if let Some(Err(m)) = s.capacity.map(|c| bounds::QUEUE_CAPACITY.check(c as u64)) {
        errors.push(at("capacity", m));
    }
    let e = &mut errors;
    let function = keep(e, function(cx, name, s)).flatten();
    let size = keep(e, size(cx, name, s, function.as_ref()));
    let provisioning = keep(e, provisioning(cx, name, s));
    let queue = keep(e, queue_policy(cx, name, s));
    let concurrency_limit = match s.concurrency_limit {
        None => None,
        Some(l) => keep(
            e,
            concurrency_limit(l, s.function.is_some()).map_err(|m| at("concurrency_limit", m)),
        ),
    };
    let degrade = keep(e, degrade(cx, name, s)).flatten();
    let autoscaler = match (&s.autoscaler, size) {
        (Some(a), Some(size)) => keep(
            e,
            autoscaler(a, s, size).map_err(|(p, m)| {
                let mut path = vec![name, "autoscaler"];
                path.extend(p);
                cx.err(&path, format!("service `{name}`: autoscaler: {m}"))
            }),
        ),
        _ => None,
    };
    let service_time = keep(
        e,
        dist(&s.service_time).map_err(|(p, m)| {
            let mut path = vec![name, "service_time"];
            path.extend(p);
            cx.err(&path, format!("service `{name}`: service_time: {m}"))
        }),
    );
    let handlers = keep(e, handlers(cx, name, s));
    let limits = keep(e, limits(cx, name, s));
    let connections = keep(e, connections(cx, name, s)).flatten();
    if let Some(e) = Error::all(errors) {
        return Err(e);
    }
    let (Some(size), Some(provisioning), Some(queue), Some(service_time)) =
        (size, provisioning, queue, service_time)
    else {
        unreachable!("a part without a value reported its error");
    };
    let (Some((handler, routes, calls)), Some((limit, key_limit, class_limits))) =
        (handlers, limits)
    else {
        unreachable!("a part without a value reported its error");
    };
    Ok(ServiceConfig {
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
        class_levels: cx.class_levels.clone(),
        faults: Vec::new(),
        cost_per_hour: size.cost_per_hour,
        provisioning,
        autoscaler,
        function,
        degrade,
        concurrency_limit,
        watchers: Vec::new(),
        connections,
        sessions: s.sessions.map(|x| crate::components::sessions::SessionsConfig {
            idle_timeout: x.idle_timeout.0,
        }),
    })
}

/// A server's connection limit and setup cost.
fn connections(cx: &Cx, name: &str, s: &ServiceSpec) -> Result<Option<ConnectionsConfig>, Error> {
    let Some(c) = &s.connections else {
        return Ok(None);
    };
    if c.max_connections == 0 {
        return Err(cx.err(
            &[name, "connections", "max_connections"],
            format!("service `{name}`: connections: max_connections must be at least 1"),
        ));
    }
    if s.function.is_some() {
        return Err(cx.err(
            &[name, "connections"],
            format!("service `{name}`: a function-style service holds no connections: leave out `connections`"),
        ));
    }
    let setup = c
        .setup
        .as_ref()
        .map(|d| {
            dist(d).map_err(|(p, m)| {
                let mut path = vec![name, "connections", "setup"];
                path.extend(p);
                cx.err(&path, format!("service `{name}`: connections: setup: {m}"))
            })
        })
        .transpose()?;
    Ok(Some(ConnectionsConfig {
        max: c.max_connections,
        setup,
    }))
}

/// The value of a part that checked out; else its error joins `errors`.
fn keep<T>(errors: &mut Vec<Error>, part: Result<T, Error>) -> Option<T> {
    part.map_err(|e| errors.push(e)).ok()
}

/// A function-style service's instances, checked against the rest of the service.
fn function(cx: &Cx, name: &str, s: &ServiceSpec) -> Result<Option<FunctionConfig>, Error> {
        let at = |field: &str, m: String| cx.err(&[name, field], format!("service `{name}`: {m}"));
        let function = match s.function {
            None => None,
            Some(f) => {
                let bad = |field: &str, m: &str| {
                    cx.err(
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
                bounds::CONCURRENCY
                    .check(f.concurrency as u64)
                    .map_err(|m| bad("concurrency", &m))?;
                bounds::REPLICAS
                    .check(f.cap as u64)
                    .map_err(|m| bad("cap", &format!("instances: {m}")))?;
                if f.scaling_rate.is_some_and(|r| r.instances == 0 || r.every.0 == 0) {
                    return Err(bad("scaling_rate", "a scaling rate adds at least 1 instance per period above zero; `None` for no limit"));
                }
                if !(f.price_per_request >= 0.0 && f.price_per_request.is_finite()) {
                    return Err(bad("price_per_request", "a price is zero or more"));
                }
                if s.autoscaler.is_some() {
                    return Err(at(
                        "autoscaler",
                        "a function-style service scales with its requests: drop the autoscaler"
                            .into(),
                    ));
                }
                Some(FunctionConfig {
                    concurrency: f.concurrency,
                    cap: f.cap,
                    scaling_rate: f.scaling_rate.map(|r| (r.instances, r.every.0)),
                    idle_timeout: f.idle_timeout.0,
                    price_per_request: f.price_per_request,
                })
            }
        };
    Ok(function)
}

/// The size replicas start with: a named size, or the service's own fields.
fn size(
    cx: &Cx,
    name: &str,
    s: &ServiceSpec,
    function: Option<&FunctionConfig>,
) -> Result<Size, Error> {
        let at = |field: &str, m: String| cx.err(&[name, field], format!("service `{name}`: {m}"));
        for (size_name, z) in &s.sizes {
            check_size(z.workers, z.speed, z.cost_per_hour).map_err(|(field, m)| {
                cx.err(
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
                        return Err(at(
                            field,
                            format!(
                                "`{field}` is given by size `{size_name}`: set one or the other"
                            ),
                        ));
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
        if let Some(f) = function {
            if s.workers.is_some() || s.size.is_some() {
                return Err(at("function", "a function instance's workers are its `concurrency`: leave `workers` and `size` out".into()));
            }
            size.workers = f.concurrency;
        }
    Ok(size)
}

/// Start-up time and warm-up of new replicas.
fn provisioning(cx: &Cx, name: &str, s: &ServiceSpec) -> Result<Provisioning, Error> {
        let startup = s
            .startup
            .as_ref()
            .map(|d| cx.field_dist(d, "service", name, "startup"))
            .transpose()?;
        let mut provisioning = Provisioning {
            startup,
            ..Provisioning::default()
        };
        if let Some(w) = s.warm_up {
            if !(w.speed > 0.0 && w.speed <= 1.0) {
                return Err(cx.err(
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
    Ok(provisioning)
}

/// The queue's order, what a full one does, CoDel, priorities.
fn queue_policy(cx: &Cx, name: &str, s: &ServiceSpec) -> Result<QueuePolicy, Error> {
        let at = |field: &str, m: String| cx.err(&[name, field], format!("service `{name}`: {m}"));
        if matches!(s.order, spec::OrderSpec::AdaptiveLifo) && s.codel.is_none() {
            return Err(at(
                "order",
                "adaptive LIFO switches to LIFO while CoDel reports overload: add `codel: CoDel()`"
                    .into(),
            ));
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
    Ok(queue)
}

/// The degradation controller, if any.
fn degrade(cx: &Cx, name: &str, s: &ServiceSpec) -> Result<Option<DegradeConfig>, Error> {
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
                    return Err(cx.err(&[name, "degrade"], format!("service `{name}`: the period must be longer than zero and the window at least one period")));
                }
                if !(0.0..1.0).contains(&pole) || !(0.0..=1.0).contains(&initial) {
                    return Err(cx.err(&[name, "degrade"], format!("service `{name}`: the pole is in [0, 1) and the initial dimmer in [0, 1]")));
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
                    return Err(cx.err(&[name, "degrade"], format!("service `{name}`: the period must be longer than zero and the window at least one period")));
                }
                if !(quantile > 0.0 && quantile < 1.0) || below.0 > above.0 {
                    return Err(cx.err(&[name, "degrade"], format!("service `{name}`: the quantile is in (0, 1) and `below` at most `above`")));
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
    Ok(degrade)
}

/// A class named in `routes` or `class_limits` must be one some client sends.
fn class_id(cx: &Cx, name: &str, field: &str, what: &str, class: &str) -> Result<u16, Error> {
    cx.class_ids.get(class).copied().ok_or_else(|| {
        let known: Vec<String> = cx.class_ids.keys().map(|k| format!("`{k}`")).collect();
        cx.err(
            &[name, field, class],
            format!(
                "service `{name}`: {what} for class `{class}`, which no client sends; classes are {}",
                known.join(", ")
            ),
        )
    })
}

/// The default handler and each class's route, as steps; the call sites they use.
#[allow(clippy::type_complexity)]
fn handlers(
    cx: &Cx,
    name: &str,
    s: &ServiceSpec,
) -> Result<(Vec<Step>, Vec<(u16, Vec<Step>)>, Vec<CallSite>), Error> {
        let mut calls = Vec::new();
        let mut build_steps = |steps: &[StepSpec], prefix: &[&str]| -> Result<Vec<Step>, Error> {
            let mut handler = Vec::new();
            for (i, st) in steps.iter().enumerate() {
                let mut here: Vec<&str> = prefix.to_vec();
                here.push(INDEX[i.min(INDEX.len() - 1)]);
                let (st, optional) = match st {
                    StepSpec::Optional(inner) => {
                        here.push("0");
                        if matches!(inner.as_ref(), StepSpec::Optional(_)) {
                            return Err(cx.err(
                                        &here,
                                        format!("service `{name}`: an optional step is optional once: do not nest them"),
                                    ));
                        }
                        (inner.as_ref(), true)
                    }
                    st => (st, false),
                };
                let mut site = |c: &CallSpec, path: &[&str]| -> Result<u16, Error> {
                    let t = cx.service_target(name, &c.target, path)?;
                    let cs = call_site(t, c).map_err(|(p, m)| {
                        let mut full = path.to_vec();
                        full.extend(p);
                        cx.err(&full, format!("service `{name}`: {m}"))
                    })?;
                    calls.push(cs);
                    Ok((calls.len() - 1) as u16)
                };
                let step = match st {
                    StepSpec::Optional(_) => unreachable!("unwrapped above"),
                    StepSpec::Work => Step::Compute(None),
                    StepSpec::Compute(d) => Step::Compute(Some(dist(d).map_err(|(p, m)| {
                        let mut path = here.to_vec();
                        path.extend(p);
                        cx.err(&path, format!("service `{name}`: {m}"))
                    })?)),
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
                            return Err(cx.err(
                                &here,
                                format!("service `{name}`: a Parallel step needs calls"),
                            ));
                        }
                        let need = need.unwrap_or(cs.len() as u16);
                        if need == 0 || need as usize > cs.len() {
                            return Err(cx.err(
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
                                return Err(cx.err(&path, format!("service `{name}`: pools are on single calls: make this a `Call` step")));
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
        let handler = build_steps(&s.handler, &[name, "handler"])?;
        let mut routes = Vec::new();
        for (class, steps) in &s.routes {
            let id = class_id(cx, name, "routes", "a route", class)?;
            routes.push((id, build_steps(steps, &[name, "routes", class.as_str()])?));
        }
    Ok((handler, routes, calls))
}

/// The shared, per-key and per-class rate limits.
#[allow(clippy::type_complexity)]
fn limits(
    cx: &Cx,
    name: &str,
    s: &ServiceSpec,
) -> Result<
    (
        Option<LimiterConfig>,
        Option<LimiterConfig>,
        Vec<(u16, LimiterConfig)>,
    ),
    Error,
> {
        let at = |field: &str, m: String| cx.err(&[name, field], format!("service `{name}`: {m}"));
        let limiter = |l: &spec::LimiterSpec, path: &[&str]| -> Result<LimiterConfig, Error> {
            use spec::LimiterSpec as L;
            let bad = |m: &str| Err(cx.err(path, format!("service `{name}`: {m}")));
            Ok(match *l {
                        L::TokenBucket { rate, burst, .. } | L::LeakyBucket { rate, burst, .. } | L::Gcra { rate, burst, .. }
                            if !(rate > 0.0 && rate.is_finite()) || (burst == 0 && matches!(l, L::TokenBucket { .. })) =>
                        {
                            return bad("a limiter needs a positive rate (and a token bucket a burst of at least 1)")
                        }
                        L::TokenBucket { rate, .. } | L::LeakyBucket { rate, .. } | L::Gcra { rate, .. }
                            if !(0.001..=1e9).contains(&rate) =>
                        {
                            return bad(&format!("a limiter's rate of {rate:?} per second is out of bounds: between 0.001 (its resolution, a thousandth of a request) and 1e9"))
                        }
                        L::TokenBucket { rate, burst, max_delay } => LimiterConfig::TokenBucket { rate, burst, max_delay: max_delay.map_or(0, |d| d.0) },
                        L::LeakyBucket { delay: Some(d), burst, .. } if d > burst => {
                            return bad(&format!("`delay` ({d}) is at most `burst` ({burst}): requests beyond the burst are refused, not delayed"))
                        }
                        L::LeakyBucket { rate, burst, max_delay, delay } => LimiterConfig::LeakyBucket {
                            rate,
                            burst,
                            // Two-stage limiting delays; its waits are bounded by the burst.
                            max_delay: max_delay.map_or(if delay.is_some() { u64::MAX } else { 0 }, |d| d.0),
                            delay: delay.unwrap_or(0),
                        },
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
            .map(|l| limiter(l, &[name, "limit"]))
            .transpose()?;
        let key_limit = match &s.key_limit {
            None => None,
            Some(l) if l.delays() => {
                return Err(at(
                    "key_limit",
                    "a per-key limit refuses; it cannot delay (leave out `max_delay`)".into(),
                ))
            }
            Some(l) => Some(limiter(l, &[name, "key_limit"])?),
        };
        let mut class_limits = Vec::new();
        for (class, l) in &s.class_limits {
            let id = class_id(cx, name, "class_limits", "a limit", class)?;
            class_limits.push((id, limiter(l, &[name, "class_limits", class.as_str()])?));
        }
    Ok((limit, key_limit, class_limits))
}
