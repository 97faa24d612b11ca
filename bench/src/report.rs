//! Renders measurements: a table for people, JSON lines for tools.

use serde_json::json;

use crate::runner::Measurement;

fn micros(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1_000.0)
}

/// Closed-loop rows, with each engine's ns/op as a multiple of `baseline`'s.
pub fn throughput_table(rows: &[Measurement], baseline: &str) -> String {
    let baseline_ns = rows.iter().find(|row| row.engine == baseline).map_or(f64::NAN, |row| row.ns_per_op);
    let mut text = format!(
        "{:<22} {:>12} {:>10} {:>14} {:>12} {:>14}  {}\n",
        "engine", "ops", "ns/op", "ops/s", "× ns of ours", "bytes/order", "verified"
    );
    for row in rows {
        let bytes = row.bytes_per_order.map_or("-".to_string(), |b| format!("{b:.0}"));
        let verdict = match &row.verdict {
            Ok(()) => "yes".to_string(),
            Err(why) => format!("NO: {why}"),
        };
        text += &format!(
            "{:<22} {:>12} {:>10.1} {:>14.0} {:>12.2} {:>14}  {}\n",
            row.engine,
            row.ops,
            row.ns_per_op,
            row.ops_per_sec,
            row.ns_per_op / baseline_ns,
            bytes,
            verdict
        );
    }
    text
}

/// Open-loop rows: target and achieved rate, latency percentiles in µs, cancels' p99.
pub fn latency_table(rows: &[Measurement]) -> String {
    let mut text = format!(
        "{:<22} {:>10} {:>10} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>11}\n",
        "engine", "rate/s", "achieved", "p50 µs", "p90 µs", "p99 µs", "p99.9", "p99.99", "max µs", "cancel p99"
    );
    for row in rows {
        let (Some(rate), Some(latency)) = (row.rate_per_sec, row.latency) else {
            continue;
        };
        let cancel = row.cancel_latency.map_or("-".to_string(), |c| micros(c.p99_ns));
        text += &format!(
            "{:<22} {:>10} {:>10.0} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>11}\n",
            row.engine,
            rate,
            row.ops_per_sec,
            micros(latency.p50_ns),
            micros(latency.p90_ns),
            micros(latency.p99_ns),
            micros(latency.p999_ns),
            micros(latency.p9999_ns),
            micros(latency.max_ns),
            cancel
        );
    }
    text
}

/// One JSON object per engine and profile (and rate, for open-loop rows).
pub fn json_line(row: &Measurement, profile: char) -> String {
    let latency = row.latency;
    json!({
        "engine": row.engine,
        "profile": profile.to_string(),
        "ops": row.ops,
        "ns_per_op": row.ns_per_op,
        "ops_per_sec": row.ops_per_sec,
        "rate_per_sec": row.rate_per_sec,
        "p50_ns": latency.map(|l| l.p50_ns),
        "p99_ns": latency.map(|l| l.p99_ns),
        "p999_ns": latency.map(|l| l.p999_ns),
        "max_ns": latency.map(|l| l.max_ns),
        "cancel_p99_ns": row.cancel_latency.map(|l| l.p99_ns),
        "bytes_per_order": row.bytes_per_order,
        "verified": row.verdict.is_ok(),
    })
    .to_string()
}
