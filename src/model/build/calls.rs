//! Request classes, call sites and retry policies.

use super::*;

pub(in crate::model) fn classes(specs: &[ClassSpec]) -> Result<Vec<Class>, (usize, String)> {
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

pub(in crate::model) fn call_site(target: ActorId, c: &CallSpec) -> Result<CallSite, Problem> {
    let (timeout, retry, hedge, breaker, latency) = (
        c.timeout,
        c.retry.as_ref(),
        c.hedge,
        c.breaker,
        c.latency.as_ref(),
    );
    use crate::model::bounds;
    if let Some(Err(m)) = c.pool.map(|p| bounds::CONCURRENCY.check(p.size as u64)) {
        return Err((vec!["pool", "size"], format!("connections: {m}")));
    }
    if let Some(Err(m)) = c.bulkhead.map(|b| bounds::CONCURRENCY.check(b as u64)) {
        return Err((vec!["bulkhead"], m));
    }
    if let Some(b) = &breaker {
        let (bound, n) = match b.window {
            spec::WindowSpec::Count(n) => (bounds::BREAKER_CALLS, n),
            spec::WindowSpec::Time(n) => (bounds::BREAKER_SECONDS, n),
        };
        bound
            .check(n as u64)
            .map_err(|m| (vec!["breaker", "window"], m))?;
    }
    let pool = match c.pool {
        None => None,
        Some(p) if p.size == 0 => {
            return Err((
                vec!["pool", "size"],
                "a pool of 0 connections would never call".into(),
            ))
        }
        Some(p) if p.min_idle.is_some_and(|m| m > p.size) => {
            return Err((
                vec!["pool", "min_idle"],
                format!(
                    "a pool of {} keeps at most {} connections open",
                    p.size, p.size
                ),
            ))
        }
        Some(p) => Some(crate::components::pool::PoolConfig {
            size: p.size,
            acquire_timeout: p.acquire_timeout.map(|t| t.0),
            min_idle: p.min_idle.unwrap_or(0),
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
    if let Some(load) = hedge.and_then(|h| h.max_extra_load) {
        if !(load > 0.0 && load <= 100.0) {
            return Err((
                vec!["hedge", "max_extra_load"],
                format!("a share of calls in percent in (0, 100], not {load}"),
            ));
        }
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
        hedge_budget: hedge
            .and_then(|h| h.max_extra_load)
            .map(|load| RateBudgetConfig {
                ttl: 10_000_000_000,
                min_retries_per_sec: 10,
                percent_can_retry: load / 100.0,
            }),
        breaker,
        bulkhead: c.bulkhead,
        pool,
    })
}

pub(in crate::model) fn retry_policy(r: &RetrySpec) -> Result<RetryPolicy, Problem> {
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
    let throttle = match r.throttle {
        None => None,
        Some(t) if !(t.max_tokens > 0.0 && t.max_tokens <= 1000.0) => {
            return Err((
                vec!["throttle", "max_tokens"],
                format!("gRPC's max_tokens is in (0, 1000], not {}", t.max_tokens),
            ))
        }
        Some(t) if !(t.token_ratio >= 0.001 && t.token_ratio <= 1000.0) => {
            return Err((
                vec!["throttle", "token_ratio"],
                format!(
                    "a token ratio is at least 0.001 (gRPC keeps thousandths), not {}",
                    t.token_ratio
                ),
            ))
        }
        Some(t) => Some(ThrottleConfig {
            max_milli: (t.max_tokens * 1000.0).round() as u32,
            ratio_milli: (t.token_ratio * 1000.0).round() as u32,
        }),
    };
    let rate_budget = match r.rate_budget {
        None => None,
        Some(b) if !(1_000_000_000..=60_000_000_000).contains(&b.ttl.0) => {
            return Err((
                vec!["rate_budget", "ttl"],
                format!("Finagle's ttl is 1 s to 60 s, not {}s", b.ttl.secs()),
            ))
        }
        Some(b) if !(b.percent > 0.0 && b.percent <= 1000.0) => {
            return Err((
                vec!["rate_budget", "percent"],
                format!("a percentage in (0, 1000], not {}", b.percent),
            ))
        }
        Some(b) => Some(RateBudgetConfig {
            ttl: b.ttl.0,
            min_retries_per_sec: b.min_retries_per_sec,
            percent_can_retry: b.percent / 100.0,
        }),
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
        throttle,
        rate_budget,
    })
}
