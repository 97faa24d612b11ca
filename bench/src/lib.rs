//! The benchmarks behind `cex bench`: the engine (workload files generated through the
//! reference engine, profiles A–D, closed-loop throughput and open-loop latency runners,
//! thin adapters for our engine and peer order-book crates), the journal, the pipeline, the
//! binary gateway, REST order placement and WebSocket fan-out.

pub mod cli;
pub mod fanout;
pub mod gateway;
pub mod http;
pub mod journal;
pub mod market;
pub mod node;
pub mod op;
pub mod opfile;
pub mod ours;
pub mod peers;
pub mod pipeline;
pub mod report;
pub mod rest;
pub mod runner;
pub mod workload;
