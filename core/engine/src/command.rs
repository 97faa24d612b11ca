//! Commands: the engine's only input. Each is a fixed-size `Copy` value; the runtime decodes
//! them from SBE and stamps the sequence and the time.

use crate::types::*;

/// A command as the engine receives it: sequenced and stamped by the runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandEnvelope {
    /// Gap-free, starting at 1. Every event the command causes carries it as `txid`.
    pub seq: u64,
    /// Nanoseconds since the Unix epoch. The engine never reads a clock; GTD expiry and every
    /// other notion of time comes from here. A stamp older than the previous one is treated
    /// as equal to it.
    pub ts_ns: u64,
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    AddAsset(AddAsset),
    AddSymbol(SymbolSpec),
    SetSymbolStatus { symbol: SymbolId, status: SymbolStatus },
    SetSymbolFees(SymbolFees),
    SetTierLimits { tier: u8, max_open_orders: u32 },
    CreateAccount { account: AccountId, fee_tier: u8 },
    SetAccountStatus { account: AccountId, status: AccountStatus },
    SetAccountFeeTier { account: AccountId, fee_tier: u8 },
    AdjustBalance(AdjustBalance),
    NewOrder(NewOrder),
    Cancel(Cancel),
    CancelAll(CancelAll),
    Amend(Amend),
    MassQuote(MassQuote),
    AdminCancel { order_id: OrderId },
}

crate::types::wire_enum!(
    /// The command's kind, carried by rejects so a consumer knows what was refused.
    CommandKind {
        AddAsset = 0,
        AddSymbol = 1,
        SetSymbolStatus = 2,
        SetSymbolFees = 3,
        SetTierLimits = 4,
        CreateAccount = 5,
        SetAccountStatus = 6,
        SetAccountFeeTier = 7,
        AdjustBalance = 8,
        NewOrder = 9,
        Cancel = 10,
        CancelAll = 11,
        Amend = 12,
        MassQuote = 13,
        AdminCancel = 14,
    }
);

impl Command {
    pub fn kind(&self) -> CommandKind {
        match self {
            Command::AddAsset(_) => CommandKind::AddAsset,
            Command::AddSymbol(_) => CommandKind::AddSymbol,
            Command::SetSymbolStatus { .. } => CommandKind::SetSymbolStatus,
            Command::SetSymbolFees(_) => CommandKind::SetSymbolFees,
            Command::SetTierLimits { .. } => CommandKind::SetTierLimits,
            Command::CreateAccount { .. } => CommandKind::CreateAccount,
            Command::SetAccountStatus { .. } => CommandKind::SetAccountStatus,
            Command::SetAccountFeeTier { .. } => CommandKind::SetAccountFeeTier,
            Command::AdjustBalance(_) => CommandKind::AdjustBalance,
            Command::NewOrder(_) => CommandKind::NewOrder,
            Command::Cancel(_) => CommandKind::Cancel,
            Command::CancelAll(_) => CommandKind::CancelAll,
            Command::Amend(_) => CommandKind::Amend,
            Command::MassQuote(_) => CommandKind::MassQuote,
            Command::AdminCancel { .. } => CommandKind::AdminCancel,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddAsset {
    pub asset: AssetId,
    /// Decimal places of the minor unit: 8 for BTC means 1 minor unit = 0.00000001 BTC.
    pub scale: u8,
}

/// A symbol's trading rules. See `types` for units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolSpec {
    pub symbol: SymbolId,
    pub base: AssetId,
    pub quote: AssetId,
    /// Price increment, in quote minor units per whole base unit.
    pub tick_size: i64,
    /// Quantity increment, in base minor units.
    pub lot_size: i64,
    pub min_qty: i64,
    pub max_qty: i64,
    /// Smallest `price × qty`, in quote minor units.
    pub min_notional: i64,
    /// Limit prices must lie within ± this many basis points of the last trade price.
    pub price_band_bps: u32,
    /// The last price before any trade (0 for none): anchors the band and stop checks.
    pub reference_price: i64,
    /// Fees for every tier until `SetSymbolFees` changes one.
    pub maker_fee_bps: u16,
    pub taker_fee_bps: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymbolFees {
    pub symbol: SymbolId,
    pub tier: u8,
    pub maker_fee_bps: u16,
    pub taker_fee_bps: u16,
}

/// A deposit credit (`amount > 0`) or a withdrawal debit (`amount < 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdjustBalance {
    pub account: AccountId,
    pub asset: AssetId,
    pub amount: i64,
    /// Unique per adjustment; a repeat inside the dedup window is rejected.
    pub ref_id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOrder {
    pub account: AccountId,
    pub symbol: SymbolId,
    /// 0 for none; otherwise unique among the account's open orders.
    pub client_order_id: u64,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// Limit price (Limit, StopLimit); ignored by market types.
    pub price: i64,
    /// Base quantity; ignored by MarketByQuote.
    pub qty: i64,
    /// Quote amount to spend (MarketByQuote only).
    pub quote_qty: i64,
    /// Trigger price (StopLimit, StopMarket only).
    pub stop_price: i64,
    /// GTD expiry, compared with command timestamps.
    pub expire_ts_ns: u64,
    pub post_only: bool,
    pub stp: SelfTradePrevention,
}

impl NewOrder {
    /// A plain GTC limit order: no client id, no expiry, not post-only, no STP.
    pub fn limit(account: AccountId, symbol: SymbolId, side: Side, price: i64, qty: i64) -> NewOrder {
        NewOrder {
            account,
            symbol,
            client_order_id: 0,
            side,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price,
            qty,
            quote_qty: 0,
            stop_price: 0,
            expire_ts_ns: 0,
            post_only: false,
            stp: SelfTradePrevention::None,
        }
    }

    /// One side of a mass quote: a post-only GTC limit order.
    pub fn quote_leg(quote: &MassQuote, side: Side, price: i64, qty: i64) -> NewOrder {
        NewOrder { post_only: true, ..NewOrder::limit(quote.account, quote.symbol, side, price, qty) }
    }
}

/// Cancels by `order_id`, or by `client_order_id` when `order_id` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancel {
    pub account: AccountId,
    pub order_id: OrderId,
    pub client_order_id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CancelAll {
    pub account: AccountId,
    pub symbol: Option<SymbolId>,
    pub side: Option<Side>,
}

/// Changes a resting limit order. `new_qty` is the new total quantity, filled part included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amend {
    pub account: AccountId,
    pub order_id: OrderId,
    pub client_order_id: u64,
    pub new_price: i64,
    pub new_qty: i64,
}

/// Replaces the account's quote on a symbol: its previous quote orders are cancelled, then a
/// post-only GTC bid and ask are placed. A side with quantity 0 is left empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MassQuote {
    pub account: AccountId,
    pub symbol: SymbolId,
    pub bid_price: i64,
    pub bid_qty: i64,
    pub ask_price: i64,
    pub ask_qty: i64,
}

impl Command {
    /// The reject event for this command: the account and ids it named, 0 where it names
    /// none. A refused new order has no order id yet.
    pub fn rejection(&self, reason: crate::RejectReason) -> crate::event::Rejected {
        let (account, order_id, client_order_id) = match *self {
            Command::NewOrder(o) => (o.account, 0, o.client_order_id),
            Command::Cancel(c) => (c.account, c.order_id, c.client_order_id),
            Command::CancelAll(c) => (c.account, 0, 0),
            Command::Amend(a) => (a.account, a.order_id, a.client_order_id),
            Command::MassQuote(q) => (q.account, 0, 0),
            Command::AdminCancel { order_id } => (0, order_id, 0),
            Command::AdjustBalance(a) => (a.account, 0, 0),
            Command::CreateAccount { account, .. }
            | Command::SetAccountStatus { account, .. }
            | Command::SetAccountFeeTier { account, .. } => (account, 0, 0),
            Command::AddAsset(_)
            | Command::AddSymbol(_)
            | Command::SetSymbolStatus { .. }
            | Command::SetSymbolFees(_)
            | Command::SetTierLimits { .. } => (0, 0, 0),
        };
        crate::event::Rejected { command: self.kind(), account, order_id, client_order_id, reason }
    }
}
