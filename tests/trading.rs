//! The trading REST API end to end, on a node started in-process and spoken to over TCP:
//! users register, staff fund them, two users trade, and balances, open orders, order
//! history, trades, klines and the 24 h ticker agree with the fills; bad input is refused
//! with `{code, msg}` and changes nothing; a read-only key cannot trade; non-admin staff
//! cannot adjust balances; the read model is rebuilt from the journal after a restart.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use cex_identity::StaffRole;
use cex_node::Node;
use common::exchange::{api_key, config_in, fund, limit, login, public, register, Key, User, PASSWORD, WAIT};
use common::{http, request};
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"))).unwrap()
}

/// A request signed with `key`, now.
fn signed(rest: SocketAddr, method: &str, path: &str, key: &Key, body: &str) -> (u16, Value) {
    let header = format!("X-MBX-APIKEY: {}", key.api_key);
    request(rest, method, &format!("{path}?{}", key.signed_query(body)), body, &[&header])
}

fn get(rest: SocketAddr, path: &str, user: &User) -> Value {
    let (status, reply) = http(rest, "GET", path, None, Some(&user.token));
    assert_eq!(status, 200, "{path}: {reply}");
    reply
}

/// (available, frozen) of `asset`.
fn balance(rest: SocketAddr, user: &User, asset: &str) -> (Decimal, Decimal) {
    let reply = get(rest, "/api/v1/account/balance", user);
    let row = reply["balances"].as_array().unwrap().iter().find(|row| row["asset"] == asset).cloned();
    row.map_or((Decimal::ZERO, Decimal::ZERO), |row| (dec(&row["available"]), dec(&row["frozen"])))
}

/// A gauge's value on the ops port's /metrics.
fn metric(ops: SocketAddr, name: &str) -> f64 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(ops).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: cex\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let line =
        response.lines().find(|line| line.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// What each user sees of their account: balances, open orders, history, trades.
fn views(rest: SocketAddr, users: &[&User]) -> Vec<Value> {
    let paths = ["/api/v1/account/balance", "/api/v1/orders/open", "/api/v1/orders/history", "/api/v1/trades"];
    users.iter().flat_map(|user| paths.iter().map(|path| get(rest, path, user))).collect()
}

/// The market's public views.
fn market_views(rest: SocketAddr) -> Vec<Value> {
    [
        "/api/v1/depth?symbol=BTC-USDT",
        "/api/v1/historical-trades?symbol=BTC-USDT",
        "/api/v1/klines?symbol=BTC-USDT&interval=1h",
    ]
    .iter()
    .map(|path| public(rest, path))
    .collect()
}

#[test]
fn two_users_trade_through_rest_and_everything_agrees_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    create_staff(&config);
    let node = Node::start(&config).unwrap();
    let (rest, ops) = (node.rest_address(), node.ops_address());
    let (admin, alice, bob) = alice_and_bob(rest, dir.path(), "2", "100000");

    let ask = limit(rest, &alice, "SELL", "50000", "1");
    assert_eq!(ask["order"]["status"], "NEW");
    let bid = limit(rest, &bob, "BUY", "50000", "0.6");
    assert_eq!((bid["order"]["status"].as_str(), dec(&bid["fills"][0]["qty"])), (Some("FILLED"), d("0.6")));
    let market = json!({"symbol": "BTC-USDT", "side": "BUY", "quantity": "0.1"});
    let (status, bought) = http(rest, "POST", "/api/v1/orders/market", Some(&market), Some(&bob.token));
    assert_eq!((status, bought["order"]["status"].as_str()), (200, Some("FILLED")), "{bought}");

    // The account views agree with the fills.
    let ask_id = ask["order"]["orderId"].as_u64().unwrap();
    let open = get(rest, "/api/v1/orders/open", &alice);
    assert_eq!((open["total"].as_u64(), open["orders"][0]["orderId"].as_u64()), (Some(1), Some(ask_id)));
    assert_eq!(dec(&open["orders"][0]["executedQty"]), d("0.7"));
    assert_eq!(get(rest, "/api/v1/orders/history", &bob)["total"], 2);
    let trades = get(rest, "/api/v1/trades", &alice)["trades"].as_array().unwrap().clone();
    let fees: Decimal = trades.iter().map(|t| dec(&t["fee"])).sum();
    assert_eq!((trades.len(), fees), (2, d("35")), "10 bps of 35,000 USDT");
    assert_eq!(balance(rest, &alice, "BTC"), (d("1"), d("0.3")));
    assert_eq!(balance(rest, &alice, "USDT"), (d("35000") - fees, Decimal::ZERO));
    assert_eq!(balance(rest, &bob, "USDT"), (d("65000"), Decimal::ZERO));
    assert_eq!(balance(rest, &bob, "BTC"), (d("0.7") * d("0.998"), Decimal::ZERO), "20 bps taker fee in BTC");

    // So do the market's.
    let ticker = &public(rest, "/api/v1/ticker/24hr?symbol=BTC-USDT")[0];
    assert_eq!(
        (dec(&ticker["volume"]), dec(&ticker["quoteVolume"]), &ticker["count"]),
        (d("0.7"), d("35000"), &json!(2))
    );
    assert_eq!((dec(&ticker["lastPrice"]), dec(&ticker["askQty"])), (d("50000"), d("0.3")));
    for interval in ["1s", "1m", "1h", "1d", "1w", "1M"] {
        let klines = public(rest, &format!("/api/v1/klines?symbol=BTC-USDT&interval={interval}"));
        let volume: Decimal = klines["klines"].as_array().unwrap().iter().map(|k| dec(&k["volume"])).sum();
        assert_eq!(volume, d("0.7"), "{interval}");
    }
    let depth = public(rest, "/api/v1/depth?symbol=BTC-USDT");
    assert_eq!(depth["asks"], json!([{"price": "50000", "qty": "0.3", "orders": 1}]));
    assert!(metric(ops, "cex_projection_sequence") > 0.0);
    assert!(metric(ops, "cex_projection_lag_commands") >= 0.0);

    refusals_change_nothing(rest, ops, &admin, &alice, &bob, ask_id);
    keys_and_staff_are_held_to_their_permissions(rest, dir.path(), &alice, &bob);

    // After a restart the read model is rebuilt from the journal: the same views.
    let node = restart_with_the_same_views(node, &config, &[&alice, &bob]);
    let rest = node.rest_address();
    let placed = limit(rest, &bob, "BUY", "49000", "0.1");
    assert_eq!(placed["order"]["status"], "NEW", "trading goes on");
    node.shutdown().unwrap();
}

/// A request that must be refused: what it is, the request, the code it must get, and
/// whose token sends it.
struct Refusal<'a> {
    what: &'static str,
    method: &'static str,
    path: String,
    body: Option<Value>,
    code: u64,
    token: &'a str,
}

/// Each kind of bad input gets a 4xx with `{code, msg}`; none changes what anyone sees, and
/// those refused at the edge never reach the engine.
fn refusals_change_nothing(rest: SocketAddr, ops: SocketAddr, admin: &str, alice: &User, bob: &User, alices: u64) {
    let by_bob = |what, method, path: &str, body: Option<Value>, code| Refusal {
        what,
        method,
        path: path.to_string(),
        body,
        code,
        token: &bob.token,
    };
    let order = |price: &str, quantity: &str| {
        Some(json!({"symbol": "BTC-USDT", "side": "BUY", "price": price, "quantity": quantity}))
    };
    let limit = "/api/v1/orders/limit";
    let alices_order = format!("/api/v1/orders/{alices}");
    let euro = Some(json!({"symbol": "BTC-EUR", "side": "BUY", "quantity": "1"}));
    let no_reason = Some(json!({"asset": "BTC", "amount": "1", "reason": ""}));
    let cases = [
        by_bob("malformed decimal", "POST", limit, order("5O000", "0.1"), 2000),
        by_bob("more decimals than the tick", "POST", limit, order("50000.005", "0.1"), 2001),
        by_bob("more decimals than the lot", "POST", limit, order("50000", "0.00001"), 2002),
        by_bob("negative quantity", "POST", limit, order("50000", "-1"), 2003),
        by_bob("zero quantity", "POST", limit, order("50000", "0"), 2003),
        by_bob("unknown symbol", "POST", "/api/v1/orders/market", euro, 2004),
        by_bob("someone else's order", "GET", &alices_order, None, 2008),
        by_bob("modify someone else's order", "PUT", &alices_order, Some(json!({"newPrice": "1"})), 2008),
        by_bob("cancel someone else's order", "DELETE", &alices_order, None, 3071),
        by_bob("beyond the funds", "POST", limit, order("50000", "10"), 3038),
        Refusal {
            token: admin,
            ..by_bob("no reason", "POST", &format!("/api/admin/accounts/{}/adjust", bob.id), no_reason, 2006)
        },
    ];
    for case in cases {
        let before = (views(rest, &[alice, bob]), market_views(rest), metric(ops, "cex_journal_sequence"));
        let (status, reply) = http(rest, case.method, &case.path, case.body.as_ref(), Some(case.token));
        let what = case.what;
        assert_eq!(reply["code"].as_u64(), Some(case.code), "{what}: {status} {reply}");
        assert!((400..500).contains(&status), "{what}: {status}");
        assert!(reply["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{what}: {reply}");
        let after = (views(rest, &[alice, bob]), market_views(rest), metric(ops, "cex_journal_sequence"));
        assert_eq!((&before.0, &before.1), (&after.0, &after.1), "{what} changed what users see");
        if case.code < 3000 {
            assert_eq!(before.2, after.2, "{what} reached the engine");
        }
    }
}

fn keys_and_staff_are_held_to_their_permissions(rest: SocketAddr, data_dir: &Path, alice: &User, bob: &User) {
    let read_only = api_key(rest, bob, &["read"]);
    let order = json!({"symbol": "BTC-USDT", "side": "BUY", "price": "49000", "quantity": "0.1"}).to_string();
    let before = views(rest, &[alice, bob]);
    let (status, reply) = signed(rest, "POST", "/api/v1/orders/limit", &read_only, &order);
    assert_eq!((status, reply["code"].as_u64()), (403, Some(1109)), "{reply}");
    let (status, reply) = signed(rest, "GET", "/api/v1/account/balance", &read_only, "");
    assert_eq!((status, reply["accountType"].as_str()), (200, Some("SPOT")), "the key reads");
    let trader = api_key(rest, bob, &["trade"]);
    let (status, reply) = signed(rest, "POST", "/api/v1/orders/limit", &trader, &order);
    assert_eq!((status, reply["order"]["status"].as_str()), (200, Some("NEW")), "{reply}");
    let (status, _) = signed(rest, "DELETE", "/api/v1/orders", &trader, "");
    assert_eq!(status, 200);
    assert_eq!(views(rest, &[alice, bob])[..4], before[..4], "alice's account untouched");

    let operator = login(rest, "/api/admin/auth/login", "ops@cex.example");
    let body = json!({"asset": "USDT", "amount": "1000000", "reason": "not an admin"});
    let (status, reply) =
        http(rest, "POST", &format!("/api/admin/accounts/{}/adjust", bob.id), Some(&body), Some(&operator));
    assert_eq!((status, reply["code"].as_u64()), (403, Some(1103)), "{reply}");
    let (status, reply) =
        http(rest, "POST", &format!("/api/admin/accounts/{}/adjust", bob.id), Some(&body), Some(&bob.token));
    assert_eq!((status, reply["code"].as_u64()), (403, Some(1103)), "a trader is no admin: {reply}");
    assert_eq!(balance(rest, bob, "USDT"), (d("65000"), Decimal::ZERO));
    assert!(data_dir.join("outbox.log").exists());
}

/// The admin's token, then alice funded with `btc` and bob with `usdt`, both registered
/// over REST.
fn alice_and_bob(rest: SocketAddr, data_dir: &Path, btc: &str, usdt: &str) -> (String, User, User) {
    let admin = login(rest, "/api/admin/auth/login", "admin@cex.example");
    let alice = register(rest, data_dir, "alice@example.com");
    let bob = register(rest, data_dir, "bob@example.com");
    fund(rest, &admin, &alice, "BTC", btc);
    fund(rest, &admin, &bob, "USDT", usdt);
    (admin, alice, bob)
}

/// Stops `node` and starts it again on `config`; returns once the restarted read model
/// shows `users` and the market exactly as before.
fn restart_with_the_same_views(node: Node, config: &cex_config::NodeConfig, users: &[&User]) -> Node {
    let rest = node.rest_address();
    let before = (views(rest, users), market_views(rest));
    node.shutdown().unwrap();
    let node = Node::start(config).unwrap();
    let rest = node.rest_address();
    let deadline = Instant::now() + WAIT;
    while (views(rest, users), market_views(rest)) != before {
        assert!(Instant::now() < deadline, "the read model did not come back");
        std::thread::sleep(Duration::from_millis(20));
    }
    node
}

/// An admin (`admin@cex.example`) and an operator (`ops@cex.example`), both with `PASSWORD`.
fn create_staff(config: &cex_config::NodeConfig) {
    let identity_config = cex_node::identity_config(config);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for (email, role) in [("admin@cex.example", StaffRole::Admin), ("ops@cex.example", StaffRole::Operator)] {
        runtime.block_on(cex_identity::create_staff(&identity_config, email, role, Some(PASSWORD))).unwrap();
    }
}

/// `fsync` durability on the default (io_uring) writer: an order is answered only once its
/// command is durable (the node's consumers wait for durability), the read model follows,
/// and a restart recovers the same state.
#[test]
fn in_fsync_mode_orders_are_answered_once_durable_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    config.journal.durability = cex_journal::Durability::Fsync;
    create_staff(&config);
    let node = Node::start(&config).unwrap();
    let (rest, ops) = (node.rest_address(), node.ops_address());
    let (_, alice, bob) = alice_and_bob(rest, dir.path(), "1", "60000");
    for price in ["50000", "50100", "50200"] {
        assert_eq!(limit(rest, &alice, "SELL", price, "0.2")["order"]["status"], "NEW");
    }
    let bid = limit(rest, &bob, "BUY", "50100", "0.3");
    assert_eq!(bid["order"]["status"], "FILLED", "{bid}");
    // Nothing else runs on this node: the last command, the bid, is durable since it was answered.
    let (_, status) = common::get(ops.port(), "/ready").unwrap();
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["durable_sequence"], status["journal_sequence"], "{status}");
    assert_eq!(balance(rest, &alice, "BTC"), (d("0.4"), d("0.3")));

    let node = restart_with_the_same_views(node, &config, &[&alice, &bob]);
    let rest = node.rest_address();
    assert_eq!(limit(rest, &bob, "BUY", "50200", "0.1")["order"]["status"], "FILLED", "trading goes on");
    node.shutdown().unwrap();
}

#[test]
fn without_a_journal_the_read_model_starts_from_the_reference_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    config.journal.durability = cex_journal::Durability::None;
    let node = Node::start(&config).unwrap();
    let (rest, ops) = (node.rest_address(), node.ops_address());
    // The listing commands were applied before the pipeline started and no journal holds
    // them: the model has them from the node, so the books exist and the symbols trade.
    let depth = public(rest, "/api/v1/depth?symbol=ETH-USDT");
    assert_eq!((depth["bids"].clone(), depth["asks"].clone()), (json!([]), json!([])));
    assert!(depth["lastUpdateId"].as_u64().unwrap() > 0, "{depth}");
    let listed = public(rest, "/api/v1/assets/listed");
    assert!(listed["assets"].as_array().unwrap().iter().all(|asset| asset["status"] == "TRADING"), "{listed}");
    assert_eq!(metric(ops, "cex_projection_lag_commands"), 0.0);
    assert_eq!(metric(ops, "cex_projection_sequence"), metric(ops, "cex_journal_sequence"));
    node.shutdown().unwrap();
}

/// A GET: (status, the Retry-After header, the JSON body).
fn get_with_retry_after(rest: SocketAddr, path: &str, bearer: Option<&str>) -> (u16, Option<u64>, Value) {
    use std::io::{Read, Write};
    let auth = bearer.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
    let mut stream = std::net::TcpStream::connect(rest).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: cex\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let retry_after = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("retry-after:").map(|v| v.trim().parse().unwrap()));
    (status, retry_after, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn assert_rate_limited(reply: (u16, Option<u64>, Value)) {
    let (status, retry_after, body) = reply;
    assert_eq!(status, 429, "{body}");
    assert!(retry_after.is_some_and(|seconds| seconds >= 1), "Retry-After: {retry_after:?}");
    assert_eq!(body["code"], cex_node::RATE_LIMITED_CODE);
    assert!(body["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{body}");
}

#[test]
fn rate_limits_refuse_a_burst_per_user_and_per_ip() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config_in(dir.path());
    // A refill far slower than the test, so only the bursts count.
    config.limits = cex_config::LimitSettings {
        enabled: true,
        ip_per_second: 1,
        ip_burst: 30,
        user_per_second: 1,
        user_burst: 4,
        max_tracked: 100,
        ..cex_config::LimitSettings::default()
    };
    let node = Node::start(&config).unwrap();
    let rest = node.rest_address();
    // Six requests from this IP, each under both limits: none refused.
    let alice = register(rest, dir.path(), "alice@example.com");
    let bob = register(rest, dir.path(), "bob@example.com");

    for _ in 0..4 {
        assert_eq!(get_with_retry_after(rest, "/api/v1/account/balance", Some(&alice.token)).0, 200);
    }
    assert_rate_limited(get_with_retry_after(rest, "/api/v1/account/balance", Some(&alice.token)));
    assert_eq!(get_with_retry_after(rest, "/api/v1/account/balance", Some(&bob.token)).0, 200, "bob has his own");

    // Twelve of the IP's 30 are spent; the public endpoints count against the IP only.
    let refused =
        (0..30).map(|_| get_with_retry_after(rest, "/api/v1/depth?symbol=BTC-USDT", None)).find(|r| r.0 != 200);
    assert_rate_limited(refused.expect("the IP's burst ran out"));
    node.shutdown().unwrap();
}
