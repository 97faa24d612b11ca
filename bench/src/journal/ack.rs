//! Durable-ack latency, open loop: commands are offered on a fixed schedule by the pinned
//! submitting thread, and an acker thread polls the durable sequence. For every sequence
//! that becomes durable the acker records the time from that command's *scheduled* offer
//! to the moment it saw it durable, so a slow sync delays every command behind it and
//! shows in the percentiles (no coordinated omission). The schedule is a fixed rate from a
//! shared start, so the acker computes each sequence's scheduled time instead of reading it
//! from a ring the submitter would have to write.
//!
//! Also here: the raw `fdatasync` latency of the same file system, the floor a group
//! commit cannot beat.

use std::fs::OpenOptions;
use std::hint::spin_loop;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use cex_engine::Command;
use cex_journal::{Durability, DurableConfig, DurableEngine, FsyncWriter, JournalConfig, SnapshotPolicy};
use hdrhistogram::Histogram;

use super::affinity::Pinned;
use super::cost::{feed, Subject};
use super::writers::{Appender, DurableSource, Stream, WriterKind};
use super::{new_histogram, Market, Tally, ThreadUsage};
use crate::runner::Latency;

#[derive(Clone, Copy, Debug)]
pub struct AckFigures {
    pub commands: u64,
    pub achieved_per_sec: f64,
    pub latency: Latency,
    /// From each command's scheduled time until its submit (append) returned: the
    /// submitting side's share of the latency.
    pub submitted: Latency,
    /// Syncs during the run: counted by the syncer (or the io_uring writer) when `counted`,
    /// else inferred from the jumps of the durable sequence the acker saw.
    pub syncs: u64,
    pub counted: bool,
    /// What the submitting thread went through while offering the commands.
    pub usage: ThreadUsage,
}

impl AckFigures {
    pub fn commands_per_sync(&self) -> f64 {
        self.commands as f64 / self.syncs.max(1) as f64
    }
}

/// What the open loop drives: submits the `index`-th command of the run.
trait Driven {
    fn submit(&mut self, index: u64) -> Result<(), String>;
}

struct EngineDriven<'a, S: Subject> {
    subject: &'a mut S,
    commands: &'a [Command],
    tally: Tally,
}

impl<S: Subject> Driven for EngineDriven<'_, S> {
    #[inline]
    fn submit(&mut self, index: u64) -> Result<(), String> {
        let seq = self.subject.engine().last_seq() + 1;
        self.subject.submit(seq, &self.commands[index as usize], &mut self.tally).map(drop)
    }
}

struct WriterDriven<'a> {
    appender: &'a mut Appender,
    stream: &'a Stream,
}

impl Driven for WriterDriven<'_> {
    #[inline]
    fn submit(&mut self, index: u64) -> Result<(), String> {
        self.appender.append(index + 1, index + 1, self.stream.payload(index))
    }
}

/// `DurableEngine::submit` in `Fsync` mode, on one of its writers: commands journaled,
/// applied, events journaled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnginePath(pub FsyncWriter);

impl EnginePath {
    pub fn name(self) -> &'static str {
        match self.0 {
            FsyncWriter::Mmap => "DurableEngine fsync, mmap writer",
            FsyncWriter::Uring => "DurableEngine fsync, io_uring writer",
        }
    }
}

/// Profile A through `DurableEngine`, after an untimed setup and prefill. Groups are
/// inferred from durable-sequence jumps (`DurableEngine` opens its own syncer).
pub fn engine(path: EnginePath, market: &Market, rate: u64, count: u64, dir: &Path) -> Result<AckFigures, String> {
    let count = count.min(market.ops.len() as u64);
    let config = DurableConfig {
        dir: dir.to_path_buf(),
        journal: JournalConfig { durability: Durability::Fsync, fsync_writer: path.0, ..JournalConfig::default() },
        snapshots: SnapshotPolicy { every_commands: 0, every_ns: 0, keep: 1 },
    };
    let (mut durable, startup) = DurableEngine::open(&config, market.engine_config).map_err(|e| e.to_string())?;
    if let (FsyncWriter::Uring, Some(why)) = (path.0, startup.uring_unavailable) {
        return Err(format!("unavailable: {why}"));
    }
    let figures = engine_open_loop(&mut durable, market, rate, count)?;
    durable.close().map_err(|e| e.to_string())?;
    Ok(figures)
}

fn engine_open_loop<S: Subject>(subject: &mut S, market: &Market, rate: u64, count: u64) -> Result<AckFigures, String> {
    let mut tally = Tally::default();
    feed(subject, &market.setup, &mut tally)?;
    feed(subject, &market.prefill, &mut tally)?;
    let source = subject.durable_source();
    let before = subject.engine().last_seq();
    let deadline = Instant::now() + Duration::from_secs(60);
    while source.get() < before {
        if Instant::now() > deadline {
            return Err("setup not durable within 60 s".to_string());
        }
        thread::sleep(Duration::from_micros(100));
    }
    let mut driven = EngineDriven { subject, commands: &market.ops, tally };
    let run = open_loop(&mut driven, source, rate, count, before + 1)?;
    Ok(AckFigures {
        commands: count,
        achieved_per_sec: run.achieved_per_sec,
        latency: run.latency,
        submitted: run.submitted,
        syncs: run.jumps,
        counted: false,
        usage: run.usage,
    })
}

/// A bare writer on the payload stream, from sequence 1.
pub fn writer(kind: WriterKind, stream: &Stream, rate: u64, count: u64, dir: &Path) -> Result<AckFigures, String> {
    let mut appender = Appender::open(kind, dir)?;
    let source = appender.source();
    let syncs_before = appender.syncs();
    let mut driven = WriterDriven { appender: &mut appender, stream };
    let run = open_loop(&mut driven, source, rate, count, 1)?;
    let syncs = appender.syncs() - syncs_before;
    appender.close()?;
    Ok(AckFigures {
        commands: count,
        achieved_per_sec: run.achieved_per_sec,
        latency: run.latency,
        submitted: run.submitted,
        syncs,
        counted: true,
        usage: run.usage,
    })
}

struct OpenLoopRun {
    latency: Latency,
    submitted: Latency,
    achieved_per_sec: f64,
    jumps: u64,
    usage: ThreadUsage,
}

fn open_loop<D: Driven>(
    driven: &mut D,
    source: DurableSource,
    rate: u64,
    count: u64,
    first_seq: u64,
) -> Result<OpenLoopRun, String> {
    if count == 0 {
        return Err("no commands to offer".to_string());
    }
    let interval_ns = 1e9 / rate as f64;
    let stop = AtomicBool::new(false);
    // A little slack so the acker is polling before the first command is due.
    let start = Instant::now() + Duration::from_millis(5);
    thread::scope(|scope| {
        let acker = scope.spawn(|| acker(&source, start, interval_ns, first_seq, count, &stop));
        let offered = (|| -> Result<(f64, ThreadUsage, Histogram<u64>), String> {
            let _pinned = Pinned::to_measuring_cpu();
            let mut submitted = new_histogram();
            let before = ThreadUsage::now();
            for index in 0..count {
                let scheduled = start + Duration::from_nanos((index as f64 * interval_ns) as u64);
                while Instant::now() < scheduled {
                    spin_loop();
                }
                driven.submit(index)?;
                submitted.saturating_record((scheduled.elapsed().as_nanos() as u64).max(1));
            }
            let achieved = count as f64 / start.elapsed().as_secs_f64();
            let usage = ThreadUsage::now().since(before);
            let deadline = Instant::now() + Duration::from_secs(60);
            while !acker.is_finished() {
                if Instant::now() > deadline {
                    return Err("commands not durable 60 s after the last was offered".to_string());
                }
                spin_loop();
            }
            Ok((achieved, usage, submitted))
        })();
        stop.store(true, Ordering::Relaxed);
        let (histogram, jumps) = acker.join().expect("the acker does not panic");
        let (achieved_per_sec, usage, submitted) = offered?;
        let submitted = Latency::of(&submitted);
        Ok(OpenLoopRun { latency: Latency::of(&histogram), submitted, achieved_per_sec, jumps, usage })
    })
}

/// Polls the durable sequence without pause and records every newly durable command's
/// latency. It runs on the helper CPUs, which it inherits from the thread that starts it,
/// under `SCHED_IDLE`: it shares its core with the sync threads, the io_uring workers and
/// the file system's journal thread, and must never delay them. Measured alternatives were
/// worse: a poller that yields stayed runnable and at times delayed every sync by ~8 ms;
/// one that sleeps 10 µs between polls slowed the syncs with its timer wake-ups.
fn acker(
    source: &DurableSource,
    start: Instant,
    interval_ns: f64,
    first_seq: u64,
    count: u64,
    stop: &AtomicBool,
) -> (Histogram<u64>, u64) {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads `idle`, which lives across the call, and changes
    // only the calling thread's policy (pid 0); lowering it needs no privilege.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) };
    let mut histogram = new_histogram();
    let last_seq = first_seq + count - 1;
    let mut acked = first_seq - 1;
    let mut jumps = 0;
    while acked < last_seq && !stop.load(Ordering::Relaxed) {
        let durable = source.get().min(last_seq);
        if durable <= acked {
            spin_loop();
            continue;
        }
        let now_ns = Instant::now().saturating_duration_since(start).as_nanos() as u64;
        for seq in acked + 1..=durable {
            let scheduled_ns = ((seq - first_seq) as f64 * interval_ns) as u64;
            histogram.saturating_record(now_ns.saturating_sub(scheduled_ns).max(1));
        }
        jumps += 1;
        acked = durable;
    }
    (histogram, jumps)
}

/// How the raw probe writes its 4 KiB blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawSync {
    /// Each write goes to the next block of a preallocated file, as journal appends do
    /// (ext4 then also commits the conversion of the block from unwritten to written).
    Append,
    /// Every write rewrites the same block: the data flush alone.
    Overwrite,
}

impl RawSync {
    pub fn name(self) -> &'static str {
        match self {
            RawSync::Append => "4 KiB append, preallocated",
            RawSync::Overwrite => "4 KiB overwrite",
        }
    }
}

/// `samples` rounds of `pwrite` 4 KiB + `fdatasync` on a file in `dir`, each timed.
pub fn raw_fdatasync(dir: &Path, samples: u64, how: RawSync) -> io::Result<Latency> {
    const BLOCK: usize = 4096;
    let path = dir.join(format!("fdatasync-{how:?}.probe").to_lowercase());
    let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    let mut block = [0x5au8; BLOCK];
    match how {
        RawSync::Append => preallocate(&file, samples * BLOCK as u64)?,
        RawSync::Overwrite => file.write_all_at(&block, 0)?,
    }
    file.sync_all()?;
    let mut histogram = new_histogram();
    let pinned = Pinned::to_measuring_cpu();
    for sample in 0..samples {
        block[..8].copy_from_slice(&sample.to_le_bytes());
        let offset = match how {
            RawSync::Append => sample * BLOCK as u64,
            RawSync::Overwrite => 0,
        };
        let started = Instant::now();
        file.write_all_at(&block, offset)?;
        file.sync_data()?;
        histogram.saturating_record((started.elapsed().as_nanos() as u64).max(1));
    }
    drop(pinned);
    std::fs::remove_file(&path)?;
    Ok(Latency::of(&histogram))
}

/// Reserves the probe file's blocks up front, as the journal does for its segments.
fn preallocate(file: &std::fs::File, len: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let off_len = libc::off_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: fallocate reads only its integer arguments; the descriptor is open and owned
    // by `file` for the duration of the call.
    if unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, off_len) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
