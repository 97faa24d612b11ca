//! `cex bench pipeline` end to end, small: every run must verify.

use cex_bench::pipeline::{measure, pipeline_bench, EngineIdle, LayoutChoice, PipelineBenchOptions};

#[test]
fn a_tiny_pipeline_bench_verifies() {
    let options = PipelineBenchOptions {
        ops: 5_000,
        rates: vec![100_000],
        seconds: 0.05,
        json: true,
        ..PipelineBenchOptions::default()
    };
    let results = measure(&options).unwrap();
    assert!(results.verified(), "{}", results.tables());
    let lines = results.json_lines();
    // Ping-pong, pipeline busy-spin and park, relay; two closed-loop rows.
    assert_eq!(lines.len(), 6, "{lines:#?}");
    for line in &lines {
        let row: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["bench"], "pipeline");
        if row["kind"] != "ping_pong" {
            assert_eq!(row["verified"], true, "{line}");
        }
        if row["kind"] == "open_loop" {
            assert_eq!(row["commands"], 5_000);
            assert!(row["p50_ns"].as_u64().unwrap() <= row["p999_ns"].as_u64().unwrap());
            assert!(row["rtt_ratio_p99"].as_f64().unwrap() > 0.0);
        }
    }
}

#[test]
fn the_split_layout_and_bad_options() {
    let options = PipelineBenchOptions {
        ops: 2_000,
        rates: vec![50_000],
        seconds: 0.04,
        json: true,
        idles: vec![EngineIdle::BusySpin],
        layout: LayoutChoice::Split,
        ..PipelineBenchOptions::default()
    };
    assert_eq!(pipeline_bench(&options), Ok(true));
    assert!(pipeline_bench(&PipelineBenchOptions { rates: vec![0], ..PipelineBenchOptions::default() }).is_err());
    assert_eq!(EngineIdle::parse("park"), Ok(EngineIdle::Park));
    assert!(LayoutChoice::parse("diagonal").is_err());
}

/// The defaults of `cex bench pipeline`, with the report printed: `cargo test --release -p
/// cex-bench --test pipeline -- --ignored --nocapture`. `PIPELINE_BENCH_SECONDS`,
/// `PIPELINE_BENCH_RATES`, `PIPELINE_BENCH_IDLE` (comma-separated),
/// `PIPELINE_BENCH_RUNS` and `PIPELINE_BENCH_LAYOUT` override.
#[test]
#[ignore]
fn pipeline_bench_with_the_defaults() {
    let mut options = PipelineBenchOptions::default();
    if let Ok(seconds) = std::env::var("PIPELINE_BENCH_SECONDS") {
        options.seconds = seconds.parse().unwrap();
    }
    if let Ok(rates) = std::env::var("PIPELINE_BENCH_RATES") {
        options.rates = rates.split(',').map(|rate| rate.parse().unwrap()).collect();
    }
    if let Ok(idles) = std::env::var("PIPELINE_BENCH_IDLE") {
        options.idles = idles.split(',').map(|idle| EngineIdle::parse(idle).unwrap()).collect();
    }
    if let Ok(runs) = std::env::var("PIPELINE_BENCH_RUNS") {
        options.runs = runs.parse().unwrap();
    }
    if let Ok(layout) = std::env::var("PIPELINE_BENCH_LAYOUT") {
        options.layout = LayoutChoice::parse(&layout).unwrap();
    }
    assert_eq!(pipeline_bench(&options), Ok(true));
}
