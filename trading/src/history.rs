//! What the persisted history (`cex-history`) serves: QueryBalanceSnapshot (your balances at
//! any past time) and ExportHistoricalData (a background job writing a symbol's trades or
//! klines to a CSV file that only its requester can read).
//!
//! Both read the store the history writer fills a few milliseconds behind the engine; a
//! request waits (up to [`HISTORY_WAIT`]) for the writer to reach the command the read model
//! had applied when it came, so what the caller has just done is included.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use cex_config::SymbolConfig;
use cex_history::exports::{self, ExportJob, ExportRequest};
use cex_history::{query, HistoryError, MS_PER_DAY};
use cex_identity::authz::UserPrincipal;
use cex_identity::error::ErrorBody;
use cex_identity::http::JsonBody;
use cex_identity::store::Store;
use cex_projections::Interval;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use utoipa::{IntoParams, ToSchema};

use crate::error::{TradingCode, TradingError, TradingResult};
use crate::extract::{IdPath, QueryParams};
use crate::market::format_wide;
use crate::markets::clip;
use crate::{Shared, Trading};

/// How long a request waits for the history writer to catch up with the read model.
const HISTORY_WAIT: Duration = Duration::from_secs(3);
/// The widest export: 31 days.
pub const MAX_EXPORT_RANGE_MS: i64 = 31 * MS_PER_DAY;
/// Exports one user may have pending or running at once.
pub const MAX_ACTIVE_EXPORTS: i64 = 2;
/// Trades read from the store per query while exporting.
const EXPORT_PAGE: u32 = 5_000;

/// Migrates the history tables and fails the export jobs a stopped node left unfinished.
pub async fn open(store: &Store) -> TradingResult<()> {
    cex_history::migrate(store).await.map_err(history_error)?;
    let interrupted = exports::fail_interrupted(store, now_ms()).await.map_err(history_error)?;
    if interrupted > 0 {
        tracing::warn!(jobs = interrupted, "export jobs cut short by the last stop are marked failed");
    }
    Ok(())
}

fn history_error(error: HistoryError) -> TradingError {
    TradingError::internal(error)
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Waits until the store holds command `seq` (2506 after [`HISTORY_WAIT`]).
async fn history_reaches(store: &Store, seq: u64) -> TradingResult<()> {
    let deadline = Instant::now() + HISTORY_WAIT;
    loop {
        let position = query::position(store).await.map_err(history_error)?;
        if position.seq >= seq {
            return Ok(());
        }
        if Instant::now() >= deadline {
            let msg =
                format!("the history store is at command {} and the engine at {seq}: retry shortly", position.seq);
            return Err(TradingError::with_msg(TradingCode::HistoryBehind, msg));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SnapshotQuery {
    /// The point in time, Unix ms: not negative, not in the future. Takes precedence over
    /// `timestamp`, which API-key signatures use for the signing time.
    time: Option<String>,
    /// The point in time, Unix ms, when `time` is not given; default now.
    timestamp: Option<String>,
}

/// One asset's balance at the snapshot's time.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotBalance {
    #[schema(example = "USDT")]
    asset: String,
    available: String,
    frozen: String,
}

/// Your balances at a point in time.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BalanceSnapshot {
    /// The point in time, Unix ms.
    time: i64,
    /// Every asset with a non-zero balance then.
    balances: Vec<SnapshotBalance>,
}

/// QueryBalanceSnapshot: your balances as they stood at the end of a millisecond: the daily
/// snapshot (taken at each UTC midnight) at or before it, plus the ledger up to it.
#[utoipa::path(
    get,
    path = "/api/v1/account/snapshot",
    tag = "account",
    params(SnapshotQuery),
    responses(
        (status = 200, description = "Your balances then", body = BalanceSnapshot),
        (status = 400, description = "2006: the time is not a number, negative or in the future", body = ErrorBody),
        (status = 503, description = "2506: the history store is behind the engine", body = ErrorBody),
    )
)]
pub(crate) async fn balance_snapshot(
    State(trading): Shared,
    user: UserPrincipal,
    QueryParams(query): QueryParams<SnapshotQuery>,
) -> TradingResult<Json<BalanceSnapshot>> {
    let now = now_ms();
    let time = match query.time.as_deref().or(query.timestamp.as_deref()) {
        Some(text) => parse_time("time", text)?,
        None => now,
    };
    if time > now {
        return Err(TradingError::invalid(format!("time: {time} is in the future (now is {now})")));
    }
    let store = trading.identity.store();
    let position = query::position(store).await.map_err(history_error)?;
    if position.ts_ns / 1_000_000 <= u64::try_from(time).unwrap_or(0) {
        history_reaches(store, trading.model.applied_seq()).await?;
    }
    let balances = query::balances_at(store, user.engine_account, time).await.map_err(history_error)?;
    let markets = &trading.markets;
    let balances = balances
        .iter()
        .map(|balance| SnapshotBalance {
            asset: markets.asset_name(balance.asset),
            available: markets.format_asset(balance.asset, balance.available),
            frozen: markets.format_asset(balance.asset, balance.frozen),
        })
        .collect();
    Ok(Json(BalanceSnapshot { time, balances }))
}

/// A Unix ms time: a non-negative integer.
fn parse_time(field: &str, text: &str) -> TradingResult<i64> {
    let time: i64 = text
        .trim()
        .parse()
        .map_err(|_| TradingError::invalid(format!("{field}: Unix milliseconds, not {:?}", clip(text))))?;
    if time < 0 {
        return Err(TradingError::invalid(format!("{field}: not negative")));
    }
    Ok(time)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExportBody {
    #[schema(example = "BTC-USDT")]
    symbol: String,
    /// `trades` or `klines`.
    #[schema(example = "klines")]
    data_type: String,
    /// For klines: 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 8h, 12h, 1d, 3d, 1w or 1M.
    #[schema(example = "1h")]
    interval: Option<String>,
    /// Unix ms, inclusive: trades at or after it, klines opening at or after it.
    start_time: i64,
    /// Unix ms, inclusive; at most 31 days after `startTime`.
    end_time: i64,
}

/// An export job as its requester sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportStatus {
    job_id: i64,
    symbol: String,
    data_type: String,
    interval: Option<String>,
    start_time: i64,
    end_time: i64,
    /// `pending`, `running`, `done` or `failed`.
    status: String,
    /// Data rows in the file (without the header), once done.
    rows: i64,
    /// Why it failed.
    error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl ExportStatus {
    fn new(job: ExportJob) -> ExportStatus {
        ExportStatus {
            job_id: job.id,
            symbol: job.request.symbol,
            data_type: job.request.data_type,
            interval: job.request.interval,
            start_time: job.request.start_ms,
            end_time: job.request.end_ms,
            status: job.status,
            rows: job.rows,
            error: job.error,
            created_at: job.created_ms,
            updated_at: job.updated_ms,
        }
    }
}

/// What to export, checked.
#[derive(Debug, Clone)]
enum ExportKind {
    Trades,
    Klines(Interval),
}

fn checked_export(trading: &Trading, body: &ExportBody, now: i64) -> TradingResult<(SymbolConfig, ExportKind)> {
    let symbol = trading.markets.symbol(&body.symbol)?.clone();
    let kind = match (body.data_type.as_str(), body.interval.as_deref()) {
        ("trades", None) => ExportKind::Trades,
        ("trades", Some(_)) => return Err(TradingError::invalid("interval: only for dataType klines")),
        ("klines", None) => return Err(TradingError::invalid("interval: required for dataType klines")),
        ("klines", Some(name)) => match Interval::parse(name) {
            Some(Interval::Second1) => {
                return Err(TradingError::invalid("interval: 1s klines are not kept in the history: 1m or longer"))
            }
            Some(interval) => ExportKind::Klines(interval),
            None => return Err(TradingError::invalid(format!("interval: 1m to 1M, not {:?}", clip(name)))),
        },
        (other, _) => return Err(TradingError::invalid(format!("dataType: trades or klines, not {:?}", clip(other)))),
    };
    let (start, end) = (body.start_time, body.end_time);
    if start < 0 || end < 0 {
        return Err(TradingError::invalid("startTime and endTime: not negative"));
    }
    if end < start {
        return Err(TradingError::invalid("endTime: not before startTime"));
    }
    if end - start > MAX_EXPORT_RANGE_MS {
        return Err(TradingError::invalid("endTime: at most 31 days after startTime"));
    }
    if start > now {
        return Err(TradingError::invalid(format!("startTime: {start} is in the future (now is {now})")));
    }
    Ok((symbol, kind))
}

/// ExportHistoricalData: starts a background job writing a symbol's trades or klines in a
/// time range to a CSV file; poll its status, then download it.
#[utoipa::path(
    post,
    path = "/api/v1/export/market-data",
    tag = "account",
    request_body = ExportBody,
    responses(
        (status = 202, description = "The job is queued", body = ExportStatus),
        (status = 400, description = "2004 unknown symbol; 2006 bad dataType, interval or time range (at most 31 days)", body = ErrorBody),
        (status = 409, description = "2013: you already have 2 exports pending or running", body = ErrorBody),
    )
)]
pub(crate) async fn start_export(
    State(trading): Shared,
    user: UserPrincipal,
    JsonBody(body): JsonBody<ExportBody>,
) -> TradingResult<Response> {
    let now = now_ms();
    let (symbol, kind) = checked_export(&trading, &body, now)?;
    let request = ExportRequest {
        user_id: user.user_id,
        symbol: symbol.name.clone(),
        data_type: body.data_type.clone(),
        interval: body.interval.clone(),
        start_ms: body.start_time,
        end_ms: body.end_time,
    };
    let store = trading.identity.store().clone();
    let id = exports::create(&store, &request, MAX_ACTIVE_EXPORTS, now)
        .await
        .map_err(history_error)?
        .ok_or_else(|| TradingError::new(TradingCode::TooManyExports))?;
    let job = Export {
        id,
        store,
        symbol,
        kind,
        range: (body.start_time, body.end_time),
        dir: export_dir(&trading),
        seq: trading.model.applied_seq(),
    };
    tokio::spawn(job.run());
    tracing::info!(job = id, user = user.user_id, symbol = %request.symbol, data = %request.data_type, "export queued");
    let queued =
        ExportJob { id, request, status: "pending".into(), rows: 0, error: None, created_ms: now, updated_ms: now };
    Ok((StatusCode::ACCEPTED, Json(ExportStatus::new(queued))).into_response())
}

/// Where export files live: `exports/` in the node's data directory.
fn export_dir(trading: &Trading) -> PathBuf {
    trading.identity.config().data_dir.join("exports")
}

fn file_of(dir: &std::path::Path, id: i64) -> PathBuf {
    dir.join(format!("{id}.csv"))
}

async fn own_job(trading: &Trading, user: &UserPrincipal, id: i64) -> TradingResult<ExportJob> {
    let job = exports::job_of(trading.identity.store(), id, user.user_id).await.map_err(history_error)?;
    job.ok_or_else(|| TradingError::with_msg(TradingCode::ExportNotFound, format!("no export {id} of yours")))
}

/// An export job's status: only its requester sees it.
#[utoipa::path(
    get,
    path = "/api/v1/export/{jobId}",
    tag = "account",
    params(("jobId" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = ExportStatus),
        (status = 404, description = "2011: no such export of yours", body = ErrorBody),
    )
)]
pub(crate) async fn export_status(
    State(trading): Shared,
    user: UserPrincipal,
    IdPath(id): IdPath,
) -> TradingResult<Json<ExportStatus>> {
    Ok(Json(ExportStatus::new(own_job(&trading, &user, id).await?)))
}

/// A finished export's CSV file, streamed: only its requester may download it.
#[utoipa::path(
    get,
    path = "/api/v1/export/{jobId}/download",
    tag = "account",
    params(("jobId" = i64, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The CSV file", content_type = "text/csv", body = String),
        (status = 404, description = "2011: no such export of yours", body = ErrorBody),
        (status = 409, description = "2012: the export is not done (pending, running or failed)", body = ErrorBody),
    )
)]
pub(crate) async fn export_download(
    State(trading): Shared,
    user: UserPrincipal,
    IdPath(id): IdPath,
) -> TradingResult<Response> {
    let job = own_job(&trading, &user, id).await?;
    if job.status != "done" {
        let msg = format!("export {id} is {}: download it once it is done", job.status);
        return Err(TradingError::with_msg(TradingCode::ExportNotReady, msg));
    }
    let file_error = |error: std::io::Error| TradingError::internal(format_args!("export {id}'s file: {error}"));
    let file = tokio::fs::File::open(file_of(&export_dir(&trading), id)).await.map_err(file_error)?;
    let length = file.metadata().await.map_err(file_error)?.len();
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut chunk = vec![0u8; 64 * 1024];
        match file.read(&mut chunk).await {
            Ok(0) => None,
            Ok(read) => {
                chunk.truncate(read);
                Some((Ok::<_, std::io::Error>(chunk), file))
            }
            Err(error) => Some((Err(error), file)),
        }
    });
    let disposition = format!("attachment; filename=\"{}-{}-{id}.csv\"", job.request.symbol, job.request.data_type);
    let headers = [
        (header::CONTENT_TYPE, "text/csv".to_string()),
        (header::CONTENT_LENGTH, length.to_string()),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    Ok((headers, Body::from_stream(chunks)).into_response())
}

/// One queued export, run on the REST runtime.
struct Export {
    id: i64,
    store: Store,
    symbol: SymbolConfig,
    kind: ExportKind,
    range: (i64, i64),
    dir: PathBuf,
    /// The command the read model had applied at the request: the file includes it.
    seq: u64,
}

impl Export {
    async fn run(self) {
        let outcome = self.write().await;
        let recorded = match &outcome {
            Ok(rows) => exports::set_done(&self.store, self.id, *rows, now_ms()).await,
            Err(why) => {
                let _ = tokio::fs::remove_file(self.partial()).await;
                exports::set_failed(&self.store, self.id, why, now_ms()).await
            }
        };
        match (outcome, recorded) {
            (Ok(rows), Ok(())) => tracing::info!(job = self.id, rows, "export done"),
            (Err(why), Ok(())) => tracing::warn!(job = self.id, "export failed: {why}"),
            (_, Err(error)) => tracing::error!(job = self.id, "cannot record an export's end: {error}"),
        }
    }

    fn partial(&self) -> PathBuf {
        self.dir.join(format!("{}.csv.partial", self.id))
    }

    /// Writes the file under a temporary name, then renames it; the data rows written.
    async fn write(&self) -> Result<i64, String> {
        exports::set_running(&self.store, self.id, now_ms()).await.map_err(|error| error.to_string())?;
        history_reaches(&self.store, self.seq).await.map_err(|error| error.msg)?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|error| format!("cannot create the export directory: {error}"))?;
        let mut file = tokio::fs::File::create(self.partial())
            .await
            .map_err(|error| format!("cannot create the file: {error}"))?;
        let rows = match self.kind {
            ExportKind::Trades => self.write_trades(&mut file).await?,
            ExportKind::Klines(interval) => self.write_klines(&mut file, interval).await?,
        };
        file.flush().await.map_err(|error| format!("cannot write the file: {error}"))?;
        file.sync_all().await.map_err(|error| format!("cannot write the file: {error}"))?;
        tokio::fs::rename(self.partial(), file_of(&self.dir, self.id))
            .await
            .map_err(|error| format!("cannot finish the file: {error}"))?;
        Ok(rows)
    }

    async fn write_trades(&self, file: &mut tokio::fs::File) -> Result<i64, String> {
        let mut text = String::from("tradeId,time,price,qty,quoteQty,isBuyerMaker\n");
        let (mut rows, mut after) = (0i64, 0u64);
        loop {
            let page = query::trades_between(&self.store, self.symbol.id, self.range, after, EXPORT_PAGE)
                .await
                .map_err(|error| error.to_string())?;
            let Some(last) = page.last() else { break };
            after = last.trade_id;
            for trade in &page {
                text += &format!(
                    "{},{},{},{},{},{}\n",
                    trade.trade_id,
                    trade.time_ms,
                    self.symbol.format_price(trade.price),
                    self.symbol.format_qty(trade.qty),
                    format_wide(trade.notional.into(), self.symbol.quote.scale),
                    !trade.taker_bought,
                );
            }
            rows += page.len() as i64;
            write_out(file, &mut text).await?;
        }
        write_out(file, &mut text).await?;
        Ok(rows)
    }

    async fn write_klines(&self, file: &mut tokio::fs::File, interval: Interval) -> Result<i64, String> {
        let klines = query::klines_between(&self.store, self.symbol.id, interval, self.range)
            .await
            .map_err(|error| error.to_string())?;
        let (base, quote) = (self.symbol.base.scale, self.symbol.quote.scale);
        let mut text = String::from(
            "openTime,open,high,low,close,volume,closeTime,quoteVolume,trades,takerBuyVolume,takerBuyQuoteVolume\n",
        );
        for kline in &klines {
            text += &format!(
                "{},{},{},{},{},{},{},{},{},{},{}\n",
                kline.open_time_ms,
                self.symbol.format_price(kline.open),
                self.symbol.format_price(kline.high),
                self.symbol.format_price(kline.low),
                self.symbol.format_price(kline.close),
                format_wide(kline.volume, base),
                kline.close_time_ms,
                format_wide(kline.quote_volume, quote),
                kline.trade_count,
                format_wide(kline.taker_buy_volume, base),
                format_wide(kline.taker_buy_quote_volume, quote),
            );
        }
        write_out(file, &mut text).await?;
        Ok(klines.len() as i64)
    }
}

async fn write_out(file: &mut tokio::fs::File, text: &mut String) -> Result<(), String> {
    file.write_all(text.as_bytes()).await.map_err(|error| format!("cannot write the file: {error}"))?;
    text.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_unix_milliseconds() {
        assert_eq!(parse_time("time", " 1700000000000 "), Ok(1_700_000_000_000));
        for bad in ["", "abc", "1.5", "-1", "99999999999999999999"] {
            assert_eq!(parse_time("time", bad).unwrap_err().code, 2006, "{bad:?}");
        }
    }
}
