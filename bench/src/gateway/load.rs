//! The load client of `cex bench gateway`, run in a process of its own: N connections driven
//! open loop from one thread, with non-blocking sockets and the same code for the gateway and
//! for the echo server, so the two round trips differ only in what is behind the socket.
//!
//! Messages are due at a fixed rate, round robin over the connections: on each, a
//! NewOrderSingle for a resting bid far below the market, then a CancelOrder for it by client
//! order id, and so on. A message's latency runs from its *scheduled* time to the moment its
//! answer is read: the ExecutionReport (New, Canceled, or Rejected) from the gateway, the same
//! bytes back from the echo. A stall delays every later message and shows in the
//! percentiles (no coordinated omission).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use cex_engine::{Cancel, Command, NewOrder, OrderType, SelfTradePrevention, Side, TimeInForce};
use cex_gateway_protocol::codec::{self, ExecType, MessageDecoder};
use cex_gateway_protocol::{
    encode_frame, encode_order_entry, sign_logon, write_frame_header, FrameBuffer, FrameDecoder, FRAME_HEADER_LENGTH,
};
use hdrhistogram::Histogram;

use super::server::{now_ms, BenchKey};
use crate::market;

/// How long a run waits for its last answers.
const DRAIN: Duration = Duration::from_secs(3);
/// The share of each run's messages, from its start, left out of the histogram: connections
/// and caches warm up.
const WARMUP_PERCENT: u64 = 5;

/// What a run is pointed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Echo,
    Gateway,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Echo => "tcp echo",
            Target::Gateway => "gateway",
        }
    }
}

/// One run's outcome.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub target: Target,
    pub rate: u64,
    pub sent: u64,
    pub answered: u64,
    /// Answered with a reject (ExecutionReport Rejected or SessionReject).
    pub rejected: u64,
    pub seconds: f64,
    pub histogram: Histogram<u64>,
}

/// A message waiting for its answer.
#[derive(Clone, Copy)]
struct Pending {
    /// The number the gateway gives the message in the session (the Logon was 1).
    seq: u64,
    due_ns: u64,
    client_order_id: u64,
    recorded: bool,
}

pub struct Connection {
    stream: TcpStream,
    out: Vec<u8>,
    frames: FrameBuffer,
    waiting: VecDeque<Pending>,
    /// Orders are placed then cancelled: the next message is a cancel of this one.
    open_order: Option<u64>,
    next_client_order_id: u64,
    next_seq: u64,
}

/// Runs `target` at `rate` messages/s for `seconds` over `connections`.
pub fn run(target: Target, connections: &mut [Connection], rate: u64, seconds: f64) -> io::Result<RunResult> {
    let total = ((rate as f64 * seconds) as u64).max(1);
    let interval_ns = 1e9 / rate.max(1) as f64;
    let warmup = total * WARMUP_PERCENT / 100;
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("valid bounds");
    let (mut sent, mut answered, mut rejected) = (0u64, 0u64, 0u64);
    let mut read_buf = vec![0u8; 256 * 1024];
    let start = Instant::now();
    let mut last_due = Duration::ZERO;
    loop {
        let now_ns = start.elapsed().as_nanos() as u64;
        while sent < total && (sent as f64 * interval_ns) as u64 <= now_ns {
            let due_ns = (sent as f64 * interval_ns) as u64;
            let count = connections.len();
            connections[sent as usize % count].queue(due_ns, sent >= warmup);
            sent += 1;
            last_due = Duration::from_nanos(due_ns);
        }
        let mut activity = false;
        for connection in connections.iter_mut() {
            connection.flush()?;
            let got = connection.receive(target, &mut read_buf, start, &mut histogram)?;
            activity |= got.0 > 0;
            answered += got.0;
            rejected += got.1;
        }
        let waiting: usize = connections.iter().map(|c| c.waiting.len()).sum();
        if sent == total && waiting == 0 {
            break;
        }
        if sent == total && start.elapsed() > last_due + DRAIN {
            break;
        }
        if !activity {
            let next_due = Duration::from_nanos((sent as f64 * interval_ns) as u64);
            idle(connections, next_due.saturating_sub(start.elapsed()));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    for connection in connections.iter_mut() {
        connection.waiting.clear();
    }
    Ok(RunResult { target, rate, sent, answered, rejected, seconds, histogram })
}

/// Waits for input until the next send is due, in the kernel if that is far enough away
/// to be worth a system call; never past the due time.
fn idle(connections: &[Connection], until_due: Duration) {
    if until_due < Duration::from_micros(20) {
        std::hint::spin_loop();
        return;
    }
    let mut fds: Vec<libc::pollfd> = connections
        .iter()
        .map(|connection| libc::pollfd { fd: connection.stream.as_raw_fd(), events: libc::POLLIN, revents: 0 })
        .collect();
    let wait = until_due.min(Duration::from_millis(10));
    let timeout = libc::timespec { tv_sec: 0, tv_nsec: wait.subsec_nanos() as libc::c_long };
    // SAFETY: `fds` is a live, exclusively borrowed array of `fds.len()` pollfd structs and
    // `timeout` a live timespec for the duration of the call; each fd belongs to a TcpStream
    // that outlives it; a null signal mask leaves the mask unchanged.
    unsafe {
        libc::ppoll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, &timeout, std::ptr::null());
    }
}

/// Asks the kernel to wake this thread's timed waits on time rather than up to 50 µs late
/// (the default timer slack), so waiting never makes a send late.
pub fn tight_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes an unsigned long and touches only this thread's
    // scheduling attributes.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong);
    }
}

impl Connection {
    /// Opens a connection; logs on when the target is the gateway.
    pub fn open(address: SocketAddr, key: Option<&BenchKey>) -> io::Result<Connection> {
        let stream = TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        let mut connection = Connection {
            stream,
            out: Vec::with_capacity(64 * 1024),
            frames: FrameBuffer::new(FrameDecoder::new(1 << 16)),
            waiting: VecDeque::new(),
            open_order: None,
            next_client_order_id: 1,
            next_seq: if key.is_some() { 2 } else { 1 },
        };
        if let Some(key) = key {
            connection.logon(key)?;
        }
        connection.stream.set_nonblocking(true)?;
        Ok(connection)
    }

    fn logon(&mut self, key: &BenchKey) -> io::Result<()> {
        let timestamp_ms = now_ms();
        let nonce = u64::from(key.account) << 32 | (timestamp_ms & 0xFFFF_FFFF);
        let logon = codec::Logon {
            timestamp_ms,
            nonce,
            heartbeat_interval_ms: 60_000,
            options: codec::LogonOptions::NONE,
            signature: sign_logon(&key.secret, &key.api_key, timestamp_ms, nonce),
            api_key: &key.api_key,
        };
        let mut frame = [0u8; 512];
        let length = encode_frame(&mut frame, |buf| logon.encode(buf)).map_err(invalid)?;
        self.stream.write_all(&frame[..length])?;
        self.stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(message) = self.frames.next_frame().map_err(invalid)? {
                return match MessageDecoder::decode(message) {
                    Ok(MessageDecoder::LogonAccepted(_)) => Ok(()),
                    other => Err(invalid(format!("logon refused: {:?}", other.map(|m| m.name())))),
                };
            }
            let read = self.stream.read(&mut buf)?;
            if read == 0 {
                return Err(invalid("the gateway closed the connection at logon"));
            }
            self.frames.extend(&buf[..read]);
        }
    }

    /// Appends the next message: a new order, or the cancel of the open one.
    fn queue(&mut self, due_ns: u64, recorded: bool) {
        let (command, client_order_id) = match self.open_order.take() {
            Some(client_order_id) => {
                (Command::Cancel(Cancel { account: 0, order_id: 0, client_order_id }), client_order_id)
            }
            None => {
                let client_order_id = self.next_client_order_id;
                self.next_client_order_id += 1;
                self.open_order = Some(client_order_id);
                (resting_bid(client_order_id), client_order_id)
            }
        };
        let mut message = [0u8; 256];
        let length = encode_order_entry(&command, &mut message).expect("order entry fits 256 bytes");
        let mut header = [0u8; FRAME_HEADER_LENGTH];
        write_frame_header(&mut header, length).expect("a 6-byte header");
        self.out.extend_from_slice(&header);
        self.out.extend_from_slice(&message[..length]);
        self.waiting.push_back(Pending { seq: self.next_seq, due_ns, client_order_id, recorded });
        self.next_seq += 1;
    }

    /// Writes what the socket takes now.
    fn flush(&mut self) -> io::Result<()> {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(written) => {
                    self.out.drain(..written);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Reads what has arrived and matches answers to waiting messages: (answered, rejected).
    fn receive(
        &mut self,
        target: Target,
        buf: &mut [u8],
        start: Instant,
        histogram: &mut Histogram<u64>,
    ) -> io::Result<(u64, u64)> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection")),
                Ok(read) => self.frames.extend(&buf[..read]),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                Err(error) => return Err(error),
            }
        }
        let now_ns = start.elapsed().as_nanos() as u64;
        let (mut answered, mut rejected) = (0, 0);
        while let Some(message) = self.frames.next_frame().map_err(invalid)? {
            let Some(outcome) = answer(target, message)? else { continue };
            // A refusal comes at once, ahead of the engine's answers to earlier messages.
            let position = outcome.refused_seq.and_then(|seq| self.waiting.iter().position(|p| p.seq == seq));
            let pending = self.waiting.remove(position.unwrap_or(0)).ok_or_else(|| invalid("an answer to nothing"))?;
            if let Some(id) = outcome.client_order_id.filter(|id| *id != pending.client_order_id) {
                let expected = pending.client_order_id;
                return Err(invalid(format!("an answer about order {id} where order {expected}'s was due")));
            }
            if pending.recorded {
                histogram.saturating_record(now_ns.saturating_sub(pending.due_ns).max(1));
            }
            answered += 1;
            rejected += u64::from(outcome.rejected);
        }
        Ok((answered, rejected))
    }
}

/// What a frame from the server answers.
struct Outcome {
    /// The order it is about, when the frame says (the echo's frames are the order's own).
    client_order_id: Option<u64>,
    /// A SessionReject's: the refused message's number.
    refused_seq: Option<u64>,
    rejected: bool,
}

/// The answer a frame carries, if it is one: every echoed frame is; from the gateway, the
/// execution reports and session rejects are (balance updates are not).
fn answer(target: Target, message: &[u8]) -> io::Result<Option<Outcome>> {
    if target == Target::Echo {
        return Ok(Some(Outcome { client_order_id: None, refused_seq: None, rejected: false }));
    }
    match MessageDecoder::decode(message).map_err(invalid)? {
        MessageDecoder::ExecutionReport(report) => {
            let exec_type = report.exec_type().map_err(invalid)?;
            let client_order_id = report.client_order_id().map_err(invalid)?;
            let rejected = exec_type == ExecType::Rejected;
            Ok(Some(Outcome { client_order_id: Some(client_order_id), refused_seq: None, rejected }))
        }
        MessageDecoder::SessionReject(reject) => {
            let refused_seq = Some(reject.ref_seq_num().map_err(invalid)?);
            Ok(Some(Outcome { client_order_id: None, refused_seq, rejected: true }))
        }
        _ => Ok(None),
    }
}

/// A bid for one lot at half the market's starting price: it rests and never trades.
fn resting_bid(client_order_id: u64) -> Command {
    Command::NewOrder(NewOrder {
        account: 0,
        symbol: 0,
        client_order_id,
        side: Side::Buy,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: market::MID_TICKS / 2 * market::TICK_SIZE,
        qty: market::LOT_SIZE,
        quote_qty: 0,
        stop_price: 0,
        expire_ts_ns: 0,
        post_only: false,
        stp: SelfTradePrevention::None,
    })
}

fn invalid(error: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}
