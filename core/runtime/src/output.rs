//! Event fan-out. Each consumer has its own SPSC ring, written only by the engine thread.
//! A consumer that lets its ring fill is skipped, never waited for: it notices the gap and
//! reads the missed commands' events from the event journal, then rejoins its ring.

use std::path::PathBuf;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, Thread};
use std::time::Duration;

use cex_engine::Event;
use cex_journal::{decode_events_into, DurableWatcher, JournalError, JournalReader, Origin};
use crossbeam_utils::CachePadded;

/// One slot of an output ring: an event, or a marker for a command that had none. The
/// slots of one command are pushed all at once or not at all.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    seq: u64,
    ts_ns: u64,
    origin: Origin,
    /// Events of this command: the consumer collects this many slots.
    count: u16,
    event: Option<Event>,
}

/// What the engine thread and the consumers share.
pub(crate) struct Published {
    /// Every command up to here has been journaled, applied and offered to every consumer.
    pub seq: CachePadded<AtomicU64>,
    pub events_dir: PathBuf,
    /// False when the journal writes nothing (`none` mode): a lagging consumer cannot
    /// catch up and gets [`ConsumerError::Lost`].
    pub journal_readable: bool,
}

/// A consumer's numbers, readable by the metrics.
pub struct ConsumerStats {
    pub name: String,
    /// The last sequence the consumer has taken.
    pub position: CachePadded<AtomicU64>,
    /// Times the engine found the ring full and skipped the consumer.
    pub overruns: AtomicU64,
    /// Commands the consumer read back from the event journal.
    pub journal_reads: AtomicU64,
    /// Slots in use in the ring, as last seen by the engine thread.
    pub ring_used: AtomicU64,
    pub ring_capacity: u64,
}

/// Wakes a consumer's thread blocked in [`Consumer::wait`]. The engine thread looks at it
/// once per round that published something: a load, and a wake-up only when the consumer
/// sleeps.
#[derive(Default)]
pub(crate) struct Wakeup {
    parked: CachePadded<AtomicBool>,
    /// The thread that last waited: a consumer may move between threads.
    thread: Mutex<Option<Thread>>,
}

impl Wakeup {
    /// The caller has published (its stores precede a `SeqCst` fence): wake the consumer if
    /// it announced it sleeps, since it may have looked before the publication.
    pub fn wake_if_parked(&self) {
        if self.parked.load(Ordering::SeqCst) {
            if let Some(thread) = self.thread.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                thread.unpark();
            }
        }
    }

    fn announce(&self) {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if thread.as_ref().is_none_or(|waiting| waiting.id() != thread::current().id()) {
            *thread = Some(thread::current());
        }
        drop(thread);
        self.parked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }
}

/// The engine thread's end of one consumer's ring.
pub(crate) struct Outlet {
    ring: rtrb::Producer<Slot>,
    /// Skipped since the ring filled; rejoins once the ring is half empty, so a consumer
    /// at the edge does not flap between its ring and the journal.
    lagging: bool,
    stats: Arc<ConsumerStats>,
    wakeup: Arc<Wakeup>,
}

impl Outlet {
    pub fn new(ring: rtrb::Producer<Slot>, stats: Arc<ConsumerStats>, wakeup: Arc<Wakeup>) -> Outlet {
        Outlet { ring, lagging: false, stats, wakeup }
    }

    /// See [`Wakeup::wake_if_parked`].
    #[inline]
    pub fn wake_if_parked(&self) {
        self.wakeup.wake_if_parked();
    }

    /// Offers one command's events; skips the consumer if they do not all fit.
    #[inline]
    pub fn offer(&mut self, seq: u64, ts_ns: u64, origin: Origin, events: &[Event]) {
        let needed = events.len().max(1);
        let free = self.ring.slots();
        let rejoin_at = (self.stats.ring_capacity as usize / 2).max(needed);
        if free < needed || (self.lagging && free < rejoin_at) {
            if !self.lagging {
                self.lagging = true;
                self.stats.overruns.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        self.lagging = false;
        let count = events.len() as u16;
        let slot = |event| Slot { seq, ts_ns, origin, count, event };
        if events.is_empty() {
            let _ = self.ring.push(slot(None));
        }
        for event in events {
            // Cannot fail: the free slots were counted above, and only this thread pushes.
            let _ = self.ring.push(slot(Some(*event)));
        }
    }

    pub fn record_occupancy(&self) {
        let used = self.stats.ring_capacity - self.ring.slots() as u64;
        self.stats.ring_used.store(used, Ordering::Relaxed);
    }
}

/// One command's events, as a consumer receives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    pub seq: u64,
    pub ts_ns: u64,
    pub origin: Origin,
    pub events: &'a [Event],
    /// Read back from the event journal because the consumer had fallen behind its ring.
    pub from_journal: bool,
}

#[derive(Debug)]
pub enum ConsumerError {
    /// The event journal could not be read, or does not decode.
    Journal(String),
    /// The consumer fell behind and the journal keeps nothing to catch up from (`none`
    /// durability): the commands from `from` on are lost to it.
    Lost { from: u64 },
}

impl std::fmt::Display for ConsumerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsumerError::Journal(why) => write!(f, "cannot read the event journal: {why}"),
            ConsumerError::Lost { from } => {
                write!(f, "fell behind at command {from} and the journal is off (durability none)")
            }
        }
    }
}

impl std::error::Error for ConsumerError {}

impl From<JournalError> for ConsumerError {
    fn from(error: JournalError) -> Self {
        ConsumerError::Journal(error.to_string())
    }
}

/// A consumer's handle: gateway sessions, market data and projections each own one.
pub struct Consumer {
    ring: rtrb::Consumer<Slot>,
    published: Arc<Published>,
    stats: Arc<ConsumerStats>,
    /// When set, only commands this watcher reports durable are handed out: what a
    /// consumer that acknowledges to clients needs in `fsync` mode.
    durable: Option<DurableWatcher>,
    journal: Option<JournalReader>,
    next_seq: u64,
    events: Vec<Event>,
    wakeup: Arc<Wakeup>,
}

impl Consumer {
    pub(crate) fn new(
        ring: rtrb::Consumer<Slot>,
        published: Arc<Published>,
        stats: Arc<ConsumerStats>,
        durable: Option<DurableWatcher>,
        next_seq: u64,
        wakeup: Arc<Wakeup>,
    ) -> Consumer {
        stats.position.store(next_seq - 1, Ordering::Relaxed);
        let events = Vec::with_capacity(256);
        Consumer { ring, published, stats, durable, journal: None, next_seq, events, wakeup }
    }

    pub fn name(&self) -> &str {
        &self.stats.name
    }

    /// The sequence the next delivery will carry.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// The next command's events, in sequence order with no gaps, or `None` if there is
    /// nothing new yet. Never blocks.
    pub fn poll(&mut self) -> Result<Option<Delivery<'_>>, ConsumerError> {
        let limit = self.deliverable_up_to();
        if self.next_seq > limit {
            return Ok(None);
        }
        self.drop_stale_slots();
        let live = matches!(self.ring.peek(), Ok(slot) if slot.seq == self.next_seq);
        let (seq, ts_ns, origin) = if live { self.take_from_ring() } else { self.read_from_journal()? };
        self.next_seq = seq + 1;
        self.stats.position.store(seq, Ordering::Release);
        Ok(Some(Delivery { seq, ts_ns, origin, events: &self.events, from_journal: !live }))
    }

    /// Blocks until [`Consumer::poll`] may have something new, or `timeout` passes: the
    /// engine wakes a waiting consumer when it publishes, and a consumer that waits for
    /// durability is woken by the journal. For threads that would otherwise spin or sleep
    /// on an empty ring; on a host with few cores, spinning consumers take the CPU from the
    /// threads they wait for.
    pub fn wait(&mut self, timeout: Duration) {
        if self.next_seq > self.published.seq.load(Ordering::Acquire) {
            self.wakeup.announce();
            if self.next_seq > self.published.seq.load(Ordering::SeqCst) {
                thread::park_timeout(timeout);
            }
            self.wakeup.parked.store(false, Ordering::Relaxed);
        } else if let Some(watcher) = &self.durable {
            // Published, so only durability can hold it back.
            let _ = watcher.wait_for(self.next_seq, timeout);
        }
    }

    fn deliverable_up_to(&self) -> u64 {
        let published = self.published.seq.load(Ordering::Acquire);
        match &self.durable {
            Some(watcher) => published.min(watcher.durable_seq()),
            None => published,
        }
    }

    /// Slots for commands already read from the journal.
    fn drop_stale_slots(&mut self) {
        while matches!(self.ring.peek(), Ok(slot) if slot.seq < self.next_seq) {
            let _ = self.ring.pop();
        }
    }

    /// Collects the slots of the command at the head of the ring. They are all there: the
    /// engine pushes them together, before it publishes the sequence.
    fn take_from_ring(&mut self) -> (u64, u64, Origin) {
        self.events.clear();
        let first = self.ring.pop().expect("peeked");
        let mut slot = first;
        for taken in 1..=first.count.max(1) {
            if let Some(event) = slot.event {
                self.events.push(event);
            }
            if taken < first.count {
                slot = self.ring.pop().expect("the slots of one command are pushed together");
            }
        }
        (first.seq, first.ts_ns, first.origin)
    }

    /// The events of `next_seq`, which the engine skipped for this consumer: they are in
    /// the event journal, appended before the sequence was published.
    fn read_from_journal(&mut self) -> Result<(u64, u64, Origin), ConsumerError> {
        if !self.published.journal_readable {
            return Err(ConsumerError::Lost { from: self.next_seq });
        }
        if self.journal.as_ref().is_none_or(|reader| reader.next_seq() != self.next_seq) {
            self.journal = Some(JournalReader::open(&self.published.events_dir, self.next_seq)?);
        }
        let reader = self.journal.as_mut().expect("opened above");
        let Some(record) = reader.try_next()? else {
            let why = format!("record {} is published but not in the journal", self.next_seq);
            return Err(ConsumerError::Journal(why));
        };
        if record.seq != self.next_seq {
            return Err(ConsumerError::Journal(format!("expected record {}, found {}", self.next_seq, record.seq)));
        }
        self.events.clear();
        let origin = decode_events_into(record.payload, &mut self.events)
            .map_err(|error| ConsumerError::Journal(format!("record {} does not decode: {error}", record.seq)))?;
        self.stats.journal_reads.fetch_add(1, Ordering::Relaxed);
        Ok((record.seq, record.timestamp_ns, origin))
    }
}
