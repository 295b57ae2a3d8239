//! A DNS node: regional entry points behind one name, with health checks and a TTL;
//! validated into the DNS actor's configuration.

use super::*;

/// Global routing by DNS (Route 53 records with health checks): callers resolve the name
/// and connect to the answer, which their caches keep for `ttl`.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct DnsSpec {
    /// The regional entry points (balancers, services, routers), in order of preference
    /// for `Failover`.
    pub targets: Vec<String>,
    /// How the record answers (`Failover` by default).
    #[serde(default)]
    pub policy: DnsPolicySpec,
    /// How long callers cache an answer (60 s, a common record TTL).
    #[serde(default = "sixty_s")]
    pub ttl: Duration,
    /// Health checks of every target (Route 53's: every 30 s, 3 in a row).
    #[serde(default)]
    pub health_check: DnsHealthSpec,
    /// Callers that ignore the TTL and keep an answer longer (a JVM caching lookups, a
    /// long-lived connection pool); none if absent.
    #[serde(default)]
    pub slow_clients: Option<SlowClientsSpec>,
}

/// A share of callers that keep an answer for `cache` instead of the TTL.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct SlowClientsSpec {
    /// Their share of calls, in percent.
    pub percent: f64,
    /// How long they keep an answer.
    pub cache: Duration,
}

/// A DNS record's routing policy.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub enum DnsPolicySpec {
    /// The first healthy target in order (active-passive).
    #[default]
    Failover,
    /// Every healthy target, a call picking one by weight (active-active).
    Weighted {
        /// One weight per target, each above zero.
        weights: Vec<u32>,
    },
    /// The healthy target with the lowest latency from the DNS's region (`network.links`;
    /// a target in its own region first), ties in order.
    Latency,
}

/// Route 53's health checks: a target is unhealthy after `failures` failed probes in a row
/// and healthy again after as many successes.
#[derive(Deserialize, Debug, Clone, Copy)]
#[serde(deny_unknown_fields, default)]
pub struct DnsHealthSpec {
    /// Time between probes (30 s; Route 53's fast checks: 10 s).
    pub interval: Duration,
    /// Probes in a row that change a target's health (3).
    pub failures: u32,
    /// A probe unanswered this long fails (4 s).
    pub timeout: Duration,
}

impl Default for DnsHealthSpec {
    fn default() -> Self {
        DnsHealthSpec {
            interval: Duration(30_000_000_000),
            failures: 3,
            timeout: Duration(4_000_000_000),
        }
    }
}

fn sixty_s() -> Duration {
    Duration(60_000_000_000)
}

impl Schema for DnsSpec {
    type Config = DnsConfig;

    fn build(&self, cx: &Cx, name: &str) -> Result<DnsConfig, Error> {
        let at = |path: &[&str], m: String| {
            let mut p = vec![name];
            p.extend_from_slice(path);
            cx.err(&p, format!("DNS `{name}`: {m}"))
        };
        if self.targets.is_empty() || self.targets.len() > 64 {
            return Err(at(&["targets"], "give 1 to 64 targets".into()));
        }
        let mut targets = Vec::new();
        for (i, t) in self.targets.iter().enumerate() {
            let idx = i.to_string();
            let id = cx.service_target(name, t, &[name, "targets", idx.as_str()])?;
            if targets.contains(&id) {
                return Err(at(&["targets", idx.as_str()], format!("`{t}` is listed twice")));
            }
            targets.push(id);
        }
        let n = targets.len();
        let in_order: Vec<usize> = (0..n).collect();
        let policy = match &self.policy {
            DnsPolicySpec::Failover => DnsPolicy::Failover(in_order),
            DnsPolicySpec::Weighted { weights } => {
                if weights.len() != n || weights.contains(&0) {
                    return Err(at(
                        &["policy"],
                        format!("give {n} weights, one per target, each above zero"),
                    ));
                }
                DnsPolicy::Weighted(weights.clone())
            }
            // Ordered by latency once the network is known (`network::links`).
            DnsPolicySpec::Latency => DnsPolicy::Failover(in_order),
        };
        let h = self.health_check;
        if h.interval.0 == 0 || h.timeout.0 == 0 || h.failures == 0 {
            return Err(at(
                &["health_check"],
                "interval, timeout and failures must be above zero".into(),
            ));
        }
        if h.timeout.0 > h.interval.0 {
            return Err(at(
                &["health_check", "timeout"],
                "a probe's timeout cannot outlast the interval between probes".into(),
            ));
        }
        let slow_clients = match self.slow_clients {
            None => None,
            Some(c) => {
                if !(c.percent > 0.0 && c.percent <= 100.0) || c.cache.0 == 0 {
                    return Err(at(
                        &["slow_clients"],
                        format!(
                            "a share in percent in (0, 100] and a cache above zero, not {}% for {} ns",
                            c.percent, c.cache.0
                        ),
                    ));
                }
                Some((c.percent / 100.0, c.cache.0))
            }
        };
        Ok(DnsConfig {
            slow_clients,
            targets,
            by_latency: matches!(self.policy, DnsPolicySpec::Latency),
            policy,
            ttl: self.ttl.0,
            interval: h.interval.0,
            timeout: h.timeout.0,
            threshold: h.failures,
            links: vec![None; n],
            faults: Vec::new(),
        })
    }
}
