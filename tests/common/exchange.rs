//! A node's users as the end-to-end tests drive them over REST: registration through the
//! dev mail sink, staff funding, limit orders and public reads.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use cex_config::NodeConfig;
use serde_json::{json, Value};

use super::{free_port, http};

pub const PASSWORD: &str = "correct horse battery 9";
pub const WAIT: Duration = Duration::from_secs(10);

pub fn config_in(dir: &Path) -> NodeConfig {
    let mut config = NodeConfig::default();
    config.data_dir = dir.to_path_buf();
    config.network.rest_port = free_port();
    config.network.gateway_port = free_port();
    config.network.ops_port = free_port();
    // These tests send requests back to back from one IP; the limits have a test of their own.
    config.limits.enabled = false;
    config
}

pub struct User {
    pub id: i64,
    pub token: String,
}

/// The verification code of the dev sink's last message to `email`.
pub fn emailed_code(data_dir: &Path, email: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = std::fs::read_to_string(data_dir.join("outbox.log")).unwrap_or_default();
        if let Some(code) = cex_identity::delivery::DevSink::last_code(&log, email) {
            return code;
        }
        assert!(Instant::now() < deadline, "no code emailed to {email}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn register(rest: SocketAddr, data_dir: &Path, email: &str) -> User {
    let credentials = json!({"email": email, "password": PASSWORD});
    let (status, reply) = http(rest, "POST", "/api/v1/auth/register", Some(&credentials), None);
    assert_eq!(status, 201, "{reply}");
    let id = reply["userId"].as_i64().unwrap();
    let verify = json!({"email": email, "verificationCode": emailed_code(data_dir, email)});
    assert_eq!(http(rest, "POST", "/api/v1/auth/verify-email", Some(&verify), None).0, 200);
    User { id, token: login(rest, "/api/v1/auth/login", email) }
}

pub fn login(rest: SocketAddr, path: &str, email: &str) -> String {
    let (status, reply) = http(rest, "POST", path, Some(&json!({"email": email, "password": PASSWORD})), None);
    assert_eq!(status, 200, "{reply}");
    reply["accessToken"].as_str().unwrap().to_string()
}

pub fn public(rest: SocketAddr, path: &str) -> Value {
    let (status, reply) = http(rest, "GET", path, None, None);
    assert_eq!(status, 200, "{path}: {reply}");
    reply
}

pub fn fund(rest: SocketAddr, admin: &str, user: &User, asset: &str, amount: &str) {
    let body = json!({"asset": asset, "amount": amount, "reason": "end-to-end funding"});
    let (status, reply) =
        http(rest, "POST", &format!("/api/admin/accounts/{}/adjust", user.id), Some(&body), Some(admin));
    assert_eq!(status, 200, "{reply}");
}

pub fn limit(rest: SocketAddr, user: &User, side: &str, price: &str, quantity: &str) -> Value {
    let body = json!({"symbol": "BTC-USDT", "side": side, "price": price, "quantity": quantity});
    let (status, reply) = http(rest, "POST", "/api/v1/orders/limit", Some(&body), Some(&user.token));
    assert_eq!(status, 200, "{reply}");
    reply
}

/// An API key and its secret.
pub struct Key {
    pub api_key: String,
    pub secret: String,
}

impl Key {
    /// The query string of a request signed now with this key: `timestamp`, `recvWindow`
    /// and the `signature` over them and `body`.
    pub fn signed_query(&self, body: &str) -> String {
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
        let query = format!("timestamp={now_ms}&recvWindow=5000");
        let signature = cex_identity::signing::sign_hex(&self.secret, format!("{query}{body}").as_bytes());
        format!("{query}&signature={signature}")
    }
}

/// A new API key of `user` with `permissions`.
pub fn api_key(rest: SocketAddr, user: &User, permissions: &[&str]) -> Key {
    let body = json!({"label": "bot", "permissions": permissions});
    let (status, reply) = http(rest, "POST", "/api/v1/security/api-key", Some(&body), Some(&user.token));
    assert_eq!(status, 201, "{reply}");
    Key { api_key: reply["apiKey"].as_str().unwrap().into(), secret: reply["secretKey"].as_str().unwrap().into() }
}
