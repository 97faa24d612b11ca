//! A test harness around the fast engine: it sequences and stamps commands, keeps each
//! command's events, tallies credits and debits from those events, and checks every
//! invariant after every command.

use std::collections::BTreeMap;

use crate::command::*;
use crate::event::*;
use crate::types::*;
use crate::{Engine, EngineConfig, RejectReason};

pub const BTC: AssetId = 0;
pub const USDT: AssetId = 1;
pub const ETH: AssetId = 2;
pub const BTC_USDT: SymbolId = 0;
/// 0.01 USDT per BTC, with USDT at 8 decimals.
pub const TICK: i64 = 1_000_000;
/// 0.00001 BTC.
pub const LOT: i64 = 1_000;
/// One whole unit of an 8-decimal asset.
pub const UNIT: i64 = 100_000_000;

/// A price in whole USDT per BTC, in engine units.
pub fn usdt(whole: i64) -> i64 {
    whole * UNIT
}

pub fn btc_usdt_spec() -> SymbolSpec {
    SymbolSpec {
        symbol: BTC_USDT,
        base: BTC,
        quote: USDT,
        tick_size: TICK,
        lot_size: LOT,
        min_qty: 10 * LOT,
        max_qty: 1_000 * UNIT,
        min_notional: usdt(10),
        price_band_bps: 1_000,
        reference_price: usdt(50_000),
        maker_fee_bps: 10,
        taker_fee_bps: 20,
    }
}

/// A GTC limit order with no extras.
pub fn limit(account: AccountId, side: Side, price: i64, qty: i64) -> NewOrder {
    NewOrder::limit(account, BTC_USDT, side, price, qty)
}

pub struct Harness {
    pub engine: Engine,
    pub seq: u64,
    pub now_ns: u64,
    pub net_deposits: BTreeMap<AssetId, i64>,
    /// The events of the last command.
    pub events: Vec<Event>,
}

impl Harness {
    pub fn new(config: EngineConfig) -> Self {
        Harness {
            engine: Engine::new(config),
            seq: 0,
            now_ns: 1_000,
            net_deposits: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    /// BTC, USDT and ETH, the BTC-USDT symbol and `accounts` funded accounts (ids 1..=n)
    /// holding 10 BTC and 1,000,000 USDT each.
    pub fn with_market(accounts: u32) -> Self {
        Self::with_market_config(accounts, Self::market_config())
    }

    pub fn market_config() -> EngineConfig {
        EngineConfig { max_accounts: 1_000, max_symbols: 8, max_orders: 4_096, ..EngineConfig::default() }
    }

    pub fn with_market_config(accounts: u32, config: EngineConfig) -> Self {
        let mut harness = Harness::new(config);
        for asset in [BTC, USDT, ETH] {
            harness.ok(Command::AddAsset(AddAsset { asset, scale: 8 }));
        }
        harness.ok(Command::AddSymbol(btc_usdt_spec()));
        for account in 1..=accounts {
            harness.ok(Command::CreateAccount { account, fee_tier: 0 });
            harness.deposit(account, BTC, 10 * UNIT);
            harness.deposit(account, USDT, usdt(1_000_000));
        }
        harness
    }

    /// Applies a command at the next sequence, then checks every invariant.
    pub fn apply(&mut self, command: Command) -> &[Event] {
        self.seq += 1;
        self.now_ns += 1_000;
        self.apply_envelope(CommandEnvelope { seq: self.seq, ts_ns: self.now_ns, command })
    }

    pub fn apply_envelope(&mut self, envelope: CommandEnvelope) -> &[Event] {
        self.events.clear();
        self.engine.apply(&envelope, &mut self.events);
        self.tally_deposits();
        if let Err(broken) = self.engine.check_invariants(&self.net_deposits) {
            panic!("invariant broken after {envelope:?}: {broken}\nevents: {:#?}", self.events);
        }
        &self.events
    }

    fn tally_deposits(&mut self) {
        for event in &self.events {
            if let EventBody::BalanceChanged(change) = event.body {
                if matches!(change.cause, BalanceCause::Deposit | BalanceCause::Withdrawal) {
                    *self.net_deposits.entry(change.asset).or_default() +=
                        change.available_after - change.available_before;
                }
            }
        }
    }

    /// Applies a command that must not be rejected.
    pub fn ok(&mut self, command: Command) -> &[Event] {
        self.apply(command);
        if let Some(reason) = self.rejection() {
            panic!("{command:?} rejected: {reason:?}");
        }
        &self.events
    }

    /// The reject reason of the last command, if it was refused.
    pub fn rejection(&self) -> Option<RejectReason> {
        self.events.iter().find_map(|event| match event.body {
            EventBody::Rejected(rejected) => Some(rejected.reason),
            _ => None,
        })
    }

    pub fn deposit(&mut self, account: AccountId, asset: AssetId, amount: i64) {
        let ref_id = self.seq + 1_000_000;
        self.ok(Command::AdjustBalance(AdjustBalance { account, asset, amount, ref_id }));
    }

    /// Places an order and returns its id (0 if it was rejected).
    pub fn place(&mut self, order: NewOrder) -> OrderId {
        self.apply(Command::NewOrder(order));
        self.events
            .iter()
            .find_map(|event| match event.body {
                EventBody::OrderAccepted(accepted) => Some(accepted.order_id),
                _ => None,
            })
            .unwrap_or(0)
    }

    pub fn trades(&self) -> Vec<Trade> {
        self.events
            .iter()
            .filter_map(|event| match event.body {
                EventBody::Trade(trade) => Some(trade),
                _ => None,
            })
            .collect()
    }

    pub fn cancels(&self) -> Vec<OrderCancelled> {
        self.events
            .iter()
            .filter_map(|event| match event.body {
                EventBody::OrderCancelled(cancelled) => Some(cancelled),
                _ => None,
            })
            .collect()
    }

    pub fn balance(&self, account: AccountId, asset: AssetId) -> (i64, i64) {
        self.engine.balance(account, asset)
    }
}
