//! Sub-accounts: a user row with its own engine account, linked to its parent by a
//! `sub_accounts` row. Every query that a parent's request leads to filters by the parent,
//! so another user's sub-account is "not found".

use sqlx::any::AnyRow;
use sqlx::Row;

use super::users::{user_from_row, UserRow, USER_COLUMNS};
use super::{flag, is_unique_violation, Store};

/// A sub-account as stored, with whether its engine account is registered yet.
#[derive(Debug, Clone)]
pub struct SubAccountRow {
    /// The sub-account's user id (its `subAccountId`).
    pub user_id: i64,
    pub parent_id: i64,
    /// The parent's name for it; not a login.
    pub email: String,
    pub label: String,
    /// Comma-separated permission names: the most its API keys may hold.
    pub permissions: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub engine_registered: bool,
}

const SUB_COLUMNS: &str = "s.user_id, s.parent_id, s.email, s.label, s.permissions, s.created_at, s.updated_at, \
     s.deleted_at, u.engine_registered";

fn sub_from_row(row: &AnyRow) -> Result<SubAccountRow, sqlx::Error> {
    Ok(SubAccountRow {
        user_id: row.try_get("user_id")?,
        parent_id: row.try_get("parent_id")?,
        email: row.try_get("email")?,
        label: row.try_get("label")?,
        permissions: row.try_get("permissions")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deleted_at: row.try_get("deleted_at")?,
        engine_registered: flag(row.try_get("engine_registered")?),
    })
}

pub struct NewSubAccountRow<'a> {
    pub parent_id: i64,
    /// Validated and normalised.
    pub email: &'a str,
    pub label: &'a str,
    pub permissions: &'a str,
    /// The sub-account's user row: a unique, unroutable login email and a password hash
    /// nothing verifies against.
    pub login_email: &'a str,
    pub password_hash: &'a str,
    pub fee_tier: u8,
    pub engine_accounts_max: u32,
    /// Live sub-accounts a parent may have.
    pub max_per_parent: i64,
    pub now_ms: i64,
}

#[derive(Debug)]
pub enum CreateSubAccountError {
    /// The parent is not an active user.
    ParentGone,
    /// The parent has a live sub-account with this email.
    EmailTaken,
    /// The parent has `max_per_parent` live sub-accounts.
    TooMany,
    /// Every engine account id below the limit is taken.
    Capacity,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for CreateSubAccountError {
    fn from(error: sqlx::Error) -> CreateSubAccountError {
        CreateSubAccountError::Database(error)
    }
}

impl Store {
    /// Creates the sub-account's user (with the next engine account id, not yet registered)
    /// and its link, in one transaction that first locks the parent's row, so the limit
    /// holds under concurrent requests and a failure leaves no row and no gap in the ids.
    pub async fn create_sub_account(
        &self,
        new: &NewSubAccountRow<'_>,
    ) -> Result<(UserRow, SubAccountRow), CreateSubAccountError> {
        let mut tx = self.pool.begin().await?;
        let locked = sqlx::query("UPDATE users SET updated_at = $2 WHERE id = $1 AND status = 'active'")
            .bind(new.parent_id)
            .bind(new.now_ms)
            .execute(&mut *tx)
            .await?;
        if locked.rows_affected() != 1 {
            tx.rollback().await?;
            return Err(CreateSubAccountError::ParentGone);
        }
        let live: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sub_accounts WHERE parent_id = $1 AND deleted_at IS NULL")
                .bind(new.parent_id)
                .fetch_one(&mut *tx)
                .await?;
        if live >= new.max_per_parent {
            tx.rollback().await?;
            return Err(CreateSubAccountError::TooMany);
        }
        let account: i64 =
            sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'engine_account' RETURNING value")
                .fetch_one(&mut *tx)
                .await?;
        if account >= i64::from(new.engine_accounts_max) {
            tx.rollback().await?;
            return Err(CreateSubAccountError::Capacity);
        }
        let user = sqlx::query(&format!(
            "INSERT INTO users (email, password_hash, email_verified_at, engine_account, fee_tier, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $3, $3) RETURNING {USER_COLUMNS}"
        ))
        .bind(new.login_email)
        .bind(new.password_hash)
        .bind(new.now_ms)
        .bind(account)
        .bind(i64::from(new.fee_tier))
        .fetch_one(&mut *tx)
        .await?;
        let user = user_from_row(&user)?;
        let inserted = sqlx::query(
            "INSERT INTO sub_accounts (user_id, parent_id, email, label, permissions, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(user.id)
        .bind(new.parent_id)
        .bind(new.email)
        .bind(new.label)
        .bind(new.permissions)
        .bind(new.now_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => {
                tx.rollback().await?;
                return Err(CreateSubAccountError::EmailTaken);
            }
            Err(error) => return Err(error.into()),
        }
        tx.commit().await?;
        let sub = SubAccountRow {
            user_id: user.id,
            parent_id: new.parent_id,
            email: new.email.to_string(),
            label: new.label.to_string(),
            permissions: new.permissions.to_string(),
            created_at: new.now_ms,
            updated_at: new.now_ms,
            deleted_at: None,
            engine_registered: false,
        };
        Ok((user, sub))
    }

    /// The parent's live sub-accounts, oldest first.
    pub async fn sub_accounts_of(&self, parent_id: i64) -> Result<Vec<SubAccountRow>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {SUB_COLUMNS} FROM sub_accounts s JOIN users u ON u.id = s.user_id \
             WHERE s.parent_id = $1 AND s.deleted_at IS NULL ORDER BY s.user_id"
        ))
        .bind(parent_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sub_from_row).collect()
    }

    /// The parent's live sub-account `sub_id`; `None` for another user's, a deleted one, or
    /// no such id.
    pub async fn sub_account_of(&self, parent_id: i64, sub_id: i64) -> Result<Option<SubAccountRow>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {SUB_COLUMNS} FROM sub_accounts s JOIN users u ON u.id = s.user_id \
             WHERE s.user_id = $1 AND s.parent_id = $2 AND s.deleted_at IS NULL"
        ))
        .bind(sub_id)
        .bind(parent_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(sub_from_row).transpose()
    }

    /// The sub-account row of user `user_id` (deleted or not), if that user is one.
    pub async fn sub_account(&self, user_id: i64) -> Result<Option<SubAccountRow>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {SUB_COLUMNS} FROM sub_accounts s JOIN users u ON u.id = s.user_id WHERE s.user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(sub_from_row).transpose()
    }

    /// Replaces a live sub-account's permissions, and narrows each of its API keys to them,
    /// in one transaction. `None` if the parent has no such live sub-account.
    pub async fn set_sub_account_permissions(
        &self,
        parent_id: i64,
        sub_id: i64,
        permissions: &str,
        narrow: impl Fn(&str) -> String,
        now_ms: i64,
    ) -> Result<Option<SubAccountRow>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let updated = sqlx::query(
            "UPDATE sub_accounts SET permissions = $3, updated_at = $4 \
             WHERE user_id = $1 AND parent_id = $2 AND deleted_at IS NULL",
        )
        .bind(sub_id)
        .bind(parent_id)
        .bind(permissions)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let keys: Vec<(i64, String)> = sqlx::query_as("SELECT id, permissions FROM api_keys WHERE user_id = $1")
            .bind(sub_id)
            .fetch_all(&mut *tx)
            .await?;
        for (key_id, current) in keys {
            let narrowed = narrow(&current);
            if narrowed != current {
                sqlx::query("UPDATE api_keys SET permissions = $2, updated_at = $3 WHERE id = $1")
                    .bind(key_id)
                    .bind(narrowed)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.sub_account_of(parent_id, sub_id).await
    }

    /// Deletes a live sub-account of this parent: marks the link deleted, the user
    /// `deleted`, and deletes its API keys and sessions, in one transaction. Returns the
    /// number of keys deleted, or `None` if the parent has no such live sub-account. The
    /// engine account and whatever it holds are left as they are.
    pub async fn delete_sub_account(
        &self,
        parent_id: i64,
        sub_id: i64,
        now_ms: i64,
    ) -> Result<Option<u64>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let marked = sqlx::query(
            "UPDATE sub_accounts SET deleted_at = $3, updated_at = $3 \
             WHERE user_id = $1 AND parent_id = $2 AND deleted_at IS NULL",
        )
        .bind(sub_id)
        .bind(parent_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        if marked.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        sqlx::query("UPDATE users SET status = 'deleted', updated_at = $2 WHERE id = $1")
            .bind(sub_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let keys = sqlx::query("DELETE FROM api_keys WHERE user_id = $1").bind(sub_id).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE sessions SET revoked_at = $2, revoke_reason = 'sub_account_deleted' \
             WHERE subject_kind = 'user' AND subject_id = $1 AND revoked_at IS NULL",
        )
        .bind(sub_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(keys.rows_affected()))
    }
}
