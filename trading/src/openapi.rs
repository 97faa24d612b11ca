//! The combined OpenAPI document: identity's operations and the trading ones, completed by
//! identity's [`secure`] from the merged route table (so it cannot disagree with what the
//! authorization layer enforces), plus the trading error codes in the description and in
//! `x-error-codes`.

use cex_identity::authz::RouteInfo;
use cex_identity::openapi::{secure, IdentityApi};
use serde_json::json;
use utoipa::openapi::extensions::Extensions;
use utoipa::OpenApi;

use crate::error::code_table;

/// The trading routes' own descriptions.
#[derive(OpenApi)]
#[openapi(
    paths(
        crate::orders::submit_limit,
        crate::orders::submit_market,
        crate::orders::submit_stop_limit,
        crate::orders::cancel,
        crate::orders::cancel_all,
        crate::orders::modify,
        crate::account::open_orders,
        crate::account::order_detail,
        crate::account::order_history,
        crate::account::trade_history,
        crate::account::balance,
        crate::account::valuation,
        crate::history::balance_snapshot,
        crate::history::start_export,
        crate::history::export_status,
        crate::history::export_download,
        crate::market::depth,
        crate::market::trades,
        crate::market::klines,
        crate::market::ticker,
        crate::market::ping,
        crate::market::server_time,
        crate::market::listed_assets,
        crate::market::volume,
        crate::market::volume_ranking,
        crate::admin::adjust,
        crate::streams::user::open,
    ),
    tags(
        (name = "orders", description = "Placing, cancelling and modifying orders: the engine's verdict, synchronously"),
        (name = "account", description = "Your orders, trades, balances and their value"),
        (name = "market", description = "Public market data: depth, trades, klines, tickers, assets, volume"),
        (name = "admin", description = "Staff operations on accounts"),
        (name = "streams", description = "WebSocket streams that need authentication: your orders, fills and balances"),
    )
)]
pub struct TradingApi;

const DESCRIPTION: &str = "Trading and market data. Amounts are decimal strings in whole units (\"0.25\"), \
converted exactly: more decimals than the tick or lot size allows is refused, never rounded. An order request \
waits for the engine's verdict on it and answers with the order and its fills, or the engine's reject reason \
as code 3000 + the engine's reason code. See docs/TRADING_API.md.";

/// The document for identity's and the trading routes together.
pub fn document(routes: &[RouteInfo]) -> utoipa::openapi::OpenApi {
    let mut doc = IdentityApi::openapi();
    doc.merge(TradingApi::openapi());
    doc.info.title = "cex REST API".to_string();
    let identity = doc.info.description.take().unwrap_or_default();
    doc.info.description = Some(format!("{DESCRIPTION}\n\n{identity}"));
    secure(&mut doc, routes);
    add_trading_codes(&mut doc);
    doc
}

/// Appends the trading codes to the table `secure` wrote (description and
/// `x-error-codes`).
fn add_trading_codes(doc: &mut utoipa::openapi::OpenApi) {
    let rows = code_table();
    let mut table =
        String::from("\n\n## Trading error codes\n\n| code | HTTP status | meaning |\n| --- | --- | --- |\n");
    for row in &rows {
        let reason = row.status.canonical_reason().unwrap_or("");
        table += &format!("| {} | {} {reason} | {} |\n", row.code, row.status.as_u16(), row.msg);
    }
    if let Some(description) = doc.info.description.as_mut() {
        description.push_str(&table);
    }
    let extensions = doc.extensions.get_or_insert_with(Default::default);
    let mut codes = extensions.get("x-error-codes").and_then(|codes| codes.as_array().cloned()).unwrap_or_default();
    codes.extend(rows.iter().map(|row| json!({"code": row.code, "status": row.status.as_u16(), "msg": row.msg})));
    let merged: Extensions = [("x-error-codes".to_string(), json!(codes))].into_iter().collect();
    extensions.merge(merged);
}
