//! Replay and recovery: a profile-A journal of `--recovery-commands` commands (setup and
//! prefill included) is written through `DurableEngine` in `Mmap` mode, with one snapshot
//! near the end. Then:
//! - replay throughput: reading the command journal (every record's CRC checked), reading
//!   and decoding, and reading, decoding and applying to a fresh engine, as
//!   `DurableEngine::open` does from scratch;
//! - recovery: `DurableEngine::open` with the default journal config (`Fsync`), from
//!   scratch (the snapshot moved aside) and from the snapshot, with the files in the page
//!   cache and evicted from it; and the scan each journal's writer does when it opens.

use std::fs::{self, File};
use std::hint::black_box;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cex_engine::{CommandEnvelope, Engine, EngineConfig, Event};
use cex_journal::decode_command_record;
use cex_journal::{
    record_bytes, Durability, DurableConfig, DurableEngine, JournalConfig, JournalReader, JournalWriter, SnapshotPolicy,
};
use indicatif::{ProgressBar, ProgressStyle};

use super::affinity::Pinned;
use super::cost::{feed, Subject};
use super::{Market, Tally};
use crate::runner;
use crate::workload::{Profile, Workload};

#[derive(Clone, Debug)]
pub struct ReplayRow {
    pub name: String,
    /// Commands (or records) processed.
    pub count: u64,
    pub seconds: f64,
    pub note: String,
}

impl ReplayRow {
    pub fn per_sec(&self) -> f64 {
        self.count as f64 / self.seconds
    }
}

struct Journal {
    dir: PathBuf,
    engine_config: EngineConfig,
    commands: u64,
    snapshot_seq: u64,
    state_hash: u64,
}

/// Builds the journal under `dir`, then measures replay and recovery.
pub fn run(total_commands: u64, seed: u64, dir: &Path, visible: bool) -> Result<Vec<ReplayRow>, String> {
    let journal = build(total_commands, seed, dir, visible)?;
    let mut rows = replay(&journal, visible)?;
    rows.extend(recovery(&journal)?);
    Ok(rows)
}

fn spinner(message: &str, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"));
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn build(total_commands: u64, seed: u64, dir: &Path, visible: bool) -> Result<Journal, String> {
    // Profile A's setup and prefill are fixed; the timed ops make up the rest.
    let shape = Market::new(Workload::generate(Profile::A, 1, seed))?;
    let fixed = (shape.setup.len() + shape.prefill.len()) as u64;
    let ops = total_commands.saturating_sub(fixed).max(1);
    let generating = spinner(&format!("generating profile A with {ops} ops through the reference engine"), visible);
    let market = Market::new(Workload::generate(Profile::A, ops, seed))?;
    generating.finish_and_clear();
    let commands = fixed + market.ops.len() as u64;
    let snapshot_seq = commands - (commands / 100).max(1);

    let config = durable_config(dir, Durability::Mmap);
    let (mut durable, _) = DurableEngine::open(&config, market.engine_config).map_err(|e| e.to_string())?;
    let progress = runner::progress_bar(commands, "writing the journal", visible);
    let mut tally = Tally::default();
    feed(&mut durable, &market.setup, &mut tally)?;
    feed(&mut durable, &market.prefill, &mut tally)?;
    progress.inc(fixed);
    for chunk in market.ops.chunks(1 << 16) {
        for command in chunk {
            let seq = durable.engine().last_seq() + 1;
            Subject::submit(&mut durable, seq, command, &mut tally)?;
            if seq == snapshot_seq && !durable.snapshot_now(seq) {
                return Err("the snapshot writer was busy".to_string());
            }
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    market.verify(durable.engine(), &tally)?;
    let state_hash = durable.engine().state_hash();
    durable.close().map_err(|e| e.to_string())?;
    Ok(Journal { dir: dir.to_path_buf(), engine_config: market.engine_config, commands, snapshot_seq, state_hash })
}

fn durable_config(dir: &Path, durability: Durability) -> DurableConfig {
    DurableConfig {
        dir: dir.to_path_buf(),
        journal: JournalConfig { durability, ..JournalConfig::default() },
        snapshots: SnapshotPolicy { every_commands: 0, every_ns: 0, keep: 1 },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReplayDepth {
    Read,
    Decode,
    Apply,
}

fn replay(journal: &Journal, visible: bool) -> Result<Vec<ReplayRow>, String> {
    let mut rows = Vec::new();
    let commands_dir = journal.dir.join("commands");
    for (depth, name) in [
        (ReplayDepth::Read, "read commands (CRC)"),
        (ReplayDepth::Decode, "read + decode"),
        (ReplayDepth::Apply, "read + decode + apply"),
    ] {
        let progress = runner::progress_bar(journal.commands, name, visible);
        let (count, bytes, seconds, hash) = replay_pass(&commands_dir, depth, journal.engine_config, &progress)?;
        progress.finish_and_clear();
        if count != journal.commands {
            return Err(format!("{name}: read {count} commands, the journal holds {}", journal.commands));
        }
        let mut note = format!("{:.0} MB of records", bytes as f64 / 1e6);
        if let Some(hash) = hash {
            if hash != journal.state_hash {
                return Err(format!("{name}: the replayed state hash differs from the recorded one"));
            }
            note += "; state hash verified";
        }
        rows.push(ReplayRow { name: name.to_string(), count, seconds, note });
    }
    let progress = runner::progress_bar(journal.commands, "read events (CRC)", visible);
    let (count, bytes, seconds, _) =
        replay_pass(&journal.dir.join("events"), ReplayDepth::Read, journal.engine_config, &progress)?;
    progress.finish_and_clear();
    let note = format!("{:.0} MB of records", bytes as f64 / 1e6);
    rows.push(ReplayRow { name: "read events (CRC)".to_string(), count, seconds, note });
    Ok(rows)
}

/// One pass over a journal: (records, record bytes, seconds, final state hash if applied).
fn replay_pass(
    dir: &Path,
    depth: ReplayDepth,
    engine_config: EngineConfig,
    progress: &ProgressBar,
) -> Result<(u64, u64, f64, Option<u64>), String> {
    let mut engine = (depth == ReplayDepth::Apply).then(|| Engine::new(engine_config));
    let mut events: Vec<Event> = Vec::with_capacity(1 << 12);
    let (mut count, mut bytes) = (0u64, 0u64);
    let pinned = Pinned::to_measuring_cpu();
    let started = Instant::now();
    let mut reader = JournalReader::open(dir, 1).map_err(|e| e.to_string())?;
    while let Some(record) = reader.try_next().map_err(|e| e.to_string())? {
        count += 1;
        bytes += record_bytes(record.payload.len()) as u64;
        match depth {
            ReplayDepth::Read => {
                black_box(record.payload);
            }
            ReplayDepth::Decode => {
                black_box(decode_command_record(record.payload).map_err(|e| format!("{e:?}"))?);
            }
            ReplayDepth::Apply => {
                let (_, command) = decode_command_record(record.payload).map_err(|e| format!("{e:?}"))?;
                let envelope = CommandEnvelope { seq: record.seq, ts_ns: record.timestamp_ns, command };
                events.clear();
                engine.as_mut().expect("applying").apply(&envelope, &mut events);
            }
        }
        if count % (1 << 16) == 0 {
            progress.inc(1 << 16);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(pinned);
    Ok((count, bytes, seconds, engine.map(|engine| engine.state_hash())))
}

fn recovery(journal: &Journal) -> Result<Vec<ReplayRow>, String> {
    let mut rows = Vec::new();
    let scan = |name: &str| -> Result<ReplayRow, String> {
        settle(&journal.dir, false).map_err(|e| e.to_string())?;
        let config = JournalConfig { durability: Durability::Fsync, ..JournalConfig::default() };
        let started = Instant::now();
        let (writer, report) = JournalWriter::open(journal.dir.join(name), config).map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        writer.close().map_err(|e| e.to_string())?;
        let note = format!("{} segments; page cache warm", report.segments);
        Ok(ReplayRow { name: format!("JournalWriter::open {name}"), count: report.records, seconds, note })
    };
    rows.push(scan("commands")?);
    rows.push(scan("events")?);

    let snapshots = journal.dir.join("snapshots");
    let aside = journal.dir.join("snapshots.aside");
    for cold in [false, true] {
        let cache = if cold { "page cache evicted" } else { "page cache warm" };
        fs::rename(&snapshots, &aside).map_err(|e| e.to_string())?;
        let from_scratch = open_timed(journal, cold);
        fs::rename(&aside, &snapshots).map_err(|e| e.to_string())?;
        let (seconds, replayed) = from_scratch?;
        rows.push(ReplayRow {
            name: "DurableEngine::open, no snapshot".to_string(),
            count: replayed,
            seconds,
            note: format!("from scratch; {cache}"),
        });
        let (seconds, replayed) = open_timed(journal, cold)?;
        rows.push(ReplayRow {
            name: "DurableEngine::open, snapshot".to_string(),
            count: replayed,
            seconds,
            note: format!("snapshot at {}, replayed {replayed}; {cache}", journal.snapshot_seq),
        });
    }
    Ok(rows)
}

/// Times `DurableEngine::open` with the default journal config; returns (seconds, commands
/// replayed) after checking the recovered state.
fn open_timed(journal: &Journal, cold: bool) -> Result<(f64, u64), String> {
    settle(&journal.dir, cold).map_err(|e| e.to_string())?;
    let config = durable_config(&journal.dir, Durability::Fsync);
    let pinned = Pinned::to_measuring_cpu();
    let started = Instant::now();
    let (durable, startup) = DurableEngine::open(&config, journal.engine_config).map_err(|e| e.to_string())?;
    let seconds = started.elapsed().as_secs_f64();
    drop(pinned);
    if startup.state_hash != journal.state_hash || durable.engine().last_seq() != journal.commands {
        return Err("recovery did not reach the recorded state".to_string());
    }
    durable.close().map_err(|e| e.to_string())?;
    Ok((seconds, startup.replayed_commands))
}

/// Flushes every file of the data directory (so opening in `Fsync` mode finds nothing to
/// write back) and, if `evict`, drops them from the page cache.
fn settle(dir: &Path, evict: bool) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            settle(&path, evict)?;
            continue;
        }
        let file = File::open(&path)?;
        file.sync_data()?;
        if evict {
            // SAFETY: posix_fadvise reads only its integer arguments; the descriptor is
            // open and owned by `file` for the duration of the call.
            let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
        }
    }
    Ok(())
}
