//! The subscribers and the order flow of `cex bench ws-fanout`, in a process of its own, on
//! one tokio thread.
//!
//! - **Subscribers**: one WebSocket per subscriber, one subscription each, half on
//!   `/stream/depth` (diffs) and half on `/stream/trades`, for BTC-USDT.
//! - **Flow**: pairs of orders at a fixed rate over REST, open loop, pipelined on one
//!   keep-alive connection: a sell that rests at a price, then a buy from the other trader
//!   at that price that takes it (the traders swap sides each pair, so their balances stay
//!   put). Each order changes the book once (one depth diff)
//!   and each pair makes one trade. Prices cycle over [`PRICE_SLOTS`] ticks, so a price
//!   names its order: a push's latency runs from the send of the order that caused it (the
//!   resting one for a level that appears, the taker for a level removed and for a trade)
//!   to its receipt.
//! - **Expected**: what the server had to publish to each subscriber, from the orders'
//!   answers: every accepted order's diff, every fill's trade.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::http::{request_bytes, Connection, Responses};
use crate::node::Trader;

/// The first price of the cycle, in ticks of 0.01 USDT: 50,000 USDT.
const BASE_TICKS: i64 = 5_000_000;
/// Prices the flow cycles over: 100 USDT above the base, inside the 10 % price band.
pub const PRICE_SLOTS: i64 = 10_000;
/// The close code of a socket the server dropped as a slow consumer.
const CLOSE_POLICY: u16 = 1008;
/// How long deliveries may pause before the run stops waiting for the rest.
const DRAIN_IDLE: Duration = Duration::from_secs(2);
const DRAIN_MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Depth,
    Trades,
}

impl Stream {
    fn path(self) -> &'static str {
        match self {
            Stream::Depth => "/stream/depth",
            Stream::Trades => "/stream/trades",
        }
    }

    /// Subscriber `index`'s stream: even ones depth, odd ones trades.
    pub fn of(index: usize) -> Stream {
        if index.is_multiple_of(2) {
            Stream::Depth
        } else {
            Stream::Trades
        }
    }
}

/// A price in ticks of 0.01 from its decimal string ("50000.1" is 5,000,010).
pub fn price_ticks(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{fraction:0<2}").parse().ok()? };
    whole.checked_mul(100)?.checked_add(fraction)
}

fn price_text(ticks: i64) -> String {
    format!("{}.{:02}", ticks / 100, ticks % 100)
}

/// What the subscribers saw, shared by their tasks and the flow on one thread.
pub struct Tally {
    streams: Vec<Stream>,
    /// When the last order at each price was sent: resting orders and takers apart.
    makers: HashMap<i64, Instant>,
    takers: HashMap<i64, Instant>,
    /// This run's pushes per subscriber.
    pub delivered: Vec<u64>,
    pub closed: Vec<bool>,
    pub latency: Histogram<u64>,
    pub last_receipt: Option<Instant>,
    pub slow_closes: u64,
    pub other_closes: u64,
    /// Depth diffs that did not continue the previous one's update ids.
    pub gaps: u64,
    /// Pushes naming a price no order of this run was sent at.
    pub unmatched: u64,
    last_update_ids: Vec<Option<u64>>,
}

impl Tally {
    pub fn new(streams: Vec<Stream>) -> Tally {
        let count = streams.len();
        Tally {
            streams,
            makers: HashMap::new(),
            takers: HashMap::new(),
            delivered: vec![0; count],
            closed: vec![false; count],
            latency: crate::runner::new_histogram(),
            last_receipt: None,
            slow_closes: 0,
            other_closes: 0,
            gaps: 0,
            unmatched: 0,
            last_update_ids: vec![None; count],
        }
    }

    /// Clears the counts for the next run (closed sockets stay closed).
    pub fn reset(&mut self) {
        self.delivered.iter_mut().for_each(|count| *count = 0);
        self.latency.reset();
        (self.last_receipt, self.gaps, self.unmatched) = (None, 0, 0);
        self.makers.clear();
        self.takers.clear();
    }

    /// Takes in one push to subscriber `index`, received at `now`.
    pub fn push(&mut self, index: usize, text: &str, now: Instant) {
        let Ok(message) = serde_json::from_str::<Value>(text) else { return self.unmatched += 1 };
        let data = &message["data"];
        let sent = match message["event"].as_str() {
            Some("depth") => {
                let first = data["firstUpdateId"].as_u64();
                let previous = self.last_update_ids[index];
                if let (Some(previous), Some(first)) = (previous, first) {
                    self.gaps += u64::from(first != previous + 1);
                }
                self.last_update_ids[index] = data["lastUpdateId"].as_u64();
                let level = data["asks"].get(0).or_else(|| data["bids"].get(0));
                let price = level.and_then(|level| price_ticks(level["price"].as_str()?));
                let removed = level.is_some_and(|level| level["qty"] == "0");
                price.and_then(|price| if removed { self.takers.get(&price) } else { self.makers.get(&price) })
            }
            Some("trades") => data["price"].as_str().and_then(price_ticks).and_then(|price| self.takers.get(&price)),
            // Answers to the subscription and anything else are not pushes.
            _ => return,
        };
        self.delivered[index] += 1;
        self.last_receipt = Some(now);
        match sent {
            Some(sent) => self.latency.saturating_record(now.saturating_duration_since(*sent).as_nanos().max(1) as u64),
            None => self.unmatched += 1,
        }
    }

    pub fn close(&mut self, index: usize, code: Option<u16>) {
        self.closed[index] = true;
        if code == Some(CLOSE_POLICY) {
            self.slow_closes += 1;
        } else {
            self.other_closes += 1;
        }
    }

    /// What subscriber `index` should have had from `flow`.
    fn expected(&self, index: usize, flow: &Flow) -> u64 {
        match self.streams[index] {
            Stream::Depth => flow.book_changes,
            Stream::Trades => flow.trades,
        }
    }

    /// Whether every open subscriber has all it should.
    fn complete(&self, flow: &Flow) -> bool {
        (0..self.streams.len()).all(|i| self.closed[i] || self.delivered[i] >= self.expected(i, flow))
    }

    pub fn expected_total(&self, flow: &Flow) -> u64 {
        (0..self.streams.len()).map(|i| self.expected(i, flow)).sum()
    }
}

/// What the order flow did in one run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Flow {
    pub pairs: u64,
    /// Accepted orders: each changed the book once.
    pub book_changes: u64,
    /// Fills in the answers: each is one public trade.
    pub trades: u64,
    pub seconds: f64,
    /// From the flow's start to the last push received, or to its end if that is later.
    pub delivery_seconds: f64,
}

/// Opens subscriber `index`'s socket and waits for its subscription's answer.
pub async fn subscribe(rest: SocketAddr, stream: Stream) -> Result<WebSocketStream<TcpStream>, String> {
    let tcp = TcpStream::connect(rest).await.map_err(|e| format!("connecting to {rest}: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let url = format!("ws://{rest}{}?symbol=BTC-USDT", stream.path());
    let (mut socket, _) = tokio_tungstenite::client_async(url, tcp).await.map_err(|e| format!("upgrade: {e}"))?;
    match socket.next().await {
        Some(Ok(Message::Text(text))) if text.contains("\"subscribed\"") => Ok(socket),
        other => Err(format!("{}: no subscription: {other:?}", stream.path())),
    }
}

/// Reads subscriber `index`'s socket until it closes.
pub async fn listen(mut socket: WebSocketStream<TcpStream>, index: usize, tally: Rc<RefCell<Tally>>) {
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Text(text)) => tally.borrow_mut().push(index, text.as_str(), Instant::now()),
            Ok(Message::Close(frame)) => return tally.borrow_mut().close(index, frame.map(|f| u16::from(f.code))),
            Ok(_) => {}
            Err(_) => return tally.borrow_mut().close(index, None),
        }
    }
    tally.borrow_mut().close(index, None);
}

/// Sends pairs of orders at `rate` pairs/s for `seconds`, pipelined on one connection (the
/// server takes a connection's requests in order, so each taker finds its resting order),
/// then waits for the answers and for the subscribers to receive what the flow published
/// (or to stop receiving).
pub async fn drive(
    rest: SocketAddr,
    traders: &[Trader],
    rate: u64,
    seconds: f64,
    tally: &Rc<RefCell<Tally>>,
) -> Result<Flow, String> {
    let [a, b] = traders else { return Err(format!("the flow needs 2 traders, not {}", traders.len())) };
    let connection = Connection::open(rest).await.map_err(|e| e.to_string())?;
    let (mut writer, responses) = connection.split();
    let (sent, answers) = tokio::sync::mpsc::unbounded_channel();
    let answered = tokio::task::spawn_local(read_answers(responses, answers));
    let mut flow = Flow::default();
    let start = Instant::now();
    let length = Duration::from_secs_f64(seconds);
    while start.elapsed() < length {
        let due = start + Duration::from_secs_f64(flow.pairs as f64 / rate.max(1) as f64);
        tokio::time::sleep_until(due.into()).await;
        let price = BASE_TICKS + (flow.pairs as i64 % PRICE_SLOTS);
        // The traders swap sides each pair, so neither runs out of either asset.
        let (maker, taker) = if flow.pairs.is_multiple_of(2) { (a, b) } else { (b, a) };
        let mut bytes = order("SELL", price, maker);
        bytes.extend(order("BUY", price, taker));
        let now = Instant::now();
        tally.borrow_mut().makers.insert(price, now);
        tally.borrow_mut().takers.insert(price, now);
        writer.write_all(&bytes).await.map_err(|e| format!("sending orders: {e}"))?;
        let _ = sent.send(2);
        flow.pairs += 1;
    }
    flow.seconds = start.elapsed().as_secs_f64();
    drop(sent);
    let (book_changes, trades) = answered.await.map_err(|e| e.to_string())??;
    (flow.book_changes, flow.trades) = (book_changes, trades);
    drain(tally, &flow).await;
    let last = tally.borrow().last_receipt.map_or(0.0, |last| last.duration_since(start).as_secs_f64());
    flow.delivery_seconds = last.max(flow.seconds);
    Ok(flow)
}

/// A limit order's request bytes.
fn order(side: &str, price: i64, trader: &Trader) -> Vec<u8> {
    let body = json!({"symbol": "BTC-USDT", "side": side, "price": price_text(price), "quantity": "0.001"});
    request_bytes("POST", "/api/v1/orders/limit", Some(&body.to_string()), Some(&trader.token))
}

/// Reads the answers to the orders announced on `sent`: (accepted orders, fills). Any
/// refusal is an error: the flow's expectations would no longer hold.
async fn read_answers(
    mut responses: Responses<OwnedReadHalf>,
    mut sent: tokio::sync::mpsc::UnboundedReceiver<u64>,
) -> Result<(u64, u64), String> {
    let (mut accepted, mut fills) = (0, 0);
    while let Some(count) = sent.recv().await {
        for _ in 0..count {
            let response = responses.next().await?;
            if !response.is_success() {
                let text = String::from_utf8_lossy(&response.body);
                return Err(format!("an order was refused: {} {text}", response.status));
            }
            let answer = response.json();
            let filled = answer["fills"].as_array().ok_or_else(|| format!("no fills in {answer}"))?;
            accepted += 1;
            fills += filled.len() as u64;
        }
    }
    Ok((accepted, fills))
}

async fn drain(tally: &Rc<RefCell<Tally>>, flow: &Flow) {
    let start = Instant::now();
    loop {
        let (complete, last) = {
            let tally = tally.borrow();
            (tally.complete(flow), tally.last_receipt)
        };
        let idle = last.map_or(start.elapsed(), |last| last.elapsed());
        if complete || idle > DRAIN_IDLE || start.elapsed() > DRAIN_MAX {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_read_back_in_ticks() {
        assert_eq!(price_ticks("50000"), Some(5_000_000));
        assert_eq!(price_ticks("50000.1"), Some(5_000_010));
        assert_eq!(price_ticks("50000.01"), Some(5_000_001));
        for bad in ["50000.001", "abc", "1.x", ""] {
            assert_eq!(price_ticks(bad), None, "{bad}");
        }
        for ticks in [BASE_TICKS, BASE_TICKS + 1, BASE_TICKS + 10, BASE_TICKS + PRICE_SLOTS - 1] {
            assert_eq!(price_ticks(&price_text(ticks)), Some(ticks));
        }
    }

    fn push(event: &str, data: Value) -> String {
        json!({"event": event, "subscriptionId": 1, "symbol": "BTC-USDT", "data": data}).to_string()
    }

    #[test]
    fn pushes_are_counted_timed_from_their_order_and_checked_for_gaps() {
        let mut tally = Tally::new(vec![Stream::Depth, Stream::Trades]);
        let sent = Instant::now();
        let (maker_at, taker_at) = (sent, sent + Duration::from_micros(100));
        tally.makers.insert(BASE_TICKS, maker_at);
        tally.takers.insert(BASE_TICKS, taker_at);
        let level = |qty: &str| json!([{"price": "50000", "qty": qty, "orders": 1}]);
        let diff = |first: u64, last: u64, qty: &str| {
            push("depth", json!({"firstUpdateId": first, "lastUpdateId": last, "bids": [], "asks": level(qty)}))
        };
        let later = sent + Duration::from_micros(500);
        tally.push(0, &diff(7, 7, "0.001"), later);
        tally.push(0, &diff(8, 8, "0"), later);
        tally.push(0, &diff(10, 10, "0.001"), later);
        tally.push(1, &push("trades", json!({"price": "50000", "qty": "0.001"})), later);
        tally.push(1, &push("trades", json!({"price": "49000", "qty": "0.001"})), later);
        tally.push(1, "{\"event\": \"subscribed\", \"subscriptionId\": 1}", later);
        assert_eq!((tally.delivered.clone(), tally.gaps, tally.unmatched), (vec![3, 2], 1, 1));
        // 500 µs from the resting order twice, 400 µs from the taker twice.
        assert_eq!(tally.latency.len(), 4);
        let bucket = |ns: u64| tally.latency.lowest_equivalent(ns);
        assert_eq!((bucket(tally.latency.min()), bucket(tally.latency.max())), (bucket(400_000), bucket(500_000)));
        let flow = Flow { pairs: 1, book_changes: 3, trades: 3, seconds: 1.0, delivery_seconds: 1.0 };
        assert!(!tally.complete(&flow), "the trades subscriber is one short");
        tally.close(1, Some(CLOSE_POLICY));
        tally.close(0, Some(1001));
        assert!(tally.complete(&flow), "closed subscribers are not waited for");
        assert_eq!((tally.slow_closes, tally.other_closes, tally.expected_total(&flow)), (1, 1, 6));
        tally.reset();
        assert_eq!(
            (tally.delivered.clone(), tally.latency.len(), tally.closed.clone()),
            (vec![0, 0], 0, vec![true, true])
        );
    }
}
