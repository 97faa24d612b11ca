//! The trading API's error answers: `{"code": <int>, "msg": "..."}` with a 4xx or 5xx
//! status, like identity's (whose codes, 1000–1699, this API also answers with for what the
//! shared layers refuse: authentication, JSON bodies, unknown routes).
//!
//! - **2000–2099**: the request itself (amounts, symbols, parameters, order ids).
//! - **2500–2599**: the engine could not be reached or did not answer.
//! - **3000–3999**: the engine's verdict: code `3000 + r` is the engine's reject reason `r`
//!   (`RejectReason::code()`), with its description as the message. Engine reasons are
//!   numbered below 1000, so the range holds every one there is and will be.
//!
//! Numbers never change meaning; new failures get new numbers.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cex_engine::RejectReason;
use cex_identity::error::ErrorBody;
use cex_identity::ApiError;

/// Where the engine's reject codes start: API code = this + `RejectReason::code()`.
pub const ENGINE_REJECT_BASE: u32 = 3000;

macro_rules! trading_codes {
    ($($name:ident = $number:literal, $status:ident, $msg:literal;)*) => {
        /// A trading failure's stable number, HTTP status and default message.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TradingCode {
            $($name,)*
        }

        impl TradingCode {
            pub const ALL: &'static [TradingCode] = &[$(TradingCode::$name,)*];

            pub fn number(self) -> u32 {
                match self {
                    $(TradingCode::$name => $number,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(TradingCode::$name => StatusCode::$status,)*
                }
            }

            pub fn default_msg(self) -> &'static str {
                match self {
                    $(TradingCode::$name => $msg,)*
                }
            }
        }
    };
}

trading_codes! {
    // The request: 2000–2099.
    MalformedDecimal = 2000, BAD_REQUEST, "not a decimal number: send amounts as strings such as \"0.25\"";
    PriceOffTick = 2001, BAD_REQUEST, "the price is not a multiple of the symbol's tick size";
    QuantityOffLot = 2002, BAD_REQUEST, "the quantity is not a multiple of the symbol's lot size";
    NotPositive = 2003, BAD_REQUEST, "the amount must be above zero";
    UnknownSymbol = 2004, BAD_REQUEST, "unknown symbol";
    UnknownAsset = 2005, BAD_REQUEST, "unknown asset";
    InvalidParameter = 2006, BAD_REQUEST, "a parameter is missing or invalid";
    AmountTooLarge = 2007, BAD_REQUEST, "the amount is too large";
    OrderNotFound = 2008, NOT_FOUND, "no such order";
    UserNotFound = 2009, NOT_FOUND, "no such user";
    TooPrecise = 2010, BAD_REQUEST, "the amount has more decimals than the asset has";
    ExportNotFound = 2011, NOT_FOUND, "no such export of yours";
    ExportNotReady = 2012, CONFLICT, "the export is not done: download it once its status is done";
    TooManyExports = 2013, CONFLICT, "too many exports pending or running: wait for one to finish";
    // Reaching the engine: 2500–2599.
    EngineBusy = 2500, SERVICE_UNAVAILABLE, "the engine is busy: retry shortly";
    EngineTimeout = 2501, GATEWAY_TIMEOUT, "no answer from the engine in time: the command may still be applied, so check before repeating it";
    EngineClosed = 2502, SERVICE_UNAVAILABLE, "the exchange is shutting down";
    EngineInvalid = 2503, BAD_REQUEST, "the command cannot be sent to the engine";
    Internal = 2504, INTERNAL_SERVER_ERROR, "internal error";
    NotReady = 2505, SERVICE_UNAVAILABLE, "market data is still being rebuilt from the journal: retry shortly";
    HistoryBehind = 2506, SERVICE_UNAVAILABLE, "the history store is behind the engine: retry shortly";
}

/// An error as the trading API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradingError {
    pub status: StatusCode,
    pub code: u32,
    pub msg: String,
}

pub type TradingResult<T> = Result<T, TradingError>;

impl TradingError {
    pub fn new(code: TradingCode) -> TradingError {
        TradingError::with_msg(code, code.default_msg())
    }

    pub fn with_msg(code: TradingCode, msg: impl Into<String>) -> TradingError {
        TradingError { status: code.status(), code: code.number(), msg: msg.into() }
    }

    /// A parameter the API cannot use: 2006 with what is wrong.
    pub fn invalid(msg: impl Into<String>) -> TradingError {
        TradingError::with_msg(TradingCode::InvalidParameter, msg)
    }

    /// The engine refused the command.
    pub fn rejected(reason: RejectReason) -> TradingError {
        TradingError {
            status: reject_status(reason),
            code: ENGINE_REJECT_BASE + u32::from(reason.code()),
            msg: reason.description().to_string(),
        }
    }

    /// An internal failure: `detail` goes to the log (it must hold no secret), the caller
    /// sees only 2504.
    pub fn internal(detail: impl std::fmt::Display) -> TradingError {
        tracing::error!("trading internal error: {detail}");
        TradingError::new(TradingCode::Internal)
    }
}

/// The HTTP status of an engine reject: 404 for an order or account the engine does not
/// know, 403 for an account barred from trading, 400 for every other broken rule.
pub fn reject_status(reason: RejectReason) -> StatusCode {
    match reason {
        RejectReason::UnknownOrder | RejectReason::UnknownAccount => StatusCode::NOT_FOUND,
        RejectReason::AccountFrozen | RejectReason::TradingRestricted => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    }
}

impl From<ApiError> for TradingError {
    fn from(error: ApiError) -> TradingError {
        TradingError { status: error.code.status(), code: error.code.number(), msg: error.msg }
    }
}

impl From<TradingCode> for TradingError {
    fn from(code: TradingCode) -> TradingError {
        TradingError::new(code)
    }
}

impl From<sqlx::Error> for TradingError {
    fn from(error: sqlx::Error) -> TradingError {
        TradingError::internal(format_args!("database: {error}"))
    }
}

impl std::fmt::Display for TradingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.msg, self.code)
    }
}

impl std::error::Error for TradingError {}

impl IntoResponse for TradingError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { code: self.code, msg: self.msg })).into_response()
    }
}

/// One row of the error table: code, HTTP status, meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub code: u32,
    pub status: StatusCode,
    pub msg: &'static str,
}

/// Every code this API adds to identity's: its own, then one per engine reject reason.
pub fn code_table() -> Vec<CodeRow> {
    let own = TradingCode::ALL.iter().map(|code| CodeRow {
        code: code.number(),
        status: code.status(),
        msg: code.default_msg(),
    });
    let rejects = RejectReason::ALL.iter().map(|reason| CodeRow {
        code: ENGINE_REJECT_BASE + u32::from(reason.code()),
        status: reject_status(*reason),
        msg: reason.description(),
    });
    own.chain(rejects).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_errors_and_apart_from_identity() {
        let identity: HashSet<u32> = cex_identity::ErrorCode::ALL.iter().map(|code| code.number()).collect();
        let mut seen = HashSet::new();
        for row in code_table() {
            assert!(seen.insert(row.code), "{} twice", row.code);
            assert!(!identity.contains(&row.code), "{} is identity's", row.code);
            assert!(row.status.is_client_error() || row.status.is_server_error(), "{}", row.code);
        }
        assert_eq!(seen.len(), TradingCode::ALL.len() + RejectReason::ALL.len());
    }

    #[test]
    fn engine_rejects_keep_their_number_and_description() {
        for reason in RejectReason::ALL {
            assert!(reason.code() < 1000, "{reason:?} would leave the 3000 range");
            let error = TradingError::rejected(*reason);
            assert_eq!(error.code, 3000 + u32::from(reason.code()));
            assert_eq!(error.msg, reason.description());
            assert!(error.status.is_client_error(), "the engine's verdict is the caller's to fix: {reason:?}");
        }
        assert_eq!(TradingError::rejected(RejectReason::InsufficientFunds).code, 3038);
        assert_eq!(TradingError::rejected(RejectReason::UnknownOrder).status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn identity_errors_keep_their_code_and_status() {
        let error = TradingError::from(ApiError::new(cex_identity::ErrorCode::InvalidField));
        assert_eq!((error.status, error.code), (StatusCode::BAD_REQUEST, 1002));
    }
}
