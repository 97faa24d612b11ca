//! Brings a recovered engine's reference data in line with the config: assets and symbols
//! the journal has never seen are added (journaled like any command), and a config that
//! contradicts the journal is refused rather than silently ignored.

use cex_config::NodeConfig;
use cex_engine::{Command, Engine, Event, EventBody};
use cex_journal::{DurableEngine, DurableError, Origin};
use cex_runtime::{monotonic_ns, WallClock};

#[derive(Debug)]
pub enum RefdataError {
    Durable(DurableError),
    /// The config disagrees with what the journal holds; the journal wins and the node stops.
    Conflict(String),
    Rejected {
        command: Command,
        reason: String,
    },
}

impl std::fmt::Display for RefdataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefdataError::Durable(error) => write!(f, "{error}"),
            RefdataError::Conflict(why) => write!(f, "the config contradicts the journal: {why}"),
            RefdataError::Rejected { command, reason } => write!(f, "the engine refused {command:?}: {reason}"),
        }
    }
}

/// A command applied before the pipeline started, with its events: what a read model needs
/// when there is no journal to read them back from (`none` durability).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub seq: u64,
    pub ts_ns: u64,
    pub events: Vec<Event>,
}

/// Submits what is missing; returns the commands that took, in order.
pub fn reconcile(durable: &mut DurableEngine, config: &NodeConfig) -> Result<Vec<Applied>, RefdataError> {
    let clock = WallClock::new();
    let mut applied = Vec::new();
    for command in config.refdata_commands() {
        if !missing(durable.engine(), &command, config)? {
            continue;
        }
        let mut events: Vec<Event> = Vec::new();
        let ts_ns = clock.wall_ns(monotonic_ns());
        let seq = durable.submit(ts_ns, Origin::INTERNAL, &command, &mut events).map_err(RefdataError::Durable)?;
        if let Some(EventBody::Rejected(rejected)) = events.first().map(|event| event.body) {
            return Err(RefdataError::Rejected { command, reason: rejected.reason.description().to_string() });
        }
        applied.push(Applied { seq, ts_ns, events });
    }
    Ok(applied)
}

/// Whether the engine lacks this reference data; an error if it holds it differently.
fn missing(engine: &Engine, command: &Command, config: &NodeConfig) -> Result<bool, RefdataError> {
    match *command {
        Command::AddAsset(add) => match engine.asset_scale(add.asset) {
            None => Ok(true),
            Some(scale) if scale == add.scale => Ok(false),
            Some(scale) => {
                let name = config.asset_by_id(add.asset).map_or("?", |asset| asset.name.as_str());
                Err(RefdataError::Conflict(format!(
                    "asset {name} (id {}) has scale {scale} in the journal, {} in the config",
                    add.asset, add.scale
                )))
            }
        },
        Command::AddSymbol(spec) => match engine.symbol_spec(spec.symbol) {
            None => Ok(true),
            Some(journaled) if journaled == spec => Ok(false),
            Some(_) => {
                let name = config.symbol_by_id(spec.symbol).map_or("?", |symbol| symbol.name.as_str());
                Err(RefdataError::Conflict(format!(
                    "symbol {name} (id {}) was listed with other trading rules; changing the rules of a \
                     listed symbol is not supported yet, so restore its [[symbols]] entry",
                    spec.symbol
                )))
            }
        },
        _ => Ok(true),
    }
}
