//! The harness: identity over a test database (SQLite, and PostgreSQL too when
//! `CEX_TEST_PG_URL` is set, as `identity/tests/pg.sh` does), an engine in the same process
//! (the testkit's `LocalExchange`) feeding the read model, and the combined router of the
//! node, driven with `tower::ServiceExt::oneshot`.

#![allow(dead_code)] // Each test binary uses its own part.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use cex_config::NodeConfig;
use cex_identity::authz::RouteInfo;
use cex_identity::clock::ManualClock;
use cex_identity::delivery::DevSink;
use cex_identity::password::PasswordCost;
use cex_identity::signing::sign_hex;
use cex_identity::{Identity, IdentityConfig, StaffRole};
use cex_trading::testkit::LocalExchange;
use cex_trading::{Markets, ReadModel, ReadModelConfig, SharedReadModel, Trading};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tempfile::TempDir;
use tower::ServiceExt;

pub const PASSWORD: &str = "Tr4ding-desk-9";
const CLIENT: &str = "203.0.113.7:40000";

pub struct Harness {
    /// `sqlite` or `postgres`, for assertion messages.
    pub name: &'static str,
    pub identity: Arc<Identity>,
    pub trading: Arc<Trading>,
    pub exchange: Arc<LocalExchange>,
    pub router: Router,
    pub routes: Vec<RouteInfo>,
    pub clock: Arc<ManualClock>,
    _data_dir: TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The `{code}` of an error body; 0 for a success.
    pub fn code(&self) -> u64 {
        self.body["code"].as_u64().unwrap_or(0)
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field].as_str().unwrap_or_else(|| panic!("no string {field} in {}", self.body)).to_string()
    }
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

/// A request to build.
pub struct Call {
    pub method: Method,
    pub uri: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<Vec<u8>>,
}

impl Call {
    pub fn new(method: Method, uri: impl Into<String>) -> Call {
        Call { method, uri: uri.into(), headers: Vec::new(), body: None }
    }

    pub fn json(mut self, body: &Value) -> Self {
        self.headers.push(("content-type", "application/json".to_string()));
        self.body = Some(body.to_string().into_bytes());
        self
    }

    pub fn bearer(mut self, token: &str) -> Self {
        self.headers.push(("authorization", format!("Bearer {token}")));
        self
    }
}

/// An API key's id and secret.
#[derive(Debug, Clone)]
pub struct Key {
    pub api_key: String,
    pub secret: String,
}

/// A verified, logged-in user.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub token: String,
}

impl Harness {
    /// One harness per test database.
    pub async fn all() -> Vec<Harness> {
        let mut harnesses = vec![Harness::open("sqlite", None).await];
        if let Ok(admin_url) = std::env::var("CEX_TEST_PG_URL") {
            if !admin_url.is_empty() {
                harnesses.push(Harness::open("postgres", Some(fresh_pg_database(&admin_url).await)).await);
            }
        }
        harnesses
    }

    async fn open(name: &'static str, database_url: Option<String>) -> Harness {
        let data_dir = tempfile::tempdir().unwrap();
        let node = NodeConfig::default();
        let model = Arc::new(SharedReadModel::new(ReadModel::new(ReadModelConfig::default())));
        let exchange = LocalExchange::new(&node, model.clone());
        let mut config = IdentityConfig::new(data_dir.path());
        config.database_url = database_url;
        config.password_cost = PasswordCost::for_tests();
        let clock = Arc::new(ManualClock::new(1_750_000_000_000));
        let sink = Arc::new(DevSink::new(config.outbox_log()));
        let identity = Identity::open_with(config, exchange.clone(), sink, clock.clone()).await.unwrap();
        let trading = Trading::open(identity.clone(), Markets::new(&node), model, exchange.clone()).await.unwrap();
        identity.attach_balances(trading.clone());
        let (router, routes) = cex_trading::router(&identity, &trading, &node.limits).unwrap();
        Harness { name, identity, trading, exchange, router, routes, clock, _data_dir: data_dir }
    }

    pub async fn send(&self, call: Call) -> Reply {
        let mut builder = Request::builder().method(call.method).uri(call.uri);
        for (name, value) in &call.headers {
            builder = builder.header(*name, value);
        }
        let mut request = builder.body(Body::from(call.body.unwrap_or_default())).unwrap();
        request.extensions_mut().insert(ConnectInfo(CLIENT.parse::<SocketAddr>().unwrap()));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Reply { status, body }
    }

    /// A call with a session's token, and a JSON body unless it is `Null`.
    pub async fn call(&self, method: Method, path: &str, token: &str, body: Value) -> Reply {
        let mut call = Call::new(method, path).bearer(token);
        if !body.is_null() {
            call = call.json(&body);
        }
        self.send(call).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, token, Value::Null).await
    }

    pub async fn public(&self, path: &str) -> Reply {
        self.send(Call::new(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut call = Call::new(Method::POST, path).json(&body);
        if let Some(token) = token {
            call = call.bearer(token);
        }
        self.send(call).await
    }

    /// Registers, verifies and logs in `email`.
    pub async fn user(&self, email: &str) -> User {
        let reply = self.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}: {reply:?}", self.name);
        let id = reply.body["userId"].as_i64().unwrap();
        let code = self.emailed_code(email).await;
        let verify = json!({"email": email, "verificationCode": code});
        assert_eq!(self.post("/api/v1/auth/verify-email", None, verify).await.status, StatusCode::OK);
        let login = self.post("/api/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(login.status, StatusCode::OK, "{}: {login:?}", self.name);
        User { id, token: login.str("accessToken") }
    }

    async fn emailed_code(&self, email: &str) -> String {
        assert!(self.identity.flush_outbox(std::time::Duration::from_secs(10)).await.unwrap());
        let log = std::fs::read_to_string(self.identity.config().outbox_log()).unwrap();
        cex_identity::delivery::DevSink::last_code(&log, email).unwrap()
    }

    /// An API key of `user` with `permissions`.
    pub async fn api_key(&self, user: &User, permissions: &[&str]) -> Key {
        let body = json!({"label": "bot", "permissions": permissions});
        let reply = self.post("/api/v1/security/api-key", Some(&user.token), body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}: {reply:?}", self.name);
        Key { api_key: reply.str("apiKey"), secret: reply.str("secretKey") }
    }

    /// A staff session in `role`.
    pub async fn staff(&self, email: &str, role: StaffRole) -> String {
        self.identity.create_staff(email, role, Some(PASSWORD)).await.unwrap();
        let reply = self.post("/api/admin/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}: {reply:?}", self.name);
        reply.str("accessToken")
    }

    /// Credits `amount` of `asset` to `user` through the staff route.
    pub async fn fund(&self, admin: &str, user: &User, asset: &str, amount: &str) {
        let body = json!({"asset": asset, "amount": amount, "reason": "test funding"});
        let reply = self.post(&format!("/api/admin/accounts/{}/adjust", user.id), Some(admin), body).await;
        assert_eq!(reply.status, StatusCode::OK, "{}: {reply:?}", self.name);
    }

    /// A signed request with `key`: `query` plus timestamp and recvWindow. The clock moves
    /// 1 ms first, so no two calls sign the same timestamp.
    pub fn signed(&self, method: Method, path: &str, query: &str, key: &Key, body: &str) -> Call {
        self.clock.advance_ms(1);
        let mut unsigned = format!("timestamp={}&recvWindow=5000", self.identity.now_ms());
        if !query.is_empty() {
            unsigned = format!("{query}&{unsigned}");
        }
        let signature = sign_hex(&key.secret, format!("{unsigned}{body}").as_bytes());
        let mut call = Call::new(method, format!("{path}?{unsigned}&signature={signature}"));
        call.headers.push(("x-mbx-apikey", key.api_key.clone()));
        if !body.is_empty() {
            call.headers.push(("content-type", "application/json".to_string()));
            call.body = Some(body.as_bytes().to_vec());
        }
        call
    }
}

async fn fresh_pg_database(admin_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("cex_test_{}", cex_identity::keys::random_string(16, b"abcdefghijklmnopqrstuvwxyz0123456789"));
    let admin = sqlx::AnyPool::connect(admin_url).await.expect("connect to CEX_TEST_PG_URL");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create a test database");
    admin.close().await;
    let base = admin_url.split('?').next().unwrap();
    let server = &base[..base.rfind('/').expect("a database in CEX_TEST_PG_URL")];
    format!("{server}/{name}")
}
