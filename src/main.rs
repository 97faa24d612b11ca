//! `cex`: the exchange's single binary.

mod admin;
mod config_cmd;
mod keys;
mod replay;
mod run;
mod trade;
mod tune;

use std::path::PathBuf;
use std::process::ExitCode;

use cex_bench::cli::{engine_bench, memory_probe, EngineBenchOptions, EngineSelection};
use cex_bench::fanout::{fanout_bench, fanout_load, FanoutBenchOptions};
use cex_bench::gateway::{gateway_bench, gateway_load, GatewayBenchOptions};
use cex_bench::journal::{journal_bench, JournalBenchOptions, Sections};
use cex_bench::pipeline::{pipeline_bench, EngineIdle, LayoutChoice, PipelineBenchOptions};
use cex_bench::rest::{rest_bench, rest_load, RestBenchOptions};
use cex_bench::workload::Profile;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cex", version, about = "A centralized crypto exchange with a microsecond trading core")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run the exchange: recover the engine from its journal, start the pinned pipeline and
    /// the ops endpoint (metrics, health); stop gracefully on SIGINT or SIGTERM.
    Run(run::RunArgs),
    /// Validate a configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Staff bootstrap tasks against the node's store.
    Admin {
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// An institutional client's API keys, against the node's store: create (the secret is
    /// shown once), list, revoke.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Log on to the binary gateway with an API key, send an order, cancel, amend or
    /// retransmit request, and print the reports.
    Trade(trade::TradeArgs),
    /// Check this host for a low-latency deployment.
    Tune {
        #[command(subcommand)]
        command: TuneCommand,
    },
    /// Reproducible benchmarks.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
    /// Inspect a durable engine's data directory (journals and snapshots), read-only.
    Replay {
        #[command(subcommand)]
        command: replay::ReplayCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Parse and validate FILE; print every error with its line and key.
    Check { file: PathBuf },
}

#[derive(Subcommand)]
enum TuneCommand {
    /// Report, item by item, whether the host is ready, and the fix if not.
    Check(tune::TuneCheckArgs),
}

#[derive(Subcommand)]
enum BenchTarget {
    /// The matching engine against the reference model and peer order-book crates.
    Engine(EngineArgs),
    /// The journal: its cost on engine throughput, durable-ack latency, replay and recovery
    /// speed, and an io_uring writer measured against the memory-mapped one.
    Journal(JournalArgs),
    /// The runtime: producer ring to engine thread to consumer ring with the mmap journal,
    /// open loop at fixed rates and closed loop, against a bare rtrb ping-pong and relay.
    Pipeline(PipelineArgs),
    /// The binary gateway wire to wire on loopback: a load client in a second process sends
    /// NewOrderSingle and CancelOrder over N sessions at fixed rates, against a raw TCP echo.
    Gateway(GatewayArgs),
    /// Internal: the load client of `bench gateway`, in its own process.
    #[command(hide = true)]
    GatewayLoad {
        #[arg(long)]
        gateway: std::net::SocketAddr,
        #[arg(long)]
        echo: std::net::SocketAddr,
        #[arg(long)]
        keys: PathBuf,
        #[arg(long, value_delimiter = ',')]
        rates: Vec<u64>,
        #[arg(long)]
        seconds: f64,
        #[arg(long)]
        runs: u32,
        #[arg(long)]
        core: Option<usize>,
    },
    /// REST order placement against the node `cex run` starts (rate limits off): a load
    /// client in a second process, C keep-alive connections, against GET /api/v1/ping on the
    /// same server in the same run.
    Rest(RestArgs),
    /// Internal: the load client of `bench rest`, in its own process.
    #[command(hide = true)]
    RestLoad {
        #[arg(long)]
        rest: std::net::SocketAddr,
        #[arg(long)]
        traders: PathBuf,
        #[arg(long)]
        connections: usize,
        #[arg(long)]
        seconds: f64,
        #[arg(long)]
        runs: u32,
    },
    /// WebSocket fan-out: pushes delivered to N subscribers of BTC-USDT depth diffs and
    /// trades while orders trade over REST, against what the server had to publish.
    WsFanout(FanoutArgs),
    /// Internal: the subscribers and order flow of `bench ws-fanout`, in their own process.
    #[command(hide = true)]
    WsFanoutLoad {
        #[arg(long)]
        rest: std::net::SocketAddr,
        #[arg(long)]
        traders: PathBuf,
        #[arg(long)]
        subscribers: usize,
        #[arg(long, value_delimiter = ',')]
        rates: Vec<u64>,
        #[arg(long)]
        seconds: f64,
    },
    /// Internal: builds one engine's book from an op file in this fresh process and prints
    /// the resident bytes per resting order (`bench engine` runs it per engine).
    #[command(hide = true)]
    Memory {
        #[arg(long)]
        workload: PathBuf,
        #[arg(long)]
        engine_index: usize,
        #[arg(long)]
        no_reference: bool,
        #[arg(long)]
        no_peers: bool,
    },
}

#[derive(Args)]
struct EngineArgs {
    /// A: exchange-core single pair; B: QuantCup feed; C: deep book; D: 10,000 symbols.
    #[arg(long, value_parser = parse_profile)]
    profile: Profile,
    /// Timed operations (default 1,000,000).
    #[arg(long)]
    ops: Option<u64>,
    /// One JSON object per engine and profile, instead of tables.
    #[arg(long)]
    json: bool,
    /// Open-loop rates in ops/s, comma-separated; 0 skips the latency runs.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000,5000000")]
    rates: Vec<u64>,
    /// Run the workload in this op file instead of generating one.
    #[arg(long)]
    workload: Option<PathBuf>,
    /// Save the generated workload as an op file.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Seed of the generated workload.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Skip the naive reference engine.
    #[arg(long)]
    no_reference: bool,
    /// Skip the peer order-book crates.
    #[arg(long)]
    no_peers: bool,
}

#[derive(Args)]
struct JournalArgs {
    /// Profile A's timed operations for the cost, writer and ack runs.
    #[arg(long, default_value_t = 1_000_000)]
    ops: u64,
    /// Seed of the generated workloads.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Open-loop rates for the durable-ack latency, commands/s, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,500000")]
    rates: Vec<u64>,
    /// Seconds of each open-loop run (the engine's run is capped at --ops commands).
    #[arg(long, default_value_t = 2.0)]
    ack_seconds: f64,
    /// Rounds of the raw 4 KiB write + fdatasync probe.
    #[arg(long, default_value_t = 10_000)]
    fsync_samples: u64,
    /// Times the ack section repeats (raw probe and every path at every rate); the round
    /// with the median p99 is reported, with the range over rounds.
    #[arg(long, default_value_t = 3)]
    ack_runs: u32,
    /// Commands in the replay and recovery journal, setup and prefill included; 0 skips it.
    #[arg(long, default_value_t = 10_000_000)]
    recovery_commands: u64,
    /// Closed-loop passes per variant; the median is reported.
    #[arg(long, default_value_t = 5)]
    passes: u32,
    /// Put the temporary data directories here (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Sections to run, comma-separated: cost, writers, ack, replay (default: all).
    #[arg(long, value_delimiter = ',')]
    sections: Vec<String>,
    /// One JSON object per row, instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct PipelineArgs {
    /// At most this many timed commands per run; also the generated flow and the closed loop.
    #[arg(long, default_value_t = 2_000_000)]
    ops: u64,
    /// Open-loop rates in commands/s, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000")]
    rates: Vec<u64>,
    /// Seconds of each open-loop run (at most --ops commands); also of the ping-pong, up to 1 s.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// The engine thread's idle strategies, comma-separated: busy-spin, park.
    #[arg(long, value_delimiter = ',', default_value = "busy-spin,park", value_parser = EngineIdle::parse)]
    idle: Vec<EngineIdle>,
    /// Client threads: auto, shared (one thread sends and receives) or split (producer and
    /// consumer threads).
    #[arg(long, default_value = "auto", value_parser = LayoutChoice::parse)]
    layout: LayoutChoice,
    /// Times everything repeats, as rounds; each row reports the round with the median p99.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Put the temporary data directories here (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the generated flow.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// One JSON object per row, instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct GatewayArgs {
    /// Rates in messages/s over all sessions, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,500000")]
    rates: Vec<u64>,
    /// Seconds of each run.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Sessions (and accounts); the rate is shared among them.
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    /// Times each rate runs per target; rows report the round with the median p99.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// The gateway shard's idle strategy: sleep (the default, as in cex.toml) or spin.
    #[arg(long, default_value = "sleep", value_parser = parse_shard_idle)]
    shard_idle: cex_gateway::ShardIdle,
    /// Put the temporary data directory here (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// One JSON object per row, instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct RestArgs {
    /// Seconds of each run.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Keep-alive connections of the load client, each with one request outstanding.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Traders placing the orders (connection i uses trader i mod N).
    #[arg(long, default_value_t = 8)]
    traders: usize,
    /// Rounds of ping then orders; rows report the round with the median requests/s.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// The node's journal durability: none, mmap (cex.toml's default) or fsync.
    #[arg(long, default_value = "mmap", value_parser = parse_durability)]
    durability: cex_journal::Durability,
    /// Put the temporary data directory here (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// One JSON object per row, instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct FanoutArgs {
    /// WebSocket subscribers, one socket each, half on depth diffs and half on trades.
    #[arg(long, default_value_t = 1_000)]
    subscribers: usize,
    /// Order flow rates in trades/s (two orders each), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,500")]
    rates: Vec<u64>,
    /// Seconds of order flow at each rate.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// The node's journal durability: none, mmap (cex.toml's default) or fsync.
    #[arg(long, default_value = "mmap", value_parser = parse_durability)]
    durability: cex_journal::Durability,
    /// Put the temporary data directory here (default: the system temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// One JSON object per rate, instead of a table.
    #[arg(long)]
    json: bool,
}

fn parse_durability(text: &str) -> Result<cex_journal::Durability, String> {
    use cex_journal::Durability;
    let all = [Durability::None, Durability::Mmap, Durability::Fsync];
    all.into_iter()
        .find(|durability| cex_config::durability_name(*durability) == text)
        .ok_or_else(|| format!("unknown durability {text:?}: use none, mmap or fsync"))
}

fn parse_shard_idle(text: &str) -> Result<cex_gateway::ShardIdle, String> {
    match text {
        "spin" => Ok(cex_gateway::ShardIdle::Spin),
        "sleep" => Ok(cex_gateway::ShardIdle::default()),
        other => Err(format!("unknown shard idle strategy {other:?}: use spin or sleep")),
    }
}

fn parse_profile(text: &str) -> Result<Profile, String> {
    Profile::parse(text).ok_or_else(|| format!("unknown profile {text:?}: use A, B, C or D"))
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Commands::Run(args) => run::run(&args),
        Commands::Config { command: ConfigCommand::Check { file } } => config_cmd::check(&file),
        Commands::Tune { command: TuneCommand::Check(args) } => tune::check(&args),
        Commands::Admin { command } => admin::run(&command),
        Commands::Keys { command } => keys::run(&command),
        Commands::Trade(args) => trade::run(&args),
        Commands::Bench { target: BenchTarget::Engine(args) } => run_engine_bench(args),
        Commands::Bench { target: BenchTarget::Journal(args) } => run_journal_bench(args),
        Commands::Bench { target: BenchTarget::Pipeline(args) } => run_pipeline_bench(args),
        Commands::Bench { target: BenchTarget::Gateway(args) } => run_gateway_bench(args),
        Commands::Bench { target: BenchTarget::GatewayLoad { gateway, echo, keys, rates, seconds, runs, core } } => {
            match gateway_load(gateway, echo, &keys, &rates, seconds, runs, core) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("cex bench gateway-load: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Commands::Bench { target: BenchTarget::Rest(args) } => run_rest_bench(args),
        Commands::Bench { target: BenchTarget::RestLoad { rest, traders, connections, seconds, runs } } => {
            load_exit("rest-load", rest_load(rest, &traders, connections.max(1), seconds, runs))
        }
        Commands::Bench { target: BenchTarget::WsFanout(args) } => run_fanout_bench(args),
        Commands::Bench { target: BenchTarget::WsFanoutLoad { rest, traders, subscribers, rates, seconds } } => {
            load_exit("ws-fanout-load", fanout_load(rest, &traders, subscribers, &rates, seconds))
        }
        Commands::Replay { command } => replay::run(command),
        Commands::Bench { target: BenchTarget::Memory { workload, engine_index, no_reference, no_peers } } => {
            let engines = EngineSelection { with_reference: !no_reference, with_peers: !no_peers };
            match memory_probe(&workload, engine_index, engines) {
                Ok(bytes) => {
                    println!("{bytes:.1}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("cex bench memory: {error}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

fn run_engine_bench(args: EngineArgs) -> ExitCode {
    let options = EngineBenchOptions {
        profile: args.profile,
        ops: args.ops,
        json: args.json,
        rates: args.rates.into_iter().filter(|rate| *rate > 0).collect(),
        workload: args.workload,
        save: args.save,
        seed: args.seed,
        engines: EngineSelection { with_reference: !args.no_reference, with_peers: !args.no_peers },
    };
    bench_exit(
        "cex bench",
        "an engine did not reproduce the expected results (see the verified column)",
        engine_bench(&options),
    )
}

fn run_journal_bench(args: JournalArgs) -> ExitCode {
    let sections = match Sections::parse(&args.sections) {
        Ok(sections) => sections,
        Err(error) => {
            eprintln!("cex bench journal: {error}");
            return ExitCode::from(2);
        }
    };
    let options = JournalBenchOptions {
        ops: args.ops.max(1),
        seed: args.seed,
        rates: args.rates.into_iter().filter(|rate| *rate > 0).collect(),
        ack_seconds: args.ack_seconds,
        fsync_samples: args.fsync_samples.max(1),
        ack_runs: args.ack_runs.max(1),
        recovery_commands: args.recovery_commands,
        passes: args.passes.max(1),
        dir: args.dir,
        json: args.json,
        sections,
    };
    bench_exit(
        "cex bench journal",
        "a run did not reproduce the expected results (see the verified column)",
        journal_bench(&options),
    )
}

fn run_gateway_bench(args: GatewayArgs) -> ExitCode {
    let options = GatewayBenchOptions {
        rates: args.rates.into_iter().filter(|rate| *rate > 0).collect(),
        seconds: args.seconds,
        sessions: args.sessions.max(1),
        runs: args.runs.max(1),
        shard_idle: args.shard_idle,
        dir: args.dir,
        json: args.json,
    };
    bench_exit(
        "cex bench gateway",
        "a gateway run lost or refused messages (see the lost and refused columns)",
        gateway_bench(&options),
    )
}

fn run_pipeline_bench(args: PipelineArgs) -> ExitCode {
    let options = PipelineBenchOptions {
        ops: args.ops.max(1),
        rates: args.rates.into_iter().filter(|rate| *rate > 0).collect(),
        seconds: args.seconds,
        dir: args.dir,
        json: args.json,
        seed: args.seed,
        idles: args.idle,
        layout: args.layout,
        runs: args.runs.max(1),
    };
    bench_exit("cex bench pipeline", "a run did not verify (see the verified column)", pipeline_bench(&options))
}

/// A benchmark's exit: 0 when every run verified, 1 with `failure` when one did not, 2 when
/// the benchmark could not run.
fn bench_exit<E: std::fmt::Display>(label: &str, failure: &str, result: Result<bool, E>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("{label}: {failure}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("{label}: {error}");
            ExitCode::from(2)
        }
    }
}

fn load_exit(name: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cex bench {name}: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run_rest_bench(args: RestArgs) -> ExitCode {
    let options = RestBenchOptions {
        seconds: args.seconds,
        connections: args.connections.max(1),
        traders: args.traders.max(1),
        runs: args.runs.max(1),
        durability: args.durability,
        dir: args.dir,
        json: args.json,
    };
    bench_exit("cex bench rest", "requests failed (see the errors column)", rest_bench(&options))
}

fn run_fanout_bench(args: FanoutArgs) -> ExitCode {
    let options = FanoutBenchOptions {
        subscribers: args.subscribers.max(1),
        rates: args.rates.into_iter().filter(|rate| *rate > 0).collect(),
        seconds: args.seconds,
        durability: args.durability,
        dir: args.dir,
        json: args.json,
    };
    bench_exit(
        "cex bench ws-fanout",
        "pushes were missed or subscribers closed (see the table)",
        fanout_bench(&options),
    )
}
