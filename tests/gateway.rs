//! The binary gateway end to end, as a trader meets it: users register over REST, create API
//! keys, log on through the client library, and trade with each other; every kind of bad input
//! gets its documented answer while the gateway and the engine keep running.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cex_config::NodeConfig;
use cex_engine::{AdjustBalance, Cancel, Command, NewOrder, OrderType, SelfTradePrevention, Side, TimeInForce};
use cex_gateway_client::codec::{
    self, ExecType, LiquidityIndicator, LogonRejectReason, LogoutReason, SessionRejectReason,
};
use cex_gateway_client::{ClientError, Credentials, ServerMessage, Session, SessionOptions};
use cex_node::Node;
use cex_runtime::{Consumer, ConsumerOptions, Producer, RuntimeBuilder};
use common::{free_port, http};
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery 9";
const USDT: u16 = 0;
const BTC: u16 = 1;
const BTC_USDT: u32 = 0;
/// Engine units of the default symbols: USDT has 8 decimals here, BTC 8 (config defaults).
const ONE_BTC: i64 = 100_000_000;
const USDT_UNIT: i64 = 100_000_000;
const WAIT: Duration = Duration::from_secs(10);

/// A node with the test's own producer for funding accounts.
struct Exchange {
    node: Option<Node>,
    bank: Producer,
    bank_answers: Consumer,
    next_ref: u64,
    data_dir: PathBuf,
    _dir: tempfile::TempDir,
}

struct Trader {
    credentials: Credentials,
}

impl Exchange {
    fn start(tweak: impl FnOnce(&mut NodeConfig)) -> Exchange {
        let dir = tempfile::tempdir().unwrap();
        let mut config = NodeConfig::default();
        config.data_dir = dir.path().to_path_buf();
        config.network.rest_port = free_port();
        config.network.gateway_port = free_port();
        config.network.ops_port = free_port();
        config.gateway.heartbeat_min_ms = 100;
        tweak(&mut config);
        let wire = |builder: &mut RuntimeBuilder| {
            Ok((builder.producer("bank")?, builder.consumer("bank", ConsumerOptions::default())))
        };
        let (node, (bank, bank_answers)) = Node::start_with(&config, wire).unwrap();
        Exchange { node: Some(node), bank, bank_answers, next_ref: 1, data_dir: config.data_dir.clone(), _dir: dir }
    }

    fn node(&self) -> &Node {
        self.node.as_ref().unwrap()
    }

    fn rest(&self) -> SocketAddr {
        self.node().rest_address()
    }

    fn gateway(&self) -> SocketAddr {
        self.node().gateway_address()
    }

    /// Registers, verifies and logs in `email`, and creates an API key with `permissions`.
    fn trader(&self, email: &str, permissions: &[&str]) -> Trader {
        let (status, reply) = http(
            self.rest(),
            "POST",
            "/api/v1/auth/register",
            Some(&json!({"email": email, "password": PASSWORD})),
            None,
        );
        assert_eq!(status, 201, "{reply}");
        let code = self.emailed_code(email);
        let verify = json!({"email": email, "verificationCode": code});
        let (status, reply) = http(self.rest(), "POST", "/api/v1/auth/verify-email", Some(&verify), None);
        assert_eq!(status, 200, "{reply}");
        let login = json!({"email": email, "password": PASSWORD});
        let (status, reply) = http(self.rest(), "POST", "/api/v1/auth/login", Some(&login), None);
        assert_eq!(status, 200, "{reply}");
        let token = reply["accessToken"].as_str().unwrap().to_string();
        let key = json!({"label": "gateway", "permissions": permissions});
        let (status, reply) = http(self.rest(), "POST", "/api/v1/security/api-key", Some(&key), Some(&token));
        assert_eq!(status, 201, "{reply}");
        let text = |field: &str| reply[field].as_str().unwrap().to_string();
        Trader { credentials: Credentials::new(text("apiKey"), text("secretKey")) }
    }

    /// The verification code of the dev sink's last message to `email`.
    fn emailed_code(&self, email: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = std::fs::read_to_string(self.data_dir.join("outbox.log")).unwrap_or_default();
            let message = log
                .lines()
                .rev()
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .find(|m| m["to"] == email);
            if let Some(message) = message {
                let body = message["body"].as_str().unwrap().to_string();
                let mut words = body.split_whitespace().map(|word| word.trim_end_matches('.'));
                return words.rfind(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit())).unwrap().to_string();
            }
            assert!(Instant::now() < deadline, "no code emailed to {email}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deposits through the engine (staff adjustments stand in for the wallet sidecar).
    fn fund(&mut self, account: u32, asset: u16, amount: i64) {
        let ref_id = self.next_ref;
        self.next_ref += 1;
        let command = Command::AdjustBalance(AdjustBalance { account, asset, amount, ref_id });
        self.bank.try_submit(ref_id, command).unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "no answer to the deposit");
            if let Some(delivery) = self.bank_answers.poll().unwrap() {
                if delivery.origin.producer == self.bank.id() && delivery.origin.request == ref_id {
                    return;
                }
            }
        }
    }

    fn logon(&self, trader: &Trader, options: SessionOptions) -> Session {
        Session::logon(self.gateway(), &trader.credentials, &options).unwrap()
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            node.shutdown().unwrap();
        }
    }
}

fn limit(side: Side, price_usdt: i64, qty: i64, client_order_id: u64) -> Command {
    Command::NewOrder(NewOrder {
        account: 0,
        symbol: BTC_USDT,
        client_order_id,
        side,
        order_type: OrderType::Limit,
        time_in_force: TimeInForce::Gtc,
        price: price_usdt * USDT_UNIT,
        qty,
        quote_qty: 0,
        stop_price: 0,
        expire_ts_ns: 0,
        post_only: false,
        stp: SelfTradePrevention::None,
    })
}

/// Receives until `stop` accepts a message; returns everything received, that one included.
fn until(session: &mut Session, mut stop: impl FnMut(&ServerMessage) -> bool) -> Vec<ServerMessage> {
    let deadline = Instant::now() + WAIT;
    let mut received = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out; received {received:#?}");
        if let Some(message) = session.recv(left).unwrap() {
            let done = stop(&message);
            received.push(message);
            if done {
                return received;
            }
        }
    }
}

fn executions(messages: &[ServerMessage]) -> Vec<codec::ExecutionReport> {
    messages.iter().filter_map(|m| if let ServerMessage::Execution(r) = m { Some(*r) } else { None }).collect()
}

fn session_reject(session: &mut Session) -> (u64, SessionRejectReason) {
    let messages = until(session, |m| matches!(m, ServerMessage::SessionReject { .. }));
    match messages.last() {
        Some(ServerMessage::SessionReject { ref_seq_num, reason, .. }) => (*ref_seq_num, *reason),
        other => unreachable!("{other:?}"),
    }
}

#[test]
fn two_accounts_trade_through_the_gateway_and_both_sessions_get_their_fills() {
    let mut exchange = Exchange::start(|_| {});
    let alice = exchange.trader("alice@example.com", &["read", "trade"]);
    let bob = exchange.trader("bob@example.com", &["read", "trade"]);
    let mut alice_session = exchange.logon(&alice, SessionOptions::default());
    let mut bob_session = exchange.logon(&bob, SessionOptions::default());
    let (alice_account, bob_account) = (alice_session.info().account, bob_session.info().account);
    assert_ne!(alice_account, bob_account);
    exchange.fund(alice_account, USDT, 100_000 * USDT_UNIT);
    exchange.fund(bob_account, BTC, 2 * ONE_BTC);

    // Alice bids for 1 BTC at 30,000; Bob sells 0.4 into it.
    let bid_seq = alice_session.send(&limit(Side::Buy, 30_000, ONE_BTC, 11)).unwrap();
    assert_eq!(bid_seq, 2, "the Logon was 1");
    let new = until(&mut alice_session, |m| matches!(m, ServerMessage::Execution(r) if r.exec_type == ExecType::New));
    let bid = *executions(&new).last().unwrap();
    assert_eq!((bid.client_order_id, bid.order_qty, bid.leaves_qty), (11, Some(ONE_BTC), Some(ONE_BTC)));
    bob_session.send(&limit(Side::Sell, 30_000, 4 * ONE_BTC / 10, 21)).unwrap();

    let is_trade_report = |m: &ServerMessage| matches!(m, ServerMessage::Trade(_));
    let bob_messages = until(&mut bob_session, is_trade_report);
    let alice_messages = until(&mut alice_session, is_trade_report);
    let fill = |messages: &[ServerMessage]| {
        executions(messages).into_iter().find(|r| r.exec_type == ExecType::Trade).expect("a Trade execution")
    };
    let (bob_fill, alice_fill) = (fill(&bob_messages), fill(&alice_messages));
    assert_eq!(bob_fill.txid, alice_fill.txid, "one engine command, one trade");
    assert_eq!(bob_fill.trade_id, alice_fill.trade_id);
    assert_eq!((bob_fill.client_order_id, bob_fill.liquidity), (21, Some(LiquidityIndicator::Taker)));
    assert_eq!((alice_fill.client_order_id, alice_fill.liquidity), (11, Some(LiquidityIndicator::Maker)));
    assert_eq!(alice_fill.last_qty, Some(4 * ONE_BTC / 10));
    assert_eq!(alice_fill.last_px, Some(30_000 * USDT_UNIT));
    assert_eq!(alice_fill.leaves_qty, Some(6 * ONE_BTC / 10));
    assert_eq!(alice_fill.cum_qty, Some(4 * ONE_BTC / 10));

    // Each side hears about its own balances and nobody else's.
    let alice_txid = alice_fill.txid;
    let balances =
        until(&mut alice_session, |m| matches!(m, ServerMessage::Balance(b) if b.txid == alice_txid && b.asset == BTC));
    assert!(balances.iter().all(|m| !matches!(m, ServerMessage::Execution(r) if r.client_order_id == 21)));

    // Alice cancels the rest by client order id.
    alice_session.send(&Command::Cancel(Cancel { account: 0, order_id: 0, client_order_id: 11 })).unwrap();
    let cancelled =
        until(&mut alice_session, |m| matches!(m, ServerMessage::Execution(r) if r.exec_type == ExecType::Canceled));
    let cancel = *executions(&cancelled).last().unwrap();
    assert_eq!((cancel.client_order_id, cancel.canceled_qty), (11, Some(6 * ONE_BTC / 10)));
    alice_session.logout("done").unwrap();
    bob_session.logout("done").unwrap();
}

#[test]
fn bad_input_gets_its_documented_answer_and_the_gateway_keeps_serving() {
    let mut exchange = Exchange::start(|_| {});
    let carol = exchange.trader("carol@example.com", &["read", "trade"]);
    let viewer = exchange.trader("viewer@example.com", &["read"]);
    let mut session = exchange.logon(&carol, SessionOptions::default());
    exchange.fund(session.info().account, USDT, 1_000 * USDT_UNIT);

    // An unknown template, a wrong schema id, an unsupported version, trailing bytes.
    let mut message = [0u8; 64];
    let length = codec::Heartbeat {}.encode(&mut message).unwrap();
    let header = |template: u16, schema: u16, version: u16| {
        let mut bytes = message[..length].to_vec();
        bytes[2..4].copy_from_slice(&template.to_le_bytes());
        bytes[4..6].copy_from_slice(&schema.to_le_bytes());
        bytes[6..8].copy_from_slice(&version.to_le_bytes());
        bytes
    };
    let cases: Vec<(Vec<u8>, SessionRejectReason)> = vec![
        (header(999, 1, 2), SessionRejectReason::UnknownTemplate),
        (header(203, 7, 2), SessionRejectReason::WrongSchema),
        (header(203, 1, 1), SessionRejectReason::UnsupportedVersion),
        ([&message[..length], &[0xAB][..]].concat(), SessionRejectReason::TrailingBytes),
    ];
    let mut cases = cases;
    // An engine command, and a message only the gateway sends, are not a client's to send.
    let mut other = [0u8; 128];
    let add_asset = codec::AddAsset { asset: 9, scale: 2 }.encode(&mut other).unwrap();
    cases.push((other[..add_asset].to_vec(), SessionRejectReason::UnexpectedMessage));
    let rejected =
        codec::LogonRejected { reason: LogonRejectReason::InvalidLogon, text: "" }.encode(&mut other).unwrap();
    cases.push((other[..rejected].to_vec(), SessionRejectReason::UnexpectedMessage));
    for (bytes, expected) in cases {
        let seq = session.send_message_bytes(&bytes).unwrap();
        assert_eq!(session_reject(&mut session), (seq, expected), "{bytes:02x?}");
    }

    // Invalid field values: an undefined side, a second Logon, an empty mass quote.
    let mut order = [0u8; 128];
    let order_length = cex_gateway_protocol_encode(&limit(Side::Buy, 10, ONE_BTC, 1), &mut order);
    let side_offset = 8 + 8 + 4; // header, clientOrderId, symbol
    order[side_offset] = 77;
    let seq = session.send_message_bytes(&order[..order_length]).unwrap();
    assert_eq!(session_reject(&mut session), (seq, SessionRejectReason::InvalidFieldValue));
    let seq = session.send_message_bytes(&order[..order_length / 2]).unwrap();
    assert_eq!(session_reject(&mut session), (seq, SessionRejectReason::Truncated));
    let mut logon = [0u8; 256];
    let logon_length = codec::Logon {
        timestamp_ms: 0,
        nonce: 0,
        heartbeat_interval_ms: 1_000,
        options: codec::LogonOptions::NONE,
        signature: [0; 32],
        api_key: "x",
    }
    .encode(&mut logon)
    .unwrap();
    let seq = session.send_message_bytes(&logon[..logon_length]).unwrap();
    assert_eq!(session_reject(&mut session), (seq, SessionRejectReason::AlreadyLoggedOn));
    let empty_quote = codec::MassQuoteRequest { quotes: &[] }.encode(&mut order).unwrap();
    let seq = session.send_message_bytes(&order[..empty_quote]).unwrap();
    assert_eq!(session_reject(&mut session), (seq, SessionRejectReason::InvalidFieldValue));

    // Values the engine refuses: an unknown symbol, a negative quantity, a huge price, an
    // order that is not ours. Each is an ExecutionReport(Rejected) with the engine's code.
    let mut unknown_symbol = limit(Side::Buy, 10, ONE_BTC, 2);
    if let Command::NewOrder(order) = &mut unknown_symbol {
        order.symbol = 999;
    }
    let engine_refusals = [
        unknown_symbol,
        limit(Side::Buy, 10, -ONE_BTC, 3),
        limit(Side::Buy, i64::MAX / USDT_UNIT, ONE_BTC, 4),
        Command::Cancel(Cancel { account: 0, order_id: 1, client_order_id: 0 }),
    ];
    for command in engine_refusals {
        session.send(&command).unwrap();
        let replies =
            until(&mut session, |m| matches!(m, ServerMessage::Execution(r) if r.exec_type == ExecType::Rejected));
        let rejected = *executions(&replies).last().unwrap();
        assert!(rejected.reject_reason.is_some() && rejected.rejected_command.is_some(), "{rejected:?}");
    }

    // A read-only key may log on but not trade.
    let mut read_only = exchange.logon(&viewer, SessionOptions::default());
    let seq = read_only.send(&limit(Side::Buy, 10, ONE_BTC, 1)).unwrap();
    assert_eq!(session_reject(&mut read_only), (seq, SessionRejectReason::PermissionDenied));

    // A frame that lies about its encoding ends the session with a Logout.
    session.send_frame_bytes(&[0, 0, 0, 14, 0xDE, 0xAD, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
    let end = until(&mut session, |m| matches!(m, ServerMessage::Logout { .. }));
    assert!(matches!(end.last(), Some(ServerMessage::Logout { reason: LogoutReason::ProtocolViolation, .. })));

    // An oversized frame too.
    let mut oversized = exchange.logon(&carol, SessionOptions::default());
    oversized.send_frame_bytes(&[0, 1, 0, 0, 0x5B, 0xE0]).unwrap();
    let end = until(&mut oversized, |m| matches!(m, ServerMessage::Logout { .. }));
    assert!(matches!(end.last(), Some(ServerMessage::Logout { reason: LogoutReason::ProtocolViolation, .. })));

    // Logons that fail: a wrong secret, a replayed signature is covered by identity's tests;
    // here an unknown key and an order before any Logon.
    let stranger = Credentials::new("no-such-key", "secret");
    match Session::logon(exchange.gateway(), &stranger, &SessionOptions::default()) {
        Err(ClientError::LogonRejected { reason, .. }) => assert_eq!(reason, LogonRejectReason::UnknownApiKey),
        other => panic!("{other:?}"),
    }
    let wrong_secret = Credentials::new(carol.credentials.api_key.clone(), "not the secret");
    match Session::logon(exchange.gateway(), &wrong_secret, &SessionOptions::default()) {
        Err(ClientError::LogonRejected { reason, .. }) => assert_eq!(reason, LogonRejectReason::InvalidSignature),
        other => panic!("{other:?}"),
    }
    let too_fast = SessionOptions { heartbeat_interval_ms: 1, ..SessionOptions::default() };
    match Session::logon(exchange.gateway(), &carol.credentials, &too_fast) {
        Err(ClientError::LogonRejected { reason, .. }) => {
            assert_eq!(reason, LogonRejectReason::InvalidHeartbeatInterval)
        }
        other => panic!("{other:?}"),
    }
    order_before_logon(exchange.gateway());

    // Still serving: a fresh session trades.
    let mut again = exchange.logon(&carol, SessionOptions::default());
    again.send(&limit(Side::Buy, 10, ONE_BTC, 9)).unwrap();
    until(
        &mut again,
        |m| matches!(m, ServerMessage::Execution(r) if r.exec_type == ExecType::New && r.client_order_id == 9),
    );
}

/// A NewOrderSingle as the first message: LogonRejected, then the connection closes.
fn order_before_logon(gateway: SocketAddr) {
    use std::io::{Read, Write};
    let mut message = [0u8; 128];
    let length = cex_gateway_protocol_encode(&limit(Side::Buy, 10, ONE_BTC, 1), &mut message[6..]);
    message[..4].copy_from_slice(&((length + 6) as u32).to_be_bytes());
    message[4..6].copy_from_slice(&0x5BE0u16.to_be_bytes());
    let mut stream = std::net::TcpStream::connect(gateway).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(&message[..length + 6]).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    let decoded = ServerMessage::decode(&reply[6..]).unwrap();
    assert!(
        matches!(decoded, ServerMessage::LogonRejected { reason: LogonRejectReason::InvalidLogon, .. }),
        "{decoded:?}"
    );
}

fn cex_gateway_protocol_encode(command: &Command, buf: &mut [u8]) -> usize {
    cex_gateway_protocol::encode_order_entry(command, buf).unwrap()
}

#[test]
fn limits_heartbeats_cancel_on_disconnect_and_retransmission() {
    let mut exchange = Exchange::start(|config| {
        config.gateway.rate_burst = 5;
        config.gateway.rate_per_second = 1;
    });
    let dave = exchange.trader("dave@example.com", &["read", "trade"]);
    let mut watcher = exchange.logon(&dave, SessionOptions::default());
    let account = watcher.info().account;
    exchange.fund(account, USDT, 10_000 * USDT_UNIT);

    // Rate: a burst of 5, then refusals.
    let options = SessionOptions { cancel_on_disconnect: true, ..SessionOptions::default() };
    let mut trading = exchange.logon(&dave, options);
    for coid in 1..=5 {
        trading.send(&limit(Side::Buy, 100 + coid as i64, ONE_BTC / 100, coid)).unwrap();
    }
    let seq = trading.send(&limit(Side::Buy, 200, ONE_BTC / 100, 6)).unwrap();
    assert_eq!(session_reject(&mut trading), (seq, SessionRejectReason::RateLimitExceeded));
    let accepted = until(&mut watcher, |m| matches!(m, ServerMessage::Execution(r) if r.client_order_id == 5));
    assert_eq!(
        executions(&accepted).iter().filter(|r| r.exec_type == ExecType::New).count(),
        5,
        "another session of the account sees them"
    );

    // Cancel-on-disconnect: the trading session drops without a Logout.
    drop(trading);
    let cancelled = until(
        &mut watcher,
        |m| matches!(m, ServerMessage::Execution(r) if r.exec_type == ExecType::Canceled && r.client_order_id == 5),
    );
    assert_eq!(executions(&cancelled).iter().filter(|r| r.exec_type == ExecType::Canceled).count(), 5);

    // Retransmission: a new session asks for what happened before it.
    let mut late = exchange.logon(&dave, SessionOptions::default());
    let last_txid = late.info().last_txid;
    late.retransmit(1, u32::try_from(last_txid).unwrap()).unwrap();
    let replayed = until(&mut late, |m| matches!(m, ServerMessage::RetransmitComplete { .. }));
    let Some(ServerMessage::RetransmitComplete { from_txid, to_txid, messages }) = replayed.last() else {
        unreachable!()
    };
    assert_eq!((*from_txid, *to_txid), (1, last_txid));
    assert_eq!(*messages as usize, replayed.len() - 1);
    let reports = executions(&replayed);
    assert_eq!(reports.iter().filter(|r| r.exec_type == ExecType::New).count(), 5);
    assert_eq!(reports.iter().filter(|r| r.exec_type == ExecType::Canceled).count(), 5);
    assert!(replayed.iter().filter_map(ServerMessage::txid).all(|txid| txid <= last_txid));
    late.retransmit(last_txid + 1, 10).unwrap();
    assert_eq!(session_reject(&mut late).1, SessionRejectReason::RetransmitRefused);

    // Idle timeout: a session that sends nothing for three heartbeat intervals is logged out.
    let quiet = SessionOptions { heartbeat_interval_ms: 100, ..SessionOptions::default() };
    let mut idle = exchange.logon(&dave, quiet);
    std::thread::sleep(Duration::from_millis(600));
    let end = until(&mut idle, |m| matches!(m, ServerMessage::Logout { .. }));
    assert!(matches!(end.last(), Some(ServerMessage::Logout { reason: LogoutReason::IdleTimeout, .. })), "{end:?}");
    assert!(end.iter().any(|m| matches!(m, ServerMessage::Heartbeat)), "the gateway heartbeats a quiet session");
    watcher.logout("done").unwrap();
}
