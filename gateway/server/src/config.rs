//! What the gateway is told at start: where to listen, its shards, and each session's limits.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use cex_gateway_protocol::DEFAULT_MAX_FRAME_LENGTH;

/// What a shard does when it has nothing to read from the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardIdle {
    /// Polls again at once, yielding to the shard's other tasks: the lowest latency, and a
    /// core kept busy. For hosts with a core to spare per shard.
    Spin,
    /// After `spins` empty polls, sleeps `sleep` between polls: costs almost nothing when idle
    /// and adds up to `sleep` to the first response after a quiet spell.
    Sleep { spins: u32, sleep: Duration },
}

impl Default for ShardIdle {
    fn default() -> Self {
        ShardIdle::Sleep { spins: 2_000, sleep: Duration::from_micros(50) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    pub listen: SocketAddr,
    /// One shard (an io_uring executor on a thread of its own) per entry, pinned to the core it
    /// names, or left to the scheduler for `None`. Each shard accepts on the same port
    /// (SO_REUSEPORT), so the kernel spreads connections over them.
    pub shards: Vec<Option<usize>>,
    /// Logged-on sessions across all shards.
    pub max_sessions: usize,
    /// Frames longer than this close the connection.
    pub max_frame_length: usize,
    /// Messages a session may send per second, sustained (heartbeats and logouts are free).
    pub rate_per_second: u32,
    /// Messages a session may send at once after a quiet spell.
    pub rate_burst: u32,
    /// Engine commands of one session submitted and not yet answered.
    pub max_in_flight: u32,
    /// Heartbeat intervals a Logon may ask for, in ms.
    pub heartbeat_ms: RangeInclusive<u32>,
    /// How long a new connection has to send its Logon.
    pub logon_timeout: Duration,
    /// Journal sequences one RetransmitRequest may scan.
    pub retransmit_max: u32,
    /// Responses waiting to be written to one session, in bytes. A client that lets more pile
    /// up is logged out (SlowConsumer): nothing is buffered without bound.
    pub max_outbound_bytes: usize,
    pub idle: ShardIdle,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9000)),
            shards: vec![None],
            max_sessions: 1_000,
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            rate_per_second: 100_000,
            rate_burst: 10_000,
            max_in_flight: 4_096,
            heartbeat_ms: 1_000..=60_000,
            logon_timeout: Duration::from_secs(5),
            retransmit_max: 100_000,
            max_outbound_bytes: 8 << 20,
            idle: ShardIdle::default(),
        }
    }
}
