//! The history writer: turns the engine's events into rows and commits them in batches, one
//! transaction per batch that also moves the persisted position. A crash before the commit
//! loses the batch and nothing else; the writer opened again resumes after the position, so
//! every command is written exactly once.

use cex_engine::Event;
use cex_identity::store::Store;
use cex_projections::{Kline, OrderStatus};
use sqlx::{Any, Row, Transaction};

use crate::batch::{merge, BalanceMap, Batch, OrderChange};
use crate::{HistoryError, Position};

pub struct HistoryWriter {
    store: Store,
    /// What the store holds.
    committed: Position,
    /// The last command added, committed or not.
    applied: Position,
    /// Every account's balances as of `applied`: what a daily snapshot copies.
    balances: BalanceMap,
    batch: Batch,
}

impl HistoryWriter {
    /// Migrates the history tables and loads the persisted position and balances.
    pub async fn open(store: Store) -> Result<HistoryWriter, HistoryError> {
        crate::migrate(&store).await?;
        let committed = crate::query::position(&store).await?;
        let rows = sqlx::query("SELECT account, asset, available, frozen FROM history_balances")
            .fetch_all(store.pool())
            .await?;
        let mut balances = BalanceMap::with_capacity(rows.len());
        for row in &rows {
            let account = u32::try_from(row.try_get::<i64, _>("account")?).map_err(HistoryError::corrupt)?;
            let asset = u16::try_from(row.try_get::<i64, _>("asset")?).map_err(HistoryError::corrupt)?;
            balances.insert((account, asset), (row.try_get("available")?, row.try_get("frozen")?));
        }
        Ok(HistoryWriter { store, committed, applied: committed, balances, batch: Batch::default() })
    }

    /// The last command the store holds.
    pub fn position(&self) -> Position {
        self.committed
    }

    /// Commands added since the last commit.
    pub fn pending(&self) -> usize {
        self.batch.commands
    }

    /// Adds command `seq`'s events to the batch. A command at or before the last one added
    /// (a redelivery) is ignored. Time never steps back: an earlier timestamp counts as the
    /// previous one, so the ledger's order in time is its order in sequence.
    pub fn apply(&mut self, seq: u64, ts_ns: u64, events: &[Event]) {
        if seq <= self.applied.seq {
            return;
        }
        let ts_ns = ts_ns.max(self.applied.ts_ns);
        self.batch.add(seq, ts_ns, self.applied.ts_ns, events, &mut self.balances);
        self.applied = Position { seq, ts_ns };
    }

    /// Writes the batch in one transaction with the new position. On failure nothing is
    /// written and the batch stays, to commit again.
    pub async fn commit(&mut self) -> Result<(), HistoryError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.store.pool().begin().await?;
        // The first statement writes, so SQLite takes its write lock at once.
        sqlx::query("UPDATE history_position SET seq = $1, ts_ns = $2 WHERE id = 1")
            .bind(to_i64(self.batch.last_seq))
            .bind(to_i64(self.batch.last_ts_ns))
            .execute(&mut *tx)
            .await?;
        write_snapshots(&mut tx, &self.batch).await?;
        write_orders(&mut tx, &self.batch).await?;
        write_trades(&mut tx, &self.batch).await?;
        write_ledger(&mut tx, &self.batch).await?;
        write_klines(&mut tx, &self.batch).await?;
        write_balances(&mut tx, &self.batch, &self.balances).await?;
        tx.commit().await?;
        self.committed = self.applied;
        self.batch = Batch::default();
        Ok(())
    }
}

pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

type Tx = Transaction<'static, Any>;

async fn write_snapshots(tx: &mut Tx, batch: &Batch) -> Result<(), HistoryError> {
    for snapshot in &batch.snapshots {
        sqlx::query("INSERT INTO snapshot_days (day_ms) VALUES ($1) ON CONFLICT (day_ms) DO NOTHING")
            .bind(snapshot.day_ms)
            .execute(&mut **tx)
            .await?;
        for &((account, asset), (available, frozen)) in &snapshot.balances {
            sqlx::query(
                "INSERT INTO balance_snapshots (account, day_ms, asset, available, frozen) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(i64::from(account))
            .bind(snapshot.day_ms)
            .bind(i64::from(asset))
            .bind(available)
            .bind(frozen)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

async fn write_orders(tx: &mut Tx, batch: &Batch) -> Result<(), HistoryError> {
    for (&order_id, change) in &batch.orders {
        match change.accepted {
            Some(accepted) => insert_order(tx, change, &accepted).await?,
            None => update_order(tx, order_id, change).await?,
        }
    }
    Ok(())
}

async fn insert_order(
    tx: &mut Tx,
    change: &OrderChange,
    order: &cex_engine::OrderAccepted,
) -> Result<(), HistoryError> {
    let (price, qty) = change.amended.unwrap_or((order.price, order.qty));
    let status = change.status.unwrap_or(OrderStatus::New);
    sqlx::query(
        "INSERT INTO history_orders (order_id, account, symbol, client_order_id, side, order_type, time_in_force, \
         price, qty, quote_qty, stop_price, status, executed_qty, executed_quote, created_ns, updated_ns, updated_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(to_i64(order.order_id))
    .bind(i64::from(order.account))
    .bind(i64::from(order.symbol))
    .bind(order.client_order_id.to_string())
    .bind(order.side.name())
    .bind(order.order_type.name())
    .bind(order.time_in_force.name())
    .bind(price)
    .bind(qty)
    .bind(order.quote_qty)
    .bind(order.stop_price)
    .bind(crate::status_name(status))
    .bind(change.executed_qty)
    .bind(change.executed_quote)
    .bind(to_i64(change.created_ns))
    .bind(to_i64(change.updated_ns))
    .bind(to_i64(change.updated_seq))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An order accepted in an earlier batch: executions add up, status, price and quantity
/// are replaced when the batch changed them.
async fn update_order(tx: &mut Tx, order_id: u64, change: &OrderChange) -> Result<(), HistoryError> {
    sqlx::query(
        "UPDATE history_orders SET executed_qty = executed_qty + $1, executed_quote = executed_quote + $2, \
         status = COALESCE($3, status), price = COALESCE($4, price), qty = COALESCE($5, qty), updated_ns = $6, \
         updated_seq = $7 WHERE order_id = $8",
    )
    .bind(change.executed_qty)
    .bind(change.executed_quote)
    .bind(change.status.map(crate::status_name))
    .bind(change.amended.map(|(price, _)| price))
    .bind(change.amended.map(|(_, qty)| qty))
    .bind(to_i64(change.updated_ns))
    .bind(to_i64(change.updated_seq))
    .bind(to_i64(order_id))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_trades(tx: &mut Tx, batch: &Batch) -> Result<(), HistoryError> {
    for row in &batch.trades {
        let trade = &row.trade;
        sqlx::query(
            "INSERT INTO history_trades (trade_id, seq, ts_ns, symbol, price, qty, notional, taker_side, \
             maker_order_id, taker_order_id, maker_account, taker_account, maker_fee, taker_fee) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(to_i64(trade.trade_id))
        .bind(to_i64(row.seq))
        .bind(to_i64(row.ts_ns))
        .bind(i64::from(trade.symbol))
        .bind(trade.price)
        .bind(trade.qty)
        .bind(trade.notional)
        .bind(trade.taker_side.name())
        .bind(to_i64(trade.maker_order_id))
        .bind(to_i64(trade.taker_order_id))
        .bind(i64::from(trade.maker_account))
        .bind(i64::from(trade.taker_account))
        .bind(trade.maker_fee)
        .bind(trade.taker_fee)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

async fn write_ledger(tx: &mut Tx, batch: &Batch) -> Result<(), HistoryError> {
    for row in &batch.ledger {
        let change = &row.change;
        sqlx::query(
            "INSERT INTO ledger_entries (seq, idx, ts_ns, account, asset, cause, reference, available_delta, \
             frozen_delta, available_after, frozen_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(to_i64(row.seq))
        .bind(i64::try_from(row.idx).unwrap_or(i64::MAX))
        .bind(to_i64(row.ts_ns))
        .bind(i64::from(change.account))
        .bind(i64::from(change.asset))
        .bind(change.cause.name())
        .bind(change.reference.to_string())
        .bind(change.available_after.wrapping_sub(change.available_before))
        .bind(change.frozen_after.wrapping_sub(change.frozen_before))
        .bind(change.available_after)
        .bind(change.frozen_after)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Each minute the batch traded in, merged into the stored minute if there is one.
async fn write_klines(tx: &mut Tx, batch: &Batch) -> Result<(), HistoryError> {
    for (&(symbol, open_ms), bar) in &batch.klines {
        let stored = sqlx::query(&format!(
            "SELECT {} FROM klines_1m WHERE symbol = $1 AND open_ms = $2",
            crate::query::KLINE_COLUMNS
        ))
        .bind(i64::from(symbol))
        .bind(open_ms)
        .fetch_optional(&mut **tx)
        .await?;
        let kline = match stored {
            Some(row) => {
                let mut kline = crate::query::kline_of(&row)?;
                merge(&mut kline, bar);
                kline
            }
            None => *bar,
        };
        upsert_kline(tx, symbol, &kline).await?;
    }
    Ok(())
}

async fn upsert_kline(tx: &mut Tx, symbol: u32, kline: &Kline) -> Result<(), HistoryError> {
    sqlx::query(
        "INSERT INTO klines_1m (symbol, open_ms, open, high, low, close, volume, quote_volume, taker_buy_volume, \
         taker_buy_quote_volume, trades, first_trade_id, last_trade_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (symbol, open_ms) DO UPDATE SET high = excluded.high, low = excluded.low, close = excluded.close, \
         volume = excluded.volume, quote_volume = excluded.quote_volume, taker_buy_volume = excluded.taker_buy_volume, \
         taker_buy_quote_volume = excluded.taker_buy_quote_volume, trades = excluded.trades, \
         last_trade_id = excluded.last_trade_id",
    )
    .bind(i64::from(symbol))
    .bind(kline.open_time_ms)
    .bind(kline.open)
    .bind(kline.high)
    .bind(kline.low)
    .bind(kline.close)
    .bind(kline.volume.to_string())
    .bind(kline.quote_volume.to_string())
    .bind(kline.taker_buy_volume.to_string())
    .bind(kline.taker_buy_quote_volume.to_string())
    .bind(to_i64(kline.trade_count))
    .bind(to_i64(kline.first_trade_id))
    .bind(to_i64(kline.last_trade_id))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn write_balances(tx: &mut Tx, batch: &Batch, balances: &BalanceMap) -> Result<(), HistoryError> {
    for key in &batch.touched {
        let (available, frozen) = balances.get(key).copied().unwrap_or_default();
        sqlx::query(
            "INSERT INTO history_balances (account, asset, available, frozen) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (account, asset) DO UPDATE SET available = excluded.available, frozen = excluded.frozen",
        )
        .bind(i64::from(key.0))
        .bind(i64::from(key.1))
        .bind(available)
        .bind(frozen)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
