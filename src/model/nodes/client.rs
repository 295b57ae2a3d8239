//! A client node: where its requests go, when they arrive (open or closed loop), its
//! request classes and keys; validated into the client actor's configuration.

use super::*;

/// A client: where its requests go, when they arrive, and how it waits and retries.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// The node this client sends its requests to.
    pub target: String,
    /// When requests arrive.
    pub arrivals: ArrivalsSpec,
    /// Give up on an attempt not answered within this (counted `timed_out` if it was the last).
    #[serde(default)]
    pub timeout: Option<Duration>,
    /// Retries of failed attempts; none if absent.
    #[serde(default)]
    pub retry: Option<RetrySpec>,
    /// Hedged copies of slow attempts; none if absent.
    #[serde(default)]
    pub hedge: Option<HedgeSpec>,
    /// A circuit breaker on the client's calls; none if absent.
    #[serde(default)]
    pub breaker: Option<BreakerSpec>,
    /// One-way network latency to the target.
    #[serde(default)]
    pub latency: Option<Dist>,
    /// At most this many requests in flight at once; beyond, a request fails at once.
    #[serde(default)]
    pub bulkhead: Option<u32>,
    /// Successes slower than this do not count as goodput.
    #[serde(default)]
    pub deadline: Option<Duration>,
    /// Request classes; one class, `default`, if none are given.
    #[serde(default)]
    pub classes: Vec<ClassSpec>,
    /// Request keys (users, items), for caches, hashing balancers and per-key limits; none if absent.
    #[serde(default)]
    pub keys: Option<KeysSpec>,
}

/// A class of requests: a share of the traffic with its own priority and deadline.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct ClassSpec {
    /// The class's name (routes, limits and caches refer to it).
    pub name: String,
    /// Its share of the arrivals, relative to the other classes' (1.0).
    #[serde(default = "one_f")]
    pub weight: f64,
    /// Higher is more important, for services with `priority: true` (0).
    #[serde(default)]
    pub priority: u8,
    /// Successes slower than this are not goodput, instead of the client's `deadline`.
    #[serde(default)]
    pub deadline: Option<Duration>,
    /// Requests of this class change their key (caches invalidate or update it).
    #[serde(default)]
    pub write: bool,
}

/// How requests draw their keys.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub enum KeysSpec {
    /// Keys 1..n, equally likely.
    Uniform { n: u64 },
    /// Keys 1..n with popularity ∝ 1/k^s.
    Zipf { s: f64, n: u64 },
}

/// When a client's requests arrive.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields, rename = "Arrivals")]
pub enum ArrivalsSpec {
    /// Poisson arrivals, `rate` per second.
    Poisson { rate: f64 },
    /// Evenly spaced arrivals, `rate` per second.
    Constant { rate: f64 },
    /// Poisson arrivals at a rate that changes in steps: `[(at: "0s", rate: 50.0), ...]`.
    Schedule { steps: Vec<Step> },
    /// Bursts: Poisson at `base` per second, switching to `burst` per second; each state lasts
    /// an exponential time of mean `base_for` / `burst_for` (a two-state MMPP).
    Bursty {
        /// Arrivals per second in the base state.
        base: f64,
        /// Arrivals per second in the burst state.
        burst: f64,
        /// Mean time in the base state.
        base_for: Duration,
        /// Mean time in the burst state.
        burst_for: Duration,
    },
    /// A daily (or any) cycle: rate = mean × (1 + amplitude × sin(2π (t − phase) / period)).
    Diurnal {
        /// Mean arrivals per second.
        mean: f64,
        /// The swing, as a fraction of the mean.
        amplitude: f64,
        /// The cycle's length.
        period: Duration,
        /// The cycle's offset (0).
        #[serde(default)]
        phase: Duration,
    },
    /// Replays a CSV trace (path relative to the experiment file): `time_s[,key[,class]]`.
    Trace { file: String },
    /// `users` users, each thinking for a `think` time between answer and next request.
    Closed { users: u32, think: Dist },
}

/// A step of a rate schedule.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// From this time…
    pub at: Duration,
    /// …arrivals per second are this.
    pub rate: f64,
}

impl Schema for ClientSpec {
    type Config = ClientConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<ClientConfig, Error> {
        build(cx, name, self)
    }
}

fn build(cx: &Cx, name: &str, c: &ClientSpec) -> Result<ClientConfig, Error> {
    Ok({
        let target = cx.service_target(name, &c.target, &[name, "target"])?;
        let arrivals = arrivals(&c.arrivals, cx.base).map_err(|(p, m)| {
            let mut path = vec![name, "arrivals"];
            path.extend(p);
            cx.err(&path, format!("client `{name}`: {m}"))
        })?;
        for (field, d) in [("timeout", c.timeout), ("deadline", c.deadline)] {
            if d.is_some_and(|d| d.0 == 0) {
                return Err(cx.err(
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
            let mut path = vec![name];
            path.extend(p);
            cx.err(&path, format!("client `{name}`: {m}"))
        })?;
        let classes = classes(&c.classes).map_err(|(i, m)| {
            cx.err(
                &[name, "classes", INDEX[i.min(INDEX.len() - 1)]],
                format!("client `{name}`: {m}"),
            )
        })?;
        if let (Arrivals::Trace(events), n) = (&arrivals, classes.len()) {
            if let Some(e) = events
                .iter()
                .find(|e| e.class.is_some_and(|c| c as usize >= n))
            {
                return Err(cx.err(
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
                return Err(cx.err(
                    &[name, "keys"],
                    format!("client `{name}`: keys need n > 0 (and s > 0 for Zipf)"),
                ))
            }
        };
        let global: Vec<u16> = classes.iter().map(|k| cx.class_ids[&k.name]).collect();
        ClientConfig {
            class_ids: global,
            arrivals,
            call,
            deadline: c.deadline.map(|d| d.0),
            classes,
            keys,
            loss_at: None,
        }
    })
}
