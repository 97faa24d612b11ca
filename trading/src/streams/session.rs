//! One stream socket: its subscriptions, the client's subscribe/unsubscribe messages, the
//! market updates fanned out to it, and the keepalive.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{interval, Instant, MissedTickBehavior};

use super::subscription::{StreamKind, SubscribeParams, Topic};
use crate::read_model::MarketUpdate;
use crate::{Trading, TradingError};

/// How often the server pings; a client silent (no pong, no message) for two of these is
/// taken for dead and closed.
pub const PING_EVERY: Duration = Duration::from_secs(20);

/// A send that takes longer than this means the client does not read: it is closed rather
/// than left to hold the socket's updates.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Subscriptions one socket may hold, so a client cannot grow the server's work unbounded.
pub const MAX_SUBSCRIPTIONS: usize = 64;

/// WebSocket close codes (RFC 6455): policy violation for a slow consumer, going away for
/// a dead one.
const CLOSE_POLICY: u16 = 1008;
const CLOSE_GOING_AWAY: u16 = 1001;

/// A client's message on an open socket.
#[derive(Debug, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase", deny_unknown_fields)]
enum Request {
    Subscribe {
        id: Option<u64>,
        symbol: Option<String>,
        levels: Option<u32>,
        interval: Option<String>,
    },
    Unsubscribe {
        id: Option<u64>,
        #[serde(rename = "subscriptionId")]
        subscription_id: u64,
    },
}

/// The server's reply to a request, or an unrequested error.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subscription_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    msg: Option<String>,
}

/// A market push for one subscription.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Push<'a> {
    event: &'static str,
    subscription_id: u64,
    symbol: &'a str,
    data: Value,
}

/// Why a session ends.
enum End {
    /// The client closed, or the socket failed: nothing more to send.
    Gone,
    /// The server closes with this code and reason.
    Close(u16, String),
}

struct Session {
    trading: Arc<Trading>,
    kind: StreamKind,
    topics: BTreeMap<u64, Topic>,
    next_id: u64,
    sink: SplitSink<WebSocket, Message>,
}

/// Serves one socket until the client leaves, lags or goes silent. `initial` is the
/// subscription from the upgrade's query string, if it named a symbol.
pub async fn run(socket: WebSocket, trading: Arc<Trading>, kind: StreamKind, initial: Option<SubscribeParams>) {
    // Subscribe before anything is read from the model, so no update after it is missed.
    let mut updates = trading.model().market_updates();
    let (sink, mut stream) = socket.split();
    let mut session = Session { trading, kind, topics: BTreeMap::new(), next_id: 1, sink };
    let mut end = match initial {
        Some(params) => session.subscribe(None, &params).await,
        None => Ok(()),
    };
    if end.is_ok() {
        end = session.serve(&mut updates, &mut stream).await;
    }
    if let Err(End::Close(code, reason)) = end {
        let frame = CloseFrame { code, reason: Utf8Bytes::from(reason) };
        let _ = tokio::time::timeout(SEND_TIMEOUT, session.sink.send(Message::Close(Some(frame)))).await;
    }
}

impl Session {
    async fn serve(
        &mut self,
        updates: &mut tokio::sync::broadcast::Receiver<Arc<MarketUpdate>>,
        stream: &mut SplitStream<WebSocket>,
    ) -> Result<(), End> {
        let mut pings = interval(PING_EVERY);
        pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                update = updates.recv() => self.on_update(update).await?,
                message = stream.next() => {
                    heard = Instant::now();
                    self.on_message(message).await?;
                }
                _ = pings.tick() => {
                    if heard.elapsed() > 2 * PING_EVERY {
                        return Err(End::Close(CLOSE_GOING_AWAY, "no pong: keepalive timed out".into()));
                    }
                    self.send(Message::Ping(Default::default())).await?;
                }
            }
        }
    }

    async fn on_update(&mut self, update: Result<Arc<MarketUpdate>, RecvError>) -> Result<(), End> {
        match update {
            Ok(update) => self.push(&update).await,
            Err(RecvError::Lagged(missed)) => {
                Err(End::Close(CLOSE_POLICY, format!("slow consumer: {missed} market updates missed")))
            }
            Err(RecvError::Closed) => Err(End::Close(CLOSE_GOING_AWAY, "the server is stopping".into())),
        }
    }

    async fn push(&mut self, update: &MarketUpdate) -> Result<(), End> {
        let mut texts = Vec::new();
        for (&subscription_id, topic) in &self.topics {
            let payloads = topic.payloads(&self.trading, update);
            if payloads.is_empty() {
                continue;
            }
            let symbol = self.symbol_name(topic);
            for data in payloads {
                let push = Push { event: self.kind.name(), subscription_id, symbol: &symbol, data };
                texts.push(serde_json::to_string(&push).unwrap_or_default());
            }
        }
        for text in texts {
            self.send(Message::Text(text.into())).await?;
        }
        Ok(())
    }

    fn symbol_name(&self, topic: &Topic) -> String {
        let id = topic.symbol();
        self.trading.markets().symbol_by_id(id).map(|symbol| symbol.name.clone()).unwrap_or_default()
    }

    async fn on_message(&mut self, message: Option<Result<Message, axum::Error>>) -> Result<(), End> {
        match message {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => Err(End::Gone),
            Some(Ok(Message::Text(text))) => self.on_request(text.as_str()).await,
            Some(Ok(Message::Binary(_))) => self.error(None, TradingError::invalid("messages are JSON text")).await,
            // axum answers pings itself; any frame at all shows the client is alive.
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
        }
    }

    async fn on_request(&mut self, text: &str) -> Result<(), End> {
        match serde_json::from_str::<Request>(text) {
            Ok(Request::Subscribe { id, symbol, levels, interval }) => {
                self.subscribe(id, &SubscribeParams { symbol, levels, interval }).await
            }
            Ok(Request::Unsubscribe { id, subscription_id }) => self.unsubscribe(id, subscription_id).await,
            Err(error) => {
                let why = format!("not a subscribe or unsubscribe request: {error}");
                self.error(None, TradingError::invalid(why)).await
            }
        }
    }

    async fn subscribe(&mut self, id: Option<u64>, params: &SubscribeParams) -> Result<(), End> {
        if self.topics.len() >= MAX_SUBSCRIPTIONS {
            let why = format!("at most {MAX_SUBSCRIPTIONS} subscriptions per socket");
            return self.error(id, TradingError::invalid(why)).await;
        }
        match Topic::parse(&self.trading, self.kind, params) {
            Ok(topic) => {
                let subscription_id = self.next_id;
                self.next_id += 1;
                self.topics.insert(subscription_id, topic);
                self.reply(Reply::ok("subscribed", id, subscription_id)).await
            }
            Err(error) => self.error(id, error).await,
        }
    }

    async fn unsubscribe(&mut self, id: Option<u64>, subscription_id: u64) -> Result<(), End> {
        if self.topics.remove(&subscription_id).is_none() {
            let why = format!("subscriptionId {subscription_id}: no such subscription on this socket");
            return self.error(id, TradingError::invalid(why)).await;
        }
        self.reply(Reply::ok("unsubscribed", id, subscription_id)).await
    }

    async fn error(&mut self, id: Option<u64>, error: TradingError) -> Result<(), End> {
        let reply = Reply { event: "error", id, subscription_id: None, code: Some(error.code), msg: Some(error.msg) };
        self.reply(reply).await
    }

    async fn reply(&mut self, reply: Reply) -> Result<(), End> {
        let text = serde_json::to_string(&reply).unwrap_or_default();
        self.send(Message::Text(text.into())).await
    }

    async fn send(&mut self, message: Message) -> Result<(), End> {
        match tokio::time::timeout(SEND_TIMEOUT, self.sink.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Gone),
            Err(_) => Err(End::Close(CLOSE_POLICY, "slow consumer: a send timed out".into())),
        }
    }
}

impl Reply {
    fn ok(event: &'static str, id: Option<u64>, subscription_id: u64) -> Reply {
        Reply { event, id, subscription_id: Some(subscription_id), code: None, msg: None }
    }
}
