//! The cex matching and risk engine: a deterministic state machine, `apply(command) →
//! events`. It does no I/O, reads no clock, draws no random numbers and allocates nothing
//! after start-up. docs/ARCHITECTURE.md specifies every command's checks and events.

pub mod command;
pub mod config;
mod engine;
pub mod event;
pub mod math;
pub mod reject;
pub mod render;
pub mod state_hash;
pub mod types;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use command::*;
pub use config::EngineConfig;
pub use engine::{Engine, SnapshotError};
pub use event::*;
pub use reject::RejectReason;
pub use types::*;
