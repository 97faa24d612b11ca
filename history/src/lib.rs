//! Persisted history (issue 8's projections to the store): orders, public trades, the
//! ledger (every `BalanceChanged`), 1-minute klines and daily balance snapshots, written
//! from the engine's events by one [`HistoryWriter`] in batches, in the identity store
//! (SQLite or PostgreSQL, migration versions 3000–3999 of the shared `_sqlx_migrations`).
//!
//! - **Exactly once.** Each batch is one transaction that also moves `history_position` to
//!   its last command; after a restart the writer resumes from the position + 1, so a crash
//!   before a commit loses only that batch, which is written again.
//! - **Off the engine thread.** [`HistoryFollower`] runs the writer on a thread of its own as
//!   a pipeline consumer; when it lags, the runtime skips it and it reads the event journal.
//! - **Klines** are stored per minute (upserted: a minute's trades may come in several
//!   batches). Every longer interval starts on a whole minute, so [`query::klines_between`]
//!   sums them at query time: one table, and no write amplification per trade. 1s klines
//!   stay in memory only (the read model's).
//! - **Balances at any time.** When the first command of a new UTC day comes, the batch
//!   copies every non-zero balance into `balance_snapshots` at that midnight. A balance at
//!   time `t` is the latest snapshot at or before `t` plus the account's ledger entries from
//!   it up to `t` ([`query::balances_at`]): entries carry the balance after them, so the last
//!   one per asset wins.

mod batch;
pub mod exports;
pub mod follow;
pub mod query;
mod writer;

use cex_identity::store::{EmbeddedMigration, Store};
use cex_projections::OrderStatus;

pub use batch::merge as merge_klines;
pub use follow::{HistoryFollower, HistoryProgress};
pub use writer::HistoryWriter;

pub(crate) const NS_PER_MS: i64 = 1_000_000;
pub(crate) const MS_PER_MINUTE: i64 = 60_000;
pub const MS_PER_DAY: i64 = 86_400_000;

/// A command in the history: the last one written, or added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub seq: u64,
    pub ts_ns: u64,
}

#[derive(Debug)]
pub enum HistoryError {
    Database(sqlx::Error),
    Migrate(String),
    /// A stored value out of its type's range: the table was written by something else.
    Corrupt(String),
    /// A query the store cannot answer.
    Unsupported(&'static str),
}

impl HistoryError {
    fn corrupt(error: impl std::fmt::Display) -> HistoryError {
        HistoryError::Corrupt(error.to_string())
    }
}

impl std::fmt::Display for HistoryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HistoryError::Database(error) => write!(f, "history store: {error}"),
            HistoryError::Migrate(error) => write!(f, "history migrations: {error}"),
            HistoryError::Corrupt(error) => write!(f, "history store holds an impossible value: {error}"),
            HistoryError::Unsupported(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for HistoryError {}

impl From<sqlx::Error> for HistoryError {
    fn from(error: sqlx::Error) -> HistoryError {
        HistoryError::Database(error)
    }
}

const MIGRATIONS: &[EmbeddedMigration] = &[(
    3001,
    "history",
    include_str!("../migrations/sqlite/0001_history.sql"),
    include_str!("../migrations/postgres/0001_history.sql"),
)];

/// Creates the history tables if they are missing; other ranges are left to their owners.
pub async fn migrate(store: &Store) -> Result<(), HistoryError> {
    store.run_migrations(MIGRATIONS).await.map_err(|error| HistoryError::Migrate(error.to_string()))
}

/// Opens the store at `url` on a runtime of the writer's own and the writer over it, for a
/// node that must know the persisted position before its pipeline starts.
pub fn open_blocking(url: &str) -> Result<(tokio::runtime::Runtime, HistoryWriter), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the history writer's runtime: {error}"))?;
    let writer = runtime.block_on(async {
        let store = Store::connect(url).await.map_err(|error| error.to_string())?;
        HistoryWriter::open(store).await.map_err(|error| error.to_string())
    })?;
    Ok((runtime, writer))
}

/// How an order's status is stored: the projections' name.
pub(crate) fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "New",
        OrderStatus::PartiallyFilled => "PartiallyFilled",
        OrderStatus::Filled => "Filled",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::Expired => "Expired",
        OrderStatus::ExpiredInMatch => "ExpiredInMatch",
    }
}

pub(crate) fn ns_to_ms(ts_ns: u64) -> i64 {
    i64::try_from(ts_ns / 1_000_000).unwrap_or(i64::MAX)
}

/// The UTC midnight starting the day of `ts_ns`, in ms.
pub fn day_start_ms(ts_ns: u64) -> i64 {
    ns_to_ms(ts_ns).div_euclid(MS_PER_DAY) * MS_PER_DAY
}
