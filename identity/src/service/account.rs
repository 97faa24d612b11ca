//! Sign-up, email verification, password reset and change, and binding a phone or email.
//! Every code goes out through the outbox and the delivery channel; what identifies a code
//! is (user, purpose), and it proves control of the address it was sent to.

use super::{Identity, RequestMeta};
use crate::delivery::{Channel, Message};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::keys::{ct_eq, random_string};
use crate::password;
use crate::store::{CreateUserError, NewUser, SubjectKind, UserRow};
use crate::validate;

/// What a code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    VerifyEmail,
    ResetPassword,
    BindEmail,
    BindPhone,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
            Purpose::BindEmail => "bind_email",
            Purpose::BindPhone => "bind_phone",
        }
    }

    fn channel(self) -> Channel {
        match self {
            Purpose::BindPhone => Channel::Sms,
            _ => Channel::Email,
        }
    }

    fn subject(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "Verify your email",
            Purpose::ResetPassword => "Reset your password",
            Purpose::BindEmail => "Confirm your new email",
            Purpose::BindPhone => "Confirm your phone number",
        }
    }
}

pub(crate) fn checked_email(raw: &str) -> ApiResult<String> {
    validate::email(raw).ok_or_else(|| ApiError::new(ErrorCode::InvalidEmail))
}

pub(crate) fn checked_password(password: &str, email: &str) -> ApiResult<()> {
    password::check_policy(password, email).map_err(|why| ApiError::with_msg(ErrorCode::WeakPassword, why))
}

impl Identity {
    /// RegisterUser: creates the user with the next engine account id, registers that
    /// account with the engine, and emails a verification code. The user exists only once
    /// the engine has the account; if the engine refuses, the error says so (code 1501)
    /// and the registration is retried later.
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        invite_code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<UserRow> {
        let email = checked_email(email)?;
        checked_password(password, &email)?;
        let invite = match invite_code.filter(|code| !code.trim().is_empty()) {
            Some(code) => Some(validate::invite_code(code).ok_or_else(|| {
                ApiError::with_msg(ErrorCode::InvalidField, "inviteCode: up to 32 letters or digits")
            })?),
            None => None,
        };
        let user = self.create_user(&email, password, invite.as_deref(), meta).await?;
        self.register_with_engine(&user).await?;
        if let Err(error) = self.send_code(user.id, Purpose::VerifyEmail, &email).await {
            tracing::warn!(user = user.id, "verification email not sent: {error}");
        }
        Ok(UserRow { engine_registered: true, ..user })
    }

    /// A user provisioned by the node itself (`cex run --demo`'s demo users), whose address
    /// is taken as verified: registered as [`Identity::register`] does, with no code sent,
    /// and `why` in the security log's `email_verified` entry.
    pub async fn register_verified(
        &self,
        email: &str,
        password: &str,
        why: &str,
        meta: &RequestMeta,
    ) -> ApiResult<UserRow> {
        let email = checked_email(email)?;
        checked_password(password, &email)?;
        let user = self.create_user(&email, password, None, meta).await?;
        // Verified before the engine registration, which identity retries if it fails.
        let now = self.now_ms();
        self.store.set_email_verified(user.id, now).await?;
        self.security(SubjectKind::User, user.id, "email_verified", why, meta).await?;
        self.register_with_engine(&user).await?;
        Ok(UserRow { email_verified_at: Some(now), engine_registered: true, ..user })
    }

    /// Creates the user (a checked email and password) with the next engine account id.
    async fn create_user(
        &self,
        email: &str,
        password: &str,
        invite_code: Option<&str>,
        meta: &RequestMeta,
    ) -> ApiResult<UserRow> {
        let hash = password::hash_blocking(password.to_string(), self.config.password_cost).await;
        let new = NewUser {
            email,
            password_hash: &hash,
            invite_code,
            fee_tier: self.config.default_fee_tier,
            engine_accounts_max: self.config.engine_accounts_max,
            now_ms: self.now_ms(),
        };
        let user = match self.store.create_user(&new).await {
            Ok(user) => user,
            Err(CreateUserError::EmailTaken) => return Err(ApiError::new(ErrorCode::EmailTaken)),
            Err(CreateUserError::Capacity) => return Err(ApiError::new(ErrorCode::EngineCapacity)),
            Err(CreateUserError::Database(error)) => return Err(error.into()),
        };
        let detail = format!("engine account {}", user.engine_account);
        self.security(SubjectKind::User, user.id, "registered", &detail, meta).await?;
        Ok(user)
    }

    /// Issues a code for (user, purpose), queues it for `target` (the outbox worker sends
    /// it), and keeps it hashed.
    pub(crate) async fn send_code(&self, user_id: i64, purpose: Purpose, target: &str) -> ApiResult<()> {
        let channel = purpose.channel();
        if !self.delivery.supports(channel) {
            return Err(ApiError::new(ErrorCode::ChannelUnavailable));
        }
        let now = self.now_ms();
        if let Some(latest) = self.store.latest_code(user_id, purpose.as_str()).await? {
            if now - latest.created_at < self.config.code_resend_ms {
                return Err(ApiError::new(ErrorCode::CodeCooldown));
            }
        }
        let code = random_string(6, b"0123456789");
        let hash = self.keys.code_hash(purpose.as_str(), &format!("{target}\0{code}"));
        let expires = now + self.config.code_ttl_ms;
        self.store.insert_code(user_id, purpose.as_str(), target, &hash, now, expires).await?;
        let minutes = self.config.code_ttl_ms / 60_000;
        let body = format!("Your cex code is {code}. It expires in {minutes} minutes. Never share it.");
        let message = Message {
            channel,
            to: target.to_string(),
            subject: purpose.subject().to_string(),
            body,
            purpose: purpose.as_str().to_string(),
        };
        self.queue_message(user_id, &message).await
    }

    /// Uses up the newest code for (user, purpose) if `code` is it and it was sent to
    /// `target`. Wrong guesses count; at the limit the code is dead.
    pub(crate) async fn check_code(&self, user_id: i64, purpose: Purpose, target: &str, code: &str) -> ApiResult<()> {
        let now = self.now_ms();
        let invalid = || ApiError::new(ErrorCode::InvalidCode);
        let Some(latest) = self.store.latest_code(user_id, purpose.as_str()).await? else {
            return Err(invalid());
        };
        if latest.consumed_at.is_some() || now >= latest.expires_at {
            return Err(invalid());
        }
        if latest.attempts >= self.config.code_max_attempts {
            return Err(ApiError::new(ErrorCode::CodeAttemptsExceeded));
        }
        let expected = self.keys.code_hash(purpose.as_str(), &format!("{target}\0{}", code.trim()));
        let same_target = ct_eq(latest.target.as_bytes(), target.as_bytes());
        if !(ct_eq(expected.as_bytes(), latest.code_hash.as_bytes()) && same_target) {
            let attempts = self.store.bump_code_attempts(latest.id).await?;
            if attempts >= self.config.code_max_attempts {
                return Err(ApiError::new(ErrorCode::CodeAttemptsExceeded));
            }
            return Err(invalid());
        }
        if !self.store.consume_code(latest.id, now).await? {
            return Err(invalid());
        }
        Ok(())
    }

    /// VerifyEmail without a code: (re)sends one. Answers the same whether or not the
    /// address is registered.
    pub async fn request_email_verification(&self, email: &str) -> ApiResult<()> {
        let email = checked_email(email)?;
        if let Some(user) = self.store.user_by_email(&email).await? {
            if user.email_verified_at.is_none() {
                if let Err(error) = self.send_code(user.id, Purpose::VerifyEmail, &email).await {
                    tracing::info!(user = user.id, "verification code not resent: {error}");
                }
            }
        }
        Ok(())
    }

    /// VerifyEmail with the emailed code.
    pub async fn verify_email(&self, email: &str, code: &str, meta: &RequestMeta) -> ApiResult<()> {
        let email = checked_email(email)?;
        let user = self.store.user_by_email(&email).await?.ok_or_else(|| ApiError::new(ErrorCode::InvalidCode))?;
        self.check_code(user.id, Purpose::VerifyEmail, &email, code).await?;
        self.store.set_email_verified(user.id, self.now_ms()).await?;
        self.security(SubjectKind::User, user.id, "email_verified", "", meta).await
    }

    /// ResetPassword without a code: emails one. Answers the same whether or not the address
    /// is registered.
    pub async fn request_password_reset(&self, email: &str) -> ApiResult<()> {
        let email = checked_email(email)?;
        if let Some(user) = self.store.user_by_email(&email).await? {
            if let Err(error) = self.send_code(user.id, Purpose::ResetPassword, &email).await {
                tracing::info!(user = user.id, "reset code not sent: {error}");
            }
        }
        Ok(())
    }

    /// ResetPassword with the emailed code: sets the password, lifts a lockout and ends
    /// every session.
    pub async fn reset_password(
        &self,
        email: &str,
        code: &str,
        new_password: &str,
        meta: &RequestMeta,
    ) -> ApiResult<()> {
        let email = checked_email(email)?;
        checked_password(new_password, &email)?;
        let user = self.store.user_by_email(&email).await?.ok_or_else(|| ApiError::new(ErrorCode::InvalidCode))?;
        self.check_code(user.id, Purpose::ResetPassword, &email, code).await?;
        let hash = password::hash_blocking(new_password.to_string(), self.config.password_cost).await;
        let now = self.now_ms();
        self.store.set_password(user.id, &hash, now).await?;
        let ended = self.store.revoke_sessions_of(SubjectKind::User, user.id, "password_reset", now).await?;
        self.security(SubjectKind::User, user.id, "password_reset", &format!("{ended} sessions ended"), meta).await
    }

    /// ChangePassword: needs the current password (wrong guesses count toward the lockout);
    /// ends every session of the user, this one included.
    pub async fn change_password(&self, user_id: i64, old: &str, new: &str, meta: &RequestMeta) -> ApiResult<()> {
        let user = self.user(user_id).await?;
        if user.locked_until.is_some_and(|until| until > self.now_ms()) {
            return Err(ApiError::new(ErrorCode::AccountLocked));
        }
        if !password::verify_blocking(old.to_string(), user.password_hash.clone()).await {
            return Err(self.login_failed(SubjectKind::User, user.id, ErrorCode::InvalidCredentials, meta).await);
        }
        checked_password(new, &user.email)?;
        let hash = password::hash_blocking(new.to_string(), self.config.password_cost).await;
        let now = self.now_ms();
        self.store.set_password(user.id, &hash, now).await?;
        let ended = self.store.revoke_sessions_of(SubjectKind::User, user.id, "password_changed", now).await?;
        self.security(SubjectKind::User, user.id, "password_changed", &format!("{ended} sessions ended"), meta).await
    }

    /// BindPhone without a code: texts one to the number.
    pub async fn request_phone_binding(&self, user_id: i64, phone: &str) -> ApiResult<()> {
        let phone = validate::phone(phone).ok_or_else(|| ApiError::new(ErrorCode::InvalidPhone))?;
        let user = self.user(user_id).await?;
        self.send_code(user.id, Purpose::BindPhone, &phone).await
    }

    /// BindPhone with the texted code.
    pub async fn bind_phone(&self, user_id: i64, phone: &str, code: &str, meta: &RequestMeta) -> ApiResult<()> {
        let phone = validate::phone(phone).ok_or_else(|| ApiError::new(ErrorCode::InvalidPhone))?;
        self.check_code(user_id, Purpose::BindPhone, &phone, code).await?;
        if !self.store.set_phone(user_id, &phone, self.now_ms()).await? {
            return Err(ApiError::new(ErrorCode::PhoneTaken));
        }
        let masked = format!("…{}", &phone[phone.len() - 4..]);
        self.security(SubjectKind::User, user_id, "phone_bound", &masked, meta).await
    }

    /// BindEmail without a code: emails one to the new address.
    pub async fn request_email_binding(&self, user_id: i64, email: &str) -> ApiResult<()> {
        let email = checked_email(email)?;
        let user = self.user(user_id).await?;
        if self.store.user_by_email(&email).await?.is_some() {
            return Err(ApiError::new(ErrorCode::EmailTaken));
        }
        self.send_code(user.id, Purpose::BindEmail, &email).await
    }

    /// BindEmail with the code sent to the new address: it becomes the login email.
    pub async fn bind_email(&self, user_id: i64, email: &str, code: &str, meta: &RequestMeta) -> ApiResult<()> {
        let email = checked_email(email)?;
        let user = self.user(user_id).await?;
        self.check_code(user_id, Purpose::BindEmail, &email, code).await?;
        if !self.store.set_email(user_id, &email, self.now_ms()).await? {
            return Err(ApiError::new(ErrorCode::EmailTaken));
        }
        let detail = format!("from {} to {email}", user.email);
        self.security(SubjectKind::User, user_id, "email_bound", &detail, meta).await
    }

    pub(crate) async fn user(&self, user_id: i64) -> ApiResult<UserRow> {
        self.store.user_by_id(user_id).await?.ok_or_else(|| ApiError::new(ErrorCode::InvalidToken))
    }
}
