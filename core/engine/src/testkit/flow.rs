//! Deterministic random order flow, for differential and invariant tests and for benchmarks.
//!
//! A `FlowGenerator` draws from its own PRNG (xoshiro256** seeded through SplitMix64), so a
//! seed gives the same stream on every platform and in every version that leaves this file
//! alone. It emits every command kind, valid and (at `invalid_ratio_pct`) deliberately bad:
//! unknown ids, zero, negative and extreme sizes and prices, off-tick and off-lot values,
//! bad time-in-force combinations, stale expiries, duplicate client order ids and reference
//! ids, invalid tiers and fees, inconsistent symbol specs. The engine must refuse those with
//! a reject and never panic.
//!
//! Cancels, amends and admin cancels mostly target live orders, which the generator learns
//! from the engine's events. The intended loop:
//!
//! ```no_run
//! use cex_engine::testkit::flow::{FlowConfig, FlowGenerator};
//! use cex_engine::Engine;
//!
//! let mut flow = FlowGenerator::new(7, FlowConfig::default());
//! let mut engine = Engine::new(flow.engine_config());
//! let mut events = Vec::new();
//! for command in flow.setup() {
//!     engine.apply(&command, &mut events);
//! }
//! for _ in 0..100_000 {
//!     let command = flow.next_command();
//!     events.clear();
//!     engine.apply(&command, &mut events);
//!     flow.observe(&events);
//! }
//! ```
//!
//! State stays bounded on long runs: IOC, FOK and market orders are common, orders cluster
//! around a per-symbol mid that follows the last trade, GTD orders expire within 200 ms
//! (timestamps advance by 0–2 ms per command), cancels thin out while the book holds fewer
//! than a third of `accounts × max_live_orders_per_account` orders, and an account with
//! `max_live_orders_per_account` live orders cancels instead of placing more. The default
//! flow gives about 30 trades per 100 commands, keeps roughly 140 orders open, and reaches
//! every reject reason but `OutOfSequence` and the capacity ones (`OrderCapacity`,
//! `BookCapacity`, `BalanceCapacity`); `clock_faults_pct` and `tight_capacities` add those.

use std::collections::HashMap;

use crate::command::*;
use crate::config::EngineConfig;
use crate::event::{Event, EventBody, OrderAccepted, OrderAmended, Trade};
use crate::types::*;

/// xoshiro256**, seeded through SplitMix64. Small, fast and fixed forever.
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut splitmix = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng { state: [splitmix(), splitmix(), splitmix(), splitmix()] }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n`, for `n > 0` (multiply-shift; the bias is far below 2^-32).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in `low..=high`.
    pub fn range(&mut self, low: i64, high: i64) -> i64 {
        debug_assert!(low <= high);
        let span = high as i128 - low as i128 + 1;
        let offset = if span > u64::MAX as i128 { self.next_u64() } else { self.below(span as u64) };
        (low as i128 + offset as i128) as i64
    }

    /// True with probability `pct` percent.
    pub fn chance(&mut self, pct: u32) -> bool {
        self.below(100) < pct as u64
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn with probability proportional to its weight; the sum must be > 0.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| *w as u64).sum();
        let mut roll = self.below(total);
        for (index, weight) in weights.iter().enumerate() {
            if roll < *weight as u64 {
                return index;
            }
            roll -= *weight as u64;
        }
        unreachable!("roll is below the total weight")
    }
}

/// Relative frequencies of the command families.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowWeights {
    pub new_order: u32,
    pub cancel: u32,
    pub amend: u32,
    pub cancel_all: u32,
    pub mass_quote: u32,
    pub adjust_balance: u32,
    /// `SetAccountStatus` (reverted to Active soon after) and `SetAccountFeeTier`.
    pub account_admin: u32,
    pub symbol_fees: u32,
    pub admin_cancel: u32,
    /// `SetSymbolStatus`, `SetTierLimits`, `AddAsset`, `AddSymbol`, `CreateAccount`.
    pub refdata: u32,
}

impl Default for FlowWeights {
    fn default() -> Self {
        FlowWeights {
            new_order: 55,
            cancel: 15,
            amend: 12,
            cancel_all: 2,
            mass_quote: 5,
            adjust_balance: 5,
            account_admin: 2,
            symbol_fees: 1,
            admin_cancel: 2,
            refdata: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowConfig {
    /// Traded symbols, each with its own base asset and the shared quote asset 0.
    pub symbols: u32,
    pub accounts: u32,
    /// Share of commands, in percent, that are deliberately invalid.
    pub invalid_ratio_pct: u32,
    /// Halt, suspend and resume traded symbols, and delist a spare symbol kept for it.
    /// When false, no command changes a symbol's status.
    pub refdata_changes: bool,
    /// An account with this many live orders cancels instead of placing more.
    pub max_live_orders_per_account: u32,
    /// Share of order commands, in percent, sent with a wrong sequence (rejected, the
    /// sequence does not advance) or with a timestamp older than the previous one. 0 keeps
    /// sequences gap-free and timestamps non-decreasing.
    pub clock_faults_pct: u32,
    /// `engine_config` leaves little room for price levels, stops, orders and balance
    /// records, so the capacity rejects happen too. Off: every capacity is generous.
    pub tight_capacities: bool,
    pub weights: FlowWeights,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            symbols: 3,
            accounts: 40,
            invalid_ratio_pct: 5,
            refdata_changes: true,
            max_live_orders_per_account: 24,
            clock_faults_pct: 0,
            tight_capacities: false,
            weights: FlowWeights::default(),
        }
    }
}

impl FlowConfig {
    /// Symbols set up: the traded ones plus the spare one to delist.
    pub fn symbol_count(&self) -> u32 {
        self.symbols + self.refdata_changes as u32
    }

    /// Assets set up: the quote asset and one base asset per symbol.
    pub fn assets(&self) -> u16 {
        1 + self.symbol_count() as u16
    }
}

/// The first command's timestamp: November 2023, in nanoseconds.
const START_TS_NS: u64 = 1_700_000_000_000_000_000;
const QUOTE_ASSET: AssetId = 0;
/// The flow's price scale: limit orders rest up to two spreads from the mid or reach up to
/// one spread through it, and stops sit up to one spread from the last price.
const SPREAD_TICKS: i64 = 12;
const TIER_LIMIT_CHOICES: [u32; 4] = [16, 32, 64, 128];
const MAX_TIER_LIMIT: u32 = 128;
/// Tiers accounts start in; `SetAccountFeeTier` reaches the rest.
const START_TIERS: u64 = 4;
/// Ids past the set-up ones: the first half may be created mid-run, the second half never
/// is, so they stay unknown while within capacity.
const SPARE_IDS: u32 = 8;
const FRESH_IDS: u32 = SPARE_IDS / 2;
/// Quote minor units in 1,000 USDT.
const QUOTE_UNIT: i64 = 100_000_000_000;

/// A symbol shape: tick, lot and the base asset's scale give one lot at one tick as a whole
/// number of quote minor units.
struct Template {
    base_scale: u8,
    tick: i64,
    lot: i64,
    min_lots: i64,
    mid_ticks: i64,
}

const TEMPLATES: [Template; 3] = [
    // BTC at 50,000 USDT: tick 0.01 USDT, lot 0.00001 BTC, one lot at one tick = 10 units.
    Template { base_scale: 8, tick: 1_000_000, lot: 1_000, min_lots: 1, mid_ticks: 5_000_000 },
    // ETH at 3,000 USDT: tick 0.0001 USDT, lot 0.0001 ETH, one lot at one tick = 1 unit.
    Template { base_scale: 8, tick: 10_000, lot: 10_000, min_lots: 2, mid_ticks: 30_000_000 },
    // A 9-decimal coin at 150 USDT: tick 0.0001 USDT, lot 0.01, one lot at one tick = 100.
    Template { base_scale: 9, tick: 10_000, lot: 10_000_000, min_lots: 1, mid_ticks: 1_500_000 },
];

/// What the generator knows of one symbol.
#[derive(Debug, Clone, Copy)]
struct Market {
    spec: SymbolSpec,
    base_scale: u8,
    quote_per_tick_lot: i64,
    /// Where new prices cluster: a random walk that jumps to every observed trade.
    mid_ticks: i64,
    /// The last observed trade price, or the reference price; 0 for none.
    last_ticks: i64,
    status: SymbolStatus,
}

impl Market {
    fn tick(&self) -> i64 {
        self.spec.tick_size
    }

    fn lot(&self) -> i64 {
        self.spec.lot_size
    }

    /// Quote minor units one lot costs at the mid.
    fn lot_value(&self) -> i64 {
        self.mid_ticks * self.quote_per_tick_lot
    }

    /// The price stops and bands are judged against.
    fn anchor_ticks(&self) -> i64 {
        if self.last_ticks > 0 {
            self.last_ticks
        } else {
            self.mid_ticks
        }
    }
}

/// An open order, as learned from events.
#[derive(Debug, Clone, Copy)]
struct LiveOrder {
    order_id: OrderId,
    account: AccountId,
    symbol: SymbolId,
    side: Side,
    order_type: OrderType,
    client_order_id: u64,
    price: i64,
    qty: i64,
    /// Base quantity, or the quote budget of a market order by quote amount.
    remaining: i64,
}

pub struct FlowGenerator {
    config: FlowConfig,
    rng: Rng,
    seq: u64,
    now_ns: u64,
    markets: Vec<Market>,
    live: Vec<LiveOrder>,
    /// Position of each live order in `live`; looked up, never iterated, so it cannot
    /// disturb determinism.
    live_slot: HashMap<OrderId, usize>,
    live_per_account: Vec<u32>,
    /// Assets `0..assets_known` exist, fresh ones included.
    assets_known: u16,
    fresh_accounts: u32,
    fresh_symbols: u32,
    next_client_order_id: u64,
    next_ref_id: u64,
    /// Commands to send once the sequence reaches the number: status reverts.
    pending: Vec<(u64, Command)>,
}

impl FlowGenerator {
    pub fn new(seed: u64, config: FlowConfig) -> Self {
        assert!(config.symbols > 0 && config.accounts > 0, "the flow needs a symbol and an account");
        let mut rng = Rng::new(seed);
        let markets =
            (0..config.symbol_count()).map(|symbol| new_market(&mut rng, symbol, symbol >= config.symbols)).collect();
        let mut flow = FlowGenerator {
            assets_known: config.assets(),
            config,
            rng,
            seq: 0,
            now_ns: START_TS_NS,
            markets,
            live: Vec::new(),
            live_slot: HashMap::new(),
            live_per_account: Vec::new(),
            fresh_accounts: 0,
            fresh_symbols: 0,
            next_client_order_id: 1,
            next_ref_id: 1,
            pending: Vec::new(),
        };
        flow.live_per_account = vec![0; flow.engine_config().max_accounts as usize];
        flow
    }

    /// Capacities with room for the whole flow (every account can fill its tier's limit),
    /// unless `tight_capacities` asks for capacity rejects.
    pub fn engine_config(&self) -> EngineConfig {
        let accounts = self.config.accounts + SPARE_IDS;
        let assets = self.config.assets() + SPARE_IDS as u16;
        let orders = accounts.saturating_mul(MAX_TIER_LIMIT);
        let generous = EngineConfig {
            max_accounts: accounts,
            max_assets: assets,
            max_symbols: self.config.symbol_count() + SPARE_IDS,
            max_orders: orders,
            max_balances: accounts.saturating_mul(assets as u32),
            max_levels_per_side: orders.min(8_192),
            max_stops_per_side: orders.min(8_192),
            adjust_dedup_window: 1 << 16,
            default_max_open_orders: TIER_LIMIT_CHOICES[0],
            matching_only: false,
        };
        if !self.config.tight_capacities {
            return generous;
        }
        // Room for the set-up balances and a few more, and for a bit less than the book's
        // usual depth, so each limit is reached now and then.
        let set_up_balances = self.config.accounts * self.config.assets() as u32;
        EngineConfig {
            max_orders: self.target_live() as u32 / 2,
            max_balances: set_up_balances + self.config.accounts / 2,
            max_levels_per_side: 16,
            max_stops_per_side: 8,
            ..generous
        }
    }

    /// The number of live orders the flow aims at: cancels thin out below it.
    fn target_live(&self) -> usize {
        (self.config.accounts * self.config.max_live_orders_per_account / 3).max(1) as usize
    }

    /// Assets, symbols, tier limits and fees, accounts, and deposits of every asset.
    pub fn setup(&mut self) -> Vec<CommandEnvelope> {
        let mut commands = vec![Command::AddAsset(AddAsset { asset: QUOTE_ASSET, scale: 8 })];
        for market in &self.markets {
            commands.push(Command::AddAsset(AddAsset { asset: market.spec.base, scale: market.base_scale }));
        }
        commands.extend(self.markets.iter().map(|market| Command::AddSymbol(market.spec)));
        for tier in 0..MAX_FEE_TIERS as u8 {
            let max_open_orders = TIER_LIMIT_CHOICES[(tier as usize).min(TIER_LIMIT_CHOICES.len() - 1)];
            commands.push(Command::SetTierLimits { tier, max_open_orders });
        }
        commands.extend(self.tier_fees());
        for account in 0..self.config.accounts {
            commands.push(Command::CreateAccount { account, fee_tier: self.rng.below(START_TIERS) as u8 });
        }
        for account in 0..self.config.accounts {
            commands.extend(self.initial_deposits(account));
        }
        commands
            .into_iter()
            .map(|command| {
                self.now_ns += 1_000;
                self.seq += 1;
                CommandEnvelope { seq: self.seq, ts_ns: self.now_ns, command }
            })
            .collect()
    }

    /// Cheaper fees for tiers 1 to 3 on every symbol.
    fn tier_fees(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        for index in 0..self.markets.len() {
            for tier in 1..START_TIERS as u8 {
                let symbol = self.markets[index].spec.symbol;
                let maker_fee_bps = self.rng.range(0, 8) as u16;
                let taker_fee_bps = self.rng.range(1, 20) as u16;
                commands.push(Command::SetSymbolFees(SymbolFees { symbol, tier, maker_fee_bps, taker_fee_bps }));
            }
        }
        commands
    }

    /// One in ten accounts is poor, so it runs into `InsufficientFunds` often.
    fn initial_deposits(&mut self, account: AccountId) -> Vec<Command> {
        let scale_pct = if self.rng.chance(10) { 1 } else { self.rng.range(50, 150) };
        let assets = self.config.assets();
        (0..assets)
            .map(|asset| {
                let amount = self.asset_unit(asset) * 40 * scale_pct / 100;
                Command::AdjustBalance(AdjustBalance { account, asset, amount, ref_id: self.fresh_ref_id() })
            })
            .collect()
    }

    /// A typical deposit of `asset`: 1,000 USDT, or 1,000 lots of a base asset.
    fn asset_unit(&self, asset: AssetId) -> i64 {
        if asset == QUOTE_ASSET {
            return QUOTE_UNIT;
        }
        match self.markets.get(asset as usize - 1) {
            Some(market) => 1_000 * market.lot(),
            None => 100_000_000,
        }
    }

    /// One command. Its sequence follows the previous command's and its timestamp is 0–2 ms
    /// later (unless `clock_faults_pct` says otherwise).
    pub fn next_command(&mut self) -> CommandEnvelope {
        self.now_ns += self.rng.range(0, 2_000_000) as u64;
        let command = match self.take_due() {
            Some(command) => command,
            None => self.random_command(),
        };
        let faultable = matches!(
            command.kind(),
            CommandKind::NewOrder | CommandKind::Cancel | CommandKind::Amend | CommandKind::CancelAll
        );
        if faultable && self.rng.chance(self.config.clock_faults_pct) {
            return self.faulty_envelope(command);
        }
        self.seq += 1;
        CommandEnvelope { seq: self.seq, ts_ns: self.now_ns, command }
    }

    /// A wrong sequence (the engine ignores the command) or a timestamp from the past.
    fn faulty_envelope(&mut self, command: Command) -> CommandEnvelope {
        if self.rng.chance(50) {
            let seq = if self.rng.chance(50) { self.seq } else { self.seq + 2 + self.rng.below(3) };
            return CommandEnvelope { seq, ts_ns: self.now_ns, command };
        }
        self.seq += 1;
        let ts_ns = self.now_ns.saturating_sub(self.rng.range(1, 5_000_000) as u64);
        CommandEnvelope { seq: self.seq, ts_ns, command }
    }

    fn take_due(&mut self) -> Option<Command> {
        let next_seq = self.seq + 1;
        let position = self.pending.iter().position(|(due, _)| *due <= next_seq)?;
        let (_, command) = self.pending.remove(position);
        if let Command::SetSymbolStatus { symbol, status } = command {
            self.markets[symbol as usize].status = status;
        }
        Some(command)
    }

    fn schedule(&mut self, after_min: i64, after_max: i64, command: Command) {
        let due = self.seq + 1 + self.rng.range(after_min, after_max) as u64;
        self.pending.push((due, command));
    }

    fn random_command(&mut self) -> Command {
        let invalid = self.rng.chance(self.config.invalid_ratio_pct);
        let w = self.config.weights;
        let weights = [
            w.new_order,
            w.cancel,
            w.amend,
            w.cancel_all,
            w.mass_quote,
            w.adjust_balance,
            w.account_admin,
            w.symbol_fees,
            w.admin_cancel,
            w.refdata,
        ];
        let mut family = self.rng.weighted(&weights);
        // Cancels thin out while the book is shallower than the target.
        let removes = matches!(family, 1 | 3 | 8);
        let target = self.target_live() as u64;
        if removes && self.rng.chance(75) && self.rng.below(target) >= self.live.len() as u64 {
            family = 0;
        }
        match family {
            0 => self.new_order(invalid),
            1 => self.cancel(invalid),
            2 => self.amend(invalid),
            3 => self.cancel_all(invalid),
            4 => self.mass_quote(invalid),
            5 => self.adjust_balance(invalid),
            6 => self.account_admin(invalid),
            7 => self.symbol_fees(invalid),
            8 => self.admin_cancel(invalid),
            _ => self.refdata(invalid),
        }
    }

    /// Learns live orders and last prices from the events of the command just applied.
    pub fn observe(&mut self, events: &[Event]) {
        for event in events {
            match event.body {
                EventBody::OrderAccepted(accepted) => self.track(&accepted),
                EventBody::OrderCancelled(cancelled) => self.forget(cancelled.order_id),
                EventBody::OrderAmended(amended) => self.amended(&amended),
                EventBody::Trade(trade) => self.traded(&trade),
                _ => {}
            }
        }
    }

    fn track(&mut self, accepted: &OrderAccepted) {
        let by_quote = accepted.order_type == OrderType::MarketByQuote;
        let order = LiveOrder {
            order_id: accepted.order_id,
            account: accepted.account,
            symbol: accepted.symbol,
            side: accepted.side,
            order_type: accepted.order_type,
            client_order_id: accepted.client_order_id,
            price: accepted.price,
            qty: accepted.qty,
            remaining: if by_quote { accepted.quote_qty } else { accepted.qty },
        };
        if self.live_slot.insert(order.order_id, self.live.len()).is_none() {
            self.live.push(order);
            if let Some(count) = self.live_per_account.get_mut(order.account as usize) {
                *count += 1;
            }
        }
    }

    fn forget(&mut self, order_id: OrderId) {
        let Some(slot) = self.live_slot.remove(&order_id) else { return };
        let order = self.live.swap_remove(slot);
        if let Some(moved) = self.live.get(slot) {
            self.live_slot.insert(moved.order_id, slot);
        }
        if let Some(count) = self.live_per_account.get_mut(order.account as usize) {
            *count = count.saturating_sub(1);
        }
    }

    fn amended(&mut self, amended: &OrderAmended) {
        if let Some(&slot) = self.live_slot.get(&amended.order_id) {
            let order = &mut self.live[slot];
            let filled = order.qty - order.remaining;
            order.price = amended.new_price;
            order.qty = amended.new_qty;
            order.remaining = amended.new_qty - filled;
        }
    }

    fn traded(&mut self, trade: &Trade) {
        if let Some(market) = self.markets.get_mut(trade.symbol as usize) {
            market.last_ticks = trade.price / market.tick();
            market.mid_ticks = market.last_ticks;
        }
        self.filled(trade.maker_order_id, trade.maker_remaining);
        self.filled(trade.taker_order_id, trade.taker_remaining);
    }

    fn filled(&mut self, order_id: OrderId, remaining: i64) {
        if remaining == 0 {
            self.forget(order_id);
        } else if let Some(&slot) = self.live_slot.get(&order_id) {
            self.live[slot].remaining = remaining;
        }
    }

    fn random_live(&mut self) -> Option<LiveOrder> {
        if self.live.is_empty() {
            return None;
        }
        Some(self.live[self.rng.below(self.live.len() as u64) as usize])
    }

    /// A random live order of `account` (reservoir sampling over the live list).
    fn live_order_of(&mut self, account: AccountId) -> Option<LiveOrder> {
        let mut chosen = None;
        let mut seen = 0;
        for index in 0..self.live.len() {
            if self.live[index].account == account {
                seen += 1;
                if self.rng.below(seen) == 0 {
                    chosen = Some(self.live[index]);
                }
            }
        }
        chosen
    }

    fn live_count(&self, account: AccountId) -> u32 {
        self.live_per_account.get(account as usize).copied().unwrap_or(0)
    }
}

fn new_market(rng: &mut Rng, symbol: SymbolId, spare: bool) -> Market {
    let template = &TEMPLATES[symbol as usize % TEMPLATES.len()];
    let quote_per_tick_lot = template.tick * template.lot / 10i64.pow(template.base_scale as u32);
    let lot_value = template.mid_ticks * quote_per_tick_lot;
    // The spare symbol starts without a reference price: no band until its first trade.
    let reference_ticks = if spare { 0 } else { template.mid_ticks };
    let spec = SymbolSpec {
        symbol,
        base: symbol as AssetId + 1,
        quote: QUOTE_ASSET,
        tick_size: template.tick,
        lot_size: template.lot,
        min_qty: template.min_lots * template.lot,
        max_qty: 1_000_000 * template.lot,
        min_notional: 4 * lot_value,
        price_band_bps: rng.range(500, 2_000) as u32,
        reference_price: reference_ticks * template.tick,
        maker_fee_bps: rng.range(0, 10) as u16,
        taker_fee_bps: rng.range(5, 30) as u16,
    };
    Market {
        spec,
        base_scale: template.base_scale,
        quote_per_tick_lot,
        mid_ticks: template.mid_ticks,
        last_ticks: reference_ticks,
        status: SymbolStatus::Trading,
    }
}

/// Choosing ids: accounts, symbols, assets, orders, client order ids, reference ids.
impl FlowGenerator {
    /// A trading account; a few busy ones are picked far more often, so they meet their own
    /// orders (self-trade prevention) and their tier's order limit.
    fn trader(&mut self) -> AccountId {
        let busy = self.config.accounts.min(5);
        if self.rng.chance(40) {
            return self.rng.below(busy as u64) as AccountId;
        }
        self.rng.below(self.config.accounts as u64) as AccountId
    }

    /// Never created: past the fresh ids but within capacity, past capacity, or huge.
    fn unknown_account(&mut self) -> AccountId {
        let first_unused = self.config.accounts + FRESH_IDS;
        match self.rng.below(3) {
            0 => first_unused + self.rng.below(FRESH_IDS as u64) as u32,
            1 => self.config.accounts + SPARE_IDS + self.rng.below(1_000) as u32,
            _ => u32::MAX,
        }
    }

    fn unknown_symbol(&mut self) -> SymbolId {
        let first_unused = self.config.symbol_count() + FRESH_IDS;
        match self.rng.below(3) {
            0 => first_unused + self.rng.below(FRESH_IDS as u64) as u32,
            1 => self.config.symbol_count() + SPARE_IDS + self.rng.below(1_000) as u32,
            _ => u32::MAX,
        }
    }

    fn unknown_asset(&mut self) -> AssetId {
        let first_unused = self.config.assets() + FRESH_IDS as u16;
        match self.rng.below(3) {
            0 => first_unused + self.rng.below(FRESH_IDS as u64) as u16,
            1 => self.config.assets() + SPARE_IDS as u16 + self.rng.below(100) as u16,
            _ => u16::MAX,
        }
    }

    /// Far beyond any id the engine hands out.
    fn unknown_order_id(&mut self) -> OrderId {
        if self.rng.chance(50) {
            (1 << 40) + self.rng.below(1 << 20)
        } else {
            u64::MAX - self.rng.below(16)
        }
    }

    /// A symbol still in use: every one but a delisted spare.
    fn market_index(&mut self) -> usize {
        let usable = |market: &&Market| market.status != SymbolStatus::Delisted;
        let count = self.markets.iter().filter(usable).count();
        let nth = self.rng.below(count as u64) as usize;
        let mut indices = self.markets.iter().enumerate().filter(|(_, market)| usable(market));
        indices.nth(nth).map_or(0, |(index, _)| index)
    }

    /// The market of a live order's symbol.
    fn market_of(&self, symbol: SymbolId) -> Market {
        self.markets.get(symbol as usize).copied().unwrap_or(self.markets[0])
    }

    /// Mostly fresh and unique, sometimes none.
    fn client_order_id(&mut self) -> u64 {
        if self.rng.chance(30) {
            return 0;
        }
        self.next_client_order_id += 1;
        self.next_client_order_id - 1
    }

    fn fresh_ref_id(&mut self) -> u64 {
        self.next_ref_id += 1;
        self.next_ref_id - 1
    }

    /// The order id, or (sometimes) the client order id with order id 0.
    fn target_ids(&mut self, order: &LiveOrder) -> (OrderId, u64) {
        if order.client_order_id != 0 && self.rng.chance(35) {
            (0, order.client_order_id)
        } else {
            (order.order_id, 0)
        }
    }

    /// Some other trading account than `account`.
    fn other_account(&mut self, account: AccountId) -> AccountId {
        let accounts = self.config.accounts.max(2);
        (account + 1 + self.rng.below(accounts as u64 - 1) as u32) % accounts
    }
}

/// New orders.
impl FlowGenerator {
    fn new_order(&mut self, invalid: bool) -> Command {
        let account = self.trader();
        if !invalid && self.live_count(account) >= self.config.max_live_orders_per_account {
            return self.relieve(account);
        }
        let index = self.market_index();
        // The mid random-walks between trades, which reset it to the trade price.
        let step = self.rng.range(-2, 2);
        let market = &mut self.markets[index];
        market.mid_ticks = (market.mid_ticks + step).max(4 * SPREAD_TICKS);
        let market = self.markets[index];
        let mut order = self.valid_order(account, &market);
        if invalid {
            self.spoil_order(&mut order, &market);
        }
        Command::NewOrder(order)
    }

    /// An account at its live-order cap cancels one order, or all on a symbol.
    fn relieve(&mut self, account: AccountId) -> Command {
        if self.rng.chance(20) {
            let index = self.market_index();
            let symbol = Some(self.markets[index].spec.symbol).filter(|_| self.rng.chance(50));
            return Command::CancelAll(CancelAll { account, symbol, side: None });
        }
        match self.live_order_of(account) {
            Some(order) => {
                let (order_id, client_order_id) = self.target_ids(&order);
                Command::Cancel(Cancel { account, order_id, client_order_id })
            }
            None => Command::CancelAll(CancelAll { account, symbol: None, side: None }),
        }
    }

    fn valid_order(&mut self, account: AccountId, market: &Market) -> NewOrder {
        let side = if self.rng.chance(50) { Side::Buy } else { Side::Sell };
        let order_type = self.order_type(side);
        let time_in_force = self.time_in_force(order_type);
        let gtd = time_in_force == TimeInForce::Gtd;
        let mut order = NewOrder {
            account,
            symbol: market.spec.symbol,
            client_order_id: self.client_order_id(),
            side,
            order_type,
            time_in_force,
            price: 0,
            qty: self.order_lots() * market.lot(),
            quote_qty: 0,
            stop_price: 0,
            expire_ts_ns: if gtd { self.now_ns + self.rng.range(1, 200) as u64 * 1_000_000 } else { 0 },
            post_only: false,
            stp: self.stp(),
        };
        self.price_order(&mut order, market);
        let resting = matches!(time_in_force, TimeInForce::Gtc | TimeInForce::Gtd);
        order.post_only = order_type == OrderType::Limit && resting && self.rng.chance(12);
        order
    }

    fn order_type(&mut self, side: Side) -> OrderType {
        match self.rng.below(100) {
            0..=69 => OrderType::Limit,
            70..=76 => OrderType::MarketByQty,
            77..=82 if side == Side::Buy => OrderType::MarketByQuote,
            77..=82 => OrderType::MarketByQty,
            83..=91 => OrderType::StopLimit,
            _ => OrderType::StopMarket,
        }
    }

    fn time_in_force(&mut self, order_type: OrderType) -> TimeInForce {
        match order_type {
            OrderType::Limit | OrderType::StopLimit => {
                let all = [TimeInForce::Gtc, TimeInForce::Ioc, TimeInForce::Fok, TimeInForce::Gtd];
                all[self.rng.weighted(&[50, 20, 8, 22])]
            }
            OrderType::MarketByQty if self.rng.chance(30) => TimeInForce::Fok,
            _ => TimeInForce::Ioc,
        }
    }

    fn stp(&mut self) -> SelfTradePrevention {
        let all = SelfTradePrevention::ALL;
        all[self.rng.weighted(&[55, 15, 15, 15])]
    }

    /// Mostly 5–150 lots; a few tiny ones (below the minimum notional) and a few whales
    /// (usually beyond the account's funds).
    fn order_lots(&mut self) -> i64 {
        match self.rng.below(100) {
            0..=4 => self.rng.range(1, 4),
            5..=7 => self.rng.range(200_000, 1_000_000),
            _ => self.rng.range(5, 150),
        }
    }

    /// Mostly passive, up to two spreads away from the mid, so the book has depth; else up
    /// to a spread through the mid, so it trades.
    fn limit_ticks(&mut self, market: &Market, side: Side) -> i64 {
        let through =
            if self.rng.chance(85) { -self.rng.range(0, 2 * SPREAD_TICKS) } else { self.rng.range(1, SPREAD_TICKS) };
        let ticks = if side == Side::Buy { market.mid_ticks + through } else { market.mid_ticks - through };
        ticks.max(1)
    }

    /// A stop the last price has not reached yet: above it for a buy, below for a sell.
    fn stop_ticks(&mut self, market: &Market, side: Side) -> i64 {
        let distance = self.rng.range(1, SPREAD_TICKS);
        match side {
            Side::Buy => market.anchor_ticks() + distance,
            Side::Sell => (market.anchor_ticks() - distance).max(1),
        }
    }

    fn price_order(&mut self, order: &mut NewOrder, market: &Market) {
        let tick = market.tick();
        match order.order_type {
            OrderType::Limit => order.price = self.limit_ticks(market, order.side) * tick,
            OrderType::MarketByQty => {}
            OrderType::MarketByQuote => {
                order.quote_qty = self.order_lots() * market.lot_value();
                order.qty = 0;
            }
            OrderType::StopLimit => {
                let stop = self.stop_ticks(market, order.side);
                let slack = self.rng.range(0, SPREAD_TICKS);
                let limit = if order.side == Side::Buy { stop + slack } else { stop - slack };
                order.stop_price = stop * tick;
                order.price = limit.max(1) * tick;
            }
            OrderType::StopMarket => order.stop_price = self.stop_ticks(market, order.side) * tick,
        }
    }

    /// Turns `order` into a plain GTC limit order, for spoilers that need one.
    fn make_limit(&mut self, order: &mut NewOrder, market: &Market) {
        order.order_type = OrderType::Limit;
        order.time_in_force = TimeInForce::Gtc;
        order.price = self.limit_ticks(market, order.side) * market.tick();
        order.stop_price = 0;
        order.quote_qty = 0;
        order.post_only = false;
        if order.qty <= 0 {
            order.qty = self.rng.range(5, 150) * market.lot();
        }
    }

    fn spoil_order(&mut self, order: &mut NewOrder, market: &Market) {
        match self.rng.below(21) {
            0 => order.account = self.unknown_account(),
            1 => order.symbol = self.unknown_symbol(),
            2..=8 => self.spoil_limit(order, market),
            9..=12 => self.spoil_order_type(order, market),
            13 => self.duplicate_client_order_id(order),
            14..=17 => self.spoil_stop(order, market),
            _ => self.spoil_notional(order, market),
        }
    }

    /// Bad quantities and prices on a limit order.
    fn spoil_limit(&mut self, order: &mut NewOrder, market: &Market) {
        self.make_limit(order, market);
        let (tick, lot) = (market.tick(), market.lot());
        match self.rng.below(7) {
            0 => order.qty = self.rng.pick(&[0, -lot, -1, i64::MIN]),
            1 => order.qty = self.rng.pick(&[i64::MAX, i64::MAX / lot * lot, market.spec.max_qty + lot]),
            2 => order.qty += self.rng.range(1, lot - 1),
            // Below the minimum, or half a lot where the minimum is one lot.
            3 => order.qty = (market.spec.min_qty - lot).max(lot / 2),
            4 => order.price = self.rng.pick(&[0, -tick, i64::MIN, i64::MAX]),
            5 => order.price += self.rng.range(1, tick - 1),
            _ => order.price = self.rng.pick(&[market.anchor_ticks() * 3, 1]) * tick,
        }
    }

    /// Order types and time in force that do not go together, stale expiries, and post-only
    /// orders that would take.
    fn spoil_order_type(&mut self, order: &mut NewOrder, market: &Market) {
        self.make_limit(order, market);
        match self.rng.below(5) {
            0 => {
                order.order_type = OrderType::MarketByQuote;
                order.side = Side::Sell;
                order.time_in_force = TimeInForce::Ioc;
                order.quote_qty = 10 * market.lot_value();
            }
            1 => {
                order.order_type =
                    self.rng.pick(&[OrderType::MarketByQty, OrderType::MarketByQuote, OrderType::StopMarket]);
                order.time_in_force = self.rng.pick(&[TimeInForce::Gtc, TimeInForce::Gtd]);
                order.quote_qty = 10 * market.lot_value();
                order.stop_price = self.stop_ticks(market, order.side) * market.tick();
                order.expire_ts_ns = self.now_ns + 1_000_000;
            }
            2 => {
                order.post_only = true;
                order.time_in_force = self.rng.pick(&[TimeInForce::Ioc, TimeInForce::Fok]);
            }
            3 => {
                order.time_in_force = TimeInForce::Gtd;
                order.expire_ts_ns = self.rng.pick(&[0, self.now_ns, self.now_ns.saturating_sub(1_000_000_000)]);
            }
            _ => {
                // Post-only priced through the book: it would take.
                order.post_only = true;
                let through = 2 * SPREAD_TICKS;
                let ticks =
                    if order.side == Side::Buy { market.mid_ticks + through } else { market.mid_ticks - through };
                order.price = ticks.max(1) * market.tick();
            }
        }
    }

    fn duplicate_client_order_id(&mut self, order: &mut NewOrder) {
        match self.random_live().filter(|live| live.client_order_id != 0) {
            Some(live) => {
                order.account = live.account;
                order.client_order_id = live.client_order_id;
            }
            None => order.account = self.unknown_account(),
        }
    }

    /// Bad stop prices: not positive, off the tick, or already reached.
    fn spoil_stop(&mut self, order: &mut NewOrder, market: &Market) {
        if !order.order_type.is_stop() {
            self.make_limit(order, market);
            order.order_type = OrderType::StopLimit;
        }
        let tick = market.tick();
        order.stop_price = match self.rng.below(3) {
            0 => self.rng.pick(&[0, -tick, i64::MIN]),
            1 => self.stop_ticks(market, order.side) * tick + self.rng.range(1, tick - 1),
            _ => {
                let reached = market.anchor_ticks() - self.rng.range(0, SPREAD_TICKS);
                let ticks = if order.side == Side::Buy { reached } else { 2 * market.anchor_ticks() - reached };
                ticks.max(1) * tick
            }
        };
    }

    /// Notionals too small, too large, or budgets that are not positive.
    fn spoil_notional(&mut self, order: &mut NewOrder, market: &Market) {
        let tick = market.tick();
        match self.rng.below(3) {
            0 => {
                order.order_type = OrderType::MarketByQuote;
                order.side = Side::Buy;
                order.time_in_force = TimeInForce::Ioc;
                order.post_only = false;
                order.quote_qty = self.rng.pick(&[0, -1, market.spec.min_notional - 1, i64::MIN]);
            }
            1 => {
                // A stop-limit's price has no band, so its notional can overflow.
                self.make_limit(order, market);
                order.order_type = OrderType::StopLimit;
                order.stop_price = self.stop_ticks(market, order.side) * tick;
                order.price = i64::MAX / tick * tick;
                order.qty = market.spec.max_qty;
            }
            _ => {
                self.make_limit(order, market);
                order.qty = market.spec.min_qty;
                order.price = (market.mid_ticks - SPREAD_TICKS).max(1) * tick;
            }
        }
    }
}

/// Cancels, amends, mass quotes and admin cancels.
impl FlowGenerator {
    fn cancel(&mut self, invalid: bool) -> Command {
        let mut cancel = match self.random_live() {
            Some(order) => {
                let (order_id, client_order_id) = self.target_ids(&order);
                Cancel { account: order.account, order_id, client_order_id }
            }
            None => Cancel { account: self.trader(), order_id: self.unknown_order_id(), client_order_id: 0 },
        };
        if invalid {
            match self.rng.below(5) {
                0 => cancel.account = self.unknown_account(),
                1 => cancel.order_id = self.unknown_order_id(),
                2 => cancel.account = self.other_account(cancel.account),
                3 => (cancel.order_id, cancel.client_order_id) = (0, 0),
                _ => (cancel.order_id, cancel.client_order_id) = (0, u64::MAX - self.rng.below(1_000)),
            }
        }
        Command::Cancel(cancel)
    }

    /// A live limit order if one turns up in a few draws; otherwise any live order.
    fn amendable(&mut self) -> Option<LiveOrder> {
        for _ in 0..4 {
            let order = self.random_live()?;
            if order.order_type == OrderType::Limit {
                return Some(order);
            }
        }
        self.random_live()
    }

    fn amend(&mut self, invalid: bool) -> Command {
        let Some(order) = self.amendable() else {
            let market = self.markets[0];
            let order_id = self.unknown_order_id();
            let (new_price, new_qty) = (market.anchor_ticks() * market.tick(), 10 * market.lot());
            return Command::Amend(Amend { account: self.trader(), order_id, client_order_id: 0, new_price, new_qty });
        };
        let market = self.market_of(order.symbol);
        let (order_id, client_order_id) = self.target_ids(&order);
        let mut amend =
            Amend { account: order.account, order_id, client_order_id, new_price: order.price, new_qty: order.qty };
        self.reshape(&mut amend, &order, &market);
        if invalid {
            self.spoil_amend(&mut amend, &order, &market);
        }
        Command::Amend(amend)
    }

    /// A new price near the mid, a smaller quantity (priority kept) or a larger one.
    fn reshape(&mut self, amend: &mut Amend, order: &LiveOrder, market: &Market) {
        let lot = market.lot();
        let filled = order.qty - order.remaining;
        let remaining_lots = order.remaining / lot;
        match self.rng.below(10) {
            4..=6 if remaining_lots > 1 => amend.new_qty = filled + self.rng.range(1, remaining_lots - 1) * lot,
            7..=9 => amend.new_qty = order.qty + self.rng.range(1, 50) * lot,
            _ => amend.new_price = self.limit_ticks(market, order.side) * market.tick(),
        }
    }

    fn spoil_amend(&mut self, amend: &mut Amend, order: &LiveOrder, market: &Market) {
        let (tick, lot) = (market.tick(), market.lot());
        match self.rng.below(10) {
            0 => amend.new_price = self.rng.pick(&[0, -tick, i64::MIN, i64::MAX]),
            1 => amend.new_price += self.rng.range(1, tick - 1),
            2 => amend.new_qty = self.rng.pick(&[0, -lot, i64::MIN]),
            3 => amend.new_qty += self.rng.range(1, lot - 1),
            4 => amend.new_qty = order.qty - order.remaining,
            5 => (amend.new_price, amend.new_qty) = (order.price, order.qty),
            6 => amend.new_price = market.anchor_ticks() * 3 * tick,
            7 => (amend.order_id, amend.client_order_id) = (self.unknown_order_id(), 0),
            8 => amend.account = self.other_account(amend.account),
            _ => amend.new_qty = self.rng.pick(&[market.spec.max_qty + lot, i64::MAX / lot * lot]),
        }
    }

    fn cancel_all(&mut self, invalid: bool) -> Command {
        let account = self.trader();
        let index = self.market_index();
        let symbol = Some(self.markets[index].spec.symbol).filter(|_| self.rng.chance(50));
        let side = Some(self.rng.pick(Side::ALL)).filter(|_| self.rng.chance(50));
        let mut cancel_all = CancelAll { account, symbol, side };
        if invalid {
            if self.rng.chance(50) {
                cancel_all.account = self.unknown_account();
            } else {
                cancel_all.symbol = Some(self.unknown_symbol());
            }
        }
        Command::CancelAll(cancel_all)
    }

    fn mass_quote(&mut self, invalid: bool) -> Command {
        let account = self.trader();
        let index = self.market_index();
        let market = self.markets[index];
        let (tick, lot) = (market.tick(), market.lot());
        let bid_ticks = (market.anchor_ticks() - self.rng.range(1, SPREAD_TICKS)).max(1);
        let ask_ticks = market.anchor_ticks() + self.rng.range(1, SPREAD_TICKS);
        let mut quote = MassQuote {
            account,
            symbol: market.spec.symbol,
            bid_price: bid_ticks * tick,
            bid_qty: self.rng.range(20, 200) * lot,
            ask_price: ask_ticks * tick,
            ask_qty: self.rng.range(20, 200) * lot,
        };
        // One-sided quotes, and sometimes none: that just pulls the previous quote.
        match self.rng.below(20) {
            0 => quote.bid_qty = 0,
            1 => quote.ask_qty = 0,
            2 => (quote.bid_qty, quote.ask_qty) = (0, 0),
            _ => {}
        }
        if invalid {
            self.spoil_quote(&mut quote, &market);
        }
        Command::MassQuote(quote)
    }

    fn spoil_quote(&mut self, quote: &mut MassQuote, market: &Market) {
        let (tick, lot) = (market.tick(), market.lot());
        quote.bid_qty = quote.bid_qty.max(lot);
        quote.ask_qty = quote.ask_qty.max(lot);
        match self.rng.below(6) {
            0 => quote.bid_price = quote.ask_price + self.rng.range(0, 3) * tick,
            1 => quote.symbol = self.unknown_symbol(),
            2 => quote.account = self.unknown_account(),
            3 => quote.bid_price = self.rng.pick(&[0, -tick, i64::MIN]),
            4 => quote.ask_qty = self.rng.pick(&[-lot, i64::MAX, i64::MIN]),
            _ => quote.ask_price += self.rng.range(1, tick - 1),
        }
    }

    fn admin_cancel(&mut self, invalid: bool) -> Command {
        let order_id = match self.random_live() {
            Some(order) if !invalid => order.order_id,
            _ if self.rng.chance(20) => 0,
            _ => self.unknown_order_id(),
        };
        Command::AdminCancel { order_id }
    }
}

/// Balances, accounts and reference data.
impl FlowGenerator {
    fn adjust_balance(&mut self, invalid: bool) -> Command {
        let account = self.trader();
        let asset = self.rng.below(self.assets_known as u64) as AssetId;
        let unit = self.asset_unit(asset);
        let amount =
            if self.rng.chance(70) { unit * self.rng.range(1, 10) } else { -(unit * self.rng.range(1, 20) / 10) };
        let mut adjust = AdjustBalance { account, asset, amount, ref_id: self.fresh_ref_id() };
        if invalid {
            self.spoil_adjust(&mut adjust);
        }
        Command::AdjustBalance(adjust)
    }

    fn spoil_adjust(&mut self, adjust: &mut AdjustBalance) {
        match self.rng.below(7) {
            0 => adjust.amount = 0,
            1 => adjust.ref_id = 0,
            2 => {
                let recent = (self.next_ref_id - 1).min(64);
                adjust.ref_id = self.next_ref_id - 1 - self.rng.below(recent);
            }
            3 => adjust.account = self.unknown_account(),
            4 => adjust.asset = self.unknown_asset(),
            // Withdrawals beyond any balance, including one whose negation overflows.
            5 => adjust.amount = self.rng.pick(&[-(i64::MAX / 2), i64::MIN]),
            // A credit that would push the asset's supply past i64.
            _ => adjust.amount = i64::MAX,
        }
    }

    fn account_admin(&mut self, invalid: bool) -> Command {
        if self.rng.chance(55) {
            self.account_status(invalid)
        } else {
            self.account_fee_tier(invalid)
        }
    }

    /// Freezes or restricts an account for a few dozen commands.
    fn account_status(&mut self, invalid: bool) -> Command {
        let all = [AccountStatus::Frozen, AccountStatus::TradingRestricted, AccountStatus::Active];
        let status = all[self.rng.weighted(&[45, 45, 10])];
        if invalid {
            return Command::SetAccountStatus { account: self.unknown_account(), status };
        }
        let account = self.trader();
        if status != AccountStatus::Active {
            self.schedule(3, 40, Command::SetAccountStatus { account, status: AccountStatus::Active });
        }
        Command::SetAccountStatus { account, status }
    }

    fn account_fee_tier(&mut self, invalid: bool) -> Command {
        let account = self.trader();
        if invalid && self.rng.chance(50) {
            return Command::SetAccountFeeTier { account: self.unknown_account(), fee_tier: 0 };
        }
        let fee_tier = if invalid {
            self.rng.range(MAX_FEE_TIERS as i64, 255) as u8
        } else if self.rng.chance(10) {
            self.rng.range(START_TIERS as i64, MAX_FEE_TIERS as i64 - 1) as u8
        } else {
            self.rng.below(START_TIERS) as u8
        };
        Command::SetAccountFeeTier { account, fee_tier }
    }

    fn symbol_fees(&mut self, invalid: bool) -> Command {
        let symbol = self.markets[self.rng.below(self.markets.len() as u64) as usize].spec.symbol;
        let mut fees = SymbolFees {
            symbol,
            tier: self.rng.below(MAX_FEE_TIERS as u64) as u8,
            maker_fee_bps: self.rng.range(0, 20) as u16,
            taker_fee_bps: self.rng.range(0, 40) as u16,
        };
        if invalid {
            let too_high = self.rng.range(MAX_FEE_BPS as i64 + 1, u16::MAX as i64) as u16;
            match self.rng.below(4) {
                0 => fees.symbol = self.unknown_symbol(),
                1 => fees.tier = self.rng.range(MAX_FEE_TIERS as i64, 255) as u8,
                2 => fees.maker_fee_bps = too_high,
                _ => fees.taker_fee_bps = too_high,
            }
        }
        Command::SetSymbolFees(fees)
    }

    /// Reference-data commands are invalid at least half the time (unless invalid commands
    /// are off): beyond a few fresh ids, a valid one would only repeat the setup.
    fn refdata(&mut self, invalid: bool) -> Command {
        let ratio = self.config.invalid_ratio_pct;
        let invalid = invalid || (ratio > 0 && self.rng.chance(50));
        match self.rng.below(5) {
            0 => self.symbol_status(invalid),
            1 => self.tier_limits(invalid),
            2 => self.add_asset(invalid),
            3 => self.add_symbol(invalid),
            _ => self.create_account(invalid),
        }
    }

    /// Halts or suspends a traded symbol and schedules its return to Trading, or delists
    /// the spare symbol (once).
    fn symbol_status(&mut self, invalid: bool) -> Command {
        if invalid {
            return self.invalid_symbol_status();
        }
        if !self.config.refdata_changes {
            return self.tier_limits(false);
        }
        let spare = self.markets.len() - 1;
        if self.markets[spare].status != SymbolStatus::Delisted && self.rng.chance(10) {
            self.markets[spare].status = SymbolStatus::Delisted;
            return Command::SetSymbolStatus { symbol: spare as SymbolId, status: SymbolStatus::Delisted };
        }
        let traded = self.config.symbols as usize;
        let start = self.rng.below(traded.max(1) as u64) as usize;
        let trading =
            (0..traded).map(|i| (start + i) % traded).find(|i| self.markets[*i].status == SymbolStatus::Trading);
        let Some(index) = trading else { return self.tier_limits(false) };
        let status = if self.rng.chance(15) { SymbolStatus::Suspended } else { SymbolStatus::Halted };
        self.markets[index].status = status;
        let symbol = index as SymbolId;
        self.schedule(5, 50, Command::SetSymbolStatus { symbol, status: SymbolStatus::Trading });
        Command::SetSymbolStatus { symbol, status }
    }

    /// An unknown symbol, or any change to the delisted spare.
    fn invalid_symbol_status(&mut self) -> Command {
        let status = self.rng.pick(SymbolStatus::ALL);
        let delisted = self.markets.iter().position(|m| m.status == SymbolStatus::Delisted);
        match delisted {
            Some(index) if self.rng.chance(50) => Command::SetSymbolStatus { symbol: index as SymbolId, status },
            _ => Command::SetSymbolStatus { symbol: self.unknown_symbol(), status },
        }
    }

    fn tier_limits(&mut self, invalid: bool) -> Command {
        let tier = if invalid {
            self.rng.range(MAX_FEE_TIERS as i64, 255) as u8
        } else {
            self.rng.below(MAX_FEE_TIERS as u64) as u8
        };
        Command::SetTierLimits { tier, max_open_orders: self.rng.pick(&TIER_LIMIT_CHOICES) }
    }

    /// A fresh asset while spare ids last; invalid: an existing id, a scale above 18, or an
    /// id past capacity.
    fn add_asset(&mut self, invalid: bool) -> Command {
        let fresh_left = self.assets_known < self.config.assets() + FRESH_IDS as u16;
        let scale = self.rng.range(0, MAX_ASSET_SCALE as i64) as u8;
        if !invalid && fresh_left {
            self.assets_known += 1;
            return Command::AddAsset(AddAsset { asset: self.assets_known - 1, scale });
        }
        if !invalid {
            return self.tier_limits(false);
        }
        let existing = self.rng.below(self.assets_known as u64) as AssetId;
        let command = match self.rng.below(3) {
            0 => AddAsset { asset: existing, scale },
            1 => {
                let never_created = self.config.assets() + FRESH_IDS as u16;
                let scale = self.rng.range(MAX_ASSET_SCALE as i64 + 1, 255) as u8;
                AddAsset { asset: never_created, scale }
            }
            _ => AddAsset { asset: self.engine_config().max_assets + self.rng.below(100) as u16, scale },
        };
        Command::AddAsset(command)
    }

    /// A fresh (untraded) copy of symbol 0 while spare ids last; invalid: a duplicate, an id
    /// past capacity, or an inconsistent spec.
    fn add_symbol(&mut self, invalid: bool) -> Command {
        let mut spec = self.markets[0].spec;
        if !invalid && self.fresh_symbols < FRESH_IDS {
            spec.symbol = self.config.symbol_count() + self.fresh_symbols;
            self.fresh_symbols += 1;
            return Command::AddSymbol(spec);
        }
        if !invalid {
            return self.tier_limits(false);
        }
        spec.symbol = self.config.symbol_count() + FRESH_IDS + self.rng.below(FRESH_IDS as u64) as u32;
        match self.rng.below(13) {
            0 => spec.symbol = self.rng.below(self.markets.len() as u64) as SymbolId,
            1 => spec.symbol = self.engine_config().max_symbols + self.rng.below(100) as u32,
            2 => spec.base = self.unknown_asset(),
            3 => spec.base = spec.quote,
            4 => spec.tick_size = self.rng.pick(&[0, -spec.tick_size]),
            5 => spec.lot_size = self.rng.pick(&[0, -spec.lot_size]),
            // One lot at one tick is not a whole number of quote units.
            6 => (spec.tick_size, spec.lot_size, spec.min_qty, spec.max_qty) = (3, 7, 7, 7_000),
            7 => spec.min_qty = spec.max_qty + spec.lot_size,
            8 => spec.min_qty += 1,
            9 => spec.min_notional = -1,
            10 => spec.price_band_bps = self.rng.pick(&[0, 10_001, u32::MAX]),
            11 => spec.reference_price = self.rng.pick(&[-spec.tick_size, spec.tick_size + 1]),
            _ => spec.taker_fee_bps = MAX_FEE_BPS + 1,
        }
        Command::AddSymbol(spec)
    }

    /// A fresh (untraded) account while spare ids last; invalid: an existing id, a tier
    /// past the last, or an id past capacity.
    fn create_account(&mut self, invalid: bool) -> Command {
        let fee_tier = self.rng.below(START_TIERS) as u8;
        if !invalid && self.fresh_accounts < FRESH_IDS {
            self.fresh_accounts += 1;
            return Command::CreateAccount { account: self.config.accounts + self.fresh_accounts - 1, fee_tier };
        }
        if !invalid {
            return self.tier_limits(false);
        }
        match self.rng.below(3) {
            0 => Command::CreateAccount { account: self.trader(), fee_tier },
            1 => {
                let fee_tier = self.rng.range(MAX_FEE_TIERS as i64, 255) as u8;
                Command::CreateAccount { account: self.config.accounts + FRESH_IDS, fee_tier }
            }
            _ => Command::CreateAccount {
                account: self.engine_config().max_accounts + self.rng.below(100) as u32,
                fee_tier,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::event::OrderCancelled;

    fn stream(seed: u64, config: &FlowConfig, n: usize) -> Vec<CommandEnvelope> {
        let mut flow = FlowGenerator::new(seed, config.clone());
        let mut commands = flow.setup();
        for _ in 0..n {
            commands.push(flow.next_command());
            flow.observe(&[]);
        }
        commands
    }

    #[test]
    fn a_seed_always_gives_the_same_stream() {
        let config = FlowConfig::default();
        assert_eq!(stream(11, &config, 1_000), stream(11, &config, 1_000));
        assert_ne!(stream(11, &config, 1_000), stream(12, &config, 1_000));
    }

    #[test]
    fn sequences_are_gap_free_and_time_never_goes_back() {
        let commands = stream(3, &FlowConfig::default(), 5_000);
        assert_eq!(commands[0].seq, 1);
        for pair in commands.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1);
            assert!(pair[1].ts_ns >= pair[0].ts_ns);
        }
    }

    #[test]
    fn every_command_kind_appears_in_20k_commands() {
        let mut flow = FlowGenerator::new(5, FlowConfig::default());
        flow.setup();
        let kinds: HashSet<CommandKind> = (0..20_000).map(|_| flow.next_command().command.kind()).collect();
        assert_eq!(kinds.len(), 15, "{kinds:?}");
    }

    #[test]
    fn setup_registers_everything_and_funds_every_account() {
        let config = FlowConfig::default();
        let commands = stream(1, &config, 0);
        let count = |kind| commands.iter().filter(|c| c.command.kind() == kind).count();
        assert_eq!(count(CommandKind::AddAsset), config.assets() as usize);
        assert_eq!(count(CommandKind::AddSymbol), config.symbol_count() as usize);
        assert_eq!(count(CommandKind::CreateAccount), config.accounts as usize);
        assert_eq!(count(CommandKind::AdjustBalance), config.accounts as usize * config.assets() as usize);
        for command in &commands {
            match command.command {
                Command::AddSymbol(spec) => {
                    let k = crate::math::quote_per_tick_lot(
                        spec.tick_size,
                        spec.lot_size,
                        8 + (spec.symbol % 3 == 2) as u8,
                    );
                    assert!(k.is_some(), "{spec:?}");
                }
                Command::AdjustBalance(adjust) => assert!(adjust.amount > 0),
                _ => {}
            }
        }
    }

    fn accepted(order_id: OrderId) -> Event {
        let body = EventBody::OrderAccepted(OrderAccepted {
            order_id,
            account: (order_id % 40) as AccountId,
            symbol: (order_id % 3) as SymbolId,
            client_order_id: if order_id.is_multiple_of(2) { 1_000_000 + order_id } else { 0 },
            side: Side::Buy,
            order_type: OrderType::Limit,
            time_in_force: TimeInForce::Gtc,
            price: 5_000_000_000_000,
            qty: 100_000,
            quote_qty: 0,
            stop_price: 0,
            expire_ts_ns: 0,
            post_only: false,
            stp: SelfTradePrevention::None,
            frozen: 0,
        });
        Event { txid: 1, body }
    }

    fn cancelled(order_id: OrderId) -> Event {
        let body = EventBody::OrderCancelled(OrderCancelled {
            order_id,
            account: (order_id % 40) as AccountId,
            symbol: (order_id % 3) as SymbolId,
            side: Side::Buy,
            remaining: 100_000,
            reason: CancelReason::User,
        });
        Event { txid: 2, body }
    }

    /// The order a cancel, amend or admin cancel names by id, if any.
    fn target(command: &Command) -> Option<OrderId> {
        match *command {
            Command::Cancel(cancel) => Some(cancel.order_id),
            Command::Amend(amend) => Some(amend.order_id),
            Command::AdminCancel { order_id } => Some(order_id),
            _ => None,
        }
    }

    #[test]
    fn cancels_and_amends_target_observed_orders_until_they_end() {
        let mut flow = FlowGenerator::new(9, FlowConfig::default());
        flow.setup();
        let ids = 1..=200;
        flow.observe(&ids.clone().map(accepted).collect::<Vec<_>>());
        let mut hits = 0;
        for _ in 0..2_000 {
            hits += target(&flow.next_command().command).is_some_and(|id| ids.contains(&id)) as u32;
        }
        assert!(hits > 200, "only {hits} commands targeted live orders");
        flow.observe(&ids.clone().map(cancelled).collect::<Vec<_>>());
        for _ in 0..2_000 {
            let command = flow.next_command().command;
            assert!(!target(&command).is_some_and(|id| ids.contains(&id)), "{command:?}");
        }
    }

    /// Every account and symbol a command names, where it names one.
    fn named_ids(command: &Command) -> (Option<AccountId>, Option<SymbolId>) {
        match *command {
            Command::NewOrder(order) => (Some(order.account), Some(order.symbol)),
            Command::Cancel(cancel) => (Some(cancel.account), None),
            Command::CancelAll(cancel) => (Some(cancel.account), cancel.symbol),
            Command::Amend(amend) => (Some(amend.account), None),
            Command::MassQuote(quote) => (Some(quote.account), Some(quote.symbol)),
            Command::AdjustBalance(adjust) => (Some(adjust.account), None),
            Command::SetAccountStatus { account, .. } | Command::SetAccountFeeTier { account, .. } => {
                (Some(account), None)
            }
            Command::CreateAccount { account, .. } => (Some(account), None),
            Command::SetSymbolStatus { symbol, .. } => (None, Some(symbol)),
            Command::SetSymbolFees(fees) => (None, Some(fees.symbol)),
            Command::AddSymbol(spec) => (None, Some(spec.symbol)),
            _ => (None, None),
        }
    }

    #[test]
    fn a_valid_flow_names_only_accounts_and_symbols_it_created() {
        let config = FlowConfig { invalid_ratio_pct: 0, ..FlowConfig::default() };
        for command in stream(21, &config, 20_000) {
            let (account, symbol) = named_ids(&command.command);
            assert!(account.is_none_or(|a| a < config.accounts + FRESH_IDS), "{command:?}");
            assert!(symbol.is_none_or(|s| s < config.symbol_count() + FRESH_IDS), "{command:?}");
        }
    }

    #[test]
    fn clock_faults_send_wrong_sequences_and_stale_stamps() {
        let config = FlowConfig { clock_faults_pct: 20, ..FlowConfig::default() };
        let commands = stream(4, &config, 5_000);
        let (mut next_seq, mut latest_ts, mut wrong_seqs, mut stale) = (1, 0, 0, 0);
        for command in commands {
            if command.seq == next_seq {
                next_seq += 1;
            } else {
                wrong_seqs += 1;
            }
            stale += (command.ts_ns < latest_ts) as u32;
            latest_ts = latest_ts.max(command.ts_ns);
        }
        assert!(wrong_seqs > 50 && stale > 50, "{wrong_seqs} wrong sequences, {stale} stale stamps");
    }

    #[test]
    fn rng_ranges_are_inclusive_and_weights_are_respected() {
        let mut rng = Rng::new(1);
        let draws: HashSet<i64> = (0..1_000).map(|_| rng.range(-2, 2)).collect();
        assert_eq!(draws, HashSet::from([-2, -1, 0, 1, 2]));
        assert!((0..1_000).all(|_| rng.weighted(&[0, 3, 0, 1]) % 2 == 1));
        let extremes = (0..100).map(|_| rng.range(i64::MIN, i64::MAX));
        assert!(extremes.collect::<HashSet<_>>().len() > 90);
    }
}
