//! Bounds on every size and count a model gives: each one's largest value and why. A value
//! over its bound is refused at validation, with its location, before anything allocates
//! or runs; the bounds are far above any sensible model and far below what would exhaust
//! memory or never finish. The reference (docs/reference.md) lists them from [`ALL`].

/// The largest value a size or count may take, and why.
#[derive(Clone, Copy, Debug)]
pub struct Bound {
    /// What is counted, as a user writes it.
    pub what: &'static str,
    pub max: u64,
    pub why: &'static str,
}

impl Bound {
    /// Refuses `value` over the bound, saying the bound and why.
    ///
    /// ```
    /// use scalesim::model::bounds::REPLICAS;
    ///
    /// assert!(REPLICAS.check(100).is_ok());
    /// let e = REPLICAS.check(4_000_000_000).unwrap_err();
    /// assert!(e.contains("at most 100,000"), "{e}");
    /// ```
    pub fn check(&self, value: u64) -> Result<(), String> {
        if value <= self.max {
            return Ok(());
        }
        Err(format!(
            "{} {} is over the bound: at most {} ({})",
            self.what,
            group(value),
            group(self.max),
            self.why
        ))
    }
}

/// `1234567` as `1,234,567`.
fn group(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub const REPLICAS: Bound = Bound {
    what: "replicas",
    max: 100_000,
    why: "each replica keeps its own queue, state and balancer entry; model a larger fleet as fewer, larger replicas",
};
pub const WORKERS: Bound = Bound {
    what: "workers per replica",
    max: 100_000,
    why: "the queueing formulas beside the results sum over every worker",
};
pub const QUEUE_CAPACITY: Bound = Bound {
    what: "queue capacity",
    max: 10_000_000,
    why: "the M/M/c/K formula beside the results sums over every place; leave `capacity` out for an unbounded queue",
};
pub const USERS: Bound = Bound {
    what: "closed-loop users",
    max: 1_000_000,
    why: "each user is an actor with its own pending event; use open arrivals (`Poisson`) for larger populations",
};
pub const PARTITIONS: Bound = Bound {
    what: "partitions",
    max: 100_000,
    why: "each partition keeps its own ordered backlog",
};
pub const CONCURRENCY: Bound = Bound {
    what: "concurrency",
    max: 1_000_000,
    why: "a count of slots held at once; no real system runs more",
};
pub const BREAKER_CALLS: Bound = Bound {
    what: "a breaker's window of calls",
    max: 1_000_000,
    why: "the window keeps every call's result; resilience4j's default is 100",
};
pub const BREAKER_SECONDS: Bound = Bound {
    what: "a breaker's window in seconds",
    max: 86_400,
    why: "the window keeps a bucket per second; resilience4j's default is 60 s",
};
pub const VNODES: Bound = Bound {
    what: "virtual nodes per replica",
    max: 10_000,
    why: "the ring holds vnodes × replicas entries; Envoy caps its whole ring at 8,388,608",
};
pub const RING_POINTS: Bound = Bound {
    what: "hash ring points (vnodes × replicas)",
    max: 8_388_608,
    why: "Envoy's largest ring (`maximum_ring_size`, 8M entries)",
};
pub const MAGLEV_TABLE: Bound = Bound {
    what: "a Maglev table size",
    max: 5_000_011,
    why: "Envoy limits `table_size` to 5,000,011, a prime",
};
pub const CACHE_ENTRIES: Bound = Bound {
    what: "cache entries",
    max: 100_000_000,
    why: "the store may grow to hold them all, tens of bytes each",
};
pub const REPLICATIONS: Bound = Bound {
    what: "replications",
    max: 100_000,
    why:
        "confidence intervals stop narrowing long before; use `stop_when` to run until a precision",
};
pub const UNITS: Bound = Bound {
    what: "runs (points × replications)",
    max: 1_000_000,
    why: "every run is kept in runs.csv and summary.json; sweep fewer points or fewer replications",
};

/// Every bound, for the reference.
pub const ALL: [Bound; 14] = [
    REPLICAS,
    WORKERS,
    QUEUE_CAPACITY,
    USERS,
    PARTITIONS,
    CONCURRENCY,
    BREAKER_CALLS,
    BREAKER_SECONDS,
    VNODES,
    RING_POINTS,
    MAGLEV_TABLE,
    CACHE_ENTRIES,
    REPLICATIONS,
    UNITS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_digits() {
        assert_eq!(group(7), "7");
        assert_eq!(group(100_000), "100,000");
        assert_eq!(group(4_000_000_000), "4,000,000,000");
    }
}
