//! The differential test: random order flow runs through the fast engine and the naive
//! reference engine, and every event of every command must be identical. The fast side
//! runs inside the harness, which checks every invariant after every command; state hashes
//! are compared periodically and at the end.
//!
//! CI runs 200 seeds × 20,000 commands. The 10M-command run is `--ignored`:
//! `cargo test --release -p cex-engine --test differential -- --ignored`.

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
use cex_engine::testkit::harness::Harness;
use cex_engine::testkit::reference::ReferenceEngine;
use cex_engine::{CommandEnvelope, Event};

const HASH_EVERY: usize = 997;

fn run_seed(seed: u64, commands: usize, config: FlowConfig) {
    let mut flow = FlowGenerator::new(seed, config);
    let engine_config = flow.engine_config();
    let mut fast = Harness::new(engine_config);
    let mut reference = ReferenceEngine::new(engine_config);
    let mut reference_events = Vec::new();
    for envelope in flow.setup() {
        step(seed, &mut fast, &mut reference, &mut reference_events, envelope);
    }
    for index in 0..commands {
        let envelope = flow.next_command();
        step(seed, &mut fast, &mut reference, &mut reference_events, envelope);
        flow.observe(&fast.events);
        if index % HASH_EVERY == 0 {
            assert_eq!(
                fast.engine.state_hash(),
                reference.state_hash(),
                "seed {seed}: state hash differs at {envelope:?}"
            );
        }
    }
    assert_eq!(fast.engine.state_hash(), reference.state_hash(), "seed {seed}: final state hash differs");
}

fn step(
    seed: u64,
    fast: &mut Harness,
    reference: &mut ReferenceEngine,
    reference_events: &mut Vec<Event>,
    envelope: CommandEnvelope,
) {
    fast.apply_envelope(envelope);
    reference_events.clear();
    reference.apply(&envelope, reference_events);
    if fast.events != *reference_events {
        panic!("{}", describe_mismatch(seed, &envelope, &fast.events, reference_events));
    }
}

fn describe_mismatch(seed: u64, envelope: &CommandEnvelope, fast: &[Event], reference: &[Event]) -> String {
    let mut text = format!("seed {seed}: events differ for {envelope:#?}\n");
    for index in 0..fast.len().max(reference.len()) {
        let (f, r) = (fast.get(index), reference.get(index));
        let marker = if f == r { "  " } else { "!!" };
        text += &format!("{marker} fast:      {f:?}\n{marker} reference: {r:?}\n");
    }
    text
}

/// Runs seeds `0..seeds` on every core.
fn run_seeds(seeds: u64, commands: usize, config: FlowConfig) {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    std::thread::scope(|scope| {
        for worker in 0..workers {
            let config = config.clone();
            scope.spawn(move || {
                for seed in (worker..seeds).step_by(workers as usize) {
                    run_seed(seed, commands, config.clone());
                }
            });
        }
    });
}

#[test]
fn two_hundred_seeds_of_twenty_thousand_commands() {
    run_seeds(200, 20_000, FlowConfig::default());
}

#[test]
fn reference_data_changes_mid_flow() {
    run_seeds(20, 20_000, FlowConfig { refdata_changes: true, ..FlowConfig::default() });
}

#[test]
fn tight_capacities_clock_faults_and_bad_input() {
    let config =
        FlowConfig { tight_capacities: true, clock_faults_pct: 2, invalid_ratio_pct: 20, ..FlowConfig::default() };
    run_seeds(20, 20_000, config);
}

#[test]
#[ignore = "10M commands: run with --release --ignored"]
fn ten_million_commands() {
    run_seeds(50, 200_000, FlowConfig { refdata_changes: true, ..FlowConfig::default() });
}

/// Guards the differential test against a flow that drifted into rejects: the events of a
/// few seeds must include every kind of event, every cancel reason a random flow can reach,
/// and most reject reasons.
#[test]
fn the_flow_reaches_every_event_cancel_reason_and_most_rejects() {
    use cex_engine::{CancelReason, EventBody, RejectReason};
    use std::collections::BTreeMap;
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut cancel_reasons = std::collections::BTreeSet::new();
    let mut reject_reasons = std::collections::BTreeSet::new();
    for seed in 0..4 {
        let mut flow = FlowGenerator::new(seed, FlowConfig { refdata_changes: true, ..FlowConfig::default() });
        let mut fast = Harness::new(flow.engine_config());
        for envelope in flow.setup() {
            fast.apply_envelope(envelope);
        }
        for _ in 0..20_000 {
            fast.apply_envelope(flow.next_command());
            flow.observe(&fast.events);
            for event in &fast.events {
                let name = format!("{:?}", event.body);
                *kinds.entry(name[..name.find(['(', ' ']).unwrap_or(name.len())].to_string()).or_default() += 1;
                match event.body {
                    EventBody::OrderCancelled(c) => drop(cancel_reasons.insert(c.reason)),
                    EventBody::Rejected(r) => drop(reject_reasons.insert(r.reason)),
                    _ => {}
                }
            }
        }
    }
    println!("events: {kinds:?}\ncancel reasons: {cancel_reasons:?}\nreject reasons: {reject_reasons:?}");
    assert!(kinds.len() >= 15, "event kinds seen: {kinds:?}");
    assert!(kinds["Trade"] > 10_000, "too few trades: {kinds:?}");
    for reason in CancelReason::ALL.iter().filter(|r| **r != CancelReason::BookCapacity) {
        assert!(cancel_reasons.contains(reason), "no {reason:?} cancel");
    }
    assert!(reject_reasons.len() * 10 >= RejectReason::ALL.len() * 7, "few reject reasons: {reject_reasons:?}");
}
