//! NewOrder: the risk checks, in the order docs/ARCHITECTURE.md gives, then acceptance.

use super::state::*;
use super::{Engine, Out};
use crate::command::NewOrder;
use crate::event::{EventBody, EventSink, OrderAccepted};
use crate::math;
use crate::reject::RejectReason::{self, *};
use crate::types::*;

/// What the checks worked out for an order they passed.
#[derive(Clone, Copy)]
struct Admission {
    /// Limit, protection or market limit, in ticks; the reserve is computed at it.
    price: i64,
    stop_price: i64,
    /// Lots, or the quote budget of a market order by quote amount.
    size: i64,
    reserve: i64,
    reserve_bps: u16,
    /// The execution limit of a market order, in ticks.
    market_limit: i64,
    /// The account's base and quote balance records, where they exist already.
    base_balance: Option<u32>,
    quote_balance: Option<u32>,
}

impl Engine {
    /// Checks, accepts and executes a new order; returns its slot if it is still open.
    pub(super) fn new_order<S: EventSink>(
        &mut self,
        command: &NewOrder,
        is_quote: bool,
        out: &mut Out<S>,
    ) -> Result<(), RejectReason> {
        let admission = self.admit(command)?;
        let slot = self.accept(command, &admission, is_quote, out);
        if command.order_type.is_stop() {
            self.insert_stop(slot);
            return Ok(());
        }
        let limit = if command.order_type.is_market() { admission.market_limit } else { admission.price };
        self.execute_taker(slot, limit, out);
        self.run_stop_triggers(command.symbol, out);
        Ok(())
    }

    fn admit(&self, command: &NewOrder) -> Result<Admission, RejectReason> {
        self.check_may_trade(command.account)?;
        let symbol = self.trading_symbol(command.symbol)?;
        check_shape(command, self.now_ns)?;
        self.check_account_limits(command)?;
        let price = check_limit_price(command, symbol)?;
        let stop_price = check_stop_price(command, symbol)?;
        let size = check_size(command, symbol)?;
        check_notional(command, symbol, price, size)?;
        if command.post_only && self.would_take(symbol, command.side, price) {
            return Err(PostOnlyWouldTake);
        }
        self.check_capacity(command, symbol, price)?;
        let reserve_bps = self.fee_bps(symbol, command.account, false);
        let mut admission = Admission {
            price,
            stop_price,
            size,
            reserve: 0,
            reserve_bps,
            market_limit: 0,
            base_balance: None,
            quote_balance: None,
        };
        if !self.config.matching_only {
            admission.base_balance = self.balance_record(command.account, symbol.spec.base);
            admission.quote_balance = self.balance_record(command.account, symbol.spec.quote);
            let missing = admission.base_balance.is_none() as usize + admission.quote_balance.is_none() as usize;
            if !self.has_record_room(missing) {
                return Err(BalanceCapacity);
            }
        }
        self.compute_reserve(command, symbol, &mut admission)?;
        if self.config.matching_only {
            admission.reserve = 0;
            return Ok(admission);
        }
        let reserve_record = if command.side == Side::Buy { admission.quote_balance } else { admission.base_balance };
        let available = reserve_record.map_or(0, |record| self.balances[record as usize].available);
        if available < admission.reserve {
            return Err(InsufficientFunds);
        }
        Ok(admission)
    }

    pub(super) fn check_may_trade(&self, account: AccountId) -> Result<(), RejectReason> {
        match self.account(account)?.status {
            AccountStatus::Active => Ok(()),
            AccountStatus::Frozen => Err(AccountFrozen),
            AccountStatus::TradingRestricted => Err(TradingRestricted),
        }
    }

    pub(super) fn trading_symbol(&self, symbol: SymbolId) -> Result<&SymbolState, RejectReason> {
        let state = self.symbol_state(symbol)?;
        if state.status != SymbolStatus::Trading {
            return Err(SymbolNotTrading);
        }
        Ok(state)
    }

    fn check_account_limits(&self, command: &NewOrder) -> Result<(), RejectReason> {
        let key = (command.account, command.client_order_id);
        if command.client_order_id != 0 && self.client_order_index.contains(&key) {
            return Err(DuplicateClientOrderId);
        }
        let account = &self.accounts[command.account as usize];
        if account.open_orders >= self.tier_max_open_orders[account.fee_tier as usize] {
            return Err(TooManyOpenOrders);
        }
        Ok(())
    }

    /// Whether a limit at `price` would cross the opposite side's best price.
    pub(super) fn would_take(&self, symbol: &SymbolState, side: Side, price: i64) -> bool {
        match (side, symbol.best_price(side.opposite())) {
            (Side::Buy, Some(best_ask)) => price >= best_ask,
            (Side::Sell, Some(best_bid)) => price <= best_bid,
            (_, None) => false,
        }
    }

    fn check_capacity(&self, command: &NewOrder, symbol: &SymbolState, price: i64) -> Result<(), RejectReason> {
        if self.orders.is_full() {
            return Err(OrderCapacity);
        }
        let side = command.side;
        let stop_room = symbol.stops_len(side) < self.config.max_stops_per_side as usize;
        if command.order_type.is_stop() && !stop_room {
            return Err(BookCapacity);
        }
        let may_rest = command.order_type == OrderType::Limit
            && matches!(command.time_in_force, TimeInForce::Gtc | TimeInForce::Gtd);
        if may_rest && !symbol.has_level_room(side, price) {
            return Err(BookCapacity);
        }
        Ok(())
    }

    fn compute_reserve(
        &self,
        command: &NewOrder,
        symbol: &SymbolState,
        admission: &mut Admission,
    ) -> Result<(), RejectReason> {
        let last = symbol.last_price;
        let band = symbol.spec.price_band_bps;
        admission.market_limit = match (command.order_type, command.side) {
            (OrderType::MarketByQty, Side::Buy) => market_buy_limit(symbol, i64::MAX),
            (OrderType::MarketByQty, Side::Sell) if last > 0 => math::band_low(last, band),
            (OrderType::MarketByQty, Side::Sell) => 1,
            (OrderType::MarketByQuote, _) if last > 0 => math::band_high(last, band),
            (OrderType::MarketByQuote, _) => i64::MAX,
            _ => 0,
        };
        if command.side == Side::Sell {
            admission.reserve = admission.size * symbol.lot_size();
            return Ok(());
        }
        admission.price = match command.order_type {
            OrderType::Limit | OrderType::StopLimit => admission.price,
            OrderType::StopMarket => math::band_high(admission.stop_price, band),
            OrderType::MarketByQty => admission.market_limit,
            OrderType::MarketByQuote => 0,
        };
        admission.reserve = if command.order_type == OrderType::MarketByQuote {
            admission.size
        } else {
            let k = symbol.quote_per_tick_lot;
            math::buy_reserve(admission.price, admission.size, k, admission.reserve_bps).ok_or(NotionalOverflow)?
        };
        Ok(())
    }

    fn accept<S: EventSink>(
        &mut self,
        command: &NewOrder,
        admission: &Admission,
        is_quote: bool,
        out: &mut Out<S>,
    ) -> u32 {
        let (base, quote, lot_size, tick_size) = {
            let symbol = self.symbol(command.symbol);
            (symbol.spec.base, symbol.spec.quote, symbol.lot_size(), symbol.tick_size())
        };
        let id = self.next_order_id;
        self.next_order_id += 1;
        let (base_balance, quote_balance) = if self.config.matching_only {
            (NIL, NIL)
        } else {
            let base_balance = admission.base_balance.unwrap_or_else(|| self.ensure_balance(command.account, base));
            let quote_balance = admission.quote_balance.unwrap_or_else(|| self.ensure_balance(command.account, quote));
            (base_balance, quote_balance)
        };
        let by_quote = command.order_type == OrderType::MarketByQuote;
        let slot = self.orders.alloc(Order {
            id,
            client_order_id: command.client_order_id,
            expire_ts_ns: if command.time_in_force == TimeInForce::Gtd { command.expire_ts_ns } else { 0 },
            price: admission.price,
            stop_price: admission.stop_price,
            qty: if by_quote { 0 } else { admission.size },
            remaining: admission.size,
            frozen: admission.reserve,
            account: command.account,
            symbol: command.symbol,
            base_balance,
            quote_balance,
            reserve_bps: admission.reserve_bps,
            side: command.side,
            order_type: command.order_type,
            time_in_force: command.time_in_force,
            stp: command.stp,
            post_only: command.post_only,
            is_quote,
            ..Order::default()
        });
        self.order_index.insert(id, slot);
        if command.client_order_id != 0 {
            self.client_order_index.insert((command.account, command.client_order_id), slot);
        }
        self.link_account(slot);
        if admission.reserve > 0 {
            let record = self.orders.get(slot).reserve_balance();
            self.change_balance(record, -admission.reserve, admission.reserve, BalanceCause::OrderFreeze, id, out);
        }
        let has_price = matches!(command.order_type, OrderType::Limit | OrderType::StopLimit);
        out.emit(EventBody::OrderAccepted(OrderAccepted {
            order_id: id,
            account: command.account,
            symbol: command.symbol,
            client_order_id: command.client_order_id,
            side: command.side,
            order_type: command.order_type,
            time_in_force: command.time_in_force,
            price: if has_price { admission.price * tick_size } else { 0 },
            qty: if by_quote { 0 } else { admission.size * lot_size },
            quote_qty: if by_quote { admission.size } else { 0 },
            stop_price: admission.stop_price * tick_size,
            expire_ts_ns: self.orders.get(slot).expire_ts_ns,
            post_only: command.post_only,
            stp: command.stp,
            frozen: admission.reserve,
        }));
        slot
    }
}

/// The limit of a market buy by quantity: the worst ask, capped by the band and `cap`;
/// 0 when there are no asks, so nothing can fill.
pub(super) fn market_buy_limit(symbol: &SymbolState, cap: i64) -> i64 {
    let Some(worst_ask) = symbol.worst_price(Side::Sell) else {
        return 0;
    };
    let mut limit = worst_ask.min(cap);
    if symbol.last_price > 0 {
        limit = limit.min(math::band_high(symbol.last_price, symbol.spec.price_band_bps));
    }
    limit
}

fn check_shape(command: &NewOrder, now_ns: u64) -> Result<(), RejectReason> {
    use OrderType::*;
    use TimeInForce::*;
    if command.order_type == MarketByQuote && command.side == Side::Sell {
        return Err(UnsupportedOrderType);
    }
    let tif_ok = match command.order_type {
        MarketByQty => matches!(command.time_in_force, Ioc | Fok),
        MarketByQuote | StopMarket => command.time_in_force == Ioc,
        Limit | StopLimit => true,
    };
    if !tif_ok {
        return Err(InvalidTimeInForce);
    }
    if command.post_only && !(command.order_type == Limit && matches!(command.time_in_force, Gtc | Gtd)) {
        return Err(InvalidPostOnly);
    }
    if command.time_in_force == Gtd && command.expire_ts_ns <= now_ns {
        return Err(ExpireTimeInPast);
    }
    Ok(())
}

/// The limit price in ticks, for the types that have one; 0 otherwise.
fn check_limit_price(command: &NewOrder, symbol: &SymbolState) -> Result<i64, RejectReason> {
    if !matches!(command.order_type, OrderType::Limit | OrderType::StopLimit) {
        return Ok(0);
    }
    let ticks = price_to_ticks(command.price, symbol)?;
    let band = symbol.spec.price_band_bps;
    if command.order_type == OrderType::Limit && !math::within_band(ticks, symbol.last_price, band) {
        return Err(PriceOutsideBand);
    }
    Ok(ticks)
}

pub(super) fn price_to_ticks(price: i64, symbol: &SymbolState) -> Result<i64, RejectReason> {
    if price <= 0 {
        return Err(InvalidPrice);
    }
    if price % symbol.tick_size() != 0 {
        return Err(PriceNotTickMultiple);
    }
    Ok(price / symbol.tick_size())
}

fn check_stop_price(command: &NewOrder, symbol: &SymbolState) -> Result<i64, RejectReason> {
    if !command.order_type.is_stop() {
        return Ok(0);
    }
    if command.stop_price <= 0 {
        return Err(InvalidStopPrice);
    }
    if command.stop_price % symbol.tick_size() != 0 {
        return Err(PriceNotTickMultiple);
    }
    let stop = command.stop_price / symbol.tick_size();
    let last = symbol.last_price;
    let reached = match command.side {
        Side::Buy => last >= stop,
        Side::Sell => last <= stop,
    };
    if last > 0 && reached {
        return Err(StopWouldTriggerImmediately);
    }
    Ok(stop)
}

/// Lots, or the quote budget of a market order by quote amount.
fn check_size(command: &NewOrder, symbol: &SymbolState) -> Result<i64, RejectReason> {
    if command.order_type == OrderType::MarketByQuote {
        if command.quote_qty <= 0 {
            return Err(InvalidQuantity);
        }
        if command.quote_qty < symbol.spec.min_notional {
            return Err(NotionalBelowMin);
        }
        return Ok(command.quote_qty);
    }
    check_qty(command.qty, symbol).map(|lots| lots / symbol.lot_size())
}

/// A base quantity checked against the symbol's rules; returns it unchanged.
pub(super) fn check_qty(qty: i64, symbol: &SymbolState) -> Result<i64, RejectReason> {
    if qty <= 0 {
        return Err(InvalidQuantity);
    }
    if qty % symbol.lot_size() != 0 {
        return Err(QuantityNotLotMultiple);
    }
    if qty < symbol.spec.min_qty {
        return Err(QuantityBelowMin);
    }
    if qty > symbol.spec.max_qty {
        return Err(QuantityAboveMax);
    }
    Ok(qty)
}

fn check_notional(command: &NewOrder, symbol: &SymbolState, price: i64, lots: i64) -> Result<(), RejectReason> {
    if !matches!(command.order_type, OrderType::Limit | OrderType::StopLimit) {
        return Ok(());
    }
    check_limit_notional(symbol, price, lots)
}

pub(super) fn check_limit_notional(symbol: &SymbolState, price: i64, lots: i64) -> Result<(), RejectReason> {
    let notional = math::notional(price, lots, symbol.quote_per_tick_lot).ok_or(NotionalOverflow)?;
    if notional < symbol.spec.min_notional {
        return Err(NotionalBelowMin);
    }
    Ok(())
}
