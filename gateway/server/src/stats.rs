//! Counters every shard adds to, read by the node's /metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use cex_gateway_protocol::codec::{LogonRejectReason, LogoutReason, SessionRejectReason};

/// Reason codes are u8 and small; a slot per possible code keeps counting branch-free.
const REASON_SLOTS: usize = 32;

#[derive(Debug)]
pub struct GatewayStats {
    pub connections: AtomicU64,
    pub sessions_open: AtomicU64,
    pub logons_accepted: AtomicU64,
    pub messages_in: AtomicU64,
    pub commands_submitted: AtomicU64,
    pub responses_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub retransmitted: AtomicU64,
    pub cancel_on_disconnect: AtomicU64,
    logon_rejects: [AtomicU64; REASON_SLOTS],
    session_rejects: [AtomicU64; REASON_SLOTS],
    logouts: [AtomicU64; REASON_SLOTS],
}

impl Default for GatewayStats {
    fn default() -> Self {
        GatewayStats {
            connections: AtomicU64::new(0),
            sessions_open: AtomicU64::new(0),
            logons_accepted: AtomicU64::new(0),
            messages_in: AtomicU64::new(0),
            commands_submitted: AtomicU64::new(0),
            responses_out: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            retransmitted: AtomicU64::new(0),
            cancel_on_disconnect: AtomicU64::new(0),
            logon_rejects: std::array::from_fn(|_| AtomicU64::new(0)),
            session_rejects: std::array::from_fn(|_| AtomicU64::new(0)),
            logouts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

fn bump(slots: &[AtomicU64; REASON_SLOTS], code: u8) {
    slots[usize::from(code) % REASON_SLOTS].fetch_add(1, Ordering::Relaxed);
}

/// The reasons counted at least once, with their counts.
fn nonzero<T>(slots: &[AtomicU64; REASON_SLOTS], from_code: fn(u8) -> Option<T>) -> Vec<(T, u64)> {
    (0..REASON_SLOTS as u8)
        .filter_map(|code| {
            let count = slots[usize::from(code)].load(Ordering::Relaxed);
            from_code(code).filter(|_| count > 0).map(|reason| (reason, count))
        })
        .collect()
}

impl GatewayStats {
    pub fn logon_rejected(&self, reason: LogonRejectReason) {
        bump(&self.logon_rejects, reason as u8);
    }

    pub fn session_rejected(&self, reason: SessionRejectReason) {
        bump(&self.session_rejects, reason as u8);
    }

    pub fn logged_out(&self, reason: LogoutReason) {
        bump(&self.logouts, reason as u8);
    }

    pub fn logon_rejects(&self) -> Vec<(LogonRejectReason, u64)> {
        nonzero(&self.logon_rejects, LogonRejectReason::from_raw)
    }

    pub fn session_rejects(&self) -> Vec<(SessionRejectReason, u64)> {
        nonzero(&self.session_rejects, SessionRejectReason::from_raw)
    }

    pub fn logouts(&self) -> Vec<(LogoutReason, u64)> {
        nonzero(&self.logouts, LogoutReason::from_raw)
    }
}
