//! Workloads: profiles A–D generated through the reference engine, so every cancel and
//! amend names a live order and the expected results come from the obviously-correct
//! model; and the op file that stores them.

use std::collections::HashMap;

use cex_engine::testkit::flow::Rng;
use cex_engine::testkit::reference::ReferenceEngine;
use cex_engine::{CommandEnvelope, Event, EventBody, RejectReason, SymbolId};

use crate::market;
use crate::op::{Op, OpKind, OpSide};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// exchange-core's single pair: 1,000-order prefill, then 9% GTC, 3% IOC, 6% cancel,
    /// 82% price amend; 2,000 accounts.
    A,
    /// A QuantCup-style feed of 35,000 messages, half of whose cancels name unknown orders,
    /// replayed until the op count is reached.
    B,
    /// A deep book: 1,000,000 resting orders, then 70% new, 20% cancel, 10% aggressive.
    C,
    /// 10,000 symbols with Pareto-distributed activity; 100,000 accounts.
    D,
}

impl Profile {
    pub fn parse(text: &str) -> Option<Profile> {
        match text.to_ascii_uppercase().as_str() {
            "A" => Some(Profile::A),
            "B" => Some(Profile::B),
            "C" => Some(Profile::C),
            "D" => Some(Profile::D),
            _ => None,
        }
    }

    pub fn letter(self) -> char {
        match self {
            Profile::A => 'A',
            Profile::B => 'B',
            Profile::C => 'C',
            Profile::D => 'D',
        }
    }

    pub const DEFAULT_OPS: u64 = 1_000_000;

    fn shape(self) -> Shape {
        match self {
            Profile::A => Shape { symbols: 1, accounts: 2_000, prefill: 1_000 },
            Profile::B => Shape { symbols: 1, accounts: 100, prefill: 0 },
            Profile::C => Shape { symbols: 1, accounts: 10_000, prefill: 1_000_000 },
            Profile::D => Shape { symbols: 10_000, accounts: 100_000, prefill: 100_000 },
        }
    }
}

struct Shape {
    symbols: u32,
    accounts: u32,
    prefill: u64,
}

/// QuantCup's feed length.
const QUANTCUP_FEED_OPS: u64 = 35_000;

/// What every engine must reproduce after prefill and ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expected {
    pub trades: u64,
    pub volume_lots: u64,
    pub depth_hash: u64,
    /// The reference engine's full state hash; only our engine with risk can match it.
    pub state_hash: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub profile: Profile,
    pub symbols: u32,
    pub accounts: u32,
    /// Open orders the engines must have room for.
    pub max_live_orders: u32,
    /// Untimed ops that build the starting book.
    pub prefill: Vec<Op>,
    /// The timed ops.
    pub ops: Vec<Op>,
    /// How many times prefill + ops run, each on a fresh engine.
    pub replays: u32,
    /// Per replay.
    pub expected: Expected,
}

impl Workload {
    pub fn generate(profile: Profile, ops: u64, seed: u64) -> Workload {
        let shape = profile.shape();
        let (feed_ops, replays) = match profile {
            Profile::B => (QUANTCUP_FEED_OPS.min(ops.max(1)), ops.div_ceil(QUANTCUP_FEED_OPS).max(1) as u32),
            _ => (ops, 1),
        };
        let mut generator = Generator::new(profile, &shape, seed);
        let prefill = (0..shape.prefill).map(|_| generator.prefill_op()).collect();
        let timed = (0..feed_ops).map(|_| generator.next_op()).collect();
        Workload {
            profile,
            symbols: shape.symbols,
            accounts: shape.accounts,
            max_live_orders: generator.max_live as u32 + 1_024,
            prefill,
            ops: timed,
            replays,
            expected: generator.expected(),
        }
    }

    pub fn total_timed_ops(&self) -> u64 {
        self.ops.len() as u64 * self.replays as u64
    }
}

/// An order resting in the book, as the generator tracks it from the reference's events.
#[derive(Clone, Copy)]
struct LiveOrder {
    id: u64,
    account: u32,
    symbol: u32,
    side: OpSide,
    price_ticks: i64,
    qty_lots: i64,
}

/// Live orders with O(1) random pick and removal.
#[derive(Default)]
struct LiveOrders {
    orders: Vec<LiveOrder>,
    index: HashMap<u64, usize>,
}

impl LiveOrders {
    fn insert(&mut self, order: LiveOrder) {
        self.index.insert(order.id, self.orders.len());
        self.orders.push(order);
    }

    fn remove(&mut self, id: u64) {
        if let Some(position) = self.index.remove(&id) {
            self.orders.swap_remove(position);
            if let Some(moved) = self.orders.get(position) {
                self.index.insert(moved.id, position);
            }
        }
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut LiveOrder> {
        self.index.get(&id).map(|position| &mut self.orders[*position])
    }
}

struct Generator {
    profile: Profile,
    rng: Rng,
    reference: ReferenceEngine,
    events: Vec<Event>,
    engine_seq: u64,
    op_seq: u64,
    symbols: u32,
    accounts: u32,
    mids: Vec<i64>,
    live: LiveOrders,
    max_live: usize,
    target_live: usize,
    dead_ids: Vec<u64>,
    trades: u64,
    volume_lots: u64,
}

impl Generator {
    fn new(profile: Profile, shape: &Shape, seed: u64) -> Generator {
        let capacity = (shape.prefill as u32).max(1_000) * 3 + 1_000_000;
        let config = market::engine_config(shape.symbols, shape.accounts, capacity, false);
        let mut generator = Generator {
            profile,
            rng: Rng::new(seed),
            reference: ReferenceEngine::new(config),
            events: Vec::new(),
            engine_seq: 0,
            op_seq: 0,
            symbols: shape.symbols,
            accounts: shape.accounts,
            mids: vec![market::MID_TICKS; shape.symbols as usize],
            live: LiveOrders::default(),
            max_live: 0,
            target_live: (shape.prefill as usize).max(1_000),
            dead_ids: Vec::new(),
            trades: 0,
            volume_lots: 0,
        };
        for command in market::setup_commands(shape.symbols, shape.accounts) {
            generator.engine_seq += 1;
            let envelope = CommandEnvelope { seq: generator.engine_seq, ts_ns: generator.engine_seq, command };
            generator.events.clear();
            generator.reference.apply(&envelope, &mut generator.events);
            assert!(!generator.events.iter().any(|e| matches!(e.body, EventBody::Rejected(_))), "setup rejected");
        }
        generator
    }

    fn expected(&self) -> Expected {
        Expected {
            trades: self.trades,
            volume_lots: self.volume_lots,
            depth_hash: crate::ours::depth_hash(self.symbols, |symbol, side| self.reference.depth(symbol, side)),
            state_hash: self.reference.state_hash(),
        }
    }

    /// A passive order that builds the starting book.
    fn prefill_op(&mut self) -> Op {
        let symbol = self.pick_symbol();
        let side = self.random_side();
        let spread = if self.profile == Profile::C { 5_000 } else { 50 };
        let price = self.passive_price(symbol, side, spread);
        let op = self.new_order(OpKind::Gtc, symbol, side, price);
        self.run(op)
    }

    fn next_op(&mut self) -> Op {
        let op = match self.profile {
            Profile::A | Profile::D => self.exchange_core_op(),
            Profile::B => self.quantcup_op(),
            Profile::C => self.deep_book_op(),
        };
        self.run(op)
    }

    /// 9% GTC, 3% IOC, 6% cancel, 82% price amend, steered to keep the book near its size.
    fn exchange_core_op(&mut self) -> Op {
        let roll = self.rng.below(100);
        let symbol = self.pick_symbol();
        let crowded = self.live.orders.len() > self.target_live * 3 / 2;
        let sparse = self.live.orders.len() < self.target_live / 2;
        if self.live.orders.is_empty() || (roll < 9 && !crowded) || (sparse && roll < 18) {
            let side = self.random_side();
            let price = self.maybe_crossing_price(symbol, side, 50, 20);
            return self.new_order(OpKind::Gtc, symbol, side, price);
        }
        if roll < 12 {
            let side = self.random_side();
            let price = self.crossing_price(symbol, side);
            return self.new_order(OpKind::Ioc, symbol, side, price);
        }
        let target = self.random_live();
        if roll < 18 {
            return self.cancel(target);
        }
        let mut price = self.maybe_crossing_price(target.symbol, target.side, 50, 5);
        if price == target.price_ticks {
            price += if target.side == OpSide::Buy { -1 } else { 1 };
        }
        self.amend(target, price.max(1))
    }

    /// QuantCup: mostly limit orders that often cross; cancels, half of them of unknown ids.
    fn quantcup_op(&mut self) -> Op {
        let roll = self.rng.below(100);
        let symbol = 0;
        if roll < 80 || self.live.orders.is_empty() {
            let side = self.random_side();
            let price = self.maybe_crossing_price(symbol, side, 20, 30);
            return self.new_order(OpKind::Gtc, symbol, side, price);
        }
        if roll < 90 {
            let target = self.random_live();
            return self.cancel(target);
        }
        let unknown = match self.dead_ids.len() {
            0 => u64::MAX - self.rng.below(1_000_000),
            n => self.dead_ids[self.rng.below(n as u64) as usize],
        };
        let account = self.rng.below(self.accounts as u64) as u32;
        Op { kind: OpKind::Cancel, target_order_id: unknown, account, ..self.blank_op(symbol) }
    }

    /// 70% new passive orders, 20% cancels, 10% aggressive IOCs.
    fn deep_book_op(&mut self) -> Op {
        let roll = self.rng.below(100);
        let symbol = 0;
        if roll < 70 || self.live.orders.is_empty() {
            let side = self.random_side();
            let price = self.passive_price(symbol, side, 5_000);
            return self.new_order(OpKind::Gtc, symbol, side, price);
        }
        if roll < 90 {
            let target = self.random_live();
            return self.cancel(target);
        }
        let side = self.random_side();
        let price = self.crossing_price(symbol, side);
        self.new_order(OpKind::Ioc, symbol, side, price)
    }

    fn blank_op(&self, symbol: u32) -> Op {
        Op {
            kind: OpKind::Gtc,
            side: OpSide::Buy,
            seq: 0,
            order_id: 0,
            target_order_id: 0,
            account: 0,
            symbol,
            price_ticks: 0,
            qty_lots: 0,
        }
    }

    fn new_order(&mut self, kind: OpKind, symbol: u32, side: OpSide, price_ticks: i64) -> Op {
        let account = self.rng.below(self.accounts as u64) as u32;
        let qty_lots = 1 + self.rng.below(100) as i64;
        Op { kind, side, account, price_ticks, qty_lots, ..self.blank_op(symbol) }
    }

    fn cancel(&self, target: LiveOrder) -> Op {
        Op {
            kind: OpKind::Cancel,
            target_order_id: target.id,
            account: target.account,
            side: target.side,
            ..self.blank_op(target.symbol)
        }
    }

    fn amend(&self, target: LiveOrder, price_ticks: i64) -> Op {
        Op {
            kind: OpKind::Amend,
            target_order_id: target.id,
            account: target.account,
            side: target.side,
            price_ticks,
            qty_lots: target.qty_lots,
            ..self.blank_op(target.symbol)
        }
    }

    fn random_side(&mut self) -> OpSide {
        if self.rng.below(2) == 0 {
            OpSide::Buy
        } else {
            OpSide::Sell
        }
    }

    fn random_live(&mut self) -> LiveOrder {
        let index = self.rng.below(self.live.orders.len() as u64) as usize;
        self.live.orders[index]
    }

    /// Pareto-distributed activity for many symbols: a few are busy, most are quiet.
    fn pick_symbol(&mut self) -> u32 {
        if self.symbols == 1 {
            return 0;
        }
        let uniform = (self.rng.below(1 << 52) as f64 + 1.0) / (1u64 << 52) as f64;
        let pareto = uniform.powf(-1.0 / 1.16);
        (((pareto - 1.0) * 10.0) as u64).min(self.symbols as u64 - 1) as u32
    }

    /// A price on the order's own side of the mid, 1..=spread ticks away.
    fn passive_price(&mut self, symbol: u32, side: OpSide, spread: u64) -> i64 {
        let offset = 1 + self.rng.below(spread) as i64;
        let mid = self.mids[symbol as usize];
        match side {
            OpSide::Buy => mid - offset,
            OpSide::Sell => mid + offset,
        }
    }

    /// Passive, except `crossing_pct` percent of the time.
    fn maybe_crossing_price(&mut self, symbol: u32, side: OpSide, spread: u64, crossing_pct: u64) -> i64 {
        if self.rng.below(100) < crossing_pct {
            return self.crossing_price(symbol, side);
        }
        self.passive_price(symbol, side, spread)
    }

    /// A price a few ticks through the mid, so the order takes liquidity.
    fn crossing_price(&mut self, symbol: u32, side: OpSide) -> i64 {
        let offset = 1 + self.rng.below(10) as i64;
        let mid = self.mids[symbol as usize];
        match side {
            OpSide::Buy => mid + offset,
            OpSide::Sell => mid - offset,
        }
    }

    /// Applies the op to the reference engine and learns from its events.
    fn run(&mut self, mut op: Op) -> Op {
        self.op_seq += 1;
        self.engine_seq += 1;
        op.seq = self.op_seq;
        let envelope = CommandEnvelope { seq: self.engine_seq, ts_ns: self.engine_seq, command: market::command(&op) };
        self.events.clear();
        self.reference.apply(&envelope, &mut self.events);
        for index in 0..self.events.len() {
            let event = self.events[index];
            self.observe(&mut op, event.body);
        }
        self.max_live = self.max_live.max(self.live.orders.len());
        self.drift_mid(op.symbol);
        op
    }

    fn observe(&mut self, op: &mut Op, body: EventBody) {
        match body {
            EventBody::OrderAccepted(accepted) => {
                op.order_id = accepted.order_id;
                self.live.insert(LiveOrder {
                    id: accepted.order_id,
                    account: op.account,
                    symbol: op.symbol,
                    side: op.side,
                    price_ticks: op.price_ticks,
                    qty_lots: op.qty_lots,
                });
            }
            EventBody::Trade(trade) => {
                self.trades += 1;
                self.volume_lots += (trade.qty / market::LOT_SIZE) as u64;
                if trade.maker_remaining == 0 {
                    self.forget(trade.maker_order_id);
                }
                if trade.taker_remaining == 0 {
                    self.forget(trade.taker_order_id);
                }
            }
            EventBody::OrderCancelled(cancelled) => self.forget(cancelled.order_id),
            EventBody::OrderAmended(amended) => {
                if let Some(order) = self.live.get_mut(amended.order_id) {
                    order.price_ticks = amended.new_price / market::TICK_SIZE;
                }
            }
            EventBody::Rejected(rejected) => {
                let expected = op.kind == OpKind::Cancel && rejected.reason == RejectReason::UnknownOrder;
                assert!(expected, "the generator produced a refused op {op:?}: {rejected:?}");
            }
            _ => {}
        }
    }

    fn forget(&mut self, id: u64) {
        self.live.remove(id);
        if self.profile == Profile::B && self.dead_ids.len() < 100_000 {
            self.dead_ids.push(id);
        }
    }

    /// The mid follows the touch, so passive and crossing prices stay meaningful.
    fn drift_mid(&mut self, symbol: SymbolId) {
        if let (Some(bid), Some(ask)) = self.reference.best_ticks(symbol) {
            self.mids[symbol as usize] = (bid + ask) / 2;
        }
    }
}
