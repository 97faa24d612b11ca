//! The pinned pipeline. Producers (gateway shards, sidecars) feed the engine thread through
//! one SPSC ring each; the engine thread journals, applies and publishes every command;
//! consumers read the events from their own rings, and fall back to the event journal when
//! they lag. Design and guarantees: `README.md`.

mod clock;
mod config;
mod input;
mod output;
mod pipeline;
mod stats;
mod worker;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use cex_journal::{DurableEngine, DurableError, DurableWatcher};
use crossbeam_utils::CachePadded;

pub use clock::{monotonic_ns, WallClock};
pub use config::{IdleStrategy, RuntimeConfig};
pub use input::{Producer, ProducerStats, SubmitError};
pub use output::{Consumer, ConsumerError, ConsumerStats, Delivery};
pub use pipeline::Exit;
pub use stats::{new_histogram, EngineState, RuntimeStats, Stage, StageHistograms};
pub use worker::ConsumerThread;

use input::{Doorbell, Intake, ProducerGate};
use output::{Outlet, Published, Wakeup};
use pipeline::{EngineThread, Input};
use stats::LocalTallies;

/// Where a consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsumerOptions {
    /// The first sequence to deliver; `None` means the first command after start. An
    /// earlier one is read from the event journal first.
    pub from_seq: Option<u64>,
    /// Deliver a command only once it is durable: for consumers that acknowledge to
    /// clients when the journal runs in `fsync` mode.
    pub wait_durable: bool,
}

#[derive(Debug)]
pub enum RuntimeError {
    Spawn(std::io::Error),
    /// The engine core named in the config does not exist or refused the thread.
    Pin(usize),
    TooManyProducers,
}

impl std::fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuntimeError::Spawn(error) => write!(f, "cannot start the engine thread: {error}"),
            RuntimeError::Pin(core) => write!(f, "cannot pin the engine thread to core {core}"),
            RuntimeError::TooManyProducers => write!(f, "more than {} producers", u16::MAX),
        }
    }
}

impl std::error::Error for RuntimeError {}

/// Registers the producers and consumers, then starts the engine thread.
pub struct RuntimeBuilder {
    config: RuntimeConfig,
    durable: DurableEngine,
    intake: Arc<Intake>,
    published: Arc<Published>,
    inputs: Vec<Input>,
    outlets: Vec<Outlet>,
    consumer_stats: Vec<Arc<ConsumerStats>>,
}

impl RuntimeBuilder {
    /// `durable` has recovered already; the pipeline continues from its last sequence.
    pub fn new(config: RuntimeConfig, durable: DurableEngine) -> RuntimeBuilder {
        let intake = Arc::new(Intake { closing: CachePadded::new(AtomicBool::new(false)), doorbell: Doorbell::new() });
        let published = Arc::new(Published {
            seq: CachePadded::new(AtomicU64::new(durable.engine().last_seq())),
            events_dir: durable.events_dir(),
            journal_readable: durable.is_persistent(),
        });
        RuntimeBuilder {
            config,
            durable,
            intake,
            published,
            inputs: Vec::new(),
            outlets: Vec::new(),
            consumer_stats: Vec::new(),
        }
    }

    /// A new input ring. Producer ids start at 1; 0 is the runtime's own.
    pub fn producer(&mut self, name: &str) -> Result<Producer, RuntimeError> {
        let id = u16::try_from(self.inputs.len() + 1).map_err(|_| RuntimeError::TooManyProducers)?;
        let (ring_producer, ring_consumer) = rtrb::RingBuffer::new(self.config.input_ring_capacity);
        let gate = Arc::new(ProducerGate { in_submit: CachePadded::new(AtomicBool::new(false)) });
        let stats = Arc::new(ProducerStats {
            name: name.to_string(),
            busy: AtomicU64::new(0),
            ring_used: AtomicU64::new(0),
            ring_capacity: self.config.input_ring_capacity as u64,
        });
        self.inputs.push(Input { ring: ring_consumer, gate: gate.clone(), stats: stats.clone() });
        Ok(Producer::new(id, ring_producer, gate, stats, self.intake.clone()))
    }

    /// A new output ring and the consumer that reads it.
    pub fn consumer(&mut self, name: &str, options: ConsumerOptions) -> Consumer {
        let capacity = self.config.output_ring_capacity;
        let (ring_producer, ring_consumer) = rtrb::RingBuffer::new(capacity);
        let stats = Arc::new(ConsumerStats {
            name: name.to_string(),
            position: CachePadded::new(AtomicU64::new(0)),
            overruns: AtomicU64::new(0),
            journal_reads: AtomicU64::new(0),
            ring_used: AtomicU64::new(0),
            ring_capacity: capacity as u64,
        });
        let wakeup = Arc::new(Wakeup::default());
        self.outlets.push(Outlet::new(ring_producer, stats.clone(), wakeup.clone()));
        self.consumer_stats.push(stats.clone());
        let next_seq = options.from_seq.unwrap_or(self.durable.engine().last_seq() + 1).max(1);
        let watcher = options.wait_durable.then(|| self.durable.durable_watcher());
        Consumer::new(ring_consumer, self.published.clone(), stats, watcher, next_seq, wakeup)
    }

    /// The event journal consumers may read history from; `None` when the journal is off.
    pub fn events_dir(&self) -> Option<std::path::PathBuf> {
        self.published.journal_readable.then(|| self.published.events_dir.clone())
    }

    pub fn start(self) -> Result<Runtime, RuntimeError> {
        let producers = self.inputs.iter().map(|input| input.stats.clone()).collect();
        let stats = Arc::new(RuntimeStats::new(monotonic_ns(), producers, self.consumer_stats));
        let watcher = self.durable.durable_watcher();
        let engine_thread = EngineThread {
            durable: self.durable,
            inputs: self.inputs,
            outlets: self.outlets,
            config: self.config.clone(),
            intake: self.intake.clone(),
            published: self.published.clone(),
            stats: stats.clone(),
            watcher: watcher.clone(),
            clock: WallClock::new(),
            tallies: LocalTallies::new(),
            events: Vec::with_capacity(1 << 12),
            next_ring: 0,
            commands_seen: 0,
            pending_acks: VecDeque::with_capacity(4_096),
            last_flush_ns: 0,
        };
        let core = self.config.engine_core;
        let (pinned_sender, pinned) = std::sync::mpsc::sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("cex-engine".into())
            .spawn(move || {
                let ok = core.is_none_or(|id| core_affinity::set_for_current(core_affinity::CoreId { id }));
                let _ = pinned_sender.send(ok);
                if !ok {
                    return Err(DurableError::Inconsistent("the engine thread was not pinned".into()));
                }
                engine_thread.run()
            })
            .map_err(RuntimeError::Spawn)?;
        if !pinned.recv().unwrap_or(false) {
            let _ = handle.join();
            return Err(RuntimeError::Pin(core.unwrap_or_default()));
        }
        self.intake.doorbell.set_engine_thread(handle.thread().clone());
        Ok(Runtime { handle: Some(handle), intake: self.intake, published: self.published, stats, watcher })
    }
}

/// The running pipeline.
pub struct Runtime {
    handle: Option<JoinHandle<Result<Exit, DurableError>>>,
    intake: Arc<Intake>,
    published: Arc<Published>,
    stats: Arc<RuntimeStats>,
    watcher: DurableWatcher,
}

impl Runtime {
    pub fn stats(&self) -> Arc<RuntimeStats> {
        self.stats.clone()
    }

    /// The last sequence journaled, applied and offered to every consumer.
    pub fn published_seq(&self) -> u64 {
        self.published.seq.load(Ordering::Acquire)
    }

    pub fn durable_seq(&self) -> u64 {
        self.watcher.durable_seq()
    }

    /// A cheap handle for the metrics and health endpoints.
    pub fn monitor(&self) -> Monitor {
        Monitor { published: self.published.clone(), stats: self.stats.clone(), watcher: self.watcher.clone() }
    }

    /// Graceful stop: producers are refused from now on, everything they already put in
    /// the rings is processed and published, a snapshot of the final state is written, and
    /// the journals are closed.
    pub fn shutdown(mut self) -> Result<Exit, DurableError> {
        self.intake.closing.store(true, Ordering::SeqCst);
        self.intake.doorbell.ring();
        if let Some(engine) = self.handle.as_ref() {
            engine.thread().unpark();
        }
        let handle = self.handle.take().expect("the engine thread is joined only here");
        handle.join().unwrap_or_else(|_| Err(DurableError::Inconsistent("the engine thread panicked".into())))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.intake.closing.store(true, Ordering::SeqCst);
            handle.thread().unpark();
            let _ = handle.join();
        }
    }
}

/// Read-only view of a running pipeline, for metrics and health.
#[derive(Clone)]
pub struct Monitor {
    published: Arc<Published>,
    stats: Arc<RuntimeStats>,
    watcher: DurableWatcher,
}

impl Monitor {
    pub fn published_seq(&self) -> u64 {
        self.published.seq.load(Ordering::Acquire)
    }

    pub fn durable_seq(&self) -> u64 {
        self.watcher.durable_seq()
    }

    pub fn stats(&self) -> &RuntimeStats {
        &self.stats
    }
}
