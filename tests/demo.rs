//! `cex run --demo` end to end, through the public REST API only: the printed demo users
//! log in and hold balances, the market maker's book stands around the reference price,
//! the traders' trades and klines appear, and a restart on the same data reuses the users
//! and funds nobody again.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use common::{http, start_cex_run_with, terminate, Ports};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// How long the demo has to bring the market alive.
const ALIVE_WITHIN: Duration = Duration::from_secs(90);
/// BTC-USDT's built-in demo price (the default config has no reference price).
const BTC_PRICE: i64 = 65_000;
/// 100000 USDT of funding per symbol, two symbols quoted in USDT.
const GUEST_USDT: i64 = 200_000;

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"))).unwrap()
}

/// (email, password) of each demo user the banner lists.
fn read_banner(child: &mut Child) -> Vec<(String, String)> {
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut users = Vec::new();
    let mut banner = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        banner += &line;
        banner.push('\n');
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [email, "password", password, ..] = words[..] {
            users.push((email.to_string(), password.to_string()));
        }
        if line.starts_with("Credentials file:") {
            break;
        }
    }
    assert!(banner.contains("DEMO MODE: for local trials only"), "{banner}");
    users
}

fn start_demo(dir: &Path, ports: Ports) -> (Child, Vec<(String, String)>) {
    let (mut child, _) = start_cex_run_with(dir, ports, &["--demo"], Stdio::piped());
    let users = read_banner(&mut child);
    (child, users)
}

fn get(rest: SocketAddr, path: &str, token: Option<&str>) -> Value {
    let (status, reply) = http(rest, "GET", path, None, token);
    assert_eq!(status, 200, "{path}: {reply}");
    reply
}

fn login(rest: SocketAddr, email: &str, password: &str) -> String {
    let (status, reply) =
        http(rest, "POST", "/api/v1/auth/login", Some(&json!({"email": email, "password": password})), None);
    assert_eq!(status, 200, "{email}: {reply}");
    reply["accessToken"].as_str().unwrap().to_string()
}

fn available(rest: SocketAddr, token: &str, asset: &str) -> Decimal {
    let reply = get(rest, "/api/v1/account/balance", Some(token));
    let row = reply["balances"].as_array().unwrap().iter().find(|row| row["asset"] == asset).cloned();
    row.map_or(Decimal::ZERO, |row| dec(&row["available"]) + dec(&row["frozen"]))
}

/// Polls `check` until it holds or `ALIVE_WITHIN` passes.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + ALIVE_WITHIN;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {ALIVE_WITHIN:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Bids below asks, both within 2% of `around`.
fn book_stands_around(depth: &Value, around: Decimal) -> bool {
    let best = |side: &str| depth[side].as_array().and_then(|levels| levels.first()).map(|level| dec(&level["price"]));
    let (Some(bid), Some(ask)) = (best("bids"), best("asks")) else { return false };
    let band = around / Decimal::from(50);
    bid < ask && (around - bid).abs() < band && (ask - around).abs() < band
}

#[test]
fn demo_mode_brings_a_live_market_and_a_restart_reuses_its_users() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::free();
    let rest = SocketAddr::from(([127, 0, 0, 1], ports.rest));
    let (node, users) = start_demo(dir.path(), ports);
    let emails: Vec<&str> = users.iter().map(|(email, _)| email.as_str()).collect();
    assert_eq!(emails.len(), 5, "a maker, three traders and a guest: {emails:?}");
    assert!(emails.contains(&"maker@demo.cex.local") && emails.contains(&"guest@demo.cex.local"));

    eventually("a BTC-USDT book around 65000", || {
        book_stands_around(&get(rest, "/api/v1/depth?symbol=BTC-USDT", None), Decimal::from(BTC_PRICE))
    });
    eventually("BTC-USDT trades", || {
        let trades = get(rest, "/api/v1/historical-trades?symbol=BTC-USDT", None);
        !trades["trades"].as_array().unwrap().is_empty()
    });
    let last_price = {
        let trades = get(rest, "/api/v1/historical-trades?symbol=BTC-USDT", None);
        dec(&trades["trades"].as_array().unwrap().last().unwrap()["price"])
    };
    assert!((last_price - Decimal::from(BTC_PRICE)).abs() < Decimal::from(BTC_PRICE / 50), "{last_price}");
    eventually("BTC-USDT klines", || {
        let klines = get(rest, "/api/v1/klines?symbol=BTC-USDT&interval=1m", None);
        !klines["klines"].as_array().unwrap().is_empty()
    });

    // Every printed user logs in; the guest, whom no bot drives, holds exactly its funding.
    let tokens: Vec<String> = users.iter().map(|(email, password)| login(rest, email, password)).collect();
    let guest = emails.iter().position(|email| *email == "guest@demo.cex.local").unwrap();
    assert_eq!(available(rest, &tokens[guest], "USDT"), Decimal::from(GUEST_USDT));
    assert!(available(rest, &tokens[guest], "BTC") > Decimal::ZERO);
    let maker_orders = get(rest, "/api/v1/orders/open", Some(&tokens[0]));
    assert!(!maker_orders["orders"].as_array().unwrap().is_empty(), "{maker_orders}");
    assert_eq!(terminate(node), 0);

    // A restart: the same users and passwords, nobody funded again, the market alive again.
    let credentials = std::fs::read_to_string(dir.path().join("data/demo/credentials.json")).unwrap();
    let (node, again) = start_demo(dir.path(), ports);
    assert_eq!(again, users, "the same demo users, reused");
    let guest_token = login(rest, "guest@demo.cex.local", &users[guest].1);
    assert_eq!(available(rest, &guest_token, "USDT"), Decimal::from(GUEST_USDT), "not funded twice");
    assert_eq!(std::fs::read_to_string(dir.path().join("data/demo/credentials.json")).unwrap(), credentials);
    eventually("the book after the restart", || {
        let trades = get(rest, "/api/v1/historical-trades?symbol=BTC-USDT", None);
        let last = dec(&trades["trades"].as_array().unwrap().last().unwrap()["price"]);
        book_stands_around(&get(rest, "/api/v1/depth?symbol=BTC-USDT", None), last)
    });
    assert_eq!(terminate(node), 0);
}

#[test]
fn without_the_flag_nobody_is_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let ports = Ports::free();
    let rest = SocketAddr::from(([127, 0, 0, 1], ports.rest));
    let (node, _) = common::start_cex_run(dir.path(), ports);
    std::thread::sleep(Duration::from_secs(2));
    let depth = get(rest, "/api/v1/depth?symbol=BTC-USDT", None);
    assert_eq!((depth["bids"].clone(), depth["asks"].clone()), (json!([]), json!([])));
    let (status, _) = http(
        rest,
        "POST",
        "/api/v1/auth/login",
        Some(&json!({"email": "guest@demo.cex.local", "password": "x"})),
        None,
    );
    assert_eq!(status, 401);
    assert!(!dir.path().join("data/demo").exists());
    assert_eq!(terminate(node), 0);
}
