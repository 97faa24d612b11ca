//! `cex replay` against a data directory written by a real `DurableEngine` running a random
//! flow: verification, statistics, the JSON dump, rebuilt state hashes, damage reports, and
//! that nothing in the directory changes.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cex_engine::render::Renderer;
use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
use cex_engine::{CommandEnvelope, Engine, EngineConfig, Event};
use cex_journal::{
    record_bytes, Durability, DurableConfig, DurableEngine, JournalConfig, Origin, SnapshotPolicy, HEADER_BYTES,
};
use serde_json::Value;

const COMMANDS: usize = 20_000;
/// Small segments, so each journal spans several.
const SEGMENT_BYTES: u64 = 512 << 10;

struct Fixture {
    dir: tempfile::TempDir,
    /// Every sequenced command, in order: `commands[i].seq == i + 1`.
    commands: Vec<CommandEnvelope>,
    final_hash: u64,
}

/// A data directory holding the flow's set-up and ~20k commands, with a snapshot every 5k.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = DurableConfig {
        dir: dir.path().to_path_buf(),
        journal: JournalConfig {
            segment_bytes: SEGMENT_BYTES,
            durability: Durability::Mmap,
            ..JournalConfig::default()
        },
        snapshots: SnapshotPolicy { every_commands: 5_000, every_ns: 0, keep: 8 },
    };
    // `cex replay` uses the default engine config: the data directory records none yet.
    let (mut durable, _) = DurableEngine::open(&config, EngineConfig::default()).unwrap();
    let mut flow = FlowGenerator::new(5, FlowConfig::default());
    let (mut commands, mut events) = (Vec::new(), Vec::new());
    for envelope in flow.setup() {
        submit(&mut durable, envelope, &mut commands, &mut events);
    }
    for _ in 0..COMMANDS {
        if submit(&mut durable, flow.next_command(), &mut commands, &mut events) {
            flow.observe(&events);
        }
    }
    let final_hash = durable.engine().state_hash();
    durable.close().unwrap();
    Fixture { dir, commands, final_hash }
}

/// Submits one command; the wire format refuses a few deliberately absurd ones unsequenced.
fn submit(
    durable: &mut DurableEngine,
    envelope: CommandEnvelope,
    commands: &mut Vec<CommandEnvelope>,
    events: &mut Vec<Event>,
) -> bool {
    events.clear();
    let Ok(seq) = durable.submit(envelope.ts_ns, Origin::INTERNAL, &envelope.command, events) else {
        return false;
    };
    commands.push(CommandEnvelope { seq, ..envelope });
    true
}

/// `cex replay <command> --data <dir> <args>`.
fn replay(command: &str, dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_cex"))
        .args(["replay", command, "--data"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(!stderr(&output).contains("panicked"), "cex replay {command} panicked: {}", stderr(&output));
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The value after `key: ` on the line that starts with it.
fn field(output: &Output, key: &str) -> String {
    let text = stdout(output);
    let prefix = format!("{key}: ");
    let line = text.lines().find_map(|line| line.strip_prefix(&prefix));
    line.unwrap_or_else(|| panic!("no {key} in\n{text}")).to_string()
}

/// The state hash of a fresh engine after the first `n` commands.
fn hash_after(commands: &[CommandEnvelope], n: usize) -> u64 {
    let mut engine = Engine::new(EngineConfig::default());
    let mut events = Vec::new();
    for envelope in &commands[..n] {
        events.clear();
        engine.apply(envelope, &mut events);
    }
    engine.state_hash()
}

/// How many EntityEvents the commands before `seq` render to.
fn entity_events_before(commands: &[CommandEnvelope], seq: u64) -> u64 {
    let mut engine = Engine::new(EngineConfig::default());
    let (mut events, mut renderer) = (Vec::new(), Renderer::new());
    for envelope in &commands[..seq as usize - 1] {
        engine.apply(envelope, &mut events);
    }
    events.iter().map(|event| renderer.render(event).len() as u64).sum()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Every file under `dir` and its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(contents(&path));
        } else {
            files.insert(path.clone(), fs::read(&path).unwrap());
        }
    }
    files
}

/// The command journal's segment files, oldest first.
fn command_segments(dir: &Path) -> Vec<PathBuf> {
    let mut segments: Vec<PathBuf> = fs::read_dir(dir.join("commands")).unwrap().map(|e| e.unwrap().path()).collect();
    segments.retain(|path| path.extension().is_some_and(|e| e == "journal"));
    segments.sort();
    segments
}

/// Where each record of a segment starts, and where the last one ends.
fn record_offsets(segment: &[u8]) -> (Vec<usize>, usize) {
    let (mut offsets, mut at) = (Vec::new(), 0);
    while at + HEADER_BYTES <= segment.len() {
        let len = u32::from_le_bytes(segment[at..at + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        offsets.push(at);
        at += record_bytes(len);
    }
    (offsets, at)
}

#[test]
fn verify_stats_and_dump_read_a_healthy_directory() {
    let fixture = fixture();
    let dir = fixture.dir.path();
    assert!(command_segments(dir).len() >= 3, "the journal should span several segments");

    let verify = replay("verify", dir, &[]);
    assert!(verify.status.success(), "{}{}", stdout(&verify), stderr(&verify));
    assert!(stdout(&verify).ends_with("ok\n"));

    let stats = replay("stats", dir, &[]);
    assert!(stats.status.success(), "{}", stderr(&stats));
    let records = fixture.commands.len();
    assert!(stdout(&stats).starts_with(&format!("commands\n  records: {records}\n  seq: 1..={records}\n")));
    assert!(stdout(&stats).contains(&format!("events\n  records: {records}\n")));
    assert!(field(&stats, "snapshots").split(' ').count() >= 3);

    let dump = replay("dump", dir, &["--events", "--from", "10", "--to", "20"]);
    assert!(dump.status.success(), "{}", stderr(&dump));
    let (mut seqs, mut current, mut event_ids) = (Vec::new(), 0, Vec::new());
    for line in stdout(&dump).lines() {
        let json: Value = serde_json::from_str(line).unwrap();
        if let Some(seq) = json["seq"].as_u64() {
            let envelope = &fixture.commands[seq as usize - 1];
            assert_eq!(json["ts_ns"], envelope.ts_ns);
            assert_eq!(json["command"], envelope.command.kind().name());
            current = seq;
            seqs.push(seq);
        } else {
            assert_eq!(json["transaction_id"], current, "{line}");
            assert!(json["changes"][0]["field_changes"].is_array());
            event_ids.push(json["event_id"].as_u64().unwrap());
        }
    }
    assert_eq!(seqs, (10..=20).collect::<Vec<_>>());
    // Event ids count from the start of the journal, not from --from.
    assert_eq!(event_ids.first(), Some(&(entity_events_before(&fixture.commands, 10) + 1)));
    assert!(event_ids.windows(2).all(|pair| pair[1] == pair[0] + 1));
}

#[test]
fn state_rebuilds_the_engine_hash_at_any_sequence() {
    let fixture = fixture();
    let dir = fixture.dir.path();
    let end = replay("state", dir, &[]);
    assert!(end.status.success(), "{}", stderr(&end));
    assert_eq!(field(&end, "seq"), fixture.commands.len().to_string());
    assert_eq!(field(&end, "state_hash"), format!("{:016x}", fixture.final_hash));
    assert!(field(&end, "rebuilt_from").starts_with("snapshot "));

    for (upto, from) in [(3_000, "scratch"), (12_345, "snapshot 10000")] {
        let state = replay("state", dir, &["--upto", &upto.to_string()]);
        assert!(state.status.success(), "{}", stderr(&state));
        assert_eq!(field(&state, "state_hash"), format!("{:016x}", hash_after(&fixture.commands, upto)));
        assert_eq!(field(&state, "rebuilt_from"), from);
    }

    let past = replay("state", dir, &["--upto", &(fixture.commands.len() + 1).to_string()]);
    assert_eq!(past.status.code(), Some(2));
    assert!(stderr(&past).contains("past the command journal's end"));
}

#[test]
fn a_flipped_byte_in_a_middle_record_is_named() {
    let fixture = fixture();
    let dir = fixture.dir.path();
    let segment = command_segments(dir)[1].clone();
    let mut bytes = fs::read(&segment).unwrap();
    let (offsets, _) = record_offsets(&bytes);
    let offset = offsets[offsets.len() / 2];
    bytes[offset + HEADER_BYTES + 1] ^= 0x40;
    fs::write(&segment, &bytes).unwrap();
    let before = contents(dir);

    let verify = replay("verify", dir, &[]);
    assert_eq!(verify.status.code(), Some(1));
    let message = stderr(&verify);
    let name = segment.file_name().unwrap().to_str().unwrap();
    assert!(message.contains(name) && message.contains(&format!("offset {offset}")), "{message}");
    assert!(message.contains("checksum-failing record"), "{message}");

    let state = replay("state", dir, &[]);
    assert_eq!(state.status.code(), Some(1));
    assert!(stderr(&state).contains(&format!("offset {offset}")));
    // The state before the damage can still be rebuilt.
    let before_damage: usize = name.strip_suffix(".journal").unwrap().parse().unwrap();
    let state = replay("state", dir, &["--upto", &before_damage.to_string()]);
    assert!(state.status.success(), "{}", stderr(&state));
    assert_eq!(field(&state, "state_hash"), format!("{:016x}", hash_after(&fixture.commands, before_damage)));
    assert_eq!(replay("stats", dir, &[]).status.code(), Some(1));
    assert!(contents(dir) == before, "verify, state and stats must not change the data directory");
}

#[test]
fn a_torn_tail_is_reported_and_left_alone() {
    let fixture = fixture();
    let dir = fixture.dir.path();
    let segment = command_segments(dir).pop().unwrap();
    let (offsets, end) = record_offsets(&fs::read(&segment).unwrap());
    let last = *offsets.last().unwrap();
    fs::OpenOptions::new().write(true).open(&segment).unwrap().set_len((last + end) as u64 / 2 + 4).unwrap();
    let before = contents(dir);

    let verify = replay("verify", dir, &[]);
    assert_eq!(verify.status.code(), Some(1));
    assert!(stdout(&verify).contains(&format!("torn tail in {} at offset {last}", segment.display())));
    assert!(stderr(&verify).contains("torn tail"));

    // The state stops before the torn record, as recovery would.
    let state = replay("state", dir, &[]);
    assert!(state.status.success(), "{}", stderr(&state));
    let kept = fixture.commands.len() - 1;
    assert_eq!(field(&state, "seq"), kept.to_string());
    assert_eq!(field(&state, "state_hash"), format!("{:016x}", hash_after(&fixture.commands, kept)));
    assert!(contents(dir) == before, "verify and state must not cut the tail");
}

#[test]
fn reading_changes_nothing() {
    let fixture = fixture();
    let dir = fixture.dir.path();
    let before = contents(dir);
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir, copy.path());
    for (command, args) in
        [("verify", &[][..]), ("stats", &[]), ("dump", &["--events"]), ("state", &[]), ("state", &["--upto", "7777"])]
    {
        assert!(replay(command, dir, args).status.success(), "{command}");
    }
    assert!(contents(dir) == before);
    // No directory is created either: a data directory without snapshots stays without.
    fs::remove_dir_all(copy.path().join("snapshots")).unwrap();
    let state = replay("state", copy.path(), &[]);
    assert_eq!(field(&state, "rebuilt_from"), "scratch");
    assert_eq!(field(&state, "state_hash"), format!("{:016x}", fixture.final_hash));
    assert!(!copy.path().join("snapshots").exists());
}

#[test]
fn dump_stops_quietly_when_its_reader_goes_away() {
    let fixture = fixture();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cex"))
        .args(["replay", "dump", "--events", "--data"])
        .arg(fixture.dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    assert!(first.starts_with("{\"seq\":1,"), "{first}");
    // The reader is dropped here, closing the pipe while the dump still has megabytes to go.
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stderr.is_empty(), "{}", stderr(&output));
}

#[test]
fn bad_input_is_refused_with_a_message() {
    let missing = replay("verify", Path::new("/nonexistent/cex-data"), &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("is not a data directory"));

    let garbage = tempfile::tempdir().unwrap();
    for journal in ["commands", "events"] {
        fs::create_dir_all(garbage.path().join(journal)).unwrap();
        fs::write(garbage.path().join(journal).join(format!("{:020}.journal", 1)), b"not a journal at all, really")
            .unwrap();
    }
    fs::create_dir_all(garbage.path().join("snapshots")).unwrap();
    fs::write(garbage.path().join("snapshots").join(format!("{:020}.snapshot", 5)), b"garbage").unwrap();
    for command in ["verify", "stats"] {
        let output = replay(command, garbage.path(), &[]);
        assert_eq!(output.status.code(), Some(1), "{command}: {}", stderr(&output));
    }
    let verify = stdout(&replay("verify", garbage.path(), &[]));
    assert!(verify.contains("snapshot 5: not a snapshot file"), "{verify}");
    assert_eq!(replay("dump", garbage.path(), &[]).status.code(), Some(2));
    assert_eq!(replay("dump", garbage.path(), &["--from", "0"]).status.code(), Some(2));
    let state = replay("state", garbage.path(), &["--upto", "3"]);
    assert_ne!(state.status.code(), Some(0));
}
