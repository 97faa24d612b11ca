//! What every stream socket shares: sends bounded in time, the close codes, the keepalive
//! and the cap on the client's message rate.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tokio::time::{interval, Instant, Interval, MissedTickBehavior};

use crate::TradingError;

/// How often the server pings; a client silent (no pong, no message) for two of these is
/// taken for dead and closed.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// A send that takes longer than this means the client does not read: it is closed rather
/// than left to hold the socket's updates.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a closing socket waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// WebSocket close codes (RFC 6455): policy violation for a slow consumer or a client over
/// its message rate, going away for a dead one or a stopping server.
pub const CLOSE_POLICY: u16 = 1008;
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// The longest reason a close frame can carry: a control frame holds 125 bytes, 2 of them
/// the code.
const MAX_CLOSE_REASON: usize = 123;

/// `reason`, cut at a character boundary to fit a close frame.
fn close_reason(mut reason: String) -> String {
    let mut end = reason.len().min(MAX_CLOSE_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason.truncate(end);
    reason
}

/// The server's reply to a client's message, or an unrequested error.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reply {
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<String>,
}

impl Reply {
    pub fn ok(event: &'static str, id: Option<u64>, subscription_id: u64) -> Reply {
        Reply { event, id, subscription_id: Some(subscription_id), code: None, msg: None }
    }

    pub fn error(id: Option<u64>, error: TradingError) -> Reply {
        Reply { event: "error", id, subscription_id: None, code: Some(error.code), msg: Some(error.msg) }
    }
}

/// Why a session ends.
pub enum End {
    /// The client closed, or the socket failed: nothing more to send.
    Gone,
    /// The server closes with this code and reason.
    Close(u16, String),
}

/// The sending half of a stream socket.
pub struct Socket {
    sink: SplitSink<WebSocket, Message>,
}

impl Socket {
    pub fn new(sink: SplitSink<WebSocket, Message>) -> Socket {
        Socket { sink }
    }

    pub async fn send_json(&mut self, message: &impl Serialize) -> Result<(), End> {
        let text = serde_json::to_string(message).unwrap_or_default();
        self.send(Message::Text(text.into())).await
    }

    pub async fn send(&mut self, message: Message) -> Result<(), End> {
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(CLOSE_POLICY, "slow consumer: a send timed out".into())),
        }
    }

    /// Sends the close frame a session's end calls for, if any, then reads what the client
    /// still sends until its own close frame (for a bounded time): closing a TCP socket with
    /// unread data resets it, and the client would lose the close frame and its reason.
    pub async fn finish(&mut self, end: Result<(), End>, stream: &mut SplitStream<WebSocket>) {
        let Err(End::Close(code, reason)) = end else { return };
        let frame = CloseFrame { code, reason: Utf8Bytes::from(close_reason(reason)) };
        if let Ok(Ok(())) = tokio::time::timeout(SEND_TIMEOUT, self.sink.send(Message::Close(Some(frame)))).await {
            let drain = async {
                while let Some(Ok(message)) = stream.next().await {
                    if matches!(message, Message::Close(_)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(CLOSE_WAIT, drain).await;
        }
    }
}

/// Pings every [`PING_EVERY`] and ends a session whose client has been silent for two.
pub struct Keepalive {
    pings: Interval,
    heard: Instant,
}

impl Keepalive {
    pub fn new() -> Keepalive {
        let mut pings = interval(PING_EVERY);
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Keepalive { pings, heard: Instant::now() }
    }

    /// Any frame at all shows the client is alive.
    pub fn heard(&mut self) {
        self.heard = Instant::now();
    }

    /// Waits for the next ping to be due.
    pub async fn due(&mut self) {
        self.pings.tick().await;
    }

    /// Pings, or ends the session if the client has gone silent.
    pub async fn ping(&self, socket: &mut Socket) -> Result<(), End> {
        if self.heard.elapsed() > 2 * PING_EVERY {
            return Err(End::Close(CLOSE_GOING_AWAY, "no pong: keepalive timed out".into()));
        }
        socket.send(Message::Ping(Default::default())).await
    }
}

/// The client's messages per second on one socket, counted over whole seconds. Past the
/// cap the socket is closed: a client that floods its subscriptions does not get to make
/// the server's work grow, and `0` means no cap.
pub struct MessageRate {
    per_second: u32,
    window_start: Instant,
    in_window: u32,
}

impl MessageRate {
    pub fn new(per_second: u32) -> MessageRate {
        MessageRate { per_second, window_start: Instant::now(), in_window: 0 }
    }

    /// Counts one message from the client.
    pub fn take(&mut self, now: Instant) -> Result<(), End> {
        if self.per_second == 0 {
            return Ok(());
        }
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            self.window_start = now;
            self.in_window = 0;
        }
        self.in_window += 1;
        if self.in_window > self.per_second {
            let why = format!("rate limit: more than {} messages in a second", self.per_second);
            return Err(End::Close(CLOSE_POLICY, why));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn close_reasons_are_cut_to_fit_a_close_frame() {
        assert_eq!(close_reason("slow consumer".into()), "slow consumer");
        assert_eq!(close_reason("x".repeat(200)).len(), MAX_CLOSE_REASON);
        let cut = close_reason("é".repeat(100));
        assert!(cut.len() <= MAX_CLOSE_REASON && cut.chars().all(|c| c == 'é'), "{cut}");
    }

    use super::*;

    #[test]
    fn the_message_rate_resets_each_second_and_zero_means_no_cap() {
        let start = Instant::now();
        let mut rate = MessageRate::new(3);
        rate.window_start = start;
        for _ in 0..3 {
            assert!(rate.take(start).is_ok());
        }
        assert!(matches!(rate.take(start + Duration::from_millis(999)), Err(End::Close(CLOSE_POLICY, _))));
        assert!(rate.take(start + Duration::from_secs(1)).is_ok());
        let mut uncapped = MessageRate::new(0);
        assert!((0..10_000).all(|_| uncapped.take(start).is_ok()));
    }
}
