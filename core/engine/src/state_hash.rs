//! The deterministic state hash. Both engines walk their state in one canonical order and
//! feed it through the same views, so equal states give equal hashes whatever the internal
//! layout. The order:
//!
//! 1. `last_seq`, `now_ns`, `next_order_id`, `next_trade_id`;
//! 2. assets by id: id, scale, fees collected, supply;
//! 3. tiers 0..8: max open orders;
//! 4. accounts by id: id, status, fee tier;
//! 5. balance records by (account, asset), skipping all-zero ones: `BalanceView`;
//! 6. symbols by id: id, status, last price, maker/taker bps per tier, then bids best to
//!    worst and each level in time priority, asks likewise, buy stops then sell stops in
//!    trigger order, each order as an `OrderView` and each list closed by a count;
//! 7. the `AdjustBalance` dedup window, oldest first, closed by its length.

use crate::types::*;

/// FNV-1a over 64-bit words, with a final avalanche. Fixed, seedless, identical everywhere.
#[derive(Debug, Clone)]
pub struct StateHasher {
    state: u64,
}

impl Default for StateHasher {
    fn default() -> Self {
        StateHasher { state: 0xcbf2_9ce4_8422_2325 }
    }
}

impl StateHasher {
    pub fn u64(&mut self, value: u64) {
        for byte in value.to_le_bytes() {
            self.state ^= byte as u64;
            self.state = self.state.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub fn i64(&mut self, value: i64) {
        self.u64(value as u64);
    }

    pub fn order(&mut self, order: &OrderView) {
        self.u64(order.order_id);
        self.u64(order.account as u64);
        self.u64(order.side as u64);
        self.u64(order.order_type as u64);
        self.u64(order.time_in_force as u64);
        self.i64(order.price);
        self.i64(order.stop_price);
        self.i64(order.qty);
        self.i64(order.remaining);
        self.i64(order.frozen);
        self.u64(order.client_order_id);
        self.u64(order.expire_ts_ns);
        self.u64(order.stp as u64);
        self.u64(order.post_only as u64);
        self.u64(order.is_quote as u64);
    }

    pub fn balance(&mut self, balance: &BalanceView) {
        self.u64(balance.account as u64);
        self.u64(balance.asset as u64);
        self.i64(balance.available);
        self.i64(balance.frozen);
    }

    pub fn finish(&self) -> u64 {
        let mut x = self.state;
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x
    }
}

/// An open order as the hash sees it, in external units (price, base quantity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: OrderId,
    pub account: AccountId,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// The limit price; 0 for stop-market.
    pub price: i64,
    pub stop_price: i64,
    /// Total quantity, after any amend.
    pub qty: i64,
    pub remaining: i64,
    pub frozen: i64,
    pub client_order_id: u64,
    pub expire_ts_ns: u64,
    pub stp: SelfTradePrevention,
    pub post_only: bool,
    /// Placed by `MassQuote`.
    pub is_quote: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceView {
    pub account: AccountId,
    pub asset: AssetId,
    pub available: i64,
    pub frozen: i64,
}
