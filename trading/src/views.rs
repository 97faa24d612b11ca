//! The JSON shapes orders, fills and trades take in answers, and the names of the engine's
//! enums in the API (Binance's spelling: `BUY`, `LIMIT`, `GTC`, `PARTIALLY_FILLED`, …).
//! Amounts are decimal strings in whole units, times Unix milliseconds.

use cex_config::SymbolConfig;
use cex_engine::{Event, EventBody, OrderId, OrderType, SelfTradePrevention, Side, TimeInForce, Trade};
use cex_projections::{OrderStatus, OrderView};
use serde::Serialize;
use utoipa::ToSchema;

use crate::account_trades::AccountTrade;
use crate::error::{TradingError, TradingResult};
use crate::markets::{clip, Markets};

pub fn ns_to_ms(ns: u64) -> i64 {
    i64::try_from(ns / 1_000_000).unwrap_or(i64::MAX)
}

pub fn side_name(side: Side) -> &'static str {
    match side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

pub fn parse_side(text: &str) -> TradingResult<Side> {
    match text.to_ascii_uppercase().as_str() {
        "BUY" => Ok(Side::Buy),
        "SELL" => Ok(Side::Sell),
        _ => Err(TradingError::invalid(format!("side: BUY or SELL, not {:?}", clip(text)))),
    }
}

pub fn order_type_name(order_type: OrderType) -> &'static str {
    match order_type {
        OrderType::Limit => "LIMIT",
        OrderType::MarketByQty | OrderType::MarketByQuote => "MARKET",
        OrderType::StopLimit => "STOP_LOSS_LIMIT",
        OrderType::StopMarket => "STOP_LOSS",
    }
}

pub fn time_in_force_name(time_in_force: TimeInForce) -> &'static str {
    match time_in_force {
        TimeInForce::Gtc => "GTC",
        TimeInForce::Ioc => "IOC",
        TimeInForce::Fok => "FOK",
        TimeInForce::Gtd => "GTD",
    }
}

pub fn parse_time_in_force(text: &str) -> TradingResult<TimeInForce> {
    match text.to_ascii_uppercase().as_str() {
        "GTC" => Ok(TimeInForce::Gtc),
        "IOC" => Ok(TimeInForce::Ioc),
        "FOK" => Ok(TimeInForce::Fok),
        "GTD" => Ok(TimeInForce::Gtd),
        _ => Err(TradingError::invalid(format!("timeInForce: GTC, IOC, FOK or GTD, not {:?}", clip(text)))),
    }
}

pub fn stp_name(stp: SelfTradePrevention) -> &'static str {
    match stp {
        SelfTradePrevention::None => "NONE",
        SelfTradePrevention::ExpireTaker => "EXPIRE_TAKER",
        SelfTradePrevention::ExpireMaker => "EXPIRE_MAKER",
        SelfTradePrevention::ExpireBoth => "EXPIRE_BOTH",
    }
}

pub fn parse_stp(text: &str) -> TradingResult<SelfTradePrevention> {
    match text.to_ascii_uppercase().as_str() {
        "NONE" => Ok(SelfTradePrevention::None),
        "EXPIRE_TAKER" => Ok(SelfTradePrevention::ExpireTaker),
        "EXPIRE_MAKER" => Ok(SelfTradePrevention::ExpireMaker),
        "EXPIRE_BOTH" => Ok(SelfTradePrevention::ExpireBoth),
        _ => Err(TradingError::invalid(format!(
            "selfTradePrevention: NONE, EXPIRE_TAKER, EXPIRE_MAKER or EXPIRE_BOTH, not {:?}",
            clip(text)
        ))),
    }
}

pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "NEW",
        OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
        OrderStatus::Filled => "FILLED",
        OrderStatus::Cancelled => "CANCELED",
        OrderStatus::Expired => "EXPIRED",
        OrderStatus::ExpiredInMatch => "EXPIRED_IN_MATCH",
    }
}

/// The name of a symbol id, or `#<id>` for one the config does not list.
fn symbol_name(symbol: Option<&SymbolConfig>, id: u32) -> String {
    symbol.map_or_else(|| format!("#{id}"), |symbol| symbol.name.clone())
}

/// A price or quantity of `symbol`, or raw units for a symbol the config does not list.
fn amount(symbol: Option<&SymbolConfig>, units: i64, format: fn(&SymbolConfig, i64) -> String) -> String {
    symbol.map_or_else(|| units.to_string(), |symbol| format(symbol, units))
}

/// An order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderJson {
    pub order_id: u64,
    /// 0 when none was given.
    pub client_order_id: u64,
    #[schema(example = "BTC-USDT")]
    pub symbol: String,
    /// `BUY` or `SELL`.
    pub side: &'static str,
    /// `LIMIT`, `MARKET`, `STOP_LOSS_LIMIT` or `STOP_LOSS`.
    #[serde(rename = "type")]
    pub order_type: &'static str,
    /// `GTC`, `IOC`, `FOK` or `GTD`.
    pub time_in_force: &'static str,
    /// The limit price; "0" for market orders.
    #[schema(example = "64000.5")]
    pub price: String,
    /// The trigger price; "0" for orders without one.
    pub stop_price: String,
    /// The total quantity (after any modification); "0" for a market buy by quote amount.
    #[schema(example = "0.25")]
    pub orig_qty: String,
    /// The quote budget of a market buy by quote amount; "0" otherwise.
    pub orig_quote_order_qty: String,
    pub executed_qty: String,
    /// Quote spent or received so far: the sum of the fills' `price × qty`.
    pub cumulative_quote_qty: String,
    /// `NEW`, `PARTIALLY_FILLED`, `FILLED`, `CANCELED`, `EXPIRED` or `EXPIRED_IN_MATCH`.
    pub status: &'static str,
    pub post_only: bool,
    /// `NONE`, `EXPIRE_TAKER`, `EXPIRE_MAKER` or `EXPIRE_BOTH`.
    pub self_trade_prevention: &'static str,
    /// GTD orders only.
    pub expire_time: Option<i64>,
    /// False while a stop order waits for its trigger.
    pub working: bool,
    /// When the engine accepted it.
    pub time: i64,
    /// When it last changed.
    pub update_time: i64,
}

impl OrderJson {
    pub fn new(markets: &Markets, order: &OrderView) -> OrderJson {
        let symbol = markets.symbol_by_id(order.symbol);
        OrderJson {
            order_id: order.order_id,
            client_order_id: order.client_order_id,
            symbol: symbol_name(symbol, order.symbol),
            side: side_name(order.side),
            order_type: order_type_name(order.order_type),
            time_in_force: time_in_force_name(order.time_in_force),
            price: amount(symbol, order.price, SymbolConfig::format_price),
            stop_price: amount(symbol, order.stop_price, SymbolConfig::format_price),
            orig_qty: amount(symbol, order.orig_qty, SymbolConfig::format_qty),
            orig_quote_order_qty: amount(symbol, order.orig_quote_qty, SymbolConfig::format_price),
            executed_qty: amount(symbol, order.executed_qty, SymbolConfig::format_qty),
            cumulative_quote_qty: amount(symbol, order.cumulative_quote_qty, SymbolConfig::format_price),
            status: status_name(order.status),
            post_only: order.post_only,
            self_trade_prevention: stp_name(order.stp),
            expire_time: (order.time_in_force == TimeInForce::Gtd).then(|| ns_to_ms(order.expire_ts_ns)),
            working: order.working,
            time: ns_to_ms(order.time_ns),
            update_time: ns_to_ms(order.update_time_ns),
        }
    }
}

/// One fill of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FillJson {
    pub trade_id: u64,
    pub price: String,
    pub qty: String,
    pub quote_qty: String,
    /// Charged in the base asset to the buyer, in the quote asset to the seller.
    pub fee: String,
    pub fee_asset: String,
    pub is_maker: bool,
}

/// The fills of `order_id` among a command's events, each from the order's side.
pub fn fills_of(markets: &Markets, order_id: OrderId, events: &[Event]) -> Vec<FillJson> {
    let mut fills = Vec::new();
    for event in events {
        let EventBody::Trade(trade) = &event.body else { continue };
        let (side, fee, is_maker) = if trade.taker_order_id == order_id {
            (trade.taker_side, trade.taker_fee, false)
        } else if trade.maker_order_id == order_id {
            (trade.taker_side.opposite(), trade.maker_fee, true)
        } else {
            continue;
        };
        fills.push(fill(markets, trade, side, fee, is_maker));
    }
    fills
}

fn fill(markets: &Markets, trade: &Trade, side: Side, fee: i64, is_maker: bool) -> FillJson {
    let symbol = markets.symbol_by_id(trade.symbol);
    let (fee_text, fee_asset) = fee_in_asset(markets, symbol, side, fee);
    FillJson {
        trade_id: trade.trade_id,
        price: amount(symbol, trade.price, SymbolConfig::format_price),
        qty: amount(symbol, trade.qty, SymbolConfig::format_qty),
        quote_qty: amount(symbol, trade.notional, SymbolConfig::format_price),
        fee: fee_text,
        fee_asset,
        is_maker,
    }
}

/// A fee and its asset: the base asset for the buyer, the quote asset for the seller.
fn fee_in_asset(markets: &Markets, symbol: Option<&SymbolConfig>, side: Side, fee: i64) -> (String, String) {
    match symbol {
        Some(symbol) => {
            let asset = if side == Side::Buy { &symbol.base } else { &symbol.quote };
            (markets.format_asset(asset.id, fee), asset.name.clone())
        }
        None => (fee.to_string(), String::new()),
    }
}

/// One of the caller's trades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountTradeJson {
    pub trade_id: u64,
    pub symbol: String,
    pub order_id: u64,
    /// `BUY` or `SELL`: the caller's side.
    pub side: &'static str,
    pub price: String,
    pub qty: String,
    pub quote_qty: String,
    pub fee: String,
    pub fee_asset: String,
    pub is_maker: bool,
    pub time: i64,
}

impl AccountTradeJson {
    pub fn new(markets: &Markets, trade: &AccountTrade) -> AccountTradeJson {
        let symbol = markets.symbol_by_id(trade.symbol);
        let (fee, fee_asset) = fee_in_asset(markets, symbol, trade.side, trade.fee);
        AccountTradeJson {
            trade_id: trade.trade_id,
            symbol: symbol_name(symbol, trade.symbol),
            order_id: trade.order_id,
            side: side_name(trade.side),
            price: amount(symbol, trade.price, SymbolConfig::format_price),
            qty: amount(symbol, trade.qty, SymbolConfig::format_qty),
            quote_qty: amount(symbol, trade.quote_qty, SymbolConfig::format_price),
            fee,
            fee_asset,
            is_maker: trade.is_maker,
            time: ns_to_ms(trade.time_ns),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_read_back() {
        for side in [Side::Buy, Side::Sell] {
            assert_eq!(parse_side(side_name(side)), Ok(side));
        }
        for tif in TimeInForce::ALL {
            assert_eq!(parse_time_in_force(time_in_force_name(*tif)), Ok(*tif));
        }
        for stp in SelfTradePrevention::ALL {
            assert_eq!(parse_stp(stp_name(*stp)), Ok(*stp));
        }
        assert_eq!(parse_side("buy"), Ok(Side::Buy));
        assert_eq!(parse_side("HOLD").unwrap_err().code, 2006);
        assert_eq!(parse_time_in_force("DAY").unwrap_err().code, 2006);
        assert_eq!(parse_stp("").unwrap_err().code, 2006);
    }

    #[test]
    fn times_are_whole_milliseconds() {
        assert_eq!(ns_to_ms(1_700_000_000_123_456_789), 1_700_000_000_123);
        assert_eq!(ns_to_ms(u64::MAX), 18_446_744_073_709);
    }
}
