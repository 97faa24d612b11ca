//! The caller's own orders, trades, balances and their value (QueryOpenOrders to
//! QueryAssetValuation), read from the read model. Every query is scoped to the caller's
//! engine account: another account's order id is "no such order" (2008), exactly as an id
//! that does not exist.

use axum::extract::State;
use axum::Json;
use cex_config::{AssetConfig, SymbolConfig};
use cex_engine::AssetId;
use cex_identity::authz::UserPrincipal;
use cex_identity::error::ErrorBody;
use cex_projections::{OrderView, Projections};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{TradingCode, TradingError, TradingResult};
use crate::extract::{bounded, time_window, OrderIdPath, PageQuery, QueryParams};
use crate::markets::Markets;
use crate::views::{ns_to_ms, parse_side, AccountTradeJson, OrderJson};
use crate::{Shared, Trading};

/// A page of orders.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    orders: Vec<OrderJson>,
    /// Orders matching the filters, on every page.
    total: usize,
    page: u32,
    limit: u32,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OpenOrdersQuery {
    /// Only this symbol's orders.
    symbol: Option<String>,
    /// Only `BUY` or only `SELL` orders.
    side: Option<String>,
    /// 1-based; default 1.
    page: Option<u32>,
    /// Rows per page, 1 to 500; default 100.
    limit: Option<u32>,
}

/// QueryOpenOrders: your orders that are resting or waiting for their stop, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/orders/open",
    tag = "account",
    params(OpenOrdersQuery),
    responses(
        (status = 200, description = "A page of open orders", body = OrderPage),
        (status = 400, description = "2004 unknown symbol; 2006 bad side or page", body = ErrorBody),
    )
)]
pub(crate) async fn open_orders(
    State(trading): Shared,
    user: UserPrincipal,
    QueryParams(query): QueryParams<OpenOrdersQuery>,
) -> TradingResult<Json<OrderPage>> {
    let page = PageQuery { page: query.page, limit: query.limit }.page()?;
    let symbol = trading.markets.symbol_filter(query.symbol.as_deref())?.map(|symbol| symbol.id);
    let side = query.side.as_deref().map(parse_side).transpose()?;
    let orders = trading.model.read(|model| model.projections().accounts().open_orders(user.engine_account, symbol));
    let orders: Vec<OrderView> =
        orders.into_iter().filter(|order| side.is_none_or(|side| order.side == side)).collect();
    Ok(Json(order_page(&trading.markets, &orders, page)))
}

fn order_page(markets: &Markets, orders: &[OrderView], page: crate::extract::Page) -> OrderPage {
    OrderPage {
        orders: page.take(orders).iter().map(|order| OrderJson::new(markets, order)).collect(),
        total: orders.len(),
        page: page.page,
        limit: page.limit,
    }
}

/// QueryOrderDetail: one of your orders, open or recently closed.
#[utoipa::path(
    get,
    path = "/api/v1/orders/{orderId}",
    tag = "account",
    params(("orderId" = u64, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = OrderJson),
        (status = 404, description = "2008: no such order of yours (someone else's included, and closed orders past the last 1,000)", body = ErrorBody),
    )
)]
pub(crate) async fn order_detail(
    State(trading): Shared,
    user: UserPrincipal,
    OrderIdPath(order_id): OrderIdPath,
) -> TradingResult<Json<OrderJson>> {
    let order = trading.model.read(|model| model.projections().accounts().order(user.engine_account, order_id));
    let order = order
        .ok_or_else(|| TradingError::with_msg(TradingCode::OrderNotFound, format!("no order {order_id} of yours")))?;
    Ok(Json(OrderJson::new(&trading.markets, &order)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct HistoryQuery {
    /// Only this symbol's orders.
    symbol: Option<String>,
    /// Orders placed at or after this time, Unix ms.
    start_time: Option<i64>,
    /// Orders placed at or before this time, Unix ms.
    end_time: Option<i64>,
    /// 1-based; default 1.
    page: Option<u32>,
    /// Rows per page, 1 to 500; default 100.
    limit: Option<u32>,
}

/// QueryOrderHistory: your orders, open and closed, newest first. Closed orders are kept
/// in memory, the last 1,000 per account.
#[utoipa::path(
    get,
    path = "/api/v1/orders/history",
    tag = "account",
    params(HistoryQuery),
    responses(
        (status = 200, description = "A page of orders", body = OrderPage),
        (status = 400, description = "2004 unknown symbol; 2006 bad time range or page", body = ErrorBody),
    )
)]
pub(crate) async fn order_history(
    State(trading): Shared,
    user: UserPrincipal,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> TradingResult<Json<OrderPage>> {
    let page = PageQuery { page: query.page, limit: query.limit }.page()?;
    let symbol = trading.markets.symbol_filter(query.symbol.as_deref())?.map(|symbol| symbol.id);
    let in_window = time_window(query.start_time, query.end_time)?;
    let mut orders = trading.model.read(|model| {
        let accounts = model.projections().accounts();
        let mut orders = accounts.open_orders(user.engine_account, symbol);
        orders.extend(accounts.closed_orders(user.engine_account, symbol));
        orders
    });
    orders.retain(|order| in_window(ns_to_ms(order.time_ns)));
    orders.sort_by_key(|order| std::cmp::Reverse(order.order_id));
    Ok(Json(order_page(&trading.markets, &orders, page)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct TradesQuery {
    /// Only this symbol's trades.
    symbol: Option<String>,
    /// Only this order's trades.
    order_id: Option<u64>,
    /// Trades at or after this time, Unix ms.
    start_time: Option<i64>,
    /// Trades at or before this time, Unix ms.
    end_time: Option<i64>,
    /// At most this many, 1 to 1000; default 500.
    limit: Option<u32>,
}

/// Your trades, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct TradeList {
    trades: Vec<AccountTradeJson>,
}

const MAX_TRADES: u32 = 1_000;
const DEFAULT_TRADES: u32 = 500;

/// QueryTradeHistory: your own trades, newest first, each from your side (maker or taker,
/// your fee). Kept in memory, the last 1,000 per account.
#[utoipa::path(
    get,
    path = "/api/v1/trades",
    tag = "account",
    params(TradesQuery),
    responses(
        (status = 200, description = "Trades", body = TradeList),
        (status = 400, description = "2004 unknown symbol; 2006 bad time range or limit", body = ErrorBody),
    )
)]
pub(crate) async fn trade_history(
    State(trading): Shared,
    user: UserPrincipal,
    QueryParams(query): QueryParams<TradesQuery>,
) -> TradingResult<Json<TradeList>> {
    let symbol = trading.markets.symbol_filter(query.symbol.as_deref())?.map(|symbol| symbol.id);
    let in_window = time_window(query.start_time, query.end_time)?;
    let limit = bounded("limit", query.limit.unwrap_or(DEFAULT_TRADES), MAX_TRADES)?;
    let trades = trading.model.read(|model| {
        let matching = model.account_trades().trades(user.engine_account).rev().filter(|trade| {
            symbol.is_none_or(|symbol| trade.symbol == symbol)
                && query.order_id.is_none_or(|order_id| trade.order_id == order_id)
                && in_window(ns_to_ms(trade.time_ns))
        });
        matching.take(limit).map(|trade| AccountTradeJson::new(&trading.markets, trade)).collect()
    });
    Ok(Json(TradeList { trades }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct BalanceQuery {
    /// `SPOT`, the only account type there is; absent means the same.
    account_type: Option<String>,
}

/// One asset's balance, in whole units.
#[derive(Debug, Serialize, ToSchema)]
pub struct BalanceJson {
    #[schema(example = "USDT")]
    asset: String,
    /// Free to use.
    available: String,
    /// Held by open orders.
    frozen: String,
}

impl BalanceJson {
    pub(crate) fn new(markets: &Markets, asset: AssetId, balance: cex_projections::Balance) -> BalanceJson {
        BalanceJson {
            asset: markets.asset_name(asset),
            available: markets.format_asset(asset, balance.available),
            frozen: markets.format_asset(asset, balance.frozen),
        }
    }
}

/// Your balances.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Balances {
    /// `SPOT`.
    account_type: &'static str,
    /// Every asset you hold or have held, by asset id.
    balances: Vec<BalanceJson>,
}

/// QueryAccountBalance: your balance of each asset, available and frozen.
#[utoipa::path(
    get,
    path = "/api/v1/account/balance",
    tag = "account",
    params(BalanceQuery),
    responses(
        (status = 200, description = "Balances", body = Balances),
        (status = 400, description = "2006: an account type other than SPOT", body = ErrorBody),
    )
)]
pub(crate) async fn balance(
    State(trading): Shared,
    user: UserPrincipal,
    QueryParams(query): QueryParams<BalanceQuery>,
) -> TradingResult<Json<Balances>> {
    if query.account_type.as_deref().is_some_and(|kind| !kind.eq_ignore_ascii_case("SPOT")) {
        return Err(TradingError::invalid("accountType: SPOT is the only account type"));
    }
    let balances = trading.model.read(|model| model.projections().accounts().balances(user.engine_account));
    let balances = balances.iter().map(|row| BalanceJson::new(&trading.markets, row.asset, row.balance)).collect();
    Ok(Json(Balances { account_type: "SPOT", balances }))
}

/// Identity's QuerySubAccountAssets reads balances here.
impl cex_identity::AccountBalances for Trading {
    fn balances(&self, engine_account: u32) -> Vec<cex_identity::AssetBalance> {
        let balances = self.model.read(|model| model.projections().accounts().balances(engine_account));
        balances
            .iter()
            .map(|row| cex_identity::AssetBalance {
                asset: self.markets.asset_name(row.asset),
                available: self.markets.format_asset(row.asset, row.balance.available),
                frozen: self.markets.format_asset(row.asset, row.balance.frozen),
            })
            .collect()
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct ValuationQuery {
    /// The asset to value in, such as `USDT`.
    quote_currency: String,
}

/// One asset's holding and its value.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetValue {
    asset: String,
    /// Available plus frozen.
    amount: String,
    /// One unit's price in the quote currency: the last trade of the pair (either way
    /// round), or its reference price before any trade; "1" for the quote currency itself.
    price: String,
    /// `amount × price`, rounded to the quote currency's decimals.
    value: String,
}

/// What your holdings are worth in one asset.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Valuation {
    quote_currency: String,
    /// The sum of the priced assets' values.
    total: String,
    assets: Vec<AssetValue>,
    /// Assets held but with no pair to the quote currency and no price: left out of the
    /// total.
    unpriced: Vec<String>,
}

/// QueryAssetValuation: the value of everything you hold, in a quote currency of your
/// choice, from the last trade prices.
#[utoipa::path(
    get,
    path = "/api/v1/account/valuation",
    tag = "account",
    params(ValuationQuery),
    responses(
        (status = 200, description = "The valuation", body = Valuation),
        (status = 400, description = "2005: unknown quote currency", body = ErrorBody),
    )
)]
pub(crate) async fn valuation(
    State(trading): Shared,
    user: UserPrincipal,
    QueryParams(query): QueryParams<ValuationQuery>,
) -> TradingResult<Json<Valuation>> {
    let quote = trading.markets.asset(&query.quote_currency)?;
    let valuation =
        trading.model.read(|model| value_holdings(&trading.markets, model.projections(), user.engine_account, quote));
    Ok(Json(valuation))
}

fn value_holdings(markets: &Markets, projections: &Projections, account: u32, quote: &AssetConfig) -> Valuation {
    let mut total = Decimal::ZERO;
    let mut assets = Vec::new();
    let mut unpriced = Vec::new();
    for row in projections.accounts().balances(account) {
        let amount = row.balance.available.saturating_add(row.balance.frozen);
        if amount == 0 {
            continue;
        }
        let held = Decimal::from_i128_with_scale(i128::from(amount), u32::from(scale_of(markets, row.asset)));
        let valued = unit_price(markets, projections, row.asset, quote).and_then(|price| {
            let value =
                held.checked_mul(price)?.round_dp_with_strategy(u32::from(quote.scale), RoundingStrategy::ToZero);
            Some((price, value))
        });
        match valued.and_then(|(price, value)| Some((price, value, total.checked_add(value)?))) {
            Some((price, value, sum)) => {
                total = sum;
                assets.push(AssetValue {
                    asset: markets.asset_name(row.asset),
                    amount: held.normalize().to_string(),
                    price: price.normalize().to_string(),
                    value: value.normalize().to_string(),
                });
            }
            None => unpriced.push(markets.asset_name(row.asset)),
        }
    }
    Valuation { quote_currency: quote.name.clone(), total: total.normalize().to_string(), assets, unpriced }
}

fn scale_of(markets: &Markets, asset: AssetId) -> u8 {
    markets.asset_by_id(asset).map_or(0, |asset| asset.scale)
}

/// One whole unit of `asset` in `quote`: 1 for the quote itself, the last price of
/// `asset`/`quote`, or the inverse of the last price of `quote`/`asset`.
fn unit_price(markets: &Markets, projections: &Projections, asset: AssetId, quote: &AssetConfig) -> Option<Decimal> {
    if asset == quote.id {
        return Some(Decimal::ONE);
    }
    markets.symbols().iter().find_map(|symbol| {
        let pair = (symbol.base.id, symbol.quote.id);
        let direct = pair == (asset, quote.id);
        if !direct && pair != (quote.id, asset) {
            return None;
        }
        let last = last_price(projections, symbol)?;
        let price = Decimal::from_i128_with_scale(i128::from(last), u32::from(symbol.quote.scale));
        if direct {
            Some(price)
        } else {
            Decimal::ONE.checked_div(price)
        }
    })
}

/// A symbol's last trade price, or its reference price before any trade.
fn last_price(projections: &Projections, symbol: &SymbolConfig) -> Option<i64> {
    let traded = projections.tickers().ticker(symbol.id, i64::MIN, projections.depth()).last_price;
    [traded, symbol.reference_price].into_iter().find(|price| *price > 0)
}
