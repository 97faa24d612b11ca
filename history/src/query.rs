//! Reads of the persisted history: the writer's position, balances at a point in time, and
//! a symbol's trades and klines over a time range.

use std::collections::BTreeMap;

use cex_engine::{AccountId, AssetId, SymbolId};
use cex_identity::store::Store;
use cex_projections::{Interval, Kline};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::batch::merge;
use crate::writer::to_i64;
use crate::{HistoryError, Position, MS_PER_MINUTE, NS_PER_MS};

pub(crate) const KLINE_COLUMNS: &str = "open_ms, open, high, low, close, volume, quote_volume, taker_buy_volume, \
    taker_buy_quote_volume, trades, first_trade_id, last_trade_id";

/// The last command the store holds.
pub async fn position(store: &Store) -> Result<Position, HistoryError> {
    let row = sqlx::query("SELECT seq, ts_ns FROM history_position WHERE id = 1").fetch_one(store.pool()).await?;
    Ok(Position { seq: unsigned(row.try_get("seq")?)?, ts_ns: unsigned(row.try_get("ts_ns")?)? })
}

fn unsigned(value: i64) -> Result<u64, HistoryError> {
    u64::try_from(value).map_err(HistoryError::corrupt)
}

/// An account's balance of one asset at some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BalanceAt {
    pub asset: AssetId,
    pub available: i64,
    pub frozen: i64,
}

/// What an account held at the end of millisecond `time_ms`, as far as the store has been
/// written: the latest daily snapshot at or before it, then every ledger entry of the
/// account from that snapshot up to and including `time_ms`, the last one per asset
/// winning (entries carry the balance after them). Non-zero balances only, by asset.
pub async fn balances_at(store: &Store, account: AccountId, time_ms: i64) -> Result<Vec<BalanceAt>, HistoryError> {
    let day: Option<i64> = sqlx::query_scalar("SELECT MAX(day_ms) FROM snapshot_days WHERE day_ms <= $1")
        .bind(time_ms)
        .fetch_one(store.pool())
        .await?;
    let mut balances: BTreeMap<AssetId, (i64, i64)> = BTreeMap::new();
    if let Some(day) = day {
        let rows =
            sqlx::query("SELECT asset, available, frozen FROM balance_snapshots WHERE account = $1 AND day_ms = $2")
                .bind(i64::from(account))
                .bind(day)
                .fetch_all(store.pool())
                .await?;
        for row in &rows {
            balances.insert(asset_of(row)?, (row.try_get("available")?, row.try_get("frozen")?));
        }
    }
    let from_ns = day.unwrap_or(0).saturating_mul(NS_PER_MS);
    let until_ns = time_ms.saturating_add(1).saturating_mul(NS_PER_MS);
    let entries = sqlx::query(
        "SELECT asset, available_after, frozen_after FROM ledger_entries WHERE account = $1 AND ts_ns >= $2 \
         AND ts_ns < $3 ORDER BY seq, idx",
    )
    .bind(i64::from(account))
    .bind(from_ns)
    .bind(until_ns)
    .fetch_all(store.pool())
    .await?;
    for row in &entries {
        balances.insert(asset_of(row)?, (row.try_get("available_after")?, row.try_get("frozen_after")?));
    }
    Ok(balances
        .into_iter()
        .filter(|(_, (available, frozen))| *available != 0 || *frozen != 0)
        .map(|(asset, (available, frozen))| BalanceAt { asset, available, frozen })
        .collect())
}

fn asset_of(row: &AnyRow) -> Result<AssetId, HistoryError> {
    AssetId::try_from(row.try_get::<i64, _>("asset")?).map_err(HistoryError::corrupt)
}

/// A public trade as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeRecord {
    pub trade_id: u64,
    pub time_ms: i64,
    pub price: i64,
    pub qty: i64,
    pub notional: i64,
    /// The taker bought.
    pub taker_bought: bool,
    pub maker_account: AccountId,
    pub taker_account: AccountId,
}

/// Up to `limit` trades of `symbol` in `[start_ms, end_ms]` with ids above `after_id`,
/// oldest first: a page of a range read in id order.
pub async fn trades_between(
    store: &Store,
    symbol: SymbolId,
    (start_ms, end_ms): (i64, i64),
    after_id: u64,
    limit: u32,
) -> Result<Vec<TradeRecord>, HistoryError> {
    let rows = sqlx::query(
        "SELECT trade_id, ts_ns, price, qty, notional, taker_side, maker_account, taker_account FROM history_trades \
         WHERE symbol = $1 AND ts_ns >= $2 AND ts_ns < $3 AND trade_id > $4 ORDER BY trade_id LIMIT $5",
    )
    .bind(i64::from(symbol))
    .bind(start_ms.saturating_mul(NS_PER_MS))
    .bind(end_ms.saturating_add(1).saturating_mul(NS_PER_MS))
    .bind(to_i64(after_id))
    .bind(i64::from(limit))
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let account = |name| u32::try_from(row.try_get::<i64, _>(name)?).map_err(HistoryError::corrupt);
            Ok(TradeRecord {
                trade_id: unsigned(row.try_get("trade_id")?)?,
                time_ms: row.try_get::<i64, _>("ts_ns")? / NS_PER_MS,
                price: row.try_get("price")?,
                qty: row.try_get("qty")?,
                notional: row.try_get("notional")?,
                taker_bought: row.try_get::<String, _>("taker_side")? == cex_engine::Side::Buy.name(),
                maker_account: account("maker_account")?,
                taker_account: account("taker_account")?,
            })
        })
        .collect()
}

/// `symbol`'s klines at `interval` (1m or longer) opening in `[start_ms, end_ms]`, oldest
/// first, summed from the stored minutes: every such interval starts on a whole minute.
pub async fn klines_between(
    store: &Store,
    symbol: SymbolId,
    interval: Interval,
    (start_ms, end_ms): (i64, i64),
) -> Result<Vec<Kline>, HistoryError> {
    if interval == Interval::Second1 {
        return Err(HistoryError::Unsupported("1s klines are not kept in the store: use 1m or longer"));
    }
    let first_minute = interval.open_time_ms(start_ms).max(start_ms.div_euclid(MS_PER_MINUTE) * MS_PER_MINUTE);
    let rows = sqlx::query(&format!(
        "SELECT {KLINE_COLUMNS} FROM klines_1m WHERE symbol = $1 AND open_ms >= $2 AND open_ms <= $3 ORDER BY open_ms"
    ))
    .bind(i64::from(symbol))
    .bind(first_minute)
    .bind(interval.close_time_ms(end_ms))
    .fetch_all(store.pool())
    .await?;
    let mut klines: Vec<Kline> = Vec::new();
    for row in &rows {
        let minute = kline_of(row)?;
        let open_ms = interval.open_time_ms(minute.open_time_ms);
        if open_ms < start_ms || open_ms > end_ms {
            continue;
        }
        match klines.last_mut() {
            Some(kline) if kline.open_time_ms == open_ms => merge(kline, &minute),
            _ => klines.push(Kline { open_time_ms: open_ms, close_time_ms: interval.close_time_ms(open_ms), ..minute }),
        }
    }
    Ok(klines)
}

/// A stored minute.
pub(crate) fn kline_of(row: &AnyRow) -> Result<Kline, HistoryError> {
    let wide = |name: &str| -> Result<i128, HistoryError> {
        row.try_get::<String, _>(name)?.parse::<i128>().map_err(HistoryError::corrupt)
    };
    let open_ms: i64 = row.try_get("open_ms")?;
    Ok(Kline {
        open_time_ms: open_ms,
        close_time_ms: open_ms + MS_PER_MINUTE - 1,
        open: row.try_get("open")?,
        high: row.try_get("high")?,
        low: row.try_get("low")?,
        close: row.try_get("close")?,
        volume: wide("volume")?,
        quote_volume: wide("quote_volume")?,
        trade_count: unsigned(row.try_get("trades")?)?,
        taker_buy_volume: wide("taker_buy_volume")?,
        taker_buy_quote_volume: wide("taker_buy_quote_volume")?,
        first_trade_id: unsigned(row.try_get("first_trade_id")?)?,
        last_trade_id: unsigned(row.try_get("last_trade_id")?)?,
    })
}
