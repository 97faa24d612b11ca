//! The public market streams over WebSocket (catalog 1.2's SubscribeTrades, SubscribeDepth,
//! SubscribeKline, SubscribeTicker and Unsubscribe) at `/stream/trades`, `/stream/depth`,
//! `/stream/kline` and `/stream/ticker`. Each socket carries one kind of stream and any
//! number of subscriptions of it (up to [`session::MAX_SUBSCRIPTIONS`]); the protocol is in
//! docs/TRADING_API.md, "WebSocket streams".
//!
//! The user data stream (`/stream/user`, [`user`]) carries one account's orders, fills and
//! balances; its opening request is authenticated like a REST call.
//!
//! Updates come from the read model's bounded broadcasts ([`crate::SharedReadModel::market_updates`],
//! [`crate::SharedReadModel::account_updates`]): the projection thread never waits for a
//! socket, and a socket that falls behind is closed with a "slow consumer" reason instead
//! of being buffered for. `[limits]` caps the sockets open per IP and per user and the
//! client's messages per second ([`caps`]).

pub mod caps;
mod session;
mod socket;
mod subscription;
pub(crate) mod user;

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use cex_identity::RequestMeta;

pub use caps::SocketCaps;
pub(crate) use session::RenderedPushes;
pub use session::MAX_SUBSCRIPTIONS;
pub use socket::PING_EVERY;
pub use subscription::{StreamKind, SubscribeParams, Topic};
pub use user::{UserSnapshot, UserUpdate};

use crate::{Shared, Trading, TradingError};

/// The largest client message accepted: subscribe requests are a few dozen bytes.
const MAX_CLIENT_MESSAGE: usize = 4 * 1024;
/// Bytes read from a socket at a time. tungstenite zero-fills this much before every read
/// attempt, and a session attempts one each time it wakes to push: at the default 128 KiB
/// that zeroing took most of the server's time with 1,000 subscribers.
const READ_BUFFER: usize = 8 * 1024;

/// The limits every stream socket is opened with.
fn limited(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade.max_message_size(MAX_CLIENT_MESSAGE).max_frame_size(MAX_CLIENT_MESSAGE).read_buffer_size(READ_BUFFER)
}

/// The public `/stream/...` routes, like the market data REST routes. (The user stream is
/// routed with the REST routes, behind authentication.)
pub fn router(trading: &Arc<Trading>) -> Router {
    Router::new()
        .route("/stream/trades", get(trades))
        .route("/stream/depth", get(depth))
        .route("/stream/kline", get(kline))
        .route("/stream/ticker", get(ticker))
        .with_state(trading.clone())
}

/// A WebSocket upgrade, or why the request is not one, as the API's JSON error (axum's own
/// rejection is plain text).
pub(crate) struct Upgrade(Result<WebSocketUpgrade, TradingError>);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Upgrade, Self::Rejection> {
        let upgrade = WebSocketUpgrade::from_request_parts(parts, state).await;
        Ok(Upgrade(upgrade.map_err(|rejection| TradingError::invalid(rejection.body_text()))))
    }
}

/// What opening a market stream takes: the upgrade, the query, the caller's IP and the caps.
struct Opening {
    upgrade: Upgrade,
    query: Result<Query<SubscribeParams>, QueryRejection>,
    meta: RequestMeta,
    caps: Arc<SocketCaps>,
}

impl<S: Send + Sync> FromRequestParts<S> for Opening {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Opening, Response> {
        let Ok(upgrade) = Upgrade::from_request_parts(parts, state).await;
        let query = Query::from_request_parts(parts, state).await;
        let Ok(meta) = RequestMeta::from_request_parts(parts, state).await;
        let Extension(caps) = Extension::<Arc<SocketCaps>>::from_request_parts(parts, state)
            .await
            .map_err(|_| TradingError::internal("the stream caps are not installed").into_response())?;
        Ok(Opening { upgrade, query, meta, caps })
    }
}

async fn trades(State(trading): Shared, opening: Opening) -> Response {
    open(trading, opening, StreamKind::Trades)
}

async fn depth(State(trading): Shared, opening: Opening) -> Response {
    open(trading, opening, StreamKind::Depth)
}

async fn kline(State(trading): Shared, opening: Opening) -> Response {
    open(trading, opening, StreamKind::Kline)
}

async fn ticker(State(trading): Shared, opening: Opening) -> Response {
    open(trading, opening, StreamKind::Ticker)
}

/// Upgrades the connection. A query string with a symbol is the socket's first
/// subscription, checked like a subscribe message and answered on the socket; one that is
/// not even the right shape is refused before the upgrade with a 400, and so is a socket
/// past the IP's cap, with a 429.
fn open(trading: Arc<Trading>, opening: Opening, kind: StreamKind) -> Response {
    let upgrade = match opening.upgrade.0 {
        Ok(upgrade) => upgrade,
        Err(error) => return error.into_response(),
    };
    let params = match opening.query {
        Ok(Query(params)) => params,
        Err(rejection) => return TradingError::invalid(rejection.body_text()).into_response(),
    };
    let permit = match opening.caps.admit(opening.meta.ip, None) {
        Ok(permit) => permit,
        Err(refusal) => return refusal.into_response(),
    };
    let initial = params.symbol.is_some().then_some(params);
    let rate = opening.caps.messages_per_second;
    limited(upgrade).on_upgrade(move |socket| session::run(socket, trading, kind, initial, permit, rate))
}
