//! Queueing formulas.
