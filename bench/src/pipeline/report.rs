//! The pipeline benchmark's results: tables for people, one JSON object per row for tools.

use serde_json::{json, Value};

use super::paths::Stages;
use crate::journal::ThreadUsage;
use crate::runner::Latency;

/// One open-loop run: the pipeline, or the bare relay, at one rate.
pub(crate) struct OpenRow {
    pub path: &'static str,
    pub idle: &'static str,
    pub rate: u64,
    pub commands: u64,
    pub achieved_per_sec: f64,
    pub latency: Latency,
    /// The lowest and highest p99 over the rounds.
    pub p99_range: (u64, u64),
    /// From the scheduled time until the send returned: the client's own lateness.
    pub send: Latency,
    pub busy: u64,
    /// Pipeline rows only.
    pub journal_reads: Option<u64>,
    pub stages: Option<Stages>,
    /// The engine thread's processing time over the run's (pipeline rows).
    pub engine_busy: Option<f64>,
    /// What the kernel did to the engine thread (pipeline rows) and to the client's.
    pub engine_usage: Option<ThreadUsage>,
    pub client_usage: ThreadUsage,
    pub verdict: Result<(), String>,
}

/// One closed-loop run.
pub(crate) struct ClosedRow {
    pub path: &'static str,
    pub idle: &'static str,
    pub commands: u64,
    pub ops_per_sec: f64,
    /// The lowest and highest throughput over the rounds.
    pub ops_range: (f64, f64),
    pub engine_busy: Option<f64>,
    pub verdict: Result<(), String>,
}

pub(crate) struct PingPongRow {
    pub rounds: u64,
    pub round_trip: Latency,
}

pub struct Results {
    pub(crate) runs: u32,
    pub(crate) layout: String,
    pub(crate) open: Vec<OpenRow>,
    pub(crate) closed: Vec<ClosedRow>,
    pub(crate) ping_pong: Option<PingPongRow>,
}

fn micros(ns: u64) -> String {
    let us = ns as f64 / 1_000.0;
    if us >= 1_000.0 {
        format!("{us:.0}")
    } else {
        format!("{us:.2}")
    }
}

fn verdict_text(verdict: &Result<(), String>) -> String {
    match verdict {
        Ok(()) => "yes".to_string(),
        Err(why) => format!("NO: {why}"),
    }
}

fn percent(share: Option<f64>) -> String {
    share.map_or("-".to_string(), |share| format!("{:.0}%", share * 100.0))
}

fn usage_json(usage: &ThreadUsage) -> Value {
    json!({
        "preempted": usage.preempted,
        "blocked": usage.blocked,
        "minor_faults": usage.minor_faults,
        "major_faults": usage.major_faults,
    })
}

/// Renders rows of cells with the first two columns left-aligned, the rest right-aligned.
fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            let pad = " ".repeat(width - cell.chars().count());
            let last = index + 1 == cells.len();
            match (index < 2, last) {
                (true, _) => text += &format!("{cell}{pad}  "),
                (false, true) => text += &format!("{pad}{cell}"),
                (false, false) => text += &format!("{pad}{cell}  "),
            }
        }
        text.trim_end().to_string() + "\n"
    };
    let mut text = line(header.to_vec());
    for row in &rows {
        text += &line(row.iter().map(String::as_str).collect());
    }
    text
}

impl Results {
    pub fn verified(&self) -> bool {
        self.open.iter().all(|row| row.verdict.is_ok()) && self.closed.iter().all(|row| row.verdict.is_ok())
    }

    /// A row's percentile over the ping-pong's round trip at the same percentile.
    fn ratio(&self, pick: impl Fn(&Latency) -> u64, latency: &Latency) -> Option<f64> {
        let floor = pick(&self.ping_pong.as_ref()?.round_trip);
        (floor > 0).then(|| pick(latency) as f64 / floor as f64)
    }

    fn ratio_text(&self, pick: impl Fn(&Latency) -> u64, latency: &Latency) -> String {
        self.ratio(pick, latency).map_or("-".to_string(), |ratio| format!("{ratio:.1}"))
    }

    pub fn tables(&self) -> String {
        let mut text = format!("layout: {}\n", self.layout);
        text += &format!("each row: the round with the median p99 (median ops/s closed loop) of {}\n\n", self.runs);
        if let Some(ping) = &self.ping_pong {
            let rtt = &ping.round_trip;
            text += &format!(
                "bare rtrb ping-pong of a request-sized item, client core <-> engine core, {} round trips, µs\n",
                ping.rounds
            );
            let row = |name: &str, halve: u64| {
                let cells = [rtt.p50_ns, rtt.p90_ns, rtt.p99_ns, rtt.p999_ns, rtt.max_ns];
                let mut row = vec![name.to_string(), String::new()];
                row.extend(cells.iter().map(|ns| micros(ns / halve)));
                row
            };
            text += &table(
                &["", "", "p50", "p90", "p99", "p99.9", "max"],
                vec![row("round trip", 1), row("one way (half)", 2)],
            );
            text += "\n";
        }
        if !self.open.is_empty() {
            text += "open loop, µs from each command's scheduled send to its dequeue by the consumer; \
                     × = over the ping-pong round trip at the same percentile\n";
            let rows = self
                .open
                .iter()
                .map(|row| {
                    let l = &row.latency;
                    vec![
                        row.path.to_string(),
                        row.idle.to_string(),
                        row.rate.to_string(),
                        format!("{:.0}", row.achieved_per_sec),
                        micros(l.p50_ns),
                        micros(l.p90_ns),
                        micros(l.p99_ns),
                        micros(l.p999_ns),
                        micros(l.max_ns),
                        self.ratio_text(|l| l.p50_ns, l),
                        self.ratio_text(|l| l.p99_ns, l),
                        self.ratio_text(|l| l.p999_ns, l),
                        format!("{}–{}", micros(row.p99_range.0), micros(row.p99_range.1)),
                        micros(row.send.p99_ns),
                        row.busy.to_string(),
                        row.journal_reads.map_or("-".to_string(), |reads| reads.to_string()),
                        verdict_text(&row.verdict),
                    ]
                })
                .collect();
            text += &table(
                &[
                    "path",
                    "idle",
                    "rate/s",
                    "achieved",
                    "p50",
                    "p90",
                    "p99",
                    "p99.9",
                    "max",
                    "× p50",
                    "× p99",
                    "× p99.9",
                    "p99 over rounds",
                    "send p99",
                    "ring full",
                    "from journal",
                    "verified",
                ],
                rows,
            );
            text += "\n";
            text += "inside the engine thread, µs (the runtime's own stage histograms; journal and apply sampled \
                     1 in 16), and what the kernel did to the threads: preempted / blocked / page faults\n";
            let rows = self
                .open
                .iter()
                .map(|row| {
                    let stage =
                        |pick: fn(&Stages) -> u64| row.stages.as_ref().map_or("-".to_string(), |s| micros(pick(s)));
                    let usage = |usage: &ThreadUsage| {
                        format!("{} / {} / {}", usage.preempted, usage.blocked, usage.minor_faults + usage.major_faults)
                    };
                    vec![
                        row.path.to_string(),
                        row.idle.to_string(),
                        row.rate.to_string(),
                        percent(row.engine_busy),
                        stage(|s| s.ring_wait.p50_ns),
                        stage(|s| s.ring_wait.p99_ns),
                        stage(|s| s.ring_wait.p999_ns),
                        stage(|s| s.journal.p50_ns),
                        stage(|s| s.journal.p99_ns),
                        stage(|s| s.apply.p50_ns),
                        stage(|s| s.apply.p99_ns),
                        row.engine_usage.as_ref().map_or("-".to_string(), usage),
                        usage(&row.client_usage),
                    ]
                })
                .collect();
            text += &table(
                &[
                    "path",
                    "idle",
                    "rate/s",
                    "engine busy",
                    "ring p50",
                    "ring p99",
                    "ring p99.9",
                    "journal p50",
                    "journal p99",
                    "apply p50",
                    "apply p99",
                    "engine thread",
                    "client",
                ],
                rows,
            );
            text += "\n";
        }
        if !self.closed.is_empty() {
            text += "closed loop: the producer pushes whenever the input ring has room\n";
            let rows = self
                .closed
                .iter()
                .map(|row| {
                    vec![
                        row.path.to_string(),
                        row.idle.to_string(),
                        row.commands.to_string(),
                        format!("{:.0}", row.ops_per_sec),
                        format!("{:.1}", 1e9 / row.ops_per_sec),
                        format!("{:.0}–{:.0}", row.ops_range.0, row.ops_range.1),
                        percent(row.engine_busy),
                        verdict_text(&row.verdict),
                    ]
                })
                .collect();
            text += &table(
                &["path", "idle", "commands", "ops/s", "ns/op", "ops/s over rounds", "engine busy", "verified"],
                rows,
            );
        }
        text
    }

    pub fn json_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(ping) = &self.ping_pong {
            let rtt = &ping.round_trip;
            lines.push(json!({
                "bench": "pipeline",
                "kind": "ping_pong",
                "layout": self.layout,
                "rounds": ping.rounds,
                "rtt_p50_ns": rtt.p50_ns,
                "rtt_p90_ns": rtt.p90_ns,
                "rtt_p99_ns": rtt.p99_ns,
                "rtt_p999_ns": rtt.p999_ns,
                "rtt_max_ns": rtt.max_ns,
            }));
        }
        for row in &self.open {
            let latency = &row.latency;
            let mut line = json!({
                "bench": "pipeline",
                "kind": "open_loop",
                "path": row.path,
                "idle": row.idle,
                "rate_per_sec": row.rate,
                "commands": row.commands,
                "achieved_per_sec": row.achieved_per_sec,
                "runs": self.runs,
                "p50_ns": latency.p50_ns,
                "p90_ns": latency.p90_ns,
                "p99_ns": latency.p99_ns,
                "p999_ns": latency.p999_ns,
                "max_ns": latency.max_ns,
                "p99_min_ns": row.p99_range.0,
                "p99_max_ns": row.p99_range.1,
                "rtt_ratio_p50": self.ratio(|l| l.p50_ns, latency),
                "rtt_ratio_p99": self.ratio(|l| l.p99_ns, latency),
                "rtt_ratio_p999": self.ratio(|l| l.p999_ns, latency),
                "send_p99_ns": row.send.p99_ns,
                "ring_full": row.busy,
                "journal_reads": row.journal_reads,
                "engine_busy": row.engine_busy,
                "engine_thread": row.engine_usage.as_ref().map(usage_json),
                "client_threads": usage_json(&row.client_usage),
                "verified": row.verdict.is_ok(),
                "why": row.verdict.as_ref().err(),
            });
            if let (Some(stages), Value::Object(fields)) = (row.stages, &mut line) {
                for (name, stage) in
                    [("ring_wait", stages.ring_wait), ("journal", stages.journal), ("apply", stages.apply)]
                {
                    fields.insert(format!("{name}_p50_ns"), stage.p50_ns.into());
                    fields.insert(format!("{name}_p99_ns"), stage.p99_ns.into());
                    fields.insert(format!("{name}_p999_ns"), stage.p999_ns.into());
                }
            }
            lines.push(line);
        }
        for row in &self.closed {
            lines.push(json!({
                "bench": "pipeline",
                "kind": "closed_loop",
                "path": row.path,
                "idle": row.idle,
                "commands": row.commands,
                "runs": self.runs,
                "ops_per_sec": row.ops_per_sec,
                "ops_per_sec_min": row.ops_range.0,
                "ops_per_sec_max": row.ops_range.1,
                "ns_per_op": 1e9 / row.ops_per_sec,
                "engine_busy": row.engine_busy,
                "verified": row.verdict.is_ok(),
                "why": row.verdict.as_ref().err(),
            }));
        }
        lines.into_iter().map(|line| line.to_string()).collect()
    }
}
