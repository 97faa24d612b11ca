//! The authorization matrix of the trading routes: every route × every caller (anonymous, a
//! trader's session, an API key with only `read`, one with only `trade`, each staff role),
//! against a table written here, apart from the code. The route list is the node's merged
//! table (identity's routes, which identity's own matrix covers, plus these), so a trading
//! route added without a row here fails.

mod common;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use cex_identity::authz::Role;
use cex_identity::StaffRole;
use common::{Call, Harness, Key, User};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anyone,
    /// A session, or a key with `trade`.
    Trade,
    /// A session, or a key with `read`.
    Read,
    Admin,
}

const MATRIX: &[(&str, &str, Who)] = &[
    ("POST", "/api/v1/orders/limit", Who::Trade),
    ("POST", "/api/v1/orders/market", Who::Trade),
    ("POST", "/api/v1/orders/stop-limit", Who::Trade),
    ("DELETE", "/api/v1/orders/{orderId}", Who::Trade),
    ("DELETE", "/api/v1/orders", Who::Trade),
    ("PUT", "/api/v1/orders/{orderId}", Who::Trade),
    ("GET", "/api/v1/orders/open", Who::Read),
    ("GET", "/api/v1/orders/{orderId}", Who::Read),
    ("GET", "/api/v1/orders/history", Who::Read),
    ("GET", "/api/v1/trades", Who::Read),
    ("GET", "/api/v1/account/balance", Who::Read),
    ("GET", "/api/v1/account/valuation", Who::Read),
    ("GET", "/api/v1/account/snapshot", Who::Read),
    ("POST", "/api/v1/export/market-data", Who::Read),
    ("GET", "/api/v1/export/{jobId}", Who::Read),
    ("GET", "/api/v1/export/{jobId}/download", Who::Read),
    ("GET", "/api/v1/depth", Who::Anyone),
    ("GET", "/api/v1/historical-trades", Who::Anyone),
    ("GET", "/api/v1/klines", Who::Anyone),
    ("GET", "/api/v1/ticker/24hr", Who::Anyone),
    ("GET", "/api/v1/ping", Who::Anyone),
    ("GET", "/api/v1/time", Who::Anyone),
    ("GET", "/api/v1/assets/listed", Who::Anyone),
    ("GET", "/api/v1/volume", Who::Anyone),
    ("GET", "/api/v1/volume/ranking", Who::Anyone),
    ("POST", "/api/admin/accounts/{id}/adjust", Who::Admin),
    ("GET", "/stream/user", Who::Read),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Session,
    ReadKey,
    TradeKey,
    Staff(StaffRole),
}

fn callers() -> Vec<Caller> {
    let mut callers = vec![Caller::Anonymous, Caller::Session, Caller::ReadKey, Caller::TradeKey];
    callers.extend(StaffRole::ALL.into_iter().map(Caller::Staff));
    callers
}

fn expected(who: Who, caller: Caller) -> bool {
    matches!(
        (who, caller),
        (Who::Anyone, _)
            | (Who::Trade, Caller::Session | Caller::TradeKey)
            | (Who::Read, Caller::Session | Caller::ReadKey)
            | (Who::Admin, Caller::Staff(StaffRole::Admin))
    )
}

/// "The authorization layer said no": unauthenticated, forbidden, key lacks the permission.
const DENIALS: [u64; 3] = [1100, 1103, 1109];

/// A request each route would take from an allowed caller: (query, body).
fn request_for(path: &str) -> (&'static str, Value) {
    match path {
        "/api/v1/orders/limit" => ("", json!({"symbol": "BTC-USDT", "side": "BUY", "price": "100", "quantity": "0.1"})),
        "/api/v1/orders/market" => ("", json!({"symbol": "BTC-USDT", "side": "SELL", "quantity": "0.1"})),
        "/api/v1/orders/stop-limit" => {
            ("", json!({"symbol": "BTC-USDT", "side": "SELL", "stopPrice": "90", "price": "89", "quantity": "0.1"}))
        }
        "/api/v1/orders/{orderId}" => ("", json!({"newPrice": "101"})),
        "/api/v1/orders" => ("symbol=BTC-USDT", Value::Null),
        "/api/v1/account/valuation" => ("quoteCurrency=USDT", Value::Null),
        // No history writer runs beside the test engine: a refused time needs none.
        "/api/v1/account/snapshot" => ("time=-1", Value::Null),
        "/api/v1/export/market-data" => {
            ("", json!({"symbol": "BTC-USDT", "dataType": "trades", "startTime": 1, "endTime": 0}))
        }
        "/api/v1/depth" | "/api/v1/historical-trades" => ("symbol=BTC-USDT", Value::Null),
        "/api/v1/klines" | "/api/v1/volume" => ("symbol=BTC-USDT&interval=1m", Value::Null),
        "/api/v1/volume/ranking" => ("quoteCurrency=USDT", Value::Null),
        "/api/admin/accounts/{id}/adjust" => ("", json!({"asset": "USDT", "amount": "1", "reason": "matrix"})),
        _ => ("", Value::Null),
    }
}

#[tokio::test]
async fn the_merged_table_has_exactly_identitys_routes_and_the_matrix() {
    let h = Harness::all().await.remove(0);
    let identity: BTreeSet<(String, String)> = cex_identity::http::route_table(&h.identity)
        .iter()
        .map(|route| (route.method.to_string(), route.path.to_string()))
        .collect();
    let trading: BTreeSet<(String, String)> =
        MATRIX.iter().map(|(method, path, _)| (method.to_string(), path.to_string())).collect();
    let merged: BTreeSet<(String, String)> =
        h.routes.iter().map(|route| (route.method.to_string(), route.path.to_string())).collect();
    assert!(identity.is_disjoint(&trading));
    assert_eq!(merged, identity.union(&trading).cloned().collect(), "every trading route needs a row in MATRIX");
    assert_eq!(h.routes.len(), merged.len(), "no route twice");
    assert_eq!(cex_trading::route_table(&h.identity).len(), h.routes.len());
    for (method, path, who) in MATRIX {
        let route = h.routes.iter().find(|route| route.method.as_str() == *method && route.path == *path).unwrap();
        for role in Role::all() {
            let caller = match role {
                Role::Guest => Caller::Anonymous,
                Role::Trader => Caller::Session,
                Role::Staff(staff) => Caller::Staff(staff),
            };
            assert_eq!(route.policy.allows(role), expected(*who, caller), "{method} {path} for {role:?}");
        }
    }
}

struct Callers {
    user: User,
    read_key: Key,
    trade_key: Key,
}

async fn call_as(h: &Harness, callers: &Callers, caller: Caller, method: &Method, path: &str) -> common::Reply {
    let uri_path = path.replace("{orderId}", "999999").replace("{id}", "999999").replace("{jobId}", "999999");
    let (query, body) = request_for(path);
    let uri = if query.is_empty() { uri_path.clone() } else { format!("{uri_path}?{query}") };
    let with_body = |call: Call| if body.is_null() { call } else { call.json(&body) };
    let text = if body.is_null() { String::new() } else { body.to_string() };
    match caller {
        Caller::Anonymous => h.send(with_body(Call::new(method.clone(), uri))).await,
        Caller::Session => h.send(with_body(Call::new(method.clone(), uri)).bearer(&callers.user.token)).await,
        Caller::ReadKey => h.send(h.signed(method.clone(), &uri_path, query, &callers.read_key, &text)).await,
        Caller::TradeKey => h.send(h.signed(method.clone(), &uri_path, query, &callers.trade_key, &text)).await,
        Caller::Staff(role) => {
            let email = format!("{}@cex.example", role.as_str().to_lowercase());
            let login = h.post("/api/admin/auth/login", None, json!({"email": email, "password": common::PASSWORD}));
            let token = login.await.str("accessToken");
            h.send(with_body(Call::new(method.clone(), uri)).bearer(&token)).await
        }
    }
}

#[tokio::test]
async fn every_trading_route_for_every_caller() {
    for h in Harness::all().await {
        let name = h.name;
        let user = h.user("trader@example.com").await;
        let read_key = h.api_key(&user, &["read"]).await;
        let trade_key = h.api_key(&user, &["trade"]).await;
        for role in StaffRole::ALL {
            let email = format!("{}@cex.example", role.as_str().to_lowercase());
            h.identity.create_staff(&email, role, Some(common::PASSWORD)).await.unwrap();
        }
        let credentials = Callers { user, read_key, trade_key };
        let mut checked = 0;
        for (method, path, who) in MATRIX {
            let method: Method = method.parse().unwrap();
            for caller in callers() {
                let reply = call_as(&h, &credentials, caller, &method, path).await;
                let denied = DENIALS.contains(&reply.code());
                assert_eq!(!denied, expected(*who, caller), "{name}: {method} {path} as {caller:?}: {reply:?}");
                if denied {
                    let status =
                        if caller == Caller::Anonymous { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
                    assert_eq!(reply.status, status, "{name}: {method} {path} as {caller:?}");
                }
                assert!(
                    reply.status.is_success() || reply.status.is_client_error(),
                    "{name}: {method} {path} as {caller:?}: {reply:?}"
                );
                assert!(reply.body["code"].is_u64() || reply.status.is_success(), "{name}: {{code, msg}}: {reply:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, MATRIX.len() * (4 + StaffRole::ALL.len()), "{name}");
    }
}
