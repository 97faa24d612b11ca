//! The engine's records. Everything is plain `Copy` data in preallocated pools, linked by
//! u32 indices rather than pointers: compact, cache-friendly and trivially hashable.

use std::cmp::Reverse;

use super::sorted_index::SortedIndex;
use crate::command::SymbolSpec;
use crate::types::*;

/// The null index of every intrusive list.
pub(crate) const NIL: u32 = u32::MAX;

/// An open order. Prices are ticks and quantities lots; see `types` for the units.
#[derive(Clone, Copy)]
pub(crate) struct Order {
    pub id: OrderId,
    pub client_order_id: u64,
    pub expire_ts_ns: u64,
    /// The limit in ticks. A buy stop-market keeps its protection price here, which its
    /// reserve is computed at; a market order keeps the limit its reserve was computed at.
    pub price: i64,
    pub stop_price: i64,
    /// Total lots (0 for a market order by quote amount).
    pub qty: i64,
    /// Unfilled lots, or the unspent quote budget of a market order by quote amount.
    pub remaining: i64,
    /// What the order holds frozen, in its reserve asset.
    pub frozen: i64,
    pub account: AccountId,
    pub symbol: SymbolId,
    /// The price level holding the order, or NIL when it is not resting.
    pub level: u32,
    pub prev: u32,
    pub next: u32,
    pub account_prev: u32,
    pub account_next: u32,
    pub base_balance: u32,
    pub quote_balance: u32,
    pub reserve_bps: u16,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub stp: SelfTradePrevention,
    pub post_only: bool,
    pub is_quote: bool,
    /// An untriggered stop, held in its side's stop index.
    pub waiting_stop: bool,
    pub in_expiry: bool,
}

impl Default for Order {
    fn default() -> Self {
        Order {
            id: 0,
            client_order_id: 0,
            expire_ts_ns: 0,
            price: 0,
            stop_price: 0,
            qty: 0,
            remaining: 0,
            frozen: 0,
            account: 0,
            symbol: 0,
            level: NIL,
            prev: NIL,
            next: NIL,
            account_prev: NIL,
            account_next: NIL,
            base_balance: NIL,
            quote_balance: NIL,
            reserve_bps: 0,
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            stp: SelfTradePrevention::None,
            post_only: false,
            is_quote: false,
            waiting_stop: false,
            in_expiry: false,
        }
    }
}

impl Order {
    pub fn by_quote(&self) -> bool {
        self.order_type == OrderType::MarketByQuote
    }

    pub fn reserve_balance(&self) -> u32 {
        match self.side {
            Side::Buy => self.quote_balance,
            Side::Sell => self.base_balance,
        }
    }

    /// Whether what is left may rest in the book.
    pub fn may_rest(&self) -> bool {
        matches!(self.order_type, OrderType::Limit | OrderType::StopLimit)
            && matches!(self.time_in_force, TimeInForce::Gtc | TimeInForce::Gtd)
    }
}

/// One price on one side of a book: a FIFO of orders, linked through `Order::prev/next`.
#[derive(Clone, Copy, Default)]
pub(crate) struct Level {
    pub price: i64,
    pub total_lots: i64,
    pub head: u32,
    pub tail: u32,
    pub count: u32,
}

/// Stop keys sort so the next stop to trigger is last: lowest buy stop, highest sell stop,
/// then the older order.
pub(crate) type BuyStopKey = (Reverse<i64>, Reverse<OrderId>);
pub(crate) type SellStopKey = (i64, Reverse<OrderId>);

pub(crate) struct SymbolState {
    pub spec: SymbolSpec,
    pub quote_per_tick_lot: i64,
    pub status: SymbolStatus,
    /// Ticks; 0 before the first trade when no reference price was given.
    pub last_price: i64,
    /// (maker, taker) basis points per fee tier.
    pub fees: [(u16, u16); MAX_FEE_TIERS],
    /// Keyed by price, so the highest bid is last.
    pub bids: SortedIndex<i64, u32>,
    /// Keyed by minus the price, so the lowest ask is last.
    pub asks: SortedIndex<i64, u32>,
    pub buy_stops: SortedIndex<BuyStopKey, u32>,
    pub sell_stops: SortedIndex<SellStopKey, u32>,
}

impl SymbolState {
    pub fn book_key(side: Side, price: i64) -> i64 {
        match side {
            Side::Buy => price,
            Side::Sell => -price,
        }
    }

    pub fn book(&self, side: Side) -> &SortedIndex<i64, u32> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    pub fn book_mut(&mut self, side: Side) -> &mut SortedIndex<i64, u32> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    pub fn stops_len(&self, side: Side) -> usize {
        match side {
            Side::Buy => self.buy_stops.len(),
            Side::Sell => self.sell_stops.len(),
        }
    }

    /// The best price on a side, in ticks.
    pub fn best_price(&self, side: Side) -> Option<i64> {
        self.book(side).last().map(|(key, _)| Self::book_key(side, key))
    }

    /// The worst price on a side, in ticks.
    pub fn worst_price(&self, side: Side) -> Option<i64> {
        self.book(side).first().map(|(key, _)| Self::book_key(side, key))
    }

    /// Whether an order on `side` at `price` would have room to rest.
    pub fn has_level_room(&self, side: Side, price: i64) -> bool {
        let book = self.book(side);
        !book.is_full() || book.get(&Self::book_key(side, price)).is_some()
    }

    pub fn lot_size(&self) -> i64 {
        self.spec.lot_size
    }

    pub fn tick_size(&self) -> i64 {
        self.spec.tick_size
    }
}

#[derive(Clone, Copy)]
pub(crate) struct AccountState {
    pub exists: bool,
    pub status: AccountStatus,
    pub fee_tier: u8,
    pub open_orders: u32,
    /// The account's open orders in ascending id, linked through `Order::account_prev/next`.
    pub head: u32,
    pub tail: u32,
}

impl Default for AccountState {
    fn default() -> Self {
        AccountState { exists: false, status: AccountStatus::Active, fee_tier: 0, open_orders: 0, head: NIL, tail: NIL }
    }
}

#[derive(Clone, Copy, Default)]
pub(crate) struct AssetState {
    pub exists: bool,
    pub scale: u8,
    /// The fee ledger: everything collected in this asset.
    pub fees_collected: i64,
    /// Credits minus debits: what all balances and fees add up to.
    pub supply: i64,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct BalanceRecord {
    pub account: AccountId,
    pub asset: AssetId,
    pub available: i64,
    pub frozen: i64,
}

pub(crate) fn balance_key(account: AccountId, asset: AssetId) -> u64 {
    ((account as u64) << 16) | asset as u64
}
