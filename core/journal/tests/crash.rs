//! Crash test: a durable engine in `mmap` mode, and in `fsync` mode on the io_uring writer,
//! runs as a child process and is killed with SIGKILL at random moments while orders stream
//! in. After every kill:
//! - every command it acknowledged is in the journal exactly once, byte for byte;
//! - the restarted child recovers to the state a fresh replay of that prefix reaches;
//! - money is conserved and every other invariant holds in that state.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdout, Command as Process, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator, Rng};
use cex_engine::{BalanceCause, Command, CommandEnvelope, Engine, EngineConfig, EventBody};
use cex_journal::{decode_command_record, JournalReader, Origin};

const KILLS: usize = 20;
const COMMANDS: usize = 200_000;

/// Commands that fit the wire format, generated against an in-process mirror so that
/// cancels and amends name live orders. Index i holds sequence i + 1.
fn generate_commands() -> Vec<(u64, Command)> {
    let mut flow = FlowGenerator::new(23, FlowConfig::default());
    let mut mirror = Engine::new(EngineConfig::default());
    let mut commands = Vec::with_capacity(COMMANDS);
    let mut events = Vec::new();
    let mut buffer = [0u8; cex_schema::MAX_MESSAGE_BYTES];
    let setup = flow.setup();
    let mut next = setup.into_iter();
    while commands.len() < COMMANDS {
        let envelope = next.next().unwrap_or_else(|| flow.next_command());
        if cex_schema::encode_command(&envelope.command, &mut buffer).is_err() {
            continue;
        }
        let seq = commands.len() as u64 + 1;
        events.clear();
        mirror.apply(&CommandEnvelope { seq, ..envelope }, &mut events);
        flow.observe(&events);
        commands.push((envelope.ts_ns, envelope.command));
    }
    commands
}

fn frame(ts_ns: u64, command: &Command) -> Vec<u8> {
    let mut message = [0u8; cex_schema::MAX_MESSAGE_BYTES];
    let length = cex_schema::encode_command(command, &mut message).unwrap();
    let mut bytes = ts_ns.to_le_bytes().to_vec();
    bytes.extend_from_slice(&(length as u16).to_le_bytes());
    bytes.extend_from_slice(&message[..length]);
    bytes
}

fn spawn_child(dir: &Path, durability: &str) -> (Child, BufReader<ChildStdout>, u64, u64) {
    let mut child = Process::new(env!("CARGO_BIN_EXE_cex-journal-crash-child"))
        .arg(dir)
        .arg(durability)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the child");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.first(), Some(&"ready"), "child said {line:?}");
    (child, stdout, words[1].parse().unwrap(), words[2].parse().unwrap())
}

/// The state a fresh engine reaches on the first `count` commands, checked for every
/// invariant, money conservation included.
fn replay_prefix(commands: &[(u64, Command)], count: u64) -> u64 {
    let mut engine = Engine::new(EngineConfig::default());
    let mut net_deposits: BTreeMap<u16, i64> = BTreeMap::new();
    let mut events = Vec::new();
    for (index, (ts_ns, command)) in commands[..count as usize].iter().enumerate() {
        events.clear();
        engine.apply(&CommandEnvelope { seq: index as u64 + 1, ts_ns: *ts_ns, command: *command }, &mut events);
        for event in &events {
            if let EventBody::BalanceChanged(change) = event.body {
                if matches!(change.cause, BalanceCause::Deposit | BalanceCause::Withdrawal) {
                    *net_deposits.entry(change.asset).or_default() += change.available_after - change.available_before;
                }
            }
        }
    }
    engine.check_invariants(&net_deposits).expect("invariants after recovery");
    engine.state_hash()
}

/// Every command in the journal is the one sent with that sequence, once, in order.
fn journaled_commands(dir: &Path, commands: &[(u64, Command)]) -> u64 {
    let mut reader = JournalReader::open(dir.join("commands"), 1).unwrap();
    let mut count = 0;
    while let Some(record) = reader.try_next().unwrap() {
        count += 1;
        assert_eq!(record.seq, count);
        let (ts_ns, command) = &commands[count as usize - 1];
        assert_eq!(record.timestamp_ns, *ts_ns);
        let (origin, journaled) = decode_command_record(record.payload).unwrap();
        assert_eq!((origin, &journaled), (Origin::INTERNAL, command), "journal record {count} is not what was sent");
    }
    count
}

/// Streams commands from `from_seq` until the child is killed; returns the last ack seen.
fn stream_until_killed(
    mut child: Child,
    stdout: BufReader<ChildStdout>,
    commands: &[(u64, Command)],
    from_seq: u64,
    kill_after: Duration,
) -> u64 {
    let last_ack = Arc::new(AtomicU64::new(0));
    let acks = {
        let last_ack = last_ack.clone();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if let Some(seq) = line.strip_prefix("ack ").and_then(|s| s.parse::<u64>().ok()) {
                    last_ack.store(seq, Ordering::Release);
                }
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let frames: Vec<Vec<u8>> = commands[from_seq as usize - 1..].iter().map(|(ts, c)| frame(*ts, c)).collect();
    let writer = std::thread::spawn(move || {
        for bytes in frames {
            if stdin.write_all(&bytes).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(kill_after);
    child.kill().unwrap();
    child.wait().unwrap();
    writer.join().unwrap();
    acks.join().unwrap();
    last_ack.load(Ordering::Acquire)
}

#[test]
fn sigkill_at_random_moments_loses_no_acknowledged_command() {
    kill_and_recover("mmap", KILLS);
}

/// Acks wait for the durable sequence, which the io_uring writer publishes per group.
#[test]
fn sigkill_in_fsync_mode_on_the_io_uring_writer_loses_no_durable_command() {
    kill_and_recover("fsync", KILLS);
}

fn kill_and_recover(durability: &str, kills_wanted: usize) {
    let commands = generate_commands();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(17);
    let mut acknowledged = 0;
    let mut kills = 0;
    for round in 0..=kills_wanted {
        let (child, stdout, recovered_seq, recovered_hash) = spawn_child(dir.path(), durability);
        assert!(recovered_seq >= acknowledged, "round {round}: acknowledged {acknowledged}, recovered {recovered_seq}");
        assert_eq!(recovered_hash, replay_prefix(&commands, recovered_seq), "round {round}: wrong recovered state");
        if round == kills_wanted || recovered_seq as usize == commands.len() {
            drop(child);
            break;
        }
        let kill_after = Duration::from_millis(2 + rng.below(30));
        acknowledged = stream_until_killed(child, stdout, &commands, recovered_seq + 1, kill_after);
        kills += 1;
        eprintln!("kill {kills}: recovered {recovered_seq}, acknowledged {acknowledged}");
        let journaled = journaled_commands(dir.path(), &commands);
        assert!(journaled >= acknowledged, "round {round}: acknowledged {acknowledged} but journaled {journaled}");
    }
    assert_eq!(kills, kills_wanted, "the commands ran out before every kill");
}
