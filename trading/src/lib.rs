//! The trading and market-data REST API (catalog 1.1 and 1.2, and the account's balances):
//! orders, order and trade queries, balances and valuation, public market data, and the
//! staff's balance adjustment. See docs/TRADING_API.md.
//!
//! - Routes are declared through identity's [`SecureRouter`] with a [`Policy`] each, so the
//!   same layer authenticates every caller (a session, or a signed API key holding `read` or
//!   `trade`) and the routes join identity's in one route table; [`router`] merges them and
//!   serves the combined OpenAPI document.
//! - Orders go to the engine through an [`OrderEntry`] and the caller gets the engine's
//!   verdict for that very command: the order and its fills, or the reject reason.
//! - Everything read comes from the [`SharedReadModel`], fed by the engine's events; an
//!   order command's answer waits until the model has taken the command in, so the caller
//!   reads its own writes.
//! - Amounts are decimal strings, converted exactly at the edge ([`markets`]).

pub mod account;
pub mod account_feed;
pub mod account_trades;
pub mod admin;
pub mod entry;
pub mod error;
mod extract;
pub mod history;
pub mod market;
pub mod markets;
pub mod openapi;
pub mod orders;
pub mod read_model;
pub mod streams;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::{Extension, Router};
use cex_config::LimitSettings;
use cex_identity::authz::{Policy, RouteInfo, SecureRouter};
use cex_identity::openapi::ServedDocument;
use cex_identity::{Identity, Permission, StaffRole};

pub use entry::{BoxFuture, EngineAnswer, EntryError, OrderEntry};
pub use error::{TradingCode, TradingError, TradingResult};
pub use markets::Markets;
pub use read_model::{MarketUpdate, ReadModel, ReadModelConfig, SharedReadModel};

/// How long an order command's answer waits for the read model to take the command in.
/// The model is normally microseconds behind; past this the answer goes out anyway.
const CATCH_UP_TIMEOUT: Duration = Duration::from_secs(2);

/// The API's state: the listed markets, the read model, the way to the engine, and identity
/// (whose store holds the adjustment audit).
pub struct Trading {
    markets: Markets,
    model: Arc<SharedReadModel>,
    engine: Arc<dyn OrderEntry>,
    identity: Arc<Identity>,
    rendered_pushes: streams::RenderedPushes,
}

impl Trading {
    /// Migrates the trading tables in identity's database and returns the API's state.
    pub async fn open(
        identity: Arc<Identity>,
        markets: Markets,
        model: Arc<SharedReadModel>,
        engine: Arc<dyn OrderEntry>,
    ) -> TradingResult<Arc<Trading>> {
        admin::migrate(identity.store()).await?;
        history::open(identity.store()).await?;
        let rendered_pushes = streams::RenderedPushes::default();
        Ok(Arc::new(Trading { markets, model, engine, identity, rendered_pushes }))
    }

    pub fn markets(&self) -> &Markets {
        &self.markets
    }

    pub fn model(&self) -> &Arc<SharedReadModel> {
        &self.model
    }

    /// Market pushes rendered once for every stream socket.
    pub(crate) fn rendered_pushes(&self) -> &streams::RenderedPushes {
        &self.rendered_pushes
    }

    /// Submits a command and turns a reject into the engine's error.
    async fn submit(&self, command: cex_engine::Command) -> TradingResult<EngineAnswer> {
        let answer = self.engine.submit(command).await?;
        if let Some(cex_engine::EventBody::Rejected(rejected)) = answer.events.first().map(|event| event.body) {
            return Err(TradingError::rejected(rejected.reason));
        }
        Ok(answer)
    }

    /// Waits for the read model to take in command `seq`, so what the caller reads next
    /// includes it.
    async fn catch_up(&self, seq: u64) -> bool {
        let caught_up = self.model.caught_up(seq, CATCH_UP_TIMEOUT).await;
        if !caught_up {
            tracing::warn!(seq, applied = self.model.applied_seq(), "the read model is behind the engine");
        }
        caught_up
    }
}

type Shared = axum::extract::State<Arc<Trading>>;

/// Every trading route with its policy.
pub fn routes(identity: &Arc<Identity>) -> SecureRouter<Arc<Trading>> {
    use Method as M;
    use Policy::{Public, TraderOrApiKey};
    let trade = TraderOrApiKey(Permission::Trade);
    let read = TraderOrApiKey(Permission::Read);
    let admin = Policy::Staff(&[StaffRole::Admin]);
    SecureRouter::new(identity.clone())
        .route("SubmitLimitOrder", M::POST, "/api/v1/orders/limit", trade, orders::submit_limit)
        .route("SubmitMarketOrder", M::POST, "/api/v1/orders/market", trade, orders::submit_market)
        .route("SubmitStopLimitOrder", M::POST, "/api/v1/orders/stop-limit", trade, orders::submit_stop_limit)
        .route("CancelOrder", M::DELETE, "/api/v1/orders/{orderId}", trade, orders::cancel)
        .route("CancelAllOrders", M::DELETE, "/api/v1/orders", trade, orders::cancel_all)
        .route("ModifyOrder", M::PUT, "/api/v1/orders/{orderId}", trade, orders::modify)
        .route("QueryOpenOrders", M::GET, "/api/v1/orders/open", read, account::open_orders)
        .route("QueryOrderDetail", M::GET, "/api/v1/orders/{orderId}", read, account::order_detail)
        .route("QueryOrderHistory", M::GET, "/api/v1/orders/history", read, account::order_history)
        .route("QueryTradeHistory", M::GET, "/api/v1/trades", read, account::trade_history)
        .route("QueryAccountBalance", M::GET, "/api/v1/account/balance", read, account::balance)
        .route("QueryAssetValuation", M::GET, "/api/v1/account/valuation", read, account::valuation)
        .route("QueryBalanceSnapshot", M::GET, "/api/v1/account/snapshot", read, history::balance_snapshot)
        .route("ExportHistoricalData", M::POST, "/api/v1/export/market-data", read, history::start_export)
        .route("QueryExportStatus", M::GET, "/api/v1/export/{jobId}", read, history::export_status)
        .route("DownloadExport", M::GET, "/api/v1/export/{jobId}/download", read, history::export_download)
        .route("QueryDepth", M::GET, "/api/v1/depth", Public, market::depth)
        .route("QueryHistoricalTrades", M::GET, "/api/v1/historical-trades", Public, market::trades)
        .route("QueryHistoricalKlines", M::GET, "/api/v1/klines", Public, market::klines)
        .route("Query24hStats", M::GET, "/api/v1/ticker/24hr", Public, market::ticker)
        .route("Ping", M::GET, "/api/v1/ping", Public, market::ping)
        .route("ServerTime", M::GET, "/api/v1/time", Public, market::server_time)
        .route("QueryListedAssets", M::GET, "/api/v1/assets/listed", Public, market::listed_assets)
        .route("QueryTradingVolume", M::GET, "/api/v1/volume", Public, market::volume)
        .route("QueryVolumeRanking", M::GET, "/api/v1/volume/ranking", Public, market::volume_ranking)
        .route("AdjustBalance", M::POST, "/api/admin/accounts/{id}/adjust", admin, admin::adjust)
        .route("SubscribeUserData", M::GET, "/stream/user", read, streams::user::open)
}

/// Identity's routes and the trading routes in one router with one route table, the JSON
/// 404/405, the body limit, and the combined OpenAPI document served at
/// `/api/docs/openapi.json`, and the WebSocket streams at `/stream/...`, their sockets
/// capped as `limits` says. Serve it with `into_make_service_with_connect_info::<SocketAddr>()`.
pub fn router(
    identity: &Arc<Identity>,
    trading: &Arc<Trading>,
    limits: &LimitSettings,
) -> TradingResult<(Router, Vec<RouteInfo>)> {
    let secure = cex_identity::http::routes(identity)
        .with_state::<()>(identity.clone())
        .merge(routes(identity).with_state(trading.clone()));
    let (router, table) = secure.finish();
    let document = ServedDocument::new(&openapi::document(&table))?;
    let router = router
        .merge(streams::router(trading))
        .layer(Extension(Arc::new(streams::SocketCaps::new(limits))))
        .layer(DefaultBodyLimit::max(identity.config().max_body_bytes))
        .layer(Extension(document));
    Ok((cex_identity::http::with_json_fallbacks(router), table))
}

/// Every route of [`router`], with its policy.
pub fn route_table(identity: &Arc<Identity>) -> Vec<RouteInfo> {
    let mut table = cex_identity::http::route_table(identity);
    table.extend(routes(identity).finish().1);
    table
}
