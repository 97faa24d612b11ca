//! The export jobs' table: a job is requested (pending), taken up (running) and ends done,
//! with its row count, or failed, with why. Only its requester can see it. Jobs cut short by
//! a restart are marked failed when the node opens the table again.

use cex_identity::store::Store;
use sqlx::any::AnyRow;
use sqlx::Row;
use tokio::sync::Mutex;

use crate::HistoryError;

/// What a user asks to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub user_id: i64,
    pub symbol: String,
    /// `trades` or `klines`.
    pub data_type: String,
    pub interval: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportJob {
    pub id: i64,
    pub request: ExportRequest,
    /// `pending`, `running`, `done` or `failed`.
    pub status: String,
    pub rows: i64,
    pub error: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

pub const INTERRUPTED: &str = "interrupted by a restart of the node: request the export again";

/// Counting a user's active jobs and adding one happen under this lock, so two requests at
/// once cannot both pass the limit (one node writes the table).
static CREATING: Mutex<()> = Mutex::const_new(());

/// Adds a pending job unless the user already has `max_active` pending or running; the new
/// job's id, or `None` when at the limit.
pub async fn create(
    store: &Store,
    request: &ExportRequest,
    max_active: i64,
    now_ms: i64,
) -> Result<Option<i64>, HistoryError> {
    let _creating = CREATING.lock().await;
    let active: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM export_jobs WHERE user_id = $1 AND status IN ('pending', 'running')")
            .bind(request.user_id)
            .fetch_one(store.pool())
            .await?;
    if active >= max_active {
        return Ok(None);
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO export_jobs (user_id, symbol, data_type, kline_interval, start_ms, end_ms, status, row_count, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7) RETURNING id",
    )
    .bind(request.user_id)
    .bind(&request.symbol)
    .bind(&request.data_type)
    .bind(request.interval.as_deref())
    .bind(request.start_ms)
    .bind(request.end_ms)
    .bind(now_ms)
    .fetch_one(store.pool())
    .await?;
    Ok(Some(id))
}

/// Job `id` if `user_id` requested it.
pub async fn job_of(store: &Store, id: i64, user_id: i64) -> Result<Option<ExportJob>, HistoryError> {
    let row = sqlx::query(
        "SELECT id, user_id, symbol, data_type, kline_interval, start_ms, end_ms, status, row_count, error, \
         created_at, updated_at FROM export_jobs WHERE id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user_id)
    .fetch_optional(store.pool())
    .await?;
    row.as_ref().map(job).transpose()
}

fn job(row: &AnyRow) -> Result<ExportJob, HistoryError> {
    Ok(ExportJob {
        id: row.try_get("id")?,
        request: ExportRequest {
            user_id: row.try_get("user_id")?,
            symbol: row.try_get("symbol")?,
            data_type: row.try_get("data_type")?,
            interval: row.try_get("kline_interval")?,
            start_ms: row.try_get("start_ms")?,
            end_ms: row.try_get("end_ms")?,
        },
        status: row.try_get("status")?,
        rows: row.try_get("row_count")?,
        error: row.try_get("error")?,
        created_ms: row.try_get("created_at")?,
        updated_ms: row.try_get("updated_at")?,
    })
}

pub async fn set_running(store: &Store, id: i64, now_ms: i64) -> Result<(), HistoryError> {
    set(store, id, "running", 0, None, now_ms).await
}

pub async fn set_done(store: &Store, id: i64, rows: i64, now_ms: i64) -> Result<(), HistoryError> {
    set(store, id, "done", rows, None, now_ms).await
}

pub async fn set_failed(store: &Store, id: i64, error: &str, now_ms: i64) -> Result<(), HistoryError> {
    set(store, id, "failed", 0, Some(error), now_ms).await
}

async fn set(
    store: &Store,
    id: i64,
    status: &str,
    rows: i64,
    error: Option<&str>,
    now_ms: i64,
) -> Result<(), HistoryError> {
    sqlx::query("UPDATE export_jobs SET status = $1, row_count = $2, error = $3, updated_at = $4 WHERE id = $5")
        .bind(status)
        .bind(rows)
        .bind(error)
        .bind(now_ms)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// Marks the jobs a stopped node left pending or running as failed ([`INTERRUPTED`]); how many.
pub async fn fail_interrupted(store: &Store, now_ms: i64) -> Result<u64, HistoryError> {
    let done = sqlx::query(
        "UPDATE export_jobs SET status = 'failed', error = $1, updated_at = $2 WHERE status IN ('pending', 'running')",
    )
    .bind(INTERRUPTED)
    .bind(now_ms)
    .execute(store.pool())
    .await?;
    Ok(done.rows_affected())
}
