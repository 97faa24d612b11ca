//! Public market data (catalog 1.2 and the depth snapshot): depth with its update id, recent
//! trades, klines, the 24 h ticker, the listed assets, traded volume and the volume ranking.
//! Anyone may call these; no credentials are read.
//!
//! Everything comes from the in-memory read model, rebuilt from the event journal at start:
//! the last 1,000 public trades per symbol, the last 1,000 closed klines per symbol and
//! interval plus the open one, and the rolling 24 h ticker.

use std::cmp::Reverse;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::Json;
use cex_config::SymbolConfig;
use cex_engine::SymbolStatus;
use cex_identity::error::ErrorBody;
use cex_projections::{Interval, Kline, Level, Projections, PublicTrade, Ticker24h};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{TradingCode, TradingResult};
use crate::extract::{bounded, check_range, time_window, PageQuery, QueryParams};
use crate::markets::{clip, Markets};
use crate::views::ns_to_ms;
use crate::{Shared, TradingError};

/// `units` minor units at `scale` decimals as a decimal string, for the i128 sums (volumes)
/// that can pass what an i64 or a `Decimal` holds.
pub fn format_wide(units: i128, scale: u8) -> String {
    let digits = units.unsigned_abs().to_string();
    let scale = usize::from(scale);
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = padded.split_at(padded.len() - scale);
    let fraction = fraction.trim_end_matches('0');
    let sign = if units < 0 { "-" } else { "" };
    if fraction.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DepthQuery {
    #[param(example = "BTC-USDT")]
    symbol: String,
    /// Levels per side, 1 to 5000; default 100.
    limit: Option<u32>,
}

/// One price level.
#[derive(Debug, Serialize, ToSchema)]
pub struct LevelJson {
    price: String,
    /// The resting quantity at this price.
    qty: String,
    /// How many orders rest at this price.
    orders: u32,
}

impl LevelJson {
    pub(crate) fn new(symbol: &SymbolConfig, level: &Level) -> LevelJson {
        LevelJson { price: symbol.format_price(level.price), qty: symbol.format_qty(level.qty), orders: level.orders }
    }
}

/// A snapshot of the book.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DepthJson {
    symbol: String,
    /// The sequence of the last command that changed this book: the diff stream's update
    /// ids continue from here (see docs/TRADING_API.md for the sync rules).
    last_update_id: u64,
    /// Best (highest) first.
    bids: Vec<LevelJson>,
    /// Best (lowest) first.
    asks: Vec<LevelJson>,
}

const MAX_DEPTH: u32 = 5_000;
const DEFAULT_DEPTH: u32 = 100;

/// QueryDepth (not in the catalog): the order book's best levels with its `lastUpdateId`.
#[utoipa::path(
    get,
    path = "/api/v1/depth",
    tag = "market",
    params(DepthQuery),
    responses(
        (status = 200, description = "The book", body = DepthJson),
        (status = 400, description = "2004 unknown symbol; 2006 bad limit", body = ErrorBody),
    )
)]
pub(crate) async fn depth(
    State(trading): Shared,
    QueryParams(query): QueryParams<DepthQuery>,
) -> TradingResult<Json<DepthJson>> {
    let symbol = trading.markets.symbol(&query.symbol)?;
    let limit = bounded("limit", query.limit.unwrap_or(DEFAULT_DEPTH), MAX_DEPTH)?;
    let snapshot = trading.model.read(|model| model.projections().depth().snapshot(symbol.id, limit));
    // A listed symbol has a book once the read model has replayed its listing.
    let snapshot = snapshot.ok_or_else(|| TradingError::new(TradingCode::NotReady))?;
    let levels = |levels: &[Level]| levels.iter().map(|level| LevelJson::new(symbol, level)).collect();
    Ok(Json(DepthJson {
        symbol: symbol.name.clone(),
        last_update_id: snapshot.last_update_id,
        bids: levels(&snapshot.bids),
        asks: levels(&snapshot.asks),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct TradesQuery {
    #[param(example = "BTC-USDT")]
    symbol: String,
    /// Trades at or after this time, Unix ms.
    start_time: Option<i64>,
    /// Trades at or before this time, Unix ms.
    end_time: Option<i64>,
    /// At most this many (the most recent), 1 to 1000; default 500.
    limit: Option<u32>,
}

/// A public trade.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicTradeJson {
    id: u64,
    price: String,
    qty: String,
    quote_qty: String,
    time: i64,
    /// The resting order was the buy: the taker sold.
    is_buyer_maker: bool,
}

impl PublicTradeJson {
    pub(crate) fn new(symbol: &SymbolConfig, trade: &PublicTrade) -> PublicTradeJson {
        PublicTradeJson {
            id: trade.trade_id,
            price: symbol.format_price(trade.price),
            qty: symbol.format_qty(trade.qty),
            quote_qty: symbol.format_price(trade.quote_qty),
            time: ns_to_ms(trade.time_ns),
            is_buyer_maker: trade.is_buyer_maker(),
        }
    }
}

/// Public trades, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicTrades {
    symbol: String,
    trades: Vec<PublicTradeJson>,
}

const MAX_ROWS: u32 = 1_000;
const DEFAULT_ROWS: u32 = 500;

/// QueryHistoricalTrades: the symbol's public trades (the last 1,000 are kept), oldest
/// first.
#[utoipa::path(
    get,
    path = "/api/v1/historical-trades",
    tag = "market",
    params(TradesQuery),
    responses(
        (status = 200, description = "Trades", body = PublicTrades),
        (status = 400, description = "2004 unknown symbol; 2006 bad time range or limit", body = ErrorBody),
    )
)]
pub(crate) async fn trades(
    State(trading): Shared,
    QueryParams(query): QueryParams<TradesQuery>,
) -> TradingResult<Json<PublicTrades>> {
    let symbol = trading.markets.symbol(&query.symbol)?;
    let limit = bounded("limit", query.limit.unwrap_or(DEFAULT_ROWS), MAX_ROWS)?;
    let in_window = time_window(query.start_time, query.end_time)?;
    let recent = trading.model.read(|model| model.projections().trades().recent(symbol.id, usize::MAX));
    let mut trades: Vec<PublicTradeJson> = recent
        .iter()
        .rev()
        .filter(|trade| in_window(ns_to_ms(trade.time_ns)))
        .take(limit)
        .map(|trade| PublicTradeJson::new(symbol, trade))
        .collect();
    trades.reverse();
    Ok(Json(PublicTrades { symbol: symbol.name.clone(), trades }))
}

pub(crate) fn interval(name: &str) -> TradingResult<Interval> {
    Interval::parse(name).ok_or_else(|| {
        TradingError::invalid(format!(
            "interval: one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M, not {:?}",
            clip(name)
        ))
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct KlinesQuery {
    #[param(example = "BTC-USDT")]
    symbol: String,
    /// 1s, 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w or 1M.
    #[param(example = "1m")]
    interval: String,
    /// Klines opening at or after this time, Unix ms (then the oldest `limit` of them).
    start_time: Option<i64>,
    /// Klines opening at or before this time, Unix ms.
    end_time: Option<i64>,
    /// 1 to 1000; default 500. Without `startTime`, the most recent.
    limit: Option<u32>,
}

/// One kline (candlestick).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KlineJson {
    open_time: i64,
    /// One millisecond before the next kline opens.
    close_time: i64,
    open: String,
    high: String,
    low: String,
    close: String,
    /// Base traded.
    volume: String,
    /// Quote traded.
    quote_volume: String,
    trades: u64,
    /// The part of `volume` where the taker bought.
    taker_buy_volume: String,
    taker_buy_quote_volume: String,
}

impl KlineJson {
    pub(crate) fn new(symbol: &SymbolConfig, kline: &Kline) -> KlineJson {
        KlineJson {
            open_time: kline.open_time_ms,
            close_time: kline.close_time_ms,
            open: symbol.format_price(kline.open),
            high: symbol.format_price(kline.high),
            low: symbol.format_price(kline.low),
            close: symbol.format_price(kline.close),
            volume: format_wide(kline.volume, symbol.base.scale),
            quote_volume: format_wide(kline.quote_volume, symbol.quote.scale),
            trades: kline.trade_count,
            taker_buy_volume: format_wide(kline.taker_buy_volume, symbol.base.scale),
            taker_buy_quote_volume: format_wide(kline.taker_buy_quote_volume, symbol.quote.scale),
        }
    }
}

/// Klines, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Klines {
    symbol: String,
    interval: String,
    /// Only intervals with trades have a kline; the last one may still be open.
    klines: Vec<KlineJson>,
}

/// QueryHistoricalKlines: klines at any of the 16 intervals (the last 1,000 closed ones and
/// the open one are kept per symbol and interval).
#[utoipa::path(
    get,
    path = "/api/v1/klines",
    tag = "market",
    params(KlinesQuery),
    responses(
        (status = 200, description = "Klines", body = Klines),
        (status = 400, description = "2004 unknown symbol; 2006 bad interval, time range or limit", body = ErrorBody),
    )
)]
pub(crate) async fn klines(
    State(trading): Shared,
    QueryParams(query): QueryParams<KlinesQuery>,
) -> TradingResult<Json<Klines>> {
    let symbol = trading.markets.symbol(&query.symbol)?;
    let interval = interval(&query.interval)?;
    let limit = bounded("limit", query.limit.unwrap_or(DEFAULT_ROWS), MAX_ROWS)?;
    check_range(query.start_time, query.end_time)?;
    let klines = trading.model.read(|model| {
        model.projections().klines().klines(symbol.id, interval, query.start_time, query.end_time, limit)
    });
    Ok(Json(Klines {
        symbol: symbol.name.clone(),
        interval: interval.name().to_string(),
        klines: klines.iter().map(|kline| KlineJson::new(symbol, kline)).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TickerQuery {
    /// One symbol; without it, every symbol.
    symbol: Option<String>,
}

/// The rolling 24 h statistics of a symbol.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TickerJson {
    symbol: String,
    /// `lastPrice − openPrice`; "0" without trades in the window.
    price_change: String,
    /// The change in percent of `openPrice`, 3 decimals; "0" without trades.
    price_change_percent: String,
    /// `quoteVolume / volume`, cut to the quote's decimals; "0" without trades.
    weighted_avg_price: String,
    open_price: String,
    high_price: String,
    low_price: String,
    /// The last trade ever, even if older than the window; "0" if it never traded.
    last_price: String,
    last_qty: String,
    volume: String,
    quote_volume: String,
    /// Where the window starts: one-minute precision.
    open_time: i64,
    close_time: i64,
    first_id: Option<u64>,
    last_id: Option<u64>,
    count: u64,
    /// The best bid and ask now; null on an empty side.
    bid_price: Option<String>,
    bid_qty: Option<String>,
    ask_price: Option<String>,
    ask_qty: Option<String>,
}

impl TickerJson {
    fn new(symbol: &SymbolConfig, ticker: &Ticker24h) -> TickerJson {
        let price = |units| symbol.format_price(units);
        TickerJson {
            symbol: symbol.name.clone(),
            price_change: price(ticker.price_change),
            price_change_percent: change_percent(ticker),
            weighted_avg_price: weighted_average(symbol, ticker),
            open_price: price(ticker.open_price),
            high_price: price(ticker.high_price),
            low_price: price(ticker.low_price),
            last_price: price(ticker.last_price),
            last_qty: symbol.format_qty(ticker.last_qty),
            volume: format_wide(ticker.volume, symbol.base.scale),
            quote_volume: format_wide(ticker.quote_volume, symbol.quote.scale),
            open_time: ticker.open_time_ms,
            close_time: ticker.close_time_ms,
            first_id: ticker.first_trade_id,
            last_id: ticker.last_trade_id,
            count: ticker.trade_count,
            bid_price: ticker.best_bid.map(|level| price(level.price)),
            bid_qty: ticker.best_bid.map(|level| symbol.format_qty(level.qty)),
            ask_price: ticker.best_ask.map(|level| price(level.price)),
            ask_qty: ticker.best_ask.map(|level| symbol.format_qty(level.qty)),
        }
    }
}

fn change_percent(ticker: &Ticker24h) -> String {
    let Some((change, open)) = ticker.price_change_fraction() else { return "0".to_string() };
    let percent = Decimal::from(change)
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|scaled| scaled.checked_div(Decimal::from(open)));
    percent.map_or_else(|| "0".to_string(), |percent| percent.round_dp(3).normalize().to_string())
}

/// Quote minor units per whole base unit: `quote_volume × 10^base_scale / volume`, rounded
/// down.
fn weighted_average(symbol: &SymbolConfig, ticker: &Ticker24h) -> String {
    let per_base = 10i128.checked_pow(u32::from(symbol.base.scale));
    let average = per_base
        .and_then(|per_base| ticker.quote_volume.checked_mul(per_base))
        .and_then(|scaled| scaled.checked_div(ticker.volume));
    format_wide(average.unwrap_or(0), symbol.quote.scale)
}

/// The current time in ms, for the ticker's window (it never goes back before the last
/// command's time).
pub(crate) fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn ticker_of(projections: &Projections, symbol: &SymbolConfig, now_ms: i64) -> TickerJson {
    let ticker = projections.tickers().ticker(symbol.id, now_ms, projections.depth());
    TickerJson::new(symbol, &ticker)
}

/// Query24hStats: the rolling 24 h ticker of one symbol or of all.
#[utoipa::path(
    get,
    path = "/api/v1/ticker/24hr",
    tag = "market",
    params(TickerQuery),
    responses(
        (status = 200, description = "One ticker per symbol asked for", body = Vec<TickerJson>),
        (status = 400, description = "2004 unknown symbol", body = ErrorBody),
    )
)]
pub(crate) async fn ticker(
    State(trading): Shared,
    QueryParams(query): QueryParams<TickerQuery>,
) -> TradingResult<Json<Vec<TickerJson>>> {
    let symbols: Vec<&SymbolConfig> = match query.symbol.as_deref() {
        Some(name) => vec![trading.markets.symbol(name)?],
        None => trading.markets.symbols().iter().collect(),
    };
    let now_ms = now_ms();
    let tickers = trading
        .model
        .read(|model| symbols.iter().map(|symbol| ticker_of(model.projections(), symbol, now_ms)).collect());
    Ok(Json(tickers))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListedQuery {
    /// `TRADING` (at least one of its symbols trades) or `NOT_TRADING`.
    status: Option<String>,
    /// 1-based; default 1.
    page: Option<u32>,
    /// Rows per page, 1 to 500; default 100.
    limit: Option<u32>,
}

/// A symbol and its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct SymbolState {
    symbol: String,
    /// `TRADING`, `HALTED`, `SUSPENDED` or `DELISTED`.
    status: &'static str,
}

/// A listed asset.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedAsset {
    asset: String,
    /// Decimal places of its smallest unit.
    scale: u8,
    /// `TRADING` if at least one of its symbols trades, else `NOT_TRADING`.
    status: &'static str,
    symbols: Vec<SymbolState>,
}

/// A page of listed assets.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListedAssets {
    assets: Vec<ListedAsset>,
    total: usize,
    page: u32,
    limit: u32,
}

fn symbol_status_name(status: SymbolStatus) -> &'static str {
    match status {
        SymbolStatus::Trading => "TRADING",
        SymbolStatus::Halted => "HALTED",
        SymbolStatus::Suspended => "SUSPENDED",
        SymbolStatus::Delisted => "DELISTED",
    }
}

/// An empty object: what `ping` answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// Ping: answers `{}` when the REST port serves, through the same layers as every route
/// (a connectivity check, and the baseline of `cex bench rest`).
#[utoipa::path(
    get,
    path = "/api/v1/ping",
    tag = "market",
    responses((status = 200, description = "The port serves", body = Empty))
)]
pub(crate) async fn ping() -> Json<Empty> {
    Json(Empty {})
}

/// The server's clock, Unix ms: what signed requests' timestamps are checked against.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    server_time: u64,
}

/// ServerTime: the server's clock, so a client can correct its signed requests' timestamps.
#[utoipa::path(
    get,
    path = "/api/v1/time",
    tag = "market",
    responses((status = 200, description = "The server's clock", body = ServerTime))
)]
pub(crate) async fn server_time() -> Json<ServerTime> {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Json(ServerTime { server_time: since_epoch.as_millis() as u64 })
}

/// QueryListedAssets: the assets the exchange lists, with their symbols' states.
#[utoipa::path(
    get,
    path = "/api/v1/assets/listed",
    tag = "market",
    params(ListedQuery),
    responses(
        (status = 200, description = "A page of assets", body = ListedAssets),
        (status = 400, description = "2006: bad status or page", body = ErrorBody),
    )
)]
pub(crate) async fn listed_assets(
    State(trading): Shared,
    QueryParams(query): QueryParams<ListedQuery>,
) -> TradingResult<Json<ListedAssets>> {
    let page = PageQuery { page: query.page, limit: query.limit }.page()?;
    let wanted = match query.status.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some(status @ ("TRADING" | "NOT_TRADING")) => Some(status == "TRADING"),
        Some(other) => {
            return Err(TradingError::invalid(format!("status: TRADING or NOT_TRADING, not {:?}", clip(other))))
        }
    };
    let assets = trading.model.read(|model| listed(&trading.markets, model.projections()));
    let assets: Vec<ListedAsset> = assets
        .into_iter()
        .filter(|asset| wanted.is_none_or(|trading| (asset.status == "TRADING") == trading))
        .collect();
    let total = assets.len();
    Ok(Json(ListedAssets { assets: page.take(assets), total, page: page.page, limit: page.limit }))
}

fn listed(markets: &Markets, projections: &Projections) -> Vec<ListedAsset> {
    markets
        .assets()
        .iter()
        .map(|asset| {
            let symbols: Vec<SymbolState> = markets
                .symbols()
                .iter()
                .filter(|symbol| symbol.base.id == asset.id || symbol.quote.id == asset.id)
                .map(|symbol| SymbolState {
                    symbol: symbol.name.clone(),
                    status: projections
                        .registry()
                        .symbol(symbol.id)
                        .map_or("SUSPENDED", |info| symbol_status_name(info.status)),
                })
                .collect();
            let trades = symbols.iter().any(|symbol| symbol.status == "TRADING");
            ListedAsset {
                asset: asset.name.clone(),
                scale: asset.scale,
                status: if trades { "TRADING" } else { "NOT_TRADING" },
                symbols,
            }
        })
        .collect()
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct VolumeQuery {
    #[param(example = "BTC-USDT")]
    symbol: String,
    /// The buckets: any kline interval (1s … 1M).
    #[param(example = "1h")]
    interval: String,
    /// Buckets opening at or after this time, Unix ms.
    start_time: Option<i64>,
    /// Buckets opening at or before this time, Unix ms.
    end_time: Option<i64>,
}

/// Volume traded in one bucket.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeBucket {
    open_time: i64,
    close_time: i64,
    volume: String,
    quote_volume: String,
    trades: u64,
}

/// Volume traded in a time range, in total and per bucket.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TradingVolume {
    symbol: String,
    interval: String,
    /// Base traded in the buckets listed.
    volume: String,
    quote_volume: String,
    trades: u64,
    /// Buckets with trades, oldest first (the last 1,000 per interval are kept).
    buckets: Vec<VolumeBucket>,
}

/// QueryTradingVolume: how much a symbol traded in a time range, per interval bucket.
#[utoipa::path(
    get,
    path = "/api/v1/volume",
    tag = "market",
    params(VolumeQuery),
    responses(
        (status = 200, description = "The volume", body = TradingVolume),
        (status = 400, description = "2004 unknown symbol; 2006 bad interval or time range", body = ErrorBody),
    )
)]
pub(crate) async fn volume(
    State(trading): Shared,
    QueryParams(query): QueryParams<VolumeQuery>,
) -> TradingResult<Json<TradingVolume>> {
    let symbol = trading.markets.symbol(&query.symbol)?;
    let interval = interval(&query.interval)?;
    check_range(query.start_time, query.end_time)?;
    let klines = trading.model.read(|model| {
        let start = query.start_time.or(Some(i64::MIN));
        model.projections().klines().klines(symbol.id, interval, start, query.end_time, usize::MAX)
    });
    let sum = |field: fn(&Kline) -> i128| klines.iter().fold(0i128, |total, kline| total.saturating_add(field(kline)));
    Ok(Json(TradingVolume {
        symbol: symbol.name.clone(),
        interval: interval.name().to_string(),
        volume: format_wide(sum(|kline| kline.volume), symbol.base.scale),
        quote_volume: format_wide(sum(|kline| kline.quote_volume), symbol.quote.scale),
        trades: klines.iter().map(|kline| kline.trade_count).fold(0, u64::saturating_add),
        buckets: klines
            .iter()
            .map(|kline| VolumeBucket {
                open_time: kline.open_time_ms,
                close_time: kline.close_time_ms,
                volume: format_wide(kline.volume, symbol.base.scale),
                quote_volume: format_wide(kline.quote_volume, symbol.quote.scale),
                trades: kline.trade_count,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct RankingQuery {
    /// Rank the symbols quoted in this asset.
    #[param(example = "USDT")]
    quote_currency: String,
    /// How many, 1 to 100; default 10.
    limit: Option<u32>,
    /// `24h` (default): the rolling 24 h window. Or a kline interval (`1h`, `1d`, `1w`,
    /// `1M`, …): the current one so far.
    period: Option<String>,
}

/// A symbol's place in the ranking.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RankedSymbol {
    /// From 1.
    rank: usize,
    symbol: String,
    volume: String,
    quote_volume: String,
    trades: u64,
}

/// Symbols by quote volume, highest first (ties by name).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeRanking {
    quote_currency: String,
    period: String,
    ranking: Vec<RankedSymbol>,
}

const MAX_RANKED: u32 = 100;
const DEFAULT_RANKED: u32 = 10;

/// How a ranking period reads volumes.
enum Period {
    Rolling24h,
    Current(Interval),
}

/// QueryVolumeRanking: the symbols quoted in one asset, by traded quote volume.
#[utoipa::path(
    get,
    path = "/api/v1/volume/ranking",
    tag = "market",
    params(RankingQuery),
    responses(
        (status = 200, description = "The ranking", body = VolumeRanking),
        (status = 400, description = "2005 unknown quote currency; 2006 bad period or limit", body = ErrorBody),
    )
)]
pub(crate) async fn volume_ranking(
    State(trading): Shared,
    QueryParams(query): QueryParams<RankingQuery>,
) -> TradingResult<Json<VolumeRanking>> {
    let quote = trading.markets.asset(&query.quote_currency)?;
    let limit = bounded("limit", query.limit.unwrap_or(DEFAULT_RANKED), MAX_RANKED)?;
    let period = match query.period.as_deref() {
        None | Some("24h") => Period::Rolling24h,
        Some(name) => Period::Current(interval(name)?),
    };
    let quoted: Vec<&SymbolConfig> = trading.markets.symbols().iter().filter(|s| s.quote.id == quote.id).collect();
    let now_ms = now_ms();
    let mut volumes: Vec<(&SymbolConfig, i128, i128, u64)> = trading.model.read(|model| {
        quoted.iter().map(|symbol| period_volume(model.projections(), symbol, &period, now_ms)).collect()
    });
    volumes.sort_by(|a, b| (Reverse(a.2), &a.0.name).cmp(&(Reverse(b.2), &b.0.name)));
    let ranking = volumes
        .into_iter()
        .take(limit)
        .enumerate()
        .map(|(index, (symbol, volume, quote_volume, trades))| RankedSymbol {
            rank: index + 1,
            symbol: symbol.name.clone(),
            volume: format_wide(volume, symbol.base.scale),
            quote_volume: format_wide(quote_volume, symbol.quote.scale),
            trades,
        })
        .collect();
    let period = match period {
        Period::Rolling24h => "24h".to_string(),
        Period::Current(interval) => interval.name().to_string(),
    };
    Ok(Json(VolumeRanking { quote_currency: quote.name.clone(), period, ranking }))
}

/// (symbol, base volume, quote volume, trades) over the period.
fn period_volume<'a>(
    projections: &Projections,
    symbol: &'a SymbolConfig,
    period: &Period,
    now_ms: i64,
) -> (&'a SymbolConfig, i128, i128, u64) {
    match period {
        Period::Rolling24h => {
            let ticker = projections.tickers().ticker(symbol.id, now_ms, projections.depth());
            (symbol, ticker.volume, ticker.quote_volume, ticker.trade_count)
        }
        Period::Current(interval) => {
            let current = interval.open_time_ms(now_ms);
            let kline = projections.klines().open_kline(symbol.id, *interval).filter(|k| k.open_time_ms == current);
            kline.map_or((symbol, 0, 0, 0), |kline| (symbol, kline.volume, kline.quote_volume, kline.trade_count))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_amounts_format_exactly() {
        assert_eq!(format_wide(0, 8), "0");
        assert_eq!(format_wide(150_000_000, 8), "1.5");
        assert_eq!(format_wide(-5, 2), "-0.05");
        assert_eq!(format_wide(1_000, 0), "1000");
        assert_eq!(format_wide(i128::MAX, 18), "170141183460469231731.687303715884105727");
        assert_eq!(format_wide(i128::MIN, 0), "-170141183460469231731687303715884105728");
    }
}
