//! `[limits]`: the REST API's rate limits, a token bucket per client IP and one per
//! authenticated user, which the node's rate-limit layer reads; and the WebSocket streams'
//! caps (open sockets per IP and per user, client messages per socket), which the streams
//! read. A WebSocket's opening request is a REST request and counts against the buckets.

use serde::Deserialize;

use crate::error::ConfigError;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitSettings {
    /// Off: nothing is refused for its rate (a load test, a trusted network).
    pub enabled: bool,
    /// Requests one client IP may send per second, sustained.
    pub ip_per_second: u32,
    /// Requests one client IP may send at once after a quiet spell.
    pub ip_burst: u32,
    /// Requests one user (session or API key) may send per second, sustained.
    pub user_per_second: u32,
    /// Requests one user may send at once after a quiet spell.
    pub user_burst: u32,
    /// Buckets kept per kind (IPs, users); idle ones are evicted first, so memory is bounded.
    pub max_tracked: usize,
    /// WebSocket streams (market and user) one client IP may hold open at once.
    pub ws_sockets_per_ip: u32,
    /// User data streams one user may hold open at once.
    pub ws_user_streams_per_user: u32,
    /// Messages a client may send on one socket per second; past it the socket is closed.
    pub ws_messages_per_second: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            enabled: true,
            ip_per_second: 50,
            ip_burst: 100,
            user_per_second: 20,
            user_burst: 40,
            max_tracked: 100_000,
            ws_sockets_per_ip: 100,
            ws_user_streams_per_user: 10,
            ws_messages_per_second: 10,
        }
    }
}

impl LimitSettings {
    pub(crate) fn check(&self, errors: &mut Vec<ConfigError>) {
        let positive = [
            ("limits.ip_per_second", u64::from(self.ip_per_second)),
            ("limits.ip_burst", u64::from(self.ip_burst)),
            ("limits.user_per_second", u64::from(self.user_per_second)),
            ("limits.user_burst", u64::from(self.user_burst)),
            ("limits.max_tracked", self.max_tracked as u64),
            ("limits.ws_sockets_per_ip", u64::from(self.ws_sockets_per_ip)),
            ("limits.ws_user_streams_per_user", u64::from(self.ws_user_streams_per_user)),
            ("limits.ws_messages_per_second", u64::from(self.ws_messages_per_second)),
        ];
        for (key, value) in positive {
            if value == 0 {
                errors.push(ConfigError::new(key, "must be above zero"));
            }
        }
    }
}
