//! The server side of `cex bench gateway`: a runtime with the mmap journal behind the binary
//! gateway, accounts funded through the journal before the gateway opens, logons checked
//! against the bench's own keys, and a raw TCP echo server for the baseline.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cex_engine::Event;
use cex_gateway::{
    Gateway, GatewayConfig, LogonGrant, LogonRefusal, LogonRequest, LogonVerifier, ShardIdle, ShardRings, VerifyFuture,
};
use cex_gateway_protocol::codec::{KeyPermissions, LogonRejectReason};
use cex_gateway_protocol::sign_logon;
use cex_journal::{Durability, DurableConfig, DurableEngine, JournalConfig, Origin, SnapshotPolicy};
use cex_runtime::{ConsumerOptions, Exit, IdleStrategy, Runtime, RuntimeBuilder, RuntimeConfig};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpListener;
use glommio::{LocalExecutorBuilder, Placement};

use crate::market;

/// One session's key: the load client reads these from a file.
#[derive(Clone)]
pub struct BenchKey {
    pub api_key: String,
    pub secret: String,
    pub account: u32,
}

/// The gateway and the runtime behind it.
pub struct Exchange {
    pub gateway: Gateway,
    pub runtime: Runtime,
}

impl Exchange {
    /// Starts the runtime (engine pinned to `engine_core`) with one funded account per key,
    /// then the gateway with one shard on `shard_core`.
    pub fn start(
        dir: &Path,
        keys: &[BenchKey],
        engine_core: Option<usize>,
        shard_core: Option<usize>,
        shard_idle: ShardIdle,
    ) -> Result<Exchange, String> {
        let accounts = keys.len() as u32;
        let config = DurableConfig {
            dir: dir.to_path_buf(),
            journal: JournalConfig { durability: Durability::Mmap, ..JournalConfig::default() },
            snapshots: SnapshotPolicy { every_commands: 0, every_ns: 0, keep: 1 },
        };
        let engine_config = market::engine_config(1, accounts, 1 << 20, false);
        let (mut durable, _) = DurableEngine::open(&config, engine_config).map_err(|e| e.to_string())?;
        let mut events: Vec<Event> = Vec::new();
        for command in market::setup_commands(1, accounts) {
            durable.submit(now_ns(), Origin::INTERNAL, &command, &mut events).map_err(|e| e.to_string())?;
        }
        let runtime_config = RuntimeConfig { engine_core, idle: IdleStrategy::default(), ..RuntimeConfig::default() };
        let mut builder = RuntimeBuilder::new(runtime_config, durable);
        let producer = builder.producer("gateway-0").map_err(|e| e.to_string())?;
        let consumer = builder.consumer("gateway-0", ConsumerOptions::default());
        let events_dir = builder.events_dir();
        let runtime = builder.start().map_err(|e| e.to_string())?;
        let gateway_config = GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            shards: vec![shard_core],
            // The bench measures the path, not the limits: they are set out of its way.
            rate_per_second: 10_000_000,
            rate_burst: 1_000_000,
            max_in_flight: 1 << 20,
            max_outbound_bytes: 256 << 20,
            idle: shard_idle,
            ..GatewayConfig::default()
        };
        let verifier = Arc::new(KeyTable::new(keys));
        let rings = vec![ShardRings { producer, consumer }];
        let gateway = Gateway::start(gateway_config, rings, verifier, events_dir).map_err(|e| e.to_string())?;
        Ok(Exchange { gateway, runtime })
    }

    pub fn stop(self) -> Result<Exit, String> {
        self.gateway.shutdown();
        self.runtime.shutdown().map_err(|e| e.to_string())
    }
}

/// The bench's keys, checked as the identity store checks them: signature, a 5 s window,
/// and each signature once.
struct KeyTable {
    keys: Vec<BenchKey>,
    used: Mutex<HashSet<[u8; 32]>>,
}

impl KeyTable {
    fn new(keys: &[BenchKey]) -> KeyTable {
        KeyTable { keys: keys.to_vec(), used: Mutex::default() }
    }

    fn check(&self, request: &LogonRequest) -> Result<LogonGrant, LogonRefusal> {
        let refuse = |reason, text: &str| Err(LogonRefusal::new(reason, text));
        let Some(key) = self.keys.iter().find(|key| key.api_key == request.api_key) else {
            return refuse(LogonRejectReason::UnknownApiKey, "unknown API key");
        };
        if sign_logon(&key.secret, &key.api_key, request.timestamp_ms, request.nonce) != request.signature {
            return refuse(LogonRejectReason::InvalidSignature, "the signature does not match");
        }
        if now_ms().abs_diff(request.timestamp_ms) > 5_000 {
            return refuse(LogonRejectReason::StaleTimestamp, "outside the logon window");
        }
        if !self
            .used
            .lock()
            .map_err(|_| LogonRefusal::new(LogonRejectReason::Unavailable, "poisoned"))?
            .insert(request.signature)
        {
            return refuse(LogonRejectReason::ReplayedLogon, "replayed");
        }
        Ok(LogonGrant { account: key.account, permissions: KeyPermissions::READ.with(KeyPermissions::TRADE) })
    }
}

impl LogonVerifier for KeyTable {
    fn verify(&self, request: LogonRequest) -> VerifyFuture {
        let answer = self.check(&request);
        Box::pin(async move { answer })
    }
}

/// A raw TCP echo server on one glommio executor, placed as the gateway's shard: the baseline
/// the gateway's round trip is compared with. Returns its address; it serves until the
/// process exits.
pub fn start_echo(core: Option<usize>) -> Result<SocketAddr, String> {
    let (bound, bound_rx) = std::sync::mpsc::channel::<Result<SocketAddr, String>>();
    let placement = core.map_or(Placement::Unbound, Placement::Fixed);
    LocalExecutorBuilder::new(placement)
        .name("cex-bench-echo")
        .io_memory(512 << 10)
        .spawn(move || async move {
            let listener = match TcpListener::bind("127.0.0.1:0") {
                Ok(listener) => listener,
                Err(error) => return drop(bound.send(Err(error.to_string()))),
            };
            let _ = bound.send(listener.local_addr().map_err(|e| e.to_string()));
            while let Ok(stream) = listener.accept().await {
                glommio::spawn_local(echo(stream)).detach();
            }
        })
        .map_err(|e| e.to_string())?;
    bound_rx.recv_timeout(Duration::from_secs(10)).map_err(|e| e.to_string())?
}

/// Writes back what it reads, with the gateway's socket options.
async fn echo(stream: glommio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = futures_lite::io::split(stream);
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(read) = reader.read(&mut buf).await {
        if read == 0 || writer.write_all(&buf[..read]).await.is_err() {
            return;
        }
    }
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |since| since.as_nanos() as u64)
}

pub fn now_ms() -> u64 {
    now_ns() / 1_000_000
}
