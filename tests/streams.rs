//! The WebSocket streams end to end, on a node started in-process: a trades client sees the
//! trade two users make over REST; bad subscriptions are answered with an error on the
//! socket, which stays usable; a depth client that follows the documented sync rules keeps
//! a book identical to the REST snapshot through a random burst of orders; the user data
//! stream, opened with a token or a signed API key, delivers every fill exactly once and
//! keeps balances and open orders identical to REST's.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpStream};
use std::str::FromStr;
use std::time::Instant;

use cex_identity::StaffRole;
use cex_node::Node;
use common::exchange::{api_key, config_in, fund, limit, login, public, register, Key, User, PASSWORD, WAIT};
use common::http;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Request;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

/// A blocking WebSocket client that reads JSON text messages.
struct Client {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

impl Client {
    fn connect(rest: SocketAddr, path: &str) -> Client {
        Client::open(format!("ws://{rest}{path}").into_client_request().unwrap())
    }

    fn open(request: Request) -> Client {
        let (socket, _) = tungstenite::connect(request).unwrap();
        if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream.set_read_timeout(Some(WAIT)).unwrap();
        }
        Client { socket }
    }

    fn send(&mut self, request: Value) {
        self.socket.send(Message::text(request.to_string())).unwrap();
    }

    /// The next JSON message; control frames are skipped, a timeout fails the test.
    fn next(&mut self) -> Value {
        loop {
            match self.socket.read().unwrap() {
                Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Reads until the server closes; the close code, after how many error replies.
    fn close_code(&mut self) -> (u16, usize) {
        let mut errors = 0;
        loop {
            match self.socket.read().unwrap() {
                Message::Close(frame) => return (frame.map_or(0, |frame| frame.code.into()), errors),
                Message::Text(text) => {
                    let reply: Value = serde_json::from_str(text.as_str()).unwrap();
                    assert_eq!(reply["event"], "error", "{reply}");
                    errors += 1;
                }
                _ => continue,
            }
        }
    }

    /// Sends `request` and returns the reply, which must be of `event`.
    fn ask(&mut self, request: Value, event: &str) -> Value {
        self.send(request.clone());
        let reply = self.next();
        assert_eq!(reply["event"], event, "{request} → {reply}");
        reply
    }
}

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"))).unwrap()
}

struct Market {
    _dir: tempfile::TempDir,
    node: Node,
    rest: SocketAddr,
    alice: User,
    bob: User,
}

/// A node with two funded users: alice holds BTC, bob USDT.
fn market() -> Market {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    let identity_config = cex_node::identity_config(&config);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime
        .block_on(cex_identity::create_staff(&identity_config, "admin@cex.example", StaffRole::Admin, Some(PASSWORD)))
        .unwrap();
    let node = Node::start(&config).unwrap();
    let rest = node.rest_address();
    let admin = login(rest, "/api/admin/auth/login", "admin@cex.example");
    let alice = register(rest, dir.path(), "alice@example.com");
    let bob = register(rest, dir.path(), "bob@example.com");
    fund(rest, &admin, &alice, "BTC", "1000");
    fund(rest, &admin, &bob, "USDT", "100000000");
    Market { _dir: dir, node, rest, alice, bob }
}

#[test]
fn market_streams_carry_trades_refuse_bad_subscriptions_and_keep_depth_in_sync() {
    let market = market();
    trades_reach_a_subscriber(&market);
    bad_subscriptions_get_errors(&market);
    a_depth_client_keeps_the_book(&market);
    the_user_stream_delivers_every_fill_once(&market);
    user_streams_close_once_their_credential_ends(&market);
    market.node.shutdown().unwrap();
}

#[test]
fn stream_limits_cap_sockets_per_ip_and_close_a_flooding_client() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    config.limits.enabled = true;
    (config.limits.ws_sockets_per_ip, config.limits.ws_messages_per_second) = (2, 5);
    let node = Node::start(&config).unwrap();
    let rest = node.rest_address();
    let first = Client::connect(rest, "/stream/trades");
    let mut second = Client::connect(rest, "/stream/depth");
    match tungstenite::connect(format!("ws://{rest}/stream/ticker")) {
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!((response.status().as_u16(), response.headers()["retry-after"].to_str().unwrap()), (429, "1"));
            let body: Value = serde_json::from_slice(response.body().as_deref().unwrap()).unwrap();
            assert_eq!(body["code"], cex_node::RATE_LIMITED_CODE, "{body}");
        }
        other => panic!("a third socket from one IP was not refused: {other:?}"),
    }
    // Once a socket closes, its place is free again (the server notices the close soon).
    drop(first);
    let deadline = Instant::now() + WAIT;
    while tungstenite::connect(format!("ws://{rest}/stream/ticker")).is_err() {
        assert!(Instant::now() < deadline, "the closed socket's place was never given back");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Past the message rate the socket is closed with 1008, after answering the ones allowed.
    for _ in 0..20 {
        second.send(json!({"method": "unsubscribe", "subscriptionId": 99}));
    }
    let (code, answered) = second.close_code();
    assert_eq!(code, 1008);
    assert!((5..20).contains(&answered), "{answered} messages answered before the close");
    node.shutdown().unwrap();
}

fn trades_reach_a_subscriber(market: &Market) {
    let mut trades = Client::connect(market.rest, "/stream/trades?symbol=BTC-USDT");
    let subscribed = trades.next();
    assert_eq!((subscribed["event"].as_str(), subscribed["subscriptionId"].as_u64()), (Some("subscribed"), Some(1)));
    limit(market.rest, &market.alice, "SELL", "50000", "1");
    let bid = limit(market.rest, &market.bob, "BUY", "50000", "0.6");
    let push = trades.next();
    assert_eq!((push["event"].as_str(), push["symbol"].as_str()), (Some("trades"), Some("BTC-USDT")), "{push}");
    assert_eq!((dec(&push["data"]["price"]), dec(&push["data"]["qty"])), (Decimal::from(50_000), dec(&json!("0.6"))));
    assert_eq!(push["data"]["id"], bid["fills"][0]["tradeId"], "{push} {bid}");
    assert_eq!(push["data"]["isBuyerMaker"], false, "the buyer took");
}

fn bad_subscriptions_get_errors(market: &Market) {
    let mut socket = Client::connect(market.rest, "/stream/kline");
    let unknown = socket.ask(json!({"method": "subscribe", "id": 7, "symbol": "NOPE-USDT", "interval": "1m"}), "error");
    assert_eq!(unknown["id"], 7);
    assert!(unknown["code"].as_u64().is_some() && unknown["msg"].as_str().is_some(), "{unknown}");
    socket.ask(json!({"method": "subscribe", "symbol": "BTC-USDT", "interval": "2m"}), "error");
    socket.ask(json!({"method": "subscribe", "symbol": "BTC-USDT", "interval": "1m", "levels": 5}), "error");
    socket.ask(json!({"method": "unsubscribe", "subscriptionId": 99}), "error");
    socket.send(json!("not a request"));
    assert_eq!(socket.next()["event"], "error");
    let subscribed = socket.ask(json!({"method": "subscribe", "symbol": "BTC-USDT", "interval": "1m"}), "subscribed");
    let id = subscribed["subscriptionId"].clone();
    socket.ask(json!({"method": "unsubscribe", "subscriptionId": id}), "unsubscribed");

    let mut depth = Client::connect(market.rest, "/stream/depth?symbol=BTC-USDT&levels=7");
    assert_eq!(depth.next()["event"], "error");
    public(market.rest, "/api/v1/depth?symbol=BTC-USDT");
}

/// A local book: price → (qty, orders) per side.
#[derive(Debug, Default, PartialEq, Eq)]
struct Book {
    bids: BTreeMap<Decimal, (Decimal, u64)>,
    asks: BTreeMap<Decimal, (Decimal, u64)>,
}

impl Book {
    fn from_snapshot(snapshot: &Value) -> Book {
        let mut book = Book::default();
        book.apply(snapshot);
        book
    }

    /// Sets each listed level; quantity 0 removes it.
    fn apply(&mut self, levels: &Value) {
        for (side, book) in [("bids", &mut self.bids), ("asks", &mut self.asks)] {
            for level in levels[side].as_array().unwrap() {
                let (price, qty) = (dec(&level["price"]), dec(&level["qty"]));
                if qty.is_zero() {
                    book.remove(&price);
                } else {
                    book.insert(price, (qty, level["orders"].as_u64().unwrap()));
                }
            }
        }
    }
}

/// Alternating sells and buys around 50,000, a few ticks apart, so some rest and some
/// trade; a fixed linear congruential sequence keeps the run repeatable.
fn burst(rest: SocketAddr, alice: &User, bob: &User, orders: u32) {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for n in 0..orders {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let price = 49_990 + (state >> 33) % 21;
        let quantity = format!("0.{}", 1 + (state >> 40) % 9);
        let (user, side) = if n % 2 == 0 { (alice, "SELL") } else { (bob, "BUY") };
        limit(rest, user, side, &price.to_string(), &quantity);
    }
}

/// A local book kept from the diff stream, at update id `last`.
struct Follower {
    book: Book,
    last: u64,
    /// Whether a diff has been applied since the snapshot: the first may overlap it, every
    /// later one must start right after the one before.
    started: bool,
}

impl Follower {
    fn from_snapshot(snapshot: &Value) -> Follower {
        let last = snapshot["lastUpdateId"].as_u64().unwrap();
        Follower { book: Book::from_snapshot(snapshot), last, started: false }
    }

    /// Applies a diff, unless the snapshot already holds it.
    fn apply(&mut self, diff: &Value) {
        let (first, end) = (diff["firstUpdateId"].as_u64().unwrap(), diff["lastUpdateId"].as_u64().unwrap());
        if end <= self.last {
            assert!(!self.started, "an old diff after the stream started: {first}..={end} at {}", self.last);
            return;
        }
        if self.started {
            assert_eq!(first, self.last + 1, "a gap: at {}, the diff covers {first}..={end}", self.last);
        } else {
            assert!(first <= self.last + 1, "the snapshot at {} is older than the diff {first}..={end}", self.last);
        }
        self.book.apply(diff);
        (self.last, self.started) = (end, true);
    }
}

/// The client's side of the documented rules: buffer diffs, take a snapshot, drop what
/// it already holds, then apply gap-free diffs.
fn a_depth_client_keeps_the_book(market: &Market) {
    let mut diffs = Client::connect(market.rest, "/stream/depth");
    diffs.ask(json!({"method": "subscribe", "symbol": "BTC-USDT"}), "subscribed");
    std::thread::scope(|scope| {
        let orders = scope.spawn(|| burst(market.rest, &market.alice, &market.bob, 80));
        // Some diffs arrive before the snapshot, so the buffering rule is exercised.
        let buffered: Vec<Value> = (0..5).map(|_| diffs.next()["data"].clone()).collect();
        let mut follower = Follower::from_snapshot(&public(market.rest, "/api/v1/depth?symbol=BTC-USDT&limit=5000"));
        buffered.iter().for_each(|diff| follower.apply(diff));
        orders.join().unwrap();
        let end = public(market.rest, "/api/v1/depth?symbol=BTC-USDT&limit=5000");
        let target = end["lastUpdateId"].as_u64().unwrap();
        let deadline = Instant::now() + WAIT;
        while follower.last < target {
            assert!(Instant::now() < deadline, "diffs stopped at {}, the book is at {target}", follower.last);
            follower.apply(&diffs.next()["data"]);
        }
        assert_eq!(follower.book, Book::from_snapshot(&end), "the streamed book and the REST snapshot differ");
        assert!(!end["bids"].as_array().unwrap().is_empty() && !end["asks"].as_array().unwrap().is_empty());
    });
}

/// An account as its user data stream tells it: balances, open orders, fills received.
struct AccountFollower {
    client: Client,
    seq: u64,
    balances: BTreeMap<String, (Decimal, Decimal)>,
    open_orders: BTreeSet<u64>,
    fills: BTreeSet<u64>,
}

impl AccountFollower {
    fn by_token(rest: SocketAddr, token: &str) -> AccountFollower {
        let mut request = format!("ws://{rest}/stream/user").into_client_request().unwrap();
        request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().unwrap());
        AccountFollower::start(Client::open(request))
    }

    fn by_key(rest: SocketAddr, key: &Key) -> AccountFollower {
        let mut request = format!("ws://{rest}/stream/user?{}", key.signed_query("")).into_client_request().unwrap();
        request.headers_mut().insert("X-MBX-APIKEY", key.api_key.parse().unwrap());
        AccountFollower::start(Client::open(request))
    }

    fn start(mut client: Client) -> AccountFollower {
        let snapshot = client.next();
        assert_eq!(snapshot["event"], "snapshot", "{snapshot}");
        let mut follower = AccountFollower {
            client,
            seq: snapshot["seq"].as_u64().unwrap(),
            balances: BTreeMap::new(),
            open_orders: BTreeSet::new(),
            fills: BTreeSet::new(),
        };
        follower.take_balances(&snapshot["balances"]);
        follower.take_orders(&snapshot["openOrders"]);
        follower
    }

    fn take_balances(&mut self, rows: &Value) {
        for row in rows.as_array().unwrap() {
            let asset = row["asset"].as_str().unwrap().to_string();
            self.balances.insert(asset, (dec(&row["available"]), dec(&row["frozen"])));
        }
    }

    fn take_orders(&mut self, orders: &Value) {
        for order in orders.as_array().unwrap() {
            let id = order["orderId"].as_u64().unwrap();
            match order["status"].as_str().unwrap() {
                "NEW" | "PARTIALLY_FILLED" => self.open_orders.insert(id),
                _ => self.open_orders.remove(&id),
            };
        }
    }

    /// Applies updates until one shows order `order_id`: the stream is in sequence order, so
    /// every command before it has been delivered.
    fn follow_until_order(&mut self, order_id: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "order {order_id} never came on the user stream");
            let update = self.client.next();
            assert_eq!(update["event"], "accountUpdate", "{update}");
            let seq = update["seq"].as_u64().unwrap();
            assert!(seq > self.seq, "sequence {seq} after {}", self.seq);
            self.seq = seq;
            for fill in update["fills"].as_array().unwrap() {
                let trade_id = fill["tradeId"].as_u64().unwrap();
                assert!(self.fills.insert(trade_id), "trade {trade_id} delivered twice");
            }
            self.take_balances(&update["balances"]);
            self.take_orders(&update["orders"]);
            if update["orders"].as_array().unwrap().iter().any(|order| order["orderId"] == order_id) {
                return;
            }
        }
    }

    /// Checks the followed account against REST, and that the fills received are exactly
    /// the trades REST lists beyond `before`.
    fn assert_matches_rest(&self, rest: SocketAddr, user: &User, before: &BTreeSet<u64>) {
        let balances = get(rest, "/api/v1/account/balance", user);
        let mut expected = BTreeMap::new();
        for row in balances["balances"].as_array().unwrap() {
            expected.insert(row["asset"].as_str().unwrap().to_string(), (dec(&row["available"]), dec(&row["frozen"])));
        }
        assert_eq!(self.balances, expected, "streamed balances differ from REST");
        let open = get(rest, "/api/v1/orders/open?limit=500", user);
        let open: BTreeSet<u64> =
            open["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_u64().unwrap()).collect();
        assert_eq!(self.open_orders, open, "streamed open orders differ from REST");
        let new_trades: BTreeSet<u64> = trade_ids(rest, user).difference(before).copied().collect();
        assert!(!new_trades.is_empty());
        assert_eq!(self.fills, new_trades, "the stream's fills are not exactly the new trades");
    }
}

fn get(rest: SocketAddr, path: &str, user: &User) -> Value {
    let (status, reply) = http(rest, "GET", path, None, Some(&user.token));
    assert_eq!(status, 200, "{path}: {reply}");
    reply
}

fn trade_ids(rest: SocketAddr, user: &User) -> BTreeSet<u64> {
    let trades = get(rest, "/api/v1/trades?limit=1000", user);
    trades["trades"].as_array().unwrap().iter().map(|trade| trade["tradeId"].as_u64().unwrap()).collect()
}

fn the_user_stream_delivers_every_fill_once(market: &Market) {
    match tungstenite::connect(format!("ws://{}/stream/user", market.rest)) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("an anonymous user stream was not refused: {other:?}"),
    }
    let key = api_key(market.rest, &market.bob, &["read"]);
    let (alice, bob) = (&market.alice, &market.bob);
    let before = [trade_ids(market.rest, alice), trade_ids(market.rest, bob)];
    let mut followers =
        [AccountFollower::by_token(market.rest, &alice.token), AccountFollower::by_key(market.rest, &key)];
    // The stream takes no requests, and says so without closing.
    followers[0].client.send(json!({"method": "subscribe"}));
    assert_eq!(followers[0].client.next()["event"], "error");

    burst(market.rest, alice, bob, 60);
    // One last order each, away from the burst's prices so it rests: once the stream shows
    // it, it has shown everything before it.
    let markers = [limit(market.rest, alice, "SELL", "50500", "0.1"), limit(market.rest, bob, "BUY", "49500", "0.1")];
    for ((follower, marker), (user, before)) in
        followers.iter_mut().zip(&markers).zip([alice, bob].into_iter().zip(&before))
    {
        follower.follow_until_order(marker["order"]["orderId"].as_u64().unwrap());
        follower.assert_matches_rest(market.rest, user, before);
    }
}

/// A user stream is closed with 1008 once the credential it was opened with ends (checked
/// every `RECHECK_EVERY`): a deleted key, a session logged out. A stream whose credential
/// still holds stays open.
fn user_streams_close_once_their_credential_ends(market: &Market) {
    let (rest, alice, bob) = (market.rest, &market.alice, &market.bob);
    let mut holds = AccountFollower::by_token(rest, &bob.token);
    let key = api_key(rest, bob, &["read"]);
    let mut by_key = AccountFollower::by_key(rest, &key);
    let keys = get(rest, "/api/v1/security/api-keys", bob);
    let id = keys["apiKeys"].as_array().unwrap().iter().find(|row| row["apiKey"] == key.api_key.as_str()).unwrap()
        ["id"]
        .as_i64()
        .unwrap();
    let (status, reply) =
        http(rest, "DELETE", &format!("/api/v1/security/api-key/{id}"), Some(&json!({})), Some(&bob.token));
    assert_eq!(status, 200, "{reply}");
    assert_eq!(by_key.client.close_code(), (1008, 0), "the deleted key's stream");

    // That took a recheck; the stream opened before it by a live session is still served.
    holds.client.send(json!({"method": "subscribe"}));
    assert_eq!(holds.client.next()["event"], "error", "still open, and answering");

    let mut by_token = AccountFollower::by_token(rest, &alice.token);
    let (status, reply) = http(rest, "POST", "/api/v1/auth/logout", None, Some(&alice.token));
    assert_eq!(status, 200, "{reply}");
    assert_eq!(by_token.client.close_code(), (1008, 0), "the logged-out session's stream");
}
