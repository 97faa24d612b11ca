//! The pipeline end to end, in process: producers in, consumers out, against a plain engine
//! fed the same commands; backpressure, fairness, a lagging consumer, shutdown and restart.

use std::path::Path;
use std::time::{Duration, Instant};

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
use cex_engine::{Command, CommandEnvelope, Engine, EngineConfig, Event};
use cex_journal::{Durability, DurableConfig, DurableEngine, FsyncWriter, JournalConfig, Origin, SnapshotPolicy};
use cex_runtime::{Consumer, ConsumerOptions, Producer, RuntimeBuilder, RuntimeConfig, SubmitError};

fn durable_config(dir: &Path, durability: Durability) -> DurableConfig {
    fsync_writer_config(dir, durability, FsyncWriter::default())
}

fn fsync_writer_config(dir: &Path, durability: Durability, fsync_writer: FsyncWriter) -> DurableConfig {
    DurableConfig {
        dir: dir.to_path_buf(),
        journal: JournalConfig { segment_bytes: 1 << 20, durability, fsync_writer },
        snapshots: SnapshotPolicy { every_commands: 0, every_ns: 0, keep: 2 },
    }
}

/// Every journal setup a runtime can run on that keeps the event journal.
const PERSISTENT_SETUPS: [(Durability, FsyncWriter); 3] = [
    (Durability::Mmap, FsyncWriter::Mmap),
    (Durability::Fsync, FsyncWriter::Mmap),
    (Durability::Fsync, FsyncWriter::Uring),
];

fn runtime_config(input: usize, output: usize) -> RuntimeConfig {
    RuntimeConfig {
        input_ring_capacity: input,
        output_ring_capacity: output,
        batch_per_ring: 8,
        ..RuntimeConfig::default()
    }
}

/// A random order flow (setup commands first), unobserved: many of its orders and cancels
/// are rejected, which the comparison covers as well.
fn commands(seed: u64, count: usize) -> (EngineConfig, Vec<Command>) {
    let mut flow = FlowGenerator::new(seed, FlowConfig::default());
    let mut commands: Vec<Command> = flow.setup().into_iter().map(|envelope| envelope.command).collect();
    commands.extend((0..count).map(|_| flow.next_command().command));
    // Producers refuse what the wire format cannot carry; keep the flow to what it can.
    let mut scratch = [0u8; cex_schema::MAX_MESSAGE_BYTES];
    commands.retain(|command| cex_schema::encode_command(command, &mut scratch).is_ok());
    (flow.engine_config(), commands)
}

/// Submits every command, retrying while the ring is busy.
fn submit_all(producer: &mut Producer, commands: &[Command], first_request: u64) {
    for (offset, command) in commands.iter().enumerate() {
        let mut command = *command;
        loop {
            match producer.try_submit(first_request + offset as u64, command) {
                Ok(()) => break,
                Err(SubmitError::Busy(back)) => {
                    command = back;
                    std::thread::yield_now();
                }
                Err(other) => panic!("submit refused: {other:?}"),
            }
        }
    }
}

/// What a consumer received: (seq, ts, origin, events, from_journal).
type Received = Vec<(u64, u64, Origin, Vec<Event>, bool)>;

/// Polls until `count` deliveries arrived.
fn receive(consumer: &mut Consumer, count: usize) -> Received {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut received = Vec::with_capacity(count);
    while received.len() < count {
        match consumer.poll().unwrap() {
            Some(d) => received.push((d.seq, d.ts_ns, d.origin, d.events.to_vec(), d.from_journal)),
            None => {
                assert!(Instant::now() < deadline, "only {} of {count} deliveries arrived", received.len());
                std::thread::yield_now();
            }
        }
    }
    received
}

/// The events a plain engine emits for the same commands at the same sequences and times.
fn expected_events(config: EngineConfig, received: &Received, commands: &[(Origin, Command)]) -> Vec<Vec<Event>> {
    let mut engine = Engine::new(config);
    let by_origin: std::collections::HashMap<Origin, Command> = commands.iter().copied().collect();
    received
        .iter()
        .map(|(seq, ts_ns, origin, _, _)| {
            let mut events = Vec::new();
            let command = by_origin[origin];
            engine.apply(&CommandEnvelope { seq: *seq, ts_ns: *ts_ns, command }, &mut events);
            events
        })
        .collect()
}

#[test]
fn commands_from_two_producers_reach_consumers_as_a_plain_engine_would_emit_them() {
    let dir = tempfile::tempdir().unwrap();
    let (engine_config, commands) = commands(1, 4_000);
    let (durable, _) = DurableEngine::open(&durable_config(dir.path(), Durability::Mmap), engine_config).unwrap();
    let mut builder = RuntimeBuilder::new(runtime_config(64, 1 << 16), durable);
    let mut first = builder.producer("first").unwrap();
    let mut second = builder.producer("second").unwrap();
    let mut consumer = builder.consumer("projection", ConsumerOptions::default());
    let runtime = builder.start().unwrap();

    // Setup goes first through one producer; the rest is split, so the engine interleaves.
    let setup = 10.min(commands.len());
    submit_all(&mut first, &commands[..setup], 0);
    let mut received = receive(&mut consumer, setup);
    let rest = &commands[setup..];
    let (a, b) = rest.split_at(rest.len() / 2);
    std::thread::scope(|scope| {
        scope.spawn(|| submit_all(&mut first, a, setup as u64));
        scope.spawn(|| submit_all(&mut second, b, 0));
        received.extend(receive(&mut consumer, rest.len()));
    });

    let mut sent: Vec<(Origin, Command)> = Vec::new();
    sent.extend(commands[..setup].iter().enumerate().map(|(i, c)| (Origin { producer: 1, request: i as u64 }, *c)));
    sent.extend(a.iter().enumerate().map(|(i, c)| (Origin { producer: 1, request: (setup + i) as u64 }, *c)));
    sent.extend(b.iter().enumerate().map(|(i, c)| (Origin { producer: 2, request: i as u64 }, *c)));
    let seqs: Vec<u64> = received.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=commands.len() as u64).collect::<Vec<_>>(), "every command once, in sequence");
    let expected = expected_events(engine_config, &received, &sent);
    for (got, want) in received.iter().zip(&expected) {
        assert_eq!(&got.3, want, "events of command {}", got.0);
    }
    // Each producer's commands keep their order.
    for producer in [1, 2] {
        let requests: Vec<u64> = received.iter().filter(|r| r.2.producer == producer).map(|r| r.2.request).collect();
        assert!(requests.windows(2).all(|w| w[0] < w[1]), "producer {producer} out of order");
    }
    let exit = runtime.shutdown().unwrap();
    assert_eq!(exit.last_seq, commands.len() as u64);
}

#[test]
fn a_full_ring_answers_busy_and_hands_the_command_back() {
    let dir = tempfile::tempdir().unwrap();
    let (engine_config, commands) = commands(2, 100);
    let (durable, _) = DurableEngine::open(&durable_config(dir.path(), Durability::Mmap), engine_config).unwrap();
    let mut builder = RuntimeBuilder::new(runtime_config(8, 1 << 10), durable);
    let mut producer = builder.producer("gateway-0").unwrap();
    let mut consumer = builder.consumer("session", ConsumerOptions::default());
    // Not started yet: nothing drains the ring.
    for (request, command) in commands[..8].iter().enumerate() {
        producer.try_submit(request as u64, *command).unwrap();
    }
    assert_eq!(producer.try_submit(8, commands[8]), Err(SubmitError::Busy(commands[8])));
    assert_eq!(producer.free_slots(), 0);

    let runtime = builder.start().unwrap();
    let received = receive(&mut consumer, 8);
    let requests: Vec<u64> = received.iter().map(|r| r.2.request).collect();
    assert_eq!(requests, (0..8).collect::<Vec<_>>(), "the refused command was not queued");
    submit_all(&mut producer, &commands[8..9], 8);
    assert_eq!(receive(&mut consumer, 1)[0].2.request, 8);
    let stats = runtime.stats();
    assert_eq!(stats.producers[0].busy.load(std::sync::atomic::Ordering::Relaxed), 1);
    runtime.shutdown().unwrap();
}

#[test]
fn rings_are_polled_round_robin() {
    let dir = tempfile::tempdir().unwrap();
    let (durable, _) =
        DurableEngine::open(&durable_config(dir.path(), Durability::Mmap), EngineConfig::default()).unwrap();
    let mut builder = RuntimeBuilder::new(runtime_config(256, 1 << 12), durable);
    let mut producers: Vec<Producer> = (0..3).map(|i| builder.producer(&format!("p{i}")).unwrap()).collect();
    let mut consumer = builder.consumer("observer", ConsumerOptions::default());
    // Unknown-account cancels: cheap rejects, enough to fill each ring before the start.
    let cancel = Command::Cancel(cex_engine::Cancel { account: 1, order_id: 1, client_order_id: 0 });
    for producer in &mut producers {
        for request in 0..200 {
            producer.try_submit(request, cancel).unwrap();
        }
    }
    let runtime = builder.start().unwrap();
    let received = receive(&mut consumer, 600);
    // With a batch of 8, a round takes 8 from each ring: until the rings run dry, any 48
    // consecutive commands span a full round and hold at least 8 from each producer.
    for window in received[..480].windows(48) {
        for producer in 1..=3 {
            let from = window.iter().filter(|r| r.2.producer == producer).count();
            assert!(from >= 8, "producer {producer} got {from} of 48: not fair");
        }
    }
    runtime.shutdown().unwrap();
}

#[test]
fn a_slow_consumer_is_skipped_and_catches_up_from_the_event_journal() {
    for (durability, fsync_writer) in PERSISTENT_SETUPS {
        a_slow_consumer_catches_up(durability, fsync_writer);
    }
}

fn a_slow_consumer_catches_up(durability: Durability, fsync_writer: FsyncWriter) {
    let dir = tempfile::tempdir().unwrap();
    let (engine_config, commands) = commands(3, 3_000);
    let config = fsync_writer_config(dir.path(), durability, fsync_writer);
    let (durable, _) = DurableEngine::open(&config, engine_config).unwrap();
    let mut builder = RuntimeBuilder::new(runtime_config(1 << 12, 64), durable);
    let mut producer = builder.producer("gateway-0").unwrap();
    let mut fast = builder.consumer("fast", ConsumerOptions::default());
    let mut slow = builder.consumer("slow", ConsumerOptions::default());
    let runtime = builder.start().unwrap();

    let fast_received = std::thread::scope(|scope| {
        scope.spawn(|| submit_all(&mut producer, &commands, 0));
        receive(&mut fast, commands.len())
    });
    // The slow consumer has not polled at all: its ring of 64 filled long ago.
    let slow_received = receive(&mut slow, commands.len());
    let strip = |r: &Received| r.iter().map(|(s, t, o, e, _)| (*s, *t, *o, e.clone())).collect::<Vec<_>>();
    assert_eq!(strip(&slow_received), strip(&fast_received), "the slow consumer saw exactly what the fast one did");
    let from_journal = slow_received.iter().filter(|r| r.4).count();
    assert!(from_journal >= commands.len() - 64 * 2, "only {from_journal} came from the journal");
    let stats = runtime.stats();
    let slow_stats = stats.consumers.iter().find(|c| c.name == "slow").unwrap();
    assert!(slow_stats.overruns.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    runtime.shutdown().unwrap();
}

#[test]
fn shutdown_drains_refuses_new_work_snapshots_and_a_restart_resumes_the_same_state() {
    let dir = tempfile::tempdir().unwrap();
    let (engine_config, commands) = commands(4, 2_000);
    let config = durable_config(dir.path(), Durability::Mmap);
    let (durable, _) = DurableEngine::open(&config, engine_config).unwrap();
    let mut builder = RuntimeBuilder::new(runtime_config(1 << 12, 1 << 12), durable);
    let mut producer = builder.producer("gateway-0").unwrap();
    let runtime = builder.start().unwrap();
    let (before, after) = commands.split_at(commands.len() / 2);
    submit_all(&mut producer, before, 0);
    // Shut down at once: whatever is still in the ring must be processed, not dropped.
    let exit = runtime.shutdown().unwrap();
    assert_eq!(exit.last_seq, before.len() as u64, "every accepted command was processed");
    assert!(matches!(producer.try_submit(0, after[0]), Err(SubmitError::Closed(_))));

    let (durable, startup) = DurableEngine::open(&config, engine_config).unwrap();
    assert_eq!(startup.snapshot_seq, Some(exit.last_seq), "shutdown wrote a snapshot of the final state");
    assert_eq!(startup.replayed_commands, 0);
    assert_eq!(startup.state_hash, exit.state_hash);

    // The restarted pipeline continues the sequence; a consumer from 1 reads history first.
    let mut builder = RuntimeBuilder::new(runtime_config(1 << 12, 1 << 12), durable);
    let mut producer = builder.producer("gateway-0").unwrap();
    let mut history = builder.consumer("history", ConsumerOptions { from_seq: Some(1), wait_durable: false });
    let runtime = builder.start().unwrap();
    submit_all(&mut producer, after, 0);
    let received = receive(&mut history, commands.len());
    assert!(received[..before.len()].iter().all(|r| r.4), "history before the restart comes from the journal");
    let seqs: Vec<u64> = received.iter().map(|r| r.0).collect();
    assert_eq!(seqs, (1..=commands.len() as u64).collect::<Vec<_>>());
    let exit = runtime.shutdown().unwrap();

    // Same state as one uninterrupted engine fed the same commands at the same times.
    let mut engine = Engine::new(engine_config);
    for (seq, ts_ns, _, _, _) in &received {
        let command = commands[*seq as usize - 1];
        engine.apply(&CommandEnvelope { seq: *seq, ts_ns: *ts_ns, command }, &mut Vec::new());
    }
    assert_eq!(engine.state_hash(), exit.state_hash);
}

#[test]
fn a_durable_consumer_sees_only_durable_commands_in_fsync_mode() {
    a_durable_consumer_waits_for_durability(FsyncWriter::Mmap);
    a_durable_consumer_waits_for_durability(FsyncWriter::Uring);
}

fn a_durable_consumer_waits_for_durability(fsync_writer: FsyncWriter) {
    let dir = tempfile::tempdir().unwrap();
    let (engine_config, commands) = commands(5, 300);
    let config = fsync_writer_config(dir.path(), Durability::Fsync, fsync_writer);
    let (durable, _) = DurableEngine::open(&config, engine_config).unwrap();
    let mut builder = RuntimeBuilder::new(runtime_config(1 << 10, 1 << 10), durable);
    let mut producer = builder.producer("gateway-0").unwrap();
    let mut acks = builder.consumer("acks", ConsumerOptions { from_seq: None, wait_durable: true });
    let runtime = builder.start().unwrap();
    let monitor = runtime.monitor();
    std::thread::scope(|scope| {
        scope.spawn(|| submit_all(&mut producer, &commands, 0));
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut next = 1;
        while next <= commands.len() as u64 {
            assert!(Instant::now() < deadline);
            if let Some(delivery) = acks.poll().unwrap() {
                assert!(delivery.seq <= monitor.durable_seq(), "delivered {} before it was durable", delivery.seq);
                assert_eq!(delivery.seq, next);
                next += 1;
            }
        }
    });
    runtime.shutdown().unwrap();
}

#[test]
fn a_waiting_consumer_is_woken_when_the_engine_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let (engine_config, commands) = commands(7, 20);
    let (durable, _) = DurableEngine::open(&durable_config(dir.path(), Durability::Mmap), engine_config).unwrap();
    let mut builder = RuntimeBuilder::new(runtime_config(1 << 10, 1 << 10), durable);
    let mut producer = builder.producer("gateway-0").unwrap();
    let mut waiter = builder.consumer("waiter", ConsumerOptions::default());
    let runtime = builder.start().unwrap();
    // Far longer than the whole test takes when the engine wakes the consumer (about 40 ms).
    const NEVER: Duration = Duration::from_secs(20);
    let started = Instant::now();
    let received = std::thread::scope(|scope| {
        let consumer = scope.spawn(|| {
            let mut seqs = Vec::new();
            while seqs.len() < commands.len() {
                match waiter.poll().unwrap() {
                    Some(delivery) => seqs.push(delivery.seq),
                    None => waiter.wait(NEVER),
                }
            }
            seqs
        });
        for (offset, command) in commands.iter().enumerate() {
            // Let the consumer fall asleep between commands.
            std::thread::sleep(Duration::from_millis(2));
            submit_all(&mut producer, std::slice::from_ref(command), offset as u64);
        }
        consumer.join().unwrap()
    });
    assert_eq!(received, (1..=commands.len() as u64).collect::<Vec<_>>());
    assert!(started.elapsed() < NEVER, "a wait ran to its timeout: the engine did not wake the consumer");
    runtime.shutdown().unwrap();
}
