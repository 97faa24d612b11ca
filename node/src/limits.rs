//! The REST API's rate limits: a token bucket per client IP, checked before anything else,
//! and one per authenticated user, checked once identity's layer knows the user (through
//! [`UserCheck`]). Over either: 429, `Retry-After` in whole seconds, and
//! `{"code": 1800, "msg": ...}`. Each kind keeps at most `max_tracked` buckets: idle ones
//! (refilled to the burst, so forgetting them changes nothing) go first, then the least
//! recently used, so memory stays bounded whatever the number of clients.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use cex_config::LimitSettings;
use cex_identity::authz::UserCheck;
use cex_identity::http::too_many_requests;

/// `router` behind the limits `settings` set; unchanged if they are off.
pub fn layer(router: Router, settings: &LimitSettings) -> Router {
    if !settings.enabled {
        return router;
    }
    let limits = Arc::new(Limits::new(settings));
    let users = limits.clone();
    let check =
        UserCheck(Arc::new(move |user_id| users.users.take(user_id, Instant::now()).err().map(too_many_requests)));
    router.layer(middleware::from_fn_with_state((limits, check), limit))
}

async fn limit(State((limits, check)): State<(Arc<Limits>, UserCheck)>, mut request: Request, next: Next) -> Response {
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    if let Some(ip) = ip {
        if let Err(wait) = limits.ips.take(ip, Instant::now()) {
            return too_many_requests(wait);
        }
    }
    request.extensions_mut().insert(check);
    next.run(request).await
}

struct Limits {
    ips: Buckets<IpAddr>,
    users: Buckets<i64>,
}

impl Limits {
    fn new(settings: &LimitSettings) -> Limits {
        Limits {
            ips: Buckets::new(settings.ip_per_second, settings.ip_burst, settings.max_tracked),
            users: Buckets::new(settings.user_per_second, settings.user_burst, settings.max_tracked),
        }
    }
}

/// Token buckets by key, behind one lock: each check is a hash lookup and some arithmetic.
struct Buckets<K> {
    per_second: f64,
    burst: f64,
    max_tracked: usize,
    map: Mutex<HashMap<K, Bucket>>,
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new(per_second: u32, burst: u32, max_tracked: usize) -> Buckets<K> {
        let map = Mutex::new(HashMap::new());
        Buckets { per_second: f64::from(per_second), burst: f64::from(burst), max_tracked: max_tracked.max(1), map }
    }

    /// Takes a token from `key`'s bucket, or says how long until one is there.
    fn take(&self, key: K, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another request panicked mid-update: the counts are
        // still numbers, so keep limiting rather than fail every request.
        let mut map = self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if !map.contains_key(&key) && map.len() >= self.max_tracked {
            self.evict(&mut map, now);
        }
        let full = Bucket { tokens: self.burst, updated: now };
        let bucket = map.entry(key).or_insert(full);
        bucket.tokens = self.refilled(bucket, now);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        (bucket.tokens + elapsed * self.per_second).min(self.burst)
    }

    /// Forgets the idle buckets; if none is idle, the least recently used quarter, so the
    /// next evictions are many inserts away (the sort is paid once per quarter).
    fn evict(&self, map: &mut HashMap<K, Bucket>, now: Instant) {
        map.retain(|_, bucket| self.refilled(bucket, now) < self.burst);
        if map.len() < self.max_tracked {
            return;
        }
        let mut ages: Vec<Instant> = map.values().map(|bucket| bucket.updated).collect();
        let cut = (ages.len() / 4).max(1) - 1;
        let (_, oldest_kept, _) = ages.select_nth_unstable(cut);
        let cutoff = *oldest_kept;
        map.retain(|_, bucket| bucket.updated > cutoff);
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.map.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_past_the_limit_waits_for_the_rate() {
        let buckets = Buckets::new(10, 3, 100);
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(buckets.take(1, now), Ok(()));
        }
        let wait = buckets.take(1, now).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100), "{wait:?}");
        assert_eq!(buckets.take(2, now), Ok(()), "another key has its own bucket");
        assert_eq!(buckets.take(1, now + Duration::from_millis(100)), Ok(()), "refilled at the rate");
    }

    #[test]
    fn under_the_rate_nothing_is_refused() {
        let buckets = Buckets::new(10, 1, 100);
        let start = Instant::now();
        for step in 0..100 {
            assert_eq!(buckets.take(7, start + Duration::from_millis(100 * step)), Ok(()));
        }
    }

    #[test]
    fn memory_is_bounded_and_idle_buckets_go_first() {
        let buckets = Buckets::new(1, 5, 8);
        let start = Instant::now();
        buckets.take(0, start).unwrap();
        for key in 1..1_000 {
            buckets.take(key, start + Duration::from_millis(key as u64)).unwrap();
            assert!(buckets.tracked() <= 8);
        }
        // Ten seconds on, every bucket is full again: one insert forgets them all.
        buckets.take(5_000, start + Duration::from_secs(10)).unwrap();
        assert_eq!(buckets.tracked(), 1);
    }
}
