//! Staff accounts and their roles, and the bootstrap behind `cex admin create-staff`.

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::{Identity, IdentityError};
use crate::config::IdentityConfig;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys::{random_string, ALPHANUMERIC};
use crate::password;
use crate::service::account::{checked_email, checked_password};
use crate::store::Store;

/// The catalog's staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
pub enum StaffRole {
    Admin,
    Operator,
    ComplianceOfficer,
    RiskManager,
    CustomerSupport,
    MarketMaker,
}

impl StaffRole {
    pub const ALL: [StaffRole; 6] = [
        StaffRole::Admin,
        StaffRole::Operator,
        StaffRole::ComplianceOfficer,
        StaffRole::RiskManager,
        StaffRole::CustomerSupport,
        StaffRole::MarketMaker,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StaffRole::Admin => "Admin",
            StaffRole::Operator => "Operator",
            StaffRole::ComplianceOfficer => "ComplianceOfficer",
            StaffRole::RiskManager => "RiskManager",
            StaffRole::CustomerSupport => "CustomerSupport",
            StaffRole::MarketMaker => "MarketMaker",
        }
    }

    /// The catalog's name, in any case (`admin`, `RiskManager`, `risk-manager`).
    pub fn parse(text: &str) -> Option<StaffRole> {
        let wanted: String = text.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
        StaffRole::ALL.into_iter().find(|role| role.as_str().to_lowercase() == wanted)
    }
}

impl std::fmt::Display for StaffRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff account just created. If the password was generated, it is here, once.
#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffCreated {
    pub id: i64,
    pub email: String,
    pub role: StaffRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

impl std::fmt::Debug for StaffCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffCreated")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// A generated password that meets the policy: 20 letters and digits.
fn generate_password() -> String {
    loop {
        let candidate = random_string(20, ALPHANUMERIC);
        if password::check_policy(&candidate, "").is_ok() {
            return candidate;
        }
    }
}

async fn insert_staff(
    store: &Store,
    config: &IdentityConfig,
    now_ms: i64,
    email: &str,
    role: StaffRole,
    password: Option<&str>,
) -> ApiResult<StaffCreated> {
    let email = checked_email(email)?;
    let (password, generated) = match password {
        Some(password) => (password.to_string(), None),
        None => {
            let password = generate_password();
            (password.clone(), Some(password))
        }
    };
    checked_password(&password, &email)?;
    let hash = password::hash_blocking(password, config.password_cost).await;
    let row = store
        .create_staff(&email, &hash, role.as_str(), now_ms)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::StaffEmailTaken))?;
    tracing::info!(staff = row.id, role = %role, "staff account created");
    Ok(StaffCreated { id: row.id, email, role, generated_password: generated })
}

/// `cex admin create-staff --email E --role R`: opens the store named by `config` (migrating
/// it if needed), and creates a staff account. With `password` `None` a strong one is
/// generated and returned once. Needs no engine and no running node.
pub async fn create_staff(
    config: &IdentityConfig,
    email: &str,
    role: StaffRole,
    password: Option<&str>,
) -> Result<StaffCreated, IdentityError> {
    std::fs::create_dir_all(&config.data_dir).map_err(IdentityError::DataDir)?;
    let store = Store::connect(&config.database_url()).await.map_err(IdentityError::Store)?;
    let now_ms = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
    let created = insert_staff(&store, config, now_ms, email, role, password).await;
    store.close().await;
    Ok(created?)
}

impl Identity {
    /// Creates a staff account (what `POST /api/admin/staff` does for an Admin).
    pub async fn create_staff(
        self: &Arc<Self>,
        email: &str,
        role: StaffRole,
        password: Option<&str>,
    ) -> ApiResult<StaffCreated> {
        insert_staff(&self.store, &self.config, self.now_ms(), email, role, password).await
    }
}
