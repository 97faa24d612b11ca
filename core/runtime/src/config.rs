//! How the engine thread runs: its core, how it waits when idle, and ring sizes.

/// What the engine thread does when every input ring is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleStrategy {
    /// Never yields the core: lowest latency, needs an isolated core to itself.
    BusySpin,
    /// Spins `spins` empty polls, then yields to the OS scheduler between polls. Gives the
    /// core to any runnable thread, but still shows as 100% busy when nothing else runs.
    SpinThenYield { spins: u32 },
    /// Spins `spins` empty polls, then parks until a producer rings the doorbell (or
    /// `max_park_us` passes, so housekeeping still runs). The default: an idle engine costs
    /// nothing, which is what a 2-core machine needs; the price is a wake-up (tens of µs)
    /// for the first command after a quiet spell.
    Park { spins: u32, max_park_us: u32 },
}

impl Default for IdleStrategy {
    fn default() -> Self {
        IdleStrategy::Park { spins: 20_000, max_park_us: 1_000 }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// The core the engine thread is pinned to; `None` leaves it to the scheduler.
    pub engine_core: Option<usize>,
    pub idle: IdleStrategy,
    /// Slots in each producer's input ring.
    pub input_ring_capacity: usize,
    /// At most this many commands are taken from one ring before the next ring's turn.
    pub batch_per_ring: usize,
    /// Slots in each consumer's output ring. A consumer that lets it fill falls back to the
    /// event journal.
    pub output_ring_capacity: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            engine_core: None,
            idle: IdleStrategy::default(),
            input_ring_capacity: 4_096,
            batch_per_ring: 64,
            output_ring_capacity: 65_536,
        }
    }
}
