//! The load client of `cex bench rest`, in a process of its own: C keep-alive connections on
//! one tokio thread, each sending its next request as soon as the last is answered (closed
//! loop: the figure is the throughput with C requests outstanding, and the latency of each
//! request from its send to its answer). Any answer that is not 2xx, and any transport
//! error, counts as an error.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::json;

use crate::http::{request_bytes, Connection};
use crate::node::Trader;

/// The price every order rests or trades at, far inside BTC-USDT's price band.
const ORDER_PRICE: &str = "50000";
/// 50 USDT a lot: over the symbol's minimum notional.
const ORDER_QUANTITY: &str = "0.001";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// `GET /api/v1/ping`: the same middleware stack, no engine.
    Ping,
    /// `POST /api/v1/orders/limit`, buy and sell in turn on each connection at one price, so
    /// orders trade against each other and the book stays within C orders.
    Order,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Ping => "ping",
            Target::Order => "order",
        }
    }

    pub fn parse(name: &str) -> Option<Target> {
        [Target::Ping, Target::Order].into_iter().find(|target| target.name() == name)
    }

    /// The `n`th request of connection `connection`.
    fn request(self, connection: usize, n: u64, trader: &Trader) -> Vec<u8> {
        match self {
            Target::Ping => request_bytes("GET", "/api/v1/ping", None, None),
            Target::Order => {
                let side = if (connection as u64 + n).is_multiple_of(2) { "BUY" } else { "SELL" };
                let body =
                    json!({"symbol": "BTC-USDT", "side": side, "price": ORDER_PRICE, "quantity": ORDER_QUANTITY});
                request_bytes("POST", "/api/v1/orders/limit", Some(&body.to_string()), Some(&trader.token))
            }
        }
    }
}

/// What one run of one target measured.
#[derive(Debug)]
pub struct RunResult {
    pub target: Target,
    pub seconds: f64,
    /// Answered with 2xx.
    pub ok: u64,
    /// Non-2xx answers by status; transport errors under status 0.
    pub errors: BTreeMap<u16, u64>,
    /// The first error's text, for the report.
    pub first_error: Option<String>,
    /// Every request's latency, ns (errors included: they took that long too).
    pub histogram: Histogram<u64>,
}

impl RunResult {
    fn new(target: Target) -> RunResult {
        RunResult {
            target,
            seconds: 0.0,
            ok: 0,
            errors: BTreeMap::new(),
            first_error: None,
            histogram: crate::runner::new_histogram(),
        }
    }

    fn error(&mut self, status: u16, text: impl FnOnce() -> String) {
        *self.errors.entry(status).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(text());
        }
    }

    fn merge(&mut self, other: RunResult) {
        self.ok += other.ok;
        for (status, count) in other.errors {
            *self.errors.entry(status).or_default() += count;
        }
        self.first_error = self.first_error.take().or(other.first_error);
        self.histogram.add(&other.histogram).expect("histograms of the same bounds");
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Runs `target` for `seconds` over `connections` connections, trader `i % n` on
/// connection `i`.
pub async fn run(
    target: Target,
    rest: SocketAddr,
    traders: &[Trader],
    connections: usize,
    seconds: f64,
) -> Result<RunResult, String> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(seconds);
    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..connections {
        let trader = traders.get(connection % traders.len().max(1)).cloned().ok_or("no traders")?;
        tasks.spawn(drive(target, rest, connection, trader, deadline));
    }
    let mut total = RunResult::new(target);
    while let Some(result) = tasks.join_next().await {
        total.merge(result.map_err(|e| e.to_string())??);
    }
    total.seconds = start.elapsed().as_secs_f64();
    Ok(total)
}

/// One connection's closed loop; a broken connection is counted and opened again.
async fn drive(
    target: Target,
    rest: SocketAddr,
    index: usize,
    trader: Trader,
    deadline: Instant,
) -> Result<RunResult, String> {
    let mut result = RunResult::new(target);
    let mut connection = Connection::open(rest).await.map_err(|e| format!("connecting to {rest}: {e}"))?;
    let mut n = 0u64;
    while Instant::now() < deadline {
        let request = target.request(index, n, &trader);
        n += 1;
        let sent = Instant::now();
        let answer = connection.send(&request).await;
        result.histogram.saturating_record(sent.elapsed().as_nanos().max(1) as u64);
        match answer {
            Ok(response) if response.is_success() => result.ok += 1,
            Ok(response) => result.error(response.status, || {
                format!("{} {}: {}", target.name(), response.status, String::from_utf8_lossy(&response.body))
            }),
            Err(error) => {
                result.error(0, || format!("{}: {error}", target.name()));
                connection = Connection::open(rest).await.map_err(|e| format!("reconnecting to {rest}: {e}"))?;
            }
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_alternate_sides_and_neighbouring_connections_start_opposite() {
        let trader = Trader { id: 1, token: "tok".into() };
        let side = |connection, n| {
            let request = String::from_utf8(Target::Order.request(connection, n, &trader)).unwrap();
            assert!(request.starts_with("POST /api/v1/orders/limit HTTP/1.1\r\n"));
            assert!(request.contains("Authorization: Bearer tok\r\n"));
            let body: serde_json::Value = serde_json::from_str(request.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            assert_eq!((body["price"].as_str(), body["quantity"].as_str()), (Some(ORDER_PRICE), Some(ORDER_QUANTITY)));
            body["side"].as_str().unwrap().to_string()
        };
        assert_eq!([side(0, 0), side(0, 1), side(0, 2)], ["BUY", "SELL", "BUY"]);
        assert_eq!([side(1, 0), side(1, 1)], ["SELL", "BUY"]);
        let ping = String::from_utf8(Target::Ping.request(3, 9, &trader)).unwrap();
        assert!(ping.starts_with("GET /api/v1/ping HTTP/1.1\r\n") && !ping.contains("Bearer"));
    }

    #[test]
    fn results_add_up_over_connections() {
        let mut a = RunResult::new(Target::Order);
        a.ok = 10;
        a.histogram.record(1_000).unwrap();
        a.error(429, || "first".into());
        let mut b = RunResult::new(Target::Order);
        b.ok = 5;
        b.histogram.record(3_000).unwrap();
        b.error(429, || "second".into());
        b.error(0, || "third".into());
        a.merge(b);
        assert_eq!((a.ok, a.error_count(), a.histogram.len()), (15, 3, 2));
        assert_eq!(a.errors, BTreeMap::from([(0, 1), (429, 2)]));
        assert_eq!(a.first_error.as_deref(), Some("first"));
        assert_eq!(Target::parse("order"), Some(Target::Order));
        assert_eq!(Target::parse("pong"), None);
    }
}
