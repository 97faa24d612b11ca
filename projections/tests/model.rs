//! The model test. Random order flow from the engine's testkit (limit, market by quantity and
//! by quote, IOC, FOK, post-only, GTD, stops, cancels, cancel-alls, amends, mass quotes,
//! admin cancels, halts, suspensions, delistings, several accounts and symbols, invalid
//! commands) runs through a real `Engine`, with the reference engine beside it for the one
//! view the fast engine does not give (which orders are open). After every command its
//! events go to the projections, which must agree with the engine:
//!
//! - every book's levels equal the engine's, price for price, and no book is crossed;
//! - every balance equals the engine's;
//! - the open orders are exactly the engine's; the working ones add up to the book's levels,
//!   order for order; the sell orders add up to the frozen base, the buy orders fit within
//!   the frozen quote;
//! - depth clients that subscribe and snapshot at random moments, following the documented
//!   sync rules, hold the same book as a fresh snapshot after every command; one that
//!   snapshots before subscribing notices exactly when it missed a change;
//! - a redelivered command changes nothing.
//!
//! At checkpoints, klines, reported closed klines, recent trades and the 24 h ticker are
//! compared with a naive recomputation from the list of every trade. Timestamps reach the
//! projections stretched by random jumps (seconds to days), so a short run spans months of
//! klines and many 24 h windows; the engine keeps its own clock, since time only labels
//! trades for the projections.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator, FlowWeights, Rng};
use cex_engine::testkit::reference::ReferenceEngine;
use cex_engine::*;
use cex_projections::*;
use common::{DepthClient, SyncError};

const DAY_MS: i64 = 86_400_000;
const CHECKPOINT_EVERY: usize = 500;

/// A trade as the projections timed it: at its command's time, never stepping back.
#[derive(Clone, Copy)]
struct TimedTrade {
    time_ms: i64,
    time_ns: u64,
    trade: Trade,
}

/// A client waiting to take its snapshot, or synced.
struct Client {
    client: DepthClient,
    snapshot_at: usize,
}

/// A client that took its snapshot first and subscribes after a later command: rule 4 must
/// tell it whether it missed a change in between.
struct LateClient {
    symbol: SymbolId,
    snapshot: DepthSnapshot,
    subscribe_after: usize,
    /// Known once subscribed: whether the book changed between the snapshot and then.
    missed_a_change: Option<bool>,
}

/// What the flow exercised, so a change to it cannot quietly weaken this test.
#[derive(Default)]
struct Coverage {
    event_kinds: BTreeSet<&'static str>,
    cancel_reasons: BTreeSet<CancelReason>,
    order_types: BTreeSet<OrderType>,
    amends_in_place: usize,
    amends_moved: usize,
    /// Amends that ran the order again as a taker and traded.
    amends_that_traded: usize,
    /// Stop-limits triggered and left resting in the book.
    stop_limits_resting: usize,
    post_only_accepted: usize,
    redeliveries: usize,
    late_clients_that_missed: usize,
    synced_clients: usize,
}

impl Coverage {
    fn note(&mut self, events: &[Event]) {
        for event in events {
            self.event_kinds.insert(event.body.name());
            match event.body {
                EventBody::OrderCancelled(cancelled) => {
                    self.cancel_reasons.insert(cancelled.reason);
                }
                EventBody::OrderAccepted(accepted) => {
                    self.order_types.insert(accepted.order_type);
                    self.post_only_accepted += accepted.post_only as usize;
                }
                EventBody::OrderAmended(amended) if amended.priority_kept => self.amends_in_place += 1,
                EventBody::OrderAmended(_) => self.amends_moved += 1,
                _ => {}
            }
        }
        self.amends_that_traded += events.windows(2).filter(|pair| amend_then_trade(pair)).count();
    }

    fn note_resting_stop_limits(&mut self, events: &[Event], accounts: &Accounts) {
        for event in events {
            if let EventBody::StopTriggered(triggered) = event.body {
                let order = accounts.order(triggered.account, triggered.order_id);
                self.stop_limits_resting +=
                    order.is_some_and(|o| o.order_type == OrderType::StopLimit && o.status.is_open()) as usize;
            }
        }
    }
}

/// An amend directly followed by a trade with the amended order as the taker.
fn amend_then_trade(pair: &[Event]) -> bool {
    match (pair[0].body, pair[1].body) {
        (EventBody::OrderAmended(amended), EventBody::Trade(trade)) => trade.taker_order_id == amended.order_id,
        _ => false,
    }
}

struct Model {
    rng: Rng,
    flow: FlowGenerator,
    engine: Engine,
    reference: ReferenceEngine,
    projections: Projections,
    config: ProjectionConfig,
    events: Vec<Event>,
    reference_events: Vec<Event>,
    /// Added to the engine's timestamps for the projections.
    stretch_ns: u64,
    now_ns: u64,
    /// Commands delivered to the projections so far: the clients' clock.
    commands: usize,
    trades: Vec<TimedTrade>,
    reported_closed: BTreeMap<(SymbolId, Interval), Vec<Kline>>,
    /// Every book after the previous command, to work out what each diff must hold.
    books: BTreeMap<SymbolId, DepthSnapshot>,
    clients: Vec<Client>,
    late_clients: Vec<LateClient>,
    coverage: Coverage,
}

impl Model {
    fn new(seed: u64, flow_config: FlowConfig) -> Model {
        let flow = FlowGenerator::new(seed, flow_config);
        let engine_config = flow.engine_config();
        // History big enough that nothing is forgotten: the naive recomputation keeps all.
        let config = ProjectionConfig { kline_history: usize::MAX, recent_trades: 100, ..ProjectionConfig::default() };
        Model {
            rng: Rng::new(seed ^ 0x5eed),
            flow,
            engine: Engine::new(engine_config),
            reference: ReferenceEngine::new(engine_config),
            projections: Projections::new(config),
            config,
            events: Vec::new(),
            reference_events: Vec::new(),
            stretch_ns: 0,
            now_ns: 0,
            commands: 0,
            trades: Vec::new(),
            reported_closed: BTreeMap::new(),
            books: BTreeMap::new(),
            clients: Vec::new(),
            late_clients: Vec::new(),
            coverage: Coverage::default(),
        }
    }

    fn run(&mut self, commands: usize) {
        for envelope in self.flow.setup() {
            self.step(envelope);
        }
        for index in 0..commands {
            let envelope = self.flow.next_command();
            self.step(envelope);
            if index % CHECKPOINT_EVERY == 0 {
                self.check_history();
            }
        }
        self.check_history();
        assert!(self.clients.iter().all(|c| c.client.is_synced() || c.snapshot_at > self.commands));
    }

    fn step(&mut self, envelope: CommandEnvelope) {
        let seq_before = self.engine.last_seq();
        self.events.clear();
        self.engine.apply(&envelope, &mut self.events);
        self.reference_events.clear();
        self.reference.apply(&envelope, &mut self.reference_events);
        assert_eq!(self.events, self.reference_events, "the engines disagree on {envelope:?}");
        self.flow.observe(&self.events);
        if self.engine.last_seq() == seq_before {
            // Refused as out of sequence: the runtime never delivers such a command.
            return;
        }
        self.commands += 1;
        self.coverage.note(&self.events);
        let ts_ns = self.stretched(envelope.ts_ns);
        let changes = self.projections.apply(envelope.seq, ts_ns, &self.events);
        self.record(&changes);
        self.coverage.note_resting_stop_limits(&self.events, self.projections.accounts());
        self.maybe_redeliver(envelope.seq, ts_ns);
        self.check_diffs(envelope.seq, &changes);
        self.follow_clients(&changes);
        self.check_books();
        self.check_accounts();
    }

    /// The projections' timestamp: the engine's plus a stretch that now and then jumps by
    /// minutes or days.
    fn stretched(&mut self, ts_ns: u64) -> u64 {
        const MINUTE_NS: u64 = 60_000_000_000;
        if self.rng.chance(1) {
            self.stretch_ns += self.rng.below(3 * 24 * 60) * MINUTE_NS;
        } else if self.rng.chance(10) {
            self.stretch_ns += self.rng.below(10 * MINUTE_NS);
        }
        let ts_ns = ts_ns + self.stretch_ns;
        self.now_ns = self.now_ns.max(ts_ns);
        ts_ns
    }

    fn record(&mut self, changes: &Changes) {
        let time_ms = (self.now_ns / 1_000_000) as i64;
        for event in &self.events {
            if let EventBody::Trade(trade) = event.body {
                self.trades.push(TimedTrade { time_ms, time_ns: self.now_ns, trade });
            }
        }
        let trades: Vec<_> = self.events.iter().filter(|e| matches!(e.body, EventBody::Trade(_))).collect();
        assert_eq!(changes.trades.len(), trades.len());
        for closed in &changes.closed_klines {
            self.reported_closed.entry((closed.symbol, closed.interval)).or_default().push(closed.kline);
        }
    }

    /// Delivers the command just applied once more, as a consumer might after a catch-up:
    /// it must be skipped.
    fn maybe_redeliver(&mut self, seq: u64, ts_ns: u64) {
        if self.rng.chance(2) {
            let changes = self.projections.apply(seq, ts_ns, &self.events);
            assert_eq!(changes, Changes { seq, ..Changes::default() });
            self.coverage.redeliveries += 1;
        }
    }

    /// Each diff lists exactly the levels that differ between the books before and after
    /// its command, continues its book's update ids, and a book without one kept its id.
    fn check_diffs(&mut self, seq: u64, changes: &Changes) {
        let depth = self.projections.depth();
        let mut diffs = changes.depth.iter().peekable();
        for symbol in depth.symbols() {
            let after = depth.snapshot(symbol, usize::MAX).unwrap();
            let Some(before) = self.books.insert(symbol, after.clone()) else {
                assert_eq!(after.last_update_id, seq, "a new book starts at its SymbolAdded");
                continue;
            };
            let mut bids = changed_levels(&before.bids, &after.bids);
            bids.reverse();
            let asks = changed_levels(&before.asks, &after.asks);
            if bids.is_empty() && asks.is_empty() {
                assert!(diffs.peek().is_none_or(|diff| diff.symbol != symbol), "a diff without a change");
                assert_eq!(after.last_update_id, before.last_update_id);
                continue;
            }
            let first_update_id = before.last_update_id + 1;
            let expected = DepthDiff { symbol, first_update_id, last_update_id: seq, bids, asks };
            assert_eq!(diffs.next(), Some(&expected));
            assert_eq!(after.last_update_id, seq);
        }
        assert!(diffs.next().is_none(), "diffs out of symbol order or for unknown books");
    }

    fn follow_clients(&mut self, changes: &Changes) {
        for diff in &changes.depth {
            for client in self.clients.iter_mut().filter(|c| c.client.symbol == diff.symbol) {
                client.client.on_diff(diff).expect("a client in sync stays in sync");
            }
        }
        let depth = self.projections.depth();
        for client in &mut self.clients {
            if client.snapshot_at == self.commands {
                let snapshot = depth.snapshot(client.client.symbol, usize::MAX).unwrap();
                client.client.on_snapshot(&snapshot).expect("the buffer covers the snapshot");
                self.coverage.synced_clients += 1;
            }
            if client.client.is_synced() {
                assert_eq!(client.client.view(), depth.snapshot(client.client.symbol, usize::MAX));
            }
        }
        self.follow_late_clients(changes);
        self.maybe_add_clients();
    }

    /// Now and then, a client subscribes to a symbol and plans its snapshot a little later;
    /// another takes a snapshot now and plans to subscribe a little later.
    fn maybe_add_clients(&mut self) {
        let symbols: Vec<SymbolId> = self.projections.depth().symbols().collect();
        if symbols.is_empty() || !self.rng.chance(2) {
            return;
        }
        let symbol = self.rng.pick(&symbols);
        let snapshot_at = self.commands + 1 + self.rng.below(40) as usize;
        self.clients.push(Client { client: DepthClient::subscribe(symbol), snapshot_at });
        let snapshot = self.projections.depth().snapshot(symbol, usize::MAX).unwrap();
        let subscribe_after = self.commands + 1 + self.rng.below(5) as usize;
        self.late_clients.push(LateClient { symbol, snapshot, subscribe_after, missed_a_change: None });
    }

    /// A late client hears the diffs after its subscription; on the first for its symbol,
    /// it applies the rules, which must refuse its snapshot exactly when it missed a change.
    fn follow_late_clients(&mut self, changes: &Changes) {
        let depth = self.projections.depth();
        let mut still_waiting = Vec::new();
        for mut late in std::mem::take(&mut self.late_clients) {
            let first_diff = changes.depth.iter().find(|d| d.symbol == late.symbol);
            let (Some(missed), Some(diff)) = (late.missed_a_change, first_diff) else {
                if self.commands == late.subscribe_after {
                    late.missed_a_change =
                        Some(depth.last_update_id(late.symbol) != Some(late.snapshot.last_update_id));
                }
                still_waiting.push(late);
                continue;
            };
            let mut client = DepthClient::subscribe(late.symbol);
            client.on_diff(diff).unwrap();
            let outcome = client.on_snapshot(&late.snapshot);
            if missed {
                assert!(matches!(outcome, Err(SyncError::SnapshotTooOld { .. })), "{outcome:?}");
                self.coverage.late_clients_that_missed += 1;
            } else {
                assert_eq!(outcome, Ok(()));
                assert_eq!(client.view(), depth.snapshot(late.symbol, usize::MAX));
            }
        }
        self.late_clients = still_waiting;
    }

    fn check_books(&self) {
        let depth = self.projections.depth();
        for symbol in 0..self.engine.config().max_symbols {
            let spec = self.engine.symbol_spec(symbol);
            assert_eq!(spec, self.projections.registry().symbol(symbol).map(|info| info.spec));
            let Some(spec) = spec else {
                assert!(depth.snapshot(symbol, 1).is_none());
                continue;
            };
            let snapshot = depth.snapshot(symbol, usize::MAX).unwrap();
            let in_engine_units = |levels: &[Level]| {
                assert!(levels.iter().all(|l| l.price % spec.tick_size == 0 && l.qty % spec.lot_size == 0));
                levels.iter().map(|l| (l.price / spec.tick_size, l.qty / spec.lot_size)).collect::<Vec<_>>()
            };
            assert_eq!(in_engine_units(&snapshot.bids), self.engine.depth(symbol, Side::Buy), "bids of {symbol}");
            assert_eq!(in_engine_units(&snapshot.asks), self.engine.depth(symbol, Side::Sell), "asks of {symbol}");
            let (best_bid, best_ask) = (snapshot.bids.first().copied(), snapshot.asks.first().copied());
            if let (Some(bid), Some(ask)) = (best_bid, best_ask) {
                assert!(bid.price < ask.price, "crossed book on {symbol}: {bid:?} / {ask:?}");
            }
            assert_eq!(depth.best_prices(symbol), BestPrices { bid: best_bid, ask: best_ask });
            assert_eq!(self.engine.best_prices(symbol), (best_bid.map(|l| l.price), best_ask.map(|l| l.price)));
        }
    }

    fn check_accounts(&self) {
        let config = self.engine.config();
        let accounts = self.projections.accounts();
        for account in 0..config.max_accounts {
            for asset in 0..config.max_assets {
                let ours = accounts.balance(account, asset).map_or((0, 0), |b| (b.available, b.frozen));
                assert_eq!(ours, self.engine.balance(account, asset), "balance of {account} in {asset}");
            }
        }
        let open: Vec<OrderView> = accounts.account_ids().flat_map(|a| accounts.open_orders(a, None)).collect();
        let mut ids: Vec<OrderId> = open.iter().map(|o| o.order_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, self.reference.open_order_ids());
        assert_eq!(open.len(), self.engine.open_orders());
        for order in &open {
            assert!(order.status.is_open() && order.remaining_qty() > 0, "{order:?}");
            assert_eq!(accounts.order(order.account, order.order_id), Some(*order));
            assert!(order.working || order.order_type.is_stop(), "{order:?}");
        }
        self.check_levels_hold_the_working_orders(&open);
        self.check_frozen_funds(&open);
    }

    /// Every working open order rests in the book: they add up to the levels exactly.
    fn check_levels_hold_the_working_orders(&self, open: &[OrderView]) {
        let mut levels: BTreeMap<(SymbolId, Side, i64), Level> = BTreeMap::new();
        for order in open.iter().filter(|o| o.working) {
            assert!(matches!(order.order_type, OrderType::Limit | OrderType::StopLimit), "{order:?}");
            let level = levels.entry((order.symbol, order.side, order.price)).or_insert(Level {
                price: order.price,
                qty: 0,
                orders: 0,
            });
            level.qty += order.remaining_qty();
            level.orders += 1;
        }
        let depth = self.projections.depth();
        let mut in_book = BTreeMap::new();
        for symbol in depth.symbols() {
            let snapshot = depth.snapshot(symbol, usize::MAX).unwrap();
            in_book.extend(snapshot.bids.iter().map(|l| ((symbol, Side::Buy, l.price), *l)));
            in_book.extend(snapshot.asks.iter().map(|l| ((symbol, Side::Sell, l.price), *l)));
        }
        assert_eq!(levels, in_book);
    }

    /// A sell holds exactly its remaining base; a buy holds at least the notional of what
    /// it has left at its limit (plus a fee reserve this model cannot see).
    fn check_frozen_funds(&self, open: &[OrderView]) {
        let registry = self.projections.registry();
        let mut sells: BTreeMap<(AccountId, AssetId), i64> = BTreeMap::new();
        let mut buys: BTreeMap<(AccountId, AssetId), i128> = BTreeMap::new();
        for order in open {
            let spec = registry.symbol(order.symbol).unwrap().spec;
            let base_unit = 10i128.pow(registry.asset(spec.base).unwrap().scale as u32);
            match order.side {
                Side::Sell => *sells.entry((order.account, spec.base)).or_default() += order.remaining_qty(),
                Side::Buy => {
                    let notional = order.price as i128 * order.remaining_qty() as i128 / base_unit;
                    *buys.entry((order.account, spec.quote)).or_default() += notional;
                }
            }
        }
        let config = self.engine.config();
        for account in 0..config.max_accounts {
            for asset in 0..config.max_assets {
                let frozen = self.engine.balance(account, asset).1;
                let sold = sells.get(&(account, asset)).copied().unwrap_or(0);
                match buys.get(&(account, asset)) {
                    None => assert_eq!(frozen, sold, "frozen {asset} of {account}"),
                    Some(bought) => assert!(frozen as i128 >= sold as i128 + bought, "frozen {asset} of {account}"),
                }
            }
        }
    }

    fn check_history(&mut self) {
        let symbols: Vec<SymbolId> = self.projections.registry().symbols().map(|info| info.spec.symbol).collect();
        for &symbol in &symbols {
            let trades: Vec<TimedTrade> = self.trades.iter().filter(|t| t.trade.symbol == symbol).copied().collect();
            self.check_klines(symbol, &trades);
            self.check_recent_trades(symbol, &trades);
            let now_ms = (self.now_ns / 1_000_000) as i64;
            let later_ms = now_ms + self.rng.range(0, 2 * DAY_MS);
            for as_of_ms in [now_ms, later_ms, now_ms - DAY_MS] {
                self.check_ticker(symbol, &trades, as_of_ms);
            }
        }
    }

    fn check_klines(&self, symbol: SymbolId, trades: &[TimedTrade]) {
        let now_ms = (self.now_ns / 1_000_000) as i64;
        let klines = self.projections.klines();
        for interval in Interval::ALL {
            let expected = naive_klines(interval, trades);
            assert_eq!(klines.klines(symbol, interval, None, None, usize::MAX), expected, "{symbol} {interval:?}");
            let (closed, open): (Vec<Kline>, Vec<Kline>) = expected.iter().partition(|k| k.close_time_ms < now_ms);
            let reported = self.reported_closed.get(&(symbol, interval)).cloned().unwrap_or_default();
            assert_eq!(reported, closed, "closed klines of {symbol} {interval:?}");
            assert_eq!(klines.open_kline(symbol, interval), open.last().copied());
        }
    }

    fn check_recent_trades(&self, symbol: SymbolId, trades: &[TimedTrade]) {
        let kept = trades.len().saturating_sub(self.config.recent_trades);
        let expected: Vec<PublicTrade> = trades[kept..]
            .iter()
            .map(|t| PublicTrade {
                trade_id: t.trade.trade_id,
                symbol,
                price: t.trade.price,
                qty: t.trade.qty,
                quote_qty: t.trade.notional,
                time_ns: t.time_ns,
                taker_side: t.trade.taker_side,
            })
            .collect();
        assert_eq!(self.projections.trades().recent(symbol, usize::MAX), expected);
    }

    fn check_ticker(&self, symbol: SymbolId, trades: &[TimedTrade], as_of_ms: i64) {
        let now_ms = (self.now_ns / 1_000_000) as i64;
        let mut expected = naive_ticker(symbol, trades, as_of_ms.max(now_ms), self.config.ticker_bucket_ms);
        let best = self.projections.depth().best_prices(symbol);
        (expected.best_bid, expected.best_ask) = (best.bid, best.ask);
        assert_eq!(self.projections.ticker(symbol, as_of_ms), Some(expected));
    }
}

/// The levels that differ between two sides of a book, by ascending price; a level that is
/// gone has quantity and order count 0.
fn changed_levels(before: &[Level], after: &[Level]) -> Vec<Level> {
    let before: BTreeMap<i64, Level> = before.iter().map(|l| (l.price, *l)).collect();
    let after: BTreeMap<i64, Level> = after.iter().map(|l| (l.price, *l)).collect();
    let prices: BTreeSet<i64> = before.keys().chain(after.keys()).copied().collect();
    prices
        .into_iter()
        .filter(|price| before.get(price) != after.get(price))
        .map(|price| after.get(&price).copied().unwrap_or(Level { price, qty: 0, orders: 0 }))
        .collect()
}

/// Klines from the list of trades, by a separate and plainer reading of the intervals.
fn naive_klines(interval: Interval, trades: &[TimedTrade]) -> Vec<Kline> {
    let mut klines: Vec<Kline> = Vec::new();
    for timed in trades {
        let (open_ms, next_open_ms) = naive_bounds(interval, timed.time_ms);
        let trade = &timed.trade;
        let taker_buys = trade.taker_side == Side::Buy;
        match klines.last_mut() {
            Some(kline) if kline.open_time_ms == open_ms => {
                kline.high = kline.high.max(trade.price);
                kline.low = kline.low.min(trade.price);
                kline.close = trade.price;
                kline.volume += trade.qty as i128;
                kline.quote_volume += trade.notional as i128;
                kline.trade_count += 1;
                kline.taker_buy_volume += if taker_buys { trade.qty as i128 } else { 0 };
                kline.taker_buy_quote_volume += if taker_buys { trade.notional as i128 } else { 0 };
                kline.last_trade_id = trade.trade_id;
            }
            _ => klines.push(Kline {
                open_time_ms: open_ms,
                close_time_ms: next_open_ms - 1,
                open: trade.price,
                high: trade.price,
                low: trade.price,
                close: trade.price,
                volume: trade.qty as i128,
                quote_volume: trade.notional as i128,
                trade_count: 1,
                taker_buy_volume: if taker_buys { trade.qty as i128 } else { 0 },
                taker_buy_quote_volume: if taker_buys { trade.notional as i128 } else { 0 },
                first_trade_id: trade.trade_id,
                last_trade_id: trade.trade_id,
            }),
        }
    }
    klines
}

/// (open, next open) of the interval holding `time_ms`, for times after 1970.
fn naive_bounds(interval: Interval, time_ms: i64) -> (i64, i64) {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    let fixed = |length: i64| (time_ms - time_ms % length, time_ms - time_ms % length + length);
    match interval {
        Interval::Second1 => fixed(1_000),
        Interval::Minute1 => fixed(MINUTE),
        Interval::Minute3 => fixed(3 * MINUTE),
        Interval::Minute5 => fixed(5 * MINUTE),
        Interval::Minute15 => fixed(15 * MINUTE),
        Interval::Minute30 => fixed(30 * MINUTE),
        Interval::Hour1 => fixed(HOUR),
        Interval::Hour2 => fixed(2 * HOUR),
        Interval::Hour4 => fixed(4 * HOUR),
        Interval::Hour6 => fixed(6 * HOUR),
        Interval::Hour8 => fixed(8 * HOUR),
        Interval::Hour12 => fixed(12 * HOUR),
        Interval::Day1 => fixed(DAY_MS),
        Interval::Day3 => fixed(3 * DAY_MS),
        Interval::Week1 => {
            // 1970-01-01 was a Thursday: day 0 is three days after a Monday.
            let day = time_ms / DAY_MS;
            let monday = day - (day + 3) % 7;
            (monday * DAY_MS, (monday + 7) * DAY_MS)
        }
        Interval::Month1 => naive_month(time_ms),
    }
}

/// Walks the calendar a month at a time from January 1970.
fn naive_month(time_ms: i64) -> (i64, i64) {
    let (mut year, mut month, mut start) = (1970, 1, 0);
    loop {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
        let end = start + days * DAY_MS;
        if time_ms < end {
            return (start, end);
        }
        start = end;
        (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    }
}

/// The ticker straight from the trades: those whose bucket is among the window's
/// `DAY_MS / bucket_ms` buckets ending with the one holding `as_of_ms`.
fn naive_ticker(symbol: SymbolId, trades: &[TimedTrade], as_of_ms: i64, bucket_ms: i64) -> Ticker24h {
    let oldest_bucket = as_of_ms / bucket_ms - (DAY_MS / bucket_ms - 1);
    let window: Vec<&TimedTrade> = trades.iter().filter(|t| t.time_ms / bucket_ms >= oldest_bucket).collect();
    let last = trades.last().map(|t| (t.trade.price, t.trade.qty)).unwrap_or((0, 0));
    let open = window.first().map_or(0, |t| t.trade.price);
    Ticker24h {
        symbol,
        open_time_ms: oldest_bucket * bucket_ms,
        close_time_ms: as_of_ms,
        open_price: open,
        high_price: window.iter().map(|t| t.trade.price).max().unwrap_or(0),
        low_price: window.iter().map(|t| t.trade.price).min().unwrap_or(0),
        last_price: last.0,
        last_qty: last.1,
        price_change: if window.is_empty() { 0 } else { last.0 - open },
        volume: window.iter().map(|t| t.trade.qty as i128).sum(),
        quote_volume: window.iter().map(|t| t.trade.notional as i128).sum(),
        trade_count: window.len() as u64,
        first_trade_id: window.first().map(|t| t.trade.trade_id),
        last_trade_id: window.last().map(|t| t.trade.trade_id),
        best_bid: None,
        best_ask: None,
    }
}

fn run_seeds(seeds: std::ops::Range<u64>, commands: usize, flow_config: FlowConfig) -> Coverage {
    let mut total = Coverage::default();
    for seed in seeds {
        let mut model = Model::new(seed, flow_config.clone());
        model.run(commands);
        let coverage = model.coverage;
        total.event_kinds.extend(coverage.event_kinds);
        total.cancel_reasons.extend(coverage.cancel_reasons);
        total.order_types.extend(coverage.order_types);
        total.amends_in_place += coverage.amends_in_place;
        total.amends_moved += coverage.amends_moved;
        total.amends_that_traded += coverage.amends_that_traded;
        total.stop_limits_resting += coverage.stop_limits_resting;
        total.post_only_accepted += coverage.post_only_accepted;
        total.redeliveries += coverage.redeliveries;
        total.late_clients_that_missed += coverage.late_clients_that_missed;
        total.synced_clients += coverage.synced_clients;
    }
    total
}

#[test]
fn the_default_flow_matches_the_engine_after_every_command() {
    let coverage = run_seeds(0..4, 10_000, FlowConfig::default());
    assert_eq!(coverage.event_kinds.len(), EventBody::NAMES.len(), "{:?}", coverage.event_kinds);
    assert_eq!(coverage.order_types.len(), OrderType::ALL.len());
    let reasons: BTreeSet<CancelReason> =
        CancelReason::ALL.iter().copied().filter(|r| *r != CancelReason::BookCapacity).collect();
    assert!(coverage.cancel_reasons.is_superset(&reasons), "{:?}", coverage.cancel_reasons);
    assert!(coverage.amends_in_place > 50 && coverage.amends_moved > 50 && coverage.amends_that_traded > 10);
    assert!(coverage.stop_limits_resting > 10, "{}", coverage.stop_limits_resting);
    assert!(coverage.post_only_accepted > 50 && coverage.redeliveries > 50);
    assert!(coverage.synced_clients > 50 && coverage.late_clients_that_missed > 10);
}

#[test]
fn tight_capacities_match_the_engine() {
    let config = FlowConfig { tight_capacities: true, ..FlowConfig::default() };
    let coverage = run_seeds(10..13, 8_000, config);
    assert!(coverage.cancel_reasons.contains(&CancelReason::BookCapacity), "{:?}", coverage.cancel_reasons);
}

#[test]
fn clock_faults_and_stale_stamps_match_the_engine() {
    let config = FlowConfig { clock_faults_pct: 10, ..FlowConfig::default() };
    run_seeds(20..23, 8_000, config);
}

#[test]
fn heavy_quoting_amending_and_few_accounts_match_the_engine() {
    let weights = FlowWeights { mass_quote: 25, amend: 25, cancel_all: 6, ..FlowWeights::default() };
    let config = FlowConfig { symbols: 2, accounts: 6, invalid_ratio_pct: 0, weights, ..FlowConfig::default() };
    run_seeds(30..33, 8_000, config);
}
