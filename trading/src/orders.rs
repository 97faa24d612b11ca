//! Placing, cancelling and modifying orders (catalog 1.1, SubmitLimitOrder to ModifyOrder).
//!
//! Each request becomes one engine command on the caller's engine account, and the answer
//! is the engine's verdict on that command: the order as the command left it and its
//! fills, or the reject reason (3000 + the engine's code). The answer goes out once the read
//! model has taken the command in, so the caller's next query sees it.

use axum::Json;
use cex_config::SymbolConfig;
use cex_engine::{
    Amend, Cancel, CancelAll, Command, EventBody, NewOrder, OrderId, OrderType, SelfTradePrevention, TimeInForce,
};
use cex_identity::authz::UserPrincipal;
use cex_identity::error::ErrorBody;
use cex_identity::http::JsonBody;
use cex_projections::{Accounts, OrderStatus, OrderView};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{TradingError, TradingResult};
use crate::extract::{OrderIdPath, QueryParams};
use crate::markets;
use crate::views::{fills_of, parse_side, parse_stp, parse_time_in_force, side_name, status_name, FillJson, OrderJson};
use crate::{EngineAnswer, Shared, Trading};

/// What the caller may add to any new order.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct OrderOptions {
    /// Your own id for the order, unique among your open orders; 0 or absent for none.
    client_order_id: Option<u64>,
    /// `NONE` (default), `EXPIRE_TAKER`, `EXPIRE_MAKER` or `EXPIRE_BOTH`: what happens when
    /// the order would trade with another order of yours.
    self_trade_prevention: Option<String>,
}

impl OrderOptions {
    fn stp(&self) -> TradingResult<SelfTradePrevention> {
        self.self_trade_prevention.as_deref().map_or(Ok(SelfTradePrevention::None), parse_stp)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LimitOrderBody {
    #[schema(example = "BTC-USDT")]
    symbol: String,
    /// `BUY` or `SELL`.
    #[schema(example = "BUY")]
    side: String,
    /// A decimal string, a multiple of the tick size.
    #[schema(example = "64000.5")]
    price: String,
    /// A decimal string in base units, a multiple of the lot size.
    #[schema(example = "0.25")]
    quantity: String,
    /// `GTC` (default), `IOC`, `FOK` or `GTD`.
    time_in_force: Option<String>,
    /// Required with GTD (and refused otherwise): when it expires, Unix ms.
    expire_time: Option<i64>,
    /// Refused, rather than placed, if it would trade at once (GTC or GTD only).
    post_only: Option<bool>,
    #[serde(flatten)]
    options: OrderOptions,
}

/// An order the engine accepted, as that command left it, with the fills it got.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderResult {
    order: OrderJson,
    /// This command's fills of the order, in order; empty if it rests untouched.
    fills: Vec<FillJson>,
}

/// SubmitLimitOrder: a limit order at `price`, resting for what its time in force allows.
#[utoipa::path(
    post,
    path = "/api/v1/orders/limit",
    tag = "orders",
    request_body = LimitOrderBody,
    responses(
        (status = 200, description = "Accepted: the order (status NEW, PARTIALLY_FILLED, FILLED, EXPIRED…) and its fills", body = OrderResult),
        (status = 400, description = "2000 malformed decimal; 2001 off the tick; 2002 off the lot; 2003 not above zero; 2004 unknown symbol; 2006 bad parameter; 2007 too large; 30xx the engine's reject (3038 insufficient funds, 3059 outside the price band, 3066 notional below the minimum, …)", body = ErrorBody),
        (status = 504, description = "2501: no answer in time; the order may still be placed", body = ErrorBody),
    )
)]
pub(crate) async fn submit_limit(
    axum::extract::State(trading): Shared,
    user: UserPrincipal,
    JsonBody(body): JsonBody<LimitOrderBody>,
) -> TradingResult<Json<OrderResult>> {
    let symbol = trading.markets.symbol(&body.symbol)?;
    let time_in_force = body.time_in_force.as_deref().map_or(Ok(TimeInForce::Gtc), parse_time_in_force)?;
    let order = NewOrder {
        client_order_id: body.options.client_order_id.unwrap_or(0),
        time_in_force,
        expire_ts_ns: expiry(time_in_force, body.expire_time)?,
        post_only: body.post_only.unwrap_or(false),
        stp: body.options.stp()?,
        ..NewOrder::limit(
            user.engine_account,
            symbol.id,
            parse_side(&body.side)?,
            markets::price(symbol, "price", &body.price)?,
            markets::quantity(symbol, "quantity", &body.quantity)?,
        )
    };
    Ok(Json(place(&trading, order).await?))
}

/// A GTD order's expiry in ns; GTD needs one and nothing else takes one.
fn expiry(time_in_force: TimeInForce, expire_time_ms: Option<i64>) -> TradingResult<u64> {
    match (time_in_force, expire_time_ms) {
        (TimeInForce::Gtd, Some(ms)) => u64::try_from(ms)
            .ok()
            .and_then(|ms| ms.checked_mul(1_000_000))
            .filter(|ns| *ns > 0)
            .ok_or_else(|| TradingError::invalid("expireTime: Unix ms, above zero")),
        (TimeInForce::Gtd, None) => Err(TradingError::invalid("expireTime is required with GTD")),
        (_, Some(_)) => Err(TradingError::invalid("expireTime goes with GTD only")),
        (_, None) => Ok(0),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MarketOrderBody {
    #[schema(example = "BTC-USDT")]
    symbol: String,
    /// `BUY` or `SELL`.
    side: String,
    /// The base quantity to trade, a multiple of the lot size. Give this or
    /// `quoteOrderQty`.
    #[schema(example = "0.1")]
    quantity: Option<String>,
    /// Buys only: how much quote to spend, at most the quote asset's decimals.
    #[schema(example = "500")]
    quote_order_qty: Option<String>,
    #[serde(flatten)]
    options: OrderOptions,
}

/// SubmitMarketOrder: takes what the book offers now, within the price band; whatever cannot
/// fill at once expires.
#[utoipa::path(
    post,
    path = "/api/v1/orders/market",
    tag = "orders",
    request_body = MarketOrderBody,
    responses(
        (status = 200, description = "Accepted: the order (FILLED, or EXPIRED with what was left) and its fills", body = OrderResult),
        (status = 400, description = "2000, 2002, 2003, 2004, 2006, 2007, 2010, or the engine's reject (3000 + reason)", body = ErrorBody),
        (status = 504, description = "2501: no answer in time; the order may still be placed", body = ErrorBody),
    )
)]
pub(crate) async fn submit_market(
    axum::extract::State(trading): Shared,
    user: UserPrincipal,
    JsonBody(body): JsonBody<MarketOrderBody>,
) -> TradingResult<Json<OrderResult>> {
    let symbol = trading.markets.symbol(&body.symbol)?;
    let (order_type, qty, quote_qty) = market_size(symbol, &body)?;
    let order = NewOrder {
        client_order_id: body.options.client_order_id.unwrap_or(0),
        order_type,
        // What a market order cannot fill at once expires; the engine takes no other.
        time_in_force: TimeInForce::Ioc,
        qty,
        quote_qty,
        stp: body.options.stp()?,
        ..NewOrder::limit(user.engine_account, symbol.id, parse_side(&body.side)?, 0, 0)
    };
    Ok(Json(place(&trading, order).await?))
}

/// (type, base quantity, quote amount) of a market order: by quantity or by quote amount.
fn market_size(symbol: &SymbolConfig, body: &MarketOrderBody) -> TradingResult<(OrderType, i64, i64)> {
    match (&body.quantity, &body.quote_order_qty) {
        (Some(quantity), None) => Ok((OrderType::MarketByQty, markets::quantity(symbol, "quantity", quantity)?, 0)),
        (None, Some(quote)) => {
            Ok((OrderType::MarketByQuote, 0, markets::quote_amount(symbol, "quoteOrderQty", quote)?))
        }
        _ => Err(TradingError::invalid("give one of quantity and quoteOrderQty")),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StopLimitOrderBody {
    #[schema(example = "BTC-USDT")]
    symbol: String,
    /// `BUY` or `SELL`.
    side: String,
    /// The trigger: a buy stop waits for a last trade at or above it, a sell stop at or
    /// below. A multiple of the tick size.
    #[schema(example = "63000")]
    stop_price: String,
    /// The limit price once triggered, a multiple of the tick size.
    #[schema(example = "62900")]
    price: String,
    #[schema(example = "0.25")]
    quantity: String,
    /// `GTC` (default), `IOC`, `FOK` or `GTD`, applied once triggered.
    time_in_force: Option<String>,
    /// Required with GTD: when it expires, Unix ms.
    expire_time: Option<i64>,
    #[serde(flatten)]
    options: OrderOptions,
}

/// SubmitStopLimitOrder: a limit order held back until the last trade price reaches
/// `stopPrice`. Its funds are frozen from the start.
#[utoipa::path(
    post,
    path = "/api/v1/orders/stop-limit",
    tag = "orders",
    request_body = StopLimitOrderBody,
    responses(
        (status = 200, description = "Accepted: the order, not working until triggered", body = OrderResult),
        (status = 400, description = "2000–2007, or the engine's reject (3061: the last trade already reached the stop price, …)", body = ErrorBody),
        (status = 504, description = "2501: no answer in time; the order may still be placed", body = ErrorBody),
    )
)]
pub(crate) async fn submit_stop_limit(
    axum::extract::State(trading): Shared,
    user: UserPrincipal,
    JsonBody(body): JsonBody<StopLimitOrderBody>,
) -> TradingResult<Json<OrderResult>> {
    let symbol = trading.markets.symbol(&body.symbol)?;
    let time_in_force = body.time_in_force.as_deref().map_or(Ok(TimeInForce::Gtc), parse_time_in_force)?;
    let order = NewOrder {
        client_order_id: body.options.client_order_id.unwrap_or(0),
        order_type: OrderType::StopLimit,
        time_in_force,
        stop_price: markets::price(symbol, "stopPrice", &body.stop_price)?,
        expire_ts_ns: expiry(time_in_force, body.expire_time)?,
        stp: body.options.stp()?,
        ..NewOrder::limit(
            user.engine_account,
            symbol.id,
            parse_side(&body.side)?,
            markets::price(symbol, "price", &body.price)?,
            markets::quantity(symbol, "quantity", &body.quantity)?,
        )
    };
    Ok(Json(place(&trading, order).await?))
}

/// Submits a new order and answers with the order as its command left it. The command's
/// events hold the order's whole life so far (accepted, fills, an expired remainder), so
/// they are folded on their own: the answer is exact whatever came after.
async fn place(trading: &Trading, order: NewOrder) -> TradingResult<OrderResult> {
    let answer = trading.submit(Command::NewOrder(order)).await?;
    let order_id = answer
        .events
        .iter()
        .find_map(|event| match event.body {
            EventBody::OrderAccepted(accepted) => Some(accepted.order_id),
            _ => None,
        })
        .ok_or_else(|| TradingError::internal(format_args!("command {} accepted no order", answer.seq)))?;
    let view = order_after_own_command(&answer, order.account, order_id)?;
    trading.catch_up(answer.seq).await;
    let markets = &trading.markets;
    Ok(OrderResult { order: OrderJson::new(markets, &view), fills: fills_of(markets, order_id, &answer.events) })
}

fn order_after_own_command(answer: &EngineAnswer, account: u32, order_id: OrderId) -> TradingResult<OrderView> {
    let mut fold = Accounts::new(usize::MAX);
    fold.apply(answer.ts_ns, &answer.events);
    fold.order(account, order_id)
        .ok_or_else(|| TradingError::internal(format_args!("order {order_id} is not in its own events")))
}

/// An order a cancel closed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CancelledOrder {
    order_id: u64,
    symbol: String,
    /// `BUY` or `SELL`.
    side: &'static str,
    /// `CANCELED`.
    status: &'static str,
    /// What was left unfilled: base quantity, or the unspent quote of a market buy by
    /// quote amount.
    remaining_qty: String,
}

/// CancelOrder: cancels one of your open orders (resting or a stop waiting for its
/// trigger) and releases its frozen funds.
#[utoipa::path(
    delete,
    path = "/api/v1/orders/{orderId}",
    tag = "orders",
    params(("orderId" = u64, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Cancelled", body = CancelledOrder),
        (status = 404, description = "3071: no such open order of yours (someone else's included)", body = ErrorBody),
        (status = 504, description = "2501: no answer in time; the cancel may still apply", body = ErrorBody),
    )
)]
pub(crate) async fn cancel(
    axum::extract::State(trading): Shared,
    user: UserPrincipal,
    OrderIdPath(order_id): OrderIdPath,
) -> TradingResult<Json<CancelledOrder>> {
    let command = Command::Cancel(Cancel { account: user.engine_account, order_id, client_order_id: 0 });
    let answer = trading.submit(command).await?;
    trading.catch_up(answer.seq).await;
    let cancelled = cancelled_orders(&trading, &answer);
    cancelled
        .into_iter()
        .find(|order| order.order_id == order_id)
        .map(Json)
        .ok_or_else(|| TradingError::internal(format_args!("command {} cancelled no order {order_id}", answer.seq)))
}

/// Every order a command cancelled.
fn cancelled_orders(trading: &Trading, answer: &EngineAnswer) -> Vec<CancelledOrder> {
    let mut cancelled = Vec::new();
    for event in &answer.events {
        let EventBody::OrderCancelled(order) = event.body else { continue };
        let symbol = trading.markets.symbol_by_id(order.symbol);
        cancelled.push(CancelledOrder {
            order_id: order.order_id,
            symbol: symbol.map_or_else(|| format!("#{}", order.symbol), |symbol| symbol.name.clone()),
            side: side_name(order.side),
            status: status_name(OrderStatus::after_cancel(order.reason)),
            remaining_qty: symbol.map_or_else(|| order.remaining.to_string(), |s| s.format_qty(order.remaining)),
        });
    }
    cancelled
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CancelAllQuery {
    /// Only this symbol's orders.
    symbol: Option<String>,
    /// Only `BUY` or only `SELL` orders.
    side: Option<String>,
}

/// Every order a CancelAllOrders closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelledOrders {
    cancelled: Vec<CancelledOrder>,
}

/// CancelAllOrders: cancels all your open orders, or those of one symbol and/or side (query
/// parameters), in one engine command.
#[utoipa::path(
    delete,
    path = "/api/v1/orders",
    tag = "orders",
    params(CancelAllQuery),
    responses(
        (status = 200, description = "The orders cancelled (possibly none)", body = CancelledOrders),
        (status = 400, description = "2004 unknown symbol; 2006 bad side", body = ErrorBody),
        (status = 504, description = "2501: no answer in time; the cancels may still apply", body = ErrorBody),
    )
)]
pub(crate) async fn cancel_all(
    axum::extract::State(trading): Shared,
    user: UserPrincipal,
    QueryParams(query): QueryParams<CancelAllQuery>,
) -> TradingResult<Json<CancelledOrders>> {
    let symbol = trading.markets.symbol_filter(query.symbol.as_deref())?.map(|symbol| symbol.id);
    let side = query.side.as_deref().map(parse_side).transpose()?;
    let answer = trading.submit(Command::CancelAll(CancelAll { account: user.engine_account, symbol, side })).await?;
    trading.catch_up(answer.seq).await;
    Ok(Json(CancelledOrders { cancelled: cancelled_orders(&trading, &answer) }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ModifyBody {
    /// The new limit price; absent keeps the price.
    #[schema(example = "64100")]
    new_price: Option<String>,
    /// The new total quantity, the filled part included; absent keeps it. Lowering only the
    /// quantity keeps the order's place in the queue.
    #[schema(example = "0.2")]
    new_quantity: Option<String>,
}

/// A modified order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModifyResult {
    order_id: u64,
    /// The order as the modification left it; null only if the read model is behind the
    /// engine or has since forgotten the order.
    order: Option<OrderJson>,
    /// True when only the quantity went down: the order kept its place in the queue.
    priority_kept: bool,
    /// Fills the modification caused (a new price can cross the book).
    fills: Vec<FillJson>,
}

/// ModifyOrder: a new price and/or quantity for one of your resting limit orders. A new
/// price or a larger quantity sends it to the back of its level (and may trade at once).
#[utoipa::path(
    put,
    path = "/api/v1/orders/{orderId}",
    tag = "orders",
    params(("orderId" = u64, Path, description = "The order's id")),
    request_body = ModifyBody,
    responses(
        (status = 200, description = "Modified", body = ModifyResult),
        (status = 400, description = "2000–2007 for the new amounts; 3072 not a resting limit order; 3073 below the filled quantity; 3074 no change; …", body = ErrorBody),
        (status = 404, description = "2008: no such open order of yours (someone else's included)", body = ErrorBody),
        (status = 504, description = "2501: no answer in time; the change may still apply", body = ErrorBody),
    )
)]
pub(crate) async fn modify(
    axum::extract::State(trading): Shared,
    user: UserPrincipal,
    OrderIdPath(order_id): OrderIdPath,
    JsonBody(body): JsonBody<ModifyBody>,
) -> TradingResult<Json<ModifyResult>> {
    let amend = amend_command(&trading, &user, order_id, &body)?;
    let answer = trading.submit(Command::Amend(amend)).await?;
    let priority_kept = answer.events.iter().any(|event| {
        matches!(event.body, EventBody::OrderAmended(amended) if amended.order_id == order_id && amended.priority_kept)
    });
    let caught_up = trading.catch_up(answer.seq).await;
    let order = caught_up.then(|| order_after(&trading, &answer, user.engine_account, order_id)).flatten();
    let markets = &trading.markets;
    Ok(Json(ModifyResult {
        order_id,
        order: order.map(|order| OrderJson::new(markets, &order)),
        priority_kept,
        fills: fills_of(markets, order_id, &answer.events),
    }))
}

/// The engine's Amend for a ModifyOrder: the order is looked up among the caller's open
/// orders (2008 if it is not one, whoever's it is) for its symbol's scales and for the
/// price or quantity that stays.
fn amend_command(
    trading: &Trading,
    user: &UserPrincipal,
    order_id: OrderId,
    body: &ModifyBody,
) -> TradingResult<Amend> {
    if body.new_price.is_none() && body.new_quantity.is_none() {
        return Err(TradingError::invalid("give newPrice, newQuantity or both"));
    }
    let account = user.engine_account;
    let open = trading.model.read(|model| model.projections().accounts().order(account, order_id));
    let order = open.filter(|order| order.status.is_open()).ok_or_else(|| {
        TradingError::with_msg(crate::TradingCode::OrderNotFound, format!("no open order {order_id} of yours"))
    })?;
    let symbol = trading.markets.symbol_by_id(order.symbol).ok_or_else(|| {
        TradingError::internal(format_args!("order {order_id} is on symbol {}, not in the config", order.symbol))
    })?;
    let new_price = body.new_price.as_deref().map(|text| markets::price(symbol, "newPrice", text)).transpose()?;
    let new_qty =
        body.new_quantity.as_deref().map(|text| markets::quantity(symbol, "newQuantity", text)).transpose()?;
    Ok(Amend {
        account,
        order_id,
        client_order_id: 0,
        new_price: new_price.unwrap_or(order.price),
        new_qty: new_qty.unwrap_or(order.orig_qty),
    })
}

/// The order as command `answer` left it, from the read model (which has applied it).
fn order_after(trading: &Trading, answer: &EngineAnswer, account: u32, order_id: OrderId) -> Option<OrderView> {
    trading.model.read(|model| {
        model.order_after(answer.seq, order_id).or_else(|| model.projections().accounts().order(account, order_id))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_goes_with_gtd_only() {
        assert_eq!(expiry(TimeInForce::Gtd, Some(1_700_000_000_000)), Ok(1_700_000_000_000_000_000));
        assert_eq!(expiry(TimeInForce::Gtc, None), Ok(0));
        for (tif, ms) in [
            (TimeInForce::Gtd, None),
            (TimeInForce::Gtd, Some(-1)),
            (TimeInForce::Gtd, Some(0)),
            (TimeInForce::Gtd, Some(i64::MAX)),
            (TimeInForce::Ioc, Some(5)),
        ] {
            assert_eq!(expiry(tif, ms).unwrap_err().code, 2006, "{tif:?} {ms:?}");
        }
    }
}
