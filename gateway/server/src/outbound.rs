//! What waits to be written to one session: encoded frames in one buffer, bounded, and a
//! signal that wakes the session's writer.

use std::cell::Cell;
use std::future::poll_fn;
use std::task::{Poll, Waker};
use std::time::Instant;

use cex_gateway_protocol::{codec, encode_frame, EncodeError, Response, MAX_RESPONSE_BYTES};

/// Room for the framing header and any message the gateway sends but a logout text.
const FRAME_ROOM: usize = 6 + MAX_RESPONSE_BYTES + 256;

/// A one-task wake-up: raising it before the wait starts is not lost.
#[derive(Default)]
pub struct Signal {
    raised: Cell<bool>,
    waker: Cell<Option<Waker>>,
}

impl Signal {
    pub fn raise(&self) {
        self.raised.set(true);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }

    /// Returns once raised; lowers it.
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.raised.replace(false) {
                Poll::Ready(())
            } else {
                self.waker.set(Some(cx.waker().clone()));
                Poll::Pending
            }
        })
        .await
    }
}

/// Why a session's output ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    pub reason: codec::LogoutReason,
    pub text: String,
}

/// Frames not yet handed to the socket. Past `limit` bytes the session is closed with
/// `SlowConsumer` and further frames are dropped, so one client cannot make the gateway
/// buffer without bound.
pub struct Outbound {
    bytes: Vec<u8>,
    limit: usize,
    closing: Option<Closing>,
    last_queued: Instant,
}

impl Outbound {
    pub fn new(limit: usize, now: Instant) -> Outbound {
        Outbound { bytes: Vec::with_capacity(4096), limit, closing: None, last_queued: now }
    }

    /// Appends one frame written by `encode`; false when the session is closing or the frame
    /// does not fit the limit (which closes the session).
    pub fn push(&mut self, encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>, now: Instant) -> bool {
        if self.closing.is_some() {
            return false;
        }
        if self.bytes.len() + FRAME_ROOM > self.limit {
            let text = format!("more than {} bytes of responses were waiting to be read", self.limit);
            self.close(codec::LogoutReason::SlowConsumer, text, now);
            return false;
        }
        self.append(encode, now)
    }

    pub fn push_response(&mut self, response: &Response, now: Instant) -> bool {
        self.push(|buf| response.encode(buf), now)
    }

    /// Appends a Logout, after which nothing more is queued; the writer closes the connection
    /// once it is written. Only the first reason counts.
    pub fn close(&mut self, reason: codec::LogoutReason, text: String, now: Instant) {
        if self.closing.is_some() {
            return;
        }
        self.append(|buf| codec::Logout { reason, text: &text }.encode(buf), now);
        self.closing = Some(Closing { reason, text });
    }

    fn append(&mut self, encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>, now: Instant) -> bool {
        let start = self.bytes.len();
        self.bytes.resize(start + FRAME_ROOM, 0);
        match encode_frame(&mut self.bytes[start..], encode) {
            Ok(length) => {
                self.bytes.truncate(start + length);
                self.last_queued = now;
                true
            }
            Err(error) => {
                self.bytes.truncate(start);
                tracing::error!("a gateway message does not encode: {error}");
                false
            }
        }
    }

    /// Moves the waiting bytes into `into` (which must be empty), keeping both allocations.
    pub fn take_into(&mut self, into: &mut Vec<u8>) {
        std::mem::swap(&mut self.bytes, into);
    }

    pub fn closing(&self) -> Option<&Closing> {
        self.closing.as_ref()
    }

    pub fn last_queued(&self) -> Instant {
        self.last_queued
    }
}

#[cfg(test)]
mod tests {
    use cex_gateway_protocol::{codec::MessageDecoder, FrameBuffer};

    use super::*;

    fn messages(bytes: &[u8]) -> Vec<String> {
        let mut frames = FrameBuffer::default();
        frames.extend(bytes);
        let mut names = Vec::new();
        while let Some(message) = frames.next_frame().unwrap() {
            names.push(MessageDecoder::decode(message).unwrap().name().to_string());
        }
        names
    }

    #[test]
    fn frames_queue_in_order_and_the_logout_is_last() {
        let now = Instant::now();
        let mut out = Outbound::new(1 << 20, now);
        assert!(out.push(|buf| codec::Heartbeat {}.encode(buf), now));
        out.close(codec::LogoutReason::IdleTimeout, "quiet".into(), now);
        assert!(!out.push(|buf| codec::Heartbeat {}.encode(buf), now), "nothing after the logout");
        out.close(codec::LogoutReason::ServerShutdown, "again".into(), now);
        let mut bytes = Vec::new();
        out.take_into(&mut bytes);
        assert_eq!(messages(&bytes), ["Heartbeat", "Logout"]);
        assert_eq!(out.closing().unwrap().reason, codec::LogoutReason::IdleTimeout, "the first reason counts");
        let mut rest = Vec::new();
        out.take_into(&mut rest);
        assert!(rest.is_empty(), "taken once");
    }

    #[test]
    fn a_full_buffer_logs_the_slow_consumer_out() {
        let now = Instant::now();
        let mut out = Outbound::new(FRAME_ROOM * 3, now);
        let mut pushed = 0;
        while out.push(|buf| codec::Heartbeat {}.encode(buf), now) {
            pushed += 1;
        }
        assert!(pushed > 0 && out.closing().unwrap().reason == codec::LogoutReason::SlowConsumer);
        let mut bytes = Vec::new();
        out.take_into(&mut bytes);
        let names = messages(&bytes);
        assert_eq!(names.len(), pushed + 1);
        assert_eq!(names.last().map(String::as_str), Some("Logout"));
        assert!(bytes.len() <= FRAME_ROOM * 4, "bounded");
    }

    #[test]
    fn a_signal_raised_before_the_wait_is_kept() {
        let signal = Signal::default();
        assert!(futures_lite::future::block_on(futures_lite::future::poll_once(signal.wait())).is_none());
        signal.raise();
        futures_lite::future::block_on(signal.wait());
        let again = futures_lite::future::block_on(futures_lite::future::poll_once(signal.wait()));
        assert!(again.is_none(), "the wait lowered it");
    }
}
