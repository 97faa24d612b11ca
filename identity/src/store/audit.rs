//! The login audit (every login attempt: who, from where, and how it ended) and the security
//! log (every security-relevant change to an account).

use sqlx::Row;

use super::{flag, Store, SubjectKind};

/// One login attempt to record. Never holds the password or a code.
#[derive(Debug, Clone)]
pub struct NewLoginAudit<'a> {
    pub subject_kind: SubjectKind,
    /// `None` if the email matched no account.
    pub subject_id: Option<i64>,
    pub email: &'a str,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub device_info: Option<&'a str>,
    pub success: bool,
    /// `ok`, `bad_password`, `unknown_email`, `locked`, `two_factor_required`, …
    pub reason: &'a str,
    pub now_ms: i64,
}

#[derive(Debug, Clone)]
pub struct LoginAuditRow {
    pub id: i64,
    pub email: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device_info: Option<String>,
    pub success: bool,
    pub reason: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct SecurityLogRow {
    pub id: i64,
    pub event: String,
    pub detail: String,
    pub ip: Option<String>,
    pub created_at: i64,
}

impl Store {
    pub async fn insert_login_audit(&self, audit: &NewLoginAudit<'_>) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO login_audit (subject_kind, subject_id, email, ip, user_agent, device_info, success, reason, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(audit.subject_kind.as_str())
        .bind(audit.subject_id)
        .bind(audit.email)
        .bind(audit.ip)
        .bind(audit.user_agent)
        .bind(audit.device_info)
        .bind(i64::from(audit.success))
        .bind(audit.reason)
        .bind(audit.now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A subject's login attempts with `from_ms <= created_at < to_ms`, newest first.
    pub async fn login_history(
        &self,
        kind: SubjectKind,
        subject_id: i64,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<LoginAuditRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, email, ip, user_agent, device_info, success, reason, created_at FROM login_audit \
             WHERE subject_kind = $1 AND subject_id = $2 AND created_at >= $3 AND created_at < $4 \
             ORDER BY id DESC LIMIT $5",
        )
        .bind(kind.as_str())
        .bind(subject_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LoginAuditRow {
                    id: row.try_get("id")?,
                    email: row.try_get("email")?,
                    ip: row.try_get("ip")?,
                    user_agent: row.try_get("user_agent")?,
                    device_info: row.try_get("device_info")?,
                    success: flag(row.try_get("success")?),
                    reason: row.try_get("reason")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn insert_security_log(
        &self,
        kind: SubjectKind,
        subject_id: i64,
        event: &str,
        detail: &str,
        ip: Option<&str>,
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO security_log (subject_kind, subject_id, event, detail, ip, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(kind.as_str())
        .bind(subject_id)
        .bind(event)
        .bind(detail)
        .bind(ip)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A subject's security events with `from_ms <= created_at < to_ms`, newest first.
    pub async fn security_log(
        &self,
        kind: SubjectKind,
        subject_id: i64,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<SecurityLogRow>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT id, event, detail, ip, created_at FROM security_log \
             WHERE subject_kind = $1 AND subject_id = $2 AND created_at >= $3 AND created_at < $4 \
             ORDER BY id DESC LIMIT $5",
        )
        .bind(kind.as_str())
        .bind(subject_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SecurityLogRow {
                    id: row.try_get("id")?,
                    event: row.try_get("event")?,
                    detail: row.try_get("detail")?,
                    ip: row.try_get("ip")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect()
    }
}
