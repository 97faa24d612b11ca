//! `cex bench journal`: what the journal costs the engine, how long a durable
//! acknowledgement takes in `Fsync` mode, how fast a journal replays and a data directory
//! recovers, with `fsync` mode measured on both of the journal's writers (io_uring, the
//! default, and the memory-mapped one with its sync thread).
//!
//! Sections (each can be chosen with `--sections`):
//! - `cost`: profile A through the plain engine, a ladder adding one journaling stage at a
//!   time, and `DurableEngine::submit` in `none`, `mmap` and `fsync` modes, `fsync` on both
//!   writers (`cost.rs`);
//! - `writers`: closed-loop append throughput of `JournalWriter` in `mmap` mode and in
//!   `fsync` mode on both writers, on the same payload stream (`writers.rs`);
//! - `ack`: open-loop durable-ack latency of `DurableEngine` and of the durable writers,
//!   and the raw `fdatasync` latency of the same file system (`ack.rs`);
//! - `replay`: replay throughput and recovery time of a large journal (`replay.rs`).
//!
//! Every data directory lives under one temporary directory (in `--dir` if given), removed
//! at the end, so every file is on the file system being measured. Before every pass and
//! every open-loop run the file system's dirty pages are written back (`syncfs`), so no run
//! pays for the previous one's write-back.

mod ack;
mod affinity;
mod cost;
mod replay;
mod report;
mod writers;

use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use cex_engine::{Command, Engine, EngineConfig};
use cex_journal::FsyncWriter;

use crate::market;
use crate::ours::depth_hash;
pub use crate::ours::Tally;
use crate::runner;
pub(crate) use crate::runner::new_histogram;
use crate::workload::{Expected, Profile, Workload};

pub use report::Results;

/// Which parts of the benchmark run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sections {
    pub cost: bool,
    pub writers: bool,
    pub ack: bool,
    pub replay: bool,
}

impl Sections {
    pub const NAMES: &'static str = "cost, writers, ack, replay";

    /// From names such as `cost,ack`; `all` (or nothing) selects every section.
    pub fn parse(names: &[String]) -> Result<Sections, String> {
        if names.is_empty() || names.iter().any(|name| name == "all") {
            return Ok(Sections { cost: true, writers: true, ack: true, replay: true });
        }
        let mut sections = Sections { cost: false, writers: false, ack: false, replay: false };
        for name in names {
            match name.as_str() {
                "cost" => sections.cost = true,
                "writers" => sections.writers = true,
                "ack" => sections.ack = true,
                "replay" => sections.replay = true,
                other => return Err(format!("unknown section {other:?}: use {}", Self::NAMES)),
            }
        }
        Ok(sections)
    }
}

pub struct JournalBenchOptions {
    /// Profile A's timed ops for the cost, writer and ack sections.
    pub ops: u64,
    pub seed: u64,
    /// Open-loop rates for the durable-ack latency, commands per second.
    pub rates: Vec<u64>,
    /// Length of each open-loop run: rate × seconds commands (at most `ops` for the engine).
    pub ack_seconds: f64,
    /// Rounds of the raw 4 KiB write + fdatasync probe.
    pub fsync_samples: u64,
    /// Times the whole ack section repeats; the run with the median p99 is reported.
    pub ack_runs: u32,
    /// Size of the replay and recovery journal, setup and prefill included.
    pub recovery_commands: u64,
    /// Closed-loop passes per variant; the median is reported.
    pub passes: u32,
    /// Where the temporary data directories go (default: the system temp directory).
    pub dir: Option<PathBuf>,
    pub json: bool,
    pub sections: Sections,
}

/// Runs the selected sections and prints the report; returns false if a run did not
/// reproduce the workload's expected results.
pub fn journal_bench(options: &JournalBenchOptions) -> io::Result<bool> {
    let visible = !options.json;
    let say = |line: String| {
        if visible {
            eprintln!("{line}");
        }
    };
    let root = match &options.dir {
        Some(dir) => tempfile::Builder::new().prefix("cex-bench-journal-").tempdir_in(dir)?,
        None => tempfile::Builder::new().prefix("cex-bench-journal-").tempdir()?,
    };
    say(format!(
        "machine: {} cores; {}; data under {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        affinity::reserve_last_cpu(),
        root.path().display()
    ));
    let uring = cex_journal::io_uring_support();
    say(match &uring {
        Ok(()) => "io_uring: available".to_string(),
        Err(why) => format!("io_uring: unavailable ({why}); its rows say so"),
    });
    let mut results = Results::default();
    if options.sections.cost || options.sections.writers || options.sections.ack {
        say(format!("generating profile A with {} ops through the reference engine", options.ops));
        let market =
            Market::new(Workload::generate(Profile::A, options.ops, options.seed)).map_err(io::Error::other)?;
        let stream = writers::Stream::encode(market.setup.iter().chain(&market.prefill).chain(&market.ops))
            .map_err(io::Error::other)?;
        results.ops = market.ops.len() as u64;
        if options.sections.cost {
            results.cost = run_cost(options, &market, &uring, root.path())?;
        }
        if options.sections.writers {
            results.writers = run_writers(options, &stream, &uring, root.path())?;
        }
        if options.sections.ack {
            run_ack(options, &market, &stream, &uring, root.path(), &mut results)?;
        }
    }
    if options.sections.replay && options.recovery_commands > 0 {
        let dir = root.path().join("replay");
        results.replay =
            replay::run(options.recovery_commands, options.seed, &dir, visible).map_err(io::Error::other)?;
    }
    if options.json {
        for line in results.json_lines() {
            println!("{line}");
        }
    } else {
        println!("{}", results.tables());
        println!("peak RSS of this process: {:.0} MiB", runner::peak_resident_bytes() as f64 / (1 << 20) as f64);
    }
    Ok(results.verified())
}

fn run_cost(
    options: &JournalBenchOptions,
    market: &Market,
    uring: &Result<(), String>,
    root: &Path,
) -> io::Result<Vec<report::CostRow>> {
    let mut passes: Vec<Vec<cost::Pass>> = cost::VARIANTS.iter().map(|_| Vec::new()).collect();
    // Variants interleave within each pass, so drift on a noisy machine spreads over all.
    for pass in 0..options.passes {
        for (index, variant) in cost::VARIANTS.iter().enumerate() {
            if *variant == cost::Variant::DurableUring && uring.is_err() {
                continue;
            }
            let label = format!("{} {}/{}", variant.name(), pass + 1, options.passes);
            let progress = runner::progress_bar(market.ops.len() as u64, &label, !options.json);
            let dir = root.join(format!("cost-{pass}-{index}"));
            flush_fs(root)?;
            let result = cost::pass(*variant, market, &dir, &progress).map_err(io::Error::other)?;
            progress.finish_and_clear();
            remove_dir(&dir)?;
            passes[index].push(result);
        }
    }
    let rows = cost::VARIANTS.iter().zip(passes).map(|(variant, passes)| match (variant, uring) {
        (cost::Variant::DurableUring, Err(why)) => report::CostRow::unavailable(*variant, market, why),
        _ => report::CostRow::of(*variant, market, passes),
    });
    Ok(rows.collect())
}

fn run_writers(
    options: &JournalBenchOptions,
    stream: &writers::Stream,
    uring: &Result<(), String>,
    root: &Path,
) -> io::Result<Vec<report::WriterRow>> {
    let mut passes: Vec<Result<Vec<writers::AppendPass>, String>> =
        writers::WRITERS.iter().map(|_| Ok(vec![])).collect();
    for pass in 0..options.passes {
        for (index, kind) in writers::WRITERS.iter().enumerate() {
            if let (true, Err(why)) = (kind.is_uring(), uring) {
                passes[index] = Err(format!("unavailable: {why}"));
                continue;
            }
            let dir = root.join(format!("writer-{pass}-{index}"));
            flush_fs(root)?;
            let result = writers::append_pass(*kind, stream, &dir);
            remove_dir(&dir)?;
            match (result, &mut passes[index]) {
                (Ok(result), Ok(all)) => all.push(result),
                (Err(why), slot) if kind.is_uring() => *slot = Err(why),
                (Err(why), _) => return Err(io::Error::other(format!("{}: {why}", kind.name()))),
                (Ok(_), Err(_)) => {}
            }
        }
    }
    Ok(writers::WRITERS.iter().zip(passes).map(|(kind, passes)| report::WriterRow::of(*kind, passes)).collect())
}

/// Every round runs the raw probes, then each path at each rate; rounds repeat the whole
/// set, so a disturbance of the shared machine lands in one round, not in one path.
fn run_ack(
    options: &JournalBenchOptions,
    market: &Market,
    stream: &writers::Stream,
    uring: &Result<(), String>,
    root: &Path,
    results: &mut Results,
) -> io::Result<()> {
    let say = |line: String| {
        if !options.json {
            eprintln!("{line}");
        }
    };
    let hows = [ack::RawSync::Append, ack::RawSync::Overwrite];
    results.raw_syncs =
        hows.iter().map(|&how| report::RawSyncRow { how, samples: options.fsync_samples, runs: vec![] }).collect();
    for round in 1..=options.ack_runs {
        let of = options.ack_runs;
        for (row, how) in hows.iter().enumerate() {
            say(format!("round {round}/{of}: raw fdatasync, {} × {}", options.fsync_samples, how.name()));
            flush_fs(root)?;
            let latency = ack::raw_fdatasync(root, options.fsync_samples, *how)?;
            results.raw_syncs[row].runs.push(latency);
        }
        for &rate in &options.rates {
            let count = ((rate as f64 * options.ack_seconds) as u64).max(1);
            for path in [ack::EnginePath(FsyncWriter::Mmap), ack::EnginePath(FsyncWriter::Uring)] {
                say(format!("round {round}/{of}: open loop at {rate}/s: {}", path.name()));
                let outcome = match (path.0, uring) {
                    (FsyncWriter::Uring, Err(why)) => Err(format!("unavailable: {why}")),
                    _ => {
                        let dir = root.join(format!("ack-{rate}-engine"));
                        flush_fs(root)?;
                        let outcome = ack::engine(path, market, rate, count, &dir);
                        remove_dir(&dir)?;
                        outcome
                    }
                };
                if let (Err(why), FsyncWriter::Mmap) = (&outcome, path.0) {
                    return Err(io::Error::other(format!("{}: {why}", path.name())));
                }
                results.ack_row(path.name(), rate).runs.push(outcome);
            }
            for kind in writers::WRITERS.into_iter().filter(|kind| kind.is_durable()) {
                say(format!("round {round}/{of}: open loop at {rate}/s: {}", kind.name()));
                let outcome = match (kind.is_uring(), uring) {
                    (true, Err(why)) => Err(format!("unavailable: {why}")),
                    _ => {
                        let dir = root.join(format!("ack-{rate}-{}", kind.name().replace([' ', '+'], "-")));
                        flush_fs(root)?;
                        let outcome = ack::writer(kind, stream, rate, count, &dir);
                        remove_dir(&dir)?;
                        outcome
                    }
                };
                if let (Err(why), false) = (&outcome, kind.is_uring()) {
                    return Err(io::Error::other(format!("{}: {why}", kind.name())));
                }
                results.ack_row(kind.name(), rate).runs.push(outcome);
            }
        }
    }
    Ok(())
}

/// Writes back every dirty page of the file system holding `dir` (`syncfs`), so a run does
/// not pay for the write-back of the previous one's data.
fn flush_fs(dir: &Path) -> io::Result<()> {
    let file = std::fs::File::open(dir)?;
    // SAFETY: syncfs reads only its descriptor argument, which `file` keeps open for the
    // duration of the call.
    if unsafe { libc::syncfs(file.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Profile A as engine commands, and what a run must reproduce.
pub struct Market {
    symbols: u32,
    expected: Expected,
    engine_config: EngineConfig,
    setup: Vec<Command>,
    prefill: Vec<Command>,
    ops: Vec<Command>,
}

impl Market {
    fn new(workload: Workload) -> Result<Market, String> {
        if workload.replays != 1 {
            return Err("the journal benchmark runs single-pass workloads".to_string());
        }
        let engine_config = market::engine_config(workload.symbols, workload.accounts, workload.max_live_orders, false);
        Ok(Market {
            symbols: workload.symbols,
            expected: workload.expected,
            engine_config,
            setup: market::setup_commands(workload.symbols, workload.accounts),
            prefill: workload.prefill.iter().map(market::command).collect(),
            ops: workload.ops.iter().map(market::command).collect(),
        })
    }

    /// The engine (with risk) after prefill and ops must match the reference engine.
    fn verify(&self, engine: &Engine, tally: &Tally) -> Result<(), String> {
        let expected = &self.expected;
        let lots = tally.volume_qty / market::LOT_SIZE as u64;
        if tally.trades != expected.trades || lots != expected.volume_lots {
            return Err(format!(
                "{} trades / {lots} lots, expected {} / {}",
                tally.trades, expected.trades, expected.volume_lots
            ));
        }
        if depth_hash(self.symbols, |symbol, side| engine.depth(symbol, side)) != expected.depth_hash {
            return Err("final book depth differs".to_string());
        }
        if engine.state_hash() != expected.state_hash {
            return Err("state hash differs".to_string());
        }
        Ok(())
    }
}

/// What the kernel did to the calling thread: page faults it took, and how often it
/// blocked (voluntary context switches) or was preempted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ThreadUsage {
    pub minor_faults: u64,
    pub major_faults: u64,
    pub blocked: u64,
    pub preempted: u64,
}

impl ThreadUsage {
    pub fn now() -> ThreadUsage {
        // SAFETY: rusage is plain integers, for which all zeros is valid.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: the pointer is to `usage`, which lives across the call.
        if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
            return ThreadUsage::default();
        }
        let count = |value: libc::c_long| value.max(0) as u64;
        ThreadUsage {
            minor_faults: count(usage.ru_minflt),
            major_faults: count(usage.ru_majflt),
            blocked: count(usage.ru_nvcsw),
            preempted: count(usage.ru_nivcsw),
        }
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: ThreadUsage) -> ThreadUsage {
        ThreadUsage {
            minor_faults: self.minor_faults.saturating_sub(earlier.minor_faults),
            major_faults: self.major_faults.saturating_sub(earlier.major_faults),
            blocked: self.blocked.saturating_sub(earlier.blocked),
            preempted: self.preempted.saturating_sub(earlier.preempted),
        }
    }
}
