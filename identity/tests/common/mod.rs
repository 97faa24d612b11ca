//! The test harness: an identity service over a test database, driven through its HTTP
//! router with `tower::ServiceExt::oneshot`, a clock the tests move, an engine that
//! records registrations, and the dev sink's `outbox.log` to read codes from.

#![allow(dead_code)]

pub mod db;
pub mod smtp;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use cex_identity::clock::ManualClock;
use cex_identity::delivery::{Delivery, DevSink};
use cex_identity::engine::BoxFuture;
use cex_identity::password::PasswordCost;
use cex_identity::signing::sign_hex;
use cex_identity::{EngineAccounts, Identity, IdentityConfig};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use db::{test_dbs, TestDb};

pub const PASSWORD: &str = "Tr4ding-desk-9";
pub const CLIENT: &str = "203.0.113.7:40000";

/// Records every registration; can be told to refuse.
#[derive(Default)]
pub struct RecordingEngine {
    pub registered: Mutex<Vec<(u32, u8)>>,
    pub refuse: AtomicBool,
}

impl EngineAccounts for RecordingEngine {
    fn register(&self, account: u32, fee_tier: u8) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            if self.refuse.load(Ordering::SeqCst) {
                return Err("ring full".to_string());
            }
            self.registered.lock().unwrap().push((account, fee_tier));
            Ok(())
        })
    }
}

pub struct Harness {
    pub name: &'static str,
    pub identity: Arc<Identity>,
    pub router: Router,
    pub clock: Arc<ManualClock>,
    pub engine: Arc<RecordingEngine>,
    pub db: TestDb,
}

pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
}

impl Reply {
    /// The `{code}` of an error body.
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
pub struct Call<'a> {
    pub method: Method,
    pub uri: String,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<Vec<u8>>,
    pub peer: Option<SocketAddr>,
}

impl<'a> Call<'a> {
    pub fn new(method: Method, uri: impl Into<String>) -> Call<'a> {
        Call { method, uri: uri.into(), headers: Vec::new(), body: None, peer: Some(CLIENT.parse().unwrap()) }
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

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn raw_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = Some(body.into());
        self
    }

    pub fn peer(mut self, peer: Option<SocketAddr>) -> Self {
        self.peer = peer;
        self
    }
}

impl Harness {
    /// One harness per test database (SQLite, and PostgreSQL if configured).
    pub async fn all() -> Vec<Harness> {
        let mut harnesses = Vec::new();
        for db in test_dbs().await {
            harnesses.push(Harness::with(db, |_| {}).await);
        }
        harnesses
    }

    pub async fn with(db: TestDb, tune: impl FnOnce(&mut IdentityConfig)) -> Harness {
        Harness::with_delivery(db, tune, |config| Arc::new(DevSink::new(config.outbox_log()))).await
    }

    /// A harness whose messages go through `delivery` (built from the final config).
    pub async fn with_delivery(
        db: TestDb,
        tune: impl FnOnce(&mut IdentityConfig),
        delivery: impl FnOnce(&IdentityConfig) -> Arc<dyn Delivery>,
    ) -> Harness {
        let mut config = IdentityConfig::new(db.path());
        config.database_url = db.url.clone();
        config.password_cost = PasswordCost::for_tests();
        config.default_fee_tier = 3;
        tune(&mut config);
        let clock = Arc::new(ManualClock::new(1_750_000_000_000));
        let engine = Arc::new(RecordingEngine::default());
        let delivery = delivery(&config);
        let identity =
            Identity::open_with(config, engine.clone(), delivery, clock.clone()).await.expect("open identity");
        let router = cex_identity::http::with_json_fallbacks(cex_identity::http::router(&identity));
        Harness { name: db.name, identity, router, clock, engine, db }
    }

    pub async fn send(&self, call: Call<'_>) -> Reply {
        let mut builder = Request::builder().method(call.method).uri(call.uri);
        for (name, value) in &call.headers {
            builder = builder.header(*name, value);
        }
        let mut request = builder.body(Body::from(call.body.unwrap_or_default())).unwrap();
        if let Some(peer) = call.peer {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Reply { status, body }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        let mut call = Call::new(Method::POST, path).json(&body);
        if let Some(token) = token {
            call = call.bearer(token);
        }
        self.send(call).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Call::new(Method::GET, path).bearer(token)).await
    }

    /// Every line the dev sink wrote, parsed, once the outbox worker has sent everything due.
    pub async fn outbox(&self) -> Vec<Value> {
        let flushed = self.identity.flush_outbox(std::time::Duration::from_secs(10)).await.unwrap();
        assert!(flushed, "{}: the outbox did not drain", self.name);
        let text = std::fs::read_to_string(self.identity.config().outbox_log()).unwrap_or_default();
        text.lines().map(|line| serde_json::from_str(line).unwrap()).collect()
    }

    /// The code in the newest message to `to` for `purpose`.
    pub async fn last_code(&self, to: &str, purpose: &str) -> String {
        let messages = self.outbox().await;
        let message = messages
            .iter()
            .rev()
            .find(|message| message["to"] == to && message["purpose"] == purpose)
            .unwrap_or_else(|| panic!("{}: no {purpose} message to {to}", self.name));
        let body = message["body"].as_str().unwrap();
        body.split_whitespace()
            .map(|word| word.trim_end_matches('.'))
            .find(|word| word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()))
            .unwrap()
            .to_string()
    }

    /// Registers and verifies `email`; returns the user id.
    pub async fn verified_user(&self, email: &str) -> i64 {
        let reply = self.post("/api/v1/auth/register", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}: {reply:?}", self.name);
        let code = self.last_code(email, "verify_email").await;
        let reply =
            self.post("/api/v1/auth/verify-email", None, json!({"email": email, "verificationCode": code})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}: {reply:?}", self.name);
        reply.body["verified"].as_bool().unwrap();
        self.identity.store().user_by_email(email).await.unwrap().unwrap().id
    }

    /// Logs in (no second factor); returns the reply with tokens.
    pub async fn login(&self, email: &str, password: &str) -> Reply {
        self.post("/api/v1/auth/login", None, json!({"email": email, "password": password, "deviceInfo": "test"})).await
    }

    /// A verified user's access token.
    pub async fn session(&self, email: &str) -> String {
        self.verified_user(email).await;
        let reply = self.login(email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}: {reply:?}", self.name);
        reply.str("accessToken")
    }

    /// A staff account in `role` and its access token.
    pub async fn staff_session(&self, email: &str, role: cex_identity::StaffRole) -> String {
        self.identity.create_staff(email, role, Some(PASSWORD)).await.unwrap();
        let reply = self.post("/api/admin/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}: {reply:?}", self.name);
        reply.str("accessToken")
    }

    /// Creates an API key through HTTP; returns (id, apiKey, secretKey).
    pub async fn api_key(
        &self,
        token: &str,
        permissions: &[&str],
        whitelist: Option<&[&str]>,
    ) -> (i64, String, String) {
        let mut body = json!({"label": "bot", "permissions": permissions});
        if let Some(list) = whitelist {
            body["ipWhitelist"] = json!(list);
        }
        let reply = self.post("/api/v1/security/api-key", Some(token), body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}: {reply:?}", self.name);
        (reply.body["id"].as_i64().unwrap(), reply.str("apiKey"), reply.str("secretKey"))
    }

    /// A signed request: `query` plus timestamp and recvWindow, signed with `secret`. The
    /// clock moves 1 ms first, so no two calls sign the same timestamp.
    pub fn signed(
        &self,
        method: Method,
        path: &str,
        query: &str,
        api_key: &str,
        secret: &str,
        body: &str,
    ) -> Call<'static> {
        self.clock.advance_ms(1);
        let now = self.identity.now_ms();
        let mut unsigned = format!("timestamp={now}&recvWindow=5000");
        if !query.is_empty() {
            unsigned = format!("{query}&{unsigned}");
        }
        let signature = sign_hex(secret, format!("{unsigned}{body}").as_bytes());
        let mut call =
            Call::new(method, format!("{path}?{unsigned}&signature={signature}")).header("x-mbx-apikey", api_key);
        if !body.is_empty() {
            call = call.header("content-type", "application/json").raw_body(body.as_bytes().to_vec());
        }
        call
    }
}

/// A six-digit code that is not valid for `secret` at `now_ms` (nor a step either side).
pub fn wrong_code(secret_base32: &str, now_ms: i64) -> String {
    let valid: Vec<String> = [-30_000, 0, 30_000]
        .iter()
        .map(|offset| cex_identity::totp::code_from_base32(secret_base32, now_ms + offset).unwrap())
        .collect();
    ["000000", "111111", "222222", "333333"].iter().find(|code| !valid.iter().any(|v| v == *code)).unwrap().to_string()
}
