//! Expectations (`expect` lines) and their verdicts: the policy regression tests.

mod eval;
pub mod expr;
pub mod junit;

pub use eval::{evaluate, Verdict};
