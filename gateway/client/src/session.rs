//! One logged-on session over one TCP connection.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cex_engine::Command;
use cex_gateway_protocol::codec::{self, LogonOptions, LogoutReason};
use cex_gateway_protocol::{
    encode_order_entry, sign_logon, write_frame_header, EncodeError, FrameBuffer, FrameDecoder, OrderEntryError,
    FRAME_HEADER_LENGTH,
};
use rand_core::{OsRng, RngCore};

use crate::message::{LogonInfo, ServerMessage, MAX_SERVER_FRAME_LENGTH};
use crate::ClientError;

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// The send buffer's starting size: every order-entry message the client encodes fits.
const SEND_BUFFER: usize = 512;
/// A side that hears nothing for this many heartbeat intervals ends the session.
const IDLE_INTERVALS: u32 = 3;

/// An API key and its secret. Debug shows the key only.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub api_key: String,
    pub secret: String,
}

impl Credentials {
    pub fn new(api_key: impl Into<String>, secret: impl Into<String>) -> Self {
        Credentials { api_key: api_key.into(), secret: secret.into() }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("api_key", &self.api_key).finish_non_exhaustive()
    }
}

/// How to open a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Ask the gateway to cancel the account's open orders if the session ends without a
    /// Logout from this side.
    pub cancel_on_disconnect: bool,
    /// The heartbeat interval asked for; the gateway may refuse it
    /// (`LogonRejected(InvalidHeartbeatInterval)`).
    pub heartbeat_interval_ms: codec::IntervalMs,
    /// For the TCP connection.
    pub connect_timeout: Duration,
    /// For the gateway's answer to the Logon.
    pub logon_timeout: Duration,
    /// A write that cannot finish in this long ends the session.
    pub write_timeout: Duration,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            cancel_on_disconnect: false,
            heartbeat_interval_ms: 10_000,
            connect_timeout: Duration::from_secs(5),
            logon_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the connection is over, kept to answer every later call.
#[derive(Debug, Clone)]
struct Ended {
    reason: Option<LogoutReason>,
    text: String,
}

impl Ended {
    fn error(&self) -> ClientError {
        ClientError::Closed { reason: self.reason, text: self.text.clone() }
    }
}

/// The TCP connection: framed writes, buffered reads, and whether it is over.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    inbound: FrameBuffer,
    read_buf: Vec<u8>,
    out: Vec<u8>,
    nonblocking: bool,
    /// The sequence number the gateway gives the next message written.
    next_seq_num: u64,
    last_sent: Instant,
    last_received: Instant,
    ended: Option<Ended>,
}

impl Connection {
    fn open(addr: impl ToSocketAddrs, options: &SessionOptions) -> Result<Connection, ClientError> {
        let stream = connect(addr, options.connect_timeout)?;
        // Orders are small and latency matters more than packet count.
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(at_least_a_millisecond(options.write_timeout)))?;
        let peer = stream.peer_addr()?;
        let now = Instant::now();
        Ok(Connection {
            stream,
            peer,
            inbound: FrameBuffer::new(FrameDecoder::new(MAX_SERVER_FRAME_LENGTH)),
            read_buf: vec![0; READ_CHUNK],
            out: vec![0; SEND_BUFFER],
            nonblocking: false,
            next_seq_num: 1,
            last_sent: now,
            last_received: now,
            ended: None,
        })
    }

    fn check_open(&self) -> Result<(), ClientError> {
        self.ended.as_ref().map_or(Ok(()), |ended| Err(ended.error()))
    }

    /// Marks the connection over and closes the socket; returns the error that says so.
    fn end(&mut self, reason: Option<LogoutReason>, text: impl Into<String>) -> ClientError {
        let ended = self.ended.get_or_insert(Ended { reason, text: text.into() });
        let error = ended.error();
        // Already closed by the peer, or never fully open: nothing left to release.
        let _ = self.stream.shutdown(Shutdown::Both);
        error
    }

    /// An I/O failure ends the connection: a write may have stopped mid-frame.
    fn fail(&mut self, error: io::Error) -> ClientError {
        self.end(None, format!("connection failed: {error}"));
        ClientError::Io(error)
    }

    /// Encodes a message after the framing header (`encode` gets the room after it and
    /// returns the message's length) and writes the frame. Returns its sequence number.
    fn write_message(
        &mut self,
        length_hint: usize,
        encode: impl FnOnce(&mut [u8]) -> Result<usize, ClientError>,
    ) -> Result<u64, ClientError> {
        self.check_open()?;
        let needed = FRAME_HEADER_LENGTH + length_hint;
        if self.out.len() < needed {
            self.out.resize(needed, 0);
        }
        let length = encode(&mut self.out[FRAME_HEADER_LENGTH..])?;
        write_frame_header(&mut self.out, length)?;
        self.write_out(FRAME_HEADER_LENGTH + length, 1)
    }

    /// Writes `out[..length]`, which holds `messages` messages.
    fn write_out(&mut self, length: usize, messages: u64) -> Result<u64, ClientError> {
        if let Err(error) = write_fully(&mut self.stream, &mut self.nonblocking, &self.out[..length]) {
            return Err(self.fail(error));
        }
        let seq_num = self.next_seq_num;
        self.next_seq_num += messages;
        self.last_sent = Instant::now();
        Ok(seq_num)
    }

    /// Writes raw bytes. The sequence numbers count the complete frames among them, which
    /// is what the gateway numbers.
    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.check_open()?;
        if let Err(error) = write_fully(&mut self.stream, &mut self.nonblocking, bytes) {
            return Err(self.fail(error));
        }
        let frames = FrameDecoder::new(usize::MAX).frames(bytes).filter(Result::is_ok).count();
        self.next_seq_num += frames as u64;
        self.last_sent = Instant::now();
        Ok(())
    }

    fn write_logout(&mut self, reason: LogoutReason, text: &str) -> Result<u64, ClientError> {
        let logout = codec::Logout { reason, text };
        self.write_message(logout.encoded_length(), |buf| Ok(logout.encode(buf)?))
    }

    /// The next complete message already received, if any.
    fn next_message(&mut self) -> Result<Option<ServerMessage>, ClientError> {
        let frame = match self.inbound.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => return Ok(None),
            Err(error) => return Err(self.framing_failed(error)),
        };
        let message = ServerMessage::decode(frame)?;
        if let ServerMessage::Logout { reason, text } = &message {
            self.end(Some(*reason), text.clone());
        }
        Ok(Some(message))
    }

    /// No frame boundary can be trusted after a framing error: tell the gateway why and close.
    fn framing_failed(&mut self, error: cex_gateway_protocol::FrameError) -> ClientError {
        let text = format!("the gateway's stream cannot be framed: {error}");
        // Best effort: the connection is closed whether or not the Logout gets through.
        let _ = self.write_logout(LogoutReason::ProtocolViolation, &text);
        self.inbound = FrameBuffer::new(FrameDecoder::new(MAX_SERVER_FRAME_LENGTH));
        self.end(Some(LogoutReason::ProtocolViolation), text);
        ClientError::Frame(error)
    }

    /// Reads what the socket has, waiting up to `wait` (`None`: not at all). `Ok(false)` when
    /// nothing came in time.
    fn fill(&mut self, wait: Option<Duration>) -> Result<bool, ClientError> {
        self.check_open()?;
        if let Err(error) = self.prepare_read(wait) {
            return Err(self.fail(error));
        }
        match self.stream.read(&mut self.read_buf) {
            Ok(0) => Err(self.end(None, "the gateway closed the connection")),
            Ok(read) => {
                self.inbound.extend(&self.read_buf[..read]);
                self.last_received = Instant::now();
                Ok(true)
            }
            Err(error) if is_retry(&error) => Ok(false),
            Err(error) => Err(self.fail(error)),
        }
    }

    fn prepare_read(&mut self, wait: Option<Duration>) -> io::Result<()> {
        match wait {
            None => set_nonblocking(&self.stream, &mut self.nonblocking, true),
            Some(wait) => {
                set_nonblocking(&self.stream, &mut self.nonblocking, false)?;
                self.stream.set_read_timeout(Some(at_least_a_millisecond(wait)))
            }
        }
    }
}

/// A logged-on session: order entry out, responses in, heartbeats kept.
///
/// Blocking calls ([`Session::recv`]) and non-blocking ones ([`Session::try_recv`], for a
/// tool that drives many sessions from one thread) may be mixed. Writes always complete a
/// whole frame, waiting for the socket if they must.
pub struct Session {
    conn: Connection,
    info: LogonInfo,
    heartbeat: Duration,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session").field("peer", &self.conn.peer).field("info", &self.info).finish_non_exhaustive()
    }
}

impl Session {
    /// Connects to `addr`, sends a signed Logon and waits for the gateway's answer.
    pub fn logon(
        addr: impl ToSocketAddrs,
        credentials: &Credentials,
        options: &SessionOptions,
    ) -> Result<Session, ClientError> {
        let mut conn = Connection::open(addr, options)?;
        send_logon(&mut conn, credentials, options)?;
        let info = await_logon(&mut conn, Instant::now() + options.logon_timeout)?;
        conn.next_seq_num = info.next_inbound_seq_num;
        let heartbeat = at_least_a_millisecond(Duration::from_millis(info.heartbeat_interval_ms.into()));
        Ok(Session { conn, info, heartbeat })
    }

    /// What the gateway granted at logon.
    pub fn info(&self) -> &LogonInfo {
        &self.info
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.peer
    }

    /// The sequence number the gateway will give the next message sent; a SessionReject's
    /// `ref_seq_num` names a message by it.
    pub fn next_seq_num(&self) -> u64 {
        self.conn.next_seq_num
    }

    /// Whether the session has ended (every call then answers [`ClientError::Closed`]).
    pub fn is_closed(&self) -> bool {
        self.conn.ended.is_some()
    }

    /// Sends an order-entry command (NewOrder, Cancel, CancelAll, Amend or MassQuote; the
    /// account is ignored: the gateway stamps the session's). Returns its sequence number.
    pub fn send(&mut self, command: &Command) -> Result<u64, ClientError> {
        self.conn.write_message(SEND_BUFFER - FRAME_HEADER_LENGTH, |buf| Ok(encode_order_entry(command, buf)?))
    }

    /// Asks for the account's responses of journal sequences `from_txid` to
    /// `from_txid + count - 1`; they come back with their original txid, then a
    /// RetransmitComplete.
    pub fn retransmit(&mut self, from_txid: u64, count: u32) -> Result<u64, ClientError> {
        let request = codec::RetransmitRequest { from_txid, count };
        self.conn.write_message(request.encoded_length(), |buf| Ok(request.encode(buf)?))
    }

    /// Sends a Heartbeat now ([`Session::recv`] and [`Session::try_recv`] send one when the
    /// session has been quiet for the heartbeat interval).
    pub fn heartbeat(&mut self) -> Result<u64, ClientError> {
        let heartbeat = codec::Heartbeat {};
        self.conn.write_message(heartbeat.encoded_length(), |buf| Ok(heartbeat.encode(buf)?))
    }

    /// Ends the session: sends Logout(ClientRequested) and closes the connection. The
    /// gateway does not cancel orders on a Logout, whatever `cancel_on_disconnect` said.
    pub fn logout(&mut self, text: &str) -> Result<(), ClientError> {
        let sent = self.conn.write_logout(LogoutReason::ClientRequested, text);
        self.conn.end(Some(LogoutReason::ClientRequested), "logged out");
        sent.map(drop)
    }

    /// Sends `message` (an SBE message, header included, valid or not) in one frame.
    /// Returns its sequence number.
    pub fn send_message_bytes(&mut self, message: &[u8]) -> Result<u64, ClientError> {
        self.conn.write_message(message.len(), |buf| {
            buf[..message.len()].copy_from_slice(message);
            Ok(message.len())
        })
    }

    /// Sends `bytes` as they are: frames, parts of frames, or anything else.
    pub fn send_frame_bytes(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.conn.write_raw(bytes)
    }

    /// The next message from the gateway, waiting up to `timeout`; `None` if none came.
    /// While waiting it sends a Heartbeat whenever the session has sent nothing for the
    /// heartbeat interval, and ends the session if the gateway has sent nothing for three.
    /// A Logout is returned, and the session is then closed.
    pub fn recv(&mut self, timeout: Duration) -> Result<Option<ServerMessage>, ClientError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(message) = self.conn.next_message()? {
                return Ok(Some(message));
            }
            let now = Instant::now();
            if self.keep_alive(now)? {
                continue;
            }
            if now >= deadline {
                return Ok(None);
            }
            let wake = deadline.min(self.next_keep_alive());
            self.conn.fill(Some(wake.saturating_duration_since(now)))?;
        }
    }

    /// The next message if one has arrived, without waiting; heartbeats as [`Session::recv`].
    pub fn try_recv(&mut self) -> Result<Option<ServerMessage>, ClientError> {
        if let Some(message) = self.conn.next_message()? {
            return Ok(Some(message));
        }
        if self.keep_alive(Instant::now())? || self.conn.fill(None)? {
            return self.conn.next_message();
        }
        Ok(None)
    }

    /// Sends the heartbeat that is due, or gives up on a gateway silent for too long. True when
    /// it read bytes that were waiting (the caller had not read for a while): look at them first.
    fn keep_alive(&mut self, now: Instant) -> Result<bool, ClientError> {
        self.conn.check_open()?;
        if now.saturating_duration_since(self.conn.last_received) >= self.heartbeat * IDLE_INTERVALS {
            // The caller may simply not have read for a while: what waits in the socket counts.
            if self.conn.fill(None)? {
                return Ok(true);
            }
            let text = format!("nothing from the gateway for {} ms", (self.heartbeat * IDLE_INTERVALS).as_millis());
            // Best effort: the session ends whether or not the Logout gets through.
            let _ = self.conn.write_logout(LogoutReason::IdleTimeout, &text);
            return Err(self.conn.end(Some(LogoutReason::IdleTimeout), text));
        }
        if now.saturating_duration_since(self.conn.last_sent) >= self.heartbeat {
            self.heartbeat()?;
        }
        Ok(false)
    }

    /// When [`Session::keep_alive`] next has something to do.
    fn next_keep_alive(&self) -> Instant {
        (self.conn.last_sent + self.heartbeat).min(self.conn.last_received + self.heartbeat * IDLE_INTERVALS)
    }
}

impl AsRawFd for Session {
    fn as_raw_fd(&self) -> RawFd {
        self.conn.stream.as_raw_fd()
    }
}

impl AsFd for Session {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.conn.stream.as_fd()
    }
}

fn send_logon(conn: &mut Connection, credentials: &Credentials, options: &SessionOptions) -> Result<u64, ClientError> {
    let timestamp_ms = now_ms();
    let nonce = fresh_nonce();
    let flags = if options.cancel_on_disconnect { LogonOptions::CANCEL_ON_DISCONNECT } else { LogonOptions::NONE };
    let logon = codec::Logon {
        timestamp_ms,
        nonce,
        heartbeat_interval_ms: options.heartbeat_interval_ms,
        options: flags,
        signature: sign_logon(&credentials.secret, &credentials.api_key, timestamp_ms, nonce),
        api_key: &credentials.api_key,
    };
    conn.write_message(logon.encoded_length(), |buf| Ok(logon.encode(buf)?))
}

/// Waits for the answer to the Logon, which must be the gateway's first message.
fn await_logon(conn: &mut Connection, deadline: Instant) -> Result<LogonInfo, ClientError> {
    loop {
        if let Some(message) = conn.next_message()? {
            return match message {
                ServerMessage::LogonAccepted(info) => Ok(info),
                ServerMessage::LogonRejected { reason, text } => {
                    conn.end(None, "the logon was rejected");
                    Err(ClientError::LogonRejected { reason, text })
                }
                ServerMessage::Logout { reason, text } => Err(ClientError::Closed { reason: Some(reason), text }),
                other => {
                    conn.end(None, "the gateway did not answer the logon");
                    Err(ClientError::UnexpectedMessage { template_id: other.template_id() })
                }
            };
        }
        let now = Instant::now();
        if now >= deadline {
            conn.end(None, "the gateway did not answer the logon in time");
            return Err(ClientError::Timeout);
        }
        conn.fill(Some(deadline - now))?;
    }
}

fn connect(addr: impl ToSocketAddrs, timeout: Duration) -> Result<TcpStream, ClientError> {
    let mut last_error = None;
    for address in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&address, at_least_a_millisecond(timeout)) {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    let nowhere = || io::Error::new(io::ErrorKind::InvalidInput, "the gateway address resolves to nothing");
    Err(ClientError::Io(last_error.unwrap_or_else(nowhere)))
}

/// Writes all of `bytes`. A non-blocking socket that fills up is made blocking for the rest,
/// so a frame is never left half-written; the write timeout bounds the wait.
fn write_fully(stream: &mut TcpStream, nonblocking: &mut bool, bytes: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(count) => written += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock && *nonblocking => {
                set_nonblocking(stream, nonblocking, false)?;
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

fn set_nonblocking(stream: &TcpStream, current: &mut bool, wanted: bool) -> io::Result<()> {
    if *current != wanted {
        stream.set_nonblocking(wanted)?;
        *current = wanted;
    }
    Ok(())
}

/// A read that found nothing in time, or was interrupted: try again later.
fn is_retry(error: &io::Error) -> bool {
    matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

/// Socket timeouts refuse zero.
fn at_least_a_millisecond(duration: Duration) -> Duration {
    duration.max(Duration::from_millis(1))
}

fn now_ms() -> u64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
}

/// A nonce for one logon. The gateway accepts each signature once, so two logons of one key
/// in the same millisecond need different nonces: random ones, or if the OS has no
/// randomness to give, the clock's nanoseconds and a per-process counter.
fn fresh_nonce() -> u64 {
    let mut bytes = [0u8; 8];
    if OsRng.try_fill_bytes(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().subsec_nanos();
    u64::from(nanos) ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32)
}

impl From<EncodeError> for ClientError {
    fn from(error: EncodeError) -> Self {
        ClientError::Encode(OrderEntryError::Encode(error))
    }
}
