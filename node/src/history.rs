//! The persisted history's writer in the node: the store is opened and the writer's
//! position read before the pipeline starts, so its consumer starts right after the last
//! command the store holds (from the event journal first, if the node was down or behind).

use cex_config::NodeConfig;
use cex_history::{HistoryFollower, HistoryWriter};
use cex_runtime::{Consumer, RuntimeBuilder};

use crate::NodeError;

/// The writer, ready to follow the pipeline once it starts.
pub struct PendingHistory {
    runtime: tokio::runtime::Runtime,
    writer: HistoryWriter,
    consumer: Consumer,
}

/// Opens the store and registers the writer's consumer. `None` without an event journal
/// (`none` durability): the writer resumes from the journal, which that mode does not keep,
/// and each start begins the sequence again.
pub fn register(
    config: &NodeConfig,
    builder: &mut RuntimeBuilder,
    engine_last_seq: u64,
) -> Result<Option<PendingHistory>, NodeError> {
    if builder.events_dir().is_none() {
        tracing::warn!("durability none: order, trade and ledger history, snapshots and exports are not written");
        return Ok(None);
    }
    let url = crate::identity_config(config).database_url();
    let (runtime, writer) = cex_history::open_blocking(&url).map_err(NodeError::History)?;
    let position = writer.position().seq;
    if position > engine_last_seq {
        return Err(NodeError::History(format!(
            "the history store has written command {position} but the engine's journal ends at {engine_last_seq}: \
             the store belongs to another journal (see docs/OPERATIONS.md)"
        )));
    }
    let consumer = builder.consumer("history", crate::consumer_options(config, Some(position + 1)));
    tracing::info!(position, behind = engine_last_seq - position, "history resumes");
    Ok(Some(PendingHistory { runtime, writer, consumer }))
}

impl PendingHistory {
    pub fn start(self) -> Result<HistoryFollower, NodeError> {
        HistoryFollower::start(self.consumer, self.writer, self.runtime)
            .map_err(|error| NodeError::History(format!("cannot start the writer's thread: {error}")))
    }
}
