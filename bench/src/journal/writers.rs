//! The writers compared on the same payload stream (profile A's commands, SBE-encoded):
//! `JournalWriter` in `mmap` mode and in `fsync` mode on each of its two writers (mapped
//! with a sync thread, io_uring), and the closed-loop append throughput of each.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cex_engine::Command;
use cex_journal::{
    record_bytes, Durability, DurableWatcher, FileSyncer, FsyncWriter, JournalConfig, JournalWriter, SyncRange, Syncer,
};
use cex_schema::encode_command;

use super::affinity::Pinned;
use super::ThreadUsage;

/// A `JournalWriter` configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriterKind {
    /// `Mmap` durability.
    Mmap,
    /// `Fsync` durability on the given writer.
    Fsync(FsyncWriter),
}

pub const WRITERS: [WriterKind; 3] =
    [WriterKind::Mmap, WriterKind::Fsync(FsyncWriter::Mmap), WriterKind::Fsync(FsyncWriter::Uring)];

impl WriterKind {
    pub fn name(self) -> &'static str {
        match self {
            WriterKind::Mmap => "JournalWriter mmap",
            WriterKind::Fsync(FsyncWriter::Mmap) => "JournalWriter fsync, mmap writer",
            WriterKind::Fsync(FsyncWriter::Uring) => "JournalWriter fsync, io_uring writer",
        }
    }

    pub fn is_durable(self) -> bool {
        matches!(self, WriterKind::Fsync(_))
    }

    pub fn is_uring(self) -> bool {
        self == WriterKind::Fsync(FsyncWriter::Uring)
    }

    pub fn config(self) -> JournalConfig {
        match self {
            WriterKind::Mmap => JournalConfig { durability: Durability::Mmap, ..JournalConfig::default() },
            WriterKind::Fsync(fsync_writer) => {
                JournalConfig { durability: Durability::Fsync, fsync_writer, ..JournalConfig::default() }
            }
        }
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
/// spans a segment roll); with the io_uring writer, the ranges whose flush completed.
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

    fn completed(&mut self, _: SyncRange<'_>) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

pub struct Appender {
    writer: JournalWriter,
    syncs: Arc<AtomicU64>,
}

impl Appender {
    /// Opens a fresh writer in `dir`; refuses to stand in for the io_uring writer with the
    /// mapped one where io_uring is unavailable.
    pub fn open(kind: WriterKind, dir: &Path) -> Result<Appender, String> {
        let syncs = Arc::new(AtomicU64::new(0));
        let syncer = CountingSyncer { syncs: Arc::clone(&syncs) };
        let (writer, _) = JournalWriter::open_with_syncer(dir, kind.config(), syncer).map_err(|e| e.to_string())?;
        if let (true, Some(why)) = (kind.is_uring(), writer.uring_unavailable()) {
            return Err(format!("unavailable: {why}"));
        }
        Ok(Appender { writer, syncs })
    }

    #[inline]
    pub fn append(&mut self, seq: u64, timestamp_ns: u64, payload: &[u8]) -> Result<(), String> {
        self.writer.append(seq, timestamp_ns, payload).map_err(|e| e.to_string())
    }

    pub fn source(&self) -> DurableSource {
        DurableSource::Watcher(self.writer.watcher())
    }

    /// Syncs so far (io_uring writer: completed segment ranges).
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }

    /// Waits until everything appended is durable (or written, in `Mmap` mode).
    pub fn finish(&mut self) -> Result<(), String> {
        let last = self.writer.last_seq();
        match self.writer.watcher().wait_for(last, Duration::from_secs(120)) {
            Ok(true) => Ok(()),
            Ok(false) => Err("not durable within 120 s".to_string()),
            Err(error) => Err(error.to_string()),
        }
    }

    pub fn close(self) -> Result<(), String> {
        self.writer.close().map_err(|e| e.to_string())
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
    let mut appender = Appender::open(kind, dir)?;
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
