//! The fast engine. One instance owns many symbols and accounts; `apply` is its only entry.
//!
//! Layout: orders and price levels live in preallocated pools and are linked by u32
//! indices; each book side is a sorted index with the best price last; order ids, client
//! order ids and balance records are found through fixed-capacity hash maps with a fixed
//! seed. See docs/ARCHITECTURE.md for the reasoning and the exact semantics.

mod admission;
mod book;
mod fixed_map;
mod hash;
#[cfg(any(test, feature = "testkit"))]
mod invariants;
mod matching;
mod order_commands;
mod refdata;
mod snapshot;
mod sorted_index;
pub(crate) mod state;

use std::cmp::Reverse;

use fixed_map::FixedMap;
use sorted_index::{Pool, SortedIndex};
use state::*;

use crate::command::{Command, CommandEnvelope, SymbolSpec};
use crate::config::EngineConfig;
use crate::event::{BalanceChanged, Event, EventBody, EventSink};
use crate::reject::RejectReason;
use crate::types::*;

pub use snapshot::SnapshotError;

pub struct Engine {
    config: EngineConfig,
    last_seq: u64,
    now_ns: u64,
    next_order_id: OrderId,
    next_trade_id: TradeId,
    assets: Vec<AssetState>,
    tier_max_open_orders: [u32; MAX_FEE_TIERS],
    accounts: Vec<AccountState>,
    balances: Vec<BalanceRecord>,
    balance_index: FixedMap<u64, u32>,
    orders: Pool<Order>,
    order_index: FixedMap<u64, u32>,
    client_order_index: FixedMap<(u32, u64), u32>,
    levels: Pool<Level>,
    symbols: Vec<Option<SymbolState>>,
    /// Open GTD orders, the next to expire last.
    expiry: SortedIndex<(Reverse<u64>, Reverse<OrderId>), u32>,
    /// The last `adjust_dedup_window` applied reference ids, as a ring.
    dedup_ring: Vec<u64>,
    dedup_next: usize,
    dedup_index: FixedMap<u64, u32>,
    /// Order slots gathered by bulk cancels; preallocated so they never allocate.
    scratch: Vec<u32>,
}

/// Where a command's events go, stamped with its sequence.
pub(crate) struct Out<'a, S> {
    sink: &'a mut S,
    txid: u64,
}

impl<S: EventSink> Out<'_, S> {
    pub fn emit(&mut self, body: EventBody) {
        self.sink.emit(Event { txid: self.txid, body });
    }
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        let max_orders = config.max_orders.max(1);
        Engine {
            config,
            last_seq: 0,
            now_ns: 0,
            next_order_id: 1,
            next_trade_id: 1,
            assets: vec![AssetState::default(); config.max_assets as usize],
            tier_max_open_orders: [config.default_max_open_orders; MAX_FEE_TIERS],
            accounts: vec![AccountState::default(); config.max_accounts as usize],
            balances: Vec::with_capacity(config.max_balances as usize),
            balance_index: FixedMap::with_capacity(config.max_balances as usize),
            orders: Pool::with_capacity(max_orders),
            order_index: FixedMap::with_capacity(max_orders as usize),
            client_order_index: FixedMap::with_capacity(max_orders as usize),
            levels: Pool::with_capacity(max_orders),
            symbols: (0..config.max_symbols).map(|_| None).collect(),
            expiry: SortedIndex::with_capacity(max_orders as usize),
            dedup_ring: Vec::with_capacity(config.adjust_dedup_window as usize),
            dedup_next: 0,
            dedup_index: FixedMap::with_capacity(config.adjust_dedup_window as usize),
            scratch: Vec::with_capacity(max_orders as usize),
        }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// Applies one command and writes its events to `sink`.
    pub fn apply<S: EventSink>(&mut self, envelope: &CommandEnvelope, sink: &mut S) {
        let mut out = Out { sink, txid: envelope.seq };
        if envelope.seq != self.last_seq + 1 {
            out.emit(EventBody::Rejected(envelope.command.rejection(RejectReason::OutOfSequence)));
            return;
        }
        self.last_seq = envelope.seq;
        self.now_ns = self.now_ns.max(envelope.ts_ns);
        self.expire_due_orders(&mut out);
        if let Err(reason) = self.dispatch(&envelope.command, &mut out) {
            out.emit(EventBody::Rejected(envelope.command.rejection(reason)));
        }
    }

    fn dispatch<S: EventSink>(&mut self, command: &Command, out: &mut Out<S>) -> Result<(), RejectReason> {
        match *command {
            Command::AddAsset(add) => self.add_asset(add, out),
            Command::AddSymbol(spec) => self.add_symbol(spec, out),
            Command::SetSymbolStatus { symbol, status } => self.set_symbol_status(symbol, status, out),
            Command::SetSymbolFees(fees) => self.set_symbol_fees(fees, out),
            Command::SetTierLimits { tier, max_open_orders } => self.set_tier_limits(tier, max_open_orders, out),
            Command::CreateAccount { account, fee_tier } => self.create_account(account, fee_tier, out),
            Command::SetAccountStatus { account, status } => self.set_account_status(account, status, out),
            Command::SetAccountFeeTier { account, fee_tier } => self.set_account_fee_tier(account, fee_tier, out),
            Command::AdjustBalance(adjust) => self.adjust_balance(adjust, out),
            Command::NewOrder(order) => self.new_order(&order, false, out).map(|_| ()),
            Command::Cancel(cancel) => self.cancel(cancel, out),
            Command::CancelAll(cancel_all) => self.cancel_all(cancel_all, out),
            Command::Amend(amend) => self.amend(amend, out),
            Command::MassQuote(quote) => self.mass_quote(quote, out),
            Command::AdminCancel { order_id } => self.admin_cancel(order_id, out),
        }
    }

    fn expire_due_orders<S: EventSink>(&mut self, out: &mut Out<S>) {
        while let Some(((Reverse(expire_ts_ns), _), slot)) = self.expiry.last() {
            if expire_ts_ns > self.now_ns {
                break;
            }
            self.cancel_order(slot, CancelReason::Expired, out);
        }
    }

    // ---- lookups ----

    fn account(&self, account: AccountId) -> Result<&AccountState, RejectReason> {
        self.accounts.get(account as usize).filter(|a| a.exists).ok_or(RejectReason::UnknownAccount)
    }

    fn symbol_state(&self, symbol: SymbolId) -> Result<&SymbolState, RejectReason> {
        self.symbols.get(symbol as usize).and_then(Option::as_ref).ok_or(RejectReason::UnknownSymbol)
    }

    /// The symbol of an open order: it exists by construction.
    fn symbol(&self, symbol: SymbolId) -> &SymbolState {
        self.symbols[symbol as usize].as_ref().expect("open order on a missing symbol")
    }

    fn symbol_mut(&mut self, symbol: SymbolId) -> &mut SymbolState {
        self.symbols[symbol as usize].as_mut().expect("open order on a missing symbol")
    }

    fn asset_exists(&self, asset: AssetId) -> bool {
        self.assets.get(asset as usize).is_some_and(|a| a.exists)
    }

    fn fee_bps(&self, symbol: &SymbolState, account: AccountId, is_maker: bool) -> u16 {
        let (maker, taker) = symbol.fees[self.accounts[account as usize].fee_tier as usize];
        if is_maker {
            maker
        } else {
            taker
        }
    }

    // ---- balances ----

    fn balance_record(&self, account: AccountId, asset: AssetId) -> Option<u32> {
        self.balance_index.get(&balance_key(account, asset))
    }

    fn balance_available(&self, account: AccountId, asset: AssetId) -> i64 {
        self.balance_record(account, asset).map_or(0, |r| self.balances[r as usize].available)
    }

    /// How many records `assets` would add for `account`.
    fn missing_records(&self, account: AccountId, assets: &[AssetId]) -> usize {
        assets.iter().filter(|asset| self.balance_record(account, **asset).is_none()).count()
    }

    fn has_record_room(&self, missing: usize) -> bool {
        self.balances.len() + missing <= self.config.max_balances as usize
    }

    /// The record of (account, asset), created empty if needed. Callers checked the room.
    fn ensure_balance(&mut self, account: AccountId, asset: AssetId) -> u32 {
        if let Some(record) = self.balance_record(account, asset) {
            return record;
        }
        assert!(self.balances.len() < self.config.max_balances as usize);
        let record = self.balances.len() as u32;
        self.balances.push(BalanceRecord { account, asset, available: 0, frozen: 0 });
        self.balance_index.insert(balance_key(account, asset), record);
        record
    }

    /// Moves a balance and reports it. Both parts must stay non-negative: a violation is a
    /// bug in the engine, never a consequence of input, so it stops the engine.
    fn change_balance<S: EventSink>(
        &mut self,
        record: u32,
        available_delta: i64,
        frozen_delta: i64,
        cause: BalanceCause,
        reference: u64,
        out: &mut Out<S>,
    ) {
        let balance = &mut self.balances[record as usize];
        let (available_before, frozen_before) = (balance.available, balance.frozen);
        balance.available += available_delta;
        balance.frozen += frozen_delta;
        assert!(balance.available >= 0 && balance.frozen >= 0, "negative balance");
        out.emit(EventBody::BalanceChanged(BalanceChanged {
            account: balance.account,
            asset: balance.asset,
            cause,
            reference,
            available_before,
            frozen_before,
            available_after: balance.available,
            frozen_after: balance.frozen,
        }));
    }
}

/// Read-only views for tests, tools and snapshots.
impl Engine {
    /// (available, frozen) of an account in an asset; zeros if it never held any.
    pub fn balance(&self, account: AccountId, asset: AssetId) -> (i64, i64) {
        self.balance_record(account, asset).map_or((0, 0), |record| {
            let balance = &self.balances[record as usize];
            (balance.available, balance.frozen)
        })
    }

    /// The decimal scale of an asset, if it exists.
    pub fn asset_scale(&self, asset: AssetId) -> Option<u8> {
        self.assets.get(asset as usize).filter(|a| a.exists).map(|a| a.scale)
    }

    /// The trading rules a symbol was added with, if it exists.
    pub fn symbol_spec(&self, symbol: SymbolId) -> Option<SymbolSpec> {
        self.symbol_state(symbol).ok().map(|state| state.spec)
    }

    /// The fee ledger of an asset.
    pub fn fees_collected(&self, asset: AssetId) -> i64 {
        self.assets.get(asset as usize).map_or(0, |a| a.fees_collected)
    }

    /// Open orders across all symbols, resting and stop.
    pub fn open_orders(&self) -> usize {
        self.order_index.len()
    }

    /// One side of a book, best price first: (price ticks, total lots) per level.
    pub fn depth(&self, symbol: SymbolId, side: Side) -> Vec<(i64, i64)> {
        let Ok(state) = self.symbol_state(symbol) else {
            return Vec::new();
        };
        let levels = state.book(side).iter_best_first().map(|(_, level)| self.levels.get(level));
        levels.map(|level| (level.price, level.total_lots)).collect()
    }

    /// The best bid and ask of a symbol, in external price units.
    pub fn best_prices(&self, symbol: SymbolId) -> (Option<i64>, Option<i64>) {
        match self.symbol_state(symbol) {
            Ok(state) => {
                let tick = state.tick_size();
                (state.best_price(Side::Buy).map(|p| p * tick), state.best_price(Side::Sell).map(|p| p * tick))
            }
            Err(_) => (None, None),
        }
    }
}
