//! The engine made durable: every command is appended to the command journal before the
//! engine applies it, its events then go to the event journal, and snapshots are taken by
//! policy and written off the engine thread. Opening recovers: the newest usable snapshot,
//! then the command journal after it, regenerating any events the event journal lacks.
//!
//! Layout of the data directory: `commands/` and `events/` (journal segments) and
//! `snapshots/`. Both journals share one sequence: the event record with sequence `s` holds
//! every event command `s` caused (see `encode_events`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use cex_engine::{Command, CommandEnvelope, Engine, EngineConfig, Event, EventSink, SnapshotError};
use cex_schema::{DecodeError, EncodeError};

use crate::origin::{decode_command_record, encode_command_record, encode_events, MAX_COMMAND_RECORD_BYTES};
use crate::recovery;
use crate::snapshots::{SkippedSnapshot, SnapshotStore};
use crate::{
    Durability, DurableWatcher, FsyncWriter, JournalConfig, JournalError, JournalReader, JournalWriter, Origin,
    RecoveryReport,
};

/// When snapshots are taken, besides on demand. Zero turns a trigger off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotPolicy {
    pub every_commands: u64,
    /// Measured in command timestamps, so replay takes the same decisions.
    pub every_ns: u64,
    pub keep: usize,
}

impl Default for SnapshotPolicy {
    fn default() -> Self {
        SnapshotPolicy { every_commands: 1_000_000, every_ns: 60_000_000_000, keep: 3 }
    }
}

#[derive(Debug, Clone)]
pub struct DurableConfig {
    pub dir: PathBuf,
    pub journal: JournalConfig,
    pub snapshots: SnapshotPolicy,
}

#[derive(Debug)]
pub enum DurableError {
    Journal(JournalError),
    /// A command the wire format cannot carry; it was not sequenced.
    Unencodable(EncodeError),
    /// A journal record that does not decode: the journal is not ours, or damaged.
    Undecodable {
        journal: &'static str,
        seq: u64,
        error: DecodeError,
    },
    /// The journals and snapshots disagree in a way recovery cannot mend.
    Inconsistent(String),
}

impl std::fmt::Display for DurableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DurableError::Journal(error) => write!(f, "{error}"),
            DurableError::Unencodable(error) => write!(f, "command cannot be encoded: {error:?}"),
            DurableError::Undecodable { journal, seq, error } => {
                write!(f, "{journal} journal record {seq} does not decode: {error:?}")
            }
            DurableError::Inconsistent(why) => write!(f, "journal and snapshots disagree: {why}"),
        }
    }
}

impl std::error::Error for DurableError {}

impl From<JournalError> for DurableError {
    fn from(error: JournalError) -> Self {
        DurableError::Journal(error)
    }
}

/// What opening found and did; the caller logs it.
#[derive(Debug, Default)]
pub struct Startup {
    pub commands: RecoveryReport,
    pub events: RecoveryReport,
    /// The snapshot the state was restored from, if any.
    pub snapshot_seq: Option<u64>,
    /// Snapshot files that were present but unusable, and why.
    pub skipped_snapshots: Vec<SkippedSnapshot>,
    pub replayed_commands: u64,
    /// In `fsync` mode, event records dropped because the command journal ended before
    /// them: a crash wrote their events but not their commands, which were never durable.
    pub dropped_event_records: u64,
    /// Why the io_uring `fsync` writer was asked for but could not start, if so: the
    /// journals run on the memory-mapped writer instead. The caller logs it as a warning.
    pub uring_unavailable: Option<String>,
    /// Event records written during recovery for commands whose events had not been.
    pub regenerated_event_records: u64,
    pub state_hash: u64,
}

/// The stages of [`DurableEngine::submit_probed`], in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    CommandJournaled,
    Applied,
    EventsJournaled,
}

pub trait StageProbe {
    fn stage_done(&mut self, stage: Stage);
}

impl StageProbe for () {
    #[inline(always)]
    fn stage_done(&mut self, _: Stage) {}
}

pub struct DurableEngine {
    engine: Engine,
    commands: JournalWriter,
    events: JournalWriter,
    policy: SnapshotPolicy,
    snapshots: SnapshotWriter,
    last_snapshot_seq: u64,
    /// The timestamp of the last snapshot, or of the first command since opening.
    last_snapshot_ts: Option<u64>,
    buffers: Buffers,
    /// False in `none` mode: nothing is journaled, so a snapshot could never be used.
    persistent: bool,
    dir: PathBuf,
}

/// Buffers reused for every command, so the hot path does not allocate.
struct Buffers {
    command_bytes: [u8; MAX_COMMAND_RECORD_BYTES],
    events: Vec<Event>,
    event_payload: Vec<u8>,
}

impl Buffers {
    fn new() -> Buffers {
        Buffers {
            command_bytes: [0; MAX_COMMAND_RECORD_BYTES],
            events: Vec::with_capacity(1 << 12),
            event_payload: Vec::with_capacity(1 << 16),
        }
    }
}

impl DurableEngine {
    pub fn open(config: &DurableConfig, engine_config: EngineConfig) -> Result<(DurableEngine, Startup), DurableError> {
        let (commands, commands_report) = JournalWriter::open(config.dir.join("commands"), config.journal)?;
        let events_dir = config.dir.join("events");
        // Consumers tail the event journal as soon as a command is published, so its records
        // must be in the file at once: it always uses the mapped writer. Nothing waits for
        // it to be durable; a crash loses nothing that replay cannot regenerate.
        let events_config = JournalConfig { fsync_writer: FsyncWriter::Mmap, ..config.journal };
        let (mut events, mut events_report) = JournalWriter::open(&events_dir, events_config)?;
        let mut dropped_event_records = 0;
        if events_report.last_seq > commands_report.last_seq && config.journal.durability == Durability::Fsync {
            // The two journals reach the disk independently: a crash can leave events of
            // commands that never became durable (and were never acknowledged). Drop them.
            drop(events);
            dropped_event_records = recovery::truncate_after(&events_dir, commands_report.last_seq)?;
            (events, events_report) = JournalWriter::open(&events_dir, events_config)?;
        }
        if events_report.last_seq > commands_report.last_seq {
            let why = format!(
                "events reach {} but commands only {}; the event journal is derived: move {} aside and \
                 restart to rebuild it from the command journal",
                events_report.last_seq,
                commands_report.last_seq,
                config.dir.join("events").display()
            );
            return Err(DurableError::Inconsistent(why));
        }
        let store = SnapshotStore::open(config.dir.join("snapshots"), config.snapshots.keep)?;
        let (mut engine, snapshot_seq, skipped_snapshots) =
            restore_newest(&store, engine_config, events_report.last_seq)?;
        let mut startup = Startup {
            commands: commands_report,
            events: events_report,
            snapshot_seq,
            skipped_snapshots,
            uring_unavailable: commands.uring_unavailable().map(str::to_owned),
            dropped_event_records,
            ..Startup::default()
        };
        let mut buffers = Buffers::new();
        // With durability `none` nothing was ever written, so there is nothing to replay.
        if config.journal.durability != Durability::None {
            replay(&config.dir, &mut engine, &mut events, &mut buffers, &mut startup)?;
        }
        startup.state_hash = engine.state_hash();
        let durable = DurableEngine {
            engine,
            commands,
            events,
            policy: config.snapshots,
            snapshots: SnapshotWriter::spawn(store),
            last_snapshot_seq: snapshot_seq.unwrap_or(0),
            last_snapshot_ts: None,
            buffers,
            persistent: config.journal.durability != Durability::None,
            dir: config.dir.clone(),
        };
        Ok((durable, startup))
    }

    /// Journals, applies and publishes one command; returns its sequence. A command the
    /// wire format cannot carry is refused before it gets a sequence.
    pub fn submit<S: EventSink>(
        &mut self,
        ts_ns: u64,
        origin: Origin,
        command: &Command,
        sink: &mut S,
    ) -> Result<u64, DurableError> {
        self.submit_probed(ts_ns, origin, command, sink, &mut ())
    }

    /// [`DurableEngine::submit`], telling `probe` as each stage ends, so a caller can time
    /// the journal and the engine separately. The unit probe costs nothing.
    pub fn submit_probed<S: EventSink, P: StageProbe>(
        &mut self,
        ts_ns: u64,
        origin: Origin,
        command: &Command,
        sink: &mut S,
        probe: &mut P,
    ) -> Result<u64, DurableError> {
        let buffers = &mut self.buffers;
        let length =
            encode_command_record(origin, command, &mut buffers.command_bytes).map_err(DurableError::Unencodable)?;
        let seq = self.commands.last_seq() + 1;
        self.commands.append(seq, ts_ns, &buffers.command_bytes[..length])?;
        probe.stage_done(Stage::CommandJournaled);
        buffers.events.clear();
        self.engine.apply(&CommandEnvelope { seq, ts_ns, command: *command }, &mut buffers.events);
        probe.stage_done(Stage::Applied);
        encode_events(origin, &buffers.events, &mut buffers.event_payload);
        self.events.append(seq, ts_ns, &buffers.event_payload)?;
        probe.stage_done(Stage::EventsJournaled);
        for event in &buffers.events {
            sink.emit(*event);
        }
        if self.snapshot_due(seq, ts_ns) {
            self.snapshot_now(ts_ns);
        }
        Ok(seq)
    }

    fn snapshot_due(&mut self, seq: u64, ts_ns: u64) -> bool {
        let since = *self.last_snapshot_ts.get_or_insert(ts_ns);
        let by_count = self.policy.every_commands > 0 && seq - self.last_snapshot_seq >= self.policy.every_commands;
        let by_time = self.policy.every_ns > 0 && ts_ns.saturating_sub(since) >= self.policy.every_ns;
        by_count || by_time
    }

    /// Serialises the state now (one pass, on this thread) and hands the bytes to the writer
    /// thread. Returns false if the previous snapshot is still being written: the engine
    /// never waits for the disk.
    pub fn snapshot_now(&mut self, ts_ns: u64) -> bool {
        let mut bytes = Vec::new();
        self.engine.snapshot(&mut bytes);
        let queued = self.snapshots.offer(self.engine.last_seq(), bytes);
        if queued {
            self.last_snapshot_seq = self.engine.last_seq();
            self.last_snapshot_ts = Some(ts_ns);
        }
        queued
    }

    /// Where the event journal lives, for readers that tail it.
    pub fn events_dir(&self) -> PathBuf {
        self.dir.join("events")
    }

    /// Whether the journals are written at all (not `none` mode).
    pub fn is_persistent(&self) -> bool {
        self.persistent
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The highest sequence whose command is durable under the configured mode.
    pub fn durable_watcher(&self) -> DurableWatcher {
        self.commands.watcher()
    }

    /// The sequence of the newest snapshot written to disk.
    pub fn snapshot_written_seq(&self) -> u64 {
        self.snapshots.written.load(Ordering::Acquire)
    }

    /// Writes a snapshot of the final state (waiting for the writer, unlike
    /// [`DurableEngine::snapshot_now`]) unless the newest one already holds it, then closes.
    /// A restart after this replays nothing. Returns the final sequence.
    pub fn close_with_snapshot(self) -> Result<u64, DurableError> {
        let seq = self.engine.last_seq();
        if self.persistent && seq > self.last_snapshot_seq {
            let mut bytes = Vec::new();
            self.engine.snapshot(&mut bytes);
            self.snapshots.send(seq, bytes);
        }
        self.close()?;
        Ok(seq)
    }

    /// Waits for the snapshot writer, then closes both journals.
    pub fn close(mut self) -> Result<(), DurableError> {
        self.snapshots.finish()?;
        self.commands.close()?;
        self.events.close()?;
        Ok(())
    }
}

/// Applies the command journal after the restored state, writing the events of any
/// command the event journal does not hold yet.
fn replay(
    dir: &Path,
    engine: &mut Engine,
    events: &mut JournalWriter,
    buffers: &mut Buffers,
    startup: &mut Startup,
) -> Result<(), DurableError> {
    let mut reader = JournalReader::open(dir.join("commands"), engine.last_seq() + 1)?;
    while let Some(record) = reader.try_next()? {
        let (seq, ts_ns) = (record.seq, record.timestamp_ns);
        let (origin, command) = decode_command_record(record.payload).map_err(|error| DurableError::Undecodable {
            journal: "command",
            seq,
            error,
        })?;
        buffers.events.clear();
        engine.apply(&CommandEnvelope { seq, ts_ns, command }, &mut buffers.events);
        if engine.last_seq() != seq {
            return Err(DurableError::Inconsistent(format!("command {seq} did not follow the restored state")));
        }
        startup.replayed_commands += 1;
        if seq > events.last_seq() {
            encode_events(origin, &buffers.events, &mut buffers.event_payload);
            events.append(seq, ts_ns, &buffers.event_payload)?;
            startup.regenerated_event_records += 1;
        }
    }
    if engine.last_seq() != startup.commands.last_seq {
        let why = format!("replay stopped at {}, the journal ends at {}", engine.last_seq(), startup.commands.last_seq);
        return Err(DurableError::Inconsistent(why));
    }
    Ok(())
}

/// The newest snapshot that restores and is not ahead of the event journal (events before
/// it cannot be regenerated); otherwise an empty engine.
fn restore_newest(
    store: &SnapshotStore,
    config: EngineConfig,
    events_last_seq: u64,
) -> Result<(Engine, Option<u64>, Vec<SkippedSnapshot>), DurableError> {
    let mut skipped = Vec::new();
    for seq in store.list()?.into_iter().rev() {
        let path = store.path_for(seq);
        if seq > events_last_seq {
            skipped.push(SkippedSnapshot { path, reason: format!("ahead of the event journal ({events_last_seq})") });
            continue;
        }
        let restored = store
            .load(seq)
            .and_then(|bytes| Engine::restore(config, &bytes).map_err(|error: SnapshotError| error.to_string()));
        match restored {
            Ok(engine) => return Ok((engine, Some(seq), skipped)),
            Err(reason) => skipped.push(SkippedSnapshot { path, reason }),
        }
    }
    Ok((Engine::new(config), None, skipped))
}

/// Writes snapshots on its own thread, one at a time.
struct SnapshotWriter {
    sender: Option<mpsc::SyncSender<(u64, Vec<u8>)>>,
    handle: Option<JoinHandle<()>>,
    written: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<JournalError>>>,
}

impl SnapshotWriter {
    fn spawn(store: SnapshotStore) -> SnapshotWriter {
        // One snapshot may wait while another is written; a third is refused, not queued.
        let (sender, receiver) = mpsc::sync_channel::<(u64, Vec<u8>)>(1);
        let written = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let (written_by_thread, failure_by_thread) = (written.clone(), failure.clone());
        let handle = std::thread::Builder::new()
            .name("cex-snapshots".into())
            .spawn(move || {
                for (seq, bytes) in receiver {
                    match store.write(seq, &bytes) {
                        Ok(_) => written_by_thread.store(seq, Ordering::Release),
                        Err(error) => *failure_by_thread.lock().expect("snapshot failure lock") = Some(error),
                    }
                }
            })
            .expect("spawn the snapshot writer");
        SnapshotWriter { sender: Some(sender), handle: Some(handle), written, failure }
    }

    /// Hands over a snapshot if the writer is idle.
    fn offer(&self, seq: u64, bytes: Vec<u8>) -> bool {
        self.sender.as_ref().is_some_and(|sender| sender.try_send((seq, bytes)).is_ok())
    }

    /// Hands over a snapshot, waiting while another is being written.
    fn send(&self, seq: u64, bytes: Vec<u8>) {
        if let Some(sender) = &self.sender {
            // Fails only if the writer thread is gone; `finish` then reports its failure.
            let _ = sender.send((seq, bytes));
        }
    }

    fn finish(&mut self) -> Result<(), JournalError> {
        self.sender.take();
        if let Some(handle) = self.handle.take() {
            handle.join().expect("the snapshot writer does not panic");
        }
        match self.failure.lock().expect("snapshot failure lock").take() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl Drop for SnapshotWriter {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
