//! `cex bench journal`: what the journal costs the engine, how long a durable
//! acknowledgement takes in `Fsync` mode, how fast a journal replays and a data directory
//! recovers, and an io_uring writer (`uring`) measured against the memory-mapped one.
//!
//! Sections (each can be chosen with `--sections`):
//! - `cost`: profile A through the plain engine, a ladder adding one journaling stage at a
//!   time, and `DurableEngine::submit` in `none`, `mmap` and `fsync` modes (`cost.rs`);
//! - `writers`: closed-loop append throughput of `JournalWriter` and the io_uring writer
//!   on the same payload stream (`writers.rs`);
//! - `ack`: open-loop durable-ack latency of `DurableEngine` and of the durable writers,
//!   and the raw `fdatasync` latency of the same file system (`ack.rs`);
//! - `replay`: replay throughput and recovery time of a large journal (`replay.rs`).
//!
//! Every data directory lives under one temporary directory (in `--dir` if given), removed
//! at the end, so every file is on the file system being measured.

mod ack;
mod affinity;
mod cost;
mod replay;
mod report;
pub mod uring;
mod writers;

use std::io;
use std::path::{Path, PathBuf};

use cex_engine::{Command, Engine, EngineConfig, Event, EventBody, EventSink};
use hdrhistogram::Histogram;

use crate::market;
use crate::ours::depth_hash;
use crate::runner::{self, Latency};
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
    let uring = uring::probe();
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
            results.cost = run_cost(options, &market, root.path())?;
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

fn run_cost(options: &JournalBenchOptions, market: &Market, root: &Path) -> io::Result<Vec<report::CostRow>> {
    let mut passes: Vec<Vec<cost::Pass>> = cost::VARIANTS.iter().map(|_| Vec::new()).collect();
    // Variants interleave within each pass, so drift on a noisy machine spreads over all.
    for pass in 0..options.passes {
        for (index, variant) in cost::VARIANTS.iter().enumerate() {
            let label = format!("{} {}/{}", variant.name(), pass + 1, options.passes);
            let progress = runner::progress_bar(market.ops.len() as u64, &label, !options.json);
            let dir = root.join(format!("cost-{pass}-{index}"));
            let result = cost::pass(*variant, market, &dir, &progress).map_err(io::Error::other)?;
            progress.finish_and_clear();
            remove_dir(&dir)?;
            passes[index].push(result);
        }
    }
    let rows =
        cost::VARIANTS.iter().zip(passes).map(|(variant, passes)| report::CostRow::of(*variant, market, &passes));
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
    for how in [ack::RawSync::Append, ack::RawSync::Overwrite] {
        say(format!("raw fdatasync: {} × {}", options.fsync_samples, how.name()));
        let latency = ack::raw_fdatasync(root, options.fsync_samples, how)?;
        results.raw_syncs.push(report::RawSyncRow { how, samples: options.fsync_samples, latency });
    }
    for &rate in &options.rates {
        let count = ((rate as f64 * options.ack_seconds) as u64).max(1);
        say(format!("open loop at {rate}/s: DurableEngine fsync"));
        let dir = root.join(format!("ack-{rate}-engine"));
        let figures = ack::durable_engine(market, rate, count, &dir).map_err(io::Error::other)?;
        remove_dir(&dir)?;
        results.acks.push(report::AckRow { name: "DurableEngine fsync", rate, outcome: Ok(figures) });
        for kind in writers::WRITERS.into_iter().filter(|kind| kind.is_durable()) {
            say(format!("open loop at {rate}/s: {}", kind.name()));
            let outcome = match (kind.is_uring(), uring) {
                (true, Err(why)) => Err(format!("unavailable: {why}")),
                _ => {
                    let dir = root.join(format!("ack-{rate}-{}", kind.name().replace([' ', '+'], "-")));
                    let outcome = ack::writer(kind, stream, rate, count, &dir);
                    remove_dir(&dir)?;
                    outcome
                }
            };
            if let (Err(why), false) = (&outcome, kind.is_uring()) {
                return Err(io::Error::other(format!("{}: {why}", kind.name())));
            }
            results.acks.push(report::AckRow { name: kind.name(), rate, outcome });
        }
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

/// Counts trades and traded quantity as events stream out; stores nothing.
#[derive(Default)]
pub struct Tally {
    trades: u64,
    volume_qty: u64,
}

impl EventSink for Tally {
    #[inline]
    fn emit(&mut self, event: Event) {
        if let EventBody::Trade(trade) = event.body {
            self.trades += 1;
            self.volume_qty += trade.qty as u64;
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

fn latency_of(histogram: &Histogram<u64>) -> Latency {
    Latency {
        p50_ns: histogram.value_at_quantile(0.50),
        p90_ns: histogram.value_at_quantile(0.90),
        p99_ns: histogram.value_at_quantile(0.99),
        p999_ns: histogram.value_at_quantile(0.999),
        p9999_ns: histogram.value_at_quantile(0.9999),
        max_ns: histogram.max(),
    }
}
