//! API keys. The secret is stored sealed (AES-256-GCM, bound to the key), never in clear.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::Store;

/// Debug leaves out the sealed secret.
#[derive(Clone)]
pub struct ApiKeyRow {
    pub id: i64,
    pub user_id: i64,
    pub api_key: String,
    pub secret_sealed: String,
    pub label: String,
    /// Comma-separated permission names.
    pub permissions: String,
    /// Comma-separated IP addresses; empty: any address.
    pub ip_whitelist: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used_at: Option<i64>,
}

impl std::fmt::Debug for ApiKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("api_key", &self.api_key)
            .field("label", &self.label)
            .field("permissions", &self.permissions)
            .field("ip_whitelist", &self.ip_whitelist)
            .finish_non_exhaustive()
    }
}

const KEY_COLUMNS: &str =
    "id, user_id, api_key, secret_enc, label, permissions, ip_whitelist, created_at, updated_at, last_used_at";

fn key_from_row(row: &AnyRow) -> Result<ApiKeyRow, sqlx::Error> {
    Ok(ApiKeyRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        api_key: row.try_get("api_key")?,
        secret_sealed: row.try_get("secret_enc")?,
        label: row.try_get("label")?,
        permissions: row.try_get("permissions")?,
        ip_whitelist: row.try_get("ip_whitelist")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_api_key(
        &self,
        user_id: i64,
        api_key: &str,
        secret_sealed: &str,
        label: &str,
        permissions: &str,
        ip_whitelist: &str,
        now_ms: i64,
    ) -> Result<ApiKeyRow, sqlx::Error> {
        let row = sqlx::query(&format!(
            "INSERT INTO api_keys (user_id, api_key, secret_enc, label, permissions, ip_whitelist, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {KEY_COLUMNS}"
        ))
        .bind(user_id)
        .bind(api_key)
        .bind(secret_sealed)
        .bind(label)
        .bind(permissions)
        .bind(ip_whitelist)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?;
        key_from_row(&row)
    }

    pub async fn count_api_keys(&self, user_id: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE user_id = $1").bind(user_id).fetch_one(&self.pool).await
    }

    pub async fn api_keys_of(&self, user_id: i64) -> Result<Vec<ApiKeyRow>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY id"))
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(key_from_row).collect()
    }

    pub async fn api_key_by_key(&self, api_key: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE api_key = $1"))
            .bind(api_key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Deletes a key of this user; `false` if the user has no key with that id.
    pub async fn delete_api_key(&self, user_id: i64, key_id: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
            .bind(key_id)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a key's permissions and whitelist; `None` if the user has no key with that id.
    pub async fn update_api_key(
        &self,
        user_id: i64,
        key_id: i64,
        permissions: &str,
        ip_whitelist: &str,
        now_ms: i64,
    ) -> Result<Option<ApiKeyRow>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "UPDATE api_keys SET permissions = $3, ip_whitelist = $4, updated_at = $5 WHERE id = $1 AND user_id = $2 \
             RETURNING {KEY_COLUMNS}"
        ))
        .bind(key_id)
        .bind(user_id)
        .bind(permissions)
        .bind(ip_whitelist)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(key_from_row).transpose()
    }

    /// Notes a key's use, at most once a minute (a write per signed request is too many).
    pub async fn touch_api_key(&self, key_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(key_id)
        .bind(now_ms)
        .bind(now_ms - 60_000)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
