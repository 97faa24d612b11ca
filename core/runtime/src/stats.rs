//! The pipeline's numbers. The engine thread counts into plain locals and copies them into
//! these atomics every millisecond or so, so the hot path pays no atomic operation per
//! command; latencies go into HDR histograms merged the same way.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use cex_engine::{CommandKind, Event, EventBody, RejectReason};
use hdrhistogram::Histogram;

use crate::input::ProducerStats;
use crate::output::ConsumerStats;

/// Where a command's time goes, each measured in its own histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// From the producer's push to the engine thread's pop.
    RingWait,
    /// Appending the command and its events to the journals.
    JournalAppend,
    /// The engine applying the command.
    EngineApply,
    /// From the command's append until its sequence is durable (sampled).
    DurableAck,
}

impl Stage {
    pub const ALL: [Stage; 4] = [Stage::RingWait, Stage::JournalAppend, Stage::EngineApply, Stage::DurableAck];

    pub fn name(self) -> &'static str {
        match self {
            Stage::RingWait => "ring_wait",
            Stage::JournalAppend => "journal_append",
            Stage::EngineApply => "engine_apply",
            Stage::DurableAck => "durable_ack",
        }
    }
}

/// The engine thread's life, for `/health` and `/ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum EngineState {
    Running = 0,
    /// Shutdown was asked for: intake is closed and the rings are draining.
    Draining = 1,
    Stopped = 2,
    /// The journal failed: nothing more can be accepted safely.
    Failed = 3,
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// Per-stage latency histograms, in nanoseconds.
pub struct StageHistograms {
    histograms: [Histogram<u64>; 4],
}

impl StageHistograms {
    pub fn new() -> StageHistograms {
        StageHistograms { histograms: std::array::from_fn(|_| new_histogram()) }
    }

    #[inline]
    pub fn record(&mut self, stage: Stage, ns: u64) {
        self.histograms[stage as usize].saturating_record(ns.max(1));
    }

    pub fn get(&self, stage: Stage) -> &Histogram<u64> {
        &self.histograms[stage as usize]
    }

    /// Moves `other`'s samples into these, leaving `other` empty.
    fn absorb(&mut self, other: &mut StageHistograms) {
        for (mine, theirs) in self.histograms.iter_mut().zip(other.histograms.iter_mut()) {
            let _ = mine.add(&*theirs);
            theirs.reset();
        }
    }
}

impl Default for StageHistograms {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything the metrics endpoint reads. Counters are totals since start.
pub struct RuntimeStats {
    pub commands_by_kind: Vec<AtomicU64>,
    pub events_by_kind: Vec<AtomicU64>,
    /// Indexed by reject code.
    pub rejects_by_code: Vec<AtomicU64>,
    /// Time the engine thread spent processing commands rather than idling.
    pub busy_ns: AtomicU64,
    pub started_ns: u64,
    pub state: AtomicU8,
    pub producers: Vec<Arc<ProducerStats>>,
    pub consumers: Vec<Arc<ConsumerStats>>,
    /// Since start; `try_lock`ed by the engine thread, which skips a merge rather than wait.
    pub latencies: Mutex<StageHistograms>,
}

impl RuntimeStats {
    pub(crate) fn new(
        started_ns: u64,
        producers: Vec<Arc<ProducerStats>>,
        consumers: Vec<Arc<ConsumerStats>>,
    ) -> RuntimeStats {
        let counters = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        RuntimeStats {
            commands_by_kind: counters(CommandKind::ALL.len()),
            events_by_kind: counters(EventBody::NAMES.len()),
            rejects_by_code: counters(max_reject_code() + 1),
            busy_ns: AtomicU64::new(0),
            started_ns,
            state: AtomicU8::new(EngineState::Running as u8),
            producers,
            consumers,
            latencies: Mutex::new(StageHistograms::new()),
        }
    }

    pub fn state(&self) -> EngineState {
        match self.state.load(Ordering::Acquire) {
            0 => EngineState::Running,
            1 => EngineState::Draining,
            2 => EngineState::Stopped,
            _ => EngineState::Failed,
        }
    }

    pub(crate) fn set_state(&self, state: EngineState) {
        self.state.store(state as u8, Ordering::Release);
    }

    /// The count of each reject reason, for those seen at least once.
    pub fn rejects(&self) -> impl Iterator<Item = (RejectReason, u64)> + '_ {
        RejectReason::ALL
            .iter()
            .map(|&reason| (reason, self.rejects_by_code[reason.code() as usize].load(Ordering::Relaxed)))
    }
}

fn max_reject_code() -> usize {
    RejectReason::ALL.iter().map(|reason| reason.code() as usize).max().unwrap_or(0)
}

/// The engine thread's private tallies, copied into [`RuntimeStats`] by `flush`.
pub(crate) struct LocalTallies {
    commands_by_kind: Vec<u64>,
    events_by_kind: Vec<u64>,
    rejects_by_code: Vec<u64>,
    pub busy_ns: u64,
    pub latencies: StageHistograms,
}

impl LocalTallies {
    pub fn new() -> LocalTallies {
        LocalTallies {
            commands_by_kind: vec![0; CommandKind::ALL.len()],
            events_by_kind: vec![0; EventBody::NAMES.len()],
            rejects_by_code: vec![0; max_reject_code() + 1],
            busy_ns: 0,
            latencies: StageHistograms::new(),
        }
    }

    #[inline]
    pub fn count(&mut self, kind: CommandKind, events: &[Event]) {
        self.commands_by_kind[kind as usize] += 1;
        for event in events {
            self.events_by_kind[event.body.kind_index()] += 1;
            if let EventBody::Rejected(rejected) = event.body {
                self.rejects_by_code[rejected.reason.code() as usize] += 1;
            }
        }
    }

    /// Publishes the totals. The histograms move only if the lock is free at once.
    pub fn flush(&mut self, stats: &RuntimeStats) {
        let store = |shared: &[AtomicU64], local: &[u64]| {
            for (shared, local) in shared.iter().zip(local) {
                shared.store(*local, Ordering::Relaxed);
            }
        };
        store(&stats.commands_by_kind, &self.commands_by_kind);
        store(&stats.events_by_kind, &self.events_by_kind);
        store(&stats.rejects_by_code, &self.rejects_by_code);
        stats.busy_ns.store(self.busy_ns, Ordering::Relaxed);
        if let Ok(mut shared) = stats.latencies.try_lock() {
            shared.absorb(&mut self.latencies);
        }
    }
}
