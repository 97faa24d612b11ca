//! Replay: a random 1M-command journal, replayed from scratch or from a random snapshot,
//! reaches the same state hash and regenerates byte-identical events.

use std::path::Path;

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator, Rng};
use cex_engine::EngineConfig;
use cex_journal::{
    Durability, DurableConfig, DurableEngine, JournalConfig, JournalReader, JournalWriter, Origin, SnapshotPolicy,
    SnapshotStore,
};

const COMMANDS: usize = 1_000_000;

fn durable_config(dir: &Path, every_commands: u64) -> DurableConfig {
    DurableConfig {
        dir: dir.to_path_buf(),
        journal: JournalConfig { segment_bytes: 16 << 20, durability: Durability::Mmap, ..JournalConfig::default() },
        snapshots: SnapshotPolicy { every_commands, every_ns: 0, keep: 8 },
    }
}

/// Runs a random flow through a durable engine; returns the engine config and final hash.
fn record_flow(dir: &Path, commands: usize, every_commands: u64) -> (EngineConfig, u64) {
    let mut flow = FlowGenerator::new(11, FlowConfig::default());
    let engine_config = flow.engine_config();
    let (mut durable, startup) = DurableEngine::open(&durable_config(dir, every_commands), engine_config).unwrap();
    assert_eq!(startup.commands.last_seq, 0);
    let mut events = Vec::new();
    for envelope in flow.setup() {
        events.clear();
        durable.submit(envelope.ts_ns, Origin::INTERNAL, &envelope.command, &mut events).unwrap();
    }
    for _ in 0..commands {
        let envelope = flow.next_command();
        events.clear();
        // The wire format refuses a few deliberately absurd commands before sequencing.
        if durable.submit(envelope.ts_ns, Origin::INTERNAL, &envelope.command, &mut events).is_ok() {
            flow.observe(&events);
        }
    }
    let hash = durable.engine().state_hash();
    durable.close().unwrap();
    (engine_config, hash)
}

/// Every record of a journal directory: (seq, timestamp, payload).
fn records(dir: &Path) -> Vec<(u64, u64, Vec<u8>)> {
    let mut reader = JournalReader::open(dir, 1).unwrap();
    let mut all = Vec::new();
    while let Some(record) = reader.try_next().unwrap() {
        all.push((record.seq, record.timestamp_ns, record.payload.to_vec()));
    }
    all
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// A journal holding only the first `upto` records of `events`.
fn write_events_prefix(dir: &Path, events: &[(u64, u64, Vec<u8>)], upto: u64) {
    let config = JournalConfig { segment_bytes: 16 << 20, durability: Durability::Mmap, ..JournalConfig::default() };
    let (mut writer, _) = JournalWriter::open(dir, config).unwrap();
    for (seq, ts, payload) in events.iter().take_while(|(seq, _, _)| *seq <= upto) {
        writer.append(*seq, *ts, payload).unwrap();
    }
    writer.close().unwrap();
}

#[test]
fn a_million_commands_replay_to_the_same_state_and_events_from_scratch_and_from_a_snapshot() {
    let original = tempfile::tempdir().unwrap();
    let (engine_config, hash) = record_flow(original.path(), COMMANDS, 97_000);
    let original_events = records(&original.path().join("events"));
    assert!(original_events.len() > COMMANDS, "setup plus the flow");

    // From scratch: only the command journal survives.
    let scratch = tempfile::tempdir().unwrap();
    copy_dir(&original.path().join("commands"), &scratch.path().join("commands"));
    let (replayed, startup) = DurableEngine::open(&durable_config(scratch.path(), 0), engine_config).unwrap();
    assert_eq!(startup.snapshot_seq, None);
    assert_eq!(startup.state_hash, hash);
    assert_eq!(startup.regenerated_event_records as usize, original_events.len());
    replayed.close().unwrap();
    assert!(records(&scratch.path().join("events")) == original_events, "events differ after replay");

    // From a random, older snapshot, with the event journal cut back to it.
    let store = SnapshotStore::open(original.path().join("snapshots"), 8).unwrap();
    let snapshots = store.list().unwrap();
    assert!(snapshots.len() >= 5, "snapshots taken: {snapshots:?}");
    let chosen = snapshots[Rng::new(5).below(snapshots.len() as u64 - 1) as usize];
    let partial = tempfile::tempdir().unwrap();
    copy_dir(&original.path().join("commands"), &partial.path().join("commands"));
    write_events_prefix(&partial.path().join("events"), &original_events, chosen);
    let chosen_store = SnapshotStore::open(partial.path().join("snapshots"), 8).unwrap();
    chosen_store.write(chosen, &store.load(chosen).unwrap()).unwrap();
    let (resumed, startup) = DurableEngine::open(&durable_config(partial.path(), 0), engine_config).unwrap();
    assert_eq!(startup.snapshot_seq, Some(chosen));
    assert_eq!(startup.state_hash, hash);
    assert_eq!(startup.replayed_commands as usize, original_events.len() - chosen as usize);
    resumed.close().unwrap();
    assert!(records(&partial.path().join("events")) == original_events, "events differ after snapshot replay");
}

#[test]
fn durability_none_opens_a_fresh_directory_and_keeps_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = durable_config(&dir.path().join("data"), 0);
    config.journal.durability = Durability::None;
    let (mut durable, startup) = DurableEngine::open(&config, EngineConfig::default()).unwrap();
    assert_eq!(startup.replayed_commands, 0);
    let asset = cex_engine::Command::AddAsset(cex_engine::AddAsset { asset: 0, scale: 8 });
    assert_eq!(durable.submit(1, Origin::INTERNAL, &asset, &mut Vec::new()).unwrap(), 1);
    durable.close().unwrap();
    assert!(!dir.path().join("data/commands").exists());
}

/// After a crash in `fsync` mode the event journal can hold events of commands that never
/// reached the disk. Opening in `fsync` mode drops them; `mmap` mode still refuses.
#[test]
fn fsync_mode_drops_events_past_the_command_journal() {
    const COMMANDS: usize = 5_000;
    const LOST: u64 = 300;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (engine_config, _) = record_flow(&data, COMMANDS, 0);
    let commands = records(&data.join("commands"));
    let events = records(&data.join("events"));
    let kept = commands.len() as u64 - LOST;
    std::fs::remove_dir_all(data.join("commands")).unwrap();
    write_events_prefix(&data.join("commands"), &commands, kept);

    let mmap = durable_config(&data, 0);
    assert!(matches!(DurableEngine::open(&mmap, engine_config), Err(cex_journal::DurableError::Inconsistent(_))));

    let mut fsync = durable_config(&data, 0);
    fsync.journal.durability = Durability::Fsync;
    let (durable, startup) = DurableEngine::open(&fsync, engine_config).unwrap();
    assert_eq!(startup.dropped_event_records, LOST);
    assert_eq!((startup.commands.last_seq, durable.engine().last_seq()), (kept, kept));
    durable.close().unwrap();
    assert_eq!(records(&data.join("events")), events[..kept as usize].to_vec());

    let (durable, startup) = DurableEngine::open(&mmap, engine_config).unwrap();
    assert_eq!((startup.dropped_event_records, startup.replayed_commands), (0, kept));
    durable.close().unwrap();
}
