//! The engine benchmarks behind `cex bench engine`: workload files generated through the
//! reference engine, profiles A–D, closed-loop throughput and open-loop latency runners,
//! and thin adapters for our engine and peer order-book crates.

pub mod op;
pub mod peers;
