//! Sessions (server-side records the access tokens point at), their refresh-token families,
//! and the short-lived two-factor login challenges.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{Store, SubjectKind};

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub id: String,
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    /// When the newest refresh token expires: the session cannot outlive it.
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub revoke_reason: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl SessionRow {
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && now_ms < self.expires_at
    }
}

fn session_from_row(row: &AnyRow) -> Result<SessionRow, sqlx::Error> {
    let kind: String = row.try_get("subject_kind")?;
    let subject_kind = SubjectKind::parse(&kind)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown subject kind {kind:?}").into()))?;
    Ok(SessionRow {
        id: row.try_get("id")?,
        subject_kind,
        subject_id: row.try_get("subject_id")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        revoke_reason: row.try_get("revoke_reason")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

#[derive(Debug, Clone)]
pub struct RefreshTokenRow {
    pub token_hash: String,
    pub session_id: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

/// A pending two-factor login: the password was right, the second factor is awaited.
#[derive(Debug, Clone)]
pub struct ChallengeRow {
    pub id_hash: String,
    pub user_id: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device_info: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

impl Store {
    /// Creates a session and the first refresh token of its family.
    pub async fn create_session(
        &self,
        session: &SessionRow,
        refresh_hash: &str,
        refresh_expires_at: i64,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO sessions (id, subject_kind, subject_id, created_at, last_used_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id)
        .bind(session.subject_kind.as_str())
        .bind(session.subject_id)
        .bind(session.created_at)
        .bind(session.last_used_at)
        .bind(session.expires_at)
        .bind(session.ip.as_deref())
        .bind(session.user_agent.as_deref())
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(refresh_hash)
        .bind(&session.id)
        .bind(session.created_at)
        .bind(refresh_expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, subject_kind, subject_id, created_at, last_used_at, expires_at, revoked_at, revoke_reason, \
             ip, user_agent FROM sessions WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Revokes one session (its whole refresh family with it); `false` if it was already.
    pub async fn revoke_session(&self, id: &str, reason: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL")
                .bind(id)
                .bind(now_ms)
                .bind(reason)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every live session of a subject; returns how many.
    pub async fn revoke_sessions_of(
        &self,
        kind: SubjectKind,
        subject_id: i64,
        reason: &str,
        now_ms: i64,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $3, revoke_reason = $4 \
             WHERE subject_kind = $1 AND subject_id = $2 AND revoked_at IS NULL",
        )
        .bind(kind.as_str())
        .bind(subject_id)
        .bind(now_ms)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    pub async fn refresh_token(&self, token_hash: &str) -> Result<Option<RefreshTokenRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT token_hash, session_id, issued_at, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(RefreshTokenRow {
                token_hash: row.try_get("token_hash")?,
                session_id: row.try_get("session_id")?,
                issued_at: row.try_get("issued_at")?,
                expires_at: row.try_get("expires_at")?,
                used_at: row.try_get("used_at")?,
            })
        })
        .transpose()
    }

    /// Uses `old_hash` up and issues `new_hash` in the same family, extending the session
    /// to the new token's expiry. `false` if `old_hash` was already used (reuse, or a
    /// concurrent rotation won): nothing changes then.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        session_id: &str,
        now_ms: i64,
        new_expires_at: i64,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let used = sqlx::query("UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL")
            .bind(old_hash)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        if used.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(new_hash)
        .bind(session_id)
        .bind(now_ms)
        .bind(new_expires_at)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE sessions SET last_used_at = $2, expires_at = $3 WHERE id = $1")
            .bind(session_id)
            .bind(now_ms)
            .bind(new_expires_at)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub async fn insert_challenge(&self, challenge: &ChallengeRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO login_challenges (id_hash, user_id, ip, user_agent, device_info, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&challenge.id_hash)
        .bind(challenge.user_id)
        .bind(challenge.ip.as_deref())
        .bind(challenge.user_agent.as_deref())
        .bind(challenge.device_info.as_deref())
        .bind(challenge.created_at)
        .bind(challenge.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn challenge(&self, id_hash: &str) -> Result<Option<ChallengeRow>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id_hash, user_id, ip, user_agent, device_info, attempts, created_at, expires_at \
             FROM login_challenges WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ChallengeRow {
                id_hash: row.try_get("id_hash")?,
                user_id: row.try_get("user_id")?,
                ip: row.try_get("ip")?,
                user_agent: row.try_get("user_agent")?,
                device_info: row.try_get("device_info")?,
                attempts: row.try_get("attempts")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    pub async fn bump_challenge_attempts(&self, id_hash: &str) -> Result<i64, sqlx::Error> {
        let attempts: Option<i64> = sqlx::query_scalar(
            "UPDATE login_challenges SET attempts = attempts + 1 WHERE id_hash = $1 RETURNING attempts",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(attempts.unwrap_or(i64::MAX))
    }

    /// Deletes the challenge; `false` if it was gone (used by a concurrent request).
    pub async fn take_challenge(&self, id_hash: &str) -> Result<bool, sqlx::Error> {
        let done =
            sqlx::query("DELETE FROM login_challenges WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }
}
