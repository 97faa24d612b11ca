//! One stream socket: its subscriptions, the client's subscribe/unsubscribe messages, the
//! market updates fanned out to it, and the keepalive.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::extract::ws::{Message, WebSocket};
use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use super::caps::SocketPermit;
use super::socket::{End, Keepalive, MessageRate, Reply, Socket, CLOSE_GOING_AWAY, CLOSE_POLICY};
use super::subscription::{StreamKind, SubscribeParams, Topic};
use crate::read_model::MarketUpdate;
use crate::{Trading, TradingError};

/// Subscriptions one socket may hold, so a client cannot grow the server's work unbounded.
pub const MAX_SUBSCRIPTIONS: usize = 64;

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

/// The `data` of the market pushes for the newest update, rendered once per topic and
/// shared by every socket subscribed to it: with many subscribers, rendering per socket was
/// a large part of the fan-out's cost. Only the envelope, with each socket's subscription
/// id, is written per socket.
#[derive(Default)]
pub(crate) struct RenderedPushes {
    newest: Mutex<Rendered>,
}

/// An update's sequence and the payloads rendered for it so far, by topic.
type Rendered = (u64, HashMap<Topic, Arc<[String]>>);

impl RenderedPushes {
    /// The payloads of `topic` for update `seq`, rendered by `render` unless a socket did
    /// already. A socket behind the newest update renders its own.
    fn get(&self, seq: u64, topic: &Topic, render: impl FnOnce() -> Vec<Value>) -> Arc<[String]> {
        {
            let newest = self.lock();
            if let Some(hit) = newest.1.get(topic).filter(|_| newest.0 == seq) {
                return hit.clone();
            }
        }
        let rendered: Arc<[String]> = render().iter().map(Value::to_string).collect();
        let mut newest = self.lock();
        if seq > newest.0 {
            *newest = (seq, HashMap::new());
        }
        if seq == newest.0 {
            newest.1.entry(topic.clone()).or_insert_with(|| rendered.clone());
        }
        rendered
    }

    fn lock(&self) -> MutexGuard<'_, Rendered> {
        self.newest.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Session {
    trading: Arc<Trading>,
    kind: StreamKind,
    topics: BTreeMap<u64, Topic>,
    next_id: u64,
    socket: Socket,
    rate: MessageRate,
}

/// Serves one socket until the client leaves, lags, goes silent or floods. `initial` is the
/// subscription from the upgrade's query string, if it named a symbol. The permit holds the
/// socket's place under the caps until it ends.
pub async fn run(
    socket: WebSocket,
    trading: Arc<Trading>,
    kind: StreamKind,
    initial: Option<SubscribeParams>,
    permit: SocketPermit,
    messages_per_second: u32,
) {
    // Subscribe before anything is read from the model, so no update after it is missed.
    let mut updates = trading.model().market_updates();
    let (sink, mut stream) = socket.split();
    let socket = Socket::new(sink);
    let rate = MessageRate::new(messages_per_second);
    let mut session = Session { trading, kind, topics: BTreeMap::new(), next_id: 1, socket, rate };
    let mut end = match initial {
        Some(params) => session.subscribe(None, &params).await,
        None => Ok(()),
    };
    if end.is_ok() {
        end = session.serve(&mut updates, &mut stream).await;
    }
    session.socket.finish(end, &mut stream).await;
    drop(permit);
}

impl Session {
    async fn serve(
        &mut self,
        updates: &mut tokio::sync::broadcast::Receiver<Arc<MarketUpdate>>,
        stream: &mut SplitStream<WebSocket>,
    ) -> Result<(), End> {
        let mut keepalive = Keepalive::new();
        loop {
            tokio::select! {
                update = updates.recv() => self.on_update(update).await?,
                message = stream.next() => {
                    keepalive.heard();
                    self.on_message(message).await?;
                }
                _ = keepalive.due() => keepalive.ping(&mut self.socket).await?,
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
            let render = || topic.payloads(&self.trading, update);
            let payloads = self.trading.rendered_pushes().get(update.seq, topic, render);
            if payloads.is_empty() {
                continue;
            }
            // A JSON string: symbol names are listed names, but escape them all the same.
            let symbol = Value::String(self.symbol_name(topic));
            let event = self.kind.name();
            for data in payloads.iter() {
                texts.push(format!(
                    r#"{{"event":"{event}","subscriptionId":{subscription_id},"symbol":{symbol},"data":{data}}}"#
                ));
            }
        }
        for text in texts {
            self.socket.send(Message::Text(text.into())).await?;
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
            Some(Ok(Message::Text(text))) => {
                self.rate.take(Instant::now())?;
                self.on_request(text.as_str()).await
            }
            Some(Ok(Message::Binary(_))) => {
                self.rate.take(Instant::now())?;
                self.error(None, TradingError::invalid("messages are JSON text")).await
            }
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
        self.reply(Reply::error(id, error)).await
    }

    async fn reply(&mut self, reply: Reply) -> Result<(), End> {
        self.socket.send_json(&reply).await
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use serde_json::json;

    use super::*;

    #[test]
    fn pushes_are_rendered_once_per_update_and_topic() {
        let pushes = RenderedPushes::default();
        let renders = Cell::new(0);
        let render = |value: Value| {
            let renders = &renders;
            move || {
                renders.set(renders.get() + 1);
                vec![value]
            }
        };
        let (trades, ticker) = (Topic::Trades { symbol: 1 }, Topic::Ticker { symbol: 1 });
        assert_eq!(&*pushes.get(7, &trades, render(json!({"p": 1}))), [r#"{"p":1}"#.to_string()]);
        assert_eq!(&*pushes.get(7, &trades, render(json!({"p": 2}))), [r#"{"p":1}"#.to_string()], "shared");
        pushes.get(7, &ticker, render(json!(3)));
        assert_eq!(renders.get(), 2, "one render per topic");

        assert_eq!(&*pushes.get(8, &trades, render(json!(4))), ["4".to_string()], "a newer update renders anew");
        assert_eq!(&*pushes.get(7, &trades, render(json!(5))), ["5".to_string()], "a socket behind renders its own");
        assert_eq!(&*pushes.get(8, &trades, render(json!(6))), ["4".to_string()], "and leaves the newest in place");
        assert_eq!(renders.get(), 4);
    }
}
