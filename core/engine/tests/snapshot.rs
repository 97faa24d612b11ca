//! Snapshots: restoring at any point gives the same state hash, and the restored engine then
//! produces byte-identical events for every later command. Damaged snapshots are refused,
//! never half-loaded.

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator, Rng};
use cex_engine::{CommandEnvelope, Engine, Event};

/// Runs a flow, snapshots at `snapshot_at`, restores, and drives both engines on.
fn restore_mid_flow(seed: u64, snapshot_at: usize, commands: usize) {
    let mut flow = FlowGenerator::new(seed, FlowConfig { refdata_changes: true, ..FlowConfig::default() });
    let config = flow.engine_config();
    let mut original = Engine::new(config);
    let mut events = Vec::new();
    for envelope in flow.setup() {
        original.apply(&envelope, &mut events);
    }
    let drive = |engine: &mut Engine, flow: &mut FlowGenerator, events: &mut Vec<Event>| {
        let envelope: CommandEnvelope = flow.next_command();
        events.clear();
        engine.apply(&envelope, events);
        flow.observe(events);
        envelope
    };
    for _ in 0..snapshot_at {
        drive(&mut original, &mut flow, &mut events);
    }
    let mut bytes = Vec::new();
    original.snapshot(&mut bytes);
    let mut restored = Engine::restore(config, &bytes).expect("a fresh snapshot restores");
    assert_eq!(restored.state_hash(), original.state_hash(), "seed {seed}");
    let mut restored_events = Vec::new();
    for _ in snapshot_at..commands {
        let envelope = drive(&mut original, &mut flow, &mut events);
        restored_events.clear();
        restored.apply(&envelope, &mut restored_events);
        assert_eq!(restored_events, events, "seed {seed}: restored engine diverged at {envelope:?}");
    }
    assert_eq!(restored.state_hash(), original.state_hash(), "seed {seed}");
}

#[test]
fn restoring_at_random_points_continues_identically() {
    let mut rng = Rng::new(99);
    for seed in 0..24 {
        let snapshot_at = rng.below(8_000) as usize;
        restore_mid_flow(seed, snapshot_at, 10_000);
    }
}

fn snapshot_of_a_busy_engine() -> (cex_engine::EngineConfig, Engine, Vec<u8>) {
    let mut flow = FlowGenerator::new(5, FlowConfig::default());
    let config = flow.engine_config();
    let mut engine = Engine::new(config);
    let mut events = Vec::new();
    for envelope in flow.setup() {
        engine.apply(&envelope, &mut events);
    }
    for _ in 0..3_000 {
        events.clear();
        engine.apply(&flow.next_command(), &mut events);
        flow.observe(&events);
    }
    let mut bytes = Vec::new();
    engine.snapshot(&mut bytes);
    (config, engine, bytes)
}

#[test]
fn every_truncation_is_refused() {
    let (config, _, bytes) = snapshot_of_a_busy_engine();
    for length in (0..bytes.len()).step_by(7).chain([bytes.len() - 1]) {
        assert!(Engine::restore(config, &bytes[..length]).is_err(), "truncated at {length} of {}", bytes.len());
    }
}

#[test]
fn a_flipped_byte_is_refused_or_changes_nothing_that_matters() {
    let (config, engine, bytes) = snapshot_of_a_busy_engine();
    let mut rng = Rng::new(3);
    let mut refused = 0;
    for _ in 0..2_000 {
        let mut damaged = bytes.clone();
        let at = rng.below(damaged.len() as u64) as usize;
        damaged[at] ^= 1 << rng.below(8);
        match Engine::restore(config, &damaged) {
            Err(_) => refused += 1,
            // A flip can only survive where it makes no difference the state hash can see,
            // such as the account of an all-zero balance record.
            Ok(restored) => assert_eq!(restored.state_hash(), engine.state_hash(), "flip at {at} accepted"),
        }
    }
    assert!(refused > 1_900, "only {refused} of 2000 flips refused");
}

#[test]
fn garbage_is_not_a_snapshot() {
    let config = cex_engine::EngineConfig::default();
    assert!(Engine::restore(config, b"").is_err());
    assert!(Engine::restore(config, b"CEXSNAP1\x02\0\0\0").is_err());
    assert!(Engine::restore(config, &[0xAB; 4096]).is_err());
}
