//! The store: one code path over SQLite (the embedded default, a file in the data
//! directory) and PostgreSQL (by URL), through sqlx's `Any` driver.
//!
//! Portability rules every query here follows, so the same SQL runs on both:
//! - placeholders are `$1, $2, …` (SQLite accepts them too);
//! - integers are BIGINT / i64, flags are 0/1, times are Unix milliseconds, text is TEXT:
//!   no BOOLEAN, no timestamps, no blobs (binary goes in as hex);
//! - `RETURNING` and `ON CONFLICT` are used as both spell them;
//! - a transaction starts with a write, so SQLite takes its write lock up front and never
//!   fails to upgrade a read lock.
//!
//! Migrations are embedded in the binary, one directory per backend (`migrations/sqlite`,
//! `migrations/postgres`), differing only where DDL must (auto-increment keys). Identity owns
//! migration versions 1000–1999 of the shared `_sqlx_migrations` table; other sidecars
//! sharing the database take their own ranges (the migrator ignores versions it does not
//! know).

mod api_keys;
mod audit;
mod codes;
mod sessions;
mod staff;
mod sub_accounts;
mod users;

use std::borrow::Cow;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::AnyPool;

pub use api_keys::ApiKeyRow;
pub use audit::{LoginAuditRow, NewLoginAudit, SecurityLogRow};
pub use codes::{CodeRow, OutboxMessage};
pub use sessions::{ChallengeRow, RefreshTokenRow, SessionRow};
pub use staff::StaffRow;
pub use sub_accounts::{CreateSubAccountError, NewSubAccountRow, SubAccountRow};
pub use users::{CreateUserError, NewUser, UserRow};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Who a session, audit row or log entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    User,
    Staff,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Staff => "staff",
        }
    }

    pub fn parse(text: &str) -> Option<SubjectKind> {
        match text {
            "user" => Some(SubjectKind::User),
            "staff" => Some(SubjectKind::Staff),
            _ => None,
        }
    }

    /// The table holding the subjects' login failure counters.
    fn table(self) -> &'static str {
        match self {
            SubjectKind::User => "users",
            SubjectKind::Staff => "staff",
        }
    }
}

#[derive(Debug)]
pub enum StoreError {
    /// The URL names no supported backend (`sqlite:` or `postgres:`).
    UnsupportedUrl(String),
    Database(sqlx::Error),
    Migrate(sqlx::migrate::MigrateError),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::UnsupportedUrl(scheme) => {
                write!(f, "unsupported database URL scheme {scheme:?}: use sqlite: or postgres:")
            }
            StoreError::Database(error) => write!(f, "database: {error}"),
            StoreError::Migrate(error) => write!(f, "migrations: {error}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> StoreError {
        StoreError::Database(error)
    }
}

/// A pool over one database, migrated. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// The SQLite URL of a file, created if missing (the path made absolute, and
/// percent-encoded where a URL needs it).
pub fn sqlite_url(path: &Path) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut encoded = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => encoded.push_str("%25"),
            '?' => encoded.push_str("%3F"),
            '#' => encoded.push_str("%23"),
            c => encoded.push(c),
        }
    }
    format!("sqlite://{encoded}?mode=rwc")
}

/// The URL's password, if any, replaced by `***`: for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_string(),
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and runs the
    /// migrations.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            let scheme = url.split(':').next().unwrap_or("").to_string();
            return Err(StoreError::UnsupportedUrl(scheme));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let max_connections = match backend {
            Backend::Sqlite => 4,
            Backend::Postgres => 8,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            // Readers never wait for the writer; persistent in the file.
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// The embedded SQLite database at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Store, StoreError> {
        Store::connect(&sqlite_url(path)).await
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for sidecars that keep their own tables in the same database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        self.run_migrations(MIGRATIONS).await.map_err(StoreError::Migrate)
    }

    /// Applies the `migrations` this backend has not applied yet. Several owners share the
    /// one `_sqlx_migrations` table, each in a version range of its own (identity 1000–1999,
    /// trading 2000–2999, history 3000–3999), so the others' versions are not "missing".
    pub async fn run_migrations(&self, migrations: &'static [EmbeddedMigration]) -> Result<(), MigrateError> {
        let mut migrator = Migrator::new(Embedded { backend: self.backend, migrations }).await?;
        migrator.set_ignore_missing(true);
        migrator.run(&self.pool).await
    }
}

/// A migration compiled into the binary: (version, description, SQLite SQL, PostgreSQL SQL).
pub type EmbeddedMigration = (i64, &'static str, &'static str, &'static str);

/// Migrations compiled into the binary, as sqlx reads them for one backend.
#[derive(Debug)]
struct Embedded {
    backend: Backend,
    migrations: &'static [EmbeddedMigration],
}

const MIGRATIONS: &[EmbeddedMigration] = &[
    (
        1001,
        "identity",
        include_str!("../../migrations/sqlite/0001_identity.sql"),
        include_str!("../../migrations/postgres/0001_identity.sql"),
    ),
    (
        1002,
        "outbox retry",
        include_str!("../../migrations/sqlite/0002_outbox_retry.sql"),
        include_str!("../../migrations/postgres/0002_outbox_retry.sql"),
    ),
    (
        1003,
        "sub-accounts",
        include_str!("../../migrations/sqlite/0003_sub_accounts.sql"),
        include_str!("../../migrations/postgres/0003_sub_accounts.sql"),
    ),
];

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, Box<dyn std::error::Error + Send + Sync>>> {
        let migrations = self
            .migrations
            .iter()
            .map(|&(version, description, sqlite, postgres)| {
                let sql = match self.backend {
                    Backend::Sqlite => sqlite,
                    Backend::Postgres => postgres,
                };
                Migration::new(version, Cow::Borrowed(description), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// True if the error is a unique-constraint violation (on either backend).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Reads a 0/1 flag column.
pub(crate) fn flag(value: i64) -> bool {
    value != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(sqlite_url(Path::new("/data/cex.db")), "sqlite:///data/cex.db?mode=rwc");
        assert_eq!(sqlite_url(Path::new("/a b/x?#%.db")), "sqlite:///a b/x%3F%23%25.db?mode=rwc");
        assert_eq!(redact_url("postgres://cex:hunter2@127.0.0.1:5432/cex"), "postgres://cex:***@127.0.0.1:5432/cex");
        assert_eq!(redact_url("postgres://127.0.0.1/cex"), "postgres://127.0.0.1/cex");
    }
}
