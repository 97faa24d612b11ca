//! What a stream socket can subscribe to, parsed from the client's JSON, and what each
//! subscription makes of one market update.

use cex_config::SymbolConfig;
use cex_projections::{DepthDiff, Interval, Level};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::market::{interval, now_ms, ticker_of, KlineJson, LevelJson, PublicTradeJson};
use crate::markets::clip;
use crate::read_model::MarketUpdate;
use crate::{Trading, TradingError, TradingResult};

/// Which `/stream/...` path a socket was opened on: every subscription on it is of this
/// kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Trades,
    Depth,
    Kline,
    Ticker,
}

impl StreamKind {
    pub fn name(self) -> &'static str {
        match self {
            StreamKind::Trades => "trades",
            StreamKind::Depth => "depth",
            StreamKind::Kline => "kline",
            StreamKind::Ticker => "ticker",
        }
    }
}

/// A subscription's parameters as the client sends them (in a `subscribe` message or the
/// upgrade's query string).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscribeParams {
    pub symbol: Option<String>,
    /// Depth only: 5, 10 or 20 for snapshots; absent for diffs.
    pub levels: Option<u32>,
    /// Kline only: 1s, 1m, ... 1M.
    pub interval: Option<String>,
}

/// The depth snapshot sizes a subscription may ask for.
const SNAPSHOT_LEVELS: [u32; 3] = [5, 10, 20];

/// One subscription, checked against the listed markets.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    Trades { symbol: u32 },
    DepthDiffs { symbol: u32 },
    DepthSnapshots { symbol: u32, levels: usize },
    Kline { symbol: u32, interval: Interval },
    Ticker { symbol: u32 },
}

impl Topic {
    /// Checks `params` for a stream of `kind`: an unknown symbol, a missing or wrong
    /// parameter, or one that does not belong to this kind is refused.
    pub fn parse(trading: &Trading, kind: StreamKind, params: &SubscribeParams) -> TradingResult<Topic> {
        let name = params.symbol.as_deref().ok_or_else(|| TradingError::invalid("symbol: required"))?;
        let symbol = trading.markets().symbol(name)?.id;
        refuse_foreign(kind, params)?;
        Ok(match kind {
            StreamKind::Trades => Topic::Trades { symbol },
            StreamKind::Ticker => Topic::Ticker { symbol },
            StreamKind::Depth => depth_topic(symbol, params.levels)?,
            StreamKind::Kline => {
                let name = params.interval.as_deref().ok_or_else(|| TradingError::invalid("interval: required"))?;
                Topic::Kline { symbol, interval: interval(name)? }
            }
        })
    }

    pub fn symbol(&self) -> u32 {
        match *self {
            Topic::Trades { symbol }
            | Topic::DepthDiffs { symbol }
            | Topic::DepthSnapshots { symbol, .. }
            | Topic::Kline { symbol, .. }
            | Topic::Ticker { symbol } => symbol,
        }
    }

    /// The payloads this topic takes from `update` (each a push's `data`), oldest first.
    pub fn payloads(&self, trading: &Trading, update: &MarketUpdate) -> Vec<Value> {
        let Some(symbol) = trading.markets().symbol_by_id(self.symbol()) else { return Vec::new() };
        if !update.touches(symbol.id) {
            return Vec::new();
        }
        match *self {
            Topic::Trades { .. } => trades(symbol, update),
            Topic::DepthDiffs { .. } => diffs(symbol, update),
            Topic::DepthSnapshots { levels, .. } => snapshot(trading, symbol, levels).into_iter().collect(),
            Topic::Kline { interval, .. } if has_trade(symbol, update) => kline(trading, symbol, interval),
            Topic::Ticker { .. } if has_trade(symbol, update) => vec![ticker(trading, symbol)],
            Topic::Kline { .. } | Topic::Ticker { .. } => Vec::new(),
        }
    }
}

/// A parameter of another stream kind is a mistake worth telling the client about.
fn refuse_foreign(kind: StreamKind, params: &SubscribeParams) -> TradingResult<()> {
    if params.levels.is_some() && kind != StreamKind::Depth {
        return Err(TradingError::invalid("levels: only on /stream/depth"));
    }
    if params.interval.is_some() && kind != StreamKind::Kline {
        return Err(TradingError::invalid("interval: only on /stream/kline"));
    }
    Ok(())
}

fn depth_topic(symbol: u32, levels: Option<u32>) -> TradingResult<Topic> {
    match levels {
        None => Ok(Topic::DepthDiffs { symbol }),
        Some(levels) if SNAPSHOT_LEVELS.contains(&levels) => {
            Ok(Topic::DepthSnapshots { symbol, levels: levels as usize })
        }
        Some(levels) => Err(TradingError::invalid(format!("levels: 5, 10 or 20, not {}", clip(&levels.to_string())))),
    }
}

fn has_trade(symbol: &SymbolConfig, update: &MarketUpdate) -> bool {
    update.trades.iter().any(|trade| trade.symbol == symbol.id)
}

fn to_value(value: impl Serialize) -> Value {
    // Serializing these plain structs cannot fail; Null would only hide a bug, not crash.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn trades(symbol: &SymbolConfig, update: &MarketUpdate) -> Vec<Value> {
    let ours = update.trades.iter().filter(|trade| trade.symbol == symbol.id);
    ours.map(|trade| to_value(PublicTradeJson::new(symbol, trade))).collect()
}

fn levels(symbol: &SymbolConfig, levels: &[Level]) -> Vec<LevelJson> {
    levels.iter().map(|level| LevelJson::new(symbol, level)).collect()
}

/// A depth diff: the levels the command changed, quantity "0" for a removed one.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DiffJson {
    first_update_id: u64,
    last_update_id: u64,
    bids: Vec<LevelJson>,
    asks: Vec<LevelJson>,
}

fn diffs(symbol: &SymbolConfig, update: &MarketUpdate) -> Vec<Value> {
    let ours = update.depth.iter().filter(|diff| diff.symbol == symbol.id);
    ours.map(|diff: &DepthDiff| {
        to_value(DiffJson {
            first_update_id: diff.first_update_id,
            last_update_id: diff.last_update_id,
            bids: levels(symbol, &diff.bids),
            asks: levels(symbol, &diff.asks),
        })
    })
    .collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotJson {
    last_update_id: u64,
    bids: Vec<LevelJson>,
    asks: Vec<LevelJson>,
}

/// The book's best levels as the model holds them now (it may already be past `update`:
/// a snapshot stream shows the latest book, and its lastUpdateId says which).
fn snapshot(trading: &Trading, symbol: &SymbolConfig, limit: usize) -> Option<Value> {
    let snapshot = trading.model().read(|model| model.projections().depth().snapshot(symbol.id, limit))?;
    Some(to_value(SnapshotJson {
        last_update_id: snapshot.last_update_id,
        bids: levels(symbol, &snapshot.bids),
        asks: levels(symbol, &snapshot.asks),
    }))
}

fn kline(trading: &Trading, symbol: &SymbolConfig, interval: Interval) -> Vec<Value> {
    let open = trading.model().read(|model| model.projections().klines().open_kline(symbol.id, interval));
    open.map(|kline| to_value(KlineJson::new(symbol, &kline))).into_iter().collect()
}

fn ticker(trading: &Trading, symbol: &SymbolConfig) -> Value {
    to_value(trading.model().read(|model| ticker_of(model.projections(), symbol, now_ms())))
}
