//! The engine benchmarks behind `cex bench engine`: workload files generated through the
//! reference engine, profiles A–D, closed-loop throughput and open-loop latency runners,
//! and thin adapters for our engine and peer order-book crates.

pub mod cli;
pub mod gateway;
pub mod journal;
pub mod market;
pub mod op;
pub mod opfile;
pub mod ours;
pub mod peers;
pub mod pipeline;
pub mod report;
pub mod runner;
pub mod workload;
