//! A session's message rate: a token bucket on the shard's monotonic clock.

use std::time::Instant;

/// Refills `rate` tokens a second up to `burst`; each message takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_second: f64,
    burst: f64,
    tokens: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket. A `burst` of 0 is taken as 1, so a session can send at all.
    pub fn new(rate_per_second: u32, burst: u32, now: Instant) -> TokenBucket {
        let burst = f64::from(burst.max(1));
        TokenBucket { rate_per_second: f64::from(rate_per_second), burst, tokens: burst, refilled_at: now }
    }

    /// Takes `cost` tokens if there are that many; otherwise takes none.
    pub fn try_take(&mut self, cost: u32, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled_at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate_per_second).min(self.burst);
        self.refilled_at = now;
        let cost = f64::from(cost);
        if self.tokens >= cost {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 3, start);
        assert!((0..3).all(|_| bucket.try_take(1, start)));
        assert!(!bucket.try_take(1, start), "the burst is spent");
        assert!(!bucket.try_take(1, start + Duration::from_millis(50)), "half a token");
        assert!(bucket.try_take(1, start + Duration::from_millis(100)), "one token per 100 ms");
        assert!(!bucket.try_take(1, start + Duration::from_millis(100)));
    }

    #[test]
    fn refills_no_further_than_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1_000, 5, start);
        let later = start + Duration::from_secs(60);
        assert!((0..5).all(|_| bucket.try_take(1, later)));
        assert!(!bucket.try_take(1, later));
    }

    #[test]
    fn a_multi_token_cost_is_all_or_nothing() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1, 4, start);
        assert!(!bucket.try_take(5, start));
        assert!(bucket.try_take(4, start), "a refused take spent nothing");
    }
}
