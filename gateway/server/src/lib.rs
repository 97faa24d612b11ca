//! The binary order gateway: SBE over TCP (docs/BINARY_PROTOCOL.md) on glommio, io_uring
//! executors pinned one per configured core.
//!
//! Each shard owns a producer ring into the engine and a consumer ring out of it (both
//! SPSC, from `cex-runtime`), accepts connections on the shared port (SO_REUSEPORT), and
//! keeps its sessions entirely on its thread:
//!
//! - **logon**: the first frame must be a Logon; the node's [`LogonVerifier`] checks the key,
//!   signature, timestamp window, nonce and address, and the key needs `read` or `trade`;
//! - **order entry**: each message is decoded (bounds-checked, never trusted), limited (rate,
//!   commands in flight), stamped with the session's account and submitted, all or nothing;
//!   refusals are SessionRejects with a reason code;
//! - **responses**: the shard's pump routes every engine event to the sessions of the accounts
//!   it concerns, in journal order, through a bounded per-session buffer;
//! - **session life**: heartbeats, idle timeout, Logout, cancel-on-disconnect, and
//!   retransmission from the event journal.

mod auth;
mod config;
mod limits;
mod outbound;
mod retransmit;
mod routing;
mod session;
mod shard;
mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use cex_runtime::{Consumer, Producer};
use glommio::net::TcpListener;
use glommio::{ExecutorJoinHandle, LocalExecutorBuilder, Placement};

pub use auth::{LogonGrant, LogonRefusal, LogonRequest, LogonVerifier, VerifyFuture};
pub use config::{GatewayConfig, ShardIdle};
pub use routing::event_accounts;
pub use stats::GatewayStats;

use shard::{Shard, Shared};

/// io_uring registered-buffer memory per shard. Sockets do not use it, and it counts
/// against RLIMIT_MEMLOCK, which is small on many hosts.
const SHARD_IO_MEMORY: usize = 512 << 10;

/// One shard's rings: a producer and a consumer registered for it alone.
pub struct ShardRings {
    pub producer: Producer,
    pub consumer: Consumer,
}

#[derive(Debug)]
pub enum GatewayError {
    /// The number of rings does not match the configured shards.
    Shards {
        configured: usize,
        rings: usize,
    },
    Bind(SocketAddr, String),
    Executor(String),
}

impl std::fmt::Display for GatewayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayError::Shards { configured, rings } => {
                write!(f, "{configured} gateway shards are configured but {rings} ring pairs were given")
            }
            GatewayError::Bind(address, why) => write!(f, "cannot listen on {address}: {why}"),
            GatewayError::Executor(why) => write!(f, "cannot start a gateway shard: {why}"),
        }
    }
}

impl std::error::Error for GatewayError {}

/// A running gateway.
pub struct Gateway {
    address: SocketAddr,
    shared: Arc<Shared>,
    shards: Vec<ExecutorJoinHandle<()>>,
}

impl Gateway {
    /// Starts one shard per entry of `config.shards`, each with its rings. `events_dir` is the
    /// event journal to retransmit from (`None` when the journal is off).
    pub fn start(
        config: GatewayConfig,
        rings: Vec<ShardRings>,
        verifier: Arc<dyn LogonVerifier>,
        events_dir: Option<PathBuf>,
    ) -> Result<Gateway, GatewayError> {
        if rings.len() != config.shards.len() || rings.is_empty() {
            return Err(GatewayError::Shards { configured: config.shards.len(), rings: rings.len() });
        }
        let placements = config.shards.clone();
        let shared = Arc::new(Shared {
            config,
            verifier,
            stats: Arc::default(),
            sessions: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            events_dir,
        });
        let mut gateway = Gateway { address: shared.config.listen, shared, shards: Vec::new() };
        for (index, (rings, core)) in rings.into_iter().zip(placements).enumerate() {
            // The first shard resolves port 0; the others join the port it got.
            let address = gateway.start_shard(index, core, rings)?;
            gateway.address = address;
        }
        tracing::info!(address = %gateway.address, shards = gateway.shards.len(), "binary gateway listening");
        Ok(gateway)
    }

    fn start_shard(
        &mut self,
        index: usize,
        core: Option<usize>,
        rings: ShardRings,
    ) -> Result<SocketAddr, GatewayError> {
        let placement = core.map_or(Placement::Unbound, Placement::Fixed);
        let (bound, bound_rx) = mpsc::channel::<Result<SocketAddr, String>>();
        let shared = self.shared.clone();
        let address = self.address;
        let mut builder =
            LocalExecutorBuilder::new(placement).name(&format!("cex-gateway-{index}")).io_memory(SHARD_IO_MEMORY);
        if self.shared.config.idle == ShardIdle::Spin {
            builder = builder.spin_before_park(shard::SPIN_BEFORE_PARK);
        }
        let handle = builder
            .spawn(move || async move {
                let listener = match TcpListener::bind(address) {
                    Ok(listener) => listener,
                    Err(error) => return drop(bound.send(Err(error.to_string()))),
                };
                let _ = bound.send(listener.local_addr().map_err(|error| error.to_string()));
                let ShardRings { producer, consumer } = rings;
                let shard = Rc::new(Shard::new(index, shared, producer, consumer.next_seq()));
                shard::run(shard, listener, consumer).await;
            })
            .map_err(|error| GatewayError::Executor(error.to_string()))?;
        let address = match bound_rx.recv() {
            Ok(Ok(address)) => address,
            Ok(Err(why)) => return Err(GatewayError::Bind(address, why)),
            Err(_) => return Err(GatewayError::Executor(format!("shard {index} stopped while starting"))),
        };
        self.shards.push(handle);
        Ok(address)
    }

    /// Where the gateway listens (the port is resolved if 0 was asked for).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn stats(&self) -> Arc<GatewayStats> {
        self.shared.stats.clone()
    }

    /// Stops accepting, logs every session out (ServerShutdown; cancel-on-disconnect sessions
    /// have their orders cancelled) and joins the shards. Call it before the runtime stops, so
    /// those cancels reach the engine.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        for shard in self.shards.drain(..) {
            if let Err(error) = shard.join() {
                tracing::error!("a gateway shard failed: {error}");
            }
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.stop();
    }
}
