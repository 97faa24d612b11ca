//! One batch of commands turned into rows, in memory: what [`crate::HistoryWriter`] commits
//! in one transaction. Pure: no store, no clock.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cex_engine::{AccountId, AssetId, BalanceChanged, Event, EventBody, OrderAccepted, OrderId, Side, SymbolId, Trade};
use cex_projections::{Kline, OrderStatus};

use crate::{day_start_ms, ns_to_ms, MS_PER_MINUTE};

/// What a batch does to one order: inserts it if it was accepted in the batch, then adds
/// the executions and sets the latest status, price and quantity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrderChange {
    pub accepted: Option<OrderAccepted>,
    pub created_ns: u64,
    pub executed_qty: i64,
    pub executed_quote: i64,
    pub status: Option<OrderStatus>,
    /// (price, qty) after an amend.
    pub amended: Option<(i64, i64)>,
    pub updated_ns: u64,
    pub updated_seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TradeRow {
    pub seq: u64,
    pub ts_ns: u64,
    pub trade: Trade,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LedgerRow {
    pub seq: u64,
    pub idx: usize,
    pub ts_ns: u64,
    pub change: BalanceChanged,
}

/// Balances per (account, asset): (available, frozen).
pub(crate) type BalanceMap = HashMap<(AccountId, AssetId), (i64, i64)>;

/// A daily snapshot: the non-zero balances as they stood at `day_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub day_ms: i64,
    pub balances: Vec<((AccountId, AssetId), (i64, i64))>,
}

#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub commands: usize,
    pub last_seq: u64,
    pub last_ts_ns: u64,
    pub orders: BTreeMap<OrderId, OrderChange>,
    pub trades: Vec<TradeRow>,
    pub ledger: Vec<LedgerRow>,
    pub klines: BTreeMap<(SymbolId, i64), Kline>,
    pub snapshots: Vec<Snapshot>,
    /// Balances changed in the batch, to write to `history_balances`.
    pub touched: BTreeSet<(AccountId, AssetId)>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.commands == 0
    }

    /// Adds one command. `ts_ns` is already clamped to never step back; `balances` is the
    /// writer's running map, updated here. A command on a later UTC day than `previous_ts_ns`
    /// first takes that day's snapshot.
    pub fn add(&mut self, seq: u64, ts_ns: u64, previous_ts_ns: u64, events: &[Event], balances: &mut BalanceMap) {
        if previous_ts_ns > 0 && day_start_ms(ts_ns) > day_start_ms(previous_ts_ns) {
            self.snapshots.push(snapshot_of(day_start_ms(ts_ns), balances));
        }
        self.commands += 1;
        self.last_seq = seq;
        self.last_ts_ns = ts_ns;
        for (idx, event) in events.iter().enumerate() {
            match event.body {
                EventBody::OrderAccepted(accepted) => {
                    let change = self.order(accepted.order_id, seq, ts_ns);
                    change.accepted = Some(accepted);
                    change.created_ns = ts_ns;
                }
                EventBody::Trade(trade) => self.add_trade(seq, ts_ns, trade),
                EventBody::OrderCancelled(cancelled) => {
                    self.order(cancelled.order_id, seq, ts_ns).status =
                        Some(OrderStatus::after_cancel(cancelled.reason));
                }
                EventBody::OrderAmended(amended) => {
                    self.order(amended.order_id, seq, ts_ns).amended = Some((amended.new_price, amended.new_qty));
                }
                EventBody::StopTriggered(triggered) => {
                    self.order(triggered.order_id, seq, ts_ns);
                }
                EventBody::BalanceChanged(change) => {
                    self.ledger.push(LedgerRow { seq, idx, ts_ns, change });
                    let key = (change.account, change.asset);
                    balances.insert(key, (change.available_after, change.frozen_after));
                    self.touched.insert(key);
                }
                _ => {}
            }
        }
    }

    fn order(&mut self, order_id: OrderId, seq: u64, ts_ns: u64) -> &mut OrderChange {
        let change = self.orders.entry(order_id).or_insert(OrderChange {
            accepted: None,
            created_ns: ts_ns,
            executed_qty: 0,
            executed_quote: 0,
            status: None,
            amended: None,
            updated_ns: ts_ns,
            updated_seq: seq,
        });
        change.updated_ns = ts_ns;
        change.updated_seq = seq;
        change
    }

    fn add_trade(&mut self, seq: u64, ts_ns: u64, trade: Trade) {
        self.trades.push(TradeRow { seq, ts_ns, trade });
        for (order_id, remaining) in
            [(trade.maker_order_id, trade.maker_remaining), (trade.taker_order_id, trade.taker_remaining)]
        {
            let change = self.order(order_id, seq, ts_ns);
            change.executed_qty += trade.qty;
            change.executed_quote += trade.notional;
            change.status = Some(if remaining == 0 { OrderStatus::Filled } else { OrderStatus::PartiallyFilled });
        }
        let time_ms = ns_to_ms(ts_ns);
        let open_ms = time_ms.div_euclid(MS_PER_MINUTE) * MS_PER_MINUTE;
        let bar = minute_bar(open_ms, &trade);
        self.klines.entry((trade.symbol, open_ms)).and_modify(|kline| merge(kline, &bar)).or_insert(bar);
    }
}

fn snapshot_of(day_ms: i64, balances: &BalanceMap) -> Snapshot {
    let mut rows: Vec<_> = balances
        .iter()
        .filter(|(_, &(available, frozen))| available != 0 || frozen != 0)
        .map(|(k, v)| (*k, *v))
        .collect();
    rows.sort_unstable();
    Snapshot { day_ms, balances: rows }
}

/// A one-minute kline of a single trade.
pub(crate) fn minute_bar(open_ms: i64, trade: &Trade) -> Kline {
    let bought = trade.taker_side == Side::Buy;
    Kline {
        open_time_ms: open_ms,
        close_time_ms: open_ms + MS_PER_MINUTE - 1,
        open: trade.price,
        high: trade.price,
        low: trade.price,
        close: trade.price,
        volume: trade.qty.into(),
        quote_volume: trade.notional.into(),
        trade_count: 1,
        taker_buy_volume: if bought { trade.qty.into() } else { 0 },
        taker_buy_quote_volume: if bought { trade.notional.into() } else { 0 },
        first_trade_id: trade.trade_id,
        last_trade_id: trade.trade_id,
    }
}

/// Extends `kline` with `later`, which follows it in time: the open and first trade stay,
/// the close and last trade move, the extremes widen and the volumes add up. The close time
/// becomes `later`'s, so merging minutes builds longer intervals.
pub fn merge(kline: &mut Kline, later: &Kline) {
    kline.high = kline.high.max(later.high);
    kline.low = kline.low.min(later.low);
    kline.close = later.close;
    kline.close_time_ms = kline.close_time_ms.max(later.close_time_ms);
    kline.volume = kline.volume.saturating_add(later.volume);
    kline.quote_volume = kline.quote_volume.saturating_add(later.quote_volume);
    kline.trade_count = kline.trade_count.saturating_add(later.trade_count);
    kline.taker_buy_volume = kline.taker_buy_volume.saturating_add(later.taker_buy_volume);
    kline.taker_buy_quote_volume = kline.taker_buy_quote_volume.saturating_add(later.taker_buy_quote_volume);
    kline.last_trade_id = later.last_trade_id;
}
