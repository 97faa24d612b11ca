//! Verification codes (hashed, expiring, single use, limited attempts) and the outbox of
//! messages that carry them.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::Store;

#[derive(Debug, Clone)]
pub struct CodeRow {
    pub id: i64,
    pub user_id: i64,
    pub purpose: String,
    /// Where the code was sent (an email or a phone number): a code proves control of it.
    pub target: String,
    pub code_hash: String,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub consumed_at: Option<i64>,
}

fn code_from_row(row: &AnyRow) -> Result<CodeRow, sqlx::Error> {
    Ok(CodeRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        purpose: row.try_get("purpose")?,
        target: row.try_get("target")?,
        code_hash: row.try_get("code_hash")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        consumed_at: row.try_get("consumed_at")?,
    })
}

/// A message in the outbox. `body` holds the code until the message is delivered or given
/// up, then is blanked.
#[derive(Clone)]
pub struct OutboxMessage {
    pub id: i64,
    pub user_id: Option<i64>,
    /// `email` or `sms`.
    pub channel: String,
    pub recipient: String,
    pub purpose: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
    /// Delivery attempts that failed so far.
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    /// Given up (too old to be worth sending).
    pub failed_at: Option<i64>,
    /// Why the last attempt failed (no message content).
    pub error: Option<String>,
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("recipient", &self.recipient)
            .field("purpose", &self.purpose)
            .field("attempts", &self.attempts)
            .field("delivered_at", &self.delivered_at)
            .field("failed_at", &self.failed_at)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

const OUTBOX_COLUMNS: &str = "id, user_id, channel, recipient, purpose, subject, body, created_at, attempts, \
     next_attempt_at, delivered_at, failed_at, error";

fn outbox_from_row(row: &AnyRow) -> Result<OutboxMessage, sqlx::Error> {
    Ok(OutboxMessage {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        channel: row.try_get("channel")?,
        recipient: row.try_get("recipient")?,
        purpose: row.try_get("purpose")?,
        subject: row.try_get("subject")?,
        body: row.try_get("body")?,
        created_at: row.try_get("created_at")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        delivered_at: row.try_get("delivered_at")?,
        failed_at: row.try_get("failed_at")?,
        error: row.try_get("error")?,
    })
}

/// A message not yet delivered nor given up.
const PENDING: &str = "delivered_at IS NULL AND failed_at IS NULL";

impl Store {
    /// Stores a new code for (user, purpose), retiring every earlier unused one: only the
    /// newest code is ever good.
    pub async fn insert_code(
        &self,
        user_id: i64,
        purpose: &str,
        target: &str,
        code_hash: &str,
        now_ms: i64,
        expires_at: i64,
    ) -> Result<i64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE verification_codes SET consumed_at = $3 WHERE user_id = $1 AND purpose = $2 AND consumed_at IS NULL",
        )
        .bind(user_id)
        .bind(purpose)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO verification_codes (user_id, purpose, target, code_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(user_id)
        .bind(purpose)
        .bind(target)
        .bind(code_hash)
        .bind(now_ms)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The newest code for (user, purpose), used or not.
    pub async fn latest_code(&self, user_id: i64, purpose: &str) -> Result<Option<CodeRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, user_id, purpose, target, code_hash, attempts, created_at, expires_at, consumed_at \
             FROM verification_codes WHERE user_id = $1 AND purpose = $2 ORDER BY id DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(purpose)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(code_from_row).transpose()
    }

    /// Counts a wrong guess; returns the attempts so far.
    pub async fn bump_code_attempts(&self, code_id: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("UPDATE verification_codes SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts")
            .bind(code_id)
            .fetch_one(&self.pool)
            .await
    }

    /// Uses the code up; `false` if it already was (a concurrent use won).
    pub async fn consume_code(&self, code_id: i64, now_ms: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE verification_codes SET consumed_at = $2 WHERE id = $1 AND consumed_at IS NULL")
            .bind(code_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues a message: due at once.
    #[allow(clippy::too_many_arguments)]
    pub async fn insert_outbox(
        &self,
        user_id: Option<i64>,
        channel: &str,
        recipient: &str,
        purpose: &str,
        subject: &str,
        body: &str,
        now_ms: i64,
    ) -> Result<OutboxMessage, sqlx::Error> {
        let row = sqlx::query(&format!(
            "INSERT INTO outbox (user_id, channel, recipient, purpose, subject, body, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING {OUTBOX_COLUMNS}"
        ))
        .bind(user_id)
        .bind(channel)
        .bind(recipient)
        .bind(purpose)
        .bind(subject)
        .bind(body)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?;
        outbox_from_row(&row)
    }

    pub async fn outbox_message(&self, outbox_id: i64) -> Result<Option<OutboxMessage>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1"))
            .bind(outbox_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(outbox_from_row).transpose()
    }

    /// Messages due at `now_ms` that no worker holds, oldest first.
    pub async fn due_outbox(&self, now_ms: i64, limit: i64) -> Result<Vec<OutboxMessage>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE {PENDING} AND next_attempt_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until <= $1) ORDER BY id LIMIT $2"
        ))
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(outbox_from_row).collect()
    }

    /// Takes a due message for sending until `until_ms`; `false` if another worker has it
    /// (or it is done). Only the claimant sends it, so several workers (or several
    /// processes on one database) never send a message twice at once.
    pub async fn claim_outbox(&self, outbox_id: i64, now_ms: i64, until_ms: i64) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(&format!(
            "UPDATE outbox SET claimed_until = $3 WHERE id = $1 AND {PENDING} AND next_attempt_at <= $2 \
             AND (claimed_until IS NULL OR claimed_until <= $2)"
        ))
        .bind(outbox_id)
        .bind(now_ms)
        .bind(until_ms)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a message delivered and blanks its body, so no code stays at rest.
    pub async fn mark_delivered(&self, outbox_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE outbox SET delivered_at = $2, body = '', error = NULL, claimed_until = NULL WHERE id = $1")
            .bind(outbox_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed attempt (`error` holds no message content) and when to try again.
    pub async fn retry_outbox_later(
        &self,
        outbox_id: i64,
        error: &str,
        attempts: i64,
        next_attempt_at: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE outbox SET error = $2, attempts = $3, next_attempt_at = $4, claimed_until = NULL WHERE id = $1",
        )
        .bind(outbox_id)
        .bind(error)
        .bind(attempts)
        .bind(next_attempt_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives a message up: it is never sent, and its body is blanked.
    pub async fn give_up_outbox(&self, outbox_id: i64, error: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE outbox SET failed_at = $3, error = $2, body = '', claimed_until = NULL WHERE id = $1")
            .bind(outbox_id)
            .bind(error)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Messages due or being sent at `now_ms`: what a flush waits for.
    pub async fn outbox_busy(&self, now_ms: i64) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE {PENDING} AND (next_attempt_at <= $1 OR claimed_until > $1)"
        ))
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await
    }

    /// When the next pending message falls due (or its claim lapses), if any.
    pub async fn next_outbox_due(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(&format!(
            "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > next_attempt_at \
             THEN claimed_until ELSE next_attempt_at END) FROM outbox WHERE {PENDING}"
        ))
        .fetch_one(&self.pool)
        .await
    }

    /// Messages neither delivered nor given up, oldest first.
    pub async fn undelivered(&self, limit: i64) -> Result<Vec<OutboxMessage>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE {PENDING} ORDER BY id LIMIT $1"))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(outbox_from_row).collect()
    }
}
