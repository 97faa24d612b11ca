//! The public market streams over WebSocket (catalog 1.2's SubscribeTrades, SubscribeDepth,
//! SubscribeKline, SubscribeTicker and Unsubscribe) at `/stream/trades`, `/stream/depth`,
//! `/stream/kline` and `/stream/ticker`. Each socket carries one kind of stream and any
//! number of subscriptions of it (up to [`session::MAX_SUBSCRIPTIONS`]); the protocol is in
//! docs/TRADING_API.md, "WebSocket streams".
//!
//! Updates come from the read model's bounded broadcast ([`crate::SharedReadModel::market_updates`]):
//! the projection thread never waits for a socket, and a socket that falls behind is closed
//! with a "slow consumer" reason instead of being buffered for.

mod session;
mod subscription;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

pub use session::{MAX_SUBSCRIPTIONS, PING_EVERY};
pub use subscription::{StreamKind, SubscribeParams, Topic};

use crate::{Shared, Trading, TradingError};

/// The largest client message accepted: subscribe requests are a few dozen bytes.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;

/// The `/stream/...` routes. They are public, like the market data REST routes.
pub fn router(trading: &Arc<Trading>) -> Router {
    Router::new()
        .route("/stream/trades", get(trades))
        .route("/stream/depth", get(depth))
        .route("/stream/kline", get(kline))
        .route("/stream/ticker", get(ticker))
        .with_state(trading.clone())
}

type Params = Result<Query<SubscribeParams>, QueryRejection>;

async fn trades(State(trading): Shared, upgrade: WebSocketUpgrade, query: Params) -> Response {
    open(trading, upgrade, query, StreamKind::Trades)
}

async fn depth(State(trading): Shared, upgrade: WebSocketUpgrade, query: Params) -> Response {
    open(trading, upgrade, query, StreamKind::Depth)
}

async fn kline(State(trading): Shared, upgrade: WebSocketUpgrade, query: Params) -> Response {
    open(trading, upgrade, query, StreamKind::Kline)
}

async fn ticker(State(trading): Shared, upgrade: WebSocketUpgrade, query: Params) -> Response {
    open(trading, upgrade, query, StreamKind::Ticker)
}

/// Upgrades the connection. A query string with a symbol is the socket's first
/// subscription, checked like a subscribe message and answered on the socket; one that is
/// not even the right shape is refused before the upgrade with a 400.
fn open(trading: Arc<Trading>, upgrade: WebSocketUpgrade, query: Params, kind: StreamKind) -> Response {
    let params = match query {
        Ok(Query(params)) => params,
        Err(rejection) => return TradingError::invalid(rejection.body_text()).into_response(),
    };
    let initial = params.symbol.is_some().then_some(params);
    upgrade.max_message_size(MAX_CLIENT_MESSAGE).on_upgrade(move |socket| session::run(socket, trading, kind, initial))
}
