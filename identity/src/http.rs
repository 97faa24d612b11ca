//! The user-domain endpoints at the catalog's paths, plus staff login and staff creation,
//! each declared with its policy. JSON in and out; every failure is `{code, msg}` with a
//! 4xx or 5xx status (see [`crate::error`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::authz::{Policy, RouteInfo, SecureRouter, StaffPrincipal, UserAuth, UserPrincipal, ANY_STAFF};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::service::{Identity, LoginOutcome, NewApiKey, RequestMeta, StaffRole, TokenPair};
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
        .route("StaffLogin", M::POST, "/api/admin/auth/login", Public, staff_login)
        .route("StaffLogout", M::POST, "/api/admin/auth/logout", Policy::Staff(ANY_STAFF), staff_logout)
        .route("StaffWhoAmI", M::GET, "/api/admin/auth/me", Policy::Staff(ANY_STAFF), staff_me)
        .route("CreateStaff", M::POST, "/api/admin/staff", Policy::Staff(&[StaffRole::Admin]), create_staff)
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

fn created(body: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

fn path_id(path: Result<Path<String>, PathRejection>) -> ApiResult<i64> {
    let Path(text) = path.map_err(|_| ApiError::with_msg(ErrorCode::InvalidField, "bad path parameter"))?;
    text.parse().map_err(|_| ApiError::with_msg(ErrorCode::InvalidField, "id must be a number"))
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterBody {
    email: String,
    password: String,
    invite_code: Option<String>,
}

async fn register(State(id): Shared, meta: RequestMeta, JsonBody(body): JsonBody<RegisterBody>) -> ApiResult<Response> {
    let user = id.register(&body.email, &body.password, body.invite_code.as_deref(), &meta).await?;
    Ok(created(json!({ "userId": user.id, "email": user.email, "emailVerified": false })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyEmailBody {
    email: String,
    verification_code: Option<String>,
}

async fn verify_email(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<VerifyEmailBody>,
) -> ApiResult<Json<Value>> {
    match either(&body.verification_code, &None) {
        Some(code) => {
            id.verify_email(&body.email, code, &meta).await?;
            Ok(Json(json!({ "verified": true })))
        }
        None => {
            id.request_email_verification(&body.email).await?;
            Ok(Json(json!({ "sent": true })))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginBody {
    email: String,
    password: String,
    device_info: Option<Value>,
}

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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Verify2faBody {
    session_id: String,
    code: String,
}

async fn verify_2fa(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<Verify2faBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(id.verify_two_factor_login(&body.session_id, &body.code, &meta).await?))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RefreshBody {
    refresh_token: String,
}

async fn refresh(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<RefreshBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(id.refresh(&body.refresh_token, &meta).await?))
}

async fn logout(State(id): Shared, meta: RequestMeta, user: UserPrincipal) -> ApiResult<Json<Value>> {
    id.logout(SubjectKind::User, user.user_id, session_of(&user)?, &meta).await?;
    Ok(Json(json!({ "loggedOut": true })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetBody {
    email: String,
    verification_code: Option<String>,
    new_password: Option<String>,
}

async fn reset_password(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<ResetBody>,
) -> ApiResult<Json<Value>> {
    match (either(&body.verification_code, &None), body.new_password.as_deref()) {
        (None, None) => {
            id.request_password_reset(&body.email).await?;
            Ok(Json(json!({ "sent": true })))
        }
        (Some(code), Some(new_password)) => {
            id.reset_password(&body.email, code, new_password, &meta).await?;
            Ok(Json(json!({ "reset": true })))
        }
        _ => Err(ApiError::with_msg(ErrorCode::InvalidField, "send verificationCode and newPassword together")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePasswordBody {
    old_password: String,
    new_password: String,
}

async fn change_password(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<ChangePasswordBody>,
) -> ApiResult<Json<Value>> {
    id.change_password(user.user_id, &body.old_password, &body.new_password, &meta).await?;
    Ok(Json(json!({ "changed": true, "sessionsEnded": true })))
}

#[derive(Deserialize)]
struct Enable2faBody {
    code: Option<String>,
}

async fn enable_2fa(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<Enable2faBody>,
) -> ApiResult<Json<Value>> {
    match either(&body.code, &None) {
        None => {
            let setup = id.begin_two_factor(user.user_id).await?;
            Ok(Json(json!({ "enabled": false, "secret": setup.secret, "otpauthUri": setup.otpauth_uri })))
        }
        Some(code) => {
            let recovery_codes = id.confirm_two_factor(user.user_id, code, &meta).await?;
            Ok(Json(json!({ "enabled": true, "recoveryCodes": recovery_codes })))
        }
    }
}

#[derive(Deserialize)]
struct Disable2faBody {
    password: String,
    #[serde(rename = "2faCode")]
    code: String,
}

async fn disable_2fa(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<Disable2faBody>,
) -> ApiResult<Json<Value>> {
    id.disable_two_factor(user.user_id, &body.password, &body.code, &meta).await?;
    Ok(Json(json!({ "enabled": false })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindPhoneBody {
    phone_number: String,
    verification_code: Option<String>,
}

async fn bind_phone(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<BindPhoneBody>,
) -> ApiResult<Json<Value>> {
    match either(&body.verification_code, &None) {
        None => {
            id.request_phone_binding(user.user_id, &body.phone_number).await?;
            Ok(Json(json!({ "sent": true })))
        }
        Some(code) => {
            id.bind_phone(user.user_id, &body.phone_number, code, &meta).await?;
            Ok(Json(json!({ "bound": true })))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindEmailBody {
    email: String,
    verification_code: Option<String>,
}

async fn bind_email(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<BindEmailBody>,
) -> ApiResult<Json<Value>> {
    match either(&body.verification_code, &None) {
        None => {
            id.request_email_binding(user.user_id, &body.email).await?;
            Ok(Json(json!({ "sent": true })))
        }
        Some(code) => {
            id.bind_email(user.user_id, &body.email, code, &meta).await?;
            Ok(Json(json!({ "bound": true })))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateKeyBody {
    label: String,
    permissions: Vec<String>,
    ip_whitelist: Option<Vec<String>>,
    #[serde(rename = "2faCode")]
    code: Option<String>,
}

async fn create_api_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    JsonBody(body): JsonBody<CreateKeyBody>,
) -> ApiResult<Response> {
    let new = NewApiKey {
        label: body.label,
        permissions: body.permissions,
        ip_whitelist: body.ip_whitelist,
        two_factor_code: body.code,
    };
    Ok(created(id.create_api_key(user.user_id, &new, &meta).await?))
}

#[derive(Deserialize, Default)]
struct TwoFactorOnly {
    #[serde(rename = "2faCode")]
    code: Option<String>,
}

async fn delete_api_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<TwoFactorOnly>,
) -> ApiResult<Json<Value>> {
    let key_id = path_id(path)?;
    id.delete_api_key(user.user_id, key_id, body.code.as_deref(), &meta).await?;
    Ok(Json(json!({ "deleted": true, "id": key_id })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ModifyKeyBody {
    permissions: Option<Vec<String>>,
    new_permissions: Option<Vec<String>>,
    ip_whitelist: Option<Vec<String>>,
    #[serde(rename = "2faCode")]
    code: Option<String>,
}

async fn modify_api_key(
    State(id): Shared,
    meta: RequestMeta,
    user: UserPrincipal,
    path: Result<Path<String>, PathRejection>,
    JsonBody(body): JsonBody<ModifyKeyBody>,
) -> ApiResult<Json<Value>> {
    let key_id = path_id(path)?;
    let permissions = body
        .new_permissions
        .or(body.permissions)
        .ok_or_else(|| ApiError::with_msg(ErrorCode::InvalidField, "missing field `newPermissions`"))?;
    let key = id
        .modify_api_key(user.user_id, key_id, &permissions, body.ip_whitelist.as_deref(), body.code.as_deref(), &meta)
        .await?;
    Ok(Json(json!(key)))
}

async fn query_api_keys(State(id): Shared, user: UserPrincipal) -> ApiResult<Json<Value>> {
    Ok(Json(json!({ "apiKeys": id.api_keys(user.user_id).await? })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RangeQuery {
    start_time: Option<i64>,
    end_time: Option<i64>,
    limit: Option<i64>,
}

fn range(query: Result<Query<RangeQuery>, QueryRejection>) -> ApiResult<RangeQuery> {
    query
        .map(|Query(range)| range)
        .map_err(|rejection| ApiError::with_msg(ErrorCode::InvalidField, rejection.body_text()))
}

async fn login_history(
    State(id): Shared,
    user: UserPrincipal,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let range = range(query)?;
    let logins = id.login_history(user.user_id, range.start_time, range.end_time, range.limit).await?;
    Ok(Json(json!({ "logins": logins })))
}

async fn security_log(
    State(id): Shared,
    user: UserPrincipal,
    query: Result<Query<RangeQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let range = range(query)?;
    let events = id.security_log(user.user_id, range.start_time, range.end_time, range.limit).await?;
    Ok(Json(json!({ "events": events })))
}

#[derive(Deserialize)]
struct StaffLoginBody {
    email: String,
    password: String,
}

async fn staff_login(
    State(id): Shared,
    meta: RequestMeta,
    JsonBody(body): JsonBody<StaffLoginBody>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(id.staff_login(&body.email, &body.password, &meta).await?))
}

async fn staff_logout(State(id): Shared, meta: RequestMeta, staff: StaffPrincipal) -> ApiResult<Json<Value>> {
    id.logout(SubjectKind::Staff, staff.staff_id, &staff.session_id, &meta).await?;
    Ok(Json(json!({ "loggedOut": true })))
}

async fn staff_me(staff: StaffPrincipal) -> Json<Value> {
    Json(json!({ "staffId": staff.staff_id, "role": staff.role }))
}

#[derive(Deserialize)]
struct CreateStaffBody {
    email: String,
    role: String,
    password: Option<String>,
}

async fn create_staff(State(id): Shared, JsonBody(body): JsonBody<CreateStaffBody>) -> ApiResult<Response> {
    let role = StaffRole::parse(&body.role).ok_or_else(|| {
        ApiError::with_msg(
            ErrorCode::InvalidField,
            "role: Admin, Operator, ComplianceOfficer, RiskManager, CustomerSupport or MarketMaker",
        )
    })?;
    Ok(created(id.create_staff(&body.email, role, body.password.as_deref()).await?))
}
