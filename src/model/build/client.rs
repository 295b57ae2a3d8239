//! Validating a `Client` node and building its actor configuration.

use super::*;

pub(super) fn build(cx: &Cx, name: &str, c: &spec::ClientSpec) -> Result<ActorConfig, Error> {
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
        ActorConfig::Client(ClientConfig {
            class_ids: global,
            arrivals,
            call,
            deadline: c.deadline.map(|d| d.0),
            classes,
            keys,
        })
    })
}
