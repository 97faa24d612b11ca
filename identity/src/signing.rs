//! Signed API requests, Binance style, and the pieces the binary gateway's logon shares.
//!
//! A request carries the key in the `X-MBX-APIKEY` header and, in its query string,
//! `timestamp` (ms), optionally `recvWindow` (ms, default 5000, at most 60000) and
//! `signature`: the hex HMAC-SHA256, keyed with the API secret, of the query string without
//! its `signature` parameter, immediately followed by the raw body. It is accepted if
//! `timestamp - 1000 <= now` and `now - timestamp <= recvWindow`, and only once: the
//! [`ReplayCache`] remembers each signature until its window has passed.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Mutex;

use crate::error::ErrorCode;
use crate::keys::hmac;

pub const API_KEY_HEADER: &str = "x-mbx-apikey";
/// How far ahead of the server clock a timestamp may be.
pub const FUTURE_TOLERANCE_MS: i64 = 1_000;
/// The window of a gateway logon.
pub const LOGON_WINDOW_MS: i64 = 5_000;

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    Read,
    Trade,
    Withdraw,
    Transfer,
}

impl Permission {
    pub const ALL: [Permission; 4] = [Permission::Read, Permission::Trade, Permission::Withdraw, Permission::Transfer];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Read => "read",
            Permission::Trade => "trade",
            Permission::Withdraw => "withdraw",
            Permission::Transfer => "transfer",
        }
    }

    pub fn parse(text: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|permission| permission.as_str() == text.trim().to_ascii_lowercase())
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    pub fn with(self, permission: Permission) -> Permissions {
        Permissions(self.0 | permission.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The permissions in both sets.
    pub fn intersect(self, other: Permissions) -> Permissions {
        Permissions(self.0 & other.0)
    }

    /// Whether every permission of `self` is in `other`.
    pub fn is_subset_of(self, other: Permissions) -> bool {
        self.0 & !other.0 == 0
    }

    /// From names (`read`, `trade`, `withdraw`, `transfer`); `None` on an unknown one.
    pub fn parse<S: AsRef<str>>(names: &[S]) -> Option<Permissions> {
        names.iter().try_fold(Permissions::default(), |set, name| Some(set.with(Permission::parse(name.as_ref())?)))
    }

    /// From the stored form, comma-separated; unknown names are dropped.
    pub fn from_stored(text: &str) -> Permissions {
        text.split(',').filter_map(Permission::parse).fold(Permissions::default(), Permissions::with)
    }

    pub fn names(self) -> Vec<&'static str> {
        Permission::ALL.into_iter().filter(|p| self.contains(*p)).map(Permission::as_str).collect()
    }

    pub fn to_stored(self) -> String {
        self.names().join(",")
    }
}

/// What a verified API key grants: whose it is and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    pub user_id: i64,
    pub engine_account: u32,
    pub key_id: i64,
    /// The key's permissions, narrowed to its sub-account's if it belongs to one.
    pub permissions: Permissions,
    /// The parent user, if the key belongs to a sub-account.
    pub sub_account_of: Option<i64>,
}

/// The signed parameters of a request's query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedQuery {
    pub timestamp_ms: i64,
    pub recv_window_ms: Option<i64>,
    pub signature: Vec<u8>,
    /// The query string without `signature`, as signed.
    pub unsigned_query: String,
}

/// Splits `signature` off a raw query string and reads `timestamp` and `recvWindow`.
pub fn parse_signed_query(raw_query: &str) -> Result<SignedQuery, (ErrorCode, &'static str)> {
    let mut timestamp = None;
    let mut recv_window = None;
    let mut signature = None;
    let mut kept = Vec::new();
    for pair in raw_query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "signature" => {
                if signature.is_some() {
                    return Err((ErrorCode::InvalidSignature, "more than one signature"));
                }
                signature = Some(value);
                continue;
            }
            "timestamp" => timestamp = Some(value),
            "recvWindow" => recv_window = Some(value),
            _ => {}
        }
        kept.push(pair);
    }
    let signature = signature.ok_or((ErrorCode::InvalidSignature, "the signature parameter is missing"))?;
    let signature = hex::decode(signature).map_err(|_| (ErrorCode::InvalidSignature, "the signature is not hex"))?;
    let timestamp_ms = timestamp
        .ok_or((ErrorCode::InvalidField, "the timestamp parameter is missing"))?
        .parse()
        .map_err(|_| (ErrorCode::InvalidField, "timestamp must be milliseconds since the epoch"))?;
    let recv_window_ms = recv_window
        .map(|value| value.parse().map_err(|_| (ErrorCode::InvalidField, "recvWindow must be milliseconds")))
        .transpose()?;
    Ok(SignedQuery { timestamp_ms, recv_window_ms, signature, unsigned_query: kept.join("&") })
}

/// What is signed: the query string without `signature`, then the body.
pub fn signing_payload(unsigned_query: &str, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(unsigned_query.len() + body.len());
    payload.extend_from_slice(unsigned_query.as_bytes());
    payload.extend_from_slice(body);
    payload
}

/// The raw HMAC-SHA256 of `payload` keyed with an API secret.
pub fn sign(secret: &str, payload: &[u8]) -> [u8; 32] {
    hmac(secret.as_bytes(), payload)
}

/// `sign`, hex: the `signature` parameter.
pub fn sign_hex(secret: &str, payload: &[u8]) -> String {
    hex::encode(sign(secret, payload))
}

/// What a gateway logon signs: `apiKey=<key>&nonce=<nonce>&timestamp=<ms>`.
pub fn logon_payload(api_key: &str, timestamp_ms: i64, nonce: u64) -> String {
    format!("apiKey={api_key}&nonce={nonce}&timestamp={timestamp_ms}")
}

/// Whether `timestamp_ms` is inside its window at `now_ms`.
pub fn timestamp_fresh(timestamp_ms: i64, window_ms: i64, now_ms: i64) -> bool {
    timestamp_ms <= now_ms.saturating_add(FUTURE_TOLERANCE_MS) && now_ms.saturating_sub(timestamp_ms) <= window_ms
}

/// Is the address allowed by a stored whitelist (comma-separated; empty allows any)?
pub fn ip_allowed(whitelist: &str, ip: Option<IpAddr>) -> bool {
    if whitelist.trim().is_empty() {
        return true;
    }
    let Some(ip) = ip else {
        return false;
    };
    whitelist
        .split(',')
        .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
        .any(|allowed| allowed == ip || canonical(allowed) == canonical(ip))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayError {
    Replayed,
    Full,
}

/// The signatures seen within their windows. Bounded: when full of live entries it refuses
/// new requests rather than forgetting one that could then be replayed.
#[derive(Debug)]
pub struct ReplayCache {
    capacity: usize,
    inner: Mutex<ReplayInner>,
}

#[derive(Debug, Default)]
struct ReplayInner {
    expiry_of: HashMap<Vec<u8>, i64>,
    by_expiry: BTreeSet<(i64, Vec<u8>)>,
}

impl ReplayCache {
    pub fn new(capacity: usize) -> ReplayCache {
        ReplayCache { capacity, inner: Mutex::new(ReplayInner::default()) }
    }

    /// Records `signature` until `expires_at_ms`; refuses one already recorded.
    pub fn check_and_insert(&self, signature: &[u8], expires_at_ms: i64, now_ms: i64) -> Result<(), ReplayError> {
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        while let Some((expiry, _)) = inner.by_expiry.first() {
            if *expiry > now_ms {
                break;
            }
            let (_, old) = inner.by_expiry.pop_first().expect("a first entry");
            inner.expiry_of.remove(&old);
        }
        if inner.expiry_of.contains_key(signature) {
            return Err(ReplayError::Replayed);
        }
        if inner.expiry_of.len() >= self.capacity {
            return Err(ReplayError::Full);
        }
        inner.expiry_of.insert(signature.to_vec(), expires_at_ms);
        inner.by_expiry.insert((expires_at_ms, signature.to_vec()));
        debug_assert_eq!(inner.expiry_of.len(), inner.by_expiry.len());
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).expiry_of.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binance_documented_example() {
        // From Binance's API documentation (SIGNED endpoint examples, HMAC).
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let query = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000\
                     &timestamp=1499827319559";
        let expected = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";
        assert_eq!(sign_hex(secret, query.as_bytes()), expected);
        let parsed = parse_signed_query(&format!("{query}&signature={expected}")).unwrap();
        assert_eq!(parsed.unsigned_query, query);
        assert_eq!((parsed.timestamp_ms, parsed.recv_window_ms), (1_499_827_319_559, Some(5000)));
        assert_eq!(parsed.signature, hex::decode(expected).unwrap());
    }

    #[test]
    fn query_and_body_are_both_signed() {
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        // Binance's mixed example: part in the query string, part in the body.
        let payload = signing_payload(
            "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
            b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
        );
        assert_eq!(sign_hex(secret, &payload), "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77");
    }

    #[test]
    fn the_logon_example_in_identity_md() {
        let secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
        let api_key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
        let payload = logon_payload(api_key, 1_499_827_319_559, 42);
        assert_eq!(payload, format!("apiKey={api_key}&nonce=42&timestamp=1499827319559"));
        assert_eq!(
            sign_hex(secret, payload.as_bytes()),
            "cb0b73b65fd1034caea670719e8eba1dce11e806bb58f4b187c0dbc71e494ed3"
        );
        let body = signing_payload("timestamp=1750000000000&recvWindow=5000", br#"{"label":"desk"}"#);
        assert_eq!(sign_hex(secret, &body), "9e9371a6f6db86c3a6f9ba46a422987f2aed9dcc3a9291dd3fbfd21c04d44801");
    }

    #[test]
    fn malformed_signed_queries() {
        assert_eq!(parse_signed_query("timestamp=1").unwrap_err().0, ErrorCode::InvalidSignature);
        assert_eq!(parse_signed_query("signature=zz&timestamp=1").unwrap_err().0, ErrorCode::InvalidSignature);
        assert_eq!(parse_signed_query("signature=00").unwrap_err().0, ErrorCode::InvalidField);
        assert_eq!(parse_signed_query("timestamp=x&signature=00").unwrap_err().0, ErrorCode::InvalidField);
        let twice = parse_signed_query("timestamp=1&signature=00&signature=00");
        assert_eq!(twice.unwrap_err().0, ErrorCode::InvalidSignature);
        let middle = parse_signed_query("a=1&signature=00&timestamp=5").unwrap();
        assert_eq!(middle.unsigned_query, "a=1&timestamp=5");
    }

    #[test]
    fn freshness() {
        assert!(timestamp_fresh(10_000, 5_000, 15_000));
        assert!(!timestamp_fresh(10_000, 5_000, 15_001), "too old");
        assert!(timestamp_fresh(11_000, 5_000, 10_000));
        assert!(!timestamp_fresh(11_001, 5_000, 10_000), "too far ahead");
    }

    #[test]
    fn permissions_round_trip() {
        let set = Permissions::parse(&["read", "TRADE"]).unwrap();
        assert!(set.contains(Permission::Read) && set.contains(Permission::Trade));
        assert!(!set.contains(Permission::Withdraw));
        assert_eq!(Permissions::from_stored(&set.to_stored()), set);
        assert_eq!(set.names(), vec!["read", "trade"]);
        assert_eq!(Permissions::parse(&["read", "admin"]), None);
    }

    #[test]
    fn whitelists() {
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        assert!(ip_allowed("", None));
        assert!(ip_allowed("10.0.0.1, 10.0.0.2", ip("10.0.0.2")));
        assert!(ip_allowed("10.0.0.1", ip("::ffff:10.0.0.1")));
        assert!(!ip_allowed("10.0.0.1", ip("10.0.0.3")));
        assert!(!ip_allowed("10.0.0.1", None));
    }

    #[test]
    fn the_replay_cache_refuses_repeats_and_fails_closed() {
        let cache = ReplayCache::new(2);
        assert_eq!(cache.check_and_insert(b"a", 100, 0), Ok(()));
        assert_eq!(cache.check_and_insert(b"a", 100, 50), Err(ReplayError::Replayed));
        assert_eq!(cache.check_and_insert(b"b", 200, 50), Ok(()));
        assert_eq!(cache.check_and_insert(b"c", 200, 50), Err(ReplayError::Full), "never evicts a live entry");
        assert_eq!(cache.check_and_insert(b"c", 200, 100), Ok(()), "a expired at 100");
        assert_eq!(cache.check_and_insert(b"a", 300, 150), Err(ReplayError::Full));
        assert_eq!(cache.check_and_insert(b"a", 300, 200), Ok(()), "a forgotten after its window");
        assert_eq!(cache.len(), 1, "b and c expired at 200");
    }
}
