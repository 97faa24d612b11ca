//! `cex bench rest`: REST order placement against the node `cex run` starts, and the same
//! client against `GET /api/v1/ping` on the same server in the same run, as the baseline.
//!
//! - **Server** (this process): a [`BenchNode`] (the whole node: engine, journal, read model,
//!   REST with its auth layer and body limit; rate limits off), with traders registered,
//!   verified, logged in and funded through the REST API.
//! - **Load client** (a second process, `cex bench rest-load`): C keep-alive connections on
//!   one thread, closed loop (`load.rs`); each round runs the ping baseline then the orders,
//!   for the same time each; a warm-up round is run first and dropped.
//! - **Reported**: per target, the round with the median requests/s, with p50, p99 and
//!   p99.9 and the range of requests/s over the rounds; the ratio of order to ping
//!   requests/s against the target of 0.5. Any non-2xx answer is an error, and fails the run.

mod load;

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use cex_journal::Durability;
use serde_json::{json, Value};

use crate::node::{read_traders, write_traders, BenchNode};
use crate::runner::Latency;
use load::Target;

/// The target: order placement at half the baseline's requests/s or better.
pub const TARGET_RATIO: f64 = 0.5;

pub struct RestBenchOptions {
    pub seconds: f64,
    pub connections: usize,
    pub traders: usize,
    pub runs: u32,
    pub durability: Durability,
    pub dir: Option<PathBuf>,
    pub json: bool,
}

impl Default for RestBenchOptions {
    fn default() -> Self {
        RestBenchOptions {
            seconds: 3.0,
            connections: 16,
            traders: 8,
            runs: 3,
            durability: Durability::Mmap,
            dir: None,
            json: false,
        }
    }
}

/// Runs the benchmark; `Ok(false)` when a request failed.
pub fn rest_bench(options: &RestBenchOptions) -> Result<bool, String> {
    let node = BenchNode::start(options.durability, options.dir.as_deref())?;
    let traders = node.traders(options.traders.max(1), &[("USDT", "100000000"), ("BTC", "10000")]);
    let rows = traders.and_then(|traders| {
        let file = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        write_traders(file.path(), &traders)?;
        run_load_process(options, node.rest_address(), file.path())
    });
    let durability = cex_config::durability_name(node.config().journal.durability);
    node.stop()?;
    let rows = median_rows(&rows?);
    if options.json {
        for row in &rows {
            println!("{}", row.json());
        }
    } else {
        print_table(options, durability, &rows);
    }
    Ok(rows.iter().all(|row| row.errors == 0))
}

fn run_load_process(options: &RestBenchOptions, rest: SocketAddr, traders: &Path) -> Result<Vec<RunRow>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut process = Process::new(exe);
    process.args(["bench", "rest-load", "--rest", &rest.to_string(), "--traders"]).arg(traders);
    process.args(["--connections", &options.connections.to_string(), "--seconds", &options.seconds.to_string()]);
    process.args(["--runs", &options.runs.to_string()]);
    let output = process.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot start the load client: {e}"))?;
    if !output.status.success() {
        return Err(format!("the load client failed ({})", output.status));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout.lines().map(|line| RunRow::parse(line).ok_or_else(|| format!("bad load client line {line:?}"))).collect()
}

/// `cex bench rest-load`: the load client's side. A warm-up round, then `runs` rounds of
/// ping then orders; prints one JSON line per measured run.
pub fn rest_load(rest: SocketAddr, traders: &Path, connections: usize, seconds: f64, runs: u32) -> Result<(), String> {
    let traders = read_traders(traders)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let mut stdout = std::io::stdout().lock();
    runtime.block_on(async {
        for target in [Target::Ping, Target::Order] {
            load::run(target, rest, &traders, connections, seconds.min(1.0)).await?;
        }
        for round in 1..=runs.max(1) {
            for target in [Target::Ping, Target::Order] {
                let result = load::run(target, rest, &traders, connections, seconds).await?;
                writeln!(stdout, "{}", RunRow::of(&result, round, connections).json()).map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

/// One run, as the load client reports it.
#[derive(Debug, Clone, PartialEq)]
struct RunRow {
    target: String,
    round: u32,
    connections: usize,
    ok: u64,
    errors: u64,
    /// Errors by status ("0": the connection failed).
    statuses: BTreeMap<String, u64>,
    first_error: Option<String>,
    seconds: f64,
    latency: Latency,
    /// Over the rounds of this target: the lowest and highest requests/s.
    range: (f64, f64),
}

impl RunRow {
    fn of(result: &load::RunResult, round: u32, connections: usize) -> RunRow {
        let mut row = RunRow {
            target: result.target.name().to_string(),
            round,
            connections,
            ok: result.ok,
            errors: result.error_count(),
            statuses: result.errors.iter().map(|(status, count)| (status.to_string(), *count)).collect(),
            first_error: result.first_error.clone(),
            seconds: result.seconds,
            latency: Latency::of(&result.histogram),
            range: (0.0, 0.0),
        };
        row.range = (row.per_second(), row.per_second());
        row
    }

    /// Requests answered with 2xx per second (so the errors summed over rounds into a
    /// median row do not change it).
    fn per_second(&self) -> f64 {
        self.ok as f64 / self.seconds.max(1e-9)
    }

    fn json(&self) -> Value {
        let l = &self.latency;
        json!({
            "bench": "rest", "target": self.target, "round": self.round, "connections": self.connections,
            "ok": self.ok, "errors": self.errors, "statuses": self.statuses, "first_error": self.first_error,
            "seconds": self.seconds, "per_sec": self.per_second(),
            "p50_ns": l.p50_ns, "p90_ns": l.p90_ns, "p99_ns": l.p99_ns, "p999_ns": l.p999_ns,
            "p9999_ns": l.p9999_ns, "max_ns": l.max_ns, "per_sec_min": self.range.0, "per_sec_max": self.range.1,
        })
    }

    fn parse(line: &str) -> Option<RunRow> {
        let value: Value = serde_json::from_str(line).ok()?;
        let number = |key: &str| value[key].as_u64();
        let statuses = value["statuses"].as_object()?;
        Some(RunRow {
            target: value["target"].as_str()?.to_string(),
            round: u32::try_from(number("round")?).ok()?,
            connections: usize::try_from(number("connections")?).ok()?,
            ok: number("ok")?,
            errors: number("errors")?,
            statuses: statuses.iter().map(|(k, v)| Some((k.clone(), v.as_u64()?))).collect::<Option<_>>()?,
            first_error: value["first_error"].as_str().map(str::to_string),
            seconds: value["seconds"].as_f64()?,
            latency: Latency {
                p50_ns: number("p50_ns")?,
                p90_ns: number("p90_ns")?,
                p99_ns: number("p99_ns")?,
                p999_ns: number("p999_ns")?,
                p9999_ns: number("p9999_ns")?,
                max_ns: number("max_ns")?,
            },
            range: (value["per_sec_min"].as_f64()?, value["per_sec_max"].as_f64()?),
        })
    }
}

/// Per target: the round with the median requests/s, carrying the range over the rounds
/// and every round's errors (a failed request in any round stays visible).
fn median_rows(rows: &[RunRow]) -> Vec<RunRow> {
    let mut groups: BTreeMap<&str, Vec<&RunRow>> = BTreeMap::new();
    for row in rows {
        groups.entry(&row.target).or_default().push(row);
    }
    // Ping first: the baseline.
    let mut targets: Vec<&str> = groups.keys().copied().collect();
    targets.sort_by_key(|target| Target::parse(target));
    targets
        .into_iter()
        .map(|target| {
            let mut group = groups[target].clone();
            group.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
            let mut row = group[group.len() / 2].clone();
            row.range = (group[0].per_second(), group[group.len() - 1].per_second());
            row.errors = group.iter().map(|run| run.errors).sum();
            row.statuses = BTreeMap::new();
            for run in &group {
                for (status, count) in &run.statuses {
                    *row.statuses.entry(status.clone()).or_default() += count;
                }
            }
            row.first_error = group.iter().find_map(|run| run.first_error.clone());
            row
        })
        .collect()
}

/// Order requests/s over ping requests/s.
fn ratio(rows: &[RunRow]) -> Option<f64> {
    let rate = |target: Target| rows.iter().find(|row| row.target == target.name()).map(RunRow::per_second);
    Some(rate(Target::Order)? / rate(Target::Ping)?)
}

fn print_table(options: &RestBenchOptions, durability: &str, rows: &[RunRow]) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("# cex bench rest: REST order placement against GET /api/v1/ping, same server, same client");
    println!(
        "{} connections (keep-alive, closed loop, one client thread in a second process), {} traders, {:.1} s per run, \
         {} rounds (median requests/s shown); journal durability {durability}; rate limits off; {cores} cores",
        options.connections, options.traders, options.seconds, options.runs
    );
    println!();
    println!("| request | requests/s (2xx) | range over rounds | p50 µs | p99 µs | p99.9 µs | max µs | errors |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let micros = |ns: u64| format!("{:.0}", ns as f64 / 1_000.0);
    for row in rows {
        let l = &row.latency;
        let name = match Target::parse(&row.target) {
            Some(Target::Ping) => "GET /api/v1/ping",
            _ => "POST /api/v1/orders/limit",
        };
        println!(
            "| {name} | {:.0} | {:.0}–{:.0} | {} | {} | {} | {} | {} |",
            row.per_second(),
            row.range.0,
            row.range.1,
            micros(l.p50_ns),
            micros(l.p99_ns),
            micros(l.p999_ns),
            micros(l.max_ns),
            row.errors
        );
    }
    if let Some(ratio) = ratio(rows) {
        let verdict = if ratio >= TARGET_RATIO { "met" } else { "NOT met" };
        println!();
        println!("orders/s ÷ ping/s = {ratio:.2} (target ≥ {TARGET_RATIO}: {verdict})");
    }
    for row in rows.iter().filter(|row| row.errors > 0) {
        println!("{} errors by status (0: connection): {:?}; first: {:?}", row.target, row.statuses, row.first_error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(target: Target, round: u32, ok: u64, errors: u64) -> RunRow {
        RunRow {
            target: target.name().into(),
            round,
            connections: 4,
            ok,
            errors,
            statuses: if errors > 0 { BTreeMap::from([("500".to_string(), errors)]) } else { BTreeMap::new() },
            first_error: (errors > 0).then(|| "order 500: boom".to_string()),
            seconds: 1.0,
            latency: Latency { p50_ns: 100, p90_ns: 200, p99_ns: 300, p999_ns: 400, p9999_ns: 500, max_ns: 600 },
            range: (0.0, 0.0),
        }
    }

    #[test]
    fn a_row_survives_its_json_line() {
        let mut original = row(Target::Order, 2, 1_000, 3);
        original.range = (1_003.0, 1_003.0);
        assert_eq!(RunRow::parse(&original.json().to_string()), Some(original));
        assert_eq!(RunRow::parse("{\"target\": \"ping\"}"), None);
    }

    #[test]
    fn the_median_round_is_shown_with_every_rounds_errors() {
        let rows = [
            row(Target::Order, 1, 300, 0),
            row(Target::Ping, 1, 1_000, 0),
            row(Target::Order, 2, 100, 2),
            row(Target::Ping, 2, 900, 0),
            row(Target::Order, 3, 200, 0),
            row(Target::Ping, 3, 1_100, 0),
        ];
        let medians = median_rows(&rows);
        assert_eq!(
            medians.iter().map(|r| (r.target.as_str(), r.round)).collect::<Vec<_>>(),
            [("ping", 1), ("order", 3)]
        );
        assert_eq!((medians[1].range, medians[1].errors), ((100.0, 300.0), 2));
        assert_eq!(medians[1].first_error.as_deref(), Some("order 500: boom"));
        assert_eq!(ratio(&medians), Some(0.2));
    }
}
