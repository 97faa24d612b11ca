//! Runs engines over a workload: closed-loop throughput, open-loop latency at fixed rates
//! (measured from each op's scheduled time, so a stall delays every later op and shows up
//! in the percentiles: no coordinated omission), and resident memory per resting order.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};

use crate::op::{BenchEngine, OpKind};
use crate::workload::{Expected, Workload};

/// Makes a fresh, empty engine under test.
pub type Factory = Box<dyn Fn() -> Box<dyn BenchEngine>>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50_ns: u64,
    pub p90_ns: u64,
    pub p99_ns: u64,
    pub p999_ns: u64,
    pub p9999_ns: u64,
    pub max_ns: u64,
}

impl Latency {
    pub fn of(histogram: &Histogram<u64>) -> Latency {
        Latency {
            p50_ns: histogram.value_at_quantile(0.50),
            p90_ns: histogram.value_at_quantile(0.90),
            p99_ns: histogram.value_at_quantile(0.99),
            p999_ns: histogram.value_at_quantile(0.999),
            p9999_ns: histogram.value_at_quantile(0.9999),
            max_ns: histogram.max(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Measurement {
    pub engine: &'static str,
    pub ops: u64,
    pub ns_per_op: f64,
    pub ops_per_sec: f64,
    /// Open-loop runs only: the target rate, and latency over all ops and over cancels.
    pub rate_per_sec: Option<u64>,
    pub latency: Option<Latency>,
    pub cancel_latency: Option<Latency>,
    /// Resident bytes the prefill added, per resting order (profiles with a big prefill).
    pub bytes_per_order: Option<f64>,
    /// Whether the engine reproduced the expected trades, volume and hashes.
    pub verdict: Result<(), String>,
}

/// Pins the calling thread to the last core and says which, or why not.
pub fn pin_to_last_core() -> String {
    match core_affinity::get_core_ids().and_then(|ids| ids.last().copied()) {
        Some(core) if core_affinity::set_for_current(core) => format!("pinned to core {}", core.id),
        Some(core) => format!("could not pin to core {}", core.id),
        None => "core list unavailable; not pinned".to_string(),
    }
}

/// Resident set size of this process, in bytes, from /proc (0 where unavailable).
pub fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4_096
}

/// Peak resident set size of this process, in bytes (VmHWM).
pub fn peak_resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap_or("");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).unwrap_or(0) * 1_024
}

pub fn progress_bar(length: u64, label: &str, visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    let style = ProgressStyle::with_template("{prefix:>22} [{bar:30}] {pos}/{len} ops {eta}").expect("valid template");
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(label.to_string());
    bar
}

/// A fresh engine with the workload's book built: the untimed part of every run.
pub fn prepared(factory: &Factory, workload: &Workload) -> (Box<dyn BenchEngine>, Option<f64>) {
    let mut engine = factory();
    engine.setup(workload.symbols, workload.accounts);
    let before = resident_bytes();
    for op in &workload.prefill {
        engine.apply(op);
    }
    let added = resident_bytes().saturating_sub(before);
    let per_order = (workload.prefill.len() >= 100_000).then(|| added as f64 / workload.prefill.len() as f64);
    (engine, per_order)
}

/// Runs every replay back to back and times only the ops.
pub fn closed_loop(factory: &Factory, workload: &Workload, progress: &ProgressBar) -> Measurement {
    let mut elapsed = Duration::ZERO;
    let mut verdict = Ok(());
    let mut bytes_per_order = None;
    let mut name = "";
    for replay in 0..workload.replays {
        let (mut engine, per_order) = prepared(factory, workload);
        name = engine.name();
        if replay == 0 {
            bytes_per_order = per_order;
        }
        for chunk in workload.ops.chunks(1 << 16) {
            let started = Instant::now();
            for op in chunk {
                engine.apply(op);
            }
            elapsed += started.elapsed();
            progress.inc(chunk.len() as u64);
        }
        verdict = verdict.and(verify(engine.as_ref(), &workload.expected));
    }
    let ops = workload.total_timed_ops();
    let seconds = elapsed.as_secs_f64();
    Measurement {
        engine: name,
        ops,
        ns_per_op: seconds * 1e9 / ops as f64,
        ops_per_sec: ops as f64 / seconds,
        rate_per_sec: None,
        latency: None,
        cancel_latency: None,
        bytes_per_order,
        verdict,
    }
}

fn verify(engine: &dyn BenchEngine, expected: &Expected) -> Result<(), String> {
    let totals = engine.totals();
    if totals.trades != expected.trades || totals.volume_lots != expected.volume_lots {
        return Err(format!(
            "{} trades / {} lots, expected {} / {}",
            totals.trades, totals.volume_lots, expected.trades, expected.volume_lots
        ));
    }
    if engine.depth_hash() != expected.depth_hash {
        return Err("final book depth differs".to_string());
    }
    match engine.state_hash() {
        Some(hash) if hash != expected.state_hash => Err("state hash differs".to_string()),
        _ => Ok(()),
    }
}

/// Offers ops at `rate_per_sec` on a fixed schedule and records each op's latency from its
/// scheduled start. One pass over the ops (the first replay).
pub fn open_loop(factory: &Factory, workload: &Workload, rate_per_sec: u64, progress: &ProgressBar) -> Measurement {
    let (mut engine, _) = prepared(factory, workload);
    let mut all = new_histogram();
    let mut cancels = new_histogram();
    let interval_ns = 1e9 / rate_per_sec as f64;
    let started = Instant::now();
    for (index, op) in workload.ops.iter().enumerate() {
        let scheduled = started + Duration::from_nanos((index as f64 * interval_ns) as u64);
        while Instant::now() < scheduled {
            std::hint::spin_loop();
        }
        engine.apply(op);
        let latency_ns = scheduled.elapsed().as_nanos() as u64;
        all.saturating_record(latency_ns.max(1));
        if op.kind == OpKind::Cancel {
            cancels.saturating_record(latency_ns.max(1));
        }
        if index % (1 << 16) == 0 {
            progress.inc(1 << 16);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let ops = workload.ops.len() as u64;
    Measurement {
        engine: engine.name(),
        ops,
        ns_per_op: seconds * 1e9 / ops as f64,
        ops_per_sec: ops as f64 / seconds,
        rate_per_sec: Some(rate_per_sec),
        latency: Some(Latency::of(&all)),
        cancel_latency: (!cancels.is_empty()).then(|| Latency::of(&cancels)),
        bytes_per_order: None,
        verdict: verify(engine.as_ref(), &workload.expected),
    }
}

pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds")
}

/// The cost of reading the clock, measured in the same run, for reading latencies.
pub fn clock_read_ns() -> f64 {
    let rounds = 1_000_000;
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(Instant::now());
    }
    started.elapsed().as_nanos() as f64 / rounds as f64
}
