//! The journal benchmark's report: tables for people (the style of `cex bench engine`),
//! one JSON object per row for tools, and the targets checked against the figures.

use serde_json::{json, Value};

use super::ack::{AckFigures, RawSync};
use super::cost::{self, Pass, Stage, Variant};
use super::replay::ReplayRow;
use super::writers::{AppendPass, WriterKind};
use super::{Market, ThreadUsage};
use crate::runner::Latency;
use cex_journal::Durability;

/// Target: journaling in `mmap` mode costs at most this share of engine-only throughput.
const MMAP_COST_TARGET: f64 = 0.20;
/// Target: durable-ack p99 at most this multiple of the raw fdatasync p99.
const ACK_P99_TARGET: f64 = 2.0;
/// Target: replay (read + decode + apply) commands per second.
const REPLAY_TARGET: f64 = 5_000_000.0;

#[derive(Default)]
pub struct Results {
    /// Profile A's timed ops in the cost section.
    pub ops: u64,
    pub cost: Vec<CostRow>,
    pub writers: Vec<WriterRow>,
    pub raw_syncs: Vec<RawSyncRow>,
    pub acks: Vec<AckRow>,
    pub replay: Vec<ReplayRow>,
}

pub struct CostRow {
    pub variant: Variant,
    pub ops: u64,
    /// Median over the passes, then the fastest and slowest pass.
    pub ns_per_op: f64,
    pub min_ns: f64,
    pub max_ns: f64,
    /// The measuring thread's faults and waits in the median pass.
    pub usage: ThreadUsage,
    pub verdict: Result<(), String>,
    /// Why the variant could not run here (io_uring missing); it then counts as verified.
    pub unavailable: Option<String>,
}

impl CostRow {
    pub fn of(variant: Variant, market: &Market, mut passes: Vec<Pass>) -> CostRow {
        passes.sort_by(|a, b| a.ns_per_op.total_cmp(&b.ns_per_op));
        let ns: Vec<f64> = passes.iter().map(|pass| pass.ns_per_op).collect();
        let verdict = passes.iter().map(|pass| pass.verdict.clone()).find(Result::is_err).unwrap_or(Ok(()));
        CostRow {
            variant,
            ops: market.ops.len() as u64,
            ns_per_op: median(&ns),
            min_ns: ns.first().copied().unwrap_or(f64::NAN),
            max_ns: ns.last().copied().unwrap_or(f64::NAN),
            usage: passes.get(passes.len() / 2).map_or_else(ThreadUsage::default, |pass| pass.usage),
            verdict,
            unavailable: None,
        }
    }

    pub fn unavailable(variant: Variant, market: &Market, why: &str) -> CostRow {
        CostRow {
            variant,
            ops: market.ops.len() as u64,
            ns_per_op: f64::NAN,
            min_ns: f64::NAN,
            max_ns: f64::NAN,
            usage: ThreadUsage::default(),
            verdict: Ok(()),
            unavailable: Some(format!("unavailable: {why}")),
        }
    }
}

pub struct WriterRow {
    pub kind: WriterKind,
    /// The median pass (by append time), or why the writer could not run.
    pub outcome: Result<AppendPass, String>,
}

impl WriterRow {
    pub fn of(kind: WriterKind, passes: Result<Vec<AppendPass>, String>) -> WriterRow {
        let outcome = passes.and_then(|mut passes| {
            passes.sort_by(|a, b| a.append_seconds.total_cmp(&b.append_seconds));
            passes.get(passes.len() / 2).copied().ok_or_else(|| "no pass ran".to_string())
        });
        WriterRow { kind, outcome }
    }
}

pub struct RawSyncRow {
    pub how: RawSync,
    pub samples: u64,
    /// One per round.
    pub runs: Vec<Latency>,
}

impl RawSyncRow {
    /// The round with the median p99.
    pub fn median(&self) -> Option<Latency> {
        let mut runs = self.runs.clone();
        runs.sort_by_key(|latency| latency.p99_ns);
        runs.get(runs.len() / 2).copied()
    }
}

pub struct AckRow {
    pub name: &'static str,
    pub rate: u64,
    /// One per round.
    pub runs: Vec<Result<AckFigures, String>>,
}

impl AckRow {
    /// The round with the median p99, or the first error.
    pub fn median(&self) -> Result<AckFigures, String> {
        let mut runs = Vec::new();
        for run in &self.runs {
            runs.push(run.clone()?);
        }
        runs.sort_by_key(|figures| figures.latency.p99_ns);
        runs.get(runs.len() / 2).copied().ok_or_else(|| "no run".to_string())
    }

    /// The lowest and highest p99 over the rounds that ran.
    pub fn p99_range(&self) -> (u64, u64) {
        let p99s = self.runs.iter().flatten().map(|figures| figures.latency.p99_ns);
        (p99s.clone().min().unwrap_or(0), p99s.max().unwrap_or(0))
    }
}

fn median(sorted: &[f64]) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn micros(ns: u64) -> String {
    format!("{:.1}", ns as f64 / 1_000.0)
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

impl Results {
    pub fn verified(&self) -> bool {
        self.cost.iter().all(|row| row.verdict.is_ok())
    }

    fn cost_ns(&self, variant: Variant) -> Option<f64> {
        self.cost.iter().find(|row| row.variant == variant).map(|row| row.ns_per_op)
    }

    fn raw_p99(&self) -> Option<u64> {
        self.raw_syncs.iter().find(|row| row.how == RawSync::Append).and_then(RawSyncRow::median).map(|l| l.p99_ns)
    }

    /// The row of `name` at `rate`, added if missing.
    pub fn ack_row(&mut self, name: &'static str, rate: u64) -> &mut AckRow {
        let index = match self.acks.iter().position(|row| row.name == name && row.rate == rate) {
            Some(index) => index,
            None => {
                self.acks.push(AckRow { name, rate, runs: Vec::new() });
                self.acks.len() - 1
            }
        };
        &mut self.acks[index]
    }

    pub fn tables(&self) -> String {
        let mut text = String::new();
        if !self.cost.is_empty() {
            text += &self.cost_table();
        }
        if !self.writers.is_empty() {
            text += &self.writer_table();
        }
        if !self.acks.is_empty() || !self.raw_syncs.is_empty() {
            text += &self.ack_table();
        }
        if !self.replay.is_empty() {
            text += &self.replay_table();
        }
        text
    }

    fn cost_table(&self) -> String {
        let baseline = self.cost_ns(Variant::Ladder(Stage::Engine)).unwrap_or(f64::NAN);
        let mut text = format!(
            "\njournal cost, profile A, {} timed ops (median of passes; × = ns/op relative to engine only; \
             faults and blocking waits of the measuring thread per 1,000 ops):\n",
            self.ops
        );
        text += &format!(
            "{:<26} {:>10} {:>12} {:>8} {:>17} {:>10} {:>10}  {}\n",
            "variant", "ns/op", "ops/s", "×", "passes ns/op", "faults/1k", "blocks/1k", "verified"
        );
        for row in &self.cost {
            if let Some(why) = &row.unavailable {
                text += &format!("{:<26} {why}\n", row.variant.name());
                continue;
            }
            let verdict = match &row.verdict {
                Ok(()) => "yes".to_string(),
                Err(why) => format!("NO: {why}"),
            };
            let per_k = |count: u64| count as f64 * 1_000.0 / row.ops as f64;
            text += &format!(
                "{:<26} {:>10.1} {:>12.0} {:>8.2} {:>17} {:>10.2} {:>10.3}  {}\n",
                row.variant.name(),
                row.ns_per_op,
                1e9 / row.ns_per_op,
                row.ns_per_op / baseline,
                format!("{:.1}–{:.1}", row.min_ns, row.max_ns),
                per_k(row.usage.minor_faults + row.usage.major_faults),
                per_k(row.usage.blocked),
                verdict
            );
        }
        // Interference on a shared machine only ever adds time, so the split uses each
        // stage's fastest pass: the medians' differences are noisier than the steps.
        let fastest = |variant: &Variant| self.cost.iter().find(|row| row.variant == *variant).map(|row| row.min_ns);
        let ladder: Vec<f64> = cost::VARIANTS[..5].iter().filter_map(fastest).collect();
        if ladder.len() == 5 {
            text += &format!(
                "split (differences of the ladder's fastest passes, ns/op): command encode {:.1}, command append \
                 {:.1}, events encode {:.1}, events append {:.1}\n",
                ladder[1] - ladder[0],
                ladder[2] - ladder[1],
                ladder[3] - ladder[2],
                ladder[4] - ladder[3]
            );
        }
        if let Some(mmap) = self.cost_ns(Variant::Durable(Durability::Mmap)) {
            let share = 1.0 - baseline / mmap;
            text += &format!(
                "target: DurableEngine mmap costs {:.1}% of engine-only throughput (≤ {:.0}%): {}\n",
                share * 100.0,
                MMAP_COST_TARGET * 100.0,
                met(share <= MMAP_COST_TARGET)
            );
        }
        text
    }

    fn writer_table(&self) -> String {
        let mut text = "\nappend throughput, closed loop, profile A's SBE commands (median pass; faults and \
                        blocking waits of the appending thread per 1,000 records):\n"
            .to_string();
        text += &format!(
            "{:<26} {:>10} {:>8} {:>10} {:>12} {:>10} {:>14} {:>8} {:>9} {:>10} {:>10}\n",
            "writer",
            "records",
            "MB",
            "ns/append",
            "appends/s",
            "drain ms",
            "durable rec/s",
            "syncs",
            "rec/sync",
            "faults/1k",
            "blocks/1k"
        );
        for row in &self.writers {
            match &row.outcome {
                Ok(pass) => {
                    let drain = pass.total_seconds - pass.append_seconds;
                    let syncs = if row.kind.is_durable() { pass.syncs.to_string() } else { "-".to_string() };
                    let per_sync = if row.kind.is_durable() {
                        format!("{:.0}", pass.records as f64 / pass.syncs.max(1) as f64)
                    } else {
                        "-".to_string()
                    };
                    let per_k = |count: u64| count as f64 * 1_000.0 / pass.records as f64;
                    text += &format!(
                        "{:<26} {:>10} {:>8.1} {:>10.1} {:>12.0} {:>10.2} {:>14.0} {:>8} {:>9} {:>10.2} {:>10.3}\n",
                        row.kind.name(),
                        pass.records,
                        pass.bytes as f64 / 1e6,
                        pass.append_seconds * 1e9 / pass.records as f64,
                        pass.records as f64 / pass.append_seconds,
                        drain * 1e3,
                        pass.records as f64 / pass.total_seconds,
                        syncs,
                        per_sync,
                        per_k(pass.usage.minor_faults + pass.usage.major_faults),
                        per_k(pass.usage.blocked)
                    );
                }
                Err(why) => text += &format!("{:<26} {why}\n", row.kind.name()),
            }
        }
        text
    }

    fn ack_table(&self) -> String {
        let mut text = String::new();
        if !self.raw_syncs.is_empty() {
            text += "\nraw fdatasync, same file system, µs per 4 KiB write + fdatasync (round with the median p99):\n";
            text += &format!(
                "{:<30} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>17}\n",
                "probe", "samples", "p50", "p90", "p99", "p99.9", "max", "p99 over rounds"
            );
            for row in &self.raw_syncs {
                let Some(l) = row.median() else { continue };
                let p99s = row.runs.iter().map(|run| run.p99_ns);
                let range = format!("{}–{}", micros(p99s.clone().min().unwrap_or(0)), micros(p99s.max().unwrap_or(0)));
                text += &format!(
                    "{:<30} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>17}\n",
                    row.how.name(),
                    row.samples,
                    micros(l.p50_ns),
                    micros(l.p90_ns),
                    micros(l.p99_ns),
                    micros(l.p999_ns),
                    micros(l.max_ns),
                    range
                );
            }
        }
        if self.acks.is_empty() {
            return text;
        }
        let raw = self.raw_p99();
        text +=
            "\ndurable-ack latency, open loop, µs from each command's scheduled time until durable (round with the \
                 median p99; blocks and preempts = times the submitting thread blocked or was preempted; submit p99 = from the \
                 scheduled time until the submit returned):\n";
        text += &format!(
            "{:<26} {:>7} {:>8} {:>8} {:>7} {:>7} {:>8} {:>8} {:>8} {:>19} {:>8} {:>7} {:>8} {:>7} {:>8} {:>10}\n",
            "path",
            "rate/s",
            "commands",
            "achieved",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max",
            "p99 over rounds",
            "p99/raw",
            "syncs",
            "cmd/sync",
            "blocks",
            "preempts",
            "submit p99"
        );
        for row in &self.acks {
            match row.median() {
                Ok(a) => {
                    let marker = if a.counted { "" } else { "~" };
                    let (low, high) = row.p99_range();
                    let ratio =
                        raw.map_or("-".to_string(), |raw| format!("{:.2}", a.latency.p99_ns as f64 / raw as f64));
                    text += &format!(
                        "{:<26} {:>7} {:>8} {:>8.0} {:>7} {:>7} {:>8} {:>8} {:>8} {:>19} {:>8} {:>7} {:>8} {:>7} {:>8} {:>10}\n",
                        row.name,
                        row.rate,
                        a.commands,
                        a.achieved_per_sec,
                        micros(a.latency.p50_ns),
                        micros(a.latency.p90_ns),
                        micros(a.latency.p99_ns),
                        micros(a.latency.p999_ns),
                        micros(a.latency.max_ns),
                        format!("{}–{}", micros(low), micros(high)),
                        ratio,
                        format!("{marker}{}", a.syncs),
                        format!("{marker}{:.1}", a.commands_per_sync()),
                        a.usage.blocked,
                        a.usage.preempted,
                        micros(a.submitted.p99_ns)
                    );
                }
                Err(why) => text += &format!("{:<26} {:>7} {why}\n", row.name, row.rate),
            }
        }
        text += "(~ = inferred from durable-sequence jumps; otherwise counted by the syncer or the io_uring writer)\n";
        if let Some(raw) = raw {
            for row in self.acks.iter().filter(|row| row.name == "DurableEngine fsync") {
                if let Ok(a) = row.median() {
                    let ratio = a.latency.p99_ns as f64 / raw as f64;
                    text += &format!(
                        "target: DurableEngine fsync at {}/s has p99 {} µs = {:.2}× raw fdatasync p99 {} µs (≤ {:.0}×): {}\n",
                        row.rate,
                        micros(a.latency.p99_ns),
                        ratio,
                        micros(raw),
                        ACK_P99_TARGET,
                        met(ratio <= ACK_P99_TARGET)
                    );
                }
            }
        }
        text
    }

    fn replay_table(&self) -> String {
        let mut text = "\nreplay and recovery:\n".to_string();
        text += &format!("{:<36} {:>12} {:>10} {:>14}  {}\n", "step", "records", "ms", "records/s", "note");
        for row in &self.replay {
            text += &format!(
                "{:<36} {:>12} {:>10.1} {:>14.0}  {}\n",
                row.name,
                row.count,
                row.seconds * 1e3,
                row.per_sec(),
                row.note
            );
        }
        if let Some(row) = self.replay.iter().find(|row| row.name == "read + decode + apply") {
            text += &format!(
                "target: replay {:.2}M commands/s (≥ {:.0}M): {}\n",
                row.per_sec() / 1e6,
                REPLAY_TARGET / 1e6,
                met(row.per_sec() >= REPLAY_TARGET)
            );
        }
        text
    }

    pub fn json_lines(&self) -> Vec<String> {
        let mut lines: Vec<Value> = Vec::new();
        for row in &self.cost {
            if let Some(why) = &row.unavailable {
                lines.push(
                    json!({ "bench": "journal", "section": "cost", "variant": row.variant.name(), "error": why }),
                );
                continue;
            }
            lines.push(json!({
                "bench": "journal", "section": "cost", "variant": row.variant.name(), "ops": row.ops,
                "ns_per_op": row.ns_per_op, "ops_per_sec": 1e9 / row.ns_per_op,
                "min_ns_per_op": row.min_ns, "max_ns_per_op": row.max_ns, "verified": row.verdict.is_ok(),
                "page_faults": row.usage.minor_faults + row.usage.major_faults, "blocking_waits": row.usage.blocked,
                "preemptions": row.usage.preempted,
            }));
        }
        for row in &self.writers {
            lines.push(match &row.outcome {
                Ok(pass) => json!({
                    "bench": "journal", "section": "writers", "writer": row.kind.name(), "records": pass.records,
                    "bytes": pass.bytes, "ns_per_append": pass.append_seconds * 1e9 / pass.records as f64,
                    "appends_per_sec": pass.records as f64 / pass.append_seconds,
                    "drain_seconds": pass.total_seconds - pass.append_seconds,
                    "durable_records_per_sec": pass.records as f64 / pass.total_seconds,
                    "syncs": row.kind.is_durable().then_some(pass.syncs),
                    "page_faults": pass.usage.minor_faults + pass.usage.major_faults,
                    "blocking_waits": pass.usage.blocked,
                }),
                Err(why) => {
                    json!({ "bench": "journal", "section": "writers", "writer": row.kind.name(), "error": why })
                }
            });
        }
        for row in &self.raw_syncs {
            for (round, l) in row.runs.iter().enumerate() {
                lines.push(json!({
                    "bench": "journal", "section": "raw_fdatasync", "probe": row.how.name(), "round": round + 1,
                    "samples": row.samples, "p50_ns": l.p50_ns, "p90_ns": l.p90_ns, "p99_ns": l.p99_ns,
                    "p999_ns": l.p999_ns, "max_ns": l.max_ns,
                }));
            }
        }
        for row in &self.acks {
            for (round, run) in row.runs.iter().enumerate() {
                lines.push(match run {
                    Ok(a) => json!({
                        "bench": "journal", "section": "ack", "path": row.name, "rate_per_sec": row.rate,
                        "round": round + 1, "commands": a.commands, "achieved_per_sec": a.achieved_per_sec,
                        "p50_ns": a.latency.p50_ns, "p90_ns": a.latency.p90_ns, "p99_ns": a.latency.p99_ns,
                        "p999_ns": a.latency.p999_ns, "max_ns": a.latency.max_ns, "syncs": a.syncs,
                        "syncs_counted": a.counted, "commands_per_sync": a.commands_per_sync(),
                        "blocking_waits": a.usage.blocked, "preemptions": a.usage.preempted,
                        "submit_p50_ns": a.submitted.p50_ns, "submit_p99_ns": a.submitted.p99_ns,
                    }),
                    Err(why) => json!({
                        "bench": "journal", "section": "ack", "path": row.name, "rate_per_sec": row.rate,
                        "round": round + 1, "error": why,
                    }),
                });
            }
        }
        for row in &self.replay {
            lines.push(json!({
                "bench": "journal", "section": "replay", "step": row.name, "records": row.count,
                "seconds": row.seconds, "records_per_sec": row.per_sec(), "note": row.note,
            }));
        }
        lines.into_iter().map(|line| line.to_string()).collect()
    }
}
