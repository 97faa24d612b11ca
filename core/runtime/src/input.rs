//! Producers' side of the input rings: one SPSC ring per producer, so producers never
//! contend with each other and the engine thread reads each without a lock.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::Thread;

use cex_engine::Command;
use cex_journal::Origin;
use cex_schema::EncodeError;
use crossbeam_utils::CachePadded;

use crate::clock::monotonic_ns;

/// A command in an input ring.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    pub origin: Origin,
    pub enqueued_ns: u64,
    pub command: Command,
}

/// Why a command was not taken. The command is handed back in every case: nothing is
/// dropped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// The ring is full: the engine is behind. Retry later, or tell the client to.
    Busy(Command),
    /// The runtime is shutting down (or has stopped) and takes no more commands.
    Closed(Command),
    /// The command has a value the journal's wire format cannot carry.
    Invalid(Command, EncodeError),
}

/// Wakes the engine thread when it parks (the `Park` idle strategy); a load and nothing
/// else when it does not.
pub(crate) struct Doorbell {
    parked: CachePadded<AtomicBool>,
    engine: std::sync::OnceLock<Thread>,
}

impl Doorbell {
    pub fn new() -> Doorbell {
        Doorbell { parked: CachePadded::new(AtomicBool::new(false)), engine: std::sync::OnceLock::new() }
    }

    pub fn set_engine_thread(&self, thread: Thread) {
        let _ = self.engine.set(thread);
    }

    #[inline]
    pub fn ring(&self) {
        if self.parked.load(Ordering::SeqCst) {
            if let Some(engine) = self.engine.get() {
                engine.unpark();
            }
        }
    }

    /// Announces that the engine is about to park. The caller must look at the rings once
    /// more after this and before parking: a producer that pushed before seeing the flag
    /// did not ring.
    pub fn announce_park(&self) {
        self.parked.store(true, Ordering::SeqCst);
    }

    pub fn unparked(&self) {
        self.parked.store(false, Ordering::Relaxed);
    }
}

/// What producers and the engine thread share about intake.
pub(crate) struct Intake {
    pub closing: CachePadded<AtomicBool>,
    pub doorbell: Doorbell,
}

/// Per producer: set while a submit is between its look at `closing` and its push, so that
/// shutdown can wait for it and then know the ring holds everything that was accepted.
pub(crate) struct ProducerGate {
    pub in_submit: CachePadded<AtomicBool>,
}

/// A producer's numbers, readable by the metrics.
pub struct ProducerStats {
    pub name: String,
    /// Commands refused because the ring was full.
    pub busy: AtomicU64,
    /// Slots in use, as the engine thread last saw them.
    pub ring_used: AtomicU64,
    pub ring_capacity: u64,
}

/// A producer's handle: a gateway shard or a sidecar owns one and submits through it.
pub struct Producer {
    id: u16,
    ring: rtrb::Producer<Request>,
    gate: Arc<ProducerGate>,
    stats: Arc<ProducerStats>,
    intake: Arc<Intake>,
}

impl Producer {
    pub(crate) fn new(
        id: u16,
        ring: rtrb::Producer<Request>,
        gate: Arc<ProducerGate>,
        stats: Arc<ProducerStats>,
        intake: Arc<Intake>,
    ) -> Producer {
        Producer { id, ring, gate, stats, intake }
    }

    /// The id journaled with each of this producer's commands: events carry it back.
    pub fn id(&self) -> u16 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.stats.name
    }

    /// Free slots in the ring right now.
    pub fn free_slots(&self) -> usize {
        self.ring.slots()
    }

    /// Offers one command, tagged with the caller's `request` id. Never blocks.
    pub fn try_submit(&mut self, request: u64, command: Command) -> Result<(), SubmitError> {
        if let Err(error) = check_encodable(&command) {
            return Err(SubmitError::Invalid(command, error));
        }
        self.gate.in_submit.store(true, Ordering::SeqCst);
        if self.intake.closing.load(Ordering::SeqCst) {
            self.gate.in_submit.store(false, Ordering::Release);
            return Err(SubmitError::Closed(command));
        }
        let origin = Origin { producer: self.id, request };
        let pushed = self.ring.push(Request { origin, enqueued_ns: monotonic_ns(), command });
        self.gate.in_submit.store(false, Ordering::Release);
        match pushed {
            Ok(()) => {
                self.intake.doorbell.ring();
                Ok(())
            }
            Err(rtrb::PushError::Full(_)) => {
                self.stats.busy.fetch_add(1, Ordering::Relaxed);
                Err(SubmitError::Busy(command))
            }
        }
    }
}

/// Refuses, on the producer's thread, a command the journal could not encode: the engine
/// thread must never meet one, because it could only drop it.
fn check_encodable(command: &Command) -> Result<(), EncodeError> {
    let mut scratch = [0u8; cex_schema::MAX_MESSAGE_BYTES];
    cex_schema::encode_command(command, &mut scratch).map(drop)
}
