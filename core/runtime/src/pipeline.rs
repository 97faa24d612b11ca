//! The engine thread: polls the input rings round-robin, and for each command journals it,
//! applies it, journals its events and offers them to every consumer, then publishes the
//! sequence.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use cex_engine::Event;
use cex_journal::{DurableEngine, DurableError, DurableWatcher, Stage as DurableStage, StageProbe};

use crate::clock::{monotonic_ns, WallClock};
use crate::config::{IdleStrategy, RuntimeConfig};
use crate::input::{Intake, ProducerGate, ProducerStats, Request};
use crate::output::{Outlet, Published};
use crate::stats::{EngineState, LocalTallies, RuntimeStats, Stage};

/// One command in this many has its stages timed; the rest pay for no extra clock reads.
const STAGE_SAMPLE_EVERY: u32 = 16;
const FLUSH_EVERY_NS: u64 = 1_000_000;
const MAX_PENDING_ACKS: usize = 4_096;

pub(crate) struct Input {
    pub ring: rtrb::Consumer<Request>,
    pub gate: Arc<ProducerGate>,
    pub stats: Arc<ProducerStats>,
}

/// How the engine thread ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub last_seq: u64,
    pub state_hash: u64,
}

pub(crate) struct EngineThread {
    pub durable: DurableEngine,
    pub inputs: Vec<Input>,
    pub outlets: Vec<Outlet>,
    pub config: RuntimeConfig,
    pub intake: Arc<Intake>,
    pub published: Arc<Published>,
    pub stats: Arc<RuntimeStats>,
    pub watcher: DurableWatcher,
    pub clock: WallClock,
    pub tallies: LocalTallies,
    pub events: Vec<Event>,
    pub next_ring: usize,
    pub commands_seen: u32,
    /// Sampled (sequence, append time) pairs waiting to become durable.
    pub pending_acks: VecDeque<(u64, u64)>,
    pub last_flush_ns: u64,
}

impl EngineThread {
    pub fn run(mut self) -> Result<Exit, DurableError> {
        let result = self.serve();
        self.tallies.flush(&self.stats);
        self.flush_gauges();
        match result {
            Ok(()) => {
                let exit =
                    Exit { last_seq: self.durable.engine().last_seq(), state_hash: self.durable.engine().state_hash() };
                self.durable.close_with_snapshot()?;
                self.stats.set_state(EngineState::Stopped);
                Ok(exit)
            }
            Err(error) => {
                self.stats.set_state(EngineState::Failed);
                Err(error)
            }
        }
    }

    fn serve(&mut self) -> Result<(), DurableError> {
        let mut idler = Idler::new(self.config.idle);
        loop {
            if self.poll_round()? > 0 {
                idler.reset();
            } else if self.intake.closing.load(Ordering::Acquire) {
                return self.drain();
            } else {
                let inputs = &self.inputs;
                idler.idle(&self.intake, || inputs.iter().any(|input| !input.ring.is_empty()));
            }
            self.settle_acks();
            self.maybe_flush();
        }
    }

    /// Intake is closed: waits for submits already past the gate, then takes everything
    /// left in the rings.
    fn drain(&mut self) -> Result<(), DurableError> {
        self.stats.set_state(EngineState::Draining);
        for input in &self.inputs {
            while input.gate.in_submit.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
        while self.poll_round()? > 0 {}
        Ok(())
    }

    /// Takes up to a batch from each ring in turn, starting one ring later each round so
    /// no producer is always first.
    fn poll_round(&mut self) -> Result<usize, DurableError> {
        let rings = self.inputs.len();
        if rings == 0 {
            return Ok(0);
        }
        let started = monotonic_ns();
        let mut processed = 0;
        for offset in 0..rings {
            let index = (self.next_ring + offset) % rings;
            for _ in 0..self.config.batch_per_ring {
                let Ok(request) = self.inputs[index].ring.pop() else { break };
                self.process(request)?;
                processed += 1;
            }
        }
        self.next_ring = (self.next_ring + 1) % rings;
        if processed > 0 {
            self.wake_consumers();
            self.tallies.busy_ns += monotonic_ns().saturating_sub(started);
        }
        Ok(processed)
    }

    #[inline]
    fn process(&mut self, request: Request) -> Result<(), DurableError> {
        let dequeued_ns = monotonic_ns();
        self.tallies.latencies.record(Stage::RingWait, dequeued_ns.saturating_sub(request.enqueued_ns));
        let ts_ns = self.clock.wall_ns(dequeued_ns);
        self.events.clear();
        self.commands_seen = self.commands_seen.wrapping_add(1);
        let sampled = self.commands_seen.is_multiple_of(STAGE_SAMPLE_EVERY);
        let submitted = if sampled {
            let mut probe = TimingProbe { last_ns: dequeued_ns, journal_ns: 0, apply_ns: 0 };
            let seq = self.durable.submit_probed(ts_ns, request.origin, &request.command, &mut self.events, &mut probe);
            self.tallies.latencies.record(Stage::JournalAppend, probe.journal_ns);
            self.tallies.latencies.record(Stage::EngineApply, probe.apply_ns);
            seq
        } else {
            self.durable.submit(ts_ns, request.origin, &request.command, &mut self.events)
        };
        let seq = match submitted {
            Ok(seq) => seq,
            // Producers refuse what cannot be encoded, so this is a bug, not input: the
            // command got no sequence and changed nothing.
            Err(DurableError::Unencodable(error)) => {
                eprintln!("cex-runtime: dropped an unencodable command from {:?}: {error}", request.origin);
                return Ok(());
            }
            Err(error) => return Err(error),
        };
        self.tallies.count(request.command.kind(), &self.events);
        for outlet in &mut self.outlets {
            outlet.offer(seq, ts_ns, request.origin, &self.events);
        }
        self.published.seq.store(seq, Ordering::Release);
        if sampled && self.pending_acks.len() < MAX_PENDING_ACKS {
            self.pending_acks.push_back((seq, dequeued_ns));
        }
        Ok(())
    }

    /// After publishing: the fence orders the publication before the looks at the
    /// consumers' parked flags (a consumer announces, then looks at the sequence).
    fn wake_consumers(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        for outlet in &self.outlets {
            outlet.wake_if_parked();
        }
    }

    /// Records how long sampled commands took to become durable.
    fn settle_acks(&mut self) {
        let Some(&(oldest, _)) = self.pending_acks.front() else { return };
        let durable = self.watcher.durable_seq();
        if oldest > durable {
            return;
        }
        let now = monotonic_ns();
        while let Some(&(seq, appended_ns)) = self.pending_acks.front() {
            if seq > durable {
                break;
            }
            self.tallies.latencies.record(Stage::DurableAck, now.saturating_sub(appended_ns));
            self.pending_acks.pop_front();
        }
    }

    fn maybe_flush(&mut self) {
        let now = monotonic_ns();
        if now.saturating_sub(self.last_flush_ns) >= FLUSH_EVERY_NS {
            self.last_flush_ns = now;
            self.tallies.flush(&self.stats);
            self.flush_gauges();
        }
    }

    fn flush_gauges(&self) {
        for input in &self.inputs {
            input.stats.ring_used.store(input.ring.slots() as u64, Ordering::Relaxed);
        }
        for outlet in &self.outlets {
            outlet.record_occupancy();
        }
    }
}

/// Splits `submit_probed` into journal time (both appends) and engine time.
struct TimingProbe {
    last_ns: u64,
    journal_ns: u64,
    apply_ns: u64,
}

impl StageProbe for TimingProbe {
    fn stage_done(&mut self, stage: DurableStage) {
        let now = monotonic_ns();
        let spent = now.saturating_sub(self.last_ns);
        self.last_ns = now;
        match stage {
            DurableStage::CommandJournaled | DurableStage::EventsJournaled => self.journal_ns += spent,
            DurableStage::Applied => self.apply_ns += spent,
        }
    }
}

/// Carries out the configured [`IdleStrategy`] over a run of empty polls.
struct Idler {
    strategy: IdleStrategy,
    empty_polls: u32,
}

impl Idler {
    fn new(strategy: IdleStrategy) -> Idler {
        Idler { strategy, empty_polls: 0 }
    }

    fn reset(&mut self) {
        self.empty_polls = 0;
    }

    fn idle(&mut self, intake: &Intake, has_work: impl Fn() -> bool) {
        self.empty_polls = self.empty_polls.saturating_add(1);
        match self.strategy {
            IdleStrategy::BusySpin => std::hint::spin_loop(),
            IdleStrategy::SpinThenYield { spins } if self.empty_polls <= spins => std::hint::spin_loop(),
            IdleStrategy::SpinThenYield { .. } => std::thread::yield_now(),
            IdleStrategy::Park { spins, .. } if self.empty_polls <= spins => std::hint::spin_loop(),
            IdleStrategy::Park { max_park_us, .. } => {
                intake.doorbell.announce_park();
                // A producer that pushed before seeing the announcement did not ring.
                if !has_work() && !intake.closing.load(Ordering::SeqCst) {
                    std::thread::park_timeout(std::time::Duration::from_micros(max_park_us as u64));
                }
                intake.doorbell.unparked();
            }
        }
    }
}
