//! Per account: balances, open orders, recently closed orders and the account's status and
//! fee tier, from the engine's events.
//!
//! - **Balances** come from `BalanceChanged`, which carries the values after the change: the
//!   model copies them, so it holds exactly the engine's record (records are never removed,
//!   and an untouched asset reads as no record, as zeros do in the engine).
//! - **Open orders** are every accepted order not yet filled or cancelled: resting orders and
//!   stops waiting for their trigger (`working` false until `StopTriggered`). Market, IOC and
//!   FOK orders open and close within their command, so they are never open between
//!   commands. A `Trade` adds to both orders' executed quantity and quote amount; the one
//!   whose remaining (quantity, or budget for a market order by quote amount) reaches 0 is
//!   filled. `OrderCancelled` closes an order with a status derived from its reason, as
//!   Binance reports it: user and admin cancels are `Cancelled`; IOC and FOK remainders, GTD
//!   expiry and a triggered stop finding no room in the book are `Expired`; self-trade
//!   prevention is `ExpiredInMatch`. `OrderAmended` sets the new price and total quantity.
//! - **Closed orders** stay queryable, the most recent `closed_cap` of them per account.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use cex_engine::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Balance {
    pub available: i64,
    pub frozen: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetBalance {
    pub asset: AssetId,
    pub balance: Balance,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountInfo {
    pub status: AccountStatus,
    pub fee_tier: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderStatus {
    New,
    PartiallyFilled,
    Filled,
    Cancelled,
    Expired,
    ExpiredInMatch,
}

impl OrderStatus {
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }

    /// The status an order closes with when cancelled for `reason`.
    pub fn after_cancel(reason: CancelReason) -> OrderStatus {
        match reason {
            CancelReason::User | CancelReason::Admin => OrderStatus::Cancelled,
            CancelReason::IocRemainder | CancelReason::Fok | CancelReason::Expired | CancelReason::BookCapacity => {
                OrderStatus::Expired
            }
            CancelReason::SelfTradePrevention => OrderStatus::ExpiredInMatch,
        }
    }
}

/// An order as the account API shows it. Prices and quantities are in the engine's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderView {
    pub order_id: OrderId,
    pub account: AccountId,
    pub symbol: SymbolId,
    pub client_order_id: u64,
    pub side: Side,
    pub order_type: OrderType,
    pub time_in_force: TimeInForce,
    /// The limit price; 0 for market types and stop-market.
    pub price: i64,
    /// 0 for types without a trigger.
    pub stop_price: i64,
    /// Total base quantity after any amend; 0 for a market order by quote amount.
    pub orig_qty: i64,
    /// The quote budget of a market order by quote amount; 0 otherwise.
    pub orig_quote_qty: i64,
    pub executed_qty: i64,
    /// Quote minor units spent or received: the sum of the trades' notionals.
    pub cumulative_quote_qty: i64,
    pub status: OrderStatus,
    pub cancel_reason: Option<CancelReason>,
    pub post_only: bool,
    pub stp: SelfTradePrevention,
    /// 0 unless the time in force is GTD.
    pub expire_ts_ns: u64,
    /// False while a stop order waits for its trigger.
    pub working: bool,
    /// When the order was accepted.
    pub time_ns: u64,
    /// When it last changed.
    pub update_time_ns: u64,
}

impl OrderView {
    fn accepted(accepted: &OrderAccepted, now_ns: u64) -> OrderView {
        OrderView {
            order_id: accepted.order_id,
            account: accepted.account,
            symbol: accepted.symbol,
            client_order_id: accepted.client_order_id,
            side: accepted.side,
            order_type: accepted.order_type,
            time_in_force: accepted.time_in_force,
            price: accepted.price,
            stop_price: accepted.stop_price,
            orig_qty: accepted.qty,
            orig_quote_qty: accepted.quote_qty,
            executed_qty: 0,
            cumulative_quote_qty: 0,
            status: OrderStatus::New,
            cancel_reason: None,
            post_only: accepted.post_only,
            stp: accepted.stp,
            expire_ts_ns: accepted.expire_ts_ns,
            working: !accepted.order_type.is_stop(),
            time_ns: now_ns,
            update_time_ns: now_ns,
        }
    }

    /// What is left to fill, in base units; 0 for a market order by quote amount.
    pub fn remaining_qty(&self) -> i64 {
        self.orig_qty.saturating_sub(self.executed_qty).max(0)
    }
}

/// A balance after a command, for the account stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceUpdate {
    pub account: AccountId,
    pub asset: AssetId,
    pub balance: Balance,
}

/// What one command changed in the accounts: each touched order and balance once, in its
/// state after the command, ordered by account and then id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChanges {
    pub orders: Vec<OrderView>,
    pub balances: Vec<BalanceUpdate>,
}

#[derive(Debug, Clone, Default)]
struct AccountState {
    info: Option<AccountInfo>,
    balances: BTreeMap<AssetId, Balance>,
    open: BTreeMap<OrderId, OrderView>,
    closed: BTreeMap<OrderId, OrderView>,
    /// Closed order ids in the order they closed, to forget the oldest first.
    closed_queue: VecDeque<OrderId>,
}

#[derive(Debug, Clone)]
pub struct Accounts {
    closed_cap: usize,
    accounts: BTreeMap<AccountId, AccountState>,
    now_ns: u64,
    touched_orders: BTreeSet<(AccountId, OrderId)>,
    touched_balances: BTreeSet<(AccountId, AssetId)>,
}

impl Accounts {
    /// Keeps up to `closed_cap` closed orders per account.
    pub fn new(closed_cap: usize) -> Self {
        Accounts {
            closed_cap,
            accounts: BTreeMap::new(),
            now_ns: 0,
            touched_orders: BTreeSet::new(),
            touched_balances: BTreeSet::new(),
        }
    }

    /// Takes in one command's events at its timestamp and returns what changed.
    pub fn apply(&mut self, ts_ns: u64, events: &[Event]) -> AccountChanges {
        self.now_ns = self.now_ns.max(ts_ns);
        for event in events {
            self.apply_event(&event.body);
        }
        self.take_changes()
    }

    fn apply_event(&mut self, body: &EventBody) {
        match body {
            EventBody::AccountCreated { account, fee_tier } => {
                let info = AccountInfo { status: AccountStatus::Active, fee_tier: *fee_tier };
                self.accounts.entry(*account).or_default().info = Some(info);
            }
            EventBody::AccountStatusChanged { account, new, .. } => {
                self.update_info(*account, |info| info.status = *new)
            }
            EventBody::AccountFeeTierChanged { account, new, .. } => {
                self.update_info(*account, |info| info.fee_tier = *new)
            }
            EventBody::BalanceChanged(change) => self.on_balance_changed(change),
            EventBody::OrderAccepted(accepted) => self.on_accepted(accepted),
            EventBody::Trade(trade) => self.on_trade(trade),
            EventBody::OrderCancelled(cancelled) => self.on_cancelled(cancelled),
            EventBody::OrderAmended(amended) => {
                self.update_open_order(amended.account, amended.order_id, |order| {
                    (order.price, order.orig_qty) = (amended.new_price, amended.new_qty);
                });
            }
            EventBody::StopTriggered(triggered) => {
                self.update_open_order(triggered.account, triggered.order_id, |order| order.working = true);
            }
            _ => {}
        }
    }

    fn update_info(&mut self, account: AccountId, change: impl FnOnce(&mut AccountInfo)) {
        if let Some(info) = self.accounts.get_mut(&account).and_then(|state| state.info.as_mut()) {
            change(info);
        }
    }

    fn on_balance_changed(&mut self, change: &BalanceChanged) {
        let balance = Balance { available: change.available_after, frozen: change.frozen_after };
        self.accounts.entry(change.account).or_default().balances.insert(change.asset, balance);
        self.touched_balances.insert((change.account, change.asset));
    }

    fn on_accepted(&mut self, accepted: &OrderAccepted) {
        let order = OrderView::accepted(accepted, self.now_ns);
        let state = self.accounts.entry(accepted.account).or_default();
        state.closed.remove(&accepted.order_id);
        state.open.insert(accepted.order_id, order);
        self.touched_orders.insert((accepted.account, accepted.order_id));
    }

    fn on_trade(&mut self, trade: &Trade) {
        let fills = [
            (trade.maker_account, trade.maker_order_id, trade.maker_remaining),
            (trade.taker_account, trade.taker_order_id, trade.taker_remaining),
        ];
        for (account, order_id, remaining) in fills {
            let Some(order) = self.update_open_order(account, order_id, |order| record_fill(order, trade, remaining))
            else {
                continue;
            };
            if order.status == OrderStatus::Filled {
                self.close(account, order_id);
            }
        }
    }

    fn on_cancelled(&mut self, cancelled: &OrderCancelled) {
        let status = OrderStatus::after_cancel(cancelled.reason);
        let closed = self.update_open_order(cancelled.account, cancelled.order_id, |order| {
            (order.status, order.cancel_reason) = (status, Some(cancelled.reason));
        });
        if closed.is_some() {
            self.close(cancelled.account, cancelled.order_id);
        }
    }

    /// Changes an open order, stamps its update time and notes it as touched; returns the
    /// order after the change, or `None` if the account has no such open order.
    fn update_open_order(
        &mut self,
        account: AccountId,
        order_id: OrderId,
        change: impl FnOnce(&mut OrderView),
    ) -> Option<OrderView> {
        let order = self.accounts.get_mut(&account)?.open.get_mut(&order_id)?;
        change(order);
        order.update_time_ns = self.now_ns;
        self.touched_orders.insert((account, order_id));
        Some(*order)
    }

    /// Moves an order from the open ones to the closed ones, forgetting the oldest closed
    /// order beyond the cap.
    fn close(&mut self, account: AccountId, order_id: OrderId) {
        let Some(state) = self.accounts.get_mut(&account) else { return };
        let Some(order) = state.open.remove(&order_id) else { return };
        state.closed.insert(order_id, order);
        state.closed_queue.push_back(order_id);
        while state.closed_queue.len() > self.closed_cap {
            if let Some(oldest) = state.closed_queue.pop_front() {
                state.closed.remove(&oldest);
            }
        }
    }

    fn take_changes(&mut self) -> AccountChanges {
        let orders = std::mem::take(&mut self.touched_orders)
            .into_iter()
            .filter_map(|(account, order_id)| self.order(account, order_id))
            .collect();
        let balances = std::mem::take(&mut self.touched_balances)
            .into_iter()
            .filter_map(|(account, asset)| {
                self.balance(account, asset).map(|balance| BalanceUpdate { account, asset, balance })
            })
            .collect();
        AccountChanges { orders, balances }
    }

    /// The account's status and fee tier, once it has been created.
    pub fn account(&self, account: AccountId) -> Option<AccountInfo> {
        self.accounts.get(&account).and_then(|state| state.info)
    }

    /// Every balance record of the account, by ascending asset.
    pub fn balances(&self, account: AccountId) -> Vec<AssetBalance> {
        let Some(state) = self.accounts.get(&account) else { return Vec::new() };
        state.balances.iter().map(|(asset, balance)| AssetBalance { asset: *asset, balance: *balance }).collect()
    }

    pub fn balance(&self, account: AccountId, asset: AssetId) -> Option<Balance> {
        self.accounts.get(&account)?.balances.get(&asset).copied()
    }

    /// The account's open orders, on one symbol or all, by ascending order id.
    pub fn open_orders(&self, account: AccountId, symbol: Option<SymbolId>) -> Vec<OrderView> {
        let Some(state) = self.accounts.get(&account) else { return Vec::new() };
        let on_symbol = |order: &&OrderView| symbol.is_none_or(|symbol| order.symbol == symbol);
        state.open.values().filter(on_symbol).copied().collect()
    }

    /// The account's closed orders still kept (the most recent `closed_cap`), on one symbol
    /// or all, by ascending order id.
    pub fn closed_orders(&self, account: AccountId, symbol: Option<SymbolId>) -> Vec<OrderView> {
        let Some(state) = self.accounts.get(&account) else { return Vec::new() };
        let on_symbol = |order: &&OrderView| symbol.is_none_or(|symbol| order.symbol == symbol);
        state.closed.values().filter(on_symbol).copied().collect()
    }

    /// An open order, or a recently closed one, of the account.
    pub fn order(&self, account: AccountId, order_id: OrderId) -> Option<OrderView> {
        let state = self.accounts.get(&account)?;
        state.open.get(&order_id).or_else(|| state.closed.get(&order_id)).copied()
    }

    /// Every account the model knows of, ascending.
    pub fn account_ids(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.accounts.keys().copied()
    }
}

fn record_fill(order: &mut OrderView, trade: &Trade, remaining: i64) {
    order.executed_qty = order.executed_qty.saturating_add(trade.qty);
    order.cumulative_quote_qty = order.cumulative_quote_qty.saturating_add(trade.notional);
    order.status = if remaining <= 0 { OrderStatus::Filled } else { OrderStatus::PartiallyFilled };
}

#[cfg(test)]
mod tests;
