//! The `plan:` block: what a search varies, what it asks of each run, and what answers it.
//!
//! ```ron
//! plan: Plan(
//!     vary: { "app.replicas": Range(1, 64), "app.size": ["small", "large"] },
//!     minimize: "cost",
//!     subject_to: ["latency_p99_s < 0.25"],
//!     confidence: 0.95,
//! ),
//! plan: Tipping(vary: "faults.0.for", range: ("1s", "10m"), recovered: "...")
//! ```

use crate::check::expr::{self, Expectation, Expr, Quantifier};
use crate::model::spec::parse_duration;
use crate::model::syntax::{Field, Kind, Node, Span};
use crate::model::{Builder, Param, Problem};

/// The most values one dimension may take: a search over more is a mistake, not a plan.
pub const MAX_VALUES: usize = 100_000;

/// One varied path and the values it may take, in order.
#[derive(Clone, Debug)]
pub struct Dim {
    pub path: String,
    pub span: Span,
    pub values: Vec<Node>,
}

impl Dim {
    /// The value at `i`, resolved, as result files show it.
    pub fn param(&self, i: usize) -> Param {
        Param::of(&self.values[i])
    }

    /// The value at `i` as a number, if it is one.
    pub fn number(&self, i: usize) -> Option<f64> {
        match &self.values[i].kind {
            Kind::Int(x) => Some(*x as f64),
            Kind::Float(x) => Some(*x),
            _ => None,
        }
    }
}

/// The cheapest configuration meeting every constraint.
#[derive(Clone, Debug)]
pub struct Cheapest {
    pub dims: Vec<Dim>,
    pub minimize: Expr,
    pub minimize_text: String,
    /// Where the objective and each constraint are written.
    pub minimize_span: Span,
    pub subject_to: Vec<Expectation>,
    pub subject_spans: Vec<Span>,
    pub confidence: f64,
    /// The dimension searched by galloping and bisection: the constraints hold from some
    /// value upward and the objective does not fall as it grows (more replicas).
    pub monotone: Option<usize>,
    pub replications: u32,
    pub max_replications: u32,
}

/// The smallest trigger the system does not recover from.
#[derive(Clone, Debug)]
pub struct Tipping {
    pub path: String,
    pub span: Span,
    /// Grid values the bisection probes, ascending.
    pub grid: Vec<Node>,
    /// Their numeric values (seconds for durations).
    pub numbers: Vec<f64>,
    pub unit: &'static str,
    pub recovered: Expectation,
    /// Where `recovered` is written (the plan block, for the default).
    pub recovered_span: Span,
    /// The last window's length, in seconds.
    pub window_s: f64,
    pub confidence: f64,
    pub replications: u32,
    pub max_replications: u32,
}

#[derive(Clone, Debug)]
pub enum Question {
    Cheapest(Cheapest),
    Tipping(Tipping),
}

/// Reads fields by name, refusing unknown ones, each error at its place.
struct Fields<'a> {
    b: &'a Builder,
    fields: &'a [Field],
    span: Span,
    what: &'static str,
}

impl<'a> Fields<'a> {
    fn new(
        b: &'a Builder,
        fields: &'a [Field],
        span: Span,
        what: &'static str,
        known: &[&str],
    ) -> Result<Self, Problem> {
        for f in fields {
            if !known.contains(&f.name.as_str()) {
                let list: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                return Err(b.problem(
                    f.name_span,
                    format!(
                        "{what} has no field `{}`; its fields are {}",
                        f.name,
                        list.join(", ")
                    ),
                ));
            }
        }
        Ok(Fields {
            b,
            fields,
            span,
            what,
        })
    }

    fn get(&self, name: &str) -> Option<&'a Node> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| &f.value)
    }

    fn need(&self, name: &str, example: &str) -> Result<&'a Node, Problem> {
        self.get(name).ok_or_else(|| {
            self.b.problem(
                self.span,
                format!("{} needs `{name}`, like `{name}: {example}`", self.what),
            )
        })
    }

    fn string(&self, name: &str, example: &str) -> Result<Option<(&'a str, Span)>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(Node {
                kind: Kind::Str(s),
                span,
            }) => Ok(Some((s.as_str(), *span))),
            Some(n) => Err(self.b.problem(
                n.span,
                format!(
                    "`{name}` is a string, like `{name}: {example}`; found {}",
                    n.describe()
                ),
            )),
        }
    }

    fn count(&self, name: &str) -> Result<Option<u32>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(Node {
                kind: Kind::Int(i), ..
            }) if (1..=10_000).contains(i) => Ok(Some(*i as u32)),
            Some(n) => Err(self.b.problem(
                n.span,
                format!("`{name}` is a whole number from 1 to 10000"),
            )),
        }
    }

    fn confidence(&self) -> Result<f64, Problem> {
        match self.get("confidence") {
            None => Ok(0.95),
            Some(Node {
                kind: Kind::Float(x),
                ..
            }) if *x >= 0.5 && *x < 1.0 => Ok(*x),
            Some(n) => Err(self.b.problem(
                n.span,
                "`confidence` is a probability from 0.5 up to (not including) 1, like 0.95",
            )),
        }
    }
}

/// A located error inside an expression written at `span` (a string on one line): `col` is
/// the 1-based column within the string.
pub fn in_string(b: &Builder, span: Span, col: usize, message: String) -> Problem {
    let at = Span {
        col: span.col + col as u32,
        ..span
    };
    b.problem(at, message)
}

fn comparison(b: &Builder, text: &str, span: Span) -> Result<Expectation, Problem> {
    let e = expr::parse(text).map_err(|e| in_string(b, span, e.col, e.message))?;
    if e.quantifier != Quantifier::One {
        return Err(b.problem(
            span,
            "a plan's comparisons are about one configuration: drop all(...)/any(...)",
        ));
    }
    Ok(e)
}

/// `Range(a, b)` (integers, both ends included), `Range(a, b, step)`, or a list.
fn values(b: &Builder, path: &str, node: &Node) -> Result<Vec<Node>, Problem> {
    let too_many = || {
        b.problem(
            node.span,
            format!("`{path}` would take more than {MAX_VALUES} values: narrow it or use a step"),
        )
    };
    let empty = |why: String| b.problem(node.span, format!("`{path}`: {why}"));
    match &node.kind {
        Kind::List(items) if items.is_empty() => Err(empty("the list has no values".into())),
        Kind::List(items) if items.len() > MAX_VALUES => Err(too_many()),
        Kind::List(items) => Ok(items.clone()),
        Kind::Tuple(Some(n), items) if n == "Range" && (2..=3).contains(&items.len()) => {
            let num = |n: &Node| match n.kind {
                Kind::Int(i) => Some((i as f64, true)),
                Kind::Float(x) if x.is_finite() => Some((x, false)),
                _ => None,
            };
            let parts: Option<Vec<(f64, bool)>> = items.iter().map(num).collect();
            let Some(parts) = parts else {
                return Err(b.problem(
                    node.span,
                    format!("`{path}`: Range takes numbers, like Range(1, 64) or Range(0.5, 2.0, 0.25)"),
                ));
            };
            let ints = parts.iter().all(|p| p.1);
            let (lo, hi) = (parts[0].0, parts[1].0);
            let step = parts.get(2).map_or(1.0, |p| p.0);
            if step <= 0.0 {
                return Err(empty(format!("the step must be above zero, not {step}")));
            }
            if items.len() == 2 && !ints {
                return Err(b.problem(
                    node.span,
                    format!("`{path}`: a range of decimals needs a step: Range({lo}, {hi}, 0.1)"),
                ));
            }
            if hi < lo {
                return Err(empty(format!(
                    "Range({lo}, {hi}) is empty: the first bound must not exceed the second"
                )));
            }
            let n = ((hi - lo) / step + 1e-9).floor() + 1.0;
            if n > MAX_VALUES as f64 {
                return Err(too_many());
            }
            Ok((0..n as usize)
                .map(|k| {
                    let kind = if ints {
                        Kind::Int((lo + k as f64 * step) as i64)
                    } else {
                        // From the index, never by adding steps, rounded to 12 digits so
                        // 0.1 × 3 prints as 0.3.
                        let x = lo + k as f64 * step;
                        Kind::Float(format!("{x:.12}").parse().unwrap_or(x))
                    };
                    Node::new(node.span, kind)
                })
                .collect())
        }
        _ => Err(b.problem(
            node.span,
            format!(
                "`{path}` takes Range(1, 64), Range(0.5, 2.0, 0.25) or a list of values [..]; found {}",
                node.describe()
            ),
        )),
    }
}

/// Where a value of the last path segment is known to help the constraints as it grows.
const MONOTONE_NAMES: [&str; 3] = ["replicas", "workers", "capacity"];

/// Parses and checks a `plan:` block. `metric` says whether a name is a metric the runs
/// report (to catch a misspelt objective before anything runs).
pub fn parse(b: &Builder, node: &Node) -> Result<Question, Problem> {
    match &node.kind {
        Kind::Struct(Some(n), fields) if n == "Plan" => cheapest(b, fields, node.span),
        Kind::Struct(Some(n), fields) if n == "Tipping" => tipping(b, fields, node.span),
        _ => Err(b.problem(
            node.span,
            format!(
                "`plan` is Plan(vary: {{...}}, minimize: \"cost\", subject_to: [...]) or \
                 Tipping(vary: \"faults.0.for\", range: (\"1s\", \"10m\"), recovered: \"...\"); found {}",
                node.describe()
            ),
        )),
    }
}

fn cheapest(b: &Builder, fields: &[Field], span: Span) -> Result<Question, Problem> {
    let f = Fields::new(
        b,
        fields,
        span,
        "Plan",
        &[
            "vary",
            "minimize",
            "subject_to",
            "confidence",
            "monotone",
            "replications",
            "max_replications",
        ],
    )?;
    let vary = f.need("vary", "{ \"app.replicas\": Range(1, 64) }")?;
    let Kind::Map(entries) = &vary.kind else {
        return Err(b.problem(
            vary.span,
            "`vary` is a map of paths to values: { \"app.replicas\": Range(1, 64) }",
        ));
    };
    if entries.is_empty() {
        return Err(b.problem(vary.span, "`vary` names no path: nothing to search"));
    }
    let mut dims: Vec<Dim> = Vec::new();
    for (k, v) in entries {
        let Kind::Str(path) = &k.kind else {
            return Err(b.problem(k.span, "a path to vary is a string: \"app.replicas\""));
        };
        if dims.iter().any(|d| d.path == *path) {
            return Err(b.problem(k.span, format!("`{path}` is varied twice")));
        }
        dims.push(Dim {
            path: path.clone(),
            span: k.span,
            values: values(b, path, v)?,
        });
    }
    let (minimize_text, m_span) = f
        .string("minimize", "\"cost\"")?
        .ok_or_else(|| b.problem(span, "Plan needs `minimize`, like `minimize: \"cost\"`"))?;
    let minimize =
        expr::parse_expr(minimize_text).map_err(|e| in_string(b, m_span, e.col, e.message))?;
    let mut subject_to = Vec::new();
    let mut subject_spans = Vec::new();
    match f.get("subject_to").map(|n| (&n.kind, n.span)) {
        None => {}
        Some((Kind::List(items), _)) => {
            for item in items {
                let Kind::Str(text) = &item.kind else {
                    return Err(b.problem(
                        item.span,
                        "a constraint is a string, like \"latency_p99_s < 0.25\"",
                    ));
                };
                subject_to.push(comparison(b, text, item.span)?);
                subject_spans.push(item.span);
            }
        }
        Some((_, s)) => {
            return Err(b.problem(
                s,
                "`subject_to` is a list of comparisons: [\"latency_p99_s < 0.25\"]",
            ))
        }
    }
    let monotone = match f.get("monotone") {
        // Detected: a numeric range over a path ending in a capacity-like name.
        None => dims.iter().position(|d| {
            let last = d.path.rsplit('.').next().unwrap_or("");
            MONOTONE_NAMES.contains(&last) && (0..d.values.len()).all(|i| d.number(i).is_some())
        }),
        Some(Node {
            kind: Kind::Ident(n),
            ..
        }) if n == "None" => None,
        Some(Node {
            kind: Kind::Str(p),
            span,
        }) => {
            let i = dims.iter().position(|d| d.path == *p).ok_or_else(|| {
                b.problem(
                    *span,
                    format!("`monotone` names `{p}`, which `vary` does not"),
                )
            })?;
            if !(0..dims[i].values.len()).all(|k| dims[i].number(k).is_some()) {
                return Err(b.problem(
                    *span,
                    format!("`monotone` needs numbers: `{p}` has other values"),
                ));
            }
            Some(i)
        }
        Some(n) => {
            return Err(b.problem(
                n.span,
                "`monotone` is the path of a numeric dimension (\"app.replicas\"), or None",
            ))
        }
    };
    if let Some(i) = monotone {
        let nums: Vec<f64> = (0..dims[i].values.len())
            .filter_map(|k| dims[i].number(k))
            .collect();
        if nums.windows(2).any(|w| w[1] <= w[0]) {
            return Err(b.problem(
                dims[i].span,
                format!(
                    "`{}` is searched by bisection, so its values must rise",
                    dims[i].path
                ),
            ));
        }
    }
    let (replications, max_replications) = counts(b, &f, 3)?;
    Ok(Question::Cheapest(Cheapest {
        dims,
        minimize,
        minimize_text: minimize_text.to_string(),
        minimize_span: m_span,
        subject_to,
        subject_spans,
        confidence: f.confidence()?,
        monotone,
        replications,
        max_replications,
    }))
}

fn counts(b: &Builder, f: &Fields, initial: u32) -> Result<(u32, u32), Problem> {
    let r = f.count("replications")?.unwrap_or(initial);
    if r < 2 {
        return Err(b.problem(
            f.get("replications").map_or(f.span, |n| n.span),
            "a plan needs at least 2 replications per point (a confidence interval needs two runs)",
        ));
    }
    let max = f.count("max_replications")?.unwrap_or(4 * r);
    if max < r {
        return Err(b.problem(
            f.get("max_replications").map_or(f.span, |n| n.span),
            format!("`max_replications` ({max}) is below `replications` ({r})"),
        ));
    }
    Ok((r, max))
}

fn tipping(b: &Builder, fields: &[Field], span: Span) -> Result<Question, Problem> {
    let f = Fields::new(
        b,
        fields,
        span,
        "Tipping",
        &[
            "vary",
            "range",
            "resolution",
            "recovered",
            "window",
            "confidence",
            "replications",
            "max_replications",
        ],
    )?;
    let (path, p_span) = f
        .string("vary", "\"faults.0.for\"")?
        .ok_or_else(|| b.problem(span, "Tipping needs `vary`, like `vary: \"faults.0.for\"`"))?;
    let range = f.need("range", "(\"1s\", \"10m\")")?;
    let bounds = match &range.kind {
        Kind::Tuple(None, items) if items.len() == 2 => (&items[0], &items[1]),
        _ => {
            return Err(b.problem(
                range.span,
                "`range` is a pair (low, high): (\"1s\", \"10m\"), (1.5, 8.0) or (100, 2000)",
            ))
        }
    };
    // Numbers in the trigger's own unit: nanoseconds for durations.
    let read = |n: &Node| -> Result<(f64, &'static str), Problem> {
        match &n.kind {
            Kind::Int(i) => Ok((*i as f64, "int")),
            Kind::Float(x) if x.is_finite() => Ok((*x, "float")),
            Kind::Str(s) => parse_duration(s)
                .map(|ns| (ns as f64, "duration"))
                .map_err(|m| b.problem(n.span, m)),
            _ => Err(b.problem(
                n.span,
                format!(
                    "a range bound is a number or a duration; found {}",
                    n.describe()
                ),
            )),
        }
    };
    let ((lo, unit), (hi, unit2)) = (read(bounds.0)?, read(bounds.1)?);
    if unit != unit2 {
        return Err(b.problem(range.span, "both bounds of `range` must be of one kind"));
    }
    if hi <= lo {
        return Err(b.problem(
            range.span,
            "`range` is empty: the low bound must be below the high one",
        ));
    }
    let resolution = match f.get("resolution") {
        None => (hi - lo) / 64.0,
        Some(n) => {
            let (r, u) = read(n)?;
            if u != unit || r <= 0.0 {
                return Err(b.problem(
                    n.span,
                    "`resolution` is a positive step of the range's kind",
                ));
            }
            r
        }
    };
    let resolution = match unit {
        "int" => resolution.ceil().max(1.0),
        "duration" => (resolution / 1e6).ceil().max(1.0) * 1e6, // whole milliseconds
        _ => resolution,
    };
    let steps = ((hi - lo) / resolution).ceil() as usize;
    if steps > MAX_VALUES {
        return Err(b.problem(range.span, "`resolution` is too fine for the range"));
    }
    let mut numbers = Vec::new();
    let mut grid = Vec::new();
    for k in 0..=steps {
        let x = (lo + k as f64 * resolution).min(hi);
        let kind = match unit {
            "int" => Kind::Int(x.round() as i64),
            "duration" => Kind::Str(format!("{}ms", (x / 1e6).round() as u64)),
            _ => Kind::Float(format!("{x:.12}").parse().unwrap_or(x)),
        };
        numbers.push(if unit == "duration" { x / 1e9 } else { x });
        grid.push(Node::new(bounds.0.span, kind));
    }
    let example = "\"last.goodput_rps >= 0.9 * before.goodput_rps\"";
    let (recovered, recovered_span) = match f.string("recovered", example)? {
        Some((text, s)) => (comparison(b, text, s)?, s),
        None => (
            expr::parse(DEFAULT_RECOVERED).expect("the default parses"),
            span,
        ),
    };
    for (m, col) in recovered.metrics() {
        if !matches!(m[0].as_str(), "last" | "before") || m.len() < 2 {
            return Err(in_string(
                b,
                recovered_span,
                col,
                format!(
                    "`{}`: `recovered` reads the time series over a window: last.<column> \
                     (the run's last window) or before.<column> (before the first fault), \
                     like last.goodput_rps",
                    m.join(".")
                ),
            ));
        }
    }
    let window_s = match f.string("window", "\"1m\"")? {
        None => None,
        Some((w, s)) => Some(parse_duration(w).map_err(|m| b.problem(s, m))? as f64 / 1e9),
    };
    let (replications, max_replications) = counts(b, &f, 5)?;
    Ok(Question::Tipping(Tipping {
        path: path.to_string(),
        span: p_span,
        grid,
        numbers,
        unit: if unit == "duration" { "s" } else { "" },
        recovered,
        recovered_span,
        window_s: window_s.unwrap_or(f64::NAN),
        confidence: f.confidence()?,
        replications,
        max_replications,
    }))
}

/// What recovering means when the plan does not say: goodput over the run's last window back
/// to within 10% of goodput before the first fault.
pub const DEFAULT_RECOVERED: &str = "last.goodput_rps >= 0.9 * before.goodput_rps";
