//! [`IdentityConfig`]: where identity keeps its data and the limits it enforces.

use std::path::{Path, PathBuf};

use crate::password::PasswordCost;

/// The SQLite database's file name in the data directory.
pub const DATABASE_FILE: &str = "cex.db";

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// Everything identity needs; [`IdentityConfig::new`] gives the documented defaults. Debug
/// hides the passwords in the URLs.
#[derive(Clone)]
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
    /// Live sub-accounts per user (each takes an engine account id, kept when deleted).
    pub max_sub_accounts_per_user: i64,
    pub recv_window_default_ms: i64,
    pub recv_window_max_ms: i64,
    /// Signed requests remembered at once for replay detection; beyond it new ones are
    /// refused (fail closed) until old ones age out of their window.
    pub replay_cache_capacity: usize,
    /// The most rows one history query returns.
    pub history_max_rows: i64,
    /// `smtps://…` or `smtp://…` to send email through SMTP (see
    /// [`crate::delivery::SmtpDelivery`]); `None`: the dev sink `data_dir/outbox.log`.
    pub smtp_url: Option<String>,
    /// The sender of every email: `Name <address>` or `address`.
    pub email_from: String,
    /// One SMTP connection (connect, TLS, send) gives up after this long.
    pub smtp_timeout_ms: u64,
    /// The outbox worker looks for due messages at least this often (a message queued in
    /// this process wakes it at once; this is for retries and other processes' messages).
    pub outbox_poll_ms: u64,
    /// After a failed attempt the next waits this long, doubling each time...
    pub outbox_retry_base_ms: i64,
    /// ...up to this. A message older than `code_ttl_ms` is given up: its code has expired.
    pub outbox_retry_max_ms: i64,
    /// A worker holds a message this long while sending it; if it dies, another worker
    /// retries after. Longer than `smtp_timeout_ms`.
    pub outbox_lease_ms: i64,
}

impl std::fmt::Debug for IdentityConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |url: &Option<String>| url.as_deref().map(crate::store::redact_url);
        f.debug_struct("IdentityConfig")
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact(&self.database_url))
            .field("issuer", &self.issuer)
            .field("engine_accounts_max", &self.engine_accounts_max)
            .field("smtp_url", &redact(&self.smtp_url))
            .field("email_from", &self.email_from)
            .finish_non_exhaustive()
    }
}

/// The default sender (`[email] from` in cex.toml).
pub const DEFAULT_EMAIL_FROM: &str = "cex <no-reply@example.com>";

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
            max_sub_accounts_per_user: 20,
            recv_window_default_ms: 5_000,
            recv_window_max_ms: 60_000,
            replay_cache_capacity: 100_000,
            history_max_rows: 500,
            smtp_url: None,
            email_from: DEFAULT_EMAIL_FROM.to_string(),
            smtp_timeout_ms: 10_000,
            outbox_poll_ms: 5_000,
            outbox_retry_base_ms: 1_000,
            outbox_retry_max_ms: MINUTE_MS,
            outbox_lease_ms: MINUTE_MS,
        }
    }

    /// The database URL in use.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => crate::store::sqlite_url(&self.data_dir.join(DATABASE_FILE)),
        }
    }

    /// The dev sink's file (used when `smtp_url` is `None`).
    pub fn outbox_log(&self) -> PathBuf {
        self.data_dir.join("outbox.log")
    }
}
