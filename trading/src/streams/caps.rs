//! The caps on open stream sockets: per client IP (every stream) and per user (user data
//! streams), from `[limits]`. A socket holds a [`SocketPermit`] for its life; a request
//! past a cap is refused before the upgrade with 429 and code 1800, and the client may try
//! again once one of its sockets has closed.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use cex_config::LimitSettings;
use cex_identity::http::too_many_requests;

/// What a refused client is told to wait: sockets close at any moment, so one second.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The stream caps; all `None` when `[limits]` is off.
#[derive(Debug, Default)]
pub struct SocketCaps {
    per_ip: Option<Counts<IpAddr>>,
    per_user: Option<Counts<i64>>,
    /// Client messages per socket per second; 0 means no cap.
    pub messages_per_second: u32,
}

impl SocketCaps {
    pub fn new(settings: &LimitSettings) -> SocketCaps {
        if !settings.enabled {
            return SocketCaps::default();
        }
        SocketCaps {
            per_ip: Some(Counts::new(settings.ws_sockets_per_ip)),
            per_user: Some(Counts::new(settings.ws_user_streams_per_user)),
            messages_per_second: settings.ws_messages_per_second,
        }
    }

    /// A permit for one more socket from `ip` (unknown when the server was not given the
    /// peer address, as in tests) and, for a user data stream, from `user`.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>, user: Option<i64>) -> Result<SocketPermit, AtCap> {
        let ip = match (&self.per_ip, ip) {
            (Some(counts), Some(ip)) => Some(counts.take(ip).then_some(ip).ok_or(AtCap)?),
            _ => None,
        };
        let mut permit = SocketPermit { caps: self.clone(), ip, user: None };
        if let (Some(counts), Some(user)) = (&self.per_user, user) {
            // Dropping `permit` on refusal gives the IP's place back.
            permit.user = Some(counts.take(user).then_some(user).ok_or(AtCap)?);
        }
        Ok(permit)
    }
}

/// A socket refused for a cap: 429 with code 1800.
#[derive(Debug)]
pub struct AtCap;

impl IntoResponse for AtCap {
    fn into_response(self) -> Response {
        too_many_requests(RETRY_AFTER)
    }
}

/// One socket's places under the caps, given back when it drops.
#[derive(Debug)]
pub struct SocketPermit {
    caps: Arc<SocketCaps>,
    ip: Option<IpAddr>,
    user: Option<i64>,
}

impl Drop for SocketPermit {
    fn drop(&mut self) {
        if let (Some(counts), Some(ip)) = (&self.caps.per_ip, self.ip) {
            counts.give_back(ip);
        }
        if let (Some(counts), Some(user)) = (&self.caps.per_user, self.user) {
            counts.give_back(user);
        }
    }
}

/// Open sockets by key. Only keys with a socket open are kept, so memory follows the
/// sockets, which the caps bound per key and the IP bucket bounds in the rate they open.
#[derive(Debug)]
struct Counts<K> {
    cap: u32,
    open: Mutex<HashMap<K, u32>>,
}

impl<K: Hash + Eq + Copy> Counts<K> {
    fn new(cap: u32) -> Counts<K> {
        Counts { cap, open: Mutex::new(HashMap::new()) }
    }

    /// Counts one more socket for `key`, unless it is at the cap.
    fn take(&self, key: K) -> bool {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(key).or_insert(0);
        if *count >= self.cap {
            return false;
        }
        *count += 1;
        true
    }

    fn give_back(&self, key: K) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn caps(per_ip: u32, per_user: u32) -> Arc<SocketCaps> {
        let settings =
            LimitSettings { ws_sockets_per_ip: per_ip, ws_user_streams_per_user: per_user, ..LimitSettings::default() };
        Arc::new(SocketCaps::new(&settings))
    }

    #[test]
    fn sockets_past_the_ip_cap_are_refused_until_one_closes() {
        let caps = caps(2, 10);
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let first = caps.admit(ip, None).unwrap();
        let _second = caps.admit(ip, None).unwrap();
        let refused = caps.admit(ip, None).unwrap_err().into_response();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(caps.admit(Some(IpAddr::from([10, 0, 0, 2])), None).is_ok(), "another IP has its own cap");
        drop(first);
        assert!(caps.admit(ip, None).is_ok());
    }

    #[test]
    fn a_refusal_for_the_user_cap_gives_the_ip_place_back() {
        let caps = caps(2, 1);
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let _stream = caps.admit(ip, Some(7)).unwrap();
        assert!(caps.admit(ip, Some(7)).is_err());
        assert!(caps.admit(ip, Some(8)).is_ok(), "the refused socket did not keep the IP's second place");
        drop(_stream);
        assert!(caps.per_user.as_ref().unwrap().open.lock().unwrap().is_empty(), "closed users are forgotten");
    }

    #[test]
    fn no_caps_when_limits_are_off() {
        let caps = Arc::new(SocketCaps::new(&LimitSettings { enabled: false, ..LimitSettings::default() }));
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        let permits: Vec<_> = (0..1_000).map(|_| caps.admit(ip, Some(1)).unwrap()).collect();
        assert_eq!(permits.len(), 1_000);
        assert_eq!(caps.messages_per_second, 0);
    }
}
