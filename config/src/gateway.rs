//! `[gateway]`: the binary order gateway's shards and per-session limits. The node turns it
//! into `cex_gateway::GatewayConfig`; the defaults here are that crate's (a node test keeps
//! them equal).

use serde::Deserialize;

use crate::error::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewaySettings {
    /// io_uring executors, each on a thread of its own, sharing the port.
    pub shards: usize,
    /// The core of each shard; empty leaves them to the scheduler.
    pub cores: Vec<usize>,
    /// Logged-on sessions across all shards.
    pub max_sessions: usize,
    /// A longer frame closes the connection.
    pub max_frame_bytes: usize,
    /// Messages a session may send per second, sustained; heartbeats and logouts are free.
    pub rate_per_second: u32,
    /// Messages a session may send at once after a quiet spell.
    pub rate_burst: u32,
    /// A session's engine commands awaiting their responses.
    pub max_in_flight: u32,
    /// The heartbeat intervals a Logon may ask for.
    pub heartbeat_min_ms: u32,
    pub heartbeat_max_ms: u32,
    /// How long a new connection has to log on.
    pub logon_timeout_ms: u64,
    /// Journal sequences one RetransmitRequest may scan.
    pub retransmit_max: u32,
    /// Responses waiting for a client that does not read, before it is logged out.
    pub max_outbound_kb: usize,
    /// When a shard has no engine output to route: `spin` polls again at once (lowest latency,
    /// a busy core), `sleep` sleeps `idle_sleep_us` after `idle_spins` empty polls.
    pub idle: GatewayIdle,
    pub idle_spins: u32,
    pub idle_sleep_us: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayIdle {
    Spin,
    Sleep,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            shards: 1,
            cores: Vec::new(),
            max_sessions: 1_000,
            max_frame_bytes: 4_096,
            rate_per_second: 100_000,
            rate_burst: 10_000,
            max_in_flight: 4_096,
            heartbeat_min_ms: 1_000,
            heartbeat_max_ms: 60_000,
            logon_timeout_ms: 5_000,
            retransmit_max: 100_000,
            max_outbound_kb: 8_192,
            idle: GatewayIdle::Sleep,
            idle_spins: 2_000,
            idle_sleep_us: 50,
        }
    }
}

/// The smallest frame limit that still fits a Logon with a 64-character API key.
const MIN_FRAME_BYTES: usize = 256;
const MAX_FRAME_BYTES: usize = 1 << 20;
const MAX_SHARDS: usize = 256;

impl GatewaySettings {
    pub(crate) fn check(&self, errors: &mut Vec<ConfigError>) {
        let mut error = |key: &str, message: String| errors.push(ConfigError::new(key, message));
        if !(1..=MAX_SHARDS).contains(&self.shards) {
            error("gateway.shards", format!("must be 1 to {MAX_SHARDS}"));
        }
        if !self.cores.is_empty() && self.cores.len() != self.shards {
            let message =
                format!("lists {} cores for {} shards: one per shard, or none", self.cores.len(), self.shards);
            error("gateway.cores", message);
        }
        if !(MIN_FRAME_BYTES..=MAX_FRAME_BYTES).contains(&self.max_frame_bytes) {
            error("gateway.max_frame_bytes", format!("must be {MIN_FRAME_BYTES} to {MAX_FRAME_BYTES}"));
        }
        let positive = [
            ("gateway.max_sessions", self.max_sessions as u64),
            ("gateway.rate_per_second", u64::from(self.rate_per_second)),
            ("gateway.rate_burst", u64::from(self.rate_burst)),
            ("gateway.max_in_flight", u64::from(self.max_in_flight)),
            ("gateway.heartbeat_min_ms", u64::from(self.heartbeat_min_ms)),
            ("gateway.logon_timeout_ms", self.logon_timeout_ms),
            ("gateway.retransmit_max", u64::from(self.retransmit_max)),
            ("gateway.idle_sleep_us", self.idle_sleep_us),
        ];
        for (key, value) in positive {
            if value == 0 {
                error(key, "must be above zero".into());
            }
        }
        if self.heartbeat_max_ms < self.heartbeat_min_ms {
            error("gateway.heartbeat_max_ms", format!("must be at least heartbeat_min_ms ({})", self.heartbeat_min_ms));
        }
        if self.max_outbound_kb < 64 {
            error("gateway.max_outbound_kb", "must be at least 64".into());
        }
    }
}
