//! Over a real socket: the router served with connect info, so the audit and IP whitelists
//! see the peer's address (127.0.0.1 here).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use cex_identity::signing::sign_hex;
use common::{Harness, PASSWORD};
use serde_json::Value;

fn raw(address: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).unwrap();
    let mut request = format!("{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    let body =
        if body.trim().is_empty() { Value::Null } else { serde_json::from_str(body.trim()).unwrap_or(Value::Null) };
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_peer_address_reaches_whitelists_and_the_audit() {
    let h = Harness::all().await.remove(0);
    let token = h.session("ray@example.com").await;
    let (_, local_key, local_secret) = h.api_key(&token, &["read"], Some(&["127.0.0.1"])).await;
    let (_, remote_key, remote_secret) = h.api_key(&token, &["read"], Some(&["192.0.2.9"])).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let service = h.router.clone().into_make_service_with_connect_info::<SocketAddr>();
    let server = tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });

    let signed = |key: &str, secret: &str| {
        h.clock.advance_ms(1);
        let query = format!("timestamp={}&recvWindow=5000", h.identity.now_ms());
        let signature = sign_hex(secret, query.as_bytes());
        (format!("/api/v1/security/api-keys?{query}&signature={signature}"), key.to_string())
    };
    let (target, key) = signed(&local_key, &local_secret);
    let reply =
        tokio::task::spawn_blocking(move || raw(address, "GET", &target, &[("X-MBX-APIKEY", &key)], "")).await.unwrap();
    assert_eq!(reply.0, 200, "{reply:?}");
    assert_eq!(reply.1["apiKeys"].as_array().unwrap().len(), 2);
    let (target, key) = signed(&remote_key, &remote_secret);
    let reply =
        tokio::task::spawn_blocking(move || raw(address, "GET", &target, &[("X-MBX-APIKEY", &key)], "")).await.unwrap();
    assert_eq!((reply.0, reply.1["code"].as_u64()), (403, Some(1108)), "{reply:?}");

    let body = format!(r#"{{"email":"ray@example.com","password":"{PASSWORD}","deviceInfo":{{"os":"linux"}}}}"#);
    let headers = [("Content-Type", "application/json"), ("User-Agent", "raw/1.0")];
    let login =
        tokio::task::spawn_blocking(move || raw(address, "POST", "/api/v1/auth/login", &headers, &body)).await.unwrap();
    assert_eq!(login.0, 200, "{login:?}");
    let token = login.1["accessToken"].as_str().unwrap();
    let history = h.get("/api/v1/security/login-history?limit=1", token).await;
    let newest = &history.body["logins"][0];
    assert_eq!(
        (newest["ip"].as_str(), newest["userAgent"].as_str()),
        (Some("127.0.0.1"), Some("raw/1.0")),
        "{history:?}"
    );
    assert_eq!(newest["deviceInfo"], r#"{"os":"linux"}"#);
    server.abort();
}
