//! The writers compared on the same payload stream (profile A's commands, SBE-encoded): the
//! journal's memory-mapped `JournalWriter` and the io_uring experiment, and the closed-loop
//! append throughput of each.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cex_engine::Command;
use cex_journal::{
    record_bytes, Durability, DurableWatcher, FileSyncer, JournalConfig, JournalWriter, SyncRange, Syncer,
};
use cex_schema::encode_command;

use super::affinity::{self, Pinned};
use super::uring::{UringMode, UringWriter};
use super::ThreadUsage;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriterKind {
    Journal(Durability),
    Uring(UringMode),
}

pub const WRITERS: [WriterKind; 5] = [
    WriterKind::Journal(Durability::Mmap),
    WriterKind::Journal(Durability::Fsync),
    WriterKind::Uring(UringMode::Buffered),
    WriterKind::Uring(UringMode::Datasync),
    WriterKind::Uring(UringMode::Dsync),
];

impl WriterKind {
    pub fn name(self) -> &'static str {
        match self {
            WriterKind::Journal(Durability::None) => "JournalWriter none",
            WriterKind::Journal(Durability::Mmap) => "JournalWriter mmap",
            WriterKind::Journal(Durability::Fsync) => "JournalWriter fsync",
            WriterKind::Uring(mode) => mode.name(),
        }
    }

    pub fn is_durable(self) -> bool {
        match self {
            WriterKind::Journal(durability) => durability == Durability::Fsync,
            WriterKind::Uring(mode) => mode.is_durable(),
        }
    }

    pub fn is_uring(self) -> bool {
        matches!(self, WriterKind::Uring(_))
    }
}

/// The payloads every writer appends, back to back in one buffer.
pub struct Stream {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Stream {
    pub fn encode<'a>(commands: impl Iterator<Item = &'a Command>) -> Result<Stream, String> {
        let mut stream = Stream { bytes: Vec::new(), ends: Vec::new() };
        let mut message = [0u8; cex_schema::MAX_MESSAGE_BYTES];
        for command in commands {
            let length = encode_command(command, &mut message).map_err(|e| format!("{e:?}"))?;
            stream.bytes.extend_from_slice(&message[..length]);
            stream.ends.push(stream.bytes.len());
        }
        Ok(stream)
    }

    pub fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    /// The `index`-th payload, cycling through the stream.
    #[inline]
    pub fn payload(&self, index: u64) -> &[u8] {
        let index = (index % self.len()) as usize;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.bytes[start..self.ends[index]]
    }

    /// File bytes the first `count` records take, rounded up to a page with one to spare.
    pub fn file_bytes(&self, count: u64) -> u64 {
        let records: u64 = (0..count).map(|index| record_bytes(self.payload(index).len()) as u64).sum();
        (records / 4096 + 2) * 4096
    }
}

/// Where the acker reads the durable sequence.
#[derive(Clone)]
pub enum DurableSource {
    Watcher(DurableWatcher),
    Atomic(Arc<AtomicU64>),
}

impl DurableSource {
    #[inline]
    pub fn get(&self) -> u64 {
        match self {
            DurableSource::Watcher(watcher) => watcher.durable_seq(),
            DurableSource::Atomic(seq) => seq.load(Ordering::Acquire),
        }
    }
}

/// The real syncer, counting its segment syncs (one per group commit, two when a group
/// spans a segment roll).
pub struct CountingSyncer {
    syncs: Arc<AtomicU64>,
}

impl Syncer for CountingSyncer {
    fn sync(&mut self, range: SyncRange<'_>) -> io::Result<()> {
        FileSyncer.sync(range)?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn sync_dir(&mut self, dir: &std::fs::File) -> io::Result<()> {
        FileSyncer.sync_dir(dir)
    }
}

pub enum Appender {
    Journal { writer: JournalWriter, syncs: Arc<AtomicU64> },
    Uring(Box<UringWriter>),
}

impl Appender {
    /// Opens a fresh writer in `dir`; `file_bytes` sizes the io_uring writer's segment.
    pub fn open(kind: WriterKind, dir: &Path, file_bytes: u64) -> Result<Appender, String> {
        match kind {
            WriterKind::Journal(durability) => {
                let syncs = Arc::new(AtomicU64::new(0));
                let config = JournalConfig { durability, ..JournalConfig::default() };
                let syncer = CountingSyncer { syncs: Arc::clone(&syncs) };
                let (writer, _) = JournalWriter::open_with_syncer(dir, config, syncer).map_err(|e| e.to_string())?;
                Ok(Appender::Journal { writer, syncs })
            }
            WriterKind::Uring(mode) => {
                let writer = UringWriter::create(dir, file_bytes, mode).map_err(|e| e.to_string())?;
                if let Some(cpus) = affinity::helper_cpus() {
                    writer.place_workers(&affinity::mask_of(cpus)).map_err(|e| e.to_string())?;
                }
                Ok(Appender::Uring(Box::new(writer)))
            }
        }
    }

    #[inline]
    pub fn append(&mut self, seq: u64, timestamp_ns: u64, payload: &[u8]) -> Result<(), String> {
        match self {
            Appender::Journal { writer, .. } => writer.append(seq, timestamp_ns, payload).map_err(|e| e.to_string()),
            Appender::Uring(writer) => writer.append(seq, timestamp_ns, payload).map_err(|e| e.to_string()),
        }
    }

    /// Lets a writer that drives its own I/O (io_uring) reap and submit while idle.
    #[inline]
    pub fn poll(&mut self) -> Result<(), String> {
        match self {
            Appender::Journal { .. } => Ok(()),
            Appender::Uring(writer) => writer.poll().map_err(|e| e.to_string()),
        }
    }

    pub fn source(&self) -> DurableSource {
        match self {
            Appender::Journal { writer, .. } => DurableSource::Watcher(writer.watcher()),
            Appender::Uring(writer) => DurableSource::Atomic(writer.durable_handle()),
        }
    }

    /// Syncs so far (io_uring: completed groups).
    pub fn syncs(&self) -> u64 {
        match self {
            Appender::Journal { syncs, .. } => syncs.load(Ordering::Relaxed),
            Appender::Uring(writer) => writer.completed_groups().load(Ordering::Relaxed),
        }
    }

    /// Waits until everything appended is durable (or written, in the non-durable modes).
    pub fn finish(&mut self) -> Result<(), String> {
        match self {
            Appender::Journal { writer, .. } => {
                let last = writer.last_seq();
                match writer.watcher().wait_for(last, Duration::from_secs(120)) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err("not durable within 120 s".to_string()),
                    Err(error) => Err(error.to_string()),
                }
            }
            Appender::Uring(writer) => writer.finish().map_err(|e| e.to_string()),
        }
    }

    pub fn close(self) -> Result<(), String> {
        match self {
            Appender::Journal { writer, .. } => writer.close().map_err(|e| e.to_string()),
            Appender::Uring(mut writer) => writer.finish().map_err(|e| e.to_string()),
        }
    }
}

/// One closed-loop pass of a writer over the whole stream.
#[derive(Clone, Copy, Debug)]
pub struct AppendPass {
    pub records: u64,
    pub bytes: u64,
    /// From the first append until the last returned.
    pub append_seconds: f64,
    /// From the first append until every record was durable (written, when not durable).
    pub total_seconds: f64,
    pub syncs: u64,
    /// What the appending thread went through until the last append returned.
    pub usage: ThreadUsage,
}

pub fn append_pass(kind: WriterKind, stream: &Stream, dir: &Path) -> Result<AppendPass, String> {
    let records = stream.len();
    let file_bytes = stream.file_bytes(records);
    let mut appender = Appender::open(kind, dir, file_bytes)?;
    let pinned = Pinned::to_measuring_cpu();
    let before = ThreadUsage::now();
    let started = Instant::now();
    let mut bytes = 0;
    for index in 0..records {
        let payload = stream.payload(index);
        bytes += record_bytes(payload.len()) as u64;
        appender.append(index + 1, index + 1, payload)?;
    }
    let append_seconds = started.elapsed().as_secs_f64();
    let usage = ThreadUsage::now().since(before);
    appender.finish()?;
    let total_seconds = started.elapsed().as_secs_f64();
    drop(pinned);
    let syncs = appender.syncs();
    appender.close()?;
    Ok(AppendPass { records, bytes, append_seconds, total_seconds, syncs, usage })
}
