//! Staff accounts: an email, a password and one role.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{is_unique_violation, Store};

/// A staff account as stored; Debug leaves out the password hash.
#[derive(Clone)]
pub struct StaffRow {
    pub id: i64,
    pub email: String,
    pub password_hash: String,
    /// A `StaffRole` name.
    pub role: String,
    pub status: String,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub created_at: i64,
}

impl std::fmt::Debug for StaffRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffRow")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

const STAFF_COLUMNS: &str = "id, email, password_hash, role, status, failed_logins, locked_until, created_at";

fn staff_from_row(row: &AnyRow) -> Result<StaffRow, sqlx::Error> {
    Ok(StaffRow {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        role: row.try_get("role")?,
        status: row.try_get("status")?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: row.try_get("locked_until")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// `Ok(None)`: the email is already a staff account.
    pub async fn create_staff(
        &self,
        email: &str,
        password_hash: &str,
        role: &str,
        now_ms: i64,
    ) -> Result<Option<StaffRow>, sqlx::Error> {
        let inserted = sqlx::query(&format!(
            "INSERT INTO staff (email, password_hash, role, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
             RETURNING {STAFF_COLUMNS}"
        ))
        .bind(email)
        .bind(password_hash)
        .bind(role)
        .bind(now_ms)
        .fetch_one(&self.pool)
        .await;
        match inserted {
            Ok(row) => staff_from_row(&row).map(Some),
            Err(error) if is_unique_violation(&error) => Ok(None),
            Err(error) => Err(error),
        }
    }

    pub async fn staff_by_email(&self, email: &str) -> Result<Option<StaffRow>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE email = $1"))
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(staff_from_row).transpose()
    }

    pub async fn staff_by_id(&self, id: i64) -> Result<Option<StaffRow>, sqlx::Error> {
        let row = sqlx::query(&format!("SELECT {STAFF_COLUMNS} FROM staff WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(staff_from_row).transpose()
    }
}
