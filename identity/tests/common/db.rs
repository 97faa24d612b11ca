//! The databases every store and HTTP test runs against: SQLite always (a file in a fresh
//! temp dir), and PostgreSQL too when `CEX_TEST_PG_URL` is set (a fresh database per test
//! on that server; `identity/tests/pg.sh` starts one).

use std::path::PathBuf;

use tempfile::TempDir;

pub struct TestDb {
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    /// `None`: the default SQLite file in `data_dir`.
    pub url: Option<String>,
    pub data_dir: TempDir,
}

impl TestDb {
    pub fn path(&self) -> PathBuf {
        self.data_dir.path().to_path_buf()
    }

    pub fn url(&self) -> String {
        match &self.url {
            Some(url) => url.clone(),
            None => cex_identity::store::sqlite_url(&self.data_dir.path().join("cex.db")),
        }
    }
}

/// SQLite, then PostgreSQL if configured.
pub async fn test_dbs() -> Vec<TestDb> {
    let mut dbs = vec![TestDb { name: "sqlite", url: None, data_dir: tempfile::tempdir().unwrap() }];
    if let Ok(admin_url) = std::env::var("CEX_TEST_PG_URL") {
        if !admin_url.is_empty() {
            let url = fresh_pg_database(&admin_url).await;
            dbs.push(TestDb { name: "postgres", url: Some(url), data_dir: tempfile::tempdir().unwrap() });
        }
    }
    dbs
}

async fn fresh_pg_database(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("cex_test_{}", cex_identity::keys::random_string(16, b"abcdefghijklmnopqrstuvwxyz0123456789"));
    let admin = sqlx::AnyPool::connect(admin_url).await.expect("connect to CEX_TEST_PG_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create a test database");
    admin.close().await;
    let base = admin_url.split('?').next().unwrap();
    let server = &base[..base.rfind('/').expect("a database in CEX_TEST_PG_URL")];
    format!("{server}/{name}")
}
