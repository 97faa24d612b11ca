//! The naive reference engine: a literal reading of docs/ARCHITECTURE.md, "Exact semantics".
//!
//! It exists so the differential test can hold the fast engine to the spec, so it trades speed
//! for plainness: ordered maps, queues and short loops, every check written out in spec order.
//! Inside, prices are ticks and quantities are lots; events and the state hash convert to
//! external units at the boundary.
//!
//! Every command handler does all of its checks before its first mutation, so a reject leaves
//! the state as GTD expiry left it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

use crate::command::{Command, CommandEnvelope, CommandKind, SymbolSpec};
use crate::event::{BalanceChanged, Event, EventBody, Rejected};
use crate::reject::RejectReason;
use crate::types::*;
use crate::EngineConfig;

mod admin;
mod hash;
mod matching;
mod orders;
#[cfg(test)]
mod tests;

#[derive(Debug, Clone, Copy)]
struct Asset {
    scale: u8,
    /// The fee ledger's holding of this asset.
    fees: i64,
    /// Credits minus debits ever applied by `AdjustBalance`.
    supply: i64,
}

#[derive(Debug, Clone, Copy)]
struct Account {
    status: AccountStatus,
    fee_tier: u8,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Balance {
    available: i64,
    frozen: i64,
}

/// Where an open order currently is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// In its side's stop index, waiting for the last price.
    Stop,
    /// Resting in the book.
    Book,
    /// Executing as a taker within the current command; never seen between commands.
    Taking,
}

#[derive(Debug, Clone, Copy)]
struct Order {
    id: OrderId,
    account: AccountId,
    symbol: SymbolId,
    side: Side,
    order_type: OrderType,
    tif: TimeInForce,
    /// Limit price in ticks; 0 for market types and stop-market.
    price: i64,
    /// Stop price in ticks; 0 for non-stop types.
    stop: i64,
    /// Total quantity in lots, after any amend; 0 for a market order by quote.
    qty: i64,
    /// Unfilled lots; 0 for a market order by quote.
    remaining: i64,
    /// Unspent quote budget of a market order by quote; 0 otherwise.
    budget: i64,
    /// What this order holds frozen in its reserve asset.
    frozen: i64,
    /// The price, in ticks, a buy's reserve is computed at (its limit, or the stop-market's
    /// protection price, or the market-by-quantity limit).
    reserve_ticks: i64,
    /// The taker fee at acceptance, which a buy's reserve is computed with.
    reserve_bps: u16,
    client_order_id: u64,
    /// 0 unless the time in force is GTD.
    expire_ts_ns: u64,
    stp: SelfTradePrevention,
    post_only: bool,
    is_quote: bool,
    place: Place,
}

impl Order {
    fn is_by_quote(&self) -> bool {
        self.order_type == OrderType::MarketByQuote
    }

    fn has_nothing_left(&self) -> bool {
        if self.is_by_quote() {
            self.budget == 0
        } else {
            self.remaining == 0
        }
    }
}

#[derive(Debug, Clone)]
struct Symbol {
    spec: SymbolSpec,
    /// Quote minor units per tick per lot.
    k: i64,
    status: SymbolStatus,
    /// Last trade price in ticks (the reference price before any trade); 0 for none.
    last: i64,
    /// (maker, taker) bps per fee tier.
    fees: [(u16, u16); MAX_FEE_TIERS],
    /// Price level (ticks) to the order ids resting there, oldest first.
    bids: BTreeMap<i64, VecDeque<OrderId>>,
    asks: BTreeMap<i64, VecDeque<OrderId>>,
    /// Ordered by trigger priority: lowest stop first, then lower id.
    buy_stops: BTreeSet<(i64, OrderId)>,
    /// Ordered by trigger priority: highest stop first, then lower id.
    sell_stops: BTreeSet<(Reverse<i64>, OrderId)>,
}

impl Symbol {
    fn price(&self, ticks: i64) -> i64 {
        ticks * self.spec.tick_size
    }

    fn qty(&self, lots: i64) -> i64 {
        lots * self.spec.lot_size
    }

    fn book(&self, side: Side) -> &BTreeMap<i64, VecDeque<OrderId>> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn book_mut(&mut self, side: Side) -> &mut BTreeMap<i64, VecDeque<OrderId>> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The best price of a side: highest bid, lowest ask.
    fn best(&self, side: Side) -> Option<i64> {
        match side {
            Side::Buy => self.bids.last_key_value().map(|(p, _)| *p),
            Side::Sell => self.asks.first_key_value().map(|(p, _)| *p),
        }
    }

    /// The worst price of a side: lowest bid, highest ask.
    fn worst(&self, side: Side) -> Option<i64> {
        match side {
            Side::Buy => self.bids.first_key_value().map(|(p, _)| *p),
            Side::Sell => self.asks.last_key_value().map(|(p, _)| *p),
        }
    }

    /// The head of the best level of a side, with its price.
    fn best_maker(&self, side: Side) -> Option<(i64, OrderId)> {
        let price = self.best(side)?;
        let head = *self.book(side).get(&price)?.front()?;
        Some((price, head))
    }

    /// Every order of a side in matching priority: best level first, FIFO within a level.
    fn queue(&self, side: Side) -> Vec<(i64, OrderId)> {
        let mut levels: Vec<(&i64, &VecDeque<OrderId>)> = self.book(side).iter().collect();
        if side == Side::Buy {
            levels.reverse();
        }
        let mut out = Vec::new();
        for (price, level) in levels {
            for id in level {
                out.push((*price, *id));
            }
        }
        out
    }

    /// Whether an order on `side` at `ticks` would take from the best opposite price.
    fn would_cross(&self, side: Side, ticks: i64) -> bool {
        match side {
            Side::Buy => self.best(Side::Sell).is_some_and(|ask| ticks >= ask),
            Side::Sell => self.best(Side::Buy).is_some_and(|bid| ticks <= bid),
        }
    }

    /// Whether a new order at `ticks` on `side` would find room: its level exists, or the side
    /// has fewer than `max_levels` levels.
    fn has_room_for_level(&self, side: Side, ticks: i64, max_levels: u32) -> bool {
        let book = self.book(side);
        book.contains_key(&ticks) || book.len() < max_levels as usize
    }

    fn unlink(&mut self, side: Side, ticks: i64, id: OrderId) {
        let book = self.book_mut(side);
        let level = book.get_mut(&ticks).expect("a resting order's level exists");
        level.retain(|other| *other != id);
        if level.is_empty() {
            book.remove(&ticks);
        }
    }

    /// A side's stops in trigger order.
    fn stops(&self, side: Side) -> Vec<OrderId> {
        match side {
            Side::Buy => self.buy_stops.iter().map(|(_, id)| *id).collect(),
            Side::Sell => self.sell_stops.iter().map(|(_, id)| *id).collect(),
        }
    }

    fn stop_count(&self, side: Side) -> usize {
        match side {
            Side::Buy => self.buy_stops.len(),
            Side::Sell => self.sell_stops.len(),
        }
    }

    fn add_stop(&mut self, side: Side, stop: i64, id: OrderId) {
        match side {
            Side::Buy => self.buy_stops.insert((stop, id)),
            Side::Sell => self.sell_stops.insert((Reverse(stop), id)),
        };
    }

    fn remove_stop(&mut self, side: Side, stop: i64, id: OrderId) {
        let removed = match side {
            Side::Buy => self.buy_stops.remove(&(stop, id)),
            Side::Sell => self.sell_stops.remove(&(Reverse(stop), id)),
        };
        debug_assert!(removed, "stop {id} was indexed");
    }

    fn maker_bps(&self, tier: u8) -> u16 {
        self.fees[tier as usize].0
    }

    fn taker_bps(&self, tier: u8) -> u16 {
        self.fees[tier as usize].1
    }
}

/// The reference engine. See the module documentation.
#[derive(Debug, Clone)]
pub struct ReferenceEngine {
    config: EngineConfig,
    last_seq: u64,
    now: u64,
    next_order_id: OrderId,
    next_trade_id: TradeId,
    assets: BTreeMap<AssetId, Asset>,
    tier_limits: [u32; MAX_FEE_TIERS],
    accounts: BTreeMap<AccountId, Account>,
    balances: BTreeMap<(AccountId, AssetId), Balance>,
    symbols: BTreeMap<SymbolId, Symbol>,
    /// Every open order: resting, stop, or the taker being executed.
    orders: BTreeMap<OrderId, Order>,
    /// The same orders' ids per account, so per-account questions need not scan them all.
    orders_by_account: BTreeMap<AccountId, BTreeSet<OrderId>>,
    /// GTD orders by (expiry, id), the order they expire in.
    gtd: BTreeSet<(u64, OrderId)>,
    /// Applied `AdjustBalance` ref ids, oldest first, and the same ids as a set for lookup.
    dedup: VecDeque<u64>,
    dedup_set: HashSet<u64>,
    /// The sequence of the command being applied: every event's `txid`.
    txid: u64,
    events: Vec<Event>,
}

impl ReferenceEngine {
    pub fn new(config: EngineConfig) -> Self {
        ReferenceEngine {
            config,
            last_seq: 0,
            now: 0,
            next_order_id: 1,
            next_trade_id: 1,
            assets: BTreeMap::new(),
            tier_limits: [config.default_max_open_orders; MAX_FEE_TIERS],
            accounts: BTreeMap::new(),
            balances: BTreeMap::new(),
            symbols: BTreeMap::new(),
            orders: BTreeMap::new(),
            orders_by_account: BTreeMap::new(),
            gtd: BTreeSet::new(),
            dedup: VecDeque::new(),
            dedup_set: HashSet::new(),
            txid: 0,
            events: Vec::new(),
        }
    }

    /// Applies one command and appends its events to `out`.
    pub fn apply(&mut self, envelope: &CommandEnvelope, out: &mut Vec<Event>) {
        self.txid = envelope.seq;
        let command = &envelope.command;
        if envelope.seq != self.last_seq + 1 {
            self.reject_command(command, RejectReason::OutOfSequence);
        } else {
            self.last_seq = envelope.seq;
            self.now = self.now.max(envelope.ts_ns);
            self.expire_gtd();
            if let Err(reason) = self.dispatch(command) {
                self.reject_command(command, reason);
            }
        }
        out.append(&mut self.events);
    }

    fn dispatch(&mut self, command: &Command) -> Result<(), RejectReason> {
        match *command {
            Command::AddAsset(add) => self.add_asset(add.asset, add.scale),
            Command::AddSymbol(spec) => self.add_symbol(&spec),
            Command::SetSymbolStatus { symbol, status } => self.set_symbol_status(symbol, status),
            Command::SetSymbolFees(fees) => self.set_symbol_fees(&fees),
            Command::SetTierLimits { tier, max_open_orders } => self.set_tier_limits(tier, max_open_orders),
            Command::CreateAccount { account, fee_tier } => self.create_account(account, fee_tier),
            Command::SetAccountStatus { account, status } => self.set_account_status(account, status),
            Command::SetAccountFeeTier { account, fee_tier } => self.set_account_fee_tier(account, fee_tier),
            Command::AdjustBalance(adjust) => self.adjust_balance(&adjust),
            Command::NewOrder(order) => self.new_order(&order),
            Command::Cancel(cancel) => self.cancel(&cancel),
            Command::CancelAll(cancel) => self.cancel_all(&cancel),
            Command::Amend(amend) => self.amend(&amend),
            Command::MassQuote(quote) => self.mass_quote(&quote),
            Command::AdminCancel { order_id } => self.admin_cancel(order_id),
        }
    }

    /// The last sequence applied (0 before the first command).
    /// The best bid and ask of a symbol, in ticks.
    pub fn best_ticks(&self, symbol: SymbolId) -> (Option<i64>, Option<i64>) {
        self.symbols
            .get(&symbol)
            .map_or((None, None), |state| (state.bids.keys().next_back().copied(), state.asks.keys().next().copied()))
    }

    /// One side of a book, best price first: (price ticks, total lots) per level.
    pub fn depth(&self, symbol: SymbolId, side: Side) -> Vec<(i64, i64)> {
        let Some(state) = self.symbols.get(&symbol) else {
            return Vec::new();
        };
        let level =
            |(price, ids): (&i64, &VecDeque<OrderId>)| (*price, ids.iter().map(|id| self.orders[id].remaining).sum());
        match side {
            Side::Buy => state.bids.iter().rev().map(level).collect(),
            Side::Sell => state.asks.iter().map(level).collect(),
        }
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// `(available, frozen)` of a balance record; `(0, 0)` when there is none.
    pub fn balance(&self, account: AccountId, asset: AssetId) -> (i64, i64) {
        let balance = self.balances.get(&(account, asset)).copied().unwrap_or_default();
        (balance.available, balance.frozen)
    }

    /// Every open order (resting or stop), ascending.
    pub fn open_order_ids(&self) -> Vec<OrderId> {
        self.orders.keys().copied().collect()
    }

    /// What the fee ledger holds of an asset.
    pub fn fees_collected(&self, asset: AssetId) -> i64 {
        self.assets.get(&asset).map_or(0, |a| a.fees)
    }

    /// Credits minus debits of an asset: every balance plus the fees add up to it.
    pub fn supply(&self, asset: AssetId) -> i64 {
        self.assets.get(&asset).map_or(0, |a| a.supply)
    }

    fn emit(&mut self, body: EventBody) {
        self.events.push(Event { txid: self.txid, body });
    }

    /// Emits the one `Rejected` of a refused command, with the ids the command names.
    fn reject_command(&mut self, command: &Command, reason: RejectReason) {
        self.emit(EventBody::Rejected(command.rejection(reason)));
    }

    fn reject_quote_leg(&mut self, account: AccountId, reason: RejectReason) {
        self.emit(EventBody::Rejected(Rejected {
            command: CommandKind::MassQuote,
            account,
            order_id: 0,
            client_order_id: 0,
            reason,
        }));
    }

    /// Moves a balance record by the given deltas (creating it if needed) and emits the
    /// `BalanceChanged` with its before and after.
    fn change_balance(
        &mut self,
        account: AccountId,
        asset: AssetId,
        cause: BalanceCause,
        reference: u64,
        d_available: i64,
        d_frozen: i64,
    ) {
        let record = self.balances.entry((account, asset)).or_default();
        let before = *record;
        record.available += d_available;
        record.frozen += d_frozen;
        let after = *record;
        debug_assert!(after.available >= 0 && after.frozen >= 0, "{after:?}");
        self.emit(EventBody::BalanceChanged(BalanceChanged {
            account,
            asset,
            cause,
            reference,
            available_before: before.available,
            frozen_before: before.frozen,
            available_after: after.available,
            frozen_after: after.frozen,
        }));
    }

    fn available(&self, account: AccountId, asset: AssetId) -> i64 {
        self.balance(account, asset).0
    }

    /// The asset an order holds frozen: quote for a buy, base for a sell.
    fn reserve_asset(&self, symbol: SymbolId, side: Side) -> AssetId {
        let spec = &self.symbols[&symbol].spec;
        match side {
            Side::Buy => spec.quote,
            Side::Sell => spec.base,
        }
    }

    fn open_orders_of(&self, account: AccountId) -> usize {
        self.orders_by_account.get(&account).map_or(0, BTreeSet::len)
    }

    /// The account's open orders, in ascending id.
    fn orders_of(&self, account: AccountId) -> impl Iterator<Item = &Order> {
        self.orders_by_account.get(&account).into_iter().flatten().map(|id| &self.orders[id])
    }

    fn fee_tier(&self, account: AccountId) -> u8 {
        self.accounts[&account].fee_tier
    }
}
