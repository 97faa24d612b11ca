//! The benchmark's client: sends commands on a fixed schedule (open loop) or as fast as the
//! input ring takes them (closed loop), and takes the deliveries, stamping each with the
//! clock the moment it is dequeued.
//!
//! Each command's request id is its index in the run, and the schedule is a fixed rate from
//! a shared start, so the receiving side computes a delivery's scheduled time from its
//! request id: nothing travels beside the command, and a late send (the ring was full, the
//! thread was preempted) counts against every command behind it. No coordinated omission.
//!
//! The sending and the receiving side run on one thread, interleaved ([`Threads::Shared`]),
//! or on one thread each ([`Threads::Split`]).

use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use cex_runtime::monotonic_ns;
use hdrhistogram::Histogram;

use crate::journal::ThreadUsage;
use crate::runner::new_histogram;

/// Where the commands go in.
pub(crate) trait Outbound {
    /// Offers the `index`-th command of the run with request id `index`; `Ok(false)` if the
    /// ring is full.
    fn try_send(&mut self, index: u64) -> Result<bool, String>;
}

/// Where the results come out.
pub(crate) trait Inbound {
    /// The next delivery's request id, and the monotonic time it was dequeued (read before
    /// any bookkeeping); `None` if nothing is there yet.
    fn poll(&mut self) -> Result<Option<(u64, u64)>, String>;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pace {
    /// Commands are due at a fixed rate, per second.
    Open { rate: u64 },
    /// Every command is due at the start: the producer pushes whenever the ring has room.
    Closed,
}

/// Which threads drive the client, and the cores they are pinned to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Threads {
    /// One thread sends what is due, then takes what has arrived, in turn.
    Shared { core: Option<usize> },
    /// A producer thread and a consumer thread.
    Split { producer: Option<usize>, consumer: Option<usize> },
}

/// At most this many sends (or receives) per turn of the shared loop.
const BURST: usize = 16;
/// Time allowed on top of the schedule before a run gives up waiting for deliveries.
const GRACE_NS: u64 = 60_000_000_000;
/// Slack between starting the threads and the first scheduled command.
const START_SLACK_NS: u64 = 2_000_000;

/// What the client saw.
pub(crate) struct ClientRun {
    pub count: u64,
    /// Deliveries taken; less than `count` only if the run gave up waiting.
    pub received: u64,
    /// Open loop: from each command's scheduled time to its dequeue.
    pub latency: Histogram<u64>,
    /// Open loop: from each command's scheduled time until its send returned.
    pub send_lag: Histogram<u64>,
    /// Sends refused because the input ring was full.
    pub busy: u64,
    pub start_ns: u64,
    /// When the last delivery was dequeued.
    pub last_ns: u64,
    /// What the kernel did to the client's thread(s) from the start of the schedule.
    pub usage: ThreadUsage,
}

impl ClientRun {
    pub fn achieved_per_sec(&self) -> f64 {
        self.received as f64 * 1e9 / self.last_ns.saturating_sub(self.start_ns).max(1) as f64
    }
}

#[derive(Clone, Copy)]
struct Schedule {
    start_ns: u64,
    interval_ns: f64,
    deadline_ns: u64,
}

impl Schedule {
    fn new(pace: Pace, count: u64) -> Schedule {
        let interval_ns = match pace {
            Pace::Open { rate } => 1e9 / rate.max(1) as f64,
            Pace::Closed => 0.0,
        };
        let start_ns = monotonic_ns() + START_SLACK_NS;
        let span_ns = (count as f64 * interval_ns) as u64;
        Schedule { start_ns, interval_ns, deadline_ns: start_ns + span_ns + GRACE_NS }
    }

    #[inline]
    fn at(&self, index: u64) -> u64 {
        self.start_ns + (index as f64 * self.interval_ns) as u64
    }
}

struct Sending {
    usage: ThreadUsage,
    next: u64,
    count: u64,
    open: bool,
    lag: Histogram<u64>,
    busy: u64,
}

impl Sending {
    fn new(count: u64, open: bool) -> Sending {
        Sending { usage: ThreadUsage::default(), next: 0, count, open, lag: new_histogram(), busy: 0 }
    }

    fn done(&self) -> bool {
        self.next >= self.count
    }

    /// Sends what is due, up to a burst; stops at a full ring.
    #[inline]
    fn step<O: Outbound>(&mut self, outbound: &mut O, schedule: &Schedule) -> Result<(), String> {
        for _ in 0..BURST {
            if self.done() {
                return Ok(());
            }
            let due = schedule.at(self.next);
            if self.open && monotonic_ns() < due {
                return Ok(());
            }
            if !outbound.try_send(self.next)? {
                self.busy += 1;
                return Ok(());
            }
            if self.open {
                self.lag.saturating_record(monotonic_ns().saturating_sub(due).max(1));
            }
            self.next += 1;
        }
        Ok(())
    }
}

struct Receiving {
    usage: ThreadUsage,
    received: u64,
    count: u64,
    open: bool,
    latency: Histogram<u64>,
    last_ns: u64,
}

impl Receiving {
    fn new(count: u64, open: bool) -> Receiving {
        Receiving { usage: ThreadUsage::default(), received: 0, count, open, latency: new_histogram(), last_ns: 0 }
    }

    fn done(&self) -> bool {
        self.received >= self.count
    }

    /// Takes what has arrived, up to a burst.
    #[inline]
    fn step<I: Inbound>(&mut self, inbound: &mut I, schedule: &Schedule) -> Result<(), String> {
        for _ in 0..BURST {
            let Some((request, dequeued_ns)) = inbound.poll()? else {
                return Ok(());
            };
            if self.open {
                self.latency.saturating_record(dequeued_ns.saturating_sub(schedule.at(request)).max(1));
            }
            self.last_ns = dequeued_ns;
            self.received += 1;
        }
        Ok(())
    }
}

/// Pins the calling thread to `core`, if given.
pub(crate) fn pin(core: Option<usize>) {
    if let Some(id) = core {
        core_affinity::set_for_current(core_affinity::CoreId { id });
    }
}

/// Sends `count` commands at `pace` and takes their deliveries. Gives up (with `received`
/// short of `count`) a minute after the last command was due.
pub(crate) fn drive<O, I>(
    outbound: &mut O,
    inbound: &mut I,
    count: u64,
    pace: Pace,
    threads: Threads,
) -> Result<ClientRun, String>
where
    O: Outbound + Send,
    I: Inbound + Send,
{
    let open = matches!(pace, Pace::Open { .. });
    let schedule = Schedule::new(pace, count);
    let (sending, receiving) = match threads {
        Threads::Shared { core } => thread::scope(|scope| {
            let client = scope.spawn(|| shared(outbound, inbound, count, open, core, &schedule));
            client.join().map_err(|_| "the client thread panicked".to_string())?
        })?,
        Threads::Split { producer, consumer } => {
            let abort = AtomicBool::new(false);
            thread::scope(|scope| {
                let sender = scope.spawn(|| {
                    pin(producer);
                    let sent = send_all(outbound, count, open, &schedule, &abort);
                    if sent.is_err() {
                        abort.store(true, Ordering::Relaxed);
                    }
                    sent
                });
                let receiver = scope.spawn(|| {
                    pin(consumer);
                    let taken = receive_all(inbound, count, open, &schedule, &abort);
                    if taken.is_err() {
                        abort.store(true, Ordering::Relaxed);
                    }
                    taken
                });
                let sent = sender.join().map_err(|_| "the producer thread panicked".to_string())?;
                let taken = receiver.join().map_err(|_| "the consumer thread panicked".to_string())?;
                Ok::<_, String>((sent?, taken?))
            })?
        }
    };
    Ok(ClientRun {
        count,
        received: receiving.received,
        latency: receiving.latency,
        send_lag: sending.lag,
        busy: sending.busy,
        start_ns: schedule.start_ns,
        last_ns: receiving.last_ns,
        usage: sum(sending.usage, receiving.usage),
    })
}

fn shared<O: Outbound, I: Inbound>(
    outbound: &mut O,
    inbound: &mut I,
    count: u64,
    open: bool,
    core: Option<usize>,
    schedule: &Schedule,
) -> Result<(Sending, Receiving), String> {
    pin(core);
    let mut sending = Sending::new(count, open);
    let mut receiving = Receiving::new(count, open);
    wait_until(schedule.start_ns);
    let before = ThreadUsage::now();
    let mut turns = 0u32;
    while !receiving.done() {
        sending.step(outbound, schedule)?;
        receiving.step(inbound, schedule)?;
        turns = turns.wrapping_add(1);
        if turns.is_multiple_of(1 << 12) && monotonic_ns() > schedule.deadline_ns {
            break;
        }
    }
    receiving.usage = ThreadUsage::now().since(before);
    Ok((sending, receiving))
}

fn send_all<O: Outbound>(
    outbound: &mut O,
    count: u64,
    open: bool,
    schedule: &Schedule,
    abort: &AtomicBool,
) -> Result<Sending, String> {
    let mut sending = Sending::new(count, open);
    wait_until(schedule.start_ns);
    let before = ThreadUsage::now();
    let mut turns = 0u32;
    while !sending.done() {
        sending.step(outbound, schedule)?;
        turns = turns.wrapping_add(1);
        if turns.is_multiple_of(1 << 12) && (abort.load(Ordering::Relaxed) || monotonic_ns() > schedule.deadline_ns) {
            break;
        }
    }
    sending.usage = ThreadUsage::now().since(before);
    Ok(sending)
}

fn receive_all<I: Inbound>(
    inbound: &mut I,
    count: u64,
    open: bool,
    schedule: &Schedule,
    abort: &AtomicBool,
) -> Result<Receiving, String> {
    let mut receiving = Receiving::new(count, open);
    let before = ThreadUsage::now();
    let mut turns = 0u32;
    while !receiving.done() {
        receiving.step(inbound, schedule)?;
        turns = turns.wrapping_add(1);
        if turns.is_multiple_of(1 << 12) && (abort.load(Ordering::Relaxed) || monotonic_ns() > schedule.deadline_ns) {
            break;
        }
    }
    receiving.usage = ThreadUsage::now().since(before);
    Ok(receiving)
}

fn sum(a: ThreadUsage, b: ThreadUsage) -> ThreadUsage {
    ThreadUsage {
        minor_faults: a.minor_faults + b.minor_faults,
        major_faults: a.major_faults + b.major_faults,
        blocked: a.blocked + b.blocked,
        preempted: a.preempted + b.preempted,
    }
}

fn wait_until(ns: u64) {
    while monotonic_ns() < ns {
        spin_loop();
    }
}
