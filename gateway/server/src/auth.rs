//! Who checks a Logon. The gateway knows nothing of key stores: the node hands it a
//! [`LogonVerifier`] (the identity store's API keys, checked on the REST runtime).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;

use cex_engine::AccountId;
use cex_gateway_protocol::codec::{KeyPermissions, LogonRejectReason};

/// A Logon's signed parts, as received.
#[derive(Clone, PartialEq, Eq)]
pub struct LogonRequest {
    pub api_key: String,
    pub timestamp_ms: u64,
    pub nonce: u64,
    pub signature: [u8; 32],
    pub peer: SocketAddr,
}

impl std::fmt::Debug for LogonRequest {
    // The key names a credential and the signature is one use of it: neither goes to logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogonRequest")
            .field("timestamp_ms", &self.timestamp_ms)
            .field("nonce", &self.nonce)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

/// What an accepted key may do, and for whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogonGrant {
    pub account: AccountId,
    pub permissions: KeyPermissions,
}

/// Why a logon was refused: the LogonRejected the client gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogonRefusal {
    pub reason: LogonRejectReason,
    pub text: String,
}

impl LogonRefusal {
    pub fn new(reason: LogonRejectReason, text: impl Into<String>) -> LogonRefusal {
        LogonRefusal { reason, text: text.into() }
    }
}

pub type VerifyFuture = Pin<Box<dyn Future<Output = Result<LogonGrant, LogonRefusal>> + Send>>;

/// Checks a logon's key, signature, timestamp, nonce and source address. The future is
/// polled on a gateway shard (glommio), so it must not need a particular runtime to be
/// polled: run the work elsewhere and hand back a channel.
pub trait LogonVerifier: Send + Sync + 'static {
    fn verify(&self, request: LogonRequest) -> VerifyFuture;
}
