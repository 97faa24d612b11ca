//! Journal cost: profile A through the plain engine, through a ladder that adds one
//! journaling stage at a time (built here from the public pieces: `encode_command_record`,
//! `JournalWriter`, `encode_events`, `Engine`), through `DurableEngine::submit` in each
//! durability mode (`fsync` on each of its two writers). Every variant runs the same commands on a fresh engine and data directory, and
//! must reproduce the workload's trades, volume, book and state hash.

use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use cex_engine::{Command, CommandEnvelope, Engine, Event, EventSink};
use cex_journal::{
    encode_command_record, encode_events, Durability, DurableConfig, DurableEngine, FsyncWriter, JournalConfig, Origin,
    SnapshotPolicy, MAX_COMMAND_RECORD_BYTES,
};
use indicatif::ProgressBar;

use super::affinity::Pinned;
use super::writers::{Appender, DurableSource, WriterKind};
use super::{Market, Tally, ThreadUsage};

/// How far the ladder journals, each stage adding to the previous ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Engine,
    CommandEncode,
    CommandAppend,
    EventEncode,
    EventAppend,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The ladder on the journal's memory-mapped writer (`Mmap` mode).
    Ladder(Stage),
    /// `DurableEngine`; in `Fsync` mode on the memory-mapped writer and its sync thread.
    Durable(Durability),
    /// `DurableEngine` in `Fsync` mode on the io_uring writer (the default).
    DurableUring,
}

pub const VARIANTS: [Variant; 9] = [
    Variant::Ladder(Stage::Engine),
    Variant::Ladder(Stage::CommandEncode),
    Variant::Ladder(Stage::CommandAppend),
    Variant::Ladder(Stage::EventEncode),
    Variant::Ladder(Stage::EventAppend),
    Variant::Durable(Durability::None),
    Variant::Durable(Durability::Mmap),
    Variant::Durable(Durability::Fsync),
    Variant::DurableUring,
];

impl Variant {
    pub fn name(self) -> &'static str {
        match self {
            Variant::Ladder(Stage::Engine) => "engine only",
            Variant::Ladder(Stage::CommandEncode) => "+ command SBE encode",
            Variant::Ladder(Stage::CommandAppend) => "+ command append mmap",
            Variant::Ladder(Stage::EventEncode) => "+ events encode",
            Variant::Ladder(Stage::EventAppend) => "+ events append mmap",
            Variant::Durable(Durability::None) => "DurableEngine none",
            Variant::Durable(Durability::Mmap) => "DurableEngine mmap",
            Variant::Durable(Durability::Fsync) => "DurableEngine fsync, mmap writer",
            Variant::DurableUring => "DurableEngine fsync, io_uring writer",
        }
    }
}

/// One pass of one variant.
pub struct Pass {
    pub ns_per_op: f64,
    /// What the measuring thread went through during the timed ops.
    pub usage: ThreadUsage,
    pub verdict: Result<(), String>,
}

/// Runs `variant` once over the market, in a fresh directory under `dir`.
pub fn pass(variant: Variant, market: &Market, dir: &Path, progress: &ProgressBar) -> Result<Pass, String> {
    let engine_config = market.engine_config;
    match variant {
        Variant::Ladder(stage) => {
            let mut ladder = Ladder::open(stage, Engine::new(engine_config), dir)?;
            let pass = timed(&mut ladder, market, progress);
            ladder.close()?;
            pass
        }
        Variant::Durable(_) | Variant::DurableUring => {
            let journal = match variant {
                Variant::Durable(durability) => {
                    JournalConfig { durability, fsync_writer: FsyncWriter::Mmap, ..JournalConfig::default() }
                }
                _ => JournalConfig {
                    durability: Durability::Fsync,
                    fsync_writer: FsyncWriter::Uring,
                    ..JournalConfig::default()
                },
            };
            let config = DurableConfig {
                dir: dir.to_path_buf(),
                journal,
                // Snapshots off: this measures the journal, not the snapshot writer.
                snapshots: SnapshotPolicy { every_commands: 0, every_ns: 0, keep: 1 },
            };
            let (mut durable, _) = DurableEngine::open(&config, engine_config).map_err(|e| e.to_string())?;
            let pass = timed(&mut durable, market, progress);
            durable.close().map_err(|e| e.to_string())?;
            pass
        }
    }
}

/// Anything that takes commands in order and ends up with an engine state to verify.
pub trait Subject {
    fn submit(&mut self, ts_ns: u64, command: &Command, tally: &mut Tally) -> Result<u64, String>;
    fn engine(&self) -> &Engine;
    /// Where the durable command sequence is published.
    fn durable_source(&self) -> DurableSource;
}

impl Subject for DurableEngine {
    #[inline]
    fn submit(&mut self, ts_ns: u64, command: &Command, tally: &mut Tally) -> Result<u64, String> {
        DurableEngine::submit(self, ts_ns, Origin::INTERNAL, command, tally).map_err(|e| e.to_string())
    }

    fn engine(&self) -> &Engine {
        DurableEngine::engine(self)
    }

    fn durable_source(&self) -> DurableSource {
        DurableSource::Watcher(self.durable_watcher())
    }
}

/// Setup and prefill untimed, then the ops timed on the pinned thread; verifies the result.
fn timed<S: Subject>(subject: &mut S, market: &Market, progress: &ProgressBar) -> Result<Pass, String> {
    let mut tally = Tally::default();
    feed(subject, &market.setup, &mut Tally::default())?;
    feed(subject, &market.prefill, &mut tally)?;
    let pinned = Pinned::to_measuring_cpu();
    let before = ThreadUsage::now();
    let mut elapsed = 0.0;
    for chunk in market.ops.chunks(1 << 16) {
        let started = Instant::now();
        feed(subject, chunk, &mut tally)?;
        elapsed += started.elapsed().as_secs_f64();
        progress.inc(chunk.len() as u64);
    }
    let usage = ThreadUsage::now().since(before);
    drop(pinned);
    Ok(Pass {
        ns_per_op: elapsed * 1e9 / market.ops.len() as f64,
        usage,
        verdict: market.verify(subject.engine(), &tally),
    })
}

/// Submits commands in order, each stamped with its sequence as the engine bench does.
#[inline]
pub fn feed<S: Subject>(subject: &mut S, commands: &[Command], tally: &mut Tally) -> Result<(), String> {
    for command in commands {
        let seq = subject.engine().last_seq() + 1;
        subject.submit(seq, command, tally)?;
    }
    Ok(())
}

/// `DurableEngine::submit` rebuilt from its public pieces, stopping after `stage`.
pub struct Ladder {
    stage: Stage,
    engine: Engine,
    commands: Option<Appender>,
    events_journal: Option<Appender>,
    command_bytes: [u8; MAX_COMMAND_RECORD_BYTES],
    events: Vec<Event>,
    event_payload: Vec<u8>,
}

impl Ladder {
    /// Opens the journals `stage` needs under `dir`, in `Mmap` mode.
    pub fn open(stage: Stage, engine: Engine, dir: &Path) -> Result<Ladder, String> {
        let open = |name: &str| Appender::open(WriterKind::Mmap, &dir.join(name));
        Ok(Ladder {
            stage,
            engine,
            commands: (stage >= Stage::CommandAppend).then(|| open("commands")).transpose()?,
            events_journal: (stage >= Stage::EventAppend).then(|| open("events")).transpose()?,
            command_bytes: [0; MAX_COMMAND_RECORD_BYTES],
            events: Vec::with_capacity(1 << 12),
            event_payload: Vec::with_capacity(1 << 16),
        })
    }

    /// Waits until everything appended is written (durable, in a durable mode), then closes.
    pub fn close(self) -> Result<(), String> {
        for journal in self.commands.into_iter().chain(self.events_journal) {
            journal.close()?;
        }
        Ok(())
    }
}

impl Subject for Ladder {
    #[inline]
    fn submit(&mut self, ts_ns: u64, command: &Command, tally: &mut Tally) -> Result<u64, String> {
        let seq = self.engine.last_seq() + 1;
        if self.stage >= Stage::CommandEncode {
            let length = encode_command_record(Origin::INTERNAL, command, &mut self.command_bytes)
                .map_err(|e| format!("{e:?}"))?;
            match &mut self.commands {
                Some(journal) => journal.append(seq, ts_ns, &self.command_bytes[..length])?,
                None => {
                    black_box(&self.command_bytes[..length]);
                }
            }
        }
        let envelope = CommandEnvelope { seq, ts_ns, command: *command };
        if self.stage < Stage::EventEncode {
            self.engine.apply(&envelope, tally);
            return Ok(seq);
        }
        self.events.clear();
        self.engine.apply(&envelope, &mut self.events);
        encode_events(Origin::INTERNAL, &self.events, &mut self.event_payload);
        match &mut self.events_journal {
            Some(journal) => journal.append(seq, ts_ns, &self.event_payload)?,
            None => {
                black_box(&self.event_payload);
            }
        }
        for event in &self.events {
            tally.emit(*event);
        }
        Ok(seq)
    }

    fn engine(&self) -> &Engine {
        &self.engine
    }

    /// A ladder that journals no command calls every command durable.
    fn durable_source(&self) -> DurableSource {
        self.commands
            .as_ref()
            .map_or_else(|| DurableSource::Atomic(Arc::new(AtomicU64::new(u64::MAX))), Appender::source)
    }
}
