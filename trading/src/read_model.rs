//! What the API reads: the projections (depth, trades, klines, tickers, balances, orders,
//! the registry), each account's own trades, and the state of every order a recent command
//! touched, all fed by the engine's events in sequence order.
//!
//! [`SharedReadModel`] puts it behind a lock: one writer (the node's projection thread, or
//! the testkit's engine) applies commands; handlers read under short read locks and never
//! hold one across an await. Every applied sequence is published, so a handler that has the
//! engine's answer to its own command can wait until the model has taken that command in
//! ([`SharedReadModel::caught_up`]) and the caller then reads its own writes.

use std::collections::VecDeque;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use cex_engine::{Event, OrderId};
use cex_projections::{DepthDiff, OrderView, ProjectionConfig, Projections, PublicTrade};
use tokio::sync::{broadcast, watch};

use crate::account_feed::{AccountFeed, AccountUpdate};
use crate::account_trades::{AccountTrade, AccountTrades};

/// How much history the read model keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadModelConfig {
    pub projections: ProjectionConfig,
    /// Trades kept per account for QueryTradeHistory.
    pub trades_per_account: usize,
    /// Commands whose touched orders are remembered, so an order command's answer shows the
    /// order just after it even when later commands have changed it since.
    pub recent_commands: usize,
}

impl Default for ReadModelConfig {
    fn default() -> Self {
        ReadModelConfig { projections: ProjectionConfig::default(), trades_per_account: 1_000, recent_commands: 4_096 }
    }
}

/// What one command changed in the public market data: what the WebSocket streams carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketUpdate {
    pub seq: u64,
    /// One per symbol whose book changed.
    pub depth: Vec<DepthDiff>,
    pub trades: Vec<PublicTrade>,
}

impl MarketUpdate {
    /// Whether this update changed the book or the trades of `symbol`.
    pub fn touches(&self, symbol: cex_engine::SymbolId) -> bool {
        self.depth.iter().any(|diff| diff.symbol == symbol) || self.trades.iter().any(|trade| trade.symbol == symbol)
    }
}

/// Market updates buffered for the streams; past this a subscriber that has not kept up
/// is disconnected rather than the writer waiting or the buffer growing.
pub const MARKET_UPDATES_BUFFERED: usize = 4_096;

#[derive(Debug, Clone)]
pub struct ReadModel {
    projections: Projections,
    account_trades: AccountTrades,
    /// (sequence, the orders it touched, each as it was just after), oldest first.
    recent: VecDeque<(u64, Vec<OrderView>)>,
    recent_cap: usize,
    /// Market updates applied but not yet published; [`SharedReadModel::update`] drains it
    /// after releasing the lock.
    outbox: Vec<Arc<MarketUpdate>>,
    /// Whether to build account updates: only while some user stream listens.
    collect_accounts: bool,
    /// Account updates applied but not yet published, drained like `outbox`.
    account_outbox: Vec<Arc<AccountUpdate>>,
}

impl ReadModel {
    pub fn new(config: ReadModelConfig) -> ReadModel {
        ReadModel {
            projections: Projections::new(config.projections),
            account_trades: AccountTrades::new(config.trades_per_account),
            recent: VecDeque::new(),
            recent_cap: config.recent_commands,
            outbox: Vec::new(),
            collect_accounts: false,
            account_outbox: Vec::new(),
        }
    }

    /// Takes in one command; a sequence at or below the last one applied changes nothing.
    /// Market updates wait in an outbox that [`SharedReadModel`] drains on each update.
    pub fn apply(&mut self, seq: u64, ts_ns: u64, events: &[Event]) {
        if seq <= self.projections.last_seq() {
            return;
        }
        let changes = self.projections.apply(seq, ts_ns, events);
        self.account_trades.apply(ts_ns, events);
        if !changes.depth.is_empty() || !changes.trades.is_empty() {
            self.outbox.push(Arc::new(MarketUpdate { seq, depth: changes.depth, trades: changes.trades }));
        }
        if self.collect_accounts {
            let fills = AccountTrade::of_events(events, self.account_trades.now_ns());
            let updates = AccountUpdate::split(seq, ts_ns, &changes.accounts, fills);
            self.account_outbox.extend(updates.into_iter().map(Arc::new));
        }
        if !changes.accounts.orders.is_empty() && self.recent_cap > 0 {
            self.recent.push_back((seq, changes.accounts.orders));
            while self.recent.len() > self.recent_cap {
                self.recent.pop_front();
            }
        }
    }

    /// The last sequence applied; 0 before the first.
    pub fn last_seq(&self) -> u64 {
        self.projections.last_seq()
    }

    pub fn projections(&self) -> &Projections {
        &self.projections
    }

    pub fn account_trades(&self) -> &AccountTrades {
        &self.account_trades
    }

    /// The order as command `seq` left it, if that command touched it and is still
    /// remembered.
    pub fn order_after(&self, seq: u64, order_id: OrderId) -> Option<OrderView> {
        let index = self.recent.binary_search_by_key(&seq, |(recent_seq, _)| *recent_seq).ok()?;
        self.recent[index].1.iter().find(|order| order.order_id == order_id).copied()
    }
}

/// The read model behind a lock, with its applied sequence, market updates and account
/// updates published.
#[derive(Debug)]
pub struct SharedReadModel {
    model: RwLock<ReadModel>,
    applied: watch::Sender<u64>,
    market: broadcast::Sender<Arc<MarketUpdate>>,
    accounts: AccountFeed,
}

impl SharedReadModel {
    pub fn new(mut model: ReadModel) -> SharedReadModel {
        // What was applied before sharing had no subscriber to go to.
        model.outbox.clear();
        model.account_outbox.clear();
        let applied = watch::Sender::new(model.last_seq());
        let (market, _) = broadcast::channel(MARKET_UPDATES_BUFFERED);
        SharedReadModel { model: RwLock::new(model), applied, market, accounts: AccountFeed::default() }
    }

    /// The market updates applied from now on, in sequence order. The channel is bounded:
    /// a receiver that falls [`MARKET_UPDATES_BUFFERED`] behind gets `Lagged`.
    pub fn market_updates(&self) -> broadcast::Receiver<Arc<MarketUpdate>> {
        self.market.subscribe()
    }

    /// One account's updates applied from now on, in sequence order; bounded like the
    /// market updates (see [`crate::account_feed`]).
    pub fn account_updates(&self, account: cex_engine::AccountId) -> broadcast::Receiver<Arc<AccountUpdate>> {
        self.accounts.subscribe(account)
    }

    /// Changes the model under the write lock (the writer applies a batch of commands at
    /// once), then publishes how far it got and the market updates. Publishing after the
    /// lock is released means a stream that subscribes and then reads a snapshot never
    /// misses an update the snapshot lacks. Sending never blocks the writer.
    pub fn update<R>(&self, change: impl FnOnce(&mut ReadModel) -> R) -> R {
        let (result, last_seq, updates, account_updates) = {
            // The model's methods do not panic, so a poisoned lock still holds a whole model.
            let mut model = self.model.write().unwrap_or_else(PoisonError::into_inner);
            // Asked under the lock: a stream that subscribes later reads its snapshot after
            // this batch, so it misses nothing the batch did not collect.
            model.collect_accounts = self.accounts.any_listener();
            let result = change(&mut model);
            let account_updates = std::mem::take(&mut model.account_outbox);
            (result, model.last_seq(), std::mem::take(&mut model.outbox), account_updates)
        };
        for update in updates {
            // An error only means nobody is subscribed.
            let _ = self.market.send(update);
        }
        self.accounts.publish(account_updates);
        self.applied.send_if_modified(|applied| {
            let advanced = last_seq > *applied;
            *applied = (*applied).max(last_seq);
            advanced
        });
        result
    }

    /// Reads the model under the read lock.
    pub fn read<R>(&self, read: impl FnOnce(&ReadModel) -> R) -> R {
        read(&self.model.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The last sequence applied.
    pub fn applied_seq(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until the model has applied `seq`, for up to `timeout`; whether it has.
    pub async fn caught_up(&self, seq: u64, timeout: Duration) -> bool {
        let mut applied = self.applied.subscribe();
        let reached = tokio::time::timeout(timeout, applied.wait_for(|applied| *applied >= seq)).await;
        reached.is_ok_and(|waited| waited.is_ok())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cex_engine::{EventBody, OrderAccepted, OrderType, SelfTradePrevention, Side, TimeInForce};

    use super::*;

    fn accepted(order_id: OrderId, seq: u64) -> Event {
        Event {
            txid: seq,
            body: EventBody::OrderAccepted(OrderAccepted {
                order_id,
                account: 1,
                symbol: 0,
                client_order_id: 0,
                side: Side::Buy,
                order_type: OrderType::Limit,
                time_in_force: TimeInForce::Gtc,
                price: 100,
                qty: 5,
                quote_qty: 0,
                stop_price: 0,
                expire_ts_ns: 0,
                post_only: false,
                stp: SelfTradePrevention::None,
                frozen: 500,
            }),
        }
    }

    #[test]
    fn remembers_what_recent_commands_did_to_orders() {
        let config = ReadModelConfig { recent_commands: 2, ..ReadModelConfig::default() };
        let mut model = ReadModel::new(config);
        for seq in 1..=3 {
            model.apply(seq, seq * 1_000, &[accepted(seq, seq)]);
        }
        model.apply(4, 4_000, &[]);
        model.apply(2, 9_000, &[accepted(99, 2)]);
        assert_eq!(model.last_seq(), 4);
        assert_eq!(model.order_after(1, 1), None, "forgotten beyond the cap");
        assert_eq!(model.order_after(2, 2).map(|order| order.time_ns), Some(2_000));
        assert_eq!(model.order_after(3, 2), None, "command 3 did not touch order 2");
        assert_eq!(model.order_after(4, 3), None);
        assert!(model.projections().accounts().order(1, 99).is_none(), "a repeated sequence changes nothing");
    }

    #[tokio::test]
    async fn waiters_wake_when_their_command_is_applied() {
        let shared = Arc::new(SharedReadModel::new(ReadModel::new(ReadModelConfig::default())));
        assert!(shared.caught_up(0, Duration::ZERO).await);
        assert!(!shared.caught_up(1, Duration::from_millis(10)).await);
        let waiter = {
            let shared = shared.clone();
            tokio::spawn(async move { shared.caught_up(2, Duration::from_secs(10)).await })
        };
        shared.update(|model| model.apply(1, 1, &[]));
        shared.update(|model| model.apply(2, 2, &[accepted(7, 2)]));
        assert!(waiter.await.unwrap());
        assert_eq!(shared.applied_seq(), 2);
        assert_eq!(shared.read(|model| model.projections().accounts().open_orders(1, None).len()), 1);
    }
}
