//! Hand-made events for the unit tests. Symbol 0 is BTC-USDT as in the engine's test
//! harness; prices and quantities are plain numbers, since the models never divide by tick
//! or lot.

use cex_engine::*;

pub const SYMBOL: SymbolId = 0;

pub fn event(body: EventBody) -> Event {
    Event { txid: 0, body }
}

/// A GTC limit order of `qty` at `price`.
pub fn accepted(order_id: OrderId, account: AccountId, side: Side, price: i64, qty: i64) -> OrderAccepted {
    OrderAccepted {
        order_id,
        account,
        symbol: SYMBOL,
        client_order_id: 0,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price,
        qty,
        quote_qty: 0,
        stop_price: 0,
        expire_ts_ns: 0,
        post_only: false,
        stp: SelfTradePrevention::None,
        frozen: 0,
    }
}

pub fn accept(order: OrderAccepted) -> Event {
    event(EventBody::OrderAccepted(order))
}

pub fn limit(order_id: OrderId, side: Side, price: i64, qty: i64) -> Event {
    accept(accepted(order_id, 1, side, price, qty))
}

/// A trade at `price` between a resting maker and a taker on `taker_side`, with what each
/// has left after it.
pub struct Fill {
    pub trade_id: TradeId,
    pub taker_side: Side,
    pub price: i64,
    pub qty: i64,
    pub maker: (OrderId, i64),
    pub taker: (OrderId, i64),
}

pub fn trade(fill: Fill) -> Event {
    event(EventBody::Trade(Trade {
        trade_id: fill.trade_id,
        symbol: SYMBOL,
        price: fill.price,
        qty: fill.qty,
        notional: fill.price * fill.qty,
        taker_side: fill.taker_side,
        maker_order_id: fill.maker.0,
        taker_order_id: fill.taker.0,
        maker_account: 1,
        taker_account: 2,
        maker_fee: 0,
        taker_fee: 0,
        maker_remaining: fill.maker.1,
        taker_remaining: fill.taker.1,
    }))
}

pub fn cancelled(order_id: OrderId, account: AccountId, side: Side, remaining: i64, reason: CancelReason) -> Event {
    event(EventBody::OrderCancelled(OrderCancelled { order_id, account, symbol: SYMBOL, side, remaining, reason }))
}

/// An amend of order `order_id` of account 1 from (old price, old qty) to (new price, new qty).
pub fn amended(order_id: OrderId, side: Side, old: (i64, i64), new: (i64, i64)) -> Event {
    event(EventBody::OrderAmended(OrderAmended {
        order_id,
        account: 1,
        symbol: SYMBOL,
        side,
        old_price: old.0,
        new_price: new.0,
        old_qty: old.1,
        new_qty: new.1,
        priority_kept: old.0 == new.0 && new.1 < old.1,
    }))
}

pub fn triggered(order_id: OrderId, account: AccountId, stop_price: i64) -> Event {
    event(EventBody::StopTriggered(StopTriggered {
        order_id,
        account,
        symbol: SYMBOL,
        stop_price,
        last_price: stop_price,
    }))
}
