//! Two-factor authentication: TOTP (RFC 6238) with recovery codes. Enabling takes two calls:
//! the first returns a secret and its provisioning URI, the second proves the authenticator
//! has it by sending a code, and only then is two-factor on (and the recovery codes shown,
//! once). Each TOTP step is accepted once.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Identity, RequestMeta};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::password;
use crate::store::{SubjectKind, UserRow};
use crate::totp;

/// The first half of Enable2FA.
// Debug shows no secret.
#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorSetup {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/...`, for a QR code.
    pub otpauth_uri: String,
}

impl std::fmt::Debug for TwoFactorSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoFactorSetup { .. }")
    }
}

fn totp_context(user_id: i64) -> String {
    format!("totp:{user_id}")
}

fn pending_context(user_id: i64) -> String {
    format!("totp-pending:{user_id}")
}

fn recovery_context(user_id: i64, code: &str) -> String {
    format!("{user_id}\0{}", totp::normalize_recovery_code(code))
}

impl Identity {
    /// Enable2FA, step one: a new secret, held pending until confirmed.
    pub async fn begin_two_factor(&self, user_id: i64) -> ApiResult<TwoFactorSetup> {
        let user = self.user(user_id).await?;
        if user.two_factor_enabled() {
            return Err(ApiError::new(ErrorCode::TwoFactorAlreadyEnabled));
        }
        let secret = totp::new_secret();
        let sealed = self.keys.seal(&pending_context(user_id), &secret);
        self.store.set_totp_pending(user_id, &sealed, self.now_ms()).await?;
        Ok(TwoFactorSetup {
            secret: totp::secret_base32(&secret),
            otpauth_uri: totp::provisioning_uri(&secret, &self.config.issuer, &user.email),
        })
    }

    /// Enable2FA, step two: a code from the pending secret turns two-factor on. Returns the
    /// recovery codes, shown this once (stored only as keyed hashes).
    pub async fn confirm_two_factor(&self, user_id: i64, code: &str, meta: &RequestMeta) -> ApiResult<Vec<String>> {
        let user = self.user(user_id).await?;
        if user.two_factor_enabled() {
            return Err(ApiError::new(ErrorCode::TwoFactorAlreadyEnabled));
        }
        let no_pending = || ApiError::with_msg(ErrorCode::InvalidField, "call Enable2FA without a code first");
        let sealed = user.totp_pending.as_deref().ok_or_else(no_pending)?;
        let secret = self.keys.open(&pending_context(user_id), sealed).ok_or_else(no_pending)?;
        let now = self.now_ms();
        let step = totp::matching_step(&secret, code.trim(), now)
            .ok_or_else(|| ApiError::new(ErrorCode::InvalidTwoFactorCode))?;
        let codes = totp::recovery_codes();
        let hashes: Vec<String> =
            codes.iter().map(|code| self.keys.code_hash("recovery", &recovery_context(user_id, code))).collect();
        let sealed = self.keys.seal(&totp_context(user_id), &secret);
        self.store.enable_totp(user_id, &sealed, step, &hashes, now).await?;
        self.security(SubjectKind::User, user_id, "2fa_enabled", "", meta).await?;
        Ok(codes)
    }

    /// Disable2FA: needs the password and a current code (or a recovery code).
    pub async fn disable_two_factor(
        &self,
        user_id: i64,
        password: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        let user = self.user(user_id).await?;
        if !user.two_factor_enabled() {
            return Err(ApiError::new(ErrorCode::TwoFactorNotEnabled));
        }
        if user.locked_until.is_some_and(|until| until > self.now_ms()) {
            return Err(ApiError::new(ErrorCode::AccountLocked));
        }
        if !password::verify_blocking(password.to_string(), user.password_hash.clone()).await {
            return Err(self.login_failed(SubjectKind::User, user_id, ErrorCode::InvalidCredentials, meta).await);
        }
        if !self.check_second_factor(&user, code, meta).await? {
            return Err(self.login_failed(SubjectKind::User, user_id, ErrorCode::InvalidTwoFactorCode, meta).await);
        }
        self.store.disable_totp(user_id, self.now_ms()).await?;
        self.security(SubjectKind::User, user_id, "2fa_disabled", "", meta).await
    }

    /// Is `code` a good second factor for the user right now: a TOTP code of a step not used
    /// before, or an unused recovery code (used up by this call)?
    pub(crate) async fn check_second_factor(&self, user: &UserRow, code: &str, meta: &RequestMeta) -> ApiResult<bool> {
        let Some(sealed) = user.totp_secret.as_deref() else {
            return Ok(false);
        };
        let code = code.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            let secret = self
                .keys
                .open(&totp_context(user.id), sealed)
                .ok_or_else(|| ApiError::internal(format_args!("user {}: TOTP secret does not open", user.id)))?;
            return match totp::matching_step(&secret, code, self.now_ms()) {
                Some(step) => Ok(self.store.use_totp_step(user.id, step).await?),
                None => Ok(false),
            };
        }
        let hash = self.keys.code_hash("recovery", &recovery_context(user.id, code));
        if !self.store.use_recovery_code(user.id, &hash, self.now_ms()).await? {
            return Ok(false);
        }
        let left = self.store.unused_recovery_codes(user.id).await?;
        self.security(SubjectKind::User, user.id, "recovery_code_used", &format!("{left} left"), meta).await?;
        Ok(true)
    }

    /// Requires a second factor for a sensitive change when the user has two-factor on.
    pub(crate) async fn require_second_factor(
        &self,
        user: &UserRow,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        if !user.two_factor_enabled() {
            return Ok(());
        }
        let code =
            code.filter(|code| !code.trim().is_empty()).ok_or_else(|| ApiError::new(ErrorCode::TwoFactorRequired))?;
        if self.check_second_factor(user, code, meta).await? {
            Ok(())
        } else {
            Err(self.login_failed(SubjectKind::User, user.id, ErrorCode::InvalidTwoFactorCode, meta).await)
        }
    }
}
