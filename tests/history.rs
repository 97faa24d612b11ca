//! The persisted history end to end, on `cex run` restarted twice: two users trade across
//! the restarts; the export job writes exactly the trades and klines there were (none
//! twice, none lost), only for its requester; the balance snapshot at past times shows the
//! balances then; bad input is refused with `{code, msg}`.

mod common;

use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use cex_config::NodeConfig;
use cex_identity::StaffRole;
use common::exchange::{fund, limit, login, register, User, PASSWORD};
use common::{get, http, start_cex_run_with, terminate, Ports};
use serde_json::{json, Value};

const CONFIG: &str = "data_dir = \"./data\"\n[limits]\nenabled = false\n";

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn start(dir: &std::path::Path, ports: Ports) -> Child {
    start_cex_run_with(dir, ports, &["--config", "cex.toml"], Stdio::null()).0
}

fn call(rest: SocketAddr, method: &str, path: &str, body: Option<&Value>, user: &User) -> (u16, Value) {
    http(rest, method, path, body, Some(&user.token))
}

/// The non-zero balances of a snapshot or of the balance endpoint, as (asset, available,
/// frozen) strings, sorted.
fn nonzero(reply: &Value) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = reply["balances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["asset"].as_str().unwrap().into(), row["available"].to_string(), row["frozen"].to_string()))
        .filter(|(_, available, frozen): &(String, String, String)| available != "\"0\"" || frozen != "\"0\"")
        .collect();
    rows.sort();
    rows
}

fn snapshot(rest: SocketAddr, user: &User, time: i64) -> Value {
    let (status, reply) = call(rest, "GET", &format!("/api/v1/account/snapshot?time={time}"), None, user);
    assert_eq!(status, 200, "{reply}");
    reply
}

/// Requests an export, waits for it to finish and downloads it: the CSV's lines.
fn export(rest: SocketAddr, user: &User, body: &Value) -> (i64, Vec<String>) {
    let (status, job) = call(rest, "POST", "/api/v1/export/market-data", Some(body), user);
    assert_eq!((status, job["status"].as_str()), (202, Some("pending")), "{job}");
    let id = job["jobId"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, job) = call(rest, "GET", &format!("/api/v1/export/{id}"), None, user);
        assert_eq!(status, 200, "{job}");
        match job["status"].as_str().unwrap() {
            "done" => break,
            "failed" => panic!("export failed: {job}"),
            _ => assert!(Instant::now() < deadline, "export {id} never finished: {job}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (id, download(rest, user, id).expect("the requester downloads"))
}

/// The CSV's lines, or the error status and body.
fn download(rest: SocketAddr, user: &User, id: i64) -> Result<Vec<String>, (u16, Value)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(rest).unwrap();
    write!(
        stream,
        "GET /api/v1/export/{id}/download HTTP/1.1\r\nHost: cex\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        user.token
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    if status != 200 {
        return Err((status, serde_json::from_str(body).unwrap_or(Value::Null)));
    }
    assert!(head.to_ascii_lowercase().contains("content-type: text/csv"), "{head}");
    Ok(body.lines().map(str::to_string).collect())
}

fn refused(reply: (u16, Value), status: u16, code: u64, what: &str) {
    assert_eq!((reply.0, reply.1["code"].as_u64()), (status, Some(code)), "{what}: {}", reply.1);
    assert!(reply.1["msg"].as_str().is_some_and(|msg| !msg.is_empty()), "{what}");
}

fn metric(ops: u16, name: &str) -> f64 {
    let (_, body) = get(ops, "/metrics").unwrap();
    let line = body.lines().find(|line| line.starts_with(&format!("{name} "))).unwrap_or_else(|| panic!("no {name}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn history_survives_restarts_and_serves_snapshots_and_exports() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cex.toml"), CONFIG).unwrap();
    let data = dir.path().join("data");
    let mut config = NodeConfig::default();
    config.data_dir = data.clone();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let identity_config = cex_node::identity_config(&config);
    runtime
        .block_on(cex_identity::create_staff(&identity_config, "admin@cex.example", StaffRole::Admin, Some(PASSWORD)))
        .unwrap();

    let ports = Ports::free();
    let rest: SocketAddr = ([127, 0, 0, 1], ports.rest).into();
    let node = start(dir.path(), ports);
    let admin = login(rest, "/api/admin/auth/login", "admin@cex.example");
    let alice = register(rest, &data, "alice@example.com");
    let bob = register(rest, &data, "bob@example.com");
    let before_funding = now_ms();
    std::thread::sleep(Duration::from_millis(5));
    fund(rest, &admin, &alice, "BTC", "2");
    fund(rest, &admin, &bob, "USDT", "100000");
    std::thread::sleep(Duration::from_millis(5));
    let funded = now_ms();
    std::thread::sleep(Duration::from_millis(5));
    limit(rest, &alice, "SELL", "50000", "1");
    limit(rest, &bob, "BUY", "50000", "0.6");
    std::thread::sleep(Duration::from_millis(5));
    let first_trade = now_ms();
    let bob_after_first = nonzero(&call(rest, "GET", "/api/v1/account/balance", None, &bob).1);
    assert_eq!(terminate(node), 0);

    let node = start(dir.path(), ports);
    limit(rest, &bob, "BUY", "50000", "0.4");

    // Snapshots: nothing before the funding, the funding, the first trade, now.
    assert!(nonzero(&snapshot(rest, &bob, before_funding)).is_empty());
    assert_eq!(nonzero(&snapshot(rest, &bob, funded)), vec![("USDT".into(), "\"100000\"".into(), "\"0\"".into())]);
    assert_eq!(nonzero(&snapshot(rest, &alice, funded)), vec![("BTC".into(), "\"2\"".into(), "\"0\"".into())]);
    assert_eq!(nonzero(&snapshot(rest, &bob, first_trade)), bob_after_first);
    for user in [&alice, &bob] {
        let now = nonzero(&call(rest, "GET", "/api/v1/account/balance", None, user).1);
        assert_eq!(nonzero(&snapshot(rest, user, now_ms())), now);
    }

    // The trades export: both trades once each, as the account's trades show them.
    let range = (before_funding - 60_000, now_ms());
    let trades = json!({"symbol": "BTC-USDT", "dataType": "trades", "startTime": range.0, "endTime": range.1});
    let (job, lines) = export(rest, &bob, &trades);
    assert_eq!(lines[0], "tradeId,time,price,qty,quoteQty,isBuyerMaker");
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|line| line.split(',').collect()).collect();
    let fills: Vec<(&str, &str)> = rows.iter().map(|row| (row[2], row[3])).collect();
    assert_eq!(fills, vec![("50000", "0.6"), ("50000", "0.4")], "{lines:?}");
    assert!(rows.iter().all(|row| row[5] == "false"), "the buyer took both: {lines:?}");
    let account_trades = call(rest, "GET", "/api/v1/trades", None, &bob).1;
    let mut ids: Vec<String> =
        account_trades["trades"].as_array().unwrap().iter().map(|trade| trade["tradeId"].to_string()).collect();
    ids.sort();
    let mut exported: Vec<String> = rows.iter().map(|row| row[0].to_string()).collect();
    exported.sort();
    assert_eq!(exported, ids);

    // Only the requester sees the job.
    refused(call(rest, "GET", &format!("/api/v1/export/{job}"), None, &alice), 404, 2011, "another user's job");
    let (status, reply) = download(rest, &alice, job).unwrap_err();
    refused((status, reply), 404, 2011, "another user's download");

    // A third start replays nothing twice: the same trades, the history caught up.
    assert_eq!(terminate(node), 0);
    let node = start(dir.path(), ports);
    let (_, again) = export(rest, &bob, &trades);
    assert_eq!(again, lines, "no trade written twice after a restart");
    // Klines open at or after `startTime`: from the day's start, the day's kline is in.
    let day = range.0 - range.0 % 86_400_000;
    let klines =
        json!({"symbol": "BTC-USDT", "dataType": "klines", "interval": "1d", "startTime": day, "endTime": range.1});
    let (_, bars) = export(rest, &alice, &klines);
    assert_eq!(
        bars[0],
        "openTime,open,high,low,close,volume,closeTime,quoteVolume,trades,takerBuyVolume,takerBuyQuoteVolume"
    );
    let volume: f64 = bars[1..].iter().map(|line| line.split(',').nth(5).unwrap().parse::<f64>().unwrap()).sum();
    let count: u64 = bars[1..].iter().map(|line| line.split(',').nth(8).unwrap().parse::<u64>().unwrap()).sum();
    assert_eq!((volume, count), (1.0, 2), "{bars:?}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(ports.ops, "cex_history_lag_commands") != 0.0 {
        assert!(Instant::now() < deadline, "the history writer does not catch up");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(metric(ports.ops, "cex_history_sequence"), metric(ports.ops, "cex_journal_sequence"));

    bad_input_is_refused(rest, &bob, job);
    assert_eq!(terminate(node), 0);
}

fn bad_input_is_refused(rest: SocketAddr, bob: &User, job: i64) {
    let snapshot = |query: &str| call(rest, "GET", &format!("/api/v1/account/snapshot?{query}"), None, bob);
    refused(snapshot("time=yesterday"), 400, 2006, "a malformed time");
    refused(snapshot("time=-5"), 400, 2006, "a negative time");
    refused(snapshot(&format!("time={}", now_ms() + 3_600_000)), 400, 2006, "a future time");
    let now = now_ms();
    let export = |body: Value| call(rest, "POST", "/api/v1/export/market-data", Some(&body), bob);
    let cases = [
        (json!({"symbol": "DOGE-USDT", "dataType": "trades", "startTime": 0, "endTime": 1}), 2004, "unknown symbol"),
        (json!({"symbol": "BTC-USDT", "dataType": "orders", "startTime": 0, "endTime": 1}), 2006, "unknown data type"),
        (json!({"symbol": "BTC-USDT", "dataType": "klines", "startTime": 0, "endTime": 1}), 2006, "no interval"),
        (
            json!({"symbol": "BTC-USDT", "dataType": "klines", "interval": "1s", "startTime": 0, "endTime": 1}),
            2006,
            "1s",
        ),
        (
            json!({"symbol": "BTC-USDT", "dataType": "klines", "interval": "7m", "startTime": 0, "endTime": 1}),
            2006,
            "7m",
        ),
        (
            json!({"symbol": "BTC-USDT", "dataType": "trades", "startTime": now - 40 * 86_400_000_i64, "endTime": now}),
            2006,
            "40 days",
        ),
        (json!({"symbol": "BTC-USDT", "dataType": "trades", "startTime": now, "endTime": now - 1}), 2006, "backwards"),
        (json!({"symbol": "BTC-USDT", "dataType": "trades", "startTime": -1, "endTime": 1}), 2006, "negative"),
        (
            json!({"symbol": "BTC-USDT", "dataType": "trades", "startTime": now + 60_000, "endTime": now + 120_000}),
            2006,
            "future",
        ),
    ];
    for (body, code, what) in cases {
        refused(export(body), 400, code, what);
    }
    refused(call(rest, "GET", "/api/v1/export/999999", None, bob), 404, 2011, "no such job");
    refused(call(rest, "GET", "/api/v1/export/abc", None, bob), 400, 2006, "a job id that is no number");
    let (status, reply) = download(rest, bob, 999_999).unwrap_err();
    refused((status, reply), 404, 2011, "no such download");
    let (status, _) = http(rest, "GET", &format!("/api/v1/export/{job}"), None, None);
    assert_eq!(status, 401, "anonymous callers are refused");
}
