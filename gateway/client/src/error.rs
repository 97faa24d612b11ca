//! What can go wrong on a session.

use std::fmt;
use std::io;

use cex_gateway_protocol::codec::{LogonRejectReason, LogoutReason};
use cex_gateway_protocol::{DecodeError, FrameError, OrderEntryError};

/// A session's failure. After `Io`, `Frame` or `Closed` the session is over: every later call
/// answers `Closed`. After `Decode` or `UnexpectedMessage` the frame boundary is intact and
/// the session goes on; the message is lost.
#[derive(Debug)]
pub enum ClientError {
    /// Connecting, reading or writing failed.
    Io(io::Error),
    /// The gateway's byte stream cannot be framed: no trustworthy boundary is left.
    Frame(FrameError),
    /// A well-framed message from the gateway does not decode.
    Decode(DecodeError),
    /// A message that only a client sends (or an engine journal record) came from the gateway.
    UnexpectedMessage { template_id: u16 },
    /// A message could not be written (a command a client cannot send, a text too long).
    Encode(OrderEntryError),
    /// The gateway refused the logon.
    LogonRejected { reason: LogonRejectReason, text: String },
    /// The session has ended: the gateway logged out (`reason` is its reason), closed the
    /// connection (`reason` is `None`), this side logged out, or gave up on a silent gateway.
    Closed { reason: Option<LogoutReason>, text: String },
    /// No answer to the logon within the logon timeout.
    Timeout,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Io(error) => write!(f, "gateway connection: {error}"),
            ClientError::Frame(error) => write!(f, "the gateway's stream cannot be framed: {error}"),
            ClientError::Decode(error) => write!(f, "a gateway message does not decode: {error}"),
            ClientError::UnexpectedMessage { template_id } => {
                write!(f, "the gateway sent template {template_id}, which is not a gateway-to-client message")
            }
            ClientError::Encode(error) => write!(f, "cannot encode the message: {error}"),
            ClientError::LogonRejected { reason, text } => write!(f, "logon rejected: {}: {text}", reason.name()),
            ClientError::Closed { reason: Some(reason), text } => {
                write!(f, "session closed: {}: {text}", reason.name())
            }
            ClientError::Closed { reason: None, text } => write!(f, "session closed: {text}"),
            ClientError::Timeout => f.write_str("the gateway did not answer the logon in time"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Io(error) => Some(error),
            ClientError::Frame(error) => Some(error),
            ClientError::Decode(error) => Some(error),
            ClientError::Encode(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(error: io::Error) -> Self {
        ClientError::Io(error)
    }
}

impl From<FrameError> for ClientError {
    fn from(error: FrameError) -> Self {
        ClientError::Frame(error)
    }
}

impl From<DecodeError> for ClientError {
    fn from(error: DecodeError) -> Self {
        ClientError::Decode(error)
    }
}

impl From<OrderEntryError> for ClientError {
    fn from(error: OrderEntryError) -> Self {
        ClientError::Encode(error)
    }
}
