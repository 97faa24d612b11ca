//! Our engine (with risk, and matching only) and the naive reference engine, behind the
//! same `BenchEngine` interface as the peers.

use cex_engine::testkit::reference::ReferenceEngine;
use cex_engine::{CommandEnvelope, Engine, Event, EventBody, EventSink, Side};

use crate::market;
use crate::op::{BenchEngine, DepthHasher, Op, RunTotals};

/// Counts trades and traded quantity as events stream out; stores nothing.
#[derive(Default)]
pub struct Tally {
    pub trades: u64,
    pub volume_qty: u64,
}

impl EventSink for Tally {
    #[inline]
    fn emit(&mut self, event: Event) {
        if let EventBody::Trade(trade) = event.body {
            self.trades += 1;
            self.volume_qty += trade.qty as u64;
        }
    }
}

pub struct Ours {
    name: &'static str,
    matching_only: bool,
    max_live_orders: u32,
    engine: Option<Engine>,
    tally: Tally,
    seq: u64,
    symbols: u32,
}

impl Ours {
    pub fn with_risk(max_live_orders: u32) -> Ours {
        Ours::new("cex (risk)", false, max_live_orders)
    }

    pub fn matching_only(max_live_orders: u32) -> Ours {
        Ours::new("cex (matching)", true, max_live_orders)
    }

    fn new(name: &'static str, matching_only: bool, max_live_orders: u32) -> Ours {
        Ours { name, matching_only, max_live_orders, engine: None, tally: Tally::default(), seq: 0, symbols: 0 }
    }

    fn engine(&self) -> &Engine {
        self.engine.as_ref().expect("setup runs first")
    }
}

impl BenchEngine for Ours {
    fn name(&self) -> &'static str {
        self.name
    }

    fn setup(&mut self, symbols: u32, accounts: u32) {
        let config = market::engine_config(symbols, accounts, self.max_live_orders, self.matching_only);
        let mut engine = Engine::new(config);
        let mut ignored = Tally::default();
        self.seq = 0;
        for command in market::setup_commands(symbols, accounts) {
            self.seq += 1;
            engine.apply(&CommandEnvelope { seq: self.seq, ts_ns: self.seq, command }, &mut ignored);
        }
        self.engine = Some(engine);
        self.tally = Tally::default();
        self.symbols = symbols;
    }

    #[inline]
    fn apply(&mut self, op: &Op) {
        self.seq += 1;
        let envelope = CommandEnvelope { seq: self.seq, ts_ns: self.seq, command: market::command(op) };
        let engine = self.engine.as_mut().expect("setup runs first");
        engine.apply(&envelope, &mut self.tally);
    }

    fn totals(&self) -> RunTotals {
        RunTotals { trades: self.tally.trades, volume_lots: self.tally.volume_qty / market::LOT_SIZE as u64 }
    }

    fn depth_hash(&self) -> u64 {
        let engine = self.engine();
        depth_hash(self.symbols, |symbol, side| engine.depth(symbol, side))
    }

    fn state_hash(&self) -> Option<u64> {
        (!self.matching_only).then(|| self.engine().state_hash())
    }
}

/// The naive reference engine: the model everything is generated and checked against.
pub struct Reference {
    max_live_orders: u32,
    engine: Option<ReferenceEngine>,
    events: Vec<Event>,
    totals: RunTotals,
    seq: u64,
    symbols: u32,
}

impl Reference {
    pub fn new(max_live_orders: u32) -> Reference {
        Reference {
            max_live_orders,
            engine: None,
            events: Vec::new(),
            totals: RunTotals::default(),
            seq: 0,
            symbols: 0,
        }
    }
}

impl BenchEngine for Reference {
    fn name(&self) -> &'static str {
        "reference (naive)"
    }

    fn setup(&mut self, symbols: u32, accounts: u32) {
        let config = market::engine_config(symbols, accounts, self.max_live_orders, false);
        let mut engine = ReferenceEngine::new(config);
        self.seq = 0;
        for command in market::setup_commands(symbols, accounts) {
            self.seq += 1;
            self.events.clear();
            engine.apply(&CommandEnvelope { seq: self.seq, ts_ns: self.seq, command }, &mut self.events);
        }
        self.engine = Some(engine);
        self.totals = RunTotals::default();
        self.symbols = symbols;
    }

    fn apply(&mut self, op: &Op) {
        self.seq += 1;
        let envelope = CommandEnvelope { seq: self.seq, ts_ns: self.seq, command: market::command(op) };
        self.events.clear();
        self.engine.as_mut().expect("setup runs first").apply(&envelope, &mut self.events);
        for event in &self.events {
            if let EventBody::Trade(trade) = event.body {
                self.totals.trades += 1;
                self.totals.volume_lots += (trade.qty / market::LOT_SIZE) as u64;
            }
        }
    }

    fn totals(&self) -> RunTotals {
        self.totals
    }

    fn depth_hash(&self) -> u64 {
        let engine = self.engine.as_ref().expect("setup runs first");
        depth_hash(self.symbols, |symbol, side| engine.depth(symbol, side))
    }

    fn state_hash(&self) -> Option<u64> {
        self.engine.as_ref().map(ReferenceEngine::state_hash)
    }
}

/// The depth hash of any engine that can list a side's levels best first.
pub fn depth_hash(symbols: u32, depth: impl Fn(u32, Side) -> Vec<(i64, i64)>) -> u64 {
    let mut hasher = DepthHasher::default();
    for symbol in 0..symbols {
        let (bids, asks) = (depth(symbol, Side::Buy), depth(symbol, Side::Sell));
        if !bids.is_empty() || !asks.is_empty() {
            hasher.symbol(symbol, &bids, &asks);
        }
    }
    hasher.finish()
}
