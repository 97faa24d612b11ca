//! The stable error codes every identity (and authorization) failure is reported with, and
//! the HTTP body they travel in: `{"code": <int>, "msg": "..."}`. Numbers never change
//! meaning; new failures get new numbers. The table is in docs/IDENTITY.md.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($($name:ident = $number:literal, $status:ident, $msg:literal;)*) => {
        /// A failure's stable number, HTTP status and default message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($name,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name,)*];

            pub fn number(self) -> u32 {
                match self {
                    $(ErrorCode::$name => $number,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(ErrorCode::$name => StatusCode::$status,)*
                }
            }

            pub fn default_msg(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => $msg,)*
                }
            }
        }
    };
}

error_codes! {
    // Requests: 1000–1099.
    MalformedJson = 1000, BAD_REQUEST, "the body is not valid JSON";
    BodyTooLarge = 1001, PAYLOAD_TOO_LARGE, "the body is too large";
    InvalidField = 1002, BAD_REQUEST, "a field is missing or invalid";
    InvalidEmail = 1003, BAD_REQUEST, "not a valid email address";
    WeakPassword = 1004, BAD_REQUEST, "the password does not meet the policy";
    UnsupportedMediaType = 1005, UNSUPPORTED_MEDIA_TYPE, "send the body as application/json";
    NotFound = 1006, NOT_FOUND, "no such endpoint";
    MethodNotAllowed = 1007, METHOD_NOT_ALLOWED, "method not allowed on this endpoint";
    InvalidPhone = 1008, BAD_REQUEST, "not a valid phone number: use +<country><number>, 8 to 15 digits";
    // Authentication and authorization: 1100–1199.
    Unauthenticated = 1100, UNAUTHORIZED, "authentication required";
    InvalidToken = 1101, UNAUTHORIZED, "the access token is invalid or expired";
    SessionRevoked = 1102, UNAUTHORIZED, "the session has ended; log in again";
    Forbidden = 1103, FORBIDDEN, "not allowed for this caller";
    InvalidApiKey = 1104, UNAUTHORIZED, "unknown API key";
    InvalidSignature = 1105, UNAUTHORIZED, "the signature does not match";
    StaleTimestamp = 1106, BAD_REQUEST, "timestamp outside the recvWindow";
    ReplayedRequest = 1107, UNAUTHORIZED, "this signed request was already used";
    IpNotAllowed = 1108, FORBIDDEN, "this API key is not allowed from this IP address";
    KeyPermissionDenied = 1109, FORBIDDEN, "this API key lacks the permission";
    ReplayCacheFull = 1110, SERVICE_UNAVAILABLE, "too many signed requests in flight; retry shortly";
    // Accounts, logins and codes: 1200–1299.
    EmailTaken = 1200, CONFLICT, "this email is already registered";
    InvalidCredentials = 1201, UNAUTHORIZED, "wrong email or password";
    AccountLocked = 1202, LOCKED, "too many failed attempts: the account is locked for a while";
    EmailNotVerified = 1203, FORBIDDEN, "verify the email address first";
    AccountDisabled = 1204, FORBIDDEN, "this account is disabled";
    InvalidTwoFactorCode = 1205, UNAUTHORIZED, "the two-factor code is wrong";
    ChallengeInvalid = 1206, UNAUTHORIZED, "the two-factor login challenge is unknown or expired";
    TwoFactorAlreadyEnabled = 1207, CONFLICT, "two-factor authentication is already on";
    TwoFactorNotEnabled = 1208, CONFLICT, "two-factor authentication is off";
    TwoFactorRequired = 1209, FORBIDDEN, "a two-factor code is required";
    InvalidCode = 1210, BAD_REQUEST, "the verification code is wrong, used or expired";
    CodeAttemptsExceeded = 1211, TOO_MANY_REQUESTS, "too many wrong codes: request a new one";
    CodeCooldown = 1212, TOO_MANY_REQUESTS, "a code was sent moments ago; wait before asking again";
    InvalidRefreshToken = 1213, UNAUTHORIZED, "the refresh token is invalid or expired";
    RefreshTokenReused = 1214, UNAUTHORIZED, "this refresh token was already used: the session is revoked";
    PhoneTaken = 1215, CONFLICT, "this phone number is bound to another account";
    // API keys: 1300–1399.
    ApiKeyNotFound = 1300, NOT_FOUND, "no such API key";
    TooManyApiKeys = 1301, CONFLICT, "too many API keys";
    InvalidPermission = 1302, BAD_REQUEST, "permissions must be some of read, trade, withdraw, transfer";
    WithdrawNeedsSafeguards = 1303, BAD_REQUEST, "the withdraw permission needs two-factor on and an IP whitelist";
    // Staff: 1400–1499.
    StaffEmailTaken = 1400, CONFLICT, "this email is already a staff account";
    // Server: 1500–1599.
    Internal = 1500, INTERNAL_SERVER_ERROR, "internal error";
    EngineUnavailable = 1501, SERVICE_UNAVAILABLE, "the account could not be registered with the engine; retry later";
    DeliveryFailed = 1502, SERVICE_UNAVAILABLE, "the message could not be delivered; retry later";
    EngineCapacity = 1503, SERVICE_UNAVAILABLE, "no engine account is free";
    ChannelUnavailable = 1504, SERVICE_UNAVAILABLE, "this server cannot send text messages: no SMS gateway is configured";
    // Sub-accounts: 1600–1699.
    SubAccountEmailTaken = 1600, CONFLICT, "you already have a sub-account with this email";
    TooManySubAccounts = 1601, CONFLICT, "too many sub-accounts";
    SubAccountPermissionExceeded = 1602, BAD_REQUEST, "an API key of a sub-account cannot hold a permission the sub-account lacks";
    SubAccountNotFound = 1603, NOT_FOUND, "no such sub-account";
    BalancesUnavailable = 1604, NOT_IMPLEMENTED, "balances are not available: this server runs identity without the trading read model";
}

/// An error as the API reports it: a stable code and a message safe to show the caller.
/// It never carries a secret, token, password or code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub msg: String,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> ApiError {
        ApiError { code, msg: code.default_msg().to_string() }
    }

    pub fn with_msg(code: ErrorCode, msg: impl Into<String>) -> ApiError {
        ApiError { code, msg: msg.into() }
    }

    /// An internal failure: `detail` goes to the log (it must hold no secret), the caller
    /// sees only code 1500.
    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!("identity internal error: {detail}");
        ApiError::new(ErrorCode::Internal)
    }
}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> ApiError {
        ApiError::new(code)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        ApiError::internal(format_args!("database: {error}"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.msg, self.code.number())
    }
}

impl std::error::Error for ApiError {}

/// The body of every error answer: `{"code": <int>, "msg": "..."}`. The HTTP status goes
/// with the code (see the error code table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable error code; its meaning never changes.
    #[schema(example = 1002)]
    pub code: u32,
    /// What went wrong, safe to show: never a secret, token, password or code.
    #[schema(example = "a field is missing or invalid")]
    pub msg: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code.number(), msg: self.msg };
        (self.code.status(), Json(body)).into_response()
    }
}

/// Every error code as a Markdown table (`| code | status | meaning |`), for the generated
/// API documentation.
pub fn code_table_markdown() -> String {
    let mut table = String::from("| code | HTTP status | meaning |\n| --- | --- | --- |\n");
    for code in ErrorCode::ALL {
        let status = code.status();
        let reason = status.canonical_reason().unwrap_or("");
        table += &format!("| {} | {} {reason} | {} |\n", code.number(), status.as_u16(), code.default_msg());
    }
    table
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_statuses_are_errors() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.number()), "{code:?} reuses {}", code.number());
            assert!(code.status().is_client_error() || code.status().is_server_error(), "{code:?}");
        }
    }
}
