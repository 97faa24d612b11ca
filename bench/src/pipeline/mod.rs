//! `cex bench pipeline`: latency and throughput of the pinned pipeline (`cex-runtime`),
//! from the producer's enqueue to the consumer's dequeue, with the journal in `mmap` mode.
//!
//! - **Flow.** Profile A (`workload.rs`) as engine commands: setup and the 1,000-order
//!   prefill, sent closed loop and untimed, then the timed orders, cancels and amends.
//!   Every one of them is accepted (a reject fails verification).
//! - **Pipeline.** A `DurableEngine` in `mmap` mode in a fresh temporary directory, behind
//!   a `RuntimeBuilder` with one producer and one consumer, default ring sizes and batch,
//!   the engine thread pinned. Its idle strategy is `BusySpin` or the default `Park`.
//! - **Open loop.** Commands are due at a fixed rate; each is sent when due, with its index
//!   as request id, and its latency runs from its *scheduled* time to the moment the
//!   consumer dequeues its delivery. A stall delays every command behind it and shows in the
//!   percentiles: no coordinated omission. See `client.rs`.
//! - **Threads.** The engine thread is pinned to the last core. On 2 cores one client
//!   thread, pinned to the other core, sends what is due and takes what has arrived, in
//!   turn; with 3 or more, a producer thread and a consumer thread get a core each
//!   ([`LayoutChoice`]).
//! - **Closed loop.** The producer pushes whenever the input ring has room: ops/s.
//! - **Baselines, same run, same cores.** A bare rtrb ping-pong of a request-sized item
//!   between the client's core and the engine's: its round trip is the floor, because the
//!   pipeline's path crosses between the cores twice too (in to the engine, back out). And
//!   a bare relay: the runtime's two rings with a thread that only copies between them in
//!   the engine thread's place, driven by the same open loop (`paths.rs`).
//! - **Verified.** Every command delivered once, in order, at consecutive sequences; the
//!   delivered events add up to what a plain `Engine` emits for the same commands at the
//!   same sequences and timestamps, and that engine's state hash equals the pipeline's at
//!   shutdown. The closed-loop run sends the whole flow and must also reproduce the
//!   reference engine's trades, volume and book.
//! - **Rounds.** Everything runs `runs` times; each row reports the round with the median
//!   p99 (closed loop: median ops/s), with the range over the rounds. Beside each row: the
//!   engine thread's own stage histograms, its busy share, and how often the kernel
//!   preempted or blocked the engine and client threads.

mod client;
mod paths;
mod report;

use std::path::PathBuf;

use cex_engine::{Command, EngineConfig};
use cex_runtime::IdleStrategy;

pub use report::Results;

use crate::market;
use crate::runner::Latency;
use crate::workload::{Expected, Profile, Workload};
use client::{Pace, Threads};
use report::{ClosedRow, OpenRow, PingPongRow};

/// How the engine thread waits when its input ring is empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineIdle {
    /// `IdleStrategy::BusySpin`: never yields its core.
    BusySpin,
    /// The runtime's default, `IdleStrategy::Park`: spins 20,000 empty polls, then parks
    /// until a producer rings.
    Park,
}

impl EngineIdle {
    pub const NAMES: &'static str = "busy-spin, park";

    pub fn parse(name: &str) -> Result<EngineIdle, String> {
        match name {
            "busy-spin" | "busyspin" | "spin" => Ok(EngineIdle::BusySpin),
            "park" => Ok(EngineIdle::Park),
            other => Err(format!("unknown idle strategy {other:?}: use {}", Self::NAMES)),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EngineIdle::BusySpin => "busy-spin",
            EngineIdle::Park => "park",
        }
    }

    fn strategy(self) -> IdleStrategy {
        match self {
            EngineIdle::BusySpin => IdleStrategy::BusySpin,
            EngineIdle::Park => IdleStrategy::default(),
        }
    }
}

/// How the client's threads sit beside the engine thread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LayoutChoice {
    /// `shared` on 2 cores, `split` on 3 or more.
    #[default]
    Auto,
    /// One client thread sends and receives in turn, on a core of its own.
    Shared,
    /// A producer thread and a consumer thread, on cores of their own where there are
    /// enough (on 2 cores both go on the one the engine does not use).
    Split,
}

impl LayoutChoice {
    pub const NAMES: &'static str = "auto, shared, split";

    pub fn parse(name: &str) -> Result<LayoutChoice, String> {
        match name {
            "auto" => Ok(LayoutChoice::Auto),
            "shared" => Ok(LayoutChoice::Shared),
            "split" => Ok(LayoutChoice::Split),
            other => Err(format!("unknown layout {other:?}: use {}", Self::NAMES)),
        }
    }
}

pub struct PipelineBenchOptions {
    /// At most this many timed commands per run; also the length of the generated flow
    /// and of the closed-loop run.
    pub ops: u64,
    /// Open-loop rates, commands per second.
    pub rates: Vec<u64>,
    /// Length of each open-loop run (rate × seconds commands, at most `ops`); also of the
    /// ping-pong, up to 1 s.
    pub seconds: f64,
    /// Where the temporary data directories go (default: the system temp directory).
    pub dir: Option<PathBuf>,
    pub json: bool,
    pub seed: u64,
    /// The engine thread's idle strategies, each measured at every rate.
    pub idles: Vec<EngineIdle>,
    pub layout: LayoutChoice,
    /// Times everything runs, as rounds; each row reports its round with the median p99.
    pub runs: u32,
}

impl Default for PipelineBenchOptions {
    fn default() -> Self {
        PipelineBenchOptions {
            ops: 2_000_000,
            rates: vec![100_000, 1_000_000],
            seconds: 2.0,
            dir: None,
            json: false,
            seed: 42,
            idles: vec![EngineIdle::BusySpin, EngineIdle::Park],
            layout: LayoutChoice::Auto,
            runs: 3,
        }
    }
}

/// Where the threads run.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// The engine thread's core (and the relay's, and the ping-pong echo's).
    pub engine: Option<usize>,
    pub threads: Threads,
    pub text: String,
}

impl Layout {
    pub fn choose(choice: LayoutChoice) -> Layout {
        let cores: Vec<usize> =
            core_affinity::get_core_ids().map(|ids| ids.into_iter().map(|core| core.id).collect()).unwrap_or_default();
        let Some((&engine, others)) = cores.split_last().filter(|(_, others)| !others.is_empty()) else {
            return Layout {
                engine: None,
                threads: Threads::Shared { core: None },
                text: "fewer than 2 usable cores: nothing pinned, one client thread shares the core".to_string(),
            };
        };
        let split = match choice {
            LayoutChoice::Auto => others.len() >= 2,
            LayoutChoice::Shared => false,
            LayoutChoice::Split => true,
        };
        if !split {
            let core = others[0];
            return Layout {
                engine: Some(engine),
                threads: Threads::Shared { core: Some(core) },
                text: format!(
                    "engine thread on core {engine}; one client thread (producer and consumer in turn) on core {core}"
                ),
            };
        }
        let (producer, consumer) = (others[0], others.get(1).copied().unwrap_or(others[0]));
        Layout {
            engine: Some(engine),
            threads: Threads::Split { producer: Some(producer), consumer: Some(consumer) },
            text: format!(
                "engine thread on core {engine}; producer thread on core {producer}, consumer on core {consumer}"
            ),
        }
    }
}

/// Profile A as engine commands.
pub(crate) struct Flow {
    pub engine_config: EngineConfig,
    pub symbols: u32,
    /// Setup and prefill, sent before the timed phase.
    pub warmup: Vec<Command>,
    pub ops: Vec<Command>,
    /// What the reference engine made of warm-up and all ops.
    pub expected: Expected,
}

impl Flow {
    pub fn generate(ops: u64, seed: u64) -> Result<Flow, String> {
        let workload = Workload::generate(Profile::A, ops, seed);
        if workload.replays != 1 {
            return Err("profile A runs in one pass".to_string());
        }
        let mut warmup = market::setup_commands(workload.symbols, workload.accounts);
        warmup.extend(workload.prefill.iter().map(market::command));
        Ok(Flow {
            engine_config: market::engine_config(workload.symbols, workload.accounts, workload.max_live_orders, false),
            symbols: workload.symbols,
            warmup,
            ops: workload.ops.iter().map(market::command).collect(),
            expected: workload.expected,
        })
    }
}

/// Runs the benchmark and prints the report; returns false if a run did not verify.
pub fn pipeline_bench(options: &PipelineBenchOptions) -> Result<bool, String> {
    let results = measure(options)?;
    if options.json {
        for line in results.json_lines() {
            println!("{line}");
        }
    } else {
        println!("{}", results.tables());
    }
    Ok(results.verified())
}

/// Runs the benchmark, with progress on stderr unless `json`.
pub fn measure(options: &PipelineBenchOptions) -> Result<Results, String> {
    if options.rates.contains(&0) {
        return Err("rates must be positive".to_string());
    }
    if !(options.seconds > 0.0 && options.seconds.is_finite()) {
        return Err("seconds must be positive".to_string());
    }
    if options.idles.is_empty() {
        return Err("no idle strategy to measure".to_string());
    }
    let say = |line: String| {
        if !options.json {
            eprintln!("{line}");
        }
    };
    let ops = options.ops.max(1);
    let counts: Vec<(u64, u64)> =
        options.rates.iter().map(|&rate| (rate, ((rate as f64 * options.seconds) as u64).clamp(1, ops))).collect();
    let flow_len = counts.iter().map(|&(_, count)| count).max().unwrap_or(ops);
    let root = match &options.dir {
        Some(dir) => tempfile::Builder::new().prefix("cex-bench-pipeline-").tempdir_in(dir),
        None => tempfile::Builder::new().prefix("cex-bench-pipeline-").tempdir(),
    }
    .map_err(|e| format!("cannot create the data directory: {e}"))?;
    let mut layout = Layout::choose(options.layout);
    let (request_bytes, slot_bytes) = paths::item_sizes();
    layout.text += &format!("; ring items of {request_bytes} B in, {slot_bytes} B out");
    say(format!(
        "machine: {} cores; {}; journal in mmap mode under {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        layout.text,
        root.path().display()
    ));
    say(format!("reading the clock costs {:.1} ns; every latency includes one read", paths::clock_read_ns()));
    say(format!("generating profile A with {flow_len} ops through the reference engine"));
    let flow = Flow::generate(flow_len, options.seed)?;

    // Each round runs everything, so a disturbance of the shared machine lands in one
    // round rather than in one path; each row reports its round with the median p99.
    let runs = options.runs.max(1);
    let mut pings = Vec::new();
    let mut open: Vec<Vec<OpenRow>> = Vec::new();
    let mut closed: Vec<Vec<ClosedRow>> = vec![Vec::new(), Vec::new()];
    let mut run_index = 0;
    let mut next_dir = || {
        run_index += 1;
        root.path().join(format!("run-{run_index}"))
    };
    for round in 1..=runs {
        say(format!("round {round}/{runs}: bare rtrb ping-pong"));
        let (rounds, round_trip) = paths::ping_pong(&layout, options.seconds.min(1.0), ops);
        pings.push(PingPongRow { rounds, round_trip: Latency::of(&round_trip) });
        // At each rate the paths take turns at going first: on this VM the first run after
        // a pause was often the slowest (see docs/BENCHMARKS.md).
        let paths_per_rate = options.idles.len() + 1;
        for (rate_index, &(rate, count)) in counts.iter().enumerate() {
            for turn in 0..paths_per_rate {
                let path = (turn + round as usize - 1) % paths_per_rate;
                let row = match options.idles.get(path) {
                    Some(&idle) => {
                        say(format!(
                            "round {round}/{runs}: open loop at {rate}/s, {count} commands: pipeline, engine {}",
                            idle.name()
                        ));
                        let dir = next_dir();
                        let run = paths::pipeline(&flow, count, Pace::Open { rate }, idle.strategy(), &layout, &dir)?;
                        remove_dir(&dir)?;
                        OpenRow::pipeline(idle, rate, run)
                    }
                    None => {
                        say(format!("round {round}/{runs}: open loop at {rate}/s, {count} commands: bare relay"));
                        OpenRow::relay(rate, paths::relay(&flow, count, Pace::Open { rate }, &layout)?)
                    }
                };
                let slot = rate_index * paths_per_rate + path;
                if open.len() <= slot {
                    open.resize_with(slot + 1, Vec::new);
                }
                open[slot].push(row);
            }
        }
        let count = flow.ops.len() as u64;
        say(format!("round {round}/{runs}: closed loop, {count} commands: pipeline, engine busy-spin"));
        let dir = next_dir();
        let run = paths::pipeline(&flow, count, Pace::Closed, IdleStrategy::BusySpin, &layout, &dir)?;
        remove_dir(&dir)?;
        closed[0].push(ClosedRow {
            path: PIPELINE,
            idle: EngineIdle::BusySpin.name(),
            commands: run.client.received,
            ops_per_sec: run.client.achieved_per_sec(),
            ops_range: (0.0, 0.0),
            engine_busy: Some(run.engine_busy),
            verdict: run.verdict,
        });
        say(format!("round {round}/{runs}: closed loop, {count} commands: bare relay"));
        let run = paths::relay(&flow, count, Pace::Closed, &layout)?;
        closed[1].push(ClosedRow {
            path: RELAY,
            idle: EngineIdle::BusySpin.name(),
            commands: run.client.received,
            ops_per_sec: run.client.achieved_per_sec(),
            ops_range: (0.0, 0.0),
            engine_busy: None,
            verdict: run.verdict,
        });
    }
    Ok(Results {
        runs,
        layout: layout.text,
        ping_pong: median_by(pings, |row| row.round_trip.p50_ns as f64),
        open: open.into_iter().filter_map(OpenRow::median).collect(),
        closed: closed.into_iter().filter_map(ClosedRow::median).collect(),
    })
}

const PIPELINE: &str = "pipeline (mmap)";
const RELAY: &str = "bare rtrb relay";

/// The row at the median of `key` (the lower one of an even count).
fn median_by<T>(mut rows: Vec<T>, key: impl Fn(&T) -> f64) -> Option<T> {
    rows.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let middle = rows.len().checked_sub(1)? / 2;
    rows.into_iter().nth(middle)
}

impl OpenRow {
    fn pipeline(idle: EngineIdle, rate: u64, run: paths::PipelineRun) -> OpenRow {
        let latency = Latency::of(&run.client.latency);
        OpenRow {
            path: PIPELINE,
            idle: idle.name(),
            rate,
            commands: run.client.received,
            achieved_per_sec: run.client.achieved_per_sec(),
            latency,
            p99_range: (latency.p99_ns, latency.p99_ns),
            send: Latency::of(&run.client.send_lag),
            busy: run.client.busy,
            journal_reads: Some(run.journal_reads),
            stages: Some(run.stages),
            engine_busy: Some(run.engine_busy),
            engine_usage: run.engine_usage,
            client_usage: run.client.usage,
            verdict: run.verdict,
        }
    }

    fn relay(rate: u64, run: paths::RelayRun) -> OpenRow {
        let latency = Latency::of(&run.client.latency);
        OpenRow {
            path: RELAY,
            idle: EngineIdle::BusySpin.name(),
            rate,
            commands: run.client.received,
            achieved_per_sec: run.client.achieved_per_sec(),
            latency,
            p99_range: (latency.p99_ns, latency.p99_ns),
            send: Latency::of(&run.client.send_lag),
            busy: run.client.busy,
            journal_reads: None,
            stages: None,
            engine_busy: None,
            engine_usage: None,
            client_usage: run.client.usage,
            verdict: run.verdict,
        }
    }

    /// The round with the median p99, with the p99 range over all rounds; not verified if
    /// any round was not.
    fn median(rounds: Vec<OpenRow>) -> Option<OpenRow> {
        let low = rounds.iter().map(|row| row.latency.p99_ns).min()?;
        let high = rounds.iter().map(|row| row.latency.p99_ns).max()?;
        let failed = rounds.iter().find_map(|row| row.verdict.clone().err());
        let mut row = median_by(rounds, |row| row.latency.p99_ns as f64)?;
        row.p99_range = (low, high);
        if let Some(why) = failed {
            row.verdict = Err(why);
        }
        Some(row)
    }
}

impl ClosedRow {
    /// The round with the median throughput, with the range over all rounds.
    fn median(rounds: Vec<ClosedRow>) -> Option<ClosedRow> {
        let low = rounds.iter().map(|row| row.ops_per_sec).min_by(f64::total_cmp)?;
        let high = rounds.iter().map(|row| row.ops_per_sec).max_by(f64::total_cmp)?;
        let failed = rounds.iter().find_map(|row| row.verdict.clone().err());
        let mut row = median_by(rounds, |row| row.ops_per_sec)?;
        row.ops_range = (low, high);
        if let Some(why) = failed {
            row.verdict = Err(why);
        }
        Some(row)
    }
}

fn remove_dir(dir: &std::path::Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {error}", dir.display()))
        }
        _ => Ok(()),
    }
}
