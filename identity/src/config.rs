//! [`IdentityConfig`]: where identity keeps its data and the limits it enforces.

use std::path::{Path, PathBuf};

use crate::password::PasswordCost;

/// The SQLite database's file name in the data directory.
pub const DATABASE_FILE: &str = "cex.db";

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// Everything identity needs; [`IdentityConfig::new`] gives the documented defaults.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// Holds `cex.db` (the SQLite default), the key files and `outbox.log` (the dev sink).
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; `None`: SQLite at `data_dir/cex.db`.
    pub database_url: Option<String>,
    /// The JWT issuer and the TOTP issuer shown in authenticator apps.
    pub issuer: String,
    pub access_token_ttl_ms: i64,
    /// Each refresh token's lifetime; every use rotates it and starts a new one.
    pub refresh_token_ttl_ms: i64,
    /// How long a login that passed the password waits for its second factor.
    pub login_challenge_ttl_ms: i64,
    pub login_challenge_max_attempts: i64,
    /// Failed logins (password or second factor) that lock an account...
    pub max_login_failures: i64,
    /// ...for this long.
    pub lockout_ms: i64,
    pub code_ttl_ms: i64,
    pub code_max_attempts: i64,
    /// The least time between two codes sent for the same purpose.
    pub code_resend_ms: i64,
    pub password_cost: PasswordCost,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// The fee tier a new account is registered with in the engine.
    pub default_fee_tier: u8,
    /// Engine account ids are allocated from 1 (0 is never handed out) and stay below
    /// this: set it to the engine's `max_accounts` (`engine.max_accounts` in cex.toml).
    pub engine_accounts_max: u32,
    /// Refuse logins until the email is verified.
    pub require_verified_email: bool,
    pub max_api_keys_per_user: i64,
    pub recv_window_default_ms: i64,
    pub recv_window_max_ms: i64,
    /// Signed requests remembered at once for replay detection; beyond it new ones are
    /// refused (fail closed) until old ones age out of their window.
    pub replay_cache_capacity: usize,
    /// The most rows one history query returns.
    pub history_max_rows: i64,
}

impl IdentityConfig {
    pub fn new(data_dir: impl AsRef<Path>) -> IdentityConfig {
        IdentityConfig {
            data_dir: data_dir.as_ref().to_path_buf(),
            database_url: None,
            issuer: "cex".to_string(),
            access_token_ttl_ms: 15 * MINUTE_MS,
            refresh_token_ttl_ms: 7 * DAY_MS,
            login_challenge_ttl_ms: 5 * MINUTE_MS,
            login_challenge_max_attempts: 5,
            max_login_failures: 5,
            lockout_ms: 15 * MINUTE_MS,
            code_ttl_ms: 15 * MINUTE_MS,
            code_max_attempts: 5,
            code_resend_ms: MINUTE_MS,
            password_cost: PasswordCost::default(),
            max_body_bytes: 16 * 1024,
            default_fee_tier: 0,
            engine_accounts_max: 100_000,
            require_verified_email: true,
            max_api_keys_per_user: 30,
            recv_window_default_ms: 5_000,
            recv_window_max_ms: 60_000,
            replay_cache_capacity: 100_000,
            history_max_rows: 500,
        }
    }

    /// The database URL in use.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => crate::store::sqlite_url(&self.data_dir.join(DATABASE_FILE)),
        }
    }

    /// The dev sink's file.
    pub fn outbox_log(&self) -> PathBuf {
        self.data_dir.join("outbox.log")
    }
}
