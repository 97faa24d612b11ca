//! The user-domain endpoints at the catalog's paths, plus staff login, staff creation and the
//! API documentation, each declared with its policy. JSON in and out; every failure is
//! `{code, msg}` with a 4xx or 5xx status (see [`crate::error`]).
//!
//! Each handler carries its OpenAPI description (`#[utoipa::path]`: path, request and
//! answer schemas, the errors particular to it); [`crate::openapi`] assembles them and adds
//! what follows from the route table (security, the common errors).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::authz::{Policy, RouteInfo, SecureRouter, StaffPrincipal, UserAuth, UserPrincipal, ANY_STAFF};
use crate::engine::AssetBalance;
use crate::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use crate::openapi::ServedDocument;
use crate::service::{
    ApiKeyView, CreatedApiKey, Identity, LoginHistoryEntry, LoginOutcome, NewApiKey, NewSubAccount, RequestMeta,
    SecurityEvent, StaffCreated, StaffRole, SubAccountView, TokenPair, TwoFactorSetup,
};
use crate::signing::Permission;
use crate::store::SubjectKind;

/// A JSON body, with every failure reported as `{code, msg}`: too large (1001), not JSON
/// (1000), not `application/json` (1005), or the wrong shape (1002). An empty body reads as
/// `{}`, so bodies whose fields are all optional may be left out.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<JsonBody<T>, ApiError> {
        let json_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.trim_start().to_ascii_lowercase().starts_with("application/json"));
        let bytes = read_body(request, state).await?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else if !json_type {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        } else {
            &bytes
        };
        serde_json::from_slice(text).map(JsonBody).map_err(|error| match error.classify() {
            serde_json::error::Category::Data => ApiError::with_msg(ErrorCode::InvalidField, error.to_string()),
            _ => ApiError::new(ErrorCode::MalformedJson),
        })
    }
}

/// The body within the route's limit.
async fn read_body<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::BodyTooLarge)
        } else {
            ApiError::new(ErrorCode::MalformedJson)
        }
    })
}

/// The API code of a refusal for rate (the node's REST buckets, the streams' socket caps):
/// the first of 1800–1899, which neither identity (1000–1699) nor trading (2000 and up) uses.
pub const RATE_LIMITED_CODE: u32 = 1800;

/// The refusal for rate: 429, `{"code": 1800, "msg"}` and `Retry-After` in whole seconds,
/// rounded up so a client that waits that long is let in.
pub fn too_many_requests(wait: std::time::Duration) -> Response {
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let body = ErrorBody { code: RATE_LIMITED_CODE, msg: format!("too many requests: retry after {seconds} s") };
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    response
}

/// JSON 404 and 405 for a router (apply once, on the outermost router).
pub fn with_json_fallbacks(router: Router) -> Router {
    router.fallback(not_found).method_not_allowed_fallback(method_not_allowed)
}

pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound)
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed)
}

type Shared = State<Arc<Identity>>;

/// Every identity route with its policy, ready for [`router`] or for enumeration.
pub fn routes(identity: &Arc<Identity>) -> SecureRouter<Arc<Identity>> {
    use Method as M;
    use Policy::{Public, Trader, TraderOrApiKey};
    let read = TraderOrApiKey(Permission::Read);
    SecureRouter::new(identity.clone())
        .route("RegisterUser", M::POST, "/api/v1/auth/register", Public, register)
        .route("VerifyEmail", M::POST, "/api/v1/auth/verify-email", Public, verify_email)
        .route("Login", M::POST, "/api/v1/auth/login", Public, login)
        .route("Verify2FA", M::POST, "/api/v1/auth/2fa/verify", Public, verify_2fa)
        .route("RefreshToken", M::POST, "/api/v1/auth/refresh", Public, refresh)
        .route("Logout", M::POST, "/api/v1/auth/logout", Trader, logout)
        .route("ResetPassword", M::POST, "/api/v1/auth/reset-password", Public, reset_password)
        .route("ChangePassword", M::POST, "/api/v1/auth/change-password", Trader, change_password)
        .route("Enable2FA", M::POST, "/api/v1/security/2fa/enable", Trader, enable_2fa)
        .route("Disable2FA", M::POST, "/api/v1/security/2fa/disable", Trader, disable_2fa)
        .route("BindPhone", M::POST, "/api/v1/security/phone/bind", Trader, bind_phone)
        .route("BindEmail", M::POST, "/api/v1/security/email/bind", Trader, bind_email)
        .route("CreateAPIKey", M::POST, "/api/v1/security/api-key", Trader, create_api_key)
        .route("DeleteAPIKey", M::DELETE, "/api/v1/security/api-key/{id}", Trader, delete_api_key)
        .route("ModifyAPIPermissions", M::PUT, "/api/v1/security/api-key/{id}/permissions", Trader, modify_api_key)
        .route("QueryAPIKeys", M::GET, "/api/v1/security/api-keys", read, query_api_keys)
        .route("QueryLoginHistory", M::GET, "/api/v1/security/login-history", read, login_history)
        .route("QuerySecurityLog", M::GET, "/api/v1/security/log", read, security_log)
        .route("CreateSubAccount", M::POST, "/api/v1/sub-account", Trader, create_sub_account)
        .route("DeleteSubAccount", M::DELETE, "/api/v1/sub-account/{id}", Trader, delete_sub_account)
        .route(
            "ModifySubAccountPermissions",
            M::PUT,
            "/api/v1/sub-account/{id}/permissions",
            Trader,
            modify_sub_account,
        )
        .route("QuerySubAccounts", M::GET, "/api/v1/sub-accounts", Trader, query_sub_accounts)
        .route("QuerySubAccountAssets", M::GET, "/api/v1/sub-account/{id}/assets", Trader, sub_account_assets)
        .route("CreateSubAccountAPIKey", M::POST, "/api/v1/sub-account/{id}/api-key", Trader, create_sub_key)
        .route("QuerySubAccountAPIKeys", M::GET, "/api/v1/sub-account/{id}/api-keys", Trader, query_sub_keys)
        .route("DeleteSubAccountAPIKey", M::DELETE, "/api/v1/sub-account/{id}/api-key/{keyId}", Trader, delete_sub_key)
        .route("StaffLogin", M::POST, "/api/admin/auth/login", Public, staff_login)
        .route("StaffLogout", M::POST, "/api/admin/auth/logout", Policy::Staff(ANY_STAFF), staff_logout)
        .route("StaffWhoAmI", M::GET, "/api/admin/auth/me", Policy::Staff(ANY_STAFF), staff_me)
        .route("CreateStaff", M::POST, "/api/admin/staff", Policy::Staff(&[StaffRole::Admin]), create_staff)
        .route("OpenApiDocument", M::GET, "/api/docs/openapi.json", Public, openapi_json)
        .route("ApiDocs", M::GET, "/api/docs", Public, docs_page)
}

/// The identity router: every route of [`routes`] with the body limit, state applied. Merge
/// it into the REST router and serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` so IP whitelists and the audit see
/// the peer address.
pub fn router(identity: &Arc<Identity>) -> Router {
    let (router, _) = routes(identity).finish();
    router.layer(DefaultBodyLimit::max(identity.config().max_body_bytes)).with_state(identity.clone())
}

/// Every identity route and its policy.
pub fn route_table(identity: &Arc<Identity>) -> Vec<RouteInfo> {
    routes(identity).finish().1
}

fn created<T: Serialize>(body: T) -> (StatusCode, Json<T>) {
    (StatusCode::CREATED, Json(body))
}

fn path_id(path: Result<Path<String>, PathRejection>) -> ApiResult<i64> {
    let Path(text) = path.map_err(|_| ApiError::with_msg(ErrorCode::InvalidField, "bad path parameter"))?;
    text.parse().map_err(|_| ApiError::with_msg(ErrorCode::InvalidField, "id must be a number"))
}

fn path_ids(path: Result<Path<(String, String)>, PathRejection>) -> ApiResult<(i64, i64)> {
    let Path((first, second)) = path.map_err(|_| ApiError::with_msg(ErrorCode::InvalidField, "bad path parameter"))?;
    let number =
        |text: String| text.parse().map_err(|_| ApiError::with_msg(ErrorCode::InvalidField, "ids are numbers"));
    Ok((number(first)?, number(second)?))
}

fn session_of(user: &UserPrincipal) -> ApiResult<&str> {
    match &user.via {
        UserAuth::Session { session_id } => Ok(session_id),
        UserAuth::ApiKey(_) => Err(ApiError::new(ErrorCode::Forbidden)),
    }
}

fn either<'a>(first: &'a Option<String>, second: &'a Option<String>) -> Option<&'a str> {
    first.as_deref().or(second.as_deref()).filter(|text| !text.trim().is_empty())
}

// ---------------------------------------------------------------------------------------
// Answers shared by several endpoints.

/// A code was sent (or, where the endpoint must not reveal whether the address is known,
/// would have been).
#[derive(Serialize, ToSchema)]
pub struct Sent {
    /// Always true.
    sent: bool,
}

const SENT: Sent = Sent { sent: true };

/// A phone number or email address is now bound to the account.
#[derive(Serialize, ToSchema)]
pub struct Bound {
    /// Always true.
    bound: bool,
}

/// The session has ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoggedOut {
    /// Always true.
    logged_out: bool,
}

/// Without a code: one is sent. With the code: the address is bound.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum BindReply {
    Sent(Sent),
    Bound(Bound),
}

// ---------------------------------------------------------------------------------------
// Sign-up and login.

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    /// ASCII, at most 254 characters; stored lower-cased.
    #[schema(example = "alice@example.com")]
    email: String,
    /// 10 to 128 characters from at least two classes, at least 4 distinct, not a common
    /// password, not containing the email.
    #[schema(example = "Tr4ding-desk-9")]
    password: String,
    /// Up to 32 letters, digits, `-` or `_`.
    invite_code: Option<String>,
}

/// A new user; a verification code is on its way to the email.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registered {
    user_id: i64,
    email: String,
    /// Always false: VerifyEmail with the emailed code.
    email_verified: bool,
}

/// RegisterUser: creates the user, registers its engine account, emails a verification code.
#[utoipa::path(
    post,
    path = "/api/v1/auth/register",
    tag = "auth",
    request_body = RegisterBody,
    responses(
        (status = 201, description = "Registered; a verification code is emailed", body = Registered),
        (status = 409, description = "1200: the email is already registered", body = ErrorBody),
        (status = 503, description = "1501: the engine did not register the account (the user is kept and retried); 1503: no engine account id is free", body = ErrorBody),
    )
)]
async fn register(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<RegisterBody>,
) -> ApiResult<(StatusCode, Json<Registered>)> {
    let user = id.register(&body.email, &body.password, body.invite_code.as_deref(), &meta).await?;
    Ok(created(Registered { user_id: user.id, email: user.email, email_verified: false }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct VerifyEmailBody {
    email: String,
    /// The six digits emailed; without it, a new code is sent.
    #[schema(example = "123456")]
    verification_code: Option<String>,
}

/// The email address is verified.
#[derive(Serialize, ToSchema)]
pub struct Verified {
    /// Always true.
    verified: bool,
}

/// Without a code: one is (re)sent. With the code: the email is verified.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum VerifyEmailReply {
    Sent(Sent),
    Verified(Verified),
}

/// VerifyEmail: `{email}` (re)sends the code, `{email, verificationCode}` verifies.
///
/// Sending answers `{sent:true}` whether or not the address is registered.
#[utoipa::path(
    post,
    path = "/api/v1/auth/verify-email",
    tag = "auth",
    request_body = VerifyEmailBody,
    responses(
        (status = 200, description = "Code sent, or email verified", body = VerifyEmailReply),
        (status = 429, description = "1211: too many wrong codes; 1212: a code was sent moments ago", body = ErrorBody),
    )
)]
async fn verify_email(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<VerifyEmailBody>,
) -> ApiResult<Json<VerifyEmailReply>> {
    match either(&body.verification_code, &None) {
        Some(code) => {
            id.verify_email(&body.email, code, &meta).await?;
            Ok(Json(VerifyEmailReply::Verified(Verified { verified: true })))
        }
        None => {
            id.request_email_verification(&body.email).await?;
            Ok(Json(VerifyEmailReply::Sent(SENT)))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct LoginBody {
    #[schema(example = "alice@example.com")]
    email: String,
    password: String,
    /// Free-form (a string or any JSON value), recorded in the login audit; at most 512
    /// characters are kept.
    device_info: Option<Value>,
}

/// Login: the password, then (if two-factor is on) a challenge for Verify2FA.
///
/// Every attempt is audited. Five failures lock the account for 15 minutes.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginBody,
    responses(
        (status = 200, description = "Tokens, or `{twoFactorRequired:true, sessionId, expiresIn}`", body = LoginOutcome),
        (status = 401, description = "1201: wrong email or password", body = ErrorBody),
        (status = 403, description = "1203: the email is not verified; 1204: the account is disabled", body = ErrorBody),
        (status = 423, description = "1202: the account is locked", body = ErrorBody),
    )
)]
async fn login(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<LoginBody>,
) -> ApiResult<Json<LoginOutcome>> {
    let device = match body.device_info {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text),
        Some(other) => Some(other.to_string()),
    };
    Ok(Json(id.login(&body.email, &body.password, device.as_deref(), &meta).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Verify2faBody {
    /// The `sessionId` Login answered with.
    session_id: String,
    /// A current TOTP code, or an unused recovery code (`xxxxx-xxxxx`).
    code: String,
}

/// Verify2FA: answers a login challenge with a TOTP or recovery code.
#[utoipa::path(
    post,
    path = "/api/v1/auth/2fa/verify",
    tag = "auth",
    request_body = Verify2faBody,
    responses(
        (status = 200, description = "Tokens", body = TokenPair),
        (status = 401, description = "1205: wrong code; 1206: unknown or expired challenge", body = ErrorBody),
        (status = 423, description = "1202: the account is locked", body = ErrorBody),
    )
)]
async fn verify_2fa(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<Verify2faBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(id.verify_two_factor_login(&body.session_id, &body.code, &meta).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: String,
}

/// RefreshToken: a new token pair; the refresh token is used up.
///
/// Presenting a used refresh token again revokes its whole session (1214).
#[utoipa::path(
    post,
    path = "/api/v1/auth/refresh",
    tag = "auth",
    request_body = RefreshBody,
    responses(
        (status = 200, description = "Tokens (the refresh token rotated)", body = TokenPair),
        (status = 401, description = "1213: invalid or expired; 1214: reused, the session is revoked", body = ErrorBody),
    )
)]
async fn refresh(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(id.refresh(&body.refresh_token, &meta).await?))
}

/// Logout: ends this session (its access and refresh tokens stop working).
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    responses((status = 200, description = "The session has ended", body = LoggedOut))
)]
async fn logout(State(id): Shared, meta: RequestMeta, user: UserPrincipal) -> ApiResult<Json<LoggedOut>> {
    id.logout(SubjectKind::User, user.user_id, session_of(&user)?, &meta).await?;
    Ok(Json(LoggedOut { logged_out: true }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ResetBody {
    email: String,
    /// With `newPassword`: the emailed code. Without both: a code is sent.
    verification_code: Option<String>,
    new_password: Option<String>,
}

/// The password was reset.
#[derive(Serialize, ToSchema)]
pub struct ResetDone {
    /// Always true.
    reset: bool,
}

/// Without a code: one is sent. With the code and a new password: the password is reset.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum ResetPasswordReply {
    Sent(Sent),
    Reset(ResetDone),
}

/// ResetPassword: `{email}` emails a code; `{email, verificationCode, newPassword}` resets.
///
/// A reset lifts a lockout and ends every session. Sending answers `{sent:true}` whether or
/// not the address is registered.
#[utoipa::path(
    post,
    path = "/api/v1/auth/reset-password",
    tag = "auth",
    request_body = ResetBody,
    responses(
        (status = 200, description = "Code sent, or password reset", body = ResetPasswordReply),
        (status = 429, description = "1211: too many wrong codes", body = ErrorBody),
    )
)]
async fn reset_password(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult<Json<ResetPasswordReply>> {
    match (either(&body.verification_code, &None), body.new_password.as_deref()) {
        (None, None) => {
            id.request_password_reset(&body.email).await?;
            Ok(Json(ResetPasswordReply::Sent(SENT)))
        }
        (Some(code), Some(new_password)) => {
            id.reset_password(&body.email, code, new_password, &meta).await?;
            Ok(Json(ResetPasswordReply::Reset(ResetDone { reset: true })))
        }
        _ => Err(ApiError::with_msg(ErrorCode::InvalidField, "send verificationCode and newPassword together")),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordBody {
    old_password: String,
    new_password: String,
}

/// The password was changed and every session ended.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChanged {
    /// Always true.
    changed: bool,
    /// Always true: log in again.
    sessions_ended: bool,
}

/// ChangePassword: needs the current password; ends every session, this one included.
#[utoipa::path(
    post,
    path = "/api/v1/auth/change-password",
    tag = "auth",
    request_body = ChangePasswordBody,
    responses(
        (status = 200, description = "Changed", body = PasswordChanged),
        (status = 401, description = "1201: wrong current password (counts toward the lockout)", body = ErrorBody),
        (status = 423, description = "1202: the account is locked", body = ErrorBody),
    )
)]
async fn change_password(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> ApiResult<Json<PasswordChanged>> {
    id.change_password(user.user_id, &body.old_password, &body.new_password, &meta).await?;
    Ok(Json(PasswordChanged { changed: true, sessions_ended: true }))
}

// ---------------------------------------------------------------------------------------
// Two-factor and contact details.

#[derive(Deserialize, ToSchema)]
struct Enable2faBody {
    /// Without it: a new secret. With a code from the authenticator: two-factor turns on.
    code: Option<String>,
}

/// The first step of Enable2FA: the secret to put in an authenticator app.
#[derive(Serialize, ToSchema)]
pub struct TwoFactorSecret {
    /// Always false: confirm with a code to turn two-factor on.
    enabled: bool,
    #[serde(flatten)]
    setup: TwoFactorSetup,
}

/// Two-factor is on. The recovery codes are shown once.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TwoFactorEnabled {
    /// Always true.
    enabled: bool,
    /// Ten single-use codes (`xxxxx-xxxxx`) for when the authenticator is lost.
    recovery_codes: Vec<String>,
}

/// `{}`: the secret. `{code}`: two-factor on, with recovery codes.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum Enable2faReply {
    Secret(TwoFactorSecret),
    Enabled(TwoFactorEnabled),
}

/// Enable2FA, in two steps: `{}` returns a secret and its `otpauth://` URI; `{code}` proves
/// the authenticator holds it and turns two-factor on.
#[utoipa::path(
    post,
    path = "/api/v1/security/2fa/enable",
    tag = "security",
    request_body = Enable2faBody,
    responses(
        (status = 200, description = "The secret, or two-factor enabled", body = Enable2faReply),
        (status = 401, description = "1205: the code is wrong", body = ErrorBody),
        (status = 409, description = "1207: two-factor is already on", body = ErrorBody),
    )
)]
async fn enable_2fa(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<Enable2faBody>,
) -> ApiResult<Json<Enable2faReply>> {
    match either(&body.code, &None) {
        None => {
            let setup = id.begin_two_factor(user.user_id).await?;
            Ok(Json(Enable2faReply::Secret(TwoFactorSecret { enabled: false, setup })))
        }
        Some(code) => {
            let recovery_codes = id.confirm_two_factor(user.user_id, code, &meta).await?;
            Ok(Json(Enable2faReply::Enabled(TwoFactorEnabled { enabled: true, recovery_codes })))
        }
    }
}

#[derive(Deserialize, ToSchema)]
struct Disable2faBody {
    password: String,
    /// A current TOTP code or a recovery code.
    #[serde(rename = "2faCode")]
    code: String,
}

/// Two-factor is off.
#[derive(Serialize, ToSchema)]
pub struct TwoFactorDisabled {
    /// Always false.
    enabled: bool,
}

/// Disable2FA: needs the password and a current code.
#[utoipa::path(
    post,
    path = "/api/v1/security/2fa/disable",
    tag = "security",
    request_body = Disable2faBody,
    responses(
        (status = 200, description = "Two-factor is off", body = TwoFactorDisabled),
        (status = 401, description = "1201: wrong password; 1205: wrong code", body = ErrorBody),
        (status = 409, description = "1208: two-factor is off already", body = ErrorBody),
    )
)]
async fn disable_2fa(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<Disable2faBody>,
) -> ApiResult<Json<TwoFactorDisabled>> {
    id.disable_two_factor(user.user_id, &body.password, &body.code, &meta).await?;
    Ok(Json(TwoFactorDisabled { enabled: false }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BindPhoneBody {
    /// E.164: `+`, then 8 to 15 digits.
    #[schema(example = "+4915112345678")]
    phone_number: String,
    /// The texted code; without it, a code is texted.
    verification_code: Option<String>,
}

/// BindPhone: `{phoneNumber}` texts a code; `{phoneNumber, verificationCode}` binds it.
#[utoipa::path(
    post,
    path = "/api/v1/security/phone/bind",
    tag = "security",
    request_body = BindPhoneBody,
    responses(
        (status = 200, description = "Code sent, or phone bound", body = BindReply),
        (status = 409, description = "1215: the number is bound to another account", body = ErrorBody),
    )
)]
async fn bind_phone(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<BindPhoneBody>,
) -> ApiResult<Json<BindReply>> {
    match either(&body.verification_code, &None) {
        None => {
            id.request_phone_binding(user.user_id, &body.phone_number).await?;
            Ok(Json(BindReply::Sent(SENT)))
        }
        Some(code) => {
            id.bind_phone(user.user_id, &body.phone_number, code, &meta).await?;
            Ok(Json(BindReply::Bound(Bound { bound: true })))
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BindEmailBody {
    /// The new address.
    email: String,
    /// The code sent to the new address; without it, a code is sent there.
    verification_code: Option<String>,
}

/// BindEmail: `{email}` sends a code to the new address; with the code, it becomes the
/// login email.
#[utoipa::path(
    post,
    path = "/api/v1/security/email/bind",
    tag = "security",
    request_body = BindEmailBody,
    responses(
        (status = 200, description = "Code sent, or email bound", body = BindReply),
        (status = 409, description = "1200: the email belongs to another account", body = ErrorBody),
    )
)]
async fn bind_email(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<BindEmailBody>,
) -> ApiResult<Json<BindReply>> {
    match either(&body.verification_code, &None) {
        None => {
            id.request_email_binding(user.user_id, &body.email).await?;
            Ok(Json(BindReply::Sent(SENT)))
        }
        Some(code) => {
            id.bind_email(user.user_id, &body.email, code, &meta).await?;
            Ok(Json(BindReply::Bound(Bound { bound: true })))
        }
    }
}

// ---------------------------------------------------------------------------------------
// API keys and history.

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct CreateKeyBody {
    /// 1 to 64 characters.
    #[schema(example = "market-maker bot")]
    label: String,
    /// Some of `read`, `trade`, `withdraw`, `transfer`; `withdraw` needs two-factor on and
    /// an IP whitelist.
    #[schema(example = json!(["read", "trade"]))]
    permissions: Vec<String>,
    /// Up to 30 exact IPv4/IPv6 addresses (no CIDR ranges).
    ip_whitelist: Option<Vec<String>>,
    /// Required when two-factor is on.
    #[serde(rename = "2faCode")]
    code: Option<String>,
}

/// CreateAPIKey: a new key and its secret, shown once.
#[utoipa::path(
    post,
    path = "/api/v1/security/api-key",
    tag = "api-keys",
    request_body = CreateKeyBody,
    responses(
        (status = 201, description = "The key, with its secret (shown only here)", body = CreatedApiKey),
        (status = 409, description = "1301: too many API keys", body = ErrorBody),
    )
)]
async fn create_api_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<CreateKeyBody>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let new = NewApiKey {
        label: body.label,
        permissions: body.permissions,
        ip_whitelist: body.ip_whitelist,
        two_factor_code: body.code,
    };
    Ok(created(id.create_api_key(user.user_id, &new, &meta).await?))
}

#[derive(Deserialize, Default, ToSchema)]
struct TwoFactorOnly {
    /// Required when two-factor is on.
    #[serde(rename = "2faCode")]
    code: Option<String>,
}

/// A key was deleted.
#[derive(Serialize, ToSchema)]
pub struct KeyDeleted {
    /// Always true.
    deleted: bool,
    id: i64,
}

/// DeleteAPIKey: the key stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/security/api-key/{id}",
    tag = "api-keys",
    params(("id" = i64, Path, description = "The key's `id`")),
    request_body(content = Option<TwoFactorOnly>, description = "Optional; `2faCode` when two-factor is on"),
    responses(
        (status = 200, description = "Deleted", body = KeyDeleted),
        (status = 404, description = "1300: no such key (another user's key included)", body = ErrorBody),
    )
)]
async fn delete_api_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<TwoFactorOnly>,
) -> ApiResult<Json<KeyDeleted>> {
    let key_id = path_id(path)?;
    id.delete_api_key(user.user_id, key_id, body.code.as_deref(), &meta).await?;
    Ok(Json(KeyDeleted { deleted: true, id: key_id }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ModifyKeyBody {
    /// The catalog's name for `permissions`; one of the two is required.
    new_permissions: Option<Vec<String>>,
    permissions: Option<Vec<String>>,
    /// Replaces the whitelist if given (`[]` lifts it).
    ip_whitelist: Option<Vec<String>>,
    /// Required when two-factor is on.
    #[serde(rename = "2faCode")]
    code: Option<String>,
}

/// ModifyAPIPermissions: new permissions, and a new whitelist if given.
#[utoipa::path(
    put,
    path = "/api/v1/security/api-key/{id}/permissions",
    tag = "api-keys",
    params(("id" = i64, Path, description = "The key's `id`")),
    request_body = ModifyKeyBody,
    responses(
        (status = 200, description = "The key as it is now", body = ApiKeyView),
        (status = 404, description = "1300: no such key (another user's key included)", body = ErrorBody),
    )
)]
async fn modify_api_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<ModifyKeyBody>,
) -> ApiResult<Json<ApiKeyView>> {
    let key_id = path_id(path)?;
    let permissions = body
        .new_permissions
        .or(body.permissions)
        .ok_or_else(|| ApiError::with_msg(ErrorCode::InvalidField, "missing field `newPermissions`"))?;
    let key = id
        .modify_api_key(user.user_id, key_id, &permissions, body.ip_whitelist.as_deref(), body.code.as_deref(), &meta)
        .await?;
    Ok(Json(key))
}

/// The caller's API keys.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyList {
    api_keys: Vec<ApiKeyView>,
}

/// QueryAPIKeys: the caller's keys, never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/security/api-keys",
    tag = "api-keys",
    responses((status = 200, description = "The keys", body = ApiKeyList))
)]
async fn query_api_keys(State(id): Shared, user: UserPrincipal) -> ApiResult<Json<ApiKeyList>> {
    Ok(Json(ApiKeyList { api_keys: id.api_keys(user.user_id).await? }))
}

/// A time range and a row limit.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RangeQuery {
    /// Unix ms, inclusive; default 0.
    start_time: Option<i64>,
    /// Unix ms, exclusive; default now.
    end_time: Option<i64>,
    /// 1 to 500; default 100.
    limit: Option<i64>,
}

fn range(query: Result<Query<RangeQuery>, QueryRejection>) -> ApiResult<RangeQuery> {
    query
        .map(|Query(range)| range)
        .map_err(|rejection| ApiError::with_msg(ErrorCode::InvalidField, rejection.body_text()))
}

/// The caller's login attempts, newest first.
#[derive(Serialize, ToSchema)]
pub struct LoginHistory {
    logins: Vec<LoginHistoryEntry>,
}

/// QueryLoginHistory: the caller's login attempts in the range, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/security/login-history",
    tag = "security",
    params(RangeQuery),
    responses((status = 200, description = "Login attempts", body = LoginHistory))
)]
async fn login_history(
    State(id): Shared,
    user: UserPrincipal,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> ApiResult<Json<LoginHistory>> {
    let range = range(query)?;
    let logins = id.login_history(user.user_id, range.start_time, range.end_time, range.limit).await?;
    Ok(Json(LoginHistory { logins }))
}

/// The caller's security events, newest first.
#[derive(Serialize, ToSchema)]
pub struct SecurityLog {
    events: Vec<SecurityEvent>,
}

/// QuerySecurityLog: the caller's security events in the range, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/security/log",
    tag = "security",
    params(RangeQuery),
    responses((status = 200, description = "Security events", body = SecurityLog))
)]
async fn security_log(
    State(id): Shared,
    user: UserPrincipal,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> ApiResult<Json<SecurityLog>> {
    let range = range(query)?;
    let events = id.security_log(user.user_id, range.start_time, range.end_time, range.limit).await?;
    Ok(Json(SecurityLog { events }))
}

// ---------------------------------------------------------------------------------------
// Sub-accounts. Every route is the parent's, with a session; another user's sub-account is
// "not found" (1603).

#[derive(Deserialize, ToSchema)]
struct CreateSubAccountBody {
    /// The parent's name for it, unique among the parent's sub-accounts. Not a login: a
    /// sub-account cannot log in, and no email is sent to it.
    #[schema(example = "desk-1@fund.example")]
    email: String,
    /// 1 to 64 characters.
    #[schema(example = "desk 1")]
    label: String,
    /// The most its API keys may do: some of `read`, `trade`, `withdraw`, `transfer`.
    #[schema(example = json!(["read", "trade"]))]
    permissions: Vec<String>,
}

/// CreateSubAccount: a sub-account with its own engine account, registered with the engine
/// before the answer.
///
/// It cannot log in: it acts through API keys its parent creates for it
/// (CreateSubAccountAPIKey), within its `permissions`.
#[utoipa::path(
    post,
    path = "/api/v1/sub-account",
    tag = "sub-accounts",
    request_body = CreateSubAccountBody,
    responses(
        (status = 201, description = "Created", body = SubAccountView),
        (status = 409, description = "1600: you have a sub-account with this email; 1601: too many sub-accounts", body = ErrorBody),
        (status = 503, description = "1501: the engine did not register its account (it is kept and retried); 1503: no engine account id is free", body = ErrorBody),
    )
)]
async fn create_sub_account(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<CreateSubAccountBody>,
) -> ApiResult<(StatusCode, Json<SubAccountView>)> {
    let new = NewSubAccount { email: body.email, label: body.label, permissions: body.permissions };
    Ok(created(id.create_sub_account(user.user_id, &new, &meta).await?))
}

/// A sub-account was deleted.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubAccountDeleted {
    /// Always true.
    deleted: bool,
    sub_account_id: i64,
}

/// DeleteSubAccount: its API keys are deleted and it is marked deleted.
///
/// Its engine account and whatever it holds are left as they are: identity cannot see
/// balances yet. Move funds out first.
#[utoipa::path(
    delete,
    path = "/api/v1/sub-account/{id}",
    tag = "sub-accounts",
    params(("id" = i64, Path, description = "The `subAccountId`")),
    request_body(content = Option<TwoFactorOnly>, description = "Optional; `2faCode` when two-factor is on"),
    responses(
        (status = 200, description = "Deleted", body = SubAccountDeleted),
        (status = 404, description = "1603: no such sub-account (another user's included)", body = ErrorBody),
    )
)]
async fn delete_sub_account(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<TwoFactorOnly>,
) -> ApiResult<Json<SubAccountDeleted>> {
    let sub_id = path_id(path)?;
    id.delete_sub_account(user.user_id, sub_id, body.code.as_deref(), &meta).await?;
    Ok(Json(SubAccountDeleted { deleted: true, sub_account_id: sub_id }))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ModifySubAccountBody {
    /// The catalog's name for `permissions`; one of the two is required.
    new_permissions: Option<Vec<String>>,
    permissions: Option<Vec<String>>,
    /// Required when two-factor is on.
    #[serde(rename = "2faCode")]
    code: Option<String>,
}

/// ModifySubAccountPermissions: a new ceiling for its API keys, which are narrowed to it at
/// once.
#[utoipa::path(
    put,
    path = "/api/v1/sub-account/{id}/permissions",
    tag = "sub-accounts",
    params(("id" = i64, Path, description = "The `subAccountId`")),
    request_body = ModifySubAccountBody,
    responses(
        (status = 200, description = "The sub-account as it is now", body = SubAccountView),
        (status = 404, description = "1603: no such sub-account (another user's included)", body = ErrorBody),
    )
)]
async fn modify_sub_account(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<ModifySubAccountBody>,
) -> ApiResult<Json<SubAccountView>> {
    let sub_id = path_id(path)?;
    let permissions = body
        .new_permissions
        .or(body.permissions)
        .ok_or_else(|| ApiError::with_msg(ErrorCode::InvalidField, "missing field `newPermissions`"))?;
    let view =
        id.modify_sub_account_permissions(user.user_id, sub_id, &permissions, body.code.as_deref(), &meta).await?;
    Ok(Json(view))
}

/// The caller's sub-accounts.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubAccountList {
    sub_accounts: Vec<SubAccountView>,
}

/// QuerySubAccounts: the caller's live sub-accounts.
#[utoipa::path(
    get,
    path = "/api/v1/sub-accounts",
    tag = "sub-accounts",
    responses((status = 200, description = "The sub-accounts", body = SubAccountList))
)]
async fn query_sub_accounts(State(id): Shared, user: UserPrincipal) -> ApiResult<Json<SubAccountList>> {
    Ok(Json(SubAccountList { sub_accounts: id.sub_accounts(user.user_id).await? }))
}

/// A sub-account's balances.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SubAccountAssets {
    sub_account_id: i64,
    /// Every asset it holds or has held, by ascending asset id; amounts in whole units.
    balances: Vec<AssetBalance>,
}

/// QuerySubAccountAssets: the sub-account's balances per asset, available and frozen.
///
/// Read from the node's read model of the engine's events (a few microseconds behind the
/// engine). Identity served on its own, without that read model, answers 501 (1604).
#[utoipa::path(
    get,
    path = "/api/v1/sub-account/{id}/assets",
    tag = "sub-accounts",
    params(("id" = i64, Path, description = "The `subAccountId`")),
    responses(
        (status = 200, description = "The balances", body = SubAccountAssets),
        (status = 404, description = "1603: no such sub-account (another user's included)", body = ErrorBody),
        (status = 501, description = "1604: this server has no balances read model", body = ErrorBody),
    )
)]
async fn sub_account_assets(
    State(id): Shared,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<SubAccountAssets>> {
    let sub_id = path_id(path)?;
    let balances = id.sub_account_assets(user.user_id, sub_id).await?;
    Ok(Json(SubAccountAssets { sub_account_id: sub_id, balances }))
}

/// CreateSubAccountAPIKey (not in the catalog): a key the sub-account trades with, within
/// its permissions. The secret is shown once.
///
/// The parent's two-factor guards it: a `2faCode` when on, and `withdraw` needs it on and
/// an IP whitelist.
#[utoipa::path(
    post,
    path = "/api/v1/sub-account/{id}/api-key",
    tag = "sub-accounts",
    params(("id" = i64, Path, description = "The `subAccountId`")),
    request_body = CreateKeyBody,
    responses(
        (status = 201, description = "The key, with its secret (shown only here)", body = CreatedApiKey),
        (status = 404, description = "1603: no such sub-account (another user's included)", body = ErrorBody),
        (status = 409, description = "1301: too many API keys", body = ErrorBody),
    )
)]
async fn create_sub_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<CreateKeyBody>,
) -> ApiResult<(StatusCode, Json<CreatedApiKey>)> {
    let sub_id = path_id(path)?;
    let new = NewApiKey {
        label: body.label,
        permissions: body.permissions,
        ip_whitelist: body.ip_whitelist,
        two_factor_code: body.code,
    };
    Ok(created(id.create_sub_account_api_key(user.user_id, sub_id, &new, &meta).await?))
}

/// QuerySubAccountAPIKeys (not in the catalog): the sub-account's keys, never a secret.
#[utoipa::path(
    get,
    path = "/api/v1/sub-account/{id}/api-keys",
    tag = "sub-accounts",
    params(("id" = i64, Path, description = "The `subAccountId`")),
    responses(
        (status = 200, description = "The keys", body = ApiKeyList),
        (status = 404, description = "1603: no such sub-account (another user's included)", body = ErrorBody),
    )
)]
async fn query_sub_keys(
    State(id): Shared,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<ApiKeyList>> {
    let sub_id = path_id(path)?;
    Ok(Json(ApiKeyList { api_keys: id.sub_account_api_keys(user.user_id, sub_id).await? }))
}

/// DeleteSubAccountAPIKey (not in the catalog): the key stops working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/sub-account/{id}/api-key/{keyId}",
    tag = "sub-accounts",
    params(
        ("id" = i64, Path, description = "The `subAccountId`"),
        ("keyId" = i64, Path, description = "The key's `id`"),
    ),
    request_body(content = Option<TwoFactorOnly>, description = "Optional; `2faCode` when two-factor is on"),
    responses(
        (status = 200, description = "Deleted", body = KeyDeleted),
        (status = 404, description = "1603: no such sub-account; 1300: no such key of it", body = ErrorBody),
    )
)]
async fn delete_sub_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<(String, String)>, PathRejection>,
    JsonBody(body): JsonBody<TwoFactorOnly>,
) -> ApiResult<Json<KeyDeleted>> {
    let (sub_id, key_id) = path_ids(path)?;
    id.delete_sub_account_api_key(user.user_id, sub_id, key_id, body.code.as_deref(), &meta).await?;
    Ok(Json(KeyDeleted { deleted: true, id: key_id }))
}

// ---------------------------------------------------------------------------------------
// Staff.

#[derive(Deserialize, ToSchema)]
struct StaffLoginBody {
    email: String,
    password: String,
}

/// StaffLogin: a staff session (no second factor yet).
#[utoipa::path(
    post,
    path = "/api/admin/auth/login",
    tag = "staff",
    request_body = StaffLoginBody,
    responses(
        (status = 200, description = "Tokens for a staff session", body = TokenPair),
        (status = 401, description = "1201: wrong email or password", body = ErrorBody),
        (status = 423, description = "1202: the account is locked", body = ErrorBody),
    )
)]
async fn staff_login(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<StaffLoginBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(id.staff_login(&body.email, &body.password, &meta).await?))
}

/// StaffLogout: ends this staff session.
#[utoipa::path(
    post,
    path = "/api/admin/auth/logout",
    tag = "staff",
    responses((status = 200, description = "The session has ended", body = LoggedOut))
)]
async fn staff_logout(State(id): Shared, meta: RequestMeta, staff: StaffPrincipal) -> ApiResult<Json<LoggedOut>> {
    id.logout(SubjectKind::Staff, staff.staff_id, &staff.session_id, &meta).await?;
    Ok(Json(LoggedOut { logged_out: true }))
}

/// Who a staff token speaks for.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StaffIdentity {
    staff_id: i64,
    role: StaffRole,
}

/// StaffWhoAmI: the caller's staff id and role.
#[utoipa::path(
    get,
    path = "/api/admin/auth/me",
    tag = "staff",
    responses((status = 200, description = "The caller", body = StaffIdentity))
)]
async fn staff_me(staff: StaffPrincipal) -> Json<StaffIdentity> {
    Json(StaffIdentity { staff_id: staff.staff_id, role: staff.role })
}

#[derive(Deserialize, ToSchema)]
struct CreateStaffBody {
    email: String,
    /// Admin, Operator, ComplianceOfficer, RiskManager, CustomerSupport or MarketMaker (any
    /// case; `risk-manager` works).
    #[schema(example = "RiskManager")]
    role: String,
    /// Without it, a 20-character password is generated and returned once.
    password: Option<String>,
}

/// CreateStaff: a staff account in a role (Admin only).
#[utoipa::path(
    post,
    path = "/api/admin/staff",
    tag = "staff",
    request_body = CreateStaffBody,
    responses(
        (status = 201, description = "Created; `generatedPassword` only if none was given", body = StaffCreated),
        (status = 409, description = "1400: the email is already a staff account", body = ErrorBody),
    )
)]
async fn create_staff(
    State(id): Shared,
    JsonBody(body): JsonBody<CreateStaffBody>,
) -> ApiResult<(StatusCode, Json<StaffCreated>)> {
    let role = StaffRole::parse(&body.role).ok_or_else(|| {
        ApiError::with_msg(
            ErrorCode::InvalidField,
            "role: Admin, Operator, ComplianceOfficer, RiskManager, CustomerSupport or MarketMaker",
        )
    })?;
    Ok(created(id.create_staff(&body.email, role, body.password.as_deref()).await?))
}

// ---------------------------------------------------------------------------------------
// Documentation.

/// This API's OpenAPI 3.1 document, generated from the code.
#[utoipa::path(
    get,
    path = "/api/docs/openapi.json",
    tag = "docs",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object))
)]
async fn openapi_json(State(id): Shared, served: Option<Extension<ServedDocument>>) -> ApiResult<Response> {
    let json = match served {
        Some(Extension(document)) => document.json(),
        None => crate::openapi::document_json(&id)?,
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// The API documentation as a page: a self-contained HTML page (no external scripts or
/// fonts) that renders the OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/docs",
    tag = "docs",
    responses((status = 200, description = "An HTML page", content_type = "text/html", body = String))
)]
async fn docs_page() -> Response {
    crate::openapi::docs_page()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_rate_refusal_says_when_to_retry() {
        let response = too_many_requests(Duration::from_millis(1_200));
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        assert_eq!(too_many_requests(Duration::from_millis(10)).headers()[header::RETRY_AFTER], "1");
    }
}
