//! Taker execution: FOK pre-check, price-time matching with self-trade prevention, trade
//! settlement, the remainder, and stop triggers.

use super::admission::market_buy_limit;
use super::state::*;
use super::{Engine, Out};
use crate::event::{EventBody, EventSink, StopTriggered, Trade};
use crate::math;
use crate::types::*;

/// How matching one taker ended.
#[derive(PartialEq, Eq)]
enum Outcome {
    /// The taker may have something left.
    Stopped,
    /// Self-trade prevention cancelled the taker.
    TakerCancelled,
}

impl Engine {
    /// Executes an accepted order against the book, then rests or cancels what is left.
    pub(super) fn execute_taker<S: EventSink>(&mut self, taker: u32, limit: i64, out: &mut Out<S>) {
        let order = *self.orders.get(taker);
        if order.time_in_force == TimeInForce::Fok && !self.fok_fillable(&order, limit) {
            self.cancel_order(taker, CancelReason::Fok, out);
            return;
        }
        if self.match_taker(taker, limit, out) == Outcome::TakerCancelled {
            return;
        }
        let order = *self.orders.get(taker);
        if order.remaining == 0 {
            self.release_order_funds(taker, out);
            self.remove_order(taker);
        } else if !order.may_rest() {
            self.cancel_order(taker, CancelReason::IocRemainder, out);
        } else if self.symbol(order.symbol).has_level_room(order.side, order.price) {
            self.rest(taker);
        } else {
            self.cancel_order(taker, CancelReason::BookCapacity, out);
        }
    }

    /// Whether the opposite side holds enough, within `limit`, to fill the whole order.
    fn fok_fillable(&self, taker: &Order, limit: i64) -> bool {
        let symbol = self.symbol(taker.symbol);
        let mut needed = taker.remaining;
        for (_, level_slot) in symbol.book(taker.side.opposite()).iter_best_first() {
            let level = self.levels.get(level_slot);
            if !crosses(taker.side, level.price, limit) {
                return false;
            }
            let mut slot = level.head;
            while slot != NIL {
                let maker = self.orders.get(slot);
                if maker.account == taker.account && taker.stp != SelfTradePrevention::None {
                    if taker.stp != SelfTradePrevention::ExpireMaker {
                        return false;
                    }
                } else {
                    needed -= maker.remaining;
                    if needed <= 0 {
                        return true;
                    }
                }
                slot = maker.next;
            }
        }
        false
    }

    fn match_taker<S: EventSink>(&mut self, taker: u32, limit: i64, out: &mut Out<S>) -> Outcome {
        loop {
            let order = *self.orders.get(taker);
            let symbol = self.symbol(order.symbol);
            let Some((_, level_slot)) = symbol.book(order.side.opposite()).last() else {
                return Outcome::Stopped;
            };
            let level = *self.levels.get(level_slot);
            if order.remaining == 0 || !crosses(order.side, level.price, limit) {
                return Outcome::Stopped;
            }
            let taker_lots = if order.by_quote() {
                order.remaining / (level.price * symbol.quote_per_tick_lot)
            } else {
                order.remaining
            };
            if taker_lots == 0 {
                return Outcome::Stopped;
            }
            let maker_slot = level.head;
            let maker = *self.orders.get(maker_slot);
            if maker.account == order.account && order.stp != SelfTradePrevention::None {
                if self.prevent_self_trade(taker, maker_slot, order.stp, out) {
                    return Outcome::TakerCancelled;
                }
                continue;
            }
            self.trade(taker, maker_slot, maker.remaining.min(taker_lots), out);
        }
    }

    /// Applies the taker's STP mode; returns whether the taker was cancelled.
    fn prevent_self_trade<S: EventSink>(
        &mut self,
        taker: u32,
        maker: u32,
        mode: SelfTradePrevention,
        out: &mut Out<S>,
    ) -> bool {
        let reason = CancelReason::SelfTradePrevention;
        if matches!(mode, SelfTradePrevention::ExpireMaker | SelfTradePrevention::ExpireBoth) {
            self.cancel_order(maker, reason, out);
        }
        if matches!(mode, SelfTradePrevention::ExpireTaker | SelfTradePrevention::ExpireBoth) {
            self.cancel_order(taker, reason, out);
            return true;
        }
        false
    }

    /// One execution of `lots` at the maker's price, settled at once.
    fn trade<S: EventSink>(&mut self, taker_slot: u32, maker_slot: u32, lots: i64, out: &mut Out<S>) {
        let taker = *self.orders.get(taker_slot);
        let maker = *self.orders.get(maker_slot);
        let symbol = self.symbol(taker.symbol);
        let price = maker.price;
        let notional = math::notional(price, lots, symbol.quote_per_tick_lot).expect("notional covered by a reserve");
        let qty = lots * symbol.lot_size();
        let (buyer_slot, seller_slot) = match taker.side {
            Side::Buy => (taker_slot, maker_slot),
            Side::Sell => (maker_slot, taker_slot),
        };
        let buyer_fee =
            math::fee_ceil(qty, self.fee_bps(symbol, self.orders.get(buyer_slot).account, buyer_slot == maker_slot));
        let seller_fee = math::fee_ceil(
            notional,
            self.fee_bps(symbol, self.orders.get(seller_slot).account, seller_slot == maker_slot),
        );
        let (base, quote, tick_size) = (symbol.spec.base, symbol.spec.quote, symbol.tick_size());

        self.levels.get_mut(maker.level).total_lots -= lots;
        self.orders.get_mut(maker_slot).remaining -= lots;
        self.orders.get_mut(taker_slot).remaining -= if taker.by_quote() { notional } else { lots };
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        self.symbol_mut(taker.symbol).last_price = price;
        let (maker_fee, taker_fee) =
            if taker.side == Side::Buy { (seller_fee, buyer_fee) } else { (buyer_fee, seller_fee) };
        let (maker_after, taker_after) = (*self.orders.get(maker_slot), *self.orders.get(taker_slot));
        out.emit(EventBody::Trade(Trade {
            trade_id,
            symbol: taker.symbol,
            price: price * tick_size,
            qty,
            notional,
            taker_side: taker.side,
            maker_order_id: maker.id,
            taker_order_id: taker.id,
            maker_account: maker.account,
            taker_account: taker.account,
            maker_fee,
            taker_fee,
            maker_remaining: self.remaining_external(&maker_after),
            taker_remaining: self.remaining_external(&taker_after),
        }));
        if self.config.matching_only {
            if maker_after.remaining == 0 {
                self.remove_order(maker_slot);
            }
            return;
        }
        self.settle_buyer(buyer_slot, lots, notional, qty - buyer_fee, trade_id, out);
        let seller = *self.orders.get(seller_slot);
        self.orders.get_mut(seller_slot).frozen -= qty;
        let cause = BalanceCause::TradeSettlement;
        self.change_balance(seller.base_balance, 0, -qty, cause, trade_id, out);
        self.change_balance(seller.quote_balance, notional - seller_fee, 0, cause, trade_id, out);
        self.assets[base as usize].fees_collected += buyer_fee;
        self.assets[quote as usize].fees_collected += seller_fee;
        if maker_after.remaining == 0 {
            self.remove_order(maker_slot);
        }
    }

    /// The buyer pays `notional` from its reserve, gets back whatever of the reserve the
    /// filled lots no longer need, and receives `base_received`.
    fn settle_buyer<S: EventSink>(
        &mut self,
        buyer_slot: u32,
        lots: i64,
        notional: i64,
        base_received: i64,
        trade_id: TradeId,
        out: &mut Out<S>,
    ) {
        let buyer = *self.orders.get(buyer_slot);
        let released = if buyer.by_quote() {
            notional
        } else {
            let k = self.symbol(buyer.symbol).quote_per_tick_lot;
            let remaining_before = buyer.remaining + lots;
            let reserve = |lots| math::buy_reserve(buyer.price, lots, k, buyer.reserve_bps).expect("reserve fits");
            reserve(remaining_before) - reserve(buyer.remaining)
        };
        assert!(released >= notional && released <= buyer.frozen);
        self.orders.get_mut(buyer_slot).frozen -= released;
        let cause = BalanceCause::TradeSettlement;
        self.change_balance(buyer.quote_balance, released - notional, -released, cause, trade_id, out);
        self.change_balance(buyer.base_balance, base_received, 0, cause, trade_id, out);
    }

    /// Triggers the symbol's stops while the last price reaches them, each executing in
    /// turn within this command.
    pub(super) fn run_stop_triggers<S: EventSink>(&mut self, symbol_id: SymbolId, out: &mut Out<S>) {
        while let Some(slot) = self.next_triggered_stop(symbol_id) {
            self.remove_stop(slot);
            let order = *self.orders.get(slot);
            let symbol = self.symbol(symbol_id);
            let last = symbol.last_price;
            let tick_size = symbol.tick_size();
            let limit = match (order.order_type, order.side) {
                (OrderType::StopLimit, _) => order.price,
                (_, Side::Buy) => market_buy_limit(symbol, order.price),
                (_, Side::Sell) => math::band_low(last, symbol.spec.price_band_bps),
            };
            out.emit(EventBody::StopTriggered(StopTriggered {
                order_id: order.id,
                account: order.account,
                symbol: symbol_id,
                stop_price: order.stop_price * tick_size,
                last_price: last * tick_size,
            }));
            self.execute_taker(slot, limit, out);
        }
    }

    fn next_triggered_stop(&self, symbol_id: SymbolId) -> Option<u32> {
        let symbol = self.symbol(symbol_id);
        let last = symbol.last_price;
        if last == 0 || (symbol.buy_stops.len() == 0 && symbol.sell_stops.len() == 0) {
            return None;
        }
        if let Some(((std::cmp::Reverse(stop), _), slot)) = symbol.buy_stops.last() {
            if stop <= last {
                return Some(slot);
            }
        }
        match symbol.sell_stops.last() {
            Some(((stop, _), slot)) if stop >= last => Some(slot),
            _ => None,
        }
    }
}

/// Whether a taker on `side` with `limit` may trade at a maker level priced `level_price`.
fn crosses(side: Side, level_price: i64, limit: i64) -> bool {
    match side {
        Side::Buy => level_price <= limit,
        Side::Sell => level_price >= limit,
    }
}
