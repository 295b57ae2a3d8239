//! Answers, not just runs: searches that say what to run (`Plan`: the cheapest configuration
//! meeting constraints) or where a system tips (`Tipping`: the smallest trigger it does not
//! recover from).
//!
//! A search is a deterministic sequence of rounds. Each round asks for some points (built from
//! the experiment like sweep points) and replications; the rounds' units run in parallel,
//! are journaled like any run's, and the next round depends only on their results. So the
//! answer is the same whatever the thread count, and an interrupted search resumes.

mod cheapest;
pub mod output;
pub mod spec;
mod tipping;

use crate::check::{self, expr::Expectation, Value};
use crate::components::Network;
use crate::experiment::journal::Journal;
use crate::experiment::{Evaluator, Unit, UnitResult};
use crate::metrics::{student_t, Aggregate, RunMetrics};
use crate::model::syntax::{Node, Span};
use crate::model::{self, CommandLine, Plan, Problem};
use serde_json::Value as Json;
use spec::Question;
use std::collections::BTreeMap;
use std::path::Path;

pub use cheapest::{Candidate, CheapestAnswer, Status};
pub use tipping::{recovered, Boundary, Probe, TippingAnswer};

/// An experiment with its question, checked before anything runs.
pub struct Loaded {
    pub plan: Plan,
    pub question: Option<Question>,
}

/// Loads an experiment and, if it has one, its `plan:` block: every path, value and metric
/// it names is checked, and each error says where it is.
pub fn load(path: &Path, cli: &CommandLine) -> Result<Loaded, Problem> {
    let plan = model::load_experiment(path, cli)?;
    check_show(&plan)?;
    let Some(node) = plan.question.clone() else {
        check_expect_lines(&plan)?;
        return Ok(Loaded {
            plan,
            question: None,
        });
    };
    let b = &plan.builder;
    if !plan.sweep_paths.is_empty() {
        return Err(b.problem(
            node.span,
            "an experiment with a plan varies what its plan says: move `sweep` into `vary`",
        ));
    }
    if plan.settings.stop_when.is_some() {
        return Err(b.problem(
            node.span,
            "a plan adds replications where its decisions need them: remove `stop_when`",
        ));
    }
    let question = spec::parse(b, &node)?;
    let names = check_question(&plan, &question)?;
    check_expect(&plan, &question, &names)?;
    Ok(Loaded {
        plan,
        question: Some(question),
    })
}

/// Builds the corner points of the search (every path at its first and last value, every
/// list value once) so a bad path or value is refused now, and checks metric names against
/// what those points report.
fn check_question(plan: &Plan, q: &Question) -> Result<Vec<String>, Problem> {
    let b = &plan.builder;
    match q {
        Question::Cheapest(c) => {
            let first: Vec<(String, Node, Span)> = c
                .dims
                .iter()
                .map(|d| (d.path.clone(), d.values[0].clone(), d.span))
                .collect();
            // Numeric varied paths may be read like metrics (`minimize: "app.replicas"`).
            let mut names: Vec<String> = c
                .dims
                .iter()
                .filter(|d| (0..d.values.len()).all(|i| d.number(i).is_some()))
                .map(|d| d.path.clone())
                .collect();
            for variant in 0..b.variants().len() {
                let p = b.point_with(variant, &first)?;
                names.extend(metric_names(plan, &p.actors));
                for (i, d) in c.dims.iter().enumerate() {
                    let last = d.values.len() - 1;
                    let list = d.number(0).is_none();
                    for k in (1..=last).filter(|k| list || *k == last) {
                        let mut at = first.clone();
                        at[i].1 = d.values[k].clone();
                        let p = b.point_with(variant, &at)?;
                        names.extend(metric_names(plan, &p.actors));
                    }
                }
            }
            let check = |m: &[String], col: usize, at: Span| -> Result<(), Problem> {
                let name = m.join(".");
                if names.contains(&name) {
                    return Ok(());
                }
                let try_ = nearest(&name, &names)
                    .iter()
                    .take(4)
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(spec::in_string(
                    b,
                    at,
                    col,
                    format!("`{name}` is not a metric of this model; did you mean {try_}?"),
                ))
            };
            for (m, col) in c.minimize.metrics() {
                check(m, col, c.minimize_span)?;
            }
            for (e, at) in c.subject_to.iter().zip(&c.subject_spans) {
                for (m, col) in e.metrics() {
                    check(m, col, *at)?;
                }
            }
            Ok(names)
        }
        Question::Tipping(t) => {
            let mut columns = Vec::new();
            for variant in 0..b.variants().len() {
                for v in [&t.grid[0], &t.grid[t.grid.len() - 1]] {
                    let p = b.point_with(variant, &[(t.path.clone(), v.clone(), t.span)])?;
                    columns.extend(series_columns(plan, &p.actors));
                }
            }
            for (m, col) in t.recovered.metrics() {
                let name = m[1..].join(".");
                if !columns.contains(&name) {
                    return Err(spec::in_string(
                        b,
                        t.recovered_span,
                        col,
                        format!(
                            "`{name}` is not a time-series column of this model; try {}",
                            columns
                                .iter()
                                .take(9)
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            Ok(Vec::new())
        }
    }
}

/// The `expect` lines of an experiment without a plan, checked before anything runs: each
/// parses, names a metric the model reports (in the variant it names, if any), and has a
/// quantifier when the experiment sweeps. Every bad line is reported, each at its column.
fn check_expect_lines(plan: &Plan) -> Result<(), Problem> {
    if plan.settings.expect.is_empty() {
        return Ok(());
    }
    let b = &plan.builder;
    let variants = b.variants();
    let per_variant = plan.points.len() / variants.len().max(1);
    let names = variant_metric_names(plan);
    let baseline = crate::analysis::baseline(plan);
    let baseline = variants.iter().position(|v| v == baseline).unwrap_or(0);
    let mut problems = Vec::new();
    for (i, text) in plan.settings.expect.iter().enumerate() {
        let span = b.span_of(&["expect", &i.to_string()]);
        let at = |col: usize, m: String| spec::in_string(b, span, col, m);
        let e = match check::expr::parse(text) {
            Ok(e) => e,
            Err(e) => {
                problems.push(at(e.col, e.message));
                continue;
            }
        };
        if e.quantifier == check::expr::Quantifier::Trend && per_variant < 2 {
            problems.push(at(
                0,
                "increasing(...) and decreasing(...) follow a sweep's points: add a `sweep` of at least two values".into(),
            ));
            continue;
        }
        let swept = plan.points.first().map_or(0, |p| p.params.len());
        if e.quantifier == check::expr::Quantifier::Trend && swept > 1 {
            problems.push(at(
                0,
                format!("increasing(...) and decreasing(...) follow one parameter, and the sweep has {swept}: use all(...) or any(...)"),
            ));
            continue;
        }
        if e.quantifier == check::expr::Quantifier::One && per_variant != 1 {
            problems.push(at(
                0,
                format!("the experiment has {per_variant} sweep points: write all(...) or any(...) around the comparison"),
            ));
            continue;
        }
        for (m, col) in e.metrics() {
            let (v, rest) = match variants.iter().position(|v| *v == m[0]) {
                Some(v) if m.len() > 1 => (v, &m[1..]),
                _ => (baseline, m),
            };
            let name = rest.join(".");
            if names[v].contains(&name) {
                continue;
            }
            problems.push(at(
                col,
                format!(
                    "`{name}` is not a metric of variant `{}`; did you mean {}?",
                    variants[v],
                    suggestions(&name, &names[v])
                ),
            ));
            break;
        }
    }
    all_of(problems)
}

/// The four known names nearest `name`, quoted, for a "did you mean".
fn suggestions(name: &str, known: &[String]) -> String {
    nearest(name, known)
        .iter()
        .take(4)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every problem found, the first carrying the others; `Ok` when there are none.
fn all_of(problems: Vec<Problem>) -> Result<(), Problem> {
    let mut problems = problems.into_iter();
    match problems.next() {
        None => Ok(()),
        Some(mut first) => {
            first.also.extend(problems);
            Err(first)
        }
    }
}

/// Each variant's metric names: those of its first and last points (a sweep may add a class).
fn variant_metric_names(plan: &Plan) -> Vec<Vec<String>> {
    let variants = plan.builder.variants().len().max(1);
    let per_variant = plan.points.len() / variants;
    (0..variants)
        .map(|v| {
            let mut n = metric_names(plan, &plan.points[v * per_variant].actors);
            n.extend(metric_names(
                plan,
                &plan.points[(v + 1) * per_variant - 1].actors,
            ));
            n
        })
        .collect()
}

/// The `show` list: each expression parses, has a unit that fits, and reads metrics some
/// variant has (a variant without one shows `–`).
fn check_show(plan: &Plan) -> Result<(), Problem> {
    if plan.settings.show.is_empty() {
        return Ok(());
    }
    let b = &plan.builder;
    let at = |item: usize, field: &str, col: usize, m: String| {
        let i = item.to_string();
        spec::in_string(b, b.span_of(&["show", &i, field]), col, m)
    };
    let cols = match check::show::columns(plan) {
        Ok(cols) => cols,
        Err(errors) => {
            return all_of(
                errors
                    .into_iter()
                    .map(|e| at(e.item, e.field, e.col, e.message))
                    .collect(),
            )
        }
    };
    let names = variant_metric_names(plan);
    let all: Vec<String> = names.iter().flatten().cloned().collect();
    let mut problems = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        for (m, col) in c.expr.metrics() {
            let name = m.join(".");
            if all.contains(&name) {
                continue;
            }
            problems.push(at(
                i,
                "metric",
                col,
                format!(
                    "`{name}` is not a metric of any variant; did you mean {}?",
                    suggestions(&name, &all)
                ),
            ));
            break;
        }
    }
    all_of(problems)
}

fn metric_names(plan: &Plan, actors: &[(String, crate::components::ActorConfig)]) -> Vec<String> {
    let s = &plan.settings;
    match Network::build(actors.to_vec(), s.seed, 0, s.warmup.0, 1) {
        Ok(net) => net.metrics(s.warmup.0).columns().map(|(n, _)| n).collect(),
        Err(_) => Vec::new(),
    }
}

fn series_columns(plan: &Plan, actors: &[(String, crate::components::ActorConfig)]) -> Vec<String> {
    let s = &plan.settings;
    let Ok(mut net) = Network::build(actors.to_vec(), s.seed, 0, s.warmup.0, 1) else {
        return Vec::new();
    };
    net.record_series(s.bucket(), s.duration.0);
    net.series(0).map(|x| x.columns).unwrap_or_default()
}

/// Edit distance, for suggesting the name someone meant.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The known names closest to `name`, nearest first, without repeats.
fn nearest<'a>(name: &str, known: &'a [String]) -> Vec<&'a String> {
    let mut v: Vec<&String> = known.iter().collect();
    v.sort();
    v.dedup();
    v.sort_by_key(|k| distance(name, k));
    v
}

/// The answer's metrics that `expect` lines of a plan experiment may read.
pub fn answer_metrics(q: &Question) -> &'static [&'static str] {
    match q {
        Question::Cheapest(_) => &[
            "found",
            "objective",
            "runs",
            "grid_runs",
            "evaluated",
            "feasible",
        ],
        Question::Tipping(_) => &[
            "tips",
            "boundary",
            "boundary_low",
            "boundary_high",
            "runs",
            "probes",
        ],
    }
}

/// Checks the `expect` lines of a plan experiment: they read the answer (`plan.…`), and
/// `plan.best.…` names a varied path or a metric.
/// `names`: the metrics and numeric varied paths `plan.best.…` may read.
fn check_expect(plan: &Plan, q: &Question, names: &[String]) -> Result<(), Problem> {
    let b = &plan.builder;
    let variants = b.variants();
    for (i, text) in plan.settings.expect.iter().enumerate() {
        let span = b.span_of(&["expect", &i.to_string()]);
        let at = |col: usize, m: String| spec::in_string(b, span, col, m);
        let e = check::expr::parse(text).map_err(|e| at(e.col, e.message))?;
        for (m, col) in e.metrics() {
            let rest = match m {
                [v, p, rest @ ..] if variants.contains(v) && p == "plan" => rest,
                [p, rest @ ..] if p == "plan" => rest,
                _ => {
                    return Err(at(
                        col,
                        format!(
                            "in an experiment with a plan, expect lines read its answer: \
                             plan.best.<path or metric>, {}",
                            answer_metrics(q)
                                .iter()
                                .map(|n| format!("plan.{n}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ))
                }
            };
            let known = match (q, rest) {
                (Question::Cheapest(c), [b, rest @ ..]) if b == "best" && !rest.is_empty() => {
                    let name = rest.join(".");
                    if !names.contains(&name) && !c.dims.iter().any(|d| d.path == name) {
                        let try_ = nearest(&name, names)
                            .iter()
                            .take(4)
                            .map(|n| format!("`plan.best.{n}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        return Err(at(
                            col,
                            format!("`{name}` is neither a varied path nor a metric; did you mean {try_}?"),
                        ));
                    }
                    true
                }
                (_, [name]) => answer_metrics(q).contains(&name.as_str()),
                _ => false,
            };
            if !known {
                return Err(at(
                    col,
                    format!(
                        "`{}` is not part of the answer; try {}",
                        m.join("."),
                        answer_metrics(q)
                            .iter()
                            .map(|n| format!("plan.{n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The answer to a plan's question.
pub enum Answer {
    Cheapest(CheapestAnswer),
    Tipping(TippingAnswer),
}

/// What a search produced: the answer and every unit it ran, on the work plan its points
/// belong to.
pub struct Outcome {
    pub answer: Answer,
    pub work: Plan,
    pub units: Vec<UnitResult>,
    /// Runs this process ran (the rest came from a journal).
    pub ran: usize,
}

/// The points a search has asked for: built once each, numbered in the order first asked.
struct Work<'a> {
    base: &'a Plan,
    plan: Plan,
    index: BTreeMap<String, usize>,
    eval: Evaluator<'a>,
}

impl<'a> Work<'a> {
    fn new(base: &'a Plan, paths: Vec<String>, eval: Evaluator<'a>) -> Self {
        let mut plan = base.clone();
        plan.points.clear();
        plan.sweep_paths = paths;
        plan.question = None;
        Work {
            base,
            plan,
            index: BTreeMap::new(),
            eval,
        }
    }

    /// The point of `variant` with `values`, built the first time it is asked for.
    fn point(&mut self, variant: usize, values: &[(String, Node, Span)]) -> Result<usize, Problem> {
        let key = format!(
            "{variant}|{}",
            values
                .iter()
                .map(|(p, v, _)| format!("{p}={v}"))
                .collect::<Vec<_>>()
                .join("|")
        );
        if let Some(i) = self.index.get(&key) {
            return Ok(*i);
        }
        let p = self.base.builder.point_with(variant, values)?;
        self.plan.points.push(p);
        let i = self.plan.points.len() - 1;
        self.index.insert(key, i);
        Ok(i)
    }

    /// Makes sure each (point, replications) asked for has that many runs.
    fn run(&mut self, wants: &[(usize, u32)]) -> Result<(), Problem> {
        let units: Vec<Unit> = wants
            .iter()
            .flat_map(|(point, n)| {
                (0..*n).map(move |replication| Unit {
                    point: *point,
                    replication,
                })
            })
            .collect();
        self.eval.ensure(&self.plan, &units).map_err(Problem::plain)
    }

    /// The first `n` runs of `point`.
    fn runs(&self, point: usize, n: u32) -> Vec<&UnitResult> {
        (0..n)
            .filter_map(|replication| self.eval.done.get(&Unit { point, replication }))
            .collect()
    }

    fn finish(self, answer: Answer) -> Outcome {
        let units: Vec<UnitResult> = self
            .eval
            .done
            .into_values()
            .filter(|u| u.unit.point < self.plan.points.len())
            .collect();
        Outcome {
            answer,
            work: self.plan,
            units,
            ran: self.eval.ran,
        }
    }
}

/// A digest of the experiment and its question, for the journal: resumed units must come
/// from the same search.
pub fn search_id(plan: &Plan) -> String {
    let text = format!("{}|{:?}", plan.id(), plan.question);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Runs the search of `loaded`'s question.
pub fn search(
    loaded: &Loaded,
    threads: Option<usize>,
    journal: Option<&Journal>,
    known: Vec<UnitResult>,
) -> Result<Outcome, Problem> {
    let q = loaded.question.as_ref().ok_or_else(|| {
        Problem::plain(format!(
            "{} has no `plan:` block: add Plan(vary: ..., minimize: ..., subject_to: [...]) \
             or Tipping(...), or run it with `scalesim run`",
            loaded.plan.file.display()
        ))
    })?;
    let eval = Evaluator::new(threads, journal, known).map_err(Problem::plain)?;
    match q {
        Question::Cheapest(c) => cheapest::search(&loaded.plan, c, eval),
        Question::Tipping(t) => tipping::search(&loaded.plan, t, eval),
    }
}

/// Half the width of the two-sided `confidence` interval of a mean, from its ci95.
fn half_width(a: &Aggregate, confidence: f64) -> f64 {
    if a.n < 2 || !a.ci95.is_finite() {
        return f64::NAN;
    }
    let df = a.n - 1;
    a.ci95 / student_t(df, 0.975) * student_t(df, 0.5 + confidence / 2.0)
}

/// One run as a plan's expressions see it: its metrics, and the values of the search's
/// numeric varied paths at its point (so `minimize: "app.replicas"` reads the point itself).
struct Sample<'a> {
    metrics: &'a RunMetrics,
    params: &'a [(String, f64)],
}

impl Sample<'_> {
    /// The value of a path: a varied path's, else the run's metric (`latency_p99_s`,
    /// `app.utilization`), NaN when neither.
    fn value(&self, path: &[String]) -> f64 {
        let name = path.join(".");
        if let Some((_, v)) = self.params.iter().find(|(p, _)| *p == name) {
            return *v;
        }
        self.metrics
            .columns()
            .find(|(n, _)| *n == name)
            .map_or(f64::NAN, |(_, v)| v)
    }

    /// Evaluates an expression.
    fn eval(&self, e: &check::expr::Expr) -> f64 {
        let lookup = |p: &[String], _: usize| {
            Ok(Value {
                mean: self.value(p),
                ci95: 0.0,
            })
        };
        check::eval_with(e, &lookup).map_or(f64::NAN, |v| v.mean)
    }

    /// How far a comparison is from failing: positive when it holds.
    fn margin(&self, e: &Expectation) -> f64 {
        use check::expr::Op;
        let (l, r) = (self.eval(&e.left), self.eval(&e.right));
        match e.op {
            Op::Lt | Op::Le | Op::SigLt => r - l,
            Op::Gt | Op::Ge | Op::SigGt => l - r,
            Op::Eq => {
                let tol = e.tolerance.as_ref().map_or(0.0, |t| self.eval(t));
                tol - (l - r).abs()
            }
        }
    }
}

/// Evaluates the `expect` lines of a plan experiment against its answer.
pub fn verdicts(loaded: &Loaded, outcome: &Outcome) -> Result<Vec<check::Verdict>, String> {
    let answer = output::answer_json(&outcome.answer, &outcome.work, &outcome.units);
    let variants = loaded.plan.builder.variants();
    check::parse_all(&loaded.plan)?
        .iter()
        .map(|e| {
            let lookup = |path: &[String], col: usize| -> Result<Value, String> {
                lookup_answer(&answer, &variants, path).ok_or_else(|| {
                    format!("column {col}: `{}` is not in the answer", path.join("."))
                })
            };
            let (passed, detail) = check::judge(e, &lookup, None)?;
            Ok(check::Verdict {
                text: e.text.clone(),
                passed,
                detail,
            })
        })
        .collect()
}

/// A number from `plan.json`'s answer: `plan.best.<path|metric>`, `plan.<name>`, and for a
/// tipping point per variant, `<variant>.plan.<name>`.
fn lookup_answer(answer: &Json, variants: &[String], path: &[String]) -> Option<Value> {
    let num = |v: &Json| -> Option<Value> {
        match v {
            Json::Number(n) => Some(Value {
                mean: n.as_f64()?,
                ci95: 0.0,
            }),
            Json::Bool(b) => Some(Value {
                mean: if *b { 1.0 } else { 0.0 },
                ci95: 0.0,
            }),
            Json::Array(a) => Some(Value {
                mean: a.len() as f64,
                ci95: 0.0,
            }),
            Json::Null => Some(Value {
                mean: f64::NAN,
                ci95: f64::NAN,
            }),
            Json::Object(o) => Some(Value {
                mean: o.get("mean")?.as_f64().unwrap_or(f64::NAN),
                ci95: o.get("ci95").and_then(Json::as_f64).unwrap_or(f64::NAN),
            }),
            _ => None,
        }
    };
    let (variant, rest) = match path {
        [v, p, rest @ ..] if variants.contains(v) && p == "plan" => (Some(v.as_str()), rest),
        [p, rest @ ..] if p == "plan" => (None, rest),
        _ => return None,
    };
    if let Some(b) = answer.get("boundaries") {
        let v = variant.unwrap_or(variants[0].as_str());
        let entry = b.get(v)?;
        return match rest {
            [name] if name == "runs" => num(answer.get("runs")?),
            [name] => num(entry.get(name.as_str())?),
            _ => None,
        };
    }
    match rest {
        [best, tail @ ..] if best == "best" && !tail.is_empty() => {
            let b = answer.get("best")?;
            if b.is_null() {
                // No answer: anything about it is undefined, and fails its expectation.
                return Some(Value {
                    mean: f64::NAN,
                    ci95: f64::NAN,
                });
            }
            let key = tail.join(".");
            if let Some(v) = b.get("values").and_then(|v| v.get(&key)) {
                return match v {
                    Json::String(s) => {
                        // A listed value: its position in the list.
                        let list = answer.get("vary")?.get(&key)?.as_array()?;
                        let i = list.iter().position(|x| x.as_str() == Some(s))?;
                        Some(Value {
                            mean: i as f64,
                            ci95: 0.0,
                        })
                    }
                    v => num(v),
                };
            }
            num(b.get("metrics")?.get(&key)?)
        }
        [name] => num(answer.get(name.as_str())?),
        _ => None,
    }
}
