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

/// A message waiting in the outbox. `body` holds the code until delivery, then is blanked.
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
}

impl std::fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .field("recipient", &self.recipient)
            .field("purpose", &self.purpose)
            .finish_non_exhaustive()
    }
}

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
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (user_id, channel, recipient, purpose, subject, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user_id)
        .bind(channel)
        .bind(recipient)
        .bind(purpose)
        .bind(subject)
        .bind(body)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok(OutboxMessage {
            id,
            user_id,
            channel: channel.to_string(),
            recipient: recipient.to_string(),
            purpose: purpose.to_string(),
            subject: subject.to_string(),
            body: body.to_string(),
            created_at: now_ms,
        })
    }

    /// Marks a message delivered and blanks its body, so no code stays at rest.
    pub async fn mark_delivered(&self, outbox_id: i64, now_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE outbox SET delivered_at = $2, body = '', error = NULL WHERE id = $1")
            .bind(outbox_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn mark_delivery_failed(&self, outbox_id: i64, error: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE outbox SET error = $2 WHERE id = $1")
            .bind(outbox_id)
            .bind(error)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Messages not delivered yet, oldest first (for a retrying deliverer).
    pub async fn undelivered(&self, limit: i64) -> Result<Vec<OutboxMessage>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, user_id, channel, recipient, purpose, subject, body, created_at FROM outbox \
             WHERE delivered_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutboxMessage {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    channel: row.try_get("channel")?,
                    recipient: row.try_get("recipient")?,
                    purpose: row.try_get("purpose")?,
                    subject: row.try_get("subject")?,
                    body: row.try_get("body")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}
