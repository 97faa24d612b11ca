//! `cex bench engine`: generate or load a workload, run every engine over it, report.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;

use crate::op::BenchEngine;
use crate::ours::{Ours, Reference};
use crate::runner::{self, Factory, Measurement};
use crate::workload::{Profile, Workload};
use crate::{opfile, peers, report};

pub struct EngineBenchOptions {
    pub profile: Profile,
    pub ops: Option<u64>,
    pub json: bool,
    /// Open-loop rates, ops per second; empty skips the latency runs.
    pub rates: Vec<u64>,
    /// Read the workload from this op file instead of generating it.
    pub workload: Option<PathBuf>,
    /// Write the generated workload here.
    pub save: Option<PathBuf>,
    pub seed: u64,
    pub engines: EngineSelection,
}

/// Which engines run besides ours.
#[derive(Clone, Copy)]
pub struct EngineSelection {
    /// The naive reference engine (slow on big books).
    pub with_reference: bool,
    pub with_peers: bool,
}

/// Runs the benchmark; returns false if any engine failed to reproduce the expected results.
pub fn engine_bench(options: &EngineBenchOptions) -> std::io::Result<bool> {
    let say = |line: String| {
        if !options.json {
            eprintln!("{line}");
        }
    };
    let workload = load_or_generate(options, &say)?;
    say(format!(
        "machine: {} cores; {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        runner::pin_to_last_core()
    ));
    say(format!("clock read costs {:.1} ns (included in every open-loop latency)", runner::clock_read_ns()));
    let factories = factories(&workload, options.engines);
    let mut closed = Vec::new();
    for factory in &factories {
        let name = factory().name();
        let bar = runner::progress_bar(workload.total_timed_ops(), name, !options.json);
        closed.push(runner::closed_loop(factory, &workload, &bar));
        bar.finish_and_clear();
    }
    if workload.prefill.len() >= 100_000 {
        measure_memory_in_children(&workload, options, &mut closed)?;
    }
    let mut open = Vec::new();
    for rate in &options.rates {
        for factory in factories.iter().take(2) {
            let bar = runner::progress_bar(workload.ops.len() as u64, &format!("open loop {rate}/s"), !options.json);
            open.push(runner::open_loop(factory, &workload, *rate, &bar));
            bar.finish_and_clear();
        }
    }
    print_results(options, &workload, &closed, &open);
    Ok(closed.iter().chain(&open).all(|row| row.verdict.is_ok()))
}

/// Resident memory per resting order, each engine in a fresh process of its own: in one
/// process, memory one engine frees is reused by the next and hides its cost.
fn measure_memory_in_children(
    workload: &Workload,
    options: &EngineBenchOptions,
    rows: &mut [Measurement],
) -> std::io::Result<()> {
    let path = std::env::temp_dir().join(format!("cex-bench-{}.ops", std::process::id()));
    opfile::write(workload, &mut BufWriter::new(File::create(&path)?))?;
    let executable = std::env::current_exe()?;
    for (index, row) in rows.iter_mut().enumerate() {
        let mut command = std::process::Command::new(&executable);
        command.args(["bench", "memory", "--engine-index", &index.to_string(), "--workload"]).arg(&path);
        if !options.engines.with_reference {
            command.arg("--no-reference");
        }
        if !options.engines.with_peers {
            command.arg("--no-peers");
        }
        let output = command.output()?;
        row.bytes_per_order = String::from_utf8_lossy(&output.stdout).trim().parse().ok();
    }
    std::fs::remove_file(&path)
}

/// The child side of the memory measurement: builds one engine's book, prints bytes per
/// resting order.
pub fn memory_probe(
    workload_path: &std::path::Path,
    engine_index: usize,
    engines: EngineSelection,
) -> std::io::Result<f64> {
    let workload = opfile::read(&mut BufReader::new(File::open(workload_path)?))?;
    let factories = factories(&workload, engines);
    let factory = factories.get(engine_index).ok_or_else(|| std::io::Error::other("no engine with that index"))?;
    let (_engine, per_order) = runner::prepared(factory, &workload);
    per_order.ok_or_else(|| std::io::Error::other("the workload's prefill is too small to measure"))
}

fn load_or_generate(options: &EngineBenchOptions, say: &dyn Fn(String)) -> std::io::Result<Workload> {
    if let Some(path) = &options.workload {
        say(format!("reading workload {}", path.display()));
        return opfile::read(&mut BufReader::new(File::open(path)?));
    }
    let ops = options.ops.unwrap_or(Profile::DEFAULT_OPS);
    say(format!("generating profile {} with {ops} ops through the reference engine", options.profile.letter()));
    let workload = Workload::generate(options.profile, ops, options.seed);
    if let Some(path) = &options.save {
        opfile::write(&workload, &mut BufWriter::new(File::create(path)?))?;
        say(format!("saved workload to {}", path.display()));
    }
    Ok(workload)
}

/// Ours first (matching only, then with risk): the open-loop runs take the first two.
fn factories(workload: &Workload, engines: EngineSelection) -> Vec<Factory> {
    let live = workload.max_live_orders;
    let mut factories: Vec<Factory> = vec![
        Box::new(move || Box::new(Ours::matching_only(live)) as Box<dyn BenchEngine>),
        Box::new(move || Box::new(Ours::with_risk(live)) as Box<dyn BenchEngine>),
    ];
    if engines.with_reference {
        factories.push(Box::new(move || Box::new(Reference::new(live)) as Box<dyn BenchEngine>));
    }
    if engines.with_peers {
        for index in 0..peers::all().len() {
            factories.push(Box::new(move || peers::all().swap_remove(index)));
        }
    }
    factories
}

fn print_results(options: &EngineBenchOptions, workload: &Workload, closed: &[Measurement], open: &[Measurement]) {
    let profile = workload.profile.letter();
    if options.json {
        for row in closed.iter().chain(open) {
            println!("{}", report::json_line(row, profile));
        }
        return;
    }
    println!(
        "\nprofile {profile}: {} timed ops ({} replay(s)), {} prefill, {} symbols, {} accounts; expected {} trades",
        workload.total_timed_ops(),
        workload.replays,
        workload.prefill.len(),
        workload.symbols,
        workload.accounts,
        workload.expected.trades
    );
    println!(
        "\nclosed loop (× = ns/op relative to cex (matching)):\n{}",
        report::throughput_table(closed, "cex (matching)")
    );
    if !open.is_empty() {
        println!("open loop, latency from each op's scheduled time:\n{}", report::latency_table(open));
    }
    println!("peak RSS of this process: {:.0} MiB", runner::peak_resident_bytes() as f64 / (1 << 20) as f64);
}
