//! What the end-to-end tests share: free ports and a small HTTP/1.1 client.

#![allow(dead_code)] // Each test binary uses its own part.

pub mod exchange;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

pub fn cex() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cex"))
}

/// A GET on 127.0.0.1:`port`: (status, body), or `None` if nothing answers.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: cex\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    Some((status, response.split_once("\r\n\r\n")?.1.to_string()))
}

/// The ports a `cex run` child listens on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub rest: u16,
    pub gateway: u16,
    pub ops: u16,
}

impl Ports {
    pub fn free() -> Ports {
        Ports { rest: free_port(), gateway: free_port(), ops: free_port() }
    }
}

/// Starts `cex run` in `dir` (data in `dir/data`) and waits until `/ready` answers 200;
/// returns the child and that body.
pub fn start_cex_run(dir: &Path, ports: Ports) -> (Child, String) {
    start_cex_run_with(dir, ports, &[], Stdio::null())
}

/// [`start_cex_run`] with more arguments to `cex run`, and its stdout going to `stdout`.
pub fn start_cex_run_with(dir: &Path, ports: Ports, extra: &[&str], stdout: Stdio) -> (Child, String) {
    let child = cex()
        .args(["run", "--ops-port", &ports.ops.to_string(), "--rest-port", &ports.rest.to_string()])
        .args(["--gateway-port", &ports.gateway.to_string()])
        .args(extra)
        .current_dir(dir)
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Rebound: the caller waits for the child (`terminate`) once it is returned.
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some((200, body)) = get(ports.ops, "/ready") {
            return (child, body);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cex run did not become ready");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTERM, then the exit code.
pub fn terminate(mut child: Child) -> i32 {
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped; no memory is involved.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    child.wait().unwrap().code().expect("exited, not killed")
}
