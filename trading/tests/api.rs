//! The trading API against an engine in the same process: two users trade and every view
//! agrees with the fills; bad input is refused with `{code, msg}` and changes nothing;
//! modify, cancel and cancel-all; stops; staff adjustments and their audit.

mod common;

use std::str::FromStr;

use axum::http::{Method, StatusCode};
use cex_identity::StaffRole;
use common::{Harness, User};
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"))).unwrap()
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

async fn limit(h: &Harness, user: &User, side: &str, price: &str, quantity: &str) -> Value {
    let body = json!({"symbol": "BTC-USDT", "side": side, "price": price, "quantity": quantity});
    let reply = h.post("/api/v1/orders/limit", Some(&user.token), body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}: {reply:?}", h.name);
    reply.body
}

/// The balance of `asset`: (available, frozen).
async fn balance(h: &Harness, user: &User, asset: &str) -> (Decimal, Decimal) {
    let reply = h.get("/api/v1/account/balance", &user.token).await;
    let row = reply.body["balances"].as_array().unwrap().iter().find(|row| row["asset"] == asset).cloned();
    row.map_or((Decimal::ZERO, Decimal::ZERO), |row| (dec(&row["available"]), dec(&row["frozen"])))
}

/// Sum of `field` over a user's trades with `side`.
fn total(trades: &[Value], side: &str, field: &str) -> Decimal {
    trades.iter().filter(|t| t["side"] == side).map(|t| dec(&t[field])).sum()
}

struct Market {
    h: Harness,
    admin: String,
    alice: User,
    bob: User,
}

async fn market(h: Harness) -> Market {
    let admin = h.staff("admin@cex.example", StaffRole::Admin).await;
    let alice = h.user("alice@example.com").await;
    let bob = h.user("bob@example.com").await;
    h.fund(&admin, &alice, "BTC", "2").await;
    h.fund(&admin, &bob, "USDT", "200000").await;
    Market { h, admin, alice, bob }
}

#[tokio::test]
async fn two_users_trade_and_every_view_agrees_with_the_fills() {
    for h in Harness::all().await {
        let Market { h, alice, bob, .. } = market(h).await;
        let name = h.name;
        let first = limit(&h, &alice, "SELL", "60000", "1").await;
        assert_eq!((first["order"]["status"].as_str(), first["fills"].as_array().unwrap().len()), (Some("NEW"), 0));
        let second = limit(&h, &alice, "SELL", "61000", "0.5").await;
        let taken = limit(&h, &bob, "BUY", "60000", "0.4").await;
        assert_eq!(taken["order"]["status"], "FILLED", "{name}: {taken}");
        let fill = &taken["fills"][0];
        assert_eq!((dec(&fill["price"]), dec(&fill["qty"]), &fill["isMaker"]), (d("60000"), d("0.4"), &json!(false)));
        assert_eq!((dec(&fill["fee"]), fill["feeAsset"].as_str()), (d("0.0008"), Some("BTC")), "20 bps of 0.4 BTC");
        let body = json!({"symbol": "BTC-USDT", "side": "BUY", "quantity": "0.8"});
        let market = h.post("/api/v1/orders/market", Some(&bob.token), body).await;
        assert_eq!(market.status, StatusCode::OK, "{name}: {market:?}");
        let fills: Vec<(Decimal, Decimal)> =
            market.body["fills"].as_array().unwrap().iter().map(|f| (dec(&f["price"]), dec(&f["qty"]))).collect();
        assert_eq!(fills, [(d("60000"), d("0.6")), (d("61000"), d("0.2"))], "{name}");
        assert_eq!(
            (market.body["order"]["status"].as_str(), market.body["order"]["type"].as_str()),
            (Some("FILLED"), Some("MARKET"))
        );

        // Orders.
        let first_id = first["order"]["orderId"].as_u64().unwrap();
        let second_id = second["order"]["orderId"].as_u64().unwrap();
        let detail = h.get(&format!("/api/v1/orders/{first_id}"), &alice.token).await.body;
        assert_eq!((detail["status"].as_str(), dec(&detail["executedQty"])), (Some("FILLED"), d("1")));
        assert_eq!(dec(&detail["cumulativeQuoteQty"]), d("60000"));
        let open = h.get("/api/v1/orders/open", &alice.token).await.body;
        assert_eq!(open["total"], 1, "{name}: {open}");
        assert_eq!(open["orders"][0]["orderId"], second_id);
        assert_eq!(
            (open["orders"][0]["status"].as_str(), dec(&open["orders"][0]["executedQty"])),
            (Some("PARTIALLY_FILLED"), d("0.2"))
        );
        assert_eq!(h.get("/api/v1/orders/open", &bob.token).await.body["total"], 0);
        let history = h.get("/api/v1/orders/history", &alice.token).await.body;
        let ids: Vec<u64> =
            history["orders"].as_array().unwrap().iter().map(|o| o["orderId"].as_u64().unwrap()).collect();
        assert_eq!(ids, [second_id, first_id], "{name}: newest first");
        assert_eq!(h.get("/api/v1/orders/history", &bob.token).await.body["total"], 2);

        // Trades, and balances that follow from them exactly.
        let alice_trades = h.get("/api/v1/trades", &alice.token).await.body["trades"].as_array().unwrap().clone();
        let bob_trades = h.get("/api/v1/trades", &bob.token).await.body["trades"].as_array().unwrap().clone();
        assert_eq!((alice_trades.len(), bob_trades.len()), (3, 3), "{name}");
        assert!(alice_trades.iter().all(|t| t["isMaker"] == true && t["side"] == "SELL" && t["feeAsset"] == "USDT"));
        assert!(bob_trades.iter().all(|t| t["isMaker"] == false && t["side"] == "BUY" && t["feeAsset"] == "BTC"));
        let ids: Vec<u64> = bob_trades.iter().map(|t| t["tradeId"].as_u64().unwrap()).collect();
        assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{name}: newest first");
        let (sold, proceeds) = (total(&alice_trades, "SELL", "qty"), total(&alice_trades, "SELL", "quoteQty"));
        assert_eq!((sold, proceeds), (d("1.2"), d("72200")));
        let alice_fees = total(&alice_trades, "SELL", "fee");
        assert_eq!(alice_fees, d("72.2"), "10 bps maker fee in USDT");
        assert_eq!(balance(&h, &alice, "BTC").await, (d("2") - sold - d("0.3"), d("0.3")), "{name}");
        assert_eq!(balance(&h, &alice, "USDT").await, (proceeds - alice_fees, Decimal::ZERO), "{name}");
        let bob_fees = total(&bob_trades, "BUY", "fee");
        assert_eq!(balance(&h, &bob, "BTC").await, (d("1.2") - bob_fees, Decimal::ZERO), "{name}");
        assert_eq!(balance(&h, &bob, "USDT").await, (d("200000") - proceeds, Decimal::ZERO), "{name}");
        let only_first = h.get(&format!("/api/v1/trades?orderId={first_id}"), &alice.token).await.body;
        assert_eq!(total(only_first["trades"].as_array().unwrap(), "SELL", "qty"), d("1"));

        // Public market data.
        let public = h.public("/api/v1/historical-trades?symbol=BTC-USDT").await.body;
        let public = public["trades"].as_array().unwrap();
        assert_eq!(public.len(), 3);
        assert!(public.iter().all(|t| t["isBuyerMaker"] == false), "the takers bought");
        assert_eq!(public.iter().map(|t| dec(&t["qty"])).sum::<Decimal>(), sold);
        for interval in
            ["1s", "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M"]
        {
            let klines = h.public(&format!("/api/v1/klines?symbol=BTC-USDT&interval={interval}")).await.body;
            let klines = klines["klines"].as_array().unwrap();
            assert_eq!(klines.iter().map(|k| dec(&k["volume"])).sum::<Decimal>(), sold, "{name}: {interval}");
            assert_eq!(klines.iter().map(|k| dec(&k["quoteVolume"])).sum::<Decimal>(), proceeds, "{name}: {interval}");
            assert_eq!(klines.iter().map(|k| k["trades"].as_u64().unwrap()).sum::<u64>(), 3);
            assert_eq!(dec(&klines.last().unwrap()["close"]), d("61000"));
        }
        let ticker = &h.public("/api/v1/ticker/24hr?symbol=BTC-USDT").await.body[0];
        assert_eq!(
            (dec(&ticker["volume"]), dec(&ticker["quoteVolume"]), &ticker["count"]),
            (sold, proceeds, &json!(3))
        );
        assert_eq!(
            (dec(&ticker["openPrice"]), dec(&ticker["highPrice"]), dec(&ticker["lowPrice"])),
            (d("60000"), d("61000"), d("60000"))
        );
        assert_eq!(
            (dec(&ticker["lastPrice"]), dec(&ticker["priceChange"]), dec(&ticker["priceChangePercent"])),
            (d("61000"), d("1000"), d("1.667"))
        );
        assert_eq!(dec(&ticker["weightedAvgPrice"]), d("60166.666666"), "72200 / 1.2, cut to USDT's decimals");
        assert_eq!(
            (dec(&ticker["askPrice"]), dec(&ticker["askQty"]), &ticker["bidPrice"]),
            (d("61000"), d("0.3"), &Value::Null)
        );
        let depth = h.public("/api/v1/depth?symbol=BTC-USDT").await.body;
        assert_eq!(depth["bids"], json!([]));
        assert_eq!(depth["asks"], json!([{"price": "61000", "qty": "0.3", "orders": 1}]));
        assert!(depth["lastUpdateId"].as_u64().unwrap() > 0);
        let all = h.public("/api/v1/ticker/24hr").await.body;
        assert_eq!(all.as_array().unwrap().len(), 2, "every symbol");
        let volume = h.public("/api/v1/volume?symbol=BTC-USDT&interval=1d").await.body;
        assert_eq!(
            (dec(&volume["volume"]), dec(&volume["quoteVolume"]), &volume["trades"]),
            (sold, proceeds, &json!(3))
        );
        let ranking = h.public("/api/v1/volume/ranking?quoteCurrency=USDT").await.body;
        let ranked: Vec<(&str, Decimal)> = ranking["ranking"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| (row["symbol"].as_str().unwrap(), dec(&row["quoteVolume"])))
            .collect();
        assert_eq!(ranked, [("BTC-USDT", proceeds), ("ETH-USDT", Decimal::ZERO)]);
        let daily = h.public("/api/v1/volume/ranking?quoteCurrency=USDT&period=1d&limit=1").await.body;
        assert_eq!((daily["period"].as_str(), daily["ranking"].as_array().unwrap().len()), (Some("1d"), 1));
        let listed = h.public("/api/v1/assets/listed?status=TRADING").await.body;
        assert_eq!(listed["total"], 3, "{name}: {listed}");

        // What alice holds, valued at the last price.
        let valuation = h.get("/api/v1/account/valuation?quoteCurrency=USDT", &alice.token).await.body;
        let btc_value = (d("2") - sold) * d("61000");
        assert_eq!(dec(&valuation["total"]), btc_value + proceeds - alice_fees, "{name}: {valuation}");
        assert_eq!(valuation["unpriced"], json!([]));
        let in_btc = h.get("/api/v1/account/valuation?quoteCurrency=BTC", &alice.token).await.body;
        let usdt_row = in_btc["assets"].as_array().unwrap().iter().find(|row| row["asset"] == "USDT").unwrap().clone();
        assert_eq!(
            dec(&usdt_row["value"]),
            ((proceeds - alice_fees) / d("61000")).round_dp_with_strategy(8, rust_decimal::RoundingStrategy::ToZero)
        );
    }
}

/// Everything a bad request must leave as it was: the engine and what the users see.
async fn snapshot(h: &Harness, users: &[&User]) -> (u64, u64, Vec<Value>) {
    let (hash, seq) = h.exchange.fingerprint();
    let mut views = Vec::new();
    for user in users {
        views.push(h.get("/api/v1/account/balance", &user.token).await.body);
        views.push(h.get("/api/v1/orders/open", &user.token).await.body);
    }
    (hash, seq, views)
}

#[tokio::test]
async fn bad_input_gets_its_code_and_changes_nothing() {
    for h in Harness::all().await {
        let Market { h, alice, bob, .. } = market(h).await;
        let name = h.name;
        let resting = limit(&h, &alice, "SELL", "60000", "0.5").await["order"]["orderId"].as_u64().unwrap();
        let order = |price: Value, quantity: Value| json!({"symbol": "BTC-USDT", "side": "BUY", "price": price, "quantity": quantity});
        let cases: Vec<(&str, Method, String, Value, u64)> = vec![
            (
                "malformed price",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60,000"), json!("0.1")),
                2000,
            ),
            (
                "malformed quantity",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60000"), json!("1e-1")),
                2000,
            ),
            (
                "a number, not a string",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!(60000), json!("0.1")),
                1002,
            ),
            (
                "price finer than the tick",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60000.001"), json!("0.1")),
                2001,
            ),
            (
                "price finer than USDT",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60000.0000001"), json!("0.1")),
                2001,
            ),
            (
                "quantity finer than the lot",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60000"), json!("0.00015")),
                2002,
            ),
            (
                "negative quantity",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60000"), json!("-0.1")),
                2003,
            ),
            ("zero quantity", Method::POST, "/api/v1/orders/limit".into(), order(json!("60000"), json!("0")), 2003),
            ("zero price", Method::POST, "/api/v1/orders/limit".into(), order(json!("0"), json!("0.1")), 2003),
            (
                "huge quantity",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60000"), json!("1000000000000")),
                2007,
            ),
            (
                "unknown symbol",
                Method::POST,
                "/api/v1/orders/limit".into(),
                json!({"symbol": "DOGE-USDT", "side": "BUY", "price": "1", "quantity": "1"}),
                2004,
            ),
            (
                "bad side",
                Method::POST,
                "/api/v1/orders/limit".into(),
                json!({"symbol": "BTC-USDT", "side": "HOLD", "price": "60000", "quantity": "0.1"}),
                2006,
            ),
            (
                "market order with both sizes",
                Method::POST,
                "/api/v1/orders/market".into(),
                json!({"symbol": "BTC-USDT", "side": "BUY", "quantity": "0.1", "quoteOrderQty": "100"}),
                2006,
            ),
            (
                "negative stop",
                Method::POST,
                "/api/v1/orders/stop-limit".into(),
                json!({"symbol": "BTC-USDT", "side": "SELL", "stopPrice": "-5", "price": "59000", "quantity": "0.1"}),
                2003,
            ),
            (
                "GTD without expiry",
                Method::POST,
                "/api/v1/orders/limit".into(),
                json!({"symbol": "BTC-USDT", "side": "BUY", "price": "59000", "quantity": "0.1", "timeInForce": "GTD"}),
                2006,
            ),
            (
                "more than the funds",
                Method::POST,
                "/api/v1/orders/limit".into(),
                order(json!("60000"), json!("100")),
                3038,
            ),
            ("someone else's order", Method::GET, format!("/api/v1/orders/{resting}"), Value::Null, 2008),
            ("cancel someone else's order", Method::DELETE, format!("/api/v1/orders/{resting}"), Value::Null, 3071),
            (
                "modify someone else's order",
                Method::PUT,
                format!("/api/v1/orders/{resting}"),
                json!({"newPrice": "59000"}),
                2008,
            ),
            ("an order id that is not a number", Method::GET, "/api/v1/orders/abc".into(), Value::Null, 2006),
            ("unknown symbol filter", Method::GET, "/api/v1/orders/open?symbol=NOPE".into(), Value::Null, 2004),
            ("bad page", Method::GET, "/api/v1/orders/history?page=0".into(), Value::Null, 2006),
            ("bad limit", Method::GET, "/api/v1/trades?limit=5000".into(), Value::Null, 2006),
            (
                "unknown quote currency",
                Method::GET,
                "/api/v1/account/valuation?quoteCurrency=EUR".into(),
                Value::Null,
                2005,
            ),
        ];
        for (what, method, path, body, code) in cases {
            let before = snapshot(&h, &[&alice, &bob]).await;
            let reply = h.call(method, &path, &bob.token, body).await;
            assert_eq!(reply.code(), code, "{name}: {what}: {reply:?}");
            assert!(reply.status.is_client_error(), "{name}: {what}: {reply:?}");
            assert!(reply.body["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{name}: {what}");
            let after = snapshot(&h, &[&alice, &bob]).await;
            assert_eq!(before.2, after.2, "{name}: {what} changed what the users see");
            if code < 3000 {
                // Refused at the edge: the engine never saw it (its hash covers its
                // sequence, which an engine reject does advance).
                assert_eq!((before.0, before.1), (after.0, after.1), "{name}: {what} reached the engine");
            }
        }
        // Someone else's order reads exactly as an order that does not exist.
        let missing = h.get("/api/v1/orders/987654321", &bob.token).await;
        let foreign = h.get(&format!("/api/v1/orders/{resting}"), &bob.token).await;
        assert_eq!((missing.status, missing.code()), (foreign.status, foreign.code()));
        let market_data = [
            ("/api/v1/depth?symbol=BTC", 2004),
            ("/api/v1/depth?symbol=BTC-USDT&limit=0", 2006),
            ("/api/v1/klines?symbol=BTC-USDT&interval=2m", 2006),
            ("/api/v1/klines?symbol=BTC-USDT&interval=1m&startTime=10&endTime=5", 2006),
            ("/api/v1/klines?symbol=BTC-USDT", 2006),
            ("/api/v1/volume/ranking?quoteCurrency=USDT&period=2y", 2006),
            ("/api/v1/assets/listed?status=SOMETIMES", 2006),
            ("/api/v1/historical-trades?symbol=BTC-USDT&limit=abc", 2006),
        ];
        for (path, code) in market_data {
            let reply = h.public(path).await;
            assert_eq!((reply.status.is_client_error(), reply.code()), (true, code), "{name}: {path}: {reply:?}");
        }
    }
}

#[tokio::test]
async fn ping_answers_an_empty_object_and_time_the_servers_clock() {
    let since_epoch = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    for h in Harness::all().await {
        let ping = h.public("/api/v1/ping").await;
        assert_eq!((ping.status, &ping.body), (StatusCode::OK, &json!({})), "{}", h.name);
        let before = since_epoch();
        let time = h.public("/api/v1/time").await;
        let after = since_epoch();
        assert_eq!(time.status, StatusCode::OK, "{}: {time:?}", h.name);
        let server_time = u128::from(time.body["serverTime"].as_u64().unwrap());
        assert!((before..=after).contains(&server_time), "{}: {server_time} not in {before}..={after}", h.name);
        // Only GET is routed: anything else is the JSON 405.
        let post = h.post("/api/v1/ping", None, json!({})).await;
        assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED, "{}: {post:?}", h.name);
    }
}

#[tokio::test]
async fn a_read_only_key_reads_but_cannot_trade() {
    for h in Harness::all().await {
        let Market { h, bob, .. } = market(h).await;
        let name = h.name;
        let read = h.api_key(&bob, &["read"]).await;
        let trade = h.api_key(&bob, &["trade"]).await;
        let order = json!({"symbol": "BTC-USDT", "side": "BUY", "price": "60000", "quantity": "0.1"}).to_string();
        let before = h.exchange.fingerprint();
        let refused = h.send(h.signed(Method::POST, "/api/v1/orders/limit", "", &read, &order)).await;
        assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, 1109), "{name}: {refused:?}");
        let refused = h.send(h.signed(Method::DELETE, "/api/v1/orders", "", &read, "")).await;
        assert_eq!(refused.code(), 1109, "{name}");
        assert_eq!(h.exchange.fingerprint(), before, "{name}: nothing reached the engine");
        let balances = h.send(h.signed(Method::GET, "/api/v1/account/balance", "", &read, "")).await;
        assert_eq!(balances.body["balances"][0]["asset"], "USDT", "{name}: {balances:?}");
        let placed = h.send(h.signed(Method::POST, "/api/v1/orders/limit", "", &trade, &order)).await;
        assert_eq!((placed.status, placed.body["order"]["status"].as_str()), (StatusCode::OK, Some("NEW")), "{name}");
        let cannot_read = h.send(h.signed(Method::GET, "/api/v1/orders/open", "", &trade, "")).await;
        assert_eq!(cannot_read.code(), 1109, "{name}: a trade-only key does not read");
        let open = h.send(h.signed(Method::GET, "/api/v1/orders/open", "symbol=BTC-USDT", &read, "")).await;
        assert_eq!(open.body["total"], 1, "{name}: the signed order is bob's");
    }
}

#[tokio::test]
async fn modify_cancel_and_cancel_all() {
    for h in Harness::all().await {
        let Market { h, alice, bob, .. } = market(h).await;
        let name = h.name;
        let order = limit(&h, &bob, "BUY", "59000", "0.5").await["order"]["orderId"].as_u64().unwrap();
        let path = format!("/api/v1/orders/{order}");
        let smaller = h.call(Method::PUT, &path, &bob.token, json!({"newQuantity": "0.3"})).await;
        assert_eq!(smaller.status, StatusCode::OK, "{name}: {smaller:?}");
        assert_eq!((&smaller.body["priorityKept"], dec(&smaller.body["order"]["origQty"])), (&json!(true), d("0.3")));
        assert_eq!(
            balance(&h, &bob, "USDT").await.1,
            d("17700") * d("1.002"),
            "{name}: 0.3 × 59000 plus the taker fee reserve"
        );
        let moved = h.call(Method::PUT, &path, &bob.token, json!({"newPrice": "59500.5"})).await;
        assert_eq!((&moved.body["priorityKept"], dec(&moved.body["order"]["price"])), (&json!(false), d("59500.5")));
        assert_eq!(h.call(Method::PUT, &path, &bob.token, json!({})).await.code(), 2006, "{name}: nothing to change");
        assert_eq!(h.call(Method::PUT, &path, &bob.token, json!({"newPrice": "59500.5"})).await.code(), 3074);

        // The modified price crosses alice's ask: it trades at once.
        limit(&h, &alice, "SELL", "59600", "0.1").await;
        let crossing = h.call(Method::PUT, &path, &bob.token, json!({"newPrice": "59600"})).await;
        assert_eq!(crossing.body["fills"][0]["qty"], "0.1", "{name}: {crossing:?}");
        assert_eq!(crossing.body["order"]["status"], "PARTIALLY_FILLED");

        let cancelled = h.call(Method::DELETE, &path, &bob.token, Value::Null).await;
        assert_eq!(
            cancelled.body,
            json!({"orderId": order, "symbol": "BTC-USDT", "side": "BUY", "status": "CANCELED", "remainingQty": "0.2"})
        );
        assert_eq!(balance(&h, &bob, "USDT").await.1, Decimal::ZERO, "{name}: the frozen funds are released");
        assert_eq!(h.call(Method::DELETE, &path, &bob.token, Value::Null).await.code(), 3071, "{name}: closed already");
        assert_eq!(h.get(&path, &bob.token).await.body["status"], "CANCELED");

        for price in ["58000", "58100", "58200"] {
            limit(&h, &bob, "BUY", price, "0.1").await;
        }
        let eth = json!({"symbol": "ETH-USDT", "side": "BUY", "price": "3000", "quantity": "0.1"});
        assert_eq!(h.post("/api/v1/orders/limit", Some(&bob.token), eth).await.status, StatusCode::OK);
        let none = h.call(Method::DELETE, "/api/v1/orders?symbol=BTC-USDT&side=SELL", &bob.token, Value::Null).await;
        assert_eq!(none.body["cancelled"], json!([]), "{name}");
        let btc = h.call(Method::DELETE, "/api/v1/orders?symbol=BTC-USDT", &bob.token, Value::Null).await;
        assert_eq!(btc.body["cancelled"].as_array().unwrap().len(), 3, "{name}: {btc:?}");
        let open = h.get("/api/v1/orders/open", &bob.token).await.body;
        assert_eq!((open["total"].as_u64(), open["orders"][0]["symbol"].as_str()), (Some(1), Some("ETH-USDT")));
        let rest = h.call(Method::DELETE, "/api/v1/orders", &bob.token, Value::Null).await;
        assert_eq!(rest.body["cancelled"][0]["symbol"], "ETH-USDT");
        let history = h.get("/api/v1/orders/history?symbol=BTC-USDT&limit=2&page=2", &bob.token).await.body;
        assert_eq!((history["total"].as_u64(), history["orders"].as_array().unwrap().len()), (Some(4), 2), "{name}");
    }
}

#[tokio::test]
async fn a_stop_limit_waits_for_its_trigger_and_markets_buy_by_quote() {
    for h in Harness::all().await {
        let Market { h, admin, alice, bob } = market(h).await;
        let name = h.name;
        h.fund(&admin, &alice, "USDT", "1000").await;
        limit(&h, &alice, "SELL", "60000", "0.2").await;
        let by_quote = json!({"symbol": "BTC-USDT", "side": "BUY", "quoteOrderQty": "600"});
        let bought = h.post("/api/v1/orders/market", Some(&bob.token), by_quote).await;
        assert_eq!(bought.status, StatusCode::OK, "{name}: {bought:?}");
        assert_eq!(
            (dec(&bought.body["order"]["executedQty"]), dec(&bought.body["order"]["origQuoteOrderQty"])),
            (d("0.01"), d("600"))
        );

        let stop =
            json!({"symbol": "BTC-USDT", "side": "SELL", "stopPrice": "59000", "price": "58900", "quantity": "0.1"});
        let placed = h.post("/api/v1/orders/stop-limit", Some(&alice.token), stop).await;
        assert_eq!(placed.status, StatusCode::OK, "{name}: {placed:?}");
        let order = &placed.body["order"];
        assert_eq!(
            (order["type"].as_str(), &order["working"], dec(&order["stopPrice"])),
            (Some("STOP_LOSS_LIMIT"), &json!(false), d("59000"))
        );
        assert_eq!(
            h.public("/api/v1/depth?symbol=BTC-USDT").await.body["asks"].as_array().unwrap().len(),
            1,
            "not in the book yet"
        );
        let immediate =
            json!({"symbol": "BTC-USDT", "side": "SELL", "stopPrice": "61000", "price": "61000", "quantity": "0.1"});
        assert_eq!(h.post("/api/v1/orders/stop-limit", Some(&alice.token), immediate).await.code(), 3061);

        // A trade at 59000 pulls the trigger.
        limit(&h, &bob, "BUY", "59000", "0.05").await;
        let sell = json!({"symbol": "BTC-USDT", "side": "SELL", "quantity": "0.05"});
        assert_eq!(h.post("/api/v1/orders/market", Some(&alice.token), sell).await.status, StatusCode::OK);
        let id = order["orderId"].as_u64().unwrap();
        let triggered = h.get(&format!("/api/v1/orders/{id}"), &alice.token).await.body;
        assert_eq!(triggered["working"], true, "{name}: {triggered}");
        let asks: Vec<String> = h.public("/api/v1/depth?symbol=BTC-USDT").await.body["asks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|level| level["price"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(asks, ["58900", "60000"], "{name}");
    }
}

#[tokio::test]
async fn staff_adjustments_are_audited_and_admin_only() {
    for h in Harness::all().await {
        let name = h.name;
        let admin = h.staff("admin@cex.example", StaffRole::Admin).await;
        let operator = h.staff("ops@cex.example", StaffRole::Operator).await;
        let carol = h.user("carol@example.com").await;
        let path = format!("/api/admin/accounts/{}/adjust", carol.id);
        let credit =
            h.post(&path, Some(&admin), json!({"asset": "USDT", "amount": "1500.25", "reason": " desk float "})).await;
        assert_eq!(credit.status, StatusCode::OK, "{name}: {credit:?}");
        assert_eq!(
            (credit.body["available"].as_str(), credit.body["amount"].as_str()),
            (Some("1500.25"), Some("1500.25"))
        );
        let debit = h
            .post(&path, Some(&admin), json!({"asset": "USDT", "amount": "-0.25", "reason": "fee refund reversal"}))
            .await;
        assert_eq!(debit.body["available"], "1500", "{name}: {debit:?}");
        let short =
            h.post(&path, Some(&admin), json!({"asset": "USDT", "amount": "-2000", "reason": "withdrawal"})).await;
        assert_eq!((short.status, short.code()), (StatusCode::BAD_REQUEST, 3038), "{name}");
        let before = h.exchange.fingerprint();
        for (body, code) in [
            (json!({"asset": "USDT", "amount": "5", "reason": "  "}), 2006),
            (json!({"asset": "USDT", "amount": "5"}), 1002),
            (json!({"asset": "USDT", "amount": "0", "reason": "nothing"}), 2003),
            (json!({"asset": "USDT", "amount": "0.0000001", "reason": "dust"}), 2010),
            (json!({"asset": "XYZ", "amount": "5", "reason": "unknown"}), 2005),
        ] {
            assert_eq!(h.post(&path, Some(&admin), body.clone()).await.code(), code, "{name}: {body}");
        }
        let nobody = h
            .post(
                "/api/admin/accounts/424242/adjust",
                Some(&admin),
                json!({"asset": "USDT", "amount": "5", "reason": "x"}),
            )
            .await;
        assert_eq!((nobody.status, nobody.code()), (StatusCode::NOT_FOUND, 2009));
        let refused =
            h.post(&path, Some(&operator), json!({"asset": "USDT", "amount": "5", "reason": "not mine to do"})).await;
        assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, 1103), "{name}: only Admin");
        let refused =
            h.post(&path, Some(&carol.token), json!({"asset": "USDT", "amount": "5", "reason": "self-service"})).await;
        assert_eq!(refused.code(), 1103, "{name}: no trader either");
        assert_eq!(h.exchange.fingerprint(), before, "{name}: none of those reached the engine");

        let audit = cex_trading::admin::adjustments_of(h.identity.store(), carol.id).await.unwrap();
        let rows: Vec<(&str, &str, &str, Option<i64>)> = audit
            .iter()
            .map(|row| (row.amount.as_str(), row.reason.as_str(), row.status.as_str(), row.reject_code))
            .collect();
        assert_eq!(
            rows,
            [
                ("1500.25", "desk float", "applied", None),
                ("-0.25", "fee refund reversal", "applied", None),
                ("-2000", "withdrawal", "rejected", Some(3038)),
            ],
            "{name}"
        );
        assert!(audit.iter().all(|row| row.asset == "USDT" && row.user_id == carol.id));
        assert_eq!(balance(&h, &carol, "USDT").await, (d("1500"), Decimal::ZERO));
    }
}

#[tokio::test]
async fn a_parent_sees_its_sub_accounts_balances() {
    for h in Harness::all().await {
        let name = h.name;
        let admin = h.staff("admin@cex.example", StaffRole::Admin).await;
        let parent = h.user("fund@example.com").await;
        let body = json!({"email": "desk@fund.example", "label": "desk", "permissions": ["read", "trade"]});
        let created = h.post("/api/v1/sub-account", Some(&parent.token), body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{name}: {created:?}");
        let sub = created.body["subAccountId"].as_i64().unwrap();
        let path = format!("/api/v1/sub-account/{sub}/assets");
        assert_eq!(h.get(&path, &parent.token).await.body, json!({"subAccountId": sub, "balances": []}));
        let credit = json!({"asset": "BTC", "amount": "0.5", "reason": "desk allocation"});
        assert_eq!(
            h.post(&format!("/api/admin/accounts/{sub}/adjust"), Some(&admin), credit).await.status,
            StatusCode::OK
        );
        let assets = h.get(&path, &parent.token).await.body;
        assert_eq!(assets["balances"], json!([{"asset": "BTC", "available": "0.5", "frozen": "0"}]), "{name}");
        let stranger = h.user("stranger@example.com").await;
        assert_eq!(h.get(&path, &stranger.token).await.code(), 1603, "{name}: not someone else's");
    }
}
