//! The node configuration: `cex.toml`.
//!
//! [`NodeConfig`] is the typed, validated file. Every key is optional and
//! [`NodeConfig::default`] is the embedded default configuration, so `cex run` works with no
//! file at all; `config/cex.example.toml` ([`EXAMPLE_TOML`]) lists every key with its default.
//! Parsing reports every problem at once as [`ConfigErrors`], each with its line, column and
//! dotted key (`symbols[1].tick_size`). From a `NodeConfig` come the engine's capacities, the
//! journal and snapshot settings, the runtime's settings, the reference-data commands a
//! fresh engine starts with, and the symbol lookups the gateways need.
//!
//! Amounts in `[[symbols]]` are decimal strings in whole units ("0.01"), converted exactly to
//! the engine's integer minor units with the asset's scale (see [`units`]).

mod demo;
mod error;
mod gateway;
mod limits;
mod locate;
mod node;
mod refdata;
pub mod units;

pub use demo::DemoSettings;
pub use error::{ConfigError, ConfigErrors};
pub use gateway::{GatewayIdle, GatewaySettings};
pub use limits::LimitSettings;
pub use node::{
    durability_name, AssetConfig, EmailSettings, EngineSettings, JournalSettings, NetworkConfig, NodeConfig,
    RingSettings, SnapshotSettings, StoreSettings, SymbolConfig,
};
pub use units::{format_minor_units, to_minor_units, UnitsError};

/// `config/cex.example.toml`: every key, with its default and what it does. It parses to
/// [`NodeConfig::default`].
pub const EXAMPLE_TOML: &str = include_str!("../cex.example.toml");

#[cfg(test)]
mod tests;
