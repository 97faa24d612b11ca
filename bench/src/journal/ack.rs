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
use cex_journal::{Durability, DurableConfig, DurableEngine, JournalConfig, SnapshotPolicy};
use hdrhistogram::Histogram;

use super::affinity::Pinned;
use super::cost::{feed, Subject};
use super::uring;
use super::writers::{Appender, DurableSource, Stream, WriterKind};
use super::{latency_of, new_histogram, Market, Tally};
use crate::runner::Latency;

#[derive(Clone, Copy, Debug)]
pub struct AckFigures {
    pub commands: u64,
    pub achieved_per_sec: f64,
    pub latency: Latency,
    /// Syncs during the run: counted by the syncer (or the io_uring writer) when `counted`,
    /// else inferred from the jumps of the durable sequence the acker saw.
    pub syncs: u64,
    pub counted: bool,
}

impl AckFigures {
    pub fn commands_per_sync(&self) -> f64 {
        self.commands as f64 / self.syncs.max(1) as f64
    }
}

/// What the open loop drives: submits the `index`-th command of the run, and is told when
/// the submitting thread is idle.
trait Driven {
    fn submit(&mut self, index: u64) -> Result<(), String>;
    fn idle(&mut self) -> Result<(), String>;
}

struct EngineDriven<'a> {
    durable: &'a mut DurableEngine,
    commands: &'a [Command],
    tally: Tally,
}

impl Driven for EngineDriven<'_> {
    #[inline]
    fn submit(&mut self, index: u64) -> Result<(), String> {
        let seq = self.durable.engine().last_seq() + 1;
        Subject::submit(&mut *self.durable, seq, &self.commands[index as usize], &mut self.tally).map(drop)
    }

    #[inline]
    fn idle(&mut self) -> Result<(), String> {
        Ok(())
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

    #[inline]
    fn idle(&mut self) -> Result<(), String> {
        self.appender.poll()
    }
}

/// `DurableEngine::submit` in `Fsync` mode: profile A after an untimed setup and prefill.
/// Groups are inferred from durable-sequence jumps (the engine opens its own syncer).
pub fn durable_engine(market: &Market, rate: u64, count: u64, dir: &Path) -> Result<AckFigures, String> {
    let config = DurableConfig {
        dir: dir.to_path_buf(),
        journal: JournalConfig { durability: Durability::Fsync, ..JournalConfig::default() },
        snapshots: SnapshotPolicy { every_commands: 0, every_ns: 0, keep: 1 },
    };
    let (mut durable, _) = DurableEngine::open(&config, market.engine_config).map_err(|e| e.to_string())?;
    let mut tally = Tally::default();
    feed(&mut durable, &market.setup, &mut tally)?;
    feed(&mut durable, &market.prefill, &mut tally)?;
    let watcher = durable.durable_watcher();
    let before = durable.engine().last_seq();
    if !watcher.wait_for(before, Duration::from_secs(60)).map_err(|e| e.to_string())? {
        return Err("setup not durable within 60 s".to_string());
    }
    let count = count.min(market.ops.len() as u64);
    let mut driven = EngineDriven { durable: &mut durable, commands: &market.ops, tally };
    let run = open_loop(&mut driven, DurableSource::Watcher(watcher), rate, count, before + 1)?;
    durable.close().map_err(|e| e.to_string())?;
    Ok(AckFigures {
        commands: count,
        achieved_per_sec: run.achieved_per_sec,
        latency: run.latency,
        syncs: run.jumps,
        counted: false,
    })
}

/// A bare writer on the payload stream, from sequence 1.
pub fn writer(kind: WriterKind, stream: &Stream, rate: u64, count: u64, dir: &Path) -> Result<AckFigures, String> {
    let mut appender = Appender::open(kind, dir, stream.file_bytes(count))?;
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
        syncs,
        counted: true,
    })
}

struct OpenLoopRun {
    latency: Latency,
    achieved_per_sec: f64,
    jumps: u64,
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
        let offered = (|| -> Result<f64, String> {
            let _pinned = Pinned::to_measuring_cpu();
            for index in 0..count {
                let scheduled = start + Duration::from_nanos((index as f64 * interval_ns) as u64);
                while Instant::now() < scheduled {
                    driven.idle()?;
                    spin_loop();
                }
                driven.submit(index)?;
            }
            let achieved = count as f64 / start.elapsed().as_secs_f64();
            let deadline = Instant::now() + Duration::from_secs(60);
            while !acker.is_finished() {
                driven.idle()?;
                if Instant::now() > deadline {
                    return Err("commands not durable 60 s after the last was offered".to_string());
                }
                spin_loop();
            }
            Ok(achieved)
        })();
        stop.store(true, Ordering::Relaxed);
        let (histogram, jumps) = acker.join().expect("the acker does not panic");
        let achieved_per_sec = offered?;
        Ok(OpenLoopRun { latency: latency_of(&histogram), achieved_per_sec, jumps })
    })
}

/// Polls the durable sequence (yielding between polls, so a sync thread sharing its core
/// runs as soon as it wakes) and records every newly durable command's latency. It runs on
/// the helper CPUs, which it inherits from the thread that starts it.
fn acker(
    source: &DurableSource,
    start: Instant,
    interval_ns: f64,
    first_seq: u64,
    count: u64,
    stop: &AtomicBool,
) -> (Histogram<u64>, u64) {
    let mut histogram = new_histogram();
    let last_seq = first_seq + count - 1;
    let mut acked = first_seq - 1;
    let mut jumps = 0;
    while acked < last_seq && !stop.load(Ordering::Relaxed) {
        let durable = source.get().min(last_seq);
        if durable <= acked {
            thread::yield_now();
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
        RawSync::Append => uring::preallocate(&file, samples * BLOCK as u64)?,
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
    Ok(latency_of(&histogram))
}
