//! Expectations (`expect` lines) and their verdicts: the policy regression tests.

mod eval;
pub mod expr;
pub mod junit;
pub mod show;

pub use eval::{eval_with, evaluate, fmt, judge, Lookup, Value, Verdict};
pub use show::shown;

use crate::experiment::Results;
use crate::model::Plan;

/// Parses every `expect` line of `plan`: `Err` names the first bad one and its column.
pub fn parse_all(plan: &Plan) -> Result<Vec<expr::Expectation>, String> {
    plan.settings
        .expect
        .iter()
        .enumerate()
        .map(|(i, text)| expr::parse(text).map_err(|e| format!("expect[{i}] `{text}`: {e}")))
        .collect()
}

/// Evaluates parsed expectations over a run's results.
pub fn evaluate_all(
    plan: &Plan,
    results: &Results,
    expectations: &[expr::Expectation],
) -> Result<Vec<Verdict>, String> {
    expectations
        .iter()
        .map(|e| evaluate(plan, results, e).map_err(|m| format!("expect `{}`: {m}", e.text)))
        .collect()
}
