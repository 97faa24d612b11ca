//! [`Identity`]: the service every endpoint calls. It owns the store, the keys, the clock,
//! the engine link and the delivery channel; HTTP is a thin layer over it (`crate::http`).

mod account;
mod api_keys;
mod login;
mod outbox;
mod provision;
mod staff;
mod sub_accounts;
mod two_factor;

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::{Clock, SystemClock};
use crate::config::{IdentityConfig, DATABASE_FILE};
use crate::delivery::{Delivery, DevSink, SmtpDelivery};
use crate::engine::{AccountBalances, EngineAccounts};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys::{random_token, sha256_hex, KeyFileError, Keys};
use crate::password;
use crate::signing::ReplayCache;
use crate::store::{
    redact_url, LoginAuditRow, NewLoginAudit, SecurityLogRow, SessionRow, Store, StoreError, SubjectKind, UserRow,
};
use crate::tokens::TokenSigner;

pub use api_keys::{ApiKeyView, CreatedApiKey, NewApiKey};
pub use login::{Authenticated, LoginOutcome, TwoFactorChallenge};
pub use provision::{list_api_keys, provision_api_key, revoke_api_key};
pub use staff::{create_staff, StaffCreated, StaffRole};
pub use sub_accounts::{NewSubAccount, SubAccountView, SUB_ACCOUNT_LOGIN_DOMAIN};
pub use two_factor::TwoFactorSetup;

/// Where a request came from, for the audit and the security log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    fn ip_text(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// Failing to open identity.
#[derive(Debug)]
pub enum IdentityError {
    DataDir(std::io::Error),
    Keys(KeyFileError),
    Store(StoreError),
    /// The email settings (`smtp_url`, `email_from`) are unusable.
    Delivery(String),
    /// A request-level failure of a bootstrap call such as [`create_staff`].
    Api(ApiError),
    /// No user or sub-account owns this engine account ([`provision_api_key`] and the other
    /// operator calls).
    UnknownAccount(u32),
}

impl std::fmt::Display for IdentityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentityError::DataDir(error) => write!(f, "identity data directory: {error}"),
            IdentityError::Keys(error) => write!(f, "identity key file: {error}"),
            IdentityError::Store(error) => write!(f, "identity store: {error}"),
            IdentityError::Delivery(error) => write!(f, "identity email: {error}"),
            IdentityError::Api(error) => write!(f, "{error}"),
            IdentityError::UnknownAccount(account) => write!(f, "no user owns engine account {account}"),
        }
    }
}

impl std::error::Error for IdentityError {}

impl From<ApiError> for IdentityError {
    fn from(error: ApiError) -> IdentityError {
        IdentityError::Api(error)
    }
}

/// An access token and the refresh token that renews it.
// Debug shows neither.
#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenPair {
    /// A JWT: send it as `Authorization: Bearer <accessToken>`.
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(value_type = String, example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: i64,
    /// For RefreshToken; each works once.
    pub refresh_token: String,
    /// Seconds.
    pub refresh_expires_in: i64,
    /// The server-side session (not a secret: tokens are).
    pub session_id: String,
}

impl std::fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenPair").field("session_id", &self.session_id).finish_non_exhaustive()
    }
}

/// One row of QueryLoginHistory.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginHistoryEntry {
    /// Unix milliseconds.
    pub time: i64,
    pub success: bool,
    /// `ok`, or why it failed: `bad_password`, `locked`, `unknown_email`, `bad_two_factor`,
    /// `two_factor_pending`, `email_not_verified`, `disabled`, `engine_unavailable`.
    pub reason: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub device_info: Option<String>,
}

impl From<LoginAuditRow> for LoginHistoryEntry {
    fn from(row: LoginAuditRow) -> LoginHistoryEntry {
        LoginHistoryEntry {
            time: row.created_at,
            success: row.success,
            reason: row.reason,
            ip: row.ip,
            user_agent: row.user_agent,
            device_info: row.device_info,
        }
    }
}

/// One row of QuerySecurityLog.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityEvent {
    /// Unix milliseconds.
    pub time: i64,
    /// `registered`, `email_verified`, `password_changed`, `api_key_created`, ….
    pub event: String,
    pub detail: String,
    pub ip: Option<String>,
}

impl From<SecurityLogRow> for SecurityEvent {
    fn from(row: SecurityLogRow) -> SecurityEvent {
        SecurityEvent { time: row.created_at, event: row.event, detail: row.detail, ip: row.ip }
    }
}

pub struct Identity {
    config: IdentityConfig,
    store: Store,
    keys: Keys,
    signer: TokenSigner,
    clock: Arc<dyn Clock>,
    engine: Arc<dyn EngineAccounts>,
    /// Attached once the node's read model exists (see [`Identity::attach_balances`]).
    balances: OnceLock<Arc<dyn AccountBalances>>,
    delivery: Arc<dyn Delivery>,
    replay: ReplayCache,
    /// Verified against when an email matches no account, so both cases take as long.
    dummy_hash: String,
    /// Wakes the outbox worker (see `outbox.rs`).
    outbox_wake: Arc<tokio::sync::Notify>,
    closing: AtomicBool,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity").field("store", &self.store.backend()).finish_non_exhaustive()
    }
}

impl Identity {
    /// Opens identity with the wall clock, and SMTP delivery if `config.smtp_url` is set or
    /// else the development sink (`<data_dir>/outbox.log`): creates the data directory and
    /// key files if missing, connects to the database, migrates it, and starts the outbox
    /// worker.
    pub async fn open(config: IdentityConfig, engine: Arc<dyn EngineAccounts>) -> Result<Arc<Identity>, IdentityError> {
        let delivery: Arc<dyn Delivery> = match &config.smtp_url {
            Some(url) => {
                let timeout = Duration::from_millis(config.smtp_timeout_ms);
                let smtp = SmtpDelivery::new(url, &config.email_from, timeout).map_err(IdentityError::Delivery)?;
                tracing::info!(smtp = smtp.redacted_url(), from = %config.email_from, "identity email through SMTP");
                Arc::new(smtp)
            }
            None => {
                let sink = DevSink::new(config.outbox_log());
                tracing::info!(file = %sink.path().display(), "identity email and SMS to the development sink");
                Arc::new(sink)
            }
        };
        Identity::open_with(config, engine, delivery, Arc::new(SystemClock)).await
    }

    pub async fn open_with(
        config: IdentityConfig,
        engine: Arc<dyn EngineAccounts>,
        delivery: Arc<dyn Delivery>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Identity>, IdentityError> {
        std::fs::create_dir_all(&config.data_dir).map_err(IdentityError::DataDir)?;
        let keys = Keys::load_or_create(&config.data_dir).map_err(IdentityError::Keys)?;
        let url = config.database_url();
        let store = Store::connect(&url).await.map_err(IdentityError::Store)?;
        if config.database_url.is_none() {
            // Password hashes and sealed secrets: readable by the node's user only.
            let file = config.data_dir.join(DATABASE_FILE);
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(IdentityError::DataDir)?;
        }
        tracing::info!(database = %redact_url(&url), "identity store open");
        let signer = TokenSigner::new(keys.jwt_secret(), &config.issuer, config.access_token_ttl_ms);
        let dummy_hash = password::hash_blocking(random_token(), config.password_cost).await;
        let replay = ReplayCache::new(config.replay_cache_capacity);
        let identity = Arc::new(Identity {
            config,
            store,
            keys,
            signer,
            clock,
            engine,
            balances: OnceLock::new(),
            delivery,
            replay,
            dummy_hash,
            outbox_wake: Arc::new(tokio::sync::Notify::new()),
            closing: AtomicBool::new(false),
            worker: Mutex::new(None),
        });
        let worker = outbox::spawn_worker(&identity);
        *identity.worker.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(worker);
        Ok(identity)
    }

    /// Lets QuerySubAccountAssets answer with balances read from `reader`. Only the first
    /// reader attached counts; returns whether this one was.
    pub fn attach_balances(&self, reader: Arc<dyn AccountBalances>) -> bool {
        self.balances.set(reader).is_ok()
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    /// The store, for sidecars that keep their tables in the same database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Stops the outbox worker (letting a send in progress finish, for up to
    /// `smtp_timeout_ms`) and closes the database pool (at shutdown). Messages not sent yet
    /// stay queued for the next start.
    pub async fn close(&self) {
        self.closing.store(true, Ordering::Release);
        self.outbox_wake.notify_one();
        let worker = self.worker.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take();
        if let Some(worker) = worker {
            let grace = Duration::from_millis(self.config.smtp_timeout_ms);
            if tokio::time::timeout(grace, worker).await.is_err() {
                tracing::warn!("identity: the outbox worker did not stop in time");
            }
        }
        self.store.close().await;
    }

    async fn security(
        &self,
        kind: SubjectKind,
        id: i64,
        event: &str,
        detail: &str,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        let ip = meta.ip_text();
        self.store.insert_security_log(kind, id, event, detail, ip.as_deref(), self.now_ms()).await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit(
        &self,
        kind: SubjectKind,
        subject_id: Option<i64>,
        email: &str,
        device_info: Option<&str>,
        meta: &RequestMeta,
        success: bool,
        reason: &str,
    ) -> ApiResult<()> {
        let ip = meta.ip_text();
        let audit = NewLoginAudit {
            subject_kind: kind,
            subject_id,
            email,
            ip: ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            device_info,
            success,
            reason,
            now_ms: self.now_ms(),
        };
        self.store.insert_login_audit(&audit).await?;
        Ok(())
    }

    /// Counts a failed password or second factor; locks the account when it is one too
    /// many (and logs that). Returns the error to report.
    async fn login_failed(&self, kind: SubjectKind, id: i64, wrong: ErrorCode, meta: &RequestMeta) -> ApiError {
        let now = self.now_ms();
        let locked = self
            .store
            .record_login_failure(kind, id, self.config.max_login_failures, self.config.lockout_ms, now)
            .await;
        match locked {
            Ok(Some(until)) => {
                let detail = format!("locked until {until} after {} failures", self.config.max_login_failures);
                if let Err(error) = self.security(kind, id, "account_locked", &detail, meta).await {
                    return error;
                }
                ApiError::new(ErrorCode::AccountLocked)
            }
            Ok(None) => ApiError::new(wrong),
            Err(error) => error.into(),
        }
    }

    /// A new session with its first refresh token, and an access token for it.
    async fn open_session(&self, kind: SubjectKind, subject_id: i64, meta: &RequestMeta) -> ApiResult<TokenPair> {
        let now = self.now_ms();
        let refresh_token = random_token();
        let refresh_expires = now + self.config.refresh_token_ttl_ms;
        let session = SessionRow {
            id: random_token()[..32].to_string(),
            subject_kind: kind,
            subject_id,
            created_at: now,
            last_used_at: now,
            expires_at: refresh_expires,
            revoked_at: None,
            revoke_reason: None,
            ip: meta.ip_text(),
            user_agent: meta.user_agent.clone(),
        };
        self.store.create_session(&session, &sha256_hex(refresh_token.as_bytes()), refresh_expires).await?;
        Ok(self.token_pair(kind, subject_id, &session.id, refresh_token, now))
    }

    fn token_pair(&self, kind: SubjectKind, id: i64, session_id: &str, refresh_token: String, now: i64) -> TokenPair {
        let (access_token, access_expires) = self.signer.issue(kind, id, session_id, now);
        TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: (access_expires - now) / 1000,
            refresh_token,
            refresh_expires_in: self.config.refresh_token_ttl_ms / 1000,
            session_id: session_id.to_string(),
        }
    }

    /// Registers the user's engine account and records that it is done. The engine's
    /// refusal is surfaced as [`ErrorCode::EngineUnavailable`]; the user stays pending and is
    /// retried at the next login or [`Identity::register_pending`].
    async fn register_with_engine(&self, user: &UserRow) -> ApiResult<()> {
        match self.engine.register(user.engine_account, user.fee_tier).await {
            Ok(()) => {
                self.store.mark_engine_registered(user.id, self.now_ms()).await?;
                Ok(())
            }
            Err(reason) => {
                tracing::warn!(user = user.id, account = user.engine_account, %reason, "engine registration failed");
                Err(ApiError::new(ErrorCode::EngineUnavailable))
            }
        }
    }

    /// Retries every user whose engine registration has not succeeded (call it at start-up,
    /// once the engine takes commands). Returns (registered now, still failing).
    pub async fn register_pending(&self) -> ApiResult<(usize, usize)> {
        let mut done = (0, 0);
        for user in self.store.unregistered_users().await? {
            match self.register_with_engine(&user).await {
                Ok(()) => done.0 += 1,
                Err(error) if error.code == ErrorCode::EngineUnavailable => done.1 += 1,
                Err(error) => return Err(error),
            }
        }
        Ok(done)
    }

    fn history_range(
        &self,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        limit: Option<i64>,
    ) -> ApiResult<(i64, i64, i64)> {
        let to = to_ms.unwrap_or_else(|| self.now_ms() + 1);
        let from = from_ms.unwrap_or(0);
        if from > to {
            return Err(ApiError::with_msg(ErrorCode::InvalidField, "startTime is after endTime"));
        }
        let limit = limit.unwrap_or(100);
        if !(1..=self.config.history_max_rows).contains(&limit) {
            let msg = format!("limit must be 1 to {}", self.config.history_max_rows);
            return Err(ApiError::with_msg(ErrorCode::InvalidField, msg));
        }
        Ok((from, to, limit))
    }

    /// QueryLoginHistory: the user's login attempts in `[from, to)`, newest first.
    pub async fn login_history(
        &self,
        user_id: i64,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        limit: Option<i64>,
    ) -> ApiResult<Vec<LoginHistoryEntry>> {
        let (from, to, limit) = self.history_range(from_ms, to_ms, limit)?;
        let rows = self.store.login_history(SubjectKind::User, user_id, from, to, limit).await?;
        Ok(rows.into_iter().map(LoginHistoryEntry::from).collect())
    }

    /// QuerySecurityLog: the user's security events in `[from, to)`, newest first.
    pub async fn security_log(
        &self,
        user_id: i64,
        from_ms: Option<i64>,
        to_ms: Option<i64>,
        limit: Option<i64>,
    ) -> ApiResult<Vec<SecurityEvent>> {
        let (from, to, limit) = self.history_range(from_ms, to_ms, limit)?;
        let rows = self.store.security_log(SubjectKind::User, user_id, from, to, limit).await?;
        Ok(rows.into_iter().map(SecurityEvent::from).collect())
    }
}
