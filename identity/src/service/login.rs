//! Login (password, then the second factor if on), refresh-token rotation with reuse
//! detection, logout, and checking an access token on each request.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Identity, RequestMeta, TokenPair};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys::{random_token, sha256_hex};
use crate::password;
use crate::store::{ChallengeRow, StaffRow, SubjectKind, UserRow};
use crate::validate;

/// What Login answers: tokens, or a challenge to answer with the second factor.
#[derive(Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginOutcome {
    Tokens(TokenPair),
    TwoFactorRequired(TwoFactorChallenge),
}

/// A login that passed the password and waits for the second factor (Verify2FA).
#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorChallenge {
    /// Always true.
    pub two_factor_required: bool,
    /// The challenge id for Verify2FA (a secret: it stands in for the password).
    pub session_id: String,
    /// Seconds.
    pub expires_in: i64,
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginOutcome::Tokens(tokens) => f.debug_tuple("Tokens").field(tokens).finish(),
            LoginOutcome::TwoFactorRequired { .. } => f.write_str("TwoFactorRequired { .. }"),
        }
    }
}

/// Who a live access token speaks for.
#[derive(Debug, Clone)]
pub enum Authenticated {
    User { user: UserRow, session_id: String },
    Staff { staff: StaffRow, session_id: String },
}

const MAX_DEVICE_INFO: usize = 512;
const MAX_USER_AGENT: usize = 256;

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

impl RequestMeta {
    /// Bounded for storage.
    pub fn new(ip: Option<std::net::IpAddr>, user_agent: Option<&str>) -> RequestMeta {
        RequestMeta { ip, user_agent: user_agent.map(|agent| truncate(agent, MAX_USER_AGENT).to_string()) }
    }
}

impl Identity {
    /// Login. Every attempt is audited (IP, user agent, device, outcome). Wrong passwords
    /// count toward the lockout; a locked account is refused before its password is checked.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        device_info: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<LoginOutcome> {
        let email = validate::email(email).ok_or_else(|| ApiError::new(ErrorCode::InvalidEmail))?;
        let device = device_info.map(|info| truncate(info, MAX_DEVICE_INFO));
        let email_ref: &str = &email;
        let audit =
            move |id, success, reason| self.audit(SubjectKind::User, id, email_ref, device, meta, success, reason);
        let Some(user) = self.store.user_by_email(&email).await? else {
            password::verify_blocking(password.to_string(), self.dummy_hash.clone()).await;
            audit(None, false, "unknown_email").await?;
            return Err(ApiError::new(ErrorCode::InvalidCredentials));
        };
        let id = Some(user.id);
        if user.locked_until.is_some_and(|until| until > self.now_ms()) {
            audit(id, false, "locked").await?;
            return Err(ApiError::new(ErrorCode::AccountLocked));
        }
        if !password::verify_blocking(password.to_string(), user.password_hash.clone()).await {
            audit(id, false, "bad_password").await?;
            return Err(self.login_failed(SubjectKind::User, user.id, ErrorCode::InvalidCredentials, meta).await);
        }
        if user.status != "active" {
            audit(id, false, "disabled").await?;
            return Err(ApiError::new(ErrorCode::AccountDisabled));
        }
        if self.config.require_verified_email && user.email_verified_at.is_none() {
            audit(id, false, "email_not_verified").await?;
            return Err(ApiError::new(ErrorCode::EmailNotVerified));
        }
        if !user.engine_registered {
            if let Err(error) = self.register_with_engine(&user).await {
                audit(id, false, "engine_unavailable").await?;
                return Err(error);
            }
        }
        if user.two_factor_enabled() {
            // The failure count is cleared only once the second factor passes too: a known
            // password must not buy fresh guesses at the code.
            let challenge = self.open_challenge(&user, device, meta).await?;
            audit(id, false, "two_factor_pending").await?;
            return Ok(challenge);
        }
        self.store.clear_login_failures(SubjectKind::User, user.id).await?;
        let tokens = self.open_session(SubjectKind::User, user.id, meta).await?;
        audit(id, true, "ok").await?;
        Ok(LoginOutcome::Tokens(tokens))
    }

    async fn open_challenge(
        &self,
        user: &UserRow,
        device: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<LoginOutcome> {
        let now = self.now_ms();
        let id = random_token();
        let challenge = ChallengeRow {
            id_hash: sha256_hex(id.as_bytes()),
            user_id: user.id,
            ip: meta.ip_text(),
            user_agent: meta.user_agent.clone(),
            device_info: device.map(str::to_string),
            attempts: 0,
            created_at: now,
            expires_at: now + self.config.login_challenge_ttl_ms,
        };
        self.store.insert_challenge(&challenge).await?;
        Ok(LoginOutcome::TwoFactorRequired(TwoFactorChallenge {
            two_factor_required: true,
            session_id: id,
            expires_in: self.config.login_challenge_ttl_ms / 1000,
        }))
    }

    /// Verify2FA: answers a login challenge with a TOTP code or a recovery code. Wrong
    /// codes count toward both the challenge's limit and the account lockout.
    pub async fn verify_two_factor_login(
        &self,
        challenge_id: &str,
        code: &str,
        meta: &RequestMeta,
    ) -> ApiResult<TokenPair> {
        let now = self.now_ms();
        let id_hash = sha256_hex(challenge_id.as_bytes());
        let invalid = || ApiError::new(ErrorCode::ChallengeInvalid);
        let challenge = self.store.challenge(&id_hash).await?.ok_or_else(invalid)?;
        if now >= challenge.expires_at || challenge.attempts >= self.config.login_challenge_max_attempts {
            self.store.take_challenge(&id_hash).await?;
            return Err(invalid());
        }
        let user = self.user(challenge.user_id).await?;
        let device = challenge.device_info.as_deref();
        let (user_id, email): (i64, &str) = (user.id, &user.email);
        let audit =
            move |success, reason| self.audit(SubjectKind::User, Some(user_id), email, device, meta, success, reason);
        if user.locked_until.is_some_and(|until| until > now) {
            self.store.take_challenge(&id_hash).await?;
            audit(false, "locked").await?;
            return Err(ApiError::new(ErrorCode::AccountLocked));
        }
        if !self.check_second_factor(&user, code, meta).await? {
            self.store.bump_challenge_attempts(&id_hash).await?;
            audit(false, "bad_two_factor").await?;
            let error = self.login_failed(SubjectKind::User, user.id, ErrorCode::InvalidTwoFactorCode, meta).await;
            if error.code == ErrorCode::AccountLocked {
                self.store.take_challenge(&id_hash).await?;
            }
            return Err(error);
        }
        if !self.store.take_challenge(&id_hash).await? {
            return Err(invalid());
        }
        self.store.clear_login_failures(SubjectKind::User, user.id).await?;
        let tokens = self.open_session(SubjectKind::User, user.id, meta).await?;
        audit(true, "ok").await?;
        Ok(tokens)
    }

    /// RefreshToken: trades a refresh token for a new pair. Each refresh token works once;
    /// presenting a used one means it leaked, and ends its whole family (the session).
    pub async fn refresh(&self, refresh_token: &str, meta: &RequestMeta) -> ApiResult<TokenPair> {
        let now = self.now_ms();
        let invalid = || ApiError::new(ErrorCode::InvalidRefreshToken);
        let hash = sha256_hex(refresh_token.trim().as_bytes());
        let token = self.store.refresh_token(&hash).await?.ok_or_else(invalid)?;
        let session = self.store.session(&token.session_id).await?.ok_or_else(invalid)?;
        if session.revoked_at.is_some() {
            return Err(invalid());
        }
        if token.used_at.is_some() {
            return Err(self.refresh_reused(&session.id, session.subject_kind, session.subject_id, meta).await);
        }
        if now >= token.expires_at {
            return Err(invalid());
        }
        self.subject_active(session.subject_kind, session.subject_id).await?;
        let next = random_token();
        let next_expires = now + self.config.refresh_token_ttl_ms;
        let next_hash = sha256_hex(next.as_bytes());
        if !self.store.rotate_refresh_token(&hash, &next_hash, &session.id, now, next_expires).await? {
            return Err(self.refresh_reused(&session.id, session.subject_kind, session.subject_id, meta).await);
        }
        Ok(self.token_pair(session.subject_kind, session.subject_id, &session.id, next, now))
    }

    async fn refresh_reused(&self, session_id: &str, kind: SubjectKind, id: i64, meta: &RequestMeta) -> ApiError {
        tracing::warn!(subject = id, "a used refresh token was presented again: revoking its session");
        let revoked = self.store.revoke_session(session_id, "refresh_token_reuse", self.now_ms()).await;
        let logged = self.security(kind, id, "refresh_token_reuse", "session revoked", meta).await;
        match (revoked, logged) {
            (Err(error), _) => error.into(),
            (_, Err(error)) => error,
            _ => ApiError::new(ErrorCode::RefreshTokenReused),
        }
    }

    async fn subject_active(&self, kind: SubjectKind, id: i64) -> ApiResult<()> {
        let status = match kind {
            SubjectKind::User => self.store.user_by_id(id).await?.map(|user| user.status),
            SubjectKind::Staff => self.store.staff_by_id(id).await?.map(|staff| staff.status),
        };
        match status.as_deref() {
            Some("active") => Ok(()),
            Some(_) => Err(ApiError::new(ErrorCode::AccountDisabled)),
            None => Err(ApiError::new(ErrorCode::InvalidRefreshToken)),
        }
    }

    /// Logout: ends the session the access token belongs to.
    pub async fn logout(
        &self,
        kind: SubjectKind,
        subject_id: i64,
        session_id: &str,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        self.store.revoke_session(session_id, "logout", self.now_ms()).await?;
        self.security(kind, subject_id, "logout", "", meta).await
    }

    /// The subject of a live access token: a valid signature and expiry, and a session that
    /// is still open (logout, password changes and reuse detection close it).
    pub async fn authenticate_bearer(&self, token: &str) -> ApiResult<Authenticated> {
        let now = self.now_ms();
        let claims = self.signer.verify(token, now).ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))?;
        let session =
            self.store.session(&claims.session_id).await?.ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))?;
        if session.subject_kind != claims.kind || session.subject_id != claims.subject_id {
            return Err(ApiError::new(ErrorCode::InvalidToken));
        }
        if !session.is_active(now) {
            return Err(ApiError::new(ErrorCode::SessionRevoked));
        }
        match claims.kind {
            SubjectKind::User => {
                let user = self.user(claims.subject_id).await?;
                if user.status != "active" {
                    return Err(ApiError::new(ErrorCode::AccountDisabled));
                }
                Ok(Authenticated::User { user, session_id: session.id })
            }
            SubjectKind::Staff => {
                let staff = self
                    .store
                    .staff_by_id(claims.subject_id)
                    .await?
                    .ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))?;
                if staff.status != "active" {
                    return Err(ApiError::new(ErrorCode::AccountDisabled));
                }
                Ok(Authenticated::Staff { staff, session_id: session.id })
            }
        }
    }

    /// Whether user `user_id`'s session `session_id`, which authenticated a connection
    /// earlier, is still open and its user still active. For connections that outlive the
    /// request that opened them (the user data stream).
    pub async fn recheck_session(&self, user_id: i64, session_id: &str) -> ApiResult<()> {
        let session = self.store.session(session_id).await?.ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))?;
        if session.subject_kind != SubjectKind::User || session.subject_id != user_id {
            return Err(ApiError::new(ErrorCode::InvalidToken));
        }
        if !session.is_active(self.now_ms()) {
            return Err(ApiError::new(ErrorCode::SessionRevoked));
        }
        if self.user(user_id).await?.status != "active" {
            return Err(ApiError::new(ErrorCode::AccountDisabled));
        }
        Ok(())
    }

    /// Staff login (`POST /api/admin/auth/login`): email and password, audited and locked
    /// out like a user's. No second factor yet.
    pub async fn staff_login(&self, email: &str, password: &str, meta: &RequestMeta) -> ApiResult<TokenPair> {
        let email = validate::email(email).ok_or_else(|| ApiError::new(ErrorCode::InvalidEmail))?;
        let email_ref: &str = &email;
        let audit =
            move |id, success, reason| self.audit(SubjectKind::Staff, id, email_ref, None, meta, success, reason);
        let Some(staff) = self.store.staff_by_email(&email).await? else {
            password::verify_blocking(password.to_string(), self.dummy_hash.clone()).await;
            audit(None, false, "unknown_email").await?;
            return Err(ApiError::new(ErrorCode::InvalidCredentials));
        };
        let id = Some(staff.id);
        if staff.locked_until.is_some_and(|until| until > self.now_ms()) {
            audit(id, false, "locked").await?;
            return Err(ApiError::new(ErrorCode::AccountLocked));
        }
        if !password::verify_blocking(password.to_string(), staff.password_hash.clone()).await {
            audit(id, false, "bad_password").await?;
            return Err(self.login_failed(SubjectKind::Staff, staff.id, ErrorCode::InvalidCredentials, meta).await);
        }
        if staff.status != "active" {
            audit(id, false, "disabled").await?;
            return Err(ApiError::new(ErrorCode::AccountDisabled));
        }
        self.store.clear_login_failures(SubjectKind::Staff, staff.id).await?;
        let tokens = self.open_session(SubjectKind::Staff, staff.id, meta).await?;
        audit(id, true, "ok").await?;
        Ok(tokens)
    }
}
