//! Cancel, CancelAll, AdminCancel, Amend and MassQuote.

use super::admission::{check_limit_notional, check_qty, price_to_ticks};
use super::state::*;
use super::{Engine, Out};
use crate::command::{Amend, Cancel, CancelAll, MassQuote, NewOrder};
use crate::event::{EventBody, EventSink, OrderAmended};
use crate::math;
use crate::reject::RejectReason::{self, *};
use crate::types::*;

type Outcome = Result<(), RejectReason>;

impl Engine {
    /// The account's open order named by id, or by client order id when the id is 0.
    fn find_own_order(&self, account: AccountId, order_id: OrderId, client_order_id: u64) -> Result<u32, RejectReason> {
        let slot = if order_id != 0 {
            self.order_index.get(&order_id)
        } else if client_order_id != 0 {
            self.client_order_index.get(&(account, client_order_id))
        } else {
            None
        };
        slot.filter(|slot| self.orders.get(*slot).account == account).ok_or(UnknownOrder)
    }

    pub(super) fn cancel<S: EventSink>(&mut self, cancel: Cancel, out: &mut Out<S>) -> Outcome {
        self.account(cancel.account)?;
        let slot = self.find_own_order(cancel.account, cancel.order_id, cancel.client_order_id)?;
        self.cancel_order(slot, CancelReason::User, out);
        Ok(())
    }

    pub(super) fn cancel_all<S: EventSink>(&mut self, cancel_all: CancelAll, out: &mut Out<S>) -> Outcome {
        self.account(cancel_all.account)?;
        if let Some(symbol) = cancel_all.symbol {
            self.symbol_state(symbol)?;
        }
        self.gather_account_orders(cancel_all.account, |order| {
            cancel_all.symbol.is_none_or(|symbol| order.symbol == symbol)
                && cancel_all.side.is_none_or(|side| order.side == side)
        });
        self.cancel_scratch(CancelReason::User, out);
        Ok(())
    }

    pub(super) fn admin_cancel<S: EventSink>(&mut self, order_id: OrderId, out: &mut Out<S>) -> Outcome {
        let slot = self.order_index.get(&order_id).ok_or(UnknownOrder)?;
        self.cancel_order(slot, CancelReason::Admin, out);
        Ok(())
    }

    pub(super) fn amend<S: EventSink>(&mut self, amend: Amend, out: &mut Out<S>) -> Outcome {
        self.check_may_trade(amend.account)?;
        let slot = self.find_own_order(amend.account, amend.order_id, amend.client_order_id)?;
        let order = *self.orders.get(slot);
        if order.level == NIL {
            return Err(OrderNotAmendable);
        }
        let (price, lots, reserve) = self.check_amend(&order, amend)?;
        let delta = reserve - order.frozen;
        if delta != 0 {
            let cause = if delta > 0 { BalanceCause::OrderFreeze } else { BalanceCause::OrderRelease };
            self.orders.get_mut(slot).frozen = reserve;
            self.change_balance(order.reserve_balance(), -delta, delta, cause, order.id, out);
        }
        let priority_kept = price == order.price && lots < order.qty;
        let tick_size = self.symbol(order.symbol).tick_size();
        let lot_size = self.symbol(order.symbol).lot_size();
        out.emit(EventBody::OrderAmended(OrderAmended {
            order_id: order.id,
            account: order.account,
            symbol: order.symbol,
            side: order.side,
            old_price: order.price * tick_size,
            new_price: price * tick_size,
            old_qty: order.qty * lot_size,
            new_qty: lots * lot_size,
            priority_kept,
        }));
        let new_remaining = lots - (order.qty - order.remaining);
        if priority_kept {
            self.levels.get_mut(order.level).total_lots -= order.remaining - new_remaining;
            let amended = self.orders.get_mut(slot);
            amended.qty = lots;
            amended.remaining = new_remaining;
            return Ok(());
        }
        self.unlink_from_level(slot);
        let replaced = self.orders.get_mut(slot);
        replaced.price = price;
        replaced.qty = lots;
        replaced.remaining = new_remaining;
        self.execute_taker(slot, price, out);
        self.run_stop_triggers(order.symbol, out);
        Ok(())
    }

    /// The amend's checks after the order is found; gives the new price (ticks), total
    /// lots and reserve.
    fn check_amend(&self, order: &Order, amend: Amend) -> Result<(i64, i64, i64), RejectReason> {
        let symbol = self.trading_symbol(order.symbol)?;
        let price = price_to_ticks(amend.new_price, symbol)?;
        if amend.new_qty <= 0 {
            return Err(InvalidQuantity);
        }
        if amend.new_qty % symbol.lot_size() != 0 {
            return Err(QuantityNotLotMultiple);
        }
        let lots = amend.new_qty / symbol.lot_size();
        let filled = order.qty - order.remaining;
        if lots <= filled {
            return Err(AmendBelowFilled);
        }
        check_qty(amend.new_qty, symbol)?;
        if price == order.price && lots == order.qty {
            return Err(AmendNoChange);
        }
        let price_changed = price != order.price;
        if price_changed && !math::within_band(price, symbol.last_price, symbol.spec.price_band_bps) {
            return Err(PriceOutsideBand);
        }
        check_limit_notional(symbol, price, lots)?;
        if order.post_only && self.would_take(symbol, order.side, price) {
            return Err(PostOnlyWouldTake);
        }
        if price_changed && !symbol.has_level_room(order.side, price) {
            return Err(BookCapacity);
        }
        let remaining = lots - filled;
        if self.config.matching_only {
            return Ok((price, lots, 0));
        }
        let reserve = match order.side {
            Side::Sell => remaining * symbol.lot_size(),
            Side::Buy => math::buy_reserve(price, remaining, symbol.quote_per_tick_lot, order.reserve_bps)
                .ok_or(NotionalOverflow)?,
        };
        let reserve_asset = if order.side == Side::Buy { symbol.spec.quote } else { symbol.spec.base };
        if reserve - order.frozen > self.balance_available(order.account, reserve_asset) {
            return Err(InsufficientFunds);
        }
        Ok((price, lots, reserve))
    }

    pub(super) fn mass_quote<S: EventSink>(&mut self, quote: MassQuote, out: &mut Out<S>) -> Outcome {
        self.check_may_trade(quote.account)?;
        self.trading_symbol(quote.symbol)?;
        if quote.bid_qty != 0 && quote.ask_qty != 0 && quote.bid_price >= quote.ask_price {
            return Err(CrossedQuote);
        }
        self.gather_account_orders(quote.account, |order| order.is_quote && order.symbol == quote.symbol);
        self.cancel_scratch(CancelReason::User, out);
        let legs = [(Side::Buy, quote.bid_price, quote.bid_qty), (Side::Sell, quote.ask_price, quote.ask_qty)];
        for (side, price, qty) in legs {
            if qty == 0 {
                continue;
            }
            let leg = NewOrder::quote_leg(&quote, side, price, qty);
            if let Err(reason) = self.new_order(&leg, true, out) {
                let command = crate::command::Command::MassQuote(quote);
                out.emit(EventBody::Rejected(command.rejection(reason)));
            }
        }
        Ok(())
    }
}
