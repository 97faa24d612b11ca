//! How the API reaches the engine. The node implements [`OrderEntry`] over its engine client
//! (a producer ring and the answers by request id); the `testkit` feature implements it
//! over an engine in the same process.

use std::future::Future;
use std::pin::Pin;

use cex_engine::{Command, Event};

use crate::error::{TradingCode, TradingError};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The engine's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineAnswer {
    /// The command's sequence: every event carries it as `txid`, and the read model has
    /// taken the command in once its applied sequence reaches it.
    pub seq: u64,
    /// The command's timestamp, ns since the epoch.
    pub ts_ns: u64,
    /// Everything the command caused, in order; a `Rejected` first if it was refused.
    pub events: Vec<Event>,
}

/// Why a command got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryError {
    /// The engine's input ring is full.
    Busy,
    /// The node is shutting down.
    Closed,
    /// A value the wire format cannot carry.
    Invalid(String),
    /// No answer in time: the command may still be applied.
    Timeout,
}

impl From<EntryError> for TradingError {
    fn from(error: EntryError) -> TradingError {
        match error {
            EntryError::Busy => TradingError::new(TradingCode::EngineBusy),
            EntryError::Closed => TradingError::new(TradingCode::EngineClosed),
            EntryError::Invalid(why) => TradingError::with_msg(TradingCode::EngineInvalid, why),
            EntryError::Timeout => TradingError::new(TradingCode::EngineTimeout),
        }
    }
}

/// Submits commands to the engine and waits (with the implementation's timeout) for their
/// events. Object-safe: the API holds an `Arc<dyn OrderEntry>`.
pub trait OrderEntry: Send + Sync + 'static {
    fn submit(&self, command: Command) -> BoxFuture<'_, Result<EngineAnswer, EntryError>>;
}
