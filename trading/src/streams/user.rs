//! The user data stream at `/stream/user`: the caller's own order updates, fills and
//! balance changes, pushed as each command is applied.
//!
//! The opening request is authenticated like any REST call with `read` (a session's bearer
//! token, or an API key's signed request, which is refused if replayed). The first message
//! is a snapshot of the balances and open orders at a sequence; then one `accountUpdate`
//! per later command that touched the account, in sequence order, each fill exactly once.
//! A client that falls [`crate::account_feed::ACCOUNT_UPDATES_BUFFERED`] updates behind
//! is closed (1008) and resyncs by reconnecting: the new snapshot covers what it missed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use cex_engine::AccountId;
use cex_identity::authz::UserPrincipal;
use cex_identity::error::ErrorBody;
use cex_identity::{Permission, RequestMeta};
use cex_projections::{AssetBalance, BalanceUpdate};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::time::Instant;
use utoipa::ToSchema;

use super::caps::{SocketCaps, SocketPermit};
use super::socket::{End, Keepalive, MessageRate, Reply, Socket, CLOSE_GOING_AWAY, CLOSE_POLICY};
use super::{limited, Upgrade};
use crate::account::BalanceJson;
use crate::account_feed::AccountUpdate;
use crate::views::{ns_to_ms, AccountTradeJson, OrderJson};
use crate::{Shared, Trading, TradingError};

/// The stream's first message: where the account stood when the stream began.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSnapshot {
    /// `snapshot`.
    event: &'static str,
    /// The last command the snapshot includes: updates follow from the next one.
    seq: u64,
    balances: Vec<BalanceJson>,
    open_orders: Vec<OrderJson>,
}

/// What one command changed for the account.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserUpdate {
    /// `accountUpdate`.
    event: &'static str,
    /// The command's sequence: increasing, and above the snapshot's.
    seq: u64,
    /// The command's time, in ms since the epoch.
    time: i64,
    /// Each order the command changed, as it was just after.
    orders: Vec<OrderJson>,
    /// The account's side of each trade the command made.
    fills: Vec<AccountTradeJson>,
    /// Each balance the command changed, as it was just after.
    balances: Vec<BalanceJson>,
}

/// SubscribeUserData: open the user data stream (a WebSocket).
///
/// Authenticate the opening request like any call with `read`. The server then sends a
/// `snapshot`, an `accountUpdate` per later command that changed the account, pings every
/// 20 s, and closes with 1008 a client that falls behind or sends more than the message
/// rate, and the stream once its session ends or its key is revoked (checked every 5 s);
/// the stream takes no requests. See docs/TRADING_API.md, "User data stream".
#[utoipa::path(
    get,
    path = "/stream/user",
    tag = "streams",
    responses(
        (status = 101, description = "Switching to the WebSocket protocol: a `UserSnapshot`, then `UserUpdate`s", body = UserSnapshot),
        (status = 400, description = "2006: not a WebSocket upgrade request", body = ErrorBody),
        (status = 429, description = "1800: too many streams open for this IP or user", body = ErrorBody),
    )
)]
pub(crate) async fn open(
    State(trading): Shared,
    user: UserPrincipal,
    meta: RequestMeta,
    Extension(caps): Extension<Arc<SocketCaps>>,
    upgrade: Upgrade,
) -> Response {
    let upgrade = match upgrade.0 {
        Ok(upgrade) => upgrade,
        Err(error) => return error.into_response(),
    };
    let permit = match caps.admit(meta.ip, Some(user.user_id)) {
        Ok(permit) => permit,
        Err(refusal) => return refusal.into_response(),
    };
    let rate = MessageRate::new(caps.messages_per_second);
    limited(upgrade).on_upgrade(move |socket| run(socket, trading, user, permit, rate))
}

/// How often an open stream checks that the credential it was opened with still holds: a
/// stream whose session ended (logout, expiry, password change) or whose key was deleted
/// or lost `read` is closed within this.
pub const RECHECK_EVERY: Duration = Duration::from_secs(5);

async fn run(socket: WebSocket, trading: Arc<Trading>, user: UserPrincipal, permit: SocketPermit, rate: MessageRate) {
    let account = user.engine_account;
    // Subscribe before the snapshot is read, so nothing after it is missed; updates the
    // snapshot already includes are skipped by their sequence.
    let mut updates = trading.model().account_updates(account);
    let (sink, mut stream) = socket.split();
    let mut session = UserSession { trading, user, socket: Socket::new(sink), rate, seq: 0 };
    let mut end = session.send_snapshot(account).await;
    if end.is_ok() {
        end = session.serve(&mut updates, &mut stream).await;
    }
    session.socket.finish(end, &mut stream).await;
    drop(permit);
}

struct UserSession {
    trading: Arc<Trading>,
    /// Who opened the stream, and with which credential.
    user: UserPrincipal,
    socket: Socket,
    rate: MessageRate,
    /// The last sequence sent: the snapshot's, then each update's.
    seq: u64,
}

impl UserSession {
    async fn send_snapshot(&mut self, account: AccountId) -> Result<(), End> {
        let (seq, balances, open_orders) = self.trading.model().read(|model| {
            let accounts = model.projections().accounts();
            (model.last_seq(), accounts.balances(account), accounts.open_orders(account, None))
        });
        self.seq = seq;
        let markets = self.trading.markets();
        let snapshot = UserSnapshot {
            event: "snapshot",
            seq,
            balances: balances
                .iter()
                .map(|row: &AssetBalance| BalanceJson::new(markets, row.asset, row.balance))
                .collect(),
            open_orders: open_orders.iter().map(|order| OrderJson::new(markets, order)).collect(),
        };
        self.socket.send_json(&snapshot).await
    }

    async fn serve(
        &mut self,
        updates: &mut Receiver<Arc<AccountUpdate>>,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
    ) -> Result<(), End> {
        let mut keepalive = Keepalive::new();
        let mut recheck = tokio::time::interval_at(Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
        loop {
            tokio::select! {
                update = updates.recv() => self.on_update(update).await?,
                message = stream.next() => {
                    keepalive.heard();
                    self.on_message(message).await?;
                }
                _ = keepalive.due() => keepalive.ping(&mut self.socket).await?,
                _ = recheck.tick() => self.recheck().await?,
            }
        }
    }

    /// Closes the stream once its credential no longer holds (or cannot be checked: it
    /// fails closed).
    async fn recheck(&self) -> Result<(), End> {
        match self.user.recheck(&self.trading.identity, Permission::Read).await {
            Ok(()) => Ok(()),
            Err(error) => Err(End::Close(CLOSE_POLICY, format!("{}: {}", error.code as u16, error.msg))),
        }
    }

    async fn on_update(&mut self, update: Result<Arc<AccountUpdate>, RecvError>) -> Result<(), End> {
        match update {
            Ok(update) if update.seq <= self.seq => Ok(()),
            Ok(update) => {
                self.seq = update.seq;
                let update = self.to_json(&update);
                self.socket.send_json(&update).await
            }
            Err(RecvError::Lagged(missed)) => {
                Err(End::Close(CLOSE_POLICY, format!("slow consumer: {missed} account updates missed; reconnect")))
            }
            Err(RecvError::Closed) => Err(End::Close(CLOSE_GOING_AWAY, "the server is stopping".into())),
        }
    }

    fn to_json(&self, update: &AccountUpdate) -> UserUpdate {
        let markets = self.trading.markets();
        UserUpdate {
            event: "accountUpdate",
            seq: update.seq,
            time: ns_to_ms(update.ts_ns),
            orders: update.orders.iter().map(|order| OrderJson::new(markets, order)).collect(),
            fills: update.fills.iter().map(|fill| AccountTradeJson::new(markets, fill)).collect(),
            balances: update
                .balances
                .iter()
                .map(|row: &BalanceUpdate| BalanceJson::new(markets, row.asset, row.balance))
                .collect(),
        }
    }

    async fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(End::Gone),
            Some(Ok(Message::Text(_) | Message::Binary(_))) => {
                self.rate.take(Instant::now())?;
                let error = TradingError::invalid("the user data stream takes no requests");
                self.socket.send_json(&Reply::error(None, error)).await
            }
            // axum answers pings itself.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
        }
    }
}
