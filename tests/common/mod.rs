//! What the end-to-end tests share: free ports and a small HTTP/1.1 client.

#![allow(dead_code)] // Each test binary uses its own part.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use serde_json::Value;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// An HTTP request with an optional JSON body and bearer token: (status, JSON body, or Null).
pub fn http(address: SocketAddr, method: &str, path: &str, body: Option<&Value>, bearer: Option<&str>) -> (u16, Value) {
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = bearer.map(|token| format!("Authorization: Bearer {token}")).unwrap_or_default();
    let headers: Vec<&str> = if auth.is_empty() { Vec::new() } else { vec![auth.as_str()] };
    request(address, method, path, &body, &headers)
}

/// An HTTP request with a raw body (sent as JSON) and extra header lines (`Name: value`):
/// (status, JSON body, or Null).
pub fn request(address: SocketAddr, method: &str, path: &str, body: &str, headers: &[&str]) -> (u16, Value) {
    let extra: String = headers.iter().map(|line| format!("{line}\r\n")).collect();
    let raw = format!(
        "{method} {path} HTTP/1.1\r\nHost: cex\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}
