//! Order entry and removal: NewOrder, Cancel, CancelAll, AdminCancel, Amend, MassQuote and
//! GTD expiry.

use super::{Account, Order, Place, ReferenceEngine, Symbol};
use crate::command::{Amend, Cancel, CancelAll, MassQuote, NewOrder};
use crate::event::{EventBody, OrderAccepted, OrderAmended, OrderCancelled};
use crate::math::{band_high, band_low, buy_reserve, notional, within_band};
use crate::reject::RejectReason::{self, *};
use crate::types::*;

/// What the NewOrder checks work out, so acceptance itself cannot fail.
#[derive(Debug, Clone, Copy)]
pub(super) struct Plan {
    /// Limit price in ticks (Limit, StopLimit), else 0.
    price: i64,
    /// Stop price in ticks (stop types), else 0.
    stop: i64,
    /// Quantity in lots; 0 by quote.
    lots: i64,
    /// Quote budget by quote, else 0.
    budget: i64,
    reserve: i64,
    reserve_ticks: i64,
    reserve_bps: u16,
    /// The taker's price limit in ticks for immediate execution (non-stop types).
    limit: i64,
}

impl ReferenceEngine {
    pub(super) fn new_order(&mut self, order: &NewOrder) -> Result<(), RejectReason> {
        let plan = self.check_new_order(order)?;
        self.accept_order(order, plan, false);
        Ok(())
    }

    /// NewOrder checks 1 to 15, in order.
    pub(super) fn check_new_order(&self, c: &NewOrder) -> Result<Plan, RejectReason> {
        let account = self.trading_account(c.account)?;
        let symbol = self.symbols.get(&c.symbol).ok_or(UnknownSymbol)?;
        if symbol.status != SymbolStatus::Trading {
            return Err(SymbolNotTrading);
        }
        check_type_and_tif(c)?;
        let post_only_ok =
            c.order_type == OrderType::Limit && matches!(c.time_in_force, TimeInForce::Gtc | TimeInForce::Gtd);
        if c.post_only && !post_only_ok {
            return Err(InvalidPostOnly);
        }
        if c.time_in_force == TimeInForce::Gtd && c.expire_ts_ns <= self.now {
            return Err(ExpireTimeInPast);
        }
        let duplicate = |o: &Order| o.account == c.account && o.client_order_id == c.client_order_id;
        if c.client_order_id != 0 && self.orders_of(c.account).any(duplicate) {
            return Err(DuplicateClientOrderId);
        }
        if self.open_orders_of(c.account) >= self.tier_limits[account.fee_tier as usize] as usize {
            return Err(TooManyOpenOrders);
        }
        let has_limit = matches!(c.order_type, OrderType::Limit | OrderType::StopLimit);
        let price = if has_limit { check_price(symbol, c.price)? } else { 0 };
        if c.order_type == OrderType::Limit && !within_band(price, symbol.last, symbol.spec.price_band_bps) {
            return Err(PriceOutsideBand);
        }
        let stop = if c.order_type.is_stop() { check_stop(symbol, c.side, c.stop_price)? } else { 0 };
        let (lots, budget) = check_size(symbol, c)?;
        if has_limit {
            let value = notional(price, lots, symbol.k).ok_or(NotionalOverflow)?;
            if value < symbol.spec.min_notional {
                return Err(NotionalBelowMin);
            }
        }
        if c.post_only && symbol.would_cross(c.side, price) {
            return Err(PostOnlyWouldTake);
        }
        self.check_capacity(symbol, c, price)?;
        self.check_balance_records(c.account, symbol)?;
        self.plan_funds(
            account,
            symbol,
            c,
            Plan { price, stop, lots, budget, reserve: 0, reserve_ticks: 0, reserve_bps: 0, limit: 0 },
        )
    }

    /// The account checks shared by NewOrder, Amend and MassQuote.
    fn trading_account(&self, account: AccountId) -> Result<Account, RejectReason> {
        let account = *self.accounts.get(&account).ok_or(UnknownAccount)?;
        match account.status {
            AccountStatus::Active => Ok(account),
            AccountStatus::Frozen => Err(AccountFrozen),
            AccountStatus::TradingRestricted => Err(TradingRestricted),
        }
    }

    /// Check 13.
    fn check_capacity(&self, symbol: &Symbol, c: &NewOrder, price: i64) -> Result<(), RejectReason> {
        if self.orders.len() >= self.config.max_orders as usize {
            return Err(OrderCapacity);
        }
        if c.order_type.is_stop() && symbol.stop_count(c.side) >= self.config.max_stops_per_side as usize {
            return Err(BookCapacity);
        }
        let rests = c.order_type == OrderType::Limit && matches!(c.time_in_force, TimeInForce::Gtc | TimeInForce::Gtd);
        if rests && !symbol.has_room_for_level(c.side, price, self.config.max_levels_per_side) {
            return Err(BookCapacity);
        }
        Ok(())
    }

    /// Check 14: the base and quote records exist or fit.
    fn check_balance_records(&self, account: AccountId, symbol: &Symbol) -> Result<(), RejectReason> {
        let missing = [symbol.spec.base, symbol.spec.quote]
            .iter()
            .filter(|asset| !self.balances.contains_key(&(account, **asset)))
            .count();
        if self.balances.len() + missing > self.config.max_balances as usize {
            return Err(BalanceCapacity);
        }
        Ok(())
    }

    /// Check 15, completing the plan with the reserve and the execution limit.
    fn plan_funds(
        &self,
        account: Account,
        symbol: &Symbol,
        c: &NewOrder,
        mut plan: Plan,
    ) -> Result<Plan, RejectReason> {
        let band = symbol.spec.price_band_bps;
        let last = symbol.last;
        plan.reserve_bps = symbol.taker_bps(account.fee_tier);
        plan.limit = match (c.order_type, c.side) {
            (OrderType::Limit | OrderType::StopLimit, _) => plan.price,
            (OrderType::MarketByQty, Side::Buy) => match symbol.worst(Side::Sell) {
                None => 0,
                Some(worst) if last != 0 => worst.min(band_high(last, band)),
                Some(worst) => worst,
            },
            (OrderType::MarketByQty, Side::Sell) if last != 0 => band_low(last, band),
            (OrderType::MarketByQty, Side::Sell) => 1,
            (OrderType::MarketByQuote, _) if last != 0 => band_high(last, band),
            (OrderType::MarketByQuote, _) => i64::MAX,
            // Set when the stop triggers.
            (OrderType::StopMarket, _) => 0,
        };
        plan.reserve_ticks = match (c.order_type, c.side) {
            (_, Side::Sell) | (OrderType::MarketByQuote, _) => 0,
            (OrderType::Limit | OrderType::StopLimit, Side::Buy) => plan.price,
            (OrderType::StopMarket, Side::Buy) => band_high(plan.stop, band),
            (OrderType::MarketByQty, Side::Buy) => plan.limit,
        };
        let reserve = match (c.order_type, c.side) {
            (OrderType::MarketByQuote, _) => Some(plan.budget),
            (_, Side::Sell) => Some(symbol.qty(plan.lots)),
            (_, Side::Buy) => buy_reserve(plan.reserve_ticks, plan.lots, symbol.k, plan.reserve_bps),
        };
        plan.reserve = reserve.ok_or(NotionalOverflow)?;
        let asset = match c.side {
            Side::Buy => symbol.spec.quote,
            Side::Sell => symbol.spec.base,
        };
        if self.available(c.account, asset) < plan.reserve {
            return Err(InsufficientFunds);
        }
        Ok(plan)
    }

    /// NewOrder effects: id, records, freeze, OrderAccepted, then the stop index or execution
    /// and the stop triggers.
    pub(super) fn accept_order(&mut self, c: &NewOrder, plan: Plan, is_quote: bool) {
        let id = self.next_order_id;
        self.next_order_id += 1;
        let spec = self.symbols[&c.symbol].spec;
        self.balances.entry((c.account, spec.base)).or_default();
        self.balances.entry((c.account, spec.quote)).or_default();
        if plan.reserve > 0 {
            let asset = self.reserve_asset(c.symbol, c.side);
            self.change_balance(c.account, asset, BalanceCause::OrderFreeze, id, -plan.reserve, plan.reserve);
        }
        let is_gtd = c.time_in_force == TimeInForce::Gtd;
        let order = Order {
            id,
            account: c.account,
            symbol: c.symbol,
            side: c.side,
            order_type: c.order_type,
            tif: c.time_in_force,
            price: plan.price,
            stop: plan.stop,
            qty: plan.lots,
            remaining: plan.lots,
            budget: plan.budget,
            frozen: plan.reserve,
            reserve_ticks: plan.reserve_ticks,
            reserve_bps: plan.reserve_bps,
            client_order_id: c.client_order_id,
            expire_ts_ns: if is_gtd { c.expire_ts_ns } else { 0 },
            stp: c.stp,
            post_only: c.post_only,
            is_quote,
            place: if c.order_type.is_stop() { Place::Stop } else { Place::Taking },
        };
        self.emit_accepted(&order, c);
        self.orders_by_account.entry(order.account).or_default().insert(id);
        self.orders.insert(id, order);
        if is_gtd {
            self.gtd.insert((order.expire_ts_ns, id));
        }
        if c.order_type.is_stop() {
            self.symbols.get_mut(&c.symbol).expect("checked").add_stop(c.side, plan.stop, id);
            return;
        }
        self.execute_taker(id, plan.limit);
        self.run_stop_triggers(c.symbol);
    }

    fn emit_accepted(&mut self, order: &Order, c: &NewOrder) {
        let by_quote = c.order_type == OrderType::MarketByQuote;
        let has_limit = matches!(c.order_type, OrderType::Limit | OrderType::StopLimit);
        self.emit(EventBody::OrderAccepted(OrderAccepted {
            order_id: order.id,
            account: c.account,
            symbol: c.symbol,
            client_order_id: c.client_order_id,
            side: c.side,
            order_type: c.order_type,
            time_in_force: c.time_in_force,
            price: if has_limit { c.price } else { 0 },
            qty: if by_quote { 0 } else { c.qty },
            quote_qty: if by_quote { c.quote_qty } else { 0 },
            stop_price: if c.order_type.is_stop() { c.stop_price } else { 0 },
            expire_ts_ns: order.expire_ts_ns,
            post_only: c.post_only,
            stp: c.stp,
            frozen: order.frozen,
        }));
    }

    pub(super) fn cancel(&mut self, c: &Cancel) -> Result<(), RejectReason> {
        if !self.accounts.contains_key(&c.account) {
            return Err(UnknownAccount);
        }
        let id = self.find_own_order(c.account, c.order_id, c.client_order_id)?;
        self.cancel_order(id, CancelReason::User);
        Ok(())
    }

    pub(super) fn cancel_all(&mut self, c: &CancelAll) -> Result<(), RejectReason> {
        if !self.accounts.contains_key(&c.account) {
            return Err(UnknownAccount);
        }
        if let Some(symbol) = c.symbol {
            if !self.symbols.contains_key(&symbol) {
                return Err(UnknownSymbol);
            }
        }
        let ids: Vec<OrderId> = self
            .orders_of(c.account)
            .filter(|o| c.symbol.is_none_or(|s| s == o.symbol))
            .filter(|o| c.side.is_none_or(|s| s == o.side))
            .map(|o| o.id)
            .collect();
        for id in ids {
            self.cancel_order(id, CancelReason::User);
        }
        Ok(())
    }

    pub(super) fn admin_cancel(&mut self, order_id: OrderId) -> Result<(), RejectReason> {
        if !self.orders.contains_key(&order_id) {
            return Err(UnknownOrder);
        }
        self.cancel_order(order_id, CancelReason::Admin);
        Ok(())
    }

    /// Finds an account's open order by id, or by a non-zero client order id when the id is 0.
    fn find_own_order(
        &self,
        account: AccountId,
        order_id: OrderId,
        client_order_id: u64,
    ) -> Result<OrderId, RejectReason> {
        let found = if order_id != 0 {
            self.orders.get(&order_id).filter(|o| o.account == account)
        } else if client_order_id != 0 {
            self.orders_of(account).find(|o| o.client_order_id == client_order_id)
        } else {
            None
        };
        found.map(|o| o.id).ok_or(UnknownOrder)
    }

    /// Cancels every due GTD order, earliest expiry first.
    pub(super) fn expire_gtd(&mut self) {
        let due: Vec<OrderId> =
            self.gtd.iter().take_while(|(expiry, _)| *expiry <= self.now).map(|(_, id)| *id).collect();
        for id in due {
            self.cancel_order(id, CancelReason::Expired);
        }
    }

    /// Removes an order from everywhere, emits `OrderCancelled`, then its release.
    pub(super) fn cancel_order(&mut self, id: OrderId, reason: CancelReason) {
        let order = self.remove_order(id);
        let symbol = &self.symbols[&order.symbol];
        let remaining = if order.is_by_quote() { order.budget } else { symbol.qty(order.remaining) };
        self.emit(EventBody::OrderCancelled(OrderCancelled {
            order_id: id,
            account: order.account,
            symbol: order.symbol,
            side: order.side,
            remaining,
            reason,
        }));
        if order.frozen > 0 {
            let asset = self.reserve_asset(order.symbol, order.side);
            self.change_balance(order.account, asset, BalanceCause::OrderRelease, id, order.frozen, -order.frozen);
        }
    }

    /// Takes an order out of the order map, its book level or stop index, and the GTD index.
    /// Emits nothing.
    pub(super) fn remove_order(&mut self, id: OrderId) -> Order {
        let order = self.orders.remove(&id).expect("removing an open order");
        self.orders_by_account.get_mut(&order.account).expect("account index").remove(&id);
        if order.tif == TimeInForce::Gtd {
            self.gtd.remove(&(order.expire_ts_ns, id));
        }
        let symbol = self.symbols.get_mut(&order.symbol).expect("an order's symbol exists");
        match order.place {
            Place::Book => symbol.unlink(order.side, order.price, id),
            Place::Stop => symbol.remove_stop(order.side, order.stop, id),
            Place::Taking => {}
        }
        order
    }

    pub(super) fn amend(&mut self, a: &Amend) -> Result<(), RejectReason> {
        self.trading_account(a.account)?;
        let id = self.find_own_order(a.account, a.order_id, a.client_order_id)?;
        let order = self.orders[&id];
        if order.place != Place::Book {
            return Err(OrderNotAmendable);
        }
        let symbol = &self.symbols[&order.symbol];
        if symbol.status != SymbolStatus::Trading {
            return Err(SymbolNotTrading);
        }
        let new_ticks = check_price(symbol, a.new_price)?;
        let filled = order.qty - order.remaining;
        let new_lots = check_qty(symbol, a.new_qty, filled)?;
        let price_changed = new_ticks != order.price;
        if !price_changed && new_lots == order.qty {
            return Err(AmendNoChange);
        }
        if price_changed && !within_band(new_ticks, symbol.last, symbol.spec.price_band_bps) {
            return Err(PriceOutsideBand);
        }
        let value = notional(new_ticks, new_lots, symbol.k).ok_or(NotionalOverflow)?;
        if value < symbol.spec.min_notional {
            return Err(NotionalBelowMin);
        }
        if order.post_only && symbol.would_cross(order.side, new_ticks) {
            return Err(PostOnlyWouldTake);
        }
        if price_changed && !symbol.has_room_for_level(order.side, new_ticks, self.config.max_levels_per_side) {
            return Err(BookCapacity);
        }
        let new_remaining = new_lots - filled;
        let new_reserve = match order.side {
            Side::Buy => buy_reserve(new_ticks, new_remaining, symbol.k, order.reserve_bps).ok_or(NotionalOverflow)?,
            Side::Sell => symbol.qty(new_remaining),
        };
        let asset = self.reserve_asset(order.symbol, order.side);
        let delta = new_reserve - order.frozen;
        if delta > self.available(order.account, asset) {
            return Err(InsufficientFunds);
        }
        self.apply_amend(order, new_ticks, new_lots, new_reserve);
        Ok(())
    }

    /// Amend effects: the reserve change, `OrderAmended`, then either the order stays put or
    /// it re-enters as a taker and the stop triggers run.
    fn apply_amend(&mut self, order: Order, new_ticks: i64, new_lots: i64, new_reserve: i64) {
        let id = order.id;
        let delta = new_reserve - order.frozen;
        if delta != 0 {
            let cause = if delta > 0 { BalanceCause::OrderFreeze } else { BalanceCause::OrderRelease };
            let asset = self.reserve_asset(order.symbol, order.side);
            self.change_balance(order.account, asset, cause, id, -delta, delta);
        }
        let priority_kept = new_ticks == order.price && new_lots < order.qty;
        let symbol = &self.symbols[&order.symbol];
        self.emit(EventBody::OrderAmended(OrderAmended {
            order_id: id,
            account: order.account,
            symbol: order.symbol,
            side: order.side,
            old_price: symbol.price(order.price),
            new_price: symbol.price(new_ticks),
            old_qty: symbol.qty(order.qty),
            new_qty: symbol.qty(new_lots),
            priority_kept,
        }));
        if !priority_kept {
            let symbol = self.symbols.get_mut(&order.symbol).expect("an order's symbol exists");
            symbol.unlink(order.side, order.price, id);
        }
        let entry = self.orders.get_mut(&id).expect("amending an open order");
        entry.remaining = new_lots - (order.qty - order.remaining);
        entry.qty = new_lots;
        entry.price = new_ticks;
        entry.frozen = new_reserve;
        if order.side == Side::Buy {
            entry.reserve_ticks = new_ticks;
        }
        if priority_kept {
            return;
        }
        entry.place = Place::Taking;
        self.execute_taker(id, new_ticks);
        self.run_stop_triggers(order.symbol);
    }

    pub(super) fn mass_quote(&mut self, q: &MassQuote) -> Result<(), RejectReason> {
        self.trading_account(q.account)?;
        let symbol = self.symbols.get(&q.symbol).ok_or(UnknownSymbol)?;
        if symbol.status != SymbolStatus::Trading {
            return Err(SymbolNotTrading);
        }
        if q.bid_qty != 0 && q.ask_qty != 0 && q.bid_price >= q.ask_price {
            return Err(CrossedQuote);
        }
        let earlier: Vec<OrderId> =
            self.orders_of(q.account).filter(|o| o.symbol == q.symbol && o.is_quote).map(|o| o.id).collect();
        for id in earlier {
            self.cancel_order(id, CancelReason::User);
        }
        for (side, price, qty) in [(Side::Buy, q.bid_price, q.bid_qty), (Side::Sell, q.ask_price, q.ask_qty)] {
            if qty != 0 {
                self.place_quote_leg(q, side, price, qty);
            }
        }
        Ok(())
    }

    fn place_quote_leg(&mut self, q: &MassQuote, side: Side, price: i64, qty: i64) {
        let leg = NewOrder::quote_leg(q, side, price, qty);
        match self.check_new_order(&leg) {
            Ok(plan) => self.accept_order(&leg, plan, true),
            Err(reason) => self.reject_quote_leg(q.account, reason),
        }
    }
}

/// Check 3: the type and its time in force.
fn check_type_and_tif(c: &NewOrder) -> Result<(), RejectReason> {
    if c.order_type == OrderType::MarketByQuote && c.side == Side::Sell {
        return Err(UnsupportedOrderType);
    }
    let tif_ok = match c.order_type {
        OrderType::MarketByQty => matches!(c.time_in_force, TimeInForce::Ioc | TimeInForce::Fok),
        OrderType::MarketByQuote | OrderType::StopMarket => c.time_in_force == TimeInForce::Ioc,
        OrderType::Limit | OrderType::StopLimit => true,
    };
    if tif_ok {
        Ok(())
    } else {
        Err(InvalidTimeInForce)
    }
}

/// A limit price: positive and a tick multiple. Returns ticks.
fn check_price(symbol: &Symbol, price: i64) -> Result<i64, RejectReason> {
    if price <= 0 {
        return Err(InvalidPrice);
    }
    if price % symbol.spec.tick_size != 0 {
        return Err(PriceNotTickMultiple);
    }
    Ok(price / symbol.spec.tick_size)
}

/// Check 9: a stop price, positive, a tick multiple and not already reached. Returns ticks.
fn check_stop(symbol: &Symbol, side: Side, stop_price: i64) -> Result<i64, RejectReason> {
    if stop_price <= 0 {
        return Err(InvalidStopPrice);
    }
    if stop_price % symbol.spec.tick_size != 0 {
        return Err(PriceNotTickMultiple);
    }
    let stop = stop_price / symbol.spec.tick_size;
    let last = symbol.last;
    let reached = match side {
        Side::Buy => last >= stop,
        Side::Sell => last <= stop,
    };
    if last != 0 && reached {
        return Err(StopWouldTriggerImmediately);
    }
    Ok(stop)
}

/// Check 10. Returns (lots, budget).
fn check_size(symbol: &Symbol, c: &NewOrder) -> Result<(i64, i64), RejectReason> {
    if c.order_type == OrderType::MarketByQuote {
        if c.quote_qty <= 0 {
            return Err(InvalidQuantity);
        }
        if c.quote_qty < symbol.spec.min_notional {
            return Err(NotionalBelowMin);
        }
        return Ok((0, c.quote_qty));
    }
    Ok((check_qty(symbol, c.qty, 0)?, 0))
}

/// A base quantity: positive, a lot multiple, above `filled_lots` (0 for a new order), within
/// the symbol's min and max. Returns lots.
fn check_qty(symbol: &Symbol, qty: i64, filled_lots: i64) -> Result<i64, RejectReason> {
    let spec = &symbol.spec;
    if qty <= 0 {
        return Err(InvalidQuantity);
    }
    if qty % spec.lot_size != 0 {
        return Err(QuantityNotLotMultiple);
    }
    let lots = qty / spec.lot_size;
    if lots <= filled_lots {
        return Err(AmendBelowFilled);
    }
    if qty < spec.min_qty {
        return Err(QuantityBelowMin);
    }
    if qty > spec.max_qty {
        return Err(QuantityAboveMax);
    }
    Ok(lots)
}
