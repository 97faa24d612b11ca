//! Users, the engine account counter, and the login-failure counters of users and staff.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{flag, is_unique_violation, Store, SubjectKind};

/// A user as stored. Its Debug output leaves out the password hash and TOTP secrets.
#[derive(Clone)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    pub email_verified_at: Option<i64>,
    pub phone: Option<String>,
    pub engine_account: u32,
    pub fee_tier: u8,
    pub engine_registered: bool,
    pub status: String,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    /// Sealed (see `Keys::seal`), as are the two below.
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<i64>,
    pub totp_enabled_at: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("engine_account", &self.engine_account)
            .field("engine_registered", &self.engine_registered)
            .field("status", &self.status)
            .field("two_factor", &self.totp_secret.is_some())
            .finish_non_exhaustive()
    }
}

impl UserRow {
    pub fn two_factor_enabled(&self) -> bool {
        self.totp_secret.is_some()
    }
}

pub(super) const USER_COLUMNS: &str = "id, email, password_hash, email_verified_at, phone, engine_account, fee_tier, \
     engine_registered, status, failed_logins, locked_until, totp_secret, totp_pending, totp_last_step, \
     totp_enabled_at, created_at";

pub(super) fn user_from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    let engine_account: i64 = row.try_get("engine_account")?;
    let fee_tier: i64 = row.try_get("fee_tier")?;
    Ok(UserRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        email_verified_at: row.try_get("email_verified_at")?,
        phone: row.try_get("phone")?,
        engine_account: u32::try_from(engine_account).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        fee_tier: u8::try_from(fee_tier).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        engine_registered: flag(row.try_get("engine_registered")?),
        status: row.try_get("status")?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: row.try_get("locked_until")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_pending: row.try_get("totp_pending")?,
        totp_last_step: row.try_get("totp_last_step")?,
        totp_enabled_at: row.try_get("totp_enabled_at")?,
        created_at: row.try_get("created_at")?,
    })
}

pub struct NewUser<'a> {
    /// Already validated and normalised.
    pub email: &'a str,
    pub password_hash: &'a str,
    pub invite_code: Option<&'a str>,
    pub fee_tier: u8,
    /// Engine account ids are allocated densely from 1 and must stay below this.
    pub engine_accounts_max: u32,
    pub now_ms: i64,
}

#[derive(Debug)]
pub enum CreateUserError {
    EmailTaken,
    /// Every engine account id below the limit is taken.
    Capacity,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for CreateUserError {
    fn from(error: sqlx::Error) -> CreateUserError {
        CreateUserError::Database(error)
    }
}

impl Store {
    /// Inserts a user with the next engine account id, in one transaction: a failure leaves
    /// no row and no gap in the ids. The user is not yet registered with the engine.
    pub async fn create_user(&self, new: &NewUser<'_>) -> Result<UserRow, CreateUserError> {
        let mut tx = self.pool.begin().await?;
        let account: i64 =
            sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = 'engine_account' RETURNING value")
                .fetch_one(&mut *tx)
                .await?;
        if account >= i64::from(new.engine_accounts_max) {
            tx.rollback().await?;
            return Err(CreateUserError::Capacity);
        }
        let inserted = sqlx::query(&format!(
            "INSERT INTO users (email, password_hash, invite_code, engine_account, fee_tier, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {USER_COLUMNS}"
        ))
        .bind(new.email)
        .bind(new.password_hash)
        .bind(new.invite_code)
        .bind(account)
        .bind(i64::from(new.fee_tier))
        .bind(new.now_ms)
        .fetch_one(&mut *tx)
        .await;
        match inserted {
            Ok(row) => {
                let user = user_from_row(&row)?;
                tx.commit().await?;
                Ok(user)
            }
            Err(error) if is_unique_violation(&error) => {
                tx.rollback().await?;
                Err(CreateUserError::EmailTaken)
            }
            Err(error) => Err(error.into()),
        }
    }

    pub async fn user_by_id(&self, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The user (or sub-account) that owns engine account `account`.
    pub async fn user_by_engine_account(&self, account: u32) -> Result<Option<UserRow>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE engine_account = $1"))
            .bind(i64::from(account))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn mark_engine_registered(&self, user_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET engine_registered = 1, updated_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Users whose engine registration has not succeeded yet, oldest first.
    pub async fn unregistered_users(&self) -> Result<Vec<UserRow>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE engine_registered = 0 ORDER BY id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn set_email_verified(&self, user_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET email_verified_at = $2, updated_at = $2 WHERE id = $1")
            .bind(user_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the email (verified by the caller). `Ok(false)`: another user has it.
    pub async fn set_email(&self, user_id: i64, email: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let result = sqlx::query("UPDATE users SET email = $2, email_verified_at = $3, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(email)
            .bind(now_ms)
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Binds a phone number (verified by the caller). `Ok(false)`: another user has it.
    pub async fn set_phone(&self, user_id: i64, phone: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let result = sqlx::query("UPDATE users SET phone = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(phone)
            .bind(now_ms)
            .execute(&self.pool)
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Sets a new password hash and lifts any lockout.
    pub async fn set_password(&self, user_id: i64, password_hash: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE id = $1",
        )
        .bind(user_id)
        .bind(password_hash)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_totp_pending(&self, user_id: i64, sealed: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET totp_pending = $2, updated_at = $3 WHERE id = $1")
            .bind(user_id)
            .bind(sealed)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Turns two-factor on with `sealed` as the secret, `step` as the last step used, and
    /// these recovery code hashes (replacing any old ones), in one transaction.
    pub async fn enable_totp(
        &self,
        user_id: i64,
        sealed: &str,
        step: i64,
        recovery_hashes: &[String],
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = $2, totp_pending = NULL, totp_last_step = $3, totp_enabled_at = $4, \
             updated_at = $4 WHERE id = $1",
        )
        .bind(user_id)
        .bind(sealed)
        .bind(step)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    pub async fn disable_totp(&self, user_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, \
             totp_enabled_at = NULL, updated_at = $2 WHERE id = $1",
        )
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await
    }

    /// Records that TOTP step `step` was used; `false` if it (or a later one) already was:
    /// a code is good once.
    pub async fn use_totp_step(&self, user_id: i64, step: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Consumes the unused recovery code with this hash; `false` if there is none.
    pub async fn use_recovery_code(&self, user_id: i64, code_hash: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user_id)
        .bind(code_hash)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() >= 1)
    }

    pub async fn unused_recovery_codes(&self, user_id: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
    }

    /// Counts a failed login. When the count reaches `max_failures` the account is locked
    /// until `now + lock_ms` and the count starts over: returns the lock's end then.
    pub async fn record_login_failure(
        &self,
        kind: SubjectKind,
        id: i64,
        max_failures: i64,
        lock_ms: i64,
        now_ms: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let table = kind.table();
        let failures: Option<i64> = sqlx::query_scalar(&format!(
            "UPDATE {table} SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        if failures.unwrap_or(0) < max_failures {
            return Ok(None);
        }
        let until = now_ms + lock_ms;
        sqlx::query(&format!("UPDATE {table} SET failed_logins = 0, locked_until = $2 WHERE id = $1"))
            .bind(id)
            .bind(until)
            .execute(&self.pool)
            .await?;
        Ok(Some(until))
    }

    pub async fn clear_login_failures(&self, kind: SubjectKind, id: i64) -> Result<(), sqlx::Error> {
        let table = kind.table();
        sqlx::query(&format!("UPDATE {table} SET failed_logins = 0, locked_until = NULL WHERE id = $1"))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
