//! What the client drives: the pipeline itself (`cex-runtime` over a `DurableEngine` in
//! `mmap` mode), a bare relay (the same two rings, with a thread that only copies between
//! them where the engine thread would be), and a bare ping-pong (the floor). Also the
//! verification of a pipeline run.

use std::hint::spin_loop;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use cex_engine::{Command, CommandEnvelope, Engine, Event, EventBody};
use cex_journal::{Durability, DurableConfig, DurableEngine, JournalConfig, Origin, SnapshotPolicy};
use cex_runtime::{
    monotonic_ns, Consumer, ConsumerOptions, Exit, IdleStrategy, Producer, RuntimeBuilder, RuntimeConfig, Stage,
    SubmitError,
};
use hdrhistogram::Histogram;

use super::client::{drive, pin, ClientRun, Inbound, Outbound, Pace, Threads};
use super::{Flow, Layout};
use crate::journal::ThreadUsage;
use crate::ours::depth_hash;
use crate::runner::{new_histogram, Latency};

/// One delivery, as the consumer saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    pub seq: u64,
    pub ts_ns: u64,
    pub request: u64,
}

/// What the delivered events add up to; a plain engine fed the same commands must agree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EventTally {
    pub events: u64,
    pub trades: u64,
    pub volume_qty: u64,
    pub rejects: u64,
    /// Wrapping sum of every event's transaction id.
    pub txid_sum: u64,
}

impl EventTally {
    #[inline]
    fn add(&mut self, event: &Event) {
        self.events += 1;
        self.txid_sum = self.txid_sum.wrapping_add(event.txid);
        match event.body {
            EventBody::Trade(trade) => {
                self.trades += 1;
                self.volume_qty += trade.qty as u64;
            }
            EventBody::Rejected(_) => self.rejects += 1,
            _ => {}
        }
    }
}

/// The engine thread's own split of a command's time (`RuntimeStats`), timed phase only.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stages {
    /// From the producer's push to the engine thread's pop, every command.
    pub ring_wait: Latency,
    /// Both journal appends, one command in 16.
    pub journal: Latency,
    /// The engine's apply, one command in 16.
    pub apply: Latency,
}

/// Everything a pipeline run recorded, before verification.
pub(crate) struct Recorded {
    pub client: ClientRun,
    /// Setup and prefill, sent closed loop before the timed phase.
    pub warm: Vec<Record>,
    pub timed: Vec<Record>,
    pub tally: EventTally,
    pub exit: Exit,
    pub stages: Stages,
    /// Deliveries the consumer read back from the event journal after falling behind.
    pub journal_reads: u64,
    /// What the kernel did to the engine thread during the timed phase.
    pub engine_usage: Option<ThreadUsage>,
    /// The engine thread's time spent processing commands, as a share of the timed phase.
    pub engine_busy: f64,
}

pub(crate) struct PipelineRun {
    pub client: ClientRun,
    pub stages: Stages,
    pub journal_reads: u64,
    pub engine_usage: Option<ThreadUsage>,
    pub engine_busy: f64,
    pub verdict: Result<(), String>,
}

struct PipelineOut<'a> {
    producer: &'a mut Producer,
    commands: &'a [Command],
}

impl Outbound for PipelineOut<'_> {
    #[inline]
    fn try_send(&mut self, index: u64) -> Result<bool, String> {
        match self.producer.try_submit(index, self.commands[index as usize]) {
            Ok(()) => Ok(true),
            Err(SubmitError::Busy(_)) => Ok(false),
            Err(other) => Err(format!("command {index} refused: {other:?}")),
        }
    }
}

struct PipelineIn<'a> {
    consumer: &'a mut Consumer,
    records: Vec<Record>,
    tally: EventTally,
    journal_reads: u64,
}

impl Inbound for PipelineIn<'_> {
    #[inline]
    fn poll(&mut self) -> Result<Option<(u64, u64)>, String> {
        let Some(delivery) = self.consumer.poll().map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let dequeued_ns = monotonic_ns();
        self.records.push(Record { seq: delivery.seq, ts_ns: delivery.ts_ns, request: delivery.origin.request });
        self.journal_reads += delivery.from_journal as u64;
        for event in delivery.events {
            self.tally.add(event);
        }
        Ok(Some((delivery.origin.request, dequeued_ns)))
    }
}

/// The runtime as deployed, with the journal in `mmap` mode in `dir`: setup and prefill
/// first (closed loop, untimed), then `count` ops at `pace`; then shutdown and verification.
pub(crate) fn pipeline(
    flow: &Flow,
    count: u64,
    pace: Pace,
    idle: IdleStrategy,
    layout: &Layout,
    dir: &Path,
) -> Result<PipelineRun, String> {
    let recorded = record_pipeline(flow, count, pace, idle, layout, dir)?;
    let verdict = verify(flow, &recorded);
    Ok(PipelineRun {
        client: recorded.client,
        stages: recorded.stages,
        journal_reads: recorded.journal_reads,
        engine_usage: recorded.engine_usage,
        engine_busy: recorded.engine_busy,
        verdict,
    })
}

pub(crate) fn record_pipeline(
    flow: &Flow,
    count: u64,
    pace: Pace,
    idle: IdleStrategy,
    layout: &Layout,
    dir: &Path,
) -> Result<Recorded, String> {
    let count = count.min(flow.ops.len() as u64);
    let config = DurableConfig {
        dir: dir.to_path_buf(),
        journal: JournalConfig { durability: Durability::Mmap, ..JournalConfig::default() },
        // No periodic snapshots: shutdown writes one, after the measurement.
        snapshots: SnapshotPolicy { every_commands: 0, every_ns: 0, keep: 1 },
    };
    let (durable, _) = DurableEngine::open(&config, flow.engine_config).map_err(|e| e.to_string())?;
    let runtime_config = RuntimeConfig { engine_core: layout.engine, idle, ..RuntimeConfig::default() };
    let mut builder = RuntimeBuilder::new(runtime_config, durable);
    let mut producer = builder.producer("bench").map_err(|e| e.to_string())?;
    let mut consumer = builder.consumer("bench", ConsumerOptions::default());
    let runtime = builder.start().map_err(|e| e.to_string())?;
    let engine_thread = thread_named(ENGINE_THREAD);

    // Setup and prefill, closed loop on the same client threads.
    let warm_count = flow.warmup.len() as u64;
    let mut outbound = PipelineOut { producer: &mut producer, commands: &flow.warmup };
    let mut inbound = PipelineIn {
        consumer: &mut consumer,
        records: touched(flow.warmup.len()),
        tally: EventTally::default(),
        journal_reads: 0,
    };
    drive(&mut outbound, &mut inbound, warm_count, Pace::Closed, layout.threads)?;
    let warm = std::mem::take(&mut inbound.records);
    let tally = inbound.tally;
    // Let the engine thread publish its warm-up stage samples (it does so every ms).
    thread::sleep(Duration::from_millis(20));
    let stats = runtime.stats();
    let warm_stages = stage_histograms(&stats);
    let busy_before = stats.busy_ns.load(Ordering::Relaxed);

    let mut outbound = PipelineOut { producer: &mut producer, commands: &flow.ops[..count as usize] };
    let mut inbound = PipelineIn { consumer: &mut consumer, records: touched(count as usize), tally, journal_reads: 0 };
    let engine_before = engine_thread.and_then(thread_usage);
    let client = drive(&mut outbound, &mut inbound, count, pace, layout.threads)?;
    let engine_after = engine_thread.and_then(thread_usage);
    let exit = runtime.shutdown().map_err(|e| e.to_string())?;
    let busy_ns = stats.busy_ns.load(Ordering::Relaxed).saturating_sub(busy_before);
    let engine_busy = busy_ns as f64 / client.last_ns.saturating_sub(client.start_ns).max(1) as f64;
    let mut stages = stage_histograms(&stats);
    for (all, warm) in stages.iter_mut().zip(&warm_stages) {
        // Cannot fail unless the samples were not published yet; then they stay in.
        let _ = all.subtract(warm);
    }
    let [ring_wait, journal, apply] = stages.map(|histogram| Latency::of(&histogram));
    Ok(Recorded {
        client,
        warm,
        timed: inbound.records,
        tally: inbound.tally,
        exit,
        stages: Stages { ring_wait, journal, apply },
        journal_reads: inbound.journal_reads,
        engine_usage: engine_before.zip(engine_after).map(|(before, after)| after.since(before)),
        engine_busy,
    })
}

/// An empty vector with room for `capacity` records, its pages already faulted in, so the
/// consumer does not take the faults while it measures.
fn touched(capacity: usize) -> Vec<Record> {
    let mut records = vec![Record { seq: 0, ts_ns: 0, request: 0 }; capacity];
    records.clear();
    records
}

/// The runtime names its engine thread so.
const ENGINE_THREAD: &str = "cex-engine";

/// The id of this process's thread called `name`, if exactly one is.
fn thread_named(name: &str) -> Option<u64> {
    let mut found = std::fs::read_dir("/proc/self/task").ok()?.filter_map(|entry| {
        let entry = entry.ok()?;
        let comm = std::fs::read_to_string(entry.path().join("comm")).ok()?;
        (comm.trim_end() == name).then(|| entry.file_name().to_str()?.parse().ok()).flatten()
    });
    let tid = found.next()?;
    found.next().is_none().then_some(tid)
}

/// Another thread's page faults and context switches, from /proc.
fn thread_usage(tid: u64) -> Option<ThreadUsage> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // Fields after the command name: state is the first, minflt the 8th, majflt the 10th.
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split_whitespace().collect();
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let field =
        |key: &str| -> Option<u64> { status.lines().find_map(|line| line.strip_prefix(key)?.trim().parse().ok()) };
    Some(ThreadUsage {
        minor_faults: fields.get(7)?.parse().ok()?,
        major_faults: fields.get(9)?.parse().ok()?,
        blocked: field("voluntary_ctxt_switches:")?,
        preempted: field("nonvoluntary_ctxt_switches:")?,
    })
}

fn stage_histograms(stats: &cex_runtime::RuntimeStats) -> [Histogram<u64>; 3] {
    let latencies = stats.latencies.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    [Stage::RingWait, Stage::JournalAppend, Stage::EngineApply].map(|stage| latencies.get(stage).clone())
}

/// Every command delivered once, in order, with consecutive sequences; nothing rejected;
/// the delivered events add up to what a plain engine emits for the same commands at the
/// same sequences and times, and that engine ends in the pipeline's final state. A run of
/// the whole flow must also reproduce the reference engine's trades, volume and book.
pub(crate) fn verify(flow: &Flow, recorded: &Recorded) -> Result<(), String> {
    let warm_count = flow.warmup.len() as u64;
    let count = recorded.client.count;
    check_sequence("setup and prefill", &recorded.warm, 1, warm_count)?;
    check_sequence("timed ops", &recorded.timed, warm_count + 1, count)?;
    if recorded.exit.last_seq != warm_count + count {
        return Err(format!(
            "the engine stopped at sequence {}, expected {}",
            recorded.exit.last_seq,
            warm_count + count
        ));
    }
    if recorded.tally.rejects > 0 {
        return Err(format!("{} commands were rejected: the flow must be accepted trading", recorded.tally.rejects));
    }
    let mut engine = Engine::new(flow.engine_config);
    let mut tally = EventTally::default();
    let mut events = Vec::with_capacity(64);
    let sent = flow.warmup.iter().zip(&recorded.warm).chain(flow.ops.iter().zip(&recorded.timed));
    for (command, record) in sent {
        events.clear();
        engine.apply(&CommandEnvelope { seq: record.seq, ts_ns: record.ts_ns, command: *command }, &mut events);
        for event in &events {
            tally.add(event);
        }
    }
    if tally != recorded.tally {
        return Err(format!("delivered events {:?}, a plain engine emits {tally:?}", recorded.tally));
    }
    if engine.state_hash() != recorded.exit.state_hash {
        return Err("the pipeline's final state hash differs from a plain engine's".to_string());
    }
    if count == flow.ops.len() as u64 {
        let expected = &flow.expected;
        let lots = tally.volume_qty / crate::market::LOT_SIZE as u64;
        if tally.trades != expected.trades || lots != expected.volume_lots {
            return Err(format!(
                "{} trades / {lots} lots, the reference engine made {} / {}",
                tally.trades, expected.trades, expected.volume_lots
            ));
        }
        if depth_hash(flow.symbols, |symbol, side| engine.depth(symbol, side)) != expected.depth_hash {
            return Err("the final book differs from the reference engine's".to_string());
        }
    }
    Ok(())
}

/// `count` deliveries, the i-th with request i and sequence `first_seq + i`.
fn check_sequence(phase: &str, records: &[Record], first_seq: u64, count: u64) -> Result<(), String> {
    if records.len() as u64 != count {
        return Err(format!("{phase}: {} deliveries for {count} commands", records.len()));
    }
    for (index, record) in records.iter().enumerate() {
        let index = index as u64;
        if record.seq != first_seq + index || record.request != index {
            return Err(format!(
                "{phase}: delivery {index} is request {} at sequence {}, expected request {index} at {}",
                record.request,
                record.seq,
                first_seq + index
            ));
        }
    }
    Ok(())
}

/// An input-ring slot of the runtime's size: origin, enqueue time, command.
#[derive(Clone, Copy)]
#[allow(dead_code)] // Nothing reads the command: it is there for the slot's size.
struct RelayRequest {
    origin: Origin,
    enqueued_ns: u64,
    command: Command,
}

/// An output-ring slot of the runtime's size: sequence, time, origin, count, event.
#[derive(Clone, Copy)]
#[allow(dead_code)] // Count and event are never set: they are there for the slot's size.
struct RelaySlot {
    seq: u64,
    ts_ns: u64,
    origin: Origin,
    count: u16,
    event: Option<Event>,
}

/// The bare relay: the runtime's two rings, same capacities and item sizes, with a thread on
/// the engine's core that pops a request and pushes one slot for it. No journal, no engine,
/// no publication of a sequence.
pub(crate) struct RelayRun {
    pub client: ClientRun,
    pub verdict: Result<(), String>,
}

struct RelayOut<'a> {
    ring: &'a mut rtrb::Producer<RelayRequest>,
    commands: &'a [Command],
}

impl Outbound for RelayOut<'_> {
    #[inline]
    fn try_send(&mut self, index: u64) -> Result<bool, String> {
        let origin = Origin { producer: 1, request: index };
        let request = RelayRequest { origin, enqueued_ns: monotonic_ns(), command: self.commands[index as usize] };
        Ok(self.ring.push(request).is_ok())
    }
}

struct RelayIn<'a> {
    ring: &'a mut rtrb::Consumer<RelaySlot>,
    records: Vec<Record>,
}

impl Inbound for RelayIn<'_> {
    #[inline]
    fn poll(&mut self) -> Result<Option<(u64, u64)>, String> {
        let Ok(slot) = self.ring.pop() else {
            return Ok(None);
        };
        let dequeued_ns = monotonic_ns();
        self.records.push(Record { seq: slot.seq, ts_ns: slot.ts_ns, request: slot.origin.request });
        Ok(Some((slot.origin.request, dequeued_ns)))
    }
}

pub(crate) fn relay(flow: &Flow, count: u64, pace: Pace, layout: &Layout) -> Result<RelayRun, String> {
    let count = count.min(flow.ops.len() as u64);
    let defaults = RuntimeConfig::default();
    let (mut input, mut forward_from) = rtrb::RingBuffer::<RelayRequest>::new(defaults.input_ring_capacity);
    let (mut forward_to, mut output) = rtrb::RingBuffer::<RelaySlot>::new(defaults.output_ring_capacity);
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        let forwarder = scope.spawn(|| {
            pin(layout.engine);
            let mut seq = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok(request) = forward_from.pop() else {
                    spin_loop();
                    continue;
                };
                seq += 1;
                let slot = RelaySlot { seq, ts_ns: request.enqueued_ns, origin: request.origin, count: 0, event: None };
                while forward_to.push(slot).is_err() && !stop.load(Ordering::Relaxed) {
                    spin_loop();
                }
            }
        });
        let run = (|| {
            // The same warm-up as the pipeline's: as many commands, closed loop.
            let warm_count = flow.warmup.len() as u64;
            let mut outbound = RelayOut { ring: &mut input, commands: &flow.warmup };
            let mut inbound = RelayIn { ring: &mut output, records: touched(flow.warmup.len()) };
            drive(&mut outbound, &mut inbound, warm_count, Pace::Closed, layout.threads)?;
            let warm_verdict = check_sequence("warm-up", &inbound.records, 1, warm_count);
            let mut outbound = RelayOut { ring: &mut input, commands: &flow.ops[..count as usize] };
            let mut inbound = RelayIn { ring: &mut output, records: touched(count as usize) };
            let client = drive(&mut outbound, &mut inbound, count, pace, layout.threads)?;
            let verdict = warm_verdict.and(check_sequence("timed", &inbound.records, warm_count + 1, count));
            Ok(RelayRun { client, verdict })
        })();
        stop.store(true, Ordering::Relaxed);
        forwarder.join().map_err(|_| "the relay thread panicked".to_string())?;
        run
    })
}

/// Round trips of one request-sized item: pushed by a thread on the client's core, echoed by
/// a thread on the engine's core; for `seconds` (at most `max_rounds`), after a warm-up.
pub(crate) fn ping_pong(layout: &Layout, seconds: f64, max_rounds: u64) -> (u64, Histogram<u64>) {
    let (mut ping, mut ping_rx) = rtrb::RingBuffer::<RelayRequest>::new(1024);
    let (mut pong_tx, mut pong) = rtrb::RingBuffer::<RelayRequest>::new(1024);
    let stop = AtomicBool::new(false);
    let client_core = match layout.threads {
        Threads::Shared { core } => core,
        Threads::Split { producer, .. } => producer,
    };
    thread::scope(|scope| {
        scope.spawn(|| {
            pin(layout.engine);
            while !stop.load(Ordering::Relaxed) {
                match ping_rx.pop() {
                    Ok(item) => {
                        while pong_tx.push(item).is_err() {
                            spin_loop();
                        }
                    }
                    Err(_) => spin_loop(),
                }
            }
        });
        let measured = scope.spawn(|| {
            pin(client_core);
            let command = Command::Cancel(cex_engine::Cancel { account: 0, order_id: 0, client_order_id: 0 });
            let mut histogram = new_histogram();
            let warm_rounds = 10_000;
            let ends_ns = monotonic_ns() + (seconds * 1e9) as u64;
            let mut rounds = 0;
            for round in 0.. {
                let started = monotonic_ns();
                let origin = Origin { producer: 1, request: round };
                let _ = ping.push(RelayRequest { origin, enqueued_ns: started, command });
                while pong.pop().is_err() {
                    spin_loop();
                }
                let finished = monotonic_ns();
                if round >= warm_rounds {
                    histogram.saturating_record(finished.saturating_sub(started).max(1));
                    rounds += 1;
                    if rounds >= max_rounds || finished >= ends_ns {
                        break;
                    }
                }
            }
            (rounds, histogram)
        });
        let result = measured.join().expect("the ping thread does not panic");
        stop.store(true, Ordering::Relaxed);
        result
    })
}

/// The sizes of the runtime's ring items, as the relay and the ping-pong mirror them:
/// (request, output slot), in bytes.
pub(crate) fn item_sizes() -> (usize, usize) {
    (std::mem::size_of::<RelayRequest>(), std::mem::size_of::<RelaySlot>())
}

/// What one `monotonic_ns` read costs, in ns: every latency here includes one or two.
pub(crate) fn clock_read_ns() -> f64 {
    let rounds = 1_000_000;
    let started = monotonic_ns();
    for _ in 0..rounds {
        std::hint::black_box(monotonic_ns());
    }
    monotonic_ns().saturating_sub(started) as f64 / rounds as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::{Flow, Layout, LayoutChoice};

    #[test]
    fn a_small_run_verifies_and_a_tampered_record_does_not() {
        let flow = Flow::generate(3_000, 7).unwrap();
        let layout = Layout::choose(LayoutChoice::Auto);
        let dir = tempfile::tempdir().unwrap();
        let pace = Pace::Open { rate: 200_000 };
        let mut recorded = record_pipeline(&flow, 2_000, pace, IdleStrategy::default(), &layout, dir.path()).unwrap();
        assert_eq!(verify(&flow, &recorded), Ok(()));
        assert_eq!(recorded.client.received, 2_000);
        assert_eq!(recorded.client.latency.len(), 2_000);

        let dropped = recorded.timed.remove(1_000);
        let why = verify(&flow, &recorded).unwrap_err();
        assert!(why.contains("1999 deliveries for 2000 commands"), "{why}");
        recorded.timed.insert(1_000, dropped);

        recorded.timed.insert(1_000, recorded.timed[999]);
        let why = verify(&flow, &recorded).unwrap_err();
        assert!(why.contains("2001 deliveries"), "{why}");
        recorded.timed.remove(1_000);

        recorded.timed[1_000] = recorded.timed[999];
        let why = verify(&flow, &recorded).unwrap_err();
        assert!(why.contains("delivery 1000 is request 999"), "{why}");
        recorded.timed[1_000] = dropped;

        let (first, second) = (recorded.timed[500].request, recorded.timed[501].request);
        recorded.timed[500].request = second;
        recorded.timed[501].request = first;
        let why = verify(&flow, &recorded).unwrap_err();
        assert!(why.contains("delivery 500 is request 501"), "{why}");
        recorded.timed[500].request = first;
        recorded.timed[501].request = second;
        assert_eq!(verify(&flow, &recorded), Ok(()));
    }

    #[test]
    fn a_run_whose_events_do_not_add_up_is_not_verified() {
        let flow = Flow::generate(1_000, 8).unwrap();
        let layout = Layout::choose(LayoutChoice::Auto);
        let dir = tempfile::tempdir().unwrap();
        let mut recorded =
            record_pipeline(&flow, 1_000, Pace::Closed, IdleStrategy::BusySpin, &layout, dir.path()).unwrap();
        assert_eq!(verify(&flow, &recorded), Ok(()), "the whole flow matches the reference engine too");
        recorded.tally.trades += 1;
        assert!(verify(&flow, &recorded).unwrap_err().contains("a plain engine emits"));
        recorded.tally.trades -= 1;
        recorded.exit.state_hash ^= 1;
        assert!(verify(&flow, &recorded).unwrap_err().contains("state hash"));
    }

    #[test]
    fn the_relay_and_the_ping_pong_run() {
        let flow = Flow::generate(1_000, 9).unwrap();
        let layout = Layout::choose(LayoutChoice::Auto);
        let run = relay(&flow, 1_000, Pace::Open { rate: 500_000 }, &layout).unwrap();
        assert_eq!(run.verdict, Ok(()));
        assert_eq!(run.client.latency.len(), 1_000);
        let (rounds, histogram) = ping_pong(&layout, 0.01, 5_000);
        assert!((1..=5_000).contains(&rounds));
        assert_eq!(histogram.len(), rounds);
    }
}
