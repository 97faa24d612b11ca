//! Staff balance adjustments: `POST /api/admin/accounts/{id}/adjust`, Admin role only. It is
//! how staff fund (or debit) an account until the wallet sidecar exists.
//!
//! Every request is written to the `balance_adjustments` table (in identity's database,
//! migration versions 2000–2999 of the shared `_sqlx_migrations`) before the engine sees
//! it, with the staff member, the user, the amount, the reason and the caller's IP, and the
//! row is completed with the engine's verdict. The engine's `AdjustBalance` reference is
//! `2^56 + the row's id`: unique for ever (the engine refuses a repeated reference), and
//! apart from the references other producers use.

use axum::extract::State;
use axum::Json;
use cex_engine::{AdjustBalance, Command, EventBody};
use cex_identity::authz::StaffPrincipal;
use cex_identity::error::ErrorBody;
use cex_identity::http::JsonBody;
use cex_identity::store::{EmbeddedMigration, Store};
use cex_identity::RequestMeta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{TradingCode, TradingError, TradingResult};
use crate::extract::IdPath;
use crate::markets;
use crate::{EntryError, Shared, Trading};

/// Where staff adjustments' engine references start.
pub const ADJUSTMENT_REF_BASE: u64 = 1 << 56;
/// The longest reason kept, in characters.
const MAX_REASON_CHARS: usize = 500;

const MIGRATIONS: &[EmbeddedMigration] = &[(
    2001,
    "balance adjustments",
    include_str!("../migrations/sqlite/0001_balance_adjustments.sql"),
    include_str!("../migrations/postgres/0001_balance_adjustments.sql"),
)];

/// Creates the trading tables in identity's database if they are missing. Identity's own
/// migrations (1000–1999) are left to identity.
pub async fn migrate(store: &Store) -> TradingResult<()> {
    store
        .run_migrations(MIGRATIONS)
        .await
        .map_err(|error| TradingError::internal(format_args!("trading migrations: {error}")))
}

#[derive(Debug, Deserialize, ToSchema)]
pub(crate) struct AdjustBody {
    /// The asset's name.
    #[schema(example = "USDT")]
    asset: String,
    /// A decimal string in whole units: positive credits (a deposit), negative debits (a
    /// withdrawal, refused if the available balance is short). At most the asset's
    /// decimals; not zero.
    #[schema(example = "10000")]
    amount: String,
    /// Why: kept in the audit table. 1 to 500 characters, not blank.
    #[schema(example = "funding the market-maker account, ticket OPS-1234")]
    reason: String,
}

/// An applied adjustment and the balance it left.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Adjustment {
    /// The audit row's id.
    adjustment_id: i64,
    user_id: i64,
    asset: String,
    amount: String,
    /// The account's balance of the asset after it.
    available: String,
    frozen: String,
}

/// How an adjustment's audit row ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Applied,
    Rejected(u32),
    /// Refused by the pipeline before the engine (busy, shutting down).
    NotSent,
    /// No answer in time: it may still be applied.
    Unknown,
}

impl Outcome {
    fn status(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Rejected(_) => "rejected",
            Outcome::NotSent => "not_sent",
            Outcome::Unknown => "unknown",
        }
    }
}

/// AdjustBalance (the catalog's staff-only funding): credits or debits one asset of a
/// user's account, with a reason, on the audit record.
#[utoipa::path(
    post,
    path = "/api/admin/accounts/{id}/adjust",
    tag = "admin",
    params(("id" = i64, Path, description = "The user's id (`userId`; a sub-account's `subAccountId`)")),
    request_body = AdjustBody,
    responses(
        (status = 200, description = "Applied", body = Adjustment),
        (status = 400, description = "2000 malformed amount; 2003 zero; 2005 unknown asset; 2006 no reason; 2010 too many decimals; 3038 a debit beyond the available balance; 3039 the balance would overflow", body = ErrorBody),
        (status = 404, description = "2009: no such user; 3032: the engine has no account for it yet", body = ErrorBody),
        (status = 504, description = "2501: no answer in time; the adjustment may still apply (its audit row says `unknown`)", body = ErrorBody),
    )
)]
pub(crate) async fn adjust(
    State(trading): Shared,
    meta: RequestMeta,
    staff: StaffPrincipal,
    IdPath(user_id): IdPath,
    JsonBody(body): JsonBody<AdjustBody>,
) -> TradingResult<Json<Adjustment>> {
    let ip = meta.ip.map(|ip| ip.to_string());
    let request = AdjustRequest {
        staff_id: staff.staff_id,
        user_id,
        asset: &body.asset,
        amount: &body.amount,
        reason: &body.reason,
        ip: ip.as_deref(),
    };
    Ok(Json(adjust_balance(&trading, &request).await?))
}

/// One adjustment as staff asked for it: the handler's, or one the node makes on a staff
/// member's behalf (`cex run --demo` funding its demo users).
#[derive(Debug, Clone, Copy)]
pub struct AdjustRequest<'a> {
    pub staff_id: i64,
    pub user_id: i64,
    pub asset: &'a str,
    /// A decimal string in whole units, as [`AdjustBody`]'s.
    pub amount: &'a str,
    pub reason: &'a str,
    pub ip: Option<&'a str>,
}

/// Checks and applies an adjustment, on the audit record like every other.
pub async fn adjust_balance(trading: &Trading, request: &AdjustRequest<'_>) -> TradingResult<Adjustment> {
    let reason = checked_reason(request.reason)?;
    let asset = trading.markets.asset(request.asset)?;
    let amount = markets::signed_amount(asset, "amount", request.amount)?;
    let store = trading.identity.store();
    let user_id = request.user_id;
    let user = store
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| TradingError::with_msg(TradingCode::UserNotFound, format!("no user {user_id}")))?;
    let row = AuditRow { staff_id: request.staff_id, user_id, account: user.engine_account, asset: &asset.name };
    let audit_id = insert_pending(store, &row, request.amount, amount, reason, request.ip, now_ms()).await?;
    let ref_id = ADJUSTMENT_REF_BASE + u64::try_from(audit_id).map_err(TradingError::internal)?;
    let command = AdjustBalance { account: user.engine_account, asset: asset.id, amount, ref_id };
    let result = trading.engine.submit(Command::AdjustBalance(command)).await;
    let outcome = outcome_of(&result);
    complete(store, audit_id, outcome, now_ms()).await?;
    tracing::info!(
        staff = request.staff_id,
        user = user_id,
        asset = %asset.name,
        amount = %request.amount,
        adjustment = audit_id,
        outcome = outcome.status(),
        "balance adjustment"
    );
    let answer = match (result, outcome) {
        (Err(error), _) => return Err(error.into()),
        (Ok(answer), Outcome::Applied) => answer,
        (Ok(answer), _) => return Err(rejection(&answer.events)),
    };
    trading.catch_up(answer.seq).await;
    let (available, frozen) = balance_after(&answer.events).unwrap_or_default();
    Ok(Adjustment {
        adjustment_id: audit_id,
        user_id,
        asset: asset.name.clone(),
        amount: trading.markets.format_asset(asset.id, amount),
        available: trading.markets.format_asset(asset.id, available),
        frozen: trading.markets.format_asset(asset.id, frozen),
    })
}

fn checked_reason(reason: &str) -> TradingResult<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(TradingError::invalid(format!("reason: 1 to {MAX_REASON_CHARS} characters, not blank")));
    }
    if reason.chars().any(char::is_control) {
        return Err(TradingError::invalid("reason: no control characters"));
    }
    Ok(reason)
}

fn outcome_of(result: &Result<crate::EngineAnswer, EntryError>) -> Outcome {
    match result {
        Ok(answer) => match answer.events.first().map(|event| event.body) {
            Some(EventBody::Rejected(rejected)) => Outcome::Rejected(TradingError::rejected(rejected.reason).code),
            _ => Outcome::Applied,
        },
        Err(EntryError::Timeout) => Outcome::Unknown,
        Err(EntryError::Busy | EntryError::Closed | EntryError::Invalid(_)) => Outcome::NotSent,
    }
}

fn rejection(events: &[cex_engine::Event]) -> TradingError {
    match events.first().map(|event| event.body) {
        Some(EventBody::Rejected(rejected)) => TradingError::rejected(rejected.reason),
        _ => TradingError::internal("an adjustment neither applied nor rejected"),
    }
}

/// (available, frozen) after the adjustment's balance change.
fn balance_after(events: &[cex_engine::Event]) -> Option<(i64, i64)> {
    events.iter().find_map(|event| match event.body {
        EventBody::BalanceChanged(change) => Some((change.available_after, change.frozen_after)),
        _ => None,
    })
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

/// Who asked to adjust whose account in what.
struct AuditRow<'a> {
    staff_id: i64,
    user_id: i64,
    account: u32,
    asset: &'a str,
}

async fn insert_pending(
    store: &Store,
    row: &AuditRow<'_>,
    amount_text: &str,
    amount_units: i64,
    reason: &str,
    ip: Option<&str>,
    now_ms: i64,
) -> TradingResult<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO balance_adjustments (staff_id, user_id, engine_account, asset, amount, amount_units, reason, ip, \
         status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9) RETURNING id",
    )
    .bind(row.staff_id)
    .bind(row.user_id)
    .bind(i64::from(row.account))
    .bind(row.asset)
    .bind(amount_text)
    .bind(amount_units)
    .bind(reason)
    .bind(ip)
    .bind(now_ms)
    .fetch_one(store.pool())
    .await?;
    Ok(id)
}

async fn complete(store: &Store, id: i64, outcome: Outcome, now_ms: i64) -> TradingResult<()> {
    let reject_code = match outcome {
        Outcome::Rejected(code) => Some(i64::from(code)),
        _ => None,
    };
    sqlx::query("UPDATE balance_adjustments SET status = $1, reject_code = $2, updated_at = $3 WHERE id = $4")
        .bind(outcome.status())
        .bind(reject_code)
        .bind(now_ms)
        .bind(id)
        .execute(store.pool())
        .await?;
    Ok(())
}

/// One audit row as stored, for staff tooling and the tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentRecord {
    pub id: i64,
    pub staff_id: i64,
    pub user_id: i64,
    pub asset: String,
    pub amount: String,
    pub reason: String,
    pub status: String,
    pub reject_code: Option<i64>,
}

/// The adjustments of a user's account, oldest first.
pub async fn adjustments_of(store: &Store, user_id: i64) -> TradingResult<Vec<AdjustmentRecord>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "SELECT id, staff_id, user_id, asset, amount, reason, status, reject_code FROM balance_adjustments \
         WHERE user_id = $1 ORDER BY id",
    )
    .bind(user_id)
    .fetch_all(store.pool())
    .await?;
    let record = |row: &sqlx::any::AnyRow| -> Result<AdjustmentRecord, sqlx::Error> {
        Ok(AdjustmentRecord {
            id: row.try_get("id")?,
            staff_id: row.try_get("staff_id")?,
            user_id: row.try_get("user_id")?,
            asset: row.try_get("asset")?,
            amount: row.try_get("amount")?,
            reason: row.try_get("reason")?,
            status: row.try_get("status")?,
            reject_code: row.try_get("reject_code")?,
        })
    };
    Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_required_and_bounded() {
        assert_eq!(checked_reason("  funding desk 4  "), Ok("funding desk 4"));
        for bad in ["", "   ", "a\u{7}b"] {
            assert_eq!(checked_reason(bad).unwrap_err().code, 2006, "{bad:?}");
        }
        assert!(checked_reason(&"é".repeat(500)).is_ok());
        assert!(checked_reason(&"é".repeat(501)).is_err());
    }

    #[test]
    fn outcomes_follow_the_engine() {
        assert_eq!(outcome_of(&Err(EntryError::Timeout)), Outcome::Unknown);
        assert_eq!(outcome_of(&Err(EntryError::Busy)), Outcome::NotSent);
        let rejected = cex_engine::Event {
            txid: 3,
            body: EventBody::Rejected(
                Command::AdjustBalance(AdjustBalance { account: 1, asset: 0, amount: -5, ref_id: 9 })
                    .rejection(cex_engine::RejectReason::InsufficientFunds),
            ),
        };
        let answer = crate::EngineAnswer { seq: 3, ts_ns: 0, events: vec![rejected] };
        assert_eq!(outcome_of(&Ok(answer.clone())), Outcome::Rejected(3038));
        assert_eq!(rejection(&answer.events).code, 3038);
        assert_eq!(balance_after(&answer.events), None);
    }
}
