//! One connection: the logon, then a reader that turns client messages into engine commands
//! and a writer that drains the session's [`Outbound`]. docs/BINARY_PROTOCOL.md is the
//! contract this file keeps.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cex_engine::{AccountId, Command, Event};
use cex_gateway_protocol::codec::{
    self, KeyPermissions, LogonOptions, LogonRejectReason, LogoutReason, MessageDecoder, SessionRejectReason,
};
use cex_gateway_protocol::{
    decode_client_message, order_entry_commands, order_entry_refusal, FrameBuffer, FrameDecoder, Refusal, Response,
    ResponseMapper,
};
use cex_runtime::SubmitError;
use futures_lite::io::{ReadHalf, WriteHalf};
use futures_lite::{future, AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use crate::auth::{LogonGrant, LogonRefusal, LogonRequest};
use crate::limits::TokenBucket;
use crate::outbound::{Outbound, Signal};
use crate::retransmit;
use crate::shard::Shard;
use crate::stats::GatewayStats;

/// A session that has received nothing for this many heartbeat intervals is logged out.
const IDLE_INTERVALS: u32 = 3;
/// How long one write may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the key store has to answer a logon.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);
const READ_BUFFER: usize = 64 * 1024;

/// A logged-on session, shared by its reader, its writer and the shard's router.
pub struct Session {
    pub id: u64,
    pub account: AccountId,
    permissions: KeyPermissions,
    options: LogonOptions,
    heartbeat: Duration,
    /// Responses up to this journal sequence are only sent on request; set at registration.
    last_txid: Cell<u64>,
    mapper: RefCell<ResponseMapper>,
    out: RefCell<Outbound>,
    /// Wakes the writer: something was queued, or the session ends.
    writer_wake: Signal,
    /// Stops the reader: the gateway ends the session.
    closed: Signal,
    /// The connection is gone: the writer stops without flushing.
    ended: Cell<bool>,
    in_flight: Cell<u32>,
    last_received: Cell<Instant>,
    rate: RefCell<TokenBucket>,
    /// The number the gateway gave the client's last message (the Logon was 1).
    inbound_seq: Cell<u64>,
    client_logged_out: Cell<bool>,
    /// Scratch for one message's commands.
    commands: RefCell<Vec<Command>>,
    stats: Arc<GatewayStats>,
}

/// A Logon as received, before it is checked.
struct LogonFields {
    request: LogonRequest,
    heartbeat_interval_ms: u32,
    options: LogonOptions,
}

/// Serves one connection until it ends.
pub async fn serve(shard: Rc<Shard>, stream: TcpStream) {
    let Ok(peer) = stream.peer_addr() else { return };
    // Responses are small and latency is the product: never wait to coalesce them.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::warn!(%peer, "TCP_NODELAY: {error}");
    }
    let (mut reader, mut writer) = futures_lite::io::split(stream);
    let mut frames = FrameBuffer::new(FrameDecoder::new(shard.config().max_frame_length));
    let mut buf = vec![0u8; READ_BUFFER];
    let opened = match read_logon(&shard, &mut reader, &mut frames, &mut buf, peer).await {
        Ok(logon) => open_session(&shard, logon).await,
        Err(refusal) => Err(refusal),
    };
    let session = match opened {
        Ok(session) => session,
        Err(refusal) => return reject_logon(&shard, &mut writer, &refusal).await,
    };
    let writer_task = glommio::spawn_local(write_loop(session.clone(), writer, shard.clone()));
    read_loop(&shard, &session, reader, frames, buf).await;
    session.ended.set(true);
    session.writer_wake.raise();
    // Before unregistering: a stopping shard waits for its sessions to unregister, and the
    // cancel must be in the engine's ring by then.
    if session.options.cancel_on_disconnect() && !session.client_logged_out.get() {
        shard.cancel_all(session.account).await;
    }
    shard.unregister(&session);
    writer_task.await;
}

/// Waits for the first frame, which must be a well-formed Logon.
async fn read_logon(
    shard: &Shard,
    reader: &mut ReadHalf<TcpStream>,
    frames: &mut FrameBuffer,
    buf: &mut [u8],
    peer: SocketAddr,
) -> Result<LogonFields, LogonRefusal> {
    let invalid = |text: String| LogonRefusal::new(LogonRejectReason::InvalidLogon, text);
    let deadline = Instant::now() + shard.config().logon_timeout;
    loop {
        match frames.next_frame() {
            Ok(Some(message)) => return logon_fields(message, peer).map_err(invalid),
            Ok(None) => {}
            Err(error) => return Err(invalid(error.to_string())),
        }
        match within(deadline.saturating_duration_since(Instant::now()), reader.read(buf)).await {
            None => return Err(invalid(format!("no Logon within {:?}", shard.config().logon_timeout))),
            Some(Ok(0)) | Some(Err(_)) => return Err(invalid("the connection closed before a Logon".into())),
            Some(Ok(n)) => frames.extend(&buf[..n]),
        }
    }
}

fn logon_fields(message: &[u8], peer: SocketAddr) -> Result<LogonFields, String> {
    let decoded = decode_client_message(message).map_err(|refusal| refusal.text)?;
    let MessageDecoder::Logon(logon) = decoded else {
        return Err(format!("the first message must be a Logon, not {}", decoded.name()));
    };
    let field = |error: cex_gateway_protocol::DecodeError| error.to_string();
    Ok(LogonFields {
        request: LogonRequest {
            api_key: logon.api_key().map_err(field)?.to_string(),
            timestamp_ms: logon.timestamp_ms().map_err(field)?,
            nonce: logon.nonce().map_err(field)?,
            signature: logon.signature().map_err(field)?,
            peer,
        },
        heartbeat_interval_ms: logon.heartbeat_interval_ms().map_err(field)?,
        options: logon.options().map_err(field)?,
    })
}

/// Checks the logon and, if it passes, registers the session and queues LogonAccepted.
async fn open_session(shard: &Rc<Shard>, logon: LogonFields) -> Result<Rc<Session>, LogonRefusal> {
    let range = &shard.config().heartbeat_ms;
    if !range.contains(&logon.heartbeat_interval_ms) {
        let text = format!("heartbeatIntervalMs must be {} to {}", range.start(), range.end());
        return Err(LogonRefusal::new(LogonRejectReason::InvalidHeartbeatInterval, text));
    }
    if !shard.shared.reserve_session() {
        let text = format!("the gateway is at its limit of {} sessions", shard.config().max_sessions);
        return Err(LogonRefusal::new(LogonRejectReason::TooManySessions, text));
    }
    let grant = match verify(shard, logon.request).await {
        Ok(grant) => grant,
        Err(refusal) => {
            shard.shared.release_session();
            return Err(refusal);
        }
    };
    let heartbeat = Duration::from_millis(u64::from(logon.heartbeat_interval_ms));
    let session = Rc::new(Session::new(shard, grant, logon.options, heartbeat));
    session.last_txid.set(shard.register(&session));
    session.accept(logon.heartbeat_interval_ms);
    shard.stats().logons_accepted.fetch_add(1, Ordering::Relaxed);
    Ok(session)
}

async fn verify(shard: &Shard, request: LogonRequest) -> Result<LogonGrant, LogonRefusal> {
    let unavailable =
        || LogonRefusal::new(LogonRejectReason::Unavailable, "the key store did not answer in time; retry");
    let grant = within(VERIFY_TIMEOUT, shard.shared.verifier.verify(request)).await.ok_or_else(unavailable)??;
    if !(grant.permissions.contains(KeyPermissions::READ) || grant.permissions.contains(KeyPermissions::TRADE)) {
        return Err(LogonRefusal::new(LogonRejectReason::PermissionDenied, "the API key has neither read nor trade"));
    }
    Ok(grant)
}

/// Sends LogonRejected and lets the connection close.
async fn reject_logon(shard: &Shard, writer: &mut WriteHalf<TcpStream>, refusal: &LogonRefusal) {
    shard.stats().logon_rejected(refusal.reason);
    let mut frame = [0u8; 512];
    let text = truncated(&refusal.text, 400);
    let rejected = codec::LogonRejected { reason: refusal.reason, text };
    let Ok(length) = cex_gateway_protocol::encode_frame(&mut frame, |buf| rejected.encode(buf)) else { return };
    let _ = within(WRITE_TIMEOUT, writer.write_all(&frame[..length])).await;
}

/// `work`'s output, or `None` if it takes longer than `limit`.
async fn within<T>(limit: Duration, work: impl std::future::Future<Output = T>) -> Option<T> {
    future::or(async { Some(work.await) }, async {
        glommio::timer::sleep(limit).await;
        None
    })
    .await
}

/// `text` cut to at most `max` bytes, on a character boundary.
fn truncated(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads frames and handles them until the connection or the session ends.
async fn read_loop(
    shard: &Shard,
    session: &Session,
    mut reader: ReadHalf<TcpStream>,
    mut frames: FrameBuffer,
    mut buf: Vec<u8>,
) {
    loop {
        loop {
            match frames.next_frame() {
                Ok(Some(message)) => session.handle(shard, message),
                Ok(None) => break,
                Err(error) => return session.close(LogoutReason::ProtocolViolation, error.to_string()),
            }
            if session.is_closing() {
                return;
            }
        }
        let read = future::or(async { Some(reader.read(&mut buf).await) }, async {
            session.closed.wait().await;
            None
        })
        .await;
        match read {
            Some(Ok(n)) if n > 0 => {
                session.last_received.set(Instant::now());
                frames.extend(&buf[..n]);
            }
            _ => return,
        }
    }
}

/// Writes what the session queues; after a Logout, or once the connection is gone, stops.
async fn write_loop(session: Rc<Session>, mut writer: WriteHalf<TcpStream>, shard: Rc<Shard>) {
    let mut pending = Vec::with_capacity(4096);
    loop {
        session.out.borrow_mut().take_into(&mut pending);
        if pending.is_empty() {
            if session.ended.get() || session.is_closing() {
                break;
            }
            session.writer_wake.wait().await;
            continue;
        }
        match within(WRITE_TIMEOUT, writer.write_all(&pending)).await {
            Some(Ok(())) => {
                shard.stats().bytes_out.fetch_add(pending.len() as u64, Ordering::Relaxed);
                pending.clear();
            }
            Some(Err(_)) => break,
            None => {
                session.close(LogoutReason::SlowConsumer, "the client did not read its responses".into());
                break;
            }
        }
    }
    // Wakes the reader if the session ended here.
    session.closed.raise();
}

impl Session {
    fn new(shard: &Shard, grant: LogonGrant, options: LogonOptions, heartbeat: Duration) -> Session {
        let now = Instant::now();
        let config = shard.config();
        Session {
            id: shard.new_session_id(),
            account: grant.account,
            permissions: grant.permissions,
            options,
            heartbeat,
            last_txid: Cell::new(0),
            mapper: RefCell::new(ResponseMapper::new(grant.account)),
            out: RefCell::new(Outbound::new(config.max_outbound_bytes, now)),
            writer_wake: Signal::default(),
            closed: Signal::default(),
            ended: Cell::new(false),
            in_flight: Cell::new(0),
            last_received: Cell::new(now),
            rate: RefCell::new(TokenBucket::new(config.rate_per_second, config.rate_burst, now)),
            inbound_seq: Cell::new(1),
            client_logged_out: Cell::new(false),
            commands: RefCell::new(Vec::with_capacity(16)),
            stats: shard.shared.stats.clone(),
        }
    }

    fn accept(&self, heartbeat_interval_ms: u32) {
        let accepted = codec::LogonAccepted {
            session_id: self.id,
            account: self.account,
            permissions: self.permissions,
            options: self.options,
            heartbeat_interval_ms,
            next_inbound_seq_num: 2,
            last_txid: self.last_txid.get(),
        };
        self.push(|buf| accepted.encode(buf));
    }

    fn push(&self, encode: impl FnOnce(&mut [u8]) -> Result<usize, cex_gateway_protocol::EncodeError>) {
        if self.out.borrow_mut().push(encode, Instant::now()) {
            self.writer_wake.raise();
        } else {
            self.closing_wakes();
        }
    }

    /// A full buffer closes the session: make sure the reader and writer notice.
    fn closing_wakes(&self) {
        if self.is_closing() {
            self.closed.raise();
            self.writer_wake.raise();
        }
    }

    pub fn is_closing(&self) -> bool {
        self.out.borrow().closing().is_some()
    }

    /// The engine answered one of this session's commands.
    pub fn answered(&self) {
        self.in_flight.set(self.in_flight.get().saturating_sub(1));
    }

    /// The session's responses to one engine event.
    pub fn deliver(&self, event: &Event) {
        let now = Instant::now();
        let mut out = self.out.borrow_mut();
        let mut queued = 0;
        let mapped = self.mapper.borrow_mut().map(event, |response| {
            queued += u64::from(out.push_response(&response, now));
        });
        drop(out);
        if let Err(error) = mapped {
            tracing::error!(session = self.id, "a response does not encode: {error}");
        }
        if queued > 0 {
            self.writer_wake.raise();
        }
        self.closing_wakes();
    }

    /// Ends the session with a Logout: the writer sends it and closes the connection.
    pub fn close(&self, reason: LogoutReason, text: String) {
        if self.is_closing() {
            return;
        }
        self.out.borrow_mut().close(reason, text, Instant::now());
        self.stats.logged_out(reason);
        self.closing_wakes();
    }

    /// Sends a heartbeat if nothing was sent for an interval; logs the session out if nothing
    /// was received for [`IDLE_INTERVALS`].
    pub fn keep_alive(&self, now: Instant) {
        if now.saturating_duration_since(self.last_received.get()) > self.heartbeat * IDLE_INTERVALS {
            let text = format!("nothing received for {IDLE_INTERVALS} heartbeat intervals");
            return self.close(LogoutReason::IdleTimeout, text);
        }
        if now.saturating_duration_since(self.out.borrow().last_queued()) >= self.heartbeat {
            self.push(|buf| codec::Heartbeat {}.encode(buf));
        }
    }

    /// One client message: `message` is the SBE message of one frame.
    fn handle(&self, shard: &Shard, message: &[u8]) {
        let seq = self.inbound_seq.get() + 1;
        self.inbound_seq.set(seq);
        shard.stats().messages_in.fetch_add(1, Ordering::Relaxed);
        // Every message but a heartbeat or a logout counts against the rate, garbage too:
        // each refusal costs the gateway a write.
        let template = codec::read_header(message).map_or(0, |header| header.template_id);
        let free = template == codec::Heartbeat::TEMPLATE_ID || template == codec::Logout::TEMPLATE_ID;
        if !free && !self.rate.borrow_mut().try_take(1, Instant::now()) {
            let text = format!("more than {} messages a second", shard.config().rate_per_second);
            let reason = SessionRejectReason::RateLimitExceeded;
            return self.refuse(shard, seq, &Refusal { ref_template_id: template, reason, text });
        }
        let decoded = match decode_client_message(message) {
            Ok(decoded) => decoded,
            Err(refusal) => return self.refuse(shard, seq, &refusal),
        };
        let refuse = |reason, text: &str| Refusal { ref_template_id: template, reason, text: text.to_string() };
        match &decoded {
            MessageDecoder::Heartbeat(_) => {}
            MessageDecoder::Logout(_) => {
                self.client_logged_out.set(true);
                self.close(LogoutReason::ClientRequested, "logged out".into());
            }
            MessageDecoder::Logon(_) => {
                self.refuse(shard, seq, &refuse(SessionRejectReason::AlreadyLoggedOn, "the session is logged on"))
            }
            MessageDecoder::RetransmitRequest(request) => match (request.from_txid(), request.count()) {
                (Ok(from), Ok(count)) => self.retransmit(shard, seq, from, count),
                _ => self.refuse(shard, seq, &refuse(SessionRejectReason::Truncated, "unreadable fields")),
            },
            _ => self.order_entry(shard, seq, &decoded),
        }
    }

    fn refuse(&self, shard: &Shard, seq: u64, refusal: &Refusal) {
        shard.stats().session_rejected(refusal.reason);
        self.push(|buf| refusal.session_reject(seq).encode(buf));
    }

    /// Stamps the session's account on the message's commands and submits them, all or none.
    fn order_entry(&self, shard: &Shard, seq: u64, message: &MessageDecoder<'_>) {
        let template = message.template_id();
        let refuse =
            |reason, text: String| self.refuse(shard, seq, &Refusal { ref_template_id: template, reason, text });
        if !self.permissions.contains(KeyPermissions::TRADE) {
            return refuse(SessionRejectReason::PermissionDenied, "the API key lacks the trade permission".into());
        }
        let mut commands = self.commands.borrow_mut();
        commands.clear();
        if let Err(error) = order_entry_commands(self.account, message, |command| commands.push(command)) {
            return self.refuse(shard, seq, &order_entry_refusal(template, &error));
        }
        let count = commands.len() as u32;
        let max = shard.config().max_in_flight;
        if self.in_flight.get().saturating_add(count) > max {
            return refuse(SessionRejectReason::TooManyInFlight, format!("at most {max} commands may await responses"));
        }
        if shard.free_slots() < commands.len() {
            return refuse(SessionRejectReason::Busy, "the engine cannot take the command now; retry".into());
        }
        for command in commands.drain(..) {
            match shard.submit(self.id, command) {
                Ok(()) => self.in_flight.set(self.in_flight.get() + 1),
                Err(SubmitError::Invalid(_, error)) => {
                    return refuse(SessionRejectReason::InvalidFieldValue, error.to_string())
                }
                Err(SubmitError::Busy(_)) | Err(SubmitError::Closed(_)) => {
                    return refuse(SessionRejectReason::Busy, "the engine is not taking commands".into())
                }
            }
        }
    }

    /// Resends the account's responses of a journal range, then RetransmitComplete; or refuses
    /// the whole request.
    fn retransmit(&self, shard: &Shard, seq: u64, from_txid: u64, count: u32) {
        let refuse = |text: String| {
            let template = codec::RetransmitRequest::TEMPLATE_ID;
            let reason = SessionRejectReason::RetransmitRefused;
            self.refuse(shard, seq, &Refusal { ref_template_id: template, reason, text });
        };
        let Some(events_dir) = shard.shared.events_dir.as_deref() else {
            return refuse("the event journal is off (durability none)".into());
        };
        let (from, to) =
            match retransmit::checked_range(from_txid, count, self.last_txid.get(), shard.config().retransmit_max) {
                Ok(range) => range,
                Err(why) => return refuse(why),
            };
        let mut responses: Vec<Response> = Vec::new();
        if let Err(why) = retransmit::scan(events_dir, self.account, from, to, |response| responses.push(*response)) {
            return refuse(why);
        }
        for response in &responses {
            self.push(|buf| response.encode(buf));
        }
        shard.stats().retransmitted.fetch_add(responses.len() as u64, Ordering::Relaxed);
        let messages = u32::try_from(responses.len()).unwrap_or(u32::MAX);
        self.push(|buf| codec::RetransmitComplete { from_txid: from, to_txid: to, messages }.encode(buf));
    }
}
