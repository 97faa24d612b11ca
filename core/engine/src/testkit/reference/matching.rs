//! Taker execution, trade settlement, resting and stop triggers.

use super::{Order, Place, ReferenceEngine};
use crate::event::{EventBody, StopTriggered, Trade};
use crate::math::{band_high, band_low, buy_reserve, fee_ceil, notional};
use crate::types::*;

/// Whether a maker level at `ticks` is within a taker's `limit`.
fn within_limit(taker_side: Side, ticks: i64, limit: i64) -> bool {
    match taker_side {
        Side::Buy => ticks <= limit,
        Side::Sell => ticks >= limit,
    }
}

impl ReferenceEngine {
    /// Executes an order that is in `Place::Taking` against the opposite side, up to `limit`
    /// (ticks), then rests or cancels what is left.
    pub(super) fn execute_taker(&mut self, id: OrderId, limit: i64) {
        let taker = self.orders[&id];
        if taker.tif == TimeInForce::Fok && self.fok_fillable_lots(&taker, limit) < taker.remaining {
            self.cancel_order(id, CancelReason::Fok);
            return;
        }
        let cancelled_by_stp = self.match_taker(id, limit);
        if cancelled_by_stp {
            return;
        }
        let taker = self.orders[&id];
        if taker.has_nothing_left() {
            debug_assert_eq!(taker.frozen, 0, "a filled order holds nothing");
            self.remove_order(id);
        } else if taker.order_type.is_market() || matches!(taker.tif, TimeInForce::Ioc | TimeInForce::Fok) {
            self.cancel_order(id, CancelReason::IocRemainder);
        } else {
            self.rest(id);
        }
    }

    /// What a FOK taker could fill, in lots, walking the book as matching would.
    fn fok_fillable_lots(&self, taker: &Order, limit: i64) -> i64 {
        let symbol = &self.symbols[&taker.symbol];
        let mut count = 0;
        for (ticks, maker_id) in symbol.queue(taker.side.opposite()) {
            if !within_limit(taker.side, ticks, limit) {
                break;
            }
            let maker = &self.orders[&maker_id];
            if maker.account == taker.account {
                match taker.stp {
                    SelfTradePrevention::None => {}
                    SelfTradePrevention::ExpireMaker => continue,
                    SelfTradePrevention::ExpireTaker | SelfTradePrevention::ExpireBoth => break,
                }
            }
            count += maker.remaining;
        }
        count
    }

    /// The matching loop. Returns true when self-trade prevention cancelled the taker.
    fn match_taker(&mut self, id: OrderId, limit: i64) -> bool {
        loop {
            let taker = self.orders[&id];
            let symbol = &self.symbols[&taker.symbol];
            let Some((ticks, maker_id)) = symbol.best_maker(taker.side.opposite()) else {
                return false;
            };
            if !within_limit(taker.side, ticks, limit) {
                return false;
            }
            let taker_lots = if taker.is_by_quote() {
                // A lot cost beyond i64 is beyond any budget.
                notional(ticks, 1, symbol.k).map_or(0, |lot_cost| taker.budget / lot_cost)
            } else {
                taker.remaining
            };
            if taker_lots == 0 {
                return false;
            }
            let maker = self.orders[&maker_id];
            if maker.account == taker.account {
                match taker.stp {
                    SelfTradePrevention::None => {}
                    SelfTradePrevention::ExpireTaker => {
                        self.cancel_order(id, CancelReason::SelfTradePrevention);
                        return true;
                    }
                    SelfTradePrevention::ExpireMaker => {
                        self.cancel_order(maker_id, CancelReason::SelfTradePrevention);
                        continue;
                    }
                    SelfTradePrevention::ExpireBoth => {
                        self.cancel_order(maker_id, CancelReason::SelfTradePrevention);
                        self.cancel_order(id, CancelReason::SelfTradePrevention);
                        return true;
                    }
                }
            }
            self.trade(taker, maker, ticks, taker_lots.min(maker.remaining));
        }
    }

    /// One execution of `lots` at the maker's price `ticks`: order updates, the `Trade`, the
    /// four settlements, the fee ledger, and the maker's removal when it is filled.
    fn trade(&mut self, taker: Order, maker: Order, ticks: i64, lots: i64) {
        let symbol = self.symbols.get_mut(&taker.symbol).expect("an order's symbol exists");
        symbol.last = ticks;
        let (spec, k) = (symbol.spec, symbol.k);
        let qty = lots * spec.lot_size;
        let value = notional(ticks, lots, k).expect("a resting order's notional was checked to fit");
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;

        let (buyer, seller) = match taker.side {
            Side::Buy => (taker, maker),
            Side::Sell => (maker, taker),
        };
        let buyer_fee = fee_ceil(qty, self.fee_bps(&buyer, taker.id));
        let seller_fee = fee_ceil(value, self.fee_bps(&seller, taker.id));
        let buyer_release = if buyer.is_by_quote() {
            value
        } else {
            let reserve = |rem| buy_reserve(buyer.reserve_ticks, rem, k, buyer.reserve_bps).expect("was frozen");
            reserve(buyer.remaining) - reserve(buyer.remaining - lots)
        };

        self.fill(buyer.id, lots, value, buyer_release);
        self.fill(seller.id, lots, value, qty);
        let maker_after = self.orders[&maker.id];
        let taker_after = self.orders[&taker.id];
        let (maker_fee, taker_fee) = match taker.side {
            Side::Buy => (seller_fee, buyer_fee),
            Side::Sell => (buyer_fee, seller_fee),
        };
        self.emit(EventBody::Trade(Trade {
            trade_id,
            symbol: taker.symbol,
            price: ticks * spec.tick_size,
            qty,
            notional: value,
            taker_side: taker.side,
            maker_order_id: maker.id,
            taker_order_id: taker.id,
            maker_account: maker.account,
            taker_account: taker.account,
            maker_fee,
            taker_fee,
            maker_remaining: maker_after.remaining * spec.lot_size,
            taker_remaining: if taker.is_by_quote() {
                taker_after.budget
            } else {
                taker_after.remaining * spec.lot_size
            },
        }));

        let cause = BalanceCause::TradeSettlement;
        self.change_balance(buyer.account, spec.quote, cause, trade_id, buyer_release - value, -buyer_release);
        self.change_balance(buyer.account, spec.base, cause, trade_id, qty - buyer_fee, 0);
        self.change_balance(seller.account, spec.base, cause, trade_id, 0, -qty);
        self.change_balance(seller.account, spec.quote, cause, trade_id, value - seller_fee, 0);
        self.assets.get_mut(&spec.base).expect("a symbol's assets exist").fees += buyer_fee;
        self.assets.get_mut(&spec.quote).expect("a symbol's assets exist").fees += seller_fee;

        if maker_after.remaining == 0 {
            debug_assert_eq!(maker_after.frozen, 0, "a filled maker holds nothing");
            self.remove_order(maker.id);
        }
    }

    /// The fee rate of one side of a trade: maker or taker bps of its account's current tier.
    fn fee_bps(&self, order: &Order, taker_id: OrderId) -> u16 {
        let symbol = &self.symbols[&order.symbol];
        let tier = self.fee_tier(order.account);
        if order.id == taker_id {
            symbol.taker_bps(tier)
        } else {
            symbol.maker_bps(tier)
        }
    }

    /// Applies one fill to an order: `lots` of its quantity (by quote: `value` of its budget)
    /// and `frozen_drop` of its reserve.
    fn fill(&mut self, id: OrderId, lots: i64, value: i64, frozen_drop: i64) {
        let order = self.orders.get_mut(&id).expect("a trading order is open");
        if order.is_by_quote() {
            order.budget -= value;
        } else {
            order.remaining -= lots;
        }
        order.frozen -= frozen_drop;
    }

    /// Rests a taker's remainder at the tail of its level, or cancels it (`BookCapacity`) when
    /// its side has no room. Only a triggered stop-limit can find no room: every other resting
    /// order had its room checked before it was accepted or amended.
    fn rest(&mut self, id: OrderId) {
        let order = self.orders[&id];
        let max_levels = self.config.max_levels_per_side;
        let symbol = self.symbols.get_mut(&order.symbol).expect("an order's symbol exists");
        if !symbol.has_room_for_level(order.side, order.price, max_levels) {
            self.cancel_order(id, CancelReason::BookCapacity);
            return;
        }
        symbol.book_mut(order.side).entry(order.price).or_default().push_back(id);
        self.orders.get_mut(&id).expect("resting an open order").place = Place::Book;
    }

    /// Triggers stops of a symbol until none is reached by the last price.
    pub(super) fn run_stop_triggers(&mut self, symbol: SymbolId) {
        while let Some(id) = self.next_triggered_stop(symbol) {
            self.trigger_stop(id);
        }
    }

    /// The lowest buy stop at or below the last price, else the highest sell stop at or above.
    fn next_triggered_stop(&self, symbol: SymbolId) -> Option<OrderId> {
        let symbol = &self.symbols[&symbol];
        if symbol.last == 0 {
            return None;
        }
        if let Some(&(stop, id)) = symbol.buy_stops.first() {
            if stop <= symbol.last {
                return Some(id);
            }
        }
        if let Some(&(std::cmp::Reverse(stop), id)) = symbol.sell_stops.first() {
            if stop >= symbol.last {
                return Some(id);
            }
        }
        None
    }

    fn trigger_stop(&mut self, id: OrderId) {
        let order = self.orders[&id];
        let symbol = self.symbols.get_mut(&order.symbol).expect("an order's symbol exists");
        symbol.remove_stop(order.side, order.stop, id);
        let last = symbol.last;
        let band = symbol.spec.price_band_bps;
        let limit = match (order.order_type, order.side) {
            (OrderType::StopMarket, Side::Buy) => match symbol.worst(Side::Sell) {
                // No asks: nothing can fill.
                None => 0,
                Some(worst) => worst.min(order.reserve_ticks).min(band_high(last, band)),
            },
            (OrderType::StopMarket, Side::Sell) => band_low(last, band),
            _ => order.price,
        };
        let event = StopTriggered {
            order_id: id,
            account: order.account,
            symbol: order.symbol,
            stop_price: symbol.price(order.stop),
            last_price: symbol.price(last),
        };
        self.orders.get_mut(&id).expect("triggering an open order").place = Place::Taking;
        self.emit(EventBody::StopTriggered(event));
        self.execute_taker(id, limit);
    }
}
