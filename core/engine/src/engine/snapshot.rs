//! Snapshots: the engine's logical state as bytes, and back.
//!
//! The format stores what the state *is*, not how this build lays it out: assets, tiers,
//! accounts, balance records in creation order, each symbol's book best first in time
//! priority, its stops in trigger order, and the dedup window. Restoring rebuilds every
//! index from that, then recomputes the state hash and refuses the snapshot unless it equals
//! the hash stored at the end. So a snapshot survives changes of internal layout, and
//! corruption cannot slip through as a different state.
//!
//! Serialising is a single pass over the state into a caller-owned buffer: the engine
//! thread pays for about one copy of its state; writing the buffer out is the caller's job,
//! on another thread.

use super::refdata::validate_spec;
use super::sorted_index::SortedIndex;
use super::state::*;
use super::Engine;
use crate::command::SymbolSpec;
use crate::config::EngineConfig;
use crate::types::*;

const MAGIC: &[u8; 8] = b"CEXSNAP1";
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotError {
    NotASnapshot,
    UnsupportedVersion(u32),
    /// The bytes end before the state does.
    Truncated,
    /// A value no state could hold: an unknown enum, an id beyond the configured capacity…
    Invalid(&'static str),
    /// The restored state does not hash to the value the snapshot recorded.
    HashMismatch {
        recorded: u64,
        restored: u64,
    },
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SnapshotError::NotASnapshot => write!(f, "not an engine snapshot"),
            SnapshotError::UnsupportedVersion(v) => write!(f, "snapshot format version {v} is not supported"),
            SnapshotError::Truncated => write!(f, "snapshot is truncated"),
            SnapshotError::Invalid(what) => write!(f, "snapshot holds an invalid {what}"),
            SnapshotError::HashMismatch { recorded, restored } => {
                write!(f, "restored state hash {restored:016x} differs from the recorded {recorded:016x}")
            }
        }
    }
}

impl std::error::Error for SnapshotError {}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn u8(&mut self, value: u8) {
        self.0.push(value);
    }
    fn u16(&mut self, value: u16) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    fn i64(&mut self, value: i64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let end = self.at.checked_add(N).ok_or(SnapshotError::Truncated)?;
        let field = self.bytes.get(self.at..end).ok_or(SnapshotError::Truncated)?;
        self.at = end;
        Ok(field.try_into().expect("slice of length N"))
    }
    fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.take::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, SnapshotError> {
        Ok(u16::from_le_bytes(self.take()?))
    }
    fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64, SnapshotError> {
        Ok(i64::from_le_bytes(self.take()?))
    }
    fn bool(&mut self) -> Result<bool, SnapshotError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(SnapshotError::Invalid("flag")),
        }
    }
    /// A count of items that each take at least `min_item_bytes`: refuses counts the
    /// remaining bytes cannot hold, so a corrupt count cannot make us loop or allocate.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize, SnapshotError> {
        let count = self.u64()? as usize;
        let remaining = self.bytes.len() - self.at;
        if count.saturating_mul(min_item_bytes) > remaining {
            return Err(SnapshotError::Truncated);
        }
        Ok(count)
    }
}

fn decode<T>(value: Option<T>, what: &'static str) -> Result<T, SnapshotError> {
    value.ok_or(SnapshotError::Invalid(what))
}

/// The encoded size of one order: eight 8-byte fields, the account, the reserve bps and six
/// one-byte fields.
const ORDER_BYTES: usize = 8 * 8 + 4 + 2 + 6;

impl Engine {
    /// Appends the whole state to `out`. Call it between commands.
    pub fn snapshot(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        w.0.extend_from_slice(MAGIC);
        w.u32(VERSION);
        for value in [self.last_seq, self.now_ns, self.next_order_id, self.next_trade_id] {
            w.u64(value);
        }
        self.write_reference_data(&mut w);
        w.u64(self.balances.len() as u64);
        for balance in &self.balances {
            w.u32(balance.account);
            w.u16(balance.asset);
            w.i64(balance.available);
            w.i64(balance.frozen);
        }
        let symbols: Vec<&SymbolState> = self.symbols.iter().flatten().collect();
        w.u64(symbols.len() as u64);
        for symbol in symbols {
            self.write_symbol(symbol, &mut w);
        }
        let window: Vec<u64> = self.dedup_window().collect();
        w.u64(window.len() as u64);
        window.into_iter().for_each(|ref_id| w.u64(ref_id));
        w.u64(self.state_hash());
    }

    fn write_reference_data(&self, w: &mut Writer) {
        let assets: Vec<(usize, &AssetState)> = self.assets.iter().enumerate().filter(|(_, a)| a.exists).collect();
        w.u64(assets.len() as u64);
        for (id, asset) in assets {
            w.u16(id as u16);
            w.u8(asset.scale);
            w.i64(asset.fees_collected);
            w.i64(asset.supply);
        }
        self.tier_max_open_orders.iter().for_each(|limit| w.u32(*limit));
        let accounts: Vec<(usize, &AccountState)> =
            self.accounts.iter().enumerate().filter(|(_, a)| a.exists).collect();
        w.u64(accounts.len() as u64);
        for (id, account) in accounts {
            w.u32(id as u32);
            w.u8(account.status as u8);
            w.u8(account.fee_tier);
        }
    }

    fn write_symbol(&self, symbol: &SymbolState, w: &mut Writer) {
        write_spec(&symbol.spec, w);
        w.u8(symbol.status as u8);
        w.i64(symbol.last_price);
        for (maker, taker) in symbol.fees {
            w.u16(maker);
            w.u16(taker);
        }
        let buy_stops = symbol.buy_stops.iter_best_first().map(|(_, slot)| slot);
        let sell_stops = symbol.sell_stops.iter_best_first().map(|(_, slot)| slot);
        let lists: [Vec<u32>; 4] = [
            self.book_slots(symbol, Side::Buy).collect(),
            self.book_slots(symbol, Side::Sell).collect(),
            buy_stops.collect(),
            sell_stops.collect(),
        ];
        for slots in lists {
            w.u64(slots.len() as u64);
            slots.iter().for_each(|slot| write_order(self.orders.get(*slot), w));
        }
    }

    /// Rebuilds an engine from a snapshot. `config` must have room for everything in it.
    pub fn restore(config: EngineConfig, bytes: &[u8]) -> Result<Engine, SnapshotError> {
        let mut r = Reader { bytes, at: 0 };
        if &r.take::<8>()? != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let version = r.u32()?;
        if version != VERSION {
            return Err(SnapshotError::UnsupportedVersion(version));
        }
        let mut engine = Engine::new(config);
        engine.last_seq = r.u64()?;
        engine.now_ns = r.u64()?;
        engine.next_order_id = r.u64()?;
        engine.next_trade_id = r.u64()?;
        engine.read_reference_data(&mut r)?;
        engine.read_balances(&mut r)?;
        for _ in 0..r.count(1)? {
            engine.read_symbol(&mut r)?;
        }
        engine.link_accounts_by_order_id();
        for _ in 0..r.count(8)? {
            let ref_id = r.u64()?;
            if engine.dedup_index.contains(&ref_id) || engine.config.adjust_dedup_window == 0 {
                return Err(SnapshotError::Invalid("dedup window"));
            }
            engine.remember_reference(ref_id);
        }
        let recorded = r.u64()?;
        if r.at != bytes.len() {
            return Err(SnapshotError::Invalid("trailing bytes"));
        }
        let restored = engine.state_hash();
        if restored != recorded {
            return Err(SnapshotError::HashMismatch { recorded, restored });
        }
        Ok(engine)
    }

    fn read_reference_data(&mut self, r: &mut Reader) -> Result<(), SnapshotError> {
        for _ in 0..r.count(19)? {
            let id = r.u16()? as usize;
            let asset = decode(self.assets.get_mut(id), "asset id")?;
            *asset = AssetState { exists: true, scale: r.u8()?, fees_collected: r.i64()?, supply: r.i64()? };
            if asset.scale > MAX_ASSET_SCALE || asset.fees_collected < 0 || asset.supply < 0 {
                return Err(SnapshotError::Invalid("asset"));
            }
        }
        for limit in self.tier_max_open_orders.iter_mut() {
            *limit = r.u32()?;
        }
        for _ in 0..r.count(6)? {
            let id = r.u32()? as usize;
            let status = decode(AccountStatus::from_u8(r.u8()?), "account status")?;
            let fee_tier = r.u8()?;
            if fee_tier as usize >= MAX_FEE_TIERS {
                return Err(SnapshotError::Invalid("fee tier"));
            }
            let account = decode(self.accounts.get_mut(id), "account id")?;
            *account = AccountState { exists: true, status, fee_tier, ..AccountState::default() };
        }
        Ok(())
    }

    fn read_balances(&mut self, r: &mut Reader) -> Result<(), SnapshotError> {
        for _ in 0..r.count(22)? {
            let (account, asset) = (r.u32()?, r.u16()?);
            let (available, frozen) = (r.i64()?, r.i64()?);
            let fits = self.has_record_room(1) && self.account(account).is_ok() && self.asset_exists(asset);
            if !fits || self.balance_record(account, asset).is_some() || available < 0 || frozen < 0 {
                return Err(SnapshotError::Invalid("balance record"));
            }
            let record = self.ensure_balance(account, asset);
            let balance = &mut self.balances[record as usize];
            balance.available = available;
            balance.frozen = frozen;
        }
        Ok(())
    }

    fn read_symbol(&mut self, r: &mut Reader) -> Result<(), SnapshotError> {
        let spec = read_spec(r)?;
        let id = spec.symbol as usize;
        if self.symbols.get(id).is_none_or(Option::is_some) {
            return Err(SnapshotError::Invalid("symbol id"));
        }
        let base_scale = decode(self.assets.get(spec.base as usize).filter(|a| a.exists), "symbol base")?.scale;
        let fees_valid = spec.maker_fee_bps <= MAX_FEE_BPS && spec.taker_fee_bps <= MAX_FEE_BPS;
        let consistent = fees_valid && self.asset_exists(spec.quote);
        let quote_per_tick_lot = decode(validate_spec(&spec, base_scale).filter(|_| consistent), "symbol spec")?;
        let status = decode(SymbolStatus::from_u8(r.u8()?), "symbol status")?;
        let last_price = r.i64()?;
        if last_price < 0 || last_price.checked_mul(spec.tick_size).is_none() {
            return Err(SnapshotError::Invalid("last price"));
        }
        let mut fees = [(0, 0); MAX_FEE_TIERS];
        for fee in fees.iter_mut() {
            *fee = (r.u16()?, r.u16()?);
            if fee.0 > MAX_FEE_BPS || fee.1 > MAX_FEE_BPS {
                return Err(SnapshotError::Invalid("fee"));
            }
        }
        let (levels, stops) = (self.config.max_levels_per_side as usize, self.config.max_stops_per_side as usize);
        self.symbols[id] = Some(SymbolState {
            spec,
            quote_per_tick_lot,
            status,
            last_price,
            fees,
            bids: SortedIndex::with_capacity(levels),
            asks: SortedIndex::with_capacity(levels),
            buy_stops: SortedIndex::with_capacity(stops),
            sell_stops: SortedIndex::with_capacity(stops),
        });
        for list in 0..4 {
            for _ in 0..r.count(ORDER_BYTES)? {
                let order = self.read_order(r, spec.symbol)?;
                self.place_restored(order, list >= 2)?;
            }
        }
        Ok(())
    }

    fn read_order(&self, r: &mut Reader, symbol: SymbolId) -> Result<Order, SnapshotError> {
        let (id, client_order_id, expire_ts_ns) = (r.u64()?, r.u64()?, r.u64()?);
        let (price, stop_price, qty, remaining, frozen) = (r.i64()?, r.i64()?, r.i64()?, r.i64()?, r.i64()?);
        let account = r.u32()?;
        let reserve_bps = r.u16()?;
        let order = Order {
            id,
            client_order_id,
            expire_ts_ns,
            price,
            stop_price,
            qty,
            remaining,
            frozen,
            account,
            symbol,
            reserve_bps,
            side: decode(Side::from_u8(r.u8()?), "side")?,
            order_type: decode(OrderType::from_u8(r.u8()?), "order type")?,
            time_in_force: decode(TimeInForce::from_u8(r.u8()?), "time in force")?,
            stp: decode(SelfTradePrevention::from_u8(r.u8()?), "self-trade prevention")?,
            post_only: r.bool()?,
            is_quote: r.bool()?,
            ..Order::default()
        };
        let spec = &self.symbol(symbol).spec;
        let (base, quote) = (spec.base, spec.quote);
        let in_units = |ticks: i64, unit: i64| ticks >= 0 && ticks.checked_mul(unit).is_some();
        let sizes = 0 < remaining && remaining <= qty && in_units(qty, spec.lot_size);
        let prices = in_units(price, spec.tick_size) && in_units(stop_price, spec.tick_size);
        let sound = self.account(account).is_ok() && sizes && prices && frozen >= 0 && id < self.next_order_id;
        if !sound || self.order_index.contains(&id) || reserve_bps > MAX_FEE_BPS {
            return Err(SnapshotError::Invalid("order"));
        }
        let (base_balance, quote_balance) = if self.config.matching_only {
            (NIL, NIL)
        } else {
            let base_balance = decode(self.balance_record(account, base), "order's base balance")?;
            (base_balance, decode(self.balance_record(account, quote), "order's quote balance")?)
        };
        Ok(Order { base_balance, quote_balance, ..order })
    }

    /// Puts a restored order back where it was: at the tail of its level (the snapshot lists
    /// them in time priority) or into its stop index.
    fn place_restored(&mut self, order: Order, is_stop: bool) -> Result<(), SnapshotError> {
        let symbol = self.symbol(order.symbol);
        let room = if is_stop {
            order.order_type.is_stop() && symbol.stops_len(order.side) < self.config.max_stops_per_side as usize
        } else {
            symbol.has_level_room(order.side, order.price)
        };
        let unique_client_id =
            order.client_order_id == 0 || !self.client_order_index.contains(&(order.account, order.client_order_id));
        if !room || !unique_client_id || self.orders.is_full() {
            return Err(SnapshotError::Invalid("order placement"));
        }
        let slot = self.orders.alloc(order);
        self.order_index.insert(order.id, slot);
        if order.client_order_id != 0 {
            self.client_order_index.insert((order.account, order.client_order_id), slot);
        }
        if is_stop {
            self.insert_stop(slot);
        } else {
            self.rest(slot);
        }
        Ok(())
    }

    /// Every account's open-order list is in ascending id: rebuild them in that order.
    fn link_accounts_by_order_id(&mut self) {
        let mut slots: Vec<u32> = Vec::with_capacity(self.order_index.len());
        for symbol in self.symbols.iter().flatten() {
            for side in [Side::Buy, Side::Sell] {
                slots.extend(self.book_slots(symbol, side));
            }
            slots.extend(symbol.buy_stops.iter_best_first().map(|(_, slot)| slot));
            slots.extend(symbol.sell_stops.iter_best_first().map(|(_, slot)| slot));
        }
        slots.sort_unstable_by_key(|slot| self.orders.get(*slot).id);
        for slot in slots {
            self.link_account(slot);
        }
    }
}

fn write_spec(spec: &SymbolSpec, w: &mut Writer) {
    w.u32(spec.symbol);
    w.u16(spec.base);
    w.u16(spec.quote);
    for value in [spec.tick_size, spec.lot_size, spec.min_qty, spec.max_qty, spec.min_notional] {
        w.i64(value);
    }
    w.u32(spec.price_band_bps);
    w.i64(spec.reference_price);
    w.u16(spec.maker_fee_bps);
    w.u16(spec.taker_fee_bps);
}

fn read_spec(r: &mut Reader) -> Result<SymbolSpec, SnapshotError> {
    Ok(SymbolSpec {
        symbol: r.u32()?,
        base: r.u16()?,
        quote: r.u16()?,
        tick_size: r.i64()?,
        lot_size: r.i64()?,
        min_qty: r.i64()?,
        max_qty: r.i64()?,
        min_notional: r.i64()?,
        price_band_bps: r.u32()?,
        reference_price: r.i64()?,
        maker_fee_bps: r.u16()?,
        taker_fee_bps: r.u16()?,
    })
}

fn write_order(order: &Order, w: &mut Writer) {
    for value in [order.id, order.client_order_id, order.expire_ts_ns] {
        w.u64(value);
    }
    for value in [order.price, order.stop_price, order.qty, order.remaining, order.frozen] {
        w.i64(value);
    }
    w.u32(order.account);
    w.u16(order.reserve_bps);
    for value in [order.side as u8, order.order_type as u8, order.time_in_force as u8, order.stp as u8] {
        w.u8(value);
    }
    w.u8(order.post_only as u8);
    w.u8(order.is_quote as u8);
}
