//! `cex bench ws-fanout`: market-data pushes delivered to many WebSocket subscribers of one
//! symbol's depth diffs and trades, while a steady order flow trades on it.
//!
//! - **Server** (this process): a [`BenchNode`] (the node `cex run` starts; rate limits off)
//!   with two funded traders.
//! - **Subscribers and flow** (a second process, `cex bench ws-fanout-load`, one tokio
//!   thread): S sockets, half depth and half trades, then at each rate a run of order
//!   pairs over REST that each rest and trade (`load.rs`).
//! - **Reported** per rate: pushes delivered per second in all and per subscriber, the
//!   delivered/expected ratio (expected: every accepted order's diff to each depth
//!   subscriber and every trade to each trades subscriber), latency from the causing order's
//!   send to receipt, slow-consumer closes (1008), other closes, and gaps in diff ids.

mod load;

use std::cell::RefCell;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::rc::Rc;

use cex_journal::Durability;
use serde_json::{json, Value};

use crate::node::{read_traders, write_traders, BenchNode};
use crate::runner::Latency;
use load::{Stream, Tally};

pub struct FanoutBenchOptions {
    pub subscribers: usize,
    /// Order pairs (one trade each) per second.
    pub rates: Vec<u64>,
    pub seconds: f64,
    pub durability: Durability,
    pub dir: Option<PathBuf>,
    pub json: bool,
}

impl Default for FanoutBenchOptions {
    fn default() -> Self {
        FanoutBenchOptions {
            subscribers: 1_000,
            rates: vec![100, 500],
            seconds: 5.0,
            durability: Durability::Mmap,
            dir: None,
            json: false,
        }
    }
}

/// Runs the benchmark; `Ok(false)` when a subscriber missed a push or was closed.
pub fn fanout_bench(options: &FanoutBenchOptions) -> Result<bool, String> {
    raise_open_files_limit();
    let node = BenchNode::start(options.durability, options.dir.as_deref())?;
    let traders = node.traders(2, &[("USDT", "10000000"), ("BTC", "1000")]);
    let rows = traders.and_then(|traders| {
        let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        write_traders(file.path(), &traders)?;
        run_load_process(options, node.rest_address(), file.path())
    });
    let durability = cex_config::durability_name(node.config().journal.durability);
    node.stop()?;
    let rows = rows?;
    if options.json {
        for row in &rows {
            println!("{row}");
        }
    } else {
        print_table(options, durability, &rows);
    }
    Ok(rows.iter().all(complete))
}

/// Every push delivered, nobody closed, no gap.
fn complete(row: &Value) -> bool {
    row["delivered"] == row["expected"]
        && row["slow_closes"] == 0
        && row["other_closes"] == 0
        && row["gaps"] == 0
        && row["unmatched"] == 0
}

fn run_load_process(options: &FanoutBenchOptions, rest: SocketAddr, traders: &Path) -> Result<Vec<Value>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let rates: Vec<String> = options.rates.iter().map(u64::to_string).collect();
    let mut process = Process::new(exe);
    process.args(["bench", "ws-fanout-load", "--rest", &rest.to_string(), "--traders"]).arg(traders);
    process.args(["--subscribers", &options.subscribers.to_string(), "--seconds", &options.seconds.to_string()]);
    process.args(["--rates", &rates.join(",")]);
    let output = process.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot start the load client: {e}"))?;
    if !output.status.success() {
        return Err(format!("the load client failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).map_err(|_| format!("bad load client line {line:?}")))
        .collect()
}

/// `cex bench ws-fanout-load`: opens the subscribers, then runs the flow at each rate and
/// prints one JSON line per rate.
pub fn fanout_load(
    rest: SocketAddr,
    traders: &Path,
    subscribers: usize,
    rates: &[u64],
    seconds: f64,
) -> Result<(), String> {
    raise_open_files_limit();
    let traders = read_traders(traders)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let streams: Vec<Stream> = (0..subscribers).map(Stream::of).collect();
    let tally = Rc::new(RefCell::new(Tally::new(streams.clone())));
    let mut stdout = std::io::stdout().lock();
    tokio::task::LocalSet::new().block_on(&runtime, async {
        for (index, stream) in streams.iter().enumerate() {
            let socket = load::subscribe(rest, *stream).await.map_err(|e| format!("subscriber {index}: {e}"))?;
            tokio::task::spawn_local(load::listen(socket, index, tally.clone()));
        }
        for &rate in rates {
            tally.borrow_mut().reset();
            let flow = load::drive(rest, &traders, rate, seconds, &tally).await?;
            let row = row(&tally.borrow(), &flow, rate, &streams);
            writeln!(stdout, "{row}").map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

fn row(tally: &Tally, flow: &load::Flow, rate: u64, streams: &[Stream]) -> Value {
    let delivered: u64 = tally.delivered.iter().sum();
    let expected = tally.expected_total(flow);
    let window = flow.delivery_seconds;
    let latency = Latency::of(&tally.latency);
    let depth = streams.iter().filter(|stream| **stream == Stream::Depth).count();
    json!({
        "bench": "ws-fanout", "rate": rate, "pairs": flow.pairs, "achieved_pairs_per_sec": flow.pairs as f64 / flow.seconds.max(1e-9),
        "subscribers": streams.len(), "depth_subscribers": depth, "trades_subscribers": streams.len() - depth,
        "book_changes": flow.book_changes, "trades": flow.trades,
        "expected": expected, "delivered": delivered, "seconds": window,
        "delivered_per_sec": delivered as f64 / window.max(1e-9),
        "per_subscriber_per_sec": delivered as f64 / window.max(1e-9) / streams.len().max(1) as f64,
        "p50_ns": latency.p50_ns, "p90_ns": latency.p90_ns, "p99_ns": latency.p99_ns, "p999_ns": latency.p999_ns,
        "max_ns": latency.max_ns,
        "slow_closes": tally.slow_closes, "other_closes": tally.other_closes, "gaps": tally.gaps, "unmatched": tally.unmatched,
    })
}

fn print_table(options: &FanoutBenchOptions, durability: &str, rows: &[Value]) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("# cex bench ws-fanout: pushes to WebSocket subscribers of BTC-USDT depth diffs and trades");
    println!(
        "{} subscribers (one socket each, half depth, half trades, one client thread in a second process), \
         {:.1} s of order flow per rate over REST; journal durability {durability}; rate limits off; {cores} cores",
        options.subscribers, options.seconds
    );
    println!();
    println!(
        "| trades/s target | achieved | pushes expected | delivered | delivered/expected | pushes/s | per subscriber/s | p50 ms | p99 ms | p99.9 ms | max ms | slow closes | other closes | gaps |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let millis = |value: &Value| format!("{:.1}", value.as_u64().unwrap_or(0) as f64 / 1e6);
    for row in rows {
        let ratio = row["delivered"].as_f64().unwrap_or(0.0) / row["expected"].as_f64().unwrap_or(0.0).max(1.0);
        println!(
            "| {} | {:.0} | {} | {} | {:.4} | {:.0} | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
            row["rate"],
            row["achieved_pairs_per_sec"].as_f64().unwrap_or(0.0),
            row["expected"],
            row["delivered"],
            ratio,
            row["delivered_per_sec"].as_f64().unwrap_or(0.0),
            row["per_subscriber_per_sec"].as_f64().unwrap_or(0.0),
            millis(&row["p50_ns"]),
            millis(&row["p99_ns"]),
            millis(&row["p999_ns"]),
            millis(&row["max_ns"]),
            row["slow_closes"],
            row["other_closes"],
            row["gaps"],
        );
    }
}

/// Raises this process's open-file limit to its hard limit: a thousand sockets and more
/// pass the usual soft limit of 1,024.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write only the struct passed, which lives on
    // this stack frame for both calls.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
