//! `cex bench gateway`: wire-to-wire latency and throughput of the binary gateway on
//! loopback, against a raw TCP echo measured by the same client in the same run.
//!
//! - **Server** (this process): a runtime with the mmap journal, the engine thread pinned to
//!   the last core, behind the gateway with one shard pinned to the core before it; one
//!   funded account per session; logons checked against the bench's own keys
//!   (`server.rs`). A raw TCP echo server runs on an executor placed like the shard.
//! - **Load client** (a second process, `cex bench gateway-load`): N connections, open loop
//!   at each rate, NewOrderSingle then CancelOrder in turn, latency from each message's
//!   scheduled time to its ExecutionReport, or to its own bytes coming back from the echo
//!   (`load.rs`). It is pinned to core 0 when there are 3 cores or more; on 2 it shares
//!   core 0 with the shard, which the report says.
//! - **Verified**: every message answered, in order, and none refused.
//! - **Rounds**: every rate runs `runs` times for each target; a row reports the round with
//!   the median p99, and the range of p99 over the rounds.

mod load;
mod server;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use cex_gateway::ShardIdle;
use serde_json::{json, Value};

use crate::runner::Latency;
pub use load::Target;
use load::{Connection, RunResult};
use server::{BenchKey, Exchange};

pub struct GatewayBenchOptions {
    /// Messages per second, over all sessions.
    pub rates: Vec<u64>,
    pub seconds: f64,
    pub sessions: usize,
    pub runs: u32,
    pub shard_idle: ShardIdle,
    pub dir: Option<PathBuf>,
    pub json: bool,
}

impl Default for GatewayBenchOptions {
    fn default() -> Self {
        GatewayBenchOptions {
            rates: vec![10_000, 100_000, 500_000],
            seconds: 2.0,
            sessions: 4,
            runs: 3,
            shard_idle: ShardIdle::default(),
            dir: None,
            json: false,
        }
    }
}

/// Where everything runs.
struct Layout {
    engine: Option<usize>,
    shard: Option<usize>,
    client: Option<usize>,
    text: String,
}

impl Layout {
    fn choose() -> Layout {
        let cores: Vec<usize> =
            core_affinity::get_core_ids().map(|ids| ids.into_iter().map(|core| core.id).collect()).unwrap_or_default();
        match cores.as_slice() {
            [] | [_] => Layout {
                engine: None,
                shard: None,
                client: None,
                text: "fewer than 2 usable cores: nothing pinned".into(),
            },
            // The engine keeps a core to itself; the shard and the client take turns on the other.
            [shard, engine] => Layout {
                engine: Some(*engine),
                shard: Some(*shard),
                client: Some(*shard),
                text: format!(
                    "engine thread on core {engine}; gateway shard, echo and load client share core {shard} (2 cores)"
                ),
            },
            [client, .., shard, engine] => Layout {
                engine: Some(*engine),
                shard: Some(*shard),
                client: Some(*client),
                text: format!(
                    "engine thread on core {engine}, gateway shard and echo on core {shard}, load client on core {client}"
                ),
            },
        }
    }
}

/// Runs the benchmark; `Ok(false)` when a gateway run lost or refused messages.
pub fn gateway_bench(options: &GatewayBenchOptions) -> Result<bool, String> {
    let layout = Layout::choose();
    let dir = match &options.dir {
        Some(dir) => tempfile::tempdir_in(dir),
        None => tempfile::tempdir(),
    }
    .map_err(|e| e.to_string())?;
    let keys = bench_keys(options.sessions.max(1));
    let exchange =
        Exchange::start(&dir.path().join("journal"), &keys, layout.engine, layout.shard, options.shard_idle)?;
    let echo = server::start_echo(layout.shard)?;
    let keys_file = dir.path().join("keys");
    write_keys(&keys_file, &keys)?;
    let results = run_load_process(options, &layout, exchange.gateway.address(), echo, &keys_file);
    let exit = exchange.stop()?;
    let results = results?;
    let rows = median_rows(&results);
    if options.json {
        for row in &rows {
            println!("{}", row.json());
        }
    } else {
        print_table(options, &layout, &rows, exit.last_seq);
    }
    Ok(rows.iter().all(|row| row.verified()))
}

/// Keys for the sessions: account i logs on with key i. The secrets only live for the run.
fn bench_keys(sessions: usize) -> Vec<BenchKey> {
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (0..sessions)
        .map(|i| BenchKey {
            api_key: format!("bench-{i}"),
            secret: format!("{:032x}", seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i as u128)),
            account: i as u32,
        })
        .collect()
}

fn write_keys(path: &Path, keys: &[BenchKey]) -> Result<(), String> {
    let text: String = keys.iter().map(|key| format!("{} {} {}\n", key.api_key, key.secret, key.account)).collect();
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

fn read_keys(path: &Path) -> Result<Vec<BenchKey>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .map(|line| match line.split(' ').collect::<Vec<_>>()[..] {
            [api_key, secret, account] => Ok(BenchKey {
                api_key: api_key.to_string(),
                secret: secret.to_string(),
                account: account.parse().map_err(|_| format!("bad account in {line:?}"))?,
            }),
            _ => Err(format!("bad key line {line:?}")),
        })
        .collect()
}

/// Runs the load client in a second process and collects its rows.
fn run_load_process(
    options: &GatewayBenchOptions,
    layout: &Layout,
    gateway: SocketAddr,
    echo: SocketAddr,
    keys: &Path,
) -> Result<Vec<RunRow>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let rates: Vec<String> = options.rates.iter().map(u64::to_string).collect();
    let mut process = Process::new(exe);
    process.args(["bench", "gateway-load", "--gateway", &gateway.to_string(), "--echo", &echo.to_string()]);
    process.args(["--rates", &rates.join(","), "--seconds", &options.seconds.to_string()]);
    process.args(["--runs", &options.runs.to_string(), "--keys"]).arg(keys);
    if let Some(core) = layout.client {
        process.args(["--core", &core.to_string()]);
    }
    let output = process.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot start the load client: {e}"))?;
    if !output.status.success() {
        return Err(format!("the load client failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().map(|line| RunRow::parse(line).ok_or_else(|| format!("bad load client line {line:?}"))).collect()
}

/// `cex bench gateway-load`: the load client's side. Prints one JSON line per run.
pub fn gateway_load(
    gateway: SocketAddr,
    echo: SocketAddr,
    keys: &Path,
    rates: &[u64],
    seconds: f64,
    runs: u32,
    core: Option<usize>,
) -> Result<(), String> {
    if let Some(core) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id: core });
    }
    load::tight_timer_slack();
    let keys = read_keys(keys)?;
    let io = |e: std::io::Error| e.to_string();
    let mut echo_connections: Vec<Connection> =
        keys.iter().map(|_| Connection::open(echo, None)).collect::<Result<_, _>>().map_err(io)?;
    let mut sessions: Vec<Connection> =
        keys.iter().map(|key| Connection::open(gateway, Some(key))).collect::<Result<_, _>>().map_err(io)?;
    let mut stdout = std::io::stdout().lock();
    for _ in 0..runs.max(1) {
        for &rate in rates {
            for (target, connections) in [(Target::Echo, &mut echo_connections), (Target::Gateway, &mut sessions)] {
                let result = load::run(target, connections, rate, seconds).map_err(io)?;
                writeln!(stdout, "{}", RunRow::of(&result).json()).map_err(io)?;
            }
        }
    }
    Ok(())
}

/// One run, as the load client reports it.
#[derive(Debug, Clone)]
struct RunRow {
    target: String,
    rate: u64,
    sent: u64,
    answered: u64,
    rejected: u64,
    seconds: f64,
    latency: Latency,
    /// Over the rounds of this rate and target: the lowest and highest p99.
    p99_range: (u64, u64),
}

impl RunRow {
    fn of(result: &RunResult) -> RunRow {
        let latency = Latency::of(&result.histogram);
        RunRow {
            target: result.target.name().to_string(),
            rate: result.rate,
            sent: result.sent,
            answered: result.answered,
            rejected: result.rejected,
            seconds: result.seconds,
            latency,
            p99_range: (latency.p99_ns, latency.p99_ns),
        }
    }

    fn verified(&self) -> bool {
        self.target != Target::Gateway.name() || (self.answered == self.sent && self.rejected == 0)
    }

    fn achieved(&self) -> f64 {
        self.answered as f64 / self.seconds.max(1e-9)
    }

    fn json(&self) -> Value {
        let l = &self.latency;
        json!({
            "bench": "gateway", "target": self.target, "rate": self.rate, "sent": self.sent,
            "answered": self.answered, "rejected": self.rejected, "lost": self.sent - self.answered.min(self.sent),
            "seconds": self.seconds, "achieved_per_sec": self.achieved(),
            "p50_ns": l.p50_ns, "p90_ns": l.p90_ns, "p99_ns": l.p99_ns, "p999_ns": l.p999_ns,
            "p9999_ns": l.p9999_ns, "max_ns": l.max_ns, "p99_min_ns": self.p99_range.0, "p99_max_ns": self.p99_range.1,
        })
    }

    fn parse(line: &str) -> Option<RunRow> {
        let value: Value = serde_json::from_str(line).ok()?;
        let number = |key: &str| value[key].as_u64();
        Some(RunRow {
            target: value["target"].as_str()?.to_string(),
            rate: number("rate")?,
            sent: number("sent")?,
            answered: number("answered")?,
            rejected: number("rejected")?,
            seconds: value["seconds"].as_f64()?,
            latency: Latency {
                p50_ns: number("p50_ns")?,
                p90_ns: number("p90_ns")?,
                p99_ns: number("p99_ns")?,
                p999_ns: number("p999_ns")?,
                p9999_ns: number("p9999_ns")?,
                max_ns: number("max_ns")?,
            },
            p99_range: (number("p99_min_ns")?, number("p99_max_ns")?),
        })
    }
}

/// Per (rate, target): the round with the median p99, carrying the range over the rounds.
/// A run that lost or refused messages is kept over a clean one, so the verdict stays honest.
fn median_rows(rows: &[RunRow]) -> Vec<RunRow> {
    let mut groups: BTreeMap<(u64, String), Vec<&RunRow>> = BTreeMap::new();
    for row in rows {
        groups.entry((row.rate, row.target.clone())).or_default().push(row);
    }
    groups
        .into_values()
        .map(|mut group| {
            group.sort_by_key(|row| row.latency.p99_ns);
            let low = group.first().map_or(0, |row| row.latency.p99_ns);
            let high = group.last().map_or(0, |row| row.latency.p99_ns);
            let chosen = group.iter().find(|row| !row.verified()).unwrap_or(&group[group.len() / 2]);
            RunRow { p99_range: (low, high), ..(*chosen).clone() }
        })
        .collect()
}

fn print_table(options: &GatewayBenchOptions, layout: &Layout, rows: &[RunRow], last_seq: u64) {
    println!("# cex bench gateway: wire to wire on loopback");
    println!(
        "{} sessions, NewOrderSingle and CancelOrder in turn, {:.1} s per run, {} rounds (median p99 shown), shard idle {:?}",
        options.sessions, options.seconds, options.runs, options.shard_idle
    );
    println!("{}; mmap journal; {last_seq} journal sequences in all", layout.text);
    println!();
    println!(
        "| rate/s | path | achieved/s | p50 µs | p99 µs | p99.9 µs | max µs | p99 range µs | lost | refused | p50 vs echo |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let micros = |ns: u64| format!("{:.1}", ns as f64 / 1_000.0);
    for row in rows {
        let echo = rows.iter().find(|other| other.rate == row.rate && other.target == Target::Echo.name());
        let ratio = match echo {
            Some(echo) if row.target == Target::Gateway.name() && echo.latency.p50_ns > 0 => {
                format!("{:.2}×", row.latency.p50_ns as f64 / echo.latency.p50_ns as f64)
            }
            _ => "1.00×".into(),
        };
        let l = &row.latency;
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {}–{} | {} | {} | {} |",
            row.rate,
            row.target,
            row.achieved(),
            micros(l.p50_ns),
            micros(l.p99_ns),
            micros(l.p999_ns),
            micros(l.max_ns),
            micros(row.p99_range.0),
            micros(row.p99_range.1),
            row.sent - row.answered.min(row.sent),
            row.rejected,
            ratio
        );
    }
}
