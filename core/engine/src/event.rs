//! Events: the engine's only output. Fixed-size `Copy` values with no heap data. Each carries
//! the sequence of the command that caused it as `txid`; within a command, events come in a
//! fixed order (see docs/ARCHITECTURE.md), so replay gives byte-identical output.

use crate::command::{CommandKind, SymbolSpec};
use crate::reject::RejectReason;
use crate::types::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub txid: u64,
    pub body: EventBody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventBody {
    Rejected(Rejected),
    OrderAccepted(OrderAccepted),
    Trade(Trade),
    OrderCancelled(OrderCancelled),
    OrderAmended(OrderAmended),
    StopTriggered(StopTriggered),
    BalanceChanged(BalanceChanged),
    AssetAdded { asset: AssetId, scale: u8 },
    SymbolAdded(SymbolSpec),
    SymbolStatusChanged { symbol: SymbolId, old: SymbolStatus, new: SymbolStatus },
    SymbolFeesChanged(SymbolFeesChanged),
    TierLimitsChanged { tier: u8, old_max_open_orders: u32, new_max_open_orders: u32 },
    AccountCreated { account: AccountId, fee_tier: u8 },
    AccountStatusChanged { account: AccountId, old: AccountStatus, new: AccountStatus },
    AccountFeeTierChanged { account: AccountId, old: u8, new: u8 },
}

impl EventBody {
    /// Every variant's name, indexed by [`EventBody::kind_index`].
    pub const NAMES: [&'static str; 15] = [
        "Rejected",
        "OrderAccepted",
        "Trade",
        "OrderCancelled",
        "OrderAmended",
        "StopTriggered",
        "BalanceChanged",
        "AssetAdded",
        "SymbolAdded",
        "SymbolStatusChanged",
        "SymbolFeesChanged",
        "TierLimitsChanged",
        "AccountCreated",
        "AccountStatusChanged",
        "AccountFeeTierChanged",
    ];

    /// A dense index of the variant, for counting events by kind.
    pub fn kind_index(&self) -> usize {
        match self {
            EventBody::Rejected(_) => 0,
            EventBody::OrderAccepted(_) => 1,
            EventBody::Trade(_) => 2,
            EventBody::OrderCancelled(_) => 3,
            EventBody::OrderAmended(_) => 4,
            EventBody::StopTriggered(_) => 5,
            EventBody::BalanceChanged(_) => 6,
            EventBody::AssetAdded { .. } => 7,
            EventBody::SymbolAdded(_) => 8,
            EventBody::SymbolStatusChanged { .. } => 9,
            EventBody::SymbolFeesChanged(_) => 10,
            EventBody::TierLimitsChanged { .. } => 11,
            EventBody::AccountCreated { .. } => 12,
            EventBody::AccountStatusChanged { .. } => 13,
            EventBody::AccountFeeTierChanged { .. } => 14,
        }
    }

    pub fn name(&self) -> &'static str {
        Self::NAMES[self.kind_index()]
    }
}

/// A refused command (the catalog's OrderRejected, for every kind of command). The ids are
/// whatever the command named; `order_id` is 0 for a refused new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected {
    pub command: CommandKind,
    pub account: AccountId,
    pub order_id: OrderId,
    pub client_order_id: u64,
    pub reason: RejectReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderAccepted {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: SymbolId,
    pub client_order_id: u64,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    pub price: i64,
    pub qty: i64,
    pub quote_qty: i64,
    pub stop_price: i64,
    pub expire_ts_ns: u64,
    pub post_only: bool,
    pub stp: SelfTradePrevention,
    /// Funds frozen for the order, in the quote asset for buys and the base asset for sells.
    pub frozen: i64,
}

/// One execution. The buyer pays its fee in the base asset, the seller in the quote asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub trade_id: TradeId,
    pub symbol: SymbolId,
    pub price: i64,
    pub qty: i64,
    /// `price × qty` in quote minor units.
    pub notional: i64,
    pub taker_side: Side,
    pub maker_order_id: OrderId,
    pub taker_order_id: OrderId,
    pub maker_account: AccountId,
    pub taker_account: AccountId,
    pub maker_fee: i64,
    pub taker_fee: i64,
    /// What is left of each order after this trade: base quantity, or for a market order
    /// by quote amount the unspent quote budget.
    pub maker_remaining: i64,
    pub taker_remaining: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderCancelled {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: SymbolId,
    pub side: Side,
    /// Unfilled base quantity (or unspent quote budget for a market order by quote amount).
    pub remaining: i64,
    pub reason: CancelReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderAmended {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: SymbolId,
    pub side: Side,
    pub old_price: i64,
    pub new_price: i64,
    pub old_qty: i64,
    pub new_qty: i64,
    /// True when only the quantity went down: the order kept its place in the queue.
    pub priority_kept: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopTriggered {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: SymbolId,
    pub stop_price: i64,
    pub last_price: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceChanged {
    pub account: AccountId,
    pub asset: AssetId,
    pub cause: BalanceCause,
    /// The adjustment's ref id, the order id (freeze and release) or the trade id.
    pub reference: u64,
    pub available_before: i64,
    pub frozen_before: i64,
    pub available_after: i64,
    pub frozen_after: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolFeesChanged {
    pub symbol: SymbolId,
    pub tier: u8,
    pub old_maker_fee_bps: u16,
    pub old_taker_fee_bps: u16,
    pub new_maker_fee_bps: u16,
    pub new_taker_fee_bps: u16,
}

/// Where the engine writes its events. The engine never allocates; a sink may.
pub trait EventSink {
    fn emit(&mut self, event: Event);
}

impl EventSink for Vec<Event> {
    fn emit(&mut self, event: Event) {
        self.push(event);
    }
}
