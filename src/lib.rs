//! scalesim: a deterministic discrete-event simulator of backend scaling strategies.
//!
//! The flow: [`model`] turns files into a built actor graph → [`engine`] runs it →
//! [`metrics`] observes it → [`experiment`] repeats that over replications and parameter
//! points in parallel → [`report`] writes the result folder. See ARCHITECTURE.md.

pub mod analysis;
pub mod check;
pub mod components;
pub mod engine;
pub mod experiment;
pub mod files;
mod kinds;
pub mod metrics;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod theory;
