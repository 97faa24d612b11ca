//! The projections never panic, whatever they are fed: events made up at random from small
//! pools of ids and extreme values, real streams damaged (events dropped, repeated,
//! reordered, moved to another command, fields changed), sequences that repeat, go back or
//! jump, timestamps at 0 or `u64::MAX`. After every command every query runs, with extreme
//! arguments too. (The test profile keeps overflow checks on, so any unchecked arithmetic
//! would panic here.)
//!
//! Whatever the input, the depth diffs keep their promise: a client that subscribed before
//! the first command and follows the sync rules holds exactly each book's snapshot.

mod common;

use std::collections::BTreeMap;

use cex_engine::testkit::flow::{FlowConfig, FlowGenerator, Rng};
use cex_engine::*;
use cex_projections::*;
use common::DepthClient;

const PRICES: [i64; 9] = [i64::MIN, -1, 0, 1, 7, 100, 101, 1_000_000, i64::MAX];
const SYMBOLS: u32 = 4;
const ACCOUNTS: u32 = 5;
const ORDER_IDS: u64 = 12;

/// Made-up fields, mostly from small pools so events collide with one another.
struct Garbler {
    rng: Rng,
}

impl Garbler {
    fn order_id(&mut self) -> OrderId {
        if self.rng.chance(3) {
            self.rng.pick(&[0, u64::MAX])
        } else {
            1 + self.rng.below(ORDER_IDS)
        }
    }

    fn account(&mut self) -> AccountId {
        if self.rng.chance(3) {
            u32::MAX
        } else {
            self.rng.below(ACCOUNTS as u64) as AccountId
        }
    }

    fn symbol(&mut self) -> SymbolId {
        if self.rng.chance(3) {
            u32::MAX
        } else {
            self.rng.below(SYMBOLS as u64) as SymbolId
        }
    }

    fn asset(&mut self) -> AssetId {
        self.rng.pick(&[0, 1, 2, u16::MAX])
    }

    fn amount(&mut self) -> i64 {
        if self.rng.chance(70) {
            self.rng.range(1, 20) * 100
        } else {
            self.rng.pick(&PRICES)
        }
    }

    fn side(&mut self) -> Side {
        self.rng.pick(Side::ALL)
    }

    fn time_ns(&mut self) -> u64 {
        self.rng.pick(&[0, 1, 1_700_000_000_000_000_000, u64::MAX])
    }

    fn event(&mut self) -> Event {
        let body = match self.rng.below(15) {
            0 => EventBody::Rejected(Rejected {
                command: self.rng.pick(CommandKind::ALL),
                account: self.account(),
                order_id: self.order_id(),
                client_order_id: self.rng.next_u64(),
                reason: self.rng.pick(RejectReason::ALL),
            }),
            1 => EventBody::OrderAccepted(self.accepted()),
            2 => EventBody::Trade(self.trade()),
            3 => EventBody::OrderCancelled(OrderCancelled {
                order_id: self.order_id(),
                account: self.account(),
                symbol: self.symbol(),
                side: self.side(),
                remaining: self.amount(),
                reason: self.rng.pick(CancelReason::ALL),
            }),
            4 => EventBody::OrderAmended(OrderAmended {
                order_id: self.order_id(),
                account: self.account(),
                symbol: self.symbol(),
                side: self.side(),
                old_price: self.amount(),
                new_price: self.amount(),
                old_qty: self.amount(),
                new_qty: self.amount(),
                priority_kept: self.rng.chance(50),
            }),
            5 => EventBody::StopTriggered(StopTriggered {
                order_id: self.order_id(),
                account: self.account(),
                symbol: self.symbol(),
                stop_price: self.amount(),
                last_price: self.amount(),
            }),
            6 => EventBody::BalanceChanged(BalanceChanged {
                account: self.account(),
                asset: self.asset(),
                cause: self.rng.pick(BalanceCause::ALL),
                reference: self.rng.next_u64(),
                available_before: self.amount(),
                frozen_before: self.amount(),
                available_after: self.amount(),
                frozen_after: self.amount(),
            }),
            7 => EventBody::AssetAdded { asset: self.asset(), scale: self.rng.below(256) as u8 },
            8 => EventBody::SymbolAdded(self.spec()),
            9 => EventBody::SymbolStatusChanged {
                symbol: self.symbol(),
                old: self.rng.pick(SymbolStatus::ALL),
                new: self.rng.pick(SymbolStatus::ALL),
            },
            10 => EventBody::SymbolFeesChanged(SymbolFeesChanged {
                symbol: self.symbol(),
                tier: self.rng.below(256) as u8,
                old_maker_fee_bps: self.rng.below(65_536) as u16,
                old_taker_fee_bps: self.rng.below(65_536) as u16,
                new_maker_fee_bps: self.rng.below(65_536) as u16,
                new_taker_fee_bps: self.rng.below(65_536) as u16,
            }),
            11 => EventBody::TierLimitsChanged {
                tier: self.rng.below(256) as u8,
                old_max_open_orders: self.rng.below(1 << 32) as u32,
                new_max_open_orders: self.rng.below(1 << 32) as u32,
            },
            12 => EventBody::AccountCreated { account: self.account(), fee_tier: self.rng.below(256) as u8 },
            13 => EventBody::AccountStatusChanged {
                account: self.account(),
                old: self.rng.pick(AccountStatus::ALL),
                new: self.rng.pick(AccountStatus::ALL),
            },
            _ => EventBody::AccountFeeTierChanged {
                account: self.account(),
                old: self.rng.below(256) as u8,
                new: self.rng.below(256) as u8,
            },
        };
        Event { txid: self.rng.next_u64(), body }
    }

    fn accepted(&mut self) -> OrderAccepted {
        OrderAccepted {
            order_id: self.order_id(),
            account: self.account(),
            symbol: self.symbol(),
            client_order_id: self.rng.below(3),
            side: self.side(),
            order_type: self.rng.pick(OrderType::ALL),
            time_in_force: self.rng.pick(TimeInForce::ALL),
            price: self.amount(),
            qty: self.amount(),
            quote_qty: self.amount(),
            stop_price: self.amount(),
            expire_ts_ns: self.time_ns(),
            post_only: self.rng.chance(50),
            stp: self.rng.pick(SelfTradePrevention::ALL),
            frozen: self.amount(),
        }
    }

    fn trade(&mut self) -> Trade {
        Trade {
            trade_id: self.rng.next_u64(),
            symbol: self.symbol(),
            price: self.amount(),
            qty: self.amount(),
            notional: self.amount(),
            taker_side: self.side(),
            maker_order_id: self.order_id(),
            taker_order_id: self.order_id(),
            maker_account: self.account(),
            taker_account: self.account(),
            maker_fee: self.amount(),
            taker_fee: self.amount(),
            maker_remaining: self.amount(),
            taker_remaining: self.amount(),
        }
    }

    fn spec(&mut self) -> SymbolSpec {
        SymbolSpec {
            symbol: self.symbol(),
            base: self.asset(),
            quote: self.asset(),
            tick_size: self.amount(),
            lot_size: self.amount(),
            min_qty: self.amount(),
            max_qty: self.amount(),
            min_notional: self.amount(),
            price_band_bps: self.rng.below(1 << 32) as u32,
            reference_price: self.amount(),
            maker_fee_bps: self.rng.below(65_536) as u16,
            taker_fee_bps: self.rng.below(65_536) as u16,
        }
    }

    /// A sequence that mostly advances, sometimes repeats, goes back or jumps.
    fn next_seq(&mut self, last: u64) -> u64 {
        match self.rng.below(20) {
            0 => last,
            1 => last.saturating_sub(self.rng.below(5)),
            2 => last + 2 + self.rng.below(5),
            _ => last + 1,
        }
    }

    /// A timestamp that mostly advances by up to an hour, sometimes steps back or jumps.
    fn next_ts(&mut self, last: u64) -> u64 {
        match self.rng.below(20) {
            0 => last.saturating_sub(self.rng.below(1 << 40)),
            1 => self.time_ns(),
            2 => last.saturating_add(self.rng.below(1 << 50)),
            _ => last.saturating_add(self.rng.below(3_600_000_000_000)),
        }
    }

    /// Damages one command's events.
    fn damage(&mut self, events: &mut Vec<Event>, carried: &mut Vec<Event>) {
        events.append(carried);
        for _ in 0..self.rng.below(3) {
            if events.is_empty() {
                events.push(self.event());
                continue;
            }
            let index = self.rng.below(events.len() as u64) as usize;
            match self.rng.below(6) {
                0 => {
                    events.remove(index);
                }
                1 => events.insert(index, events[index]),
                2 => {
                    let other = self.rng.below(events.len() as u64) as usize;
                    events.swap(index, other);
                }
                3 => carried.push(events.remove(index)),
                4 => events.insert(index, self.event()),
                _ => self.change_a_field(&mut events[index]),
            }
        }
    }

    fn change_a_field(&mut self, event: &mut Event) {
        let extreme = self.rng.pick(&PRICES);
        match &mut event.body {
            EventBody::OrderAccepted(accepted) => accepted.qty = extreme,
            EventBody::Trade(trade) => match self.rng.below(3) {
                0 => trade.maker_remaining = extreme,
                1 => trade.taker_remaining = extreme,
                _ => trade.maker_order_id = trade.taker_order_id,
            },
            EventBody::OrderCancelled(cancelled) => cancelled.order_id = cancelled.order_id.wrapping_add(1),
            EventBody::OrderAmended(amended) => amended.new_qty = extreme,
            EventBody::BalanceChanged(change) => change.available_after = extreme,
            EventBody::StopTriggered(triggered) => triggered.order_id = triggered.order_id.wrapping_sub(1),
            _ => *event = self.event(),
        }
    }
}

/// Feeds commands and, after each, runs every query and checks the depth clients.
struct Feeder {
    projections: Projections,
    clients: BTreeMap<SymbolId, DepthClient>,
    rng: Rng,
}

impl Feeder {
    fn new(seed: u64, config: ProjectionConfig) -> Feeder {
        let mut clients: BTreeMap<SymbolId, DepthClient> = BTreeMap::new();
        for symbol in (0..SYMBOLS).chain([u32::MAX]) {
            clients.insert(symbol, DepthClient::subscribe(symbol));
        }
        Feeder { projections: Projections::new(config), clients, rng: Rng::new(seed) }
    }

    fn feed(&mut self, seq: u64, ts_ns: u64, events: &[Event]) {
        let changes = self.projections.apply(seq, ts_ns, events);
        self.follow_diffs(&changes);
        self.run_queries();
    }

    /// Diffs go to the client of their symbol, which takes its snapshot as soon as the
    /// book exists; every synced client must hold its book's snapshot.
    fn follow_diffs(&mut self, changes: &Changes) {
        let depth = self.projections.depth();
        for diff in &changes.depth {
            let client = self.clients.entry(diff.symbol).or_insert_with(|| DepthClient::subscribe(diff.symbol));
            client.on_diff(diff).expect("diffs stay continuous");
        }
        for (symbol, client) in &mut self.clients {
            let Some(snapshot) = depth.snapshot(*symbol, usize::MAX) else { continue };
            if !client.is_synced() {
                client.on_snapshot(&snapshot).expect("the buffer covers the snapshot");
            }
            assert_eq!(client.view(), Some(snapshot));
        }
    }

    fn run_queries(&mut self) {
        let symbols: Vec<SymbolId> = (0..SYMBOLS).chain([u32::MAX]).collect();
        let times = [i64::MIN, -1, 0, 1_700_000_000_000, i64::MAX];
        for symbol in symbols {
            let limit = self.rng.pick(&[0, 1, 3, usize::MAX]);
            let depth = self.projections.depth();
            let _ = (depth.snapshot(symbol, limit), depth.best_prices(symbol), depth.last_update_id(symbol));
            let _ = self.projections.ticker(symbol, self.rng.pick(&times));
            let _ = self.projections.tickers().ticker(symbol, self.rng.pick(&times), depth);
            let _ = self.projections.trades().recent(symbol, limit);
            for interval in Interval::ALL {
                let (start, end) = (self.optional_time(&times), self.optional_time(&times));
                let _ = self.projections.klines().klines(symbol, interval, start, end, limit);
                let _ = self.projections.klines().open_kline(symbol, interval);
                let time = self.rng.pick(&times);
                let _ = (interval.open_time_ms(time), interval.close_time_ms(time));
            }
        }
        let accounts = self.projections.accounts();
        for account in (0..ACCOUNTS).chain([u32::MAX]) {
            let _ = (accounts.account(account), accounts.balances(account), accounts.balance(account, 0));
            let _ = (accounts.open_orders(account, None), accounts.open_orders(account, Some(0)));
            for order_id in 0..=ORDER_IDS {
                let _ = accounts.order(account, order_id);
            }
        }
        let registry = self.projections.registry();
        let _ = (registry.assets().count(), registry.symbols().count(), registry.symbol(0), registry.asset(0));
    }

    fn optional_time(&mut self, times: &[i64]) -> Option<i64> {
        self.rng.chance(70).then(|| self.rng.pick(times))
    }
}

#[test]
fn made_up_events_never_panic() {
    for seed in 0..20 {
        let mut garbler = Garbler { rng: Rng::new(seed) };
        let mut feeder =
            Feeder::new(seed, ProjectionConfig { kline_history: 3, recent_trades: 2, ..Default::default() });
        let (mut seq, mut ts_ns) = (0, 1_700_000_000_000_000_000);
        for _ in 0..2_000 {
            (seq, ts_ns) = (garbler.next_seq(seq), garbler.next_ts(ts_ns));
            let events: Vec<Event> = (0..garbler.rng.below(10)).map(|_| garbler.event()).collect();
            feeder.feed(seq, ts_ns, &events);
        }
        let _ = feeder.projections.close_elapsed_klines(u64::MAX);
        feeder.run_queries();
    }
}

#[test]
fn damaged_real_streams_never_panic() {
    for seed in 0..6 {
        let mut garbler = Garbler { rng: Rng::new(seed ^ 0xdead) };
        let mut flow = FlowGenerator::new(seed, FlowConfig::default());
        let mut engine = Engine::new(flow.engine_config());
        let config = ProjectionConfig { kline_history: 5, closed_orders_per_account: 3, ..Default::default() };
        let mut feeder = Feeder::new(seed, config);
        let (mut events, mut carried) = (Vec::new(), Vec::new());
        let setup = flow.setup();
        for index in 0..4_000 {
            let envelope = setup.get(index).copied().unwrap_or_else(|| flow.next_command());
            events.clear();
            engine.apply(&envelope, &mut events);
            flow.observe(&events);
            let mut damaged = events.clone();
            if garbler.rng.chance(30) {
                garbler.damage(&mut damaged, &mut carried);
            }
            let seq = if garbler.rng.chance(3) { garbler.next_seq(envelope.seq) } else { envelope.seq };
            let ts_ns = if garbler.rng.chance(3) { garbler.next_ts(envelope.ts_ns) } else { envelope.ts_ns };
            feeder.feed(seq, ts_ns, &damaged);
        }
    }
}

#[test]
fn extreme_sequences_and_times_never_panic() {
    let mut garbler = Garbler { rng: Rng::new(99) };
    let mut feeder = Feeder::new(99, ProjectionConfig { ticker_bucket_ms: 1, kline_history: 0, ..Default::default() });
    for (seq, ts_ns) in [(1, 0), (2, u64::MAX), (3, 0), (u64::MAX - 1, u64::MAX), (u64::MAX, 1), (u64::MAX, u64::MAX)] {
        let events: Vec<Event> = (0..50).map(|_| garbler.event()).collect();
        feeder.feed(seq, ts_ns, &events);
    }
    assert_eq!(feeder.projections.last_seq(), u64::MAX);
    let _ = feeder.projections.close_elapsed_klines(u64::MAX);
    feeder.run_queries();
}
