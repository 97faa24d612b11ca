//! One exchange process: opens the data directory (recovering the engine from its snapshot
//! and journal), adds the reference data the config lists, starts the pinned pipeline, the
//! trading read model (rebuilt from the event journal), the REST port (identity and
//! trading), the binary gateway and the ops endpoint, and shuts all of it down gracefully.
//! The gateways and sidecars join here as producers and consumers of the pipeline.

mod engine_client;
mod gateway;
mod history;
mod http;
mod limits;
mod metrics;
mod ops;
mod projector;
mod refdata;
mod rest;

use std::net::SocketAddr;
use std::sync::Arc;

use cex_config::NodeConfig;
use cex_gateway::Gateway;
use cex_identity::Identity;
use cex_journal::{Durability, DurableEngine, DurableError, Startup};
use cex_runtime::{ConsumerOptions, Exit, Monitor, Runtime, RuntimeBuilder, RuntimeError};
use cex_trading::{ReadModel, ReadModelConfig, SharedReadModel, Trading};

pub use cex_identity::http::RATE_LIMITED_CODE;
pub use engine_client::{ClientError, EngineClient};
pub use gateway::gateway_config;
pub use http::HttpServer;
pub use refdata::{Applied, RefdataError};
pub use rest::identity_config;

#[derive(Debug)]
pub enum NodeError {
    DataDir(std::io::Error),
    Recovery(DurableError),
    Refdata(RefdataError),
    Runtime(RuntimeError),
    Ops(SocketAddr, std::io::Error),
    Projections(std::io::Error),
    Rest(String),
    Gateway(cex_gateway::GatewayError),
    History(String),
    Shutdown(DurableError),
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeError::DataDir(error) => write!(f, "cannot create the data directory: {error}"),
            NodeError::Recovery(error) => write!(f, "recovery failed: {error}"),
            NodeError::Refdata(error) => write!(f, "reference data: {error}"),
            NodeError::Runtime(error) => write!(f, "{error}"),
            NodeError::Ops(address, error) => write!(f, "cannot serve the ops port on {address}: {error}"),
            NodeError::Projections(error) => write!(f, "cannot start the read model's thread: {error}"),
            NodeError::Rest(why) => write!(f, "REST port: {why}"),
            NodeError::Gateway(error) => write!(f, "binary gateway: {error}"),
            NodeError::History(why) => write!(f, "history store: {why}"),
            NodeError::Shutdown(error) => write!(f, "shutdown failed: {error}"),
        }
    }
}

impl std::error::Error for NodeError {}

/// The node's services, for what acts inside the process on its users' behalf (the
/// `cex run --demo` bots): identity, trading, the engine's client and the runtime they run on.
#[derive(Clone)]
pub struct Services {
    pub identity: Arc<Identity>,
    pub trading: Arc<Trading>,
    pub engine: Arc<EngineClient>,
    pub runtime: tokio::runtime::Handle,
}

pub struct Node {
    services: Services,
    runtime: Runtime,
    projector: cex_runtime::ConsumerThread,
    history: Option<cex_history::HistoryFollower>,
    rest: HttpServer,
    gateway: Gateway,
    ops: HttpServer,
}

impl Node {
    pub fn start(config: &NodeConfig) -> Result<Node, NodeError> {
        Node::start_with(config, |_| Ok(())).map(|(node, ())| node)
    }

    /// Starts a node; `wire` registers the producers and consumers of whoever runs inside
    /// this process (gateways, sidecars, tests) before the engine thread starts.
    pub fn start_with<T>(
        config: &NodeConfig,
        wire: impl FnOnce(&mut RuntimeBuilder) -> Result<T, RuntimeError>,
    ) -> Result<(Node, T), NodeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(NodeError::DataDir)?;
        let (mut durable, startup) =
            DurableEngine::open(&config.durable_config(), config.engine_config()).map_err(NodeError::Recovery)?;
        log_startup(&startup);
        let added = refdata::reconcile(&mut durable, config).map_err(NodeError::Refdata)?;
        if !added.is_empty() {
            tracing::info!(commands = added.len(), "added the config's new assets and symbols");
        }
        let engine_last_seq = durable.engine().last_seq();
        let mut builder = RuntimeBuilder::new(config.runtime_config(), durable);
        let sidecars = builder.producer("sidecars").map_err(NodeError::Runtime)?;
        let sidecar_answers = builder.consumer("sidecars", consumer_options(config, None));
        let (model, projections_feed) = read_model(config, &mut builder, &added);
        let history = history::register(config, &mut builder, engine_last_seq)?;
        let gateway_rings = gateway::register_rings(&mut builder, config).map_err(NodeError::Runtime)?;
        let events_dir = builder.events_dir();
        let wired = wire(&mut builder).map_err(NodeError::Runtime)?;
        let runtime = builder.start().map_err(NodeError::Runtime)?;
        let projector = projector::start(projections_feed, model.clone()).map_err(NodeError::Projections)?;
        let history = history.map(history::PendingHistory::start).transpose()?;
        let engine = EngineClient::start(sidecars, sidecar_answers).map_err(|e| NodeError::Rest(e.to_string()))?;
        let engine = Arc::new(engine);
        let rest = rest::start(config, engine.clone(), model.clone()).map_err(NodeError::Rest)?;
        let services = Services {
            identity: rest.identity.clone(),
            trading: rest.trading.clone(),
            engine,
            runtime: rest.runtime.clone(),
        };
        tracing::info!(address = %rest.server.address(), "REST: identity and trading (docs/IDENTITY.md, docs/TRADING_API.md)");
        let verifier = Arc::new(gateway::IdentityVerifier { identity: rest.identity.clone(), runtime: rest.runtime });
        let gateway =
            Gateway::start(gateway_config(config), gateway_rings, verifier, events_dir).map_err(NodeError::Gateway)?;
        let ops_addr = config.network.ops_addr();
        let progress = history.as_ref().map(cex_history::HistoryFollower::progress);
        let ops = ops::start(ops_addr, runtime.monitor(), gateway.stats(), model, progress)
            .map_err(|error| NodeError::Ops(ops_addr, error))?;
        tracing::info!(address = %ops.address(), "ops endpoint: /metrics, /health, /ready");
        Ok((Node { services, runtime, projector, history, rest: rest.server, gateway, ops }, wired))
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    pub fn monitor(&self) -> Monitor {
        self.runtime.monitor()
    }

    pub fn ops_address(&self) -> SocketAddr {
        self.ops.address()
    }

    pub fn rest_address(&self) -> SocketAddr {
        self.rest.address()
    }

    pub fn gateway_address(&self) -> SocketAddr {
        self.gateway.address()
    }

    /// Logs the gateway's sessions out (their cancel-on-disconnect orders go to the engine),
    /// stops the REST port (requests in flight finish), then stops intake, drains the rings,
    /// writes a snapshot and closes the journals; the history writer commits what is left.
    pub fn shutdown(self) -> Result<Exit, NodeError> {
        self.gateway.shutdown();
        self.rest.stop();
        let exit = self.runtime.shutdown().map_err(NodeError::Shutdown)?;
        self.projector.stop();
        if let Some(history) = self.history {
            history.stop();
        }
        self.ops.stop();
        tracing::info!(last_seq = exit.last_seq, state_hash = format!("{:016x}", exit.state_hash), "stopped");
        Ok(exit)
    }
}

/// The trading read model and the consumer that feeds it. With a journal to read, the
/// consumer starts at sequence 1 and the model is rebuilt from it; without one (`none`
/// durability, nothing recovered) it starts after the reference data, which is applied to
/// the model here from the events `reconcile` returned.
fn read_model(
    config: &NodeConfig,
    builder: &mut RuntimeBuilder,
    refdata: &[Applied],
) -> (Arc<SharedReadModel>, cex_runtime::Consumer) {
    let journal_readable = builder.events_dir().is_some();
    let mut model = ReadModel::new(ReadModelConfig::default());
    if !journal_readable {
        for applied in refdata {
            model.apply(applied.seq, applied.ts_ns, &applied.events);
        }
    }
    let options = consumer_options(config, journal_readable.then_some(1));
    (Arc::new(SharedReadModel::new(model)), builder.consumer("projections", options))
}

/// The options of every consumer of the node, starting at `from_seq` (or at the next
/// command). In `fsync` mode each is handed only durable commands, so what clients are
/// answered, what they read and what the history store keeps never runs ahead of what
/// survives a power loss.
pub(crate) fn consumer_options(config: &NodeConfig, from_seq: Option<u64>) -> ConsumerOptions {
    ConsumerOptions { from_seq, wait_durable: config.journal.durability == Durability::Fsync }
}

fn log_startup(startup: &Startup) {
    if let Some(why) = &startup.uring_unavailable {
        tracing::warn!("io_uring is unavailable ({why}): the fsync journal runs on the memory-mapped writer");
    }
    if startup.dropped_event_records > 0 {
        let dropped = startup.dropped_event_records;
        tracing::warn!(dropped, "recovery dropped event records of commands that never became durable");
    }
    for tail in [&startup.commands.dropped_tail, &startup.events.dropped_tail].into_iter().flatten() {
        tracing::warn!("recovery dropped a torn journal tail: {tail:?}");
    }
    for skipped in &startup.skipped_snapshots {
        tracing::warn!(path = %skipped.path.display(), reason = %skipped.reason, "snapshot skipped");
    }
    tracing::info!(
        last_seq = startup.commands.last_seq,
        snapshot = ?startup.snapshot_seq,
        replayed = startup.replayed_commands,
        regenerated_events = startup.regenerated_event_records,
        state_hash = format!("{:016x}", startup.state_hash),
        "recovered"
    );
}
