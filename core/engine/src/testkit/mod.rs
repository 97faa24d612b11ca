//! Test support, shared by the engine's tests and the benchmarks: a naive reference engine,
//! random order flow and invariant checks.

pub mod flow;
pub mod harness;
pub mod reference;
